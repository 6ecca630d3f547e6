//! Pure: a validated [`Scenario`] in, the text of a CloudFormation template (JSON), a
//! Terraform file or a bash script of AWS CLI calls out. Nothing here reads a file or a clock;
//! `policy::render` prints what this returns.
//!
//! What each format gets, per group kind:
//! - `ec2-asg`: one `AWS::AutoScaling::ScalingPolicy` per policy (the group exists already:
//!   it is named, not created) and one `AWS::CloudWatch::Alarm` per alarm.
//! - `ecs-service`: an `AWS::ApplicationAutoScaling::ScalableTarget` on
//!   `ecs:service:DesiredCount`, one `AWS::ApplicationAutoScaling::ScalingPolicy` per policy
//!   and the alarms.
//!
//! Alarm actions need the policy's ARN: in CloudFormation `Ref` of either ScalingPolicy type
//! returns it; in Terraform it is the policy's `arn` attribute; in the script,
//! put-scaling-policy prints it (`--query PolicyARN --output text`) into a shell variable.

use std::fmt::Write as _;

use serde_json::{json, Map, Value};

use crate::scaling::model::{
    Alarm, BacklogPerTask, Policy, PolicyKind, ScalingService, Scenario, StepAdjustment, TrackedMetric,
};
use crate::simulate::input::{per_task_metrics_json, steps_json};

/// The output formats of `policy render`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    CloudFormation,
    Terraform,
    Cli,
}

/// What Application Auto Scaling does with target tracking, said wherever such a policy is
/// rendered for an ECS service (AWS's Application Auto Scaling User Guide: target tracking
/// evaluates metrics at one-minute granularity).
pub const ECS_TARGET_TRACKING_NOTE: &str = "Application Auto Scaling evaluates target tracking on one-minute \
     data, so this policy cannot react within a minute; the 10 s step alarms can";

/// Said wherever a backlog-per-task policy is rendered: m2 exists only with Container Insights.
pub const PER_TASK_NOTE: &str = "Backlog per task = fleet total / RunningTaskCount (metric math); \
     RunningTaskCount is published by Container Insights: turn it on for the cluster, or the \
     policy has no data and never scales";

/// ECS: the one scalable dimension this tool renders.
const ECS_SCALABLE_DIMENSION: &str = "ecs:service:DesiredCount";
const ECS_SERVICE_NAMESPACE: &str = "ecs";

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// A target tracking policy's metric comes from the alarms (the TOML has no metric of
    /// its own for it); with none there is nothing to track.
    #[error("policy {policy:?} is target tracking, but no alarm names the metric it would track")]
    NoMetricForTargetTracking { policy: String },
}

/// Renders the scenario in `format`.
pub fn render(scenario: &Scenario, format: Format) -> Result<String, RenderError> {
    let tracked = tracked_metric(scenario)?;
    Ok(match format {
        Format::CloudFormation => cloudformation(scenario, tracked),
        Format::Terraform => terraform(scenario, tracked),
        Format::Cli => cli(scenario, tracked),
    })
}

/// The metric a target tracking policy follows: the first alarm's (namespace, metric name,
/// dimensions). Errors only when there is a target tracking policy and no alarm.
fn tracked_metric(scenario: &Scenario) -> Result<Option<&Alarm>, RenderError> {
    let first = scenario.alarms.first();
    for policy in &scenario.policies {
        let on_alarm_series = matches!(
            policy.kind,
            PolicyKind::TargetTracking {
                metric: TrackedMetric::AlarmSeries,
                ..
            }
        );
        if on_alarm_series && first.is_none() {
            return Err(RenderError::NoMetricForTargetTracking {
                policy: policy.name.clone(),
            });
        }
    }
    Ok(first)
}

fn is_ecs(scenario: &Scenario) -> bool {
    scenario.group.service == ScalingService::ApplicationAutoScaling
}

