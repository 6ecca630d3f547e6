//! The one retry layer between the sampler and CloudWatch.
//!
//! Fresh first: the newest datapoint is always sent alone and before anything older,
//! because that is what the alarm needs now. Datapoints that could not be sent wait in a
//! bounded backlog (oldest dropped first, counted) and go out afterwards, oldest first,
//! as many per call as the API allows. Failures back off with jittered exponential
//! delays; validation errors are dropped and counted, never retried.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use rand::SeedableRng;
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::cloudwatch::encode::encode;
use super::retry::Backoff;
use super::{FailureKind, PublishError, Publisher, Target};
use crate::limits;
use crate::model::Datapoint;
use crate::stats::{unix_ms, Stats};

/// Backoff after a retryable failure.
const RETRY_BASE: Duration = Duration::from_secs(1);
const RETRY_MAX: Duration = Duration::from_secs(60);
/// A missing permission will not fix itself within seconds: do not hammer IAM.
const ACCESS_DENIED_DELAY: Duration = Duration::from_secs(60);

pub struct Delivery<P> {
    publisher: P,
    target: Target,
    stats: Arc<Stats>,
    max_backlog: usize,
    /// The newest datapoint, not yet tried; a newer one pushes it into the backlog.
    fresh: Option<Datapoint>,
    /// Older datapoints, oldest first.
    backlog: VecDeque<Datapoint>,
    backoff: Backoff,
    not_before: Option<Instant>,
    failing_since: Option<u32>,
    last_error: Option<PublishError>,
    rng: rand::rngs::StdRng,
}

impl<P: Publisher> Delivery<P> {
    pub fn new(publisher: P, target: Target, max_backlog: usize, stats: Arc<Stats>) -> Self {
        Delivery {
            publisher,
            target,
            stats,
            max_backlog,
            fresh: None,
            backlog: VecDeque::new(),
            backoff: Backoff::new(RETRY_BASE, RETRY_MAX),
            not_before: None,
            failing_since: None,
            last_error: None,
            rng: rand::rngs::StdRng::from_os_rng(),
        }
    }

    pub fn pending(&self) -> usize {
        self.backlog.len() + usize::from(self.fresh.is_some())
    }

    /// Deliver until the sender closes, then keep trying what is left until `grace` runs out.
    pub async fn run(mut self, mut datapoints: mpsc::Receiver<Datapoint>, grace: Duration) -> DeliveryReport {
        loop {
            let wake = self.next_attempt();
            tokio::select! {
                biased;
                received = datapoints.recv() => match received {
                    Some(datapoint) => self.accept(datapoint),
                    None => break,
                },
                () = sleep_until(wake) => self.attempt().await,
            }
        }
        let deadline = Instant::now() + grace;
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
        let unsent = self.pending();
        if unsent > 0 {
            tracing::warn!(
                datapoints = unsent,
                "shutting down with datapoints CloudWatch did not take"
            );
        }
        DeliveryReport {
            unsent,
            last_error: self.last_error,
        }
    }

    /// When the next call may be made, or `None` if there is nothing to send.
    fn next_attempt(&self) -> Option<Instant> {
        (self.pending() > 0).then(|| self.not_before.unwrap_or_else(Instant::now))
    }

    pub fn accept(&mut self, datapoint: Datapoint) {
        if let Some(older) = self.fresh.replace(datapoint) {
            self.keep(older);
        }
    }

    /// Put a datapoint in the backlog, in timestamp order, dropping the oldest when full.
    fn keep(&mut self, datapoint: Datapoint) {
        let position = self.backlog.partition_point(|d| d.timestamp <= datapoint.timestamp);
        self.backlog.insert(position, datapoint);
        let oldest_allowed = SystemTime::now() - limits::MAX_DATAPOINT_AGE;
        let mut dropped = 0;
        while self.backlog.len() > self.max_backlog
            || self.backlog.front().is_some_and(|d| d.timestamp < oldest_allowed)
        {
            self.backlog.pop_front();
            dropped += 1;
        }
        if dropped > 0 {
            Stats::add(&self.stats.datapoints_dropped, dropped);
            tracing::warn!(
                dropped,
                max_backlog = self.max_backlog,
                "backlog full: dropped the oldest datapoints"
            );
        }
        Stats::set(&self.stats.backlog_len, self.backlog.len() as u64);
    }

