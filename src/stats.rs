//! The exporter's own health: counters bumped by the named events of [`crate::events`], and
//! [`OWN_METRICS`], the one table of them that `/metrics` and the shutdown summary read.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::model::BadLine;

mod table;
pub use table::{Kind, OwnMetric, Reading, Shown, Summary, Unit, OWN_METRICS};

#[derive(Debug, Default)]
pub struct Stats {
    pub(crate) samples_ok: AtomicU64,
    pub(crate) samples_failed: AtomicU64,
    /// stub_status did not answer but the kernel showed load: published high, not missing.
    pub(crate) samples_saturated: AtomicU64,
    /// Periods in which no sample succeeded, so nothing was published.
    pub(crate) periods_blind: AtomicU64,
    pub(crate) publish_calls_ok: AtomicU64,
    pub(crate) publish_calls_failed: AtomicU64,
    pub(crate) datapoints_sent: AtomicU64,
    /// Dropped because the spool was full (oldest first) or past `spool_max_age`.
    pub(crate) datapoints_dropped: AtomicU64,
    /// Dropped because CloudWatch rejected them as invalid.
    pub(crate) datapoints_rejected: AtomicU64,
    /// Datapoints waiting in the spool.
    pub(crate) backlog_len: AtomicU64,
    /// Size of the spool file on disk (0 when the spool is in memory only).
    pub(crate) spool_bytes: AtomicU64,
    pub(crate) last_publish_unix_ms: AtomicU64,
    pub(crate) last_sample_ok_unix_ms: AtomicU64,
    pub(crate) started_unix_ms: AtomicU64,
    /// EMF lines written, and those dropped because the writer fell behind.
    pub(crate) emf_lines_written: AtomicU64,
    pub(crate) emf_lines_dropped: AtomicU64,
    /// EMF lines waiting for the agent (tcp:// and udp:// outputs).
    pub(crate) emf_lines_buffered: AtomicU64,
    /// The latest sample's figures (gauges).
    pub live: Live,
    /// The access-log source, when configured.
    pub log: LogStats,
}

/// The access-log source's health and totals.
#[derive(Debug, Default)]
pub struct LogStats {
    pub enabled: AtomicU64,
    pub lines_parsed: AtomicU64,
    /// Lines the `log_concurrency` window left out (access_log.concurrency_*).
    pub(crate) concurrency_excluded: AtomicU64,
    /// Skipped lines by reason, in the order of `BadLine::ALL`.
    pub lines_rejected: [AtomicU64; BadLine::COUNT],
    /// Lines whose period had already been emitted when they arrived.
    pub lines_late: AtomicU64,
    /// Closed periods not published because reading began inside them (start-up, restart).
    pub(crate) periods_partial: AtomicU64,
    /// The tailer's own counters (rotations, truncations, overlong lines, I/O errors).
    pub tail: std::sync::Arc<TailStats>,
    /// Totals over every closed period.
    pub completed: AtomicU64,
    /// By status class: 1xx, 2xx, 3xx, 4xx, 5xx, other.
    pub(crate) completed_by_class: [AtomicU64; 6],
    pub status_499: AtomicU64,
    pub status_5xx: AtomicU64,
    /// `$request_time` and `$upstream_response_time` over every closed period.
    pub request_time: DurationTotals,
    pub upstream_response_time: DurationTotals,
}

/// How many durations and their sum: a Prometheus summary's `_count` and `_sum`.
#[derive(Debug, Default)]
pub struct DurationTotals {
    pub count: AtomicU64,
    pub(crate) sum_micros: AtomicU64,
}

impl DurationTotals {
    /// Add one closed period's values.
    pub fn add(&self, count: u64, sum_micros: u64) {
        Stats::add(&self.count, count);
        Stats::add(&self.sum_micros, sum_micros);
    }
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
    pub(crate) accept_queue_limit: AtomicU64,
    /// f64 bits of requests/second; NaN bits when no rate is known.
    pub(crate) requests_per_second_bits: AtomicU64,
    /// Counters: increases summed since start (host-wide for the listen counters).
    pub(crate) dropped_connections: AtomicU64,
    pub(crate) listen_overflows: AtomicU64,
    pub(crate) listen_drops: AtomicU64,
    /// 1 if the latest sample was saturated.
    pub saturated: AtomicU64,
}

pub(crate) fn unix_ms(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO).as_millis() as u64
}

impl Stats {
    pub(crate) fn bump(counter: &AtomicU64) {
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

    pub(crate) fn set_f64(gauge: &AtomicU64, value: f64) {
        gauge.store(value.to_bits(), Relaxed);
    }

    pub(crate) fn get_f64(gauge: &AtomicU64) -> f64 {
        f64::from_bits(gauge.load(Relaxed))
    }
}

/// Labels of [`LogStats::completed_by_class`].
pub(crate) const STATUS_CLASSES: [&str; 6] = ["1xx", "2xx", "3xx", "4xx", "5xx", "other"];

/// The tailer's own health, shared so it can be read while the tailer's follow loop owns the tailer.
#[derive(Debug, Default)]
pub struct TailStats {
    pub lines: AtomicU64,
    pub(crate) overlong_lines: AtomicU64,
    pub truncations: AtomicU64,
    pub rotations: AtomicU64,
    pub(crate) bytes_read: AtomicU64,
    /// Bytes that were (or may have been) in the log but will never be delivered.
    pub possibly_lost_bytes: AtomicU64,
    /// Checkpointed files found neither at `path` nor at `path.1` on restart.
    pub(crate) checkpointed_files_gone: AtomicU64,
    pub(crate) io_errors: AtomicU64,
    pub(crate) checkpoints_written: AtomicU64,
    /// Checkpoint writes that failed (a full or read-only state directory); reading goes on.
    pub(crate) checkpoint_failures: AtomicU64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TailCounters {
    pub lines: u64,
    pub(crate) overlong_lines: u64,
    pub truncations: u64,
    pub rotations: u64,
    pub(crate) bytes_read: u64,
    pub possibly_lost_bytes: u64,
    pub(crate) checkpointed_files_gone: u64,
    pub(crate) io_errors: u64,
    pub(crate) checkpoints_written: u64,
    pub(crate) checkpoint_failures: u64,
}

impl TailStats {
    pub(crate) fn snapshot(&self) -> TailCounters {
        TailCounters {
            lines: Stats::get(&self.lines),
            overlong_lines: Stats::get(&self.overlong_lines),
            truncations: Stats::get(&self.truncations),
            rotations: Stats::get(&self.rotations),
            bytes_read: Stats::get(&self.bytes_read),
            possibly_lost_bytes: Stats::get(&self.possibly_lost_bytes),
            checkpointed_files_gone: Stats::get(&self.checkpointed_files_gone),
            io_errors: Stats::get(&self.io_errors),
            checkpoints_written: Stats::get(&self.checkpoints_written),
            checkpoint_failures: Stats::get(&self.checkpoint_failures),
        }
    }
}
