//! Drafts -> [`Scenario`]: every rule AWS enforces when the alarm or policy is created, plus
//! warnings about what AWS accepts but is wrong for PendingRequests. Runs once, up front.

use super::draft::{
    ActionRef, AlarmDraft, At, Drafts, GroupDraft, PerTaskDraft, PolicyDraft, StepDraft, TargetDraft,
    TrackingAlarmsDraft,
};
use super::{InputError, Loaded, Location, Warning};
use crate::scaling::scenario::{
    AdjustmentType, Alarm, BacklogPerTask, Comparison, EvaluationWindow, Group, MetricAggregation, Policy, PolicyKind,
    PredefinedMetric, ScalingProcess, ScalingService, Scenario, Statistic, StepAdjustment, Suspensions, TrackedMetric,
    TrackingAlarms, TreatMissingData,
};

/// PutMetricAlarm: "the value for the period multiplied by the number of evaluation periods
/// can't exceed 86,400" (one day) for periods under an hour, and one week (604,800 s) for
/// periods of an hour or more.
const MAX_EVALUATION_SECONDS: i64 = 86_400;
const MAX_EVALUATION_SECONDS_HOURLY: i64 = 604_800;
/// WallClockWindow: "the alarm's period must be 1 minute, 5 minutes, 1 hour, 1 day, or 1 week".
const WALL_CLOCK_PERIODS: [i64; 5] = [60, 300, 3_600, 86_400, 604_800];
/// AWS's DefaultCooldown when the group gives none.
const DEFAULT_COOLDOWN: u32 = 300;

pub fn scenario(drafts: Drafts, capacity: Option<u32>) -> Result<Loaded, InputError> {
    let mut warnings = drafts.warnings.clone();
    let group = group(drafts.group.clone(), &drafts.group_missing_at, capacity, &mut warnings)?;
    let mut policies = Vec::with_capacity(drafts.policies.len());
    for draft in &drafts.policies {
        policies.push(policy(draft, &group, &drafts, &mut warnings)?);
    }
    let mut alarms = Vec::with_capacity(drafts.alarms.len());
    let mut alarm_periods = Vec::with_capacity(drafts.alarms.len());
    let alarm_locations = drafts.alarms.iter().map(|draft| draft.at.clone()).collect();
    for draft in &drafts.alarms {
        alarms.push(alarm(draft, &policies)?);
        alarm_periods.push(draft.period.at.clone());
    }
    for (draft, alarm) in drafts.alarms.iter().zip(&alarms) {
        alarm_warnings(draft, alarm, &policies, &mut warnings);
    }
    threshold_warnings(&drafts.alarms, &alarms, &policies, &mut warnings);
    Ok(Loaded {
        scenario: Scenario {
            group,
            alarms,
            policies,
            delays: Default::default(),
        },
        warnings,
        alarm_periods,
        alarm_locations,
        per_task_locations: drafts
            .policies
            .iter()
            .map(|draft| {
                draft
                    .target
                    .as_ref()
                    .and_then(|t| t.per_task.as_ref())
                    .map(|p| p.at.clone())
            })
            .collect(),
    })
}

fn non_negative(value: &At<i64>, what: &str) -> Result<u32, InputError> {
    u32::try_from(value.value).map_err(|_| {
        value
            .at
            .error(format!("{what} must be a whole number from 0 to 2^32-1"))
    })
}

fn optional(value: &Option<At<i64>>, what: &str) -> Result<Option<u32>, InputError> {
    value.as_ref().map(|v| non_negative(v, what)).transpose()
}

