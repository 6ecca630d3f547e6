//! The outputs, built once from [`Config`] behind one fan-out: PutMetricData (CloudWatch, or
//! JSON lines for `--dry-run`) through [`Delivery`], EMF, and `/metrics`. The daemon, `once`
//! and the access-log pipeline hold an [`Outputs`] (or its [`LogOutputs`] handle) and never
//! name a sink. A new output is its sink module plus its config section, started in
//! [`Outputs::daemon`] (and [`Outputs::once`] if it has a one-shot form), fed in
//! [`Outputs::send_period`] and [`LogOutputs::send`], and awaited in [`Outputs::drain`].
//!
//! Backpressure, one choice per channel:
//! - the sampler's datapoints ([`Outputs::send_period`]) never wait: a full channel drops the
//!   newest and counts it, so sampling never stalls;
//! - the access log's datapoints ([`LogOutputs::send`]) wait for delivery on their own channel
//!   (a catch-up closes many periods at once; the sampler's channel keeps its room);
//! - EMF is never waited on: a stuck writer drops lines and counts them.

use std::sync::Arc;

use anyhow::Context;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::delivery::{Delivery, DeliveryReport};
use super::emf::{self, EmfRecord};
use super::prometheus::{self, HealthPolicy};
use super::spool::{Spool, SpoolBounds, SpoolError};
use super::{cloudwatch, AnyPublisher, PublishError, Target};
use crate::clock::Clock;
use crate::config::{Config, EmfOutput};
use crate::derive::log_signals::PeriodSignals;
use crate::events::pipeline::{DeliveryBehind, EmfBehind};
use crate::model::Datapoint;
use crate::stats::Stats;

/// Datapoints between the sampler and delivery (and the EMF writer): one per period, so 64
/// is a minute of slack at the shortest period. Delivery never blocks longer than one call's
/// operation timeout, so the channel does not fill; if it ever did, the sampler drops the
/// datapoint and counts it rather than stall sampling (backpressure choice: drop newest).
const DATAPOINT_CHANNEL: usize = 64;

/// Every output of one process, fed by the sampler's periods; [`Outputs::log`] hands the
/// access-log pipeline its part.
pub(crate) struct Outputs {
    stats: Arc<Stats>,
    delivery: Option<(mpsc::Sender<Datapoint>, JoinHandle<DeliveryReport>)>,
    emf: Option<Emf>,
    http: Option<JoinHandle<std::io::Result<()>>>,
    /// The access log's part, until [`Outputs::log`] takes it.
    log: Option<LogOutputs>,
}

/// The daemon's EMF writer is a task behind a channel; `once` writes its one line in place,
/// so that a line the agent does not take fails the command.
enum Emf {
    Task(mpsc::Sender<EmfRecord>, JoinHandle<()>),
    InPlace(Target, EmfOutput),
}

/// What the outputs left behind when they stopped.
#[derive(Debug, Default)]
pub(crate) struct OutputsReport {
    /// Datapoints PutMetricData did not take (they stay in the spool).
    pub(crate) unsent: usize,
    /// The last publish failure, if the last call failed.
    pub(crate) last_error: Option<PublishError>,
}

