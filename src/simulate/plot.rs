//! `simulate --plot FILE.svg`: the series with each alarm's threshold, the ALARM intervals as
//! shaded bands and the capacity as a step line, on [`crate::chart`]'s bounded buckets.

use std::path::Path;

use plotters::prelude::*;

use crate::chart::{
    alarm_colour, draw_error, draw_legend, number_label, whole_ticks, Buckets, LegendEntry, PlotError, Ticked,
    TimeAxis, AVERAGE_COLOUR, BAND_OPACITY, COUNT_COLOUR, FLAG_ALARM, FLAG_INSUFFICIENT, HEIGHT, LEGEND_WIDTH,
    MAXIMUM_COLOUR, MINIMUM_COLOUR, SUM_COLOUR, WIDTH,
};
use crate::scaling::scenario::{AlarmState, Evaluation, Scenario, SeriesPoint, Statistic};

/// The in-service capacity: a wide pale line under the desired capacity's thin black one, so
/// it shows where the two are equal as well as where they part.
pub(crate) const IN_SERVICE_COLOUR: RGBColor = RGBColor(44, 160, 44);
const IN_SERVICE_OPACITY: f64 = 0.45;
const IN_SERVICE_WIDTH: u32 = 7;

pub(crate) fn series_colour(statistic: Statistic) -> RGBColor {
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
pub(crate) struct SimulationPlot {
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

    pub(crate) fn observe_point(&mut self, point: &SeriesPoint) {
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

    pub(crate) fn write_svg(&self, path: &Path) -> Result<(), PlotError> {
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
        let (chart_area, legend_area) = root.split_horizontally(WIDTH - LEGEND_WIDTH);
        let axis = TimeAxis::new(origin, x_end);
        let capacity_top = self.max_capacity + 1;
        let mut chart = ChartBuilder::on(&chart_area)
            .caption(&self.title, ("sans-serif", 22))
            .margin(10)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .right_y_label_area_size(60)
            .build_cartesian_2d(
                Ticked::new(0.0..x_end, axis.ticks.clone(), axis.minor.clone()),
                0.0..top,
            )
            .map_err(draw_error)?
            .set_secondary_coord(
                0.0..x_end,
                Ticked::new(0.0..f64::from(capacity_top), whole_ticks(capacity_top, 12), Vec::new()),
            );
        let label = |x: &f64| axis.label(*x);
        chart
            .configure_mesh()
            .x_desc(axis.description())
            .y_desc("PendingRequests")
            .x_label_formatter(&label)
            .y_label_formatter(&number_label)
            .draw()
            .map_err(draw_error)?;
        chart
            .configure_secondary_axes()
            .y_desc("capacity")
            .y_label_formatter(&number_label)
            .draw()
            .map_err(draw_error)?;
        let mut legend = Vec::new();
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
                .map_err(draw_error)?;
            legend.push(LegendEntry::new(
                format!("PendingRequests {}", statistic.name()),
                colour.stroke_width(2),
            ));
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
                .map_err(draw_error)?;
            legend.push(LegendEntry::new(
                format!("{name}: threshold {}, ALARM shaded", number_label(threshold)),
                colour.stroke_width(2),
            ));
        }
        let capacity = self.statistics.len();
        // In service first, wide and pale, so the desired capacity's line runs on top of it.
        for (channel, name, style) in [
            (
                capacity + 1,
                "in service",
                IN_SERVICE_COLOUR.mix(IN_SERVICE_OPACITY).stroke_width(IN_SERVICE_WIDTH),
            ),
            (capacity, "desired capacity", BLACK.stroke_width(2)),
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
            chart
                .draw_secondary_series(LineSeries::new(steps, style))
                .map_err(draw_error)?;
            legend.push(LegendEntry::new(name, style));
        }
        draw_legend(&legend_area, &legend)?;
        root.present().map_err(draw_error)
    }
}

#[cfg(test)]
mod tests;
