//! The Terraform file (hashicorp/aws provider), written from the typed AWS shapes of
//! [`crate::scaling::aws`] (the one mapping from the policy model to what AWS holds), never
//! read back out of the CloudFormation JSON.

use std::fmt::Write as _;

use super::{alarm_description, is_ecs, per_task, predefined, snake, tracking_notes};
use crate::scaling::aws::{
    per_task_metrics, suspended_state, Dimension, MetricAlarm, ScalingPolicy, StepAdjustment,
    StepScalingPolicyConfiguration, TargetTrackingMetricDataQuery, ECS_SCALABLE_DIMENSION, ECS_SERVICE_NAMESPACE,
};
use crate::scaling::model::{Alarm, Policy, PolicyKind, Scenario};

pub(super) fn terraform(scenario: &Scenario, tracked: Option<&Alarm>) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# PendingRequests scaling for {} (nginx-backlog-exporter policy render).",
        scenario.group.name
    );
    let ecs = is_ecs(scenario);
    if ecs {
        scalable_target(&mut out, scenario);
    }
    for policy in &scenario.policies {
        let shape = ScalingPolicy::from_model(scenario, policy);
        if ecs {
            ecs_policy(&mut out, policy, &shape, tracked);
        } else {
            ec2_policy(&mut out, scenario, policy, &shape, tracked);
        }
    }
    let resource_type = if ecs {
        "aws_appautoscaling_policy"
    } else {
        "aws_autoscaling_policy"
    };
    for (index, alarm) in scenario.alarms.iter().enumerate() {
        let actions: Vec<String> = alarm
            .actions
            .iter()
            .filter_map(|&i| scenario.policies.get(i))
            .map(|policy| format!("{resource_type}.{}.arn", snake(&policy.name)))
            .collect();
        metric_alarm(
            &mut out,
            &snake(&alarm.name),
            &MetricAlarm::from_model(scenario, index, None),
            &alarm_description(alarm),
            &actions,
        );
    }
    out
}

/// An HCL string literal: JSON's escapes are HCL's, plus `${` and `%{` start templates.
pub(super) fn hcl_string(value: &str) -> String {
    let quoted = serde_json::to_string(value).unwrap_or_else(|_| "\"\"".into());
    quoted.replace("${", "$${").replace("%{", "%%{")
}

fn hcl_number(value: f64) -> String {
    // Debug keeps a decimal point or exponent and round-trips.
    format!("{value:?}")
}

/// A number as JSON writes it (`5.0`, `1e16`; `null` for NaN), as CloudFormation's template
/// has it.
fn json_number(value: f64) -> String {
    serde_json::Number::from_f64(value).map_or_else(|| "null".into(), |number| number.to_string())
}

/// `aws_appautoscaling_target`: the ECS service's desired count.
fn scalable_target(out: &mut String, scenario: &Scenario) {
    let group = &scenario.group;
    let _ = writeln!(out, "\nresource \"aws_appautoscaling_target\" \"target\" {{");
    let _ = writeln!(out, "  service_namespace  = {}", hcl_string(ECS_SERVICE_NAMESPACE));
    let _ = writeln!(out, "  scalable_dimension = {}", hcl_string(ECS_SCALABLE_DIMENSION));
    let _ = writeln!(out, "  resource_id        = {}", hcl_string(&group.name));
    let _ = writeln!(out, "  min_capacity       = {}", group.min_capacity);
    let _ = writeln!(out, "  max_capacity       = {}", group.max_capacity);
    if group.suspended.is_any_suspended() {
        let state = suspended_state(group);
        let _ = writeln!(out, "  suspended_state {{");
        for (argument, value) in [
            ("dynamic_scaling_in_suspended", state.dynamic_scaling_in_suspended),
            ("dynamic_scaling_out_suspended", state.dynamic_scaling_out_suspended),
            ("scheduled_scaling_suspended", state.scheduled_scaling_suspended),
        ] {
            if let Some(value) = value {
                let _ = writeln!(out, "    {argument} = {value}");
            }
        }
        let _ = writeln!(out, "  }}");
    }
    let _ = writeln!(out, "}}");
}

