//! Events of the sinks: CloudWatch delivery and its spool, the EMF writer and the EMF agent's
//! transport.

use std::fmt::Display;
use std::path::Path;
use std::time::{Duration, SystemTime};

use super::FailureStreak;
use crate::stats::{unix_ms, Stats};

/// The spool's bounds dropped datapoints (full, or past `spool_max_age`). Rate-limited: the
/// line says how many since the last one.
#[derive(Debug)]
pub(crate) struct DatapointsDropped {
    pub dropped: u64,
    pub spooled: usize,
}

impl DatapointsDropped {
    pub(crate) fn emit(self, stats: &Stats, streak: &mut FailureStreak) {
        if self.dropped == 0 {
            return;
        }
        Stats::add(&stats.datapoints_dropped, self.dropped);
        if let Some(dropped) = streak.failed_n(self.dropped) {
            tracing::warn!(
                dropped,
                dropped_total = Stats::get(&stats.datapoints_dropped),
                spooled = self.spooled,
                "spool full or datapoints past spool_max_age: dropped the oldest"
            );
        }
    }
}

/// A PutMetricData call succeeded.
#[derive(Debug)]
pub struct Published {
    pub datapoints: usize,
    pub spooled: usize,
    pub at: SystemTime,
}

impl Published {
    pub(crate) fn emit(self, stats: &Stats, streak: &mut FailureStreak) {
        Stats::bump(&stats.publish_calls_ok);
        Stats::add(&stats.datapoints_sent, self.datapoints as u64);
        Stats::set(&stats.last_publish_unix_ms, unix_ms(self.at));
        if let Some(failures) = streak.recovered() {
            tracing::info!(failures, spooled = self.spooled, "publishing recovered");
        }
        tracing::debug!(datapoints = self.datapoints, spooled = self.spooled, "published");
    }
}

/// CloudWatch rejected a call's datapoints as invalid; they are dropped.
pub(crate) struct DatapointsRejected<'a> {
    pub datapoints: usize,
    pub reason: &'a dyn Display,
}

impl DatapointsRejected<'_> {
    pub(crate) fn emit(self, stats: &Stats, streak: &mut FailureStreak) {
        Stats::bump(&stats.publish_calls_failed);
        streak.failed();
        Stats::add(&stats.datapoints_rejected, self.datapoints as u64);
        tracing::error!(datapoints = self.datapoints, reason = %self.reason, "CloudWatch rejected datapoints; dropped them");
    }
}

/// A PutMetricData call failed and will be retried; the datapoints stay. Warned once a streak,
/// and every time access is denied (an operator must act); repeats go to debug.
pub(crate) struct PublishFailed<'a> {
    pub reason: &'a dyn Display,
    pub(crate) retry_in: Duration,
    pub spooled: usize,
    pub(crate) access_denied: bool,
}

impl PublishFailed<'_> {
    pub(crate) fn emit(self, stats: &Stats, streak: &mut FailureStreak) {
        Stats::bump(&stats.publish_calls_failed);
        let first = streak.failed();
        let (reason, retry_in) = (self.reason, self.retry_in);
        if first || self.access_denied {
            tracing::warn!(reason = %reason, retry_in = ?retry_in, spooled = self.spooled, "publish failed; keeping datapoints");
        } else {
            tracing::debug!(reason = %reason, retry_in = ?retry_in, "publish failed again");
        }
    }
}

/// Delivery stops with datapoints CloudWatch did not take (counted by the caller's report).
#[derive(Debug)]
pub(crate) struct UnsentAtShutdown {
    pub datapoints: usize,
    pub(crate) persistent: bool,
}

impl UnsentAtShutdown {
    pub(crate) fn emit(self) {
        if self.datapoints > 0 {
            tracing::warn!(
                datapoints = self.datapoints,
                persistent = self.persistent,
                "shutting down with datapoints CloudWatch did not take; they stay in the spool"
            );
        }
    }
}

/// The spool file cannot be written; datapoints stay in memory. The spool's own `stale` flag
/// is its streak (it also decides to rewrite the file), so this is emitted once a streak.
pub(crate) struct SpoolWriteFailed<'a> {
    pub dir: &'a Path,
    pub error: &'a dyn Display,
}

