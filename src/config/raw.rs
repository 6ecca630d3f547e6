//! Serde structs that mirror the TOML file one to one.
//!
//! Every value that validation may reject is wrapped in [`Spanned`] so the
//! error can name the line it came from. Unknown keys are rejected by serde.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawConfig {
    #[serde(default)]
    pub nginx: RawNginx,
    pub cloudwatch: Spanned<RawCloudWatch>,
    #[serde(default)]
    pub daemon: RawDaemon,
    #[serde(default)]
    pub emf: RawEmf,
    #[serde(default)]
    pub http: RawHttp,
    #[serde(default)]
    pub access_log: RawAccessLog,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawNginx {
    pub status_url: Option<Spanned<String>>,
    pub timeout: Option<Spanned<RawDuration>>,
    pub ca_file: Option<Spanned<String>>,
    pub client_cert: Option<Spanned<String>>,
    pub client_key: Option<Spanned<String>>,
    pub listen_ports: Option<Spanned<Vec<Spanned<i64>>>>,
    pub access_log: Option<Spanned<String>>,
    pub log_format: Option<Spanned<String>>,
    pub(crate) log_format_escape: Option<Spanned<String>>,
    pub log_format_name: Option<Spanned<String>>,
    pub nginx_conf: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawCloudWatch {
    /// Required, but optional here: a missing namespace gets its own message (the shipped
    /// file leaves it commented out so that a fresh install publishes nothing).
    pub namespace: Option<Spanned<String>>,
    pub metric_name: Option<Spanned<String>>,
    pub instance_id: Option<Spanned<String>>,
    pub region: Option<Spanned<String>>,
    pub storage_resolution: Option<Spanned<RawResolution>>,
    pub period: Option<Spanned<RawDuration>>,
    pub sample_interval: Option<Spanned<RawDuration>>,
    pub connect_timeout: Option<Spanned<RawDuration>>,
    pub operation_timeout: Option<Spanned<RawDuration>>,
    pub imds_timeout: Option<Spanned<RawDuration>>,
    pub spool_max_bytes: Option<Spanned<RawSize>>,
    pub spool_max_age: Option<Spanned<RawDuration>>,
    pub max_calls_per_second: Option<Spanned<i64>>,
    pub fleet_dimensions: Option<Spanned<BTreeMap<String, Spanned<String>>>>,
    pub pending: Option<Spanned<String>>,
    pub put_metric_data: Option<Spanned<bool>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawDaemon {
    pub shutdown_grace: Option<Spanned<RawDuration>>,
    pub state_directory: Option<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawEmf {
    pub enabled: Option<bool>,
    pub output: Option<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawHttp {
    pub listen: Option<Spanned<String>>,
    pub allow_remote: Option<Spanned<bool>>,
    pub tls_server_config: Option<Spanned<RawTlsServer>>,
    pub basic_auth_users: Option<Spanned<BTreeMap<String, Spanned<String>>>>,
}

/// `[http.tls_server_config]`, named as in the Prometheus exporter-toolkit's web config.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTlsServer {
    pub(crate) cert_file: Option<Spanned<String>>,
    pub(crate) key_file: Option<Spanned<String>>,
    pub client_ca_file: Option<Spanned<String>>,
    pub(crate) min_version: Option<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawAccessLog {
    pub start_at: Option<Spanned<String>>,
    pub breakdown: Option<Spanned<String>>,
    pub(crate) breakdown_cap: Option<Spanned<i64>>,
    pub settle: Option<Spanned<RawDuration>>,
    pub publish: Option<Spanned<Vec<Spanned<String>>>>,
    pub concurrency_exclude_status: Option<Spanned<Vec<Spanned<i64>>>>,
    pub concurrency_max_request_time: Option<Spanned<RawDuration>>,
}

/// A size in bytes: an integer, or a string like "16MiB".
#[derive(Debug)]
pub(crate) enum RawSize {
    Bytes(i64),
    Text(String),
}

impl<'de> Deserialize<'de> for RawSize {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct SizeVisitor;
        impl serde::de::Visitor<'_> for SizeVisitor {
            type Value = RawSize;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a size in bytes like 16777216 or \"16MiB\"")
            }
            fn visit_i64<E: serde::de::Error>(self, value: i64) -> Result<RawSize, E> {
                Ok(RawSize::Bytes(value))
            }
            fn visit_u64<E: serde::de::Error>(self, value: u64) -> Result<RawSize, E> {
                Ok(RawSize::Bytes(i64::try_from(value).unwrap_or(i64::MAX)))
            }
            fn visit_str<E: serde::de::Error>(self, value: &str) -> Result<RawSize, E> {
                Ok(RawSize::Text(value.to_owned()))
            }
        }
        deserializer.deserialize_any(SizeVisitor)
    }
}

/// A duration as the file writes it, "10s" or "500ms" (parsed in validation); a number or any
/// other type is refused naming that form.
#[derive(Debug, Clone)]
pub(crate) struct RawDuration(pub String);

impl<'de> Deserialize<'de> for RawDuration {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct DurationVisitor;
        impl serde::de::Visitor<'_> for DurationVisitor {
            type Value = RawDuration;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a duration such as \"10s\" or \"500ms\"")
            }
            fn visit_str<E: serde::de::Error>(self, value: &str) -> Result<RawDuration, E> {
                Ok(RawDuration(value.to_owned()))
            }
        }
        deserializer.deserialize_str(DurationVisitor)
    }
}

/// `storage_resolution`: 1 or 60 (checked in validation); a string such as "high" is refused
/// naming the two values.
#[derive(Debug)]
pub(crate) struct RawResolution(pub i64);

impl<'de> Deserialize<'de> for RawResolution {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ResolutionVisitor;
        impl serde::de::Visitor<'_> for ResolutionVisitor {
            type Value = RawResolution;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("1 (high resolution) or 60 (standard)")
            }
            fn visit_i64<E: serde::de::Error>(self, value: i64) -> Result<RawResolution, E> {
                Ok(RawResolution(value))
            }
            fn visit_u64<E: serde::de::Error>(self, value: u64) -> Result<RawResolution, E> {
                Ok(RawResolution(i64::try_from(value).unwrap_or(i64::MAX)))
            }
        }
        deserializer.deserialize_i64(ResolutionVisitor)
    }
}
