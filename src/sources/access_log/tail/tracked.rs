//! One open file: where we read, what was delivered, and the mark that recognises it.

use std::fs::{self, File};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use tokio::time::Instant;

use super::{TailError, TailStats};
use crate::sources::access_log::checkpoint::{FileCheckpoint, FileId, MARK_BYTES};
use crate::sources::access_log::LineSplitter;
use crate::stats::Stats;

/// One open file and the line being assembled from it.
#[derive(Debug)]
pub(super) struct Tracked {
    pub(super) file: File,
    pub(super) id: FileId,
    /// The name it had when opened, for messages.
    pub(super) opened_as: PathBuf,
    /// Next byte to read.
    pub(super) read_offset: u64,
    /// First byte not delivered: the start of the line being assembled.
    pub(super) line_start: u64,
    /// Splits what is read into lines; holds the line being assembled (`read_offset -
    /// line_start` bytes of it, unless it is skipping one we will not deliver: overlong, or
    /// begun before we started).
    pub(super) splitter: LineSplitter,
    /// Bytes `[mark_end - mark.len(), mark_end)` as we read them.
    pub(super) mark: Vec<u8>,
    pub(super) mark_end: u64,
    pub(super) last_data_at: Instant,
}

impl Tracked {
    pub(super) fn new(file: File, id: FileId, opened_as: &Path, offset: u64, max_line_bytes: usize) -> Self {
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

    pub(super) fn read_error(&self, source: io::Error) -> TailError {
        TailError::Read {
            path: self.opened_as.clone(),
            source,
        }
    }

    pub(super) fn restart_at_zero(&mut self) {
        self.read_offset = 0;
        self.line_start = 0;
        self.splitter.reset(false);
        self.mark.clear();
        self.mark_end = 0;
    }

    /// Splits `chunk` (which starts at `read_offset`) into lines for `sink`, stopping once
    /// `lines_left` reaches zero; what is not consumed is read again next time.
    pub(super) fn consume(
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
    pub(super) fn update_mark(&mut self) -> io::Result<()> {
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

    pub(super) fn checkpoint(&self) -> FileCheckpoint {
        FileCheckpoint {
            id: self.id,
            offset: self.mark_end,
            mark: self.mark.clone(),
        }
    }
}

/// Whether `file` holds `mark` just before `mark_end`.
pub(super) fn mark_matches(file: &File, mark_end: u64, mark: &[u8]) -> io::Result<bool> {
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

pub(super) fn read_at(file: &File, buffer: &mut [u8], offset: u64) -> io::Result<usize> {
    loop {
        match file.read_at(buffer, offset) {
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            other => return other,
        }
    }
}

/// Opens `path` if it exists; `Ok(None)` when it does not.
pub(super) fn open_existing(path: &Path) -> Result<Option<(File, fs::Metadata)>, TailError> {
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
