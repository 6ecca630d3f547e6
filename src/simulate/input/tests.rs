//! Each refusal and warning through one helper: the message must name the file, the key and
//! the line (found here by searching the input for a marker, not from the code under test).

use super::*;
use crate::scaling::scenario::*;

/// A small valid EC2 scenario; tests replace one line of it.
const BASE: &str = r#"[group]
kind = "ec2-asg"
name = "web"
min_size = 1
max_size = 10
desired_capacity = 2

[[alarm]]
alarm_name = "high"
namespace = "MyApp"
statistic = "Average"
period = 10
evaluation_periods = 3
threshold = 20.0
comparison_operator = "GreaterThanOrEqualToThreshold"
alarm_actions = ["out"]

[[alarm]]
alarm_name = "low"
namespace = "MyApp"
statistic = "Average"
period = 60
evaluation_periods = 2
threshold = 5.0
comparison_operator = "LessThanThreshold"
treat_missing_data = "notBreaching"
alarm_actions = ["in"]

[[policy]]
policy_name = "out"
policy_type = "StepScaling"
adjustment_type = "ChangeInCapacity"
[[policy.step_adjustments]]
metric_interval_lower_bound = 10.0
scaling_adjustment = 2
[[policy.step_adjustments]]
metric_interval_lower_bound = 0.0
metric_interval_upper_bound = 10.0
scaling_adjustment = 1

[[policy]]
policy_name = "in"
policy_type = "StepScaling"
adjustment_type = "ChangeInCapacity"
[[policy.step_adjustments]]
metric_interval_upper_bound = 0.0
scaling_adjustment = -1
"#;

fn load_toml(text: &str) -> Result<Loaded, InputError> {
    from_toml("p.toml", text, None)
}

/// `BASE` with the `nth` (0-based) occurrence of line `from` replaced by `to`.
fn edit(from: &str, nth: usize, to: &str) -> String {
    let mut seen = 0;
    let lines: Vec<String> = BASE
        .lines()
        .map(|line| {
            if line == from {
                seen += 1;
                if seen == nth + 1 {
                    return to.to_owned();
                }
            }
            line.to_owned()
        })
        .collect();
    assert!(seen > nth, "{from:?} occurs {seen} times in BASE");
    lines.join("\n") + "\n"
}

/// 1-based line of the first line of `text` that contains `marker` at or after line `after`.
fn line_of(text: &str, marker: &str, after: usize) -> usize {
    text.lines()
        .enumerate()
        .skip(after.saturating_sub(1))
        .find(|(_, l)| l.contains(marker))
        .map(|(i, _)| i + 1)
        .unwrap()
}

/// The load fails; its message starts with `file:line: key:` and contains `needle`.
fn check_error(result: Result<Loaded, InputError>, file: &str, line: usize, key: &str, needle: &str) {
    let message = result.expect_err("should be refused").to_string();
    let prefix = format!("{file}:{line}: {key}:");
    assert!(message.starts_with(&prefix), "{message:?} should start with {prefix:?}");
    assert!(message.contains(needle), "{message:?} should contain {needle:?}");
}

fn check_toml_error(text: &str, marker: &str, key: &str, needle: &str) {
    check_error(load_toml(text), "p.toml", line_of(text, marker, 1), key, needle);
}

/// The load succeeds with exactly one warning, naming file, line and key.
fn check_warning(warnings: &[Warning], file: &str, line: usize, key: &str, needle: &str) {
    assert_eq!(warnings.len(), 1, "{warnings:#?}");
    let message = warnings[0].to_string();
    let prefix = format!("{file}:{line}: {key}:");
    assert!(message.starts_with(&prefix), "{message:?} should start with {prefix:?}");
    assert!(message.contains(needle), "{message:?} should contain {needle:?}");
}

#[test]
fn base_is_valid_with_sorted_steps_and_aws_defaults() {
    let loaded = load_toml(BASE).unwrap();
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    let s = &loaded.scenario;
    assert_eq!(
        (s.group.min_capacity, s.group.max_capacity, s.group.desired_capacity),
        (1, 10, 2)
    );
    // DefaultCooldown defaults to 300 (API_CreateAutoScalingGroup).
    assert_eq!(s.group.default_cooldown, 300);
    let high = &s.alarms[0];
    assert_eq!(high.metric_name, "PendingRequests");
    // DatapointsToAlarm left out: M = N (AlarmThatSendsEmail page).
    assert_eq!(high.datapoints_to_alarm, 3);
    assert_eq!(high.treat_missing_data, TreatMissingData::Missing);
    assert_eq!(high.actions, vec![0]);
    assert_eq!(s.alarms[1].actions, vec![1]);
    let PolicyKind::Step { steps, aggregation, .. } = &s.policies[0].kind else {
        panic!("not a step policy")
    };
    assert_eq!(*aggregation, MetricAggregation::Average);
    assert_eq!(
        steps,
        &vec![
            StepAdjustment {
                lower_bound: Some(0.0),
                upper_bound: Some(10.0),
                scaling_adjustment: 1
            },
            StepAdjustment {
                lower_bound: Some(10.0),
                upper_bound: None,
                scaling_adjustment: 2
            },
        ]
    );
    assert!(s.policies[0]
        .arn
        .starts_with("arn:aws:autoscaling:us-east-1:123456789012:scalingPolicy:"));
    assert!(s.policies[0].arn.ends_with(":autoScalingGroupName/web:policyName/out"));
}

