//! `--dry-run`: print each request that would be sent as one JSON object per line.

use std::io::Write;

use super::{FailureKind, PublishError, Publisher, PutRequest};

#[derive(Debug, Default)]
pub(crate) struct DryRunPublisher;

impl Publisher for DryRunPublisher {
    async fn put(&self, request: &PutRequest) -> Result<(), PublishError> {
        let line = serde_json::to_string(request).map_err(|e| PublishError {
            kind: FailureKind::Rejected,
            message: format!("cannot encode the request as JSON: {e}"),
        })?;
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "{line}")
            .and_then(|()| stdout.flush())
            .map_err(|e| PublishError {
                kind: FailureKind::Retryable,
                message: format!("cannot write to stdout: {e}"),
            })
    }
}
