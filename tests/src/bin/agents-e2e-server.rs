//! The server under test: `agents-server` itself, built by Cargo for this
//! package's tests (`CARGO_BIN_EXE_agents-e2e-server`), which also prints
//! the bound address as its first line on stdout so tests can use `PORT=0`.

fn main() -> std::process::ExitCode {
    agents_server::main_with(|address| println!("listening on {address}"))
}
