//! What each drain re-checks: the path's (device, inode) against the file we hold, and
//! our handle's size and mark against what we read (rotation, replacement, truncation).

use crate::events::sources as events;
use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};

use tokio::time::Instant;

use super::tracked::{mark_matches, Tracked};
use super::{StartAt, TailError, Tailer};
use crate::sources::access_log::checkpoint::FileId;
use crate::stats::Stats;

/// `access.log` -> `access.log.1`, where logrotate puts the previous file.
pub fn rotated_sibling(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_os_string();
    name.push(".1");
    PathBuf::from(name)
}

impl Tailer {
    /// Compares the path's (device, inode) and our handle's size with what we hold.
    pub(super) fn refresh(&mut self) -> Result<(), TailError> {
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
            events::LogRotated {
                path: &self.options.path,
            }
            .emit(&self.stats);
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

    pub(super) fn close_quiet_rotated(&mut self) {
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
        events::LogTruncated {
            path: &self.options.path,
            offset: current.line_start,
            possibly_lost_bytes: lost,
        }
        .emit(&self.stats);
        current.restart_at_zero();
        self.dirty = true;
        Ok(())
    }
}
