//! The simulation engine: pure code with time passed in. It folds the series into each
//! alarm's periods ([`alarm`]), evaluates the alarms on their cadence, runs the policies their
//! actions name ([`steps`]) and applies the service's rules for warmup (EC2 Auto Scaling) or
//! cooldown (Application Auto Scaling), emitting one [`Evaluation`] per tick.
//!
//! What the model assumes (also in the README's `simulate` section):
//! - a datapoint is available to its alarm as soon as its period ends (no publishing or
//!   ingestion delay);
//! - the evaluation range is EvaluationPeriods + 2 periods (the guide's only figure: 5 for 3);
//! - an alarm in ALARM runs its actions when it enters ALARM and again every alarm period
//!   while it stays there, for both services;
//! - a step policy aggregates the real datapoints of the alarm's last EvaluationPeriods
//!   periods with MetricAggregationType; with none (an alarm in ALARM on missing data
//!   treated as breaching) it takes the threshold itself (a breach of 0);
//! - EC2: a launched instance is in service after its warmup (EstimatedInstanceWarmup, else
//!   DefaultInstanceWarmup, else DefaultCooldown); scale-in terminates at once;
//! - Application Auto Scaling: a task counts at once; Cooldown 300 s when not given; the
//!   base of a scale-out cooldown stays the capacity before the scale-out that began it, so
//!   repeating the same step in the cooldown adds nothing and a larger one adds the
//!   difference;
//! - target tracking: the alarms AWS creates for it are modelled as 3 of 3 metric periods
//!   above the target (scale out) and 15 of 15 below 90 % of it (scale in); the new capacity
//!   is ceil(capacity × metric / target). Backlog per task (metric math) tracks the series'
//!   Sum × sample_interval / period (the fleet total: the series is taken as the fleet's)
//!   divided by the tasks in service when each datapoint arrives (RunningTaskCount).

pub mod alarm;
pub mod steps;

use std::collections::VecDeque;

use crate::scaling::model::{
    Activity, AdjustmentType, Alarm, AlarmEvaluation, AlarmState, Comparison, Evaluation, MetricAggregation,
    PolicyKind, ScalingService, Scenario, SeriesPoint, SeriesStats, Statistic, TrackedMetric, TreatMissingData,
};
use alarm::AlarmTracker;

/// Application Auto Scaling's Cooldown when a policy gives none.
pub const DEFAULT_APPLICATION_COOLDOWN_S: u32 = 300;

/// A target tracking policy's own two alarms.
#[derive(Debug)]
struct Tracking {
    policy: usize,
    target: f64,
    disable_scale_in: bool,
    /// Backlog per task: the exporter's sample interval, seconds.
    per_task: Option<f64>,
    high: AlarmTracker,
    low: AlarmTracker,
    high_value: Option<f64>,
    low_value: Option<f64>,
}

/// The capacity and what constrains its next change.
#[derive(Debug)]
struct Capacity {
    service: ScalingService,
    min: u32,
    max: u32,
    desired: u32,
    /// EC2: instances launched and still warming: (in service at, count).
    warming: VecDeque<(i64, u32)>,
    /// Application Auto Scaling: a scale-out cooldown's end and the capacity before the
    /// scale-out that began it.
    scale_out_cooldown: Option<(i64, u32)>,
    /// Application Auto Scaling: the end of a scale-in cooldown.
    scale_in_cooldown: Option<i64>,
    /// EC2 simple scaling: the end of the cooldown.
    simple_cooldown: Option<i64>,
}

impl Capacity {
    fn warming_count(&self) -> u32 {
        self.warming.iter().map(|(_, count)| count).sum()
    }

    fn in_service(&self) -> u32 {
        self.desired.saturating_sub(self.warming_count())
    }

