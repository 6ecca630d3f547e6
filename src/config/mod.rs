//! Configuration: the TOML file is read into the raw serde structs of [`raw`], then
//! validated once into a [`Config`] that holds parsed URLs and durations. Nothing
//! starts until this succeeds, and every error names the key and the line.

mod http;
mod raw;

use std::path::{Path, PathBuf};
use std::time::Duration;

use hyper::Uri;
use toml::Spanned;

use crate::derive::pending::{Formula, LogConcurrencyFilter};
use crate::limits;
use crate::model::LogMetric;
use crate::serde_errors::{self, line_of};
use crate::sources::access_log::tail::StartAt;
use crate::sources::access_log::{
    compile_from_source, Escape, LogFormat, LogFormatSource, MissingVariable, RecordExtractor,
};
pub use crate::sources::stub_status::{StatusTransport, StatusUrl};
pub use http::{HttpConfig, HttpTls};

/// Where the packages install the config file.
pub const DEFAULT_CONFIG_PATH: &str = "/etc/nginx-backlog-exporter/config.toml";
pub const DEFAULT_STATUS_URL: &str = "http://127.0.0.1/nginx_status";
pub const DEFAULT_METRIC_NAME: &str = "PendingRequests";
/// The dimension every per-instance datum carries.
pub const INSTANCE_DIMENSION: &str = "InstanceId";
/// Where checkpoints live unless configured; systemd's StateDirectory= sets $STATE_DIRECTORY.
pub const DEFAULT_STATE_DIRECTORY: &str = "/var/lib/nginx-backlog-exporter";
/// Spool bounds: 16 MiB holds about 147,000 datapoints (1.7 days of 1 s periods, the whole
/// 14 days of 10 s periods); less than 1 KiB would hold fewer than 9.
pub const DEFAULT_SPOOL_MAX_BYTES: u64 = 16 << 20;
const SPOOL_MAX_BYTES_RANGE: std::ops::RangeInclusive<u64> = 1024..=(1 << 30);
/// CloudWatch's PutMetricData quota is 500 calls per second per account and region,
/// shared by every instance of the fleet.
const MAX_CALLS_PER_SECOND_RANGE: std::ops::RangeInclusive<i64> = 1..=100;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Not TOML, a wrong type, a missing or an unknown key (serde names the key).
    #[error("{path}:{line}: {message}")]
    Syntax {
        path: PathBuf,
        line: usize,
        message: String,
    },
    /// Valid TOML whose value does not make sense.
    #[error("{path}:{line}: {key}: {message}")]
    Invalid {
        path: PathBuf,
        line: usize,
        key: &'static str,
        message: String,
    },
}

#[derive(Debug, Clone)]
pub struct Config {
    pub path: PathBuf,
    pub nginx: NginxConfig,
    pub cloudwatch: CloudWatchConfig,
    pub daemon: DaemonConfig,
    pub emf: Option<EmfOutput>,
    /// Where and how /metrics and /healthz are served; `None`: off.
    pub http: Option<HttpConfig>,
    /// The access-log source; `None`: off.
    pub access_log: Option<AccessLogConfig>,
}

/// The access log, its compiled format and how to follow it.
#[derive(Debug, Clone)]
pub struct AccessLogConfig {
    pub path: PathBuf,
    pub format: LogFormat,
    pub start_at: StartAt,
    /// Variable name (without `$`) to count requests by.
    pub breakdown: Option<String>,
    pub breakdown_cap: usize,
    /// How long a period stays open for requests that end later but ran in it.
    pub settle: Duration,
    /// Log signals published as extra CloudWatch metrics (empty: local outputs only).
    pub publish: Vec<LogMetric>,
    /// Which logged requests `cloudwatch.pending = "log_concurrency"` counts.
    pub concurrency: LogConcurrencyFilter,
}

/// Where EMF lines go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EmfOutput {
    Stdout,
    File(PathBuf),
    /// The CloudWatch agent's EMF listener over TCP, `HOST:PORT` (resolved at each connect).
    Tcp(String),
    /// The same over UDP: one line per datagram.
    Udp(String),
}

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

#[derive(Debug, Clone)]
pub struct CloudWatchConfig {
    pub namespace: String,
    pub metric_name: String,
    pub instance_id: Option<String>,
    pub region: Option<String>,
    pub storage_resolution: i32,
    pub period: Duration,
    pub sample_interval: Duration,
    pub connect_timeout: Duration,
    pub operation_timeout: Duration,
    pub imds_timeout: Duration,
    /// Bound of the spool file of unsent datapoints (live datapoints take at most half).
    pub spool_max_bytes: u64,
    /// Spooled datapoints older than this are dropped (CloudWatch refuses older than 14 days).
    pub spool_max_age: Duration,
    /// Ceiling on PutMetricData calls, fresh and spooled together.
    pub max_calls_per_second: u32,
    /// Extra datum under these fixed dimensions (and no InstanceId), for one fleet-wide alarm.
    pub fleet_dimensions: Vec<(String, String)>,
    /// How PendingRequests is computed from a sample.
    pub pending: Formula,
    /// Call PutMetricData (false: EMF only, for hosts where the API is not allowed).
    pub put_metric_data: bool,
}

impl CloudWatchConfig {
    /// Samples in one period; period is validated to be a whole multiple of the interval.
    pub fn samples_per_period(&self) -> u32 {
        (self.period.as_millis() / self.sample_interval.as_millis()) as u32
    }
}

#[derive(Debug, Clone)]
pub struct DaemonConfig {
    /// How long `run` may take to publish and drain after SIGTERM.
    pub shutdown_grace: Duration,
    /// Checkpoints and the spool of unsent datapoints live here.
    pub state_directory: PathBuf,
}

/// Read and validate the file at `path`.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_owned(),
        source,
    })?;
    parse(path, &text)
}

/// Validate `text` as if read from `path` (pure: used by tests and fuzzing).
pub fn parse(path: &Path, text: &str) -> Result<Config, ConfigError> {
    let raw: raw::RawConfig = serde_errors::from_toml_str(text).map_err(|error| ConfigError::Syntax {
        path: path.to_owned(),
        line: error.line,
        message: error.to_string(),
    })?;
    Validator { path, text }.config(raw)
}

/// Bytes from an integer or a string like "16MiB" (a number, then B, KB, KiB, MB, MiB, GB or GiB).
fn parse_size(value: &raw::RawSize) -> Option<u64> {
    let text = match value {
        raw::RawSize::Bytes(n) => return u64::try_from(*n).ok(),
        raw::RawSize::Text(text) => text.trim(),
    };
    let digits = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let number: u64 = text[..digits].parse().ok()?;
    let unit: u64 = match text[digits..].trim() {
        "" | "B" => 1,
        "KB" | "kB" => 1000,
        "KiB" => 1 << 10,
        "MB" => 1000 * 1000,
        "MiB" => 1 << 20,
        "GB" => 1000 * 1000 * 1000,
        "GiB" => 1 << 30,
        _ => return None,
    };
    number.checked_mul(unit)
}

/// A config key and where its value is.
type KeyAt = (&'static str, std::ops::Range<usize>);

/// Where `[cloudwatch]`'s keys that other sections are checked against are (the table's
/// header when the key is left out).
struct CloudWatchSpans {
    pending: std::ops::Range<usize>,
    put_metric_data: std::ops::Range<usize>,
}

struct Validator<'a> {
    path: &'a Path,
    text: &'a str,
}