fn group(
    draft: Option<GroupDraft>,
    missing_at: &Location,
    capacity: Option<u32>,
    warnings: &mut Vec<Warning>,
) -> Result<Group, InputError> {
    let Some(draft) = draft else {
        return Err(missing_at.error(
            "no minimum and maximum capacity: pass --group with the JSON of `aws autoscaling \
             describe-auto-scaling-groups` or `aws application-autoscaling describe-scalable-targets`",
        ));
    };
    let min_at = draft
        .min
        .as_ref()
        .ok_or_else(|| draft.at.error("the minimum capacity is missing"))?;
    let max_at = draft
        .max
        .as_ref()
        .ok_or_else(|| draft.at.error("the maximum capacity is missing"))?;
    let min = non_negative(min_at, "the minimum capacity")?;
    let max = non_negative(max_at, "the maximum capacity")?;
    if min > max {
        return Err(min_at
            .at
            .error(format!("the minimum capacity ({min}) is above the maximum ({max})")));
    }
    let desired = match (capacity, &draft.desired) {
        (Some(capacity), _) => {
            if !(min..=max).contains(&capacity) {
                return Err(draft
                    .at
                    .error(format!("--capacity {capacity} is outside [{min}, {max}]")));
            }
            capacity
        }
        (None, Some(desired_at)) => {
            let desired = non_negative(desired_at, "the desired capacity")?;
            if !(min..=max).contains(&desired) {
                return Err(desired_at
                    .at
                    .error(format!("the desired capacity {desired} is outside [{min}, {max}]")));
            }
            desired
        }
        (None, None) => {
            return Err(draft
                .at
                .error("no desired capacity (a scalable target has none): pass --capacity"));
        }
    };
    let suspended = suspensions(&draft, warnings)?;
    Ok(Group {
        service: draft.service,
        name: draft.name,
        min_capacity: min,
        max_capacity: max,
        desired_capacity: desired,
        default_instance_warmup: optional(&draft.default_instance_warmup, "DefaultInstanceWarmup")?,
        default_cooldown: optional(&draft.default_cooldown, "DefaultCooldown")?.unwrap_or(DEFAULT_COOLDOWN),
        suspended,
    })
}

/// SuspendedProcesses (EC2 Auto Scaling, as-suspend-resume-processes) or SuspendedState
/// (Application Auto Scaling, application-auto-scaling-suspend-resume-scaling), with a warning
/// naming each switch that is on.
fn suspensions(draft: &GroupDraft, warnings: &mut Vec<Warning>) -> Result<Suspensions, InputError> {
    let mut suspended = Suspensions::default();
    for process in &draft.suspended_processes {
        if draft.service != ScalingService::Ec2AutoScaling {
            return Err(process.at.error(
                "SuspendedProcesses are EC2 Auto Scaling's: an ECS service's scalable target has SuspendedState",
            ));
        }
        let known = crate::scaling::aws::process_names();
        let parsed = named(process, ScalingProcess::from_name, "process", &known)?;
        let effect = match parsed {
            ScalingProcess::AlarmNotification => "no alarm runs any scaling policy",
            ScalingProcess::Launch => "no scale-out happens",
            ScalingProcess::Terminate => "no scale-in happens",
            _ => "it does not change what the alarms' policies do",
        };
        warnings.push(process.at.warn(format!("{} is suspended: {effect}", parsed.name())));
        suspended.processes.insert(parsed);
    }
    for (value, flag, effect) in [
        (
            &draft.dynamic_scaling_in_suspended,
            &mut suspended.dynamic_scaling_in,
            "DynamicScalingInSuspended: no policy scales in",
        ),
        (
            &draft.dynamic_scaling_out_suspended,
            &mut suspended.dynamic_scaling_out,
            "DynamicScalingOutSuspended: no policy scales out",
        ),
        (
            &draft.scheduled_scaling_suspended,
            &mut suspended.scheduled_scaling,
            "ScheduledScalingSuspended: no scheduled action runs (the simulation has none)",
        ),
    ] {
        let Some(value) = value else { continue };
        if draft.service != ScalingService::ApplicationAutoScaling {
            return Err(value
                .at
                .error("SuspendedState is Application Auto Scaling's: an Auto Scaling group has SuspendedProcesses"));
        }
        *flag = value.value;
        if value.value {
            warnings.push(value.at.warn(effect));
        }
    }
    Ok(suspended)
}

fn named<T>(value: &At<String>, parse: fn(&str) -> Option<T>, what: &str, known: &[&str]) -> Result<T, InputError> {
    parse(&value.value).ok_or_else(|| {
        value.at.error(format!(
            "unknown {what} {:?}: expected one of {}",
            value.value,
            known.join(", ")
        ))
    })
}

/// A target tracking policy's own alarms: the model's defaults where a key is absent. Each
/// is a CloudWatch alarm on the tracked metric's period, so its datapoints times that period
/// stay within PutMetricAlarm's one day.
fn tracking_alarms(draft: Option<&TrackingAlarmsDraft>, metric_period: u32) -> Result<TrackingAlarms, InputError> {
    let defaults = TrackingAlarms::default();
    let Some(draft) = draft else {
        return Ok(defaults);
    };
    let datapoints = |value: &Option<At<i64>>, default: u32, what: &str| match value {
        None => Ok(default),
        Some(v) if v.value >= 1 && v.value * i64::from(metric_period) <= 86_400 => Ok(v.value as u32),
        Some(v) => Err(v.at.error(format!(
            "{what} {}: from 1 to {} (the alarm's {metric_period} s periods times its datapoints: at most \
             86,400 s)",
            v.value,
            86_400 / metric_period.max(1)
        ))),
    };
    let low_fraction = match &draft.low_fraction {
        None => defaults.low_fraction,
        Some(v) => {
            let fraction = finite(v, "the low fraction")?;
            if !(fraction > 0.0 && fraction < 1.0) {
                return Err(v.at.error(format!(
                    "low fraction {fraction}: the low alarm's threshold as a fraction of the target, above 0 and \
                     below 1"
                )));
            }
            fraction
        }
    };
    Ok(TrackingAlarms {
        high_datapoints: datapoints(&draft.high_datapoints, defaults.high_datapoints, "high datapoints")?,
        low_datapoints: datapoints(&draft.low_datapoints, defaults.low_datapoints, "low datapoints")?,
        low_fraction,
    })
}

