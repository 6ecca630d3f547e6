use std::path::Path;

use super::*;
use crate::scaling::scenario::MetricAggregation;

const EC2_OUT: &str = "arn:aws:autoscaling:us-west-2:123456789012:scalingPolicy:1645edea-81dd-449b-bd86-2a55ff2ddcc1:autoScalingGroupName/web-asg:policyName/web-scale-out";
const EC2_IN: &str = "arn:aws:autoscaling:us-west-2:123456789012:scalingPolicy:1a4e166d-0ae7-4ba9-81ea-4b51578bfd32:autoScalingGroupName/web-asg:policyName/web-scale-in";
/// The example of PutScalingPolicy in the Application Auto Scaling API reference.
const ECS_OUT: &str = "arn:aws:autoscaling:us-west-2:012345678910:scalingPolicy:6d8972f3-efc8-437c-92d1-6270f29a66e7:resource/ecs/service/default/web-app:policyName/web-app-cpu-gt-75";
const TOPIC: &str = "arn:aws:sns:us-west-2:123456789012:backlog";

/// A config publishing to MyApp: one datum every second unless `cloudwatch` sets `period`.
fn config(cloudwatch: &str) -> Config {
    let timing = if cloudwatch.contains("period") {
        ""
    } else {
        "period = \"1s\"\nsample_interval = \"500ms\"\n"
    };
    crate::config::parse(
        Path::new("test.toml"),
        &format!("[cloudwatch]\nnamespace = \"MyApp\"\n{timing}{cloudwatch}\n"),
    )
    .unwrap()
}

fn instance_series() -> PublishedSeries {
    PublishedSeries {
        namespace: "MyApp".into(),
        metric_name: "PendingRequests".into(),
        dimensions: vec![("InstanceId".into(), "i-0check".into())],
        fleet: false,
    }
}

fn fleet_series() -> PublishedSeries {
    PublishedSeries {
        namespace: "MyApp".into(),
        metric_name: "PendingRequests".into(),
        dimensions: vec![("Service".into(), "nginx".into())],
        fleet: true,
    }
}

fn alarm(name: &str, statistic: Statistic, period: u32, comparison: Comparison, tmd: TreatMissingData) -> Alarm {
    Alarm {
        name: name.into(),
        namespace: "MyApp".into(),
        metric_name: "PendingRequests".into(),
        dimensions: vec![("InstanceId".into(), "i-0check".into())],
        statistic,
        period,
        evaluation_periods: 3,
        datapoints_to_alarm: 2,
        threshold: 20.0,
        comparison,
        treat_missing_data: tmd,
        actions: Vec::new(),
        actions_enabled: true,
        evaluation_window: Default::default(),
    }
}

fn checked(alarm: Alarm, arns: &[&str]) -> ReadAlarm {
    ReadAlarm::Checked {
        alarm,
        action_arns: arns.iter().map(|a| a.to_string()).collect(),
        actions_enabled: true,
    }
}

fn step_policy(name: &str, arn: &str, steps: &[(Option<f64>, Option<f64>, i64)]) -> PolicyRead {
    PolicyRead::Found(Policy {
        name: name.into(),
        arn: arn.into(),
        enabled: true,
        kind: PolicyKind::Step {
            adjustment_type: AdjustmentType::ChangeInCapacity,
            min_adjustment_magnitude: None,
            aggregation: MetricAggregation::Average,
            steps: steps
                .iter()
                .map(|&(lower_bound, upper_bound, scaling_adjustment)| StepAdjustment {
                    lower_bound,
                    upper_bound,
                    scaling_adjustment,
                })
                .collect(),
            estimated_instance_warmup: Some(120),
            cooldown: None,
        },
    })
}

fn scale_out_policy() -> PolicyRead {
    step_policy(
        "web-scale-out",
        EC2_OUT,
        &[(Some(0.0), Some(20.0), 1), (Some(20.0), None, 3)],
    )
}

fn scale_in_policy() -> PolicyRead {
    step_policy("web-scale-in", EC2_IN, &[(None, Some(0.0), -1)])
}

fn policies(entries: Vec<(&str, PolicyRead)>) -> BTreeMap<String, PolicyRead> {
    entries.into_iter().map(|(arn, p)| (arn.to_owned(), p)).collect()
}

