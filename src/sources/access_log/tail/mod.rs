//! A rotation-safe tailer: a file path in, complete lines (byte slices) out.
//!
//! **notify is a hint, not the truth.** Every [`Tailer::drain`] re-checks the path's
//! (device, inode) and our handle's size; inotify events on the directory only make that
//! happen sooner than the `recheck_interval` timer would.
//!
//! ## Waking up: notify while quiet, a timer while the file grows
//! nginx writes each line with its own write(2), and notify's inotify mask always includes
//! IN_MODIFY, so a watch that stays on wakes notify's thread (an `Event`, its `PathBuf`s, a
//! channel send) and our task once per request: at 20k lines/s that was 37 % of a core, and
//! 22 % even when our task drained on a timer, against 0.6 % for the reading and matching
//! themselves. So [`Tailer::wait_for_change`] works in two modes:
//! - **quiet** (the last drain read nothing): the directory watch is on and any event about
//!   the file or its rotated sibling wakes us at once, else `recheck_interval` does. A file
//!   that starts growing after a pause is seen within milliseconds.
//! - **growing** (the last drain read something): the watch is switched off and we drain
//!   every `append_poll_interval`, reading everything written meanwhile in a few 64 KiB
//!   reads. Each drain re-checks (device, inode, size), so a rotation, truncation or delete
//!   is still noticed within that interval. Lines carry their own timestamps, and periods
//!   close `access_log.settle` after their end, so a few hundred milliseconds of delay cost
//!   no accuracy.
//!
//! The watch is switched on again after the first drain that reads nothing, and then the file
//! is drained once more before waiting, because a write between that drain and the watch
//! woke nobody. Switching off and on is an inotify_rm_watch/inotify_add_watch on notify's
//! thread: a pair per burst, not per line. (notify 9, in release candidates as of this
//! writing, can leave IN_MODIFY out of the mask; that would keep rotation wake-ups immediate
//! while the file grows, but the poll interval already bounds how late they are noticed.)
//!
//! What it does with each change to the file:
//! - **rename + create** (Debian logrotate, then `nginx -s reopen`/USR1): the old handle is
//!   kept open and drained to EOF *before* the new file is read. It stays open (and is read
//!   first on every drain) until it has been quiet for `rotated_file_grace`, because nginx
//!   workers write to it until each of them has reopened.
//! - **delete + re-create** or **replaced by another file**: the same, through the handle
//!   we still hold; an unlinked file stays readable.
//! - **copytruncate**: our handle's size below our read offset, or the bytes just before our
//!   offset no longer what we read there (truncated, then written past our offset again
//!   before we looked): start again at 0. What was written after our last read and before
//!   the truncation is gone; it is counted in `possibly_lost_bytes` (measured from the copy
//!   at `path.1` when that is recognisably our file, else from what we had read).
//! - **missing**: wait quietly; the first file that appears is read from its start.
//! - **partial last line**: held until its newline arrives; never delivered on its own.
//! - **overlong line** (more than `max_line_bytes` before its newline): dropped whole and
//!   counted; its bytes are skipped without being buffered, so memory stays bounded.
//! - **bytes**: lines are `&[u8]` without their `\n`; no UTF-8 is assumed.
//!
//! ## Delivery and checkpoints
//! A line is *delivered* when the sink closure returns. The checkpoint records, per open
//! file, the offset of the first undelivered byte (always a line start). It is written
//! atomically (see [`super::checkpoint`]) at the end of a [`Tailer::drain`] that made
//! progress, at most once per `checkpoint_interval`, and always by [`Tailer::checkpoint`]
//! and when [`Tailer::run`] is cancelled. So: after a clean shutdown, restart is
//! exactly-once; after a crash, the lines delivered since the last checkpoint (at most
//! `checkpoint_interval` worth) are delivered again: at-least-once. Dropping a `Tailer`
//! without calling [`Tailer::checkpoint`] is a crash in this sense. A restart inside an
//! overlong line resumes at its start and skips (and counts) it again.
//!
//! On restart, a checkpointed file is found by (device, inode) at `path` or at the rotated
//! sibling `path.1`; a rotated one is finished from its offset first, then the current file
//! is read from its start (or from its checkpoint offset, if it is the same file). Without a
//! checkpoint, an existing file is read from `start_at` (by default its end).
//!
//! ## Limits
//! Lost, and counted where it can be: data a copytruncate removed before we read it; a
//! file rotated away twice, or deleted, while the tailer was not running; a partial last
//! line left in a rotated file; writes to a rotated file after `rotated_file_grace`.
//! Reads use `pread` on a fixed 64 KiB buffer. Each is a page-cache copy of microseconds,
//! done inline, and the task yields after every chunk so a 1 GB burst does not starve
//! other tasks on the runtime.
//!
//! The files: `restore` (a checkpoint or `start_at` to the files held at start),
//! `rotation` (rotation, replacement and truncation found on each drain), `watch` (the
//! notify watch switched on and off, and waiting), `follow` (draining, checkpoints and the
//! follow loop), and `tracked` (one open file and the line being assembled from it).

