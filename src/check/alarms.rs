//! Pure: the alarms that watch each series the exporter publishes, and the policies they
//! run, as `check` prints them. `check/aws.rs` reads them (DescribeAlarmsForMetric,
//! DescribePolicies, DescribeScalingPolicies) into the model types of `simulate`; the
//! judgements are the ones `simulate` and `policy lint` make on a policy file.
//!
//! ```text
//! published_series(config, instance id) --PublishedSeries--> aws.rs --SeriesAlarms, PolicyRead-->
//! report(...) --lines--> check's report
//! ```

use std::collections::BTreeMap;

use crate::config::{CloudWatchConfig, Config, INSTANCE_DIMENSION};
use crate::policy::lint::{fleet_sum_warning, period_finding};
use crate::scaling::scenario::{
    AdjustmentType, Alarm, Comparison, Policy, PolicyKind, ScalingService, Statistic, StepAdjustment, TreatMissingData,
};
use crate::simulate::input::{scale_in_missing_data_warning, scales_in};

/// The report's column of labels is this wide (as in the rest of `check`'s report).
const INDENT: &str = "              ";

/// One series the exporter publishes: a metric name and the exact dimension set (a different
/// set is a different metric in CloudWatch).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishedSeries {
    pub namespace: String,
    pub metric_name: String,
    pub dimensions: Vec<(String, String)>,
    /// The fleet datum (`cloudwatch.fleet_dimensions`), not this instance's.
    pub fleet: bool,
}

impl std::fmt::Display for PublishedSeries {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let dimensions: Vec<String> = self.dimensions.iter().map(|(n, v)| format!("{n}={v}")).collect();
        write!(
            f,
            "{}/{} {{{}}}",
            self.namespace,
            self.metric_name,
            dimensions.join(", ")
        )
    }
}

/// Every series this instance publishes: PendingRequests (`cloudwatch.metric_name`) and each
/// of `access_log.publish`, per instance and, when configured, for the fleet.
pub(crate) fn published_series(config: &Config, instance_id: &str) -> Vec<PublishedSeries> {
    let cw = &config.cloudwatch;
    let names = std::iter::once(cw.metric_name.as_str()).chain(
        config
            .access_log
            .iter()
            .flat_map(|a| a.publish.iter().map(|m| m.name())),
    );
    let mut series = Vec::new();
    for name in names {
        series.push(PublishedSeries {
            namespace: cw.namespace.clone(),
            metric_name: name.to_owned(),
            dimensions: vec![(INSTANCE_DIMENSION.to_owned(), instance_id.to_owned())],
            fleet: false,
        });
        if !cw.fleet_dimensions.is_empty() {
            series.push(PublishedSeries {
                namespace: cw.namespace.clone(),
                metric_name: name.to_owned(),
                dimensions: cw.fleet_dimensions.clone(),
                fleet: true,
            });
        }
    }
    series
}

/// An optional read that AWS refused or that failed: the IAM action it needs and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadFailure {
    /// `cloudwatch:DescribeAlarmsForMetric`, `autoscaling:DescribePolicies`, ...
    pub permission: &'static str,
    /// The error code and message (`AccessDenied: User ... is not authorized ...`).
    pub reason: String,
}

impl std::fmt::Display for ReadFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.permission, self.reason)
    }
}

/// One alarm DescribeAlarmsForMetric returned for a series.
#[derive(Debug, Clone, PartialEq)]
pub enum ReadAlarm {
    /// A static-threshold alarm on one statistic: what `simulate` models. `alarm.actions` is
    /// left empty; `action_arns` are its AlarmActions as AWS gave them.
    Checked {
        alarm: Alarm,
        action_arns: Vec<String>,
        actions_enabled: bool,
    },
    /// An alarm `check` can only name: an extended statistic (p99), an anomaly band, a value
    /// the model does not know.
    Unchecked { name: String, why: String },
}

/// What DescribeAlarmsForMetric answered for one series.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesAlarms {
    pub series: PublishedSeries,
    pub alarms: Result<Vec<ReadAlarm>, ReadFailure>,
}