    /// Make one PutMetricData call: the fresh datapoint alone, else the oldest batch.
    pub async fn attempt(&mut self) {
        let batch: Vec<Datapoint> = match self.fresh {
            Some(datapoint) => vec![datapoint],
            None => {
                let per_call = limits::MAX_DATUMS_PER_CALL / self.target.datums_per_datapoint();
                self.backlog.iter().take(per_call).copied().collect()
            }
        };
        let Some(request) = encode(&self.target, &batch).into_iter().next() else {
            return;
        };
        let carried = request.metric_data.len() / self.target.datums_per_datapoint();
        let was_fresh = self.fresh.is_some();

        let result = self.publisher.put(&request).await;
        let taken = |this: &mut Self| {
            if was_fresh {
                this.fresh = None;
            } else {
                this.backlog.drain(..carried);
            }
        };
        match result {
            Ok(()) => {
                taken(self);
                Stats::bump(&self.stats.publish_calls_ok);
                Stats::add(&self.stats.datapoints_sent, carried as u64);
                Stats::set(&self.stats.last_publish_unix_ms, unix_ms(SystemTime::now()));
                if let Some(failures) = self.failing_since.take() {
                    tracing::info!(failures, backlog = self.backlog.len(), "publishing recovered");
                }
                tracing::debug!(datapoints = carried, backlog = self.backlog.len(), "published");
                self.backoff.reset();
                self.not_before = None;
                self.last_error = None;
            }
            Err(error) => {
                self.last_error = Some(error.clone());
                Stats::bump(&self.stats.publish_calls_failed);
                let failures = self.failing_since.get_or_insert(0);
                *failures += 1;
                let first = *failures == 1;
                match error.kind {
                    FailureKind::Rejected => {
                        taken(self);
                        Stats::add(&self.stats.datapoints_rejected, carried as u64);
                        tracing::error!(datapoints = carried, reason = %error, "CloudWatch rejected datapoints; dropped them");
                        self.not_before = None;
                    }
                    FailureKind::Retryable | FailureKind::AccessDenied => {
                        if was_fresh {
                            if let Some(datapoint) = self.fresh.take() {
                                self.keep(datapoint);
                            }
                        }
                        let mut delay = self.backoff.next_delay(&mut self.rng);
                        if error.kind == FailureKind::AccessDenied {
                            delay = delay.max(ACCESS_DENIED_DELAY);
                        }
                        if first || error.kind == FailureKind::AccessDenied {
                            tracing::warn!(reason = %error, retry_in = ?delay, backlog = self.backlog.len(), "publish failed; keeping datapoints");
                        } else {
                            tracing::debug!(reason = %error, retry_in = ?delay, "publish failed again");
                        }
                        self.not_before = Some(Instant::now() + delay);
                    }
                }
            }
        }
        Stats::set(&self.stats.backlog_len, self.backlog.len() as u64);
    }
}

/// What delivery left behind when it stopped.
#[derive(Debug)]
pub struct DeliveryReport {
    pub unsent: usize,
    /// The error of the last failed call, if the last call failed.
    pub last_error: Option<PublishError>,
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
    use crate::sinks::{PublishError, PutRequest};
    use std::sync::Mutex;
    use std::time::UNIX_EPOCH;

    /// Records every call; fails while `failures` has entries left.
    #[derive(Clone, Default)]
    struct Recorder {
        calls: Arc<Mutex<Vec<Vec<f64>>>>,
        failures: Arc<Mutex<VecDeque<FailureKind>>>,
    }

    impl Publisher for Recorder {
        async fn put(&self, request: &PutRequest) -> Result<(), PublishError> {
            if let Some(kind) = self.failures.lock().unwrap().pop_front() {
                return Err(PublishError {
                    kind,
                    message: "injected".into(),
                });
            }
            self.calls
                .lock()
                .unwrap()
                .push(request.metric_data.iter().map(|d| d.statistic_values.sum).collect());
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
        Datapoint {
            timestamp: SystemTime::now() - Duration::from_secs(3600) + Duration::from_secs(n * 10),
            stats: StatisticSet::of(n as f64),
        }
    }

    fn delivery(recorder: &Recorder, max_backlog: usize) -> Delivery<Recorder> {
        Delivery::new(recorder.clone(), target(), max_backlog, Arc::new(Stats::default()))
    }

    #[tokio::test(start_paused = true)]
    async fn after_an_outage_fresh_goes_first_then_the_backlog_oldest_first() {
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
    async fn a_full_backlog_drops_the_oldest_and_counts_them() {
        let recorder = Recorder::default();
        let mut d = delivery(&recorder, 3);
        recorder.failures.lock().unwrap().extend([FailureKind::Retryable; 10]);
        for n in 1..=6 {
            d.accept(datapoint(n));
            d.attempt().await;
        }
        let kept: Vec<f64> = d.backlog.iter().map(|dp| dp.stats.sum).collect();
        assert_eq!(kept, vec![4.0, 5.0, 6.0]);
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
        d.keep(Datapoint {
            timestamp: UNIX_EPOCH + Duration::from_secs(1),
            stats: StatisticSet::of(1.0),
        });
        assert!(d.backlog.is_empty());
        assert_eq!(Stats::get(&d.stats.datapoints_dropped), 1);
    }
}
