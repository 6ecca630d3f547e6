//! The access log: `[nginx]`'s log-format keys (compiled here, so a bad format stops
//! startup) and `[access_log]`, how the log is followed and what is derived from it.

use std::path::PathBuf;
use std::time::Duration;

use toml::Spanned;

use super::{raw, CloudWatchConfig, ConfigError, KeyAt, Validator};
use crate::derive::pending::{Formula, LogConcurrencyFilter};
use crate::model::LogMetric;
use crate::serde_errors;
use crate::sources::access_log::tail::StartAt;
use crate::sources::access_log::{
    compile_from_source, Escape, LogFormat, LogFormatSource, MissingVariable, RecordExtractor,
};

/// The access log, its compiled format and how to follow it.
#[derive(Debug, Clone)]
pub struct AccessLogConfig {
    pub path: PathBuf,
    pub format: LogFormat,
    pub start_at: StartAt,
    /// Variable name (without `$`) to count requests by.
    pub breakdown: Option<String>,
    pub(crate) breakdown_cap: usize,
    /// How long a period stays open for requests that end later but ran in it.
    pub settle: Duration,
    /// Log signals published as extra CloudWatch metrics (empty: local outputs only).
    pub publish: Vec<LogMetric>,
    /// Which logged requests `cloudwatch.pending = "log_concurrency"` counts.
    pub concurrency: LogConcurrencyFilter,
}

/// The compiled log format and the key it came from (errors about what the format lacks
/// point there).
struct CompiledFormat {
    format: LogFormat,
    key: &'static str,
    span: std::ops::Range<usize>,
}

impl Validator<'_> {
    /// The log format (compiled now, so a bad one stops startup) and the access-log source,
    /// with the first `access_log.concurrency_*` key given (valid with `log_concurrency` only).
    pub(super) fn access_log(
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
        let (source, key, span) = self.log_format_source(nginx)?;
        let compiled = match compile_from_source(&source) {
            Ok(format) => CompiledFormat { format, key, span },
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
        let breakdown = self.breakdown(&compiled, options.breakdown)?;
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
        let publish = self.publish(&compiled.format, options.publish)?;
        let concurrency =
            self.concurrency_filter(options.concurrency_exclude_status, options.concurrency_max_request_time)?;
        Ok((
            source,
            Some(AccessLogConfig {
                concurrency,
                settle,
                path,
                format: compiled.format,
                start_at,
                breakdown,
                breakdown_cap,
                publish,
            }),
            concurrency_key,
        ))
    }

    /// Where the log format comes from: `nginx.log_format` (with `nginx.log_format_escape`),
    /// `nginx.log_format_name` in `nginx.nginx_conf`, or nginx's `combined`; with the key
    /// that names it.
    fn log_format_source(
        &self,
        nginx: &mut raw::RawNginx,
    ) -> Result<(LogFormatSource, &'static str, std::ops::Range<usize>), ConfigError> {
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
        match (
            nginx.log_format.take(),
            nginx.log_format_name.take(),
            nginx.nginx_conf.take(),
        ) {
            (Some(format), None, None) => {
                let span = format.span();
                Ok((
                    LogFormatSource::Inline {
                        format: format.into_inner(),
                        escape,
                    },
                    "nginx.log_format",
                    span,
                ))
            }
            (None, Some(name), Some(conf)) => {
                let span = name.span();
                Ok((
                    LogFormatSource::Named {
                        name: name.into_inner(),
                        nginx_conf: PathBuf::from(conf.into_inner()),
                    },
                    "nginx.log_format_name",
                    span,
                ))
            }
            (None, None, None) => Ok((LogFormatSource::Combined, "nginx.log_format", 0..0)),
            (Some(format), _, _) => self.invalid(
                "nginx.log_format",
                format.span(),
                "give either log_format or log_format_name with nginx_conf, not both".into(),
            ),
            (None, Some(name), None) => self.invalid(
                "nginx.log_format_name",
                name.span(),
                "needs nginx.nginx_conf to read it from".into(),
            ),
            (None, None, Some(conf)) => {
                self.invalid("nginx.nginx_conf", conf.span(), "needs nginx.log_format_name".into())
            }
        }
    }

    /// `access_log.breakdown`, without its `$`; the format must have the variables the
    /// signals are derived from, and the breakdown's.
    fn breakdown(
        &self,
        compiled: &CompiledFormat,
        breakdown: Option<Spanned<String>>,
    ) -> Result<Option<String>, ConfigError> {
        let breakdown = breakdown.map(|b| (b.span(), b.into_inner().trim_start_matches('$').to_owned()));
        let format = &compiled.format;
        match (
            RecordExtractor::new(format, breakdown.as_ref().map(|(_, name)| name.as_str())),
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
            (Err(missing), _) => {
                return self.invalid(
                    compiled.key,
                    compiled.span.clone(),
                    format!("cannot derive signals: {missing}"),
                )
            }
        }
        Ok(breakdown.map(|(_, name)| name))
    }

    /// `access_log.publish`: known metric names, each once, whose variables the format has.
    fn publish(
        &self,
        format: &LogFormat,
        names: Option<Spanned<Vec<Spanned<String>>>>,
    ) -> Result<Vec<LogMetric>, ConfigError> {
        let mut publish = Vec::new();
        for name in names.map(Spanned::into_inner).unwrap_or_default() {
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
            let missing = metric
                .needed_variables()
                .iter()
                .find(|variable| format.position(variable).is_none());
            if let Some(variable) = missing {
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
        Ok(publish)
    }

    /// `access_log.concurrency_exclude_status` and `access_log.concurrency_max_request_time`.
    fn concurrency_filter(
        &self,
        exclude_status: Option<Spanned<Vec<Spanned<i64>>>>,
        max_request_time: Option<Spanned<raw::RawDuration>>,
    ) -> Result<LogConcurrencyFilter, ConfigError> {
        let mut concurrency = LogConcurrencyFilter::default();
        if let Some(statuses) = exclude_status {
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
        if let Some(max) = max_request_time {
            let max = self.duration("access_log.concurrency_max_request_time", Some(max), Duration::ZERO)?;
            concurrency.max_request_time_us = Some(max.as_micros() as u64);
        }
        Ok(concurrency)
    }

    /// `cloudwatch.pending = "log_concurrency"` and the `access_log.concurrency_*` keys go
    /// together, and need an access log with `$request_time`.
    pub(super) fn log_concurrency(
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
