//! What every way of running `simulate` checks before it runs, and how it fails: the typed
//! error `main` picks the exit code from, the statistics the series must have, and the
//! resolution warnings.

use crate::parse_log::LogCommandError;
use crate::scaling::model::{PolicyKind, Scenario, Statistic};
use crate::simulate::input::{self, Loaded};
use crate::simulate::series;

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
    /// Flags, files and series that cannot be used exit 2; failures while running exit 1.
    pub fn is_usage(&self) -> bool {
        match self {
            SimulateError::Log(error) => error.is_usage(),
            SimulateError::Input(input::InputError::Write { .. }) => false,
            SimulateError::Series(series::SeriesError::Read { .. }) => false,
            SimulateError::Runtime(_) => false,
            _ => true,
        }
    }
}

/// Every statistic an alarm or a tracking policy names must be in the series.
pub fn check_statistics(scenario: &Scenario, available: &[Statistic], what: &str) -> Result<(), SimulateError> {
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

pub fn warn_resolution(loaded: &Loaded, series_period: u32) {
    for warning in input::resolution_warnings(loaded, series_period) {
        eprintln!("warning: {warning}");
    }
}
