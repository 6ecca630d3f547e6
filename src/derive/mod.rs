//! Pure derive step: readings in (`model::Reading`'s contents, whichever source gave them),
//! backlog figures out. No I/O and no clock reads: every timestamp and elapsed time is an
//! argument.

pub(crate) mod log_metrics;
pub(crate) mod log_signals;
pub(crate) mod log_window;
pub mod pending;
pub mod period;

use std::time::Duration;

use crate::model::Connections;

/// The exporter's own GET is in flight while nginx renders the page: it shows as Writing 1.
pub(crate) const OWN_SCRAPE: u64 = 1;

/// Requests nginx is working on right now, excluding our own scrape; never negative.
pub fn in_flight(status: &Connections) -> u64 {
    status.reading.saturating_add(status.writing).saturating_sub(OWN_SCRAPE)
}

/// What one successful sample says about nginx.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Figures {
    pub in_flight: u64,
    pub reading: u64,
    pub writing: u64,
    /// Idle keep-alive plus silent new connections: reported, not part of the backlog.
    pub waiting: u64,
    pub active: u64,
    /// Requests per second since the previous sample; `None` on the first sample and after
    /// a counter reset (nginx restart or binary upgrade), when no honest rate exists.
    pub(crate) requests_per_second: Option<f64>,
    /// Connections accepted and dropped since the previous sample (`accepts - handled` grew).
    pub(crate) dropped_connections: Option<u64>,
}

/// Turns consecutive readings into figures, surviving counter resets.
#[derive(Debug, Default)]
pub(crate) struct Deriver {
    previous: Option<Connections>,
}

impl Deriver {
    /// `elapsed` is the time since the previous successful reading.
    pub fn observe(&mut self, status: Connections, elapsed: Duration) -> Figures {
        let previous = self.previous.replace(status);
        // Counters only decrease when nginx restarted (or a new binary took over): the
        // delta across that gap is unknowable, so report none rather than a negative or
        // a huge wrapped value.
        let deltas = previous
            .filter(|p| status.accepts >= p.accepts && status.handled >= p.handled && status.requests >= p.requests);
        let requests_per_second = deltas.and_then(|p| {
            let seconds = elapsed.as_secs_f64();
            (seconds > 0.0).then(|| (status.requests - p.requests) as f64 / seconds)
        });
        let dropped_connections = deltas.map(|p| {
            let dropped_now = status.accepts.saturating_sub(status.handled);
            let dropped_before = p.accepts.saturating_sub(p.handled);
            dropped_now.saturating_sub(dropped_before)
        });
        Figures {
            in_flight: in_flight(&status),
            reading: status.reading,
            writing: status.writing,
            waiting: status.waiting,
            active: status.active,
            requests_per_second,
            dropped_connections,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(requests: u64, reading: u64, writing: u64) -> Connections {
        Connections {
            active: reading + writing,
            accepts: requests,
            handled: requests,
            requests,
            reading,
            writing,
            waiting: 0,
        }
    }

    #[test]
    fn own_scrape_is_subtracted() {
        assert_eq!(in_flight(&status(0, 0, 1)), 0);
        assert_eq!(in_flight(&status(0, 2, 5)), 6);
    }

    #[test]
    fn in_flight_is_never_negative() {
        // A page served over HTTP/2 or by a cache would not count our request.
        assert_eq!(in_flight(&status(0, 0, 0)), 0);
    }

    #[test]
    fn waiting_is_not_in_flight() {
        let mut s = status(10, 0, 1);
        s.waiting = 50;
        let figures = Deriver::default().observe(s, Duration::from_secs(1));
        assert_eq!(figures.in_flight, 0);
        assert_eq!(figures.waiting, 50);
    }

    #[test]
    fn rate_from_counters() {
        let mut deriver = Deriver::default();
        assert_eq!(
            deriver
                .observe(status(100, 0, 1), Duration::from_secs(1))
                .requests_per_second,
            None
        );
        let figures = deriver.observe(status(300, 0, 1), Duration::from_secs(2));
        assert_eq!(figures.requests_per_second, Some(100.0));
        assert_eq!(figures.dropped_connections, Some(0));
    }

    #[test]
    fn counter_reset_gives_no_rate_then_recovers() {
        let mut deriver = Deriver::default();
        deriver.observe(status(1_000_000, 0, 1), Duration::from_secs(1));
        // nginx restarted: counters start again near zero.
        let after_restart = deriver.observe(status(5, 0, 1), Duration::from_secs(1));
        assert_eq!(after_restart.requests_per_second, None);
        assert_eq!(after_restart.dropped_connections, None);
        let next = deriver.observe(status(15, 0, 1), Duration::from_secs(1));
        assert_eq!(next.requests_per_second, Some(10.0));
    }

    #[test]
    fn dropped_connections_are_the_growth_of_accepts_minus_handled() {
        let mut deriver = Deriver::default();
        let mut s = status(10, 0, 1);
        deriver.observe(s, Duration::from_secs(1));
        s.accepts = 30;
        s.handled = 22;
        s.requests = 25;
        assert_eq!(deriver.observe(s, Duration::from_secs(1)).dropped_connections, Some(8));
    }

    #[test]
    fn zero_elapsed_gives_no_rate() {
        let mut deriver = Deriver::default();
        deriver.observe(status(1, 0, 1), Duration::from_secs(1));
        assert_eq!(
            deriver.observe(status(2, 0, 1), Duration::ZERO).requests_per_second,
            None
        );
    }
}