/// `web-pending-high` -> `WebPendingHigh` (CloudFormation logical IDs are alphanumeric).
fn pascal(name: &str) -> String {
    let mut out = String::new();
    let mut upper = true;
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            if upper {
                out.push(c.to_ascii_uppercase());
            } else {
                out.push(c);
            }
            upper = false;
        } else {
            upper = true;
        }
    }
    if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, 'R');
    }
    out
}

/// `web-pending-high` -> `web_pending_high` (a Terraform resource name, also a shell
/// variable's stem when upper-cased).
fn snake(name: &str) -> String {
    let mut out: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, 'r');
    }
    out
}

fn policy_id(policy: &Policy) -> String {
    format!("{}Policy", pascal(&policy.name))
}

fn alarm_id(alarm: &Alarm) -> String {
    format!("{}Alarm", pascal(&alarm.name))
}

fn alarm_description(alarm: &Alarm) -> String {
    format!(
        "{} of {} over {} s, {} of {} periods {} {}",
        alarm.statistic.name(),
        alarm.metric_name,
        alarm.period,
        alarm.datapoints_to_alarm,
        alarm.evaluation_periods,
        alarm.comparison.name(),
        alarm.threshold
    )
}

fn dimensions_json(dimensions: &[(String, String)]) -> Value {
    Value::Array(
        dimensions
            .iter()
            .map(|(name, value)| json!({ "Name": name, "Value": value }))
            .collect(),
    )
}

/// CustomizedMetricSpecification for a target tracking policy on `metric`'s series.
fn customized_metric(metric: &Alarm, statistic: &str, period: Option<u32>) -> Value {
    let mut out = Map::new();
    out.insert("MetricName".into(), json!(metric.metric_name));
    out.insert("Namespace".into(), json!(metric.namespace));
    out.insert("Dimensions".into(), dimensions_json(&metric.dimensions));
    out.insert("Statistic".into(), json!(statistic));
    if let Some(period) = period {
        out.insert("Period".into(), json!(period));
    }
    Value::Object(out)
}

/// The policy's configuration object as AWS's API spells it: for EC2 the fields of
/// PutScalingPolicy (flat), for Application Auto Scaling the Step/TargetTracking
/// configuration object. `(policy_type, fields)`.
fn ec2_policy_fields(policy: &Policy, tracked: Option<&Alarm>) -> (&'static str, Map<String, Value>) {
    let mut out = Map::new();
    let policy_type = match &policy.kind {
        PolicyKind::Step {
            adjustment_type,
            min_adjustment_magnitude,
            aggregation,
            steps,
            estimated_instance_warmup,
            cooldown: _,
        } => {
            out.insert("AdjustmentType".into(), json!(adjustment_type.name()));
            if let Some(magnitude) = min_adjustment_magnitude {
                out.insert("MinAdjustmentMagnitude".into(), json!(magnitude));
            }
            out.insert("MetricAggregationType".into(), json!(aggregation.name()));
            if let Some(warmup) = estimated_instance_warmup {
                out.insert("EstimatedInstanceWarmup".into(), json!(warmup));
            }
            out.insert("StepAdjustments".into(), steps_json(steps));
            "StepScaling"
        }
        PolicyKind::Simple {
            adjustment_type,
            scaling_adjustment,
            min_adjustment_magnitude,
            cooldown,
        } => {
            out.insert("AdjustmentType".into(), json!(adjustment_type.name()));
            out.insert("ScalingAdjustment".into(), json!(scaling_adjustment));
            if let Some(magnitude) = min_adjustment_magnitude {
                out.insert("MinAdjustmentMagnitude".into(), json!(magnitude));
            }
            if let Some(cooldown) = cooldown {
                out.insert("Cooldown".into(), json!(cooldown.to_string()));
            }
            "SimpleScaling"
        }
        PolicyKind::TargetTracking {
            target_value,
            statistic,
            disable_scale_in,
            scale_out_cooldown,
            scale_in_cooldown: _,
            metric_period,
            // Validation refuses backlog_per_task and predefined metrics for EC2 Auto Scaling.
            metric: _,
            tracking_alarms: _,
        } => {
            if let Some(warmup) = scale_out_cooldown {
                out.insert("EstimatedInstanceWarmup".into(), json!(warmup));
            }
            let mut config = Map::new();
            if let Some(metric) = tracked {
                config.insert(
                    "CustomizedMetricSpecification".into(),
                    customized_metric(metric, statistic.name(), Some(*metric_period)),
                );
            }
            config.insert("TargetValue".into(), json!(target_value));
            config.insert("DisableScaleIn".into(), json!(disable_scale_in));
            out.insert("TargetTrackingConfiguration".into(), Value::Object(config));
            "TargetTrackingScaling"
        }
    };
    (policy_type, out)
}

