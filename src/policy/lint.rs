//! Pure: does each alarm of a validated scenario watch the series the exporter's config
//! publishes, at a period that series can fill? A different namespace, metric name or
//! dimension set is a different metric in CloudWatch: such an alarm watches nothing.

use std::collections::BTreeSet;
use std::fmt;
use std::path::Path;

use crate::config::{CloudWatchConfig, INSTANCE_DIMENSION};
use crate::scaling::scenario::{BacklogPerTask, EvaluationWindow, PolicyKind, Statistic, TrackedMetric};
use crate::simulate::input::{Loaded, Location};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Severity {
    /// The alarm will not behave as intended, but does watch the published series.
    Warning,
    /// The alarm watches no published series, or sees no datapoint of it.
    Error,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Finding {
    pub(crate) severity: Severity,
    pub location: Location,
    pub message: String,
}

impl Finding {
    /// A finding about `field` of the table at `at` (its key becomes `TABLE.field`).
    fn at_field(at: &Location, field: &str, severity: Severity, message: String) -> Finding {
        let mut location = at.clone();
        location.key = format!("{}.{field}", at.key);
        Finding {
            severity,
            location,
            message,
        }
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let severity = match self.severity {
            Severity::Warning => "warning",
            Severity::Error => "error",
        };
        write!(f, "{severity}: {}: {}", self.location, self.message)
    }
}

/// Which of the exporter's series an alarm's dimension set names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Series {
    Instance,
    Fleet,
}

fn dimension_names(dimensions: &[(String, String)]) -> String {
    let names: Vec<&str> = dimensions.iter().map(|(name, _)| name.as_str()).collect();
    format!("{{{}}}", names.join(", "))
}

/// The exporter publishes `{InstanceId=<id>}` per instance and, when configured, exactly
/// `fleet_dimensions` for the fleet. Compared as sets: CloudWatch ignores the order.
fn series_of(dimensions: &[(String, String)], cloudwatch: &CloudWatchConfig) -> Option<Series> {
    let alarm_set: BTreeSet<(&str, &str)> = dimensions
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_str()))
        .collect();
    if dimensions.len() == 1 && dimensions[0].0 == INSTANCE_DIMENSION {
        return Some(Series::Instance);
    }
    let fleet_set: BTreeSet<(&str, &str)> = cloudwatch
        .fleet_dimensions
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_str()))
        .collect();
    (!fleet_set.is_empty() && alarm_set == fleet_set).then_some(Series::Fleet)
}

/// The dimension values an alarm (or a per-task metric) names against those the exporter
/// publishes: same names, another value is another series. `config` names the exporter's
/// config file. `None`: the values agree, or the sets differ in their names (said elsewhere).
fn value_finding(
    who: &str,
    dimensions: &[(String, String)],
    cloudwatch: &CloudWatchConfig,
    config: &Path,
) -> Option<(Severity, String)> {
    let config = config.display();
    if let [(name, value)] = dimensions {
        if name == INSTANCE_DIMENSION {
            return instance_finding(who, value, cloudwatch, &config);
        }
    }
    let fleet = &cloudwatch.fleet_dimensions;
    let names = |set: &[(String, String)]| set.iter().map(|(name, _)| name.clone()).collect::<BTreeSet<String>>();
    if fleet.is_empty() || names(dimensions) != names(fleet) || dimensions.len() != fleet.len() {
        return None;
    }
    let differing: Vec<String> = dimensions
        .iter()
        .filter_map(|(name, value)| {
            let published = fleet.iter().find(|(n, _)| n == name).map(|(_, v)| v)?;
            (published != value)
                .then(|| format!("{name}={value} (given here), the exporter publishes {name}={published}"))
        })
        .collect();
    (!differing.is_empty()).then(|| {
        (
            Severity::Error,
            format!(
                "{who} watches {} (cloudwatch.fleet_dimensions in {config}): another value is another series",
                differing.join("; ")
            ),
        )
    })
}

/// An alarm on the per-instance series: its InstanceId against the config's, or a warning
/// when the config leaves it to IMDSv2.
fn instance_finding(
    who: &str,
    value: &str,
    cloudwatch: &CloudWatchConfig,
    config: &impl fmt::Display,
) -> Option<(Severity, String)> {
    match &cloudwatch.instance_id {
        Some(id) if id != value => Some((
            Severity::Error,
            format!(
                "{who} watches {INSTANCE_DIMENSION}={value} (given here), the exporter publishes \
                     {INSTANCE_DIMENSION}={id} (cloudwatch.instance_id in {config}): that is another \
                     instance's series, not this proxy's"
            ),
        )),
        Some(_) => None,
        None => Some((
            Severity::Warning,
            format!(
                "{who} watches {INSTANCE_DIMENSION}={value}; {config} leaves cloudwatch.instance_id to \
                     IMDSv2, so the value cannot be compared here: run `check` on the instance (it lists the \
                     alarms on its own series), or set cloudwatch.instance_id"
            ),
        )),
    }
}

