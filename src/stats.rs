//! The exporter's own health: counters bumped by named events, read by `check`,
//! the shutdown summary and the local outputs.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

#[derive(Debug, Default)]
pub struct Stats {
    pub samples_ok: AtomicU64,
    pub samples_failed: AtomicU64,
    /// Periods in which no sample succeeded, so nothing was published.
    pub periods_blind: AtomicU64,
    pub publish_calls_ok: AtomicU64,
    pub publish_calls_failed: AtomicU64,
    pub datapoints_sent: AtomicU64,
    /// Dropped because the spool was full (oldest first) or past `spool_max_age`.
    pub datapoints_dropped: AtomicU64,
    /// Dropped because CloudWatch rejected them as invalid.
    pub datapoints_rejected: AtomicU64,
    /// Datapoints waiting in the spool.
    pub backlog_len: AtomicU64,
    /// Size of the spool file on disk (0 when the spool is in memory only).
    pub spool_bytes: AtomicU64,
    pub last_publish_unix_ms: AtomicU64,
    pub last_sample_ok_unix_ms: AtomicU64,
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
}
