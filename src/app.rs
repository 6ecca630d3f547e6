//! The daemon (`run`): sample stub_status every `sample_interval`, close a period every
//! `period`, hand each period's datapoint to the delivery task, and on SIGTERM publish the
//! partial period and drain within the grace deadline.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::sync::mpsc;
use tokio::time::{Interval, MissedTickBehavior};
use tokio_util::sync::CancellationToken;

use crate::clock::{next_multiple, round_to, Clock};
use crate::config::Config;
use crate::derive::period::{Closed, PeriodAccumulator};
use crate::model::Datapoint;
use crate::sampler::Sampler;
use crate::sinks::delivery::Delivery;
use crate::sinks::spool::{Spool, SpoolBounds, SpoolError};
use crate::sinks::{cloudwatch, AnyPublisher, Target};
use crate::sources::stub_status::Scraper;
use crate::stats::Stats;

/// Datapoints between the sampler and delivery: one per period, so 64 is over ten minutes
/// of slack at the shortest period. Delivery never blocks longer than one call's
/// operation timeout, so the channel does not fill; if it ever did, the sampler drops the
/// datapoint and counts it rather than stall sampling (backpressure choice: drop newest).
const DATAPOINT_CHANNEL: usize = 64;
/// A wall-clock step bigger than this re-aligns the sample ticks.
const MAX_CLOCK_DRIFT: Duration = Duration::from_millis(250);

/// Build the publisher for this run: CloudWatch, or stdout JSON for `--dry-run` (which
/// needs the instance id for the dimension but no region or credentials).
pub async fn publisher_and_target(config: &Config, dry_run: bool) -> anyhow::Result<(AnyPublisher, Target)> {
    if dry_run {
        let (instance_id, source) = cloudwatch::resolve_instance_id(&config.cloudwatch).await?;
        tracing::info!(%instance_id, instance_id_source = %source, "dry run: requests go to stdout");
        return Ok((
            AnyPublisher::DryRun(Default::default()),
            Target::new(&config.cloudwatch, instance_id),
        ));
    }
    let identity = cloudwatch::resolve(&config.cloudwatch).await?;
    tracing::info!(
        region = %identity.region,
        region_source = %identity.region_source,
        instance_id = %identity.instance_id,
        instance_id_source = %identity.instance_id_source,
        "resolved AWS identity"
    );
    let publisher = AnyPublisher::CloudWatch(cloudwatch::CloudWatchPublisher::new(&identity.sdk_config));
    Ok((publisher, Target::new(&config.cloudwatch, identity.instance_id)))
}

/// The spool of unsent datapoints in `daemon.state_directory`. A second exporter on the
/// same directory is an error; any other failure to open it is logged and the daemon runs
/// with an in-memory spool: the fresh datapoint, which scaling needs, matters more than
/// surviving a crash. `--dry-run` never touches the state directory.
fn open_spool(config: &Config, dry_run: bool) -> anyhow::Result<Spool> {
    let cw = &config.cloudwatch;
    let bounds = SpoolBounds {
        max_bytes: cw.spool_max_bytes,
        max_age: cw.spool_max_age,
    };
    if dry_run {
        return Ok(Spool::in_memory(bounds));
    }
    let dir = &config.daemon.state_directory;
    match Spool::open(dir, bounds, std::time::SystemTime::now()) {
        Ok((spool, report)) => {
            if report.torn_bytes > 0 {
                tracing::warn!(
                    torn_bytes = report.torn_bytes,
                    "the spool ended in a torn write (a crash); dropped that part"
                );
            }
            if report.dropped > 0 {
                tracing::warn!(
                    dropped = report.dropped,
                    "spooled datapoints past spool_max_age or spool_max_bytes dropped at load"
                );
            }
            tracing::info!(dir = %dir.display(), spooled = report.loaded, "spool opened");
            Ok(spool)
        }
        Err(error @ SpoolError::Locked { .. }) => Err(error).context("another exporter uses daemon.state_directory"),
        Err(error) => {
            tracing::error!(%error, "running without a spool on disk: unsent datapoints will not survive a restart (set daemon.state_directory)");
            Ok(Spool::in_memory(bounds))
        }
    }
}

