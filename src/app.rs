//! The daemon (`run`): sample stub_status every `sample_interval`, close a period every
//! `period`, hand each period's datapoint to the delivery task, and on SIGTERM publish the
//! partial period and drain within the grace deadline.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

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
use crate::sinks::emf::{self, EmfRecord};
use crate::sinks::prometheus::{self, HealthPolicy};
use crate::sinks::spool::{Spool, SpoolBounds, SpoolError};
use crate::sinks::{cloudwatch, AnyPublisher, Target};
use crate::stats::{unix_ms, Stats};

/// Datapoints between the sampler and delivery (and the EMF writer): one per period, so 64
/// is a minute of slack at the shortest period. Delivery never blocks longer than one call's
/// operation timeout, so the channel does not fill; if it ever did, the sampler drops the
/// datapoint and counts it rather than stall sampling (backpressure choice: drop newest).
const DATAPOINT_CHANNEL: usize = 64;
/// A wall-clock step bigger than this re-aligns the sample ticks.
const MAX_CLOCK_DRIFT: Duration = Duration::from_millis(250);

/// Where this run publishes: the PutMetricData publisher (CloudWatch, or stdout JSON for
/// `--dry-run`; none when only EMF is configured) and the target of every datum.
/// Without real PutMetricData calls only the instance id is needed, not region or credentials.
pub async fn publisher_and_target(config: &Config, dry_run: bool) -> anyhow::Result<(Option<AnyPublisher>, Target)> {
    let cw = &config.cloudwatch;
    if dry_run || !cw.put_metric_data {
        let (instance_id, source) = cloudwatch::resolve_instance_id(cw).await?;
        tracing::info!(%instance_id, instance_id_source = %source, dry_run, "resolved instance id");
        let publisher = (dry_run && cw.put_metric_data).then(|| AnyPublisher::DryRun(Default::default()));
        return Ok((publisher, Target::new(cw, instance_id)));
    }
    let identity = cloudwatch::resolve(cw).await?;
    tracing::info!(
        region = %identity.region,
        region_source = %identity.region_source,
        instance_id = %identity.instance_id,
        instance_id_source = %identity.instance_id_source,
        "resolved AWS identity"
    );
    let publisher = AnyPublisher::CloudWatch(cloudwatch::CloudWatchPublisher::new(&identity.sdk_config));
    Ok((Some(publisher), Target::new(cw, identity.instance_id)))
}

