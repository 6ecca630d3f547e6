//! CloudWatch alarm evaluation, as the CloudWatch User Guide describes it ("Using Amazon
//! CloudWatch alarms" and its section "Configuring how CloudWatch alarms treat missing
//! data"): clock-aligned periods, M of N, the evaluation range, TreatMissingData, and the
//! rule that avoids premature transitions to ALARM.
//!
//! [`evaluate`] is the rule on one evaluation range; [`AlarmTracker`] folds a series into
//! an alarm's periods and keeps only the range it needs, so memory does not grow with the
//! series.

use std::collections::VecDeque;

use crate::scaling::model::{Alarm, AlarmState, Comparison, SeriesStats, Statistic, TreatMissingData};

/// One period of the evaluation range as the alarm classifies it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Point {
    Breaching,
    NotBreaching,
    Missing,
}

/// How many periods CloudWatch retrieves: "a higher number of data points than the number
/// specified as Evaluation Periods"; the exact number "depends on the length of the alarm
/// period and whether it is based on a metric with standard resolution or high
/// resolution". The guide's only figure is 5 for 3 evaluation periods; the model takes N + 2
/// for every N (an assumption, stated in the README).
pub fn evaluation_range(evaluation_periods: u32) -> usize {
    evaluation_periods as usize + 2
}

/// The state after one evaluation of `range` (oldest first, newest last, `evaluation_range`
/// long) for an M (`datapoints_to_alarm`) of N (`evaluation_periods`) alarm.
///
/// - At least N real points in the range: the newest N real points decide, and
///   TreatMissingData is not used.
/// - None: `missing` -> INSUFFICIENT_DATA, `ignore` -> the current state, `breaching` ->
///   ALARM, `notBreaching` -> OK.
/// - Fewer than N: every real point counts, and N − real missing points are filled with the
///   TreatMissingData value (`missing` and `ignore` fill with nothing that breaches). Before
///   that, for `missing` and `ignore`, the premature-alarm rule: when every real point in the
///   range breaches and the oldest real point within the last N periods breaches and is at
///   least M periods old, the alarm goes to ALARM with `missing` (and keeps its state with
///   `ignore`, as the guide's two tables show).
pub fn evaluate(
    range: &[Point],
    evaluation_periods: u32,
    datapoints_to_alarm: u32,
    treat: TreatMissingData,
    current: AlarmState,
) -> AlarmState {
    let n = evaluation_periods as usize;
    let m = datapoints_to_alarm as usize;
    let real: Vec<(usize, Point)> = range
        .iter()
        .rev()
        .enumerate()
        .filter(|(_, p)| **p != Point::Missing)
        .map(|(age, p)| (age + 1, *p))
        .collect();
    let decide = |breaching: usize| {
        if breaching >= m {
            AlarmState::Alarm
        } else {
            AlarmState::Ok
        }
    };
    if real.len() >= n {
        let breaching = real[..n].iter().filter(|(_, p)| *p == Point::Breaching).count();
        return decide(breaching);
    }
    if real.is_empty() {
        return match treat {
            TreatMissingData::Missing => AlarmState::InsufficientData,
            TreatMissingData::Ignore => current,
            TreatMissingData::Breaching => AlarmState::Alarm,
            TreatMissingData::NotBreaching => AlarmState::Ok,
        };
    }
    let breaching_real = real.iter().filter(|(_, p)| *p == Point::Breaching).count();
    let fill = n - real.len();
    match treat {
        TreatMissingData::Breaching => decide(breaching_real + fill),
        TreatMissingData::NotBreaching => decide(breaching_real),
        TreatMissingData::Missing | TreatMissingData::Ignore => {
            let all_breach = breaching_real == real.len();
            // `real` is newest first: the last entry within N periods is the oldest there.
            let oldest_within_n = real.iter().rev().find(|(age, _)| *age <= n);
            let premature = all_breach && oldest_within_n.is_some_and(|(age, _)| *age >= m);
            match (premature, treat) {
                (true, TreatMissingData::Missing) => AlarmState::Alarm,
                (true, _) => current,
                (false, _) => decide(breaching_real),
            }
        }
    }
}

/// A statistic set being built from the series points of one alarm period: CloudWatch
/// aggregates statistic sets by adding SampleCount and Sum and taking the extremes.
#[derive(Debug, Clone, Copy, Default)]
pub struct StatsAccumulator {
    sample_count: Option<f64>,
    sum: Option<f64>,
    minimum: Option<f64>,
    maximum: Option<f64>,
    /// Sum and number of the sources' averages, for a source that has no SampleCount/Sum.
    average_total: f64,
    averages: u32,
    points: u32,
}

