//! CloudWatch alarm evaluation, as the CloudWatch User Guide describes it ("Using Amazon
//! CloudWatch alarms" and its section "Configuring how CloudWatch alarms treat missing
//! data"): the evaluation window (sliding by default, or wall clock: "Alarm evaluation
//! window"), M of N, the evaluation range, TreatMissingData, and the rule that avoids
//! premature transitions to ALARM.
//!
//! [`evaluate`] is the rule on one evaluation range; [`AlarmTracker`] holds the datapoints
//! an alarm's range can still reach and folds them into its periods at each evaluation, so
//! memory does not grow with the series.

use std::collections::VecDeque;

use crate::scaling::scenario::{
    Alarm, AlarmState, Comparison, EvaluationWindow, SeriesStats, Statistic, TreatMissingData,
};

/// One period of the evaluation range as the alarm classifies it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Point {
    Breaching,
    NotBreaching,
    Missing,
}

/// How many periods CloudWatch retrieves: "a higher number of data points than the number
/// specified as Evaluation Periods"; the exact number "depends on the length of the alarm
/// period and whether it is based on a metric with standard resolution or high
/// resolution". The guide's only figure is 5 for 3 evaluation periods; the model takes N + 2
/// for every N (an assumption, stated in the README).
pub(crate) fn evaluation_range(evaluation_periods: u32) -> usize {
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
pub(crate) fn evaluate(
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
pub(crate) struct StatsAccumulator {
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

/// How an alarm places its N periods (alarm-evaluation-window, PutMetricAlarm
/// `EvaluationWindow`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Window {
    /// The default: the N periods evaluated at t are the N Period-long spans ending at t.
    Sliding,
    /// Aligned to boundaries that match the period: the N whole periods that ended at or
    /// before t, boundaries in local time `offset_ms` ahead of UTC.
    WallClock { offset_ms: i64 },
}

impl Window {
    /// The alarm's EvaluationWindow. A wall clock window's time zone counts when it is a fixed
    /// offset (`+05:30`, `UTC-03:00`); a zone name is taken as UTC (the model has no zone
    /// database; periods of an hour or less align alike in whole-hour zones).
    pub fn of(window: &EvaluationWindow) -> Window {
        match window {
            EvaluationWindow::Sliding => Window::Sliding,
            EvaluationWindow::WallClock { timezone } => Window::WallClock {
                offset_ms: timezone.as_deref().and_then(fixed_offset_ms).unwrap_or(0),
            },
        }
    }
}

/// `+05:30`, `-03:00`, `UTC+05:30`, `UTC-3`: milliseconds ahead of UTC.
fn fixed_offset_ms(zone: &str) -> Option<i64> {
    let zone = zone.strip_prefix("UTC").unwrap_or(zone);
    let (sign, rest) = match zone.as_bytes().first()? {
        b'+' => (1, &zone[1..]),
        b'-' => (-1, &zone[1..]),
        _ => return None,
    };
    let (hours, minutes) = rest.split_once(':').unwrap_or((rest, "0"));
    let hours: i64 = hours.parse().ok()?;
    let minutes: i64 = minutes.parse().ok()?;
    Some(sign * (hours * 3600 + minutes * 60) * 1000)
}

/// Evaluated every 10 s when the period is under a minute, else once a minute (on the
/// minute, the model's offset).
pub(crate) fn evaluation_interval_ms(period_ms: i64) -> i64 {
    if period_ms < 60_000 {
        10_000
    } else {
        60_000
    }
}

/// One alarm over the series: the datapoints it may still need, each with where it falls
/// and when it reaches the alarm. Only what the evaluation range can reach is kept, so
/// memory does not grow with the series.
#[derive(Debug, Clone)]
pub(crate) struct AlarmTracker {
    pub period_ms: i64,
    pub evaluation_periods: u32,
    pub datapoints_to_alarm: u32,
    pub threshold: f64,
    pub comparison: Comparison,
    pub(crate) treat: TreatMissingData,
    pub statistic: Statistic,
    pub window: Window,
    /// A series coarser than the period (60 s data under a 10 s alarm): each datapoint is
    /// placed in the last alarm period of its own, the one that ends when it does, so the
    /// alarm gets it at the attempt that lines up with it and nothing at the others
    /// (PutMetricAlarm, Period).
    coarse_shift_ms: i64,
    /// From a datapoint's start to the alarm seeing it: the series period plus the
    /// ingestion delay.
    arrival_ms: i64,
    /// (placed at, reaches the alarm at, statistics), in time order.
    points: VecDeque<(i64, i64, SeriesStats)>,
    /// The range's statistic sets, reused between evaluations.
    scratch: Vec<StatsAccumulator>,
    /// The values of the range's periods at the last evaluation, oldest first.
    values: Vec<Option<f64>>,
    pub state: AlarmState,
}

impl AlarmTracker {
    /// `series_period_s`: the series' resolution; `ingestion_ms`: from the end of a
    /// datapoint's period to the alarm seeing it.
    pub fn new(alarm: &Alarm, series_period_s: u32, ingestion_ms: i64) -> AlarmTracker {
        let period_ms = i64::from(alarm.period) * 1000;
        let series_ms = i64::from(series_period_s.max(1)) * 1000;
        AlarmTracker {
            period_ms,
            evaluation_periods: alarm.evaluation_periods,
            datapoints_to_alarm: alarm.datapoints_to_alarm,
            threshold: alarm.threshold,
            comparison: alarm.comparison,
            treat: alarm.treat_missing_data,
            statistic: alarm.statistic,
            window: Window::of(&alarm.evaluation_window),
            coarse_shift_ms: (series_ms - period_ms).max(0),
            arrival_ms: series_ms + ingestion_ms.max(0),
            points: VecDeque::new(),
            scratch: Vec::new(),
            values: Vec::new(),
            state: AlarmState::InsufficientData,
        }
    }

    /// The same alarm on a series `series_period_s` apart (no datapoint added yet).
    pub(crate) fn rebuilt(&self, series_period_s: u32, ingestion_ms: i64) -> AlarmTracker {
        let series_ms = i64::from(series_period_s.max(1)) * 1000;
        AlarmTracker {
            coarse_shift_ms: (series_ms - self.period_ms).max(0),
            arrival_ms: series_ms + ingestion_ms.max(0),
            points: VecDeque::new(),
            values: Vec::new(),
            state: AlarmState::InsufficientData,
            ..self.clone()
        }
    }

    pub(crate) fn evaluates_at(&self, time_ms: i64) -> bool {
        time_ms.rem_euclid(evaluation_interval_ms(self.period_ms)) == 0
    }

    pub fn add(&mut self, start_ms: i64, stats: &SeriesStats) {
        self.points
            .push_back((start_ms + self.coarse_shift_ms, start_ms + self.arrival_ms, *stats));
    }

    /// Evaluate at `time_ms`: the range is the `evaluation_range` periods that end at
    /// `time_ms` (sliding) or at the last period boundary (wall clock), filled with the
    /// datapoints that have reached the alarm by then. Returns the state and the value of
    /// the newest period that has one.
    pub(crate) fn evaluate(&mut self, time_ms: i64) -> (AlarmState, Option<f64>) {
        let end = match self.window {
            Window::Sliding => time_ms,
            Window::WallClock { offset_ms } => {
                (time_ms + offset_ms).div_euclid(self.period_ms) * self.period_ms - offset_ms
            }
        };
        let range_len = evaluation_range(self.evaluation_periods);
        let first = end - range_len as i64 * self.period_ms;
        // Later evaluations start later still: what is older can go.
        while self.points.front().is_some_and(|(at, _, _)| *at < first) {
            self.points.pop_front();
        }
        self.scratch.clear();
        self.scratch.resize(range_len, StatsAccumulator::default());
        for (at, arrives, stats) in &self.points {
            if *at >= end {
                break;
            }
            if *arrives > time_ms {
                continue;
            }
            let index = ((at - first) / self.period_ms) as usize;
            self.scratch[index].add(stats);
        }
        self.values.clear();
        let statistic = self.statistic;
        self.values
            .extend(self.scratch.iter().map(|accumulator| accumulator.get(statistic)));
        let mut range = [Point::Missing; 16];
        let mut long_range = Vec::new();
        let points: &mut [Point] = if range_len <= range.len() {
            &mut range[..range_len]
        } else {
            long_range.resize(range_len, Point::Missing);
            &mut long_range
        };
        for (point, value) in points.iter_mut().zip(&self.values) {
            if let Some(value) = value {
                *point = if self.comparison.breaches(*value, self.threshold) {
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
        // The newest datapoint in the range: with an ingestion delay the newest period has
        // not reached the alarm yet.
        (self.state, self.values.iter().rev().find_map(|value| *value))
    }

    /// The real values of the newest N periods at the last evaluation (what a step policy
    /// aggregates).
    pub(crate) fn recent_values(&self) -> impl Iterator<Item = f64> + '_ {
        let skip = self.values.len().saturating_sub(self.evaluation_periods as usize);
        self.values[skip..].iter().filter_map(|value| *value)
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

    /// When an alarm of `period` s (Average >= 20, 1 of 1) on a 60 s series of `points` is
    /// in ALARM, at `times`.
    fn alarm_times(period: u32, window: EvaluationWindow, points: &[(i64, f64)], times: &[i64]) -> Vec<i64> {
        let mut tracker = AlarmTracker::new(&windowed(period, 1, window), 60, 0);
        tracker.threshold = 20.0;
        states(&mut tracker, points, times)
            .into_iter()
            .filter(|(_, state)| *state == A)
            .map(|(t, _)| t)
            .collect()
    }

    fn windowed(period: u32, n: u32, window: EvaluationWindow) -> Alarm {
        Alarm {
            evaluation_window: window,
            ..alarm(period, n, n)
        }
    }

    fn wall_clock(timezone: Option<&str>) -> EvaluationWindow {
        EvaluationWindow::WallClock {
            timezone: timezone.map(str::to_owned),
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

    /// The alarm's states at each of `times` (seconds) after `points` (start s, average).
    fn states(tracker: &mut AlarmTracker, points: &[(i64, f64)], times: &[i64]) -> Vec<(i64, AlarmState)> {
        for (start, value) in points {
            tracker.add(start * 1000, &stats(*value, 1.0));
        }
        times.iter().map(|t| (*t, tracker.evaluate(t * 1000).0)).collect()
    }

    /// A 60 s alarm over a 10 s series: six statistic sets make one period, Average is the
    /// total Sum over the total SampleCount, and the period counts once it has ended.
    #[test]
    fn series_points_fold_into_the_alarm_periods() {
        for window in [EvaluationWindow::Sliding, wall_clock(None)] {
            let mut tracker = AlarmTracker::new(&windowed(60, 1, window), 10, 0);
            for i in 0..6 {
                // Averages 0, 2, 4, ... 10 over 10 samples each: 50 over 60 -> 5.
                tracker.add(60_000 + i * 10_000, &stats(20.0 * i as f64, 10.0));
            }
            tracker.add(120_000, &stats(1000.0, 10.0));
            assert_eq!(tracker.evaluate(120_000), (O, Some(5.0)));
            assert_eq!(tracker.evaluate(180_000), (A, Some(100.0)));
        }
    }

    /// alarm-evaluation-window: with the default sliding window "the window advances each
    /// time the alarm is evaluated"; a wall clock window is "aligned to clock boundaries that
    /// match the period". A 5-minute alarm (Average >= 20, 1 of 1), evaluated once a minute,
    /// on a breach of exactly five minutes (minutes 3 to 7, 20 each, 0 elsewhere) that
    /// straddles the 5-minute boundary: sliding, the span of minutes 3 to 7 ends at 8:00 and
    /// breaches then; wall clock, 0-5 averages 8 and 5-10 averages 12: never.
    #[test]
    fn alarm_evaluation_window_five_minute_breach_straddling_a_boundary() {
        let points: Vec<(i64, f64)> = (0..12)
            .map(|minute| (minute * 60, if (3..8).contains(&minute) { 20.0 } else { 0.0 }))
            .collect();
        let times: Vec<i64> = (1..=12).map(|minute| minute * 60).collect();
        let alarm_times = |window| alarm_times(300, window, &points, &times);
        assert_eq!(alarm_times(EvaluationWindow::Sliding), vec![480]);
        assert_eq!(alarm_times(wall_clock(None)), Vec::<i64>::new());
    }

    /// alarm-evaluation-window: a wall clock window aligns "to clock boundaries that match
    /// the period ... and, optionally, to a specific time zone" (WallClockWindow.Timezone,
    /// offsets in 5-minute steps). A 1-hour alarm (Average >= 20) on a breach from 0:30 to
    /// 1:30 UTC: in UTC each hour averages 10, never; at +05:30 the hours run from :30, and
    /// 0:30-1:30 breaches at 1:30.
    #[test]
    fn alarm_evaluation_window_wall_clock_in_a_time_zone() {
        let points: Vec<(i64, f64)> = (0..120)
            .map(|minute| (minute * 60, if (30..90).contains(&minute) { 20.0 } else { 0.0 }))
            .collect();
        let times: Vec<i64> = (1..=120).map(|minute| minute * 60).collect();
        let alarm_times = |window| alarm_times(3600, window, &points, &times);
        assert_eq!(alarm_times(wall_clock(None)), Vec::<i64>::new());
        assert_eq!(alarm_times(wall_clock(Some("UTC"))), Vec::<i64>::new());
        let from_5400: Vec<i64> = (90..=120).map(|minute| minute * 60).collect();
        // Once the hour 0:30-1:30 has ended it is the newest whole period until 2:30.
        assert_eq!(alarm_times(wall_clock(Some("+05:30"))), from_5400);
        assert_eq!(alarm_times(wall_clock(Some("UTC+05:30"))), from_5400);
        // Sliding: only the span ending exactly at 1:30 is all breach.
        assert_eq!(alarm_times(EvaluationWindow::Sliding), vec![5400]);
    }

    /// alarm-evaluation-window, the same for a 30 s alarm (evaluated every 10 s) on a 10 s
    /// series: 20 at 20 s, 30 s and 40 s straddles the 30 s boundary; sliding sees the span
    /// 20-50 s at 50 s, wall clock never (0-30 averages 6.7, 30-60 13.3).
    #[test]
    fn alarm_evaluation_window_thirty_second_breach_straddling_a_boundary() {
        let points: Vec<(i64, f64)> = (0..9)
            .map(|i| (i * 10, if (2..5).contains(&i) { 20.0 } else { 0.0 }))
            .collect();
        let times: Vec<i64> = (1..=9).map(|i| i * 10).collect();
        for (window, expected) in [(EvaluationWindow::Sliding, vec![50]), (wall_clock(None), vec![])] {
            let mut tracker = AlarmTracker::new(&windowed(30, 1, window.clone()), 10, 0);
            tracker.threshold = 20.0;
            let got: Vec<i64> = states(&mut tracker, &points, &times)
                .into_iter()
                .filter(|(_, state)| *state == A)
                .map(|(t, _)| t)
                .collect();
            assert_eq!(got, expected, "{window:?}");
        }
    }

    /// API_PutMetricAlarm, Period: "If you specify a period of 10, 20, or 30 for a metric
    /// that does not have sub-minute resolution, the alarm still attempts to gather data at
    /// the period rate that you specify. In this case, it does not receive data for the
    /// attempts that do not correspond to a one-minute data resolution, and the alarm might
    /// often lapse into INSUFFICENT_DATA status." A 10 s alarm (1 of 1, range 3 periods) on
    /// 60 s data: each minute's datapoint comes at the attempt on the minute and stays in the
    /// range for three attempts; the three between have nothing.
    #[test]
    fn api_put_metric_alarm_sub_minute_alarm_on_minute_data() {
        let mut tracker = AlarmTracker::new(&alarm(10, 1, 1), 60, 0);
        let times: Vec<i64> = (6..=12).map(|i| i * 10).collect();
        assert_eq!(
            states(&mut tracker, &[(0, 100.0), (60, 100.0)], &times),
            vec![(60, A), (70, A), (80, A), (90, I), (100, I), (110, I), (120, A)]
        );
    }

    /// SCALING.md: a datapoint reaches the alarm a few seconds after PutMetricData. With an
    /// ingestion delay of 5 s a 10 s alarm (1 of 1) does not have the period 0-10 s at 10 s;
    /// at 20 s it has it (and 10-20 s is not yet there).
    #[test]
    fn ingestion_delay_holds_a_datapoint_back() {
        let mut tracker = AlarmTracker::new(&alarm(10, 1, 1), 10, 5_000);
        assert_eq!(
            states(&mut tracker, &[(0, 100.0), (10, 0.0)], &[10, 20, 30]),
            vec![(10, I), (20, A), (30, O)]
        );
        // The value reported is the newest that has arrived: at 20 s, 0-10 s's 100 (10-20 s
        // is not there yet).
        let mut fresh = AlarmTracker::new(&alarm(10, 1, 1), 10, 5_000);
        fresh.add(0, &stats(100.0, 1.0));
        fresh.add(10_000, &stats(0.0, 1.0));
        assert_eq!(fresh.evaluate(20_000), (A, Some(100.0)));
    }

    #[test]
    fn evaluation_cadence_follows_the_period() {
        let sub_minute = AlarmTracker::new(&alarm(10, 3, 3), 10, 0);
        let minute = AlarmTracker::new(&alarm(300, 1, 1), 10, 0);
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