/// `aws_appautoscaling_policy`: target tracking or step scaling on the scalable target.
fn ecs_policy(out: &mut String, policy: &Policy, shape: &ScalingPolicy, tracked: Option<&Alarm>) {
    let _ = writeln!(out);
    if matches!(policy.kind, PolicyKind::TargetTracking { .. }) {
        for note in tracking_notes(policy) {
            let _ = writeln!(out, "# {note}.");
        }
    }
    let name = snake(&policy.name);
    let _ = writeln!(out, "resource \"aws_appautoscaling_policy\" \"{name}\" {{");
    let _ = writeln!(out, "  name               = {}", hcl_string(&policy.name));
    let _ = writeln!(out, "  policy_type        = {}", hcl_string(&shape.policy_type));
    let _ = writeln!(
        out,
        "  service_namespace  = aws_appautoscaling_target.target.service_namespace"
    );
    let _ = writeln!(
        out,
        "  scalable_dimension = aws_appautoscaling_target.target.scalable_dimension"
    );
    let _ = writeln!(
        out,
        "  resource_id        = aws_appautoscaling_target.target.resource_id"
    );
    match &policy.kind {
        PolicyKind::TargetTracking {
            target_value,
            statistic,
            disable_scale_in,
            scale_out_cooldown,
            scale_in_cooldown,
            ..
        } => {
            let _ = writeln!(out, "  target_tracking_scaling_policy_configuration {{");
            let _ = writeln!(out, "    target_value       = {}", hcl_number(*target_value));
            let _ = writeln!(out, "    disable_scale_in   = {disable_scale_in}");
            if let Some(cooldown) = scale_in_cooldown {
                let _ = writeln!(out, "    scale_in_cooldown  = {cooldown}");
            }
            if let Some(cooldown) = scale_out_cooldown {
                let _ = writeln!(out, "    scale_out_cooldown = {cooldown}");
            }
            if let Some(per_task) = per_task(policy) {
                metric_queries(out, "    ", &per_task_metrics(per_task));
            } else if let Some(predefined) = predefined(policy) {
                let _ = writeln!(out, "    predefined_metric_specification {{");
                let _ = writeln!(out, "      predefined_metric_type = {}", hcl_string(predefined));
                let _ = writeln!(out, "    }}");
            } else if let Some(metric) = tracked {
                customized_metric(out, "    ", metric, statistic.name(), "dimensions");
            }
            let _ = writeln!(out, "  }}");
        }
        _ => {
            let _ = writeln!(out, "  step_scaling_policy_configuration {{");
            if let Some(config) = &shape.step_scaling_policy_configuration {
                step_scaling_configuration(out, config);
            }
            let _ = writeln!(out, "  }}");
        }
    }
    let _ = writeln!(out, "}}");
}

/// The arguments of `step_scaling_policy_configuration`.
fn step_scaling_configuration(out: &mut String, config: &StepScalingPolicyConfiguration) {
    if let Some(adjustment) = &config.adjustment_type {
        let _ = writeln!(out, "    adjustment_type          = {}", hcl_string(adjustment));
    }
    if let Some(cooldown) = config.cooldown {
        let _ = writeln!(out, "    cooldown                 = {cooldown}");
    }
    if let Some(aggregation) = &config.metric_aggregation_type {
        let _ = writeln!(out, "    metric_aggregation_type  = {}", hcl_string(aggregation));
    }
    if let Some(magnitude) = config.min_adjustment_magnitude {
        let _ = writeln!(out, "    min_adjustment_magnitude = {magnitude}");
    }
    for step in &config.step_adjustments {
        let _ = writeln!(out, "    step_adjustment {{");
        if let Some(lower) = step.metric_interval_lower_bound {
            let _ = writeln!(out, "      metric_interval_lower_bound = {}", json_number(lower));
        }
        if let Some(upper) = step.metric_interval_upper_bound {
            let _ = writeln!(out, "      metric_interval_upper_bound = {}", json_number(upper));
        }
        let _ = writeln!(out, "      scaling_adjustment = {}", step.scaling_adjustment);
        let _ = writeln!(out, "    }}");
    }
}

