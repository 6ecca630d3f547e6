//! `--plot FILE.svg`: the series with the alarm thresholds, the ALARM intervals as bands and
//! the capacity as a step line (`simulate`), or the replayed in-flight and completion series
//! (`replay`), drawn with plotters' SVG backend.
//!
//! Memory and the SVG stay bounded on any window: data folds into at most [`MAX_BUCKETS`]
//! time buckets, and when they fill, neighbouring buckets merge (the bucket width doubles).
//! Each bucket keeps the extremes as well as the mean, so a one-period spike survives, and
//! a band covers every bucket in which the alarm was in ALARM at any evaluation, so ALARM
//! intervals closer than one bucket merge into one band.

use std::path::Path;

use plotters::prelude::*;

use crate::derive::log_signals::PeriodSignals;
use crate::simulate::model::{AlarmState, Evaluation, Scenario, SeriesPoint, Statistic};
use crate::sources::access_log::values::format_rfc3339;

/// Most buckets a plot keeps: about one per pixel column of the 1600-pixel-wide chart.
pub const MAX_BUCKETS: usize = 1600;
const WIDTH: u32 = 1800;
const HEIGHT: u32 = 700;
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
struct Aggregate {
    min: f64,
    max: f64,
    sum: f64,
    count: u32,
    last: f64,
}

impl Aggregate {
    const EMPTY: Aggregate = Aggregate {
        min: f64::INFINITY,
        max: f64::NEG_INFINITY,
        sum: 0.0,
        count: 0,
        last: 0.0,
    };

    fn add(&mut self, value: f64) {
        self.min = self.min.min(value);
        self.max = self.max.max(value);
        self.sum += value;
        self.count += 1;
        self.last = value;
    }

    fn merge(&mut self, later: &Aggregate) {
        if later.count == 0 {
            return;
        }
        self.min = self.min.min(later.min);
        self.max = self.max.max(later.max);
        self.sum += later.sum;
        self.count += later.count;
        self.last = later.last;
    }

    fn mean(&self) -> Option<f64> {
        (self.count > 0).then(|| self.sum / f64::from(self.count))
    }
}

const FLAG_ALARM: u8 = 1;
const FLAG_INSUFFICIENT: u8 = 2;

/// Time buckets of `channels` values and `flag_sets` flags each, halved when full.
#[derive(Debug)]
struct Buckets {
    channels: usize,
    flag_sets: usize,
    origin: Option<i64>,
    width_ms: i64,
    /// `channels` aggregates then `flag_sets` flags per bucket, bucket after bucket.
    values: Vec<Aggregate>,
    flags: Vec<u8>,
    len: usize,
}

