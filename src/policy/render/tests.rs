//! The renderers on the shipped config/scaling-policy.toml (ECS) and on
//! tests/fixtures/policy-ec2-asg.toml (EC2: step, simple and target tracking).

use std::path::Path;

use serde_json::{json, Value};

use super::terraform::hcl_string;
use super::*;
use crate::simulate::input::{self, Sources};

fn scenario(relative: &str) -> Scenario {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(relative);
    input::load(&Sources {
        policy_toml: Some(&path),
        ..Sources::default()
    })
    .expect("the policy loads")
    .scenario
}

const ECS: &str = "config/scaling-policy.toml";
const EC2: &str = "tests/fixtures/policy-ec2-asg.toml";

fn template(relative: &str) -> Value {
    let text = render(&scenario(relative), Format::CloudFormation).unwrap();
    serde_json::from_str(&text).expect("the template is JSON")
}

/// One value of the template, by a path of keys.
fn check(template: &Value, path: &[&str], expected: Value) {
    let mut at = template;
    for key in path {
        at = at.get(*key).unwrap_or_else(|| panic!("no {key} in {}", path.join(".")));
    }
    assert_eq!(at, &expected, "{}", path.join("."));
}

#[test]
fn cloudformation_ecs_service_registers_the_desired_count_and_steps_it() {
    let t = template(ECS);
    let target = ["Resources", "ScalableTarget"];
    check(
        &t,
        &[&target[..], &["Type"]].concat(),
        json!("AWS::ApplicationAutoScaling::ScalableTarget"),
    );
    let props = |key: &'static str| [&target[..], &["Properties", key]].concat();
    check(&t, &props("ScalableDimension"), json!("ecs:service:DesiredCount"));
    check(&t, &props("ResourceId"), json!("service/demo-cluster/web"));
    check(&t, &props("MinCapacity"), json!(2));
    check(&t, &props("MaxCapacity"), json!(6));
    // No RoleARN: Application Auto Scaling uses its service-linked role.
    assert!(t["Resources"]["ScalableTarget"]["Properties"].get("RoleARN").is_none());

    let out = ["Resources", "WebScaleOutPolicy", "Properties"];
    check(&t, &[&out[..], &["PolicyType"]].concat(), json!("StepScaling"));
    check(
        &t,
        &[&out[..], &["ScalingTargetId"]].concat(),
        json!({ "Ref": "ScalableTarget" }),
    );
    let config = [&out[..], &["StepScalingPolicyConfiguration"]].concat();
    check(&t, &[&config[..], &["Cooldown"]].concat(), json!(60));
    check(
        &t,
        &[&config[..], &["StepAdjustments"]].concat(),
        json!([
            { "MetricIntervalLowerBound": 0.0, "MetricIntervalUpperBound": 20.0, "ScalingAdjustment": 1 },
            { "MetricIntervalLowerBound": 20.0, "ScalingAdjustment": 2 }
        ]),
    );
    let alarm = ["Resources", "WebPendingHighAlarm", "Properties"];
    check(
        &t,
        &[&alarm[..], &["AlarmActions"]].concat(),
        json!([{ "Ref": "WebScaleOutPolicy" }]),
    );
    check(&t, &[&alarm[..], &["Period"]].concat(), json!(10));
    check(
        &t,
        &[&alarm[..], &["Dimensions"]].concat(),
        json!([{ "Name": "InstanceId", "Value": "i-0123456789abcdef0" }]),
    );
    check(
        &t,
        &["Resources", "WebPendingLowAlarm", "Properties", "TreatMissingData"],
        json!("notBreaching"),
    );
}

#[test]
fn cloudformation_ec2_asg_names_the_group_and_keeps_warmup_cooldown_and_period() {
    let t = template(EC2);
    let step = ["Resources", "WebScaleOutPolicy"];
    check(
        &t,
        &[&step[..], &["Type"]].concat(),
        json!("AWS::AutoScaling::ScalingPolicy"),
    );
    let props = |key: &'static str| [&step[..], &["Properties", key]].concat();
    check(&t, &props("AutoScalingGroupName"), json!("web-asg"));
    check(&t, &props("EstimatedInstanceWarmup"), json!(120));
    check(&t, &props("MetricAggregationType"), json!("Average"));
    // The simple policy's Cooldown is a String in AWS::AutoScaling::ScalingPolicy.
    check(
        &t,
        &["Resources", "WebScaleInPolicy", "Properties", "Cooldown"],
        json!("300"),
    );
    check(
        &t,
        &["Resources", "WebScaleInPolicy", "Properties", "ScalingAdjustment"],
        json!(-1),
    );
    let tracking = [
        "Resources",
        "WebTrackPolicy",
        "Properties",
        "TargetTrackingConfiguration",
    ];
    check(
        &t,
        &[&tracking[..], &["CustomizedMetricSpecification", "Period"]].concat(),
        json!(10),
    );
    check(&t, &[&tracking[..], &["TargetValue"]].concat(), json!(10.0));
    assert!(t.get("Resources").unwrap().get("ScalableTarget").is_none());
}

