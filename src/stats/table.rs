//! The one table of the exporter's own metrics: what `/metrics` exposes about the exporter,
//! and what the shutdown summary prints. A new counter is a field in [`Stats`] plus a row
//! here; the readers ([`crate::sinks::prometheus`], the daemon's "stopped" line) walk the
//! table and know no metric by name.

use std::fmt;

use super::{Stats, STATUS_CLASSES};
use crate::model::BadLine;

/// A Prometheus metric type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Counter,
    Gauge,
}

/// The base unit of a metric, whose name then ends in `_<unit>` (Prometheus' naming
/// convention). `/metrics` writes no `# UNIT` line: the names already say it, and the
/// exposition stays as it was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// A count of things (requests, lines, datapoints, calls).
    Count,
    Seconds,
    Bytes,
}

impl Unit {
    #[cfg(test)]
    pub(crate) fn suffix(self) -> Option<&'static str> {
        match self {
            Unit::Count => None,
            Unit::Seconds => Some("seconds"),
            Unit::Bytes => Some("bytes"),
        }
    }
}

/// When a metric is exposed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shown {
    Always,
    /// Only when the access-log source is configured.
    WithAccessLog,
}

/// One metric's value, read from [`Stats`] at the moment of asking.
#[derive(Debug, Clone, PartialEq)]
pub enum Reading {
    /// Written as an integer (a gauge's as a signed one, as before).
    Whole(u64),
    /// Written as a float (NaN when unknown).
    Real(f64),
    /// One value per value of `label`, in a fixed order.
    Labelled {
        label: &'static str,
        values: Vec<(&'static str, u64)>,
    },
}

/// One row of [`OWN_METRICS`].
#[derive(Debug, Clone, Copy)]
pub struct OwnMetric {
    /// Without the `nginx_backlog_` prefix, nor a counter's `_total`.
    pub name: &'static str,
    pub help: &'static str,
    pub kind: Kind,
    pub unit: Unit,
    pub shown: Shown,
    /// Whether the daemon's "stopped" line reports it (a labelled metric as `name_label=`).
    pub(crate) in_summary: bool,
    /// The value now; `now_unix_ms` is for ages.
    pub read: fn(&Stats, u64) -> Reading,
}

const fn metric(name: &'static str, kind: Kind, help: &'static str, read: fn(&Stats, u64) -> Reading) -> OwnMetric {
    OwnMetric {
        name,
        help,
        kind,
        unit: Unit::Count,
        shown: Shown::Always,
        in_summary: false,
        read,
    }
}

const fn log_metric(name: &'static str, kind: Kind, help: &'static str, read: fn(&Stats, u64) -> Reading) -> OwnMetric {
    OwnMetric {
        shown: Shown::WithAccessLog,
        ..metric(name, kind, help, read)
    }
}

impl OwnMetric {
    const fn in_summary(self) -> OwnMetric {
        OwnMetric {
            in_summary: true,
            ..self
        }
    }

