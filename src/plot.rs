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
pub const MAX_BUCKETS: usize = 1600;
pub(crate) const WIDTH: u32 = 1800;
pub(crate) const HEIGHT: u32 = 700;
/// Fill opacity of an ALARM band.
pub const BAND_OPACITY: f64 = 0.18;

#[derive(Debug, thiserror::Error)]
pub enum PlotError {
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
pub const AVERAGE_COLOUR: RGBColor = RGBColor(31, 119, 180);
pub const MAXIMUM_COLOUR: RGBColor = RGBColor(214, 39, 40);
pub const MINIMUM_COLOUR: RGBColor = RGBColor(44, 160, 44);
pub const SUM_COLOUR: RGBColor = RGBColor(148, 103, 189);
pub const COUNT_COLOUR: RGBColor = RGBColor(140, 86, 75);
pub const COMPLETED_COLOUR: RGBColor = RGBColor(44, 160, 44);

/// The colour of alarm `index`'s threshold line and ALARM band.
pub fn alarm_colour(index: usize) -> RGBColor {
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

/// `replay --plot`: in-flight average and peak, and completions per period.
#[derive(Debug)]
pub struct ReplayPlot {
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

    pub fn write_svg(&self, path: &Path) -> Result<(), PlotError> {
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
        let mut chart = ChartBuilder::on(&root)
            .caption(
                "Requests in flight and completed per period (replayed)",
                ("sans-serif", 22),
            )
            .margin(10)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .right_y_label_area_size(70)
            .build_cartesian_2d(0.0..x_end, 0.0..top)
            .map_err(draw_error)?
            .set_secondary_coord(0.0..x_end, 0.0..completed_top);
        let label = move |x: &f64| format_rfc3339(origin + (*x * 1000.0) as i64);
        chart
            .configure_mesh()
            .x_desc(format!("time (UTC, from {})", format_rfc3339(origin)))
            .y_desc("in flight")
            .x_label_formatter(&label)
            .x_labels(6)
            .draw()
            .map_err(draw_error)?;
        chart
            .configure_secondary_axes()
            .y_desc("completed per period")
            .draw()
            .map_err(draw_error)?;
        let mid = |b: usize| buckets.x(b) + buckets.width_ms as f64 / 2000.0;
        let line = |channel: usize, pick: fn(&Aggregate) -> Option<f64>| {
            (0..buckets.len)
                .filter_map(move |b| pick(buckets.value(b, channel)).map(|y| (mid(b), y)))
                .collect::<Vec<_>>()
        };
        let completed = COMPLETED_COLOUR;
        chart
            .draw_secondary_series(LineSeries::new(line(2, Aggregate::mean), completed.stroke_width(1)))
            .map_err(draw_error)?
            .label("completed (mean per period)")
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], completed.stroke_width(2)));
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
                .map_err(draw_error)?
                .label(name)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(2)));
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()
            .map_err(draw_error)?;
        root.present().map_err(draw_error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(colour: RGBColor) -> String {
        format!("#{:02X}{:02X}{:02X}", colour.0, colour.1, colour.2)
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
