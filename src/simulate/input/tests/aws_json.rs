//! The AWS CLI's JSON: what describe-* prints, read as the TOML is, and the round trip
//! TOML -> write_aws -> JSON -> the same Scenario.

use super::*;

// --- the AWS CLI's JSON ---

pub(super) const ALARMS: &str = r#"{
    "MetricAlarms": [
        {
            "AlarmName": "high",
            "Namespace": "MyApp",
            "MetricName": "PendingRequests",
            "Dimensions": [{"Name": "InstanceId", "Value": "i-1"}],
            "Statistic": "Maximum",
            "Period": 10,
            "EvaluationPeriods": 3,
            "Threshold": 20.0,
            "ComparisonOperator": "GreaterThanThreshold",
            "AlarmActions": [
                "arn:aws:sns:us-east-1:123456789012:ops",
                "arn:aws:autoscaling:us-east-1:123456789012:scalingPolicy:1:autoScalingGroupName/web:policyName/out"
            ],
            "StateValue": "OK"
        }
    ]
}"#;

pub(super) const POLICIES: &str = r#"{
    "ScalingPolicies": [
        {
            "AutoScalingGroupName": "web",
            "PolicyName": "out",
            "PolicyARN": "arn:aws:autoscaling:us-east-1:123456789012:scalingPolicy:1:autoScalingGroupName/web:policyName/out",
            "PolicyType": "StepScaling",
            "AdjustmentType": "PercentChangeInCapacity",
            "MinAdjustmentMagnitude": 1,
            "MetricAggregationType": "Maximum",
            "StepAdjustments": [{"MetricIntervalLowerBound": 0.0, "ScalingAdjustment": 50}],
            "EstimatedInstanceWarmup": 90,
            "Enabled": true
        }
    ]
}"#;

pub(super) const GROUPS: &str = r#"{"AutoScalingGroups": [{"AutoScalingGroupName": "other", "MinSize": 0, "MaxSize": 1},
 {"AutoScalingGroupName": "web", "MinSize": 1, "MaxSize": 4, "DesiredCapacity": 2, "DefaultCooldown": 120}]}"#;

pub(super) fn load_json(
    alarms: &str,
    policies: &str,
    group: Option<&str>,
    capacity: Option<u32>,
) -> Result<Loaded, InputError> {
    let drafts = json::parse(
        ("alarms.json", alarms),
        ("policies.json", policies),
        group.map(|g| ("group.json", g)),
    )?;
    validate::scenario(drafts, capacity)
}

#[test]
fn describe_json_is_read_and_sns_actions_ignored() {
    let loaded = load_json(ALARMS, POLICIES, Some(GROUPS), None).unwrap();
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    let s = &loaded.scenario;
    assert_eq!(s.group.service, ScalingService::Ec2AutoScaling);
    assert_eq!(
        (
            s.group.name.as_str(),
            s.group.desired_capacity,
            s.group.default_cooldown
        ),
        ("web", 2, 120)
    );
    assert_eq!(s.alarms[0].actions, vec![0]);
    assert_eq!(s.alarms[0].statistic, Statistic::Maximum);
    assert_eq!(
        s.policies[0].kind,
        PolicyKind::Step {
            adjustment_type: AdjustmentType::PercentChangeInCapacity,
            min_adjustment_magnitude: Some(1),
            aggregation: MetricAggregation::Maximum,
            steps: vec![StepAdjustment {
                lower_bound: Some(0.0),
                upper_bound: None,
                scaling_adjustment: 50
            }],
            estimated_instance_warmup: Some(90),
            cooldown: None,
        }
    );
    // --capacity overrides DesiredCapacity.
    assert_eq!(
        load_json(ALARMS, POLICIES, Some(GROUPS), Some(4))
            .unwrap()
            .scenario
            .group
            .desired_capacity,
        4
    );
}

