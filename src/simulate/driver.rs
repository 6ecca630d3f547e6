//! The `simulate` command: reads the policy and the series, runs the engine, prints the
//! summary and the rows, draws the plot. The only part of `simulate` that does I/O besides
//! the readers; errors are typed so `main` can pick the exit code.

use std::io::{BufWriter, ErrorKind, Write};
use std::time::{Duration, SystemTime};

use crate::cli::SimulateArgs;
use crate::config::Config;
use crate::derive::log_signals::PeriodSignals;
use crate::replay::{self, ReplayError};
use crate::scaling::model::{Delays, Scenario, SeriesPoint, SeriesStats, Statistic};
use crate::simulate::engine::Engine;
use crate::simulate::input::{self, Loaded, Sources};
use crate::simulate::prepare::{check_statistics, warn_resolution, SimulateError};
use crate::simulate::watchers::Watchers;
use crate::simulate::{cloudwatch, series};
use crate::sources::access_log::LogFormatSource;

/// The statistics `--log` gives: the sweep's in-flight average and peak.
const LOG_STATISTICS: [Statistic; 2] = [Statistic::Average, Statistic::Maximum];

/// Run `simulate`. `format`: the log format (the config's when --config was given);
/// `config`: the loaded config, needed by --from-cloudwatch.
pub fn run(args: &SimulateArgs, format: &LogFormatSource, config: Option<&Config>) -> Result<(), SimulateError> {
    let sources = Sources {
        alarms: args.alarms.as_deref(),
        policies: args.policies.as_deref(),
        group: args.group.as_deref(),
        policy_toml: args.policy.as_deref(),
        capacity: args.capacity,
    };
    if sources.policy_toml.is_none() && sources.alarms.is_none() {
        return Err(SimulateError::Usage(
            "simulate needs a policy: --policy FILE.toml, or --alarms and --policies (and --group or --capacity)"
                .into(),
        ));
    }
    let mut loaded = input::load(&sources)?;
    for text in &args.set {
        crate::simulate::sweep::set(text, &mut loaded.scenario).map_err(SimulateError::Usage)?;
    }
    apply_delay_flags(args, &mut loaded.scenario.delays)?;
    for warning in &loaded.warnings {
        eprintln!("warning: {warning}");
    }
    if let Some(dir) = &args.print_aws {
        let written = input::write_aws(&loaded.scenario, dir)?;
        for path in written {
            println!("{}", path.display());
        }
        if args.series.is_none() && args.log.is_empty() && !args.from_cloudwatch {
            return Ok(());
        }
    }

    let stdout = std::io::stdout();
    let mut out = BufWriter::with_capacity(1 << 16, stdout.lock());
    let streamed = match &args.series {
        Some(path) if path.as_os_str() != "-" => series_period_hint(args)
            .and_then(|hint| Ok(series::scan_csv(path, hint)?))
            .map(|scan| scan.map(|scan| (path, scan))),
        _ => Ok(None),
    };
    let result = if args.unit_concurrency.is_some() {
        crate::simulate::loop_driver::run(args, format, &loaded, &mut out)
    } else if !args.log.is_empty() {
        simulate_log(args, format, &loaded, &mut out)
    } else if let Some((path, scan)) = streamed? {
        // A CSV in time order: validated in a first pass, then streamed (memory flat in the
        // series length).
        if scan.points == 0 {
            return Err(SimulateError::Usage(format!(
                "{}: the series is empty: nothing to simulate",
                path.display()
            )));
        }
        check_statistics(&loaded.scenario, &scan.statistics, "the series")?;
        warn_resolution(&loaded, scan.period);
        let mut simulation = Simulation::new(&loaded.scenario, scan.period, args)?;
        series::feed_csv(path, &mut |point| simulation.push(point, &mut out))?;
        simulation.finish(&loaded.scenario, args, &mut out)
    } else {
        let (series, statistics) = if args.from_cloudwatch {
            let config = config.ok_or_else(|| {
                SimulateError::Usage("--from-cloudwatch reads the config's namespace and metric: give --config".into())
            })?;
            let series = read_cloudwatch(args, config)?;
            (series, Statistic::ALL.to_vec())
        } else if let Some(path) = &args.series {
            let read = series::read_series_with_period(path, series_period_hint(args)?)?;
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
            (read.series, read.statistics)
        } else {
            return Err(SimulateError::Usage(
                "simulate needs a series: --series FILE, --log FILE... or --from-cloudwatch".into(),
            ));
        };
        if series.points.is_empty() {
            return Err(SimulateError::Usage("the series is empty: nothing to simulate".into()));
        }
        check_statistics(&loaded.scenario, &statistics, "the series")?;
        warn_resolution(&loaded, series.period);
        let mut simulation = Simulation::new(&loaded.scenario, series.period, args)?;
        for point in &series.points {
            simulation.push(point, &mut out);
        }
        simulation.finish(&loaded.scenario, args, &mut out)
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

/// The delay flags over the policy's `[delays]`: whole seconds each.
fn apply_delay_flags(args: &SimulateArgs, delays: &mut Delays) -> Result<(), SimulateError> {
    for (flag, value, field) in [
        ("--ingestion-delay", args.ingestion_delay, &mut delays.ingestion_s),
        (
            "--launch-to-in-service",
            args.launch_to_in_service,
            &mut delays.ec2_launch_to_in_service_s,
        ),
        ("--task-startup", args.task_startup, &mut delays.ecs_task_startup_s),
        (
            "--instance-launch",
            args.instance_launch,
            &mut delays.ecs_instance_launch_s,
        ),
        ("--discovery-delay", args.discovery_delay, &mut delays.discovery_s),
        (
            "--deregistration-delay",
            args.deregistration_delay,
            &mut delays.deregistration_s,
        ),
    ] {
        let Some(duration) = value else { continue };
        *field = u32::try_from(duration.as_secs())
            .ok()
            .filter(|_| duration.subsec_nanos() == 0)
            .ok_or_else(|| {
                SimulateError::Usage(format!(
                    "{flag} must be whole seconds, such as \"30s\", got {}",
                    humantime::format_duration(duration)
                ))
            })?;
    }
    if let Some(spare) = args.spare_tasks {
        delays.ecs_spare_tasks = Some(spare);
    }
    Ok(())
}

/// `--period` for a series file: whole seconds.
fn series_period_hint(args: &SimulateArgs) -> Result<Option<u32>, SimulateError> {
    match args.period {
        Some(period) if period.subsec_nanos() == 0 && period.as_secs() > 0 => Ok(Some(period.as_secs() as u32)),
        Some(period) => Err(SimulateError::Usage(format!(
            "--period must be whole seconds, got {period:?}"
        ))),
        None => Ok(None),
    }
}

/// `--log`: replay's own code, each closed period fed to the engine as it closes.
fn simulate_log(
    args: &SimulateArgs,
    format: &LogFormatSource,
    loaded: &Loaded,
    out: &mut impl Write,
) -> Result<(), SimulateError> {
    let period = args.period.unwrap_or(Duration::from_secs(10));
    if period.subsec_nanos() != 0 || period.as_secs() == 0 {
        return Err(SimulateError::Usage(format!(
            "--period must be a whole number of seconds, got {period:?}"
        )));
    }
    let period_s = period.as_secs() as u32;
    // The series is the requests in flight, known only from $request_time: without it every
    // period would be 0 and the alarm "never breached", a quiet zero.
    if crate::parse_log::compile(format)?.position("request_time").is_none() {
        return Err(SimulateError::Usage(format!(
            "simulate --log needs $request_time in the log format (requests in flight come from it), and {format} has none"
        )));
    }
    check_statistics(&loaded.scenario, &LOG_STATISTICS, "a series from --log")?;
    warn_resolution(loaded, period_s);
    let mut simulation = Simulation::new(&loaded.scenario, period_s, args)?;
    let mut periods = 0u64;
    let started = std::time::Instant::now();
    let replayed = replay::replay_periods(format, &args.log, period, None, args.threads, &mut |signals| {
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
    simulation.finish(&loaded.scenario, args, out)
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

fn read_cloudwatch(args: &SimulateArgs, config: &Config) -> Result<crate::scaling::model::Series, SimulateError> {
    let cw = &config.cloudwatch;
    let period = args.period.unwrap_or(cw.period);
    if period.subsec_nanos() != 0 || period.as_secs() == 0 {
        return Err(SimulateError::Usage(format!(
            "--period must be whole seconds, got {period:?}"
        )));
    }
    let (Some(start), Some(end)) = (args.start, args.end) else {
        return Err(SimulateError::Usage("--from-cloudwatch needs --start and --end".into()));
    };
    let explicit = match &args.dimensions {
        Some(text) => Some(cloudwatch::parse_dimensions(text).map_err(SimulateError::Usage)?),
        None => None,
    };
    let query = cloudwatch::query_for(
        cw,
        explicit.clone().unwrap_or_default(),
        period.as_secs() as u32,
        start,
        end,
    );
    cloudwatch::check(&query, SystemTime::now()).map_err(|e| SimulateError::Usage(e.to_string()))?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| anyhow::Error::new(e).context("cannot start the runtime"))?;
    runtime.block_on(async move {
        let identity = crate::sinks::cloudwatch::resolve(cw)
            .await
            .map_err(anyhow::Error::new)?;
        let mut query = query;
        if explicit.is_none() {
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
    fn new(scenario: &'s Scenario, series_period: u32, args: &SimulateArgs) -> Result<Simulation<'s>, SimulateError> {
        let mut engine = Engine::new(scenario, series_period);
        let cpu = match (&args.cpu_series, engine.needs_predefined_series()) {
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
            (None, true) => {
                return Err(SimulateError::Usage(
                    "a target tracking policy follows a predefined ECS metric (CPU): give its series with --cpu-series FILE"
                        .into(),
                ))
            }
            (Some(path), false) => {
                eprintln!(
                    "warning: --cpu-series {}: no target tracking policy follows a predefined metric; the series is not used",
                    path.display()
                );
                Vec::new()
            }
            (None, false) => Vec::new(),
        };
        Ok(Simulation {
            scenario,
            engine,
            watchers: Watchers::new(scenario, args),
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

    fn finish(mut self, scenario: &Scenario, args: &SimulateArgs, out: &mut impl Write) -> Result<(), SimulateError> {
        let Simulation {
            engine, watchers, cpu, ..
        } = &mut self;
        for cpu_point in cpu {
            engine.push_predefined(&cpu_point);
        }
        engine.finish(&mut |evaluation| watchers.observe(out, evaluation));
        self.watchers.finish(scenario, args, out)
    }
}
