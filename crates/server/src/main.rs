//! `agents-server`: read configuration, build adapters, wire, serve.

mod admin;
mod cli;
mod config;
mod startup;
mod telemetry;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, Command, UserCommand};
use crate::config::Settings;

fn main() -> ExitCode {
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
            operator_exit(result)
        }
        Command::Tenant(command) => {
            telemetry::init(&settings);
            operator_exit(admin::tenant_command(settings, command))
        }
        Command::ApiKey(command) => {
            telemetry::init(&settings);
            operator_exit(admin::api_key_command(settings, command))
        }
        Command::Serve => {
            telemetry::init(&settings);
            match startup::run(settings) {
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

/// The exit of an operator command: its one line on stderr when it failed.
fn operator_exit(result: Result<(), admin::CommandError>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("agents-server: {err}");
            ExitCode::FAILURE
        }
    }
}