fn finite(value: &At<f64>, what: &str) -> Result<f64, InputError> {
    if value.value.is_finite() {
        Ok(value.value)
    } else {
        Err(value.at.error(format!("{what} must be a finite number")))
    }
}

/// One alarm on its own (`check`: its actions are read and judged apart).
pub(crate) fn alarm_alone(mut draft: AlarmDraft) -> Result<Alarm, InputError> {
    draft.actions.clear();
    alarm(&draft, &[])
}

/// One policy on its own, in a group of `service` named `group` (`check`).
pub(crate) fn policy_alone(draft: &PolicyDraft, service: ScalingService, group: &str) -> Result<Policy, InputError> {
    let group = Group {
        service,
        name: group.to_owned(),
        min_capacity: 0,
        max_capacity: 0,
        desired_capacity: 0,
        default_instance_warmup: None,
        default_cooldown: DEFAULT_COOLDOWN,
        suspended: Suspensions::default(),
    };
    let drafts = Drafts {
        group: None,
        group_missing_at: draft.at.clone(),
        alarms: Vec::new(),
        policies: Vec::new(),
        region: String::new(),
        account_id: String::new(),
        warnings: Vec::new(),
    };
    policy(draft, &group, &drafts, &mut Vec::new())
}

fn alarm(draft: &AlarmDraft, policies: &[Policy]) -> Result<Alarm, InputError> {
    if let Some(unsupported) = &draft.unsupported {
        return Err(unsupported.at.error(format!(
            "{} is not supported: simulate models a static-threshold alarm on one metric with Statistic \
             Average, Maximum, Minimum, Sum or SampleCount",
            unsupported.value
        )));
    }
    let statistic_names = Statistic::ALL.map(Statistic::name);
    let statistic = named(&draft.statistic, Statistic::from_name, "statistic", &statistic_names)?;
    let (period, evaluation_periods) = period_and_evaluation_periods(draft)?;
    let evaluation_window = evaluation_window(draft, period)?;
    let datapoints_to_alarm = match &draft.datapoints_to_alarm {
        Some(m) if m.value < 1 || m.value > evaluation_periods => {
            return Err(m.at.error(format!(
                "datapoints to alarm ({}) must be from 1 to the evaluation periods ({evaluation_periods})",
                m.value
            )));
        }
        Some(m) => m.value,
        None => evaluation_periods,
    };
    let threshold = finite(&draft.threshold, "the threshold")?;
    let comparison = comparison(&draft.comparison)?;
    let treat_missing_data = match &draft.treat_missing_data {
        Some(value) => named(
            value,
            TreatMissingData::from_name,
            "TreatMissingData",
            &TreatMissingData::ALL.map(TreatMissingData::name),
        )?,
        None => TreatMissingData::Missing,
    };
    let actions = alarm_actions(draft, policies)?;
    Ok(Alarm {
        name: draft.name.clone(),
        namespace: draft.namespace.clone(),
        metric_name: draft.metric_name.clone(),
        dimensions: draft.dimensions.clone(),
        statistic,
        period: period as u32,
        evaluation_periods: evaluation_periods as u32,
        datapoints_to_alarm: datapoints_to_alarm as u32,
        threshold,
        comparison,
        treat_missing_data,
        actions,
        actions_enabled: draft.actions_enabled.as_ref().is_none_or(|a| a.value),
        evaluation_window,
    })
}

