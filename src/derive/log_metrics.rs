//! Access-log signals as datapoints of extra CloudWatch metrics (`access_log.publish`).
//! Pure: one closed period in, one datapoint per configured metric out.

use std::time::{Duration, UNIX_EPOCH};

use crate::derive::log_signals::PeriodSignals;
use crate::model::{Datapoint, LogMetric, Metric, StatisticSet};

/// The period's value of `metric`, or `None` when the period has none (a quantile of a
/// period without requests): no datapoint then, never a made-up 0.
pub fn value(period: &PeriodSignals, metric: LogMetric) -> Option<f64> {
    let q = |quantiles: &crate::derive::log_signals::Quantiles, which: usize| match which {
        50 => quantiles.p50,
        90 => quantiles.p90,
        _ => quantiles.p99,
    };
    match metric {
        LogMetric::RequestsCompleted => Some(period.completed as f64),
        LogMetric::Responses5xx => Some(period.status_5xx as f64),
        LogMetric::Responses499 => Some(period.status_499 as f64),
        LogMetric::RequestTimeP50 => q(&period.request_time, 50),
        LogMetric::RequestTimeP90 => q(&period.request_time, 90),
        LogMetric::RequestTimeP99 => q(&period.request_time, 99),
        LogMetric::UpstreamResponseTimeP50 => q(&period.upstream_response_time, 50),
        LogMetric::UpstreamResponseTimeP90 => q(&period.upstream_response_time, 90),
        LogMetric::UpstreamResponseTimeP99 => q(&period.upstream_response_time, 99),
        LogMetric::LogInFlightAverage => Some(period.in_flight_average),
        LogMetric::LogInFlightPeak => Some(period.in_flight_peak as f64),
    }
    .filter(|v| v.is_finite())
}

/// A period in which no request completed, while the log was being read: its counts are a
/// measured 0 and its quantiles do not exist.
pub(crate) fn quiet_period(start_ms: i64, period_ms: i64) -> PeriodSignals {
    PeriodSignals {
        start_ms,
        period_ms,
        completed: 0,
        by_class: [0; 6],
        status_499: 0,
        status_5xx: 0,
        request_time: Default::default(),
        upstream_response_time: Default::default(),
        in_flight_average: 0.0,
        in_flight_peak: 0,
        in_flight_per_second: Vec::new(),
        breakdown: Vec::new(),
    }
}

/// The first period whose lines were all read. Reading begins mid-log (at a checkpoint,
/// at the end of the file, after a restart), and the lines before that point were read by an
/// earlier process or not at all, so a period that has lines on both sides of it is partial
/// and is not published (a low count would be a lie). nginx logs a line when its request
/// ends, so the lines before the point all ended before the task started and before the
/// first line read (`first_end_ms`): a period starting at or after `first_whole_ms` (the
/// first whole period after the task started), or after the first line's own period, has
/// none of them.
pub(crate) fn first_complete_period(first_end_ms: i64, period_ms: i64, first_whole_ms: i64) -> i64 {
    let after_first_line = first_end_ms.div_euclid(period_ms) * period_ms + period_ms;
    after_first_line.min(first_whole_ms)
}

/// Periods with no line at all never leave [`crate::derive::log_signals::LogSignals`]; this
/// finds them. Whether a period has closed is LogSignals' decision alone
/// ([`LogSignals::closed_until_ms`](crate::derive::log_signals::LogSignals::closed_until_ms)),
/// so a period is either popped there or reported here, never both.
#[derive(Debug)]
pub(crate) struct QuietPeriods {
    period_ms: i64,
    first_whole_ms: i64,
    /// The start of the next period not yet accounted for.
    next_ms: i64,
}

impl QuietPeriods {
    /// Start with the first whole period after `started_ms` (earlier ones were partly unread).
    pub fn new(started_ms: i64, period_ms: i64) -> Self {
        let first_whole_ms = (started_ms + period_ms - 1).div_euclid(period_ms) * period_ms;
        QuietPeriods {
            period_ms,
            first_whole_ms,
            next_ms: first_whole_ms,
        }
    }

    pub fn period_ms(&self) -> i64 {
        self.period_ms
    }

    /// The first whole period after the task started.
    pub(crate) fn first_whole_ms(&self) -> i64 {
        self.first_whole_ms
    }

