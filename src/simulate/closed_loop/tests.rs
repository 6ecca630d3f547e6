//! The closed loop against queueing facts that do not depend on this code: Little's law
//! (L = λW) for a fixed pool, a step in load answered by a scale-out that brings the backlog
//! down, and properties over random logs (every request served once, capacity in bounds).

use proptest::prelude::*;

use super::*;
use crate::scaling::scenario::{
    AdjustmentType, Alarm, Comparison, Group, MetricAggregation, Policy, PolicyKind, ScalingService, Statistic,
    StepAdjustment, TreatMissingData,
};

const SECOND_US: i64 = 1_000_000;
/// 2026-12-01T00:00:00Z, a multiple of every period.
const T0_US: i64 = 1_796_083_200 * SECOND_US;

fn config(k: u32, launch_s: i64) -> LoopConfig {
    LoopConfig {
        unit_concurrency: k,
        launch_time_ms: Some(launch_s * 1000),
        sample_interval_ms: 1000,
        period_ms: 10_000,
        slo_us: Some(SECOND_US as u64),
    }
}

/// The shipped example's shape: ECS service, min 2 max 6, 10 s alarms; high: Average >= 20
/// for 3 of 3 -> +1 below 40, +2 above, cooldown 60 s; low: Average < 5 for 6 of 6 -> -1,
/// cooldown 120 s.
fn ecs_scenario(min: u32, max: u32, desired: u32) -> Scenario {
    let alarm = |name: &str, n, threshold, comparison, treat, policy| Alarm {
        name: name.into(),
        namespace: "NginxBacklog".into(),
        metric_name: "PendingRequests".into(),
        dimensions: vec![],
        statistic: Statistic::Average,
        period: 10,
        evaluation_periods: n,
        datapoints_to_alarm: n,
        threshold,
        comparison,
        treat_missing_data: treat,
        actions: vec![policy],
        actions_enabled: true,
        evaluation_window: Default::default(),
    };
    let step = |lower, upper, adjustment| StepAdjustment {
        lower_bound: lower,
        upper_bound: upper,
        scaling_adjustment: adjustment,
    };
    let policy = |name: &str, steps, cooldown| Policy {
        name: name.into(),
        arn: format!("arn:{name}"),
        enabled: true,
        kind: PolicyKind::Step {
            adjustment_type: AdjustmentType::ChangeInCapacity,
            min_adjustment_magnitude: None,
            aggregation: MetricAggregation::Average,
            steps,
            estimated_instance_warmup: None,
            cooldown: Some(cooldown),
        },
    };
    Scenario {
        delays: Default::default(),
        group: Group {
            service: ScalingService::ApplicationAutoScaling,
            name: "service/demo/web".into(),
            min_capacity: min,
            max_capacity: max,
            desired_capacity: desired,
            default_instance_warmup: None,
            default_cooldown: 300,
            suspended: Default::default(),
        },
        alarms: vec![
            alarm(
                "high",
                3,
                20.0,
                Comparison::GreaterThanOrEqualToThreshold,
                TreatMissingData::Missing,
                0,
            ),
            alarm(
                "low",
                6,
                5.0,
                Comparison::LessThanThreshold,
                TreatMissingData::NotBreaching,
                1,
            ),
        ],
        policies: vec![
            policy(
                "out",
                vec![step(Some(0.0), Some(20.0), 1), step(Some(20.0), None, 2)],
                60,
            ),
            policy("in", vec![step(None, Some(0.0), -1)], 120),
        ],
    }
}

