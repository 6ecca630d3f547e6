//! The one retry layer between the sampler and CloudWatch.
//!
//! Fresh first: the newest datapoint is always sent alone and before anything older,
//! because that is what the alarm needs now. Datapoints that could not be sent go to the
//! [`Spool`] (on disk in the daemon, bounded by bytes and age, oldest dropped first and
//! counted) and go out afterwards, oldest first, as many per call as the API allows, never
//! faster than `max_calls_per_second`. A spooled datapoint is forgotten only after the call
//! carrying it succeeded (or CloudWatch rejected it as invalid). Failures back off with
//! jittered exponential delays; validation errors are dropped and counted, never retried.

use std::sync::Arc;
use std::time::Duration;

use rand::SeedableRng;
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::cloudwatch::encode::encode;
use super::retry::Backoff;
use super::spool::Spool;
use super::{FailureKind, PublishError, Publisher, Target};
use crate::clock::Clock;
use crate::events::sinks::{DatapointsDropped, DatapointsRejected, PublishFailed, Published, UnsentAtShutdown};
use crate::events::FailureStreak;
use crate::limits;
use crate::model::{Datapoint, Metric};
use crate::stats::Stats;

/// Backoff after a retryable failure starts here and grows to the period (see [`Delivery::new`]).
const RETRY_BASE: Duration = Duration::from_secs(1);
/// A missing permission will not fix itself within seconds: do not hammer IAM.
const ACCESS_DENIED_DELAY: Duration = Duration::from_secs(60);
/// A full spool drops a datapoint every period: say so at most once a minute.
const DROP_WARNING_INTERVAL: Duration = Duration::from_secs(60);
/// Datapoints of other metrics that ride along with the next fresh one; more go to the spool.
const MAX_RIDERS: usize = 100;

pub(crate) struct Delivery<P> {
    publisher: P,
    target: Target,
    stats: Arc<Stats>,
    /// Wall time, for the spool's age bound and the last publish's time.
    clock: Clock,
    /// The newest datapoint of the scaling metric, not yet tried; a newer one pushes it into
    /// the spool.
    fresh: Option<Datapoint>,
    /// Datapoints of the other metrics (access-log signals), not yet tried: they ride in the
    /// fresh datapoint's call (one call per period, not two), or go to the spool if no fresh
    /// datapoint comes within a period (nginx unreadable) or that call fails.
    riders: Vec<Datapoint>,
    riders_until: Option<Instant>,
    /// How long riders wait for a fresh datapoint.
    rider_wait: Duration,
    /// Older datapoints, oldest first.
    spool: Spool,
    /// Spooled datapoints from an earlier run wait for the first fresh one (or this deadline).
    spool_held_until: Option<Instant>,
    /// `1 / max_calls_per_second`: the least time between two calls.
    call_spacing: Duration,
    last_call: Option<Instant>,
    /// Datapoints the spool's bounds dropped: logged at most once per DROP_WARNING_INTERVAL.
    dropping: FailureStreak,
    backoff: Backoff,
    not_before: Option<Instant>,
    failing: FailureStreak,
    last_error: Option<PublishError>,
    /// The newest datapoint failed and waits in the spool: send it alone before the backlog.
    newest_first: bool,
    rng: rand::rngs::StdRng,
}

impl<P: Publisher> Delivery<P> {
    /// Backoff grows to at most `period` (and at least 1 s): a failing endpoint is then tried
    /// once per period, no more often than a healthy exporter calls it, and a recovered one
    /// is noticed within a period instead of after a long backoff, while the spool fills.
    pub fn new(
        publisher: P,
        target: Target,
        spool: Spool,
        max_calls_per_second: u32,
        period: Duration,
        stats: Arc<Stats>,
        clock: Clock,
    ) -> Self {
        let delivery = Delivery {
            publisher,
            target,
            stats,
            clock,
            fresh: None,
            riders: Vec::new(),
            riders_until: None,
            rider_wait: period,
            spool,
            spool_held_until: None,
            call_spacing: Duration::from_secs(1) / max_calls_per_second.max(1),
            last_call: None,
            dropping: FailureStreak::repeating_every(DROP_WARNING_INTERVAL),
            backoff: Backoff::new(RETRY_BASE, period.max(RETRY_BASE)),
            not_before: None,
            failing: FailureStreak::once(),
            last_error: None,
            newest_first: false,
            rng: rand::rngs::StdRng::from_os_rng(),
        };
        delivery.update_gauges();
        delivery
    }

