//! The engine against the examples of the AWS guides, each test named after its page, and
//! property tests over random series and policies.

use proptest::prelude::*;

use super::*;
use crate::scaling::scenario::{Group, Policy, SeriesStats, Statistic, StepAdjustment};

mod capacity;

const MINUTE: i64 = 60_000;

fn group(service: ScalingService, min: u32, max: u32, desired: u32) -> Group {
    Group {
        service,
        name: "web".into(),
        min_capacity: min,
        max_capacity: max,
        desired_capacity: desired,
        default_instance_warmup: None,
        default_cooldown: 300,
        suspended: Default::default(),
    }
}

fn alarm(name: &str, period: u32, n: u32, threshold: f64, comparison: Comparison, actions: Vec<usize>) -> Alarm {
    Alarm {
        name: name.into(),
        namespace: "NginxBacklog".into(),
        metric_name: "PendingRequests".into(),
        dimensions: vec![],
        statistic: Statistic::Average,
        period,
        evaluation_periods: n,
        datapoints_to_alarm: n,
        threshold,
        comparison,
        treat_missing_data: TreatMissingData::Missing,
        actions,
        actions_enabled: true,
        evaluation_window: Default::default(),
    }
}

fn step(lower: Option<f64>, upper: Option<f64>, adjustment: i64) -> StepAdjustment {
    StepAdjustment {
        lower_bound: lower,
        upper_bound: upper,
        scaling_adjustment: adjustment,
    }
}

fn step_policy(name: &str, adjustment_type: AdjustmentType, steps: Vec<StepAdjustment>) -> Policy {
    Policy {
        name: name.into(),
        arn: format!("arn:{name}"),
        enabled: true,
        kind: PolicyKind::Step {
            adjustment_type,
            min_adjustment_magnitude: None,
            aggregation: MetricAggregation::Average,
            steps,
            estimated_instance_warmup: None,
            cooldown: None,
        },
    }
}

fn set_warmup_and_cooldown(policy: &mut Policy, warmup: Option<u32>, cooldown_s: Option<u32>) {
    if let PolicyKind::Step {
        estimated_instance_warmup,
        cooldown,
        ..
    } = &mut policy.kind
    {
        *estimated_instance_warmup = warmup;
        *cooldown = cooldown_s;
    }
}

fn point(start_ms: i64, average: f64) -> SeriesPoint {
    SeriesPoint {
        start_ms,
        stats: SeriesStats {
            sample_count: Some(1.0),
            sum: Some(average),
            minimum: Some(average),
            maximum: Some(average),
            average: Some(average),
        },
    }
}

/// Run `values` (one per `period_s`, from time 0) and return every evaluation.
fn run(scenario: &Scenario, period_s: u32, values: &[f64]) -> Vec<Evaluation> {
    let mut engine = Engine::new(scenario, period_s);
    let mut out = Vec::new();
    for (i, value) in values.iter().enumerate() {
        engine.push(&point(i as i64 * i64::from(period_s) * 1000, *value), &mut |e| {
            out.push(e.clone())
        });
    }
    engine.finish(&mut |e| out.push(e.clone()));
    out
}

fn activities(evaluations: &[Evaluation]) -> Vec<(i64, usize, u32, u32)> {
    evaluations
        .iter()
        .flat_map(|e| e.activities.iter())
        .map(|a| (a.time_ms / 1000, a.policy, a.from, a.to))
        .collect()
}

/// The worked example's policies (as-scaling-simple-step, "Step adjustments for step
/// scaling"): upper alarm at 60 with +10 % [0, 10) and +30 % [10, ∞), lower at 40 with
/// −10 % (−10, 0] and −30 % (−∞, −10].
fn worked_example(service: ScalingService, warmup: Option<u32>) -> Scenario {
    let percent = AdjustmentType::PercentChangeInCapacity;
    let mut out = step_policy(
        "out",
        percent,
        vec![step(Some(0.0), Some(10.0), 10), step(Some(10.0), None, 30)],
    );
    let mut scale_in = step_policy(
        "in",
        percent,
        vec![step(Some(-10.0), Some(0.0), -10), step(None, Some(-10.0), -30)],
    );
    set_warmup_and_cooldown(&mut out, warmup, Some(0));
    set_warmup_and_cooldown(&mut scale_in, warmup, Some(0));
    Scenario {
        delays: Default::default(),
        group: group(service, 1, 100, 10),
        alarms: vec![
            alarm("high", 60, 1, 60.0, Comparison::GreaterThanOrEqualToThreshold, vec![0]),
            alarm("low", 60, 1, 40.0, Comparison::LessThanOrEqualToThreshold, vec![1]),
        ],
        policies: vec![out, scale_in],
    }
}

/// as-scaling-simple-step: from 10, metric 60 -> 11, 70 -> 14, 40 -> 13, 30 -> 10, each
/// minute's alarm invoking its policy (instances in service at once: warmup 0).
#[test]
fn as_scaling_simple_step_10_11_14_13_10() {
    let scenario = worked_example(ScalingService::Ec2AutoScaling, Some(0));
    let evaluations = run(&scenario, 60, &[60.0, 70.0, 40.0, 30.0, 50.0]);
    assert_eq!(
        activities(&evaluations),
        vec![(60, 0, 10, 11), (120, 0, 11, 14), (180, 1, 14, 13), (240, 1, 13, 10)]
    );
    // The application guide gives the same example with the same figures.
    let scenario = worked_example(ScalingService::ApplicationAutoScaling, None);
    let evaluations = run(&scenario, 60, &[60.0, 70.0, 40.0, 30.0, 50.0]);
    assert_eq!(
        activities(&evaluations),
        vec![(60, 0, 10, 11), (120, 0, 11, 14), (180, 1, 14, 13), (240, 1, 13, 10)]
    );
}

