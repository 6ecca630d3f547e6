//! The spool: datapoints CloudWatch has not taken yet, kept in memory and in a crash-safe
//! record log in the state directory, so they survive `kill -9` and reboots.
//!
//! **The file is an append-only log of checksummed records.** Each record is
//! `length (u32 LE) | crc32 of payload (u32 LE) | payload`; a payload either adds one
//! datapoint under a sequence number or removes a list of sequence numbers. Every append
//! is followed by `fsync`. On load the records are replayed until the first one that is
//! short, too long or fails its checksum: that is a write torn by a crash, and it and
//! everything after it is dropped (and logged). Then the live datapoints are written to a
//! temporary file, fsynced, renamed over the log and the directory fsynced (compaction);
//! the same compaction runs whenever the log outgrows `max_bytes`, so the file never
//! holds more than `max_bytes` plus one record.
//!
//! Why a log and not a whole-file rewrite per change: a full spool at the default 16 MiB
//! holds about 147,000 datapoints, and during an outage every period adds one; rewriting
//! 8 MiB every second would cost far more than appending 57 bytes.
//!
//! **Bounds.** Live datapoints take at most half of `max_bytes` (the other half is room
//! for removal records between compactions) and none is older than `max_age`. Past
//! either, the oldest go first, counted in `datapoints_dropped` and logged.
//!
//! **A write error never loses what is in memory**: the file is marked stale and the
//! next change rewrites it whole from memory; until that succeeds the spool works in
//! memory only (logged once per failure streak).

use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::events::sinks::{SpoolWritable, SpoolWriteFailed};
use crate::model::{Datapoint, Metric, StatisticSet};

/// The log's name inside the state directory; the version is in the name so a future
/// format gets a new file instead of misreading this one.
pub(crate) const SPOOL_FILE: &str = "spool-v1.log";
/// Whom the spooled datapoints belong to (namespace, metric, instance id), one per line.
pub(crate) const TARGET_FILE: &str = "spool-target";
const HEADER_BYTES: usize = 8;
/// Adds a datapoint of the scaling metric.
const ADD: u8 = b'A';
/// Adds a datapoint of another metric (an access-log signal): ADD's fields, then the metric's
/// code ([`Metric::code`]). A separate tag so that files holding only the scaling metric stay
/// readable by releases that predate extra metrics.
const ADD_METRIC: u8 = b'M';
const REMOVE: u8 = b'R';
/// tag, sequence number, timestamp (ms since the epoch), four f64 statistics.
const ADD_PAYLOAD: usize = 1 + 8 + 8 + 4 * 8;
const ADD_METRIC_PAYLOAD: usize = ADD_PAYLOAD + 1;
/// Bytes one live datapoint of the scaling metric costs in the log (one more for others).
pub(crate) const RECORD_BYTES: u64 = (HEADER_BYTES + ADD_PAYLOAD) as u64;
/// No record is ever longer (a removal of 1000 sequence numbers is 8 KiB).
const MAX_PAYLOAD: usize = 1 << 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SpoolBounds {
    pub(crate) max_bytes: u64,
    pub(crate) max_age: Duration,
}

impl SpoolBounds {
    /// `cloudwatch.spool_max_bytes` and `spool_max_age`: the daemon's and the one-shot's.
    pub fn of(cloudwatch: &crate::config::CloudWatchConfig) -> SpoolBounds {
        SpoolBounds {
            max_bytes: cloudwatch.spool_max_bytes,
            max_age: cloudwatch.spool_max_age,
        }
    }