impl Outputs {
    /// The daemon's outputs, started: delivery (with the spool in `daemon.state_directory`),
    /// the EMF writer, and `/metrics` (bound here, so an address in use is a startup error).
    /// They run until [`Outputs::drain`] (and `token`, for `/metrics`).
    pub async fn daemon(
        config: &Config,
        dry_run: bool,
        clock: &Clock,
        stats: Arc<Stats>,
        token: CancellationToken,
    ) -> anyhow::Result<Outputs> {
        let (publisher, target) = publisher_and_target(config, dry_run).await?;
        let cw = &config.cloudwatch;
        let grace = config.daemon.shutdown_grace;
        // The newest closed access-log period, for /metrics: latest value wins.
        let (last_period, last_period_seen) = watch::channel(None);
        let http = match config.http.clone() {
            Some(http) => {
                let listener = tokio::net::TcpListener::bind(http.listen)
                    .await
                    .with_context(|| format!("cannot listen on {} (http.listen)", http.listen))?;
                let policy = HealthPolicy::new(cw.sample_interval, cw.period, cw.operation_timeout);
                let server = prometheus::serve(
                    listener,
                    http,
                    stats.clone(),
                    last_period_seen,
                    policy,
                    clock.clone(),
                    token,
                );
                Some(tokio::spawn(server))
            }
            None => None,
        };

        let publishes_log = config.access_log.as_ref().is_some_and(|a| !a.publish.is_empty());
        // The access log's metrics get their own channel: the sampler's must always have room.
        let mut log_delivery = None;
        let delivery = match publisher {
            Some(publisher) => {
                let (sender, receiver) = mpsc::channel(DATAPOINT_CHANNEL);
                let log_receiver = publishes_log.then(|| {
                    let (sender, receiver) = mpsc::channel(DATAPOINT_CHANNEL);
                    log_delivery = Some(sender);
                    receiver
                });
                let spool = open_spool(config, &target, dry_run, clock)?;
                let mut delivery = delivery_of(publisher, &target, spool, config, &stats, clock);
                // Fresh first also across a restart: what the last run left waits for this run's
                // first datapoint (or two periods, if nginx cannot be read).
                delivery.hold_spool_until_fresh(cw.period * 2);
                let task = tokio::spawn(delivery.run_with(receiver, log_receiver, grace));
                Some((sender, task))
            }
            None => None,
        };
        let emf = config.emf.clone().map(|output| {
            let (sender, receiver) = mpsc::channel(DATAPOINT_CHANNEL);
            let task = tokio::spawn(emf::run(
                target.clone(),
                output,
                receiver,
                stats.clone(),
                clock.clone(),
                grace,
            ));
            Emf::Task(sender, task)
        });
        let log = LogOutputs {
            stats: stats.clone(),
            delivery: log_delivery,
            emf: match &emf {
                Some(Emf::Task(sender, _)) if publishes_log => Some(sender.clone()),
                _ => None,
            },
            last_period: Some(last_period),
        };
        Ok(Outputs {
            stats,
            delivery,
            emf,
            http,
            log: Some(log),
        })
    }

    /// `once`'s outputs: delivery with an in-memory spool and three operation timeouts to
    /// deliver in, EMF written in place. Resolves the AWS identity first: off EC2 that fails in
    /// about a second, before any sampling.
    pub async fn once(config: &Config, dry_run: bool, clock: &Clock, stats: Arc<Stats>) -> anyhow::Result<Outputs> {
        let (publisher, target) = publisher_and_target(config, dry_run).await?;
        let cw = &config.cloudwatch;
        let delivery = publisher.map(|publisher| {
            // Capacity one: `once` publishes exactly one datapoint.
            let (sender, receiver) = mpsc::channel(1);
            // Retries of the one datapoint get three operation timeouts in all. No spool on disk:
            // `once` reports failure by its exit code and cron runs it again; it must not need a
            // writable state directory nor contend with a running daemon for it.
            let spool = Spool::in_memory(SpoolBounds::of(cw));
            let delivery = delivery_of(publisher, &target, spool, config, &stats, clock);
            let task = tokio::spawn(delivery.run(receiver, cw.operation_timeout * 3));
            (sender, task)
        });
        let emf = config.emf.clone().map(|output| Emf::InPlace(target, output));
        Ok(Outputs {
            stats,
            delivery,
            emf,
            http: None,
            log: None,
        })
    }

    /// The access-log pipeline's handle (empty if taken already, or in `once`).
    pub fn log(&mut self) -> LogOutputs {
        self.log.take().unwrap_or_else(|| LogOutputs::none(self.stats.clone()))
    }

    /// A period's datapoint of the scaling metric and the values it was made of (EMF carries
    /// them, for percentiles). Never waits: a full channel drops this period and counts it.
    /// Only an in-place write (`once`'s EMF line) can fail.
    pub(crate) fn send_period(&mut self, datapoint: Datapoint, values: Vec<f64>) -> std::io::Result<()> {
        // EMF first: an in-place line that fails stops `once` before anything is published.
        let record = EmfRecord::with_values(&datapoint, values);
        let refused = match &self.emf {
            Some(Emf::Task(emf, _)) => emf.try_send(record).is_err(),
            Some(Emf::InPlace(target, output)) => {
                emf::write_lines(output, &emf::encode(target, &record))?;
                false
            }
            None => false,
        };
        if refused {
            EmfBehind { logged: true }.emit(&self.stats);
        }
        if let Some((delivery, _)) = &self.delivery {
            if delivery.try_send(datapoint).is_err() {
                DeliveryBehind.emit(&self.stats);
            }
        }
        Ok(())
    }

