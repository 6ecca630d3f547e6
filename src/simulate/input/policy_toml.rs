//! `--policy FILE.toml`: the group, alarms and policies in one short file, AWS's field names
//! in snake_case (config/scaling-policy.toml is the annotated example). Unknown keys are
//! errors; every value keeps its span so validation names its line.
//!
//! Keys are `group.min_capacity`, `alarm[0].period`, `policy[1].step_adjustments[0]`
//! (indexes from 0, as in the JSON paths). Periods and cooldowns are whole seconds, as in
//! AWS's own fields. `alarm_actions` names policies by `policy_name` (there are no ARNs until
//! `--print-aws` makes them from `region` and `account_id`).

use serde::Deserialize;
use toml::Spanned;

use super::draft::{
    ActionRef, AlarmDraft, At, Drafts, GroupDraft, PerTaskDraft, PolicyDraft, StepDraft, TargetDraft,
    TrackingAlarmsDraft, DEFAULT_ACCOUNT_ID, DEFAULT_REGION,
};
use super::{InputError, Location};
use crate::config::DEFAULT_METRIC_NAME;
use crate::scaling::scenario::{Delays, EvaluationWindow, ScalingService};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    group: Spanned<RawGroup>,
    #[serde(default)]
    alarm: Vec<Spanned<RawAlarm>>,
    #[serde(default)]
    policy: Vec<Spanned<RawPolicy>>,
    delays: Option<RawDelays>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGroup {
    kind: Spanned<String>,
    name: Spanned<String>,
    #[serde(alias = "min_size")]
    min_capacity: Option<Spanned<i64>>,
    #[serde(alias = "max_size")]
    max_capacity: Option<Spanned<i64>>,
    desired_capacity: Option<Spanned<i64>>,
    default_instance_warmup: Option<Spanned<i64>>,
    default_cooldown: Option<Spanned<i64>>,
    region: Option<String>,
    account_id: Option<String>,
    /// EC2 Auto Scaling: SuspendedProcesses, by AWS's process names.
    #[serde(default)]
    suspended_processes: Vec<Spanned<String>>,
    /// Application Auto Scaling: SuspendedState.
    suspended_state: Option<RawSuspendedState>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSuspendedState {
    dynamic_scaling_in_suspended: Option<Spanned<bool>>,
    dynamic_scaling_out_suspended: Option<Spanned<bool>>,
    scheduled_scaling_suspended: Option<Spanned<bool>>,
}

/// EvaluationWindow, AWS's union in snake_case: `{ sliding_window = {} }` or
/// `{ wall_clock_window = { timezone = "Europe/Paris" } }`.
#[derive(Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
enum RawEvaluationWindow {
    SlidingWindow {},
    WallClockWindow { timezone: Option<String> },
}

impl From<&RawEvaluationWindow> for EvaluationWindow {
    fn from(window: &RawEvaluationWindow) -> Self {
        match window {
            RawEvaluationWindow::SlidingWindow {} => EvaluationWindow::Sliding,
            RawEvaluationWindow::WallClockWindow { timezone } => EvaluationWindow::WallClock {
                timezone: timezone.clone(),
            },
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDimension {
    name: String,
    value: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAlarm {
    alarm_name: String,
    namespace: String,
    metric_name: Option<String>,
    #[serde(default)]
    dimensions: Vec<RawDimension>,
    statistic: Spanned<String>,
    period: Spanned<i64>,
    evaluation_periods: Spanned<i64>,
    datapoints_to_alarm: Option<Spanned<i64>>,
    threshold: Spanned<f64>,
    comparison_operator: Spanned<String>,
    treat_missing_data: Option<Spanned<String>>,
    #[serde(default)]
    alarm_actions: Vec<Spanned<String>>,
    actions_enabled: Option<Spanned<bool>>,
    evaluation_window: Option<Spanned<RawEvaluationWindow>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStep {
    metric_interval_lower_bound: Option<f64>,
    metric_interval_upper_bound: Option<f64>,
    scaling_adjustment: i64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTarget {
    target_value: Spanned<f64>,
    statistic: Option<Spanned<String>>,
    #[serde(default)]
    disable_scale_in: bool,
    scale_out_cooldown: Option<Spanned<i64>>,
    scale_in_cooldown: Option<Spanned<i64>>,
    period: Option<Spanned<i64>>,
    backlog_per_task: Option<Spanned<RawPerTask>>,
    /// PredefinedMetricSpecification.PredefinedMetricType (ECS).
    predefined_metric_type: Option<Spanned<String>>,
    /// The shape of the two alarms AWS creates for the policy (a model parameter, not rendered).
    tracking_alarms: Option<Spanned<RawTrackingAlarms>>,
}

/// `tracking_alarms = { high_datapoints = 3, low_datapoints = 15, low_fraction = 0.9 }`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTrackingAlarms {
    high_datapoints: Option<Spanned<i64>>,
    low_datapoints: Option<Spanned<i64>>,
    low_fraction: Option<Spanned<f64>>,
}

/// `[policy.target_tracking_configuration.backlog_per_task]`: the exporter's series to divide
/// by the service's running tasks.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPerTask {
    namespace: Spanned<String>,
    metric_name: Option<String>,
    #[serde(default)]
    dimensions: Vec<RawDimension>,
    sample_interval: Spanned<f64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    policy_name: String,
    policy_type: Spanned<String>,
    adjustment_type: Option<Spanned<String>>,
    min_adjustment_magnitude: Option<Spanned<i64>>,
    metric_aggregation_type: Option<Spanned<String>>,
    step_adjustments: Option<Spanned<Vec<Spanned<RawStep>>>>,
    estimated_instance_warmup: Option<Spanned<i64>>,
    cooldown: Option<Spanned<i64>>,
    scaling_adjustment: Option<Spanned<i64>>,
    target_tracking_configuration: Option<Spanned<RawTarget>>,
    /// EC2 Auto Scaling's Enabled.
    enabled: Option<Spanned<bool>>,
}

struct Spans<'a> {
    file: &'a str,
    text: &'a str,
}

impl Spans<'_> {
    fn loc(&self, key: String, span: std::ops::Range<usize>) -> Location {
        Location {
            file: self.file.to_owned(),
            key,
            line: crate::serde_errors::line_of(self.text, span.start),
        }
    }

    fn at<T: Clone>(&self, key: String, value: &Spanned<T>) -> At<T> {
        At {
            value: value.get_ref().clone(),
            at: self.loc(key, value.span()),
        }
    }

    fn opt<T: Clone>(&self, key: String, value: &Option<Spanned<T>>) -> Option<At<T>> {
        value.as_ref().map(|v| self.at(key, v))
    }
}

fn read_raw(file: &str, text: &str) -> Result<RawFile, InputError> {
    // The exporter's config reads the same way: key path, line, did-you-mean, expected form.
    crate::serde_errors::from_toml_str(text).map_err(|error| InputError::Invalid {
        location: Location {
            file: file.to_owned(),
            key: error.key,
            line: error.line,
        },
        message: error.message,
    })
}

pub fn parse(file: &str, text: &str) -> Result<Drafts, InputError> {
    let raw = read_raw(file, text)?;
    let spans = Spans { file, text };
    let group_span = raw.group.span();
    let group = raw.group.into_inner();
    let service = match group.kind.get_ref().as_str() {
        "ec2-asg" => ScalingService::Ec2AutoScaling,
        "ecs-service" => ScalingService::ApplicationAutoScaling,
        other => {
            return Err(spans.loc("group.kind".into(), group.kind.span()).error(format!(
                "unknown group kind {other:?}: expected \"ec2-asg\" or \"ecs-service\""
            )));
        }
    };
    let name = group.name.get_ref().clone();
    if service == ScalingService::ApplicationAutoScaling
        && (name.split('/').count() != 3 || !name.starts_with("service/"))
    {
        return Err(spans
            .loc("group.name".into(), group.name.span())
            .error("an ECS service's name is its ResourceId, service/CLUSTER/SERVICE"));
    }
    let group_draft = GroupDraft {
        at: spans.loc("group".into(), group_span.clone()),
        service,
        name,
        min: spans.opt("group.min_capacity".into(), &group.min_capacity),
        max: spans.opt("group.max_capacity".into(), &group.max_capacity),
        desired: spans.opt("group.desired_capacity".into(), &group.desired_capacity),
        default_instance_warmup: spans.opt("group.default_instance_warmup".into(), &group.default_instance_warmup),
        default_cooldown: spans.opt("group.default_cooldown".into(), &group.default_cooldown),
        suspended_processes: group
            .suspended_processes
            .iter()
            .enumerate()
            .map(|(i, p)| spans.at(format!("group.suspended_processes[{i}]"), p))
            .collect(),
        dynamic_scaling_in_suspended: group.suspended_state.as_ref().and_then(|s| {
            spans.opt(
                "group.suspended_state.dynamic_scaling_in_suspended".into(),
                &s.dynamic_scaling_in_suspended,
            )
        }),
        dynamic_scaling_out_suspended: group.suspended_state.as_ref().and_then(|s| {
            spans.opt(
                "group.suspended_state.dynamic_scaling_out_suspended".into(),
                &s.dynamic_scaling_out_suspended,
            )
        }),
        scheduled_scaling_suspended: group.suspended_state.as_ref().and_then(|s| {
            spans.opt(
                "group.suspended_state.scheduled_scaling_suspended".into(),
                &s.scheduled_scaling_suspended,
            )
        }),
    };
    let alarms = raw
        .alarm
        .iter()
        .enumerate()
        .map(|(i, alarm)| {
            let key = |field: &str| format!("alarm[{i}].{field}");
            let a = alarm.get_ref();
            AlarmDraft {
                at: spans.loc(format!("alarm[{i}]"), alarm.span()),
                name: a.alarm_name.clone(),
                namespace: a.namespace.clone(),
                metric_name: a.metric_name.clone().unwrap_or_else(|| DEFAULT_METRIC_NAME.to_owned()),
                dimensions: a.dimensions.iter().map(|d| (d.name.clone(), d.value.clone())).collect(),
                unsupported: None,
                statistic: spans.at(key("statistic"), &a.statistic),
                period: spans.at(key("period"), &a.period),
                evaluation_periods: spans.at(key("evaluation_periods"), &a.evaluation_periods),
                datapoints_to_alarm: spans.opt(key("datapoints_to_alarm"), &a.datapoints_to_alarm),
                threshold: spans.at(key("threshold"), &a.threshold),
                comparison: spans.at(key("comparison_operator"), &a.comparison_operator),
                treat_missing_data: spans.opt(key("treat_missing_data"), &a.treat_missing_data),
                actions: a
                    .alarm_actions
                    .iter()
                    .enumerate()
                    .map(|(j, name)| At {
                        value: ActionRef::Name(name.get_ref().clone()),
                        at: spans.loc(format!("alarm[{i}].alarm_actions[{j}]"), name.span()),
                    })
                    .collect(),
                actions_enabled: spans.opt(key("actions_enabled"), &a.actions_enabled),
                evaluation_window: a.evaluation_window.as_ref().map(|w| At {
                    value: w.get_ref().into(),
                    at: spans.loc(key("evaluation_window"), w.span()),
                }),
            }
        })
        .collect();
    let policies = raw
        .policy
        .iter()
        .enumerate()
        .map(|(i, policy)| {
            let key = |field: &str| format!("policy[{i}].{field}");
            let p = policy.get_ref();
            PolicyDraft {
                at: spans.loc(format!("policy[{i}]"), policy.span()),
                name: p.policy_name.clone(),
                arn: None,
                policy_type: spans.at(key("policy_type"), &p.policy_type),
                adjustment_type: spans.opt(key("adjustment_type"), &p.adjustment_type),
                min_adjustment_magnitude: spans.opt(key("min_adjustment_magnitude"), &p.min_adjustment_magnitude),
                aggregation: spans.opt(key("metric_aggregation_type"), &p.metric_aggregation_type),
                steps: p.step_adjustments.as_ref().map(|list| At {
                    at: spans.loc(key("step_adjustments"), list.span()),
                    value: list
                        .get_ref()
                        .iter()
                        .enumerate()
                        .map(|(j, step)| StepDraft {
                            at: spans.loc(format!("policy[{i}].step_adjustments[{j}]"), step.span()),
                            lower: step.get_ref().metric_interval_lower_bound,
                            upper: step.get_ref().metric_interval_upper_bound,
                            adjustment: step.get_ref().scaling_adjustment,
                        })
                        .collect(),
                }),
                estimated_instance_warmup: spans.opt(key("estimated_instance_warmup"), &p.estimated_instance_warmup),
                cooldown: spans.opt(key("cooldown"), &p.cooldown),
                scaling_adjustment: spans.opt(key("scaling_adjustment"), &p.scaling_adjustment),
                target: p.target_tracking_configuration.as_ref().map(|t| {
                    let tkey = |field: &str| format!("policy[{i}].target_tracking_configuration.{field}");
                    let c = t.get_ref();
                    TargetDraft {
                        target_value: spans.at(tkey("target_value"), &c.target_value),
                        statistic: spans.opt(tkey("statistic"), &c.statistic),
                        disable_scale_in: c.disable_scale_in,
                        scale_out_cooldown: spans.opt(tkey("scale_out_cooldown"), &c.scale_out_cooldown),
                        scale_in_cooldown: spans.opt(tkey("scale_in_cooldown"), &c.scale_in_cooldown),
                        period: spans.opt(tkey("period"), &c.period),
                        per_task: c.backlog_per_task.as_ref().map(|b| {
                            let bkey = |field: &str| tkey(&format!("backlog_per_task.{field}"));
                            let raw = b.get_ref();
                            PerTaskDraft {
                                at: spans.loc(tkey("backlog_per_task"), b.span()),
                                namespace: spans.at(bkey("namespace"), &raw.namespace),
                                metric_name: raw
                                    .metric_name
                                    .clone()
                                    .unwrap_or_else(|| DEFAULT_METRIC_NAME.to_owned()),
                                dimensions: raw
                                    .dimensions
                                    .iter()
                                    .map(|d| (d.name.clone(), d.value.clone()))
                                    .collect(),
                                sample_interval: spans.at(bkey("sample_interval"), &raw.sample_interval),
                            }
                        }),
                        predefined: spans.opt(tkey("predefined_metric_type"), &c.predefined_metric_type),
                        tracking_alarms: c.tracking_alarms.as_ref().map(|a| {
                            let akey = |field: &str| tkey(&format!("tracking_alarms.{field}"));
                            let raw = a.get_ref();
                            TrackingAlarmsDraft {
                                high_datapoints: spans.opt(akey("high_datapoints"), &raw.high_datapoints),
                                low_datapoints: spans.opt(akey("low_datapoints"), &raw.low_datapoints),
                                low_fraction: spans.opt(akey("low_fraction"), &raw.low_fraction),
                            }
                        }),
                    }
                }),
                enabled: spans.opt(key("enabled"), &p.enabled),
            }
        })
        .collect();
    Ok(Drafts {
        group: Some(group_draft),
        group_missing_at: spans.loc("group".into(), group_span),
        alarms,
        policies,
        region: group.region.unwrap_or_else(|| DEFAULT_REGION.to_owned()),
        account_id: group.account_id.unwrap_or_else(|| DEFAULT_ACCOUNT_ID.to_owned()),
        warnings: Vec::new(),
    })
}

// ---- [delays]: the time the real loop takes (read by `delays`, not by `parse`) ----

/// A duration: "30s", "2m", or whole seconds.
#[derive(Deserialize, Clone)]
#[serde(untagged)]
enum RawDuration {
    Seconds(i64),
    Text(String),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDelays {
    ingestion: Option<Spanned<RawDuration>>,
    ec2_launch_to_in_service: Option<Spanned<RawDuration>>,
    ecs_task_startup: Option<Spanned<RawDuration>>,
    ecs_instance_launch: Option<Spanned<RawDuration>>,
    ecs_spare_tasks: Option<Spanned<i64>>,
    discovery: Option<Spanned<RawDuration>>,
    deregistration: Option<Spanned<RawDuration>>,
}

/// Whole seconds of a delay, or an error naming the key and line.
fn delay_seconds(spans: &Spans, key: &str, value: &Spanned<RawDuration>) -> Result<u32, InputError> {
    let at = || spans.loc(format!("delays.{key}"), value.span());
    let expected = "expected a duration such as \"30s\" or \"2m\" (whole seconds, not negative)";
    let seconds = match value.get_ref() {
        RawDuration::Seconds(seconds) => u32::try_from(*seconds).ok(),
        RawDuration::Text(text) => humantime::parse_duration(text)
            .ok()
            .filter(|d| d.subsec_nanos() == 0)
            .and_then(|d| u32::try_from(d.as_secs()).ok()),
    };
    seconds.ok_or_else(|| {
        let given = match value.get_ref() {
            RawDuration::Seconds(seconds) => seconds.to_string(),
            RawDuration::Text(text) => format!("{text:?}"),
        };
        at().error(format!("{given} is not a delay: {expected}"))
    })
}

/// The policy's `[delays]` over `base` (the keys it gives replace base's).
pub fn delays(file: &str, text: &str, base: Delays) -> Result<Delays, InputError> {
    let Some(raw) = read_raw(file, text)?.delays else {
        return Ok(base);
    };
    let spans = Spans { file, text };
    let mut delays = base;
    for (key, value, field) in [
        ("ingestion", &raw.ingestion, &mut delays.ingestion_s),
        (
            "ec2_launch_to_in_service",
            &raw.ec2_launch_to_in_service,
            &mut delays.ec2_launch_to_in_service_s,
        ),
        (
            "ecs_task_startup",
            &raw.ecs_task_startup,
            &mut delays.ecs_task_startup_s,
        ),
        (
            "ecs_instance_launch",
            &raw.ecs_instance_launch,
            &mut delays.ecs_instance_launch_s,
        ),
        ("discovery", &raw.discovery, &mut delays.discovery_s),
        ("deregistration", &raw.deregistration, &mut delays.deregistration_s),
    ] {
        if let Some(value) = value {
            *field = delay_seconds(&spans, key, value)?;
        }
    }
    if let Some(spare) = &raw.ecs_spare_tasks {
        delays.ecs_spare_tasks = Some(u32::try_from(*spare.get_ref()).map_err(|_| {
            spans.loc("delays.ecs_spare_tasks".into(), spare.span()).error(format!(
                "{} is not a number of tasks: expected 0 or more",
                spare.get_ref()
            ))
        })?);
    }
    Ok(delays)
}