/// Application Auto Scaling: `(policy_type, configuration key, configuration)`.
fn ecs_policy_config(policy: &Policy, tracked: Option<&Alarm>) -> (&'static str, &'static str, Value) {
    let step_config = |adjustment_type: &str,
                       cooldown: Option<u32>,
                       aggregation: &str,
                       magnitude: Option<u32>,
                       steps: &[StepAdjustment]| {
        let mut config = Map::new();
        config.insert("AdjustmentType".into(), json!(adjustment_type));
        if let Some(cooldown) = cooldown {
            config.insert("Cooldown".into(), json!(cooldown));
        }
        config.insert("MetricAggregationType".into(), json!(aggregation));
        if let Some(magnitude) = magnitude {
            config.insert("MinAdjustmentMagnitude".into(), json!(magnitude));
        }
        config.insert("StepAdjustments".into(), steps_json(steps));
        ("StepScaling", "StepScalingPolicyConfiguration", Value::Object(config))
    };
    match &policy.kind {
        PolicyKind::Step {
            adjustment_type,
            min_adjustment_magnitude,
            aggregation,
            steps,
            estimated_instance_warmup: _,
            cooldown,
        } => step_config(
            adjustment_type.name(),
            *cooldown,
            aggregation.name(),
            *min_adjustment_magnitude,
            steps,
        ),
        // Validation refuses simple scaling for Application Auto Scaling; were it given, one
        // open step from the threshold up is the same adjustment.
        PolicyKind::Simple {
            adjustment_type,
            scaling_adjustment,
            min_adjustment_magnitude,
            cooldown,
        } => step_config(
            adjustment_type.name(),
            *cooldown,
            "Average",
            *min_adjustment_magnitude,
            &[StepAdjustment {
                lower_bound: Some(0.0),
                upper_bound: None,
                scaling_adjustment: *scaling_adjustment,
            }],
        ),
        PolicyKind::TargetTracking {
            target_value,
            statistic,
            disable_scale_in,
            scale_out_cooldown,
            scale_in_cooldown,
            metric_period: _,
            metric,
            tracking_alarms: _,
        } => {
            let mut config = Map::new();
            match (metric, tracked) {
                (TrackedMetric::Predefined(predefined), _) => {
                    config.insert(
                        "PredefinedMetricSpecification".into(),
                        json!({ "PredefinedMetricType": predefined.name() }),
                    );
                }
                (TrackedMetric::BacklogPerTask(per_task), _) => {
                    config.insert(
                        "CustomizedMetricSpecification".into(),
                        json!({ "Metrics": per_task_metrics_json(per_task) }),
                    );
                }
                (TrackedMetric::AlarmSeries, Some(metric)) => {
                    // No Period: Application Auto Scaling tracks one-minute data only.
                    config.insert(
                        "CustomizedMetricSpecification".into(),
                        customized_metric(metric, statistic.name(), None),
                    );
                }
                (TrackedMetric::AlarmSeries, None) => {}
            }
            config.insert("TargetValue".into(), json!(target_value));
            config.insert("DisableScaleIn".into(), json!(disable_scale_in));
            if let Some(cooldown) = scale_in_cooldown {
                config.insert("ScaleInCooldown".into(), json!(cooldown));
            }
            if let Some(cooldown) = scale_out_cooldown {
                config.insert("ScaleOutCooldown".into(), json!(cooldown));
            }
            (
                "TargetTrackingScaling",
                "TargetTrackingScalingPolicyConfiguration",
                Value::Object(config),
            )
        }
    }
}

