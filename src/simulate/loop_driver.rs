//! `simulate --log ... --unit-concurrency K --launch-time D`: reads the logs' requests through
//! replay's path, runs the closed loop (and the fixed pool beside it), or a sweep of it, and
//! prints what it gave. The I/O around [`closed_loop`] and [`sweep`].

use std::io::Write;
use std::num::NonZeroUsize;
use std::time::{Duration, Instant};

use crate::cli::{SimulateArgs, SimulateOutput};
use crate::replay::{self, ReplayError};
use crate::scaling::model::{Evaluation, Scenario, SeriesPoint, Statistic};
use crate::simulate::closed_loop::{self, LoopConfig, LoopObserver, Quiet, Request};
use crate::simulate::input::Loaded;
use crate::simulate::loop_report::{self, SweepFormat};
use crate::simulate::prepare::{check_statistics, warn_resolution, SimulateError};
use crate::simulate::sweep::Sweep;
use crate::simulate::watchers::Watchers;
use crate::sources::access_log::LogFormatSource;

/// The closed loop's watchers: the open loop's summary, rows and plot.
struct Watching<'a, W: Write> {
    watchers: &'a mut Watchers,
    scenario: &'a Scenario,
    out: &'a mut W,
}

impl<W: Write> LoopObserver for Watching<'_, W> {
    fn point(&mut self, point: &SeriesPoint) {
        self.watchers.observe_point(point, self.scenario);
    }
    fn evaluation(&mut self, evaluation: &Evaluation) {
        self.watchers.observe(self.out, evaluation);
    }
}

fn whole_ms(what: &str, duration: Duration) -> Result<i64, SimulateError> {
    if !duration.subsec_nanos().is_multiple_of(1_000_000) {
        return Err(SimulateError::Usage(format!(
            "{what} must be whole milliseconds, got {duration:?}"
        )));
    }
    Ok(duration.as_millis() as i64)
}

/// The pool's setting from the flags.
fn loop_config(args: &SimulateArgs) -> Result<LoopConfig, SimulateError> {
    let period = args.period.unwrap_or(Duration::from_secs(10));
    if period.subsec_nanos() != 0 || period.as_secs() == 0 {
        return Err(SimulateError::Usage(format!(
            "--period must be a whole number of seconds, got {period:?}"
        )));
    }
    let sample_interval_ms = whole_ms("--sample-interval", args.sample_interval)?;
    if sample_interval_ms == 0 || sample_interval_ms > period.as_millis() as i64 {
        return Err(SimulateError::Usage(format!(
            "--sample-interval must be above 0 and at most the period ({}), got {}",
            humantime::format_duration(period),
            humantime::format_duration(args.sample_interval)
        )));
    }
    let unit_concurrency = args.unit_concurrency.unwrap_or(1);
    if unit_concurrency == 0 {
        return Err(SimulateError::Usage(
            "--unit-concurrency must be at least 1 (requests one instance or task serves at once)".into(),
        ));
    }
    Ok(LoopConfig {
        unit_concurrency,
        launch_time_ms: args
            .launch_time
            .map(|launch| whole_ms("--launch-time", launch))
            .transpose()?,
        sample_interval_ms,
        period_ms: period.as_millis() as i64,
        slo_us: args.slo.map(|slo| slo.as_micros() as u64),
    })
}