    const fn unit(self, unit: Unit) -> OwnMetric {
        OwnMetric { unit, ..self }
    }
}

fn whole(counter: &std::sync::atomic::AtomicU64) -> Reading {
    Reading::Whole(Stats::get(counter))
}

fn by_result(values: Vec<(&'static str, u64)>) -> Reading {
    Reading::Labelled {
        label: "result",
        values,
    }
}

use Kind::{Counter, Gauge};

/// Every metric the exporter keeps about itself, in the order `/metrics` writes them (the
/// access log's newest-period gauges and its two summaries, which are the log's figures rather
/// than the exporter's health, follow the last [`Shown::WithAccessLog`] row).
pub const OWN_METRICS: &[OwnMetric] = &[
    metric(
        "pending_requests",
        Gauge,
        "PendingRequests of the latest sample (the published value)",
        |s, _| whole(&s.live.pending),
    ),
    metric(
        "in_flight_requests",
        Gauge,
        "stub_status Reading + Writing minus our own scrape",
        |s, _| whole(&s.live.in_flight),
    ),
    metric("reading_connections", Gauge, "stub_status Reading", |s, _| {
        whole(&s.live.reading)
    }),
    metric(
        "writing_connections",
        Gauge,
        "stub_status Writing (includes our scrape)",
        |s, _| whole(&s.live.writing),
    ),
    metric(
        "waiting_connections",
        Gauge,
        "stub_status Waiting: idle keep-alive and silent new connections, not the backlog",
        |s, _| whole(&s.live.waiting),
    ),
    metric("active_connections", Gauge, "stub_status Active connections", |s, _| {
        whole(&s.live.active)
    }),
    metric(
        "accept_queue_depth",
        Gauge,
        "connections in the kernel's accept queues of nginx's ports",
        |s, _| whole(&s.live.accept_queue),
    ),
    metric("accept_queue_limit", Gauge, "sum of the accept queues' limits", |s, _| {
        whole(&s.live.accept_queue_limit)
    }),
    metric(
        "requests_per_second",
        Gauge,
        "nginx requests per second between the last two readings (NaN after a counter reset)",
        |s, _| Reading::Real(Stats::get_f64(&s.live.requests_per_second_bits)),
    ),
    metric(
        "saturated",
        Gauge,
        "1 if the latest sample found nginx saturated (stub_status unanswered, kernel shows load)",
        |s, _| whole(&s.live.saturated),
    ),
    metric(
        "dropped_connections",
        Counter,
        "connections nginx accepted and dropped (growth of accepts - handled)",
        |s, _| whole(&s.live.dropped_connections),
    ),
    metric(
        "listen_overflows",
        Counter,
        "increase of TcpExt ListenOverflows, host-wide, every dropped SYN counted",
        |s, _| whole(&s.live.listen_overflows),
    ),
    metric(
        "listen_drops",
        Counter,
        "increase of TcpExt ListenDrops, host-wide",
        |s, _| whole(&s.live.listen_drops),
    ),
    metric("samples", Counter, "samples taken, by result", |s, _| {
        by_result(vec![
            ("ok", Stats::get(&s.samples_ok)),
            ("failed", Stats::get(&s.samples_failed)),
            ("saturated", Stats::get(&s.samples_saturated)),
        ])
    })
    .in_summary(),
    metric(
        "periods_blind",
        Counter,
        "periods with no successful sample, for which nothing was published",
        |s, _| whole(&s.periods_blind),
    )
    .in_summary(),
    metric("publish_calls", Counter, "PutMetricData calls, by result", |s, _| {
        by_result(vec![
            ("ok", Stats::get(&s.publish_calls_ok)),
            ("failed", Stats::get(&s.publish_calls_failed)),
        ])
    }),
    metric("datapoints_sent", Counter, "datapoints CloudWatch accepted", |s, _| {
        whole(&s.datapoints_sent)
    })
    .in_summary(),
    metric(
        "datapoints_dropped",
        Counter,
        "datapoints dropped: backlog full or older than CloudWatch accepts",
        |s, _| whole(&s.datapoints_dropped),
    ),
    metric(
        "datapoints_rejected",
        Counter,
        "datapoints CloudWatch rejected as invalid",
        |s, _| whole(&s.datapoints_rejected),
    ),
    metric("backlog_datapoints", Gauge, "datapoints waiting to be sent", |s, _| {
        whole(&s.backlog_len)
    }),
    metric("emf_lines_written", Counter, "EMF lines written", |s, _| {
        whole(&s.emf_lines_written)
    }),
    metric(
        "emf_lines_dropped",
        Counter,
        "EMF lines dropped: not writable, output behind, buffer full, or too long for UDP",
        |s, _| whole(&s.emf_lines_dropped),
    ),
    metric(
        "emf_lines_buffered",
        Gauge,
        "EMF lines waiting for the CloudWatch agent",
        |s, _| whole(&s.emf_lines_buffered),
    ),
    log_metric("log_lines_parsed", Counter, "access-log lines parsed", |s, _| {
        whole(&s.log.lines_parsed)
    }),
    log_metric(
        "log_lines_rejected",
        Counter,
        "access-log lines skipped, by reason",
        |s, _| Reading::Labelled {
            label: "reason",
            values: BadLine::ALL
                .iter()
                .map(|reason| (reason.label(), Stats::get(&s.log.lines_rejected[*reason as usize])))
                .collect(),
        },
    ),
    log_metric(
        "log_concurrency_excluded",
        Counter,
        "access-log lines left out of log_concurrency (access_log.concurrency_exclude_status, concurrency_max_request_time)",
        |s, _| whole(&s.log.concurrency_excluded),
    ),
    log_metric(
        "log_lines_late",
        Counter,
        "lines whose period had already closed",
        |s, _| whole(&s.log.lines_late),
    ),
    log_metric(
        "log_overlong_lines",
        Counter,
        "lines longer than the cap, skipped",
        |s, _| whole(&s.log.tail.overlong_lines),
    ),
    log_metric("log_rotations", Counter, "log rotations followed", |s, _| {
        whole(&s.log.tail.rotations)
    }),
    log_metric(
        "log_truncations",
        Counter,
        "log truncations (copytruncate) followed",
        |s, _| whole(&s.log.tail.truncations),
    ),
    log_metric(
        "log_periods_partial",
        Counter,
        "log periods not published because reading began inside them (start-up, restart)",
        |s, _| whole(&s.log.periods_partial),
    ),
    log_metric(
        "log_checkpoint_failures",
        Counter,
        "access-log checkpoint writes that failed (full or read-only state directory); reading went on",
        |s, _| whole(&s.log.tail.checkpoint_failures),
    ),
    log_metric(
        "log_possibly_lost_bytes",
        Counter,
        "bytes truncated away before they could be read",
        |s, _| whole(&s.log.tail.possibly_lost_bytes),
    )
    .unit(Unit::Bytes),
    log_metric(
        "log_requests_completed",
        Counter,
        "requests completed over every closed period, by status class",
        |s, _| Reading::Labelled {
            label: "class",
            values: STATUS_CLASSES
                .iter()
                .zip(&s.log.completed_by_class)
                .map(|(class, total)| (*class, Stats::get(total)))
                .collect(),
        },
    ),
    log_metric(
        "log_requests_499",
        Counter,
        "requests the client gave up on (499)",
        |s, _| whole(&s.log.status_499),
    ),
    log_metric("log_requests_5xx", Counter, "requests answered 5xx", |s, _| {
        whole(&s.log.status_5xx)
    }),
    metric(
        "last_publish_age_seconds",
        Gauge,
        "seconds since the last successful publish (NaN: none yet)",
        |s, now_unix_ms| {
            let last_publish = Stats::get(&s.last_publish_unix_ms);
            Reading::Real(if last_publish == 0 {
                f64::NAN
            } else {
                now_unix_ms.saturating_sub(last_publish) as f64 / 1000.0
            })
        },
    )
    .unit(Unit::Seconds),
];

/// The shutdown summary: `name=value` for every [`OwnMetric::in_summary`] row, a labelled
/// one as `name_label=value`, separated by spaces (the "stopped" line's fields).
pub struct Summary<'a>(pub &'a Stats);

impl fmt::Display for Summary<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut separator = "";
        for metric in OWN_METRICS.iter().filter(|m| m.in_summary) {
            match (metric.read)(self.0, 0) {
                Reading::Whole(value) => write!(f, "{separator}{}={value}", metric.name)?,
                Reading::Real(value) => write!(f, "{separator}{}={value}", metric.name)?,
                Reading::Labelled { values, .. } => {
                    for (label, value) in values {
                        write!(f, "{separator}{}_{label}={value}", metric.name)?;
                        separator = " ";
                    }
                }
            }
            separator = " ";
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_end_in_their_unit() {
        let mut seen = std::collections::HashSet::new();
        for metric in OWN_METRICS {
            assert!(seen.insert(metric.name), "{} twice", metric.name);
            // prometheus.io/docs/practices/naming: "should have a suffix describing the unit, in plural form".
            if let Some(unit) = metric.unit.suffix() {
                assert!(metric.name.ends_with(&format!("_{unit}")), "{}", metric.name);
            }
            // A counter's `_total` is added by the exposition, never written in the name.
            assert!(!metric.name.ends_with("_total"), "{}", metric.name);
        }
    }

    #[test]
    fn the_summary_reads_the_rows_marked_for_it() {
        let stats = Stats::default();
        Stats::set(&stats.samples_ok, 4);
        Stats::set(&stats.samples_failed, 2);
        Stats::set(&stats.periods_blind, 1);
        Stats::set(&stats.datapoints_sent, 3);
        assert_eq!(
            Summary(&stats).to_string(),
            "samples_ok=4 samples_failed=2 samples_saturated=0 periods_blind=1 datapoints_sent=3"
        );
    }

    #[test]
    fn the_age_of_the_last_publish_is_unknown_before_the_first() {
        let age = OWN_METRICS
            .iter()
            .find(|m| m.name == "last_publish_age_seconds")
            .unwrap()
            .read;
        let stats = Stats::default();
        assert!(matches!(age(&stats, 5_000), Reading::Real(v) if v.is_nan()));
        Stats::set(&stats.last_publish_unix_ms, 3_500);
        assert_eq!(age(&stats, 5_000), Reading::Real(1.5));
    }
}