fn per_task(policy: &Policy) -> Option<&BacklogPerTask> {
    match &policy.kind {
        PolicyKind::TargetTracking {
            metric: TrackedMetric::BacklogPerTask(per_task),
            ..
        } => Some(per_task),
        _ => None,
    }
}

/// What a target tracking policy's comment says: the one-minute limitation and, for
/// backlog per task, where RunningTaskCount comes from.
fn tracking_notes(policy: &Policy) -> Vec<&'static str> {
    let mut notes = vec![ECS_TARGET_TRACKING_NOTE];
    if per_task(policy).is_some() {
        notes.push(PER_TASK_NOTE);
    }
    notes
}

fn has_ecs_target_tracking(scenario: &Scenario) -> bool {
    is_ecs(scenario)
        && scenario
            .policies
            .iter()
            .any(|p| matches!(p.kind, PolicyKind::TargetTracking { .. }))
}

fn cloudformation(scenario: &Scenario, tracked: Option<&Alarm>) -> String {
    let mut resources = Map::new();
    let target_id = "ScalableTarget";
    if is_ecs(scenario) {
        resources.insert(
            target_id.into(),
            json!({
                "Type": "AWS::ApplicationAutoScaling::ScalableTarget",
                "Properties": {
                    "ServiceNamespace": ECS_SERVICE_NAMESPACE,
                    "ScalableDimension": ECS_SCALABLE_DIMENSION,
                    "ResourceId": scenario.group.name,
                    "MinCapacity": scenario.group.min_capacity,
                    "MaxCapacity": scenario.group.max_capacity,
                }
            }),
        );
    }
    for policy in &scenario.policies {
        let resource = if is_ecs(scenario) {
            let (policy_type, key, config) = ecs_policy_config(policy, tracked);
            let mut properties = Map::new();
            properties.insert("PolicyName".into(), json!(policy.name));
            properties.insert("PolicyType".into(), json!(policy_type));
            properties.insert("ScalingTargetId".into(), json!({ "Ref": target_id }));
            properties.insert(key.into(), config);
            let mut resource = Map::new();
            resource.insert("Type".into(), json!("AWS::ApplicationAutoScaling::ScalingPolicy"));
            if policy_type == "TargetTrackingScaling" {
                // The resource has no description property; Metadata is where a template keeps one.
                resource.insert(
                    "Metadata".into(),
                    json!({ "Comment": tracking_notes(policy).join(". ") }),
                );
            }
            resource.insert("Properties".into(), Value::Object(properties));
            Value::Object(resource)
        } else {
            let (policy_type, fields) = ec2_policy_fields(policy, tracked);
            let mut properties = Map::new();
            properties.insert("AutoScalingGroupName".into(), json!(scenario.group.name));
            properties.insert("PolicyType".into(), json!(policy_type));
            properties.extend(fields);
            json!({ "Type": "AWS::AutoScaling::ScalingPolicy", "Properties": properties })
        };
        resources.insert(policy_id(policy), resource);
    }
    for alarm in &scenario.alarms {
        let actions: Vec<Value> = alarm
            .actions
            .iter()
            .filter_map(|&i| scenario.policies.get(i))
            // Ref of AWS::AutoScaling::ScalingPolicy and AWS::ApplicationAutoScaling::ScalingPolicy
            // returns the policy's ARN, which is what AlarmActions takes.
            .map(|policy| json!({ "Ref": policy_id(policy) }))
            .collect();
        resources.insert(
            alarm_id(alarm),
            json!({
                "Type": "AWS::CloudWatch::Alarm",
                "Properties": {
                    "AlarmName": alarm.name,
                    "AlarmDescription": alarm_description(alarm),
                    "Namespace": alarm.namespace,
                    "MetricName": alarm.metric_name,
                    "Dimensions": dimensions_json(&alarm.dimensions),
                    "Statistic": alarm.statistic.name(),
                    "Period": alarm.period,
                    "EvaluationPeriods": alarm.evaluation_periods,
                    "DatapointsToAlarm": alarm.datapoints_to_alarm,
                    "Threshold": alarm.threshold,
                    "ComparisonOperator": alarm.comparison.name(),
                    "TreatMissingData": alarm.treat_missing_data.name(),
                    "AlarmActions": actions,
                }
            }),
        );
    }
    let description = if has_ecs_target_tracking(scenario) {
        format!(
            "PendingRequests scaling for {} (nginx-backlog-exporter policy render). {ECS_TARGET_TRACKING_NOTE}.",
            scenario.group.name
        )
    } else {
        format!(
            "PendingRequests scaling for {} (nginx-backlog-exporter policy render)",
            scenario.group.name
        )
    };
    let template = json!({
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": description,
        "Resources": resources,
    });
    // A Value always serializes.
    let mut text = serde_json::to_string_pretty(&template).unwrap_or_default();
    text.push('\n');
    text
}

