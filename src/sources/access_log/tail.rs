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

use std::fs::{self, File};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use notify::{RecommendedWatcher, RecursiveMode, Watcher};
use tokio::sync::Notify;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::checkpoint::{Checkpoint, CheckpointError, CheckpointStore, FileCheckpoint, FileId, MARK_BYTES};
use super::LineSplitter;
use crate::events::FailureStreak;
use crate::stats::Stats;
pub use crate::stats::{TailCounters, TailStats};

/// Read buffer size: the most memory one read takes, whatever the file's growth.
pub const READ_CHUNK_BYTES: usize = 64 * 1024;
/// The one line limit ([`super::MAX_LINE_BYTES`]); `max_line_bytes` differs only in tests.
pub const DEFAULT_MAX_LINE_BYTES: usize = super::MAX_LINE_BYTES;
pub const DEFAULT_RECHECK_INTERVAL: Duration = Duration::from_secs(1);
/// While the file grows, it is drained this often instead of on every write (see the module
/// docs): 4 wake-ups a second whatever the request rate.
pub const DEFAULT_APPEND_POLL_INTERVAL: Duration = Duration::from_millis(250);
/// nginx workers reopen their logs within milliseconds of USR1; 10 s is generous.
pub const DEFAULT_ROTATED_FILE_GRACE: Duration = Duration::from_secs(10);
pub const DEFAULT_CHECKPOINT_INTERVAL: Duration = Duration::from_secs(1);
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

/// One open file and the line being assembled from it.
#[derive(Debug)]
struct Tracked {
    file: File,
    id: FileId,
    /// The name it had when opened, for messages.
    opened_as: PathBuf,
    /// Next byte to read.
    read_offset: u64,
    /// First byte not delivered: the start of the line being assembled.
    line_start: u64,
    /// Splits what is read into lines; holds the line being assembled (`read_offset -
    /// line_start` bytes of it, unless it is skipping one we will not deliver: overlong, or
    /// begun before we started).
    splitter: LineSplitter,
    /// Bytes `[mark_end - mark.len(), mark_end)` as we read them.
    mark: Vec<u8>,
    mark_end: u64,
    last_data_at: Instant,
}

impl Tracked {
    fn new(file: File, id: FileId, opened_as: &Path, offset: u64, max_line_bytes: usize) -> Self {
        Tracked {
            file,
            id,
            opened_as: opened_as.to_path_buf(),
            read_offset: offset,
            line_start: offset,
            splitter: LineSplitter::new(max_line_bytes),
            mark: Vec::new(),
            mark_end: 0,
            last_data_at: Instant::now(),
        }
    }

    fn read_error(&self, source: io::Error) -> TailError {
        TailError::Read {
            path: self.opened_as.clone(),
            source,
        }
    }

    fn restart_at_zero(&mut self) {
        self.read_offset = 0;
        self.line_start = 0;
        self.splitter.reset(false);
        self.mark.clear();
        self.mark_end = 0;
    }

    /// Splits `chunk` (which starts at `read_offset`) into lines for `sink`, stopping once
    /// `lines_left` reaches zero; what is not consumed is read again next time.
    fn consume(
        &mut self,
        chunk: &[u8],
        lines_left: &mut usize,
        sink: &mut (dyn FnMut(&[u8]) + Send),
        stats: &TailStats,
    ) {
        let fed = self.splitter.feed(chunk, *lines_left, |item| match item {
            Ok(line) => sink(line),
            Err(_) => Stats::bump(&stats.overlong_lines),
        });
        *lines_left -= fed.lines;
        Stats::add(&stats.lines, fed.lines as u64);
        // The first undelivered byte: just after the last newline used (a line held, or one
        // being skipped, starts there and is read again from there after a restart).
        if let Some(newline) = memchr::memrchr(b'\n', &chunk[..fed.consumed]) {
            self.line_start = self.read_offset + newline as u64 + 1;
        }
        self.read_offset += fed.consumed as u64;
        Stats::add(&stats.bytes_read, fed.consumed as u64);
    }

    /// Remembers the bytes before `line_start`, to recognise this content later.
    fn update_mark(&mut self) -> io::Result<()> {
        if self.mark_end == self.line_start && !self.mark.is_empty() {
            return Ok(());
        }
        let length = self.line_start.min(MARK_BYTES as u64) as usize;
        self.mark.resize(length, 0);
        self.file
            .read_exact_at(&mut self.mark, self.line_start - length as u64)?;
        self.mark_end = self.line_start;
        Ok(())
    }

    fn checkpoint(&self) -> FileCheckpoint {
        FileCheckpoint {
            id: self.id,
            offset: self.mark_end,
            mark: self.mark.clone(),
        }
    }
}

/// Whether `file` holds `mark` just before `mark_end`.
fn mark_matches(file: &File, mark_end: u64, mark: &[u8]) -> io::Result<bool> {
    if mark.is_empty() {
        return Ok(true);
    }
    let mut found = vec![0; mark.len()];
    match file.read_exact_at(&mut found, mark_end - mark.len() as u64) {
        Ok(()) => Ok(found == mark),
        Err(error) if error.kind() == io::ErrorKind::UnexpectedEof => Ok(false),
        Err(error) => Err(error),
    }
}

