//! What every way of running `simulate` checks before it runs, and how it fails: the typed
//! error `main` picks the exit code from, the statistics the series must have, and the
//! resolution warnings.

use std::path::Path;

use crate::parse_log::LogCommandError;
use crate::scaling::scenario::{PolicyKind, Scenario, Statistic, TrackedMetric};
use crate::simulate::input::{self, Loaded};
use crate::simulate::series;
use crate::sources::access_log::LogFormatSource;

/// The statistics `--log` gives: the sweep's in-flight average and peak.
const LOG_STATISTICS: [Statistic; 2] = [Statistic::Average, Statistic::Maximum];

/// Why `simulate` failed; [`SimulateError::is_usage`] tells `main` the exit code.
#[derive(Debug, thiserror::Error)]
pub enum SimulateError {
    /// Flags, policy files or series that cannot be used (exit 2).
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    Input(#[from] input::InputError),
    #[error(transparent)]
    Series(#[from] series::SeriesError),
    #[error(transparent)]
    Log(#[from] LogCommandError),
    /// Something failed while running (exit 1).
    #[error("{0:#}")]
    Runtime(#[from] anyhow::Error),
}

impl SimulateError {
    /// Flags, files and series that cannot be used (missing, unreadable or not a series) exit
    /// 2; failures while running exit 1.
    pub(crate) fn is_usage(&self) -> bool {
        match self {
            SimulateError::Log(error) => error.is_usage(),
            SimulateError::Input(input::InputError::Write { .. }) => false,
            SimulateError::Runtime(_) => false,
            _ => true,
        }
    }
}

/// Every statistic an alarm or a tracking policy names must be in the series.
pub(crate) fn check_statistics(scenario: &Scenario, available: &[Statistic], what: &str) -> Result<(), SimulateError> {
    let have: Vec<&str> = available.iter().map(|s| s.name()).collect();
    let wanted = scenario
        .alarms
        .iter()
        .map(|alarm| (format!("alarm {:?}", alarm.name), alarm.statistic))
        .chain(scenario.policies.iter().filter_map(|policy| match &policy.kind {
            PolicyKind::TargetTracking { statistic, .. } => Some((format!("policy {:?}", policy.name), *statistic)),
            _ => None,
        }));
    for (who, statistic) in wanted {
        if !available.contains(&statistic) {
            return Err(SimulateError::Usage(format!(
                "{who} uses the statistic {}, which {what} does not have (it has {})",
                statistic.name(),
                if have.is_empty() {
                    "none".to_owned()
                } else {
                    have.join(", ")
                }
            )));
        }
    }
    Ok(())
}

/// A target tracking policy that follows a predefined metric (ECS CPU): its series comes
/// from `--cpu-series`, not from the backlog series.
fn tracks_predefined_metric(scenario: &Scenario) -> bool {
    scenario.policies.iter().any(|policy| {
        matches!(
            policy.kind,
            PolicyKind::TargetTracking {
                metric: TrackedMetric::Predefined(_),
                ..
            }
        )
    })
}

/// The open loop: a policy that follows the predefined metric needs its series.
pub fn check_cpu_series(scenario: &Scenario, cpu_series: Option<&Path>) -> Result<(), SimulateError> {
    if cpu_series.is_none() && tracks_predefined_metric(scenario) {
        return Err(SimulateError::Usage(
            "a target tracking policy follows a predefined ECS metric (CPU): give its series with --cpu-series FILE"
                .into(),
        ));
    }
    Ok(())
}

/// `--log`: the series is the requests in flight, known only from `$request_time`, and it
/// has only the in-flight average and peak.
pub fn check_log(scenario: &Scenario, format: &LogFormatSource) -> Result<(), SimulateError> {
    // Without $request_time every period would be 0 and the alarm "never breached", a quiet
    // zero.
    if crate::parse_log::compile(format)?.position("request_time").is_none() {
        return Err(SimulateError::Usage(format!(
            "simulate --log needs $request_time in the log format (requests in flight come from it), and {format} has none"
        )));
    }
    check_statistics(scenario, &LOG_STATISTICS, "a series from --log")
}

/// The closed loop: it has no CPU series, and its pool gives full statistic sets, as the
/// daemon publishes.
pub fn check_closed_loop(scenario: &Scenario) -> Result<(), SimulateError> {
    if tracks_predefined_metric(scenario) {
        return Err(SimulateError::Usage(
            "the closed loop has no CPU to give a predefined-metric target tracking policy: simulate it on a series with --cpu-series".into(),
        ));
    }
    check_statistics(scenario, &Statistic::ALL, "the closed loop's series")
}

pub(crate) fn warn_resolution(loaded: &Loaded, series_period: u32) {
    for warning in input::resolution_warnings(loaded, series_period) {
        eprintln!("warning: {warning}");
    }
}
