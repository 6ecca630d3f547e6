//! The `stub_status` source: a thin hyper GET that hands the body to the pure [`parser`].

pub mod parser;

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Limited};
use hyper::{StatusCode, Uri};
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::TokioExecutor;

pub use parser::StubStatus;

/// A stub_status page is about 100 bytes; anything past this is not one.
const MAX_BODY_BYTES: usize = 16 * 1024;
const USER_AGENT: &str = concat!("nginx-backlog-exporter/", env!("CARGO_PKG_VERSION"));

#[derive(Debug, thiserror::Error)]
pub enum ScrapeError {
    #[error("no answer from {url} within {}", humantime::format_duration(*.timeout))]
    Timeout { url: Uri, timeout: Duration },
    #[error("cannot reach {url}: {reason}")]
    Connect { url: Uri, reason: String },
    #[error("{url} answered HTTP {status}")]
    Status { url: Uri, status: StatusCode },
    #[error("reading the body of {url}: {reason}")]
    Body { url: Uri, reason: String },
    #[error("{url}: {source}")]
    Parse {
        url: Uri,
        #[source]
        source: parser::ParseError,
    },
}

impl ScrapeError {
    /// A short fixed label, for counters and rate-limited logging.
    pub fn kind(&self) -> &'static str {
        match self {
            ScrapeError::Timeout { .. } => "timeout",
            ScrapeError::Connect { .. } => "connect",
            ScrapeError::Status { .. } => "status",
            ScrapeError::Body { .. } => "body",
            ScrapeError::Parse { .. } => "parse",
        }
    }
}

/// Reads one stub_status page per call, reusing one kept-alive connection.
#[derive(Clone)]
pub struct Scraper {
    client: Client<HttpConnector, Empty<Bytes>>,
    url: Uri,
    timeout: Duration,
}

impl Scraper {
    pub fn new(url: Uri, timeout: Duration) -> Self {
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(timeout));
        connector.set_nodelay(true);
        let client = Client::builder(TokioExecutor::new())
            .pool_max_idle_per_host(1)
            .pool_idle_timeout(Duration::from_secs(30))
            .build(connector);
        Scraper { client, url, timeout }
    }

    pub fn url(&self) -> &Uri {
        &self.url
    }

    /// GET the page and parse it; the whole exchange is bounded by the timeout.
    pub async fn scrape(&self) -> Result<StubStatus, ScrapeError> {
        match tokio::time::timeout(self.timeout, self.fetch()).await {
            Ok(result) => result,
            Err(_) => Err(ScrapeError::Timeout {
                url: self.url.clone(),
                timeout: self.timeout,
            }),
        }
    }

    async fn fetch(&self) -> Result<StubStatus, ScrapeError> {
        let url = || self.url.clone();
        let request = hyper::Request::get(self.url.clone())
            .header(hyper::header::USER_AGENT, USER_AGENT)
            .body(Empty::new())
            .map_err(|e| ScrapeError::Connect {
                url: url(),
                reason: e.to_string(),
            })?;
        let response = self.client.request(request).await.map_err(|e| ScrapeError::Connect {
            url: url(),
            reason: error_chain(&e),
        })?;
        if response.status() != StatusCode::OK {
            return Err(ScrapeError::Status {
                url: url(),
                status: response.status(),
            });
        }
        let body = Limited::new(response.into_body(), MAX_BODY_BYTES)
            .collect()
            .await
            .map_err(|e| ScrapeError::Body {
                url: url(),
                reason: e.to_string(),
            })?
            .to_bytes();
        parser::parse(&body).map_err(|source| ScrapeError::Parse { url: url(), source })
    }
}

/// hyper-util's error says "client error (Connect)"; the cause says why.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