/// `aws_autoscaling_policy`: step, simple or target tracking on the EC2 Auto Scaling group.
fn ec2_policy(out: &mut String, scenario: &Scenario, policy: &Policy, shape: &ScalingPolicy, tracked: Option<&Alarm>) {
    let name = snake(&policy.name);
    let _ = writeln!(out, "\nresource \"aws_autoscaling_policy\" \"{name}\" {{");
    let _ = writeln!(out, "  name                   = {}", hcl_string(&policy.name));
    let _ = writeln!(out, "  autoscaling_group_name = {}", hcl_string(&scenario.group.name));
    let _ = writeln!(out, "  policy_type            = {}", hcl_string(&shape.policy_type));
    if let Some(adjustment) = &shape.adjustment_type {
        let _ = writeln!(out, "  adjustment_type        = {}", hcl_string(adjustment));
    }
    if !policy.enabled {
        let _ = writeln!(out, "  enabled                = false");
    }
    match &policy.kind {
        PolicyKind::Step {
            min_adjustment_magnitude,
            aggregation,
            steps,
            estimated_instance_warmup,
            ..
        } => {
            let _ = writeln!(out, "  metric_aggregation_type = {}", hcl_string(aggregation.name()));
            if let Some(warmup) = estimated_instance_warmup {
                let _ = writeln!(out, "  estimated_instance_warmup = {warmup}");
            }
            if let Some(magnitude) = min_adjustment_magnitude {
                let _ = writeln!(out, "  min_adjustment_magnitude = {magnitude}");
            }
            let steps: Vec<StepAdjustment> = steps.iter().map(StepAdjustment::from).collect();
            step_adjustments(out, "  ", &steps);
        }
        PolicyKind::Simple {
            scaling_adjustment,
            min_adjustment_magnitude,
            cooldown,
            ..
        } => {
            let _ = writeln!(out, "  scaling_adjustment     = {scaling_adjustment}");
            if let Some(cooldown) = cooldown {
                let _ = writeln!(out, "  cooldown               = {cooldown}");
            }
            if let Some(magnitude) = min_adjustment_magnitude {
                let _ = writeln!(out, "  min_adjustment_magnitude = {magnitude}");
            }
        }
        PolicyKind::TargetTracking {
            target_value,
            statistic,
            disable_scale_in,
            scale_out_cooldown,
            metric_period,
            ..
        } => {
            if let Some(warmup) = scale_out_cooldown {
                let _ = writeln!(out, "  estimated_instance_warmup = {warmup}");
            }
            let _ = writeln!(out, "  target_tracking_configuration {{");
            let _ = writeln!(out, "    target_value     = {}", hcl_number(*target_value));
            let _ = writeln!(out, "    disable_scale_in = {disable_scale_in}");
            if let Some(metric) = tracked {
                if *metric_period != 60 {
                    // Not rendered as an argument: the CloudFormation and CLI output
                    // carry Period; check your provider version for its name.
                    let _ = writeln!(
                        out,
                        "    # The metric's period is {metric_period} s (CustomizedMetricSpecification.Period)."
                    );
                }
                customized_metric(out, "    ", metric, statistic.name(), "metric_dimension");
            }
            let _ = writeln!(out, "  }}");
        }
    }
    let _ = writeln!(out, "}}");
}

/// aws_autoscaling_policy's `step_adjustment` blocks.
fn step_adjustments(out: &mut String, indent: &str, steps: &[StepAdjustment]) {
    for step in steps {
        let _ = writeln!(out, "{indent}step_adjustment {{");
        if let Some(lower) = step.metric_interval_lower_bound {
            let _ = writeln!(out, "{indent}  metric_interval_lower_bound = {}", hcl_number(lower));
        }
        if let Some(upper) = step.metric_interval_upper_bound {
            let _ = writeln!(out, "{indent}  metric_interval_upper_bound = {}", hcl_number(upper));
        }
        let _ = writeln!(
            out,
            "{indent}  scaling_adjustment          = {}",
            step.scaling_adjustment
        );
        let _ = writeln!(out, "{indent}}}");
    }
}

/// Terraform names the dimension block differently per resource: `metric_dimension` in
/// aws_autoscaling_policy, `dimensions` in aws_appautoscaling_policy.
fn customized_metric(out: &mut String, indent: &str, metric: &Alarm, statistic: &str, dimension_block: &str) {
    let _ = writeln!(out, "{indent}customized_metric_specification {{");
    let _ = writeln!(out, "{indent}  metric_name = {}", hcl_string(&metric.metric_name));
    let _ = writeln!(out, "{indent}  namespace   = {}", hcl_string(&metric.namespace));
    let _ = writeln!(out, "{indent}  statistic   = {}", hcl_string(statistic));
    for (name, value) in &metric.dimensions {
        let _ = writeln!(out, "{indent}  {dimension_block} {{");
        let _ = writeln!(out, "{indent}    name  = {}", hcl_string(name));
        let _ = writeln!(out, "{indent}    value = {}", hcl_string(value));
        let _ = writeln!(out, "{indent}  }}");
    }
    let _ = writeln!(out, "{indent}}}");
}

