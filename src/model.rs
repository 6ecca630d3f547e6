//! The types between sources and sinks: what derive produces and sinks publish.

use std::time::SystemTime;

use serde::{Deserialize, Serialize};

/// CloudWatch's StatisticSet: a summary of the samples of one period.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct StatisticSet {
    pub sample_count: f64,
    pub sum: f64,
    pub minimum: f64,
    pub maximum: f64,
}

impl StatisticSet {
    pub fn of(value: f64) -> Self {
        StatisticSet {
            sample_count: 1.0,
            sum: value,
            minimum: value,
            maximum: value,
        }
    }

    pub fn add(&mut self, value: f64) {
        self.sample_count += 1.0;
        self.sum += value;
        self.minimum = self.minimum.min(value);
        self.maximum = self.maximum.max(value);
    }

    pub fn average(&self) -> f64 {
        self.sum / self.sample_count
    }
}

/// One period's figure of a published metric, stamped with the period's start.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Datapoint {
    pub timestamp: SystemTime,
    pub stats: StatisticSet,
    pub metric: Metric,
}

impl Datapoint {
    /// A datapoint of the scaling metric (`cloudwatch.metric_name`).
    pub fn pending(timestamp: SystemTime, stats: StatisticSet) -> Self {
        Datapoint {
            timestamp,
            stats,
            metric: Metric::Pending,
        }
    }
}

/// Which metric a datapoint belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Metric {
    /// The scaling metric: `cloudwatch.metric_name`, PendingRequests unless configured.
    Pending,
    /// An access-log signal the user asked to publish too (`access_log.publish`).
    Log(LogMetric),
}

/// Access-log signals that can be published as extra metrics, each under its own name with
/// the same dimensions as the scaling metric. One datapoint per period; a quantile of a
/// period without requests is not published (no data, never a made-up 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LogMetric {
    RequestsCompleted,
    Responses5xx,
    Responses499,
    RequestTimeP50,
    RequestTimeP90,
    RequestTimeP99,
    UpstreamResponseTimeP50,
    UpstreamResponseTimeP90,
    UpstreamResponseTimeP99,
    LogInFlightAverage,
    LogInFlightPeak,
}

impl LogMetric {
    pub(crate) const ALL: [LogMetric; 11] = [
        LogMetric::RequestsCompleted,
        LogMetric::Responses5xx,
        LogMetric::Responses499,
        LogMetric::RequestTimeP50,
        LogMetric::RequestTimeP90,
        LogMetric::RequestTimeP99,
        LogMetric::UpstreamResponseTimeP50,
        LogMetric::UpstreamResponseTimeP90,
        LogMetric::UpstreamResponseTimeP99,
        LogMetric::LogInFlightAverage,
        LogMetric::LogInFlightPeak,
    ];

    /// The CloudWatch metric name, which is also the name `access_log.publish` takes.
    pub fn name(self) -> &'static str {
        match self {
            LogMetric::RequestsCompleted => "RequestsCompleted",
            LogMetric::Responses5xx => "Responses5xx",
            LogMetric::Responses499 => "Responses499",
            LogMetric::RequestTimeP50 => "RequestTimeP50",
            LogMetric::RequestTimeP90 => "RequestTimeP90",
            LogMetric::RequestTimeP99 => "RequestTimeP99",
            LogMetric::UpstreamResponseTimeP50 => "UpstreamResponseTimeP50",
            LogMetric::UpstreamResponseTimeP90 => "UpstreamResponseTimeP90",
            LogMetric::UpstreamResponseTimeP99 => "UpstreamResponseTimeP99",
            LogMetric::LogInFlightAverage => "LogInFlightAverage",
            LogMetric::LogInFlightPeak => "LogInFlightPeak",
        }
    }

    pub(crate) fn from_name(name: &str) -> Option<LogMetric> {
        LogMetric::ALL.into_iter().find(|m| m.name() == name)
    }

    /// The nginx variables (without `$`) the log format must have for this metric.
    pub(crate) fn needed_variables(self) -> &'static [&'static str] {
        match self {
            LogMetric::RequestTimeP50
            | LogMetric::RequestTimeP90
            | LogMetric::RequestTimeP99
            | LogMetric::LogInFlightAverage
            | LogMetric::LogInFlightPeak => &["request_time"],
            LogMetric::UpstreamResponseTimeP50
            | LogMetric::UpstreamResponseTimeP90
            | LogMetric::UpstreamResponseTimeP99 => &["upstream_response_time"],
            LogMetric::RequestsCompleted | LogMetric::Responses5xx | LogMetric::Responses499 => &[],
        }
    }

    /// CloudWatch's StandardUnit name.
    pub fn unit(self) -> &'static str {
        match self {
            LogMetric::RequestTimeP50
            | LogMetric::RequestTimeP90
            | LogMetric::RequestTimeP99
            | LogMetric::UpstreamResponseTimeP50
            | LogMetric::UpstreamResponseTimeP90
            | LogMetric::UpstreamResponseTimeP99 => "Seconds",
            _ => "Count",
        }
    }

    /// A stable number for the spool file (never reuse one).
    pub fn code(self) -> u8 {
        match self {
            LogMetric::RequestsCompleted => 1,
            LogMetric::Responses5xx => 2,
            LogMetric::Responses499 => 3,
            LogMetric::RequestTimeP50 => 4,
            LogMetric::RequestTimeP90 => 5,
            LogMetric::RequestTimeP99 => 6,
            LogMetric::UpstreamResponseTimeP50 => 7,
            LogMetric::UpstreamResponseTimeP90 => 8,
            LogMetric::UpstreamResponseTimeP99 => 9,
            LogMetric::LogInFlightAverage => 10,
            LogMetric::LogInFlightPeak => 11,
        }
    }

    pub(crate) fn from_code(code: u8) -> Option<LogMetric> {
        LogMetric::ALL.into_iter().find(|m| m.code() == code)
    }
}