    /// Live datapoints the spool keeps: half of `max_bytes`, the rest is log headroom.
    pub(crate) fn max_datapoints(&self) -> usize {
        usize::try_from(self.max_bytes / 2 / RECORD_BYTES)
            .unwrap_or(usize::MAX)
            .max(1)
    }
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum SpoolError {
    #[error("cannot use the state directory {path}: {source}")]
    Directory {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is locked by another running exporter")]
    Locked { path: PathBuf },
    #[error("cannot read the spool {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// What loading found, for the startup log.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct LoadReport {
    pub loaded: usize,
    /// Bytes after the last whole record: a write torn by a crash.
    pub(crate) torn_bytes: u64,
    /// Past `max_age` or over `max_bytes` when loaded.
    pub dropped: u64,
}

#[derive(Debug, Clone, Copy, PartialEq)]
struct Entry {
    seq: u64,
    datapoint: Datapoint,
}

struct LogFile {
    dir: PathBuf,
    file: File,
    /// Bytes of whole records in the file.
    len: u64,
    /// A write failed: the file no longer matches memory until it is rewritten.
    stale: bool,
    /// Held for the spool's lifetime so a second exporter cannot share the directory.
    _lock: File,
}

pub(crate) struct Spool {
    /// Oldest first (by timestamp, then arrival).
    entries: VecDeque<Entry>,
    next_seq: u64,
    bounds: SpoolBounds,
    log: Option<LogFile>,
}

impl Spool {
    /// A spool that forgets everything when the process ends (`once`, tests, or a state
    /// directory that could not be opened).
    pub(crate) fn in_memory(bounds: SpoolBounds) -> Self {
        Spool {
            entries: VecDeque::new(),
            next_seq: 0,
            bounds,
            log: None,
        }
    }

    /// Open (creating if needed) the spool in `dir`, replay it and compact it.
    pub fn open(dir: &Path, bounds: SpoolBounds, now: SystemTime) -> Result<(Self, LoadReport), SpoolError> {
        let directory_error = |source| SpoolError::Directory {
            path: dir.to_owned(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(directory_error)?;
        let lock_path = dir.join("spool.lock");
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(directory_error)?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => return Err(SpoolError::Locked { path: lock_path }),
            Err(std::fs::TryLockError::Error(source)) => return Err(directory_error(source)),
        }
        let path = dir.join(SPOOL_FILE);
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == ErrorKind::NotFound => Vec::new(),
            Err(source) => return Err(SpoolError::Read { path, source }),
        };
        let replayed = replay(&bytes);
        let mut spool = Spool {
            next_seq: replayed.entries.iter().map(|e| e.seq + 1).max().unwrap_or(0),
            entries: replayed.entries,
            bounds,
            log: None,
        };
        let dropped = spool.enforce_bounds(now);
        let temp = write_compacted(dir, &spool.entries).map_err(directory_error)?;
        let file = OpenOptions::new()
            .append(true)
            .open(&temp.path)
            .map_err(directory_error)?;
        spool.log = Some(LogFile {
            dir: dir.to_owned(),
            file,
            len: temp.len,
            stale: false,
            _lock: lock,
        });
        let report = LoadReport {
            loaded: spool.entries.len(),
            torn_bytes: (bytes.len() - replayed.valid_bytes) as u64,
            dropped,
        };
        Ok((spool, report))
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Tie the spool to `target` (namespace, metric name, instance id...). Datapoints spooled
    /// for another target are not ours to send: an AMI baked from a proxy with a full spool,
    /// or a config now naming another namespace, must not publish them under this identity.
    /// Returns the earlier target and how many datapoints were discarded for it, if any.
    pub(crate) fn bind_to(&mut self, target: &str) -> std::io::Result<Option<(String, usize)>> {
        let Some(dir) = self.log.as_ref().map(|log| log.dir.clone()) else {
            return Ok(None);
        };
        let path = dir.join(TARGET_FILE);
        let previous = match std::fs::read_to_string(&path) {
            Ok(text) => Some(text),
            Err(e) if e.kind() == ErrorKind::NotFound => None,
            Err(e) => return Err(e),
        };
        if previous.as_deref() == Some(target) {
            return Ok(None);
        }
        let discarded = if previous.is_some() { self.entries.len() } else { 0 };
        if discarded > 0 {
            self.remove_oldest(discarded);
        }
        crate::atomic_file::write(&path, target.as_bytes())?;
        Ok(previous.filter(|_| discarded > 0).map(|p| (p, discarded)))
    }

    /// Bytes of the log on disk (0 in memory).
    pub(crate) fn file_bytes(&self) -> u64 {
        self.log.as_ref().map_or(0, |log| log.len)
    }

    pub(crate) fn is_persistent(&self) -> bool {
        self.log.is_some()
    }

    /// Keep `datapoint` until it is sent; returns how many old ones were dropped for room
    /// or age.
    pub fn push(&mut self, datapoint: Datapoint, now: SystemTime) -> u64 {
        let entry = Entry {
            seq: self.next_seq,
            datapoint,
        };
        self.next_seq += 1;
        let position = self
            .entries
            .partition_point(|e| e.datapoint.timestamp <= datapoint.timestamp);
        self.entries.insert(position, entry);
        let mut record = Vec::with_capacity(RECORD_BYTES as usize);
        encode_add(&mut record, &entry);
        let dropped_seqs = self.expire(now);
        if !dropped_seqs.is_empty() {
            encode_remove(&mut record, &dropped_seqs);
        }
        // A datapoint that arrives already expired is dropped again at once; it still
        // goes through the log so replay sees the same sequence numbers.
        self.append(&record);
        dropped_seqs.len() as u64
    }

    /// The oldest datapoints, up to `n`, after dropping those past `max_age`. Returns the
    /// batch and how many were dropped for age.
    pub fn oldest(&mut self, n: usize, now: SystemTime) -> (Vec<Datapoint>, u64) {
        let dropped_seqs = self.expire(now);
        if !dropped_seqs.is_empty() {
            let mut record = Vec::new();
            encode_remove(&mut record, &dropped_seqs);
            self.append(&record);
        }
        let batch = self.entries.iter().take(n).map(|e| e.datapoint).collect();
        (batch, dropped_seqs.len() as u64)
    }

    /// The newest datapoint of the scaling metric kept, if any, and its handle for [`Spool::remove`].
    pub(crate) fn newest_pending(&self) -> Option<(u64, Datapoint)> {
        self.entries
            .iter()
            .rev()
            .find(|e| e.datapoint.metric == Metric::Pending)
            .map(|e| (e.seq, e.datapoint))
    }

    /// Forget one datapoint (by the handle [`Spool::newest_pending`] gave): CloudWatch took
    /// (or rejected) it.
    pub(crate) fn remove(&mut self, seq: u64) {
        if let Some(position) = self.entries.iter().rposition(|e| e.seq == seq) {
            self.entries.remove(position);
            let mut record = Vec::new();
            encode_remove(&mut record, &[seq]);
            self.append(&record);
        }
    }

    /// Forget the oldest `n` datapoints: CloudWatch took (or rejected) them.
    pub(crate) fn remove_oldest(&mut self, n: usize) {
        let n = n.min(self.entries.len());
        if n == 0 {
            return;
        }
        let seqs: Vec<u64> = self.entries.drain(..n).map(|e| e.seq).collect();
        let mut record = Vec::new();
        encode_remove(&mut record, &seqs);
        self.append(&record);
    }

    /// Drop for age and room, oldest first, in memory only; returns the dropped sequence numbers.
    fn expire(&mut self, now: SystemTime) -> Vec<u64> {
        let oldest_allowed = now.checked_sub(self.bounds.max_age).unwrap_or(UNIX_EPOCH);
        let max = self.bounds.max_datapoints();
        let mut dropped = Vec::new();
        while self.entries.len() > max
            || self
                .entries
                .front()
                .is_some_and(|e| e.datapoint.timestamp < oldest_allowed)
        {
            if let Some(entry) = self.entries.pop_front() {
                dropped.push(entry.seq);
            }
        }
        dropped
    }

    fn enforce_bounds(&mut self, now: SystemTime) -> u64 {
        self.expire(now).len() as u64
    }

    /// Append `record` and fsync; compact instead when the log would outgrow its bound or
    /// no longer matches memory.
    fn append(&mut self, record: &[u8]) {
        let Some(log) = self.log.as_mut() else {
            return;
        };
        let result = if log.stale || log.len + record.len() as u64 > self.bounds.max_bytes {
            rewrite(log, &self.entries)
        } else {
            append_synced(log, record)
        };
        match result {
            Ok(()) => {
                if log.stale {
                    SpoolWritable { dir: &log.dir }.emit();
                    log.stale = false;
                }
            }
            Err(error) => {
                if !log.stale {
                    SpoolWriteFailed {
                        dir: &log.dir,
                        error: &error,
                    }
                    .emit();
                    log.stale = true;
                }
            }
        }
    }
}

fn append_synced(log: &mut LogFile, record: &[u8]) -> std::io::Result<()> {
    let result = log.file.write_all(record).and_then(|()| log.file.sync_data());
    match result {
        Ok(()) => {
            log.len += record.len() as u64;
            Ok(())
        }
        Err(error) => {
            // Cut a partial write off so later appends do not follow a torn record.
            let _ = log.file.set_len(log.len);
            Err(error)
        }
    }
}

fn rewrite(log: &mut LogFile, entries: &VecDeque<Entry>) -> std::io::Result<()> {
    let written = write_compacted(&log.dir, entries)?;
    log.file = OpenOptions::new().append(true).open(&written.path)?;
    log.len = written.len;
    Ok(())
}

struct Written {
    path: PathBuf,
    len: u64,
}

/// Write `entries` to a temporary file, fsync it, rename it over the log, fsync the directory.
fn write_compacted(dir: &Path, entries: &VecDeque<Entry>) -> std::io::Result<Written> {
    let mut bytes = Vec::with_capacity(entries.len() * RECORD_BYTES as usize);
    for entry in entries {
        encode_add(&mut bytes, entry);
    }
    let path = dir.join(SPOOL_FILE);
    crate::atomic_file::write(&path, &bytes)?;
    Ok(Written {
        path,
        len: bytes.len() as u64,
    })
}

fn frame(out: &mut Vec<u8>, payload: &[u8]) {
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(payload).to_le_bytes());
    out.extend_from_slice(payload);
}

fn encode_add(out: &mut Vec<u8>, entry: &Entry) {
    let mut payload = Vec::with_capacity(ADD_METRIC_PAYLOAD);
    let metric = entry.datapoint.metric;
    payload.push(if metric == Metric::Pending { ADD } else { ADD_METRIC });
    payload.extend_from_slice(&entry.seq.to_le_bytes());
    let millis = entry
        .datapoint
        .timestamp
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    payload.extend_from_slice(&millis.to_le_bytes());
    let stats = entry.datapoint.stats;
    for value in [stats.sample_count, stats.sum, stats.minimum, stats.maximum] {
        payload.extend_from_slice(&value.to_le_bytes());
    }
    if metric != Metric::Pending {
        payload.push(metric.code());
    }
    frame(out, &payload);
}

fn encode_remove(out: &mut Vec<u8>, seqs: &[u64]) {
    // One record per 100,000 numbers keeps every record far below MAX_PAYLOAD.
    for chunk in seqs.chunks(100_000) {
        let mut payload = Vec::with_capacity(1 + chunk.len() * 8);
        payload.push(REMOVE);
        for seq in chunk {
            payload.extend_from_slice(&seq.to_le_bytes());
        }
        frame(out, &payload);
    }
}

struct Replayed {
    entries: VecDeque<Entry>,
    /// Bytes of whole, valid records from the start.
    valid_bytes: usize,
}

fn u64_at(bytes: &[u8], at: usize) -> u64 {
    let mut word = [0u8; 8];
    word.copy_from_slice(&bytes[at..at + 8]);
    u64::from_le_bytes(word)
}

/// What a spool file holds, read without locking or changing it (for `check`, beside a
/// running daemon).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SpoolSummary {
    pub(crate) file_bytes: u64,
    pub datapoints: usize,
    pub oldest: Option<SystemTime>,
    pub newest: Option<SystemTime>,
    pub(crate) torn_bytes: u64,
    /// The target it belongs to ([`Spool::bind_to`]), if recorded.
    pub target: Option<String>,
}

/// Summarize the spool in `dir`; `None` if there is no spool file.
pub(crate) fn inspect(dir: &Path) -> std::io::Result<Option<SpoolSummary>> {
    let bytes = match std::fs::read(dir.join(SPOOL_FILE)) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let target = match std::fs::read_to_string(dir.join(TARGET_FILE)) {
        Ok(text) => Some(text),
        Err(e) if e.kind() == ErrorKind::NotFound => None,
        Err(e) => return Err(e),
    };
    let replayed = replay(&bytes);
    Ok(Some(SpoolSummary {
        file_bytes: bytes.len() as u64,
        datapoints: replayed.entries.len(),
        oldest: replayed.entries.front().map(|e| e.datapoint.timestamp),
        newest: replayed.entries.back().map(|e| e.datapoint.timestamp),
        torn_bytes: (bytes.len() - replayed.valid_bytes) as u64,
        target,
    }))
}

/// Replay the log up to the first torn or corrupt record. Pure: tested without files.
fn replay(bytes: &[u8]) -> Replayed {
    let mut entries: Vec<Entry> = Vec::new();
    let mut removed = std::collections::HashSet::new();
    let mut at = 0;
    while bytes.len() - at >= HEADER_BYTES {
        let length = u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]) as usize;
        let checksum = u32::from_le_bytes([bytes[at + 4], bytes[at + 5], bytes[at + 6], bytes[at + 7]]);
        if length == 0 || length > MAX_PAYLOAD || bytes.len() - at - HEADER_BYTES < length {
            break;
        }
        let payload = &bytes[at + HEADER_BYTES..at + HEADER_BYTES + length];
        if crc32fast::hash(payload) != checksum {
            break;
        }
        match payload[0] {
            ADD | ADD_METRIC
                if (payload[0] == ADD && length == ADD_PAYLOAD)
                    || (payload[0] == ADD_METRIC && length == ADD_METRIC_PAYLOAD) =>
            {
                let float = |i: usize| f64::from_bits(u64_at(payload, 17 + 8 * i));
                let metric = match payload[0] {
                    ADD => Some(Metric::Pending),
                    _ => Metric::from_code(payload[ADD_PAYLOAD]),
                };
                // A metric this release does not know (written by a newer one) is skipped;
                // the records after it are still good.
                if let Some(metric) = metric {
                    entries.push(Entry {
                        seq: u64_at(payload, 1),
                        datapoint: Datapoint {
                            timestamp: UNIX_EPOCH + Duration::from_millis(u64_at(payload, 9)),
                            stats: StatisticSet {
                                sample_count: float(0),
                                sum: float(1),
                                minimum: float(2),
                                maximum: float(3),
                            },
                            metric,
                        },
                    });
                }
            }
            REMOVE if (length - 1).is_multiple_of(8) => {
                removed.extend((0..(length - 1) / 8).map(|i| u64_at(payload, 1 + 8 * i)));
            }
            // A checksummed record we do not understand: treat it as the end, like corruption.
            _ => break,
        }
        at += HEADER_BYTES + length;
    }
    entries.retain(|e| !removed.contains(&e.seq));
    // Stable: equal timestamps keep their arrival order.
    entries.sort_by_key(|e| (e.datapoint.timestamp, e.seq));
    Replayed {
        entries: entries.into(),
        valid_bytes: at,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW_SECS: u64 = 1_800_000_000;

    fn now() -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(NOW_SECS)
    }

    fn datapoint(seconds_ago: u64, value: f64) -> Datapoint {
        Datapoint::pending(now() - Duration::from_secs(seconds_ago), StatisticSet::of(value))
    }

    fn bounds(max_bytes: u64) -> SpoolBounds {
        SpoolBounds {
            max_bytes,
            max_age: Duration::from_secs(14 * 24 * 3600),
        }
    }

    fn values(spool: &mut Spool) -> Vec<f64> {
        spool.oldest(usize::MAX, now()).0.iter().map(|d| d.stats.sum).collect()
    }

    fn open(dir: &Path, max_bytes: u64) -> (Spool, LoadReport) {
        Spool::open(dir, bounds(max_bytes), now()).unwrap()
    }

    #[test]
    fn other_metrics_survive_reopening_and_the_newest_pending_is_found_among_them() {
        use crate::model::LogMetric;
        let dir = tempfile::tempdir().unwrap();
        let log_point = |seconds_ago, value, metric| Datapoint {
            metric: Metric::Log(metric),
            ..datapoint(seconds_ago, value)
        };
        {
            let (mut spool, _) = open(dir.path(), 1 << 20);
            spool.push(datapoint(30, 1.0), now());
            spool.push(log_point(20, 2.0, LogMetric::RequestTimeP99), now());
            spool.push(datapoint(10, 3.0), now());
            spool.push(log_point(5, 4.0, LogMetric::Responses499), now());
            let (seq, newest) = spool.newest_pending().unwrap();
            assert_eq!(
                newest.stats.sum, 3.0,
                "the newest of the scaling metric, not the newest entry"
            );
            spool.remove(seq);
        }
        let (mut spool, report) = open(dir.path(), 1 << 20);
        assert_eq!(report.loaded, 3);
        let (kept, _) = spool.oldest(usize::MAX, now());
        let kept: Vec<(Metric, f64)> = kept.iter().map(|d| (d.metric, d.stats.sum)).collect();
        assert_eq!(
            kept,
            vec![
                (Metric::Pending, 1.0),
                (Metric::Log(LogMetric::RequestTimeP99), 2.0),
                (Metric::Log(LogMetric::Responses499), 4.0)
            ]
        );
        assert_eq!(
            spool.file_bytes(),
            3 * RECORD_BYTES + 2,
            "two records carry a metric byte"
        );
    }

    #[test]
    fn a_metric_from_a_newer_release_is_skipped_and_the_rest_kept() {
        let mut bytes = Vec::new();
        let entry = |seq, value, metric| Entry {
            seq,
            datapoint: Datapoint {
                metric,
                ..datapoint(10, value)
            },
        };
        encode_add(&mut bytes, &entry(0, 1.0, Metric::Pending));
        encode_add(
            &mut bytes,
            &entry(1, 2.0, Metric::Log(crate::model::LogMetric::Responses5xx)),
        );
        // Rewrite the second record's metric code to one this release does not know.
        let second = RECORD_BYTES as usize;
        let payload_start = second + HEADER_BYTES;
        let payload_end = bytes.len();
        bytes[payload_end - 1] = 250;
        let crc = crc32fast::hash(&bytes[payload_start..payload_end]).to_le_bytes();
        bytes[second + 4..second + 8].copy_from_slice(&crc);
        encode_add(&mut bytes, &entry(2, 3.0, Metric::Pending));
        let replayed = replay(&bytes);
        assert_eq!(replayed.valid_bytes, bytes.len());
        let sums: Vec<f64> = replayed.entries.iter().map(|e| e.datapoint.stats.sum).collect();
        assert_eq!(sums, vec![1.0, 3.0]);
    }

    #[test]
    fn a_spool_written_for_another_target_is_discarded_not_sent() {
        let dir = tempfile::tempdir().unwrap();
        {
            let (mut spool, _) = open(dir.path(), 1 << 20);
            assert_eq!(spool.bind_to("MyApp\nPendingRequests\ni-1").unwrap(), None, "first use");
            spool.push(datapoint(20, 1.0), now());
            spool.push(datapoint(10, 2.0), now());
        }
        let summary = inspect(dir.path()).unwrap().unwrap();
        assert_eq!(summary.datapoints, 2);
        assert_eq!(summary.target.as_deref(), Some("MyApp\nPendingRequests\ni-1"));
        assert_eq!(summary.oldest, Some(now() - Duration::from_secs(20)));
        {
            // Same target after a restart: kept.
            let (mut spool, _) = open(dir.path(), 1 << 20);
            assert_eq!(spool.bind_to("MyApp\nPendingRequests\ni-1").unwrap(), None);
            assert_eq!(spool.len(), 2);
        }
        // The disk now serves another instance (an AMI baked with a spool): not ours to send.
        let (mut spool, _) = open(dir.path(), 1 << 20);
        assert_eq!(
            spool.bind_to("MyApp\nPendingRequests\ni-2").unwrap(),
            Some(("MyApp\nPendingRequests\ni-1".to_owned(), 2))
        );
        assert!(spool.is_empty());
        drop(spool);
        let summary = inspect(dir.path()).unwrap().unwrap();
        assert_eq!(
            (summary.datapoints, summary.target.as_deref()),
            (0, Some("MyApp\nPendingRequests\ni-2"))
        );
    }

    #[test]
    fn survives_reopening_with_removals_applied() {
        let dir = tempfile::tempdir().unwrap();
        {
            let (mut spool, report) = open(dir.path(), 1 << 20);
            assert_eq!(report, LoadReport::default());
            for n in 1..=5 {
                spool.push(datapoint(100 - n, n as f64), now());
            }
            spool.remove_oldest(2);
            // The spool has no shutdown step (every change is already fsynced), so dropping
            // it leaves what kill -9 leaves; only the lock goes with the process.
            drop(spool);
        }
        let (mut spool, report) = open(dir.path(), 1 << 20);
        assert_eq!(report.loaded, 3);
        assert_eq!(values(&mut spool), vec![3.0, 4.0, 5.0]);
        assert_eq!(spool.file_bytes(), 3 * RECORD_BYTES, "compacted on load");
    }

    #[test]
    fn a_torn_last_record_is_dropped_and_the_rest_kept() {
        let dir = tempfile::tempdir().unwrap();
        {
            let (mut spool, _) = open(dir.path(), 1 << 20);
            for n in 1..=3 {
                spool.push(datapoint(100 - n, n as f64), now());
            }
        }
        let path = dir.path().join(SPOOL_FILE);
        for cut in [1, 8, RECORD_BYTES - 1] {
            let mut bytes = std::fs::read(&path).unwrap();
            let mut torn = Vec::new();
            encode_add(
                &mut torn,
                &Entry {
                    seq: 99,
                    datapoint: datapoint(1, 9.0),
                },
            );
            bytes.extend_from_slice(&torn[..cut as usize]);
            std::fs::write(&path, &bytes).unwrap();
            let (mut spool, report) = open(dir.path(), 1 << 20);
            assert_eq!(report.torn_bytes, cut, "cut at {cut}");
            assert_eq!(values(&mut spool), vec![1.0, 2.0, 3.0]);
        }
    }

    #[test]
    fn a_corrupt_record_ends_the_replay() {
        let mut bytes = Vec::new();
        for seq in 0..3 {
            encode_add(
                &mut bytes,
                &Entry {
                    seq,
                    datapoint: datapoint(10 - seq, seq as f64),
                },
            );
        }
        bytes[RECORD_BYTES as usize + 20] ^= 0x40;
        let replayed = replay(&bytes);
        assert_eq!(replayed.entries.len(), 1);
        assert_eq!(replayed.valid_bytes, RECORD_BYTES as usize);
    }

    #[test]
    fn full_spool_drops_the_oldest_and_the_file_stays_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let max_bytes = 20 * RECORD_BYTES;
        let (mut spool, _) = open(dir.path(), max_bytes);
        let mut dropped = 0;
        for n in 0..1000 {
            dropped += spool.push(datapoint(2000 - n, n as f64), now());
            assert!(spool.file_bytes() <= max_bytes, "file {} bytes", spool.file_bytes());
        }
        assert_eq!(spool.len(), 10);
        assert_eq!(dropped, 990);
        assert_eq!(values(&mut spool), (990..1000).map(|n| n as f64).collect::<Vec<_>>());
        drop(spool);
        let (mut spool, _) = open(dir.path(), max_bytes);
        assert_eq!(values(&mut spool), (990..1000).map(|n| n as f64).collect::<Vec<_>>());
    }

    #[test]
    fn old_datapoints_expire() {
        let mut spool = Spool::in_memory(SpoolBounds {
            max_bytes: 1 << 20,
            max_age: Duration::from_secs(60),
        });
        assert_eq!(spool.push(datapoint(120, 1.0), now()), 1, "already too old");
        spool.push(datapoint(30, 2.0), now());
        let (batch, dropped) = spool.oldest(10, now() + Duration::from_secs(45));
        assert_eq!((batch.len(), dropped), (0, 1));
    }

    #[test]
    fn out_of_order_arrivals_come_out_in_timestamp_order() {
        let mut spool = Spool::in_memory(bounds(1 << 20));
        for (ago, value) in [(10, 3.0), (30, 1.0), (20, 2.0)] {
            spool.push(datapoint(ago, value), now());
        }
        assert_eq!(
            spool.oldest(2, now()).0.iter().map(|d| d.stats.sum).collect::<Vec<_>>(),
            vec![1.0, 2.0]
        );
    }

    #[test]
    fn a_second_exporter_cannot_share_the_directory() {
        let dir = tempfile::tempdir().unwrap();
        let (_spool, _) = open(dir.path(), 1 << 20);
        let error = Spool::open(dir.path(), bounds(1 << 20), now()).err().unwrap();
        assert!(matches!(error, SpoolError::Locked { .. }), "{error}");
    }

    #[test]
    fn replay_never_panics_on_garbage() {
        // Lengths pointing past the end, zero lengths, huge lengths, valid checksums on
        // nonsense payloads.
        let mut inputs: Vec<Vec<u8>> = vec![vec![], vec![0; 7], vec![0xff; 64]];
        let mut odd = Vec::new();
        frame(&mut odd, &[REMOVE, 1, 2, 3]);
        frame(&mut odd, &[ADD]);
        inputs.push(odd);
        for input in inputs {
            assert!(replay(&input).entries.is_empty());
        }
    }
}