/// The scaling policy an alarm action's ARN names, told from the ARN itself. Both services'
/// policy ARNs are `arn:aws:autoscaling:...:scalingPolicy:UUID:...:policyName/NAME`; EC2 Auto
/// Scaling's carry `autoScalingGroupName/GROUP`, Application Auto Scaling's
/// `resource/NAMESPACE/RESOURCE-ID` (e.g. `resource/ecs/service/CLUSTER/SERVICE`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PolicyRef {
    Ec2 {
        group: String,
        name: String,
    },
    Application {
        /// ServiceNamespace: `ecs`, `dynamodb`, ...
        namespace: String,
        /// ResourceId: `service/CLUSTER/SERVICE` for ECS.
        resource_id: String,
        name: String,
    },
}

const POLICY_NAME: &str = ":policyName/";
const GROUP_NAME: &str = ":autoScalingGroupName/";
const RESOURCE: &str = ":resource/";

/// Which policy an alarm action names, or `None` when the ARN is no scaling policy (an SNS
/// topic, an EC2 action).
pub(crate) fn policy_ref(arn: &str) -> Option<PolicyRef> {
    let mut parts = arn.splitn(7, ':');
    let (Some("arn"), Some(_partition), Some("autoscaling")) = (parts.next(), parts.next(), parts.next()) else {
        return None;
    };
    let at = arn.rfind(POLICY_NAME)?;
    let (scope, name) = (&arn[..at], &arn[at + POLICY_NAME.len()..]);
    if !scope.contains(":scalingPolicy:") || name.is_empty() {
        return None;
    }
    if let Some(start) = scope.find(GROUP_NAME) {
        return Some(PolicyRef::Ec2 {
            group: scope[start + GROUP_NAME.len()..].to_owned(),
            name: name.to_owned(),
        });
    }
    let start = scope.find(RESOURCE)?;
    let (namespace, resource_id) = scope[start + RESOURCE.len()..].split_once('/')?;
    Some(PolicyRef::Application {
        namespace: namespace.to_owned(),
        resource_id: resource_id.to_owned(),
        name: name.to_owned(),
    })
}

/// What reading the policy an action ARN names gave.
#[derive(Debug, Clone, PartialEq)]
pub enum PolicyRead {
    Found(Policy),
    /// A policy type the model does not cover (PredictiveScaling), or one it refuses.
    Unchecked {
        policy_type: String,
    },
    /// The describe call answered, without this policy: the alarm runs nothing.
    NotFound,
    Failed(ReadFailure),
}

/// The alarm side of `check`: one block per series, one line per failed read (named once).
pub fn report(
    cloudwatch: &CloudWatchConfig,
    series: &[SeriesAlarms],
    policies: &BTreeMap<String, PolicyRead>,
) -> Vec<String> {
    let mut lines = Vec::new();
    // A missing permission fails every series alike: one line, naming the series left out.
    let mut failures: Vec<(&ReadFailure, Vec<String>)> = Vec::new();
    for entry in series {
        let alarms = match &entry.alarms {
            Ok(alarms) => alarms,
            Err(failure) => {
                match failures.iter_mut().find(|(f, _)| *f == failure) {
                    Some((_, names)) => names.push(entry.series.to_string()),
                    None => failures.push((failure, vec![entry.series.to_string()])),
                }
                continue;
            }
        };
        if alarms.is_empty() {
            lines.push(format!(
                "alarms        {}: no alarm watches this series (an alarm on another namespace, metric name or \
                 dimension set watches a different metric)",
                entry.series
            ));
            continue;
        }
        lines.push(format!(
            "alarms        {}: {} alarm(s) watch this series",
            entry.series,
            alarms.len()
        ));
        for alarm in alarms {
            match alarm {
                ReadAlarm::Unchecked { name, why } => {
                    lines.push(format!("{INDENT}alarm {name:?}: not checked ({why})"));
                }
                ReadAlarm::Checked {
                    alarm,
                    action_arns,
                    actions_enabled,
                } => alarm_lines(
                    cloudwatch,
                    &entry.series,
                    alarm,
                    action_arns,
                    *actions_enabled,
                    policies,
                    &mut lines,
                ),
            }
        }
    }
    for (failure, names) in failures {
        lines.push(format!(
            "alarms        cannot list ({failure}): not checked for {}",
            names.join(", ")
        ));
    }
    lines
}