/// The period and the evaluation periods, within CloudWatch's limits on each and on their product.
fn period_and_evaluation_periods(draft: &AlarmDraft) -> Result<(i64, i64), InputError> {
    // CloudWatch User Guide, "Using Amazon CloudWatch alarms": 10, 20, 30 or a multiple of 60.
    let period = draft.period.value;
    if !(matches!(period, 10 | 20 | 30) || (period > 0 && period % 60 == 0)) {
        return Err(draft
            .period
            .at
            .error(format!("period {period} s: must be 10, 20, 30 or a multiple of 60")));
    }
    let evaluation_periods = draft.evaluation_periods.value;
    if evaluation_periods < 1 {
        return Err(draft.evaluation_periods.at.error("must be at least 1"));
    }
    let (limit, limit_name) = if period < 3_600 {
        (MAX_EVALUATION_SECONDS, "one day, for periods under an hour")
    } else {
        (
            MAX_EVALUATION_SECONDS_HOURLY,
            "seven days, for periods of an hour or more",
        )
    };
    if period.saturating_mul(evaluation_periods) > limit {
        return Err(draft.evaluation_periods.at.error(format!(
            "period × evaluation periods = {} s: CloudWatch allows at most {limit} s ({limit_name})",
            period.saturating_mul(evaluation_periods)
        )));
    }
    Ok((period, evaluation_periods))
}

fn evaluation_window(draft: &AlarmDraft, period: i64) -> Result<EvaluationWindow, InputError> {
    let Some(window) = &draft.evaluation_window else {
        return Ok(EvaluationWindow::Sliding);
    };
    if let EvaluationWindow::WallClock { .. } = window.value {
        if !WALL_CLOCK_PERIODS.contains(&period) {
            return Err(window.at.error(format!(
                "a wall clock window needs a period of 1 minute, 5 minutes, 1 hour, 1 day or 1 week \
                 (60, 300, 3600, 86400 or 604800 s), not {period} s"
            )));
        }
    }
    Ok(window.value.clone())
}

fn comparison(value: &At<String>) -> Result<Comparison, InputError> {
    Comparison::from_name(&value.value).ok_or_else(|| {
        let extra = if value.value.contains("Band") {
            " (anomaly-detection bands are not modelled)"
        } else {
            ""
        };
        value.at.error(format!(
            "unknown comparison operator {:?}: expected one of {}{extra}",
            value.value,
            Comparison::ALL.map(Comparison::name).join(", ")
        ))
    })
}

/// The indices of the policies the alarm's actions run; notifications and other actions that
/// do not change capacity are left out.
fn alarm_actions(draft: &AlarmDraft, policies: &[Policy]) -> Result<Vec<usize>, InputError> {
    let mut actions = Vec::new();
    for action in &draft.actions {
        let index = match &action.value {
            ActionRef::Arn(arn) => {
                if !arn.starts_with("arn:") {
                    // AWS only stores ARNs; this is a script that captured no PolicyARN (the
                    // text "None" of an empty --query), which would silently never scale.
                    return Err(action.at.error(format!(
                        "this action is not an ARN: {arn:?} (an alarm action names a policy, topic or EC2 action by its ARN)"
                    )));
                }
                if arn.starts_with("arn:aws:sns:") || !arn.contains(":autoscaling:") {
                    // Notifications (and any other non-scaling action) do not change capacity.
                    continue;
                }
                policies.iter().position(|p| &p.arn == arn)
            }
            ActionRef::Name(name) => policies.iter().position(|p| &p.name == name),
        };
        match index {
            Some(index) => actions.push(index),
            None => {
                let known: Vec<&str> = policies.iter().map(|p| p.name.as_str()).collect();
                return Err(action.at.error(format!(
                    "this action names no policy of the policies given (known: {})",
                    if known.is_empty() {
                        "none".to_string()
                    } else {
                        known.join(", ")
                    }
                )));
            }
        }
    }
    Ok(actions)
}

fn policy(
    draft: &PolicyDraft,
    group: &Group,
    drafts: &Drafts,
    warnings: &mut Vec<Warning>,
) -> Result<Policy, InputError> {
    let arn = match &draft.arn {
        Some(arn) => arn.clone(),
        None => super::write_aws::policy_arn(group, &drafts.region, &drafts.account_id, &draft.name),
    };
    let kind = match draft.policy_type.value.as_str() {
        "StepScaling" => step_policy(draft, group.service)?,
        "SimpleScaling" => simple_policy(draft, group.service)?,
        "TargetTrackingScaling" => tracking_policy(draft, group, warnings)?,
        other => {
            return Err(draft.policy_type.at.error(format!(
                "unknown policy type {other:?}: expected StepScaling, SimpleScaling (EC2) or TargetTrackingScaling"
            )));
        }
    };
    let enabled = policy_enabled(draft, group.service, warnings)?;
    Ok(Policy {
        name: draft.name.clone(),
        arn,
        kind,
        enabled,
    })
}

