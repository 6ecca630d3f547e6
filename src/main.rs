//! Thin binary: parse the CLI, start logging, load the config, dispatch. The only place
//! that turns errors into exit codes: 0 ok, 1 runtime failure, 2 usage or config error.

use std::process::ExitCode;

use clap::Parser;
use nginx_backlog_exporter::cli::{Cli, Command};
use nginx_backlog_exporter::telemetry::{self, LogTarget};
use nginx_backlog_exporter::{app, check, config, once};

const EXIT_RUNTIME: u8 = 1;
const EXIT_CONFIG: u8 = 2;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let default_level = match cli.command {
        Command::Run { .. } => tracing::Level::INFO,
        // cron mails whatever `once` prints: on failure, only the one-line reason.
        Command::Once { .. } => tracing::Level::ERROR,
        Command::Check => tracing::Level::WARN,
    };
    let log_target = telemetry::init(cli.log_level.unwrap_or(default_level));

    let config = match config::load(&cli.config) {
        Ok(config) => config,
        Err(error) => {
            report(log_target, &format!("config error: {error}"));
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            report(log_target, &format!("cannot start the runtime: {error}"));
            return ExitCode::from(EXIT_RUNTIME);
        }
    };
    let result = runtime.block_on(async move {
        match cli.command {
            Command::Run { dry_run } => app::run(config, dry_run).await,
            Command::Once { window, dry_run } => once::run(config, window, dry_run).await,
            Command::Check => check::run(config).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            report(log_target, &format!("{error:#}"));
            ExitCode::from(EXIT_RUNTIME)
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
