use std::process::ExitCode;

use clap::Parser;

use agora_server::cli::{Cli, Command};
use agora_server::{config::Config, telemetry};

fn main() -> ExitCode {
    match Cli::parse().into_command() {
        Command::Serve(args) => {
            let config = match Config::from_args(args) {
                Ok(config) => config,
                Err(err) => {
                    eprintln!("agora: {err}");
                    return ExitCode::from(2);
                }
            };
            telemetry::init(config.log_format);
            let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
                Ok(rt) => rt,
                Err(err) => {
                    eprintln!("agora: could not start the async runtime: {err}");
                    return ExitCode::FAILURE;
                }
            };
            match runtime.block_on(agora_server::run(config)) {
                Ok(()) => ExitCode::SUCCESS,
                Err(err) => {
                    tracing::error!(error = format!("{err:#}"), "agora stopped with an error");
                    ExitCode::FAILURE
                }
            }
        }
        Command::Admin(args) => {
            telemetry::init(agora_server::config::LogFormat::Text);
            match agora_server::admin::run(args) {
                Ok(()) => ExitCode::SUCCESS,
                Err(err) => {
                    eprintln!("agora admin: {err:#}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::Reindex(args) => {
            telemetry::init(agora_server::config::LogFormat::Text);
            match agora_server::admin::reindex(args) {
                Ok(()) => ExitCode::SUCCESS,
                Err(err) => {
                    eprintln!("agora reindex: {err:#}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::Dashboards(args) => {
            telemetry::init(agora_server::config::LogFormat::Text);
            match agora_server::admin::dashboards(args) {
                Ok(()) => ExitCode::SUCCESS,
                Err(err) => {
                    eprintln!("agora dashboards: {err:#}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::SealingKey(args) => match agora_server::admin::sealing_key(args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(err) => {
                eprintln!("agora sealing-key: {err:#}");
                ExitCode::FAILURE
            }
        },
        Command::Bench(args) => match agora_server::bench::run(args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(err) => {
                eprintln!("agora bench: {err:#}");
                ExitCode::FAILURE
            }
        },
    }
}