impl Validator<'_> {
    fn invalid<T>(&self, key: &'static str, span: std::ops::Range<usize>, message: String) -> Result<T, ConfigError> {
        Err(ConfigError::Invalid {
            path: self.path.to_owned(),
            line: line_of(self.text, span.start),
            key,
            message,
        })
    }

    fn duration(
        &self,
        key: &'static str,
        value: Option<Spanned<raw::RawDuration>>,
        default: Duration,
    ) -> Result<Duration, ConfigError> {
        let Some(value) = value else {
            return Ok(default);
        };
        match humantime::parse_duration(&value.get_ref().0) {
            Ok(d) if d.is_zero() => self.invalid(key, value.span(), "must be greater than zero".into()),
            Ok(d) if d.subsec_nanos() % 1_000_000 != 0 => {
                self.invalid(key, value.span(), "must be a whole number of milliseconds".into())
            }
            Ok(d) => Ok(d),
            Err(e) => self.invalid(
                key,
                value.span(),
                format!("not a duration like \"10s\" or \"500ms\": {e}"),
            ),
        }
    }

    fn name(&self, key: &'static str, value: Spanned<String>, max_len: usize) -> Result<String, ConfigError> {
        let span = value.span();
        let value = value.into_inner();
        if value.trim().is_empty() {
            return self.invalid(key, span, "must not be empty".into());
        }
        if value.len() > max_len {
            return self.invalid(key, span, format!("longer than {max_len} characters"));
        }
        if value.chars().any(|c| c.is_control() || !c.is_ascii()) {
            return self.invalid(key, span, "must be printable ASCII".into());
        }
        Ok(value)
    }

    /// The log format (compiled now, so a bad one stops startup) and the access-log source,
    /// with the first `access_log.concurrency_*` key given (valid with `log_concurrency` only).
    fn access_log(
        &self,
        nginx: &mut raw::RawNginx,
        options: raw::RawAccessLog,
    ) -> Result<(LogFormatSource, Option<AccessLogConfig>, Option<KeyAt>), ConfigError> {
        // The log_concurrency keys, for the check that the formula is log_concurrency.
        let concurrency_key = options
            .concurrency_exclude_status
            .as_ref()
            .map(|v| ("access_log.concurrency_exclude_status", v.span()))
            .or(options
                .concurrency_max_request_time
                .as_ref()
                .map(|v| ("access_log.concurrency_max_request_time", v.span())));
        let escape = match nginx.log_format_escape.take() {
            None => Escape::Default,
            Some(value) => match Escape::from_nginx(value.get_ref()) {
                Some(escape) => escape,
                None => {
                    return self.invalid(
                        "nginx.log_format_escape",
                        value.span(),
                        "must be default, json or none".into(),
                    )
                }
            },
        };
        let (source, key, span) = match (
            nginx.log_format.take(),
            nginx.log_format_name.take(),
            nginx.nginx_conf.take(),
        ) {
            (Some(format), None, None) => {
                let span = format.span();
                (
                    LogFormatSource::Inline {
                        format: format.into_inner(),
                        escape,
                    },
                    "nginx.log_format",
                    span,
                )
            }
            (None, Some(name), Some(conf)) => {
                let span = name.span();
                (
                    LogFormatSource::Named {
                        name: name.into_inner(),
                        nginx_conf: PathBuf::from(conf.into_inner()),
                    },
                    "nginx.log_format_name",
                    span,
                )
            }
            (None, None, None) => (LogFormatSource::Combined, "nginx.log_format", 0..0),
            (Some(format), _, _) => {
                return self.invalid(
                    "nginx.log_format",
                    format.span(),
                    "give either log_format or log_format_name with nginx_conf, not both".into(),
                )
            }
            (None, Some(name), None) => {
                return self.invalid(
                    "nginx.log_format_name",
                    name.span(),
                    "needs nginx.nginx_conf to read it from".into(),
                )
            }
            (None, None, Some(conf)) => {
                return self.invalid("nginx.nginx_conf", conf.span(), "needs nginx.log_format_name".into())
            }
        };
        let format = match compile_from_source(&source) {
            Ok(format) => format,
            Err(error) => return self.invalid(key, span, error.to_string()),
        };

        let Some(path) = nginx.access_log.take() else {
            if let Some(publish) = options.publish {
                return self.invalid(
                    "access_log.publish",
                    publish.span(),
                    "needs nginx.access_log, the log to derive these metrics from".into(),
                );
            }
            if let Some((key, span)) = concurrency_key {
                return self.invalid(
                    key,
                    span,
                    "needs nginx.access_log and cloudwatch.pending = \"log_concurrency\"".into(),
                );
            }
            return Ok((source, None, None));
        };
        let path_span = path.span();
        let path = PathBuf::from(path.into_inner());
        if !path.is_absolute() {
            return self.invalid("nginx.access_log", path_span, "must be an absolute path".into());
        }
        let start_at = match options.start_at {
            None => StartAt::End,
            Some(value) => match value.get_ref().as_str() {
                "end" => StartAt::End,
                "beginning" => StartAt::Beginning,
                _ => {
                    return self.invalid(
                        "access_log.start_at",
                        value.span(),
                        "must be \"end\" or \"beginning\"".into(),
                    )
                }
            },
        };
        let breakdown = options
            .breakdown
            .map(|b| (b.span(), b.into_inner().trim_start_matches('$').to_owned()));
        match (
            RecordExtractor::new(&format, breakdown.as_ref().map(|(_, name)| name.as_str())),
            &breakdown,
        ) {
            (Ok(_), _) => {}
            // The breakdown names a variable the format lacks: the mistake is in that key.
            (Err(missing @ MissingVariable::Breakdown(_)), Some((breakdown_span, name))) => {
                let variables: Vec<&str> = format.variables().collect();
                let hint = serde_errors::nearest(name, &variables)
                    .map(|near| format!("; did you mean ${near}?"))
                    .unwrap_or_default();
                return self.invalid(
                    "access_log.breakdown",
                    breakdown_span.clone(),
                    format!("{missing}{hint}"),
                );
            }
            (Err(missing), _) => return self.invalid(key, span, format!("cannot derive signals: {missing}")),
        }
        let breakdown_cap = match options.breakdown_cap {
            None => 20,
            Some(cap) => match usize::try_from(*cap.get_ref()) {
                Ok(n) if (1..=1000).contains(&n) => n,
                _ => {
                    return self.invalid(
                        "access_log.breakdown_cap",
                        cap.span(),
                        "must be between 1 and 1000".into(),
                    )
                }
            },
        };
        let settle = self.duration("access_log.settle", options.settle, Duration::from_secs(60))?;
        let mut publish = Vec::new();
        for name in options.publish.map(Spanned::into_inner).unwrap_or_default() {
            let Some(metric) = LogMetric::from_name(name.get_ref()) else {
                let known: Vec<&str> = LogMetric::ALL.iter().map(|m| m.name()).collect();
                return self.invalid(
                    "access_log.publish",
                    name.span(),
                    format!("unknown metric {:?}; known: {}", name.get_ref(), known.join(", ")),
                );
            };
            if publish.contains(&metric) {
                return self.invalid(
                    "access_log.publish",
                    name.span(),
                    format!("{} is listed twice", metric.name()),
                );
            }
            let needs = match metric {
                LogMetric::RequestTimeP50
                | LogMetric::RequestTimeP90
                | LogMetric::RequestTimeP99
                | LogMetric::LogInFlightAverage
                | LogMetric::LogInFlightPeak => Some("request_time"),
                LogMetric::UpstreamResponseTimeP50
                | LogMetric::UpstreamResponseTimeP90
                | LogMetric::UpstreamResponseTimeP99 => Some("upstream_response_time"),
                _ => None,
            };
            if let Some(variable) = needs.filter(|v| format.position(v).is_none()) {
                return self.invalid(
                    "access_log.publish",
                    name.span(),
                    format!(
                        "{} needs ${variable} in the log format, which does not have it",
                        metric.name()
                    ),
                );
            }
            publish.push(metric);
        }
        let mut concurrency = LogConcurrencyFilter::default();
        if let Some(statuses) = options.concurrency_exclude_status {
            concurrency.exclude_status.clear();
            for status in statuses.into_inner() {
                match u16::try_from(*status.get_ref()) {
                    Ok(code) if (100..=599).contains(&code) => concurrency.exclude_status.push(code),
                    _ => {
                        return self.invalid(
                            "access_log.concurrency_exclude_status",
                            status.span(),
                            format!("{} is not an HTTP status (100-599)", status.get_ref()),
                        )
                    }
                }
            }
        }
        if let Some(max) = options.concurrency_max_request_time {
            let max = self.duration("access_log.concurrency_max_request_time", Some(max), Duration::ZERO)?;
            concurrency.max_request_time_us = Some(max.as_micros() as u64);
        }
        Ok((
            source,
            Some(AccessLogConfig {
                concurrency,
                settle,
                path,
                format,
                start_at,
                breakdown: breakdown.map(|(_, name)| name),
                breakdown_cap,
                publish,
            }),
            concurrency_key,
        ))
    }

    /// `nginx.status_url` (http, https or unix socket) and the TLS files that go with https.
    fn status_url(&self, nginx: &mut raw::RawNginx) -> Result<StatusUrl, ConfigError> {
        let tls_files = [
            ("nginx.ca_file", nginx.ca_file.take()),
            ("nginx.client_cert", nginx.client_cert.take()),
            ("nginx.client_key", nginx.client_key.take()),
        ];
        let Some(url) = nginx.status_url.take() else {
            if let Some((key, Some(file))) = tls_files.into_iter().find(|(_, file)| file.is_some()) {
                return self.invalid(key, file.span(), "only used with an https:// nginx.status_url".into());
            }
            return Ok(StatusUrl {
                text: DEFAULT_STATUS_URL.to_owned(),
                uri: Uri::from_static(DEFAULT_STATUS_URL),
                transport: StatusTransport::Http,
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
            return Ok(StatusUrl {
                text,
                uri,
                transport: StatusTransport::Unix(socket),
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
            return Ok(StatusUrl {
                text,
                uri,
                transport: StatusTransport::Http,
            });
        }
        let tls = self.tls_client_config(ca_file, client_cert, client_key, span)?;
        Ok(StatusUrl {
            text,
            uri,
            transport: StatusTransport::Https(std::sync::Arc::new(tls)),
        })
    }

    /// The bytes of a PEM file named by `key` (an absolute path).
    fn pem_file(&self, key: &'static str, file: &Spanned<String>) -> Result<Vec<u8>, ConfigError> {
        if !Path::new(file.get_ref()).is_absolute() {
            return self.invalid(key, file.span(), "must be an absolute path".into());
        }
        std::fs::read(file.get_ref())
            .or_else(|e| self.invalid(key, file.span(), format!("cannot read {}: {e}", file.get_ref())))
    }

    /// The certificates of a PEM file named by `key`: at least one.
    fn pem_certificates(
        &self,
        key: &'static str,
        file: &Spanned<String>,
    ) -> Result<Vec<rustls_pki_types::CertificateDer<'static>>, ConfigError> {
        use rustls_pki_types::pem::PemObject;
        let pem = self.pem_file(key, file)?;
        let certs: Result<Vec<_>, _> = rustls_pki_types::CertificateDer::pem_slice_iter(&pem).collect();
        match certs {
            Ok(certs) if !certs.is_empty() => Ok(certs),
            Ok(_) => self.invalid(key, file.span(), format!("{} holds no PEM certificate", file.get_ref())),
            Err(e) => self.invalid(key, file.span(), format!("{}: {e}", file.get_ref())),
        }
    }

    /// rustls (on ring) trusting `ca_file`, or the system's CA store without it; with a
    /// client certificate when both `client_cert` and `client_key` are given.
    fn tls_client_config(
        &self,
        ca_file: Option<(&'static str, Spanned<String>)>,
        client_cert: Option<(&'static str, Spanned<String>)>,
        client_key: Option<(&'static str, Spanned<String>)>,
        url_span: std::ops::Range<usize>,
    ) -> Result<rustls::ClientConfig, ConfigError> {
        use rustls_pki_types::pem::PemObject;
        use rustls_pki_types::PrivateKeyDer;

        let mut roots = rustls::RootCertStore::empty();
        match &ca_file {
            Some((key, file)) => {
                for cert in self.pem_certificates(key, file)? {
                    if let Err(e) = roots.add(cert) {
                        return self.invalid(key, file.span(), format!("{}: {e}", file.get_ref()));
                    }
                }
            }
            None => {
                // The system's store (SSL_CERT_FILE/SSL_CERT_DIR replace it), as for CloudWatch.
                let found = rustls_native_certs::load_native_certs();
                roots.add_parsable_certificates(found.certs);
                if roots.is_empty() {
                    return self.invalid(
                        "nginx.status_url",
                        url_span,
                        "https without nginx.ca_file, and the system has no CA certificates".into(),
                    );
                }
            }
        }
        let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
        let builder = match rustls::ClientConfig::builder_with_provider(provider).with_safe_default_protocol_versions()
        {
            Ok(builder) => builder.with_root_certificates(roots),
            Err(e) => return self.invalid("nginx.status_url", url_span, format!("TLS setup: {e}")),
        };
        match (client_cert, client_key) {
            (None, None) => Ok(builder.with_no_client_auth()),
            (Some((key, file)), None) => self.invalid(
                key,
                file.span(),
                "needs nginx.client_key, the certificate's private key".into(),
            ),
            (None, Some((key, file))) => self.invalid(
                key,
                file.span(),
                "needs nginx.client_cert, the key's certificate".into(),
            ),
            (Some((cert_key, cert_file)), Some((key_key, key_file))) => {
                let chain = self.pem_certificates(cert_key, &cert_file)?;
                let pem = self.pem_file(key_key, &key_file)?;
                let private = match PrivateKeyDer::from_pem_slice(&pem) {
                    Ok(private) => private,
                    Err(e) => {
                        return self.invalid(
                            key_key,
                            key_file.span(),
                            format!("{}: no PEM private key: {e}", key_file.get_ref()),
                        )
                    }
                };
                builder.with_client_auth_cert(chain, private).or_else(|e| {
                    self.invalid(
                        key_key,
                        key_file.span(),
                        format!("{} does not fit {}: {e}", key_file.get_ref(), cert_file.get_ref()),
                    )
                })
            }
        }
    }

    /// The whole file: each section in turn, then the checks that span sections.
    fn config(&self, raw: raw::RawConfig) -> Result<Config, ConfigError> {
        let mut raw = raw;
        let (log_format_source, access_log, concurrency_key) =
            self.access_log(&mut raw.nginx, std::mem::take(&mut raw.access_log))?;
        let (cloudwatch, cloudwatch_spans) = self.cloudwatch(raw.cloudwatch)?;
        let daemon = self.daemon(raw.daemon)?;
        let emf = self.emf(raw.emf)?;
        if !cloudwatch.put_metric_data && emf.is_none() {
            return self.invalid(
                "cloudwatch.put_metric_data",
                cloudwatch_spans.put_metric_data,
                "is false and [emf] is not enabled: nothing would be published".into(),
            );
        }
        let http = self.http(raw.http)?;
        let nginx = self.nginx(raw.nginx, log_format_source, &cloudwatch)?;
        self.log_concurrency(
            &cloudwatch,
            cloudwatch_spans.pending,
            access_log.as_ref(),
            concurrency_key,
        )?;
        Ok(Config {
            path: self.path.to_owned(),
            nginx,
            cloudwatch,
            daemon,
            emf,
            http,
            access_log,
        })
    }

    /// `[cloudwatch]`: what is published, how often, and how unsent datapoints are kept.
    fn cloudwatch(&self, raw: Spanned<raw::RawCloudWatch>) -> Result<(CloudWatchConfig, CloudWatchSpans), ConfigError> {
        let cloudwatch_span = raw.span();
        let mut cw = raw.into_inner();
        let (sample_interval, period) = self.period(&mut cw, &cloudwatch_span)?;
        let storage_resolution = self.storage_resolution(cw.storage_resolution.take())?;
        let namespace = self.namespace(cw.namespace, &cloudwatch_span)?;
        let metric_name = match cw.metric_name {
            Some(name) => self.name("cloudwatch.metric_name", name, limits::MAX_NAME_LEN)?,
            None => DEFAULT_METRIC_NAME.to_owned(),
        };
        let instance_id = cw
            .instance_id
            .map(|id| self.name("cloudwatch.instance_id", id, limits::MAX_DIMENSION_VALUE_LEN))
            .transpose()?;
        let region = cw.region.map(|region| self.region(region)).transpose()?;
        let fleet_dimensions = match cw.fleet_dimensions {
            Some(dims) => self.fleet_dimensions(dims)?,
            None => Vec::new(),
        };
        let spool_max_bytes = self.spool_max_bytes(cw.spool_max_bytes)?;
        let spool_max_age_span = cw.spool_max_age.as_ref().map_or(cloudwatch_span.clone(), |s| s.span());
        let spool_max_age = self.duration("cloudwatch.spool_max_age", cw.spool_max_age, limits::MAX_DATAPOINT_AGE)?;
        if spool_max_age > limits::MAX_DATAPOINT_AGE {
            return self.invalid(
                "cloudwatch.spool_max_age",
                spool_max_age_span,
                "must be at most 14d: CloudWatch refuses older datapoints".into(),
            );
        }
        let max_calls_per_second = match cw.max_calls_per_second {
            None => 5,
            Some(value) if MAX_CALLS_PER_SECOND_RANGE.contains(value.get_ref()) => *value.get_ref() as u32,
            Some(value) => {
                return self.invalid(
                    "cloudwatch.max_calls_per_second",
                    value.span(),
                    "must be between 1 and 100".into(),
                )
            }
        };
        let spans = CloudWatchSpans {
            pending: cw.pending.as_ref().map_or(cloudwatch_span.clone(), |p| p.span()),
            put_metric_data: cw
                .put_metric_data
                .as_ref()
                .map_or(cloudwatch_span.clone(), |p| p.span()),
        };
        let pending = self.pending(cw.pending)?;
        let put_metric_data = cw.put_metric_data.is_none_or(|p| p.into_inner());
        let config = CloudWatchConfig {
            namespace,
            metric_name,
            instance_id,
            region,
            storage_resolution,
            period,
            sample_interval,
            connect_timeout: self.duration("cloudwatch.connect_timeout", cw.connect_timeout, Duration::from_secs(2))?,
            operation_timeout: self.duration(
                "cloudwatch.operation_timeout",
                cw.operation_timeout,
                Duration::from_secs(5),
            )?,
            imds_timeout: self.duration("cloudwatch.imds_timeout", cw.imds_timeout, Duration::from_millis(500))?,
            spool_max_bytes,
            spool_max_age,
            max_calls_per_second,
            fleet_dimensions,
            pending,
            put_metric_data,
        };
        Ok((config, spans))
    }

    /// `cloudwatch.sample_interval` and `cloudwatch.period`, which must be a whole multiple of it.
    fn period(
        &self,
        cw: &mut raw::RawCloudWatch,
        cloudwatch_span: &std::ops::Range<usize>,
    ) -> Result<(Duration, Duration), ConfigError> {
        let sample_interval = self.duration(
            "cloudwatch.sample_interval",
            cw.sample_interval.clone(),
            Duration::from_secs(1),
        )?;
        if sample_interval < Duration::from_millis(100) {
            let span = cw
                .sample_interval
                .as_ref()
                .map_or(cloudwatch_span.clone(), |s| s.span());
            return self.invalid("cloudwatch.sample_interval", span, "must be at least 100ms".into());
        }
        let period_span = cw.period.as_ref().map_or(cloudwatch_span.clone(), |s| s.span());
        let period = self.duration("cloudwatch.period", cw.period.take(), Duration::from_secs(10))?;
        if period.subsec_nanos() != 0 {
            return self.invalid(
                "cloudwatch.period",
                period_span,
                "must be a whole number of seconds".into(),
            );
        }
        if period.as_millis() % sample_interval.as_millis() != 0 {
            return self.invalid(
                "cloudwatch.period",
                period_span,
                format!(
                    "{} is not a multiple of cloudwatch.sample_interval ({})",
                    humantime::format_duration(period),
                    humantime::format_duration(sample_interval)
                ),
            );
        }
        if period > Duration::from_secs(3600) {
            return self.invalid("cloudwatch.period", period_span, "must be at most 1h".into());
        }
        Ok((sample_interval, period))
    }

    fn storage_resolution(&self, value: Option<Spanned<raw::RawResolution>>) -> Result<i32, ConfigError> {
        let Some(value) = value else {
            return Ok(1);
        };
        match i32::try_from(value.get_ref().0) {
            Ok(r) if limits::STORAGE_RESOLUTIONS.contains(&r) => Ok(r),
            _ => self.invalid(
                "cloudwatch.storage_resolution",
                value.span(),
                format!("must be 1 (high resolution) or 60, got {}", value.get_ref().0),
            ),
        }
    }

    fn namespace(
        &self,
        value: Option<Spanned<String>>,
        cloudwatch_span: &std::ops::Range<usize>,
    ) -> Result<String, ConfigError> {
        // The packages ship it commented out: a fresh install must not publish to a
        // namespace nobody chose, so the service refuses to start until this is set.
        let Some(value) = value else {
            return self.invalid(
                "cloudwatch.namespace",
                cloudwatch_span.clone(),
                format!(
                    "is not set: set cloudwatch.namespace in {} to the CloudWatch namespace your alarms \
                     watch (e.g. \"MyCompany/nginx\"); nothing is published until it is",
                    self.path.display()
                ),
            );
        };
        let namespace_span = value.span();
        let namespace = self.name("cloudwatch.namespace", value, limits::MAX_NAME_LEN)?;
        if namespace.starts_with("AWS/") {
            return self.invalid(
                "cloudwatch.namespace",
                namespace_span,
                "the AWS/ prefix is reserved for AWS services".into(),
            );
        }
        if !namespace
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ".-_/#: ".contains(c))
        {
            return self.invalid(
                "cloudwatch.namespace",
                namespace_span,
                "may hold only letters, digits and . - _ / # : space".into(),
            );
        }
        Ok(namespace)
    }

    fn region(&self, value: Spanned<String>) -> Result<String, ConfigError> {
        let span = value.span();
        let region = self.name("cloudwatch.region", value, 64)?;
        if !region
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        {
            return self.invalid(
                "cloudwatch.region",
                span,
                format!("{region:?} is not a region name like \"us-east-1\""),
            );
        }
        Ok(region)
    }

    fn fleet_dimensions(
        &self,
        dims: Spanned<std::collections::BTreeMap<String, Spanned<String>>>,
    ) -> Result<Vec<(String, String)>, ConfigError> {
        let span = dims.span();
        let dims = dims.into_inner();
        if dims.len() > limits::MAX_DIMENSIONS {
            return self.invalid(
                "cloudwatch.fleet_dimensions",
                span,
                format!(
                    "{} dimensions, CloudWatch allows at most {}",
                    dims.len(),
                    limits::MAX_DIMENSIONS
                ),
            );
        }
        let mut fleet_dimensions = Vec::new();
        for (name, value) in dims {
            let value_span = value.span();
            if name.is_empty() || name.len() > limits::MAX_NAME_LEN || name == INSTANCE_DIMENSION {
                return self.invalid(
                    "cloudwatch.fleet_dimensions",
                    value_span,
                    format!("dimension name {name:?} must be 1-255 characters and not {INSTANCE_DIMENSION}"),
                );
            }
            let value = self.name("cloudwatch.fleet_dimensions", value, limits::MAX_DIMENSION_VALUE_LEN)?;
            fleet_dimensions.push((name, value));
        }
        Ok(fleet_dimensions)
    }

    fn spool_max_bytes(&self, value: Option<Spanned<raw::RawSize>>) -> Result<u64, ConfigError> {
        let Some(value) = value else {
            return Ok(DEFAULT_SPOOL_MAX_BYTES);
        };
        let span = value.span();
        match parse_size(value.get_ref()) {
            Some(n) if SPOOL_MAX_BYTES_RANGE.contains(&n) => Ok(n),
            Some(_) => self.invalid(
                "cloudwatch.spool_max_bytes",
                span,
                "must be between 1KiB and 1GiB".into(),
            ),
            None => self.invalid(
                "cloudwatch.spool_max_bytes",
                span,
                "not a size like 16777216 or \"16MiB\" (units B, KB, KiB, MB, MiB, GB, GiB)".into(),
            ),
        }
    }

    fn pending(&self, value: Option<Spanned<String>>) -> Result<Formula, ConfigError> {
        let Some(name) = value else {
            return Ok(Formula::InFlightPlusAcceptQueue);
        };
        match Formula::parse(name.get_ref()) {
            Some(formula) => Ok(formula),
            None => self.invalid(
                "cloudwatch.pending",
                name.span(),
                format!("{:?} is not one of {}", name.get_ref(), Formula::NAMES.join(", ")),
            ),
        }
    }

    /// `[daemon]`.
    fn daemon(&self, raw: raw::RawDaemon) -> Result<DaemonConfig, ConfigError> {
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

    /// `[emf]`: `None` when not enabled.
    fn emf(&self, raw: raw::RawEmf) -> Result<Option<EmfOutput>, ConfigError> {
        Ok(match (raw.enabled.unwrap_or(false), raw.output) {
            (false, _) => None,
            (true, None) => Some(EmfOutput::Stdout),
            (true, Some(output)) if output.get_ref() == "stdout" || output.get_ref() == "-" => Some(EmfOutput::Stdout),
            (true, Some(output)) if output.get_ref().starts_with('/') => {
                Some(EmfOutput::File(PathBuf::from(output.into_inner())))
            }
            (true, Some(output)) if output.get_ref().contains("://") => {
                let (scheme, address) = output.get_ref().split_once("://").unwrap_or_default();
                let valid = address
                    .rsplit_once(':')
                    .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok_and(|p| p > 0));
                match (scheme, valid) {
                    ("tcp", true) => Some(EmfOutput::Tcp(address.to_owned())),
                    ("udp", true) => Some(EmfOutput::Udp(address.to_owned())),
                    _ => {
                        return self.invalid(
                            "emf.output",
                            output.span(),
                            format!(
                                "{:?} is not tcp://HOST:PORT or udp://HOST:PORT (the CloudWatch agent listens on tcp://127.0.0.1:25888)",
                                output.get_ref()
                            ),
                        )
                    }
                }
            }
            (true, Some(output)) => {
                return self.invalid(
                    "emf.output",
                    output.span(),
                    "must be \"stdout\", an absolute file path, tcp://HOST:PORT or udp://HOST:PORT".into(),
                )
            }
        })
    }

    /// `[nginx]`'s status page and listen ports (its access-log keys are read by
    /// [`Self::access_log`]); the timeout and the ports depend on `[cloudwatch]`.
    fn nginx(
        &self,
        mut raw: raw::RawNginx,
        log_format: LogFormatSource,
        cloudwatch: &CloudWatchConfig,
    ) -> Result<NginxConfig, ConfigError> {
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
        Ok(NginxConfig {
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
    /// together, and need an access log with `$request_time`.
    fn log_concurrency(
        &self,
        cloudwatch: &CloudWatchConfig,
        pending_span: std::ops::Range<usize>,
        access_log: Option<&AccessLogConfig>,
        concurrency_key: Option<KeyAt>,
    ) -> Result<(), ConfigError> {
        let pending = cloudwatch.pending;
        if let Some((key, span)) = concurrency_key.filter(|_| pending != Formula::LogConcurrency) {
            return self.invalid(
                key,
                span,
                "only used with cloudwatch.pending = \"log_concurrency\" (stub_status cannot tell a WebSocket from a request)".into(),
            );
        }
        if pending == Formula::LogConcurrency {
            match access_log {
                None => {
                    return self.invalid(
                        "cloudwatch.pending",
                        pending_span,
                        "log_concurrency needs nginx.access_log".into(),
                    )
                }
                Some(log) if log.format.position("request_time").is_none() => {
                    return self.invalid(
                        "cloudwatch.pending",
                        pending_span,
                        "log_concurrency needs $request_time in the log format".into(),
                    )
                }
                Some(_) => {}
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(text: &str) -> Result<Config, ConfigError> {
        parse(Path::new("test.toml"), text)
    }

    /// Asserts that `text` is rejected with an error naming `key` (or text) on `line`.
    fn check_error(text: &str, line: usize, needle: &str) {
        let error = parse_str(text).expect_err("config should be rejected").to_string();
        assert!(
            error.starts_with(&format!("test.toml:{line}: ")),
            "wrong line in {error:?}"
        );
        assert!(error.contains(needle), "{error:?} does not mention {needle:?}");
    }

    const MINIMAL: &str = "[cloudwatch]\nnamespace = \"MyApp\"\n";

    #[test]
    fn minimal_config_gets_defaults() {
        let config = parse_str(MINIMAL).unwrap();
        assert_eq!(config.nginx.status_url.text, DEFAULT_STATUS_URL);
        assert_eq!(config.cloudwatch.metric_name, "PendingRequests");
        assert_eq!(config.cloudwatch.period, Duration::from_secs(10));
        assert_eq!(config.cloudwatch.sample_interval, Duration::from_secs(1));
        assert_eq!(config.cloudwatch.samples_per_period(), 10);
        assert_eq!(config.cloudwatch.storage_resolution, 1);
        assert!(config.cloudwatch.fleet_dimensions.is_empty());
    }

    #[test]
    fn shipped_config_refuses_to_start_until_the_namespace_is_set() {
        let text = include_str!("../../config/nginx-backlog-exporter.toml");
        let installed = Path::new(DEFAULT_CONFIG_PATH);
        let error = parse(installed, text)
            .expect_err("a fresh install must not start")
            .to_string();
        let header = text.lines().position(|l| l == "[cloudwatch]").unwrap() + 1;
        assert!(
            error.starts_with(&format!(
                "/etc/nginx-backlog-exporter/config.toml:{header}: cloudwatch.namespace: is not set: \
                 set cloudwatch.namespace in /etc/nginx-backlog-exporter/config.toml"
            )),
            "{error}"
        );
        // The one edit the file asks for, and nothing else, makes it valid.
        let edited = text.replacen("# namespace = \"MyApp\"", "namespace = \"MyApp\"", 1);
        assert_ne!(edited, text, "the shipped file holds the commented-out namespace line");
        let config = parse(installed, &edited).unwrap();
        assert_eq!(config.cloudwatch.namespace, "MyApp");
    }

    #[test]
    fn errors_name_key_and_line() {
        check_error(
            "[cloudwatch]\nnamespace = \"\"\n",
            2,
            "cloudwatch.namespace: must not be empty",
        );
        check_error("[cloudwatch]\nnamespace = \"AWS/EC2\"\n", 2, "reserved");
        check_error(
            "[cloudwatch]\nnamespace = \"x\"\nstorage_resolution = 7\n",
            3,
            "cloudwatch.storage_resolution",
        );
        check_error(
            "[cloudwatch]\nnamespace = \"x\"\nperiod = \"0s\"\n",
            3,
            "cloudwatch.period: must be greater than zero",
        );
        check_error(
            "[cloudwatch]\nnamespace = \"x\"\nperiod = \"2500ms\"\n",
            3,
            "cloudwatch.period",
        );
        check_error(
            "[cloudwatch]\nnamespace = \"x\"\nsample_interval = \"3s\"\nperiod = \"10s\"\n",
            4,
            "not a multiple of cloudwatch.sample_interval",
        );
        check_error(
            "[cloudwatch]\nnamespace = \"x\"\nperiod = \"ten\"\n",
            3,
            "not a duration",
        );
        check_error(
            "[nginx]\nstatus_url = \"ftp://x/\"\n[cloudwatch]\nnamespace = \"x\"\n",
            2,
            "nginx.status_url",
        );
        check_error(
            "[nginx]\nstatus_url = \"http://exa mple/\"\n[cloudwatch]\nnamespace = \"x\"\n",
            2,
            "not a URL",
        );
        check_error(
            "[nginx]\ntimeout = \"5s\"\n[cloudwatch]\nnamespace = \"x\"\n",
            2,
            "nginx.timeout",
        );
        check_error(
            "[cloudwatch]\nnamespace = \"x\"\nregion = \"US East\"\n",
            3,
            "cloudwatch.region",
        );
    }

    #[test]
    fn unknown_and_missing_keys_are_errors() {
        check_error("[cloudwatch]\nnamespace = \"x\"\nperoid = \"10s\"\n", 3, "peroid");
        check_error(
            "[nginx]\nstatus_url = \"http://127.0.0.1/\"\n[cloudwatch]\n",
            3,
            "namespace",
        );
        check_error("[cloudwatch\n", 1, "");
        check_error("[cloudwatch]\nnamespace = 5\n", 2, "string");
    }

    #[test]
    fn toml_errors_name_the_section_and_an_unknown_key_the_near_one() {
        let cw = "[cloudwatch]\nnamespace = \"x\"\n";
        for (text, line, expected) in [
            (
                format!("{cw}sample_intervall = \"1s\"\n"),
                3,
                "cloudwatch.sample_intervall: unknown key; did you mean `sample_interval`?",
            ),
            (
                format!("{cw}peroid = \"10s\"\n"),
                3,
                "cloudwatch.peroid: unknown key; did you mean `period`?",
            ),
            (
                format!("[nginxx]\n{cw}"),
                1,
                "nginxx: unknown key; did you mean `nginx`?",
            ),
            (
                format!("[access_log]\nstrat_at = \"end\"\n{cw}"),
                2,
                "access_log.strat_at: unknown key; did you mean `start_at`?",
            ),
            (
                format!("{cw}bogus = 1\n"),
                3,
                "cloudwatch.bogus: unknown key; the keys here are `namespace`, `metric_name`,",
            ),
            (
                format!("{cw}period = 5\n"),
                3,
                "cloudwatch.period: expected a duration such as \"10s\" or \"500ms\", got integer `5`",
            ),
            (
                format!("{cw}storage_resolution = \"high\"\n"),
                3,
                "cloudwatch.storage_resolution: expected 1 (high resolution) or 60 (standard), got string \"high\"",
            ),
            (
                format!("{cw}max_calls_per_second = \"10\"\n"),
                3,
                "cloudwatch.max_calls_per_second: expected a whole number, got string \"10\"",
            ),
            (
                format!("{cw}put_metric_data = \"no\"\n"),
                3,
                "cloudwatch.put_metric_data: expected true or false, got string \"no\"",
            ),
            (
                format!("{cw}[cloudwatch.fleet_dimensions]\nService = 5\n"),
                4,
                "cloudwatch.fleet_dimensions.Service: expected a string, got integer `5`",
            ),
            (
                format!("[nginx]\nlisten_ports = [80, \"a\"]\n{cw}"),
                2,
                "nginx.listen_ports[1]: expected a whole number, got string \"a\"",
            ),
            (
                "[daemon]\nshutdown_grace = \"5s\"\n[cloudwatch]\nperiod = \"10s\"\n".to_owned(),
                3,
                "cloudwatch.namespace: is not set: set cloudwatch.namespace in test.toml",
            ),
        ] {
            check_error(&text, line, expected);
        }
    }

    #[test]
    fn too_many_fleet_dimensions() {
        let mut text = String::from("[cloudwatch]\nnamespace = \"x\"\n[cloudwatch.fleet_dimensions]\n");
        for i in 0..40 {
            text.push_str(&format!("d{i} = \"v\"\n"));
        }
        let error = parse_str(&text).unwrap_err().to_string();
        assert!(error.contains("40 dimensions"), "{error}");
    }

    #[test]
    fn fleet_dimensions_may_not_reuse_instance_id() {
        check_error(
            "[cloudwatch]\nnamespace = \"x\"\n[cloudwatch.fleet_dimensions]\nInstanceId = \"i-1\"\n",
            4,
            "InstanceId",
        );
    }

    #[test]
    fn listen_ports_default_to_the_status_port_and_80_and_443() {
        let config =
            parse_str("[nginx]\nstatus_url = \"http://127.0.0.1:8080/s\"\n[cloudwatch]\nnamespace = \"x\"\n").unwrap();
        assert_eq!(config.nginx.listen_ports, vec![80, 443, 8080]);
        assert_eq!(parse_str(MINIMAL).unwrap().nginx.listen_ports, vec![80, 443]);
        let config = parse_str("[nginx]\nlisten_ports = [8443]\n[cloudwatch]\nnamespace = \"x\"\n").unwrap();
        assert_eq!(config.nginx.listen_ports, vec![8443]);
        check_error(
            "[nginx]\nlisten_ports = [80, 70000]\n[cloudwatch]\nnamespace = \"x\"\n",
            2,
            "70000 is not a TCP port",
        );
        check_error(
            "[nginx]\nlisten_ports = []\n[cloudwatch]\nnamespace = \"x\"\n",
            2,
            "nginx.listen_ports",
        );
    }

    #[test]
    fn status_url_on_a_unix_socket() {
        let config = parse_str(
            "[nginx]\nstatus_url = \"unix:/run/nginx/status.sock:/nginx_status\"\n[cloudwatch]\nnamespace = \"x\"\n",
        )
        .unwrap();
        let url = &config.nginx.status_url;
        assert!(matches!(&url.transport, StatusTransport::Unix(p) if p == Path::new("/run/nginx/status.sock")));
        assert_eq!(url.uri, "http://localhost/nginx_status");
        assert_eq!(url.to_string(), "unix:/run/nginx/status.sock:/nginx_status");
        // No status port to add: 80 and 443 only.
        assert_eq!(config.nginx.listen_ports, vec![80, 443]);
        // Without a location, "/" (as nginx-prometheus-exporter reads it).
        let config =
            parse_str("[nginx]\nstatus_url = \"unix:/run/s.sock\"\n[cloudwatch]\nnamespace = \"x\"\n").unwrap();
        assert_eq!(config.nginx.status_url.uri, "http://localhost/");
        check_error(
            "[cloudwatch]\nnamespace = \"x\"\n[nginx]\nstatus_url = \"unix:run/s.sock:/s\"\n",
            4,
            "nginx.status_url: the socket of a unix: URL must be an absolute path",
        );
        check_error(
            "[nginx]\nstatus_url = \"unix:/run/s.sock:nginx_status\"\n[cloudwatch]\nnamespace = \"x\"\n",
            2,
            "is not a location",
        );
        check_error(
            "[nginx]\nstatus_url = \"unix:/run/s.sock:/s\"\nca_file = \"/etc/ca.pem\"\n[cloudwatch]\nnamespace = \"x\"\n",
            3,
            "nginx.ca_file: only used with an https:// nginx.status_url",
        );
    }

    #[test]
    fn https_status_url_and_its_files() {
        let dir = tempfile::tempdir().unwrap();
        let certified = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).unwrap();
        let cert = dir.path().join("cert.pem");
        let key = dir.path().join("key.pem");
        std::fs::write(&cert, certified.cert.pem()).unwrap();
        std::fs::write(&key, certified.key_pair.serialize_pem()).unwrap();
        let (cert, key) = (cert.display(), key.display());
        let head = "[cloudwatch]\nnamespace = \"x\"\n[nginx]\nstatus_url = \"https://127.0.0.1:8443/s\"\n";
        let config = parse_str(&format!("{head}ca_file = \"{cert}\"\n")).unwrap();
        assert!(matches!(config.nginx.status_url.transport, StatusTransport::Https(_)));
        assert_eq!(config.nginx.listen_ports, vec![80, 443, 8443]);
        parse_str(&format!(
            "{head}ca_file = \"{cert}\"\nclient_cert = \"{cert}\"\nclient_key = \"{key}\"\n"
        ))
        .unwrap();
        check_error(
            &format!("{head}ca_file = \"/nonexistent/ca.pem\"\n"),
            5,
            "nginx.ca_file: cannot read /nonexistent/ca.pem",
        );
        check_error(&format!("{head}ca_file = \"{key}\"\n"), 5, "holds no PEM certificate");
        check_error(
            &format!("{head}ca_file = \"{cert}\"\nclient_cert = \"{cert}\"\n"),
            6,
            "nginx.client_cert: needs nginx.client_key",
        );
        check_error(
            &format!("{head}ca_file = \"{cert}\"\nclient_cert = \"{cert}\"\nclient_key = \"{cert}\"\n"),
            7,
            "nginx.client_key:",
        );
        check_error(
            "[nginx]\nca_file = \"/etc/ca.pem\"\n[cloudwatch]\nnamespace = \"x\"\n",
            2,
            "nginx.ca_file: only used with an https://",
        );
    }

    #[test]
    fn log_concurrency_leaves_out_long_lived_requests() {
        let log = "[nginx]\naccess_log = \"/var/log/nginx/a.log\"\nlog_format = '$msec $status $request_time'\n";
        let config = parse_str(&format!(
            "{log}[cloudwatch]\nnamespace = \"x\"\npending = \"log_concurrency\"\n"
        ))
        .unwrap();
        assert_eq!(config.access_log.unwrap().concurrency, LogConcurrencyFilter::default());
        let config = parse_str(&format!(
            "{log}[access_log]\nconcurrency_exclude_status = []\nconcurrency_max_request_time = \"1m\"\n[cloudwatch]\nnamespace = \"x\"\npending = \"log_concurrency\"\n"
        ))
        .unwrap();
        assert_eq!(
            config.access_log.unwrap().concurrency,
            LogConcurrencyFilter {
                exclude_status: vec![],
                max_request_time_us: Some(60_000_000)
            }
        );
        check_error(
            &format!("{log}[access_log]\nconcurrency_exclude_status = [101, 1000]\n[cloudwatch]\nnamespace = \"x\"\npending = \"log_concurrency\"\n"),
            5,
            "access_log.concurrency_exclude_status: 1000 is not an HTTP status",
        );
        check_error(
            &format!("{log}[access_log]\nconcurrency_max_request_time = \"1m\"\n[cloudwatch]\nnamespace = \"x\"\n"),
            5,
            "access_log.concurrency_max_request_time: only used with cloudwatch.pending = \"log_concurrency\"",
        );
    }

    #[test]
    fn pending_formula() {
        assert_eq!(
            parse_str(MINIMAL).unwrap().cloudwatch.pending,
            Formula::InFlightPlusAcceptQueue
        );
        let config = parse_str("[cloudwatch]\nnamespace = \"x\"\npending = \"in_flight\"\n").unwrap();
        assert_eq!(config.cloudwatch.pending, Formula::InFlight);
        check_error(
            "[cloudwatch]\nnamespace = \"x\"\npending = \"queue\"\n",
            3,
            "is not one of in_flight+accept_queue",
        );
        check_error(
            "[cloudwatch]\nnamespace = \"x\"\npending = \"log_concurrency\"\n",
            3,
            "needs nginx.access_log",
        );
        check_error(
            "[nginx]\naccess_log = \"/l\"\n[cloudwatch]\nnamespace = \"x\"\npending = \"log_concurrency\"\n",
            5,
            "needs $request_time",
        );
        let with_time = "[nginx]\naccess_log = \"/l\"\nlog_format = '$msec $status $request_time'\n[cloudwatch]\nnamespace = \"x\"\npending = \"log_concurrency\"\n";
        assert_eq!(
            parse_str(with_time).unwrap().cloudwatch.pending,
            Formula::LogConcurrency
        );
    }

    #[test]
    fn outputs() {
        let config = parse_str("[cloudwatch]\nnamespace = \"x\"\nput_metric_data = false\n[emf]\nenabled = true\n[http]\nlisten = \"127.0.0.1:9145\"\n").unwrap();
        assert_eq!(config.emf, Some(EmfOutput::Stdout));
        let emf = |output: &str| {
            parse_str(&format!(
                "[cloudwatch]\nnamespace = \"x\"\n[emf]\nenabled = true\noutput = \"{output}\"\n"
            ))
            .map(|c| c.emf)
        };
        assert_eq!(
            emf("tcp://127.0.0.1:25888").unwrap(),
            Some(EmfOutput::Tcp("127.0.0.1:25888".into()))
        );
        assert_eq!(
            emf("udp://localhost:25888").unwrap(),
            Some(EmfOutput::Udp("localhost:25888".into()))
        );
        assert_eq!(
            emf("tcp://[::1]:25888").unwrap(),
            Some(EmfOutput::Tcp("[::1]:25888".into()))
        );
        for bad in ["tcp://127.0.0.1", "udp://:25888", "http://127.0.0.1:25888", "tcp://h:0"] {
            let error = emf(bad).unwrap_err().to_string();
            assert!(error.starts_with("test.toml:5: emf.output: "), "{bad}: {error}");
        }
        assert!(!config.cloudwatch.put_metric_data);
        assert_eq!(config.http.map(|h| h.listen), Some("127.0.0.1:9145".parse().unwrap()));
        check_error(
            "[cloudwatch]\nnamespace = \"x\"\nput_metric_data = false\n",
            3,
            "nothing would be published",
        );
        check_error(
            "[cloudwatch]\nnamespace = \"x\"\n[emf]\nenabled = true\noutput = \"relative.log\"\n",
            5,
            "emf.output",
        );
    }

    #[test]
    fn access_log_keys() {
        let config =
            parse_str("[nginx]\naccess_log = \"/var/log/nginx/access.log\"\n[cloudwatch]\nnamespace = \"x\"\n")
                .unwrap();
        let access_log = config.access_log.unwrap();
        assert_eq!(access_log.path, PathBuf::from("/var/log/nginx/access.log"));
        assert_eq!(access_log.start_at, StartAt::End);
        assert_eq!(config.nginx.log_format, LogFormatSource::Combined);
        assert!(parse_str(MINIMAL).unwrap().access_log.is_none());
        let inline = "[nginx]\naccess_log = \"/l\"\nlog_format = '$msec $status $request_time'\nlog_format_escape = \"json\"\n[access_log]\nstart_at = \"beginning\"\nbreakdown = \"$status\"\n[cloudwatch]\nnamespace = \"x\"\n";
        let config = parse_str(inline).unwrap();
        assert_eq!(config.access_log.as_ref().unwrap().breakdown.as_deref(), Some("status"));
        assert_eq!(config.access_log.unwrap().start_at, StartAt::Beginning);
    }

    #[test]
    fn access_log_publish() {
        let timed = "[nginx]\naccess_log = \"/l\"\nlog_format = '$msec $status $request_time'\n[cloudwatch]\nnamespace = \"x\"\n[access_log]\n";
        let config = parse_str(&format!(
            "{timed}publish = [\"RequestsCompleted\", \"RequestTimeP99\"]\n"
        ))
        .unwrap();
        assert_eq!(
            config.access_log.unwrap().publish,
            vec![LogMetric::RequestsCompleted, LogMetric::RequestTimeP99]
        );
        assert!(parse_str(timed).unwrap().access_log.unwrap().publish.is_empty());
        check_error(
            &format!("{timed}publish = [\"RequestsCompleted\",\n  \"P99\"]\n"),
            8,
            "access_log.publish: unknown metric \"P99\"; known: RequestsCompleted,",
        );
        check_error(
            &format!("{timed}publish = [\"Responses5xx\", \"Responses5xx\"]\n"),
            7,
            "listed twice",
        );
        check_error(
            &format!("{timed}publish = [\"UpstreamResponseTimeP99\"]\n"),
            7,
            "UpstreamResponseTimeP99 needs $upstream_response_time",
        );
        check_error(
            "[cloudwatch]\nnamespace = \"x\"\n[access_log]\npublish = [\"RequestsCompleted\"]\n",
            4,
            "access_log.publish: needs nginx.access_log",
        );
    }

    #[test]
    fn access_log_errors() {
        check_error(
            "[nginx]\nlog_format = '$status $'\n[cloudwatch]\nnamespace = \"x\"\n",
            2,
            "nginx.log_format",
        );
        check_error(
            "[nginx]\naccess_log = \"/l\"\nlog_format = '$remote_addr'\n[cloudwatch]\nnamespace = \"x\"\n",
            3,
            "no $status",
        );
        check_error(
            "[nginx]\naccess_log = \"relative.log\"\n[cloudwatch]\nnamespace = \"x\"\n",
            2,
            "nginx.access_log",
        );
        check_error(
            "[nginx]\nlog_format_name = \"main\"\n[cloudwatch]\nnamespace = \"x\"\n",
            2,
            "needs nginx.nginx_conf",
        );
        check_error(
            "[nginx]\nlog_format_escape = \"xml\"\n[cloudwatch]\nnamespace = \"x\"\n",
            2,
            "nginx.log_format_escape",
        );
        check_error(
            "[nginx]\nlog_format_name = \"main\"\nnginx_conf = \"/nonexistent/nginx.conf\"\n[cloudwatch]\nnamespace = \"x\"\n",
            2,
            "/nonexistent/nginx.conf",
        );
        check_error(
            "[nginx]\naccess_log = \"/l\"\n[access_log]\nbreakdown = \"upstream_addr\"\n[cloudwatch]\nnamespace = \"x\"\n",
            4,
            "upstream_addr",
        );
        // A typo of a variable the format has: the breakdown key is wrong, not the format.
        check_error(
            "[nginx]\naccess_log = \"/l\"\nlog_format = '$msec $status $upstream_addr'\n[access_log]\nbreakdown = \"upstream_adr\"\n[cloudwatch]\nnamespace = \"x\"\n",
            5,
            "access_log.breakdown: the breakdown variable $upstream_adr is not in the log format; did you mean $upstream_addr?",
        );
        check_error(
            "[nginx]\naccess_log = \"/l\"\n[access_log]\nstart_at = \"middle\"\n[cloudwatch]\nnamespace = \"x\"\n",
            4,
            "access_log.start_at",
        );
    }

    #[test]
    fn spool_and_rate_keys_get_defaults_and_accept_sizes() {
        let config = parse_str(MINIMAL).unwrap();
        assert_eq!(config.cloudwatch.spool_max_bytes, 16 << 20);
        assert_eq!(config.cloudwatch.spool_max_age, Duration::from_secs(14 * 24 * 3600));
        assert_eq!(config.cloudwatch.max_calls_per_second, 5);
        assert_eq!(config.daemon.state_directory, Path::new(DEFAULT_STATE_DIRECTORY));
        for (value, bytes) in [
            ("4096", 4096),
            ("\"64KiB\"", 65536),
            ("\"2 MB\"", 2_000_000),
            ("\"1GiB\"", 1 << 30),
        ] {
            let config = parse_str(&format!("{MINIMAL}spool_max_bytes = {value}\n")).unwrap();
            assert_eq!(config.cloudwatch.spool_max_bytes, bytes, "{value}");
        }
    }

    #[test]
    fn absurd_spool_and_rate_values_are_rejected() {
        let check = |line: &str, needle: &str| check_error(&format!("{MINIMAL}{line}\n"), 3, needle);
        check(
            "spool_max_bytes = 0",
            "cloudwatch.spool_max_bytes: must be between 1KiB and 1GiB",
        );
        check("spool_max_bytes = -5", "cloudwatch.spool_max_bytes");
        check("spool_max_bytes = \"2GiB\"", "must be between");
        check("spool_max_bytes = \"2TiB\"", "not a size");
        check("spool_max_bytes = \"99999999999999999999GiB\"", "not a size");
        check("spool_max_bytes = \"16 parsecs\"", "not a size");
        check("spool_max_bytes = 1.5", "expected a size in bytes");
        check(
            "spool_max_age = \"15d\"",
            "cloudwatch.spool_max_age: must be at most 14d",
        );
        check("spool_max_age = \"0s\"", "must be greater than zero");
        check(
            "max_calls_per_second = 0",
            "cloudwatch.max_calls_per_second: must be between 1 and 100",
        );
        check("max_calls_per_second = 100000", "cloudwatch.max_calls_per_second");
        check_error(
            &format!("{MINIMAL}[daemon]\nstate_directory = \"var/lib/x\"\n"),
            4,
            "daemon.state_directory: must be an absolute path",
        );
        check_error(&format!("{MINIMAL}max_backlog = 10\n"), 3, "max_backlog");
    }

    #[test]
    fn missing_file_is_a_read_error() {
        let error = load(Path::new("/nonexistent/config.toml")).unwrap_err();
        assert!(matches!(error, ConfigError::Read { .. }));
        assert!(error.to_string().contains("/nonexistent/config.toml"));
    }
}
