//! Events of the sources: stub_status, the accept queues, the access log's tailer.

use std::fmt::Display;
use std::path::Path;

use super::FailureStreak;
use crate::stats::{Stats, TailStats};

/// nginx's source (stub_status) could not be read (counted as a failed sample by
/// [`super::pipeline`]). Rate-limited by the sampler's streak.
pub(crate) struct SourceUnreadable<'a> {
    /// The source's name, as [`crate::sources::Source::name`] gives it ("stub_status").
    pub name: &'static str,
    pub kind: &'static str,
    pub error: &'a dyn Display,
}

impl SourceUnreadable<'_> {
    pub(crate) fn emit(self, streak: &mut FailureStreak) {
        if streak.failed() {
            let failures = streak.count();
            tracing::warn!(failures, kind = self.kind, "cannot read {}: {}", self.name, self.error);
        }
    }
}

/// nginx's source answered: the end of a failure streak, if there was one.
pub(crate) struct SourceRead<'a> {
    pub name: &'static str,
    pub url: &'a dyn Display,
}

impl SourceRead<'_> {
    pub(crate) fn emit(self, streak: &mut FailureStreak) {
        if let Some(failures) = streak.recovered() {
            tracing::info!(failures, url = %self.url, "{} readable again", self.name);
        }
    }
}

/// The kernel's accept queues could not be read. Rate-limited by the sampler's streak.
pub(crate) struct AcceptQueueUnreadable<'a> {
    pub error: &'a dyn Display,
}

impl AcceptQueueUnreadable<'_> {
    pub(crate) fn emit(self, streak: &mut FailureStreak) {
        if streak.failed() {
            tracing::warn!(
                failures = streak.count(),
                "cannot read the accept queue: {}",
                self.error
            );
        }
    }
}

/// The accept queues were read: the end of a failure streak, if there was one.
#[derive(Debug)]
pub(crate) struct AcceptQueueRead;

impl AcceptQueueRead {
    pub(crate) fn emit(self, streak: &mut FailureStreak) {
        if let Some(failures) = streak.recovered() {
            tracing::info!(failures, "accept queue readable again");
        }
    }
}

/// The sock_diag netlink socket cannot be opened: the accept queues are read from
/// /proc/self/net from now on.
pub(crate) struct SockDiagUnavailable<'a> {
    pub error: &'a dyn Display,
}

impl SockDiagUnavailable<'_> {
    pub(crate) fn emit(self) {
        tracing::warn!(
            kind = "sock_diag_unavailable",
            "reading accept queues from /proc/self/net/tcp{{,6}}, which costs more CPU: {}",
            self.error
        );
    }
}

/// A sock_diag dump failed; after `attempts` in a row (`gave_up`) the accept queues are read
/// from /proc/self/net from now on, before that only this sample is.
pub(crate) struct SockDiagFailed<'a> {
    pub attempts: u32,
    pub(crate) gave_up: bool,
    pub error: &'a dyn Display,
}

impl SockDiagFailed<'_> {
    pub(crate) fn emit(self) {
        if self.gave_up {
            tracing::warn!(
                kind = "sock_diag_failed",
                attempts = self.attempts,
                "reading accept queues from /proc/self/net/tcp{{,6}}, which costs more CPU: {}",
                self.error
            );
        } else {
            tracing::debug!(
                kind = "sock_diag_failed",
                attempts = self.attempts,
                "this sample reads /proc/self/net/tcp{{,6}}: {}",
                self.error
            );
        }
    }
}

/// The access log's checkpoint cannot be used; reading starts as if there was none.
pub(crate) struct CheckpointInvalid<'a> {
    pub error: &'a dyn Display,
}

impl CheckpointInvalid<'_> {
    pub(crate) fn emit(self) {
        tracing::warn!(kind = "checkpoint_invalid", "ignoring checkpoint: {}", self.error);
    }
}

/// A file named in the checkpoint is neither at the log's path nor at `path.1`: the lines
/// after its offset are lost. `logged` is false for a rotated slot found rewritten (counted,
/// as before, without a line).
#[derive(Debug)]
pub(crate) struct CheckpointedFileGone<'a> {
    pub path: &'a Path,
    pub offset: u64,
    pub logged: bool,
}