    /// Periods that ended by `closed_until_ms` (LogSignals' own) and were not among `popped`
    /// (starts, in ms). With `readable` false (the log could not be read), they are skipped:
    /// unknown, not quiet.
    pub fn closed(&mut self, closed_until_ms: i64, popped: &[i64], readable: bool) -> Vec<i64> {
        let mut quiet = Vec::new();
        while self.next_ms + self.period_ms <= closed_until_ms {
            if readable && !popped.contains(&self.next_ms) {
                quiet.push(self.next_ms);
            }
            self.next_ms += self.period_ms;
        }
        quiet
    }
}

/// One datapoint per metric in `metrics` that has a value, stamped with the period's start.
pub fn datapoints(period: &PeriodSignals, metrics: &[LogMetric]) -> Vec<Datapoint> {
    let timestamp = UNIX_EPOCH + Duration::from_millis(period.start_ms.max(0) as u64);
    metrics
        .iter()
        .filter_map(|&metric| {
            value(period, metric).map(|v| Datapoint {
                timestamp,
                stats: StatisticSet::of(v),
                metric: Metric::Log(metric),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::derive::log_signals::{LogSignals, Quantiles, SignalsConfig};
    use crate::sources::access_log::CompletedRequest;

    fn period() -> PeriodSignals {
        PeriodSignals {
            start_ms: 1_800_000_010_000,
            period_ms: 10_000,
            completed: 42,
            by_class: [0, 30, 0, 5, 7, 0],
            status_499: 3,
            status_5xx: 7,
            request_time: Quantiles {
                p50: Some(0.01),
                p90: Some(0.2),
                p99: Some(1.5),
                count: 30,
                sum_micros: 12_000_000,
            },
            upstream_response_time: Quantiles::default(),
            in_flight_average: 2.5,
            in_flight_peak: 9,
            in_flight_per_second: vec![],
            breakdown: vec![],
        }
    }

    #[test]
    fn each_metric_reads_its_own_signal() {
        let p = period();
        let got: Vec<(LogMetric, Option<f64>)> = LogMetric::ALL.iter().map(|&m| (m, value(&p, m))).collect();
        assert_eq!(
            got,
            vec![
                (LogMetric::RequestsCompleted, Some(42.0)),
                (LogMetric::Responses5xx, Some(7.0)),
                (LogMetric::Responses499, Some(3.0)),
                (LogMetric::RequestTimeP50, Some(0.01)),
                (LogMetric::RequestTimeP90, Some(0.2)),
                (LogMetric::RequestTimeP99, Some(1.5)),
                (LogMetric::UpstreamResponseTimeP50, None),
                (LogMetric::UpstreamResponseTimeP90, None),
                (LogMetric::UpstreamResponseTimeP99, None),
                (LogMetric::LogInFlightAverage, Some(2.5)),
                (LogMetric::LogInFlightPeak, Some(9.0)),
            ]
        );
    }

    #[test]
    fn a_period_without_a_quantile_publishes_no_datapoint_for_it() {
        let p = period();
        let points = datapoints(
            &p,
            &[
                LogMetric::UpstreamResponseTimeP99,
                LogMetric::Responses5xx,
                LogMetric::RequestTimeP99,
            ],
        );
        let metrics: Vec<Metric> = points.iter().map(|d| d.metric).collect();
        assert_eq!(
            metrics,
            vec![
                Metric::Log(LogMetric::Responses5xx),
                Metric::Log(LogMetric::RequestTimeP99)
            ]
        );
        assert!(points
            .iter()
            .all(|d| d.timestamp == UNIX_EPOCH + Duration::from_secs(1_800_000_010)));
        assert_eq!(points[1].stats, StatisticSet::of(1.5));
    }

    #[test]
    fn the_first_complete_period_is_the_first_with_no_line_before_reading_began() {
        // 10 s periods, the task started at 105.5 s (first whole period: 110).
        for (first_end_ms, expected, why) in [
            (
                105_600,
                110_000,
                "live: the period being written when reading began is partial",
            ),
            (118_000, 110_000, "a quiet start: 110.. began after the task did"),
            (
                42_000,
                50_000,
                "a catch-up from an old checkpoint: 40.. is partial, 50.. on are whole",
            ),
            (40_000, 50_000, "a line on a period's first millisecond still shares it"),
        ] {
            assert_eq!(first_complete_period(first_end_ms, 10_000, 110_000), expected, "{why}");
        }
    }

    fn signals_settling_for(settle_s: u64) -> LogSignals {
        let mut config = SignalsConfig::new(Duration::from_secs(10));
        config.settle = Duration::from_secs(settle_s);
        LogSignals::new(config).unwrap()
    }

    #[test]
    fn quiet_periods_are_those_closed_without_a_popped_one() {
        // 10 s periods, settle 2 s, started at 13.5 s: the first whole period is 20..30.
        let mut signals = signals_settling_for(2);
        let mut quiet = QuietPeriods::new(13_500, 10_000);
        let mut closed_at = |now_ms| {
            signals.advance_to(now_ms);
            signals.closed_until_ms()
        };
        assert_eq!(
            quiet.closed(closed_at(31_999), &[], true),
            Vec::<i64>::new(),
            "20..30 closes at 32 s"
        );
        assert_eq!(quiet.closed(closed_at(32_000), &[], true), vec![20_000]);
        // 30..40 had lines (popped by LogSignals), 40..50 did not.
        assert_eq!(quiet.closed(closed_at(52_500), &[30_000], true), vec![40_000]);
        // The log could not be read during 50..60: unknown, not quiet.
        assert_eq!(quiet.closed(closed_at(62_000), &[], false), Vec::<i64>::new());
        assert_eq!(quiet.closed(closed_at(72_000), &[], true), vec![60_000]);
    }

    /// Driven as the daemon drives them: requests in some periods, the clock advanced in
    /// small steps. Every period is either popped by LogSignals or found quiet, exactly once,
    /// at the same moment either way.
    #[test]
    fn each_period_closes_once_whether_it_had_requests_or_not() {
        let mut signals = signals_settling_for(3);
        let mut quiet = QuietPeriods::new(0, 10_000);
        let ends = [12_500, 15_000, 41_000, 41_999, 70_000];
        let mut closed: Vec<(i64, i64)> = Vec::new();
        for now_ms in (0..100_000).step_by(250) {
            for &end_ms in ends.iter().filter(|&&end| end <= now_ms && end > now_ms - 250) {
                signals.observe(&CompletedRequest {
                    end_ms,
                    status: 200,
                    request_time_us: Some(100_000),
                    upstream_time_us: None,
                    breakdown: None,
                });
            }
            signals.advance_to(now_ms);
            let mut popped = Vec::new();
            while let Some(period) = signals.pop_closed() {
                popped.push(period.start_ms);
                closed.push((period.start_ms, now_ms));
            }
            for start_ms in quiet.closed(signals.closed_until_ms(), &popped, true) {
                closed.push((start_ms, now_ms));
            }
        }
        closed.sort();
        let expected: Vec<(i64, i64)> = (0..9).map(|p| (p * 10_000, p * 10_000 + 13_000)).collect();
        assert_eq!(closed, expected, "(period start, when it closed)");
    }

    #[test]
    fn a_quiet_period_counts_zero_and_has_no_quantiles() {
        let points = datapoints(&quiet_period(20_000, 10_000), &LogMetric::ALL);
        let metrics: Vec<LogMetric> = points
            .iter()
            .map(|d| match d.metric {
                Metric::Log(m) => m,
                Metric::Pending => unreachable!(),
            })
            .collect();
        assert_eq!(
            metrics,
            vec![
                LogMetric::RequestsCompleted,
                LogMetric::Responses5xx,
                LogMetric::Responses499,
                LogMetric::LogInFlightAverage,
                LogMetric::LogInFlightPeak
            ]
        );
        assert!(points.iter().all(|d| d.stats == StatisticSet::of(0.0)));
    }

    #[test]
    fn names_and_codes_round_trip_and_are_unique() {
        let mut codes = std::collections::BTreeSet::new();
        for metric in LogMetric::ALL {
            assert_eq!(LogMetric::from_name(metric.name()), Some(metric));
            assert_eq!(Metric::from_code(metric.code()), Some(Metric::Log(metric)));
            assert!(codes.insert(metric.code()), "{metric:?}");
            assert_ne!(metric.code(), Metric::Pending.code());
        }
        assert_eq!(Metric::from_code(0), Some(Metric::Pending));
        assert_eq!(Metric::from_code(200), None);
    }
}
