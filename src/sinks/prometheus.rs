//! Local outputs over HTTP (loopback unless `http.allow_remote`, see [`web`]): `/metrics` and
//! `/healthz`. `/metrics` is encoded in the OpenMetrics text format by the prometheus-client
//! crate from the exporter's [`Stats`] (except the two summaries, which that crate does not
//! encode: [`encode_summaries`]), and served so to clients that ask for it (Prometheus does);
//! others (curl, `curl | promtool check metrics`) get the Prometheus text format 0.0.4
//! ([`to_text_format`]), as the Go client's handler does. promtool finds nothing to say about
//! it (tests/access_log.rs).

use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use super::web;
use crate::clock::Clock;
use crate::config::HttpConfig;
use crate::derive::log_signals::PeriodSignals;
use crate::events::sinks::{MetricsAcceptFailed, MetricsConnectionDropped};
use crate::stats::{unix_ms, Kind, OwnMetric, Reading, Shown, Stats, OWN_METRICS, STATUS_CLASSES};

/// Reads [`Stats`] at every scrape; nothing is copied between scrapes.
#[derive(Debug)]
struct StatsCollector {
    stats: Arc<Stats>,
    /// The access log's newest closed period (the log task sends it; latest value wins).
    last_log_period: LastLogPeriod,
    /// Wall time, for `last_publish_age_seconds`.
    clock: Clock,
}

/// The receiving end of the access log's newest closed period.
pub(crate) type LastLogPeriod = tokio::sync::watch::Receiver<Option<PeriodSignals>>;

/// One row of [`OWN_METRICS`], as it reads now.
fn encode_own(e: &mut DescriptorEncoder, metric: &OwnMetric, reading: Reading) -> Result<(), std::fmt::Error> {
    let (name, help) = (metric.name, metric.help);
    match (metric.kind, reading) {
        (Kind::Counter, Reading::Whole(value)) => {
            let counter = ConstCounter::new(value);
            counter.encode(e.encode_descriptor(name, help, None, counter.metric_type())?)
        }
        (Kind::Counter, Reading::Real(value)) => {
            let counter = ConstCounter::new(value);
            counter.encode(e.encode_descriptor(name, help, None, counter.metric_type())?)
        }
        (Kind::Gauge, Reading::Whole(value)) => {
            let gauge = ConstGauge::new(value as i64);
            gauge.encode(e.encode_descriptor(name, help, None, gauge.metric_type())?)
        }
        (Kind::Gauge, Reading::Real(value)) => {
            let gauge = ConstGauge::new(value);
            gauge.encode(e.encode_descriptor(name, help, None, gauge.metric_type())?)
        }
        (kind, Reading::Labelled { label, values }) => {
            let metric_type = match kind {
                Kind::Counter => MetricType::Counter,
                Kind::Gauge => MetricType::Gauge,
            };
            let mut family = e.encode_descriptor(name, help, None, metric_type)?;
            for (value_of_label, value) in values {
                let labels = [(label, value_of_label)];
                match kind {
                    Kind::Counter => ConstCounter::new(value).encode(family.encode_family(&labels)?)?,
                    Kind::Gauge => ConstGauge::new(value as i64).encode(family.encode_family(&labels)?)?,
                }
            }
            Ok(())
        }
    }
}

fn gauge<N: prometheus_client::encoding::EncodeGaugeValue>(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    value: N,
) -> Result<(), std::fmt::Error> {
    let metric = ConstGauge::new(value);
    metric.encode(encoder.encode_descriptor(name, help, None, metric.metric_type())?)
}

impl Collector for StatsCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let log_enabled = Stats::get(&self.stats.log.enabled) == 1;
        let now_unix_ms = unix_ms(self.clock.now());
        let mut in_log_rows = false;
        for metric in OWN_METRICS {
            let log_row = metric.shown == Shown::WithAccessLog;
            if log_row && !log_enabled {
                continue;
            }
            if in_log_rows && !log_row {
                encode_last_log_period(&mut encoder, &self.last_log_period)?;
            }
            in_log_rows = log_row;
            encode_own(&mut encoder, metric, (metric.read)(&self.stats, now_unix_ms))?;
        }
        if in_log_rows {
            encode_last_log_period(&mut encoder, &self.last_log_period)?;
        }
        Ok(())
    }
}