/// as-scaling-simple-step, "Instance warmup": with 10 in service and 1 warming (desired
/// 11), a breach taking the +30 % step gives 3 of the 10 in service: desired becomes 13, 2
/// more; and no scale-in while the scale-out is in progress.
#[test]
fn as_scaling_simple_step_warming_instances_raise_desired_only_above_what_it_is() {
    let scenario = worked_example(ScalingService::Ec2AutoScaling, Some(300));
    let evaluations = run(&scenario, 60, &[60.0, 70.0, 40.0, 30.0]);
    assert_eq!(activities(&evaluations), vec![(60, 0, 10, 11), (120, 0, 11, 13)]);
    let at_120 = evaluations.iter().find(|e| e.time_ms == 120_000).unwrap();
    assert_eq!((at_120.desired_capacity, at_120.in_service_capacity), (13, 10));
    // The low alarm is in ALARM at 180 and 240 s, but instances are still warming.
    let at_240 = evaluations.iter().find(|e| e.time_ms == 240_000).unwrap();
    assert_eq!(at_240.alarms[1].state, AlarmState::Alarm);
    assert_eq!(at_240.desired_capacity, 13);
}

fn plus_one_ec2(period: u32) -> Scenario {
    let mut out = step_policy("out", AdjustmentType::ChangeInCapacity, vec![step(Some(0.0), None, 1)]);
    set_warmup_and_cooldown(&mut out, Some(0), None);
    Scenario {
        delays: Default::default(),
        group: group(ScalingService::Ec2AutoScaling, 1, 50, 2),
        alarms: vec![alarm(
            "high",
            period,
            1,
            10.0,
            Comparison::GreaterThanThreshold,
            vec![0],
        )],
        policies: vec![out],
    }
}

/// Knowledge Center autoscaling-policy-cloudwatch-alarm: "an alarm invokes an Auto Scaling
/// action once each minute when the alarm remains in a new state, regardless of the
/// configured time period" (alarm-actions: Auto Scaling actions are the exception to "only
/// on state transitions"). A 10 s alarm that enters ALARM at 10 s invokes +1 then, and again
/// on each minute while it stays there (60 s, 120 s): not every 10 s.
#[test]
fn knowledge_center_autoscaling_policy_cloudwatch_alarm_ten_second_alarm_once_a_minute() {
    let evaluations = run(&plus_one_ec2(10), 10, &[20.0; 12]);
    assert_eq!(
        activities(&evaluations),
        vec![(10, 0, 2, 3), (60, 0, 3, 4), (120, 0, 4, 5)]
    );
}

/// The same page, the other way round: a 5-minute alarm is re-run every minute it stays in
/// ALARM, not every 5 minutes. Evaluated once a minute with a sliding window, it is in
/// ALARM from the first minute (the span ending at 1:00 holds one breaching minute) to the
/// end of the series at 10:00: ten invocations, 2 -> 12.
#[test]
fn knowledge_center_autoscaling_policy_cloudwatch_alarm_five_minute_alarm_once_a_minute() {
    let evaluations = run(&plus_one_ec2(300), 60, &[20.0; 10]);
    let expected: Vec<(i64, usize, u32, u32)> = (1..=10).map(|m| (m * 60, 0, m as u32 + 1, m as u32 + 2)).collect();
    assert_eq!(activities(&evaluations), expected);
}

/// The case, the shipped policy's shape (ECS, 10 s alarm 3 of 3 at 20, +1 below 40
/// and +2 above, Cooldown 60) on a backlog of 25 from 0 s: ALARM at 30 s, +1 (2 -> 3, the
/// cooldown to 90 s counting from 2); at 60 s the repeat is in the cooldown and the same
/// step adds nothing; at 120 s (the next minute) 3 -> 4, then 180 s and 240 s.
#[test]
fn knowledge_center_autoscaling_policy_cloudwatch_alarm_shipped_ten_second_step_pair() {
    let mut out = step_policy(
        "out",
        AdjustmentType::ChangeInCapacity,
        vec![step(Some(0.0), Some(20.0), 1), step(Some(20.0), None, 2)],
    );
    set_warmup_and_cooldown(&mut out, None, Some(60));
    let scenario = Scenario {
        delays: Default::default(),
        group: group(ScalingService::ApplicationAutoScaling, 2, 6, 2),
        alarms: vec![alarm(
            "high",
            10,
            3,
            20.0,
            Comparison::GreaterThanOrEqualToThreshold,
            vec![0],
        )],
        policies: vec![out],
    };
    let evaluations = run(&scenario, 10, &[25.0; 24]);
    assert_eq!(
        activities(&evaluations),
        vec![(30, 0, 2, 3), (120, 0, 3, 4), (180, 0, 4, 5), (240, 0, 5, 6)]
    );
}

