//! Starting: the files a checkpoint names, found again at `path` or `path.1`, or the
//! file at `path` from `start_at`.

use super::tracked::{mark_matches, open_existing, read_at, Tracked};
use super::{rotated_sibling, Slot, StartAt, TailError, Tailer, READ_CHUNK_BYTES};
use crate::events::sources as events;
use crate::sources::access_log::checkpoint::{Checkpoint, FileId};

impl Tailer {
    pub(super) fn restore(&mut self, checkpoint: Checkpoint) -> Result<(), TailError> {
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
                events::CheckpointedFileGone {
                    path: &path,
                    offset: entry.offset,
                    logged: true,
                }
                .emit(&self.stats);
                continue;
            };
            let (opened_as, slot, file) = found?;
            let rewritten = !mark_matches(&file, entry.offset, &entry.mark).map_err(|source| TailError::Read {
                path: opened_as.clone(),
                source,
            })?;
            if rewritten && matches!(slot, Slot::Rotated) {
                // Same inode, other content: not the file we were reading.
                events::CheckpointedFileGone {
                    path: opened_as,
                    offset: entry.offset,
                    logged: false,
                }
                .emit(&self.stats);
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
    pub(super) fn open_current(&mut self, start_at: StartAt) -> Result<(), TailError> {
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
}
