//! `[cloudwatch]`: what is published, how often, and how unsent datapoints are kept.

use std::time::Duration;

use toml::Spanned;

use super::{raw, ConfigError, Validator};
use crate::derive::pending::Formula;
use crate::limits;

pub const DEFAULT_METRIC_NAME: &str = "PendingRequests";
/// The dimension every per-instance datum carries.
pub const INSTANCE_DIMENSION: &str = "InstanceId";
/// Spool bounds: 16 MiB holds about 147,000 datapoints (1.7 days of 1 s periods, the whole
/// 14 days of 10 s periods); less than 1 KiB would hold fewer than 9.
pub const DEFAULT_SPOOL_MAX_BYTES: u64 = 16 << 20;
const SPOOL_MAX_BYTES_RANGE: std::ops::RangeInclusive<u64> = 1024..=(1 << 30);
/// CloudWatch's PutMetricData quota is 500 calls per second per account and region,
/// shared by every instance of the fleet.
const MAX_CALLS_PER_SECOND_RANGE: std::ops::RangeInclusive<i64> = 1..=100;

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
    pub(crate) fn samples_per_period(&self) -> u32 {
        (self.period.as_millis() / self.sample_interval.as_millis()) as u32
    }
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

/// Where `[cloudwatch]`'s keys that other sections are checked against are (the table's
/// header when the key is left out).
pub(super) struct CloudWatchSpans {
    pub(super) pending: std::ops::Range<usize>,
    pub(super) put_metric_data: std::ops::Range<usize>,
}

impl Validator<'_> {
    /// `[cloudwatch]`: what is published, how often, and how unsent datapoints are kept.
    pub(super) fn cloudwatch(
        &self,
        raw: Spanned<raw::RawCloudWatch>,
    ) -> Result<(CloudWatchConfig, CloudWatchSpans), ConfigError> {
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
}