/// The shipped example with its commented-out target tracking policy turned on.
fn ecs_with_target_tracking() -> Scenario {
    let mut scenario = scenario(ECS);
    scenario.policies.push(Policy {
        name: "web-track".into(),
        arn: String::new(),
        enabled: true,
        kind: PolicyKind::TargetTracking {
            target_value: 10.0,
            statistic: crate::scaling::model::Statistic::Average,
            disable_scale_in: false,
            scale_out_cooldown: Some(60),
            scale_in_cooldown: Some(300),
            metric_period: 60,
            metric: crate::scaling::model::TrackedMetric::AlarmSeries,
            tracking_alarms: Default::default(),
        },
    });
    scenario
}

#[test]
fn ecs_target_tracking_says_it_cannot_react_within_a_minute_in_every_format() {
    let scenario = ecs_with_target_tracking();
    for format in [Format::CloudFormation, Format::Terraform, Format::Cli] {
        let text = render(&scenario, format).unwrap();
        assert!(text.contains(ECS_TARGET_TRACKING_NOTE), "{format:?}:\n{text}");
    }
    let t: Value = serde_json::from_str(&render(&scenario, Format::CloudFormation).unwrap()).unwrap();
    let config = [
        "Resources",
        "WebTrackPolicy",
        "Properties",
        "TargetTrackingScalingPolicyConfiguration",
    ];
    check(&t, &[&config[..], &["ScaleOutCooldown"]].concat(), json!(60));
    // Application Auto Scaling has no Period: one-minute data only.
    assert!(
        t["Resources"]["WebTrackPolicy"]["Properties"]["TargetTrackingScalingPolicyConfiguration"]
            ["CustomizedMetricSpecification"]
            .get("Period")
            .is_none()
    );
}

#[test]
fn terraform_alarm_actions_are_the_policies_arns() {
    let ecs = render(&scenario(ECS), Format::Terraform).unwrap();
    assert!(
        ecs.contains("alarm_actions = [aws_appautoscaling_policy.web_scale_out.arn]"),
        "{ecs}"
    );
    assert!(
        ecs.contains("resource_id        = aws_appautoscaling_target.target.resource_id"),
        "{ecs}"
    );
    let ec2 = render(&scenario(EC2), Format::Terraform).unwrap();
    assert!(
        ec2.contains("alarm_actions = [aws_autoscaling_policy.web_scale_out.arn]"),
        "{ec2}"
    );
    assert!(ec2.contains("metric_dimension {"), "{ec2}");
}

#[test]
fn cli_captures_each_policy_arn_and_passes_it_to_put_metric_alarm() {
    let script = render(&scenario(ECS), Format::Cli).unwrap();
    assert!(script.starts_with("#!/usr/bin/env bash\n"));
    assert!(
        script.contains("aws application-autoscaling register-scalable-target"),
        "{script}"
    );
    assert!(script.contains("POLICY_ARN_WEB_SCALE_OUT=$(aws application-autoscaling put-scaling-policy"));
    assert!(
        script.contains("--alarm-actions \"$POLICY_ARN_WEB_SCALE_OUT\""),
        "{script}"
    );
    assert_eq!(script.matches("--query PolicyARN --output text)").count(), 2);
    let ec2 = render(&scenario(EC2), Format::Cli).unwrap();
    assert!(
        ec2.contains("POLICY_ARN_WEB_SCALE_IN=$(aws autoscaling put-scaling-policy"),
        "{ec2}"
    );
    assert!(ec2.contains("--estimated-instance-warmup 120"), "{ec2}");
    assert!(!ec2.contains("application-autoscaling"), "{ec2}");
}

#[test]
fn target_tracking_without_an_alarm_has_no_metric_to_track() {
    let mut scenario = ecs_with_target_tracking();
    scenario.alarms.clear();
    let error = render(&scenario, Format::CloudFormation).unwrap_err();
    assert_eq!(
        error.to_string(),
        "policy \"web-track\" is target tracking, but no alarm names the metric it would track"
    );
}

#[test]
fn names_become_logical_ids_terraform_names_and_shell_words() {
    for (name, logical, terraform) in [
        ("web-pending-high", "WebPendingHigh", "web_pending_high"),
        ("9lives", "R9lives", "r9lives"),
        ("a.b c", "ABC", "a_b_c"),
    ] {
        assert_eq!(pascal(name), logical, "{name}");
        assert_eq!(snake(name), terraform, "{name}");
    }
    assert_eq!(sh("it's"), r"'it'\''s'");
    assert_eq!(hcl_string("${x}"), "\"$${x}\"");
}