#[test]
fn json_errors_name_the_path_and_line() {
    let alarms = ALARMS.replace(
        ":autoScalingGroupName/web:policyName/out\"\n",
        ":autoScalingGroupName/web:policyName/gone\"\n",
    );
    check_error(
        load_json(&alarms, POLICIES, Some(GROUPS), None),
        "alarms.json",
        line_of(&alarms, "policyName/gone", 1),
        "MetricAlarms[0].AlarmActions[1]",
        "names no policy of the policies given (known: out)",
    );
    let alarms = ALARMS.replace(r#""Period": 10"#, r#""Period": "10""#);
    check_error(
        load_json(&alarms, POLICIES, Some(GROUPS), None),
        "alarms.json",
        line_of(&alarms, "\"Period\"", 1),
        "MetricAlarms[0].Period",
        "expected a whole number, got string \"10\"",
    );
    let alarms = ALARMS.replace(
        r#""EvaluationPeriods": 3"#,
        r#""EvaluationPeriods": 3, "DatapointsToAlarm": 5"#,
    );
    check_error(
        load_json(&alarms, POLICIES, Some(GROUPS), None),
        "alarms.json",
        line_of(&alarms, "DatapointsToAlarm", 1),
        "MetricAlarms[0].DatapointsToAlarm",
        "from 1 to",
    );
    let policies = POLICIES.replace(
        r#""AdjustmentType": "PercentChangeInCapacity""#,
        r#""AdjustmentType": "ChangeInCapacity""#,
    );
    check_error(
        load_json(ALARMS, &policies, Some(GROUPS), None),
        "policies.json",
        line_of(&policies, "MinAdjustmentMagnitude", 1),
        "ScalingPolicies[0].MinAdjustmentMagnitude",
        "PercentChangeInCapacity",
    );
}

#[test]
fn metric_math_and_extended_statistics_are_refused_saying_what_is_supported() {
    let alarms = ALARMS.replace(r#""Statistic": "Maximum","#, r#""ExtendedStatistic": "p99","#);
    check_error(
        load_json(&alarms, POLICIES, Some(GROUPS), None),
        "alarms.json",
        line_of(&alarms, "ExtendedStatistic", 1),
        "MetricAlarms[0].ExtendedStatistic",
        "Average, Maximum, Minimum, Sum or SampleCount",
    );
    let alarms = ALARMS.replace(
        r#""Statistic": "Maximum","#,
        r#""Metrics": [{"Id": "e1", "Expression": "m1/m2"}],"#,
    );
    check_error(
        load_json(&alarms, POLICIES, Some(GROUPS), None),
        "alarms.json",
        line_of(&alarms, "\"Metrics\"", 1),
        "MetricAlarms[0].Metrics",
        "metric math",
    );
}

#[test]
fn an_empty_metrics_list_is_a_single_metric_alarm() {
    let alarms = ALARMS.replace(r#""StateValue": "OK""#, r#""StateValue": "OK", "Metrics": []"#);
    let loaded = load_json(&alarms, POLICIES, Some(GROUPS), None).unwrap();
    assert_eq!(loaded.scenario.alarms[0].statistic, Statistic::Maximum);
    assert_eq!(loaded.scenario.alarms[0].actions, vec![0]);
}

#[test]
fn a_group_is_needed_and_a_scalable_target_needs_a_capacity() {
    check_error(
        load_json(ALARMS, POLICIES, None, Some(2)),
        "policies.json",
        2,
        "ScalingPolicies",
        "pass --group",
    );
    let policies = r#"{"ScalingPolicies": [{"PolicyARN": "arn:aws:autoscaling:us-east-1:1:scalingPolicy:u:resource/ecs/service/c/web:policyName/out",
  "PolicyName": "out", "ServiceNamespace": "ecs", "ResourceId": "service/c/web", "ScalableDimension": "ecs:service:DesiredCount",
  "PolicyType": "StepScaling", "StepScalingPolicyConfiguration": {"AdjustmentType": "ChangeInCapacity", "Cooldown": 60,
  "StepAdjustments": [{"MetricIntervalLowerBound": 0.0, "ScalingAdjustment": 1}]}}]}"#;
    let alarms = ALARMS.replace(
        "arn:aws:autoscaling:us-east-1:123456789012:scalingPolicy:1:autoScalingGroupName/web:policyName/out",
        "arn:aws:autoscaling:us-east-1:1:scalingPolicy:u:resource/ecs/service/c/web:policyName/out",
    );
    let targets = "{\"ScalableTargets\": [\n{\"ServiceNamespace\": \"ecs\", \"ResourceId\": \"service/c/web\", \"MinCapacity\": 1, \"MaxCapacity\": 3}]}";
    check_error(
        load_json(&alarms, policies, Some(targets), None),
        "group.json",
        2,
        "ScalableTargets[0]",
        "pass --capacity",
    );
    let loaded = load_json(&alarms, policies, Some(targets), Some(3)).unwrap();
    assert_eq!(loaded.scenario.group.service, ScalingService::ApplicationAutoScaling);
    assert_eq!(loaded.scenario.group.desired_capacity, 3);
    assert_eq!(loaded.scenario.alarms[0].actions, vec![0]);
    check_error(
        load_json(&alarms, policies, Some(GROUPS), Some(3)),
        "group.json",
        1,
        "AutoScalingGroups",
        "describe-scalable-targets",
    );
}

// --- the round trip: TOML -> write_aws -> JSON -> the same Scenario ---

pub(super) fn round_trip(toml_text: &str, capacity: Option<u32>) {
    let from_toml = load_toml(toml_text).unwrap().scenario;
    let dir = tempfile::tempdir().unwrap();
    let paths = write_aws(&from_toml, dir.path()).unwrap();
    let names: Vec<_> = paths
        .iter()
        .map(|p| p.file_name().unwrap().to_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, ["alarms.json", "policies.json", "group.json"]);
    let from_json = load(&Sources {
        alarms: Some(&paths[0]),
        policies: Some(&paths[1]),
        group: Some(&paths[2]),
        policy_toml: None,
        capacity,
    })
    .unwrap()
    .scenario;
    // ARNs are the TOML's synthesized ones, read back from the JSON: equal too.
    assert_eq!(from_json, from_toml);
    // Stable output: the same files again.
    let again = tempfile::tempdir().unwrap();
    write_aws(&from_toml, again.path()).unwrap();
    for name in &names {
        assert_eq!(
            std::fs::read(dir.path().join(name)).unwrap(),
            std::fs::read(again.path().join(name)).unwrap()
        );
    }
}