fn alarm_lines(
    cloudwatch: &CloudWatchConfig,
    series: &PublishedSeries,
    alarm: &Alarm,
    action_arns: &[String],
    actions_enabled: bool,
    policies: &BTreeMap<String, PolicyRead>,
    lines: &mut Vec<String>,
) {
    // The policies found, in action order, so `alarm.actions` indexes them as the model wants.
    let found: Vec<Policy> = action_arns
        .iter()
        .filter_map(|arn| match policies.get(arn) {
            Some(PolicyRead::Found(policy)) => Some(policy.clone()),
            _ => None,
        })
        .collect();
    let alarm = Alarm {
        actions: (0..found.len()).collect(),
        ..alarm.clone()
    };
    let scaling_actions = action_arns.iter().filter(|arn| policy_ref(arn).is_some()).count();
    let direction = if scaling_actions == 0 {
        Direction::None
    } else if scales_in(&alarm, &found) {
        Direction::In
    } else {
        Direction::Out
    };
    let period = match period_finding(alarm.period, cloudwatch) {
        None => format!(
            "ok for StorageResolution {} and a datum every {}",
            cloudwatch.storage_resolution,
            humantime::format_duration(cloudwatch.period)
        ),
        Some(_) => String::from("does not fit the published series: see the warning"),
    };
    lines.push(format!(
        "{INDENT}alarm {:?} ({}): {} over {} s ({period}), {} of {} periods {} {}, TreatMissingData {}",
        alarm.name,
        direction.name(),
        alarm.statistic.name(),
        alarm.period,
        alarm.datapoints_to_alarm,
        alarm.evaluation_periods,
        operator(alarm.comparison),
        alarm.threshold,
        alarm.treat_missing_data.name()
    ));
    let sub = format!("{INDENT}  ");
    if action_arns.is_empty() {
        lines.push(format!(
            "{sub}runs nothing: no AlarmActions (it changes state, nothing scales)"
        ));
    }
    for arn in action_arns {
        lines.push(format!("{sub}{}", action_line(arn, &alarm, policies)));
    }
    let mut warnings = Vec::new();
    if !actions_enabled && !action_arns.is_empty() {
        warnings.push(String::from(
            "ActionsEnabled is false: the alarm changes state but runs none of its actions",
        ));
    }
    if let Some((_, message)) = period_finding(alarm.period, cloudwatch) {
        warnings.push(message);
    }
    if scaling_actions > 0 {
        warnings.extend(scale_in_missing_data_warning(&alarm, &found));
        if direction == Direction::Out && alarm.treat_missing_data == TreatMissingData::NotBreaching {
            warnings.push(String::from(
                "notBreaching on a scale-out alarm: a period the exporter could not publish (nginx too busy to \
                 answer stub_status is the moment capacity is short) counts as below the threshold and can hold \
                 the alarm in OK; missing evaluates the periods that have data",
            ));
        }
    }
    if series.fleet && series.metric_name == cloudwatch.metric_name && alarm.statistic == Statistic::Sum {
        warnings.push(fleet_sum_warning(cloudwatch));
    }
    for warning in warnings {
        lines.push(format!("{sub}warning: {warning}"));
    }
}

/// Which way an alarm scales: from its comparison and its policies' steps, as `simulate` decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Direction {
    /// No action names a scaling policy (notifications only, or nothing).
    None,
    In,
    Out,
}

impl Direction {
    fn name(self) -> &'static str {
        match self {
            Direction::None => "no scaling action",
            Direction::In => "scale-in",
            Direction::Out => "scale-out",
        }
    }
}

fn operator(comparison: Comparison) -> &'static str {
    match comparison {
        Comparison::GreaterThanOrEqualToThreshold => ">=",
        Comparison::GreaterThanThreshold => ">",
        Comparison::LessThanThreshold => "<",
        Comparison::LessThanOrEqualToThreshold => "<=",
    }
}

fn service_name(service: ScalingService) -> &'static str {
    match service {
        ScalingService::Ec2AutoScaling => "EC2 Auto Scaling",
        ScalingService::ApplicationAutoScaling => "Application Auto Scaling",
    }
}