/// application-auto-scaling-step-scaling-policies, Cooldown: "an alarm triggers a step
/// scaling policy to scale out an Amazon ECS service by 2 tasks ... During the cooldown
/// period, if the alarm triggers the same policy again but at a more aggressive step
/// adjustment to scale out the service by 3 tasks, the 2 tasks that were added in the
/// previous scale out event are considered part of that capacity and only 1 additional task
/// is added". The same step again in the cooldown adds nothing; after it, it adds again.
#[test]
fn application_auto_scaling_cooldown_counts_the_capacity_already_added() {
    let mut out = step_policy(
        "out",
        AdjustmentType::ChangeInCapacity,
        vec![step(Some(0.0), Some(10.0), 2), step(Some(10.0), None, 3)],
    );
    set_warmup_and_cooldown(&mut out, None, Some(300));
    let scenario = Scenario {
        delays: Default::default(),
        group: group(ScalingService::ApplicationAutoScaling, 1, 50, 10),
        alarms: vec![alarm(
            "high",
            60,
            1,
            60.0,
            Comparison::GreaterThanOrEqualToThreshold,
            vec![0],
        )],
        policies: vec![out],
    };
    // 60 (+2), then 70 (+3) for three minutes, then the cooldown ends at 120 + 300 s.
    let mut values = vec![60.0];
    values.extend([70.0; 7]);
    let evaluations = run(&scenario, 60, &values);
    assert_eq!(
        activities(&evaluations),
        vec![(60, 0, 10, 12), (120, 0, 12, 13), (420, 0, 13, 16)]
    );
}

/// application-auto-scaling-step-scaling-policies, Cooldown: scale-in is blocked until the
/// cooldown ends; a scale-out during a scale-in cooldown happens at once and ends it.
#[test]
fn application_auto_scaling_scale_in_cooldown_blocks_scale_in_not_scale_out() {
    let mut out = step_policy("out", AdjustmentType::ChangeInCapacity, vec![step(Some(0.0), None, 1)]);
    let mut scale_in = step_policy("in", AdjustmentType::ChangeInCapacity, vec![step(None, Some(0.0), -1)]);
    set_warmup_and_cooldown(&mut out, None, Some(60));
    set_warmup_and_cooldown(&mut scale_in, None, Some(300));
    let scenario = Scenario {
        delays: Default::default(),
        group: group(ScalingService::ApplicationAutoScaling, 1, 50, 10),
        alarms: vec![
            alarm("high", 60, 1, 60.0, Comparison::GreaterThanOrEqualToThreshold, vec![0]),
            alarm("low", 60, 1, 40.0, Comparison::LessThanThreshold, vec![1]),
        ],
        policies: vec![out, scale_in],
    };
    // Low for 3 min: one scale-in, then blocked. High: out at once. Low again: in at once
    // (the scale-out ended the scale-in cooldown).
    let evaluations = run(&scenario, 60, &[10.0, 10.0, 10.0, 70.0, 10.0, 10.0]);
    assert_eq!(
        activities(&evaluations),
        vec![(60, 1, 10, 9), (240, 0, 9, 10), (300, 1, 10, 9)]
    );
}

/// as-scaling-simple-step: "If multiple policies are triggered at the same time, Amazon EC2
/// Auto Scaling chooses the policy that provides the largest capacity", for scale-in too.
#[test]
fn several_policies_at_once_the_largest_capacity_wins() {
    let small = step_policy(
        "in-1",
        AdjustmentType::ChangeInCapacity,
        vec![step(None, Some(0.0), -1)],
    );
    let large = step_policy(
        "in-3",
        AdjustmentType::ChangeInCapacity,
        vec![step(None, Some(0.0), -3)],
    );
    let scenario = Scenario {
        delays: Default::default(),
        group: group(ScalingService::Ec2AutoScaling, 1, 50, 10),
        alarms: vec![
            alarm("low-a", 60, 1, 40.0, Comparison::LessThanThreshold, vec![1]),
            alarm("low-b", 60, 1, 40.0, Comparison::LessThanThreshold, vec![0]),
        ],
        policies: vec![small, large],
    };
    let evaluations = run(&scenario, 60, &[10.0]);
    assert_eq!(activities(&evaluations), vec![(60, 0, 10, 9)]);
}

/// Capacity is clamped to [min, max]; a policy that cannot move it records no activity.
#[test]
fn capacity_is_clamped_to_the_group_bounds() {
    let mut out = step_policy("out", AdjustmentType::ChangeInCapacity, vec![step(Some(0.0), None, 5)]);
    set_warmup_and_cooldown(&mut out, Some(0), None);
    let scenario = Scenario {
        delays: Default::default(),
        group: group(ScalingService::Ec2AutoScaling, 2, 6, 2),
        alarms: vec![alarm("high", 60, 1, 10.0, Comparison::GreaterThanThreshold, vec![0])],
        policies: vec![out],
    };
    let evaluations = run(&scenario, 60, &[20.0; 4]);
    assert_eq!(activities(&evaluations), vec![(60, 0, 2, 6)]);
    assert!(evaluations.iter().all(|e| e.desired_capacity <= 6));
}

/// A 10 s alarm on a 10 s series is evaluated every 10 s; 3 of 3 breaching periods make the
/// first scale-out 30 s after the breach began (the periods 0-10, 10-20, 20-30 s).
#[test]
fn a_ten_second_alarm_reacts_within_its_three_periods() {
    let out = step_policy("out", AdjustmentType::ChangeInCapacity, vec![step(Some(0.0), None, 1)]);
    let scenario = Scenario {
        delays: Default::default(),
        group: group(ScalingService::ApplicationAutoScaling, 1, 10, 2),
        alarms: vec![alarm(
            "high",
            10,
            3,
            20.0,
            Comparison::GreaterThanOrEqualToThreshold,
            vec![0],
        )],
        policies: vec![out],
    };
    let mut values = vec![0.0; 6];
    values.extend([50.0; 3]);
    let evaluations = run(&scenario, 10, &values);
    assert_eq!(evaluations.first().map(|e| e.time_ms), Some(10_000));
    assert_eq!(activities(&evaluations), vec![(90, 0, 2, 3)]);
}

