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

use serde::Serialize;
use serde_json::{json, Map, Value};

use crate::scaling::aws::{
    self, suspended_state, MetricAlarm, ScalingPolicy, ECS_SCALABLE_DIMENSION, ECS_SERVICE_NAMESPACE,
};
use crate::scaling::scenario::{Alarm, BacklogPerTask, Policy, PolicyKind, ScalingService, Scenario, TrackedMetric};

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
pub(crate) const ECS_TARGET_TRACKING_NOTE: &str = "Application Auto Scaling evaluates target tracking on one-minute \
     data, so this policy cannot react within a minute; the 10 s step alarms can";

/// Said wherever a backlog-per-task policy is rendered: m2 exists only with Container Insights.
pub(crate) const PER_TASK_NOTE: &str = "Backlog per task = fleet total / RunningTaskCount (metric math); \
     RunningTaskCount is published by Container Insights: turn it on for the cluster, or the \
     policy has no data and never scales";

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
        Format::CloudFormation => cloudformation(scenario),
        Format::Terraform => terraform::terraform(scenario, tracked),
        Format::Cli => cli(scenario),
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

/// A shape of `scaling::aws` as the JSON object AWS spells: the properties CloudFormation
/// takes and the fields whose names the CLI's flags are made from.
fn fields<T: Serialize>(shape: &T) -> Map<String, Value> {
    match serde_json::to_value(shape) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    }
}

/// The policy as AWS holds it, and its fields less those that name it (PolicyName,
/// PolicyARN, the group or scalable target) and its type. EC2 Auto Scaling: PutScalingPolicy's
/// flat fields; Application Auto Scaling: the fields of the configuration object, under its
/// key.
fn policy_fields(scenario: &Scenario, policy: &Policy) -> (ScalingPolicy, Map<String, Value>) {
    let shape = ScalingPolicy::from_model(scenario, policy);
    let mut map = fields(&shape);
    for key in [
        "PolicyName",
        "PolicyARN",
        "PolicyType",
        "AutoScalingGroupName",
        "ServiceNamespace",
        "ResourceId",
        "ScalableDimension",
    ] {
        map.remove(key);
    }
    (shape, map)
}

/// The alarm as AWS holds it, without AlarmActions (each format names the policies its own
/// way) and with a description.
fn alarm_fields(scenario: &Scenario, index: usize) -> Map<String, Value> {
    let mut map = fields(&MetricAlarm::from_model(scenario, index, None));
    map.remove("AlarmActions");
    map.insert(
        "AlarmDescription".into(),
        json!(alarm_description(&scenario.alarms[index])),
    );
    map
}