/// The report of one series' alarms, as text.
fn text(
    config: &Config,
    series: PublishedSeries,
    alarms: Vec<ReadAlarm>,
    policies: &BTreeMap<String, PolicyRead>,
) -> String {
    report(
        &config.cloudwatch,
        &[SeriesAlarms {
            series,
            alarms: Ok(alarms),
        }],
        policies,
    )
    .join("\n")
}

/// `expected` is in the report, `unexpected` is not.
fn check(report: &str, expected: &[&str], unexpected: &[&str]) {
    for e in expected {
        assert!(report.contains(e), "missing {e:?} in:\n{report}");
    }
    for u in unexpected {
        assert!(!report.contains(u), "unexpected {u:?} in:\n{report}");
    }
}

#[test]
fn policy_arns_name_their_service_group_or_scalable_target() {
    assert_eq!(
        policy_ref(EC2_OUT),
        Some(PolicyRef::Ec2 {
            group: "web-asg".into(),
            name: "web-scale-out".into()
        })
    );
    assert_eq!(
        policy_ref(ECS_OUT),
        Some(PolicyRef::Application {
            namespace: "ecs".into(),
            resource_id: "service/default/web-app".into(),
            name: "web-app-cpu-gt-75".into()
        })
    );
    // Other partitions have the same shape.
    assert!(matches!(
        policy_ref(&EC2_OUT.replace("arn:aws:", "arn:aws-cn:")),
        Some(PolicyRef::Ec2 { .. })
    ));
    for not_a_policy in [
        TOPIC,
        "arn:aws:automate:us-west-2:ec2:stop",
        "arn:aws:autoscaling:us-west-2:123456789012:autoScalingGroup:uuid:autoScalingGroupName/web-asg",
        "arn:aws:autoscaling:us-west-2:123456789012:scalingPolicy:uuid:autoScalingGroupName/web-asg:policyName/",
        "",
    ] {
        assert_eq!(policy_ref(not_a_policy), None, "{not_a_policy}");
    }
}

#[test]
fn published_series_are_per_instance_and_fleet_for_each_metric() {
    let names = |config: &Config| -> Vec<String> {
        published_series(config, "i-0check")
            .iter()
            .map(|s| s.to_string())
            .collect()
    };
    assert_eq!(names(&config("")), ["MyApp/PendingRequests {InstanceId=i-0check}"]);
    assert_eq!(
        names(&config("[cloudwatch.fleet_dimensions]\nService = \"nginx\"")),
        [
            "MyApp/PendingRequests {InstanceId=i-0check}",
            "MyApp/PendingRequests {Service=nginx}"
        ]
    );
    let with_log = crate::config::parse(
        Path::new("test.toml"),
        "[nginx]\naccess_log = \"/l\"\nlog_format = '$msec $status $request_time'\n\
         [cloudwatch]\nnamespace = \"MyApp\"\n[access_log]\npublish = [\"RequestTimeP99\"]\n",
    )
    .unwrap();
    assert_eq!(
        names(&with_log),
        [
            "MyApp/PendingRequests {InstanceId=i-0check}",
            "MyApp/RequestTimeP99 {InstanceId=i-0check}"
        ]
    );
}

#[test]
fn a_series_without_alarms_says_so_plainly() {
    let report = text(&config(""), instance_series(), Vec::new(), &BTreeMap::new());
    check(
        &report,
        &["alarms        MyApp/PendingRequests {InstanceId=i-0check}: no alarm watches this series"],
        &["warning"],
    );
}

#[test]
fn an_alarm_lists_statistic_period_m_of_n_missing_data_and_the_policy_steps() {
    let report = text(
        &config(""),
        instance_series(),
        vec![checked(
            alarm(
                "web-pending-high",
                Statistic::Maximum,
                10,
                Comparison::GreaterThanOrEqualToThreshold,
                TreatMissingData::Missing,
            ),
            &[EC2_OUT, TOPIC],
        )],
        &policies(vec![(EC2_OUT, scale_out_policy())]),
    );
    check(
        &report,
        &[
            "MyApp/PendingRequests {InstanceId=i-0check}: 1 alarm(s) watch this series",
            "alarm \"web-pending-high\" (scale-out): Maximum over 10 s (ok for StorageResolution 1 and a datum every 1s), \
             2 of 3 periods >= 20, TreatMissingData missing",
            // Bounds are relative to the threshold (20); shown as the metric's values.
            "runs EC2 Auto Scaling policy \"web-scale-out\" (group web-asg): StepScaling ChangeInCapacity, \
             steps +1 at [20, 40), +3 at [40, +inf), aggregation Average, warmup 120 s",
            &format!("notifies {TOPIC}"),
        ],
        &["warning"],
    );
}

