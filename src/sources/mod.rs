//! Sources: where samples come from. Sources never import sinks, nor derive: each gives a
//! [`Reading`] (in `model`), or a [`ReadError`] that says whether nginx did not answer or
//! answered wrongly, and the sampler hands what they give to derive.

pub mod accept_queue;
pub mod access_log;
pub mod stub_status;
pub mod upstreams;

use crate::model::{Reading, Unread};

/// A source the sampler reads once per sample. A new source is one variant here (and its
/// kind of [`Reading`], if it reads something new).
#[derive(Clone)]
pub(crate) enum Source {
    /// nginx's `stub_status` page: [`Reading::Connections`].
    StubStatus(stub_status::Scraper),
}

impl Source {
    /// What it reads, as the logs and the docs name it.
    pub fn name(&self) -> &'static str {
        match self {
            Source::StubStatus(_) => "stub_status",
        }
    }

    /// Where it reads from, as configured (a URL, a socket).
    pub fn target(&self) -> &str {
        match self {
            Source::StubStatus(scraper) => scraper.url(),
        }
    }

    /// One reading; each source bounds its own wait.
    pub async fn read(&self) -> Result<Reading, ReadError> {
        match self {
            Source::StubStatus(scraper) => scraper
                .scrape()
                .await
                .map(Reading::Connections)
                .map_err(ReadError::from),
        }
    }
}

/// Why a source gave no reading: the class the saturation rules judge by, a short fixed label
/// for counters and rate-limited logs, and the source's own error for the message.
#[derive(Debug)]
pub(crate) struct ReadError {
    pub(crate) unread: Unread,
    pub kind: &'static str,
    pub error: Box<dyn std::error::Error + Send + Sync>,
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.error.fmt(f)
    }
}

impl std::error::Error for ReadError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.error.source()
    }
}
