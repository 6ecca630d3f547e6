//! The exporter's own health: counters bumped by named events, read by `check`,
//! the shutdown summary and the local outputs.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

#[derive(Debug, Default)]
pub struct Stats {
    pub samples_ok: AtomicU64,
    pub samples_failed: AtomicU64,
    /// stub_status did not answer but the kernel showed load: published high, not missing.
    pub samples_saturated: AtomicU64,
    /// Periods in which no sample succeeded, so nothing was published.
    pub periods_blind: AtomicU64,
    pub publish_calls_ok: AtomicU64,
    pub publish_calls_failed: AtomicU64,
    pub datapoints_sent: AtomicU64,
    /// Dropped because the backlog was full (oldest first) or past CloudWatch's 2-week limit.
    pub datapoints_dropped: AtomicU64,
    /// Dropped because CloudWatch rejected them as invalid.
    pub datapoints_rejected: AtomicU64,
    pub backlog_len: AtomicU64,
    pub last_publish_unix_ms: AtomicU64,
    pub last_sample_ok_unix_ms: AtomicU64,
    pub started_unix_ms: AtomicU64,
    /// EMF lines written, and those dropped because the writer fell behind.
    pub emf_lines_written: AtomicU64,
    pub emf_lines_dropped: AtomicU64,
    /// The latest sample's figures (gauges).
    pub live: Live,
}

/// Figures of the latest successful sample, for the local outputs.
#[derive(Debug, Default)]
pub struct Live {
    pub pending: AtomicU64,
    pub in_flight: AtomicU64,
    pub reading: AtomicU64,
    pub writing: AtomicU64,
    pub waiting: AtomicU64,
    pub active: AtomicU64,
    pub accept_queue: AtomicU64,
    pub accept_queue_limit: AtomicU64,
    /// f64 bits of requests/second; NaN bits when no rate is known.
    pub requests_per_second_bits: AtomicU64,
    /// Counters: increases summed since start (host-wide for the listen counters).
    pub dropped_connections: AtomicU64,
    pub listen_overflows: AtomicU64,
    pub listen_drops: AtomicU64,
    /// 1 if the latest sample was saturated.
    pub saturated: AtomicU64,
}

pub fn unix_ms(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO).as_millis() as u64
}

impl Stats {
    pub fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Relaxed);
    }

    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Relaxed);
    }

    pub fn set(gauge: &AtomicU64, value: u64) {
        gauge.store(value, Relaxed);
    }

    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Relaxed)
    }

    pub fn set_f64(gauge: &AtomicU64, value: f64) {
        gauge.store(value.to_bits(), Relaxed);
    }

    pub fn get_f64(gauge: &AtomicU64) -> f64 {
        f64::from_bits(gauge.load(Relaxed))
    }
}