    /// Keep what the spool loaded from an earlier run until the first fresh datapoint has
    /// been tried, or `at_most` has passed (nginx may be unreadable at startup).
    pub(crate) fn hold_spool_until_fresh(&mut self, at_most: Duration) {
        if !self.spool.is_empty() {
            self.spool_held_until = Some(Instant::now() + at_most);
        }
    }

    pub fn pending(&self) -> usize {
        self.spool.len() + usize::from(self.fresh.is_some()) + self.riders.len()
    }

    /// Deliver until the sender closes, then keep trying what is left until `grace` runs
    /// out; what is still unsent then stays in the spool for the next start.
    pub async fn run(self, datapoints: mpsc::Receiver<Datapoint>, grace: Duration) -> DeliveryReport {
        self.run_with(datapoints, None, grace).await
    }

    /// [`Delivery::run`] with a second, lower-priority channel for other metrics (the access
    /// log's), so that however many of those queue up, the sampler's channel always has room
    /// for the scaling metric. Delivery drains once both channels are closed.
    pub(crate) async fn run_with(
        mut self,
        mut datapoints: mpsc::Receiver<Datapoint>,
        mut others: Option<mpsc::Receiver<Datapoint>>,
        grace: Duration,
    ) -> DeliveryReport {
        let mut primary_open = true;
        loop {
            let wake = self.next_attempt();
            tokio::select! {
                biased;
                received = datapoints.recv(), if primary_open => match received {
                    Some(datapoint) => self.accept(datapoint),
                    None => primary_open = false,
                },
                received = recv_other(&mut others) => match received {
                    Some(datapoint) => self.accept(datapoint),
                    None => others = None,
                },
                () = sleep_until(wake) => self.attempt().await,
            }
            if !primary_open && others.is_none() {
                break;
            }
        }
        let deadline = Instant::now() + grace;
        self.spool_held_until = None;
        while self.pending() > 0 {
            let wake = self.next_attempt().unwrap_or(deadline);
            if wake >= deadline {
                break;
            }
            tokio::time::sleep_until(wake).await;
            // A call may not outlive the grace period.
            if tokio::time::timeout_at(deadline, self.attempt()).await.is_err() {
                break;
            }
        }
        if let Some(datapoint) = self.fresh.take() {
            self.keep(datapoint);
        }
        self.spool_riders();
        let unsent = self.pending();
        UnsentAtShutdown {
            datapoints: unsent,
            persistent: self.spool.is_persistent(),
        }
        .emit();
        DeliveryReport {
            unsent,
            last_error: self.last_error,
        }
    }

    /// When the next call may be made, or `None` if there is nothing to send.
    fn next_attempt(&self) -> Option<Instant> {
        let spool_ready = !self.spool.is_empty() && self.spool_held_until.is_none();
        let waiting_until = match (self.spool_held_until, self.spool.is_empty(), self.riders_until) {
            (Some(held), false, Some(riders)) => Some(held.min(riders)),
            (Some(held), false, None) => Some(held),
            (_, _, riders) => riders,
        };
        let at = if self.fresh.is_some() || spool_ready {
            self.not_before.unwrap_or_else(Instant::now)
        } else if let Some(until) = waiting_until {
            self.not_before.map_or(until, |n| n.max(until))
        } else {
            return None;
        };
        Some(match self.last_call {
            Some(last) => at.max(last + self.call_spacing),
            None => at,
        })
    }

    pub fn accept(&mut self, datapoint: Datapoint) {
        if datapoint.metric != Metric::Pending {
            if self.riders.len() >= MAX_RIDERS {
                self.spool_riders();
            }
            self.riders.push(datapoint);
            self.riders_until
                .get_or_insert_with(|| Instant::now() + self.rider_wait);
            return;
        }
        if let Some(older) = self.fresh.replace(datapoint) {
            self.keep(older);
        }
    }

