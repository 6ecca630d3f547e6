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

mod aws_json;
mod per_task;
