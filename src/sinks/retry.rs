//! Backoff for the one retry layer (the SDK's own retries are disabled).

use std::time::Duration;

use rand::Rng;

/// Exponential backoff with "equal jitter": the n-th delay is uniform in [c/2, c] where
/// c = min(max, base * 2^n), so a fleet does not retry in step and, once at the cap, calls
/// come at most every max/2 (on average every 3/4 max).
#[derive(Debug, Clone)]
pub(crate) struct Backoff {
    base: Duration,
    max: Duration,
    attempt: u32,
}

impl Backoff {
    pub fn new(base: Duration, max: Duration) -> Self {
        Backoff { base, max, attempt: 0 }
    }

    /// The delay before the next attempt; each call doubles the ceiling.
    pub(crate) fn next_delay(&mut self, rng: &mut impl Rng) -> Duration {
        let ceiling = self.base.saturating_mul(1u32 << self.attempt.min(20)).min(self.max);
        self.attempt = self.attempt.saturating_add(1);
        let floor = ceiling / 2;
        let span = ceiling - floor;
        floor + span.mul_f64(rng.random::<f64>())
    }

    pub fn reset(&mut self) {
        self.attempt = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn delays_grow_to_the_cap_and_stay_jittered() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let mut backoff = Backoff::new(Duration::from_secs(1), Duration::from_secs(60));
        let delays: Vec<_> = (0..12).map(|_| backoff.next_delay(&mut rng)).collect();
        for (n, delay) in delays.iter().enumerate() {
            let ceiling = Duration::from_secs(1u64 << n.min(6)).min(Duration::from_secs(60));
            assert!(
                *delay >= Duration::from_millis(500) && *delay <= ceiling,
                "delay {n} = {delay:?}"
            );
        }
        assert!(
            delays[8..].iter().any(|d| *d > Duration::from_secs(10)),
            "the cap is reached: {delays:?}"
        );
        let distinct: std::collections::BTreeSet<_> = delays.iter().collect();
        assert!(distinct.len() > 6, "jittered: {delays:?}");
    }

    #[test]
    fn reset_starts_over() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        let mut backoff = Backoff::new(Duration::from_secs(1), Duration::from_secs(60));
        for _ in 0..10 {
            backoff.next_delay(&mut rng);
        }
        backoff.reset();
        assert!(backoff.next_delay(&mut rng) <= Duration::from_secs(1));
    }
}
