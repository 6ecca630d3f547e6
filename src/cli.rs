//! Command-line interface: clap types only; the doc comments are the --help text.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, Subcommand};

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
    Check,
}
