//! The `stub_status` source: a thin hyper GET that hands the body to the pure [`parser`],
//! over plain TCP, TLS (rustls on ring) or a unix socket; the same timeout, body cap and
//! errors for all three.

pub mod parser;
mod url;
pub use url::{StatusTransport, StatusUrl};

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Limited};
use hyper::{StatusCode, Uri};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::{TokioExecutor, TokioIo};

pub use parser::StubStatus;

use crate::model::Unread;
use crate::sources::ReadError;

/// A stub_status page is about 100 bytes; anything past this is not one.
const MAX_BODY_BYTES: usize = 16 * 1024;
const USER_AGENT: &str = concat!("nginx-backlog-exporter/", env!("CARGO_PKG_VERSION"));

#[derive(Debug, thiserror::Error)]
pub(crate) enum ScrapeError {
    #[error("no answer from {url} within {}", humantime::format_duration(*.timeout))]
    Timeout { url: Arc<str>, timeout: Duration },
    #[error("cannot reach {url}: {reason}")]
    Connect { url: Arc<str>, reason: String },
    #[error("{url} answered HTTP {status}")]
    Status { url: Arc<str>, status: StatusCode },
    #[error("reading the body of {url}: {reason}")]
    Body { url: Arc<str>, reason: String },
    #[error("{url}: {source}")]
    Parse {
        url: Arc<str>,
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

    /// No answer (timeout, refused, reset, a body cut off) is what saturation looks like; an
    /// answer that is not a stub_status page never is.
    pub(crate) fn unread(&self) -> Unread {
        match self {
            ScrapeError::Timeout { .. } | ScrapeError::Connect { .. } | ScrapeError::Body { .. } => Unread::Unanswered,
            ScrapeError::Status { .. } | ScrapeError::Parse { .. } => Unread::Wrong,
        }
    }
}

impl From<ScrapeError> for ReadError {
    fn from(error: ScrapeError) -> Self {
        ReadError {
            unread: error.unread(),
            kind: error.kind(),
            error: Box::new(error),
        }
    }
}

/// One hyper client per way of reaching nginx; each keeps one connection alive.
#[derive(Clone)]
enum Transport {
    Http(Client<HttpConnector, Empty<Bytes>>),
    Https(Client<HttpsConnector<HttpConnector>, Empty<Bytes>>),
    Unix(Client<UnixConnector, Empty<Bytes>>),
}

/// Connects every request to one unix socket, whatever the URI says (hyper-util's pool still
/// keys on the URI, `http://localhost`, so the connection is reused).
#[derive(Clone)]
struct UnixConnector {
    socket: Arc<PathBuf>,
}

impl tower_service::Service<Uri> for UnixConnector {
    type Response = TokioIo<tokio::net::UnixStream>;
    type Error = std::io::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _: Uri) -> Self::Future {
        let socket = self.socket.clone();
        Box::pin(async move { tokio::net::UnixStream::connect(&*socket).await.map(TokioIo::new) })
    }
}

/// Reads one stub_status page per call, reusing one kept-alive connection.
#[derive(Clone)]
pub(crate) struct Scraper {
    transport: Transport,
    uri: Uri,
    url: Arc<str>,
    timeout: Duration,
}

impl Scraper {
    pub fn new(url: &StatusUrl, timeout: Duration) -> Self {
        let mut tcp = HttpConnector::new();
        tcp.set_connect_timeout(Some(timeout));
        tcp.set_nodelay(true);
        let mut builder = Client::builder(TokioExecutor::new());
        builder
            .pool_max_idle_per_host(1)
            .pool_idle_timeout(Duration::from_secs(30));
        let transport = match &url.transport {
            StatusTransport::Http => Transport::Http(builder.build(tcp)),
            StatusTransport::Https(tls) => {
                tcp.enforce_http(false);
                let connector = hyper_rustls::HttpsConnectorBuilder::new()
                    .with_tls_config((**tls).clone())
                    .https_only()
                    .enable_http1()
                    .wrap_connector(tcp);
                Transport::Https(builder.build(connector))
            }
            StatusTransport::Unix(socket) => Transport::Unix(builder.build(UnixConnector {
                socket: Arc::new(socket.clone()),
            })),
        };
        Scraper {
            transport,
            uri: url.uri.clone(),
            url: url.text.as_str().into(),
            timeout,
        }
    }

    /// The status URL as configured.
    pub fn url(&self) -> &str {
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
        let request = hyper::Request::get(self.uri.clone())
            .header(hyper::header::USER_AGENT, USER_AGENT)
            .body(Empty::new())
            .map_err(|e| ScrapeError::Connect {
                url: url(),
                reason: e.to_string(),
            })?;
        let response = match &self.transport {
            Transport::Http(client) => client.request(request).await,
            Transport::Https(client) => client.request(request).await,
            Transport::Unix(client) => client.request(request).await,
        };
        let response = response.map_err(|e| ScrapeError::Connect {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Each way a scrape fails, as the saturation rules must see it: no answer may be
    /// saturation, a wrong answer never is.
    #[test]
    fn failures_are_unanswered_or_wrong() {
        let url: Arc<str> = "http://127.0.0.1:9/nginx_status".into();
        let check = |error: ScrapeError, expected: Unread| {
            let kind = error.kind();
            let read = ReadError::from(error);
            assert_eq!(read.unread, expected, "{kind}");
            assert_eq!(read.kind, kind);
        };
        check(
            ScrapeError::Timeout {
                url: url.clone(),
                timeout: Duration::from_secs(1),
            },
            Unread::Unanswered,
        );
        check(
            ScrapeError::Connect {
                url: url.clone(),
                reason: "connection refused".into(),
            },
            Unread::Unanswered,
        );
        check(
            ScrapeError::Body {
                url: url.clone(),
                reason: "connection reset".into(),
            },
            Unread::Unanswered,
        );
        check(
            ScrapeError::Status {
                url: url.clone(),
                status: StatusCode::NOT_FOUND,
            },
            Unread::Wrong,
        );
        check(
            ScrapeError::Parse {
                url,
                source: parser::parse(b"<html>").unwrap_err(),
            },
            Unread::Wrong,
        );
    }
}
