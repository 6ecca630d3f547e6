//! `log_concurrency`: requests in flight by Little's law, from the access log.
//!
//! The access-log task adds each counted request's `$request_time` to a [`BusyTime`]; the
//! sampler takes what was added since its last sample and folds it into a [`LittleWindow`]
//! over the last period. `BusyTime` is the one value that flows between those two tasks: a
//! running sum, so a late sample loses nothing (it takes everything since the one before).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;

/// Busy time (µs of `$request_time`) logged since the sampler last took it. Cloning shares it.
#[derive(Debug, Clone, Default)]
pub struct BusyTime(Arc<AtomicU64>);

impl BusyTime {
    pub fn add(&self, request_time_us: u64) {
        self.0.fetch_add(request_time_us, Relaxed);
    }

    /// Everything added since the last take.
    pub fn take(&self) -> u64 {
        self.0.swap(0, Relaxed)
    }
}

/// Little's law over the last `kept` sample windows: busy time summed over their length.
/// Exact for requests shorter than the period; a longer request inflates the period it ends
/// in, and requests still running count only when they end.
#[derive(Debug, Clone)]
pub(crate) struct LittleWindow {
    /// (busy µs, window µs) of each sample window, oldest first (allocated once).
    windows: VecDeque<(u64, u64)>,
    kept: usize,
}

impl LittleWindow {
    /// `kept`: sample windows a period holds (at least one).
    pub fn new(kept: usize) -> LittleWindow {
        let kept = kept.max(1);
        LittleWindow {
            windows: VecDeque::with_capacity(kept),
            kept,
        }
    }

    /// One sample window of `window_us` in which `busy_us` of requests ended; returns the
    /// average number in flight over the kept windows, rounded to the nearest.
    pub fn push(&mut self, busy_us: u64, window_us: u64) -> u64 {
        if self.windows.len() == self.kept {
            self.windows.pop_front();
        }
        self.windows.push_back((busy_us, window_us.max(1)));
        let (busy, window) = self
            .windows
            .iter()
            .fold((0u64, 0u64), |(b, w), (bb, ww)| (b + bb, w + ww));
        (busy + window / 2) / window
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn busy_time_is_taken_once() {
        let busy = BusyTime::default();
        let writer = busy.clone();
        writer.add(300);
        writer.add(200);
        assert_eq!(busy.take(), 500);
        assert_eq!(busy.take(), 0);
    }

    #[test]
    fn littles_law_over_the_kept_windows() {
        // 20 requests/s of 0.4 s each, sampled every second: 8 in flight.
        let mut window = LittleWindow::new(3);
        assert_eq!(window.push(8_000_000, 1_000_000), 8);
        assert_eq!(window.push(8_000_000, 1_000_000), 8);
        // A quiet second: (8 + 8 + 0) / 3 = 5.33, rounded to 5.
        assert_eq!(window.push(0, 1_000_000), 5);
        // The oldest falls out: (8 + 0 + 4) / 3 = 4.
        assert_eq!(window.push(4_000_000, 1_000_000), 4);
    }

    #[test]
    fn an_empty_window_is_not_a_division_by_zero() {
        let mut window = LittleWindow::new(0);
        assert_eq!(window.push(0, 0), 0);
        assert_eq!(window.push(10, 0), 10);
    }
}
