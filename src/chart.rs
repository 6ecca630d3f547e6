//! Plots as SVG with plotters' SVG backend: the time buckets every plot folds its data into,
//! the colours, and `replay --plot` ([`ReplayPlot`]); `simulate`'s plot is in
//! `simulate::plot` on the same buckets. A leaf: it imports only the types it draws.
//!
//! Memory and the SVG stay bounded on any window: data folds into at most [`MAX_BUCKETS`]
//! time buckets, and when they fill, neighbouring buckets merge (the bucket width doubles).
//! Each bucket keeps the extremes as well as the mean, so a one-period spike survives, and a
//! flag (an alarm in ALARM) covers every bucket in which it was set at any time, so intervals
//! closer than one bucket merge into one band.

use std::path::Path;

use plotters::prelude::*;

use crate::derive::log_signals::PeriodSignals;
use crate::sources::access_log::values::format_rfc3339;

/// Most buckets a plot keeps: about one per pixel column of the 1600-pixel-wide chart.
pub(crate) const MAX_BUCKETS: usize = 1600;
pub(crate) const WIDTH: u32 = 1800;
pub(crate) const HEIGHT: u32 = 700;
/// Fill opacity of an ALARM band.
pub(crate) const BAND_OPACITY: f64 = 0.18;

#[derive(Debug, thiserror::Error)]
pub(crate) enum PlotError {
    #[error("nothing to plot: the series is empty")]
    Empty,
    #[error("cannot draw the plot: {0}")]
    Draw(String),
}

/// One channel's values within a bucket.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Aggregate {
    pub(crate) min: f64,
    pub(crate) max: f64,
    pub(crate) sum: f64,
    pub(crate) count: u32,
    pub(crate) last: f64,
}

impl Aggregate {
    const EMPTY: Aggregate = Aggregate {
        min: f64::INFINITY,
        max: f64::NEG_INFINITY,
        sum: 0.0,
        count: 0,
        last: 0.0,
    };

    pub(crate) fn add(&mut self, value: f64) {
        self.min = self.min.min(value);
        self.max = self.max.max(value);
        self.sum += value;
        self.count += 1;
        self.last = value;
    }

    pub(crate) fn merge(&mut self, later: &Aggregate) {
        if later.count == 0 {
            return;
        }
        self.min = self.min.min(later.min);
        self.max = self.max.max(later.max);
        self.sum += later.sum;
        self.count += later.count;
        self.last = later.last;
    }

    pub(crate) fn mean(&self) -> Option<f64> {
        (self.count > 0).then(|| self.sum / f64::from(self.count))
    }
}

pub(crate) const FLAG_ALARM: u8 = 1;
pub(crate) const FLAG_INSUFFICIENT: u8 = 2;

/// Time buckets of `channels` values and `flag_sets` flags each, halved when full.
#[derive(Debug)]
pub(crate) struct Buckets {
    pub(crate) channels: usize,
    pub(crate) flag_sets: usize,
    pub(crate) origin: Option<i64>,
    pub(crate) width_ms: i64,
    /// `channels` aggregates then `flag_sets` flags per bucket, bucket after bucket.
    pub(crate) values: Vec<Aggregate>,
    pub(crate) flags: Vec<u8>,
    pub(crate) len: usize,
}

impl Buckets {
    pub(crate) fn new(channels: usize, flag_sets: usize, first_width_ms: i64) -> Buckets {
        Buckets {
            channels,
            flag_sets,
            origin: None,
            width_ms: first_width_ms.max(1),
            values: Vec::new(),
            flags: Vec::new(),
            len: 0,
        }
    }

    /// The bucket `time_ms` falls in, halving the resolution until it fits.
    pub(crate) fn bucket(&mut self, time_ms: i64) -> usize {
        let origin = *self.origin.get_or_insert(time_ms);
        let mut index = ((time_ms - origin).max(0) / self.width_ms) as usize;
        while index >= MAX_BUCKETS {
            self.halve();
            index = ((time_ms - origin).max(0) / self.width_ms) as usize;
        }
        while self.len <= index {
            self.values.extend(std::iter::repeat_n(Aggregate::EMPTY, self.channels));
            self.flags.extend(std::iter::repeat_n(0, self.flag_sets));
            self.len += 1;
        }
        index
    }

