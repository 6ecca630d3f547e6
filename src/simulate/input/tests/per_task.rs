//! Target tracking on metric math (backlog per task) and `[delays]`.

use super::aws_json::{load_json, round_trip, ALARMS, GROUPS, POLICIES};
use super::*;

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
    let text = include_str!("../../../../config/scaling-policy.toml");
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