/// A scale-in alarm treating missing data as breaching scales in when the exporter goes
/// blind (it publishes nothing): why validation warns about it.
#[test]
fn breaching_on_missing_data_scales_in_on_a_gap() {
    let scale_in = step_policy("in", AdjustmentType::ChangeInCapacity, vec![step(None, Some(0.0), -1)]);
    let mut low = alarm("low", 60, 2, 5.0, Comparison::LessThanThreshold, vec![0]);
    low.treat_missing_data = TreatMissingData::Breaching;
    let scenario = Scenario {
        delays: Default::default(),
        group: group(ScalingService::ApplicationAutoScaling, 1, 10, 4),
        alarms: vec![low],
        policies: vec![scale_in],
    };
    let mut engine = Engine::new(&scenario, 60);
    let mut out = Vec::new();
    // Busy minutes, then six minutes with no data, then busy again.
    for minute in [0, 1, 2, 9, 10] {
        engine.push(&point(minute * MINUTE, 50.0), &mut |e| out.push(e.clone()));
    }
    engine.finish(&mut |e| out.push(e.clone()));
    let scale_ins = activities(&out);
    assert!(
        !scale_ins.is_empty(),
        "a gap treated as breaching scales in: {scale_ins:?}"
    );
    assert!(scale_ins.iter().all(|(t, _, _, _)| (240..=600).contains(t)));
}

fn tracking(name: &str, target: f64, disable_scale_in: bool) -> Policy {
    Policy {
        name: name.into(),
        arn: format!("arn:{name}"),
        enabled: true,
        kind: PolicyKind::TargetTracking {
            target_value: target,
            statistic: Statistic::Average,
            disable_scale_in,
            scale_out_cooldown: Some(0),
            scale_in_cooldown: Some(0),
            metric_period: 60,
            metric: crate::scaling::scenario::TrackedMetric::AlarmSeries,
            tracking_alarms: Default::default(),
        },
    }
}

/// Target tracking (as-scaling-target-tracking, "Multiple target tracking policies"): out
/// when any policy wants; 3 minutes above the target; capacity × metric / target, rounded up.
#[test]
fn target_tracking_scales_out_when_any_policy_wants() {
    let scenario = Scenario {
        delays: Default::default(),
        group: group(ScalingService::ApplicationAutoScaling, 1, 100, 4),
        alarms: vec![],
        policies: vec![tracking("t-10", 10.0, false), tracking("t-100", 100.0, false)],
    };
    let evaluations = run(&scenario, 60, &[25.0; 3]);
    // At 180 s three periods of 25 are above 10: ceil(4 × 25 / 10) = 10.
    assert_eq!(activities(&evaluations), vec![(180, 0, 4, 10)]);
}

/// Scale in only when every policy that may scale in agrees, after 15 minutes below 90 %
/// of the target; never on INSUFFICIENT_DATA.
#[test]
fn target_tracking_scales_in_only_when_all_agree() {
    let low_series = [1.0; 20];
    let agree = Scenario {
        delays: Default::default(),
        group: group(ScalingService::ApplicationAutoScaling, 1, 100, 10),
        alarms: vec![],
        policies: vec![tracking("a", 10.0, false), tracking("b", 5.0, false)],
    };
    let evaluations = run(&agree, 60, &low_series);
    // At 900 s: a wants ceil(10 × 1 / 10) = 1, b ceil(10 × 1 / 5) = 2: the larger wins.
    assert_eq!(activities(&evaluations).first(), Some(&(900, 1, 10, 2)));

    // b's metric is above 90 % of its target: no scale-in at all.
    let disagree = Scenario {
        policies: vec![tracking("a", 10.0, false), tracking("b", 1.0, false)],
        ..agree.clone()
    };
    let evaluations = run(&disagree, 60, &low_series);
    assert_eq!(activities(&evaluations), vec![]);

    // A policy with scale-in disabled has no say.
    let disabled = Scenario {
        policies: vec![tracking("a", 10.0, false), tracking("b", 1.0, true)],
        ..agree.clone()
    };
    assert_eq!(
        activities(&run(&disabled, 60, &low_series)).first(),
        Some(&(900, 0, 10, 1))
    );

    // No data at all: INSUFFICIENT_DATA, never a scale-in.
    let mut engine = Engine::new(&agree, 60);
    let mut out = Vec::new();
    engine.push(&point(0, 1.0), &mut |e| out.push(e.clone()));
    engine.push(&point(30 * MINUTE, 1.0), &mut |e| out.push(e.clone()));
    engine.finish(&mut |e| out.push(e.clone()));
    assert_eq!(activities(&out), vec![]);
}

/// Simple scaling waits for its cooldown before it responds again.
#[test]
fn simple_scaling_waits_for_its_cooldown() {
    let simple = Policy {
        name: "simple".into(),
        arn: "arn:simple".into(),
        enabled: true,
        kind: PolicyKind::Simple {
            adjustment_type: AdjustmentType::ChangeInCapacity,
            scaling_adjustment: 1,
            min_adjustment_magnitude: None,
            cooldown: Some(180),
        },
    };
    let mut scenario = Scenario {
        delays: Default::default(),
        group: group(ScalingService::Ec2AutoScaling, 1, 10, 2),
        alarms: vec![alarm("high", 60, 1, 10.0, Comparison::GreaterThanThreshold, vec![0])],
        policies: vec![simple],
    };
    scenario.group.default_instance_warmup = Some(0);
    let evaluations = run(&scenario, 60, &[20.0; 6]);
    assert_eq!(activities(&evaluations), vec![(60, 0, 2, 3), (240, 0, 3, 4)]);
}

