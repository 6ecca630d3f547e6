//! The daemon (`run`), the composition root: build the clock, the outputs, the sampler and
//! the access-log pipeline from `Config`, run the sample loop until SIGTERM, then stop the
//! pipeline and drain the outputs within the grace deadline.

use std::sync::Arc;

use anyhow::Context;
use tokio_util::sync::CancellationToken;

use crate::clock::Clock;
use crate::config::Config;
use crate::pipeline;
use crate::sampler::Sampler;
use crate::sinks::outputs::Outputs;
use crate::stats::{unix_ms, Stats, Summary};

/// `clock`: the process's one clock (main builds it); every reader of wall time holds a clone.
pub async fn run(config: Config, dry_run: bool, clock: Clock) -> anyhow::Result<()> {
    let stats = Arc::new(Stats::default());
    Stats::set(&stats.started_unix_ms, unix_ms(clock.now()));
    let token = CancellationToken::new();
    let mut outputs = Outputs::daemon(&config, dry_run, &clock, stats.clone(), token.clone()).await?;
    crate::shutdown::cancel_on_signal(token.clone()).context("cannot install signal handlers")?;

    let cw = &config.cloudwatch;
    let sampler = Sampler::new(&config, stats.clone());
    let log_task = match &config.access_log {
        Some(access_log) => {
            let task = pipeline::access_log::start(
                access_log,
                cw.period,
                &config.daemon.state_directory,
                stats.clone(),
                clock.clone(),
                token.clone(),
                Some(sampler.busy_time()),
                outputs.log(),
            )?;
            Some(tokio::spawn(task))
        }
        None => None,
    };

    tracing::info!(
        url = %config.nginx.status_url,
        namespace = %cw.namespace,
        metric = %cw.metric_name,
        pending = %cw.pending,
        listen_ports = ?config.nginx.listen_ports,
        period = %humantime::format_duration(cw.period),
        sample_interval = %humantime::format_duration(cw.sample_interval),
        dry_run,
        "started"
    );
    crate::service_manager::notify_ready();
    pipeline::sample_loop::sample_loop(&config, &clock, sampler, &mut outputs, stats.clone(), token.clone()).await;

    // The access-log task holds a sender of delivery's channel: stop it first, so delivery
    // sees every sender gone and drains.
    token.cancel();
    if let Some(task) = log_task {
        task.await.context("access-log task failed")?;
    }
    let report = outputs.drain().await?;
    // The summary's counters come from stats::OWN_METRICS, the rows marked for it.
    tracing::info!(datapoints_unsent = report.unsent, "stopped {}", Summary(&stats));
    Ok(())
}