fn add(a: Option<f64>, b: Option<f64>, f: fn(f64, f64) -> f64) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(f(a, b)),
        (a, None) => a,
        (None, b) => b,
    }
}

impl StatsAccumulator {
    pub fn add(&mut self, stats: &SeriesStats) {
        self.sample_count = add(self.sample_count, stats.sample_count, |a, b| a + b);
        self.sum = add(self.sum, stats.sum, |a, b| a + b);
        self.minimum = add(self.minimum, stats.minimum, f64::min);
        self.maximum = add(self.maximum, stats.maximum, f64::max);
        if let Some(average) = stats.average {
            self.average_total += average;
            self.averages += 1;
        }
        self.points += 1;
    }

    /// The statistic of the period. Average is Sum / SampleCount when every point had both,
    /// else the mean of the points' averages (equal weights: the source gave no counts).
    pub fn get(&self, statistic: Statistic) -> Option<f64> {
        match statistic {
            Statistic::Average => {
                let from_sums = match (self.sum, self.sample_count) {
                    (Some(sum), Some(count)) if count > 0.0 => Some(sum / count),
                    _ => None,
                };
                from_sums.or((self.averages > 0).then(|| self.average_total / f64::from(self.averages)))
            }
            Statistic::Maximum => self.maximum,
            Statistic::Minimum => self.minimum,
            Statistic::Sum => self.sum,
            Statistic::SampleCount => self.sample_count,
        }
    }
}

/// The periods of one alarm: the series folded into clock-aligned periods of the alarm's
/// length, only the last `evaluation_range` of them kept.
#[derive(Debug, Clone)]
pub struct AlarmTracker {
    pub period_ms: i64,
    pub evaluation_periods: u32,
    pub datapoints_to_alarm: u32,
    pub threshold: f64,
    pub comparison: Comparison,
    pub treat: TreatMissingData,
    pub statistic: Statistic,
    /// A series coarser than the alarm period: the alarm sees nothing (60 s data under a
    /// 10 s alarm).
    blind: bool,
    /// Period start -> its statistic set; starts ascending.
    periods: VecDeque<(i64, StatsAccumulator)>,
    pub state: AlarmState,
    /// When its actions last ran (for the repeat while in ALARM).
    pub last_invoked_ms: Option<i64>,
}

impl AlarmTracker {
    pub fn new(alarm: &Alarm, series_period_s: u32) -> AlarmTracker {
        AlarmTracker {
            period_ms: i64::from(alarm.period) * 1000,
            evaluation_periods: alarm.evaluation_periods,
            datapoints_to_alarm: alarm.datapoints_to_alarm,
            threshold: alarm.threshold,
            comparison: alarm.comparison,
            treat: alarm.treat_missing_data,
            statistic: alarm.statistic,
            blind: series_period_s > alarm.period,
            periods: VecDeque::new(),
            state: AlarmState::InsufficientData,
            last_invoked_ms: None,
        }
    }

    /// Evaluated every 10 s when the period is under a minute, else once a minute.
    pub fn evaluates_at(&self, time_ms: i64) -> bool {
        let every = if self.period_ms < 60_000 { 10_000 } else { 60_000 };
        time_ms.rem_euclid(every) == 0
    }

    pub fn add(&mut self, start_ms: i64, stats: &SeriesStats) {
        if self.blind {
            return;
        }
        let period_start = start_ms.div_euclid(self.period_ms) * self.period_ms;
        match self.periods.back_mut() {
            Some((start, accumulator)) if *start == period_start => accumulator.add(stats),
            _ => {
                let mut accumulator = StatsAccumulator::default();
                accumulator.add(stats);
                self.periods.push_back((period_start, accumulator));
            }
        }
    }

    /// The value of the period starting at `start_ms`, if it had data.
    fn value(&self, start_ms: i64) -> Option<f64> {
        self.periods
            .iter()
            .rev()
            .find(|(start, _)| *start == start_ms)
            .and_then(|(_, accumulator)| accumulator.get(self.statistic))
    }