fn predefined(policy: &Policy) -> Option<&'static str> {
    match &policy.kind {
        PolicyKind::TargetTracking {
            metric: TrackedMetric::Predefined(predefined),
            ..
        } => Some(predefined.name()),
        _ => None,
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

fn cloudformation(scenario: &Scenario) -> String {
    let mut resources = Map::new();
    let target_id = "ScalableTarget";
    if is_ecs(scenario) {
        let mut properties = fields(
            &aws::describe_groups(&scenario.group)
                .scalable_targets
                .unwrap_or_default()[0],
        );
        if !scenario.group.suspended.is_any_suspended() {
            properties.remove("SuspendedState");
        }
        resources.insert(
            target_id.into(),
            json!({ "Type": "AWS::ApplicationAutoScaling::ScalableTarget", "Properties": properties }),
        );
    }
    for policy in &scenario.policies {
        let (shape, mut properties) = policy_fields(scenario, policy);
        let resource = if is_ecs(scenario) {
            properties.insert("PolicyName".into(), json!(policy.name));
            properties.insert("PolicyType".into(), json!(shape.policy_type));
            properties.insert("ScalingTargetId".into(), json!({ "Ref": target_id }));
            let mut resource = Map::new();
            resource.insert("Type".into(), json!("AWS::ApplicationAutoScaling::ScalingPolicy"));
            if shape.policy_type == "TargetTrackingScaling" {
                // The resource has no description property; Metadata is where a template keeps one.
                resource.insert(
                    "Metadata".into(),
                    json!({ "Comment": tracking_notes(policy).join(". ") }),
                );
            }
            resource.insert("Properties".into(), Value::Object(properties));
            Value::Object(resource)
        } else {
            properties.insert("AutoScalingGroupName".into(), json!(scenario.group.name));
            properties.insert("PolicyType".into(), json!(shape.policy_type));
            // AWS::AutoScaling::ScalingPolicy takes Cooldown as a string and has no Enabled:
            // a disabled policy is said in Metadata (PutScalingPolicy --no-enabled sets it).
            if let Some(cooldown) = properties.remove("Cooldown") {
                properties.insert("Cooldown".into(), json!(cooldown.to_string()));
            }
            let enabled = properties.remove("Enabled");
            let mut resource = json!({ "Type": "AWS::AutoScaling::ScalingPolicy", "Properties": properties });
            if enabled == Some(Value::Bool(false)) {
                resource["Metadata"] = json!({
                    "Comment": "Enabled is false in the policy file: disable it after deploying (aws autoscaling \
                                put-scaling-policy --no-enabled); CloudFormation has no such property"
                });
            }
            resource
        };
        resources.insert(policy_id(policy), resource);
    }
    for (index, alarm) in scenario.alarms.iter().enumerate() {
        let actions: Vec<Value> = alarm
            .actions
            .iter()
            .filter_map(|&i| scenario.policies.get(i))
            // Ref of AWS::AutoScaling::ScalingPolicy and AWS::ApplicationAutoScaling::ScalingPolicy
            // returns the policy's ARN, which is what AlarmActions takes.
            .map(|policy| json!({ "Ref": policy_id(policy) }))
            .collect();
        let mut properties = alarm_fields(scenario, index);
        properties.insert("AlarmActions".into(), Value::Array(actions));
        resources.insert(
            alarm_id(alarm),
            json!({ "Type": "AWS::CloudWatch::Alarm", "Properties": properties }),
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

/// `EvaluationPeriods` -> `evaluation-periods`: an AWS field's name as the CLI spells its flag.
fn kebab_of_pascal(name: &str) -> String {
    separated(name, '-')
}

fn separated(name: &str, separator: char) -> String {
    let mut out = String::new();
    let mut previous_lower = false;
    for c in name.chars() {
        if c.is_ascii_uppercase() && previous_lower {
            out.push(separator);
        }
        previous_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
        out.push(c.to_ascii_lowercase());
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

/// A field as one argument of the AWS CLI: `--kebab-name VALUE`, or the flag alone for a
/// boolean (`--actions-enabled`, `--no-enabled`).
fn cli_argument(key: &str, value: &Value) -> String {
    let flag = kebab_of_pascal(key);
    match value {
        Value::Bool(true) => format!("--{flag}"),
        Value::Bool(false) => format!("--no-{flag}"),
        Value::String(text) => format!("--{flag} {}", sh(text)),
        Value::Number(number) => format!("--{flag} {number}"),
        other => format!("--{flag} {}", sh(&other.to_string())),
    }
}

/// One command: its first line, then one argument a line, joined by continuations.
fn command(out: &mut String, first: &str, arguments: &[String]) {
    let _ = write!(out, "{first}");
    for argument in arguments {
        let _ = write!(out, " \\\n  {argument}");
    }
    let _ = writeln!(out);
}

fn cli(scenario: &Scenario) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "#!/usr/bin/env bash");
    let _ = writeln!(
        out,
        "# PendingRequests scaling for {} (nginx-backlog-exporter policy render).",
        scenario.group.name
    );
    let _ = writeln!(out, "set -euo pipefail");
    let ecs = is_ecs(scenario);
    let group = &scenario.group;
    let target = format!(
        "--service-namespace {} --scalable-dimension {} --resource-id {}",
        ECS_SERVICE_NAMESPACE,
        ECS_SCALABLE_DIMENSION,
        sh(&group.name)
    );
    if ecs {
        let mut arguments = vec![
            target.clone(),
            format!(
                "--min-capacity {} --max-capacity {}",
                group.min_capacity, group.max_capacity
            ),
        ];
        if group.suspended.is_any_suspended() {
            arguments.push(cli_argument("SuspendedState", &json!(suspended_state(group))));
        }
        let _ = writeln!(out);
        command(
            &mut out,
            "aws application-autoscaling register-scalable-target",
            &arguments,
        );
    } else if !group.suspended.processes.is_empty() {
        // render names the group, it does not create it: its processes are suspended on it.
        let processes: Vec<&str> = group.suspended.processes.iter().map(|p| p.name()).collect();
        let _ = writeln!(out);
        command(
            &mut out,
            "aws autoscaling suspend-processes",
            &[
                format!("--auto-scaling-group-name {}", sh(&group.name)),
                format!("--scaling-processes {}", processes.join(" ")),
            ],
        );
    }
    for policy in &scenario.policies {
        let _ = writeln!(out);
        let (shape, fields) = policy_fields(scenario, policy);
        if shape.policy_type == "TargetTrackingScaling" && ecs {
            for note in tracking_notes(policy) {
                let _ = writeln!(out, "# {note}.");
            }
        }
        let mut arguments = vec![if ecs {
            target.clone()
        } else {
            format!("--auto-scaling-group-name {}", sh(&group.name))
        }];
        arguments.push(format!(
            "--policy-name {} --policy-type {}",
            sh(&policy.name),
            shape.policy_type
        ));
        arguments.extend(fields.iter().map(|(key, value)| cli_argument(key, value)));
        arguments.push("--query PolicyARN --output text)".into());
        let service = if ecs { "application-autoscaling" } else { "autoscaling" };
        command(
            &mut out,
            &format!("{}=$(aws {service} put-scaling-policy", arn_variable(policy)),
            &arguments,
        );
    }
    for (index, alarm) in scenario.alarms.iter().enumerate() {
        let mut arguments: Vec<String> = alarm_fields(scenario, index)
            .iter()
            .filter(|(key, value)| !(key.as_str() == "Dimensions" && value.as_array().is_some_and(Vec::is_empty)))
            .map(|(key, value)| cli_argument(key, value))
            .collect();
        let actions: Vec<String> = alarm
            .actions
            .iter()
            .filter_map(|&i| scenario.policies.get(i))
            .map(|policy| format!("\"${}\"", arn_variable(policy)))
            .collect();
        if !actions.is_empty() {
            arguments.push(format!("--alarm-actions {}", actions.join(" ")));
        }
        let _ = writeln!(out);
        command(&mut out, "aws cloudwatch put-metric-alarm", &arguments);
    }
    out
}

mod terraform;

#[cfg(test)]
mod tests;