/// An HCL string literal: JSON's escapes are HCL's, plus `${` and `%{` start templates.
fn hcl_string(value: &str) -> String {
    let quoted = serde_json::to_string(value).unwrap_or_else(|_| "\"\"".into());
    quoted.replace("${", "$${").replace("%{", "%%{")
}

fn hcl_number(value: f64) -> String {
    // Debug keeps a decimal point or exponent and round-trips.
    format!("{value:?}")
}

fn tf_steps(out: &mut String, indent: &str, steps: &[StepAdjustment]) {
    for step in steps {
        let _ = writeln!(out, "{indent}step_adjustment {{");
        if let Some(lower) = step.lower_bound {
            let _ = writeln!(out, "{indent}  metric_interval_lower_bound = {}", hcl_number(lower));
        }
        if let Some(upper) = step.upper_bound {
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

/// The same blocks from the AWS-spelled JSON of [`steps_json`].
fn tf_steps_json(out: &mut String, indent: &str, steps: &[Value]) {
    for step in steps {
        let _ = writeln!(out, "{indent}step_adjustment {{");
        for (key, argument) in [
            ("MetricIntervalLowerBound", "metric_interval_lower_bound"),
            ("MetricIntervalUpperBound", "metric_interval_upper_bound"),
            ("ScalingAdjustment", "scaling_adjustment"),
        ] {
            if let Some(value) = step.get(key) {
                let _ = writeln!(out, "{indent}  {argument} = {value}");
            }
        }
        let _ = writeln!(out, "{indent}}}");
    }
}

/// Terraform names the dimension block differently per resource: `metric_dimension` in
/// aws_autoscaling_policy, `dimensions` in aws_appautoscaling_policy.
fn tf_customized_metric(out: &mut String, indent: &str, metric: &Alarm, statistic: &str, dimension_block: &str) {
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

/// `customized_metric_specification { metrics { ... } }` from the AWS-spelled JSON of
/// [`per_task_metrics_json`] (hashicorp/aws: aws_appautoscaling_policy,
/// target_tracking_scaling_policy_configuration.customized_metric_specification.metrics).
fn tf_metrics(out: &mut String, indent: &str, queries: &Value) {
    let text = |value: &Value| hcl_string(value.as_str().unwrap_or_default());
    let _ = writeln!(out, "{indent}customized_metric_specification {{");
    for query in queries.as_array().into_iter().flatten() {
        let _ = writeln!(out, "{indent}  metrics {{");
        let _ = writeln!(out, "{indent}    id          = {}", text(&query["Id"]));
        let _ = writeln!(out, "{indent}    label       = {}", text(&query["Label"]));
        if let Some(expression) = query.get("Expression") {
            let _ = writeln!(out, "{indent}    expression  = {}", text(expression));
        }
        if let Some(stat) = query.get("MetricStat") {
            let metric = &stat["Metric"];
            let _ = writeln!(out, "{indent}    metric_stat {{");
            let _ = writeln!(out, "{indent}      metric {{");
            let _ = writeln!(out, "{indent}        namespace   = {}", text(&metric["Namespace"]));
            let _ = writeln!(out, "{indent}        metric_name = {}", text(&metric["MetricName"]));
            for dimension in metric["Dimensions"].as_array().into_iter().flatten() {
                let _ = writeln!(out, "{indent}        dimensions {{");
                let _ = writeln!(out, "{indent}          name  = {}", text(&dimension["Name"]));
                let _ = writeln!(out, "{indent}          value = {}", text(&dimension["Value"]));
                let _ = writeln!(out, "{indent}        }}");
            }
            let _ = writeln!(out, "{indent}      }}");
            let _ = writeln!(out, "{indent}      stat = {}", text(&stat["Stat"]));
            let _ = writeln!(out, "{indent}    }}");
        }
        let _ = writeln!(
            out,
            "{indent}    return_data = {}",
            query["ReturnData"].as_bool().unwrap_or(true)
        );
        let _ = writeln!(out, "{indent}  }}");
    }
    let _ = writeln!(out, "{indent}}}");
}

fn terraform(scenario: &Scenario, tracked: Option<&Alarm>) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# PendingRequests scaling for {} (nginx-backlog-exporter policy render).",
        scenario.group.name
    );
    let ecs = is_ecs(scenario);
    if ecs {
        let _ = writeln!(out, "\nresource \"aws_appautoscaling_target\" \"target\" {{");
        let _ = writeln!(out, "  service_namespace  = {}", hcl_string(ECS_SERVICE_NAMESPACE));
        let _ = writeln!(out, "  scalable_dimension = {}", hcl_string(ECS_SCALABLE_DIMENSION));
        let _ = writeln!(out, "  resource_id        = {}", hcl_string(&scenario.group.name));
        let _ = writeln!(out, "  min_capacity       = {}", scenario.group.min_capacity);
        let _ = writeln!(out, "  max_capacity       = {}", scenario.group.max_capacity);
        let _ = writeln!(out, "}}");
    }
    for policy in &scenario.policies {
        let name = snake(&policy.name);
        if ecs {
            let _ = writeln!(out);
            if matches!(policy.kind, PolicyKind::TargetTracking { .. }) {
                for note in tracking_notes(policy) {
                    let _ = writeln!(out, "# {note}.");
                }
            }
            let _ = writeln!(out, "resource \"aws_appautoscaling_policy\" \"{name}\" {{");
            let _ = writeln!(out, "  name               = {}", hcl_string(&policy.name));
            let (policy_type, _, config) = ecs_policy_config(policy, tracked);
            let _ = writeln!(out, "  policy_type        = {}", hcl_string(policy_type));
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
                        tf_metrics(&mut out, "    ", &per_task_metrics_json(per_task));
                    } else if let Some(metric) = tracked {
                        tf_customized_metric(&mut out, "    ", metric, statistic.name(), "dimensions");
                    }
                    let _ = writeln!(out, "  }}");
                }
                _ => {
                    let _ = writeln!(out, "  step_scaling_policy_configuration {{");
                    let field = |key: &str| config.get(key).cloned();
                    if let Some(Value::String(adjustment)) = field("AdjustmentType") {
                        let _ = writeln!(out, "    adjustment_type          = {}", hcl_string(&adjustment));
                    }
                    if let Some(cooldown) = field("Cooldown") {
                        let _ = writeln!(out, "    cooldown                 = {cooldown}");
                    }
                    if let Some(Value::String(aggregation)) = field("MetricAggregationType") {
                        let _ = writeln!(out, "    metric_aggregation_type  = {}", hcl_string(&aggregation));
                    }
                    if let Some(magnitude) = field("MinAdjustmentMagnitude") {
                        let _ = writeln!(out, "    min_adjustment_magnitude = {magnitude}");
                    }
                    if let Some(Value::Array(steps)) = field("StepAdjustments") {
                        tf_steps_json(&mut out, "    ", &steps);
                    }
                    let _ = writeln!(out, "  }}");
                }
            }
            let _ = writeln!(out, "}}");
        } else {
            let _ = writeln!(out, "\nresource \"aws_autoscaling_policy\" \"{name}\" {{");
            let _ = writeln!(out, "  name                   = {}", hcl_string(&policy.name));
            let _ = writeln!(out, "  autoscaling_group_name = {}", hcl_string(&scenario.group.name));
            let (policy_type, fields) = ec2_policy_fields(policy, tracked);
            let _ = writeln!(out, "  policy_type            = {}", hcl_string(policy_type));
            if let Some(Value::String(adjustment)) = fields.get("AdjustmentType") {
                let _ = writeln!(out, "  adjustment_type        = {}", hcl_string(adjustment));
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
                    tf_steps(&mut out, "  ", steps);
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
                        tf_customized_metric(&mut out, "    ", metric, statistic.name(), "metric_dimension");
                    }
                    let _ = writeln!(out, "  }}");
                }
            }
            let _ = writeln!(out, "}}");
        }
    }
    for alarm in &scenario.alarms {
        let _ = writeln!(
            out,
            "\nresource \"aws_cloudwatch_metric_alarm\" \"{}\" {{",
            snake(&alarm.name)
        );
        let _ = writeln!(out, "  alarm_name          = {}", hcl_string(&alarm.name));
        let _ = writeln!(out, "  alarm_description   = {}", hcl_string(&alarm_description(alarm)));
        let _ = writeln!(out, "  namespace           = {}", hcl_string(&alarm.namespace));
        let _ = writeln!(out, "  metric_name         = {}", hcl_string(&alarm.metric_name));
        let _ = writeln!(out, "  statistic           = {}", hcl_string(alarm.statistic.name()));
        let _ = writeln!(out, "  period              = {}", alarm.period);
        let _ = writeln!(out, "  evaluation_periods  = {}", alarm.evaluation_periods);
        let _ = writeln!(out, "  datapoints_to_alarm = {}", alarm.datapoints_to_alarm);
        let _ = writeln!(out, "  threshold           = {}", hcl_number(alarm.threshold));
        let _ = writeln!(out, "  comparison_operator = {}", hcl_string(alarm.comparison.name()));
        let _ = writeln!(
            out,
            "  treat_missing_data  = {}",
            hcl_string(alarm.treat_missing_data.name())
        );
        let _ = writeln!(out, "  dimensions = {{");
        for (name, value) in &alarm.dimensions {
            let _ = writeln!(out, "    {} = {}", hcl_string(name), hcl_string(value));
        }
        let _ = writeln!(out, "  }}");
        let resource_type = if ecs {
            "aws_appautoscaling_policy"
        } else {
            "aws_autoscaling_policy"
        };
        let actions: Vec<String> = alarm
            .actions
            .iter()
            .filter_map(|&i| scenario.policies.get(i))
            .map(|policy| format!("{resource_type}.{}.arn", snake(&policy.name)))
            .collect();
        let _ = writeln!(out, "  alarm_actions       = [{}]", actions.join(", "));
        let _ = writeln!(out, "}}");
    }
    out
}