/// The access log's newest closed period: its signals, as gauges (none before one closed).
fn encode_last_log_period(e: &mut DescriptorEncoder, last_period: &LastLogPeriod) -> Result<(), std::fmt::Error> {
    let last = last_period.borrow();
    let Some(period) = last.as_ref() else { return Ok(()) };
    gauge(
        e,
        "log_period_start_seconds",
        "start of the newest closed log period (periods close once no request can still end in them)",
        period.start_ms as f64 / 1000.0,
    )?;
    gauge(
        e,
        "log_period_completed",
        "requests completed in the newest closed period",
        period.completed as i64,
    )?;
    gauge(
        e,
        "log_period_in_flight_average",
        "time-weighted requests in flight over the newest closed period, from request_time",
        period.in_flight_average,
    )?;
    gauge(
        e,
        "log_period_in_flight_peak",
        "most requests in flight in any millisecond of the newest closed period",
        period.in_flight_peak as i64,
    )?;
    let mut family = e.encode_descriptor(
        "log_period_completed_by_class",
        "requests completed in the newest closed period, by status class",
        None,
        MetricType::Gauge,
    )?;
    for (class, count) in STATUS_CLASSES.iter().zip(period.by_class) {
        ConstGauge::new(count as i64).encode(family.encode_family(&[("class", *class)])?)?;
    }
    if !period.breakdown.is_empty() {
        let mut family = e.encode_descriptor(
            "log_period_completed_by_value",
            "requests completed in the newest closed period, by the breakdown variable (capped; the rest is \"other\")",
            None,
            MetricType::Gauge,
        )?;
        for row in &period.breakdown {
            let labels = [("value", row.value.as_str())];
            ConstGauge::new(row.completed as i64).encode(family.encode_family(&labels)?)?;
        }
    }
    Ok(())
}

/// The prefix of every metric name (the registry's, written out for [`encode_summaries`]).
const PREFIX: &str = "nginx_backlog";

/// `/metrics`: the registry, then the summaries.
struct Metrics {
    registry: Registry,
    stats: Arc<Stats>,
    last_log_period: LastLogPeriod,
    /// Wall time, for `/healthz`.
    clock: Clock,
}

impl Metrics {
    fn new(stats: Arc<Stats>, last_log_period: LastLogPeriod, clock: Clock) -> Metrics {
        let mut registry = Registry::with_prefix(PREFIX);
        registry.register_collector(Box::new(StatsCollector {
            stats: stats.clone(),
            last_log_period: last_log_period.clone(),
            clock: clock.clone(),
        }));
        Metrics {
            registry,
            stats,
            last_log_period,
            clock,
        }
    }

    fn encode(&self) -> Result<String, std::fmt::Error> {
        let mut body = String::new();
        prometheus_client::encoding::text::encode_registry(&mut body, &self.registry)?;
        if Stats::get(&self.stats.log.enabled) == 1 {
            encode_summaries(&mut body, &self.stats.log, self.last_log_period.borrow().as_ref())?;
        }
        prometheus_client::encoding::text::encode_eof(&mut body)?;
        Ok(body)
    }
}