    /// Evaluate at `time_ms`: the range is the `evaluation_range` whole periods that ended at
    /// or before it (data is taken as available when its period ends). Returns the state and
    /// the newest period's value.
    pub fn evaluate(&mut self, time_ms: i64) -> (AlarmState, Option<f64>) {
        let end = time_ms.div_euclid(self.period_ms) * self.period_ms;
        let range_len = evaluation_range(self.evaluation_periods);
        let first = end - range_len as i64 * self.period_ms;
        while self.periods.front().is_some_and(|(start, _)| *start < first) {
            self.periods.pop_front();
        }
        let mut range = [Point::Missing; 16];
        let mut long_range = Vec::new();
        let points: &mut [Point] = if range_len <= range.len() {
            &mut range[..range_len]
        } else {
            long_range.resize(range_len, Point::Missing);
            &mut long_range
        };
        for (i, point) in points.iter_mut().enumerate() {
            let start = first + i as i64 * self.period_ms;
            if let Some(value) = self.value(start) {
                *point = if self.comparison.breaches(value, self.threshold) {
                    Point::Breaching
                } else {
                    Point::NotBreaching
                };
            }
        }
        self.state = evaluate(
            points,
            self.evaluation_periods,
            self.datapoints_to_alarm,
            self.treat,
            self.state,
        );
        (self.state, self.value(end - self.period_ms))
    }

    /// The real values of the newest N periods (what a step policy aggregates).
    pub fn recent_values(&self, time_ms: i64) -> impl Iterator<Item = f64> + '_ {
        let end = time_ms.div_euclid(self.period_ms) * self.period_ms;
        let first = end - i64::from(self.evaluation_periods) * self.period_ms;
        self.periods
            .iter()
            .filter(move |(start, _)| *start >= first && *start < end)
            .filter_map(|(_, accumulator)| accumulator.get(self.statistic))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use AlarmState::{Alarm as A, InsufficientData as I, Ok as O};

    /// "0 - X - X" as in the guide: 0 not breaching, X breaching, - missing, newest last.
    fn range(text: &str) -> Vec<Point> {
        text.split_whitespace()
            .map(|p| match p {
                "0" => Point::NotBreaching,
                "X" => Point::Breaching,
                "-" => Point::Missing,
                other => panic!("bad point {other}"),
            })
            .collect()
    }

    /// One row of the guide's tables: the state under MISSING, IGNORE, BREACHING and NOT
    /// BREACHING; `None` for "Retain current state" (checked from each starting state).
    fn check(points: &str, n: u32, m: u32, expected: [Option<AlarmState>; 4]) {
        let treats = [
            TreatMissingData::Missing,
            TreatMissingData::Ignore,
            TreatMissingData::Breaching,
            TreatMissingData::NotBreaching,
        ];
        for (treat, want) in treats.into_iter().zip(expected) {
            for current in [O, A, I] {
                let got = evaluate(&range(points), n, m, treat, current);
                assert_eq!(
                    got,
                    want.unwrap_or(current),
                    "{points:?} {m} of {n}, {treat:?}, from {current:?}"
                );
            }
        }
    }

    /// alarms-and-missing-data, first table: Datapoints to Alarm and Evaluation Periods 3.
    #[test]
    fn alarms_and_missing_data_table_1_three_of_three() {
        check("0 - X - X", 3, 3, [Some(O), Some(O), Some(O), Some(O)]);
        check("0 - - - -", 3, 3, [Some(O), Some(O), Some(O), Some(O)]);
        check("- - - - -", 3, 3, [Some(I), None, Some(A), Some(O)]);
        check("0 X X - X", 3, 3, [Some(A), Some(A), Some(A), Some(A)]);
        check("- - X - -", 3, 3, [Some(A), None, Some(A), Some(O)]);
    }

    /// alarms-and-missing-data, second table: 2 out of 3.
    #[test]
    fn alarms_and_missing_data_table_2_two_of_three() {
        check("0 - X - X", 3, 2, [Some(A), Some(A), Some(A), Some(A)]);
        check("0 0 X 0 X", 3, 2, [Some(A), Some(A), Some(A), Some(A)]);
        check("0 - X - -", 3, 2, [Some(O), Some(O), Some(A), Some(O)]);
        check("- - - - 0", 3, 2, [Some(O), Some(O), Some(A), Some(O)]);
        check("- - - X -", 3, 2, [Some(A), None, Some(A), Some(O)]);
    }

