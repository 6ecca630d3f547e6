//! Launch, InService, warmup and drain: when capacity serves and counts, and what a scale-in
//! cancels first.

use super::*;

/// SCALING.md / ec2-auto-scaling-default-instance-warmup: an instance counts for a scale-out
/// only once InService and warmed. With launch-to-InService 60 s and a warmup of 120 s, +1
/// at 60 s is counted from 240 s: the alarm's repeats at 120 and 180 s only raise desired
/// to what it is; at 240 s it adds the next. The first serves at 120 s.
#[test]
fn ec2_launch_to_in_service_comes_before_the_warmup() {
    let mut scenario = plus_one_ec2(60);
    set_warmup_and_cooldown(&mut scenario.policies[0], Some(120), None);
    scenario.delays.ec2_launch_to_in_service_s = 60;
    let evaluations = run(&scenario, 60, &[20.0; 4]);
    assert_eq!(activities(&evaluations), vec![(60, 0, 2, 3), (240, 0, 3, 4)]);
    let first = &evaluations.iter().flat_map(|e| &e.activities).next().unwrap();
    assert_eq!(first.serving_at_ms, Some(120_000));
    let at = |t: i64| evaluations.iter().find(|e| e.time_ms == t * 1000).unwrap();
    // Desired 3 at once, serving 3 from 120 s, counted 3 from 240 s.
    assert_eq!((at(60).desired_capacity, at(60).serving_capacity), (3, 2));
    assert_eq!((at(120).serving_capacity, at(180).in_service_capacity), (3, 2));
}

/// The delays reach the summary's timeline: ECS with room for no task, +1 at 30 s waits for
/// an instance (300 s), starts (60 s) and is found by nginx (10 s): serving at 400 s.
#[test]
fn ecs_scale_out_without_room_serves_after_the_instance_launch() {
    let mut out = step_policy("out", AdjustmentType::ChangeInCapacity, vec![step(Some(0.0), None, 1)]);
    set_warmup_and_cooldown(&mut out, None, Some(600));
    let scenario = Scenario {
        delays: crate::scaling::scenario::Delays {
            ecs_task_startup_s: 60,
            ecs_instance_launch_s: 300,
            ecs_spare_tasks: Some(0),
            discovery_s: 10,
            ..Default::default()
        },
        group: group(ScalingService::ApplicationAutoScaling, 1, 8, 2),
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
    let evaluations = run(&scenario, 10, &[25.0; 6]);
    let activity = evaluations.iter().flat_map(|e| &e.activities).next().unwrap();
    assert_eq!((activity.time_ms, activity.from, activity.to), (30_000, 2, 3));
    assert_eq!(activity.serving_at_ms, Some(400_000));
    // PROVISIONING: desired 3 at once, RunningTaskCount and serving still 2.
    let last = evaluations.last().unwrap();
    assert_eq!(
        (last.desired_capacity, last.in_service_capacity, last.serving_capacity),
        (3, 2, 2)
    );
}

fn capacity(service: ScalingService, desired: u32, timing: Timing) -> Capacity {
    let mut capacity = Capacity::new(&group(service, 0, 100, desired), timing);
    capacity.now_ms = 0;
    capacity
}

/// A scale-in cancels the launches not yet serving first, newest first, then removes
/// serving units, which drain for the deregistration delay (paid, not serving).
#[test]
fn a_scale_in_cancels_launches_first_then_drains() {
    let timing = Timing {
        ec2_launch_ms: 60_000,
        deregistration_ms: 300_000,
        ..Timing::default()
    };
    let mut capacity = capacity(ScalingService::Ec2AutoScaling, 2, timing);
    // 2 -> 5 at 0 s and 5 -> 6 at 10 s: serving at 60 s and 70 s.
    assert_eq!(capacity.launch(0, 3, 0), 60_000);
    capacity.desired = 5;
    assert_eq!(capacity.launch(10_000, 1, 0), 70_000);
    capacity.desired = 6;
    assert_eq!((capacity.serving_at(20_000), capacity.paid_at(20_000)), (2, 6));
    // 6 -> 3 at 20 s: the newest launch (1) and 2 of the first go; 1 still launching.
    capacity.remove(20_000, 3);
    capacity.desired = 3;
    assert_eq!((capacity.serving_at(20_000), capacity.serving_at(60_000)), (2, 3));
    // 3 -> 1 at 30 s: the last launch, then one serving unit, draining until 330 s.
    capacity.remove(30_000, 2);
    capacity.desired = 1;
    assert_eq!(capacity.serving_at(30_000), 1);
    assert_eq!((capacity.paid_at(30_000), capacity.paid_at(330_000)), (2, 1));
}

/// SCALING.md, ECS on EC2: "While the cluster has no room, new tasks wait in PROVISIONING:
/// desired count rises at once, running count only when an instance has joined." With room
/// for one task, +3 at 0 s: one runs after the task start-up (40 s), two after the instance
/// launch and the start-up (300 + 40 s); each serves after discovery (30 s more).
#[test]
fn ecs_tasks_without_room_wait_for_an_instance() {
    let timing = Timing {
        task_startup_ms: 40_000,
        instance_launch_ms: 300_000,
        spare_tasks: Some(1),
        discovery_ms: 30_000,
        ..Timing::default()
    };
    let mut capacity = capacity(ScalingService::ApplicationAutoScaling, 2, timing);
    assert_eq!(capacity.launch(0, 3, 0), 370_000);
    capacity.desired = 5;
    capacity.now_ms = 50_000;
    // RunningTaskCount at 50 s: 3; serving at 69 s: 2, at 70 s: 3; all at 370 s.
    assert_eq!(capacity.in_service(), 3);
    assert_eq!(
        (
            capacity.serving_at(69_000),
            capacity.serving_at(70_000),
            capacity.serving_at(370_000)
        ),
        (2, 3, 5)
    );
    // Removing the two waiting tasks gives no room back; removing the placed one does.
    capacity.remove(80_000, 3);
    assert_eq!(capacity.room, Some(1));
}