#[test]
fn round_trip_ec2() {
    let text = BASE.replace("desired_capacity = 2", "desired_capacity = 2\ndefault_instance_warmup = 30\nregion = \"eu-west-1\"\naccount_id = \"111122223333\"")
        + "\n[[policy]]\npolicy_name = \"simple\"\npolicy_type = \"SimpleScaling\"\nadjustment_type = \"ExactCapacity\"\nscaling_adjustment = 3\ncooldown = 30\n"
        + "\n[[policy]]\npolicy_name = \"track\"\npolicy_type = \"TargetTrackingScaling\"\nestimated_instance_warmup = 45\n[policy.target_tracking_configuration]\ntarget_value = 10.0\nstatistic = \"Maximum\"\nperiod = 10\ndisable_scale_in = true\n";
    round_trip(&text, None);
    let scenario = load_toml(&text).unwrap().scenario;
    assert!(scenario.policies[0]
        .arn
        .starts_with("arn:aws:autoscaling:eu-west-1:111122223333:scalingPolicy:"));
}

#[test]
fn round_trip_ecs_example() {
    let text =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("config/scaling-policy.toml")).unwrap();
    round_trip(&text, Some(2));
    let scenario = load_toml(&text).unwrap().scenario;
    // The AWS CLI's describe-scaling-policies example shows this ARN shape.
    assert!(scenario.policies[0]
        .arn
        .ends_with(":resource/ecs/service/demo-cluster/web:policyName/web-scale-out"));
}

// API_PutScalingPolicy (EC2 Auto Scaling): "Cooldown: ... Valid only if the policy type is
// SimpleScaling"; the fields of one service are refused on the other.
#[test]
fn fields_of_the_other_service_are_refused() {
    let text = edit(
        r#"adjustment_type = "ChangeInCapacity""#,
        0,
        "adjustment_type = \"ChangeInCapacity\"\ncooldown = 60",
    );
    check_toml_error(&text, "cooldown = 60", "policy[0].cooldown", "simple scaling only");
    let text = BASE
        .replace(r#"kind = "ec2-asg""#, r#"kind = "ecs-service""#)
        .replace(r#"name = "web""#, r#"name = "service/c/web""#)
        .replace(
            "policy_name = \"in\"\n",
            "policy_name = \"in\"\nestimated_instance_warmup = 30\n",
        );
    check_toml_error(
        &text,
        "estimated_instance_warmup",
        "policy[1].estimated_instance_warmup",
        "no instance warmup",
    );
    let text = BASE.to_string()
        + "\n[[policy]]\npolicy_name = \"track\"\npolicy_type = \"TargetTrackingScaling\"\n[policy.target_tracking_configuration]\ntarget_value = 10.0\nscale_in_cooldown = 300\n";
    check_toml_error(
        &text,
        "scale_in_cooldown",
        "policy[2].target_tracking_configuration.scale_in_cooldown",
        "estimated instance warmup",
    );
}

// API_StepAdjustment: "If one step adjustment has a positive upper bound, then there must be
// a step adjustment with a null upper bound."
#[test]
fn a_positive_upper_bound_needs_an_open_one() {
    let text = edit(
        "metric_interval_lower_bound = 10.0",
        0,
        "metric_interval_lower_bound = 10.0\nmetric_interval_upper_bound = 30.0",
    );
    let line = line_of(&text, "metric_interval_lower_bound = 10.0", 1) - 1;
    check_error(
        load_toml(&text),
        "p.toml",
        line,
        "policy[0].step_adjustments[0]",
        "positive upper bound (30)",
    );
}

#[test]
fn a_missing_json_field_names_its_path() {
    let alarms = ALARMS.replace("            \"Statistic\": \"Maximum\",\n", "");
    check_error(
        load_json(&alarms, POLICIES, Some(GROUPS), None),
        "alarms.json",
        line_of(&alarms, "\"AlarmName\": \"high\"", 1) - 1,
        "MetricAlarms[0].Statistic",
        "Statistic is missing",
    );
}

/// An action that is not an ARN (a deploy script whose `--query PolicyARN` printed `None`)
/// would never scale: refused with its place, not skipped like a notification.
#[test]
fn an_alarm_action_that_is_not_an_arn_is_refused() {
    let alarms = ALARMS.replace("\"arn:aws:sns:us-east-1:123456789012:ops\"", "\"None\"");
    let error = load_json(&alarms, POLICIES, Some(GROUPS), None)
        .unwrap_err()
        .to_string();
    assert!(error.contains("alarms.json"), "{error}");
    assert!(error.contains("AlarmActions[0]"), "{error}");
    assert!(error.contains("not an ARN: \"None\""), "{error}");
}
