//! The access-log source, parsing half: a `log_format` compiled once ([`format`], read from
//! nginx.conf by [`nginx_conf`]), a zero-copy per-line [`matcher`], and [`values`] converters
//! for the few variables the signals need. [`RecordExtractor`] turns a matched line into a
//! [`CompletedRequest`], which `derive::log_signals` folds into per-period figures.
//!
//! ```text
//! bytes --for_each_line--> line --LineMatcher--> Fields (spans) --RecordExtractor--> CompletedRequest
//! ```
//!
//! **Bad lines are counted by reason and skipped** ([`BadLineCounts`]); they are never
//! logged in full above debug level.

pub mod format;
pub mod matcher;
pub mod nginx_conf;
pub mod values;

use std::io::Read;
use std::path::PathBuf;

pub use format::{Escape, FormatError, LogFormat, COMBINED};
pub use matcher::{Fields, LineMatcher, MatchError};
pub use values::TimeVariable;

use nginx_conf::NginxConfError;
use values::TimeParser;

/// Where the log format comes from. The config layer builds one of these and calls
/// [`compile_from_source`] during validation, so a bad format fails at startup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogFormatSource {
    /// nginx's built-in `combined`.
    Combined,
    /// A format string given directly (config key or `--log-format`).
    Inline { format: String, escape: Escape },
    /// `log_format NAME` read from an nginx.conf and the files it includes.
    Named { name: String, nginx_conf: PathBuf },
}

#[derive(Debug, thiserror::Error)]
pub enum LogFormatSourceError {
    #[error(transparent)]
    NginxConf(#[from] NginxConfError),
    #[error("{origin}: {source}")]
    Format {
        /// Where the format string came from, e.g. `log_format "main" in /etc/nginx/nginx.conf:31`.
        origin: String,
        source: FormatError,
    },
}

/// Compile the log format once, wherever it is defined.
pub fn compile_from_source(source: &LogFormatSource) -> Result<LogFormat, LogFormatSourceError> {
    match source {
        LogFormatSource::Combined => Ok(LogFormat::combined()),
        LogFormatSource::Inline { format, escape } => {
            LogFormat::compile(format, *escape).map_err(|source| LogFormatSourceError::Format {
                origin: "the log format".into(),
                source,
            })
        }
        LogFormatSource::Named { name, nginx_conf } => {
            let found = nginx_conf::find_log_format(nginx_conf, name)?;
            LogFormat::compile(&found.format, found.escape).map_err(|source| {
                LogFormatSourceError::Format {
                    origin: format!(
                        "log_format {name:?} in {}:{}",
                        found.file.display(),
                        found.line
                    ),
                    source,
                }
            })
        }
    }
}

/// One request as the signals see it; borrows from the line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CompletedRequest<'l> {
    /// When nginx logged it, i.e. when it ended (Unix ms).
    pub end_ms: i64,
    pub status: u16,
    /// `$request_time`; without it nothing is known about concurrency.
    pub request_time_us: Option<u64>,
    /// Sum of the parts of `$upstream_response_time` (see [`values::parse_upstream_sum_micros`]).
    pub upstream_time_us: Option<u64>,
    /// The raw value of the breakdown variable, if one is configured.
    pub breakdown: Option<&'l [u8]>,
}

/// Why a line was skipped: a fixed set so counting needs no allocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BadLine {
    LiteralMismatch,
    TooFewFields,
    TrailingData,
    /// Longer than [`MAX_LINE_BYTES`].
    TooLong,
    /// The time variable did not parse.
    BadTime,
    /// `$status` was not three digits.
    BadStatus,
}

impl BadLine {
    pub const ALL: [BadLine; 6] = [
        BadLine::LiteralMismatch,
        BadLine::TooFewFields,
        BadLine::TrailingData,
        BadLine::TooLong,
        BadLine::BadTime,
        BadLine::BadStatus,
    ];

    pub fn label(self) -> &'static str {
        match self {
            BadLine::LiteralMismatch => "literal_mismatch",
            BadLine::TooFewFields => "too_few_fields",
            BadLine::TrailingData => "trailing_data",
            BadLine::TooLong => "too_long",
            BadLine::BadTime => "bad_time",
            BadLine::BadStatus => "bad_status",
        }
    }
}

impl From<MatchError> for BadLine {
    fn from(error: MatchError) -> BadLine {
        match error {
            MatchError::LiteralMismatch => BadLine::LiteralMismatch,
            MatchError::TooFewFields { .. } => BadLine::TooFewFields,
            MatchError::TrailingData { .. } => BadLine::TrailingData,
        }
    }
}

/// Skipped lines by reason.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BadLineCounts {
    counts: [u64; BadLine::ALL.len()],
}

impl BadLineCounts {
    pub fn bump(&mut self, reason: BadLine) {
        self.counts[reason as usize] += 1;
    }

    pub fn get(&self, reason: BadLine) -> u64 {
        self.counts[reason as usize]
    }