impl SpoolWriteFailed<'_> {
    pub(crate) fn emit(self) {
        tracing::error!(dir = %self.dir.display(), error = %self.error, "cannot write the spool; keeping datapoints in memory until it works again");
    }
}

/// The spool file took a write again after [`SpoolWriteFailed`].
#[derive(Debug)]
pub(crate) struct SpoolWritable<'a> {
    pub dir: &'a Path,
}

impl SpoolWritable<'_> {
    pub(crate) fn emit(self) {
        tracing::info!(dir = %self.dir.display(), "spool file writable again");
    }
}

/// EMF lines written to stdout or a file.
#[derive(Debug)]
pub(crate) struct EmfLinesWritten {
    pub lines: usize,
    pub at: SystemTime,
}

impl EmfLinesWritten {
    pub(crate) fn emit(self, stats: &Stats, streak: &mut FailureStreak) {
        Stats::add(&stats.emf_lines_written, self.lines as u64);
        Stats::set(&stats.last_publish_unix_ms, unix_ms(self.at));
        if let Some(failures) = streak.recovered() {
            tracing::info!(failures, "writing EMF lines again");
        }
    }
}

/// EMF lines could not be written to stdout or a file; the record is dropped.
pub(crate) struct EmfWriteFailed<'a> {
    pub error: &'a dyn Display,
}

impl EmfWriteFailed<'_> {
    pub(crate) fn emit(self, stats: &Stats, streak: &mut FailureStreak) {
        Stats::bump(&stats.emf_lines_dropped);
        if streak.failed() {
            tracing::warn!("cannot write EMF lines: {}", self.error);
        }
    }
}

/// The EMF agent cannot be reached; lines wait in the buffer.
pub(crate) struct EmfAgentUnreachable<'a> {
    pub address: &'a str,
    pub error: &'a dyn Display,
}

impl EmfAgentUnreachable<'_> {
    pub(crate) fn emit(self, streak: &mut FailureStreak) {
        if streak.failed_as("connect") {
            tracing::warn!(
                "cannot reach the EMF agent at {}: {}; lines wait in the buffer",
                self.address,
                self.error
            );
        }
    }
}

/// The connection to the EMF agent broke while sending; the transport reconnects.
pub(crate) struct EmfAgentConnectionLost<'a> {
    pub address: &'a str,
    pub error: &'a dyn Display,
}

impl EmfAgentConnectionLost<'_> {
    pub(crate) fn emit(self, streak: &mut FailureStreak) {
        if streak.failed_as("send") {
            tracing::warn!(
                "EMF agent connection to {} lost: {}; reconnecting",
                self.address,
                self.error
            );
        }
    }
}

/// The EMF agent took every buffered line: the end of a failure streak, if there was one.
#[derive(Debug)]
pub(crate) struct EmfAgentSent<'a> {
    pub address: &'a str,
}

impl EmfAgentSent<'_> {
    pub(crate) fn emit(self, streak: &mut FailureStreak) {
        if let Some(failures) = streak.recovered() {
            tracing::info!(failures, "writing EMF lines to {} again", self.address);
        }
    }
}

/// One EMF line went to the agent whole.
#[derive(Debug)]
pub(crate) struct EmfLineSent {
    pub at: SystemTime,
}

impl EmfLineSent {
    pub(crate) fn emit(self, stats: &Stats) {
        Stats::bump(&stats.emf_lines_written);
        Stats::set(&stats.last_publish_unix_ms, unix_ms(self.at));
    }
}

/// The agent's buffer was full: its oldest line is dropped (counted, not logged: the
/// connection's own failure is what the operator reads).
#[derive(Debug)]
pub(crate) struct EmfBufferFull;

impl EmfBufferFull {
    pub(crate) fn emit(self, stats: &Stats) {
        Stats::bump(&stats.emf_lines_dropped);
    }
}

/// A datagram the agent refused (it was down for an earlier one): the line is not sent.
#[derive(Debug)]
pub(crate) struct EmfDatagramRefused;

