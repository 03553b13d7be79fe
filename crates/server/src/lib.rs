//! The composition root: typed settings, the stores and services built
//! from them ([`App`]), serving, and the command line. The binary, the tests
//! and embedders all assemble the service here.

mod admin;
mod cli;
pub mod config;
pub mod startup;
mod telemetry;

pub use config::Settings;
pub use startup::{App, AppBuilder, RunningApp, StartupError, Stores, spawn_app};

use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, Command, UserCommand};

/// The `agents-server` command line: parse, load the settings, run the
/// chosen command. The binary's `main` is this call.
pub fn main() -> ExitCode {
    main_with(|_| ())
}

/// [`main`], calling `on_listening` with the bound address once `serve` has
/// bound it (the end-to-end tests' binary reports it, so `PORT=0` works).
pub fn main_with(on_listening: impl FnOnce(std::net::SocketAddr)) -> ExitCode {
    let cli = Cli::parse();
    let settings = match Settings::load(cli.config.as_deref()) {
        Ok(settings) => settings,
        Err(err) => {
            eprintln!("{err}");
            return ExitCode::from(2);
        }
    };
    match cli.command.unwrap_or(Command::Serve) {
        Command::CheckConfig => match serde_json::to_string_pretty(&settings) {
            Ok(text) => {
                println!("{text}");
                ExitCode::SUCCESS
            }
            Err(err) => {
                eprintln!("could not print configuration: {err}");
                ExitCode::FAILURE
            }
        },
        Command::User(command) => {
            telemetry::init(&settings);
            let result = match command {
                UserCommand::Create(args) => admin::create_user(settings, args),
                UserCommand::Deactivate(user) => admin::set_active(settings, user, false),
                UserCommand::Activate(user) => admin::set_active(settings, user, true),
            };
            match result {
                Ok(()) => ExitCode::SUCCESS,
                Err(err) => {
                    eprintln!("agents-server: {err}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::Serve => {
            telemetry::init(&settings);
            match startup::run(settings, on_listening) {
                Ok(()) => ExitCode::SUCCESS,
                Err(err) => {
                    tracing::error!("{err}");
                    eprintln!("agents-server: {err}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}