    pub(crate) fn halve(&mut self) {
        let half = self.len.div_ceil(2);
        for target in 0..half {
            for pair in [2 * target, 2 * target + 1] {
                if pair >= self.len || pair == target {
                    continue;
                }
                for c in 0..self.channels {
                    let value = self.values[pair * self.channels + c];
                    if pair == 2 * target {
                        self.values[target * self.channels + c] = value;
                    } else {
                        self.values[target * self.channels + c].merge(&value);
                    }
                }
                for f in 0..self.flag_sets {
                    let flag = self.flags[pair * self.flag_sets + f];
                    if pair == 2 * target {
                        self.flags[target * self.flag_sets + f] = flag;
                    } else {
                        self.flags[target * self.flag_sets + f] |= flag;
                    }
                }
            }
        }
        self.len = half;
        self.values.truncate(half * self.channels);
        self.flags.truncate(half * self.flag_sets);
        self.width_ms *= 2;
    }

    pub(crate) fn add(&mut self, time_ms: i64, channel: usize, value: f64) {
        let index = self.bucket(time_ms);
        self.values[index * self.channels + channel].add(value);
    }

    pub(crate) fn flag(&mut self, time_ms: i64, set: usize, flag: u8) {
        let index = self.bucket(time_ms);
        self.flags[index * self.flag_sets + set] |= flag;
    }

    pub(crate) fn value(&self, bucket: usize, channel: usize) -> &Aggregate {
        &self.values[bucket * self.channels + channel]
    }

    pub(crate) fn flags_of(&self, bucket: usize, set: usize) -> u8 {
        self.flags[bucket * self.flag_sets + set]
    }

    /// Bucket start, in seconds from the origin.
    pub(crate) fn x(&self, bucket: usize) -> f64 {
        (bucket as i64 * self.width_ms) as f64 / 1000.0
    }

    /// Runs of buckets with `flag` set: (first, last + 1).
    pub(crate) fn runs(&self, set: usize, flag: u8) -> Vec<(usize, usize)> {
        let mut runs = Vec::new();
        let mut start = None;
        for bucket in 0..=self.len {
            let on = bucket < self.len && self.flags_of(bucket, set) & flag != 0;
            match (on, start) {
                (true, None) => start = Some(bucket),
                (false, Some(first)) => {
                    runs.push((first, bucket));
                    start = None;
                }
                _ => {}
            }
        }
        runs
    }
}

/// Colours of the series lines, by what they show.
pub(crate) const AVERAGE_COLOUR: RGBColor = RGBColor(31, 119, 180);
pub(crate) const MAXIMUM_COLOUR: RGBColor = RGBColor(214, 39, 40);
pub(crate) const MINIMUM_COLOUR: RGBColor = RGBColor(44, 160, 44);
pub(crate) const SUM_COLOUR: RGBColor = RGBColor(148, 103, 189);
pub(crate) const COUNT_COLOUR: RGBColor = RGBColor(140, 86, 75);
pub(crate) const COMPLETED_COLOUR: RGBColor = RGBColor(44, 160, 44);

/// The colour of alarm `index`'s threshold line and ALARM band.
pub(crate) fn alarm_colour(index: usize) -> RGBColor {
    const COLOURS: [RGBColor; 6] = [
        RGBColor(255, 127, 14),
        RGBColor(23, 190, 207),
        RGBColor(188, 189, 34),
        RGBColor(227, 119, 194),
        RGBColor(127, 127, 127),
        RGBColor(148, 103, 189),
    ];
    COLOURS[index % COLOURS.len()]
}

pub(crate) fn draw_error(error: impl std::fmt::Display) -> PlotError {
    PlotError::Draw(error.to_string())
}

/// An axis of f64 whose ticks (and lighter grid lines) are given: plotters' own are round
/// numbers of the coordinate, which for seconds since an odd origin are odd times.
#[derive(Clone)]
pub(crate) struct Ticked {
    range: plotters::coord::types::RangedCoordf64,
    ticks: Vec<f64>,
    minor: Vec<f64>,
}

impl Ticked {
    pub(crate) fn new(range: std::ops::Range<f64>, ticks: Vec<f64>, minor: Vec<f64>) -> Ticked {
        Ticked {
            range: range.into(),
            ticks,
            minor,
        }
    }
}

impl Ranged for Ticked {
    type ValueType = f64;
    type FormatOption = plotters::coord::ranged1d::DefaultFormatting;

    fn range(&self) -> std::ops::Range<f64> {
        self.range.range()
    }

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        self.range.map(value, limit)
    }

    fn key_points<Hint: plotters::coord::ranged1d::KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            self.minor.clone()
        } else {
            self.ticks.clone()
        }
    }
}

/// Width of the legend's column right of the chart: the legend never covers data.
pub(crate) const LEGEND_WIDTH: u32 = 340;

/// One line of a legend: a sample drawn in the line's style, and its label.
pub(crate) struct LegendEntry {
    pub(crate) label: String,
    pub(crate) style: ShapeStyle,
}

