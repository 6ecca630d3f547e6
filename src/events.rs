//! Named events: each recoverable failure (and each happening worth a counter) is a small
//! struct whose `emit` bumps its counters in [`Stats`](crate::stats::Stats) and writes its log
//! line, in one call, so that a counter and its line cannot drift apart (Vector's
//! `internal_events`). `emit` takes what the event touches: the stats, and the
//! [`FailureStreak`] of a failure that repeats, which decides when its line is written.
//! Events live by the part of the exporter that emits them ([`sinks`], [`sources`], [`pipeline`]); they
//! import only `stats`, never the code that emits them (errors come as `&dyn Display`).
//!
//! [`FailureStreak`] is the one rate limiter of a failure that can go on for a while
//! (stub_status unreachable, the log unreadable, CloudWatch or the EMF agent down): the first
//! failure of a streak is logged, repeats at most once per `repeat_every` (or never), and the
//! recovery once, with how many failures there were.

use std::time::Duration;

pub mod pipeline;
pub mod sinks;
pub mod sources;

use tokio::time::Instant;

/// One kind of failure and the streak it is in. Time is tokio's, so tests can pause it.
#[derive(Debug, Clone, Default)]
pub(crate) struct FailureStreak {
    count: u64,
    /// Failures since the last line written.
    not_logged: u64,
    last_logged: Option<Instant>,
    /// What failed last time: a failure of another kind is logged at once.
    kind: Option<&'static str>,
    repeat_every: Option<Duration>,
}

impl FailureStreak {
    /// Logs the first failure of a streak and its recovery only.
    pub fn once() -> FailureStreak {
        FailureStreak::default()
    }

    /// Also repeats the log line at most once per `every` while the streak lasts.
    pub(crate) fn repeating_every(every: Duration) -> FailureStreak {
        FailureStreak {
            repeat_every: Some(every),
            ..FailureStreak::default()
        }
    }

    /// Count a failure; true if it should be logged now.
    pub fn failed(&mut self) -> bool {
        self.failed_as("")
    }

    /// [`FailureStreak::failed`], where a failure of another `kind` than the last is logged
    /// at once (a read error after an open error, say).
    pub(crate) fn failed_as(&mut self, kind: &'static str) -> bool {
        self.failed_n_as(1, kind).is_some()
    }

    /// Count `n` failures at once (datapoints dropped together, say); `Some(failures since
    /// the last line)` if one should be written now.
    pub(crate) fn failed_n(&mut self, n: u64) -> Option<u64> {
        self.failed_n_as(n, "")
    }

    fn failed_n_as(&mut self, n: u64, kind: &'static str) -> Option<u64> {
        self.count += n;
        self.not_logged += n;
        let now = Instant::now();
        let changed = self.kind.replace(kind) != Some(kind);
        let due = match (self.last_logged, self.repeat_every) {
            (None, _) => true,
            (Some(at), Some(every)) => now - at >= every,
            (Some(_), None) => false,
        };
        if !(due || changed) {
            return None;
        }
        self.last_logged = Some(now);
        Some(std::mem::take(&mut self.not_logged))
    }

    /// Failures in the current streak.
    pub fn count(&self) -> u64 {
        self.count
    }

    #[cfg(test)]
    pub(crate) fn is_failing(&self) -> bool {
        self.count > 0
    }

    /// The streak ended: how many failures it had, once (`None` when there was none).
    pub fn recovered(&mut self) -> Option<u64> {
        let count = std::mem::take(&mut self.count);
        self.not_logged = 0;
        self.last_logged = None;
        self.kind = None;
        (count > 0).then_some(count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn logs_the_first_failure_then_once_a_minute_then_the_recovery() {
        let mut streak = FailureStreak::repeating_every(Duration::from_secs(60));
        let mut logged = Vec::new();
        for second in 0..130 {
            if streak.failed() {
                logged.push(second);
            }
            tokio::time::advance(Duration::from_secs(1)).await;
        }
        assert_eq!(logged, vec![0, 60, 120]);
        assert_eq!(streak.count(), 130);
        assert_eq!(streak.recovered(), Some(130));
        assert_eq!(streak.recovered(), None, "a recovery is reported once");
        assert!(streak.failed(), "a new streak logs its first failure");
    }

    #[tokio::test(start_paused = true)]
    async fn many_failures_at_once_report_how_many_since_the_last_line() {
        let mut streak = FailureStreak::repeating_every(Duration::from_secs(60));
        assert_eq!(streak.failed_n(3), Some(3));
        tokio::time::advance(Duration::from_secs(30)).await;
        assert_eq!(streak.failed_n(2), None);
        tokio::time::advance(Duration::from_secs(30)).await;
        assert_eq!(streak.failed_n(4), Some(6), "the 2 not logged, then these 4");
        assert_eq!(streak.count(), 9);
    }

    #[tokio::test(start_paused = true)]
    async fn once_logs_one_line_a_streak_unless_the_kind_changes() {
        let mut streak = FailureStreak::once();
        assert!(streak.failed_as("open"));
        tokio::time::advance(Duration::from_secs(3600)).await;
        assert!(!streak.failed_as("open"));
        assert!(streak.failed_as("read"), "another kind of failure is news");
        assert!(!streak.failed_as("read"));
        assert!(streak.is_failing());
        assert_eq!(streak.recovered(), Some(4));
        assert!(!streak.is_failing());
    }
}
