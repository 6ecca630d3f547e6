//! The `simulate` command: reads the policy and the series, runs the engine, prints the
//! summary and the rows, draws the plot. The only part of `simulate` that does I/O besides
//! the readers; errors are typed so `main` can pick the exit code.

use std::io::{BufWriter, ErrorKind, Write};
use std::path::Path;

use crate::derive::log_signals::PeriodSignals;
use crate::replay::{self, ReplayError};
use crate::scaling::model::{Scenario, Series, SeriesPoint, SeriesStats, Statistic};
use crate::simulate::engine::Engine;
use crate::simulate::input::{self, Loaded};
use crate::simulate::plan::{CloudWatchRead, Logs, Plan, SeriesPlan};
use crate::simulate::prepare::{check_cpu_series, check_statistics, warn_resolution, SimulateError};
use crate::simulate::watchers::Watchers;
use crate::simulate::{cloudwatch, series};

/// Run a validated `simulate`: read the series, run the engine, print and draw.
pub fn run(plan: &Plan) -> Result<(), SimulateError> {
    let loaded = &plan.loaded;
    for warning in &loaded.warnings {
        eprintln!("warning: {warning}");
    }
    if let Some(dir) = &plan.print_aws {
        let written = input::write_aws(&loaded.scenario, dir)?;
        for path in written {
            println!("{}", path.display());
        }
    }
    if let SeriesPlan::None = plan.series {
        return Ok(());
    }

    let stdout = std::io::stdout();
    let mut out = BufWriter::with_capacity(1 << 16, stdout.lock());
    let result = match &plan.series {
        SeriesPlan::None => Ok(()),
        SeriesPlan::ClosedLoop { logs, pool, sweep } => {
            crate::simulate::loop_driver::run(plan, logs, pool, sweep.as_ref(), &mut out)
        }
        SeriesPlan::Log { logs, period } => simulate_log(plan, logs, *period, &mut out),
        SeriesPlan::File { path, period } => simulate_file(plan, path, *period, &mut out),
        SeriesPlan::CloudWatch(read) => {
            let series = read_cloudwatch(read)?;
            simulate_points(plan, &series, &Statistic::ALL, &mut out)
        }
    };
    match result.and_then(|()| out.flush().map_err(|e| SimulateError::Runtime(anyhow::Error::new(e)))) {
        Err(SimulateError::Runtime(error))
            if error
                .downcast_ref::<std::io::Error>()
                .is_some_and(|e| e.kind() == ErrorKind::BrokenPipe) =>
        {
            Ok(())
        }
        other => other,
    }
}

/// `--series FILE`: a CSV in time order is validated in a first pass, then streamed (memory
/// flat in the series length); anything else is read whole.
fn simulate_file(plan: &Plan, path: &Path, period: Option<u32>, out: &mut impl Write) -> Result<(), SimulateError> {
    let loaded = &plan.loaded;
    let scan = if path.as_os_str() != "-" {
        series::scan_csv(path, period)?
    } else {
        None
    };
    if let Some(scan) = scan {
        if scan.points == 0 {
            return Err(SimulateError::Usage(format!(
                "{}: the series is empty: nothing to simulate",
                path.display()
            )));
        }
        check_statistics(&loaded.scenario, &scan.statistics, "the series")?;
        warn_resolution(loaded, scan.period);
        let mut simulation = Simulation::new(&loaded.scenario, scan.period, plan)?;
        series::feed_csv(path, &mut |point| simulation.push(point, &mut *out))?;
        return simulation.finish(&loaded.scenario, plan, out);
    }
    let read = series::read_series_with_period(path, period)?;
    if read.merged_duplicates > 0 || read.reordered {
        eprintln!(
            "simulate: {}: {} duplicate timestamps merged, {}",
            path.display(),
            read.merged_duplicates,
            if read.reordered {
                "sorted by time"
            } else {
                "already in time order"
            }
        );
    }
    simulate_points(plan, &read.series, &read.statistics, out)
}

/// A series read whole (a file, or CloudWatch's).
fn simulate_points(
    plan: &Plan,
    series: &Series,
    statistics: &[Statistic],
    out: &mut impl Write,
) -> Result<(), SimulateError> {
    let loaded = &plan.loaded;
    if series.points.is_empty() {
        return Err(SimulateError::Usage("the series is empty: nothing to simulate".into()));
    }
    check_statistics(&loaded.scenario, statistics, "the series")?;
    warn_resolution(loaded, series.period);
    let mut simulation = Simulation::new(&loaded.scenario, series.period, plan)?;
    for point in &series.points {
        simulation.push(point, out);
    }
    simulation.finish(&loaded.scenario, plan, out)
}

