//! `[nginx]`: the status page (http, https or a unix socket) and the listen ports whose
//! accept queues count. Its access-log keys are read by [`super::access_log`].

use std::path::PathBuf;
use std::time::Duration;

use hyper::Uri;
use toml::Spanned;

use super::tls::TlsClientFiles;
use super::{raw, CloudWatchConfig, ConfigError, Validator};
use crate::derive::pending::Formula;
use crate::sources::access_log::LogFormatSource;
use crate::sources::stub_status::{StatusTransport, StatusUrl};

pub const DEFAULT_STATUS_URL: &str = "http://127.0.0.1/nginx_status";

#[derive(Debug, Clone)]
pub struct NginxConfig {
    pub status_url: StatusUrl,
    /// Whole-request timeout of one stub_status scrape.
    pub timeout: Duration,
    /// Ports whose kernel accept queues count as nginx's.
    pub listen_ports: Vec<u16>,
    /// Where the access log's format comes from (also used by `parse-log`/`replay --config`).
    pub log_format: LogFormatSource,
}

/// `[nginx]` with every key checked but the TLS files of an https status page not read yet
/// (see [`Validator::read_nginx_files`]).
pub(super) struct CheckedNginx {
    status_url: CheckedStatusUrl,
    timeout: Duration,
    listen_ports: Vec<u16>,
    log_format: LogFormatSource,
}

/// `nginx.status_url`, checked.
struct CheckedStatusUrl {
    text: String,
    uri: Uri,
    transport: CheckedTransport,
}

enum CheckedTransport {
    Http,
    Unix(PathBuf),
    /// https: the CA and client files are named and checked, and read later.
    Https(TlsClientFiles),
}

impl CheckedStatusUrl {
    /// The TCP port the status page is on (none for a unix socket), as [`StatusUrl::tcp_port`].
    fn tcp_port(&self) -> Option<u16> {
        match self.transport {
            CheckedTransport::Unix(_) => None,
            CheckedTransport::Http => Some(self.uri.port_u16().unwrap_or(80)),
            CheckedTransport::Https(_) => Some(self.uri.port_u16().unwrap_or(443)),
        }
    }
}