/// Every logged request with a `$request_time`, sorted by arrival.
fn read_requests(args: &SimulateArgs, format: &LogFormatSource) -> Result<Vec<Request>, SimulateError> {
    let started = Instant::now();
    let mut requests = Vec::new();
    let mut without_time = 0u64;
    let replayed = replay::replay_requests(
        format,
        &args.log,
        args.threads,
        &mut |logged| match Request::of(logged) {
            Some(request) => requests.push(request),
            None => without_time += 1,
        },
    );
    let summary = match replayed {
        Ok(summary) => summary,
        Err(ReplayError::Command(error)) => return Err(error.into()),
        Err(ReplayError::Output(error)) => return Err(anyhow::Error::new(error).into()),
    };
    // The closed loop reads requests, not periods (the pool makes its own): say how many.
    let elapsed = started.elapsed().as_secs_f64();
    eprintln!(
        "simulate: {} lines in {elapsed:.3}s ({:.0} lines/s), {} requests, {}",
        summary.lines,
        summary.lines as f64 / elapsed.max(1e-9),
        requests.len(),
        summary.bad.summary()
    );
    if requests.is_empty() {
        return Err(SimulateError::Usage(if without_time > 0 {
            format!(
                "none of the {without_time} requests has a $request_time: the closed loop needs it (arrival = end - $request_time)"
            )
        } else {
            "the logs have no request: nothing to simulate".into()
        }));
    }
    if without_time > 0 {
        eprintln!("warning: {without_time} requests without a $request_time left out of the closed loop");
    }
    // Logged in order of their end; the pool takes them in order of arrival.
    requests.sort_unstable();
    Ok(requests)
}

pub(super) fn run(
    args: &SimulateArgs,
    format: &LogFormatSource,
    loaded: &Loaded,
    out: &mut impl Write,
) -> Result<(), SimulateError> {
    let config = loop_config(args)?;
    let scenario = &loaded.scenario;
    if scenario.policies.iter().any(|policy| {
        matches!(
            policy.kind,
            crate::scaling::model::PolicyKind::TargetTracking {
                metric: crate::scaling::model::TrackedMetric::Predefined(_),
                ..
            }
        )
    }) {
        return Err(SimulateError::Usage(
            "the closed loop has no CPU to give a predefined-metric target tracking policy: simulate it on a series with --cpu-series".into(),
        ));
    }
    // The pool gives full statistic sets, as the daemon publishes.
    check_statistics(scenario, &Statistic::ALL, "the closed loop's series")?;
    warn_resolution(loaded, (config.period_ms / 1000) as u32);
    let sweep = match &args.sweep {
        Some(text) => Some(Sweep::parse(text, scenario).map_err(SimulateError::Usage)?),
        None => None,
    };
    let requests = read_requests(args, format)?;
    let starting = scenario.group.desired_capacity;
    let started = Instant::now();
    let fixed = closed_loop::run(&requests, starting, None, &config, &mut Quiet);
    if let Some(sweep) = sweep {
        let threads = std::thread::available_parallelism().unwrap_or(NonZeroUsize::MIN);
        let rows = sweep.run(&requests, scenario, &config, threads);
        let mut err = std::io::stderr().lock();
        let _ = loop_report::write_setting(&mut err, &config, requests.len() as u64, starting);
        eprintln!(
            "simulate: sweep of {} over {} values on {} threads in {:.3}s",
            sweep.key,
            sweep.values.len(),
            threads.get().min(sweep.values.len()),
            started.elapsed().as_secs_f64()
        );
        let format = match args.output {
            SimulateOutput::Summary => SweepFormat::Table,
            SimulateOutput::Csv => SweepFormat::Csv,
            SimulateOutput::Json => SweepFormat::Json,
        };
        loop_report::write_sweep(out, &sweep, &rows, &fixed, format).map_err(anyhow::Error::new)?;
        return Ok(());
    }
    let mut watchers = Watchers::new(scenario, args);
    let scaled = closed_loop::run(
        &requests,
        starting,
        Some(scenario),
        &config,
        &mut Watching {
            watchers: &mut watchers,
            scenario,
            out: &mut *out,
        },
    );
    eprintln!(
        "simulate: closed loop over {} requests in {:.3}s",
        requests.len(),
        started.elapsed().as_secs_f64()
    );
    let rows_on_stdout = args.output != SimulateOutput::Summary;
    watchers.finish(scenario, args, out)?;
    let written = if rows_on_stdout {
        let mut err = std::io::stderr().lock();
        loop_report::write_setting(&mut err, &config, requests.len() as u64, starting)
            .and_then(|()| loop_report::write_comparison(&mut err, &config, &scaled, &fixed, starting))
    } else {
        loop_report::write_setting(out, &config, requests.len() as u64, starting)
            .and_then(|()| loop_report::write_comparison(out, &config, &scaled, &fixed, starting))
    };
    written.map_err(anyhow::Error::new)?;
    Ok(())
}