impl Metric {
    /// 0 for the scaling metric, else the log metric's code.
    pub fn code(self) -> u8 {
        match self {
            Metric::Pending => 0,
            Metric::Log(metric) => metric.code(),
        }
    }

    pub(crate) fn from_code(code: u8) -> Option<Metric> {
        match code {
            0 => Some(Metric::Pending),
            _ => LogMetric::from_code(code).map(Metric::Log),
        }
    }
}

/// Why an access-log line was skipped: a fixed set so counting needs no allocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BadLine {
    LiteralMismatch,
    TooFewFields,
    TrailingData,
    /// Longer than the line limit (`sources::access_log::MAX_LINE_BYTES`).
    TooLong,
    /// The time variable did not parse.
    BadTime,
    /// `$status` was not three digits.
    BadStatus,
    /// `$request_time` was neither a number of seconds nor `-` (nginx always writes a
    /// number: anything else is a corrupt line, not a request of unknown length).
    BadRequestTime,
}

impl BadLine {
    pub(crate) const COUNT: usize = 7;
    pub(crate) const ALL: [BadLine; BadLine::COUNT] = [
        BadLine::LiteralMismatch,
        BadLine::TooFewFields,
        BadLine::TrailingData,
        BadLine::TooLong,
        BadLine::BadTime,
        BadLine::BadStatus,
        BadLine::BadRequestTime,
    ];

    pub fn label(self) -> &'static str {
        match self {
            BadLine::LiteralMismatch => "literal_mismatch",
            BadLine::TooFewFields => "too_few_fields",
            BadLine::TrailingData => "trailing_data",
            BadLine::TooLong => "too_long",
            BadLine::BadTime => "bad_time",
            BadLine::BadStatus => "bad_status",
            BadLine::BadRequestTime => "bad_request_time",
        }
    }
}

/// nginx's connection and request counters at one instant, whichever source read them
/// (stub_status today; NGINX Plus's API gives the same figures).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Connections {
    /// Open client connections, including idle keep-alive (`Waiting`).
    pub active: u64,
    /// Connections accepted since nginx (re)started.
    pub accepts: u64,
    /// Connections handled; `accepts - handled` were dropped for lack of `worker_connections`.
    pub handled: u64,
    /// Requests since nginx (re)started.
    pub requests: u64,
    /// Connections whose request header is being read.
    pub reading: u64,
    /// Requests being processed or answered (includes waiting on the upstream and the scrape itself).
    pub writing: u64,
    /// Idle keep-alive and silent new connections: not the backlog.
    pub waiting: u64,
}

/// What one source read in one sample. Sources produce it and derive takes what is inside it,
/// so derive never knows where a reading came from. A new kind of reading is one more variant
/// here, with a derive step of its own.
#[derive(Debug, Clone, PartialEq)]
pub enum Reading {
    /// nginx's counters: the answer the saturation rules judge nginx by.
    Connections(Connections),
}

/// Why a source gave no reading, as the saturation rules need it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Unread {
    /// Timed out, refused or reset: what saturation looks like (and what "down" looks like).
    Unanswered,
    /// Answered with something that is not what was asked for: we cannot see nginx.
    Wrong,
}
