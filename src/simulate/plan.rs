//! What `simulate` runs, decided before anything is read: the command layer checks every
//! flag, loads the policy and builds a [`Plan`]; [`run`](super::run) then only reads the
//! series, simulates and prints. A flag that cannot be used is an error before any output.

use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::time::Duration;

use crate::config::CloudWatchConfig;
use crate::simulate::closed_loop::LoopConfig;
use crate::simulate::cloudwatch::SeriesQuery;
use crate::simulate::input::Loaded;
use crate::simulate::sweep::Sweep;
use crate::sources::access_log::LogFormatSource;

/// A validated `simulate`: the policy (after `--set` and the delay flags), where the series
/// comes from, and where the results go.
#[derive(Debug, Clone)]
pub struct Plan {
    pub loaded: Loaded,
    /// Write the policy as the AWS CLI's three JSON documents into this directory first.
    pub print_aws: Option<PathBuf>,
    pub series: SeriesPlan,
    /// The predefined metric's (CPU) series, for a target tracking policy that follows one.
    pub cpu_series: Option<PathBuf>,
    pub output: Output,
    /// Also draw the run as an SVG here.
    pub plot: Option<PathBuf>,
}

/// Where the series comes from.
#[derive(Debug, Clone)]
pub enum SeriesPlan {
    /// Nothing to simulate: `--print-aws` alone.
    None,
    /// A series file (`-`: standard input); `period`: its period in seconds, when given.
    File { path: PathBuf, period: Option<u32> },
    /// The published series, read back with GetMetricData.
    CloudWatch(CloudWatchRead),
    /// Access logs replayed into periods of `period` (whole seconds).
    Log { logs: Logs, period: Duration },
    /// Access logs' requests run through a pool that the policy resizes.
    ClosedLoop {
        logs: Logs,
        pool: LoopConfig,
        /// Run the closed loop once per value of one knob instead.
        sweep: Option<Sweep>,
    },
}

/// Access logs and how to read them.
#[derive(Debug, Clone)]
pub struct Logs {
    pub format: LogFormatSource,
    pub files: Vec<PathBuf>,
    /// Threads matching lines (as `replay`'s).
    pub threads: Option<NonZeroUsize>,
}

/// The CloudWatch read-back: the query (its window already checked against CloudWatch's
/// retention), and the config that says how to reach the API.
#[derive(Debug, Clone)]
pub struct CloudWatchRead {
    pub cloudwatch: CloudWatchConfig,
    pub query: SeriesQuery,
    /// `--dimensions` was given; else the query reads this instance's InstanceId.
    pub dimensions_given: bool,
}

/// What goes on stdout: the summary, or one CSV row / JSON line per evaluation (the summary
/// then goes to stderr).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    Summary,
    Csv,
    Json,
}