/// `log_request_time_seconds` and `log_upstream_response_time_seconds`, as OpenMetrics
/// summaries: the quantiles are those of the newest closed period (a summary's quantiles are
/// over a recent window; none before a period closed or when it had no value), `_sum` and
/// `_count` are over every closed period (counters, as Prometheus expects them, so
/// `rate(_sum) / rate(_count)` is the mean).
fn encode_summaries(
    out: &mut String,
    log: &crate::stats::LogStats,
    last_period: Option<&PeriodSignals>,
) -> std::fmt::Result {
    use std::fmt::Write;
    for (name, variable, totals, quantiles) in [
        (
            "log_request_time_seconds",
            "request_time",
            &log.request_time,
            last_period.map(|p| &p.request_time),
        ),
        (
            "log_upstream_response_time_seconds",
            "upstream_response_time",
            &log.upstream_response_time,
            last_period.map(|p| &p.upstream_response_time),
        ),
    ] {
        writeln!(
            out,
            "# HELP {PREFIX}_{name} ${variable}: quantiles of the newest closed log period, sum and count over every closed period"
        )?;
        writeln!(out, "# TYPE {PREFIX}_{name} summary")?;
        if let Some(q) = quantiles {
            for (quantile, value) in [("0.5", q.p50), ("0.9", q.p90), ("0.99", q.p99)] {
                if let Some(value) = value {
                    writeln!(out, "{PREFIX}_{name}{{quantile=\"{quantile}\"}} {value:?}")?;
                }
            }
        }
        let sum = Stats::get(&totals.sum_micros) as f64 / 1e6;
        writeln!(out, "{PREFIX}_{name}_sum {sum:?}")?;
        writeln!(out, "{PREFIX}_{name}_count {}", Stats::get(&totals.count))?;
    }
    Ok(())
}

/// Whether an `Accept` header asks for OpenMetrics (Prometheus' scrapes do, first).
fn wants_openmetrics(accept: Option<&str>) -> bool {
    accept.is_some_and(|accept| {
        accept.split(',').any(|range| {
            let mut parts = range.split(';').map(str::trim);
            parts.next() == Some("application/openmetrics-text")
                && !parts.any(|p| p.strip_prefix("q=").is_some_and(|q| q.parse::<f64>() == Ok(0.0)))
        })
    })
}

/// The same metrics in the Prometheus text format 0.0.4: the samples are written alike; a
/// counter's HELP and TYPE name its sample (`x_total`) where OpenMetrics names the family
/// (`x`); and 0.0.4 has no `# UNIT` nor `# EOF`.
fn to_text_format(openmetrics: &str) -> String {
    let counters: std::collections::HashSet<&str> = openmetrics
        .lines()
        .filter_map(|line| line.strip_prefix("# TYPE ")?.strip_suffix(" counter"))
        .collect();
    let mut text = String::with_capacity(openmetrics.len() + 8 * counters.len());
    for line in openmetrics.lines() {
        if line == "# EOF" || line.starts_with("# UNIT ") {
            continue;
        }
        let descriptor = ["# HELP ", "# TYPE "].into_iter().find_map(|prefix| {
            let rest = line.strip_prefix(prefix)?;
            let (name, after) = rest.split_once(' ')?;
            counters.contains(name).then(|| format!("{prefix}{name}_total {after}"))
        });
        match descriptor {
            Some(renamed) => text.push_str(&renamed),
            None => text.push_str(line),
        }
        text.push('\n');
    }
    text
}

/// What "healthy" means: a recent successful sample and a recent successful publish.
#[derive(Debug, Clone, Copy)]
pub struct HealthPolicy {
    pub(crate) max_sample_age: Duration,
    pub(crate) max_publish_age: Duration,
}

impl HealthPolicy {
    pub fn new(sample_interval: Duration, period: Duration, operation_timeout: Duration) -> Self {
        HealthPolicy {
            max_sample_age: (sample_interval * 3).max(Duration::from_secs(3)),
            max_publish_age: period * 2 + operation_timeout + Duration::from_secs(5),
        }
    }
}

