//! Events of the sources: the accept queues.

use std::fmt::Display;

/// The sock_diag netlink socket cannot be opened: the accept queues are read from
/// /proc/self/net from now on.
pub struct SockDiagUnavailable<'a> {
    pub error: &'a dyn Display,
}

impl SockDiagUnavailable<'_> {
    pub fn emit(self) {
        tracing::warn!(
            kind = "sock_diag_unavailable",
            "reading accept queues from /proc/self/net/tcp{{,6}}, which costs more CPU: {}",
            self.error
        );
    }
}

/// A sock_diag dump failed; after `attempts` in a row (`gave_up`) the accept queues are read
/// from /proc/self/net from now on, before that only this sample is.
pub struct SockDiagFailed<'a> {
    pub attempts: u32,
    pub gave_up: bool,
    pub error: &'a dyn Display,
}

impl SockDiagFailed<'_> {
    pub fn emit(self) {
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
