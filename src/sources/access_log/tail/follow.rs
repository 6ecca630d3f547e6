//! Draining lines to a sink, writing checkpoints, and the loop that follows the file.

use crate::events::sources as events;
use std::time::Duration;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::tracked::read_at;
use super::{Drained, Slot, TailCounters, TailError, Tailer, RUN_BATCH_LINES};
use crate::events::FailureStreak;
use crate::sources::access_log::checkpoint::Checkpoint;
use crate::stats::Stats;

impl Tailer {
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

    /// A checkpoint due while lines flow. Failing to write it (a full or read-only state
    /// directory) is not failing to read: the lines were delivered and reading goes on; it
    /// is counted, logged once a streak, and tried again a `checkpoint_interval` later. What
    /// it costs is only after a crash: lines since the last checkpoint written are read again.
    fn try_checkpoint(&mut self) {
        match self.checkpoint() {
            Ok(()) => events::CheckpointWritten.emit(&mut self.checkpoint_failing),
            Err(error) => {
                self.last_checkpoint_at = Some(Instant::now());
                events::CheckpointWriteFailed {
                    kind: error.kind(),
                    error: &error,
                }
                .emit(&self.stats, &mut self.checkpoint_failing);
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
                    events::LogRead {
                        path: &self.options.path,
                    }
                    .emit(&mut failing);
                    drained.caught_up
                }
                Err(error) => {
                    events::LogUnreadable {
                        kind: error.kind(),
                        error,
                    }
                    .emit(&self.stats, &mut failing);
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
            events::TailerStopFailed {
                kind: error.kind(),
                error: &error,
            }
            .emit(&self.stats);
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