/// `Ok(status line)` when healthy, `Err(one-line reason)` otherwise (pure: `now` is an argument).
pub fn health(stats: &Stats, policy: &HealthPolicy, now: SystemTime) -> Result<&'static str, String> {
    let now = unix_ms(now);
    let age = |since: u64| Duration::from_millis(now.saturating_sub(since));
    let started = Stats::get(&stats.started_unix_ms);
    let last_sample = Stats::get(&stats.last_sample_ok_unix_ms);
    let last_publish = Stats::get(&stats.last_publish_unix_ms);
    let sample_age = age(if last_sample == 0 { started } else { last_sample });
    if sample_age > policy.max_sample_age {
        return Err(format!("no successful sample of nginx for {}s", sample_age.as_secs()));
    }
    let publish_age = age(if last_publish == 0 { started } else { last_publish });
    if publish_age > policy.max_publish_age {
        return Err(format!("no successful publish for {}s", publish_age.as_secs()));
    }
    Ok(if Stats::get(&stats.live.saturated) == 1 {
        "ok (nginx saturated: stub_status unanswered, publishing the accept queue)"
    } else {
        "ok"
    })
}

/// Serve /metrics and /healthz on `listener` (bound to `http.listen` by the caller, so that an
/// address in use is a startup error) until cancelled, behind its TLS and basic auth
/// ([`web::Guard`]).
pub async fn serve(
    listener: TcpListener,
    http: HttpConfig,
    stats: Arc<Stats>,
    last_log_period: LastLogPeriod,
    policy: HealthPolicy,
    clock: Clock,
    token: CancellationToken,
) -> std::io::Result<()> {
    let addr = http.listen;
    let guard = web::Guard::new(&http);
    let metrics = Arc::new(Metrics::new(stats.clone(), last_log_period, clock));
    tracing::info!(%addr, scheme = http.scheme(), guards = %http.guards(), "serving /metrics and /healthz");
    for risk in http.risks() {
        tracing::warn!(%addr, "/metrics: {risk}");
    }
    loop {
        let (stream, peer) = tokio::select! {
            () = token.cancelled() => return Ok(()),
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    MetricsAcceptFailed { error: &error }.emit();
                    continue;
                }
            },
        };
        let metrics = metrics.clone();
        let stats = stats.clone();
        let token = token.clone();
        let guard = guard.clone();
        tokio::spawn(async move {
            let stream = tokio::select! {
                handshake = guard.handshake(stream) => match handshake {
                    Ok(stream) => stream,
                    Err(reason) => {
                        MetricsConnectionDropped { peer, reason: &reason }.emit();
                        return;
                    }
                },
                () = token.cancelled() => return,
            };
            let service = hyper::service::service_fn(move |request: Request<hyper::body::Incoming>| {
                let metrics = metrics.clone();
                let stats = stats.clone();
                let guard = guard.clone();
                async move {
                    if !guard.authorized(web::authorization(&request)).await {
                        let mut response = text(StatusCode::UNAUTHORIZED, "text/plain", "unauthorized\n".into());
                        response.headers_mut().insert(
                            hyper::header::WWW_AUTHENTICATE,
                            hyper::header::HeaderValue::from_static(web::CHALLENGE),
                        );
                        return Ok::<_, Infallible>(response);
                    }
                    Ok::<_, Infallible>(respond(&request, &metrics, &stats, &policy))
                }
            });
            let connection = hyper::server::conn::http1::Builder::new()
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(Duration::from_secs(5))
                .serve_connection(TokioIo::new(stream), service);
            tokio::select! {
                _ = connection => {},
                () = token.cancelled() => {},
            }
        });
    }
}

fn text(status: StatusCode, content_type: &str, body: String) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header(hyper::header::CONTENT_TYPE, content_type)
        .body(Full::new(Bytes::from(body)))
        .unwrap_or_default()
}

