//! The simulation engine: pure code with time passed in. It holds each alarm's recent
//! datapoints ([`alarm`]), evaluates the alarms on their cadence, runs the policies their
//! actions name ([`steps`]), applies the service's rules for warmup (EC2 Auto Scaling) or
//! cooldown (Application Auto Scaling) and the time the real loop takes (the scenario's
//! delays), emitting one [`Evaluation`] per tick.
//!
//! What the model assumes (also in docs/simulate.md, "What the model assumes"):
//! - alarms of 60 s or more are evaluated once a minute, 10/20/30 s alarms every 10 s, on the
//!   minute UTC; the evaluation window is sliding (the N periods ending at the evaluation)
//!   unless the alarm's EvaluationWindow is a wall clock window (periods on boundaries that
//!   match the period, a fixed-offset time zone honoured);
//! - a datapoint reaches its alarm the ingestion delay after its period ends; a series
//!   coarser than the alarm period (60 s data under a 10 s alarm) gives each datapoint to the
//!   alarm period that ends with it, so the alarm gets it on the minute and nothing between;
//! - the evaluation range is EvaluationPeriods + 2 periods (the guide's only figure: 5 for 3);
//! - an alarm in ALARM invokes its Auto Scaling action when it enters ALARM and then once a
//!   minute while it stays there, at :00 of each minute ([`ACTION_REPEAT_OFFSET_MS`]),
//!   whatever its period, target tracking's own alarms too; ActionsEnabled false, a
//!   disabled policy, and the group's suspended processes or state turn actions off;
//! - a step policy aggregates the real datapoints of the alarm's last EvaluationPeriods
//!   periods with MetricAggregationType; with none (an alarm in ALARM on missing data
//!   treated as breaching) it takes the threshold itself (a breach of 0); the inclusive
//!   bound follows the side of the threshold the aggregate is on;
//! - EC2: a launched instance is InService after the launch delay, then counts for a step or
//!   target tracking scale-out after its warmup (EstimatedInstanceWarmup, else
//!   DefaultInstanceWarmup, else DefaultCooldown); simple scaling waits for its own
//!   cooldown only; scale-in stops serving at once and drains for the deregistration delay;
//! - Application Auto Scaling: desired count rises at once, a task runs after its start-up
//!   (and an instance launch when the cluster has no room); Cooldown 300 s when not given;
//!   the base of a scale-out cooldown stays the capacity before the scale-out that began it,
//!   so repeating the same step in the cooldown adds nothing and a larger one adds the
//!   difference;
//! - new capacity serves (takes requests through nginx) the discovery delay after it runs;
//! - target tracking: its two alarms come from the policy's parameters (by default 3 of 3
//!   metric periods above the target, 15 of 15 below 90 % of it); the new capacity is
//!   ceil(capacity × metric / target). A predefined metric (ECS CPU) is fed as its own
//!   series ([`Engine::push_predefined`]). Backlog per task (metric math) tracks the
//!   series' Sum × sample_interval / period (the fleet total: the series is taken as the
//!   fleet's) divided by the tasks running when each datapoint arrives (RunningTaskCount).

pub mod alarm;
pub mod steps;

use std::collections::VecDeque;

use crate::scaling::scenario::{
    Activity, AdjustmentType, Alarm, AlarmEvaluation, AlarmState, Comparison, Evaluation, Group, MetricAggregation,
    PolicyKind, ScalingService, Scenario, SeriesPoint, SeriesStats, Statistic, TrackedMetric, TreatMissingData,
};
use alarm::AlarmTracker;

/// Application Auto Scaling's Cooldown when a policy gives none.
pub(crate) const DEFAULT_APPLICATION_COOLDOWN_S: u32 = 300;

/// A target tracking policy's own two alarms.
#[derive(Debug)]
struct Tracking {
    policy: usize,
    target: f64,
    disable_scale_in: bool,
    /// Backlog per task: the exporter's sample interval, seconds.
    per_task: Option<f64>,
    /// Tracks a predefined metric, fed by [`Engine::push_predefined`].
    predefined: bool,
    high: AlarmTracker,
    low: AlarmTracker,
    high_value: Option<f64>,
    low_value: Option<f64>,
}