#[test]
fn missing_data_that_scales_the_wrong_way_is_flagged() {
    let in_alarm = |tmd| {
        checked(
            alarm("low", Statistic::Average, 60, Comparison::LessThanThreshold, tmd),
            &[EC2_IN],
        )
    };
    let out_alarm = |tmd| {
        checked(
            alarm("high", Statistic::Maximum, 10, Comparison::GreaterThanThreshold, tmd),
            &[EC2_OUT],
        )
    };
    let known = policies(vec![(EC2_OUT, scale_out_policy()), (EC2_IN, scale_in_policy())]);
    let run = |alarm| text(&config(""), instance_series(), vec![alarm], &known);
    for (alarm, warning) in [
        (
            in_alarm(TreatMissingData::Breaching),
            Some("warning: breaching on a scale-in alarm"),
        ),
        (
            in_alarm(TreatMissingData::Ignore),
            Some("warning: ignore on a scale-in alarm"),
        ),
        (in_alarm(TreatMissingData::NotBreaching), None),
        (in_alarm(TreatMissingData::Missing), None),
        (
            out_alarm(TreatMissingData::NotBreaching),
            Some("warning: notBreaching on a scale-out alarm"),
        ),
        (out_alarm(TreatMissingData::Missing), None),
        (out_alarm(TreatMissingData::Breaching), None),
    ] {
        let report = run(alarm);
        match warning {
            Some(warning) => check(&report, &[warning], &[]),
            None => check(&report, &[], &["warning"]),
        }
    }
    // Scale-in steps below the threshold: (lower, upper] in the metric's values.
    check(
        &run(in_alarm(TreatMissingData::Missing)),
        &["alarm \"low\" (scale-in)", "steps -1 at (-inf, 20]"],
        &[],
    );
    // An alarm whose only action notifies runs no policy: no direction to get wrong.
    let report = text(
        &config(""),
        instance_series(),
        vec![checked(
            alarm(
                "notify",
                Statistic::Average,
                60,
                Comparison::LessThanThreshold,
                TreatMissingData::Breaching,
            ),
            &[TOPIC],
        )],
        &known,
    );
    check(&report, &["alarm \"notify\" (no scaling action)"], &["warning"]);
}

#[test]
fn an_alarm_period_the_published_series_cannot_fill_is_flagged() {
    let on = |extra: &str, period| {
        text(
            &config(extra),
            instance_series(),
            vec![checked(
                alarm(
                    "high",
                    Statistic::Maximum,
                    period,
                    Comparison::GreaterThanThreshold,
                    TreatMissingData::Missing,
                ),
                &[],
            )],
            &BTreeMap::new(),
        )
    };
    // Standard resolution: a 10 s alarm gets data only on the minute; 60 s is fine.
    check(
        &on(
            "storage_resolution = 60\nperiod = \"60s\"\nsample_interval = \"1s\"",
            10,
        ),
        &[
            "over 10 s (does not fit the published series: see the warning)",
            "warning: a 10 s alarm period needs the metric at high resolution",
        ],
        &[],
    );
    check(
        &on(
            "storage_resolution = 60\nperiod = \"60s\"\nsample_interval = \"1s\"",
            60,
        ),
        &["over 60 s (ok for StorageResolution 60 and a datum every 1m)"],
        &["warning: a"],
    );
    // High resolution, one datum every 1 s: 60 s alarms are fine too.
    check(&on("", 60), &["over 60 s (ok for StorageResolution 1"], &["warning: a"]);
    // One datum every 20 s under a 30 s alarm: uneven periods.
    check(
        &on("period = \"20s\"\nsample_interval = \"1s\"", 30),
        &["warning: the alarm period (30 s) is not a multiple of the exporter's publish period"],
        &[],
    );
    check(&on("", 10), &["runs nothing: no AlarmActions"], &[]);
}