/// A seeded generator (no dependency on the platform's randomness).
struct Lcg(u64);
impl Lcg {
    fn uniform(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((self.0 >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }
    fn exponential(&mut self, mean: f64) -> f64 {
        -mean * self.uniform().ln()
    }
}

/// Poisson arrivals at `rate` per second for `seconds`, exponential service of `mean_s`.
fn poisson(rate: f64, mean_s: f64, start_us: i64, seconds: f64, random: &mut Lcg) -> Vec<Request> {
    let mut requests = Vec::new();
    let mut t = 0.0;
    loop {
        t += random.exponential(1.0 / rate);
        if t >= seconds {
            return requests;
        }
        requests.push(Request {
            arrival_us: start_us + (t * 1e6) as i64,
            service_us: (random.exponential(mean_s) * 1e6).max(1.0) as u64,
        });
    }
}

#[test]
fn littles_law_constant_arrivals_against_a_fixed_pool_without_queueing() {
    // 20 requests a second, 400 ms each, 10 slots: L = λW = 20 × 0.4 = 8 at every sample
    // (arrivals 25 ms off the sampling instants, so none lands on one).
    let requests: Vec<Request> = (0..20 * 600)
        .map(|i| Request {
            arrival_us: T0_US + 25_000 + i * 50_000,
            service_us: 400_000,
        })
        .collect();
    let outcome = run(&requests, 5, None, &config(2, 0), &mut Quiet);
    assert_eq!(outcome.requests, requests.len() as u64);
    assert_eq!(outcome.wait_max_us, 0, "10 slots never fill");
    assert_eq!(outcome.peak_pending, 8);
    assert!(
        (outcome.pending_mean - 8.0).abs() < 0.02,
        "L = {}",
        outcome.pending_mean
    );
    assert_eq!(outcome.sojourn_mean_us, 400_000.0);
}

#[test]
fn littles_law_random_arrivals_with_queueing() {
    // M/M/8 at 62.5 % utilisation: requests do queue, and still L = λW, where L is the
    // sampled PendingRequests mean and W the measured time in the pool.
    let mut random = Lcg(42);
    let seconds = 4.0 * 3600.0;
    let requests = poisson(50.0, 0.1, T0_US, seconds, &mut random);
    let outcome = run(&requests, 4, None, &config(2, 0), &mut Quiet);
    assert_eq!(outcome.requests, requests.len() as u64);
    assert!(outcome.wait_p99_us > 0, "some requests wait at 62.5 % of 8 slots");
    let lambda = requests.len() as f64 / seconds;
    let l_from_w = lambda * outcome.sojourn_mean_us / 1e6;
    let error = (outcome.pending_mean - l_from_w).abs() / l_from_w;
    assert!(
        error < 0.02,
        "L {} vs λW {l_from_w} ({:.1} % apart)",
        outcome.pending_mean,
        error * 100.0
    );
    // And the M/M/c figure: utilisation 0.625 × 8 slots = 5 in service on average.
    let in_service = lambda * 0.1;
    assert!((in_service - 5.0).abs() < 0.1, "λ × service = {in_service}");
}

#[test]
fn a_fixed_pool_too_small_for_the_load_queues_without_end() {
    // 30 a second for 2 minutes, 1 s each, 2 × 10 slots: 10 more arrive than leave each
    // second, so the last arrival finds 1,200 ahead and waits 1,200 / 20 a second = 60 s.
    let requests: Vec<Request> = (0..30 * 120)
        .map(|i| Request {
            arrival_us: T0_US + i * SECOND_US / 30,
            service_us: SECOND_US as u64,
        })
        .collect();
    let outcome = run(&requests, 2, None, &config(10, 0), &mut Quiet);
    assert_eq!(outcome.requests, 3600);
    let max_s = outcome.wait_max_us as f64 / 1e6;
    assert!((max_s - 60.0).abs() < 1.5, "longest wait {max_s} s");
    assert!(outcome.over_slo > 3000, "{} over the 1 s SLO", outcome.over_slo);
}

/// Observes evaluations and samples for the step test.
#[derive(Default)]
struct Record {
    points: Vec<SeriesPoint>,
    evaluations: Vec<Evaluation>,
    started: Vec<(Request, i64)>,
}

impl LoopObserver for Record {
    fn point(&mut self, point: &SeriesPoint) {
        self.points.push(*point);
    }
    fn evaluation(&mut self, evaluation: &Evaluation) {
        self.evaluations.push(evaluation.clone());
    }
    fn started(&mut self, request: &Request, start_us: i64) {
        self.started.push((*request, start_us));
    }
}

#[test]
fn a_step_in_load_is_followed_by_a_scale_out_and_the_backlog_falls_within_launch_time_and_a_period() {
    // K = 10 slots a unit, 2 units: 20 slots. 5 minutes at 10 a second of 1 s (10 busy), then
    // 35 a second (needs 4 units), then 2 a second for 10 minutes (below the low alarm's 5:
    // PendingRequests counts requests, not free slots, so only less load scales in).
    let mut requests = Vec::new();
    let mut add = |from_s: i64, to_s: i64, rate: i64| {
        for i in 0..(to_s - from_s) * rate {
            requests.push(Request {
                arrival_us: T0_US + from_s * SECOND_US + i * SECOND_US / rate,
                service_us: SECOND_US as u64,
            });
        }
    };
    add(0, 300, 10);
    add(300, 600, 35);
    add(600, 1200, 2);
    let launch_s = 60;
    let scenario = ecs_scenario(2, 6, 2);
    let mut record = Record::default();
    let scaled = run(&requests, 2, Some(&scenario), &config(10, launch_s), &mut record);
    let fixed = run(&requests, 2, None, &config(10, launch_s), &mut Quiet);

    let first_out = record
        .evaluations
        .iter()
        .flat_map(|e| &e.activities)
        .find(|a| a.to > a.from)
        .expect("the step in load scales out");
    let step_ms = (T0_US / 1000) + 300_000;
    assert!(
        first_out.time_ms > step_ms && first_out.time_ms <= step_ms + 60_000,
        "scale-out {} ms after the step",
        first_out.time_ms - step_ms
    );
    // The backlog peaks once the new slots are in: the highest sample of the run is in a
    // period that starts before launch time + a period after the scale-out, and the period
    // after that one is lower.
    let landed_ms = first_out.time_ms + launch_s * 1000;
    let maximum = |p: &SeriesPoint| p.stats.maximum.unwrap();
    let peak = record
        .points
        .iter()
        .max_by(|a, b| maximum(a).total_cmp(&maximum(b)))
        .unwrap();
    assert!(
        peak.start_ms < landed_ms + 10_000,
        "the backlog peaks {} s after the units land",
        (peak.start_ms - landed_ms) / 1000
    );
    let after = record.points.iter().find(|p| p.start_ms >= landed_ms + 10_000).unwrap();
    assert!(maximum(after) < maximum(peak));
    assert_eq!(scaled.peak_pending as f64, maximum(peak));
    // And it ends well under the fixed pool, which queues for the whole 5 minutes.
    assert!(scaled.capacity_max > 2);
    assert!(
        scaled.wait_p99_us * 4 < fixed.wait_p99_us,
        "p99 wait scaled {} µs vs fixed {} µs",
        scaled.wait_p99_us,
        fixed.wait_p99_us
    );
    assert!(scaled.capacity_hours > fixed.capacity_hours);
    // The load drops back: the low alarm scales in before the end.
    assert!(
        record
            .evaluations
            .iter()
            .flat_map(|e| &e.activities)
            .any(|a| a.to < a.from),
        "scales back in"
    );
}

#[test]
fn quantiles_are_nearest_rank() {
    let mut values: Vec<u64> = (1..=100).collect();
    assert_eq!(quantile(&mut values, 0.5), 50);
    assert_eq!(quantile(&mut values, 0.99), 99);
    assert_eq!(quantile(&mut [7], 0.99), 7);
    assert_eq!(quantile(&mut [], 0.5), 0);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn every_request_is_served_exactly_once_and_capacity_stays_within_bounds(
        gaps in prop::collection::vec(0u32..400_000, 1..600),
        services in prop::collection::vec(1u32..5_000_000, 1..600),
        k in 1u32..8,
        min in 1u32..3,
        extra in 0u32..5,
        launch_s in 0i64..120,
    ) {
        let max = min + extra;
        let mut t = T0_US;
        let requests: Vec<Request> = gaps
            .iter()
            .zip(services.iter().cycle())
            .map(|(gap, service)| {
                t += i64::from(*gap);
                Request { arrival_us: t, service_us: u64::from(*service) }
            })
            .collect();
        let scenario = ecs_scenario(min, max, min);
        let mut record = Record::default();
        let outcome = run(&requests, min, Some(&scenario), &config(k, launch_s), &mut record);
        prop_assert_eq!(outcome.requests, requests.len() as u64);
        let mut served: Vec<Request> = record.started.iter().map(|(r, _)| *r).collect();
        served.sort();
        let mut expected = requests.clone();
        expected.sort();
        prop_assert_eq!(served, expected);
        for (request, start) in &record.started {
            prop_assert!(*start >= request.arrival_us);
        }
        prop_assert!(outcome.capacity_min >= min && outcome.capacity_max <= max);
        for evaluation in &record.evaluations {
            prop_assert!(evaluation.desired_capacity >= min && evaluation.desired_capacity <= max);
        }
        // The run ends after the last request does.
        let last_end = record.started.iter().map(|(r, s)| s + r.service_us as i64).max().unwrap();
        prop_assert!(outcome.end_ms * 1000 >= last_end - 1000);
    }
}
