//! Rate-limited logging of a recoverable failure that can go on for a while (stub_status
//! unreachable, the log unreadable, CloudWatch or the EMF agent down): the first failure of a
//! streak is logged, repeats at most once per `repeat_every` (or never), and the recovery
//! once, with how many failures there were. Counters are the caller's (each failure bumps
//! one in [`crate::stats`]); this decides only when a line is worth writing.

use std::time::Duration;

use tokio::time::Instant;

/// One kind of failure and the streak it is in. Time is tokio's, so tests can pause it.
#[derive(Debug, Clone, Default)]
pub struct FailureStreak {
    count: u64,
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
    pub fn repeating_every(every: Duration) -> FailureStreak {
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
    pub fn failed_as(&mut self, kind: &'static str) -> bool {
        self.count += 1;
        let now = Instant::now();
        let changed = self.kind.replace(kind) != Some(kind);
        let due = match (self.last_logged, self.repeat_every) {
            (None, _) => true,
            (Some(at), Some(every)) => now - at >= every,
            (Some(_), None) => false,
        };
        if due || changed {
            self.last_logged = Some(now);
        }
        due || changed
    }

    /// Failures in the current streak.
    pub fn count(&self) -> u64 {
        self.count
    }

    pub fn is_failing(&self) -> bool {
        self.count > 0
    }

    /// The streak ended: how many failures it had, once (`None` when there was none).
    pub fn recovered(&mut self) -> Option<u64> {
        let count = std::mem::take(&mut self.count);
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