/// The time the real loop takes, in ms, as the engine uses it (from the scenario's delays).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Timing {
    /// From the end of a datapoint's period to its alarm seeing it.
    pub(crate) ingestion_ms: i64,
    /// EC2: launch to InService; the warmup starts then.
    pub(crate) ec2_launch_ms: i64,
    /// ECS: desired count rising to the task running, when the cluster has room.
    pub(crate) task_startup_ms: i64,
    /// ECS: the instance launch tasks wait for (PROVISIONING) when it has none.
    pub(crate) instance_launch_ms: i64,
    /// ECS: tasks the cluster has room for at the start; `None`: room for every task.
    pub spare_tasks: Option<u32>,
    /// Running to nginx sending it requests.
    pub(crate) discovery_ms: i64,
    /// Scale-in: removed capacity drains (no new requests, still paid for) this long.
    pub(crate) deregistration_ms: i64,
}

impl Timing {
    /// The scenario's delays.
    pub fn of(scenario: &Scenario) -> Timing {
        let delays = &scenario.delays;
        let ms = |s: u32| i64::from(s) * 1000;
        Timing {
            ingestion_ms: ms(delays.ingestion_s),
            ec2_launch_ms: ms(delays.ec2_launch_to_in_service_s),
            task_startup_ms: ms(delays.ecs_task_startup_s),
            instance_launch_ms: ms(delays.ecs_instance_launch_s),
            spare_tasks: delays.ecs_spare_tasks,
            discovery_ms: ms(delays.discovery_s),
            deregistration_ms: ms(delays.deregistration_s),
        }
    }
}

/// Units a scale-out added that are not serving yet.
#[derive(Debug, Clone, Copy)]
struct Start {
    /// InService (EC2) or RUNNING (ECS).
    running_at: i64,
    /// nginx sends it requests.
    serving_at: i64,
    count: u32,
    /// ECS: placed in room the cluster had (given back if cancelled).
    roomed: bool,
}

/// The capacity and what constrains its next change.
#[derive(Debug)]
struct Capacity {
    service: ScalingService,
    min: u32,
    max: u32,
    desired: u32,
    timing: Timing,
    /// The time of the last evaluation.
    now_ms: i64,
    /// EC2: instances launched and not yet counted toward the group's metrics (InService and
    /// warmed): (counted at, count).
    warming: VecDeque<(i64, u32)>,
    /// Units launched and not yet serving, in launch order.
    starting: Vec<Start>,
    /// Units removed and still draining: (gone at, count).
    draining: VecDeque<(i64, u32)>,
    /// ECS: room left in the cluster for more tasks; `None`: unlimited.
    room: Option<u32>,
    /// Application Auto Scaling: a scale-out cooldown's end and the capacity before the
    /// scale-out that began it.
    scale_out_cooldown: Option<(i64, u32)>,
    /// Application Auto Scaling: the end of a scale-in cooldown.
    scale_in_cooldown: Option<i64>,
    /// EC2 simple scaling: the end of the cooldown.
    simple_cooldown: Option<i64>,
}

impl Capacity {
    fn new(group: &Group, timing: Timing) -> Capacity {
        Capacity {
            service: group.service,
            min: group.min_capacity,
            max: group.max_capacity,
            desired: group.desired_capacity,
            timing,
            now_ms: i64::MIN,
            warming: VecDeque::new(),
            starting: Vec::new(),
            draining: VecDeque::new(),
            room: timing.spare_tasks,
            scale_out_cooldown: None,
            scale_in_cooldown: None,
            simple_cooldown: None,
        }
    }

    fn warming_count(&self) -> u32 {
        self.warming.iter().map(|(_, count)| count).sum()
    }

    /// What the service counts: EC2, instances InService and warmed (what a step or target
    /// tracking scale-out is computed from); ECS, tasks running (RunningTaskCount).
    fn in_service(&self) -> u32 {
        match self.service {
            ScalingService::Ec2AutoScaling => self.desired.saturating_sub(self.warming_count()),
            ScalingService::ApplicationAutoScaling => self.desired.saturating_sub(
                self.starting
                    .iter()
                    .filter(|start| start.running_at > self.now_ms)
                    .map(|start| start.count)
                    .sum(),
            ),
        }
    }

    /// Units nginx sends requests to at `time_ms` (at or after the last evaluation).
    fn serving_at(&self, time_ms: i64) -> u32 {
        self.desired.saturating_sub(
            self.starting
                .iter()
                .filter(|start| start.serving_at > time_ms)
                .map(|start| start.count)
                .sum(),
        )
    }

    /// Units paid for at `time_ms`: desired (launching included) plus those draining.
    fn paid_at(&self, time_ms: i64) -> u32 {
        self.desired
            + self
                .draining
                .iter()
                .filter(|(gone, _)| *gone > time_ms)
                .map(|(_, count)| count)
                .sum::<u32>()
    }

