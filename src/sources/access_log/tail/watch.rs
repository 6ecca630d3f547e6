//! The directory watch that wakes us early (on while the file is quiet, off while it
//! grows), and waiting for the next drain.

use std::path::PathBuf;
use std::sync::Arc;

use notify::{RecursiveMode, Watcher};

use super::Tailer;

impl Tailer {
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
    pub(super) fn start_watching(&mut self) -> bool {
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

    /// Waits until the next drain is worth doing. While the file grows: `append_poll_interval`,
    /// with the watch off. Otherwise: a notify event about the file or `recheck_interval`,
    /// whichever is first; or no wait at all if the watch was off, so that what was written
    /// before it came on is drained now rather than at the next re-check.
    pub(crate) async fn wait_for_change(&mut self) {
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
}