/// `--log`: replay's own code, each closed period fed to the engine as it closes.
fn simulate_log(
    plan: &Plan,
    logs: &Logs,
    period: std::time::Duration,
    out: &mut impl Write,
) -> Result<(), SimulateError> {
    let loaded: &Loaded = &plan.loaded;
    let period_s = period.as_secs() as u32;
    warn_resolution(loaded, period_s);
    let mut simulation = Simulation::new(&loaded.scenario, period_s, plan)?;
    let mut periods = 0u64;
    let started = std::time::Instant::now();
    let replayed = replay::replay_periods(&logs.format, &logs.files, period, None, logs.threads, &mut |signals| {
        periods += 1;
        simulation.push(&point_of(signals), &mut *out);
        Ok(())
    });
    let summary = match replayed {
        Ok(summary) => summary,
        Err(ReplayError::Command(error)) => return Err(error.into()),
        Err(ReplayError::Output(error)) => return Err(anyhow::Error::new(error).into()),
    };
    replay::print_summary("simulate", &summary, started.elapsed().as_secs_f64());
    if periods == 0 {
        return Err(SimulateError::Usage(
            "the logs gave no period with a request: nothing to simulate".into(),
        ));
    }
    simulation.finish(&loaded.scenario, plan, out)
}

/// One replayed period as a datapoint: the in-flight average and peak stand for Average
/// and Maximum (SampleCount, Sum and Minimum are not known from a log).
pub fn point_of(signals: &PeriodSignals) -> SeriesPoint {
    SeriesPoint {
        start_ms: signals.start_ms,
        stats: SeriesStats {
            average: Some(signals.in_flight_average),
            maximum: Some(signals.in_flight_peak as f64),
            ..SeriesStats::default()
        },
    }
}

fn read_cloudwatch(read: &CloudWatchRead) -> Result<Series, SimulateError> {
    let cw = &read.cloudwatch;
    let dimensions_given = read.dimensions_given;
    let query = read.query.clone();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| anyhow::Error::new(e).context("cannot start the runtime"))?;
    runtime.block_on(async move {
        let identity = crate::sinks::cloudwatch::resolve(cw)
            .await
            .map_err(anyhow::Error::new)?;
        let mut query = query;
        if !dimensions_given {
            query.dimensions = cloudwatch::instance_dimensions(&identity.instance_id);
        }
        let client = aws_sdk_cloudwatch::Client::new(&identity.sdk_config);
        let endpoint = crate::aws_error::endpoint(
            &identity.sdk_config,
            crate::sinks::cloudwatch::CLOUDWATCH_ENDPOINT_PREFIX,
        );
        let series = cloudwatch::fetch(&client, &endpoint, &query)
            .await
            .map_err(|e| SimulateError::Runtime(anyhow::Error::new(e)))?;
        eprintln!(
            "simulate: {} datapoints of {}/{} {} at {} s from CloudWatch",
            series.points.len(),
            query.namespace,
            query.metric_name,
            query
                .dimensions
                .iter()
                .map(|(n, v)| format!("{n}={v}"))
                .collect::<Vec<_>>()
                .join(","),
            query.period
        );
        Ok(series)
    })
}

/// The engine with what watches it, and the predefined metric's series (CPU) it is fed
/// beside the main one.
struct Simulation<'s> {
    engine: Engine<'s>,
    watchers: Watchers,
    scenario: &'s Scenario,
    cpu: std::iter::Peekable<std::vec::IntoIter<SeriesPoint>>,
}

impl<'s> Simulation<'s> {
    fn new(scenario: &'s Scenario, series_period: u32, plan: &Plan) -> Result<Simulation<'s>, SimulateError> {
        let mut engine = Engine::new(scenario, series_period);
        // The plan was checked for this; a plan built by hand is checked here too.
        check_cpu_series(scenario, plan.cpu_series.as_deref())?;
        let cpu = match (&plan.cpu_series, engine.needs_predefined_series()) {
            (Some(path), true) => {
                let read = series::read_series_with_period(path, None)?;
                if read.series.points.is_empty() {
                    return Err(SimulateError::Usage(format!(
                        "{}: the CPU series is empty: nothing to track",
                        path.display()
                    )));
                }
                engine.set_predefined_period(read.series.period);
                read.series.points
            }
            (Some(path), false) => {
                eprintln!(
                    "warning: --cpu-series {}: no target tracking policy follows a predefined metric; the series is not used",
                    path.display()
                );
                Vec::new()
            }
            (None, _) => Vec::new(),
        };
        Ok(Simulation {
            scenario,
            engine,
            watchers: Watchers::new(scenario, plan.output, plan.plot.is_some()),
            cpu: cpu.into_iter().peekable(),
        })
    }

    fn push(&mut self, point: &SeriesPoint, out: &mut impl Write) {
        let Simulation {
            engine,
            watchers,
            scenario,
            cpu,
        } = self;
        while let Some(cpu_point) = cpu.next_if(|cpu_point| cpu_point.start_ms < point.start_ms) {
            engine.push_predefined(&cpu_point);
        }
        watchers.observe_point(point, scenario);
        engine.push(point, &mut |evaluation| watchers.observe(out, evaluation));
    }

    fn finish(mut self, scenario: &Scenario, plan: &Plan, out: &mut impl Write) -> Result<(), SimulateError> {
        let Simulation {
            engine, watchers, cpu, ..
        } = &mut self;
        for cpu_point in cpu {
            engine.push_predefined(&cpu_point);
        }
        engine.finish(&mut |evaluation| watchers.observe(out, evaluation));
        self.watchers.finish(scenario, plan.plot.as_deref(), out)
    }
}
