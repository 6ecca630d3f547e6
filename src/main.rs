//! Thin binary: parse the CLI, start logging, build the command's plan, run it. The only place
//! that turns errors into exit codes: 0 ok, 1 runtime failure, 2 usage or config error.

mod cli;
mod plan;

use std::process::ExitCode;

use clap::parser::ValueSource;
use clap::{CommandFactory, FromArgMatches};
use nginx_backlog_exporter::clock::Clock;
use nginx_backlog_exporter::failure::Failure;
use nginx_backlog_exporter::telemetry::{self, LogTarget};

use crate::cli::{Cli, Command};
use crate::plan::Plan;

const EXIT_RUNTIME: u8 = 1;
/// Usage, config or input the command cannot use.
const EXIT_INPUT: u8 = 2;

fn main() -> ExitCode {
    let matches = Cli::command().get_matches();
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(error) => error.exit(),
    };
    // --config has a default; the log commands only care whether it was given on purpose.
    let config_given = matches!(
        matches.value_source("config"),
        Some(ValueSource::CommandLine | ValueSource::EnvVariable)
    );
    let default_level = match cli.command {
        Command::Run { .. } => tracing::Level::INFO,
        // cron mails whatever `once` prints: on failure, only the one-line reason.
        Command::Once { .. } => tracing::Level::ERROR,
        Command::Check { .. }
        | Command::ParseLog { .. }
        | Command::Replay { .. }
        | Command::Simulate(_)
        | Command::Policy { .. } => tracing::Level::WARN,
    };
    let log_target = telemetry::init(cli.log_level.unwrap_or(default_level));
    // The process's one wall clock: for what the plans decide from the time (simulate's
    // CloudWatch window) and for the daemon and the one-shot, which hand out clones.
    let clock = Clock::system();
    // Every usage error is found while building the plan, before anything runs.
    match Plan::build(cli, config_given, &clock).and_then(|plan| plan.run(&clock)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            report(log_target, failure.message());
            ExitCode::from(match failure {
                Failure::Input(_) => EXIT_INPUT,
                Failure::Runtime(_) => EXIT_RUNTIME,
            })
        }
    }
}

/// One line: to the journal when running under systemd, else to stderr.
fn report(target: LogTarget, message: &str) {
    match target {
        LogTarget::Journal => tracing::error!("{message}"),
        LogTarget::Stderr => eprintln!("nginx-backlog-exporter: {message}"),
    }
}