    fn release(&mut self, time_ms: i64) {
        while self.warming.front().is_some_and(|(at, _)| *at <= time_ms) {
            self.warming.pop_front();
        }
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
}

/// What one invoked policy asks for.
#[derive(Debug, Clone)]
struct Candidate {
    policy: usize,
    step: Option<usize>,
    /// Clamped.
    target: u32,
    adjustment: i64,
    /// The capacity the adjustment was computed from.
    base: u32,
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
        let alarms: Vec<AlarmTracker> = scenario
            .alarms
            .iter()
            .map(|alarm| AlarmTracker::new(alarm, series_period_s))
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
                        // A predefined metric is not yet given a series of its own: until it is,
                        // validation builds none, and the alarm series stands in.
                        TrackedMetric::AlarmSeries | TrackedMetric::Predefined(_) => None,
                        TrackedMetric::BacklogPerTask(per_task) => Some(per_task.sample_interval_s),
                    };
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
                        high: AlarmTracker::new(
                            &synthetic(
                                tracking_alarms.high_datapoints,
                                *target_value,
                                Comparison::GreaterThanThreshold,
                            ),
                            series_period_s,
                        ),
                        low: AlarmTracker::new(
                            &synthetic(
                                tracking_alarms.low_datapoints,
                                target_value * tracking_alarms.low_fraction,
                                Comparison::LessThanThreshold,
                            ),
                            series_period_s,
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
                activities: Vec::new(),
            },
            alarms,
            tracking,
            tick_ms: if sub_minute { 10_000 } else { 60_000 },
            series_period_ms: i64::from(series_period_s.max(1)) * 1000,
            next_tick: None,
            last_end_ms: 0,
            capacity: Capacity {
                service: group.service,
                min: group.min_capacity,
                max: group.max_capacity,
                desired: group.desired_capacity,
                warming: VecDeque::new(),
                scale_out_cooldown: None,
                scale_in_cooldown: None,
                simple_cooldown: None,
            },
            candidates: Vec::new(),
        }
    }

    /// Seconds between evaluations: 10 when any alarm's period is under a minute, else 60.
    pub fn tick_seconds(&self) -> u32 {
        (self.tick_ms / 1000) as u32
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
        for tracking in &mut self.tracking {
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
    pub fn advance(&mut self, time_ms: i64, emit: &mut impl FnMut(&Evaluation)) {
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
            if state != AlarmState::Alarm {
                tracker.last_invoked_ms = None;
                continue;
            }
            let due = before != AlarmState::Alarm
                || tracker
                    .last_invoked_ms
                    .is_none_or(|last| time_ms - last >= tracker.period_ms);
            if !due {
                continue;
            }
            tracker.last_invoked_ms = Some(time_ms);
            for &policy in &scenario.alarms[index].actions {
                if let Some(candidate) = step_candidate(scenario, &self.capacity, tracker, policy, time_ms) {
                    self.candidates.push(candidate);
                }
            }
        }
        self.tracking_candidates(time_ms);
        self.apply(time_ms);
        self.evaluation.desired_capacity = self.capacity.desired;
        self.evaluation.in_service_capacity = self.capacity.in_service();
    }

    /// Target tracking: out if any policy's high alarm fires, in only if every policy that
    /// may scale in agrees and none lacks data.
    fn tracking_candidates(&mut self, time_ms: i64) {
        if self.tracking.is_empty() {
            return;
        }
        let mut scale_in: Option<Candidate> = None;
        let mut all_agree_in = true;
        let mut any_may_scale_in = false;
        for tracking in &mut self.tracking {
            if tracking.high.evaluates_at(time_ms) {
                let before = tracking.high.state;
                let (state, value) = tracking.high.evaluate(time_ms);
                tracking.high_value = value;
                let due = state == AlarmState::Alarm
                    && (before != AlarmState::Alarm
                        || tracking
                            .high
                            .last_invoked_ms
                            .is_none_or(|last| time_ms - last >= tracking.high.period_ms));
                if state != AlarmState::Alarm {
                    tracking.high.last_invoked_ms = None;
                }
                if due {
                    tracking.high.last_invoked_ms = Some(time_ms);
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
                                base,
                            });
                        }
                    }
                }
            }
            if tracking.low.evaluates_at(time_ms) {
                let (_, value) = tracking.low.evaluate(time_ms);
                tracking.low_value = value;
            }
            if tracking.disable_scale_in {
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
                        base: desired,
                    });
                }
            } else {
                all_agree_in = false;
            }
        }
        if let (true, true, Some(candidate)) = (any_may_scale_in, all_agree_in, scale_in) {
            if candidate.target < self.capacity.desired && scale_in_allowed(&self.capacity) {
                self.candidates.push(candidate);
            }
        }
    }

    /// Several policies at once: the one giving the largest capacity wins, for scale-in too.
    fn apply(&mut self, time_ms: i64) {
        let Some(winner) = self.candidates.iter().max_by_key(|candidate| candidate.target).cloned() else {
            return;
        };
        let capacity = &mut self.capacity;
        let from = capacity.desired;
        if winner.target == from {
            return;
        }
        let policy = &self.scenario.policies[winner.policy];
        let group = &self.scenario.group;
        if winner.target > from {
            match capacity.service {
                ScalingService::Ec2AutoScaling => {
                    let warmup = match &policy.kind {
                        PolicyKind::Step {
                            estimated_instance_warmup,
                            ..
                        } => *estimated_instance_warmup,
                        PolicyKind::TargetTracking { scale_out_cooldown, .. } => *scale_out_cooldown,
                        PolicyKind::Simple { .. } => None,
                    }
                    .or(group.default_instance_warmup)
                    .unwrap_or(group.default_cooldown);
                    capacity
                        .warming
                        .push_back((time_ms + i64::from(warmup) * 1000, winner.target - from));
                }
                ScalingService::ApplicationAutoScaling => {
                    let cooldown = scale_out_cooldown_of(&policy.kind);
                    let base = capacity.scale_out_cooldown.map_or(from, |(_, base)| base);
                    capacity.scale_out_cooldown = Some((time_ms + i64::from(cooldown) * 1000, base));
                    // A scale-out during a scale-in cooldown happens at once and ends it.
                    capacity.scale_in_cooldown = None;
                }
            }
        } else if capacity.service == ScalingService::ApplicationAutoScaling {
            let cooldown = scale_in_cooldown_of(&policy.kind);
            capacity.scale_in_cooldown = Some(time_ms + i64::from(cooldown) * 1000);
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
        });
        let _ = winner.base;
    }
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
    time_ms: i64,
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
            let value = aggregate(tracker.recent_values(time_ms), *aggregation).unwrap_or(tracker.threshold);
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
    if outward {
        let base = scale_out_base(capacity);
        let wanted = steps::target_capacity(base, adjustment_type, adjustment, min_magnitude);
        let target = steps::clamp(wanted, capacity.min, capacity.max);
        // Only raises the desired capacity above what it already is (EC2 warming; the
        // Application Auto Scaling scale-out cooldown).
        (target > capacity.desired).then_some(Candidate {
            policy: policy_index,
            step,
            target,
            adjustment: wanted - i64::from(base),
            base,
        })
    } else {
        if !scale_in_allowed(capacity) {
            return None;
        }
        let base = capacity.desired;
        let wanted = steps::target_capacity(base, adjustment_type, adjustment, min_magnitude);
        Some(Candidate {
            policy: policy_index,
            step,
            target: steps::clamp(wanted, capacity.min, capacity.max),
            adjustment: wanted - i64::from(base),
            base,
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
