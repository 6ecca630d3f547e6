//! The one-shot (`once`): sample for a window, publish exactly one datapoint, exit.
//! Made for cron: fails fast off EC2, and fails (publishing nothing) if nginx was never read.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};

use crate::clock::Clock;
use crate::config::Config;
use crate::derive::period::period_start;
use crate::model::{Datapoint, StatisticSet};
use crate::sampler::Sampler;
use crate::sinks::outputs::Outputs;
use crate::stats::Stats;

/// `clock`: the process's one clock (main builds it).
pub async fn run(config: Config, window: Option<Duration>, dry_run: bool, clock: Clock) -> anyhow::Result<()> {
    let cw = &config.cloudwatch;
    let window = window.unwrap_or(cw.period);
    let stats = Arc::new(Stats::default());
    // Resolves the AWS identity first: off EC2 that fails in about a second, before any sampling.
    let mut outputs = Outputs::once(&config, dry_run, &clock, stats.clone()).await?;
    let mut sampler = Sampler::new(&config, stats);
    let started = clock.now();
    let samples = (window.as_millis() / cw.sample_interval.as_millis()).max(1);
    let mut ticker = tokio::time::interval(cw.sample_interval);
    let mut summary: Option<StatisticSet> = None;
    let mut values = Vec::with_capacity(samples as usize);
    for _ in 0..samples {
        ticker.tick().await;
        if let Some(value) = sampler.sample(&clock).await.pending.value() {
            let value = value as f64;
            values.push(value);
            match summary.as_mut() {
                Some(set) => set.add(value),
                None => summary = Some(StatisticSet::of(value)),
            }
        }
    }
    let Some(stats_set) = summary else {
        let reason = sampler
            .last_error
            .as_ref()
            .map_or_else(|| "no sample taken".to_owned(), ToString::to_string);
        bail!("nginx could not be read ({reason}); published nothing");
    };

    // Stamp with the window's start, aligned to the storage resolution.
    let datapoint = Datapoint::pending(
        period_start(started, Duration::from_secs(cw.storage_resolution as u64)),
        stats_set,
    );
    outputs
        .send_period(datapoint, values)
        .context("cannot write the EMF line")?;
    let report = outputs.drain().await?;
    if let Some(error) = report.last_error {
        bail!("publishing to CloudWatch failed: {error}");
    }
    if report.unsent > 0 {
        bail!("publishing to CloudWatch did not finish in time");
    }
    tracing::info!(
        samples = stats_set.sample_count,
        max = stats_set.maximum,
        "published one datapoint"
    );
    Ok(())
}