fn step_policy(draft: &PolicyDraft, service: ScalingService) -> Result<PolicyKind, InputError> {
    let (adjustment_type, min_adjustment_magnitude) = adjustment(draft)?;
    let aggregation = match &draft.aggregation {
        Some(value) => named(
            value,
            MetricAggregation::from_name,
            "metric aggregation type",
            &["Average", "Minimum", "Maximum"],
        )?,
        None => MetricAggregation::Average,
    };
    let steps_at = draft
        .steps
        .as_ref()
        .ok_or_else(|| draft.at.error("a step scaling policy needs step adjustments"))?;
    let steps = steps(steps_at, adjustment_type)?;
    // API_PutScalingPolicy (EC2 Auto Scaling): Cooldown is valid only for simple
    // scaling; Application Auto Scaling's step policies have no instance warmup.
    match (service, &draft.cooldown, &draft.estimated_instance_warmup) {
        (ScalingService::Ec2AutoScaling, Some(cooldown), _) => {
            return Err(cooldown.at.error(
                "EC2 Auto Scaling step policies have no cooldown (simple scaling only): use the \
                 estimated instance warmup",
            ));
        }
        (ScalingService::ApplicationAutoScaling, _, Some(warmup)) => {
            return Err(warmup
                .at
                .error("Application Auto Scaling step policies have no instance warmup: use the cooldown"));
        }
        _ => {}
    }
    Ok(PolicyKind::Step {
        adjustment_type,
        min_adjustment_magnitude,
        aggregation,
        steps,
        estimated_instance_warmup: optional(&draft.estimated_instance_warmup, "the instance warmup")?,
        cooldown: optional(&draft.cooldown, "the cooldown")?,
    })
}

fn simple_policy(draft: &PolicyDraft, service: ScalingService) -> Result<PolicyKind, InputError> {
    if service != ScalingService::Ec2AutoScaling {
        return Err(draft
            .policy_type
            .at
            .error("simple scaling exists only in EC2 Auto Scaling"));
    }
    let (adjustment_type, min_adjustment_magnitude) = adjustment(draft)?;
    let scaling_adjustment = draft
        .scaling_adjustment
        .as_ref()
        .ok_or_else(|| draft.at.error("a simple scaling policy needs a scaling adjustment"))?;
    if adjustment_type == AdjustmentType::ExactCapacity && scaling_adjustment.value < 0 {
        return Err(scaling_adjustment.at.error("an exact capacity cannot be negative"));
    }
    Ok(PolicyKind::Simple {
        adjustment_type,
        scaling_adjustment: scaling_adjustment.value,
        min_adjustment_magnitude,
        cooldown: optional(&draft.cooldown, "the cooldown")?,
    })
}

fn tracking_policy(draft: &PolicyDraft, group: &Group, warnings: &mut Vec<Warning>) -> Result<PolicyKind, InputError> {
    let service = group.service;
    let target = draft.target.as_ref().ok_or_else(|| {
        draft
            .at
            .error("a target tracking policy needs its target tracking configuration")
    })?;
    let target_value = finite(&target.target_value, "the target value")?;
    if target_value <= 0.0 {
        return Err(target.target_value.at.error("the target value must be above 0"));
    }
    let metric = tracked_metric(target, group)?;
    let statistic = match &target.statistic {
        Some(value) => named(
            value,
            Statistic::from_name,
            "statistic",
            &Statistic::ALL.map(Statistic::name),
        )?,
        None => Statistic::Average,
    };
    let metric_period = tracking_period(target, service, &metric)?;
    if service == ScalingService::Ec2AutoScaling {
        if let Some(cooldown) = target.scale_out_cooldown.as_ref().or(target.scale_in_cooldown.as_ref()) {
            return Err(cooldown.at.error(
                "EC2 Auto Scaling target tracking has no scale-out/scale-in cooldowns: use the estimated \
                 instance warmup",
            ));
        }
    }
    if service == ScalingService::ApplicationAutoScaling && metric_period >= 60 {
        warnings.push(draft.policy_type.at.warn(
            "target tracking on Application Auto Scaling evaluates 1-minute data: it cannot react within \
             a minute; use step scaling on the 10 s alarm",
        ));
    }
    if let TrackedMetric::Predefined(predefined) = &metric {
        warnings.push(draft.policy_type.at.warn(format!(
            "{} is published by ECS, not by the exporter: simulate needs it as a series of its own",
            predefined.name()
        )));
    }
    Ok(PolicyKind::TargetTracking {
        target_value,
        statistic,
        disable_scale_in: target.disable_scale_in,
        scale_out_cooldown: match service {
            ScalingService::Ec2AutoScaling => optional(&draft.estimated_instance_warmup, "the instance warmup")?,
            ScalingService::ApplicationAutoScaling => optional(&target.scale_out_cooldown, "the cooldown")?,
        },
        scale_in_cooldown: optional(&target.scale_in_cooldown, "the cooldown")?,
        metric_period,
        metric,
        tracking_alarms: tracking_alarms(target.tracking_alarms.as_ref(), metric_period)?,
    })
}