/// The spool of unsent datapoints in `daemon.state_directory`. A second exporter on the
/// same directory is an error; any other failure to open it is logged and the daemon runs
/// with an in-memory spool: the fresh datapoint, which scaling needs, matters more than
/// surviving a crash. `--dry-run` never touches the state directory.
fn open_spool(config: &Config, target: &Target, dry_run: bool) -> anyhow::Result<Spool> {
    let cw = &config.cloudwatch;
    let bounds = SpoolBounds::of(cw);
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
            let mut spool = spool;
            let owner = Target::spool_owner(&target.namespace, &target.metric_name, &target.instance_id);
            match spool.bind_to(&owner) {
                Ok(None) => {}
                Ok(Some((previous, discarded))) => tracing::warn!(
                    discarded,
                    previous = %previous.replace('\n', " "),
                    now = %owner.replace('\n', " "),
                    "the spool held datapoints of another namespace, metric or instance; discarded them rather than publish them as this one"
                ),
                Err(error) => tracing::warn!(%error, "cannot record the spool's target"),
            }
            tracing::info!(dir = %dir.display(), spooled = spool.len(), "spool opened");
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
    Stats::set(&stats.started_unix_ms, unix_ms(SystemTime::now()));
    let (publisher, target) = publisher_and_target(&config, dry_run).await?;
    let token = CancellationToken::new();
    crate::shutdown::cancel_on_signal(token.clone()).context("cannot install signal handlers")?;

    let cw = &config.cloudwatch;
    // The newest closed access-log period, for /metrics: latest value wins.
    let (last_log_period, last_log_period_seen) = tokio::sync::watch::channel(None);
    let server = match config.http.clone() {
        Some(http) => {
            // Bound here, before sampling starts, so an address in use (or not on this host)
            // is a startup error.
            let listener = tokio::net::TcpListener::bind(http.listen)
                .await
                .with_context(|| format!("cannot listen on {} (http.listen)", http.listen))?;
            let policy = HealthPolicy::new(cw.sample_interval, cw.period, cw.operation_timeout);
            let server = prometheus::serve(
                listener,
                http,
                stats.clone(),
                last_log_period_seen,
                policy,
                token.clone(),
            );
            Some(tokio::spawn(server))
        }
        None => None,
    };

    let mut handoff = Handoff::new(stats.clone());
    // The access log's metrics get their own channel: the sampler's must always have room.
    let mut log_datapoints = None;
    let delivery = match publisher {
        Some(publisher) => {
            let (sender, receiver) = mpsc::channel(DATAPOINT_CHANNEL);
            handoff.delivery = Some(sender);
            let publishes_log = config.access_log.as_ref().is_some_and(|a| !a.publish.is_empty());
            let log_receiver = publishes_log.then(|| {
                let (sender, receiver) = mpsc::channel(DATAPOINT_CHANNEL);
                log_datapoints = Some(sender);
                receiver
            });
            let spool = open_spool(&config, &target, dry_run)?;
            let mut delivery = Delivery::new(
                publisher,
                target.clone(),
                spool,
                cw.max_calls_per_second,
                cw.period,
                stats.clone(),
            );
            // Fresh first also across a restart: what the last run left waits for this run's
            // first datapoint (or two periods, if nginx cannot be read).
            delivery.hold_spool_until_fresh(cw.period * 2);
            Some(tokio::spawn(delivery.run_with(
                receiver,
                log_receiver,
                config.daemon.shutdown_grace,
            )))
        }
        None => None,
    };
    let emf = config.emf.clone().map(|output| {
        let (sender, receiver) = mpsc::channel(DATAPOINT_CHANNEL);
        handoff.emf = Some(sender);
        tokio::spawn(emf::run(
            target.clone(),
            output,
            receiver,
            stats.clone(),
            config.daemon.shutdown_grace,
        ))
    });
    let clock = Clock::system();
    let sampler = Sampler::new(&config, stats.clone());
    let log_task = match &config.access_log {
        Some(access_log) => {
            let task = crate::log_pipeline::start(
                access_log,
                cw.period,
                &config.daemon.state_directory,
                stats.clone(),
                clock,
                token.clone(),
                crate::log_pipeline::LogOutputs {
                    delivery: log_datapoints.take(),
                    emf: handoff.emf.clone(),
                    busy_time: Some(sampler.busy_time()),
                    last_period: Some(last_log_period),
                },
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
    sample_loop(&config, Clock::system(), sampler, handoff, token.clone()).await;

    // The access-log task holds a sender of delivery's channel: stop it first, so delivery
    // sees every sender gone and drains.
    token.cancel();
    if let Some(task) = log_task {
        task.await.context("access-log task failed")?;
    }
    let report = match delivery {
        Some(task) => Some(task.await.context("delivery task failed")?),
        None => None,
    };
    if let Some(task) = emf {
        task.await.context("EMF task failed")?;
    }
    if let Some(server) = server {
        server
            .await
            .context("HTTP server task failed")?
            .context("HTTP server failed")?;
    }
    tracing::info!(
        samples_ok = Stats::get(&stats.samples_ok),
        samples_saturated = Stats::get(&stats.samples_saturated),
        samples_failed = Stats::get(&stats.samples_failed),
        periods_blind = Stats::get(&stats.periods_blind),
        datapoints_sent = Stats::get(&stats.datapoints_sent),
        datapoints_unsent = report.map_or(0, |r| r.unsent),
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

/// Sample until cancelled, then close the partial period. Dropping `handoff` on return
/// tells delivery and the EMF writer to drain.
pub async fn sample_loop(
    config: &Config,
    mut clock: Clock,
    mut sampler: Sampler,
    mut handoff: Handoff,
    token: CancellationToken,
) {
    let interval = config.cloudwatch.sample_interval;
    let mut periods = PeriodAccumulator::new(
        config.cloudwatch.period,
        config.cloudwatch.samples_per_period() as usize,
    );
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
        let sample = tokio::select! {
            biased;
            () = token.cancelled() => break,
            sample = sampler.sample(&clock) => sample,
        };
        periods.add(sample.pending.value().map(|v| v as f64));
    }
    if let Some(closed) = periods.flush() {
        handoff.send(closed);
    }
}

/// Hands closed periods to delivery and the EMF writer; blind periods are counted, logged
/// once, never sent.
pub struct Handoff {
    delivery: Option<mpsc::Sender<Datapoint>>,
    emf: Option<mpsc::Sender<EmfRecord>>,
    stats: Arc<Stats>,
    blind_periods: u64,
}

impl Handoff {
    pub fn new(stats: Arc<Stats>) -> Self {
        Handoff {
            delivery: None,
            emf: None,
            stats,
            blind_periods: 0,
        }
    }

    fn send(&mut self, closed: Closed) {
        match closed {
            Closed::Datapoint { datapoint, values } => {
                if self.blind_periods > 0 {
                    tracing::info!(periods = self.blind_periods, "nginx readable again; publishing resumes");
                    self.blind_periods = 0;
                }
                let record = self.emf.is_some().then(|| EmfRecord::with_values(&datapoint, values));
                if let Some(delivery) = &self.delivery {
                    if delivery.try_send(datapoint).is_err() {
                        Stats::bump(&self.stats.datapoints_dropped);
                        tracing::error!("delivery is not keeping up; dropped this period's datapoint");
                    }
                }
                if let (Some(emf), Some(record)) = (&self.emf, record) {
                    if emf.try_send(record).is_err() {
                        Stats::bump(&self.stats.emf_lines_dropped);
                        tracing::error!("the EMF output is not keeping up; dropped this period's line");
                    }
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