    fn release(&mut self, time_ms: i64) {
        self.now_ms = time_ms;
        self.warming.retain(|(at, _)| *at > time_ms);
        self.starting.retain(|start| start.serving_at > time_ms);
        self.draining.retain(|(gone, _)| *gone > time_ms);
        if self.scale_out_cooldown.is_some_and(|(until, _)| until <= time_ms) {
            self.scale_out_cooldown = None;
        }
        if self.scale_in_cooldown.is_some_and(|until| until <= time_ms) {
            self.scale_in_cooldown = None;
        }
        if self.simple_cooldown.is_some_and(|until| until <= time_ms) {
            self.simple_cooldown = None;
        }
    }

    /// Launch `count` units at `time_ms`; returns when the last of them serves. EC2: InService
    /// after the launch, counted after the warmup too (`warmup_ms`, none for simple
    /// scaling). ECS: those the cluster has room for run after the task start-up, the rest
    /// wait in PROVISIONING for an instance launch first.
    fn launch(&mut self, time_ms: i64, count: u32, warmup_ms: i64) -> i64 {
        let timing = self.timing;
        let mut serving = time_ms;
        let mut push = |starting: &mut Vec<Start>, running_at: i64, count: u32, roomed: bool| {
            if count == 0 {
                return;
            }
            let serving_at = running_at + timing.discovery_ms;
            serving = serving.max(serving_at);
            if serving_at > time_ms {
                starting.push(Start {
                    running_at,
                    serving_at,
                    count,
                    roomed,
                });
            }
        };
        match self.service {
            ScalingService::Ec2AutoScaling => {
                let running_at = time_ms + timing.ec2_launch_ms;
                push(&mut self.starting, running_at, count, false);
                if running_at + warmup_ms > time_ms {
                    self.warming.push_back((running_at + warmup_ms, count));
                }
            }
            ScalingService::ApplicationAutoScaling => {
                let placed = self.room.map_or(count, |room| room.min(count));
                if let Some(room) = self.room.as_mut() {
                    *room -= placed;
                }
                push(&mut self.starting, time_ms + timing.task_startup_ms, placed, true);
                push(
                    &mut self.starting,
                    time_ms + timing.instance_launch_ms + timing.task_startup_ms,
                    count - placed,
                    false,
                );
            }
        }
        serving
    }

    /// Remove `count` units at `time_ms`: launches not yet serving go first, newest first;
    /// then serving units, which drain for the deregistration delay.
    fn remove(&mut self, time_ms: i64, mut count: u32) {
        while count > 0 {
            let Some(start) = self.starting.last_mut() else { break };
            let cancelled = count.min(start.count);
            start.count -= cancelled;
            count -= cancelled;
            if start.roomed {
                if let Some(room) = self.room.as_mut() {
                    *room += cancelled;
                }
            }
            if start.count == 0 {
                self.starting.pop();
            }
            let mut uncount = cancelled;
            while uncount > 0 {
                let Some((_, warming)) = self.warming.back_mut() else {
                    break;
                };
                let less = uncount.min(*warming);
                *warming -= less;
                uncount -= less;
                if *warming == 0 {
                    self.warming.pop_back();
                }
            }
        }
        if count == 0 {
            return;
        }
        if let Some(room) = self.room.as_mut() {
            *room += count;
        }
        if self.timing.deregistration_ms > 0 {
            self.draining
                .push_back((time_ms + self.timing.deregistration_ms, count));
        }
    }
}

/// What one invoked policy asks for.
#[derive(Debug, Clone)]
struct Candidate {
    policy: usize,
    step: Option<usize>,
    /// Clamped.
    target: u32,
    adjustment: i64,
}

pub struct Engine<'s> {
    scenario: &'s Scenario,
    alarms: Vec<AlarmTracker>,
    tracking: Vec<Tracking>,
    tick_ms: i64,
    series_period_ms: i64,
    next_tick: Option<i64>,
    last_end_ms: i64,
    capacity: Capacity,
    evaluation: Evaluation,
    candidates: Vec<Candidate>,
}

