//! Replacing a file so that a crash leaves either its old content or the new, never a torn
//! mix: write a temporary sibling (`.NAME.tmp`), fsync it, rename it over the file, fsync
//! the directory (the rename is durable only once the directory entry is). The one place
//! the checkpoint and the spool write files this way.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Replace `path` with `bytes` atomically (see the module docs).
pub fn write(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let temporary = temporary_for(path);
    {
        let mut file = File::create(&temporary)?;
        file.write_all(bytes)?;
        file.sync_all()?;
    }
    fs::rename(&temporary, path)?;
    File::open(directory_of(path))?.sync_all()
}

/// The temporary sibling [`write`] uses: hidden, next to `path`, so the rename stays on one
/// file system.
pub(crate) fn temporary_for(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map_or_else(Default::default, |name| name.to_string_lossy());
    path.with_file_name(format!(".{name}.tmp"))
}

fn directory_of(path: &Path) -> &Path {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_the_content_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        write(&path, b"old").unwrap();
        write(&path, b"new").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"new");
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("state.json")]);
    }

    #[test]
    fn a_failed_write_leaves_the_old_content() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        write(&path, b"old").unwrap();
        // The temporary cannot be created: a directory is in its way.
        fs::create_dir(temporary_for(&path)).unwrap();
        assert!(write(&path, b"new").is_err());
        assert_eq!(fs::read(&path).unwrap(), b"old");
    }

    #[test]
    fn a_relative_path_in_the_current_directory_has_a_directory_to_sync() {
        assert_eq!(directory_of(Path::new("spool.log")), Path::new("."));
        assert_eq!(temporary_for(Path::new("/a/b.log")), Path::new("/a/.b.log.tmp"));
    }
}
