//! Scenario readers: the JSON the AWS CLI prints (`describe-alarms`, `describe-policies` /
//! `describe-scaling-policies`, `describe-auto-scaling-groups` / `describe-scalable-targets`)
//! or one policy TOML, validated once into a [`Scenario`].
//!
//! ```text
//! json.rs / policy_toml.rs --drafts (values + where they came from)--> validate.rs --> Scenario
//! write_aws.rs: Scenario --> the describe-* JSON (so `--policy F --print-aws DIR` round-trips)
//! ```
//!
//! Every error and warning names the file, the key (a JSON path such as
//! `MetricAlarms[1].TreatMissingData`, or a TOML key such as `alarm[1].treat_missing_data`;
//! indexes count from 0 in both) and the line.

mod draft;
mod json;
mod policy_toml;
mod validate;
mod write_aws;

use std::fmt;
use std::path::{Path, PathBuf};

use crate::scaling::scenario::{Delays, Scenario};

pub(crate) use json::json_path_line;
pub(crate) use json::{alarm_draft, policy_draft, Locate};
pub(crate) use validate::{alarm_alone, policy_alone};
pub(crate) use validate::{scale_in_missing_data_warning, scales_in};
pub(crate) use write_aws::write_aws;

/// Where the scenario comes from: `--policy FILE.toml` alone, or `--alarms` + `--policies`
/// (+ `--group`; `--capacity` gives or overrides the desired capacity).
#[derive(Debug, Clone, Copy, Default)]
pub struct Sources<'a> {
    pub alarms: Option<&'a Path>,
    pub policies: Option<&'a Path>,
    pub group: Option<&'a Path>,
    pub policy_toml: Option<&'a Path>,
    pub capacity: Option<u32>,
}

/// A validated scenario and what AWS would accept but is likely wrong for this metric.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub scenario: Scenario,
    pub warnings: Vec<Warning>,
    /// Where each alarm's Period was given, in `scenario.alarms` order, for
    /// [`resolution_warnings`].
    alarm_periods: Vec<Location>,
    /// Where each alarm was given (`alarm[1]`, `MetricAlarms[1]`), in `scenario.alarms` order.
    alarm_locations: Vec<Location>,
    /// Where each policy's backlog_per_task was given, in `scenario.policies` order.
    per_task_locations: Vec<Option<Location>>,
}

impl Loaded {
    /// Where the alarm at `index` of `scenario.alarms` was given, for checks made after
    /// validation (`policy lint`'s cross-check against the exporter's config).
    pub(crate) fn alarm_location(&self, index: usize) -> Option<&Location> {
        self.alarm_locations.get(index)
    }

    /// Where the backlog_per_task of the policy at `index` of `scenario.policies` was given.
    pub(crate) fn per_task_location(&self, index: usize) -> Option<&Location> {
        self.per_task_locations.get(index).and_then(Option::as_ref)
    }
}

/// A place in an input file: the file, the key and its 1-based line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub file: String,
    pub key: String,
    pub line: usize,
}

impl Location {
    fn warn(&self, message: impl Into<String>) -> Warning {
        Warning {
            location: self.clone(),
            message: message.into(),
        }
    }

    fn error(&self, message: impl Into<String>) -> InputError {
        InputError::Invalid {
            location: self.clone(),
            message: message.into(),
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // No key: the file is not TOML (or JSON) at all; the message says what is wrong.
        if self.key.is_empty() {
            return write!(f, "{}:{}", self.file, self.line);
        }
        write!(f, "{}:{}: {}", self.file, self.line, self.key)
    }
}

/// Something AWS accepts that will not behave as intended on PendingRequests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    pub location: Location,
    pub message: String,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.location, self.message)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Which files were given does not make a scenario (the CLI's usage error).
    #[error("{0}")]
    Sources(String),
    /// Not JSON/TOML, a wrong type, a missing key, or a value AWS (or this tool) refuses.
    #[error("{location}: {message}")]
    Invalid { location: Location, message: String },
}

impl InputError {
    /// What is wrong, without where.
    pub fn message(&self) -> String {
        match self {
            InputError::Invalid { message, .. } => message.clone(),
            other => other.to_string(),
        }
    }
}

fn read(path: &Path) -> Result<String, InputError> {
    std::fs::read_to_string(path).map_err(|source| InputError::Read {
        path: path.to_owned(),
        source,
    })
}

/// The policy TOML's scenario: its group, alarms and policies, and its `[delays]` over the
/// measured defaults.
fn from_toml(name: &str, text: &str, capacity: Option<u32>) -> Result<Loaded, InputError> {
    let drafts = policy_toml::parse(name, text)?;
    let mut loaded = validate::scenario(drafts, capacity)?;
    loaded.scenario.delays = policy_toml::delays(name, text, Delays::MEASURED)?;
    Ok(loaded)
}

/// Reads and validates the scenario.
pub fn load(sources: &Sources) -> Result<Loaded, InputError> {
    match (sources.policy_toml, sources.alarms, sources.policies) {
        (Some(path), None, None) => {
            if sources.group.is_some() {
                return Err(InputError::Sources(
                    "--group cannot be combined with --policy: the TOML has [group]".into(),
                ));
            }
            from_toml(&path.display().to_string(), &read(path)?, sources.capacity)
        }
        (None, Some(alarms), Some(policies)) => {
            let alarms_text = read(alarms)?;
            let policies_text = read(policies)?;
            let group = match sources.group {
                Some(path) => Some((path.display().to_string(), read(path)?)),
                None => None,
            };
            let drafts = json::parse(
                (&alarms.display().to_string(), &alarms_text),
                (&policies.display().to_string(), &policies_text),
                group.as_ref().map(|(name, text)| (name.as_str(), text.as_str())),
            )?;
            // The describe-* documents say nothing of the delays: the measured defaults.
            let mut loaded = validate::scenario(drafts, sources.capacity)?;
            loaded.scenario.delays = Delays::MEASURED;
            Ok(loaded)
        }
        (Some(_), _, _) => Err(InputError::Sources(
            "--policy cannot be combined with --alarms/--policies".into(),
        )),
        _ => Err(InputError::Sources(
            "give either --policy FILE.toml, or --alarms and --policies (the AWS CLI's JSON)".into(),
        )),
    }
}

/// Warnings that need the series' resolution (seconds between its datapoints).
pub(crate) fn resolution_warnings(loaded: &Loaded, series_period: u32) -> Vec<Warning> {
    let mut warnings = Vec::new();
    for (alarm, at) in loaded.scenario.alarms.iter().zip(&loaded.alarm_periods) {
        if series_period == 0 {
            break;
        }
        if alarm.period < 60 && series_period >= 60 {
            warnings.push(at.warn(format!(
                "a {} s alarm period on a series of {series_period} s resolution: such an alarm gets a \
                 datapoint only at the evaluations that line up with one and often lapses into \
                 INSUFFICIENT_DATA (it needs the metric at high resolution, 1 s storage)",
                alarm.period
            )));
        } else if alarm.period % series_period != 0 {
            warnings.push(at.warn(format!(
                "the alarm period ({} s) is not a multiple of the series' resolution ({series_period} s): \
                 its periods will hold unequal numbers of datapoints",
                alarm.period
            )));
        }
    }
    warnings
}

#[cfg(test)]
mod tests;
