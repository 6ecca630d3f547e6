//! `simulate --plot FILE.svg`: the series with each alarm's threshold, the ALARM intervals as
//! shaded bands and the capacity as a step line, on [`crate::plot`]'s bounded buckets.

use std::path::Path;

use plotters::prelude::*;

use crate::plot::{
    alarm_colour, draw_error, Buckets, PlotError, AVERAGE_COLOUR, BAND_OPACITY, COUNT_COLOUR, FLAG_ALARM,
    FLAG_INSUFFICIENT, HEIGHT, MAXIMUM_COLOUR, MINIMUM_COLOUR, SUM_COLOUR, WIDTH,
};
use crate::scaling::model::{AlarmState, Evaluation, Scenario, SeriesPoint, Statistic};
use crate::sources::access_log::values::format_rfc3339;

pub fn series_colour(statistic: Statistic) -> RGBColor {
    match statistic {
        Statistic::Average => AVERAGE_COLOUR,
        Statistic::Maximum => MAXIMUM_COLOUR,
        Statistic::Minimum => MINIMUM_COLOUR,
        Statistic::Sum => SUM_COLOUR,
        Statistic::SampleCount => COUNT_COLOUR,
    }
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

#[cfg(test)]
mod tests;