#[test]
fn shipped_example_validates_without_warnings() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/scaling-policy.toml");
    let loaded = load(&Sources {
        policy_toml: Some(&path),
        ..Sources::default()
    })
    .unwrap();
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    let s = &loaded.scenario;
    assert_eq!(s.group.service, ScalingService::ApplicationAutoScaling);
    assert_eq!(s.group.name, "service/demo-cluster/web");
    assert_eq!(
        (s.group.min_capacity, s.group.max_capacity, s.group.desired_capacity),
        (2, 6, 2)
    );
    assert_eq!(s.alarms.len(), 2);
    assert_eq!(
        s.alarms[0].dimensions,
        vec![("InstanceId".to_string(), "i-0123456789abcdef0".to_string())]
    );
    assert_eq!(
        (
            s.alarms[1].comparison,
            s.alarms[1].threshold,
            s.alarms[1].datapoints_to_alarm
        ),
        (Comparison::LessThanThreshold, 5.0, 6)
    );
    let PolicyKind::Step { steps, cooldown, .. } = &s.policies[0].kind else {
        panic!("not a step policy")
    };
    assert_eq!(*cooldown, Some(60));
    assert_eq!(
        steps[1],
        StepAdjustment {
            lower_bound: Some(20.0),
            upper_bound: None,
            scaling_adjustment: 2
        }
    );
    assert!(resolution_warnings(&loaded, 10).is_empty());
}

// API_StepAdjustment (EC2 Auto Scaling and Application Auto Scaling API references): "The
// ranges of your step adjustments can't overlap or have a gap."
#[test]
fn overlapping_steps_are_refused() {
    let text = edit(
        "metric_interval_upper_bound = 10.0",
        0,
        "metric_interval_upper_bound = 12.0",
    );
    // A table's location is its [[header]] line.
    let line = line_of(&text, "metric_interval_lower_bound = 10.0", 1) - 1;
    check_error(
        load_toml(&text),
        "p.toml",
        line,
        "policy[0].step_adjustments[0]",
        "overlaps",
    );
}

#[test]
fn gapped_steps_are_refused() {
    let text = edit(
        "metric_interval_upper_bound = 10.0",
        0,
        "metric_interval_upper_bound = 8.0",
    );
    let line = line_of(&text, "metric_interval_lower_bound = 10.0", 1) - 1;
    check_error(load_toml(&text), "p.toml", line, "policy[0].step_adjustments[0]", "gap");
}

// API_StepAdjustment: "At most, one step adjustment can have a null lower bound" and "The
// upper and lower bound can't be null in the same step adjustment" (also for a lone step).
#[test]
fn open_bounds_are_refused_as_aws_does() {
    let text = edit(
        "metric_interval_upper_bound = 0.0",
        0,
        "metric_interval_upper_bound = 0.0\nscaling_adjustment = -1\n[[policy.step_adjustments]]\nmetric_interval_upper_bound = -5.0",
    );
    check_error(
        load_toml(&text),
        "p.toml",
        line_of(&text, "metric_interval_upper_bound = -5.0", 1) - 1,
        "policy[1].step_adjustments[1]",
        "only one step adjustment may have an open (null) lower bound",
    );
    let text = edit("metric_interval_upper_bound = 0.0", 0, "");
    let marker_line = line_of(&text, "policy_name = \"in\"", 1) + 3;
    check_error(
        load_toml(&text),
        "p.toml",
        marker_line,
        "policy[1].step_adjustments[0]",
        "both its lower and its upper",
    );
}

// API_StepAdjustment: "If one step adjustment has a negative lower bound, then there must be
// a step adjustment with a null lower bound."
#[test]
fn a_negative_lower_bound_needs_an_open_one() {
    let text = edit(
        "metric_interval_upper_bound = 0.0",
        0,
        "metric_interval_lower_bound = -5.0\nmetric_interval_upper_bound = 0.0",
    );
    let line = line_of(&text, "policy_name = \"in\"", 1) + 3;
    check_error(
        load_toml(&text),
        "p.toml",
        line,
        "policy[1].step_adjustments[0]",
        "negative lower bound",
    );
}

// AlarmThatSendsEmail (CloudWatch User Guide): DatapointsToAlarm is M of N, so M <= N.
#[test]
fn datapoints_to_alarm_above_evaluation_periods_is_refused() {
    let text = edit(
        "evaluation_periods = 3",
        0,
        "evaluation_periods = 3\ndatapoints_to_alarm = 4",
    );
    check_toml_error(
        &text,
        "datapoints_to_alarm = 4",
        "alarm[0].datapoints_to_alarm",
        "from 1 to the evaluation periods (3)",
    );
}

