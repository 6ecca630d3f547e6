//! Sinks: where derived datapoints go. Sinks never import sources.

pub mod cloudwatch;
pub(crate) mod delivery;
pub mod dry_run;
pub mod emf;
pub(crate) mod emf_agent;
pub mod outputs;
pub mod prometheus;
pub mod retry;
pub mod spool;
pub mod web;

use std::future::Future;

pub use cloudwatch::encode::{PutRequest, Target};

/// How a failed PutMetricData call should be treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FailureKind {
    /// Throttling, 5xx, timeouts, refused or reset connections: keep the data, back off, retry.
    Retryable,
    /// The request itself is wrong (validation): retrying cannot help, drop it.
    Rejected,
    /// Missing permission: keep the data and retry slowly, so an IAM fix resumes publishing.
    AccessDenied,
}

#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub(crate) struct PublishError {
    pub kind: FailureKind,
    pub message: String,
}

/// Sends one PutMetricData request. No retries here: the retry layer is [`delivery`].
pub(crate) trait Publisher: Send + Sync {
    fn put(&self, request: &PutRequest) -> impl Future<Output = Result<(), PublishError>> + Send;
}

/// The publisher chosen at startup: real CloudWatch, or JSON lines on stdout for `--dry-run`.
pub(crate) enum AnyPublisher {
    CloudWatch(cloudwatch::CloudWatchPublisher),
    DryRun(dry_run::DryRunPublisher),
}

impl Publisher for AnyPublisher {
    async fn put(&self, request: &PutRequest) -> Result<(), PublishError> {
        match self {
            AnyPublisher::CloudWatch(p) => p.put(request).await,
            AnyPublisher::DryRun(p) => p.put(request).await,
        }
    }
}
