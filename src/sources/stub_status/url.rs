//! Where stub_status is read: the validated form of `nginx.status_url` (config builds it;
//! the scraper reads it, so the source needs nothing of the config module).

use std::path::PathBuf;

use hyper::Uri;

/// Where stub_status is read, validated: the text as configured (for messages), the URI
/// hyper requests, and how to reach it.
#[derive(Debug, Clone)]
pub struct StatusUrl {
    pub text: String,
    /// For a unix socket: `http://localhost` + the location (nginx picks the socket's server).
    pub uri: Uri,
    pub transport: StatusTransport,
}

#[derive(Debug, Clone)]
pub enum StatusTransport {
    Http,
    /// The TLS settings, built once from `nginx.ca_file` and `client_cert`/`client_key`.
    Https(std::sync::Arc<rustls::ClientConfig>),
    /// `unix:PATH:LOCATION`, the form nginx-prometheus-exporter uses.
    Unix(PathBuf),
}

impl StatusUrl {}

impl std::fmt::Display for StatusUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}