impl EmfDatagramRefused {
    pub(crate) fn emit(self, stats: &Stats) {
        Stats::bump(&stats.emf_lines_dropped);
    }
}

/// An EMF line longer than one UDP datagram; dropped.
#[derive(Debug)]
pub(crate) struct EmfLineTooLongForUdp {
    pub bytes: usize,
    pub max: usize,
}

impl EmfLineTooLongForUdp {
    pub(crate) fn emit(self, stats: &Stats) {
        tracing::warn!(
            bytes = self.bytes,
            max = self.max,
            "an EMF line does not fit one UDP datagram; dropped (use emf.output = \"tcp://...\")"
        );
        Stats::bump(&stats.emf_lines_dropped);
    }
}

/// The EMF transport stops with lines the agent did not take; they are dropped.
#[derive(Debug)]
pub(crate) struct EmfLinesLeftAtShutdown<'a> {
    pub address: &'a str,
    pub left: usize,
}

impl EmfLinesLeftAtShutdown<'_> {
    pub(crate) fn emit(self, stats: &Stats) {
        if self.left == 0 {
            return;
        }
        Stats::add(&stats.emf_lines_dropped, self.left as u64);
        tracing::warn!(
            left = self.left,
            "stopping with EMF lines the agent at {} did not take",
            self.address
        );
    }
}

/// `/metrics` could not accept a connection (the listener goes on).
pub(crate) struct MetricsAcceptFailed<'a> {
    pub error: &'a dyn Display,
}

impl MetricsAcceptFailed<'_> {
    pub(crate) fn emit(self) {
        tracing::debug!("accept failed: {}", self.error);
    }
}

/// A `/metrics` connection dropped before HTTP (a failed or slow TLS handshake): a client's mistake, so
/// debug, never a flood of warnings.
pub(crate) struct MetricsConnectionDropped<'a> {
    pub peer: std::net::SocketAddr,
    pub reason: &'a dyn Display,
}

impl MetricsConnectionDropped<'_> {
    pub(crate) fn emit(self) {
        tracing::debug!(peer = %self.peer, "/metrics connection dropped: {}", self.reason);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The spool's drops: every datapoint counted at once, one line a minute saying how many
    /// since the last (delivery's DROP_WARNING_INTERVAL, before this was an event).
    #[tokio::test(start_paused = true)]
    async fn dropped_datapoints_count_every_time_and_log_once_a_minute() {
        let stats = Stats::default();
        let mut streak = FailureStreak::repeating_every(Duration::from_secs(60));
        for _ in 0..3 {
            DatapointsDropped { dropped: 2, spooled: 5 }.emit(&stats, &mut streak);
            tokio::time::advance(Duration::from_secs(20)).await;
        }
        assert_eq!(Stats::get(&stats.datapoints_dropped), 6);
        assert_eq!(
            streak.failed_n(1),
            Some(5),
            "4 not logged since the first line, and this one"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_publish_counts_its_datapoints_and_ends_the_failure_streak() {
        let stats = Stats::default();
        let mut streak = FailureStreak::once();
        let reason = "throttled";
        PublishFailed {
            reason: &reason,
            retry_in: Duration::from_secs(1),
            spooled: 1,
            access_denied: false,
        }
        .emit(&stats, &mut streak);
        DatapointsRejected {
            datapoints: 2,
            reason: &reason,
        }
        .emit(&stats, &mut streak);
        assert_eq!(streak.count(), 2);
        let at = SystemTime::UNIX_EPOCH + Duration::from_secs(7);
        Published {
            datapoints: 3,
            spooled: 0,
            at,
        }
        .emit(&stats, &mut streak);
        assert!(!streak.is_failing());
        assert_eq!(Stats::get(&stats.publish_calls_failed), 2);
        assert_eq!(Stats::get(&stats.publish_calls_ok), 1);
        assert_eq!(Stats::get(&stats.datapoints_rejected), 2);
        assert_eq!(Stats::get(&stats.datapoints_sent), 3);
        assert_eq!(Stats::get(&stats.last_publish_unix_ms), 7_000);
    }
}
