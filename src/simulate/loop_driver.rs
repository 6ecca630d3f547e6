//! `simulate --log ... --unit-concurrency K --launch-time D`: reads the logs' requests through
//! replay's path, runs the closed loop (and the fixed pool beside it), or a sweep of it, and
//! prints what it gave. The I/O around [`closed_loop`] and [`sweep`].

use std::io::Write;
use std::num::NonZeroUsize;
use std::time::Instant;

use crate::replay::{self, ReplayError};
use crate::scaling::model::{Evaluation, Scenario, SeriesPoint};
use crate::simulate::closed_loop::{self, LoopConfig, LoopObserver, Quiet, Request};
use crate::simulate::loop_report::{self, SweepFormat};
use crate::simulate::plan::{Logs, Output, Plan};
use crate::simulate::prepare::{warn_resolution, SimulateError};
use crate::simulate::sweep::Sweep;
use crate::simulate::watchers::Watchers;

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

/// Every logged request with a `$request_time`, sorted by arrival.
fn read_requests(logs: &Logs) -> Result<Vec<Request>, SimulateError> {
    let started = Instant::now();
    let mut requests = Vec::new();
    let mut without_time = 0u64;
    let replayed = replay::replay_requests(
        &logs.format,
        &logs.files,
        logs.threads,
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

/// Run the closed loop (or its sweep) of a validated plan: `pool` and `sweep` were checked
/// against the policy when the plan was built.
pub(super) fn run(
    plan: &Plan,
    logs: &Logs,
    config: &LoopConfig,
    sweep: Option<&Sweep>,
    out: &mut impl Write,
) -> Result<(), SimulateError> {
    let scenario = &plan.loaded.scenario;
    warn_resolution(&plan.loaded, (config.period_ms / 1000) as u32);
    let requests = read_requests(logs)?;
    let starting = scenario.group.desired_capacity;
    let started = Instant::now();
    let fixed = closed_loop::run(&requests, starting, None, config, &mut Quiet);
    if let Some(sweep) = sweep {
        let threads = std::thread::available_parallelism().unwrap_or(NonZeroUsize::MIN);
        let rows = sweep.run(&requests, scenario, config, threads);
        let mut err = std::io::stderr().lock();
        let _ = loop_report::write_setting(&mut err, config, requests.len() as u64, starting);
        eprintln!(
            "simulate: sweep of {} over {} values on {} threads in {:.3}s",
            sweep.key,
            sweep.values.len(),
            threads.get().min(sweep.values.len()),
            started.elapsed().as_secs_f64()
        );
        let format = match plan.output {
            Output::Summary => SweepFormat::Table,
            Output::Csv => SweepFormat::Csv,
            Output::Json => SweepFormat::Json,
        };
        loop_report::write_sweep(out, sweep, &rows, &fixed, format).map_err(anyhow::Error::new)?;
        return Ok(());
    }
    let mut watchers = Watchers::new(scenario, plan.output, plan.plot.is_some());
    let scaled = closed_loop::run(
        &requests,
        starting,
        Some(scenario),
        config,
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
    let rows_on_stdout = plan.output != Output::Summary;
    watchers.finish(scenario, plan.plot.as_deref(), out)?;
    let written = if rows_on_stdout {
        let mut err = std::io::stderr().lock();
        loop_report::write_setting(&mut err, config, requests.len() as u64, starting)
            .and_then(|()| loop_report::write_comparison(&mut err, config, &scaled, &fixed, starting))
    } else {
        loop_report::write_setting(out, config, requests.len() as u64, starting)
            .and_then(|()| loop_report::write_comparison(out, config, &scaled, &fixed, starting))
    };
    written.map_err(anyhow::Error::new)?;
    Ok(())
}