fn read_at(file: &File, buffer: &mut [u8], offset: u64) -> io::Result<usize> {
    loop {
        match file.read_at(buffer, offset) {
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            other => return other,
        }
    }
}

/// `access.log` -> `access.log.1`, where logrotate puts the previous file.
pub fn rotated_sibling(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_os_string();
    name.push(".1");
    PathBuf::from(name)
}

/// Opens `path` if it exists; `Ok(None)` when it does not.
fn open_existing(path: &Path) -> Result<Option<(File, fs::Metadata)>, TailError> {
    let open_error = |source| TailError::Open {
        path: path.to_path_buf(),
        source,
    };
    match File::open(path) {
        Ok(file) => {
            let metadata = file.metadata().map_err(open_error)?;
            Ok(Some((file, metadata)))
        }
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(open_error(source)),
    }
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
    pub fn open_counting(mut options: TailerOptions, stats: Arc<TailStats>) -> Result<Tailer, TailError> {
        options.max_line_bytes = options.max_line_bytes.max(1);
        let store = CheckpointStore::for_path(&options.state_dir, &options.path)?;
        let checkpoint = match store.load() {
            Ok(checkpoint) => checkpoint,
            Err(error @ CheckpointError::Invalid { .. }) => {
                tracing::warn!(kind = "checkpoint_invalid", "ignoring checkpoint: {error}");
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

    fn restore(&mut self, checkpoint: Checkpoint) -> Result<(), TailError> {
        let path = self.options.path.clone();
        let sibling = rotated_sibling(&path);
        for entry in checkpoint.files {
            let found = [(&path, Slot::Current), (&sibling, Slot::Rotated)]
                .into_iter()
                .find_map(|(candidate, slot)| match open_existing(candidate) {
                    Ok(Some((file, metadata))) if FileId::of(&metadata) == entry.id => {
                        Some(Ok((candidate, slot, file)))
                    }
                    Ok(_) => None,
                    Err(error) => Some(Err(error)),
                });
            let Some(found) = found else {
                Stats::bump(&self.stats.checkpointed_files_gone);
                tracing::warn!(
                    kind = "checkpointed_file_gone",
                    path = %path.display(),
                    offset = entry.offset,
                    "a file named in the checkpoint is gone; lines after the offset are lost"
                );
                continue;
            };
            let (opened_as, slot, file) = found?;
            let rewritten = !mark_matches(&file, entry.offset, &entry.mark).map_err(|source| TailError::Read {
                path: opened_as.clone(),
                source,
            })?;
            if rewritten && matches!(slot, Slot::Rotated) {
                // Same inode, other content: not the file we were reading.
                Stats::bump(&self.stats.checkpointed_files_gone);
                continue;
            }
            let mut tracked = Tracked::new(file, entry.id, opened_as, entry.offset, self.options.max_line_bytes);
            tracked.mark = entry.mark;
            tracked.mark_end = entry.offset;
            match slot {
                Slot::Current => self.current = Some(tracked),
                Slot::Rotated => self.rotated = Some(tracked),
            }
        }
        if self.current.is_none() {
            // The file at `path` is not the one we were reading: all of it is new to us.
            self.open_current(StartAt::Beginning)?;
        }
        Ok(())
    }

    /// Opens whatever is at `path` now, if anything.
    fn open_current(&mut self, start_at: StartAt) -> Result<(), TailError> {
        let path = self.options.path.clone();
        let Some((file, metadata)) = open_existing(&path)? else {
            return Ok(());
        };
        let read_error = |source| TailError::Read {
            path: path.clone(),
            source,
        };
        let mut tracked = Tracked::new(file, FileId::of(&metadata), &path, 0, self.options.max_line_bytes);
        if start_at == StartAt::End && metadata.len() > 0 {
            // Begin at the start of the last line, so a line being written now is whole.
            let size = metadata.len();
            let window = size.min(READ_CHUNK_BYTES as u64);
            let read =
                read_at(&tracked.file, &mut self.buffer[..window as usize], size - window).map_err(read_error)?;
            let tail = &self.buffer[..read];
            let start = match tail.iter().rposition(|&byte| byte == b'\n') {
                Some(newline) => size - window + newline as u64 + 1,
                None if window == size => 0,
                None => {
                    // A last line longer than the window: not ours to deliver.
                    tracked.splitter.reset(true);
                    size
                }
            };
            tracked.read_offset = start;
            tracked.line_start = start;
        }
        tracked.update_mark().map_err(read_error)?;
        tracing::debug!(path = %path.display(), offset = tracked.line_start, "following file");
        self.current = Some(tracked);
        self.dirty = true;
        Ok(())
    }

    /// The directory holding the file: rotations are changes to its entries.
    fn directory(&self) -> PathBuf {
        match self.options.path.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
            _ => PathBuf::from("."),
        }
    }

    /// Turns on the directory watch that wakes us early (creating the watcher the first
    /// time). Returns true if it was off and is on now: a change just before went unseen.
    /// Without a watch we rely on the timer.
    fn start_watching(&mut self) -> bool {
        if self.watching {
            return false;
        }
        let directory = self.directory();
        if self.watcher.is_none() {
            let Some(name) = self.options.path.file_name().map(|name| name.to_os_string()) else {
                return false;
            };
            let mut sibling_name = name.clone();
            sibling_name.push(".1");
            let wake = Arc::clone(&self.wake);
            let handler = move |event: notify::Result<notify::Event>| {
                let relevant = match &event {
                    Ok(event) => event.paths.iter().any(|changed| {
                        changed
                            .file_name()
                            .is_some_and(|changed| changed == name || changed == sibling_name)
                    }),
                    // A lost event (queue overflow) is a reason to look, not to give up.
                    Err(_) => true,
                };
                if relevant {
                    wake.notify_one();
                }
            };
            match notify::recommended_watcher(handler) {
                Ok(watcher) => self.watcher = Some(watcher),
                Err(error) => {
                    tracing::debug!("no file notifications, re-checking on the timer only: {error}");
                    return false;
                }
            }
        }
        let Some(watcher) = self.watcher.as_mut() else {
            return false;
        };
        match watcher.watch(&directory, RecursiveMode::NonRecursive) {
            Ok(()) => {
                self.watching = true;
                true
            }
            Err(error) => {
                tracing::debug!(
                    directory = %directory.display(),
                    "no file notifications, re-checking on the timer only: {error}"
                );
                false
            }
        }
    }

    /// Turns the directory watch off while the file grows, so writes wake nobody.
    fn stop_watching(&mut self) {
        if !self.watching {
            return;
        }
        self.watching = false;
        let directory = self.directory();
        if let Some(watcher) = self.watcher.as_mut() {
            if let Err(error) = watcher.unwatch(&directory) {
                // The directory went away, taking its watch with it.
                tracing::debug!(directory = %directory.display(), "unwatch: {error}");
            }
        }
    }

    /// Delivers every complete line available now (at most `max_lines`) to `sink`, after
    /// re-checking whether the file was rotated, replaced or truncated. Writes the
    /// checkpoint afterwards if `checkpoint_interval` has passed since the last one.
    pub async fn drain<F: FnMut(&[u8]) + Send>(
        &mut self,
        max_lines: usize,
        sink: &mut F,
    ) -> Result<Drained, TailError> {
        let mut lines_left = max_lines;
        self.growing = false;
        let caught_up = self.drain_everything(&mut lines_left, sink).await?;
        if caught_up {
            self.close_quiet_rotated();
        }
        if self.dirty && self.checkpoint_due() {
            self.try_checkpoint();
        }
        Ok(Drained {
            lines: max_lines - lines_left,
            caught_up,
        })
    }

    async fn drain_everything(
        &mut self,
        lines_left: &mut usize,
        sink: &mut (dyn FnMut(&[u8]) + Send),
    ) -> Result<bool, TailError> {
        // The rotated file first: its lines are older than anything in the current one.
        if !self.drain_slot(Slot::Rotated, lines_left, sink).await? {
            return Ok(false);
        }
        self.refresh()?;
        // `refresh` may just have retired the current file: finish it before the new one.
        if !self.drain_slot(Slot::Rotated, lines_left, sink).await? {
            return Ok(false);
        }
        self.drain_slot(Slot::Current, lines_left, sink).await
    }

    /// Reads one file to EOF (or until `lines_left` runs out); true when at EOF.
    async fn drain_slot(
        &mut self,
        slot: Slot,
        lines_left: &mut usize,
        sink: &mut (dyn FnMut(&[u8]) + Send),
    ) -> Result<bool, TailError> {
        loop {
            let tracked = match slot {
                Slot::Rotated => self.rotated.as_mut(),
                Slot::Current => self.current.as_mut(),
            };
            let Some(tracked) = tracked else {
                return Ok(true);
            };
            if *lines_left == 0 {
                tracked.update_mark().map_err(|source| tracked.read_error(source))?;
                return Ok(false);
            }
            let read = read_at(&tracked.file, &mut self.buffer, tracked.read_offset)
                .map_err(|source| tracked.read_error(source))?;
            if read == 0 {
                tracked.update_mark().map_err(|source| tracked.read_error(source))?;
                return Ok(true);
            }
            tracked.last_data_at = Instant::now();
            self.growing = true;
            tracked.consume(&self.buffer[..read], lines_left, sink, &self.stats);
            self.dirty = true;
            // A big burst is read in many chunks; let other tasks run between them.
            tokio::task::yield_now().await;
        }
    }

    /// Compares the path's (device, inode) and our handle's size with what we hold.
    fn refresh(&mut self) -> Result<(), TailError> {
        let path = self.options.path.clone();
        let at_path = match fs::metadata(&path) {
            Ok(metadata) => Some(FileId::of(&metadata)),
            Err(error) if error.kind() == io::ErrorKind::NotFound => None,
            Err(source) => return Err(TailError::Open { path, source }),
        };
        match (self.current.as_ref().map(|current| current.id), at_path) {
            (None, None) => Ok(()),
            (None, Some(_)) => self.open_current(StartAt::Beginning),
            (Some(held), Some(now)) if held != now => {
                self.retire_current();
                self.open_current(StartAt::Beginning)
            }
            // The same file, or ours was renamed/deleted and nothing replaced it yet: keep
            // reading through the handle.
            (Some(_), _) => self.check_truncation(),
        }
    }

    fn retire_current(&mut self) {
        if let Some(older) = self.rotated.take() {
            // Rotated twice since we last looked; it was drained just before this.
            self.close_rotated(older);
        }
        if let Some(mut current) = self.current.take() {
            Stats::bump(&self.stats.rotations);
            tracing::info!(
                kind = "rotation",
                path = %self.options.path.display(),
                "file rotated; draining the old one before following the new one"
            );
            current.last_data_at = Instant::now();
            self.rotated = Some(current);
            self.dirty = true;
        }
    }

    fn close_rotated(&mut self, rotated: Tracked) {
        let unfinished = rotated.read_offset - rotated.line_start;
        if unfinished > 0 {
            // A partial last line that will never get its newline.
            Stats::add(&self.stats.possibly_lost_bytes, unfinished);
        }
        tracing::debug!(path = %rotated.opened_as.display(), "closed rotated file");
        self.dirty = true;
    }

    fn close_quiet_rotated(&mut self) {
        let quiet = self
            .rotated
            .as_ref()
            .is_some_and(|rotated| rotated.last_data_at.elapsed() >= self.options.rotated_file_grace);
        if quiet {
            if let Some(rotated) = self.rotated.take() {
                self.close_rotated(rotated);
            }
        }
    }

    fn check_truncation(&mut self) -> Result<(), TailError> {
        let sibling = rotated_sibling(&self.options.path);
        let Some(current) = self.current.as_mut() else {
            return Ok(());
        };
        let read_error = |source| TailError::Read {
            path: current.opened_as.clone(),
            source,
        };
        let size = current.file.metadata().map_err(read_error)?.len();
        let rewritten = size < current.read_offset
            || !mark_matches(&current.file, current.mark_end, &current.mark).map_err(read_error)?;
        if !rewritten {
            return Ok(());
        }
        // If logrotate's copy is at `path.1` and holds what we read, its length says how
        // much was written after our last read; otherwise we only know what we had read.
        let copy_size = match File::open(&sibling) {
            Ok(copy) => match (copy.metadata(), mark_matches(&copy, current.mark_end, &current.mark)) {
                (Ok(metadata), Ok(true)) => metadata.len(),
                _ => 0,
            },
            Err(_) => 0,
        };
        let lost = copy_size.max(current.read_offset) - current.line_start;
        Stats::bump(&self.stats.truncations);
        Stats::add(&self.stats.possibly_lost_bytes, lost);
        tracing::warn!(
            kind = "truncation",
            path = %self.options.path.display(),
            offset = current.line_start,
            possibly_lost_bytes = lost,
            "file truncated (copytruncate?); reading it again from the start"
        );
        current.restart_at_zero();
        self.dirty = true;
        Ok(())
    }

    /// A checkpoint due while lines flow. Failing to write it (a full or read-only state
    /// directory) is not failing to read: the lines were delivered and reading goes on; it
    /// is counted, logged once a streak, and tried again a `checkpoint_interval` later. What
    /// it costs is only after a crash: lines since the last checkpoint written are read again.
    fn try_checkpoint(&mut self) {
        match self.checkpoint() {
            Ok(()) => {
                if let Some(failures) = self.checkpoint_failing.recovered() {
                    tracing::info!(failures, "writing the access-log checkpoint again");
                }
            }
            Err(error) => {
                Stats::bump(&self.stats.checkpoint_failures);
                self.last_checkpoint_at = Some(Instant::now());
                if self.checkpoint_failing.failed_as(error.kind()) {
                    tracing::warn!(
                        kind = error.kind(),
                        "cannot write the access-log checkpoint (reading goes on; after a crash, lines since the last one written are read again): {error}"
                    );
                }
            }
        }
    }

    fn checkpoint_due(&self) -> bool {
        self.last_checkpoint_at
            .is_none_or(|at| at.elapsed() >= self.options.checkpoint_interval)
    }

    /// Writes the checkpoint now: every line delivered so far is not delivered again.
    pub fn checkpoint(&mut self) -> Result<(), TailError> {
        let mut files = Vec::with_capacity(2);
        for tracked in [self.rotated.as_mut(), self.current.as_mut()].into_iter().flatten() {
            tracked.update_mark().map_err(|source| TailError::Read {
                path: tracked.opened_as.clone(),
                source,
            })?;
            files.push(tracked.checkpoint());
        }
        self.store.save(&Checkpoint::new(self.options.path.clone(), files))?;
        Stats::bump(&self.stats.checkpoints_written);
        self.last_checkpoint_at = Some(Instant::now());
        self.dirty = false;
        Ok(())
    }

    /// Waits until the next drain is worth doing. While the file grows: `append_poll_interval`,
    /// with the watch off. Otherwise: a notify event about the file or `recheck_interval`,
    /// whichever is first; or no wait at all if the watch was off, so that what was written
    /// before it came on is drained now rather than at the next re-check.
    pub async fn wait_for_change(&mut self) {
        if self.growing {
            self.stop_watching();
            tokio::time::sleep(self.options.append_poll_interval).await;
            return;
        }
        if self.start_watching() {
            return;
        }
        tokio::select! {
            _ = self.wake.notified() => {}
            _ = tokio::time::sleep(self.options.recheck_interval) => {}
        }
    }

    /// Follows the file until `token` is cancelled, handing each line to `follow` and
    /// letting it act after every drain, then writes the checkpoint. This is the loop the
    /// daemon runs (`pipeline::access_log`), and the one the tailer tests test.
    ///
    /// I/O errors are counted (`io_errors`), logged once per streak and kind of failure
    /// ([`FailureStreak`]), and retried on the next re-check; they never end the loop.
    /// Between batches of [`RUN_BATCH_LINES`] the task yields, so a log that grows by a
    /// gigabyte at once cannot stall shutdown or starve other tasks.
    pub async fn run<F: Follow>(mut self, token: CancellationToken, mut follow: F) -> TailCounters {
        let mut failing = FailureStreak::once();
        let mut idle = follow.idle_tick().map(|every| {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            tick
        });
        loop {
            follow.before_drain();
            let drained = self.drain(RUN_BATCH_LINES, &mut |line: &[u8]| follow.line(line)).await;
            let caught_up = match &drained {
                Ok(drained) => {
                    if let Some(failures) = failing.recovered() {
                        tracing::info!(path = %self.options.path.display(), failures, "reading the access log again");
                    }
                    drained.caught_up
                }
                Err(error) => {
                    Stats::bump(&self.stats.io_errors);
                    if failing.failed_as(error.kind()) {
                        tracing::warn!(kind = error.kind(), "cannot read the access log: {error}");
                    }
                    true
                }
            };
            follow.after_drain(drained.is_ok()).await;
            if token.is_cancelled() {
                break;
            }
            if !caught_up {
                // More is waiting: let other tasks run between batches.
                tokio::task::yield_now().await;
                continue;
            }
            tokio::select! {
                biased;
                _ = token.cancelled() => break,
                _ = self.wait_for_change() => {}
                _ = async {
                    match idle.as_mut() {
                        Some(tick) => {
                            tick.tick().await;
                        }
                        None => std::future::pending().await,
                    }
                } => {}
            }
        }
        if let Err(error) = self.checkpoint() {
            Stats::bump(&self.stats.io_errors);
            tracing::warn!(kind = error.kind(), "tailer: {error}");
        }
        self.counters()
    }
}

/// What [`Tailer::run`] hands lines to. A closure `FnMut(&[u8])` is one (it only takes
/// lines); the daemon's access-log pipeline also closes periods after every drain.
pub trait Follow: Send {
    /// Just before each drain.
    fn before_drain(&mut self) {}
    /// One complete line, without its `\n`.
    fn line(&mut self, line: &[u8]);
    /// After each drain; `readable` is false when it failed. May wait (on a full channel,
    /// say): the tailer reads nothing meanwhile, which is the backpressure.
    fn after_drain(&mut self, readable: bool) -> impl std::future::Future<Output = ()> + Send {
        let _ = readable;
        std::future::ready(())
    }
    /// Wake up at least this often even when the file does not change (the daemon closes
    /// idle periods by the clock).
    fn idle_tick(&self) -> Option<Duration> {
        None
    }
}

impl<F: FnMut(&[u8]) + Send> Follow for F {
    fn line(&mut self, line: &[u8]) {
        self(line)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    struct Fixture {
        _dir: tempfile::TempDir,
        log: PathBuf,
        state: PathBuf,
    }

    fn fixture() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("access.log");
        let state = dir.path().join("state");
        Fixture { _dir: dir, log, state }
    }

    impl Fixture {
        fn options(&self) -> TailerOptions {
            TailerOptions {
                start_at: StartAt::Beginning,
                checkpoint_interval: Duration::ZERO,
                ..TailerOptions::new(&self.log, &self.state)
            }
        }

        fn tailer(&self) -> Tailer {
            Tailer::open(self.options()).unwrap()
        }

        fn append(&self, bytes: &[u8]) {
            append(&self.log, bytes);
        }

        fn rotated(&self) -> PathBuf {
            rotated_sibling(&self.log)
        }
    }

    fn append(path: &Path, bytes: &[u8]) {
        let mut file = fs::OpenOptions::new().create(true).append(true).open(path).unwrap();
        file.write_all(bytes).unwrap();
    }

    /// copytruncate as logrotate does it: copy the content, then truncate in place.
    fn copytruncate(path: &Path, copy: &Path) {
        fs::copy(path, copy).unwrap();
        fs::OpenOptions::new()
            .write(true)
            .open(path)
            .unwrap()
            .set_len(0)
            .unwrap();
    }

    async fn drain(tailer: &mut Tailer) -> Vec<String> {
        let mut lines = Vec::new();
        let drained = tailer
            .drain(usize::MAX, &mut |line: &[u8]| {
                lines.push(String::from_utf8_lossy(line).into_owned())
            })
            .await
            .unwrap();
        assert!(drained.caught_up);
        lines
    }

    fn check(actual: Vec<String>, expected: &[&str]) {
        assert_eq!(actual, expected);
    }

    #[tokio::test]
    async fn partial_line_is_held_until_its_newline() {
        let f = fixture();
        f.append(b"one\ntw");
        let mut tailer = f.tailer();
        check(drain(&mut tailer).await, &["one"]);
        f.append(b"o");
        check(drain(&mut tailer).await, &[]);
        f.append(b"\nthree\n");
        check(drain(&mut tailer).await, &["two", "three"]);
    }

    #[tokio::test]
    async fn overlong_line_is_dropped_counted_and_never_buffered() {
        let f = fixture();
        let mut tailer = Tailer::open(TailerOptions {
            max_line_bytes: 1024,
            ..f.options()
        })
        .unwrap();
        f.append(b"before\n");
        f.append(&vec![b'x'; 10 * 1024 * 1024]);
        check(drain(&mut tailer).await, &["before"]);
        let held = tailer.current.as_ref().unwrap().splitter.held_capacity();
        assert!(held <= 2 * 1024, "buffered {held} bytes of an overlong line");
        f.append(b"\nafter\n");
        f.append(&[b'y'; 1025]);
        f.append(b"\n");
        f.append(&[b'z'; 1024]);
        f.append(b"\n");
        let z = "z".repeat(1024);
        check(drain(&mut tailer).await, &["after", &z]);
        assert_eq!(tailer.counters().overlong_lines, 2);
        assert_eq!(tailer.counters().lines, 3);
    }

    #[tokio::test]
    async fn non_utf8_bytes_pass_through_as_bytes() {
        let f = fixture();
        f.append(b"\xff\xfe ok\r\n\x00\n");
        let mut tailer = f.tailer();
        let mut lines = Vec::new();
        tailer
            .drain(usize::MAX, &mut |line: &[u8]| lines.push(line.to_vec()))
            .await
            .unwrap();
        assert_eq!(lines, vec![b"\xff\xfe ok\r".to_vec(), b"\x00".to_vec()]);
    }

    #[tokio::test]
    async fn rename_and_create_drains_unread_old_lines_first() {
        let f = fixture();
        f.append(b"a\nb\n");
        let mut tailer = f.tailer();
        check(drain(&mut tailer).await, &["a", "b"]);
        f.append(b"c\n");
        fs::rename(&f.log, f.rotated()).unwrap();
        f.append(b"d\n");
        // A worker that has not reopened yet still writes to the old file.
        append(&f.rotated(), b"late\n");
        check(drain(&mut tailer).await, &["c", "late", "d"]);
        append(&f.rotated(), b"later\n");
        f.append(b"e\n");
        check(drain(&mut tailer).await, &["later", "e"]);
        assert_eq!(tailer.counters().rotations, 1);
        assert_eq!(tailer.counters().possibly_lost_bytes, 0);
    }

    #[tokio::test(start_paused = true)]
    async fn rotated_file_is_closed_after_it_stays_quiet() {
        let f = fixture();
        f.append(b"a\n");
        let mut tailer = f.tailer();
        check(drain(&mut tailer).await, &["a"]);
        fs::rename(&f.log, f.rotated()).unwrap();
        f.append(b"b\n");
        check(drain(&mut tailer).await, &["b"]);
        assert!(tailer.rotated.is_some());
        tokio::time::advance(DEFAULT_ROTATED_FILE_GRACE).await;
        check(drain(&mut tailer).await, &[]);
        assert!(tailer.rotated.is_none());
    }

    #[tokio::test]
    async fn copytruncate_starts_again_at_zero_and_counts_the_unread_tail() {
        let f = fixture();
        f.append(b"a\nb\n");
        let mut tailer = f.tailer();
        check(drain(&mut tailer).await, &["a", "b"]);
        f.append(b"lost\n");
        copytruncate(&f.log, &f.rotated());
        f.append(b"c\n");
        check(drain(&mut tailer).await, &["c"]);
        assert_eq!(tailer.counters().truncations, 1);
        assert_eq!(tailer.counters().possibly_lost_bytes, 5);
    }

    #[tokio::test]
    async fn copytruncate_noticed_after_the_file_grew_past_our_offset() {
        let f = fixture();
        f.append(b"line 1\nline 2\n");
        let mut tailer = f.tailer();
        check(drain(&mut tailer).await, &["line 1", "line 2"]);
        copytruncate(&f.log, &f.rotated());
        f.append(b"line 3\nline 4\nline 5\n");
        check(drain(&mut tailer).await, &["line 3", "line 4", "line 5"]);
        assert_eq!(tailer.counters().truncations, 1);
    }

    #[tokio::test]
    async fn delete_and_recreate_reads_the_old_handle_then_the_new_file() {
        let f = fixture();
        f.append(b"a\n");
        let mut tailer = f.tailer();
        check(drain(&mut tailer).await, &["a"]);
        f.append(b"b\n");
        fs::remove_file(&f.log).unwrap();
        // Nothing replaced it yet: the held handle still reads the unlinked file.
        check(drain(&mut tailer).await, &["b"]);
        f.append(b"c\n");
        check(drain(&mut tailer).await, &["c"]);
        f.append(b"d\n");
        fs::remove_file(&f.log).unwrap();
        f.append(b"e\n");
        check(drain(&mut tailer).await, &["d", "e"]);
        assert_eq!(tailer.counters().rotations, 2);
    }

    #[tokio::test]
    async fn replaced_by_a_bigger_or_smaller_file() {
        let f = fixture();
        f.append(b"old 1\nold 2\n");
        let mut tailer = f.tailer();
        check(drain(&mut tailer).await, &["old 1", "old 2"]);
        let replacement = f.log.with_extension("new");
        fs::write(&replacement, b"n\n").unwrap();
        fs::rename(&replacement, &f.log).unwrap();
        check(drain(&mut tailer).await, &["n"]);
        fs::write(&replacement, b"bigger 1\nbigger 2\nbigger 3\n").unwrap();
        fs::rename(&replacement, &f.log).unwrap();
        check(drain(&mut tailer).await, &["bigger 1", "bigger 2", "bigger 3"]);
        assert_eq!(tailer.counters().rotations, 2);
    }

    #[tokio::test]
    async fn missing_at_start_then_read_from_its_beginning() {
        let f = fixture();
        let mut tailer = Tailer::open(TailerOptions {
            start_at: StartAt::End,
            ..f.options()
        })
        .unwrap();
        check(drain(&mut tailer).await, &[]);
        check(drain(&mut tailer).await, &[]);
        f.append(b"first\n");
        check(drain(&mut tailer).await, &["first"]);
        assert_eq!(tailer.counters().io_errors, 0);
    }

    #[tokio::test]
    async fn a_checkpoint_that_cannot_be_written_does_not_stop_the_reading() {
        let f = fixture();
        let mut tailer = f.tailer();
        let store = CheckpointStore::for_path(&f.state, &f.log).unwrap();
        // Something in the way of the checkpoint's temporary file: its writes fail.
        let blocker = crate::atomic_file::temporary_for(store.file());
        fs::create_dir_all(&blocker).unwrap();
        f.append(b"one\ntwo\n");
        check(drain(&mut tailer).await, &["one", "two"]);
        f.append(b"three\n");
        check(drain(&mut tailer).await, &["three"]);
        let counters = tailer.counters();
        assert_eq!(counters.io_errors, 0, "a read error it is not");
        assert!(counters.checkpoint_failures >= 1, "{counters:?}");
        fs::remove_dir(&blocker).unwrap();
        f.append(b"four\n");
        check(drain(&mut tailer).await, &["four"]);
        assert_eq!(
            store.load().unwrap().unwrap().files[0].offset,
            19,
            "written again, at the end"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn run_waits_for_a_missing_file_on_the_timer_and_checkpoints_on_cancel() {
        let f = fixture();
        let tailer = Tailer::open(f.options()).unwrap();
        let token = CancellationToken::new();
        let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
        let sink_seen = Arc::clone(&seen);
        let task = tokio::spawn(tailer.run(token.clone(), move |line: &[u8]| {
            sink_seen.lock().unwrap().push(line.to_vec())
        }));
        tokio::time::sleep(Duration::from_secs(5)).await;
        f.append(b"hello\n");
        for _ in 0..10 {
            tokio::time::sleep(DEFAULT_RECHECK_INTERVAL).await;
            if !seen.lock().unwrap().is_empty() {
                break;
            }
        }
        token.cancel();
        let counters = task.await.unwrap();
        assert_eq!(*seen.lock().unwrap(), vec![b"hello".to_vec()]);
        assert_eq!(counters.io_errors, 0);
        let store = CheckpointStore::for_path(&f.state, &f.log).unwrap();
        assert_eq!(store.load().unwrap().unwrap().files[0].offset, 6);
    }

    #[tokio::test]
    async fn a_notify_event_wakes_run_long_before_the_timer() {
        let f = fixture();
        f.append(b"");
        let tailer = Tailer::open(TailerOptions {
            recheck_interval: Duration::from_secs(3600),
            ..f.options()
        })
        .unwrap();
        let token = CancellationToken::new();
        let (sender, mut receiver) = tokio::sync::mpsc::unbounded_channel();
        let task = tokio::spawn(tailer.run(token.clone(), move |line: &[u8]| {
            let _ = sender.send(line.to_vec());
        }));
        // Let run reach its wait before the write.
        tokio::time::sleep(Duration::from_millis(100)).await;
        f.append(b"woken\n");
        let line = tokio::time::timeout(Duration::from_secs(5), receiver.recv()).await;
        token.cancel();
        task.await.unwrap();
        assert_eq!(line.unwrap().unwrap(), b"woken");
    }

    #[tokio::test(start_paused = true)]
    async fn a_growing_file_is_drained_on_the_poll_timer_with_the_watch_off() {
        let f = fixture();
        f.append(b"");
        let poll = Duration::from_millis(250);
        let mut tailer = Tailer::open(TailerOptions {
            recheck_interval: Duration::from_secs(3600),
            append_poll_interval: poll,
            ..f.options()
        })
        .unwrap();
        assert!(tailer.watching, "the watch is on while the file is quiet");
        f.append(b"a\n");
        check(drain(&mut tailer).await, &["a"]);
        // Growing: further writes wake nobody; the next drain is one poll interval away.
        let started = Instant::now();
        tailer.wait_for_change().await;
        assert!(!tailer.watching);
        assert!(started.elapsed() >= poll && started.elapsed() < 2 * poll);
        f.append(b"b\n");
        check(drain(&mut tailer).await, &["b"]);
        tailer.wait_for_change().await;
        check(drain(&mut tailer).await, &[]);
        // Quiet again: the watch comes back on, and a line written before it did (after the
        // drain that found nothing) is drained at once, not at the next re-check.
        f.append(b"c\n");
        let started = Instant::now();
        tailer.wait_for_change().await;
        assert!(tailer.watching);
        assert_eq!(started.elapsed(), Duration::ZERO);
        check(drain(&mut tailer).await, &["c"]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_rotation_while_growing_is_found_by_the_next_poll_without_notify() {
        let f = fixture();
        f.append(b"a\n");
        let mut tailer = f.tailer();
        check(drain(&mut tailer).await, &["a"]);
        tailer.wait_for_change().await;
        assert!(!tailer.watching);
        f.append(b"b\n");
        fs::rename(&f.log, f.rotated()).unwrap();
        f.append(b"c\n");
        let started = Instant::now();
        tailer.wait_for_change().await;
        assert!(started.elapsed() <= DEFAULT_APPEND_POLL_INTERVAL);
        check(drain(&mut tailer).await, &["b", "c"]);
        assert_eq!(tailer.counters().rotations, 1);
    }

    #[tokio::test]
    async fn start_at_end_skips_whole_lines_but_keeps_the_one_being_written() {
        let f = fixture();
        f.append(b"old 1\nold 2\nnew");
        let mut tailer = Tailer::open(TailerOptions {
            start_at: StartAt::End,
            ..f.options()
        })
        .unwrap();
        check(drain(&mut tailer).await, &[]);
        f.append(b" 1\nnew 2\n");
        check(drain(&mut tailer).await, &["new 1", "new 2"]);
    }

    #[tokio::test]
    async fn checkpoint_resume_continues_exactly_where_it_stopped() {
        let f = fixture();
        f.append(b"a\nb\npart");
        let mut tailer = f.tailer();
        check(drain(&mut tailer).await, &["a", "b"]);
        tailer.checkpoint().unwrap();
        drop(tailer);
        f.append(b"ial\nc\n");
        // start_at is only for a first start; the checkpoint wins.
        let mut tailer = Tailer::open(TailerOptions {
            start_at: StartAt::End,
            ..f.options()
        })
        .unwrap();
        check(drain(&mut tailer).await, &["partial", "c"]);
    }

    #[tokio::test]
    async fn checkpoint_resume_finishes_the_rotated_sibling_first() {
        let f = fixture();
        f.append(b"a\n");
        let mut tailer = f.tailer();
        check(drain(&mut tailer).await, &["a"]);
        tailer.checkpoint().unwrap();
        drop(tailer);
        f.append(b"b\n");
        fs::rename(&f.log, f.rotated()).unwrap();
        f.append(b"c\n");
        let mut tailer = f.tailer();
        check(drain(&mut tailer).await, &["b", "c"]);
    }

    #[tokio::test]
    async fn checkpoint_of_a_vanished_file_starts_the_current_one_from_zero() {
        let f = fixture();
        f.append(b"a\n");
        let mut tailer = f.tailer();
        check(drain(&mut tailer).await, &["a"]);
        tailer.checkpoint().unwrap();
        drop(tailer);
        f.append(b"gone\n");
        let rotated = f.rotated();
        fs::rename(&f.log, &rotated).unwrap();
        fs::remove_file(&rotated).unwrap();
        f.append(b"b\n");
        let mut tailer = f.tailer();
        check(drain(&mut tailer).await, &["b"]);
        // ext4 may give the new file the old inode; the mark then tells them apart.
        let counters = tailer.counters();
        assert_eq!(counters.checkpointed_files_gone + counters.truncations, 1);
    }

    #[tokio::test]
    async fn checkpoint_detects_copytruncate_while_stopped() {
        let f = fixture();
        f.append(b"line 1\nline 2\n");
        let mut tailer = f.tailer();
        check(drain(&mut tailer).await, &["line 1", "line 2"]);
        tailer.checkpoint().unwrap();
        drop(tailer);
        copytruncate(&f.log, &f.rotated());
        f.append(b"line 3\nline 4\nline 5\n");
        let mut tailer = f.tailer();
        check(drain(&mut tailer).await, &["line 3", "line 4", "line 5"]);
    }

    #[tokio::test]
    async fn max_lines_bounds_a_drain_and_the_rest_follows() {
        let f = fixture();
        f.append(b"1\n2\n3\n4\n5\n");
        let mut tailer = f.tailer();
        let mut lines = Vec::new();
        let drained = tailer
            .drain(2, &mut |line: &[u8]| lines.push(line.to_vec()))
            .await
            .unwrap();
        assert_eq!(
            drained,
            Drained {
                lines: 2,
                caught_up: false
            }
        );
        tailer.checkpoint().unwrap();
        drop(tailer);
        let mut tailer = f.tailer();
        check(drain(&mut tailer).await, &["3", "4", "5"]);
    }
}
