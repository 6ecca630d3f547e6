//! The command layer: each command's flags (the clap types of `cli`) checked and turned into
//! the plan the library runs, as ripgrep turns its LowArgs into HiArgs. Building a plan reads
//! only what deciding needs (the config, the policy, the log format); every flag that cannot
//! be used fails here, before anything runs or prints.

mod simulate;

use std::path::PathBuf;
use std::time::Duration;

use nginx_backlog_exporter::clock::Clock;
use nginx_backlog_exporter::config::{self, Config};
use nginx_backlog_exporter::failure::Failure;
use nginx_backlog_exporter::sources::access_log::{Escape, LogFormatSource};
use nginx_backlog_exporter::{app, check, once, parse_log, policy, replay};

use crate::cli::{Cli, Command, LogEscape, LogFormatArgs, PolicyCommand, PolicyFormat, ReplayOutput};

/// A command, validated: what runs, with what.
pub enum Plan {
    Run {
        config: Config,
        dry_run: bool,
    },
    Once {
        config: Config,
        window: Option<Duration>,
        dry_run: bool,
    },
    Check {
        config: Config,
        options: check::Options,
    },
    ParseLog {
        format: LogFormatSource,
        file: Option<PathBuf>,
    },
    Replay {
        format: LogFormatSource,
        options: replay::Options,
    },
    Simulate(Box<nginx_backlog_exporter::simulate::Plan>),
    Policy(policy::Plan),
}

impl Plan {
    /// `config_given`: --config was given on purpose (the commands that read files only load
    /// it then); `clock`: the process's wall clock.
    pub fn build(cli: Cli, config_given: bool, clock: &Clock) -> Result<Plan, Failure> {
        // The log commands read files; with --config they take the config's log format.
        let log_format = |command: &str, flags: &LogFormatArgs| -> Result<LogFormatSource, Failure> {
            if !config_given {
                return Ok(format_source(flags));
            }
            if given(flags) {
                return Err(parse_log::config_and_flags(command).into());
            }
            Ok(config::load(&cli.config)?.nginx.log_format)
        };
        Ok(match &cli.command {
            Command::Run { dry_run } => Plan::Run {
                config: config::load(&cli.config)?,
                dry_run: *dry_run,
            },
            Command::Once { window, dry_run } => Plan::Once {
                config: config::load(&cli.config)?,
                window: *window,
                dry_run: *dry_run,
            },
            Command::Check {
                config_only,
                service_user,
            } => Plan::Check {
                config: config::load(&cli.config)?,
                options: check::Options {
                    config_only: *config_only,
                    service_user: service_user.clone(),
                },
            },
            Command::ParseLog { format, file } => Plan::ParseLog {
                format: log_format("parse-log", format)?,
                file: file.clone(),
            },
            Command::Replay {
                format,
                period,
                output,
                breakdown,
                files,
                threads,
                plot,
            } => {
                let format = log_format("replay", format)?;
                replay::check_period(*period)?;
                let output = match output {
                    ReplayOutput::Csv => replay::Output::Csv,
                    ReplayOutput::Json => replay::Output::Json,
                };
                let options = replay::Options {
                    period: *period,
                    output,
                    breakdown: breakdown.clone(),
                    files: files.clone(),
                    threads: *threads,
                    plot: plot.clone(),
                };
                Plan::Replay { format, options }
            }
            // --config is for --from-cloudwatch (namespace, metric, identity) and, unless the
            // format flags are given, the log format of --log.
            Command::Simulate(args) => {
                let config = config_given.then(|| config::load(&cli.config)).transpose()?;
                let format = match &config {
                    Some(config) if !given(&args.format) => config.nginx.log_format.clone(),
                    _ => format_source(&args.format),
                };
                Plan::Simulate(Box::new(simulate::plan(args, format, config.as_ref(), clock.now())?))
            }
            // lint loads the exporter's config itself, and only when --config is given.
            Command::Policy { command } => Plan::Policy(match command {
                PolicyCommand::Render { policy, format } => policy::Plan::Render {
                    policy: policy.clone(),
                    format: match format {
                        PolicyFormat::Cloudformation => policy::Format::CloudFormation,
                        PolicyFormat::Terraform => policy::Format::Terraform,
                        PolicyFormat::Cli => policy::Format::Cli,
                    },
                },
                PolicyCommand::Lint { policy } => policy::Plan::Lint {
                    policy: policy.clone(),
                    exporter_config: config_given.then(|| cli.config.clone()),
                },
            }),
        })
    }

    /// `clock`: the process's one clock, handed to the daemon and the one-shot.
    pub fn run(self, clock: &Clock) -> Result<(), Failure> {
        let (config, daemon) = match self {
            Plan::ParseLog { format, file } => return Ok(parse_log::run(&format, file.as_deref())?),
            Plan::Replay { format, options } => return Ok(replay::run(&format, &options)?),
            Plan::Simulate(plan) => return Ok(nginx_backlog_exporter::simulate::run(&plan)?),
            Plan::Policy(plan) => return Ok(policy::run(&plan)?),
            Plan::Run { config, dry_run } => (config, Daemon::Run { dry_run }),
            Plan::Once {
                config,
                window,
                dry_run,
            } => (config, Daemon::Once { window, dry_run }),
            Plan::Check { config, options } => (config, Daemon::Check(options)),
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|error| Failure::Runtime(format!("cannot start the runtime: {error}")))?;
        runtime.block_on(async move {
            match daemon {
                Daemon::Run { dry_run } => app::run(config, dry_run, clock.clone()).await,
                Daemon::Once { window, dry_run } => once::run(config, window, dry_run, clock.clone()).await,
                Daemon::Check(options) => check::run(config, &options).await,
            }
        })?;
        Ok(())
    }
}

/// The commands that run on the async runtime, with their config.
enum Daemon {
    Run { dry_run: bool },
    Once { window: Option<Duration>, dry_run: bool },
    Check(check::Options),
}

/// Whether a format is named on the command line at all (else `--config`'s, or combined).
fn given(flags: &LogFormatArgs) -> bool {
    flags.log_format.is_some() || flags.log_format_name.is_some()
}

/// The format the flags name: the one form the log commands take, whether it came from flags
/// or from the config file's `nginx.log_format`.
fn format_source(flags: &LogFormatArgs) -> LogFormatSource {
    let escape = match flags.log_escape {
        None | Some(LogEscape::Default) => Escape::Default,
        Some(LogEscape::Json) => Escape::Json,
        Some(LogEscape::None) => Escape::None,
    };
    match (&flags.log_format, &flags.log_format_name, &flags.nginx_conf) {
        (Some(format), _, _) => LogFormatSource::Inline {
            format: format.clone(),
            escape,
        },
        (None, Some(name), Some(nginx_conf)) => LogFormatSource::Named {
            name: name.clone(),
            nginx_conf: nginx_conf.clone(),
        },
        _ => LogFormatSource::Combined,
    }
}