/// The cross-check of `policy lint --config`: one finding per problem, per alarm. `config`
/// is the path of the exporter's config, named where a value from it disagrees.
pub(crate) fn cross_check(loaded: &Loaded, cloudwatch: &CloudWatchConfig, config: &Path) -> Vec<Finding> {
    let mut findings = Vec::new();
    for (index, alarm) in loaded.scenario.alarms.iter().enumerate() {
        let Some(at) = loaded.alarm_location(index) else {
            continue;
        };
        let mut report = |severity: Severity, field: &str, message: String| {
            findings.push(Finding::at_field(at, field, severity, message));
        };
        if alarm.namespace != cloudwatch.namespace {
            report(
                Severity::Error,
                "namespace",
                format!(
                    "alarm {:?} watches namespace {:?}, the exporter publishes to {:?} (cloudwatch.namespace): \
                     it watches no published series",
                    alarm.name, alarm.namespace, cloudwatch.namespace
                ),
            );
        }
        if alarm.metric_name != cloudwatch.metric_name {
            report(
                Severity::Error,
                "metric_name",
                format!(
                    "alarm {:?} watches metric {:?}, the exporter publishes {:?} (cloudwatch.metric_name)",
                    alarm.name, alarm.metric_name, cloudwatch.metric_name
                ),
            );
        }
        let series = series_of(&alarm.dimensions, cloudwatch);
        let values = value_finding(
            &format!("alarm {:?}", alarm.name),
            &alarm.dimensions,
            cloudwatch,
            config,
        );
        if let Some((severity, message)) = values {
            report(severity, "dimensions", message);
        } else if series.is_none() {
            let fleet = if cloudwatch.fleet_dimensions.is_empty() {
                String::from(", and no fleet series (cloudwatch.fleet_dimensions is empty)")
            } else {
                format!(
                    ", and {} for the fleet (cloudwatch.fleet_dimensions)",
                    dimension_names(&cloudwatch.fleet_dimensions)
                )
            };
            report(
                Severity::Error,
                "dimensions",
                format!(
                    "alarm {:?} has the dimension set {}: the exporter publishes {{{INSTANCE_DIMENSION}}} per \
                     instance{fleet}; a different set is a different metric",
                    alarm.name,
                    dimension_names(&alarm.dimensions)
                ),
            );
        }
        if let Some((severity, message)) = period_finding(alarm.period, cloudwatch) {
            report(severity, "period", message);
        }
        if series == Some(Series::Fleet) && alarm.statistic == Statistic::Sum {
            report(Severity::Warning, "statistic", fleet_sum_warning(cloudwatch));
        }
        if let EvaluationWindow::WallClock { .. } = alarm.evaluation_window {
            // alarm-evaluation-window: a wall clock window evaluates only complete periods
            // aligned to the clock; the sliding default reads the newest data at every
            // evaluation.
            report(
                Severity::Warning,
                "evaluation_window",
                format!(
                    "alarm {:?} has a wall clock window: it sees a backlog only once a clock-aligned {} s period \
                     has ended, up to a period later than the sliding window (AWS's default) would",
                    alarm.name, alarm.period
                ),
            );
        }
    }
    for (index, policy) in loaded.scenario.policies.iter().enumerate() {
        let PolicyKind::TargetTracking {
            metric: TrackedMetric::BacklogPerTask(per_task),
            ..
        } = &policy.kind
        else {
            continue;
        };
        let Some(at) = loaded.per_task_location(index) else {
            continue;
        };
        for (severity, field, message) in per_task_findings(&policy.name, per_task, cloudwatch, config) {
            findings.push(Finding::at_field(at, field, severity, message));
        }
    }
    findings
}