impl LegendEntry {
    pub(crate) fn new(label: impl Into<String>, style: impl Into<ShapeStyle>) -> LegendEntry {
        LegendEntry {
            label: label.into(),
            style: style.into(),
        }
    }
}

/// The legend, one entry a line, in its own area (the column right of the chart).
pub(crate) fn draw_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    entries: &[LegendEntry],
) -> Result<(), PlotError> {
    // Level with the top of the plotting area (under the caption).
    let top = 60;
    for (i, entry) in entries.iter().enumerate() {
        let y = top + 24 * i as i32;
        area.draw(&PathElement::new(vec![(8, y), (36, y)], entry.style))
            .map_err(draw_error)?;
        area.draw(&Text::new(
            entry.label.clone(),
            (44, y - 7),
            ("sans-serif", 14).into_font(),
        ))
        .map_err(draw_error)?;
    }
    Ok(())
}

/// Steps between time ticks, in seconds: the round steps a reader counts in.
const TIME_STEPS_S: [i64; 20] = [
    1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10_800, 21_600, 43_200, 86_400, 172_800, 604_800,
];

/// Most labelled ticks on a time axis.
const MAX_TIME_TICKS: usize = 10;

/// The x axis of a plot whose x is seconds since `origin_ms`: ticks at round UTC times (every
/// multiple of a step of [`TIME_STEPS_S`], at most [`MAX_TIME_TICKS`] of them), lighter grid
/// lines at a smaller round step, and labels as short as the step allows (the date is in the
/// axis' description).
#[derive(Debug, Clone)]
pub(crate) struct TimeAxis {
    origin_ms: i64,
    step_s: i64,
    span_s: f64,
    /// Ticks and minor grid lines, in seconds since the origin.
    pub(crate) ticks: Vec<f64>,
    pub(crate) minor: Vec<f64>,
}

impl TimeAxis {
    pub(crate) fn new(origin_ms: i64, span_s: f64) -> TimeAxis {
        let span_s = span_s.max(1.0);
        let step_s = TIME_STEPS_S
            .into_iter()
            .find(|step| span_s / *step as f64 + 1.0 <= MAX_TIME_TICKS as f64)
            .unwrap_or_else(|| {
                // Weeks, for spans of over two months.
                let weeks = (span_s / 604_800.0 / MAX_TIME_TICKS as f64).ceil() as i64;
                weeks.max(1) * 604_800
            });
        let minor_s = TIME_STEPS_S
            .into_iter()
            .rev()
            .find(|minor| *minor < step_s && step_s % minor == 0 && step_s / minor <= 6)
            .unwrap_or(step_s);
        let at = |every_s: i64| {
            let every_ms = every_s * 1000;
            let first = origin_ms.div_euclid(every_ms) * every_ms
                + if origin_ms.rem_euclid(every_ms) == 0 {
                    0
                } else {
                    every_ms
                };
            (0..)
                .map(move |i| first + i * every_ms)
                .map(move |t| (t - origin_ms) as f64 / 1000.0)
                .take_while(move |x| *x <= span_s)
                .collect::<Vec<f64>>()
        };
        TimeAxis {
            origin_ms,
            step_s,
            span_s,
            ticks: at(step_s),
            minor: at(minor_s),
        }
    }

    /// The label of the tick `x` seconds after the origin: HH:MM (HH:MM:SS for steps under a
    /// minute), with the month and day when the axis spans more than one UTC day, the date
    /// alone for steps of days.
    pub(crate) fn label(&self, x: f64) -> String {
        let time = format_rfc3339(self.origin_ms + (x * 1000.0).round() as i64);
        let end = format_rfc3339(self.origin_ms + (self.span_s * 1000.0) as i64);
        let clock = if self.step_s < 60 { &time[11..19] } else { &time[11..16] };
        if self.step_s % 86_400 == 0 {
            time[..10].to_owned()
        } else if time[..10] == end[..10] && format_rfc3339(self.origin_ms)[..10] == end[..10] {
            clock.to_owned()
        } else {
            format!("{} {clock}", &time[5..10])
        }
    }

    /// The axis' description: the clock is UTC, and the first instant plotted.
    pub(crate) fn description(&self) -> String {
        format!("time (UTC), from {}", format_rfc3339(self.origin_ms))
    }
}

/// Ticks for an axis of whole numbers from 0 to `top`: every 1, 2, 5, 10, 20, 50... so that
/// there are at most `max_ticks`.
pub(crate) fn whole_ticks(top: u32, max_ticks: u32) -> Vec<f64> {
    let step = [1u32, 2, 5]
        .iter()
        .flat_map(|m| (0..9).map(move |e| m * 10u32.pow(e)))
        .filter(|step| top / step < max_ticks)
        .min()
        .unwrap_or(1);
    (0..=top / step).map(|i| f64::from(i * step)).collect()
}