/// as-scaling-simple-step: simple scaling waits for its cooldown ("after a scaling activity
/// is started, the policy must wait for the scaling activity or health check replacement to
/// complete and the cooldown period to expire before responding to additional alarms"); the
/// warmup settings are for step and target tracking policies only. With a group warmup of
/// 300 s and a Cooldown of 120 s, an alarm in ALARM every minute adds one at 60, 180 and
/// 300 s.
#[test]
fn as_scaling_simple_step_simple_scaling_waits_for_its_cooldown_not_the_warmup() {
    let simple = Policy {
        name: "simple".into(),
        arn: "arn:simple".into(),
        kind: PolicyKind::Simple {
            adjustment_type: AdjustmentType::ChangeInCapacity,
            scaling_adjustment: 1,
            min_adjustment_magnitude: None,
            cooldown: Some(120),
        },
        enabled: true,
    };
    let mut scenario = Scenario {
        delays: Default::default(),
        group: group(ScalingService::Ec2AutoScaling, 1, 10, 2),
        alarms: vec![alarm("high", 60, 1, 10.0, Comparison::GreaterThanThreshold, vec![0])],
        policies: vec![simple],
    };
    scenario.group.default_instance_warmup = Some(300);
    let evaluations = run(&scenario, 60, &[20.0; 6]);
    assert_eq!(
        activities(&evaluations),
        vec![(60, 0, 2, 3), (180, 0, 3, 4), (300, 0, 4, 5)]
    );
}

/// SCALING.md, target tracking / alarm-actions: the alarms target tracking creates invoke it
/// as any alarm does, once a minute while in ALARM. EC2, a 10 s customized metric at 8.5
/// against a target of 10 (below 90 %: the low alarm, 15 of 15, enters ALARM at 150 s):
/// scale-in to ceil(10 × 0.85) = 9 at 150 s, then 8 at 180 s, 7 at 240 s, 6 at 300 s; not
/// every 10 s.
#[test]
fn target_tracking_alarms_invoke_once_a_minute() {
    let mut policy = tracking("t", 10.0, false);
    if let PolicyKind::TargetTracking { metric_period, .. } = &mut policy.kind {
        *metric_period = 10;
    }
    let scenario = Scenario {
        delays: Default::default(),
        group: group(ScalingService::Ec2AutoScaling, 1, 20, 10),
        alarms: vec![],
        policies: vec![policy],
    };
    let evaluations = run(&scenario, 10, &[8.5; 30]);
    assert_eq!(
        activities(&evaluations),
        vec![(150, 0, 10, 9), (180, 0, 9, 8), (240, 0, 8, 7), (300, 0, 7, 6)]
    );
}

/// The same series with the low alarm set to 6 of 6 (`tracking_alarms`): 8.5 is below
/// 0.9 × 10, so six 10 s datapoints (0 to 50 s) put it in ALARM at 60 s: 10 -> ceil(10 ×
/// 0.85) = 9 at 60 s, then once a minute 8 (120 s), 7 (180 s), 6 (240 s); at 300 s ceil(6 ×
/// 0.85) = 6, nothing. With a fraction of 0.8 the low threshold is 8: 8.5 never breaches it.
#[test]
fn target_tracking_alarms_are_parameters() {
    let with = |low_datapoints: u32, low_fraction: f64| {
        let mut policy = tracking("t", 10.0, false);
        if let PolicyKind::TargetTracking {
            metric_period,
            tracking_alarms,
            ..
        } = &mut policy.kind
        {
            *metric_period = 10;
            tracking_alarms.low_datapoints = low_datapoints;
            tracking_alarms.low_fraction = low_fraction;
        }
        let scenario = Scenario {
            delays: Default::default(),
            group: group(ScalingService::Ec2AutoScaling, 1, 20, 10),
            alarms: vec![],
            policies: vec![policy],
        };
        activities(&run(&scenario, 10, &[8.5; 30]))
    };
    assert_eq!(
        with(6, 0.9),
        vec![(60, 0, 10, 9), (120, 0, 9, 8), (180, 0, 8, 7), (240, 0, 7, 6)]
    );
    assert_eq!(with(15, 0.8), vec![]);
}

/// A scale-out alarm (+1) and a scale-in alarm (-1) on one 60 s series, ECS or EC2: the
/// series breaches high for 3 minutes, then low for 3.
fn out_and_in(service: ScalingService) -> (Scenario, Vec<f64>) {
    let mut out = step_policy("out", AdjustmentType::ChangeInCapacity, vec![step(Some(0.0), None, 1)]);
    let mut scale_in = step_policy("in", AdjustmentType::ChangeInCapacity, vec![step(None, Some(0.0), -1)]);
    set_warmup_and_cooldown(&mut out, Some(0), Some(0));
    set_warmup_and_cooldown(&mut scale_in, Some(0), Some(0));
    let scenario = Scenario {
        delays: Default::default(),
        group: group(service, 1, 20, 5),
        alarms: vec![
            alarm("high", 60, 1, 60.0, Comparison::GreaterThanOrEqualToThreshold, vec![0]),
            alarm("low", 60, 1, 40.0, Comparison::LessThanThreshold, vec![1]),
        ],
        policies: vec![out, scale_in],
    };
    (scenario, vec![70.0, 70.0, 70.0, 10.0, 10.0, 10.0])
}