impl CheckpointedFileGone<'_> {
    pub(crate) fn emit(self, stats: &TailStats) {
        Stats::bump(&stats.checkpointed_files_gone);
        if self.logged {
            tracing::warn!(
                kind = "checkpointed_file_gone",
                path = %self.path.display(),
                offset = self.offset,
                "a file named in the checkpoint is gone; lines after the offset are lost"
            );
        }
    }
}

/// The log was rotated: the old file is drained before the new one is followed.
#[derive(Debug)]
pub(crate) struct LogRotated<'a> {
    pub path: &'a Path,
}

impl LogRotated<'_> {
    pub(crate) fn emit(self, stats: &TailStats) {
        Stats::bump(&stats.rotations);
        tracing::info!(
            kind = "rotation",
            path = %self.path.display(),
            "file rotated; draining the old one before following the new one"
        );
    }
}

/// The log was truncated (copytruncate): read again from the start; what was past the last
/// whole line may be lost.
#[derive(Debug)]
pub(crate) struct LogTruncated<'a> {
    pub path: &'a Path,
    pub offset: u64,
    pub possibly_lost_bytes: u64,
}

impl LogTruncated<'_> {
    pub(crate) fn emit(self, stats: &TailStats) {
        Stats::bump(&stats.truncations);
        Stats::add(&stats.possibly_lost_bytes, self.possibly_lost_bytes);
        tracing::warn!(
            kind = "truncation",
            path = %self.path.display(),
            offset = self.offset,
            possibly_lost_bytes = self.possibly_lost_bytes,
            "file truncated (copytruncate?); reading it again from the start"
        );
    }
}

/// Writing the access log's checkpoint failed; reading goes on. Rate-limited by its streak,
/// a failure of another kind logged at once.
pub(crate) struct CheckpointWriteFailed<'a> {
    pub kind: &'static str,
    pub error: &'a dyn Display,
}

impl CheckpointWriteFailed<'_> {
    pub(crate) fn emit(self, stats: &TailStats, streak: &mut FailureStreak) {
        Stats::bump(&stats.checkpoint_failures);
        if streak.failed_as(self.kind) {
            tracing::warn!(
                kind = self.kind,
                "cannot write the access-log checkpoint (reading goes on; after a crash, lines since the last one written are read again): {}",
                self.error
            );
        }
    }
}

/// The access log's checkpoint was written: the end of a failure streak, if there was one.
#[derive(Debug)]
pub(crate) struct CheckpointWritten;

impl CheckpointWritten {
    pub(crate) fn emit(self, streak: &mut FailureStreak) {
        if let Some(failures) = streak.recovered() {
            tracing::info!(failures, "writing the access-log checkpoint again");
        }
    }
}

/// Reading the access log failed. Rate-limited by the follow loop's streak, a failure of
/// another kind logged at once.
pub(crate) struct LogUnreadable<'a> {
    pub kind: &'static str,
    pub error: &'a dyn Display,
}

impl LogUnreadable<'_> {
    pub(crate) fn emit(self, stats: &TailStats, streak: &mut FailureStreak) {
        Stats::bump(&stats.io_errors);
        if streak.failed_as(self.kind) {
            tracing::warn!(kind = self.kind, "cannot read the access log: {}", self.error);
        }
    }
}

/// The access log was read: the end of a failure streak, if there was one.
#[derive(Debug)]
pub(crate) struct LogRead<'a> {
    pub path: &'a Path,
}

impl LogRead<'_> {
    pub(crate) fn emit(self, streak: &mut FailureStreak) {
        if let Some(failures) = streak.recovered() {
            tracing::info!(path = %self.path.display(), failures, "reading the access log again");
        }
    }
}

/// The tailer's last checkpoint, at its end, failed.
pub(crate) struct TailerStopFailed<'a> {
    pub kind: &'static str,
    pub error: &'a dyn Display,
}

impl TailerStopFailed<'_> {
    pub(crate) fn emit(self, stats: &TailStats) {
        Stats::bump(&stats.io_errors);
        tracing::warn!(kind = self.kind, "tailer: {}", self.error);
    }
}