/// A value on an axis: whole numbers without decimals ("2", not "2.0"), others with as few
/// as they need.
pub(crate) fn number_label(value: &f64) -> String {
    if (value - value.round()).abs() < 1e-9 {
        format!("{}", value.round() as i64)
    } else {
        let text = format!("{value:.3}");
        text.trim_end_matches('0').trim_end_matches('.').to_owned()
    }
}

/// `replay --plot`: in-flight average and peak, and completions per period.
#[derive(Debug)]
pub(crate) struct ReplayPlot {
    buckets: Buckets,
}

impl Default for ReplayPlot {
    fn default() -> Self {
        ReplayPlot::new()
    }
}

impl ReplayPlot {
    pub fn new() -> ReplayPlot {
        ReplayPlot {
            buckets: Buckets::new(3, 0, 1000),
        }
    }

    pub fn observe(&mut self, period: &PeriodSignals) {
        self.buckets.add(period.start_ms, 0, period.in_flight_average);
        self.buckets.add(period.start_ms, 1, period.in_flight_peak as f64);
        self.buckets.add(period.start_ms, 2, period.completed as f64);
    }

    pub(crate) fn write_svg(&self, path: &Path) -> Result<(), PlotError> {
        let buckets = &self.buckets;
        let origin = buckets.origin.ok_or(PlotError::Empty)?;
        let x_end = buckets.x(buckets.len).max(1.0);
        let top = (0..buckets.len)
            .map(|b| buckets.value(b, 1).max)
            .filter(|v| v.is_finite())
            .fold(1.0f64, f64::max)
            * 1.1;
        let completed_top = (0..buckets.len)
            .map(|b| buckets.value(b, 2).max)
            .filter(|v| v.is_finite())
            .fold(1.0f64, f64::max)
            * 1.1;
        let root = SVGBackend::new(path, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE).map_err(draw_error)?;
        let (chart_area, legend_area) = root.split_horizontally(WIDTH - LEGEND_WIDTH);
        let axis = TimeAxis::new(origin, x_end);
        let mut chart = ChartBuilder::on(&chart_area)
            .caption(
                "Requests in flight and completed per period (replayed)",
                ("sans-serif", 22),
            )
            .margin(10)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .right_y_label_area_size(70)
            .build_cartesian_2d(
                Ticked::new(0.0..x_end, axis.ticks.clone(), axis.minor.clone()),
                0.0..top,
            )
            .map_err(draw_error)?
            .set_secondary_coord(0.0..x_end, 0.0..completed_top);
        let label = |x: &f64| axis.label(*x);
        chart
            .configure_mesh()
            .x_desc(axis.description())
            .y_desc("in flight")
            .x_label_formatter(&label)
            .y_label_formatter(&number_label)
            .draw()
            .map_err(draw_error)?;
        chart
            .configure_secondary_axes()
            .y_desc("completed per period")
            .y_label_formatter(&number_label)
            .draw()
            .map_err(draw_error)?;
        let mut legend = Vec::new();
        let mid = |b: usize| buckets.x(b) + buckets.width_ms as f64 / 2000.0;
        let line = |channel: usize, pick: fn(&Aggregate) -> Option<f64>| {
            (0..buckets.len)
                .filter_map(move |b| pick(buckets.value(b, channel)).map(|y| (mid(b), y)))
                .collect::<Vec<_>>()
        };
        let completed = COMPLETED_COLOUR;
        chart
            .draw_secondary_series(LineSeries::new(line(2, Aggregate::mean), completed.stroke_width(1)))
            .map_err(draw_error)?;
        legend.push(LegendEntry::new(
            "completed (mean per period)",
            completed.stroke_width(2),
        ));
        for (channel, name, colour, pick) in [
            (
                0,
                "in flight, average",
                AVERAGE_COLOUR,
                Aggregate::mean as fn(&Aggregate) -> Option<f64>,
            ),
            (1, "in flight, peak", MAXIMUM_COLOUR, |a: &Aggregate| {
                (a.count > 0).then_some(a.max)
            }),
        ] {
            chart
                .draw_series(LineSeries::new(line(channel, pick), colour.stroke_width(1)))
                .map_err(draw_error)?;
            legend.push(LegendEntry::new(name, colour.stroke_width(2)));
        }
        draw_legend(&legend_area, &legend)?;
        root.present().map_err(draw_error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(colour: RGBColor) -> String {
        format!("#{:02X}{:02X}{:02X}", colour.0, colour.1, colour.2)
    }

    /// The label of every tick of an axis from `origin` (RFC 3339, UTC) over `span_s`.
    fn ticks(origin: &str, span_s: f64) -> Vec<String> {
        let origin = crate::sources::access_log::values::parse_iso8601(origin.as_bytes()).unwrap() * 1000;
        let axis = TimeAxis::new(origin, span_s);
        axis.ticks.iter().map(|x| axis.label(*x)).collect()
    }

    #[test]
    fn time_ticks_fall_on_round_times() {
        // 16.5 minutes from midnight: every 2 minutes (every minute would be 17 ticks).
        assert_eq!(
            ticks("2025-12-01T00:00:00+00:00", 990.0),
            ["00:00", "00:02", "00:04", "00:06", "00:08", "00:10", "00:12", "00:14", "00:16"]
        );
        // An hour from 05:33:20 (where plotters put a tick): every 10 minutes, from 05:40.
        assert_eq!(
            ticks("2025-12-01T05:33:20+00:00", 3600.0),
            ["05:40", "05:50", "06:00", "06:10", "06:20", "06:30"]
        );
        // 45 seconds: every 5 s, with seconds.
        assert_eq!(
            ticks("2025-12-01T10:00:03+00:00", 45.0),
            [
                "10:00:05", "10:00:10", "10:00:15", "10:00:20", "10:00:25", "10:00:30", "10:00:35", "10:00:40",
                "10:00:45"
            ]
        );
        // Across midnight, 4 hours: every 30 minutes, and the day goes with the time.
        assert_eq!(
            ticks("2025-12-01T22:00:00+00:00", 4.0 * 3600.0),
            [
                "12-01 22:00",
                "12-01 22:30",
                "12-01 23:00",
                "12-01 23:30",
                "12-02 00:00",
                "12-02 00:30",
                "12-02 01:00",
                "12-02 01:30",
                "12-02 02:00"
            ]
        );
        // 11.6 days: every 2 days (from the epoch's even days), as dates.
        assert_eq!(
            ticks("2025-12-01T00:00:00+00:00", 1_000_000.0),
            [
                "2025-12-02",
                "2025-12-04",
                "2025-12-06",
                "2025-12-08",
                "2025-12-10",
                "2025-12-12"
            ]
        );
    }

    #[test]
    fn whole_axes_count_in_round_steps_and_print_no_decimals() {
        assert_eq!(whole_ticks(7, 12), [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]);
        assert_eq!(whole_ticks(31, 12), [0.0, 5.0, 10.0, 15.0, 20.0, 25.0, 30.0]);
        assert_eq!(number_label(&2.0), "2");
        assert_eq!(number_label(&0.25), "0.25");
        assert_eq!(number_label(&1600.0), "1600");
    }

    #[test]
    fn halving_keeps_extremes_sums_and_flags() {
        let mut buckets = Buckets::new(1, 1, 1);
        for t in 0..(MAX_BUCKETS as i64 * 4) {
            buckets.add(t, 0, t as f64);
            if t == 7 {
                buckets.flag(t, 0, FLAG_ALARM);
            }
        }
        assert_eq!(buckets.width_ms, 4);
        assert_eq!(buckets.len, MAX_BUCKETS);
        let first = buckets.value(0, 0);
        assert_eq!((first.min, first.max, first.count, first.sum), (0.0, 3.0, 4, 6.0));
        assert_eq!(buckets.runs(0, FLAG_ALARM), vec![(1, 2)]);
    }

    #[test]
    fn the_replay_plot_has_its_three_lines() {
        let mut plot = ReplayPlot::new();
        for i in 0..500 {
            plot.observe(&PeriodSignals {
                start_ms: i * 10_000,
                period_ms: 10_000,
                completed: 100 + i as u64,
                in_flight_average: 3.0,
                in_flight_peak: 9,
                ..PeriodSignals::default()
            });
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("replay.svg");
        plot.write_svg(&path).unwrap();
        let svg = std::fs::read_to_string(&path).unwrap();
        for colour in [AVERAGE_COLOUR, MAXIMUM_COLOUR, COMPLETED_COLOUR] {
            let stroke = format!("stroke=\"{}\"", hex(colour));
            let lines = svg
                .split('<')
                .filter(|e| e.starts_with("polyline") && e.contains(&stroke))
                .count();
            assert_eq!(lines, 2, "{stroke}: the line and its legend sample");
        }
        assert!(matches!(ReplayPlot::new().write_svg(&path), Err(PlotError::Empty)));
    }
}