impl Buckets {
    fn new(channels: usize, flag_sets: usize, first_width_ms: i64) -> Buckets {
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
    fn bucket(&mut self, time_ms: i64) -> usize {
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

    fn halve(&mut self) {
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

    fn add(&mut self, time_ms: i64, channel: usize, value: f64) {
        let index = self.bucket(time_ms);
        self.values[index * self.channels + channel].add(value);
    }

    fn flag(&mut self, time_ms: i64, set: usize, flag: u8) {
        let index = self.bucket(time_ms);
        self.flags[index * self.flag_sets + set] |= flag;
    }

    fn value(&self, bucket: usize, channel: usize) -> &Aggregate {
        &self.values[bucket * self.channels + channel]
    }

    fn flags_of(&self, bucket: usize, set: usize) -> u8 {
        self.flags[bucket * self.flag_sets + set]
    }

    /// Bucket start, in seconds from the origin.
    fn x(&self, bucket: usize) -> f64 {
        (bucket as i64 * self.width_ms) as f64 / 1000.0
    }

    /// Runs of buckets with `flag` set: (first, last + 1).
    fn runs(&self, set: usize, flag: u8) -> Vec<(usize, usize)> {
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

fn series_colour(statistic: Statistic) -> RGBColor {
    match statistic {
        Statistic::Average => RGBColor(31, 119, 180),
        Statistic::Maximum => RGBColor(214, 39, 40),
        Statistic::Minimum => RGBColor(44, 160, 44),
        Statistic::Sum => RGBColor(148, 103, 189),
        Statistic::SampleCount => RGBColor(140, 86, 75),
    }
}

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

fn draw_error(error: impl std::fmt::Display) -> PlotError {
    PlotError::Draw(error.to_string())
}

/// The simulation's plot.
#[derive(Debug)]
pub struct SimulationPlot {
    /// The statistics the alarms use, each a channel; then desired and in-service capacity.
    statistics: Vec<Statistic>,
    buckets: Buckets,
    thresholds: Vec<(String, f64)>,
    max_capacity: u32,
    title: String,
}

impl SimulationPlot {
    pub fn new(scenario: &Scenario) -> SimulationPlot {
        let mut statistics: Vec<Statistic> = Vec::new();
        for alarm in &scenario.alarms {
            if !statistics.contains(&alarm.statistic) {
                statistics.push(alarm.statistic);
            }
        }
        if statistics.is_empty() {
            statistics.push(Statistic::Average);
        }
        SimulationPlot {
            buckets: Buckets::new(statistics.len() + 2, scenario.alarms.len(), 10_000),
            statistics,
            thresholds: scenario.alarms.iter().map(|a| (a.name.clone(), a.threshold)).collect(),
            max_capacity: scenario.group.max_capacity,
            title: format!("PendingRequests and {} capacity (simulated)", scenario.group.name),
        }
    }

    pub fn observe_point(&mut self, point: &SeriesPoint) {
        for (channel, statistic) in self.statistics.iter().enumerate() {
            if let Some(value) = point.stats.get(*statistic) {
                self.buckets.add(point.start_ms, channel, value);
            }
        }
    }

    pub fn observe(&mut self, evaluation: &Evaluation) {
        let capacity = self.statistics.len();
        self.buckets
            .add(evaluation.time_ms, capacity, f64::from(evaluation.desired_capacity));
        self.buckets.add(
            evaluation.time_ms,
            capacity + 1,
            f64::from(evaluation.in_service_capacity),
        );
        for (set, alarm) in evaluation.alarms.iter().enumerate() {
            match alarm.state {
                AlarmState::Alarm => self.buckets.flag(evaluation.time_ms, set, FLAG_ALARM),
                AlarmState::InsufficientData => self.buckets.flag(evaluation.time_ms, set, FLAG_INSUFFICIENT),
                AlarmState::Ok => {}
            }
        }
    }

    pub fn write_svg(&self, path: &Path) -> Result<(), PlotError> {
        let buckets = &self.buckets;
        let origin = buckets.origin.ok_or(PlotError::Empty)?;
        let x_end = buckets.x(buckets.len).max(1.0);
        let top = (0..buckets.len)
            .flat_map(|b| (0..self.statistics.len()).map(move |c| (b, c)))
            .map(|(b, c)| buckets.value(b, c).max)
            .chain(self.thresholds.iter().map(|(_, t)| *t))
            .filter(|v| v.is_finite())
            .fold(1.0f64, f64::max)
            * 1.1;
        let root = SVGBackend::new(path, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE).map_err(draw_error)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(&self.title, ("sans-serif", 22))
            .margin(10)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .right_y_label_area_size(60)
            .build_cartesian_2d(0.0..x_end, 0.0..top)
            .map_err(draw_error)?
            .set_secondary_coord(0.0..x_end, 0.0..f64::from(self.max_capacity + 1));
        let label = move |x: &f64| format_rfc3339(origin + (*x * 1000.0) as i64);
        chart
            .configure_mesh()
            .x_desc(format!("time (UTC, from {})", format_rfc3339(origin)))
            .y_desc("PendingRequests")
            .x_label_formatter(&label)
            .x_labels(6)
            .draw()
            .map_err(draw_error)?;
        chart
            .configure_secondary_axes()
            .y_desc("capacity")
            .draw()
            .map_err(draw_error)?;
        // Bands first, under the lines: one rectangle per run of ALARM buckets.
        for set in 0..self.thresholds.len() {
            let colour = alarm_colour(set);
            for (first, end) in buckets.runs(set, FLAG_ALARM) {
                chart
                    .draw_series(std::iter::once(Rectangle::new(
                        [(buckets.x(first), 0.0), (buckets.x(end), top)],
                        colour.mix(BAND_OPACITY).filled(),
                    )))
                    .map_err(draw_error)?;
            }
            for (first, end) in buckets.runs(set, FLAG_INSUFFICIENT) {
                chart
                    .draw_series(std::iter::once(Rectangle::new(
                        [(buckets.x(first), top * 0.97), (buckets.x(end), top)],
                        BLACK.mix(0.08).filled(),
                    )))
                    .map_err(draw_error)?;
            }
        }
        for (channel, statistic) in self.statistics.iter().enumerate() {
            let colour = series_colour(*statistic);
            let points = (0..buckets.len).filter_map(|b| {
                let value = buckets.value(b, channel);
                let y = match statistic {
                    Statistic::Maximum => (value.count > 0).then_some(value.max),
                    Statistic::Minimum => (value.count > 0).then_some(value.min),
                    _ => value.mean(),
                }?;
                Some((buckets.x(b) + buckets.width_ms as f64 / 2000.0, y))
            });
            chart
                .draw_series(LineSeries::new(points, colour.stroke_width(1)))
                .map_err(draw_error)?
                .label(format!("PendingRequests {}", statistic.name()))
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(2)));
        }
        for (set, (name, threshold)) in self.thresholds.iter().enumerate() {
            let colour = alarm_colour(set);
            chart
                .draw_series(DashedLineSeries::new(
                    [(0.0, *threshold), (x_end, *threshold)],
                    8,
                    4,
                    colour.stroke_width(2),
                ))
                .map_err(draw_error)?
                .label(format!("{name}: threshold {threshold}, ALARM shaded"))
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(2)));
        }
        let capacity = self.statistics.len();
        for (channel, name, colour) in [
            (capacity, "desired capacity", BLACK),
            (capacity + 1, "in service", RGBColor(90, 90, 90)),
        ] {
            let mut steps = Vec::with_capacity(2 * buckets.len);
            let mut previous: Option<f64> = None;
            for b in 0..buckets.len {
                let value = buckets.value(b, channel);
                if value.count == 0 {
                    continue;
                }
                let x = buckets.x(b);
                if let Some(p) = previous {
                    steps.push((x, p));
                }
                // The bucket's extremes, so a short excursion still shows.
                steps.push((x, value.max));
                steps.push((x, value.last));
                previous = Some(value.last);
            }
            if let Some(p) = previous {
                steps.push((x_end, p));
            }
            let width = if channel == capacity { 2 } else { 1 };
            chart
                .draw_secondary_series(LineSeries::new(steps, colour.stroke_width(width)))
                .map_err(draw_error)?
                .label(name)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(width)));
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
        let completed = RGBColor(44, 160, 44);
        chart
            .draw_secondary_series(LineSeries::new(line(2, Aggregate::mean), completed.stroke_width(1)))
            .map_err(draw_error)?
            .label("completed (mean per period)")
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], completed.stroke_width(2)));
        for (channel, name, colour, pick) in [
            (
                0,
                "in flight, average",
                series_colour(Statistic::Average),
                Aggregate::mean as fn(&Aggregate) -> Option<f64>,
            ),
            (
                1,
                "in flight, peak",
                series_colour(Statistic::Maximum),
                |a: &Aggregate| (a.count > 0).then_some(a.max),
            ),
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
mod tests;