const OUT_AND_IN: [(i64, usize, u32, u32); 6] = [
    (60, 0, 5, 6),
    (120, 0, 6, 7),
    (180, 0, 7, 8),
    (240, 1, 8, 7),
    (300, 1, 7, 6),
    (360, 1, 6, 5),
];

/// API_PutMetricAlarm, ActionsEnabled: "Indicates whether actions should be executed during
/// any changes to the alarm state." False: the alarm still goes to ALARM, nothing scales.
#[test]
fn api_put_metric_alarm_actions_enabled_false_changes_state_and_runs_nothing() {
    let (mut scenario, values) = out_and_in(ScalingService::Ec2AutoScaling);
    assert_eq!(activities(&run(&scenario, 60, &values)), OUT_AND_IN.to_vec());
    scenario.alarms[0].actions_enabled = false;
    let evaluations = run(&scenario, 60, &values);
    assert_eq!(
        activities(&evaluations),
        OUT_AND_IN[3..]
            .iter()
            .map(|&(t, p, f, to)| (t, p, f - 3, to - 3))
            .collect::<Vec<_>>()
    );
    assert_eq!(evaluations[0].alarms[0].state, AlarmState::Alarm);
}

/// API_ScalingPolicy, Enabled: "Indicates whether the policy is enabled (true) or disabled
/// (false)." A disabled policy does nothing when its alarm fires.
#[test]
fn api_scaling_policy_enabled_false_does_nothing() {
    let (mut scenario, values) = out_and_in(ScalingService::Ec2AutoScaling);
    scenario.policies[1].enabled = false;
    assert_eq!(activities(&run(&scenario, 60, &values)), OUT_AND_IN[..3].to_vec());
}

/// as-suspend-resume-processes / suspend-resume-considerations: "Suspending
/// AlarmNotification allows you to temporarily stop the group's target tracking, step, and
/// simple scaling policies"; with Launch suspended "the Auto Scaling group can't initiate
/// scale-out activities for breaching alarms", with Terminate suspended no scale-in ones.
#[test]
fn as_suspend_resume_processes_alarm_notification_launch_terminate() {
    use crate::scaling::scenario::ScalingProcess;
    let (scenario, values) = out_and_in(ScalingService::Ec2AutoScaling);
    let with = |process: ScalingProcess| {
        let mut scenario = scenario.clone();
        scenario.group.suspended.processes.insert(process);
        activities(&run(&scenario, 60, &values))
    };
    assert_eq!(with(ScalingProcess::AlarmNotification), vec![]);
    assert_eq!(
        with(ScalingProcess::Launch),
        vec![(240, 1, 5, 4), (300, 1, 4, 3), (360, 1, 3, 2)]
    );
    assert_eq!(with(ScalingProcess::Terminate), OUT_AND_IN[..3].to_vec());
    // A process the simulation has nothing to do with changes nothing.
    assert_eq!(with(ScalingProcess::AZRebalance), OUT_AND_IN.to_vec());
    // Target tracking stops too with AlarmNotification.
    let mut tracked = Scenario {
        alarms: vec![],
        policies: vec![tracking("t", 10.0, false)],
        ..scenario.clone()
    };
    assert!(!activities(&run(&tracked, 60, &[25.0; 4])).is_empty());
    tracked
        .group
        .suspended
        .processes
        .insert(ScalingProcess::AlarmNotification);
    assert_eq!(activities(&run(&tracked, 60, &[25.0; 4])), vec![]);
}

/// application-auto-scaling-suspend-resume-scaling, SuspendedState:
/// DynamicScalingOutSuspended, "Set the value to true if you don't want Application Auto
/// Scaling to add capacity when a scaling policy is triggered"; DynamicScalingInSuspended,
/// "... to remove capacity".
#[test]
fn application_auto_scaling_suspend_resume_scaling_suspended_state() {
    let (scenario, values) = out_and_in(ScalingService::ApplicationAutoScaling);
    assert_eq!(activities(&run(&scenario, 60, &values)), OUT_AND_IN.to_vec());
    let mut out_suspended = scenario.clone();
    out_suspended.group.suspended.dynamic_scaling_out = true;
    assert_eq!(
        activities(&run(&out_suspended, 60, &values)),
        vec![(240, 1, 5, 4), (300, 1, 4, 3), (360, 1, 3, 2)]
    );
    let mut in_suspended = scenario.clone();
    in_suspended.group.suspended.dynamic_scaling_in = true;
    assert_eq!(activities(&run(&in_suspended, 60, &values)), OUT_AND_IN[..3].to_vec());
}

