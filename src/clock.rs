//! Wall-clock time derived from tokio's clock, so tests can pause and advance it.
//!
//! Datapoint timestamps are wall-clock (CloudWatch wants them), but every wait is on
//! tokio's monotonic clock. The two are tied at an anchor; the daemon re-anchors when the
//! system clock is stepped (at boot before NTP has synced, or after a VM resume).

use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

use tokio::time::Instant;

/// The process's one clock. Clones share one anchor, so a re-anchor after a clock step
/// (done by the sample loop) moves every reader's wall time with it.
#[derive(Debug, Clone)]
pub struct Clock {
    anchor: Arc<RwLock<Anchor>>,
    follows_system: bool,
}

/// Wall time `wall` was tokio's `at`.
#[derive(Debug, Clone, Copy)]
struct Anchor {
    wall: SystemTime,
    at: Instant,
}

impl Clock {
    /// Follows the system clock. Build one per process and hand out clones.
    pub fn system() -> Self {
        Clock {
            anchor: Arc::new(RwLock::new(Anchor {
                wall: SystemTime::now(),
                at: Instant::now(),
            })),
            follows_system: true,
        }
    }

    /// A clock that starts at `wall` now and only moves with tokio's (possibly paused) time.
    #[cfg(test)]
    pub(crate) fn starting_at(wall: SystemTime) -> Self {
        Clock {
            anchor: Arc::new(RwLock::new(Anchor {
                wall,
                at: Instant::now(),
            })),
            follows_system: false,
        }
    }

    fn anchor(&self) -> Anchor {
        // A poisoned lock still holds a whole anchor (it is written in one assignment).
        *self.anchor.read().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub fn wall(&self, at: Instant) -> SystemTime {
        let anchor = self.anchor();
        if at >= anchor.at {
            anchor.wall + (at - anchor.at)
        } else {
            anchor.wall - (anchor.at - at)
        }
    }

    pub fn now(&self) -> SystemTime {
        self.wall(Instant::now())
    }

    /// The instant at which the wall clock will read `wall`.
    pub(crate) fn instant_for(&self, wall: SystemTime) -> Instant {
        let anchor = self.anchor();
        match wall.duration_since(anchor.wall) {
            Ok(ahead) => anchor.at + ahead,
            Err(behind) => anchor.at.checked_sub(behind.duration()).unwrap_or(anchor.at),
        }
    }

    /// How far the system clock has moved away from this clock (0 for test clocks).
    pub fn drift(&self) -> Duration {
        if !self.follows_system {
            return Duration::ZERO;
        }
        let ours = self.now();
        let system = SystemTime::now();
        system
            .duration_since(ours)
            .or_else(|e| Ok::<_, ()>(e.duration()))
            .unwrap_or_default()
    }

    /// Re-tie to the system clock (system clocks only), for every clone of this clock.
    pub(crate) fn reanchor(&self) {
        if self.follows_system {
            let fresh = Anchor {
                wall: SystemTime::now(),
                at: Instant::now(),
            };
            *self.anchor.write().unwrap_or_else(std::sync::PoisonError::into_inner) = fresh;
        }
    }
}

/// `at` rounded to the nearest multiple of `step` since the epoch.
pub(crate) fn round_to(at: SystemTime, step: Duration) -> SystemTime {
    let since = at
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis();
    let step = step.as_millis().max(1);
    let rounded = (since + step / 2) / step * step;
    SystemTime::UNIX_EPOCH + Duration::from_millis(rounded as u64)
}

/// The first multiple of `step` at or after `at`.
pub(crate) fn next_multiple(at: SystemTime, step: Duration) -> SystemTime {
    let since = at
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis();
    let step = step.as_millis().max(1);
    let next = since.div_ceil(step) * step;
    SystemTime::UNIX_EPOCH + Duration::from_millis(next as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::UNIX_EPOCH;

    #[tokio::test(start_paused = true)]
    async fn paused_clock_moves_with_tokio_time() {
        let clock = Clock::starting_at(UNIX_EPOCH + Duration::from_secs(100));
        tokio::time::advance(Duration::from_millis(2500)).await;
        assert_eq!(clock.now(), UNIX_EPOCH + Duration::from_millis(102_500));
        let at = clock.instant_for(UNIX_EPOCH + Duration::from_secs(110));
        assert_eq!(clock.wall(at), UNIX_EPOCH + Duration::from_secs(110));
        assert_eq!(clock.drift(), Duration::ZERO);
    }

    #[tokio::test(start_paused = true)]
    async fn clones_share_one_anchor_so_a_reanchor_moves_them_all() {
        let clock = Clock::system();
        let clone = clock.clone();
        // Paused tokio time runs an hour ahead of the system clock: a step of an hour.
        tokio::time::advance(Duration::from_secs(3600)).await;
        assert!(clock.drift() > Duration::from_secs(3500));
        clone.reanchor();
        assert!(
            clock.drift() < Duration::from_secs(60),
            "the original follows its clone's re-anchor"
        );
    }

    #[test]
    fn rounding() {
        let t = |ms| UNIX_EPOCH + Duration::from_millis(ms);
        assert_eq!(round_to(t(10_499), Duration::from_secs(1)), t(10_000));
        assert_eq!(round_to(t(10_500), Duration::from_secs(1)), t(11_000));
        assert_eq!(next_multiple(t(10_000), Duration::from_secs(1)), t(10_000));
        assert_eq!(next_multiple(t(10_001), Duration::from_secs(1)), t(11_000));
    }
}