/// backlog_per_task's m1 must be a published series, and its sample interval the exporter's:
/// Sum × sample_interval / period is the fleet total only with the interval the samples were
/// taken at.
fn per_task_findings(
    policy: &str,
    per_task: &BacklogPerTask,
    cloudwatch: &CloudWatchConfig,
    config: &Path,
) -> Vec<(Severity, &'static str, String)> {
    let mut out = Vec::new();
    if per_task.namespace != cloudwatch.namespace {
        out.push((
            Severity::Error,
            "namespace",
            format!(
                "policy {policy:?} divides namespace {:?}, the exporter publishes to {:?} (cloudwatch.namespace)",
                per_task.namespace, cloudwatch.namespace
            ),
        ));
    }
    if per_task.metric_name != cloudwatch.metric_name {
        out.push((
            Severity::Error,
            "metric_name",
            format!(
                "policy {policy:?} divides metric {:?}, the exporter publishes {:?} (cloudwatch.metric_name)",
                per_task.metric_name, cloudwatch.metric_name
            ),
        ));
    }
    let series = series_of(&per_task.dimensions, cloudwatch);
    // Another instance's or fleet's value is the error to name; the per-instance series' own
    // warning below says more than "cannot be compared".
    let values = value_finding(&format!("policy {policy:?}"), &per_task.dimensions, cloudwatch, config)
        .filter(|(severity, _)| *severity == Severity::Error);
    if let Some((severity, message)) = values.clone() {
        out.push((severity, "dimensions", message));
    } else if series == Some(Series::Instance) {
        out.push((
            Severity::Warning,
            "dimensions",
            format!(
                "policy {policy:?} divides one proxy's series ({{{INSTANCE_DIMENSION}}}): that is the fleet total only \
                 while this proxy is the only one; with several, use the fleet series (cloudwatch.fleet_dimensions)"
            ),
        ));
    }
    if series.is_none() && values.is_none() {
        out.push((
            Severity::Error,
            "dimensions",
            format!(
                "policy {policy:?} divides the dimension set {}: the exporter publishes {{{INSTANCE_DIMENSION}}} per \
                 instance and {} for the fleet (cloudwatch.fleet_dimensions); a different set is a different metric",
                dimension_names(&per_task.dimensions),
                dimension_names(&cloudwatch.fleet_dimensions)
            ),
        ));
    }
    let exporter_interval = cloudwatch.sample_interval.as_secs_f64();
    if (per_task.sample_interval_s - exporter_interval).abs() > 1e-9 {
        out.push((
            Severity::Error,
            "sample_interval",
            format!(
                "policy {policy:?} takes the sample interval as {} s, the exporter samples every {exporter_interval} s \
                 (cloudwatch.sample_interval): the fleet total would be off by their ratio",
                per_task.sample_interval_s
            ),
        ));
    }
    out
}

/// Whether an alarm period (seconds) can be filled by the series the exporter publishes:
/// `None` when each of its periods holds the same number of datapoints. Shared by `policy
/// lint` and `check` (which reads the deployed alarms).
pub(crate) fn period_finding(alarm_period: u32, cloudwatch: &CloudWatchConfig) -> Option<(Severity, String)> {
    let publish_period = cloudwatch.period.as_secs() as u32;
    if alarm_period < 60 && cloudwatch.storage_resolution != 1 {
        Some((
            Severity::Error,
            format!(
                "a {alarm_period} s alarm period needs the metric at high resolution: the config's \
                 cloudwatch.storage_resolution is {}, so the alarm gets a datapoint only at the attempts on the minute and \
                 lapses into INSUFFICIENT_DATA between them (API_PutMetricAlarm, Period; set it to 1)",
                cloudwatch.storage_resolution
            ),
        ))
    } else if publish_period > 0 && alarm_period < publish_period {
        Some((
            Severity::Warning,
            format!(
                "the alarm period ({alarm_period} s) is shorter than the exporter's publish period (cloudwatch.period, \
                 {publish_period} s): most of its periods hold no datapoint"
            ),
        ))
    } else if publish_period > 0 && !alarm_period.is_multiple_of(publish_period) {
        Some((
            Severity::Warning,
            format!(
                "the alarm period ({alarm_period} s) is not a multiple of the exporter's publish period \
                 (cloudwatch.period, {publish_period} s): its periods hold unequal numbers of datapoints"
            ),
        ))
    } else {
        None
    }
}

/// Why Sum on the fleet series misleads: every datum is one instance's statistic set.
pub(crate) fn fleet_sum_warning(cloudwatch: &CloudWatchConfig) -> String {
    format!(
        "Sum on the fleet series is not the fleet's total backlog: each datum is one instance's \
         statistic set of {} samples, so Sum adds the samples; the total is Sum / {} per publish \
         period, or use Average (the backlog per proxy)",
        cloudwatch.samples_per_period(),
        cloudwatch.samples_per_period()
    )
}
