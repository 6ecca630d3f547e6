//! `[daemon]`: how the daemon stops and where it keeps its state.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::{raw, ConfigError, Validator};

/// Where checkpoints live unless configured; systemd's StateDirectory= sets $STATE_DIRECTORY.
pub const DEFAULT_STATE_DIRECTORY: &str = "/var/lib/nginx-backlog-exporter";

#[derive(Debug, Clone)]
pub struct DaemonConfig {
    /// How long `run` may take to publish and drain after SIGTERM.
    pub shutdown_grace: Duration,
    /// Checkpoints and the spool of unsent datapoints live here.
    pub state_directory: PathBuf,
}

impl Validator<'_> {
    /// `[daemon]`.
    pub(super) fn daemon(&self, raw: raw::RawDaemon) -> Result<DaemonConfig, ConfigError> {
        let state_directory = match raw.state_directory {
            None => std::env::var_os("STATE_DIRECTORY")
                .map(PathBuf::from)
                .filter(|p| p.is_absolute())
                .unwrap_or_else(|| PathBuf::from(DEFAULT_STATE_DIRECTORY)),
            Some(value) if Path::new(value.get_ref()).is_absolute() => PathBuf::from(value.into_inner()),
            Some(value) => {
                return self.invalid(
                    "daemon.state_directory",
                    value.span(),
                    "must be an absolute path".into(),
                )
            }
        };
        Ok(DaemonConfig {
            shutdown_grace: self.duration("daemon.shutdown_grace", raw.shutdown_grace, Duration::from_secs(5))?,
            state_directory,
        })
    }
}
