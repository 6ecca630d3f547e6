//! Thin binary: parse the CLI, start logging, load the config, dispatch. The only place
//! that turns errors into exit codes: 0 ok, 1 runtime failure, 2 usage or config error.

use std::process::ExitCode;

use clap::parser::ValueSource;
use clap::{CommandFactory, FromArgMatches};
use nginx_backlog_exporter::cli::{Cli, Command, LogFormatArgs, PolicyCommand, PolicyFormat};
use nginx_backlog_exporter::sources::access_log::LogFormatSource;
use nginx_backlog_exporter::telemetry::{self, LogTarget};
use nginx_backlog_exporter::{app, check, config, once, parse_log, policy, replay, simulate};

const EXIT_RUNTIME: u8 = 1;
const EXIT_CONFIG: u8 = 2;

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

    // policy render/lint read the policy TOML; lint loads the exporter's config itself, and
    // only when --config is given.
    if let Command::Policy { command } = &cli.command {
        let result = match command {
            PolicyCommand::Render { policy: path, format } => {
                let format = match format {
                    PolicyFormat::Cloudformation => policy::Format::CloudFormation,
                    PolicyFormat::Terraform => policy::Format::Terraform,
                    PolicyFormat::Cli => policy::Format::Cli,
                };
                policy::run_render(path, format)
            }
            PolicyCommand::Lint { policy: path } => {
                policy::run_lint(path, config_given.then_some(cli.config.as_path()))
            }
        };
        return match result {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                report(log_target, &error.to_string());
                ExitCode::from(if error.is_usage() { EXIT_CONFIG } else { EXIT_RUNTIME })
            }
        };
    }

    // The log commands read files; with --config they take the config's log format.
    let log_format = |command: &str, flags: &LogFormatArgs| -> Result<LogFormatSource, ExitCode> {
        if !config_given {
            return Ok(flags.source());
        }
        if flags.given() {
            report(log_target, &parse_log::config_and_flags(command).to_string());
            return Err(ExitCode::from(EXIT_CONFIG));
        }
        match config::load(&cli.config) {
            Ok(config) => Ok(config.nginx.log_format),
            Err(error) => {
                report(log_target, &format!("config error: {error}"));
                Err(ExitCode::from(EXIT_CONFIG))
            }
        }
    };
    if let Command::Simulate(args) = &cli.command {
        // --config is for --from-cloudwatch (namespace, metric, identity) and, unless the
        // format flags are given, the log format of --log.
        let config = if config_given {
            match config::load(&cli.config) {
                Ok(config) => Some(config),
                Err(error) => {
                    report(log_target, &format!("config error: {error}"));
                    return ExitCode::from(EXIT_CONFIG);
                }
            }
        } else {
            None
        };
        let format = match &config {
            Some(config) if !args.format.given() => config.nginx.log_format.clone(),
            _ => args.format.source(),
        };
        return match simulate::run(args, &format, config.as_ref()) {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                report(log_target, &error.to_string());
                ExitCode::from(if error.is_usage() { EXIT_CONFIG } else { EXIT_RUNTIME })
            }
        };
    }
    let log_command = match &cli.command {
        Command::ParseLog { format, file } => match log_format("parse-log", format) {
            Ok(format) => Some(parse_log::run(&format, file.as_deref())),
            Err(code) => return code,
        },
        Command::Replay {
            format,
            period,
            output,
            breakdown,
            files,
            threads,
            plot,
        } => match log_format("replay", format) {
            Ok(format) => {
                let options = replay::ReplayOptions {
                    period: *period,
                    output: *output,
                    breakdown: breakdown.clone(),
                    files: files.clone(),
                    threads: *threads,
                    plot: plot.clone(),
                };
                Some(replay::run(&format, &options))
            }
            Err(code) => return code,
        },
        _ => None,
    };
    if let Some(result) = log_command {
        return match result {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                report(log_target, &error.to_string());
                ExitCode::from(if error.is_usage() { EXIT_CONFIG } else { EXIT_RUNTIME })
            }
        };
    }

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
            Command::Check { config_only: true, .. } => {
                println!("config        {}: ok", config.path.display());
                Ok(())
            }
            Command::Check {
                config_only: false,
                service_user,
            } => check::run(config, &service_user).await,
            // Handled above, before the config is loaded.
            Command::ParseLog { .. } | Command::Replay { .. } | Command::Simulate(_) | Command::Policy { .. } => Ok(()),
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