impl Validator<'_> {
    /// `[nginx]`'s status page and listen ports (its access-log keys are read by
    /// [`Self::access_log`]); the timeout and the ports depend on `[cloudwatch]`.
    pub(super) fn nginx(
        &self,
        mut raw: raw::RawNginx,
        log_format: LogFormatSource,
        cloudwatch: &CloudWatchConfig,
    ) -> Result<CheckedNginx, ConfigError> {
        let sample_interval = cloudwatch.sample_interval;
        let status_url = self.status_url(&mut raw)?;
        let timeout_span = raw.timeout.as_ref().map(|t| t.span());
        let default_timeout = sample_interval.min(Duration::from_secs(1));
        let timeout = self.duration("nginx.timeout", raw.timeout, default_timeout)?;
        if timeout > sample_interval {
            return self.invalid(
                "nginx.timeout",
                timeout_span.unwrap_or(0..0),
                format!(
                    "must not exceed cloudwatch.sample_interval ({})",
                    humantime::format_duration(sample_interval)
                ),
            );
        }
        let listen_ports = match raw.listen_ports {
            Some(ports) => self.listen_ports(ports, cloudwatch.pending)?,
            // The status port, plus 80 and 443: a port nothing listens on contributes nothing.
            // A unix-socket status URL has no port: 80 and 443 only.
            None => {
                let mut ports: Vec<u16> = status_url.tcp_port().into_iter().chain([80, 443]).collect();
                ports.sort_unstable();
                ports.dedup();
                ports
            }
        };
        Ok(CheckedNginx {
            status_url,
            timeout,
            listen_ports,
            log_format,
        })
    }

    fn listen_ports(&self, ports: Spanned<Vec<Spanned<i64>>>, pending: Formula) -> Result<Vec<u16>, ConfigError> {
        let span = ports.span();
        let mut parsed = Vec::new();
        for port in ports.into_inner() {
            match u16::try_from(*port.get_ref()) {
                Ok(p) if p > 0 => parsed.push(p),
                _ => {
                    return self.invalid(
                        "nginx.listen_ports",
                        port.span(),
                        format!("{} is not a TCP port", port.get_ref()),
                    )
                }
            }
        }
        if parsed.is_empty() && pending.uses_kernel() {
            return self.invalid(
                "nginx.listen_ports",
                span,
                "is empty, but cloudwatch.pending uses the accept queue".into(),
            );
        }
        Ok(parsed)
    }

    /// `cloudwatch.pending = "log_concurrency"` and the `access_log.concurrency_*` keys go
    fn status_url(&self, nginx: &mut raw::RawNginx) -> Result<CheckedStatusUrl, ConfigError> {
        let tls_files = [
            ("nginx.ca_file", nginx.ca_file.take()),
            ("nginx.client_cert", nginx.client_cert.take()),
            ("nginx.client_key", nginx.client_key.take()),
        ];
        let Some(url) = nginx.status_url.take() else {
            if let Some((key, Some(file))) = tls_files.into_iter().find(|(_, file)| file.is_some()) {
                return self.invalid(key, file.span(), "only used with an https:// nginx.status_url".into());
            }
            return Ok(CheckedStatusUrl {
                text: DEFAULT_STATUS_URL.to_owned(),
                uri: Uri::from_static(DEFAULT_STATUS_URL),
                transport: CheckedTransport::Http,
            });
        };
        let span = url.span();
        let text = url.into_inner();
        let [ca_file, client_cert, client_key] = tls_files.map(|(key, file)| file.map(|file| (key, file)));
        if let Some(rest) = text.strip_prefix("unix:") {
            // unix:PATH or unix:PATH:LOCATION (nginx-prometheus-exporter's form; PATH has no ':').
            let (socket, location) = rest.split_once(':').unwrap_or((rest, "/"));
            let (socket, location) = (PathBuf::from(socket), location.to_owned());
            if !socket.is_absolute() {
                return self.invalid(
                    "nginx.status_url",
                    span,
                    "the socket of a unix: URL must be an absolute path, e.g. unix:/run/nginx/status.sock:/nginx_status".into(),
                );
            }
            let uri = match format!("http://localhost{location}").parse::<Uri>() {
                Ok(uri) if location.starts_with('/') => uri,
                _ => {
                    return self.invalid(
                        "nginx.status_url",
                        span,
                        format!("{location:?} is not a location like /nginx_status"),
                    )
                }
            };
            if let Some((key, file)) = ca_file.or(client_cert).or(client_key) {
                return self.invalid(key, file.span(), "only used with an https:// nginx.status_url".into());
            }
            return Ok(CheckedStatusUrl {
                text,
                uri,
                transport: CheckedTransport::Unix(socket),
            });
        }
        let uri = match text.parse::<Uri>() {
            Ok(uri) if uri.host().is_some() && matches!(uri.scheme_str(), Some("http" | "https")) => uri,
            Ok(_) => {
                return self.invalid(
                    "nginx.status_url",
                    span,
                    "must be an http:// or https:// URL with a host, or unix:/path/to.sock:/location".into(),
                )
            }
            Err(e) => return self.invalid("nginx.status_url", span, format!("not a URL: {e}")),
        };
        if uri.scheme_str() == Some("http") {
            if let Some((key, file)) = ca_file.or(client_cert).or(client_key) {
                return self.invalid(key, file.span(), "only used with an https:// nginx.status_url".into());
            }
            return Ok(CheckedStatusUrl {
                text,
                uri,
                transport: CheckedTransport::Http,
            });
        }
        let files = self.tls_client_files(ca_file, client_cert, client_key, span)?;
        Ok(CheckedStatusUrl {
            text,
            uri,
            transport: CheckedTransport::Https(files),
        })
    }

    /// The step after validation that reads files: an https status page's certificates and
    /// key become its rustls client config.
    pub(super) fn read_nginx_files(&self, nginx: CheckedNginx) -> Result<NginxConfig, ConfigError> {
        let CheckedStatusUrl { text, uri, transport } = nginx.status_url;
        let transport = match transport {
            CheckedTransport::Http => StatusTransport::Http,
            CheckedTransport::Unix(socket) => StatusTransport::Unix(socket),
            CheckedTransport::Https(files) => {
                StatusTransport::Https(std::sync::Arc::new(self.tls_client_config(files)?))
            }
        };
        Ok(NginxConfig {
            status_url: StatusUrl { text, uri, transport },
            timeout: nginx.timeout,
            listen_ports: nginx.listen_ports,
            log_format: nginx.log_format,
        })
    }
}
