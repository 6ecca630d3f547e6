//! The closed loop: the logged requests replayed into a simulated pool of capacity × K slots
//! with one FIFO queue in front, sampled as the daemon samples nginx, the samples driving the
//! alarms and the policy ([`Engine`]), and each scaling activity resizing the pool after the
//! launch time. Pure: time is the requests' own, nothing here reads a clock or does I/O.
//!
//! What the model assumes (also in docs/simulate.md, "Closing the loop"):
//! - a request arrives at its logged end minus `$request_time` and needs one slot for its
//!   service time (`$upstream_response_time`, the sum of a multi-valued field's parts, else
//!   `$request_time`); service times are independent of the load and of each other;
//! - one FIFO queue in front of all slots (nginx's `least_conn` or a shared queue, not
//!   per-backend queues or round-robin onto a busy backend);
//! - the logged times already include the backend's own queueing when it was saturated,
//!   so a log recorded at saturation overstates the service time and the closed loop is
//!   pessimistic for it;
//! - PendingRequests is what is in the pool, in service plus queued, sampled every
//!   `sample_interval` into per-period statistic sets, as the daemon's stub_status figure;
//! - a scale-out adds its slots when the engine says its units serve: after the scenario's
//!   delays (EC2 launch to InService, or ECS task start-up and, without room in the
//!   cluster, an instance launch first; then discovery by nginx), or `launch_time` after
//!   the activity when that is given; a scale-in first cancels launches not yet serving
//!   (newest first), then removes serving units at once: their requests finish, but no new
//!   request starts until the busy slots fit the smaller pool;
//! - capacity-hours count what is paid for: desired units (launching included) plus those
//!   draining for the deregistration delay.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

use crate::scaling::scenario::{Activity, Evaluation, Scenario, SeriesPoint, SeriesStats};
use crate::simulate::engine::{Engine, Timing};
use crate::simulate::report;
use crate::sources::access_log::CompletedRequest;

/// One request as the pool sees it (microseconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Request {
    /// Unix µs: the logged end minus `$request_time`.
    pub(crate) arrival_us: i64,
    /// How long it holds a slot.
    pub(crate) service_us: u64,
}

impl Request {
    /// A logged request as an arrival; `None` without `$request_time` (when it arrived is
    /// not known).
    pub fn of(logged: &CompletedRequest) -> Option<Request> {
        let request_time = logged.request_time_us?;
        let service_us = match logged.upstream_time_us {
            Some(upstream) if upstream > 0 => upstream,
            _ => request_time,
        };
        Some(Request {
            arrival_us: logged.end_ms * 1000 - request_time as i64,
            service_us,
        })
    }
}

/// What shapes the pool and its sampling.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LoopConfig {
    /// K: requests one unit (instance or task) serves at once.
    pub unit_concurrency: u32,
    /// From a scaling activity to the new units taking requests, replacing the scenario's
    /// start-up delays (EC2 launch to InService, ECS task start-up, with room for every task
    /// and no discovery delay); `None`: the scenario's delays.
    pub launch_time_ms: Option<i64>,
    /// The daemon's `sample_interval`.
    pub sample_interval_ms: i64,
    /// The published series' period (seconds, whole).
    pub period_ms: i64,
    /// A wait longer than this counts against the SLO.
    pub slo_us: Option<u64>,
}

/// What one run of the pool gave.
#[derive(Debug, Clone, PartialEq)]
pub struct LoopOutcome {
    pub requests: u64,
    /// Queueing delay (arrival to a slot), µs.
    pub(crate) wait_p50_us: u64,
    pub(crate) wait_p99_us: u64,
    pub(crate) wait_max_us: u64,
    pub(crate) wait_mean_us: f64,
    /// Mean time in the pool (wait + service), µs: Little's W.
    pub(crate) sojourn_mean_us: f64,
    /// Requests whose wait was longer than the SLO (0 without one).
    pub(crate) over_slo: u64,
    /// Units paid for (running + launching) over the run, in unit-hours.
    pub(crate) capacity_hours: f64,
    /// Scaling activities that changed the desired capacity.
    pub activities: u64,
    /// Activities reversing the previous one within [`crate::simulate::report::FLAP_WINDOW_MS`].
    pub flaps: u64,
    /// Highest sample of PendingRequests.
    pub(crate) peak_pending: u64,
    /// Mean of the samples: Little's L.
    pub(crate) pending_mean: f64,
    pub samples: u64,
    /// First sample to the last request's end, ms.
    pub start_ms: i64,
    pub end_ms: i64,
    /// Lowest and highest capacity (units paid for) the pool had.
    pub(crate) capacity_min: u32,
    pub(crate) capacity_max: u32,
}

/// What a run shows as it goes: each datapoint and each evaluation (rows, plot, summary).
pub trait LoopObserver {
    fn point(&mut self, _point: &SeriesPoint) {}
    fn evaluation(&mut self, _evaluation: &Evaluation) {}
    /// A request took a slot at `start_us`.
    fn started(&mut self, _request: &Request, _start_us: i64) {}
}