fn respond(
    request: &Request<hyper::body::Incoming>,
    metrics: &Metrics,
    stats: &Stats,
    policy: &HealthPolicy,
) -> Response<Full<Bytes>> {
    if request.method() != Method::GET {
        return text(StatusCode::METHOD_NOT_ALLOWED, "text/plain", "GET only\n".into());
    }
    match request.uri().path() {
        "/metrics" => {
            let accept = request
                .headers()
                .get(hyper::header::ACCEPT)
                .and_then(|v| v.to_str().ok());
            match metrics.encode() {
                Ok(body) if wants_openmetrics(accept) => text(
                    StatusCode::OK,
                    "application/openmetrics-text; version=1.0.0; charset=utf-8",
                    body,
                ),
                Ok(body) => text(
                    StatusCode::OK,
                    "text/plain; version=0.0.4; charset=utf-8",
                    to_text_format(&body),
                ),
                Err(_) => text(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "text/plain",
                    "cannot encode metrics\n".into(),
                ),
            }
        }
        "/healthz" => match health(stats, policy, metrics.clock.now()) {
            Ok(status) => text(StatusCode::OK, "text/plain", format!("{status}\n")),
            Err(reason) => text(StatusCode::SERVICE_UNAVAILABLE, "text/plain", format!("{reason}\n")),
        },
        _ => text(StatusCode::NOT_FOUND, "text/plain", "try /metrics or /healthz\n".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_millis(ms)
    }

    fn policy() -> HealthPolicy {
        HealthPolicy::new(Duration::from_secs(1), Duration::from_secs(10), Duration::from_secs(5))
    }

    #[test]
    fn healthy_with_recent_sample_and_publish() {
        let stats = Stats::default();
        Stats::set(&stats.started_unix_ms, 1_000_000);
        Stats::set(&stats.last_sample_ok_unix_ms, 1_030_000);
        Stats::set(&stats.last_publish_unix_ms, 1_025_000);
        assert_eq!(health(&stats, &policy(), at(1_031_000)), Ok("ok"));
        Stats::set(&stats.live.saturated, 1);
        assert!(health(&stats, &policy(), at(1_031_000)).unwrap().contains("saturated"));
    }

    #[test]
    fn unhealthy_reasons() {
        let stats = Stats::default();
        Stats::set(&stats.started_unix_ms, 1_000_000);
        // Just started: grace until the first sample is due.
        assert!(health(&stats, &policy(), at(1_001_000)).is_ok());
        assert_eq!(
            health(&stats, &policy(), at(1_010_000)),
            Err("no successful sample of nginx for 10s".into())
        );
        Stats::set(&stats.last_sample_ok_unix_ms, 1_039_500);
        assert_eq!(
            health(&stats, &policy(), at(1_040_000)),
            Err("no successful publish for 40s".into())
        );
    }

    #[test]
    fn metrics_text_names_every_signal() {
        let stats = Arc::new(Stats::default());
        Stats::set(&stats.live.pending, 7);
        Stats::bump(&stats.samples_saturated);
        let body = Metrics::new(stats, tokio::sync::watch::channel(None).1, Clock::system())
            .encode()
            .unwrap();
        assert!(body.contains("nginx_backlog_pending_requests 7\n"), "{body}");
        assert!(
            body.contains("nginx_backlog_samples_total{result=\"saturated\"} 1\n"),
            "{body}"
        );
        assert!(!body.contains("summary"), "no access log, no summaries: {body}");
        assert!(body.ends_with("# EOF\n"));
    }

    #[test]
    fn the_newest_log_period_is_what_the_log_task_sent_last() {
        let stats = Arc::new(Stats::default());
        Stats::set(&stats.log.enabled, 1);
        let (sender, receiver) = tokio::sync::watch::channel(None);
        let metrics = Metrics::new(stats, receiver, Clock::system());
        assert!(
            !metrics.encode().unwrap().contains("log_period_completed"),
            "no period closed yet"
        );
        for (start_ms, completed) in [(20_000, 3), (30_000, 12)] {
            let mut period = crate::derive::log_metrics::quiet_period(start_ms, 10_000);
            period.completed = completed;
            sender.send_replace(Some(period));
        }
        let body = metrics.encode().unwrap();
        assert!(body.contains("nginx_backlog_log_period_completed 12\n"), "{body}");
        assert!(body.contains("nginx_backlog_log_period_start_seconds 30.0\n"), "{body}");
    }

    /// Issue 22: the quantiles were gauges with a `quantile` label, which promtool flags
    /// ("non-summary metrics should not have \"quantile\" label"). They are a summary: the
    /// newest period's quantiles, `_sum` and `_count` over every closed period.
    #[test]
    fn request_times_are_a_summary_with_sum_and_count_over_every_period() {
        let stats = Arc::new(Stats::default());
        Stats::set(&stats.log.enabled, 1);
        // Two closed periods: 3 requests taking 1.5 s in all, then 2 taking 0.25 s.
        stats.log.request_time.add(3, 1_500_000);
        stats.log.request_time.add(2, 250_000);
        let mut period = crate::derive::log_metrics::quiet_period(30_000, 10_000);
        period.request_time.p50 = Some(0.1);
        period.request_time.p90 = Some(0.15);
        period.request_time.p99 = Some(0.15);
        let (_sender, receiver) = tokio::sync::watch::channel(Some(period));
        let body = Metrics::new(stats, receiver, Clock::system()).encode().unwrap();
        let expected = concat!(
            "# TYPE nginx_backlog_log_request_time_seconds summary\n",
            "nginx_backlog_log_request_time_seconds{quantile=\"0.5\"} 0.1\n",
            "nginx_backlog_log_request_time_seconds{quantile=\"0.9\"} 0.15\n",
            "nginx_backlog_log_request_time_seconds{quantile=\"0.99\"} 0.15\n",
            "nginx_backlog_log_request_time_seconds_sum 1.75\n",
            "nginx_backlog_log_request_time_seconds_count 5\n",
            "# HELP nginx_backlog_log_upstream_response_time_seconds ",
        );
        assert!(body.contains(expected), "{body}");
        // No upstream time was logged: no quantile, and zeros that are true.
        let expected = concat!(
            "# TYPE nginx_backlog_log_upstream_response_time_seconds summary\n",
            "nginx_backlog_log_upstream_response_time_seconds_sum 0.0\n",
            "nginx_backlog_log_upstream_response_time_seconds_count 0\n",
            "# EOF\n",
        );
        assert!(body.ends_with(expected), "{body}");
        assert!(
            !body.contains("log_period_request_time"),
            "the old gauge is gone: {body}"
        );
    }

    /// Prometheus asks for OpenMetrics first; curl asks for anything.
    #[test]
    fn openmetrics_goes_to_those_who_ask_for_it() {
        let prometheus = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
        assert!(wants_openmetrics(Some(prometheus)));
        assert!(wants_openmetrics(Some("application/openmetrics-text; version=1.0.0")));
        assert!(!wants_openmetrics(Some("*/*")));
        assert!(!wants_openmetrics(None));
        assert!(!wants_openmetrics(Some(
            "text/plain, application/openmetrics-text; q=0"
        )));
    }

    /// The text format 0.0.4 (prometheus.io/docs/instrumenting/exposition_formats): a
    /// counter's HELP and TYPE lines name the sample, `x_total`; no `# EOF`.
    #[test]
    fn the_text_format_names_counters_by_their_samples() {
        let openmetrics = concat!(
            "# HELP nginx_backlog_samples samples taken, by result\n",
            "# TYPE nginx_backlog_samples counter\n",
            "nginx_backlog_samples_total{result=\"ok\"} 3\n",
            "# HELP nginx_backlog_pending_requests pending\n",
            "# TYPE nginx_backlog_pending_requests gauge\n",
            "nginx_backlog_pending_requests 7\n",
            "# EOF\n",
        );
        assert_eq!(
            to_text_format(openmetrics),
            concat!(
                "# HELP nginx_backlog_samples_total samples taken, by result\n",
                "# TYPE nginx_backlog_samples_total counter\n",
                "nginx_backlog_samples_total{result=\"ok\"} 3\n",
                "# HELP nginx_backlog_pending_requests pending\n",
                "# TYPE nginx_backlog_pending_requests gauge\n",
                "nginx_backlog_pending_requests 7\n",
            )
        );
    }
}