    /// Riders that cannot go with a fresh datapoint wait in the spool like any backlog.
    fn spool_riders(&mut self) {
        self.riders_until = None;
        for datapoint in std::mem::take(&mut self.riders) {
            self.keep(datapoint);
        }
    }

    /// Put a datapoint in the spool, counting what its bounds drop.
    fn keep(&mut self, datapoint: Datapoint) {
        let dropped = self.spool.push(datapoint, self.clock.now());
        self.count_dropped(dropped);
    }

    fn count_dropped(&mut self, dropped: u64) {
        DatapointsDropped {
            dropped,
            spooled: self.spool.len(),
        }
        .emit(&self.stats, &mut self.dropping);
    }

    fn update_gauges(&self) {
        Stats::set(&self.stats.backlog_len, self.spool.len() as u64);
        Stats::set(&self.stats.spool_bytes, self.spool.file_bytes());
    }

    /// Make one PutMetricData call: the fresh datapoint alone, else the oldest batch.
    pub async fn attempt(&mut self) {
        let now = Instant::now();
        if self
            .spool_held_until
            .is_some_and(|until| self.fresh.is_some() || now >= until)
        {
            self.spool_held_until = None;
        }
        if self.fresh.is_none() && self.riders_until.is_some_and(|until| now >= until) {
            self.spool_riders();
        }
        // Fresh first, also after a failure: the newest datapoint, alone, before the backlog.
        let newest_spooled = self.spool.newest_pending().filter(|_| self.newest_first);
        let source = match (self.fresh, newest_spooled) {
            (Some(_), _) => Source::Fresh,
            (None, _) if self.spool_held_until.is_some() || self.spool.is_empty() => {
                self.update_gauges();
                return;
            }
            (None, Some((seq, _))) => Source::SpoolNewest(seq),
            (None, None) => Source::SpoolOldest,
        };
        let batch: Vec<Datapoint> = match source {
            Source::Fresh => self.fresh.into_iter().chain(self.riders.iter().copied()).collect(),
            Source::SpoolNewest(_) => newest_spooled.map(|(_, d)| d).into_iter().collect(),
            Source::SpoolOldest => {
                let per_call = limits::MAX_DATUMS_PER_CALL / self.target.datums_per_datapoint();
                let (batch, dropped) = self.spool.oldest(per_call, self.clock.now());
                self.count_dropped(dropped);
                batch
            }
        };
        let Some(request) = encode(&self.target, &batch).into_iter().next() else {
            self.update_gauges();
            return;
        };
        let carried = request.metric_data.len() / self.target.datums_per_datapoint();
        let was_fresh = source == Source::Fresh;

        self.last_call = Some(now);
        let result = self.publisher.put(&request).await;
        // Once the newest datapoint is through (fresh or from the spool), the rest is backlog.
        let taken = |this: &mut Self| match source {
            Source::Fresh => {
                this.fresh = None;
                this.riders.clear();
                this.riders_until = None;
                this.newest_first = false;
            }
            Source::SpoolNewest(seq) => {
                this.spool.remove(seq);
                this.newest_first = false;
            }
            Source::SpoolOldest => this.spool.remove_oldest(carried),
        };
        match result {
            Ok(()) => {
                taken(self);
                Published {
                    datapoints: carried,
                    spooled: self.spool.len(),
                    at: self.clock.now(),
                }
                .emit(&self.stats, &mut self.failing);
                self.backoff.reset();
                self.not_before = None;
                self.last_error = None;
            }
            Err(error) => {
                self.last_error = Some(error.clone());
                match error.kind {
                    FailureKind::Rejected => {
                        taken(self);
                        DatapointsRejected {
                            datapoints: carried,
                            reason: &error,
                        }
                        .emit(&self.stats, &mut self.failing);
                        self.not_before = None;
                    }
                    FailureKind::Retryable | FailureKind::AccessDenied => {
                        if was_fresh {
                            if let Some(datapoint) = self.fresh.take() {
                                self.keep(datapoint);
                                self.newest_first = true;
                            }
                            self.spool_riders();
                        }
                        let mut delay = self.backoff.next_delay(&mut self.rng);
                        if error.kind == FailureKind::AccessDenied {
                            delay = delay.max(ACCESS_DENIED_DELAY);
                        }
                        PublishFailed {
                            reason: &error,
                            retry_in: delay,
                            spooled: self.spool.len(),
                            access_denied: error.kind == FailureKind::AccessDenied,
                        }
                        .emit(&self.stats, &mut self.failing);
                        self.not_before = Some(Instant::now() + delay);
                    }
                }
            }
        }
        self.update_gauges();
    }
}