#[test]
fn sum_on_the_fleet_series_and_disabled_actions_are_flagged() {
    let mut sum = alarm(
        "fleet",
        Statistic::Sum,
        10,
        Comparison::GreaterThanThreshold,
        TreatMissingData::Missing,
    );
    sum.dimensions = vec![("Service".into(), "nginx".into())];
    let report = text(
        &config("[cloudwatch.fleet_dimensions]\nService = \"nginx\""),
        fleet_series(),
        vec![ReadAlarm::Checked {
            alarm: sum,
            action_arns: vec![EC2_OUT.into()],
            actions_enabled: false,
        }],
        &policies(vec![(EC2_OUT, scale_out_policy())]),
    );
    check(
        &report,
        &[
            "MyApp/PendingRequests {Service=nginx}: 1 alarm(s)",
            "warning: Sum on the fleet series is not the fleet's total backlog",
            "warning: ActionsEnabled is false",
        ],
        &[],
    );
}

#[test]
fn ecs_policies_show_their_scalable_target_and_cooldown() {
    let policy = PolicyRead::Found(Policy {
        name: "web-app-cpu-gt-75".into(),
        arn: ECS_OUT.into(),
        enabled: true,
        kind: PolicyKind::Step {
            adjustment_type: AdjustmentType::PercentChangeInCapacity,
            min_adjustment_magnitude: Some(2),
            aggregation: MetricAggregation::Maximum,
            steps: vec![StepAdjustment {
                lower_bound: Some(0.0),
                upper_bound: None,
                scaling_adjustment: 50,
            }],
            estimated_instance_warmup: None,
            cooldown: Some(60),
        },
    });
    let report = text(
        &config(""),
        instance_series(),
        vec![checked(
            alarm(
                "high",
                Statistic::Maximum,
                10,
                Comparison::GreaterThanThreshold,
                TreatMissingData::Missing,
            ),
            &[ECS_OUT],
        )],
        &policies(vec![(ECS_OUT, policy)]),
    );
    check(
        &report,
        &[
            "runs Application Auto Scaling policy \"web-app-cpu-gt-75\" (ecs service/default/web-app): StepScaling \
           PercentChangeInCapacity, steps +50% at [20, +inf), aggregation Maximum, at least 2, cooldown 60 s",
        ],
        &[],
    );
}

#[test]
fn policies_that_could_not_be_read_are_named_with_the_permission() {
    let denied = ReadFailure {
        permission: "autoscaling:DescribePolicies",
        reason: "AccessDenied: not authorized".into(),
    };
    let report = text(
        &config(""),
        instance_series(),
        vec![
            checked(
                alarm(
                    "high",
                    Statistic::Maximum,
                    10,
                    Comparison::GreaterThanThreshold,
                    TreatMissingData::Missing,
                ),
                &[EC2_OUT, EC2_IN],
            ),
            ReadAlarm::Unchecked {
                name: "p99".into(),
                why: "ExtendedStatistic p99".into(),
            },
        ],
        &policies(vec![
            (EC2_OUT, PolicyRead::Failed(denied)),
            (EC2_IN, PolicyRead::NotFound),
        ]),
    );
    check(
        &report,
        &[
            "2 alarm(s) watch this series",
            "runs EC2 Auto Scaling policy \"web-scale-out\" (group web-asg): not read \
             (autoscaling:DescribePolicies: AccessDenied: not authorized)",
            "runs EC2 Auto Scaling policy \"web-scale-in\" (group web-asg): no such policy",
            "alarm \"p99\": not checked (ExtendedStatistic p99)",
        ],
        &[],
    );
}

#[test]
fn a_missing_permission_to_list_alarms_is_one_line() {
    let denied = ReadFailure {
        permission: "cloudwatch:DescribeAlarmsForMetric",
        reason: "AccessDenied: not authorized".into(),
    };
    let lines = report(
        &config("[cloudwatch.fleet_dimensions]\nService = \"nginx\"").cloudwatch,
        &[
            SeriesAlarms {
                series: instance_series(),
                alarms: Err(denied.clone()),
            },
            SeriesAlarms {
                series: fleet_series(),
                alarms: Err(denied),
            },
        ],
        &BTreeMap::new(),
    );
    assert_eq!(
        lines,
        [
            "alarms        cannot list (cloudwatch:DescribeAlarmsForMetric: AccessDenied: not authorized): not checked \
             for MyApp/PendingRequests {InstanceId=i-0check}, MyApp/PendingRequests {Service=nginx}"
        ]
    );
}
