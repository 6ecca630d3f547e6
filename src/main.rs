//! Thin binary: parse the CLI, start logging, load the config, dispatch. The only place
//! that turns errors into exit codes: 0 ok, 1 runtime failure, 2 usage or config error.

use std::process::ExitCode;

use clap::parser::ValueSource;
use clap::{CommandFactory, FromArgMatches};
use nginx_backlog_exporter::cli::{Cli, Command, LogFormatArgs, PolicyCommand, PolicyFormat};
use nginx_backlog_exporter::failure::Failure;
use nginx_backlog_exporter::sources::access_log::LogFormatSource;
use nginx_backlog_exporter::telemetry::{self, LogTarget};
use nginx_backlog_exporter::{app, check, config, once, parse_log, policy, replay, simulate};

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
    match dispatch(cli, config_given) {
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

/// Run the command. `config_given`: --config was given on purpose (the commands that read
/// files only load it then).
fn dispatch(cli: Cli, config_given: bool) -> Result<(), Failure> {
    // The log commands read files; with --config they take the config's log format.
    let log_format = |command: &str, flags: &LogFormatArgs| -> Result<LogFormatSource, Failure> {
        if !config_given {
            return Ok(flags.source());
        }
        if flags.given() {
            return Err(parse_log::config_and_flags(command).into());
        }
        Ok(config::load(&cli.config)?.nginx.log_format)
    };
    match &cli.command {
        // policy render/lint read the policy TOML; lint loads the exporter's config itself,
        // and only when --config is given.
        Command::Policy { command } => {
            return Ok(match command {
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
            }?);
        }
        // --config is for --from-cloudwatch (namespace, metric, identity) and, unless the
        // format flags are given, the log format of --log.
        Command::Simulate(args) => {
            let config = config_given.then(|| config::load(&cli.config)).transpose()?;
            let format = match &config {
                Some(config) if !args.format.given() => config.nginx.log_format.clone(),
                _ => args.format.source(),
            };
            return Ok(simulate::run(args, &format, config.as_ref())?);
        }
        Command::ParseLog { format, file } => {
            return Ok(parse_log::run(&log_format("parse-log", format)?, file.as_deref())?);
        }
        Command::Replay {
            format,
            period,
            output,
            breakdown,
            files,
            threads,
            plot,
        } => {
            let options = replay::ReplayOptions {
                period: *period,
                output: *output,
                breakdown: breakdown.clone(),
                files: files.clone(),
                threads: *threads,
                plot: plot.clone(),
            };
            return Ok(replay::run(&log_format("replay", format)?, &options)?);
        }
        Command::Run { .. } | Command::Once { .. } | Command::Check { .. } => {}
    }

    let config = config::load(&cli.config)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|error| Failure::Runtime(format!("cannot start the runtime: {error}")))?;
    runtime.block_on(async move {
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
    })?;
    Ok(())
}

/// One line: to the journal when running under systemd, else to stderr.
fn report(target: LogTarget, message: &str) {
    match target {
        LogTarget::Journal => tracing::error!("{message}"),
        LogTarget::Stderr => eprintln!("nginx-backlog-exporter: {message}"),
    }
}