/// Where the datapoints of a call come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    /// The newest datapoint, not tried yet.
    Fresh,
    /// The newest datapoint (this spool handle), tried and kept in the spool: it goes alone
    /// before the backlog.
    SpoolNewest(u64),
    /// The backlog, oldest first.
    SpoolOldest,
}

/// What delivery left behind when it stopped.
#[derive(Debug)]
pub(crate) struct DeliveryReport {
    /// Datapoints still in the spool (persisted for the next start if the spool is on disk).
    pub(crate) unsent: usize,
    /// The error of the last failed call, if the last call failed.
    pub(crate) last_error: Option<PublishError>,
}

async fn recv_other(others: &mut Option<mpsc::Receiver<Datapoint>>) -> Option<Datapoint> {
    match others {
        Some(receiver) => receiver.recv().await,
        None => std::future::pending().await,
    }
}

async fn sleep_until(wake: Option<Instant>) {
    match wake {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::StatisticSet;
    use crate::sinks::spool::{SpoolBounds, RECORD_BYTES};
    use crate::sinks::{PublishError, PutRequest};
    use std::collections::VecDeque;
    use std::sync::Mutex;
    use std::time::{SystemTime, UNIX_EPOCH};

    /// One successful call: when it was made, and its datums as (metric name, timestamp, sum).
    type Delivered = (Instant, Vec<(String, SystemTime, f64)>);

    /// Records every call; fails while `failures` has entries left, or until `down_until`.
    #[derive(Clone, Default)]
    struct Recorder {
        calls: Arc<Mutex<Vec<Vec<f64>>>>,
        datums: Arc<Mutex<Vec<Delivered>>>,
        failures: Arc<Mutex<VecDeque<FailureKind>>>,
        down_until: Arc<Mutex<Option<Instant>>>,
        attempts: Arc<Mutex<usize>>,
    }

    impl Publisher for Recorder {
        async fn put(&self, request: &PutRequest) -> Result<(), PublishError> {
            *self.attempts.lock().unwrap() += 1;
            let down = self
                .down_until
                .lock()
                .unwrap()
                .is_some_and(|until| Instant::now() < until);
            let injected = self.failures.lock().unwrap().pop_front();
            if let Some(kind) = injected.or(down.then_some(FailureKind::Retryable)) {
                return Err(PublishError {
                    kind,
                    message: "injected".into(),
                });
            }
            self.calls
                .lock()
                .unwrap()
                .push(request.metric_data.iter().map(|d| d.statistic_values.sum).collect());
            self.datums.lock().unwrap().push((
                Instant::now(),
                request
                    .metric_data
                    .iter()
                    .map(|d| (d.metric_name.clone(), d.timestamp, d.statistic_values.sum))
                    .collect(),
            ));
            Ok(())
        }
    }

    fn target() -> Target {
        Target {
            namespace: "Test".into(),
            metric_name: "PendingRequests".into(),
            instance_id: "i-1".into(),
            storage_resolution: 1,
            fleet_dimensions: vec![],
        }
    }

    fn datapoint(n: u64) -> Datapoint {
        Datapoint::pending(
            SystemTime::now() - Duration::from_secs(3600) + Duration::from_secs(n * 10),
            StatisticSet::of(n as f64),
        )
    }

    /// Delivery with an in-memory spool of `max_datapoints` and no practical call-rate limit.
    fn delivery(recorder: &Recorder, max_datapoints: u64) -> Delivery<Recorder> {
        let bounds = SpoolBounds {
            max_bytes: max_datapoints * 2 * RECORD_BYTES,
            max_age: limits::MAX_DATAPOINT_AGE,
        };
        Delivery::new(
            recorder.clone(),
            target(),
            Spool::in_memory(bounds),
            1000,
            Duration::from_secs(60),
            Arc::new(Stats::default()),
            Clock::system(),
        )
    }

    fn spooled(d: &mut Delivery<Recorder>) -> Vec<f64> {
        d.spool
            .oldest(usize::MAX, SystemTime::now())
            .0
            .iter()
            .map(|dp| dp.stats.sum)
            .collect()
    }

    #[tokio::test(start_paused = true)]
    async fn after_an_outage_fresh_goes_first_then_the_spool_oldest_first() {
        let recorder = Recorder::default();
        let mut d = delivery(&recorder, 100);
        recorder.failures.lock().unwrap().extend([FailureKind::Retryable; 3]);
        for n in 1..=3 {
            d.accept(datapoint(n));
            d.attempt().await;
        }
        assert!(recorder.calls.lock().unwrap().is_empty());
        d.accept(datapoint(4));
        d.attempt().await;
        d.attempt().await;
        assert_eq!(*recorder.calls.lock().unwrap(), vec![vec![4.0], vec![1.0, 2.0, 3.0]]);
        assert_eq!(d.pending(), 0);
        assert_eq!(Stats::get(&d.stats.datapoints_sent), 4);
    }

    #[tokio::test(start_paused = true)]
    async fn after_a_failure_the_newest_goes_alone_before_the_backlog_even_without_a_new_one() {
        let recorder = Recorder::default();
        let mut d = delivery(&recorder, 100);
        recorder.failures.lock().unwrap().extend([FailureKind::Retryable; 3]);
        for n in 1..=3 {
            d.accept(datapoint(n));
            d.attempt().await;
        }
        // Recovered, and no new period has closed yet.
        d.attempt().await;
        d.attempt().await;
        assert_eq!(*recorder.calls.lock().unwrap(), vec![vec![3.0], vec![1.0, 2.0]]);
        assert_eq!(d.pending(), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn backoff_never_waits_longer_than_a_period() {
        let recorder = Recorder::default();
        recorder.failures.lock().unwrap().extend([FailureKind::Retryable; 20]);
        let mut d = Delivery::new(
            recorder.clone(),
            target(),
            Spool::in_memory(SpoolBounds {
                max_bytes: 1 << 20,
                max_age: limits::MAX_DATAPOINT_AGE,
            }),
            1000,
            Duration::from_secs(10),
            Arc::new(Stats::default()),
            Clock::system(),
        );
        let mut longest = Duration::ZERO;
        for n in 1..=20 {
            d.accept(datapoint(n));
            d.attempt().await;
            let wait = d.not_before.unwrap() - Instant::now();
            assert!(wait <= Duration::from_secs(10), "attempt {n} waits {wait:?}");
            longest = longest.max(wait);
        }
        assert!(longest > Duration::from_secs(5), "the backoff grew: {longest:?}");
        assert_eq!(d.pending(), 20, "nothing lost while failing");
    }

    fn log_datapoint(n: u64, metric: crate::model::LogMetric) -> Datapoint {
        Datapoint {
            metric: Metric::Log(metric),
            ..datapoint(n)
        }
    }

    #[tokio::test(start_paused = true)]
    async fn log_metrics_ride_in_the_fresh_call_not_a_call_of_their_own() {
        use crate::model::LogMetric::{RequestTimeP99, RequestsCompleted};
        let recorder = Recorder::default();
        let d = delivery(&recorder, 100);
        let (tx, rx) = mpsc::channel(8);
        let (log_tx, log_rx) = mpsc::channel(8);
        let task = tokio::spawn(d.run_with(rx, Some(log_rx), Duration::from_secs(60)));
        for n in 1..=3 {
            log_tx.send(log_datapoint(100 + n, RequestsCompleted)).await.unwrap();
            log_tx.send(log_datapoint(200 + n, RequestTimeP99)).await.unwrap();
            tokio::time::sleep(Duration::from_millis(10)).await;
            tx.send(datapoint(n)).await.unwrap();
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        drop(tx);
        tokio::time::sleep(Duration::from_secs(5)).await;
        assert!(!task.is_finished(), "runs until the log channel closes too");
        drop(log_tx);
        task.await.unwrap();
        let datums = recorder.datums.lock().unwrap().clone();
        let calls: Vec<Vec<(String, f64)>> = datums
            .iter()
            .map(|(_, call)| call.iter().map(|(name, _, sum)| (name.clone(), *sum)).collect())
            .collect();
        let expected: Vec<Vec<(String, f64)>> = (1..=3u64)
            .map(|n| {
                vec![
                    ("PendingRequests".to_owned(), n as f64),
                    ("RequestsCompleted".to_owned(), (100 + n) as f64),
                    ("RequestTimeP99".to_owned(), (200 + n) as f64),
                ]
            })
            .collect();
        assert_eq!(calls, expected, "one call per period, the scaling metric first");
    }

    #[tokio::test(start_paused = true)]
    async fn log_metrics_without_a_fresh_datapoint_go_out_after_a_period() {
        let recorder = Recorder::default();
        let d = delivery(&recorder, 100);
        let (tx, rx) = mpsc::channel(8);
        let task = tokio::spawn(d.run(rx, Duration::from_secs(60)));
        // nginx unreadable: no PendingRequests datapoint, but the log still has its figures.
        tx.send(log_datapoint(5, crate::model::LogMetric::Responses5xx))
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_secs(30)).await;
        assert!(
            recorder.calls.lock().unwrap().is_empty(),
            "waits one period (60 s here)"
        );
        tokio::time::sleep(Duration::from_secs(31)).await;
        assert_eq!(*recorder.calls.lock().unwrap(), vec![vec![5.0]]);
        drop(tx);
        task.await.unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn when_the_fresh_call_fails_its_riders_wait_in_the_spool_and_the_newest_still_goes_first() {
        use crate::model::LogMetric::RequestsCompleted;
        let recorder = Recorder::default();
        let mut d = delivery(&recorder, 100);
        recorder.failures.lock().unwrap().extend([FailureKind::Retryable; 2]);
        // Log figures carry older timestamps (their periods close `settle` late).
        d.accept(log_datapoint(1, RequestsCompleted));
        d.accept(datapoint(3));
        d.attempt().await;
        d.accept(log_datapoint(2, RequestsCompleted));
        d.accept(datapoint(4));
        d.attempt().await;
        assert_eq!(d.pending(), 4);
        d.attempt().await;
        d.attempt().await;
        assert_eq!(
            *recorder.calls.lock().unwrap(),
            vec![vec![4.0], vec![1.0, 2.0, 3.0]],
            "the newest PendingRequests alone, then the backlog oldest first"
        );
        assert_eq!(d.pending(), 0);
    }

    /// Ten minutes of CloudWatch outage in paused time, 10 s periods, an on-disk spool: after
    /// recovery every datapoint arrives exactly once with its own timestamp, the newest first.
    #[tokio::test(start_paused = true)]
    async fn a_ten_minute_outage_delivers_every_datapoint_once_fresh_first() {
        const PERIOD: Duration = Duration::from_secs(10);
        const OUTAGE: Duration = Duration::from_secs(600);
        let dir = tempfile::tempdir().unwrap();
        let bounds = SpoolBounds {
            max_bytes: 16 << 20,
            max_age: limits::MAX_DATAPOINT_AGE,
        };
        let (spool, _) = Spool::open(dir.path(), bounds, SystemTime::now()).unwrap();
        let recorder = Recorder::default();
        let started = Instant::now();
        *recorder.down_until.lock().unwrap() = Some(started + OUTAGE);
        let stats = Arc::new(Stats::default());
        let d = Delivery::new(
            recorder.clone(),
            target(),
            spool,
            20,
            PERIOD,
            stats.clone(),
            Clock::system(),
        );
        let (tx, rx) = mpsc::channel(8);
        let task = tokio::spawn(d.run(rx, Duration::from_secs(60)));
        // 15 minutes of periods: 60 during the outage, 30 after.
        let sent: Vec<Datapoint> = (0..90).map(datapoint).collect();
        for datapoint in &sent {
            tx.send(*datapoint).await.unwrap();
            tokio::time::sleep(PERIOD).await;
        }
        drop(tx);
        assert_eq!(task.await.unwrap().unsent, 0);

        let datums = recorder.datums.lock().unwrap().clone();
        let mut arrived: Vec<(SystemTime, f64)> = datums
            .iter()
            .flat_map(|(_, call)| call.iter().map(|(_, t, v)| (*t, *v)))
            .collect();
        arrived.sort_by_key(|a| a.0);
        let expected: Vec<(SystemTime, f64)> = sent.iter().map(|d| (d.timestamp, d.stats.sum)).collect();
        assert_eq!(arrived, expected, "each datapoint once, with its original timestamp");
        // The first call after the outage carries only the newest datapoint of that moment.
        let (first_at, first) = &datums[0];
        assert!(*first_at >= started + OUTAGE);
        let newest_then = ((*first_at - started).as_secs() / PERIOD.as_secs()) as f64;
        assert_eq!(first.len(), 1, "{first:?}");
        assert_eq!(first[0].2, newest_then, "the newest goes first");
        // Then the backlog, oldest first, in one call (60 datapoints fit easily).
        assert_eq!(datums[1].1.first().map(|d| d.2), Some(0.0));
        // Recovery is noticed within a period of the endpoint coming back.
        assert!(*first_at - (started + OUTAGE) <= PERIOD, "{:?}", *first_at - started);
        let attempts = *recorder.attempts.lock().unwrap();
        println!(
            "10 min outage: {} datapoints, {} calls made ({} failed), recovered {:?} after the endpoint",
            sent.len(),
            attempts,
            attempts - datums.len(),
            *first_at - (started + OUTAGE)
        );
        // Backoff at its cap (the period) waits between half a period and a period.
        assert!(
            attempts - datums.len() <= 2 * 600 / 10,
            "at most two failed calls per period"
        );
        assert_eq!(Stats::get(&stats.datapoints_sent), 90);
    }

    #[tokio::test(start_paused = true)]
    async fn rejected_datapoints_are_dropped_not_retried() {
        let recorder = Recorder::default();
        let mut d = delivery(&recorder, 100);
        recorder.failures.lock().unwrap().push_back(FailureKind::Rejected);
        d.accept(datapoint(1));
        d.attempt().await;
        assert_eq!(d.pending(), 0);
        assert_eq!(Stats::get(&d.stats.datapoints_rejected), 1);
        assert!(d.not_before.is_none(), "no backoff after a rejection");
    }

    #[tokio::test(start_paused = true)]
    async fn a_full_spool_drops_the_oldest_and_counts_them() {
        let recorder = Recorder::default();
        let mut d = delivery(&recorder, 3);
        recorder.failures.lock().unwrap().extend([FailureKind::Retryable; 10]);
        for n in 1..=6 {
            d.accept(datapoint(n));
            d.attempt().await;
        }
        assert_eq!(spooled(&mut d), vec![4.0, 5.0, 6.0]);
        assert_eq!(Stats::get(&d.stats.datapoints_dropped), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn run_retries_with_backoff_and_drains_on_close() {
        let recorder = Recorder::default();
        recorder.failures.lock().unwrap().extend([FailureKind::Retryable; 2]);
        let d = delivery(&recorder, 100);
        let (tx, rx) = mpsc::channel(8);
        let task = tokio::spawn(d.run(rx, Duration::from_secs(300)));
        tx.send(datapoint(1)).await.unwrap();
        tokio::time::sleep(Duration::from_secs(10)).await;
        tx.send(datapoint(2)).await.unwrap();
        drop(tx);
        assert_eq!(
            task.await.unwrap().unsent,
            0,
            "everything delivered within the grace period"
        );
        let calls = recorder.calls.lock().unwrap().clone();
        let mut all: Vec<f64> = calls.concat();
        all.sort_by(f64::total_cmp);
        assert_eq!(all, vec![1.0, 2.0], "each datapoint exactly once: {calls:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn shutdown_gives_up_after_the_grace_period() {
        let recorder = Recorder::default();
        recorder.failures.lock().unwrap().extend([FailureKind::Retryable; 1000]);
        let d = delivery(&recorder, 100);
        let (tx, rx) = mpsc::channel(8);
        tx.send(datapoint(1)).await.unwrap();
        drop(tx);
        let started = Instant::now();
        assert_eq!(d.run(rx, Duration::from_secs(5)).await.unsent, 1);
        assert!(Instant::now() - started <= Duration::from_secs(5));
    }

    #[test]
    fn old_datapoints_past_the_api_limit_are_dropped() {
        let recorder = Recorder::default();
        let mut d = delivery(&recorder, 100);
        d.keep(Datapoint::pending(
            UNIX_EPOCH + Duration::from_secs(1),
            StatisticSet::of(1.0),
        ));
        assert!(d.spool.is_empty());
        assert_eq!(Stats::get(&d.stats.datapoints_dropped), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn draining_a_big_spool_respects_the_call_rate() {
        let recorder = Recorder::default();
        let bounds = SpoolBounds {
            max_bytes: 1 << 24,
            max_age: limits::MAX_DATAPOINT_AGE,
        };
        let mut spool = Spool::in_memory(bounds);
        for n in 0..3500 {
            spool.push(
                Datapoint::pending(
                    SystemTime::now() - Duration::from_secs(7200) + Duration::from_secs(n),
                    StatisticSet::of(n as f64),
                ),
                SystemTime::now(),
            );
        }
        let d = Delivery::new(
            recorder.clone(),
            target(),
            spool,
            2,
            Duration::from_secs(60),
            Arc::new(Stats::default()),
            Clock::system(),
        );
        let (tx, rx) = mpsc::channel(8);
        let started = Instant::now();
        let task = tokio::spawn(d.run(rx, Duration::from_secs(60)));
        tx.send(datapoint(1000)).await.unwrap();
        drop(tx);
        assert_eq!(task.await.unwrap().unsent, 0);
        let calls = recorder.calls.lock().unwrap().clone();
        assert_eq!(
            calls.iter().map(Vec::len).collect::<Vec<_>>(),
            vec![1, 1000, 1000, 1000, 500],
            "fresh alone, then full batches oldest first"
        );
        assert_eq!(calls[1][0], 0.0);
        // Five calls at two per second: the last one 2 s after the first.
        assert_eq!(Instant::now() - started, Duration::from_secs(2));
    }

    #[tokio::test(start_paused = true)]
    async fn a_loaded_spool_waits_for_the_first_fresh_datapoint() {
        let recorder = Recorder::default();
        let mut d = delivery(&recorder, 100);
        d.keep(datapoint(1));
        d.keep(datapoint(2));
        d.hold_spool_until_fresh(Duration::from_secs(30));
        let (tx, rx) = mpsc::channel(8);
        let task = tokio::spawn(d.run(rx, Duration::from_secs(60)));
        tokio::time::sleep(Duration::from_secs(5)).await;
        assert!(recorder.calls.lock().unwrap().is_empty(), "held until the fresh one");
        tx.send(datapoint(3)).await.unwrap();
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert_eq!(*recorder.calls.lock().unwrap(), vec![vec![3.0], vec![1.0, 2.0]]);
        drop(tx);
        task.await.unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn a_held_spool_goes_out_anyway_after_the_deadline() {
        let recorder = Recorder::default();
        let mut d = delivery(&recorder, 100);
        d.keep(datapoint(1));
        d.hold_spool_until_fresh(Duration::from_secs(30));
        let (tx, rx) = mpsc::channel(8);
        let task = tokio::spawn(d.run(rx, Duration::from_secs(60)));
        tokio::time::sleep(Duration::from_secs(29)).await;
        assert!(recorder.calls.lock().unwrap().is_empty());
        tokio::time::sleep(Duration::from_secs(2)).await;
        assert_eq!(*recorder.calls.lock().unwrap(), vec![vec![1.0]]);
        drop(tx);
        task.await.unwrap();
    }
}