fn action_line(arn: &str, alarm: &Alarm, policies: &BTreeMap<String, PolicyRead>) -> String {
    let Some(reference) = policy_ref(arn) else {
        return if arn.contains(":sns:") {
            format!("notifies {arn}")
        } else {
            format!("runs {arn} (not a scaling policy)")
        };
    };
    let (service, name, of) = match &reference {
        PolicyRef::Ec2 { group, name } => (ScalingService::Ec2AutoScaling, name, format!("group {group}")),
        PolicyRef::Application {
            namespace,
            resource_id,
            name,
        } => (
            ScalingService::ApplicationAutoScaling,
            name,
            format!("{namespace} {resource_id}"),
        ),
    };
    let head = format!("runs {} policy {name:?} ({of})", service_name(service));
    match policies.get(arn) {
        Some(PolicyRead::Found(policy)) => format!("{head}: {}", describe_policy(policy, alarm)),
        Some(PolicyRead::Unchecked { policy_type }) => format!("{head}: {policy_type} (steps not shown)"),
        Some(PolicyRead::NotFound) => format!("{head}: no such policy (the alarm runs nothing)"),
        Some(PolicyRead::Failed(failure)) => format!("{head}: not read ({failure})"),
        None => format!("{head}: not read"),
    }
}

fn adjustment(adjustment_type: AdjustmentType, value: i64) -> String {
    match adjustment_type {
        AdjustmentType::ChangeInCapacity => format!("{value:+}"),
        AdjustmentType::PercentChangeInCapacity => format!("{value:+}%"),
        AdjustmentType::ExactCapacity => format!("set {value}"),
    }
}

/// A step's bounds as the metric's own values: AWS gives them relative to the threshold. Above
/// the threshold the lower bound is inclusive, below it the upper one (API_StepAdjustment).
fn step_range(step: &StepAdjustment, alarm: &Alarm) -> String {
    let bound = |b: Option<f64>, open: &str| b.map_or(open.to_owned(), |b| format!("{}", alarm.threshold + b));
    let (lower, upper) = (bound(step.lower_bound, "-inf"), bound(step.upper_bound, "+inf"));
    if alarm.comparison.is_upper() {
        format!("[{lower}, {upper})")
    } else {
        format!("({lower}, {upper}]")
    }
}

fn describe_policy(policy: &Policy, alarm: &Alarm) -> String {
    match &policy.kind {
        PolicyKind::Step {
            adjustment_type,
            min_adjustment_magnitude,
            aggregation,
            steps,
            estimated_instance_warmup,
            cooldown,
        } => {
            let steps: Vec<String> = steps
                .iter()
                .map(|s| {
                    format!(
                        "{} at {}",
                        adjustment(*adjustment_type, s.scaling_adjustment),
                        step_range(s, alarm)
                    )
                })
                .collect();
            let mut text = format!(
                "StepScaling {}, steps {}, aggregation {}",
                adjustment_type.name(),
                steps.join(", "),
                aggregation.name()
            );
            if let Some(magnitude) = min_adjustment_magnitude {
                text.push_str(&format!(", at least {magnitude}"));
            }
            if let Some(warmup) = estimated_instance_warmup {
                text.push_str(&format!(", warmup {warmup} s"));
            }
            if let Some(cooldown) = cooldown {
                text.push_str(&format!(", cooldown {cooldown} s"));
            }
            text
        }
        PolicyKind::Simple {
            adjustment_type,
            scaling_adjustment,
            cooldown,
            ..
        } => {
            let mut text = format!(
                "SimpleScaling {} {}",
                adjustment_type.name(),
                adjustment(*adjustment_type, *scaling_adjustment)
            );
            if let Some(cooldown) = cooldown {
                text.push_str(&format!(", cooldown {cooldown} s"));
            }
            text
        }
        PolicyKind::TargetTracking {
            target_value,
            statistic,
            disable_scale_in,
            ..
        } => format!(
            "TargetTrackingScaling to {target_value} ({}){}",
            statistic.name(),
            if *disable_scale_in { ", scale-in disabled" } else { "" }
        ),
    }
}

#[cfg(test)]
mod tests;