/// A bash word: single-quoted, with `'` written as `'\''`.
fn sh(value: &str) -> String {
    format!("'{}'", value.replace('\'', r"'\''"))
}

fn arn_variable(policy: &Policy) -> String {
    format!("POLICY_ARN_{}", snake(&policy.name).to_ascii_uppercase())
}

fn cli(scenario: &Scenario, tracked: Option<&Alarm>) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "#!/usr/bin/env bash");
    let _ = writeln!(
        out,
        "# PendingRequests scaling for {} (nginx-backlog-exporter policy render).",
        scenario.group.name
    );
    let _ = writeln!(out, "set -euo pipefail");
    let ecs = is_ecs(scenario);
    let target = format!(
        "--service-namespace {} --scalable-dimension {} --resource-id {}",
        ECS_SERVICE_NAMESPACE,
        ECS_SCALABLE_DIMENSION,
        sh(&scenario.group.name)
    );
    if ecs {
        let _ = writeln!(out, "\naws application-autoscaling register-scalable-target \\");
        let _ = writeln!(out, "  {target} \\");
        let _ = writeln!(
            out,
            "  --min-capacity {} --max-capacity {}",
            scenario.group.min_capacity, scenario.group.max_capacity
        );
    }
    for policy in &scenario.policies {
        let _ = writeln!(out);
        if ecs {
            let (policy_type, key, config) = ecs_policy_config(policy, tracked);
            if policy_type == "TargetTrackingScaling" {
                for note in tracking_notes(policy) {
                    let _ = writeln!(out, "# {note}.");
                }
            }
            let flag = if key == "StepScalingPolicyConfiguration" {
                "--step-scaling-policy-configuration"
            } else {
                "--target-tracking-scaling-policy-configuration"
            };
            let _ = writeln!(
                out,
                "{}=$(aws application-autoscaling put-scaling-policy \\",
                arn_variable(policy)
            );
            let _ = writeln!(out, "  {target} \\");
            let _ = writeln!(
                out,
                "  --policy-name {} --policy-type {policy_type} \\",
                sh(&policy.name)
            );
            let _ = writeln!(out, "  {flag} {} \\", sh(&config.to_string()));
        } else {
            let (policy_type, fields) = ec2_policy_fields(policy, tracked);
            let _ = writeln!(out, "{}=$(aws autoscaling put-scaling-policy \\", arn_variable(policy));
            let _ = writeln!(out, "  --auto-scaling-group-name {} \\", sh(&scenario.group.name));
            let _ = writeln!(
                out,
                "  --policy-name {} --policy-type {policy_type} \\",
                sh(&policy.name)
            );
            for (key, value) in &fields {
                let flag = match key.as_str() {
                    "AdjustmentType" => "--adjustment-type",
                    "MinAdjustmentMagnitude" => "--min-adjustment-magnitude",
                    "MetricAggregationType" => "--metric-aggregation-type",
                    "EstimatedInstanceWarmup" => "--estimated-instance-warmup",
                    "StepAdjustments" => "--step-adjustments",
                    "ScalingAdjustment" => "--scaling-adjustment",
                    "Cooldown" => "--cooldown",
                    "TargetTrackingConfiguration" => "--target-tracking-configuration",
                    _ => continue,
                };
                let word = match value {
                    Value::String(text) => sh(text),
                    Value::Number(number) => number.to_string(),
                    other => sh(&other.to_string()),
                };
                let _ = writeln!(out, "  {flag} {word} \\");
            }
        }
        let _ = writeln!(out, "  --query PolicyARN --output text)");
    }
    for alarm in &scenario.alarms {
        let _ = writeln!(out, "\naws cloudwatch put-metric-alarm \\");
        let _ = writeln!(out, "  --alarm-name {} \\", sh(&alarm.name));
        let _ = writeln!(out, "  --alarm-description {} \\", sh(&alarm_description(alarm)));
        let _ = writeln!(
            out,
            "  --namespace {} --metric-name {} \\",
            sh(&alarm.namespace),
            sh(&alarm.metric_name)
        );
        if !alarm.dimensions.is_empty() {
            let _ = writeln!(
                out,
                "  --dimensions {} \\",
                sh(&dimensions_json(&alarm.dimensions).to_string())
            );
        }
        let _ = writeln!(
            out,
            "  --statistic {} --period {} --evaluation-periods {} --datapoints-to-alarm {} \\",
            alarm.statistic.name(),
            alarm.period,
            alarm.evaluation_periods,
            alarm.datapoints_to_alarm
        );
        let _ = writeln!(
            out,
            "  --threshold {} --comparison-operator {} --treat-missing-data {} \\",
            hcl_number(alarm.threshold),
            alarm.comparison.name(),
            alarm.treat_missing_data.name()
        );
        let actions: Vec<String> = alarm
            .actions
            .iter()
            .filter_map(|&i| scenario.policies.get(i))
            .map(|policy| format!("\"${}\"", arn_variable(policy)))
            .collect();
        if actions.is_empty() {
            // put-metric-alarm needs a last word after the continuation.
            let _ = writeln!(out, "  --actions-enabled");
        } else {
            let _ = writeln!(out, "  --alarm-actions {}", actions.join(" "));
        }
    }
    out
}

#[cfg(test)]
mod tests;