/// What a target tracking policy tracks: metric math (backlog per task), a predefined ECS
/// metric, or the first alarm's series.
fn tracked_metric(target: &TargetDraft, group: &Group) -> Result<TrackedMetric, InputError> {
    let service = group.service;
    match (&target.per_task, &target.predefined) {
        (Some(per_task), Some(_)) => Err(per_task
            .at
            .error("a policy tracks either metric math or a predefined metric, not both")),
        (None, Some(predefined)) => {
            let metric = named(
                predefined,
                PredefinedMetric::from_name,
                "predefined metric type",
                &crate::scaling::aws::predefined_names(),
            )?;
            if service != ScalingService::ApplicationAutoScaling {
                return Err(predefined.at.error(
                    "the ECS predefined metrics are Application Auto Scaling's: an Auto Scaling group \
                     tracks a customized metric here",
                ));
            }
            if let Some(other) = target
                .statistic
                .as_ref()
                .map(|s| &s.at)
                .or(target.period.as_ref().map(|p| &p.at))
            {
                return Err(other.error("a predefined metric has its own statistic and period: leave them out"));
            }
            Ok(TrackedMetric::Predefined(metric))
        }
        (None, None) => Ok(TrackedMetric::AlarmSeries),
        (Some(per_task), None) => backlog_per_task(per_task, target, group).map(TrackedMetric::BacklogPerTask),
    }
}

fn backlog_per_task(
    per_task: &PerTaskDraft,
    target: &TargetDraft,
    group: &Group,
) -> Result<BacklogPerTask, InputError> {
    if group.service != ScalingService::ApplicationAutoScaling {
        return Err(per_task.at.error(
            "backlog_per_task divides by the ECS service's RunningTaskCount: it is for \
             kind = \"ecs-service\" only",
        ));
    }
    if let Some(statistic) = &target.statistic {
        return Err(statistic.at.error(
            "with backlog_per_task the statistic is fixed (Sum of the series, divided by the \
             samples in the period and by the running tasks): leave it out",
        ));
    }
    if per_task.namespace.value.is_empty() {
        return Err(per_task.namespace.at.error("the namespace is empty"));
    }
    let interval = finite(&per_task.sample_interval, "the sample interval")?;
    if !(0.1..=60.0).contains(&interval) {
        return Err(per_task.sample_interval.at.error(format!(
            "sample interval {interval} s: the exporter's cloudwatch.sample_interval, in seconds \
             (from 0.1 to 60)"
        )));
    }
    // Validated when read: service/CLUSTER/SERVICE.
    let mut parts = group.name.split('/').skip(1);
    Ok(BacklogPerTask {
        namespace: per_task.namespace.value.clone(),
        metric_name: per_task.metric_name.clone(),
        dimensions: per_task.dimensions.clone(),
        sample_interval_s: interval,
        cluster: parts.next().unwrap_or_default().to_owned(),
        service: parts.next().unwrap_or_default().to_owned(),
    })
}

/// The period of the tracked metric, in seconds.
fn tracking_period(target: &TargetDraft, service: ScalingService, metric: &TrackedMetric) -> Result<u32, InputError> {
    match (service, &target.period) {
        // EC2 Auto Scaling User Guide, target tracking with high-resolution metrics:
        // a customized metric's period may be 10, 30 or 60 s.
        (ScalingService::Ec2AutoScaling, Some(p)) if matches!(p.value, 10 | 30 | 60) => Ok(p.value as u32),
        (ScalingService::Ec2AutoScaling, Some(p)) => Err(p
            .at
            .error(format!("period {} s: EC2 Auto Scaling accepts 10, 30 or 60", p.value))),
        (ScalingService::ApplicationAutoScaling, Some(p)) => Err(p
            .at
            .error("Application Auto Scaling target tracking has no period (one minute)")),
        (_, None) => Ok(match metric {
            TrackedMetric::Predefined(predefined) => predefined.period_s(),
            _ => 60,
        }),
    }
}