pub async fn run(config: Config, dry_run: bool) -> anyhow::Result<()> {
    let stats = Arc::new(Stats::default());
    let (publisher, target) = publisher_and_target(&config, dry_run).await?;
    let token = CancellationToken::new();
    crate::shutdown::cancel_on_signal(token.clone()).context("cannot install signal handlers")?;

    let (sender, receiver) = mpsc::channel(DATAPOINT_CHANNEL);
    let spool = open_spool(&config, dry_run)?;
    let mut delivery = Delivery::new(
        publisher,
        target,
        spool,
        config.cloudwatch.max_calls_per_second,
        stats.clone(),
    );
    // Fresh first also across a restart: what the last run left waits for this run's
    // first datapoint (or two periods, if nginx cannot be read).
    delivery.hold_spool_until_fresh(config.cloudwatch.period * 2);
    let delivery = tokio::spawn(delivery.run(receiver, config.daemon.shutdown_grace));

    tracing::info!(
        url = %config.nginx.status_url,
        namespace = %config.cloudwatch.namespace,
        metric = %config.cloudwatch.metric_name,
        period = %humantime::format_duration(config.cloudwatch.period),
        sample_interval = %humantime::format_duration(config.cloudwatch.sample_interval),
        dry_run,
        "started"
    );
    let scraper = Scraper::new(config.nginx.status_url.clone(), config.nginx.timeout);
    sample_loop(
        &config,
        Clock::system(),
        Sampler::new(scraper, stats.clone()),
        sender,
        token,
    )
    .await;

    let report = delivery.await.context("delivery task failed")?;
    tracing::info!(
        samples_ok = Stats::get(&stats.samples_ok),
        samples_failed = Stats::get(&stats.samples_failed),
        periods_blind = Stats::get(&stats.periods_blind),
        datapoints_sent = Stats::get(&stats.datapoints_sent),
        datapoints_unsent = report.unsent,
        "stopped"
    );
    Ok(())
}

fn aligned_ticker(clock: &Clock, step: Duration) -> Interval {
    let first = clock.instant_for(next_multiple(clock.now(), step));
    let mut ticker = tokio::time::interval_at(first, step);
    // A scrape is bounded by nginx.timeout <= sample_interval; if one still overruns,
    // skip the missed tick rather than sample twice in a row.
    ticker.set_missed_tick_behavior(MissedTickBehavior::Skip);
    ticker
}

/// Sample until cancelled, then close the partial period. Dropping `sender` on return
/// tells delivery to drain.
pub async fn sample_loop(
    config: &Config,
    mut clock: Clock,
    mut sampler: Sampler,
    sender: mpsc::Sender<Datapoint>,
    token: CancellationToken,
) {
    let interval = config.cloudwatch.sample_interval;
    let mut periods = PeriodAccumulator::new(config.cloudwatch.period);
    let mut handoff = Handoff::new(sender, sampler.stats());
    let mut ticker = aligned_ticker(&clock, interval);
    loop {
        let tick = tokio::select! {
            biased;
            () = token.cancelled() => break,
            tick = ticker.tick() => tick,
        };
        let drift = clock.drift();
        if drift > MAX_CLOCK_DRIFT {
            tracing::warn!(drift = ?drift, "system clock stepped; re-aligning samples to it");
            clock = clock.reanchored();
            ticker = aligned_ticker(&clock, interval);
            continue;
        }
        let at = round_to(clock.wall(tick), interval);
        if let Some(closed) = periods.roll(at) {
            handoff.send(closed);
        }
        let figures = tokio::select! {
            biased;
            () = token.cancelled() => break,
            figures = sampler.sample(&clock) => figures,
        };
        periods.add(figures.map(|f| f.in_flight as f64));
    }
    if let Some(closed) = periods.flush() {
        handoff.send(closed);
    }
}

/// Hands closed periods to delivery; blind periods are counted, logged once, never sent.
struct Handoff {
    sender: mpsc::Sender<Datapoint>,
    stats: Arc<Stats>,
    blind_periods: u64,
}

impl Handoff {
    fn new(sender: mpsc::Sender<Datapoint>, stats: Arc<Stats>) -> Self {
        Handoff {
            sender,
            stats,
            blind_periods: 0,
        }
    }

    fn send(&mut self, closed: Closed) {
        match closed {
            Closed::Datapoint(datapoint) => {
                if self.blind_periods > 0 {
                    tracing::info!(periods = self.blind_periods, "nginx readable again; publishing resumes");
                    self.blind_periods = 0;
                }
                if self.sender.try_send(datapoint).is_err() {
                    Stats::bump(&self.stats.datapoints_dropped);
                    tracing::error!("delivery is not keeping up; dropped this period's datapoint");
                }
            }
            Closed::Blind {
                period_start,
                failed_samples,
            } => {
                Stats::bump(&self.stats.periods_blind);
                self.blind_periods += 1;
                if self.blind_periods == 1 {
                    tracing::warn!(
                        period_start = %humantime::format_rfc3339_seconds(period_start),
                        failed_samples,
                        "no sample of nginx succeeded in this period: publishing nothing for it (the alarm's TreatMissingData decides)"
                    );
                }
            }
        }
    }
}
