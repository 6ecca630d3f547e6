//! `simulate`'s flags checked against each other and the policy, into a
//! [`simulate::Plan`]: the policy loaded and changed by `--set` and the delay flags, the
//! series' source chosen, every period, pool setting, sweep and CloudWatch window checked.

use std::time::{Duration, SystemTime};

use nginx_backlog_exporter::config::Config;
use nginx_backlog_exporter::replay;
use nginx_backlog_exporter::scaling::model::Delays;
use nginx_backlog_exporter::simulate::closed_loop::LoopConfig;
use nginx_backlog_exporter::simulate::input::{self, Sources};
use nginx_backlog_exporter::simulate::sweep::{self, Sweep};
use nginx_backlog_exporter::simulate::{self, cloudwatch, CloudWatchRead, Logs, Output, SeriesPlan, SimulateError};
use nginx_backlog_exporter::sources::access_log::LogFormatSource;

use crate::cli::{SimulateArgs, SimulateOutput};

/// `format`: the log format (the config's when --config was given); `config`: the loaded
/// config, needed by --from-cloudwatch; `now`: for the CloudWatch window's retention.
pub fn plan(
    args: &SimulateArgs,
    format: LogFormatSource,
    config: Option<&Config>,
    now: SystemTime,
) -> Result<simulate::Plan, SimulateError> {
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
        sweep::set(text, &mut loaded.scenario).map_err(SimulateError::Usage)?;
    }
    apply_delay_flags(args, &mut loaded.scenario.delays)?;
    let scenario = &loaded.scenario;
    let logs = || Logs {
        format: format.clone(),
        files: args.log.clone(),
        threads: args.threads,
    };
    let series = if args.unit_concurrency.is_some() {
        let pool = loop_config(args)?;
        simulate::check_closed_loop(scenario)?;
        let sweep = match &args.sweep {
            Some(text) => Some(Sweep::parse(text, scenario).map_err(SimulateError::Usage)?),
            None => None,
        };
        SeriesPlan::ClosedLoop {
            logs: logs(),
            pool,
            sweep,
        }
    } else if !args.log.is_empty() {
        let period = args.period.unwrap_or(Duration::from_secs(10));
        if period.subsec_nanos() != 0 || period.as_secs() == 0 {
            return Err(SimulateError::Usage(format!(
                "--period must be a whole number of seconds, got {period:?}"
            )));
        }
        replay::check_period(period)?;
        simulate::check_log(scenario, &format)?;
        SeriesPlan::Log { logs: logs(), period }
    } else if let Some(path) = &args.series {
        SeriesPlan::File {
            path: path.clone(),
            period: series_period_hint(args)?,
        }
    } else if args.from_cloudwatch {
        let config = config.ok_or_else(|| {
            SimulateError::Usage("--from-cloudwatch reads the config's namespace and metric: give --config".into())
        })?;
        SeriesPlan::CloudWatch(cloudwatch_read(args, config, now)?)
    } else if args.print_aws.is_some() {
        SeriesPlan::None
    } else {
        return Err(SimulateError::Usage(
            "simulate needs a series: --series FILE, --log FILE... or --from-cloudwatch".into(),
        ));
    };
    // The open loop feeds a predefined metric's policy from --cpu-series.
    if let SeriesPlan::File { .. } | SeriesPlan::CloudWatch(_) | SeriesPlan::Log { .. } = series {
        simulate::check_cpu_series(scenario, args.cpu_series.as_deref())?;
    }
    Ok(simulate::Plan {
        loaded,
        print_aws: args.print_aws.clone(),
        series,
        cpu_series: args.cpu_series.clone(),
        output: match args.output {
            SimulateOutput::Summary => Output::Summary,
            SimulateOutput::Csv => Output::Csv,
            SimulateOutput::Json => Output::Json,
        },
        plot: args.plot.clone(),
    })
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

/// `--from-cloudwatch`: the query, its window checked against CloudWatch's retention now.
fn cloudwatch_read(args: &SimulateArgs, config: &Config, now: SystemTime) -> Result<CloudWatchRead, SimulateError> {
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
    let dimensions_given = explicit.is_some();
    let query = cloudwatch::query_for(cw, explicit.unwrap_or_default(), period.as_secs() as u32, start, end);
    cloudwatch::check(&query, now).map_err(|e| SimulateError::Usage(e.to_string()))?;
    Ok(CloudWatchRead {
        cloudwatch: cw.clone(),
        query,
        dimensions_given,
    })
}

fn whole_ms(what: &str, duration: Duration) -> Result<i64, SimulateError> {
    if !duration.subsec_nanos().is_multiple_of(1_000_000) {
        return Err(SimulateError::Usage(format!(
            "{what} must be whole milliseconds, got {duration:?}"
        )));
    }
    Ok(duration.as_millis() as i64)
}

/// The closed loop's pool from the flags.
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