/// EC2 Auto Scaling's Enabled, with a warning when it is false.
fn policy_enabled(
    draft: &PolicyDraft,
    service: ScalingService,
    warnings: &mut Vec<Warning>,
) -> Result<bool, InputError> {
    match &draft.enabled {
        None => Ok(true),
        Some(enabled) if service != ScalingService::Ec2AutoScaling => Err(enabled.at.error(
            "Enabled is EC2 Auto Scaling's: Application Auto Scaling suspends scaling on the scalable target \
             (SuspendedState)",
        )),
        Some(enabled) => {
            if !enabled.value {
                warnings.push(enabled.at.warn("Enabled is false: this policy does nothing"));
            }
            Ok(enabled.value)
        }
    }
}

fn adjustment(draft: &PolicyDraft) -> Result<(AdjustmentType, Option<u32>), InputError> {
    let value = draft
        .adjustment_type
        .as_ref()
        .ok_or_else(|| draft.at.error("the adjustment type is missing"))?;
    let adjustment_type = named(
        value,
        AdjustmentType::from_name,
        "adjustment type",
        &AdjustmentType::ALL.map(AdjustmentType::name),
    )?;
    let magnitude = match &draft.min_adjustment_magnitude {
        // API_PutScalingPolicy: MinAdjustmentMagnitude is valid only with PercentChangeInCapacity.
        Some(m) if adjustment_type != AdjustmentType::PercentChangeInCapacity => {
            return Err(m
                .at
                .error("a minimum adjustment magnitude is valid only with PercentChangeInCapacity"));
        }
        Some(m) if m.value < 1 => return Err(m.at.error("must be at least 1")),
        Some(m) => Some(non_negative(m, "the minimum adjustment magnitude")?),
        None => None,
    };
    Ok((adjustment_type, magnitude))
}

/// The rules of API_StepAdjustment (EC2 Auto Scaling and Application Auto Scaling API
/// references): no overlap, no gap, at most one null lower and one null upper bound, never
/// both null in one step, a negative lower bound needs a step with a null lower bound and a
/// positive upper bound one with a null upper bound.
fn steps(list: &At<Vec<StepDraft>>, adjustment_type: AdjustmentType) -> Result<Vec<StepAdjustment>, InputError> {
    if list.value.is_empty() {
        return Err(list
            .at
            .error("a step scaling policy needs at least one step adjustment"));
    }
    for step in &list.value {
        for bound in [step.lower, step.upper].into_iter().flatten() {
            if !bound.is_finite() {
                return Err(step
                    .at
                    .error("step bounds must be finite numbers (leave one out for infinity)"));
            }
        }
        match (step.lower, step.upper) {
            (None, None) => {
                return Err(step
                    .at
                    .error("a step cannot have both its lower and its upper bound open"));
            }
            (Some(lower), Some(upper)) if lower >= upper => {
                return Err(step.at.error(format!(
                    "the lower bound ({lower}) must be below the upper bound ({upper})"
                )));
            }
            _ => {}
        }
        if adjustment_type == AdjustmentType::ExactCapacity && step.adjustment < 0 {
            return Err(step.at.error("an exact capacity cannot be negative"));
        }
    }
    let open_lower: Vec<&StepDraft> = list.value.iter().filter(|s| s.lower.is_none()).collect();
    let open_upper: Vec<&StepDraft> = list.value.iter().filter(|s| s.upper.is_none()).collect();
    if open_lower.len() > 1 {
        return Err(open_lower[1]
            .at
            .error("only one step adjustment may have an open (null) lower bound"));
    }
    if open_upper.len() > 1 {
        return Err(open_upper[1]
            .at
            .error("only one step adjustment may have an open (null) upper bound"));
    }
    let mut sorted: Vec<&StepDraft> = list.value.iter().collect();
    sorted.sort_by(|a, b| {
        a.lower
            .unwrap_or(f64::NEG_INFINITY)
            .total_cmp(&b.lower.unwrap_or(f64::NEG_INFINITY))
    });
    for pair in sorted.windows(2) {
        let (below, above) = (pair[0], pair[1]);
        match (below.upper, above.lower) {
            (Some(upper), Some(lower)) if upper == lower => {}
            (Some(upper), Some(lower)) if upper > lower => {
                return Err(above.at.error(format!(
                    "this step overlaps another: [{lower}, ...) starts below {upper}"
                )));
            }
            (Some(upper), Some(lower)) => {
                return Err(above
                    .at
                    .error(format!("a gap between the steps: nothing covers {upper} to {lower}")));
            }
            // An open upper bound below another step: that step overlaps it.
            _ => return Err(above.at.error("this step overlaps the step with an open upper bound")),
        }
    }
    let (first, last) = (sorted[0], sorted[sorted.len() - 1]);
    if let Some(lower) = first.lower.filter(|l| *l < 0.0) {
        return Err(first.at.error(format!(
            "a negative lower bound ({lower}) needs a step with an open (null) lower bound below it"
        )));
    }
    if let Some(upper) = last.upper.filter(|u| *u > 0.0) {
        return Err(last.at.error(format!(
            "a positive upper bound ({upper}) needs a step with an open (null) upper bound above it"
        )));
    }
    Ok(sorted
        .into_iter()
        .map(|s| StepAdjustment {
            lower_bound: s.lower,
            upper_bound: s.upper,
            scaling_adjustment: s.adjustment,
        })
        .collect())
}

