//! The `migration` binary; the CLI lives in the library (`migration::cli`).

fn main() -> std::process::ExitCode {
    migration::cli::main()
}