// CloudWatch User Guide, "Using Amazon CloudWatch alarms": periods of 10, 20, 30 or a
// multiple of 60 s.
#[test]
fn periods_aws_refuses_are_refused() {
    let text = edit("period = 10", 0, "period = 15");
    check_toml_error(
        &text,
        "period = 15",
        "alarm[0].period",
        "10, 20, 30 or a multiple of 60",
    );
    let text = edit("period = 10", 0, "period = 90");
    check_toml_error(&text, "period = 90", "alarm[0].period", "multiple of 60");
}

/// API_PutMetricAlarm, EvaluationPeriods: "An alarm's total current evaluation period can be
/// no longer than seven days, so this number multiplied by Period must be 604,800 or less.
/// For alarms with a period of less than one hour, the total evaluation period can be no
/// longer than one day, so this number multiplied by Period can't be more than 86,400."
#[test]
fn api_put_metric_alarm_evaluation_periods_one_day_under_an_hour_seven_days_from_an_hour() {
    // 60 s × 1441 = 86,460 s: more than a day for a period under an hour.
    let text = edit("period = 60", 0, "period = 60").replace("evaluation_periods = 2", "evaluation_periods = 1441");
    check_toml_error(
        &text,
        "evaluation_periods = 1441",
        "alarm[1].evaluation_periods",
        "at most 86400 s",
    );
    // 3,600 s × 25 = 90,000 s: over a day, within seven days for an hourly period.
    let text = edit("period = 60", 0, "period = 3600").replace("evaluation_periods = 2", "evaluation_periods = 25");
    assert!(load_toml(&text).is_ok(), "3600 s × 25 is within seven days");
    // 3,600 s × 168 = 604,800 s exactly: accepted; × 169: refused.
    let text = edit("period = 60", 0, "period = 3600").replace("evaluation_periods = 2", "evaluation_periods = 168");
    assert!(load_toml(&text).is_ok(), "3600 s × 168 is seven days");
    let text = edit("period = 60", 0, "period = 3600").replace("evaluation_periods = 2", "evaluation_periods = 169");
    check_toml_error(
        &text,
        "evaluation_periods = 169",
        "alarm[1].evaluation_periods",
        "at most 604800 s",
    );
}