mod follow;
mod restore;
mod rotation;
mod tracked;
mod watch;

pub use follow::Follow;
pub use rotation::rotated_sibling;
use tracked::Tracked;

use std::io;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use notify::RecommendedWatcher;
use tokio::sync::Notify;
use tokio::time::Instant;

use super::checkpoint::{CheckpointError, CheckpointStore};
use crate::events::FailureStreak;
pub use crate::stats::{TailCounters, TailStats};

/// Read buffer size: the most memory one read takes, whatever the file's growth.
pub(crate) const READ_CHUNK_BYTES: usize = 64 * 1024;
/// The one line limit ([`super::MAX_LINE_BYTES`]); `max_line_bytes` differs only in tests.
pub(crate) const DEFAULT_MAX_LINE_BYTES: usize = super::MAX_LINE_BYTES;
pub(crate) const DEFAULT_RECHECK_INTERVAL: Duration = Duration::from_secs(1);
/// While the file grows, it is drained this often instead of on every write (see the module
/// docs): 4 wake-ups a second whatever the request rate.
pub(crate) const DEFAULT_APPEND_POLL_INTERVAL: Duration = Duration::from_millis(250);
/// nginx workers reopen their logs within milliseconds of USR1; 10 s is generous.
pub(crate) const DEFAULT_ROTATED_FILE_GRACE: Duration = Duration::from_secs(10);
pub(crate) const DEFAULT_CHECKPOINT_INTERVAL: Duration = Duration::from_secs(1);
/// Lines per [`Tailer::drain`] call inside [`Tailer::run`]; bounds time between checkpoints.
const RUN_BATCH_LINES: usize = 10_000;

/// Where to begin a file that has no checkpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StartAt {
    Beginning,
    /// Only lines written from now on (the last partial line, if any, included).
    #[default]
    End,
}

#[derive(Debug, Clone)]
pub struct TailerOptions {
    pub path: PathBuf,
    /// Holds the checkpoint file; created if missing.
    pub state_dir: PathBuf,
    /// Used only when there is no checkpoint and the file exists at start.
    pub start_at: StartAt,
    /// Longer lines (not counting the `\n`) are dropped and counted.
    pub max_line_bytes: usize,
    /// How often (device, inode, size) is re-checked without any notify event.
    pub recheck_interval: Duration,
    /// How often a growing file is drained, with the notify watch off meanwhile.
    pub append_poll_interval: Duration,
    /// How long a rotated file must stay quiet before its handle is closed.
    pub rotated_file_grace: Duration,
    /// Least time between two checkpoint writes while lines flow; the at-least-once window.
    pub checkpoint_interval: Duration,
}