/// The shipped step pair's shape on a 10 s backlog series, with a CPU target tracking
/// policy (ECSServiceAverageCPUUtilizationHighResolution, 20 s) beside it.
fn step_pair_and_cpu(cpu_target: f64) -> Scenario {
    use crate::scaling::scenario::{PredefinedMetric, TrackedMetric};
    let mut out = step_policy("out", AdjustmentType::ChangeInCapacity, vec![step(Some(0.0), None, 1)]);
    let mut scale_in = step_policy("in", AdjustmentType::ChangeInCapacity, vec![step(None, Some(0.0), -1)]);
    set_warmup_and_cooldown(&mut out, None, Some(60));
    set_warmup_and_cooldown(&mut scale_in, None, Some(0));
    let mut cpu = tracking("cpu", cpu_target, false);
    if let PolicyKind::TargetTracking {
        metric, metric_period, ..
    } = &mut cpu.kind
    {
        *metric = TrackedMetric::Predefined(PredefinedMetric::EcsServiceAverageCpuUtilizationHighResolution);
        *metric_period = 20;
    }
    Scenario {
        delays: Default::default(),
        group: group(ScalingService::ApplicationAutoScaling, 1, 8, 4),
        alarms: vec![
            alarm("high", 10, 3, 20.0, Comparison::GreaterThanOrEqualToThreshold, vec![0]),
            alarm("low", 10, 6, 5.0, Comparison::LessThanThreshold, vec![1]),
        ],
        policies: vec![out, scale_in, cpu],
    }
}

/// Backlog points every 10 s and CPU points every 20 s from 0, interleaved in time.
fn run_with_cpu(scenario: &Scenario, backlog: &[f64], cpu: &[f64]) -> Vec<Evaluation> {
    let mut engine = Engine::new(scenario, 10);
    assert!(engine.needs_predefined_series());
    engine.set_predefined_period(20);
    let mut out = Vec::new();
    let mut cpu_points = cpu
        .iter()
        .enumerate()
        .map(|(i, v)| point(i as i64 * 20_000, *v))
        .peekable();
    for (i, value) in backlog.iter().enumerate() {
        let start = i as i64 * 10_000;
        while let Some(cpu_point) = cpu_points.next_if(|p| p.start_ms < start) {
            engine.push_predefined(&cpu_point);
        }
        engine.push(&point(start, *value), &mut |e| out.push(e.clone()));
    }
    engine.finish(&mut |e| out.push(e.clone()));
    out
}

/// target-tracking-faster-auto-scaling: ECS target tracking on
/// ECSServiceAverageCPUUtilizationHighResolution (20 s). Beside a step pair that stays
/// quiet (backlog 10, between 5 and 20), CPU at 90 % against a target of 60. Its high alarm
/// (3 of 3 twenty-second periods, evaluated every 10 s) has at 50 s the datapoints of 0-20
/// and 20-40 s in its range (the one of 40-60 s has not arrived): both breach and the older
/// is 3 periods old, so it goes to ALARM (alarms-and-missing-data, premature transitions)
/// and invokes the policy: ceil(4 × 90 / 60) = 6. At 60 s, the minute, again:
/// ceil(6 × 1.5) = 9, clamped to 8.
#[test]
fn target_tracking_faster_auto_scaling_cpu_safety_net_beside_the_step_pair() {
    let scenario = step_pair_and_cpu(60.0);
    let evaluations = run_with_cpu(&scenario, &[10.0; 15], &[90.0; 8]);
    assert_eq!(activities(&evaluations), vec![(50, 2, 4, 6), (60, 2, 6, 8)]);
}

/// API_PutScalingPolicy: "Application Auto Scaling gives precedence to the policy that
/// provides the largest capacity for both scale out and scale in", and a step scale-in is
/// not held for a target tracking policy that is not ready to scale in (its caution about
/// combining them). Backlog 1 (the low alarm, 6 of 6, at 60 s) with CPU at 50 % against 60
/// (neither above nor below 90 %): the step policy scales in once a minute all the same.
#[test]
fn api_put_scaling_policy_step_scale_in_is_not_held_by_target_tracking() {
    let scenario = step_pair_and_cpu(60.0);
    let evaluations = run_with_cpu(&scenario, &[1.0; 18], &[50.0; 9]);
    assert_eq!(
        activities(&evaluations),
        vec![(60, 1, 4, 3), (120, 1, 3, 2), (180, 1, 2, 1)]
    );
}

fn arbitrary_scenario() -> impl Strategy<Value = Scenario> {
    (
        prop_oneof![
            Just(ScalingService::Ec2AutoScaling),
            Just(ScalingService::ApplicationAutoScaling)
        ],
        1u32..5,
        0u32..8,
        prop_oneof![Just(10u32), Just(60u32)],
        1u32..5,
        0.0f64..100.0,
        0.0f64..100.0,
        1i64..5,
        -5i64..0,
        prop::option::of(0u32..400),
        prop::bool::ANY,
    )
        .prop_map(
            |(service, min, span, period, n, high, low, out_step, in_step, timing, percent)| {
                let adjustment_type = if percent {
                    AdjustmentType::PercentChangeInCapacity
                } else {
                    AdjustmentType::ChangeInCapacity
                };
                let scale = if percent { 30 } else { 1 };
                let mut out = step_policy(
                    "out",
                    adjustment_type,
                    vec![
                        step(Some(0.0), Some(10.0), out_step * scale),
                        step(Some(10.0), None, 2 * out_step * scale),
                    ],
                );
                let mut scale_in = step_policy("in", adjustment_type, vec![step(None, Some(0.0), in_step * scale)]);
                set_warmup_and_cooldown(&mut out, timing, timing);
                set_warmup_and_cooldown(&mut scale_in, timing, timing);
                Scenario {
                    delays: Default::default(),
                    group: group(service, min, min + span, min + span / 2),
                    alarms: vec![
                        alarm(
                            "high",
                            period,
                            n,
                            high.max(low),
                            Comparison::GreaterThanOrEqualToThreshold,
                            vec![0],
                        ),
                        alarm("low", period, n, high.min(low), Comparison::LessThanThreshold, vec![1]),
                    ],
                    policies: vec![out, scale_in, tracking("t", 20.0, false)],
                }
            },
        )
}