    pub fn total(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// `(label, count)` for every reason with a non-zero count.
    pub fn nonzero(&self) -> impl Iterator<Item = (&'static str, u64)> + '_ {
        BadLine::ALL
            .iter()
            .map(|&reason| (reason.label(), self.get(reason)))
            .filter(|&(_, count)| count > 0)
    }
}

/// A format that lacks a variable the signals cannot do without.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MissingVariable {
    #[error("the log format has no $status")]
    Status,
    #[error("the log format has no time variable ($msec, $time_iso8601 or $time_local)")]
    Time,
    #[error("the breakdown variable ${0} is not in the log format")]
    Breakdown(String),
}

/// Pulls the signal variables out of matched lines. Positions are looked up once.
#[derive(Debug, Clone)]
pub struct RecordExtractor {
    status: usize,
    time: usize,
    time_parser: TimeParser,
    request_time: Option<usize>,
    upstream_response_time: Option<usize>,
    breakdown: Option<usize>,
}

impl RecordExtractor {
    /// `breakdown` is a variable name without `$`, e.g. `"host"` or `"upstream_addr"`.
    pub fn new(
        format: &LogFormat,
        breakdown: Option<&str>,
    ) -> Result<RecordExtractor, MissingVariable> {
        let status = format.position("status").ok_or(MissingVariable::Status)?;
        let (time, variable) = TimeVariable::PREFERENCE
            .iter()
            .find_map(|&(name, variable)| Some((format.position(name)?, variable)))
            .ok_or(MissingVariable::Time)?;
        let breakdown = match breakdown {
            Some(name) => Some(
                format
                    .position(name)
                    .ok_or_else(|| MissingVariable::Breakdown(name.into()))?,
            ),
            None => None,
        };
        Ok(RecordExtractor {
            status,
            time,
            time_parser: TimeParser::new(variable),
            request_time: format.position("request_time"),
            upstream_response_time: format.position("upstream_response_time"),
            breakdown,
        })
    }

    /// Whether concurrency can be derived (the format has `$request_time`).
    pub fn has_request_time(&self) -> bool {
        self.request_time.is_some()
    }

    pub fn extract<'l>(
        &mut self,
        fields: &Fields<'_, 'l>,
    ) -> Result<CompletedRequest<'l>, BadLine> {
        let end_ms = fields
            .get(self.time)
            .and_then(|raw| self.time_parser.parse_ms(raw))
            .ok_or(BadLine::BadTime)?;
        let status = fields
            .get(self.status)
            .and_then(values::parse_status)
            .ok_or(BadLine::BadStatus)?;
        let request_time_us = self
            .request_time
            .and_then(|at| fields.get(at))
            .and_then(values::parse_seconds_as_micros);
        let upstream_time_us = self
            .upstream_response_time
            .and_then(|at| fields.get(at))
            .and_then(values::parse_upstream_sum_micros);
        Ok(CompletedRequest {
            end_ms,
            status,
            request_time_us,
            upstream_time_us,
            breakdown: self.breakdown.and_then(|at| fields.get(at)),
        })
    }
}

/// Longest line handed on: longer ones are reported as [`BadLine::TooLong`] and skipped.
/// nginx's own log buffer is far smaller; this only stops a corrupt file eating memory.
pub const MAX_LINE_BYTES: usize = 64 * 1024;

/// How much is read per `read` call: big enough that syscalls do not show in profiles.
const READ_CHUNK_BYTES: usize = 1024 * 1024;

/// A line without its `\n`, or the news that one was too long to keep.
pub type LineItem<'a> = Result<&'a [u8], BadLine>;

/// Call `on_line` for every line of `reader` (a final line without `\n` included), splitting
/// with memchr inside one reused buffer: no allocation per line.
pub fn for_each_line<R: Read>(
    mut reader: R,
    mut on_line: impl FnMut(LineItem<'_>),
) -> std::io::Result<()> {
    let mut buffer = vec![0u8; READ_CHUNK_BYTES + MAX_LINE_BYTES];
    let mut filled = 0;
    // Inside a too-long line: drop bytes until its newline.
    let mut skipping = false;
    loop {
        let read = match reader.read(&mut buffer[filled..]) {
            Ok(read) => read,
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(error),
        };
        if read == 0 {
            if filled > 0 && !skipping {
                on_line(Ok(&buffer[..filled]));
            }
            return Ok(());
        }
        let end = filled + read;
        let mut start = 0;
        for newline in memchr::memchr_iter(b'\n', &buffer[filled..end]) {
            let at = filled + newline;
            if skipping {
                skipping = false;
            } else {
                on_line(Ok(&buffer[start..at]));
            }
            start = at + 1;
        }
        let pending = end - start;
        if skipping || pending > MAX_LINE_BYTES {
            if !skipping {
                on_line(Err(BadLine::TooLong));
            }
            skipping = true;
            filled = 0;
        } else {
            buffer.copy_within(start..end, 0);
            filled = pending;
        }
    }
}