impl TailerOptions {
    pub fn new(path: impl Into<PathBuf>, state_dir: impl Into<PathBuf>) -> Self {
        TailerOptions {
            path: path.into(),
            state_dir: state_dir.into(),
            start_at: StartAt::default(),
            max_line_bytes: DEFAULT_MAX_LINE_BYTES,
            recheck_interval: DEFAULT_RECHECK_INTERVAL,
            append_poll_interval: DEFAULT_APPEND_POLL_INTERVAL,
            rotated_file_grace: DEFAULT_ROTATED_FILE_GRACE,
            checkpoint_interval: DEFAULT_CHECKPOINT_INTERVAL,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TailError {
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    #[error("cannot open {path}: {source}")]
    Open { path: PathBuf, source: io::Error },
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: io::Error },
}

impl TailError {
    /// A short fixed label, for counters and rate-limited logging.
    pub fn kind(&self) -> &'static str {
        match self {
            TailError::Checkpoint(CheckpointError::StateDir { .. }) => "state_dir",
            TailError::Checkpoint(CheckpointError::Read { .. } | CheckpointError::Invalid { .. }) => "checkpoint_read",
            TailError::Checkpoint(CheckpointError::Write { .. }) => "checkpoint_write",
            TailError::Open { .. } => "open",
            TailError::Read { .. } => "read",
        }
    }
}

/// What one [`Tailer::drain`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Drained {
    pub lines: usize,
    /// False when `max_lines` stopped it: more is available right now.
    pub caught_up: bool,
}

#[derive(Clone, Copy)]
enum Slot {
    Rotated,
    Current,
}

pub struct Tailer {
    options: TailerOptions,
    store: CheckpointStore,
    /// A rotated-away file still being drained; always read before `current`.
    rotated: Option<Tracked>,
    current: Option<Tracked>,
    buffer: Box<[u8]>,
    stats: Arc<TailStats>,
    /// Something changed since the last checkpoint write.
    dirty: bool,
    last_checkpoint_at: Option<Instant>,
    wake: Arc<Notify>,
    watcher: Option<RecommendedWatcher>,
    /// Whether `watcher` watches the directory right now.
    watching: bool,
    /// The last drain read something: wait on the poll timer, not on notify.
    growing: bool,
    checkpoint_failing: FailureStreak,
}

impl std::fmt::Debug for Tailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tailer")
            .field("path", &self.options.path)
            .field("rotated", &self.rotated)
            .field("current", &self.current)
            .finish_non_exhaustive()
    }
}

impl Tailer {
    /// Loads the checkpoint (if any) and opens what it names; a missing log file is not an
    /// error. Fails only when the state directory cannot be created or read.
    pub fn open(options: TailerOptions) -> Result<Tailer, TailError> {
        Tailer::open_counting(options, Arc::default())
    }

    /// [`Tailer::open`], counting into `stats` (the daemon's, so its outputs read them).
    pub(crate) fn open_counting(mut options: TailerOptions, stats: Arc<TailStats>) -> Result<Tailer, TailError> {
        options.max_line_bytes = options.max_line_bytes.max(1);
        let store = CheckpointStore::for_path(&options.state_dir, &options.path)?;
        let checkpoint = match store.load() {
            Ok(checkpoint) => checkpoint,
            Err(error @ CheckpointError::Invalid { .. }) => {
                crate::events::sources::CheckpointInvalid { error: &error }.emit();
                None
            }
            Err(error) => return Err(error.into()),
        };
        let wake = Arc::new(Notify::new());
        let mut tailer = Tailer {
            options,
            store,
            rotated: None,
            current: None,
            buffer: vec![0; READ_CHUNK_BYTES].into_boxed_slice(),
            stats,
            dirty: false,
            last_checkpoint_at: None,
            wake,
            watcher: None,
            watching: false,
            growing: false,
            checkpoint_failing: FailureStreak::once(),
        };
        tailer.start_watching();
        match checkpoint {
            Some(checkpoint) => tailer.restore(checkpoint)?,
            None => tailer.open_current(tailer.options.start_at)?,
        }
        Ok(tailer)
    }

    pub fn stats(&self) -> Arc<TailStats> {
        Arc::clone(&self.stats)
    }

    pub fn counters(&self) -> TailCounters {
        self.stats.snapshot()
    }

    pub fn options(&self) -> &TailerOptions {
        &self.options
    }
}

#[cfg(test)]
mod tests;
