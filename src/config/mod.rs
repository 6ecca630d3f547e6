//! Configuration: the TOML file is read into the raw serde structs of [`raw`], then
//! validated once into a [`Config`] that holds parsed URLs and durations. Nothing
//! starts until this succeeds, and every error names the key and the line.
//!
//! One file per section: `nginx` (the status page and listen ports), `tls` (the status
//! page's TLS client files), `access_log` (the log format and the access-log source),
//! `cloudwatch`, `emf`, `daemon` and `http`. This file holds the error type, the validated
//! [`Config`], the `Validator` with the helpers every section uses,
//! and the order the sections are checked in.

mod access_log;
mod cloudwatch;
mod daemon;
mod emf;
mod http;
mod nginx;
mod raw;
mod tls;

use std::path::{Path, PathBuf};
use std::time::Duration;

use toml::Spanned;

use crate::serde_errors::{self, line_of};
pub use crate::sources::stub_status::{StatusTransport, StatusUrl};
pub use access_log::AccessLogConfig;
pub use cloudwatch::{CloudWatchConfig, DEFAULT_METRIC_NAME, DEFAULT_SPOOL_MAX_BYTES, INSTANCE_DIMENSION};
pub use daemon::{DaemonConfig, DEFAULT_STATE_DIRECTORY};
pub use emf::EmfOutput;
pub use http::{HttpConfig, HttpTls};
pub use nginx::{NginxConfig, DEFAULT_STATUS_URL};

/// Where the packages install the config file.
pub const DEFAULT_CONFIG_PATH: &str = "/etc/nginx-backlog-exporter/config.toml";

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

/// Read and validate the file at `path`.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_owned(),
        source,
    })?;
    parse(path, &text)
}

/// Validate `text` as if read from `path` (used by tests and fuzzing). The files the config
/// names are read only after every key is checked (see `Validator::config`).
pub fn parse(path: &Path, text: &str) -> Result<Config, ConfigError> {
    let raw: raw::RawConfig = serde_errors::from_toml_str(text).map_err(|error| ConfigError::Syntax {
        path: path.to_owned(),
        line: error.line,
        message: error.to_string(),
    })?;
    Validator { path, text }.config(raw)
}

/// A config key and where its value is.
type KeyAt = (&'static str, std::ops::Range<usize>);

/// Turns the raw structs into a [`Config`]; each section's checks live in that section's
/// file, as further `impl Validator` blocks.
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

    /// The whole file: each section in turn, then the checks that span sections, then the
    /// one step that reads files the keys name (the status page's TLS certificates and key).
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
        let nginx = self.read_nginx_files(nginx)?;
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
}

#[cfg(test)]
mod tests;
