//! Where the tailer stopped, kept on disk so a restart resumes at the same byte.
//!
//! One small JSON file per tailed path in the state directory. It is replaced atomically:
//! written by [`crate::atomic_file::write`] (temporary sibling, fsync, rename, fsync the
//! directory), so a crash leaves either the old or the new checkpoint, never a torn one.
//!
//! A checkpoint lists every file the tailer still holds open (at most the file being
//! rotated away and the current one, oldest first). Each entry says which file it is
//! (device + inode), the offset of the first byte not yet delivered (always the start of
//! a line), and a `mark`: up to [`MARK_BYTES`] bytes just before that offset. The mark is
//! how a resumed or running tailer notices that a file with the same inode was truncated
//! and written again past the old offset (copytruncate, or an inode reused after delete).

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// How many bytes before the resume offset we remember to recognise the same content.
pub(crate) const MARK_BYTES: usize = 64;

const FORMAT_VERSION: u32 = 1;

/// Which file on disk: stable across renames, changes when a file is replaced.
///
/// ext4 hands a freed inode number to the next new file at once, so (device, inode) alone
/// can name a different file after delete + create; the birth time (statx, where the
/// filesystem keeps one) tells those apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FileId {
    pub dev: u64,
    pub(crate) ino: u64,
    /// Nanoseconds since the epoch at which the inode was created, if known.
    #[serde(default)]
    pub(crate) born_ns: Option<u64>,
}

impl FileId {
    pub fn of(metadata: &fs::Metadata) -> Self {
        use std::os::unix::fs::MetadataExt;
        let born_ns = metadata
            .created()
            .ok()
            .and_then(|born| born.duration_since(std::time::UNIX_EPOCH).ok())
            .and_then(|since| u64::try_from(since.as_nanos()).ok());
        FileId {
            dev: metadata.dev(),
            ino: metadata.ino(),
            born_ns,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileCheckpoint {
    #[serde(flatten)]
    pub id: FileId,
    /// First byte not yet delivered; the start of a line.
    pub offset: u64,
    /// The bytes `[offset - mark.len(), offset)` as they were when delivered.
    pub(crate) mark: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    version: u32,
    /// The tailed path, so a checkpoint is never applied to another file by mistake.
    pub path: PathBuf,
    /// Oldest first: a rotated file still being drained, then the current file.
    pub files: Vec<FileCheckpoint>,
}

impl Checkpoint {
    pub fn new(path: PathBuf, files: Vec<FileCheckpoint>) -> Self {
        Checkpoint {
            version: FORMAT_VERSION,
            path,
            files,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    #[error("cannot create state directory {path}: {source}")]
    StateDir { path: PathBuf, source: io::Error },
    #[error("cannot read checkpoint {path}: {source}")]
    Read { path: PathBuf, source: io::Error },
    #[error("checkpoint {path} is not valid: {reason}")]
    Invalid { path: PathBuf, reason: String },
    #[error("cannot write checkpoint {path}: {source}")]
    Write { path: PathBuf, source: io::Error },
}

/// The checkpoint file for one tailed path.
#[derive(Debug, Clone)]
pub(crate) struct CheckpointStore {
    file: PathBuf,
    tailed: PathBuf,
}

impl CheckpointStore {
    /// Creates `state_dir` if needed. The file name is derived from the tailed path, so two
    /// tailers sharing a state directory never share a checkpoint.
    pub(crate) fn for_path(state_dir: &Path, tailed: &Path) -> Result<Self, CheckpointError> {
        fs::create_dir_all(state_dir).map_err(|source| CheckpointError::StateDir {
            path: state_dir.to_path_buf(),
            source,
        })?;
        let name = file_name_for(tailed);
        Ok(CheckpointStore {
            file: state_dir.join(format!("{name}.json")),
            tailed: tailed.to_path_buf(),
        })
    }

    #[cfg(test)]
    pub fn file(&self) -> &Path {
        &self.file
    }

    /// `Ok(None)` when there is no checkpoint yet (first start).
    pub fn load(&self) -> Result<Option<Checkpoint>, CheckpointError> {
        let bytes = match fs::read(&self.file) {
            Ok(bytes) => bytes,
            Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(source) => {
                return Err(CheckpointError::Read {
                    path: self.file.clone(),
                    source,
                })
            }
        };
        let invalid = |reason: String| CheckpointError::Invalid {
            path: self.file.clone(),
            reason,
        };
        let checkpoint: Checkpoint = serde_json::from_slice(&bytes).map_err(|error| invalid(error.to_string()))?;
        if checkpoint.version != FORMAT_VERSION {
            return Err(invalid(format!("unknown version {}", checkpoint.version)));
        }
        if checkpoint.path != self.tailed {
            return Err(invalid(format!("it belongs to {}", checkpoint.path.display())));
        }
        Ok(Some(checkpoint))
    }

    /// Atomically replaces the checkpoint: temp file, fsync, rename, fsync the directory.
    pub fn save(&self, checkpoint: &Checkpoint) -> Result<(), CheckpointError> {
        let write_error = |source| CheckpointError::Write {
            path: self.file.clone(),
            source,
        };
        // Serialising plain integers and byte vectors cannot fail.
        let bytes = serde_json::to_vec(checkpoint).map_err(|error| write_error(io::Error::other(error)))?;
        crate::atomic_file::write(&self.file, &bytes).map_err(write_error)
    }
}

/// `/var/log/nginx/access.log` -> `tail-var_log_nginx_access.log`.
fn file_name_for(tailed: &Path) -> String {
    let sanitised: String = tailed
        .to_string_lossy()
        .trim_start_matches('/')
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("tail-{sanitised}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn save_then_load_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let store = CheckpointStore::for_path(&dir.path().join("state"), Path::new("/x/a.log")).unwrap();
        assert_eq!(store.load().unwrap(), None);
        let checkpoint = Checkpoint::new(
            PathBuf::from("/x/a.log"),
            vec![FileCheckpoint {
                id: FileId {
                    dev: 1,
                    ino: 2,
                    born_ns: Some(3),
                },
                offset: 30,
                mark: b"line\n".to_vec(),
            }],
        );
        store.save(&checkpoint).unwrap();
        assert_eq!(store.load().unwrap(), Some(checkpoint));
        assert!(store.file().ends_with("tail-x_a.log.json"));
    }

    #[test]
    fn a_checkpoint_of_another_path_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let store = CheckpointStore::for_path(dir.path(), Path::new("/x/a.log")).unwrap();
        fs::write(store.file(), br#"{"version":1,"path":"/y/b.log","files":[]}"#).unwrap();
        assert!(matches!(store.load(), Err(CheckpointError::Invalid { .. })));
    }
}
