//! Command-line interface: clap types only; the doc comments are the --help text.

use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::config::DEFAULT_CONFIG_PATH;

/// Publishes the NGINX request backlog (PendingRequests) to CloudWatch for EC2 Auto Scaling.
///
/// Exit codes: 0 success, 1 runtime failure, 2 usage or configuration error.
#[derive(Debug, Parser)]
#[command(name = "nginx-backlog-exporter", version)]
pub struct Cli {
    /// The TOML configuration file.
    #[arg(long, short, global = true, default_value = DEFAULT_CONFIG_PATH, env = "NGINX_BACKLOG_EXPORTER_CONFIG")]
    pub config: PathBuf,

    /// Log level: error, warn, info, debug or trace (default: info for run, error for once, warn for check).
    #[arg(long, global = true, env = "NGINX_BACKLOG_EXPORTER_LOG")]
    pub log_level: Option<tracing::Level>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run as a daemon: sample every sample_interval, publish one datapoint every period.
    Run {
        /// Do everything but call PutMetricData; print each request as a JSON line on stdout.
        #[arg(long)]
        dry_run: bool,
    },
    /// Sample for one window, publish exactly one datapoint, and exit (for cron).
    Once {
        /// How long to sample (default: the configured period).
        #[arg(long, value_parser = humantime::parse_duration)]
        window: Option<Duration>,
        /// Do everything but call PutMetricData; print the request as a JSON line on stdout.
        #[arg(long)]
        dry_run: bool,
    },
    /// Validate the config, read stub_status once, resolve AWS identity, and print the plan.
    Check {
        /// Only validate the config file (for systemd's ExecStartPre: the daemon itself
        /// tolerates nginx being down, so its start must not depend on nginx).
        #[arg(long)]
        config_only: bool,
    },
    /// Split access-log lines with a log_format and print each as a JSON line (a format debugger).
    ///
    /// Prints {"line":N,"ok":true,"fields":{...}} with every variable's raw value, or
    /// {"line":N,"ok":false,"error":"..."}. With --config, the format is the config file's.
    ParseLog {
        #[command(flatten)]
        format: LogFormatArgs,
        /// The access log to read (default: standard input).
        file: Option<PathBuf>,
    },
    /// Run existing access logs (plain or .gz) through the signals and print the per-period series.
    ///
    /// With --config, the format is the config file's.
    Replay {
        #[command(flatten)]
        format: LogFormatArgs,
        /// Period length, a whole number of seconds.
        #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
        period: Duration,
        /// Output: one CSV row or one JSON object per period.
        #[arg(long, value_enum, default_value_t = ReplayOutput::Csv)]
        output: ReplayOutput,
        /// Also count by this variable (name without $), keeping at most 20 values plus "other".
        #[arg(long)]
        breakdown: Option<String>,
        /// Threads matching lines, besides the one reading them and deriving the series (default:
        /// one per core, at most 64). 1 does everything on one thread. The output is the same.
        #[arg(long, value_name = "N")]
        threads: Option<NonZeroUsize>,
        /// Access logs, replayed in the order given.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Render a scaling-policy TOML (simulate's) for deployment, or lint it against this config.
    Policy {
        #[command(subcommand)]
        command: PolicyCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Print the alarms, scaling policies and (ECS) scalable target as CloudFormation (JSON),
    /// Terraform or a bash script of AWS CLI calls.
    Render {
        /// The policy TOML (config/scaling-policy.toml is the annotated example).
        #[arg(long)]
        policy: PathBuf,
        #[arg(long, value_enum)]
        format: PolicyFormat,
    },
    /// Validate the policy TOML as simulate does; with --config, also check that every alarm
    /// watches a series the exporter publishes (namespace, metric name, dimension set, period,
    /// statistic). Exit 0 with warnings, 2 on errors.
    Lint {
        /// The policy TOML.
        #[arg(long)]
        policy: PathBuf,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PolicyFormat {
    Cloudformation,
    Terraform,
    Cli,
}

/// Where the access-log format comes from (default: nginx's built-in combined).
#[derive(Debug, Clone, Args)]
pub struct LogFormatArgs {
    /// An nginx log_format string, e.g. '$remote_addr [$time_local] "$request" $status'.
    #[arg(long, conflicts_with_all = ["log_format_name", "nginx_conf"])]
    pub log_format: Option<String>,
    /// How --log-format values are escaped (log_format's escape= parameter).
    #[arg(long, value_enum, requires = "log_format")]
    pub log_escape: Option<LogEscape>,
    /// Read `log_format NAME` from --nginx-conf (and the files it includes).
    #[arg(long, requires = "nginx_conf")]
    pub log_format_name: Option<String>,
    /// The nginx.conf to read --log-format-name from.
    #[arg(long, requires = "log_format_name")]
    pub nginx_conf: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogEscape {
    Default,
    Json,
    None,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReplayOutput {
    Csv,
    Json,
}