#[test]
fn an_action_naming_no_policy_is_refused() {
    let text = edit(r#"alarm_actions = ["in"]"#, 0, r#"alarm_actions = ["inn"]"#);
    check_toml_error(
        &text,
        r#"["inn"]"#,
        "alarm[1].alarm_actions[0]",
        "names no policy of the policies given (known: out, in)",
    );
}

#[test]
fn capacities_out_of_order_are_refused() {
    let text = edit("min_size = 1", 0, "min_size = 11");
    check_toml_error(
        &text,
        "min_size = 11",
        "group.min_capacity",
        "minimum capacity (11) is above the maximum (10)",
    );
    let text = edit("desired_capacity = 2", 0, "desired_capacity = 0");
    check_toml_error(
        &text,
        "desired_capacity = 0",
        "group.desired_capacity",
        "outside [1, 10]",
    );
}

#[test]
fn unknown_names_are_refused_with_the_known_ones() {
    let text = edit(r#"statistic = "Average""#, 1, r#"statistic = "p99""#);
    check_toml_error(
        &text,
        r#""p99""#,
        "alarm[1].statistic",
        "unknown statistic \"p99\": expected one of Average, Maximum",
    );
    let text = edit(
        r#"comparison_operator = "LessThanThreshold""#,
        0,
        r#"comparison_operator = "LessThanLowerThreshold""#,
    );
    check_toml_error(
        &text,
        "LessThanLowerThreshold",
        "alarm[1].comparison_operator",
        "GreaterThanOrEqualToThreshold",
    );
    let text = edit(
        r#"adjustment_type = "ChangeInCapacity""#,
        1,
        r#"adjustment_type = "Change""#,
    );
    check_toml_error(
        &text,
        r#""Change""#,
        "policy[1].adjustment_type",
        "unknown adjustment type",
    );
    let text = edit(
        r#"treat_missing_data = "notBreaching""#,
        0,
        r#"treat_missing_data = "NotBreaching""#,
    );
    check_toml_error(&text, "NotBreaching", "alarm[1].treat_missing_data", "notBreaching");
}

#[test]
fn a_nan_threshold_is_refused() {
    let text = edit("threshold = 20.0", 0, "threshold = nan");
    check_toml_error(&text, "threshold = nan", "alarm[0].threshold", "finite");
}

// API_PutScalingPolicy (EC2 Auto Scaling): MinAdjustmentMagnitude is "valid only if the
// adjustment type is PercentChangeInCapacity".
#[test]
fn min_adjustment_magnitude_needs_percent_change() {
    let text = edit(
        r#"adjustment_type = "ChangeInCapacity""#,
        0,
        "adjustment_type = \"ChangeInCapacity\"\nmin_adjustment_magnitude = 2",
    );
    check_toml_error(
        &text,
        "min_adjustment_magnitude",
        "policy[0].min_adjustment_magnitude",
        "PercentChangeInCapacity",
    );
    let text = edit(
        r#"adjustment_type = "ChangeInCapacity""#,
        0,
        "adjustment_type = \"PercentChangeInCapacity\"\nmin_adjustment_magnitude = 2",
    );
    assert!(load_toml(&text).is_ok());
}

#[test]
fn unknown_keys_and_kinds_are_refused() {
    let text = edit("threshold = 20.0", 0, "threshhold = 20.0");
    let message = load_toml(&text).unwrap_err().to_string();
    assert!(
        message.starts_with(&format!("p.toml:{}: ", line_of(&text, "threshhold", 1))),
        "{message}"
    );
    assert!(message.contains("threshhold"), "{message}");
    let text = edit(r#"kind = "ec2-asg""#, 0, r#"kind = "lambda""#);
    check_toml_error(&text, "lambda", "group.kind", "\"ec2-asg\" or \"ecs-service\"");
    let text = edit(r#"kind = "ec2-asg""#, 0, r#"kind = "ecs-service""#);
    check_toml_error(&text, r#"name = "web""#, "group.name", "service/CLUSTER/SERVICE");
}

#[test]
fn simple_scaling_exists_only_on_ec2() {
    let text = BASE
        .replace(r#"kind = "ec2-asg""#, r#"kind = "ecs-service""#)
        .replace(r#"name = "web""#, r#"name = "service/c/web""#)
        .replace(
            "policy_name = \"in\"\npolicy_type = \"StepScaling\"",
            "policy_name = \"in\"\npolicy_type = \"SimpleScaling\"",
        );
    check_toml_error(
        &text,
        "SimpleScaling",
        "policy[1].policy_type",
        "only in EC2 Auto Scaling",
    );
}

// alarms-and-missing-data (CloudWatch User Guide): breaching turns missing data into ALARM; on
// a scale-in alarm that removes capacity exactly when the exporter cannot see nginx.
#[test]
fn breaching_or_ignore_on_a_scale_in_alarm_warns() {
    for value in ["breaching", "ignore"] {
        let text = edit(
            r#"treat_missing_data = "notBreaching""#,
            0,
            &format!("treat_missing_data = {value:?}"),
        );
        let loaded = load_toml(&text).unwrap();
        check_warning(
            &loaded.warnings,
            "p.toml",
            line_of(&text, "treat_missing_data", 1),
            "alarm[1].treat_missing_data",
            value,
        );
    }
}

#[test]
fn overlapping_thresholds_warn() {
    let text = edit("threshold = 5.0", 0, "threshold = 25.0");
    let loaded = load_toml(&text).unwrap();
    check_warning(
        &loaded.warnings,
        "p.toml",
        line_of(&text, "threshold = 25.0", 1),
        "alarm[1].threshold",
        "flap",
    );
    // Equal thresholds: >= 20 and < 20 never both breach, but nothing separates them.
    let text = edit("threshold = 5.0", 0, "threshold = 20.0");
    let loaded = load_toml(&text).unwrap();
    check_warning(
        &loaded.warnings,
        "p.toml",
        line_of(&text, "threshold = 20.0", 20),
        "alarm[1].threshold",
        "flap",
    );
}

#[test]
fn target_tracking_on_ecs_warns() {
    let text = BASE
        .replace(r#"kind = "ec2-asg""#, r#"kind = "ecs-service""#)
        .replace(r#"name = "web""#, r#"name = "service/c/web""#)
        + "\n[[policy]]\npolicy_name = \"track\"\npolicy_type = \"TargetTrackingScaling\"\n[policy.target_tracking_configuration]\ntarget_value = 10.0\n";
    let loaded = load_toml(&text).unwrap();
    check_warning(
        &loaded.warnings,
        "p.toml",
        line_of(&text, "TargetTrackingScaling", 1),
        "policy[2].policy_type",
        "step scaling on the 10 s alarm",
    );
    let PolicyKind::TargetTracking {
        metric_period,
        statistic,
        ..
    } = loaded.scenario.policies[2].kind
    else {
        panic!()
    };
    assert_eq!((metric_period, statistic), (60, Statistic::Average));
}

#[test]
fn steps_below_a_scale_out_threshold_warn() {
    // AWS accepts negative bounds on a GreaterThan alarm; that step can never be taken.
    let text = edit(r#"alarm_actions = ["out"]"#, 0, r#"alarm_actions = ["out", "in"]"#);
    let loaded = load_toml(&text).unwrap();
    check_warning(
        &loaded.warnings,
        "p.toml",
        line_of(&text, "[[alarm]]", 1),
        "alarm[0]",
        "never taken",
    );
}

#[test]
fn resolution_warnings_need_the_series_period() {
    let loaded = load_toml(BASE).unwrap();
    assert!(resolution_warnings(&loaded, 10).is_empty());
    let warnings = resolution_warnings(&loaded, 60);
    check_warning(
        &warnings,
        "p.toml",
        line_of(BASE, "period = 10", 1),
        "alarm[0].period",
        "lapses into INSUFFICIENT_DATA",
    );
    let warnings = resolution_warnings(&loaded, 20);
    check_warning(
        &warnings,
        "p.toml",
        line_of(BASE, "period = 10", 1),
        "alarm[0].period",
        "not a multiple",
    );
}

// --- the AWS CLI's JSON ---

const ALARMS: &str = r#"{
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

const POLICIES: &str = r#"{
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

const GROUPS: &str = r#"{"AutoScalingGroups": [{"AutoScalingGroupName": "other", "MinSize": 0, "MaxSize": 1},
 {"AutoScalingGroupName": "web", "MinSize": 1, "MaxSize": 4, "DesiredCapacity": 2, "DefaultCooldown": 120}]}"#;

fn load_json(alarms: &str, policies: &str, group: Option<&str>, capacity: Option<u32>) -> Result<Loaded, InputError> {
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

fn round_trip(toml_text: &str, capacity: Option<u32>) {
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

// --- target tracking on metric math: backlog per task ---

fn ecs_per_task(per_task: &str) -> String {
    BASE.replace(r#"kind = "ec2-asg""#, r#"kind = "ecs-service""#)
        .replace(r#"name = "web""#, r#"name = "service/c/web""#)
        + "\n[[policy]]\npolicy_name = \"per-task\"\npolicy_type = \"TargetTrackingScaling\"\n\
           [policy.target_tracking_configuration]\ntarget_value = 10.0\n\
           [policy.target_tracking_configuration.backlog_per_task]\n"
        + per_task
}

const PER_TASK: &str =
    "namespace = \"MyApp\"\ndimensions = [{ name = \"Service\", value = \"nginx\" }]\nsample_interval = 1\n";

#[test]
fn backlog_per_task_takes_the_service_from_the_resource_id() {
    let loaded = load_toml(&ecs_per_task(PER_TASK)).unwrap();
    let PolicyKind::TargetTracking {
        metric: crate::scaling::scenario::TrackedMetric::BacklogPerTask(per_task),
        ..
    } = &loaded.scenario.policies[2].kind
    else {
        panic!("{:?}", loaded.scenario.policies[2].kind)
    };
    assert_eq!(
        (
            per_task.cluster.as_str(),
            per_task.service.as_str(),
            per_task.metric_name.as_str()
        ),
        ("c", "web", "PendingRequests")
    );
    assert_eq!(per_task.dimensions, [("Service".to_owned(), "nginx".to_owned())]);
    assert_eq!(per_task.sample_interval_s, 1.0);
}

#[test]
fn backlog_per_task_is_refused_on_ec2_with_a_statistic_or_a_bad_interval() {
    let on_ec2 = ecs_per_task(PER_TASK)
        .replace(r#"kind = "ecs-service""#, r#"kind = "ec2-asg""#)
        .replace(r#"name = "service/c/web""#, r#"name = "web""#);
    check_toml_error(
        &on_ec2,
        "[policy.target_tracking_configuration.backlog_per_task]",
        "policy[2].target_tracking_configuration.backlog_per_task",
        "ecs-service\" only",
    );
    let with_statistic =
        ecs_per_task(PER_TASK).replace("target_value = 10.0\n", "target_value = 10.0\nstatistic = \"Sum\"\n");
    check_toml_error(
        &with_statistic,
        "statistic = \"Sum\"",
        "policy[2].target_tracking_configuration.statistic",
        "leave it out",
    );
    let interval = ecs_per_task(&PER_TASK.replace("sample_interval = 1", "sample_interval = 0"));
    check_toml_error(
        &interval,
        "sample_interval = 0",
        "policy[2].target_tracking_configuration.backlog_per_task.sample_interval",
        "from 0.1 to 60",
    );
}

#[test]
fn round_trip_backlog_per_task() {
    round_trip(
        &ecs_per_task(&PER_TASK.replace("sample_interval = 1", "sample_interval = 0.5")),
        Some(2),
    );
}

#[test]
fn other_metric_math_in_a_target_tracking_policy_is_refused_where_it_is() {
    let scenario = load_toml(&ecs_per_task(PER_TASK)).unwrap().scenario;
    let dir = tempfile::tempdir().unwrap();
    let paths = write_aws(&scenario, dir.path()).unwrap();
    let policies = std::fs::read_to_string(&paths[1]).unwrap();
    let edited = policies.replace("m1 / PERIOD(m1) / m2", "m1 / m2");
    assert_ne!(edited, policies);
    std::fs::write(&paths[1], edited).unwrap();
    let result = load(&Sources {
        alarms: Some(&paths[0]),
        policies: Some(&paths[1]),
        group: Some(&paths[2]),
        policy_toml: None,
        capacity: Some(2),
    });
    let message = result.expect_err("refused").to_string();
    assert!(
        message.contains(
            "ScalingPolicies[2].TargetTrackingScalingPolicyConfiguration.CustomizedMetricSpecification.Metrics: \
             metric math with another expression"
        ),
        "{message}"
    );
}

/// The policy TOML reads as the exporter's config does: the key's path (not "(syntax)"), the
/// line of the key, the near key for a typo and the expected form in words.
#[test]
fn toml_typos_and_wrong_types_name_the_key_path_and_the_fix() {
    let typo = edit("threshold = 5.0", 0, "treshold = 5.0");
    check_toml_error(
        &typo,
        "treshold",
        "alarm[1].treshold",
        "unknown key; did you mean `threshold`?",
    );
    let typo = edit("scaling_adjustment = 2", 0, "scaling_adjustmnet = 2");
    check_toml_error(
        &typo,
        "scaling_adjustmnet",
        "policy[0].step_adjustments[0].scaling_adjustmnet",
        "unknown key; did you mean `scaling_adjustment`?",
    );
    let seconds = edit("period = 60", 0, "period = \"60s\"");
    check_toml_error(
        &seconds,
        "\"60s\"",
        "alarm[1].period",
        "expected a whole number, got string \"60s\"",
    );
    let threshold = edit("threshold = 20.0", 0, "threshold = \"high\"");
    check_toml_error(
        &threshold,
        "threshold = \"high\"",
        "alarm[0].threshold",
        "expected a number, got string \"high\"",
    );
    let not_a_table = edit("alarm_actions = [\"out\"]", 0, "alarm_actions = \"out\"");
    check_toml_error(
        &not_a_table,
        "alarm_actions = \"out\"",
        "alarm[0].alarm_actions",
        "expected a list [..], got string \"out\"",
    );
}

/// The switches that turn scaling off and the evaluation window, set in the TOML, go through
/// `--print-aws` and come back equal; each switch that is off gets a warning naming it.
#[test]
fn round_trip_switches_and_the_evaluation_window_ec2() {
    let text = BASE
        .replace(
            "desired_capacity = 2",
            "desired_capacity = 2\nsuspended_processes = [\"Launch\", \"AlarmNotification\"]",
        )
        .replace(
            "alarm_actions = [\"out\"]",
            "alarm_actions = [\"out\"]\nactions_enabled = false",
        )
        .replace(
            "alarm_actions = [\"in\"]",
            "alarm_actions = [\"in\"]\nevaluation_window = { wall_clock_window = { timezone = \"Europe/Paris\" } }",
        )
        .replace("policy_name = \"in\"", "policy_name = \"in\"\nenabled = false");
    round_trip(&text, None);
    let loaded = load_toml(&text).unwrap();
    let s = &loaded.scenario;
    assert!(s.group.suspended.is_suspended(ScalingProcess::Launch));
    assert!(s.group.suspended.is_suspended(ScalingProcess::AlarmNotification));
    assert!(!s.group.suspended.may_scale_out() && !s.group.suspended.may_scale_in());
    assert!(!s.alarms[0].actions_enabled);
    assert_eq!(
        s.alarms[1].evaluation_window,
        EvaluationWindow::WallClock {
            timezone: Some("Europe/Paris".into())
        }
    );
    assert!(!s.policies[1].enabled);
    let warnings: Vec<String> = loaded.warnings.iter().map(ToString::to_string).collect();
    for (key, marker, needle) in [
        (
            "group.suspended_processes[0]",
            "suspended_processes",
            "Launch is suspended",
        ),
        (
            "group.suspended_processes[1]",
            "suspended_processes",
            "AlarmNotification is suspended",
        ),
        ("alarm[0].actions_enabled", "actions_enabled", "ActionsEnabled is false"),
        ("policy[1].enabled", "policy_name = \"in\"", "Enabled is false"),
    ] {
        // `enabled = false` is the line after the policy's name.
        let line = line_of(&text, marker, 1) + usize::from(key.starts_with("policy"));
        let prefix = format!("p.toml:{line}: {key}:");
        assert!(
            warnings.iter().any(|w| w.starts_with(&prefix) && w.contains(needle)),
            "{prefix} {needle}: {warnings:#?}"
        );
    }
}

/// SuspendedState and an ECS high-resolution predefined metric (target-tracking-faster-auto-
/// scaling: ECSServiceAverageCPUUtilizationHighResolution, 20 s) round-trip too.
#[test]
fn round_trip_suspended_state_and_a_predefined_metric_ecs() {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/policy-ecs-cpu-safety-net.toml"),
    )
    .unwrap();
    let text = text.replace(
        "desired_capacity = 2",
        "desired_capacity = 2\nsuspended_state = { dynamic_scaling_in_suspended = true }",
    );
    round_trip(&text, Some(2));
    let loaded = load_toml(&text).unwrap();
    let s = &loaded.scenario;
    assert!(s.group.suspended.dynamic_scaling_in && !s.group.suspended.dynamic_scaling_out);
    assert!(!s.group.suspended.may_scale_in() && s.group.suspended.may_scale_out());
    let tracking = s.policies.iter().find(|p| p.name == "web-cpu").unwrap();
    let PolicyKind::TargetTracking {
        metric, metric_period, ..
    } = &tracking.kind
    else {
        panic!("{tracking:?}")
    };
    assert_eq!(
        *metric,
        TrackedMetric::Predefined(PredefinedMetric::EcsServiceAverageCpuUtilizationHighResolution)
    );
    assert_eq!(*metric_period, 20);
    assert!(loaded
        .warnings
        .iter()
        .any(|w| w.location.key == "group.suspended_state.dynamic_scaling_in_suspended"));
}

/// Bad input in the describe-* JSON: an EvaluationWindow member AWS does not have, a process
/// name that is not AWS's: errors naming file, key and line.
#[test]
fn unknown_evaluation_window_members_and_process_names_are_refused_where_they_are() {
    let alarms = ALARMS.replace(
        r#""Period": 10,"#,
        "\"Period\": 10,\n            \"EvaluationWindow\": {\"RollingWindow\": {}},",
    );
    check_error(
        load_json(&alarms, POLICIES, Some(GROUPS), None),
        "alarms.json",
        line_of(&alarms, "RollingWindow", 1),
        "MetricAlarms[0].EvaluationWindow",
        "unknown variant `RollingWindow`, expected `SlidingWindow` or `WallClockWindow`",
    );
    let groups = GROUPS.replace(
        r#""DefaultCooldown": 120}"#,
        "\"DefaultCooldown\": 120,\n \"SuspendedProcesses\": [{\"ProcessName\": \"Scale\"}]}",
    );
    check_error(
        load_json(ALARMS, POLICIES, Some(&groups), None),
        "group.json",
        line_of(&groups, "\"Scale\"", 1),
        "AutoScalingGroups[1].SuspendedProcesses[0].ProcessName",
        "unknown process \"Scale\": expected one of Launch, Terminate, AddToLoadBalancer, AlarmNotification",
    );
    let text = BASE.replace(
        "desired_capacity = 2",
        "desired_capacity = 2\nsuspended_processes = [\"launch\"]",
    );
    check_toml_error(
        &text,
        "suspended_processes",
        "group.suspended_processes[0]",
        "unknown process \"launch\"",
    );
    let text = BASE.replace(
        "alarm_actions = [\"in\"]",
        "alarm_actions = [\"in\"]\nevaluation_window = { rolling_window = {} }",
    );
    check_error(
        load_toml(&text),
        "p.toml",
        line_of(&text, "rolling_window", 1),
        "alarm[1].evaluation_window",
        "unknown variant `rolling_window`, expected `sliding_window` or `wall_clock_window`",
    );
}

/// WallClockWindow (API_WallClockWindow): "the alarm's period must be 1 minute (60 seconds),
/// 5 minutes (300 seconds), 1 hour (3,600 seconds), 1 day (86,400 seconds), or 1 week
/// (604,800 seconds)".
#[test]
fn api_wall_clock_window_periods_are_a_minute_five_minutes_an_hour_a_day_or_a_week() {
    let text = BASE.replace(
        "alarm_actions = [\"out\"]",
        "alarm_actions = [\"out\"]\nevaluation_window = { wall_clock_window = {} }",
    );
    check_toml_error(&text, "evaluation_window", "alarm[0].evaluation_window", "not 10 s");
    let text = BASE.replace(
        "alarm_actions = [\"in\"]",
        "alarm_actions = [\"in\"]\nevaluation_window = { wall_clock_window = {} }",
    );
    assert_eq!(
        load_toml(&text).unwrap().scenario.alarms[1].evaluation_window,
        EvaluationWindow::WallClock { timezone: None }
    );
}

/// Fields of the describe-* JSON that no shape holds: a warning naming each, never a silent
/// drop; the state fields AWS prints (StateValue) are not configuration and pass quietly.
#[test]
fn fields_aws_adds_are_named_in_a_warning() {
    let alarms = ALARMS.replace(
        r#""StateValue": "OK""#,
        "\"StateValue\": \"OK\",\n            \"AnomalyBandWidth\": 2",
    );
    let loaded = load_json(&alarms, POLICIES, Some(GROUPS), None).unwrap();
    check_warning(
        &loaded.warnings,
        "alarms.json",
        line_of(&alarms, "AnomalyBandWidth", 1),
        "MetricAlarms[0].AnomalyBandWidth",
        "not modelled",
    );
}

// --- [delays]: the time the real loop takes ---

/// No `[delays]`: the measured defaults; the keys given replace them, as durations or whole
/// seconds; `ecs_spare_tasks` limits the room.
#[test]
fn delays_default_to_the_measured_figures_and_the_toml_replaces_them() {
    assert_eq!(load_toml(BASE).unwrap().scenario.delays, Delays::MEASURED);
    let text =
        format!("{BASE}\n[delays]\ningestion = \"2s\"\ndiscovery = 0\nderegistration = \"1m\"\necs_spare_tasks = 3\n");
    let delays = load_toml(&text).unwrap().scenario.delays;
    assert_eq!(
        delays,
        Delays {
            ingestion_s: 2,
            discovery_s: 0,
            deregistration_s: 60,
            ecs_spare_tasks: Some(3),
            ..Delays::MEASURED
        }
    );
}

/// A negative or malformed delay, or an unknown key: an error naming the file, the key and
/// its line.
#[test]
fn a_bad_delay_names_the_file_key_and_line() {
    let line = BASE.lines().count() + 3;
    for (entry, key, needle) in [
        ("ingestion = \"-5s\"", "delays.ingestion", "\"-5s\" is not a delay"),
        (
            "ecs_task_startup = \"soon\"",
            "delays.ecs_task_startup",
            "a duration such as \"30s\"",
        ),
        ("discovery = -1", "delays.discovery", "-1 is not a delay"),
        ("ingestion = \"1.5s\"", "delays.ingestion", "whole seconds"),
        (
            "ecs_spare_tasks = -2",
            "delays.ecs_spare_tasks",
            "-2 is not a number of tasks",
        ),
    ] {
        let text = format!("{BASE}\n[delays]\n{entry}\n");
        check_error(load_toml(&text), "p.toml", line, key, needle);
    }
    let text = format!("{BASE}\n[delays]\ningestion_delay = \"5s\"\n");
    let error = load_toml(&text).unwrap_err().to_string();
    assert!(error.contains("p.toml") && error.contains("ingestion_delay"), "{error}");
}

/// The shipped example's commented `[delays]`, uncommented, gives the defaults it claims
/// (with room for 4 tasks instead of all).
#[test]
fn the_shipped_examples_delays_are_the_defaults() {
    let text = include_str!("../../../config/scaling-policy.toml");
    let start = text.find("# [delays]").expect("the example shows [delays]");
    let uncommented: String = text[start..]
        .lines()
        .map(|line| line.strip_prefix("# ").unwrap_or(line))
        .map(|line| format!("{line}\n"))
        .collect();
    let whole = format!("{}{uncommented}", &text[..start]);
    let delays = from_toml("config/scaling-policy.toml", &whole, None)
        .unwrap()
        .scenario
        .delays;
    assert_eq!(
        delays,
        Delays {
            ecs_spare_tasks: Some(4),
            ..Delays::MEASURED
        }
    );
}

/// `tracking_alarms` sets the shape of the two alarms the model gives a target tracking
/// policy (AWS creates them itself: no API field); keys left out keep 3, 15 and 0.9.
#[test]
fn tracking_alarms_are_read_and_checked() {
    let track = |alarms: &str| {
        BASE.to_string()
            + "\n[[policy]]\npolicy_name = \"track\"\npolicy_type = \"TargetTrackingScaling\"\n\
               [policy.target_tracking_configuration]\ntarget_value = 10.0\nperiod = 10\n"
            + alarms
    };
    let tracking_alarms = |text: &str| match load_toml(text).unwrap().scenario.policies[2].kind {
        PolicyKind::TargetTracking { tracking_alarms, .. } => tracking_alarms,
        ref other => panic!("{other:?}"),
    };
    assert_eq!(
        tracking_alarms(&track("")),
        TrackingAlarms {
            high_datapoints: 3,
            low_datapoints: 15,
            low_fraction: 0.9
        }
    );
    assert_eq!(
        tracking_alarms(&track(
            "tracking_alarms = { high_datapoints = 2, low_datapoints = 6, low_fraction = 0.5 }\n"
        )),
        TrackingAlarms {
            high_datapoints: 2,
            low_datapoints: 6,
            low_fraction: 0.5
        }
    );
    assert_eq!(
        tracking_alarms(&track("tracking_alarms = { low_datapoints = 8640 }\n")).low_datapoints,
        8640
    );
    let key = "policy[2].target_tracking_configuration.tracking_alarms";
    let text = track("tracking_alarms = { high_datapoints = 0 }\n");
    check_toml_error(
        &text,
        "high_datapoints",
        &format!("{key}.high_datapoints"),
        "from 1 to 8640",
    );
    // 10 s periods: 8,641 of them are more than PutMetricAlarm's day.
    let text = track("tracking_alarms = { low_datapoints = 8641 }\n");
    check_toml_error(&text, "low_datapoints", &format!("{key}.low_datapoints"), "86,400 s");
    for fraction in ["0.0", "1.0", "-0.5", "1.5"] {
        let text = track(&format!("tracking_alarms = {{ low_fraction = {fraction} }}\n"));
        check_toml_error(
            &text,
            "low_fraction",
            &format!("{key}.low_fraction"),
            "above 0 and below 1",
        );
    }
    let text = track("tracking_alarms = { low_points = 6 }\n");
    check_toml_error(&text, "low_points", &format!("{key}.low_points"), "low_datapoints");
}
