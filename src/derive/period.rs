//! Groups per-sample values into periods aligned to the wall clock and summarises each
//! as a CloudWatch statistic set. A period in which no sample succeeded yields no
//! datapoint at all: the exporter never publishes a 0 it did not see.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::model::{Datapoint, StatisticSet};

/// Start of the period holding `at`: periods are aligned to multiples of `period` since the epoch.
pub(crate) fn period_start(at: SystemTime, period: Duration) -> SystemTime {
    let since_epoch = at.duration_since(UNIX_EPOCH).unwrap_or_default().as_millis();
    let period_ms = period.as_millis().max(1);
    UNIX_EPOCH + Duration::from_millis((since_epoch - since_epoch % period_ms) as u64)
}

/// What a finished period amounts to.
#[derive(Debug, Clone, PartialEq)]
pub enum Closed {
    /// At least one sample succeeded: the summary, and the values in sample order.
    Datapoint { datapoint: Datapoint, values: Vec<f64> },
    /// Every sample failed: publish nothing for this period.
    Blind {
        period_start: SystemTime,
        failed_samples: u32,
    },
}

#[derive(Debug)]
pub(crate) struct PeriodAccumulator {
    period: Duration,
    /// Samples a period holds, so the values vector is allocated once per period.
    samples_per_period: usize,
    current: Option<Current>,
}

#[derive(Debug)]
struct Current {
    start: SystemTime,
    stats: Option<StatisticSet>,
    values: Vec<f64>,
    failed: u32,
}

impl PeriodAccumulator {
    pub fn new(period: Duration, samples_per_period: usize) -> Self {
        PeriodAccumulator {
            period,
            samples_per_period,
            current: None,
        }
    }

    /// Move to the period holding `at`, returning the previous one if `at` left it.
    pub(crate) fn roll(&mut self, at: SystemTime) -> Option<Closed> {
        let start = period_start(at, self.period);
        if self.current.as_ref().is_some_and(|c| c.start == start) {
            return None;
        }
        let closed = self.flush();
        self.current = Some(Current {
            start,
            stats: None,
            values: Vec::with_capacity(self.samples_per_period),
            failed: 0,
        });
        closed
    }

    /// Record one sample of the current period: `Some(value)` if it succeeded.
    pub fn add(&mut self, value: Option<f64>) {
        let Some(current) = self.current.as_mut() else {
            return;
        };
        if let Some(v) = value {
            current.values.push(v);
        }
        match (value, current.stats.as_mut()) {
            (Some(v), Some(stats)) => stats.add(v),
            (Some(v), None) => current.stats = Some(StatisticSet::of(v)),
            (None, _) => current.failed += 1,
        }
    }

    /// Close the current period as it stands (on shutdown, or at the end of `once`).
    pub(crate) fn flush(&mut self) -> Option<Closed> {
        let current = self.current.take()?;
        Some(match current.stats {
            Some(stats) => Closed::Datapoint {
                datapoint: Datapoint::pending(current.start, stats),
                values: current.values,
            },
            None => Closed::Blind {
                period_start: current.start,
                failed_samples: current.failed,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(ms)
    }

    #[test]
    fn periods_align_to_the_epoch() {
        let ten = Duration::from_secs(10);
        assert_eq!(period_start(at(1_700_000_009_999), ten), at(1_700_000_000_000));
        assert_eq!(period_start(at(1_700_000_010_000), ten), at(1_700_000_010_000));
        assert_eq!(period_start(at(61_500), Duration::from_secs(60)), at(60_000));
    }

    #[test]
    fn summarises_a_period_when_the_next_begins() {
        let mut acc = PeriodAccumulator::new(Duration::from_secs(10), 10);
        for (i, value) in [3.0, 7.0, 5.0].into_iter().enumerate() {
            assert_eq!(acc.roll(at(20_000 + i as u64 * 1000)), None);
            acc.add(Some(value));
        }
        acc.roll(at(25_000));
        acc.add(None); // a failed sample does not count as a value
        let closed = acc.roll(at(30_000)).expect("period 20..30 s closes at 30 s");
        assert_eq!(
            closed,
            Closed::Datapoint {
                datapoint: Datapoint {
                    timestamp: at(20_000),
                    stats: StatisticSet {
                        sample_count: 3.0,
                        sum: 15.0,
                        minimum: 3.0,
                        maximum: 7.0
                    },
                    metric: crate::model::Metric::Pending,
                },
                values: vec![3.0, 7.0, 5.0],
            }
        );
    }

    #[test]
    fn a_period_with_only_failures_is_blind_not_zero() {
        let mut acc = PeriodAccumulator::new(Duration::from_secs(10), 10);
        acc.roll(at(0));
        acc.add(None);
        acc.roll(at(1000));
        acc.add(None);
        assert_eq!(
            acc.roll(at(10_000)),
            Some(Closed::Blind {
                period_start: at(0),
                failed_samples: 2
            })
        );
    }

    #[test]
    fn flush_closes_a_partial_period() {
        let mut acc = PeriodAccumulator::new(Duration::from_secs(10), 10);
        acc.roll(at(40_000));
        acc.add(Some(2.0));
        match acc.flush() {
            Some(Closed::Datapoint { datapoint, values }) => {
                assert_eq!((datapoint.timestamp, datapoint.stats.sample_count), (at(40_000), 1.0));
                assert_eq!(values, vec![2.0]);
            }
            other => panic!("unexpected {other:?}"),
        }
        assert_eq!(acc.flush(), None, "nothing left after a flush");
    }
}