/// Whether the alarm only scales in: a less-than alarm, or every action's policy removes
/// capacity.
pub(crate) fn scales_in(alarm: &Alarm, policies: &[Policy]) -> bool {
    if !alarm.comparison.is_upper() {
        return true;
    }
    !alarm.actions.is_empty()
        && alarm.actions.iter().all(|&i| match &policies[i].kind {
            PolicyKind::Step {
                steps, adjustment_type, ..
            } => *adjustment_type != AdjustmentType::ExactCapacity && steps.iter().all(|s| s.scaling_adjustment < 0),
            PolicyKind::Simple {
                scaling_adjustment,
                adjustment_type,
                ..
            } => *adjustment_type != AdjustmentType::ExactCapacity && *scaling_adjustment < 0,
            PolicyKind::TargetTracking { .. } => false,
        })
}

/// `breaching` or `ignore` on an alarm that removes capacity: shared by validation and `check`
/// (which reads the deployed alarms).
pub(crate) fn scale_in_missing_data_warning(alarm: &Alarm, policies: &[Policy]) -> Option<String> {
    let wrong = matches!(
        alarm.treat_missing_data,
        TreatMissingData::Breaching | TreatMissingData::Ignore
    );
    (wrong && scales_in(alarm, policies)).then(|| {
        format!(
            "{} on a scale-in alarm: the exporter publishes nothing when it cannot see nginx, so a \
             scale-in alarm should treat missing data as notBreaching (or missing), not remove capacity then",
            alarm.treat_missing_data.name()
        )
    })
}

fn alarm_warnings(draft: &AlarmDraft, alarm: &Alarm, policies: &[Policy], warnings: &mut Vec<Warning>) {
    if let Some(enabled) = draft.actions_enabled.as_ref().filter(|a| !a.value) {
        warnings.push(
            enabled
                .at
                .warn("ActionsEnabled is false: the alarm changes state but runs none of its actions"),
        );
    }
    if let Some(message) = scale_in_missing_data_warning(alarm, policies) {
        let at = draft.treat_missing_data.as_ref().map_or(&draft.at, |t| &t.at);
        warnings.push(at.warn(message));
    }
    for &index in &alarm.actions {
        let PolicyKind::Step { steps, .. } = &policies[index].kind else {
            continue;
        };
        for (step_index, step) in steps.iter().enumerate() {
            let unreachable = if alarm.comparison.is_upper() {
                step.upper_bound.is_some_and(|u| u <= 0.0)
            } else {
                step.lower_bound.is_some_and(|l| l >= 0.0)
            };
            if unreachable {
                warnings.push(draft.at.warn(format!(
                    "policy {:?} step {step_index} lies on the side of the threshold where this {} alarm does \
                     not breach: AWS accepts it, but it is never taken",
                    policies[index].name,
                    alarm.comparison.name()
                )));
            }
        }
    }
}

/// Scale-out and scale-in thresholds that overlap flap: a value breaches both, or the
/// scale-in threshold is at or above the scale-out one.
fn threshold_warnings(drafts: &[AlarmDraft], alarms: &[Alarm], policies: &[Policy], warnings: &mut Vec<Warning>) {
    for (out_draft, out) in drafts.iter().zip(alarms) {
        if !out.comparison.is_upper() || scales_in(out, policies) || out.actions.is_empty() {
            continue;
        }
        for (in_draft, scale_in) in drafts.iter().zip(alarms) {
            if scale_in.comparison.is_upper() || scale_in.actions.is_empty() {
                continue;
            }
            if scale_in.threshold >= out.threshold {
                warnings.push(in_draft.threshold.at.warn(format!(
                    "scale-in alarm {:?} (threshold {}) overlaps scale-out alarm {:?} (threshold {}, {}:{}): the \
                     scale-in threshold must be below the scale-out one or the two will flap",
                    scale_in.name,
                    scale_in.threshold,
                    out.name,
                    out.threshold,
                    out_draft.at.file,
                    out_draft.threshold.at.line
                )));
            }
        }
    }
}