impl<'s> Engine<'s> {
    /// `series_period_s`: seconds between the series' datapoints.
    pub fn new(scenario: &'s Scenario, series_period_s: u32) -> Engine<'s> {
        Engine::with_timing(scenario, series_period_s, Timing::of(scenario))
    }

    /// With the delays given apart from the scenario's.
    pub(crate) fn with_timing(scenario: &'s Scenario, series_period_s: u32, timing: Timing) -> Engine<'s> {
        let alarms: Vec<AlarmTracker> = scenario
            .alarms
            .iter()
            .map(|alarm| AlarmTracker::new(alarm, series_period_s, timing.ingestion_ms))
            .collect();
        let tracking: Vec<Tracking> = scenario
            .policies
            .iter()
            .enumerate()
            .filter_map(|(index, policy)| match &policy.kind {
                PolicyKind::TargetTracking {
                    target_value,
                    statistic,
                    disable_scale_in,
                    metric_period,
                    metric,
                    tracking_alarms,
                    ..
                } => {
                    let per_task = match metric {
                        TrackedMetric::AlarmSeries | TrackedMetric::Predefined(_) => None,
                        TrackedMetric::BacklogPerTask(per_task) => Some(per_task.sample_interval_s),
                    };
                    // A predefined metric (ECS CPU) comes as its own series
                    // ([`Engine::push_predefined`]), the others from the alarms' series.
                    let predefined = matches!(metric, TrackedMetric::Predefined(_));
                    let synthetic = |datapoints, threshold, comparison| Alarm {
                        name: policy.name.clone(),
                        namespace: String::new(),
                        metric_name: String::new(),
                        dimensions: Vec::new(),
                        // Per task, the scaled sums of push add up to the period's value.
                        statistic: if per_task.is_some() { Statistic::Sum } else { *statistic },
                        period: *metric_period,
                        evaluation_periods: datapoints,
                        datapoints_to_alarm: datapoints,
                        threshold,
                        comparison,
                        treat_missing_data: TreatMissingData::Missing,
                        actions: Vec::new(),
                        actions_enabled: true,
                        evaluation_window: Default::default(),
                    };
                    Some(Tracking {
                        policy: index,
                        target: *target_value,
                        disable_scale_in: *disable_scale_in,
                        per_task,
                        predefined,
                        high: AlarmTracker::new(
                            &synthetic(
                                tracking_alarms.high_datapoints,
                                *target_value,
                                Comparison::GreaterThanThreshold,
                            ),
                            series_period_s,
                            timing.ingestion_ms,
                        ),
                        low: AlarmTracker::new(
                            &synthetic(
                                tracking_alarms.low_datapoints,
                                target_value * tracking_alarms.low_fraction,
                                Comparison::LessThanThreshold,
                            ),
                            series_period_s,
                            timing.ingestion_ms,
                        ),
                        high_value: None,
                        low_value: None,
                    })
                }
                _ => None,
            })
            .collect();
        let sub_minute = alarms
            .iter()
            .chain(tracking.iter().map(|t| &t.high))
            .any(|tracker| tracker.period_ms < 60_000);
        let group = &scenario.group;
        Engine {
            scenario,
            evaluation: Evaluation {
                time_ms: 0,
                alarms: vec![
                    AlarmEvaluation {
                        state: AlarmState::InsufficientData,
                        value: None
                    };
                    alarms.len()
                ],
                desired_capacity: group.desired_capacity,
                in_service_capacity: group.desired_capacity,
                serving_capacity: group.desired_capacity,
                activities: Vec::new(),
            },
            alarms,
            tracking,
            tick_ms: if sub_minute { 10_000 } else { 60_000 },
            series_period_ms: i64::from(series_period_s.max(1)) * 1000,
            next_tick: None,
            last_end_ms: 0,
            capacity: Capacity::new(group, timing),
            candidates: Vec::new(),
        }
    }

    /// The predefined metric's series (ECS CPU utilization) has datapoints `period_s` apart:
    /// call before the first datapoint.
    pub(crate) fn set_predefined_period(&mut self, period_s: u32) {
        let ingestion_ms = self.capacity.timing.ingestion_ms;
        for tracking in self.tracking.iter_mut().filter(|tracking| tracking.predefined) {
            tracking.high = tracking.high.rebuilt(period_s, ingestion_ms);
            tracking.low = tracking.low.rebuilt(period_s, ingestion_ms);
        }
    }

    /// Whether a target tracking policy follows a predefined metric, which needs its own
    /// series.
    pub(crate) fn needs_predefined_series(&self) -> bool {
        self.tracking.iter().any(|tracking| tracking.predefined)
    }

    /// Feed a datapoint of the predefined metric's series, in time order, before the
    /// datapoints of the main series that start after it (it emits nothing).
    pub(crate) fn push_predefined(&mut self, point: &SeriesPoint) {
        for tracking in self.tracking.iter_mut().filter(|tracking| tracking.predefined) {
            tracking.high.add(point.start_ms, &point.stats);
            tracking.low.add(point.start_ms, &point.stats);
        }
    }

    /// Feed the next datapoint (in time order); evaluations due before it are emitted first.
    pub fn push(&mut self, point: &SeriesPoint, emit: &mut impl FnMut(&Evaluation)) {
        let first_tick = self
            .next_tick
            .get_or_insert_with(|| align_up(point.start_ms + self.series_period_ms, self.tick_ms));
        let mut tick = *first_tick;
        while tick <= point.start_ms {
            self.evaluate(tick);
            emit(&self.evaluation);
            tick += self.tick_ms;
        }
        self.next_tick = Some(tick);
        for tracker in &mut self.alarms {
            tracker.add(point.start_ms, &point.stats);
        }
        let in_service = self.capacity.in_service();
        for tracking in self.tracking.iter_mut().filter(|tracking| !tracking.predefined) {
            let stats = match tracking.per_task {
                None => point.stats,
                Some(interval_s) => per_task_stats(
                    &point.stats,
                    interval_s,
                    self.series_period_ms,
                    tracking.high.period_ms,
                    in_service,
                ),
            };
            tracking.high.add(point.start_ms, &stats);
            tracking.low.add(point.start_ms, &stats);
        }
        self.last_end_ms = self.last_end_ms.max(point.start_ms + self.series_period_ms);
    }

    /// Emit the evaluations due up to `time_ms`, before any later datapoint: the closed loop
    /// calls this as each period closes, so the alarms see a datapoint when its period ends
    /// (as [`Engine::push`] of the next datapoint would) and the capacity can change then.
    pub(crate) fn advance(&mut self, time_ms: i64, emit: &mut impl FnMut(&Evaluation)) {
        let Some(mut tick) = self.next_tick else { return };
        while tick <= time_ms {
            self.evaluate(tick);
            emit(&self.evaluation);
            tick += self.tick_ms;
        }
        self.next_tick = Some(tick);
    }

    /// Emit the evaluations up to the end of the last datapoint's period.
    pub fn finish(&mut self, emit: &mut impl FnMut(&Evaluation)) {
        let Some(mut tick) = self.next_tick else { return };
        let last = align_up(self.last_end_ms, self.tick_ms);
        while tick <= last {
            self.evaluate(tick);
            emit(&self.evaluation);
            tick += self.tick_ms;
        }
        self.next_tick = Some(tick);
    }

    fn evaluate(&mut self, time_ms: i64) {
        self.capacity.release(time_ms);
        self.evaluation.time_ms = time_ms;
        self.evaluation.activities.clear();
        self.candidates.clear();
        let scenario = self.scenario;
        for (index, tracker) in self.alarms.iter_mut().enumerate() {
            if !tracker.evaluates_at(time_ms) {
                continue;
            }
            let before = tracker.state;
            let (state, value) = tracker.evaluate(time_ms);
            self.evaluation.alarms[index] = AlarmEvaluation { state, value };
            let alarm = &scenario.alarms[index];
            // ActionsEnabled false: the state changes, no action runs.
            if !alarm.actions_enabled || !invokes(before, state, time_ms) {
                continue;
            }
            for &policy in &alarm.actions {
                // Enabled false, or AlarmNotification suspended: the policy does nothing.
                if !scenario.group.alarm_may_run(&scenario.policies[policy]) {
                    continue;
                }
                if let Some(candidate) = step_candidate(scenario, &self.capacity, tracker, policy) {
                    self.candidates.push(candidate);
                }
            }
        }
        self.tracking_candidates(time_ms);
        self.apply(time_ms);
        self.evaluation.desired_capacity = self.capacity.desired;
        self.evaluation.in_service_capacity = self.capacity.in_service();
        self.evaluation.serving_capacity = self.capacity.serving_at(time_ms);
    }

    /// Target tracking: out if any policy's high alarm invokes it, in only when a low alarm
    /// invokes its policy and every policy that may scale in agrees and none lacks data. Its
    /// alarms invoke their policy as any alarm does: on entering ALARM and once a minute
    /// while they stay there.
    fn tracking_candidates(&mut self, time_ms: i64) {
        if self.tracking.is_empty() {
            return;
        }
        let mut scale_in: Option<Candidate> = None;
        let mut all_agree_in = true;
        let mut any_may_scale_in = false;
        let mut low_invoked = false;
        let scenario = self.scenario;
        for tracking in &mut self.tracking {
            // Its alarms evaluate whatever the switches say; a disabled policy or suspended
            // alarm notifications mean it neither scales nor has a say in scale-in.
            let runs = scenario.group.alarm_may_run(&scenario.policies[tracking.policy]);
            if tracking.high.evaluates_at(time_ms) {
                let before = tracking.high.state;
                let (state, value) = tracking.high.evaluate(time_ms);
                tracking.high_value = value;
                if runs && invokes(before, state, time_ms) {
                    if let Some(metric) = value {
                        let capacity = &self.capacity;
                        let base = scale_out_base(capacity);
                        let wanted = ceil_capacity(f64::from(base) * metric / tracking.target);
                        let target = steps::clamp(wanted, capacity.min, capacity.max);
                        if target > capacity.desired {
                            self.candidates.push(Candidate {
                                policy: tracking.policy,
                                step: None,
                                target,
                                adjustment: wanted - i64::from(base),
                            });
                        }
                    }
                }
            }
            if tracking.low.evaluates_at(time_ms) {
                let before = tracking.low.state;
                let (state, value) = tracking.low.evaluate(time_ms);
                tracking.low_value = value;
                low_invoked |= runs && !tracking.disable_scale_in && invokes(before, state, time_ms);
            }
            if tracking.disable_scale_in || !runs {
                continue;
            }
            any_may_scale_in = true;
            let agrees = tracking.low.state == AlarmState::Alarm && tracking.high.state != AlarmState::InsufficientData;
            if !agrees {
                all_agree_in = false;
                continue;
            }
            if let Some(metric) = tracking.low_value {
                let desired = self.capacity.desired;
                let wanted = ceil_capacity(f64::from(desired) * metric / tracking.target);
                let target = steps::clamp(wanted, self.capacity.min, self.capacity.max);
                // The largest capacity wins among the policies that scale in.
                if scale_in.as_ref().is_none_or(|c| target > c.target) {
                    scale_in = Some(Candidate {
                        policy: tracking.policy,
                        step: None,
                        target,
                        adjustment: wanted - i64::from(desired),
                    });
                }
            } else {
                all_agree_in = false;
            }
        }
        if let (true, true, true, Some(candidate)) = (low_invoked, any_may_scale_in, all_agree_in, scale_in) {
            if candidate.target < self.capacity.desired && scale_in_allowed(&self.capacity) {
                self.candidates.push(candidate);
            }
        }
    }

    /// Several policies at once: the one giving the largest capacity wins, for scale-in too.
    fn apply(&mut self, time_ms: i64) {
        // Launch / Terminate (EC2) and DynamicScalingOut/InSuspended (Application Auto
        // Scaling) stop scale-out / scale-in.
        let suspended = &self.scenario.group.suspended;
        let desired = self.capacity.desired;
        let (may_out, may_in) = (suspended.may_scale_out(), suspended.may_scale_in());
        let Some(winner) = self
            .candidates
            .iter()
            .filter(|candidate| (candidate.target > desired && may_out) || (candidate.target < desired && may_in))
            .max_by_key(|candidate| candidate.target)
            .cloned()
        else {
            return;
        };
        let capacity = &mut self.capacity;
        let from = capacity.desired;
        if winner.target == from {
            return;
        }
        let policy = &self.scenario.policies[winner.policy];
        let group = &self.scenario.group;
        let mut serving_at_ms = None;
        if winner.target > from {
            let warmup_s = match capacity.service {
                // Simple scaling: the warmup settings do not apply; its instances count once
                // in service.
                ScalingService::Ec2AutoScaling => match &policy.kind {
                    PolicyKind::Step {
                        estimated_instance_warmup,
                        ..
                    } => estimated_instance_warmup.or(group.default_instance_warmup),
                    PolicyKind::TargetTracking { scale_out_cooldown, .. } => {
                        scale_out_cooldown.or(group.default_instance_warmup)
                    }
                    PolicyKind::Simple { .. } => Some(0),
                }
                .unwrap_or(group.default_cooldown),
                ScalingService::ApplicationAutoScaling => {
                    let cooldown = scale_out_cooldown_of(&policy.kind);
                    let base = capacity.scale_out_cooldown.map_or(from, |(_, base)| base);
                    capacity.scale_out_cooldown = Some((time_ms + i64::from(cooldown) * 1000, base));
                    // A scale-out during a scale-in cooldown happens at once and ends it.
                    capacity.scale_in_cooldown = None;
                    0
                }
            };
            serving_at_ms = Some(capacity.launch(time_ms, winner.target - from, i64::from(warmup_s) * 1000));
        } else {
            if capacity.service == ScalingService::ApplicationAutoScaling {
                let cooldown = scale_in_cooldown_of(&policy.kind);
                capacity.scale_in_cooldown = Some(time_ms + i64::from(cooldown) * 1000);
            }
            capacity.remove(time_ms, from - winner.target);
        }
        if let PolicyKind::Simple { cooldown, .. } = &policy.kind {
            let cooldown = cooldown.unwrap_or(group.default_cooldown);
            capacity.simple_cooldown = Some(time_ms + i64::from(cooldown) * 1000);
        }
        capacity.desired = winner.target;
        self.evaluation.activities.push(Activity {
            time_ms,
            policy: winner.policy,
            step: winner.step,
            adjustment: winner.adjustment,
            from,
            to: winner.target,
            serving_at_ms,
        });
    }

    /// Units nginx sends requests to at `time_ms` (at or after the last evaluation, before
    /// the next).
    pub(crate) fn serving_at(&self, time_ms: i64) -> u32 {
        self.capacity.serving_at(time_ms)
    }

    /// Units paid for at `time_ms` (desired, launching included, plus those draining).
    pub(crate) fn paid_at(&self, time_ms: i64) -> u32 {
        self.capacity.paid_at(time_ms)
    }

    /// The next time after `time_ms` at which launched units start serving or draining ones
    /// go, if any (until the next evaluation).
    pub(crate) fn next_change_after(&self, time_ms: i64) -> Option<i64> {
        let capacity = &self.capacity;
        capacity
            .starting
            .iter()
            .map(|start| start.serving_at)
            .chain(capacity.draining.iter().map(|(gone, _)| *gone))
            .filter(|at| *at > time_ms)
            .min()
    }
}

/// The minute offset at which an alarm that stays in ALARM invokes its Auto Scaling action
/// again: AWS says "once each minute ... regardless of the configured time period"
/// (Knowledge Center autoscaling-policy-cloudwatch-alarm; alarm-actions) but not at which
/// second; the model takes the start of each minute (UTC :00).
pub(crate) const ACTION_REPEAT_OFFSET_MS: i64 = 0;

/// Whether an alarm evaluated at `time_ms` invokes its actions: when it enters ALARM, and
/// then at [`ACTION_REPEAT_OFFSET_MS`] of each minute while it stays there, whatever its
/// period.
fn invokes(before: AlarmState, state: AlarmState, time_ms: i64) -> bool {
    state == AlarmState::Alarm && (before != AlarmState::Alarm || time_ms.rem_euclid(60_000) == ACTION_REPEAT_OFFSET_MS)
}

/// One datapoint's share of `(Sum × sample_interval / period) / running tasks`: the shares of
/// a period's datapoints add up to the fleet total per task. Sum × sample_interval is the
/// datum's samples times the time each stands for; a series with only an average (replay's)
/// stands for its whole datapoint period. No task in service gives no value (CloudWatch's
/// division by zero), as does a datapoint without a value.
fn per_task_stats(
    stats: &SeriesStats,
    interval_s: f64,
    series_period_ms: i64,
    period_ms: i64,
    in_service: u32,
) -> SeriesStats {
    let sample_seconds = stats
        .sum
        .map(|sum| sum * interval_s)
        .or_else(|| stats.average.map(|average| average * series_period_ms as f64 / 1000.0));
    let share = sample_seconds
        .filter(|_| in_service > 0)
        .map(|seconds| seconds * 1000.0 / period_ms as f64 / f64::from(in_service));
    SeriesStats {
        sample_count: share.map(|_| stats.sample_count.unwrap_or(1.0)),
        sum: share,
        ..SeriesStats::default()
    }
}

/// ceil(capacity × metric / target), blind to the last bits of float error: a metric summed
/// from shares (backlog per task) may land a hair above a whole number it equals.
fn ceil_capacity(wanted: f64) -> i64 {
    ((wanted * 1e9).round() / 1e9).ceil() as i64
}

fn align_up(time_ms: i64, step_ms: i64) -> i64 {
    time_ms.div_euclid(step_ms) * step_ms + if time_ms.rem_euclid(step_ms) == 0 { 0 } else { step_ms }
}

/// The capacity a scale-out is computed from: EC2 counts only instances in service (warming
/// ones do not count toward the group's metrics); Application Auto Scaling, during a
/// scale-out cooldown, the capacity before the scale-out that began it.
fn scale_out_base(capacity: &Capacity) -> u32 {
    match capacity.service {
        ScalingService::Ec2AutoScaling => capacity.in_service(),
        ScalingService::ApplicationAutoScaling => {
            capacity.scale_out_cooldown.map_or(capacity.desired, |(_, base)| base)
        }
    }
}

/// EC2: no scale-in while a scale-out is in progress (instances warming). Application Auto
/// Scaling: none during a scale-in cooldown.
fn scale_in_allowed(capacity: &Capacity) -> bool {
    match capacity.service {
        ScalingService::Ec2AutoScaling => capacity.warming.is_empty(),
        ScalingService::ApplicationAutoScaling => capacity.scale_in_cooldown.is_none(),
    }
}

fn scale_out_cooldown_of(kind: &PolicyKind) -> u32 {
    match kind {
        PolicyKind::Step { cooldown, .. } | PolicyKind::Simple { cooldown, .. } => *cooldown,
        PolicyKind::TargetTracking { scale_out_cooldown, .. } => *scale_out_cooldown,
    }
    .unwrap_or(DEFAULT_APPLICATION_COOLDOWN_S)
}

fn scale_in_cooldown_of(kind: &PolicyKind) -> u32 {
    match kind {
        PolicyKind::Step { cooldown, .. } | PolicyKind::Simple { cooldown, .. } => *cooldown,
        PolicyKind::TargetTracking { scale_in_cooldown, .. } => *scale_in_cooldown,
    }
    .unwrap_or(DEFAULT_APPLICATION_COOLDOWN_S)
}

/// What a step or simple policy asks for when `tracker`'s alarm invokes it.
fn step_candidate(
    scenario: &Scenario,
    capacity: &Capacity,
    tracker: &AlarmTracker,
    policy_index: usize,
) -> Option<Candidate> {
    let policy = &scenario.policies[policy_index];
    let (adjustment_type, adjustment, min_magnitude, step) = match &policy.kind {
        PolicyKind::Step {
            adjustment_type,
            min_adjustment_magnitude,
            aggregation,
            steps: step_list,
            ..
        } => {
            let value = aggregate(tracker.recent_values(), *aggregation).unwrap_or(tracker.threshold);
            let index = steps::select_step(step_list, value - tracker.threshold, tracker.comparison.is_upper())?;
            (
                *adjustment_type,
                step_list[index].scaling_adjustment,
                *min_adjustment_magnitude,
                Some(index),
            )
        }
        PolicyKind::Simple {
            adjustment_type,
            scaling_adjustment,
            min_adjustment_magnitude,
            ..
        } => {
            if capacity.simple_cooldown.is_some() {
                return None;
            }
            (*adjustment_type, *scaling_adjustment, *min_adjustment_magnitude, None)
        }
        // Target tracking runs on its own alarms, not on an alarm's actions.
        PolicyKind::TargetTracking { .. } => return None,
    };
    let outward = match adjustment_type {
        AdjustmentType::ExactCapacity => adjustment > i64::from(capacity.desired),
        _ => adjustment > 0,
    };
    // Simple scaling waits for its own cooldown and nothing else (as-scaling-simple-step):
    // the warmup settings do not apply to it, so it works from the desired capacity and a
    // scale-out in progress does not hold its scale-in.
    let simple = step.is_none();
    if outward {
        let base = if simple {
            capacity.desired
        } else {
            scale_out_base(capacity)
        };
        let wanted = steps::target_capacity(base, adjustment_type, adjustment, min_magnitude);
        let target = steps::clamp(wanted, capacity.min, capacity.max);
        // Only raises the desired capacity above what it already is (EC2 warming; the
        // Application Auto Scaling scale-out cooldown).
        (target > capacity.desired).then_some(Candidate {
            policy: policy_index,
            step,
            target,
            adjustment: wanted - i64::from(base),
        })
    } else {
        if !simple && !scale_in_allowed(capacity) {
            return None;
        }
        let base = capacity.desired;
        let wanted = steps::target_capacity(base, adjustment_type, adjustment, min_magnitude);
        Some(Candidate {
            policy: policy_index,
            step,
            target: steps::clamp(wanted, capacity.min, capacity.max),
            adjustment: wanted - i64::from(base),
        })
    }
}

fn aggregate(values: impl Iterator<Item = f64>, aggregation: MetricAggregation) -> Option<f64> {
    let (mut count, mut sum, mut min, mut max) = (0u32, 0.0, f64::INFINITY, f64::NEG_INFINITY);
    for value in values {
        count += 1;
        sum += value;
        min = min.min(value);
        max = max.max(value);
    }
    (count > 0).then(|| match aggregation {
        MetricAggregation::Average => sum / f64::from(count),
        MetricAggregation::Minimum => min,
        MetricAggregation::Maximum => max,
    })
}

#[cfg(test)]
mod tests;