    /// Stop: close the outputs' channels, let delivery and the EMF writer send what they hold
    /// within their grace, and wait for `/metrics` (stopped by the token). The access-log
    /// pipeline must have stopped first: its handle holds senders, and delivery drains once
    /// every sender is gone.
    pub async fn drain(self) -> anyhow::Result<OutputsReport> {
        let Outputs {
            delivery,
            emf,
            http,
            log,
            ..
        } = self;
        drop(log);
        let report = match delivery {
            Some((sender, task)) => {
                drop(sender);
                let report = task.await.context("delivery task failed")?;
                OutputsReport {
                    unsent: report.unsent,
                    last_error: report.last_error,
                }
            }
            None => OutputsReport::default(),
        };
        if let Some(Emf::Task(sender, task)) = emf {
            drop(sender);
            task.await.context("EMF task failed")?;
        }
        if let Some(server) = http {
            server
                .await
                .context("HTTP server task failed")?
                .context("HTTP server failed")?;
        }
        Ok(report)
    }
}

/// Where the access log's closed periods go: its published metrics to delivery and EMF, the
/// newest period to `/metrics`.
#[derive(Debug)]
pub struct LogOutputs {
    stats: Arc<Stats>,
    /// To CloudWatch (delivery's channel for other metrics; the task waits when it is full).
    delivery: Option<mpsc::Sender<Datapoint>>,
    /// To the EMF writer (never waited on: a stuck writer drops lines and counts them).
    emf: Option<mpsc::Sender<EmfRecord>>,
    /// The newest closed period, for `/metrics` (latest value wins).
    last_period: Option<watch::Sender<Option<PeriodSignals>>>,
}

impl LogOutputs {
    /// Nowhere: the log's figures reach only the process's counters.
    pub fn none(stats: Arc<Stats>) -> LogOutputs {
        LogOutputs {
            stats,
            delivery: None,
            emf: None,
            last_period: None,
        }
    }

    /// Hand-wired channels, for tests of the pipeline.
    #[cfg(test)]
    pub(crate) fn to_channels(
        stats: Arc<Stats>,
        delivery: Option<mpsc::Sender<Datapoint>>,
        last_period: Option<watch::Sender<Option<PeriodSignals>>>,
    ) -> LogOutputs {
        LogOutputs {
            stats,
            delivery,
            emf: None,
            last_period,
        }
    }

    /// Whether any output takes the published metrics' datapoints.
    pub fn publishes(&self) -> bool {
        self.delivery.is_some() || self.emf.is_some()
    }

    /// The newest closed period, for `/metrics`.
    pub(crate) fn newest_period(&self, period: PeriodSignals) {
        if let Some(last) = &self.last_period {
            last.send_replace(Some(period));
        }
    }

    /// Closed periods' datapoints, oldest first: to EMF without waiting, to delivery waiting
    /// while it is behind.
    pub async fn send(&self, datapoints: Vec<Datapoint>) {
        if let Some(emf) = &self.emf {
            for datapoint in &datapoints {
                if emf.try_send(EmfRecord::of_datapoint(datapoint)).is_err() {
                    EmfBehind { logged: false }.emit(&self.stats);
                }
            }
        }
        if let Some(delivery) = &self.delivery {
            for datapoint in datapoints {
                if delivery.send(datapoint).await.is_err() {
                    break;
                }
            }
        }
    }
}

/// The one retry layer in front of `publisher`, with the call rate and period of `config`.
fn delivery_of(
    publisher: AnyPublisher,
    target: &Target,
    spool: Spool,
    config: &Config,
    stats: &Arc<Stats>,
    clock: &Clock,
) -> Delivery<AnyPublisher> {
    let cw = &config.cloudwatch;
    Delivery::new(
        publisher,
        target.clone(),
        spool,
        cw.max_calls_per_second,
        cw.period,
        stats.clone(),
        clock.clone(),
    )
}

/// Where this run publishes: the PutMetricData publisher (CloudWatch, or stdout JSON for
/// `--dry-run`; none when only EMF is configured) and the target of every datum.
/// Without real PutMetricData calls only the instance id is needed, not region or credentials.
async fn publisher_and_target(config: &Config, dry_run: bool) -> anyhow::Result<(Option<AnyPublisher>, Target)> {
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
fn open_spool(config: &Config, target: &Target, dry_run: bool, clock: &Clock) -> anyhow::Result<Spool> {
    let cw = &config.cloudwatch;
    let bounds = SpoolBounds::of(cw);
    if dry_run {
        return Ok(Spool::in_memory(bounds));
    }
    let dir = &config.daemon.state_directory;
    match Spool::open(dir, bounds, clock.now()) {
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