/// `customized_metric_specification { metrics { ... } }` from [`per_task_metrics`]
/// (hashicorp/aws: aws_appautoscaling_policy,
/// target_tracking_scaling_policy_configuration.customized_metric_specification.metrics).
fn metric_queries(out: &mut String, indent: &str, queries: &[TargetTrackingMetricDataQuery]) {
    let _ = writeln!(out, "{indent}customized_metric_specification {{");
    for query in queries {
        let _ = writeln!(out, "{indent}  metrics {{");
        let _ = writeln!(out, "{indent}    id          = {}", hcl_string(&query.id));
        let label = query.label.as_deref().unwrap_or_default();
        let _ = writeln!(out, "{indent}    label       = {}", hcl_string(label));
        if let Some(expression) = &query.expression {
            let _ = writeln!(out, "{indent}    expression  = {}", hcl_string(expression));
        }
        if let Some(stat) = &query.metric_stat {
            let metric = &stat.metric;
            let _ = writeln!(out, "{indent}    metric_stat {{");
            let _ = writeln!(out, "{indent}      metric {{");
            let _ = writeln!(out, "{indent}        namespace   = {}", hcl_string(&metric.namespace));
            let _ = writeln!(out, "{indent}        metric_name = {}", hcl_string(&metric.metric_name));
            for dimension in &metric.dimensions {
                let _ = writeln!(out, "{indent}        dimensions {{");
                let _ = writeln!(out, "{indent}          name  = {}", hcl_string(&dimension.name));
                let _ = writeln!(out, "{indent}          value = {}", hcl_string(&dimension.value));
                let _ = writeln!(out, "{indent}        }}");
            }
            let _ = writeln!(out, "{indent}      }}");
            let _ = writeln!(out, "{indent}      stat = {}", hcl_string(&stat.stat));
            let _ = writeln!(out, "{indent}    }}");
        }
        let _ = writeln!(out, "{indent}    return_data = {}", query.return_data.unwrap_or(true));
        let _ = writeln!(out, "{indent}  }}");
    }
    let _ = writeln!(out, "{indent}}}");
}

/// `aws_cloudwatch_metric_alarm`: its arguments are PutMetricAlarm's fields in snake_case,
/// in the order of their AWS names (as before: alphabetical), then `alarm_actions`.
fn metric_alarm(out: &mut String, name: &str, alarm: &MetricAlarm, description: &str, actions: &[String]) {
    let _ = writeln!(out, "\nresource \"aws_cloudwatch_metric_alarm\" \"{name}\" {{");
    let text = |out: &mut String, argument: &str, value: Option<&str>| {
        if let Some(value) = value {
            let _ = writeln!(out, "  {argument} = {}", hcl_string(value));
        }
    };
    let integer = |out: &mut String, argument: &str, value: Option<i64>| {
        if let Some(value) = value {
            let _ = writeln!(out, "  {argument} = {value}");
        }
    };
    if let Some(enabled) = alarm.actions_enabled {
        let _ = writeln!(out, "  actions_enabled = {enabled}");
    }
    text(out, "alarm_arn", alarm.alarm_arn.as_deref());
    text(out, "alarm_description", Some(description));
    text(out, "alarm_name", Some(&alarm.alarm_name));
    text(out, "comparison_operator", Some(&alarm.comparison_operator));
    integer(out, "datapoints_to_alarm", alarm.datapoints_to_alarm);
    dimensions(out, &alarm.dimensions);
    text(
        out,
        "evaluate_low_sample_count_percentile",
        alarm.evaluate_low_sample_count_percentile.as_deref(),
    );
    integer(out, "evaluation_periods", Some(alarm.evaluation_periods));
    if let Some(window) = &alarm.evaluation_window {
        // Not an argument of the hashicorp/aws provider's aws_cloudwatch_metric_alarm that
        // this tool can vouch for: said, so a reader sets it (CloudFormation and the CLI
        // render it).
        let window = serde_json::to_string(window).unwrap_or_default();
        let _ = writeln!(
            out,
            "  # EvaluationWindow {window}: set it outside Terraform (aws cloudwatch put-metric-alarm \
             --evaluation-window) until your provider version has the argument"
        );
    }
    text(out, "extended_statistic", alarm.extended_statistic.as_deref());
    text(out, "metric_name", alarm.metric_name.as_deref());
    if let Some(metrics) = &alarm.metrics {
        let _ = writeln!(out, "  metrics = {metrics}");
    }
    text(out, "namespace", alarm.namespace.as_deref());
    integer(out, "period", alarm.period);
    text(out, "statistic", alarm.statistic.as_deref());
    if let Some(threshold) = alarm.threshold {
        let _ = writeln!(out, "  threshold = {}", hcl_number(threshold));
    }
    text(out, "threshold_metric_id", alarm.threshold_metric_id.as_deref());
    text(out, "treat_missing_data", alarm.treat_missing_data.as_deref());
    text(out, "unit", alarm.unit.as_deref());
    let _ = writeln!(out, "  alarm_actions = [{}]", actions.join(", "));
    let _ = writeln!(out, "}}");
}

/// The alarm's `dimensions` map (written even when empty, as PutMetricAlarm's list is).
fn dimensions(out: &mut String, dimensions: &[Dimension]) {
    let _ = writeln!(out, "  dimensions = {{");
    for dimension in dimensions {
        let _ = writeln!(
            out,
            "    {} = {}",
            hcl_string(&dimension.name),
            hcl_string(&dimension.value)
        );
    }
    let _ = writeln!(out, "  }}");
}