    /// alarms-and-missing-data, "Avoiding premature transitions to alarm state": `- - - - X`
    /// and `- - - X -` do not alarm a 3 of 3 alarm yet; `- - X - -` does.
    #[test]
    fn premature_transitions_are_avoided() {
        let missing = TreatMissingData::Missing;
        assert_eq!(evaluate(&range("- - - - X"), 3, 3, missing, O), O);
        assert_eq!(evaluate(&range("- - - X -"), 3, 3, missing, O), O);
        assert_eq!(evaluate(&range("- - - X 0"), 3, 3, missing, O), O);
        assert_eq!(evaluate(&range("- - X - -"), 3, 3, missing, O), A);
    }

    /// AlarmThatSendsEmail: "breaching points need not be consecutive" (M of N).
    #[test]
    fn m_of_n_counts_breaches_that_are_not_consecutive() {
        let notb = TreatMissingData::NotBreaching;
        assert_eq!(evaluate(&range("0 0 X 0 X"), 3, 2, notb, O), A);
        assert_eq!(evaluate(&range("0 0 X 0 0"), 3, 2, notb, O), O);
        assert_eq!(evaluate(&range("X 0 X 0 X 0 X"), 5, 3, notb, O), A);
    }

    fn alarm(period: u32, n: u32, m: u32) -> Alarm {
        Alarm {
            name: "high".into(),
            namespace: "NginxBacklog".into(),
            metric_name: "PendingRequests".into(),
            dimensions: vec![],
            statistic: Statistic::Average,
            period,
            evaluation_periods: n,
            datapoints_to_alarm: m,
            threshold: 10.0,
            comparison: Comparison::GreaterThanOrEqualToThreshold,
            treat_missing_data: TreatMissingData::Missing,
            actions: vec![],
            actions_enabled: true,
            evaluation_window: Default::default(),
        }
    }

    fn stats(sum: f64, count: f64) -> SeriesStats {
        SeriesStats {
            sample_count: Some(count),
            sum: Some(sum),
            minimum: None,
            maximum: None,
            average: None,
        }
    }

    /// A 60 s alarm over a 10 s series: six statistic sets make one period, Average is the
    /// total Sum over the total SampleCount, and the period counts once it has ended.
    #[test]
    fn series_points_fold_into_clock_aligned_alarm_periods() {
        let mut tracker = AlarmTracker::new(&alarm(60, 1, 1), 10);
        for i in 0..6 {
            // Averages 0, 2, 4, ... 10 over 10 samples each: 50 over 60 -> 5.
            tracker.add(60_000 + i * 10_000, &stats(20.0 * i as f64, 10.0));
        }
        tracker.add(120_000, &stats(1000.0, 10.0));
        assert_eq!(tracker.evaluate(120_000), (O, Some(5.0)));
        // The 120 s period (average 100) has not ended at 179 s; it is seen at 180 s.
        assert_eq!(tracker.evaluate(170_000).1, Some(5.0));
        assert_eq!(tracker.evaluate(180_000), (A, Some(100.0)));
    }

    /// SCALING.md / AlarmThatSendsEmail: a period under 60 s needs 1 s-resolution data; on a
    /// 60 s series a 10 s alarm has nothing to evaluate.
    #[test]
    fn a_sub_minute_alarm_on_a_minute_series_sees_nothing() {
        let mut tracker = AlarmTracker::new(&alarm(10, 3, 3), 60);
        for i in 0..10 {
            tracker.add(i * 60_000, &stats(1000.0, 1.0));
        }
        assert_eq!(tracker.evaluate(600_000), (I, None));
    }

    #[test]
    fn evaluation_cadence_follows_the_period() {
        let sub_minute = AlarmTracker::new(&alarm(10, 3, 3), 10);
        let minute = AlarmTracker::new(&alarm(300, 1, 1), 10);
        assert!(sub_minute.evaluates_at(70_000));
        assert!(!minute.evaluates_at(70_000));
        assert!(minute.evaluates_at(120_000));
    }

    /// An Average over points that carry only averages (a CSV of Average alone) weighs them
    /// equally; with counts it is Sum / SampleCount.
    #[test]
    fn averages_without_counts_are_weighed_equally() {
        let mut accumulator = StatsAccumulator::default();
        for average in [1.0, 2.0, 6.0] {
            accumulator.add(&SeriesStats {
                average: Some(average),
                ..SeriesStats::default()
            });
        }
        assert_eq!(accumulator.get(Statistic::Average), Some(3.0));
        assert_eq!(accumulator.get(Statistic::Sum), None);
    }
}
