//! The `migration` CLI under test, built by Cargo for this package's tests
//! (the same code as the `migration` binary).

fn main() -> std::process::ExitCode {
    migration::cli::main()
}