proptest! {
    /// Whatever the series and the policies, capacity stays within [min, max], evaluations
    /// come in time order, and in service never exceeds desired.
    #[test]
    fn capacity_always_within_min_and_max(
        scenario in arbitrary_scenario(),
        values in prop::collection::vec(prop::option::of(0.0f64..200.0), 1..300),
    ) {
        let mut engine = Engine::new(&scenario, 10);
        let mut last = i64::MIN;
        let mut check = |e: &Evaluation| {
            assert!(e.time_ms > last);
            last = e.time_ms;
            assert!((scenario.group.min_capacity..=scenario.group.max_capacity).contains(&e.desired_capacity));
            assert!(e.in_service_capacity <= e.desired_capacity);
            for a in &e.activities {
                assert!((scenario.group.min_capacity..=scenario.group.max_capacity).contains(&a.to));
            }
        };
        for (i, value) in values.iter().enumerate() {
            if let Some(value) = value {
                engine.push(&point(i as i64 * 10_000, *value), &mut check);
            }
        }
        engine.finish(&mut check);
    }

    /// A complete series that never breaches any alarm (between the low and the high
    /// thresholds, at most 90 % of the tracking target) never scales.
    #[test]
    fn a_series_that_never_breaches_never_scales(
        scenario in arbitrary_scenario(),
        fractions in prop::collection::vec(0.0f64..1.0, 1..300),
    ) {
        let low = scenario.alarms[1].threshold;
        let high = scenario.alarms[0].threshold;
        prop_assume!(high - low > 1e-6);
        let mut scenario = scenario;
        // Keep the tracking policy quiet too: its target far above, and no scale-in.
        scenario.policies[2] = tracking("t", 1e9, true);
        let values: Vec<f64> = fractions.iter().map(|f| low + f * (high - low) * 0.999).collect();
        let evaluations = run(&scenario, 10, &values);
        prop_assert!(activities(&evaluations).is_empty());
        prop_assert!(evaluations.iter().all(|e| e.desired_capacity == scenario.group.desired_capacity));
    }
}

fn per_task_tracking(target: f64, sample_interval_s: f64) -> Policy {
    let mut policy = tracking("per-task", target, false);
    if let PolicyKind::TargetTracking { metric, .. } = &mut policy.kind {
        *metric = crate::scaling::scenario::TrackedMetric::BacklogPerTask(crate::scaling::scenario::BacklogPerTask {
            namespace: "MyApp".into(),
            metric_name: "PendingRequests".into(),
            dimensions: vec![("Service".into(), "nginx".into())],
            sample_interval_s,
            cluster: "c".into(),
            service: "s".into(),
        });
    }
    policy
}

/// Backlog per task (application-auto-scaling-target-tracking-metric-math): the fleet's
/// Sum × sample_interval / period is the fleet total; divided by the tasks in service it is
/// tracked like any metric, and once the tasks are added the same total is less per task.
#[test]
fn backlog_per_task_divides_the_fleet_total_by_the_tasks_in_service() {
    for sample_interval_s in [1.0, 2.0] {
        let scenario = Scenario {
            delays: Default::default(),
            group: group(ScalingService::ApplicationAutoScaling, 1, 100, 4),
            alarms: vec![],
            policies: vec![per_task_tracking(10.0, sample_interval_s)],
        };
        // A fleet total of 100 held all along: each one-minute statistic set holds
        // 60 / sample_interval samples per proxy, summing to 100 each time.
        let samples = 60.0 / sample_interval_s;
        let mut engine = Engine::new(&scenario, 60);
        let mut out = Vec::new();
        for minute in 0..8 {
            let stats = SeriesStats {
                sample_count: Some(2.0 * samples),
                sum: Some(100.0 * samples),
                ..SeriesStats::default()
            };
            engine.push(
                &SeriesPoint {
                    start_ms: minute * MINUTE,
                    stats,
                },
                &mut |e| out.push(e.clone()),
            );
        }
        engine.finish(&mut |e| out.push(e.clone()));
        // 100 / 4 = 25 per task for 3 minutes: ceil(4 × 25 / 10) = 10 tasks; then 100 / 10 = 10,
        // not above the target: nothing more.
        assert_eq!(
            activities(&out),
            vec![(180, 0, 4, 10)],
            "sample interval {sample_interval_s}"
        );
    }
}

/// A series with only an average (replay's CSV) is that total over its whole period.
#[test]
fn backlog_per_task_takes_an_average_only_series_as_the_total() {
    let scenario = Scenario {
        delays: Default::default(),
        group: group(ScalingService::ApplicationAutoScaling, 1, 100, 2),
        alarms: vec![],
        policies: vec![per_task_tracking(10.0, 1.0)],
    };
    let mut engine = Engine::new(&scenario, 10);
    let mut out = Vec::new();
    for i in 0..24 {
        let stats = SeriesStats {
            average: Some(50.0),
            ..SeriesStats::default()
        };
        engine.push(
            &SeriesPoint {
                start_ms: i * 10_000,
                stats,
            },
            &mut |e| out.push(e.clone()),
        );
    }
    engine.finish(&mut |e| out.push(e.clone()));
    // 50 / 2 = 25 per task: ceil(2 × 25 / 10) = 5 (exactly: no float residue rounds it to 6).
    assert_eq!(activities(&out), vec![(180, 0, 2, 5)]);
}
