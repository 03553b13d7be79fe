//! `agents-server`: everything lives in the library (the composition root).

fn main() -> std::process::ExitCode {
    agents_server::main()
}