/// Observes nothing.
pub(crate) struct Quiet;
impl LoopObserver for Quiet {}

/// The pool: units serving, slots in use, the queue.
struct Pool {
    unit_concurrency: u64,
    /// Units taking requests.
    running: u32,
    /// End times of the requests in service.
    busy: BinaryHeap<Reverse<i64>>,
    /// Requests waiting, in arrival order.
    queue: VecDeque<Request>,
}

impl Pool {
    fn slots(&self) -> usize {
        (u64::from(self.running) * self.unit_concurrency) as usize
    }

    fn pending(&self) -> u64 {
        (self.busy.len() + self.queue.len()) as u64
    }
}

/// The engine's timing for the loop: the scenario's delays, or `launch_time` in place of
/// their start-up part.
pub fn timing(scenario: &Scenario, config: &LoopConfig) -> Timing {
    let mut timing = Timing::of(scenario);
    if let Some(launch_ms) = config.launch_time_ms {
        let launch_ms = launch_ms.max(0);
        timing.ec2_launch_ms = launch_ms;
        timing.task_startup_ms = launch_ms;
        timing.spare_tasks = None;
        timing.discovery_ms = 0;
    }
    timing
}

/// Statistic set of one period's samples.
#[derive(Debug, Clone, Copy)]
struct PeriodSamples {
    count: u64,
    sum: u64,
    min: u64,
    max: u64,
}

impl PeriodSamples {
    const EMPTY: PeriodSamples = PeriodSamples {
        count: 0,
        sum: 0,
        min: u64::MAX,
        max: 0,
    };

    fn add(&mut self, value: u64) {
        self.count += 1;
        self.sum += value;
        self.min = self.min.min(value);
        self.max = self.max.max(value);
    }

    fn stats(&self) -> SeriesStats {
        SeriesStats {
            sample_count: Some(self.count as f64),
            sum: Some(self.sum as f64),
            minimum: Some(self.min as f64),
            maximum: Some(self.max as f64),
            average: Some(self.sum as f64 / self.count as f64),
        }
    }
}

/// Run the pool over `requests` (sorted by arrival). With `scenario`, the alarms and the
/// policy resize it; without, it keeps `starting_units` (the fixed-capacity baseline).
pub fn run(
    requests: &[Request],
    starting_units: u32,
    scenario: Option<&Scenario>,
    config: &LoopConfig,
    observer: &mut dyn LoopObserver,
) -> LoopOutcome {
    debug_assert!(requests.windows(2).all(|w| w[0].arrival_us <= w[1].arrival_us));
    let sample_us = config.sample_interval_ms.max(1) * 1000;
    let period_us = config.period_ms.max(1) * 1000;
    let mut engine = scenario.map(|scenario| {
        Engine::with_timing(
            scenario,
            (config.period_ms / 1000).max(1) as u32,
            timing(scenario, config),
        )
    });
    let paid = |engine: &Option<Engine>, now_us: i64| {
        engine
            .as_ref()
            .map_or(starting_units, |engine| engine.paid_at(now_us.div_euclid(1000)))
    };
    let mut pool = Pool {
        unit_concurrency: u64::from(config.unit_concurrency.max(1)),
        running: starting_units,
        busy: BinaryHeap::new(),
        queue: VecDeque::new(),
    };
    let mut waits: Vec<u64> = Vec::with_capacity(requests.len());
    let mut sojourn_total: f64 = 0.0;
    let Some(first) = requests.first() else {
        return empty_outcome(starting_units);
    };
    let start_us = first.arrival_us.div_euclid(sample_us) * sample_us;
    let mut next_sample = start_us;
    let mut period_start = start_us.div_euclid(period_us) * period_us;
    let mut period = PeriodSamples::EMPTY;
    let mut next = 0usize;
    let mut now = start_us;
    let mut capacity_unit_us = 0f64;
    let (mut capacity_min, mut capacity_max) = (starting_units, starting_units);
    let (mut activities, mut flaps, mut last_activity) = (0u64, 0u64, None::<Activity>);
    let (mut peak_pending, mut pending_total, mut samples) = (0u64, 0u64, 0u64);

    loop {
        let done = next == requests.len() && pool.queue.is_empty() && pool.busy.is_empty();
        if done {
            // The log has ended and the pool is empty: no more samples; the period under way
            // closes at its end, and the run ends there.
            if period.count == 0 {
                break;
            }
            next_sample = i64::MAX;
        }
        let next_arrival = requests.get(next).map_or(i64::MAX, |r| r.arrival_us);
        let next_end = pool.busy.peek().map_or(i64::MAX, |Reverse(t)| *t);
        // Units starting to serve or draining ones going: the engine's schedule (ms, taken
        // at the next whole ms).
        let next_launch = engine
            .as_ref()
            .and_then(|engine| engine.next_change_after(now.div_euclid(1000)))
            .map_or(i64::MAX, |ms| ms * 1000);
        let period_end = period_start + period_us;
        // Ties: requests end, launches land, the period closes, then a sample, then arrivals.
        let t = next_end
            .min(next_launch)
            .min(period_end)
            .min(next_sample)
            .min(next_arrival);
        if t > now {
            capacity_unit_us += f64::from(paid(&engine, now)) * (t - now) as f64;
        }
        now = t;
        if next_end == t {
            pool.busy.pop();
        } else if next_launch == t {
            if let Some(engine) = engine.as_ref() {
                pool.running = engine.serving_at(t / 1000);
            }
            capacity_min = capacity_min.min(paid(&engine, now));
            capacity_max = capacity_max.max(paid(&engine, now));
        } else if period_end == t {
            if period.count > 0 {
                let point = SeriesPoint {
                    start_ms: period_start / 1000,
                    stats: period.stats(),
                };
                observer.point(&point);
                if let Some(engine) = engine.as_mut() {
                    let mut evaluations: Vec<Evaluation> = Vec::new();
                    engine.push(&point, &mut |e| evaluations.push(e.clone()));
                    engine.advance(period_end / 1000, &mut |e| evaluations.push(e.clone()));
                    for evaluation in &evaluations {
                        observer.evaluation(evaluation);
                        for activity in &evaluation.activities {
                            if activity.to == activity.from {
                                continue;
                            }
                            activities += 1;
                            if last_activity
                                .as_ref()
                                .is_some_and(|last| report::is_flap(last, activity))
                            {
                                flaps += 1;
                            }
                            last_activity = Some(activity.clone());
                        }
                    }
                    pool.running = engine.serving_at(now / 1000);
                }
                capacity_min = capacity_min.min(paid(&engine, now));
                capacity_max = capacity_max.max(paid(&engine, now));
            }
            period_start = period_end;
            period = PeriodSamples::EMPTY;
            if done {
                break;
            }
        } else if next_sample == t {
            let pending = pool.pending();
            period.add(pending);
            peak_pending = peak_pending.max(pending);
            pending_total += pending;
            samples += 1;
            next_sample += sample_us;
        } else {
            pool.queue.push_back(requests[next]);
            next += 1;
        }
        // Start whatever fits.
        while pool.busy.len() < pool.slots() {
            let Some(request) = pool.queue.pop_front() else { break };
            observer.started(&request, now);
            let wait = (now - request.arrival_us).max(0) as u64;
            waits.push(wait);
            sojourn_total += (wait + request.service_us) as f64;
            pool.busy.push(Reverse(now + request.service_us as i64));
        }
    }
    let served = waits.len() as u64;
    let wait_mean_us = if served > 0 {
        waits.iter().sum::<u64>() as f64 / served as f64
    } else {
        0.0
    };
    let over_slo = config
        .slo_us
        .map_or(0, |slo| waits.iter().filter(|&&w| w > slo).count() as u64);
    let wait_max_us = waits.iter().copied().max().unwrap_or(0);
    let wait_p50_us = quantile(&mut waits, 0.50);
    let wait_p99_us = quantile(&mut waits, 0.99);
    LoopOutcome {
        requests: served,
        wait_p50_us,
        wait_p99_us,
        wait_max_us,
        wait_mean_us,
        sojourn_mean_us: if served > 0 { sojourn_total / served as f64 } else { 0.0 },
        over_slo,
        capacity_hours: capacity_unit_us / 3_600_000_000.0,
        activities,
        flaps,
        peak_pending,
        pending_mean: if samples > 0 {
            pending_total as f64 / samples as f64
        } else {
            0.0
        },
        samples,
        start_ms: start_us / 1000,
        end_ms: now / 1000,
        capacity_min,
        capacity_max,
    }
}

fn empty_outcome(units: u32) -> LoopOutcome {
    LoopOutcome {
        requests: 0,
        wait_p50_us: 0,
        wait_p99_us: 0,
        wait_max_us: 0,
        wait_mean_us: 0.0,
        sojourn_mean_us: 0.0,
        over_slo: 0,
        capacity_hours: 0.0,
        activities: 0,
        flaps: 0,
        peak_pending: 0,
        pending_mean: 0.0,
        samples: 0,
        start_ms: 0,
        end_ms: 0,
        capacity_min: units,
        capacity_max: units,
    }
}

/// The nearest-rank quantile (the smallest value with at least `q` of the values at or
/// below it); reorders `values`.
fn quantile(values: &mut [u64], q: f64) -> u64 {
    if values.is_empty() {
        return 0;
    }
    let rank = ((q * values.len() as f64).ceil() as usize).clamp(1, values.len());
    *values.select_nth_unstable(rank - 1).1
}

#[cfg(test)]
mod tests;
