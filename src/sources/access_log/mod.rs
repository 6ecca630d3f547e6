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

pub mod checkpoint;
pub mod format;
mod line_parser;
mod lines;
pub mod matcher;
pub mod nginx_conf;
pub mod tail;
pub mod values;

use std::io::Read;
use std::path::PathBuf;

pub use crate::model::BadLine;

pub use format::{Escape, FormatError, LogFormat, COMBINED};
pub use line_parser::LineParser;
pub use lines::{for_each_line_in, Fed, LineChunks, LineItem, LineSplitter, MAX_LINE_BYTES};
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

/// Where the format came from, for messages: `nginx's default format combined`, `the log
/// format "$msec $status"`, `log_format "main" in /etc/nginx/nginx.conf`.
impl std::fmt::Display for LogFormatSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LogFormatSource::Combined => write!(f, "nginx's default format combined"),
            LogFormatSource::Inline { format, .. } => write!(f, "the log format {format:?}"),
            LogFormatSource::Named { name, nginx_conf } => {
                write!(f, "log_format {name:?} in {}", nginx_conf.display())
            }
        }
    }
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
pub(crate) fn compile_from_source(source: &LogFormatSource) -> Result<LogFormat, LogFormatSourceError> {
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
            LogFormat::compile(&found.format, found.escape).map_err(|source| LogFormatSourceError::Format {
                origin: format!("log_format {name:?} in {}:{}", found.file.display(), found.line),
                source,
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
    pub(crate) fn bump(&mut self, reason: BadLine) {
        self.counts[reason as usize] += 1;
    }

    pub fn add(&mut self, reason: BadLine, count: u64) {
        self.counts[reason as usize] += count;
    }

    /// Add every count of `other`, e.g. one chunk's to the total.
    pub(crate) fn merge(&mut self, other: &BadLineCounts) {
        for (total, count) in self.counts.iter_mut().zip(other.counts) {
            *total += count;
        }
    }

    pub fn get(&self, reason: BadLine) -> u64 {
        self.counts[reason as usize]
    }

    pub fn total(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// `(label, count)` for every reason with a non-zero count.
    pub(crate) fn nonzero(&self) -> impl Iterator<Item = (&'static str, u64)> + '_ {
        BadLine::ALL
            .iter()
            .map(|&reason| (reason.label(), self.get(reason)))
            .filter(|&(_, count)| count > 0)
    }

    /// `N bad` and, if any, `: reason=count ...`: the one-line form the log commands print.
    pub fn summary(&self) -> String {
        let reasons: Vec<String> = self
            .nonzero()
            .map(|(label, count)| format!("{label}={count}"))
            .collect();
        if reasons.is_empty() {
            format!("{} bad", self.total())
        } else {
            format!("{} bad: {}", self.total(), reasons.join(" "))
        }
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
    spreader: Option<SecondSpreader>,
}

/// `$time_local` and `$time_iso8601` only give the second, which would put every request
/// of a second at its first millisecond and make the in-flight peak meaningless. nginx
/// writes lines about in end order, so the k-th line of a second is placed k/n of the way
/// into it, n being the previous second's count (capped at 999 ms; the first second and
/// lines from an earlier second stay at the second's start). The period a line counts in
/// never changes: periods are whole seconds.
#[derive(Debug, Clone, Default)]
struct SecondSpreader {
    second_ms: i64,
    index: u64,
    previous_count: u64,
    /// `index * 1000 / previous_count` as quotient and remainder, kept up to date by adding
    /// `1000 / previous_count` (and its remainder) per line: one division per second instead
    /// of one per line (a 64-bit division is tens of cycles; seen in perf).
    offset: u64,
    offset_remainder: u64,
    step: u64,
    step_remainder: u64,
}

impl SecondSpreader {
    fn place(&mut self, second_ms: i64) -> i64 {
        if second_ms < self.second_ms {
            return second_ms;
        }
        if second_ms > self.second_ms {
            self.previous_count = if second_ms == self.second_ms + 1000 {
                self.index
            } else {
                0
            };
            self.second_ms = second_ms;
            self.index = 0;
            self.offset = 0;
            self.offset_remainder = 0;
            (self.step, self.step_remainder) = match self.previous_count {
                0 => (0, 0),
                count => (1000 / count, 1000 % count),
            };
        }
        let offset = self.offset.min(999) as i64;
        self.index += 1;
        self.offset += self.step;
        self.offset_remainder += self.step_remainder;
        if self.previous_count > 0 && self.offset_remainder >= self.previous_count {
            self.offset_remainder -= self.previous_count;
            self.offset += 1;
        }
        second_ms + offset
    }
}

impl RecordExtractor {
    /// `breakdown` is a variable name without `$`, e.g. `"host"` or `"upstream_addr"`.
    pub fn new(format: &LogFormat, breakdown: Option<&str>) -> Result<RecordExtractor, MissingVariable> {
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
            spreader: (variable != TimeVariable::Msec).then(SecondSpreader::default),
        })
    }

    /// Whether concurrency can be derived (the format has `$request_time`).
    pub(crate) fn has_request_time(&self) -> bool {
        self.request_time.is_some()
    }

    /// The variable whose value a line was skipped for (see [`LineParser::variable_of`]).
    pub(crate) fn variable_of(&self, reason: BadLine) -> Option<&'static str> {
        match reason {
            BadLine::BadTime => Some(self.time_parser.variable().name()),
            BadLine::BadStatus => Some("status"),
            BadLine::BadRequestTime => Some("request_time"),
            BadLine::LiteralMismatch | BadLine::TooFewFields | BadLine::TrailingData | BadLine::TooLong => None,
        }
    }

    pub fn extract<'l>(&mut self, fields: &Fields<'_, 'l>) -> Result<CompletedRequest<'l>, BadLine> {
        let end_ms = self.logged_ms(fields)?;
        let end_ms = self.place(end_ms);
        let status = self.status(fields)?;
        let (request_time_us, upstream_time_us) = self.durations(fields)?;
        Ok(CompletedRequest {
            end_ms,
            status,
            request_time_us,
            upstream_time_us,
            breakdown: self.breakdown.and_then(|at| fields.get(at)),
        })
    }

    /// The part of [`RecordExtractor::extract`] that needs only this line, so lines can be
    /// extracted in parallel and then [`placed`](RecordExtractor::place) in order. `Err` only
    /// for a time that does not parse: a line with a bad `$status` or `$request_time` still
    /// moves the spreading (as in [`RecordExtractor::extract`]), so that comes back as the
    /// [`LineRequest::status`] error.
    pub fn extract_line(&mut self, fields: &Fields<'_, '_>) -> Result<LineRequest, BadLine> {
        let logged_ms = self.logged_ms(fields)?;
        let status = self.status(fields);
        let (status, (request_time_us, upstream_time_us)) = match (status, self.durations(fields)) {
            (Ok(status), Ok(durations)) => (Ok(status), durations),
            (Err(reason), _) | (Ok(_), Err(reason)) => (Err(reason), (None, None)),
        };
        Ok(LineRequest {
            logged_ms,
            status,
            request_time_us,
            upstream_time_us,
        })
    }

    #[inline(always)]
    fn logged_ms(&mut self, fields: &Fields<'_, '_>) -> Result<i64, BadLine> {
        fields
            .get(self.time)
            .and_then(|raw| self.time_parser.parse_ms(raw))
            .ok_or(BadLine::BadTime)
    }

    #[inline(always)]
    fn status(&self, fields: &Fields<'_, '_>) -> Result<u16, BadLine> {
        fields
            .get(self.status)
            .and_then(values::parse_status)
            .ok_or(BadLine::BadStatus)
    }

    /// `$request_time` and `$upstream_response_time` in microseconds. A `$request_time`
    /// that is neither a number nor `-` is a bad line; a bad `$upstream_response_time` only
    /// leaves that value out (`-` and odd lists are common there, see
    /// [`values::parse_upstream_sum_micros`]).
    #[inline(always)]
    fn durations(&self, fields: &Fields<'_, '_>) -> Result<(Option<u64>, Option<u64>), BadLine> {
        let request_time_us = match self.request_time.and_then(|at| fields.get(at)) {
            Some(raw) => match values::parse_seconds_as_micros(raw) {
                Some(micros) => Some(micros),
                None => unset_or_bad_request_time(raw)?,
            },
            None => None,
        };
        let upstream_time_us = self
            .upstream_response_time
            .and_then(|at| fields.get(at))
            .and_then(values::parse_upstream_sum_micros);
        Ok((request_time_us, upstream_time_us))
    }

    /// The end time of a line with a parsed time, spread within its second for whole-second
    /// time variables. Depends on the lines before: call it once per such line, in order.
    #[inline(always)]
    pub fn place(&mut self, logged_ms: i64) -> i64 {
        match self.spreader.as_mut() {
            Some(spreader) => spreader.place(logged_ms),
            None => logged_ms,
        }
    }

    /// Whether [`RecordExtractor::place`] changes anything, i.e. lines with a bad `$status`
    /// must still be placed.
    pub(crate) fn spreads(&self) -> bool {
        self.spreader.is_some()
    }

    /// Where the breakdown value lies in the line (see [`Fields::span`]).
    pub(crate) fn breakdown_span(&self, fields: &Fields<'_, '_>) -> Option<std::ops::Range<usize>> {
        self.breakdown.and_then(|at| fields.span(at))
    }
}

/// A `$request_time` that did not parse: `-` is unset, anything else a bad line. Cold and
/// out of line so the common path stays as it was before this check (+7 instructions per
/// line inline, in callgrind).
#[cold]
#[inline(never)]
fn unset_or_bad_request_time(raw: &[u8]) -> Result<Option<u64>, BadLine> {
    if raw == b"-" {
        Ok(None)
    } else {
        Err(BadLine::BadRequestTime)
    }
}

/// What one line says on its own ([`RecordExtractor::extract_line`]): no borrow, so it can
/// be sent between threads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineRequest {
    /// The time as logged, before spreading within its second.
    pub logged_ms: i64,
    /// `$status`, or why the line is skipped although its time counts in the spreading: a
    /// bad `$status` or a bad `$request_time` (then both durations are `None`).
    pub status: Result<u16, BadLine>,
    pub request_time_us: Option<u64>,
    pub upstream_time_us: Option<u64>,
}

/// How much [`for_each_line`] reads per `read` call: big enough that syscalls do not show in
/// profiles.
const READ_CHUNK_BYTES: usize = 1024 * 1024;

/// Call `on_line` for every line of `reader` (a final line without `\n` included), split by
/// the one [`LineSplitter`] inside one reused buffer: no allocation per line.
#[inline(never)]
pub(crate) fn for_each_line<R: Read>(mut reader: R, mut on_line: impl FnMut(LineItem<'_>)) -> std::io::Result<()> {
    let mut buffer = vec![0u8; READ_CHUNK_BYTES];
    let mut splitter = LineSplitter::default();
    loop {
        let read = match reader.read(&mut buffer) {
            Ok(0) => break,
            Ok(read) => read,
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(error),
        };
        splitter.feed(&buffer[..read], usize::MAX, &mut on_line);
    }
    splitter.finish(on_line);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::path::Path;

    const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/access_log");

    #[test]
    fn the_bad_line_summary_names_each_reason_seen() {
        let mut counts = BadLineCounts::default();
        assert_eq!(counts.summary(), "0 bad");
        counts.bump(BadLine::TooLong);
        counts.add(BadLine::LiteralMismatch, 2);
        assert_eq!(counts.summary(), "3 bad: literal_mismatch=2 too_long=1");
    }

    /// What the signals see of one line: `(end_ms, status, request_time_us, upstream_time_us)`.
    type Seen = (i64, u16, Option<u64>, Option<u64>);

    /// Read `log_format NAME` from the fixture nginx.conf (the one that wrote the fixtures),
    /// match every line of `log`, and compare what the signals would see.
    fn check(name: &str, log: &str, expected: &[Seen]) {
        let format = compile_from_source(&LogFormatSource::Named {
            name: name.into(),
            nginx_conf: Path::new(FIXTURES).join("nginx.conf"),
        })
        .unwrap();
        let mut matcher = LineMatcher::new(format.clone());
        let mut extractor = RecordExtractor::new(&format, None).unwrap();
        let text = std::fs::read(Path::new(FIXTURES).join(log)).unwrap();
        let mut seen = Vec::new();
        for_each_line(&text[..], |item| {
            let line = item.unwrap();
            let fields = matcher
                .match_line(line)
                .unwrap_or_else(|error| panic!("{log}: {error} in {:?}", String::from_utf8_lossy(line)));
            let request = extractor.extract(&fields).unwrap();
            seen.push((
                request.end_ms,
                request.status,
                request.request_time_us,
                request.upstream_time_us,
            ));
        })
        .unwrap();
        assert_eq!(seen, expected, "{log}");
    }

    const T16: i64 = 1_795_378_996_000;

    #[test]
    fn nginx_1_22_combined() {
        let statuses = [200, 200, 200, 200, 200, 200, 200, 502, 502, 200, 499, 400, 200, 200];
        let expected: Vec<Seen> = statuses
            .iter()
            .zip(WHOLE_SECONDS)
            .map(|(&status, ms)| (T16 + ms, status, None, None))
            .collect();
        check("combined", "nginx-1.22-combined.log", &expected);
    }

    /// `$request_time` and `$upstream_response_time` as nginx wrote them for the fixture
    /// requests: retries (`0.000, 0.000`), an internal redirect (`0.000 : 0.000`), a 499
    /// after 1.002 s, a TLS hello answered 400 with no upstream (`-`).
    const TIMES: [(u16, Option<u64>, Option<u64>); 14] = [
        (200, Some(0), Some(0)),
        (200, Some(0), Some(0)),
        (200, Some(0), None),
        (200, Some(0), None),
        (200, Some(0), Some(0)),
        (200, Some(1_000), Some(0)),
        (200, Some(0), Some(0)),
        (502, Some(0), Some(0)),
        (502, Some(0), Some(0)),
        (200, Some(1_000), Some(0)),
        (499, Some(1_002_000), Some(1_002_000)),
        (400, Some(3_000), None),
        (200, Some(0), None),
        (200, Some(0), None),
    ];

    fn with_ends(ends: &[i64]) -> Vec<Seen> {
        ends.iter()
            .zip(TIMES)
            .map(|(&end, (status, rt, urt))| (end, status, rt, urt))
            .collect()
    }

    const MSEC: [i64; 14] = [
        515, 547, 568, 613, 631, 737, 764, 791, 830, 889, 1_982, 2_647, 3_520, 3_613,
    ];
    /// `$time_local` gives whole seconds; the second line of 20:23:19 is spread to its end
    /// because 20:23:18 had one line (see `SecondSpreader`).
    const WHOLE_SECONDS: [i64; 14] = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1_000, 2_000, 3_000, 3_999];

    #[test]
    fn nginx_1_22_timed_default_escaping() {
        let ends: Vec<i64> = WHOLE_SECONDS.iter().map(|ms| T16 + ms).collect();
        check("timed", "nginx-1.22-timed.log", &with_ends(&ends));
    }

    #[test]
    fn nginx_1_22_msec_and_upstream_lists() {
        let ends: Vec<i64> = MSEC.iter().map(|ms| T16 + ms).collect();
        check("full", "nginx-1.22-full.log", &with_ends(&ends));
    }

    #[test]
    fn nginx_1_22_json_escaping() {
        let ends: Vec<i64> = WHOLE_SECONDS.iter().map(|ms| T16 + ms).collect();
        check("jsonl", "nginx-1.22-json.log", &with_ends(&ends));
    }

    #[test]
    fn nginx_1_22_no_escaping() {
        let ends: Vec<i64> = MSEC.iter().map(|ms| T16 + ms).collect();
        check("raw", "nginx-1.22-raw.log", &with_ends(&ends));
    }

    #[test]
    fn nginx_1_22_escaped_values_unescape() {
        let full = std::fs::read(Path::new(FIXTURES).join("nginx-1.22-full.log")).unwrap();
        let json = std::fs::read(Path::new(FIXTURES).join("nginx-1.22-json.log")).unwrap();
        let ua_of = |text: &[u8], format: &str, escape: Escape, line: usize| {
            let mut matcher = LineMatcher::new(LogFormat::compile(format, escape).unwrap());
            let row = text.split(|&b| b == b'\n').nth(line).unwrap();
            let at = matcher.format().position("http_user_agent").unwrap();
            let fields = matcher.match_line(row).unwrap();
            values::unescape(escape, fields.get(at).unwrap()).into_owned()
        };
        let full_format = compile_from_source(&LogFormatSource::Named {
            name: "full".into(),
            nginx_conf: Path::new(FIXTURES).join("nginx.conf"),
        })
        .unwrap();
        let json_format = r#"{"time":"$time_iso8601","request":"$request","status":"$status","request_time":"$request_time","upstream_response_time":"$upstream_response_time","upstream_addr":"$upstream_addr","ua":"$http_user_agent","user":"$remote_user"}"#;
        for (line, want) in [(2, &b"say \"hi\" \\ back"[..]), (3, b"caf\xc3\xa9 \xff\xfe\x01")] {
            assert_eq!(ua_of(&full, full_format.source(), Escape::Default, line), want);
            assert_eq!(ua_of(&json, json_format, Escape::Json, line), want);
        }
    }

    #[test]
    fn bad_lines_are_counted_by_reason() {
        let mut matcher = LineMatcher::new(LogFormat::combined());
        let mut extractor = RecordExtractor::new(matcher.format(), None).unwrap();
        let mut bad = BadLineCounts::default();
        let long = vec![b'x'; MAX_LINE_BYTES + 10];
        let mut input = b"garbage\n".to_vec();
        input.extend_from_slice(&long);
        input.extend_from_slice(b"\n1.2.3.4 - - [bad time] \"GET / HTTP/1.1\" 200 1 \"-\" \"-\"\n");
        input.extend_from_slice(b"1.2.3.4 - - [22/Nov/2026:19:49:22 +0000] \"GET / HTTP/1.1\" 2xx 1 \"-\" \"-\"\n");
        input.extend_from_slice(b"1.2.3.4 - - [22/Nov/2026:19:49:22 +0000] \"GET / HTTP/1.1\" 200 1 \"-\" \"-\"");
        let mut good = 0;
        for_each_line(&input[..], |item| {
            let result = item
                .and_then(|line| matcher.match_line(line).map_err(BadLine::from))
                .and_then(|fields| extractor.extract(&fields));
            match result {
                Ok(_) => good += 1,
                Err(reason) => bad.bump(reason),
            }
        })
        .unwrap();
        assert_eq!(good, 1, "the last line has no newline and still counts");
        let counts: Vec<(&str, u64)> = bad.nonzero().collect();
        assert_eq!(
            counts,
            vec![
                ("too_few_fields", 1),
                ("too_long", 1),
                ("bad_time", 1),
                ("bad_status", 1)
            ]
        );
    }

    /// Issue 15: a `$request_time` that is not a number was taken as "no request time" and
    /// the line kept; it is a bad line, on the single-threaded path and the parallel one
    /// alike, while `-` (unset) and a bad `$upstream_response_time` still only lose a value.
    #[test]
    fn a_request_time_that_is_not_a_number_is_a_bad_line() {
        let format = LogFormat::compile(
            "$remote_addr [$time_local] $status $request_time $upstream_response_time",
            Escape::Default,
        )
        .unwrap();
        let mut matcher = LineMatcher::new(format.clone());
        let line = |request_time: &str, upstream: &str| {
            format!("10.0.0.1 [22/Nov/2026:19:49:22 +0000] 200 {request_time} {upstream}").into_bytes()
        };
        type Durations = Result<(Option<u64>, Option<u64>), BadLine>;
        let cases: &[(&str, &str, Durations)] = &[
            ("0.003", "0.002", Ok((Some(3_000), Some(2_000)))),
            ("12.5", "-", Ok((Some(12_500_000), None))),
            ("-", "0.002", Ok((None, Some(2_000)))),
            ("0.003", "abc", Ok((Some(3_000), None))),
            ("abc", "0.002", Err(BadLine::BadRequestTime)),
            ("1.2.3", "0.002", Err(BadLine::BadRequestTime)),
            ("0.00x", "0.002", Err(BadLine::BadRequestTime)),
            ("--", "0.002", Err(BadLine::BadRequestTime)),
        ];
        for (request_time, upstream, want) in cases {
            let text = line(request_time, upstream);
            let fields = matcher.match_line(&text).unwrap();
            let mut extractor = RecordExtractor::new(&format, None).unwrap();
            let got = extractor
                .extract(&fields)
                .map(|request| (request.request_time_us, request.upstream_time_us));
            assert_eq!(
                &got, want,
                "extract: request_time {request_time:?} upstream {upstream:?}"
            );
            // The parallel path keeps the line's time (it still counts in the spreading) and
            // says why it is skipped where a bad $status would be.
            let mut extractor = RecordExtractor::new(&format, None).unwrap();
            let parallel = extractor.extract_line(&fields).unwrap();
            assert_eq!(parallel.logged_ms, 1_795_376_962_000);
            let got = parallel
                .status
                .map(|status| (status, parallel.request_time_us, parallel.upstream_time_us));
            let want = want.map(|(request_time_us, upstream_time_us)| (200, request_time_us, upstream_time_us));
            assert_eq!(
                got, want,
                "extract_line: request_time {request_time:?} upstream {upstream:?}"
            );
        }
        // A bad $status is reported before a bad $request_time, on both paths.
        let text = b"10.0.0.1 [22/Nov/2026:19:49:22 +0000] 2x0 abc 0.002";
        let fields = matcher.match_line(text).unwrap();
        let mut extractor = RecordExtractor::new(&format, None).unwrap();
        assert_eq!(extractor.extract(&fields).map(|_| ()), Err(BadLine::BadStatus));
        assert_eq!(extractor.extract_line(&fields).unwrap().status, Err(BadLine::BadStatus));
        assert_eq!(BadLine::BadRequestTime.label(), "bad_request_time");
    }

    proptest! {
        /// `extract` (single-threaded replay, the daemon) and `extract_line` + `place` (the
        /// parallel replay) agree on every line: the same verdict and the same values, with
        /// times, statuses and durations drawn from good and bad shapes alike.
        #[test]
        fn extract_and_extract_line_agree(
            lines in proptest::collection::vec(
                (
                    prop_oneof![Just("22/Nov/2026:19:49:22 +0000"), Just("22/Nov/2026:19:49:23 +0000"), Just("bad time")],
                    prop_oneof![Just("200"), Just("499"), Just("2x0"), Just("-")],
                    prop_oneof![Just("0.003"), Just("12.5"), Just("-"), Just("abc"), Just(""), Just("1.2.3"), Just("7")],
                    prop_oneof![Just("0.002"), Just("-"), Just("0.000, 0.003"), Just("junk")],
                ),
                1..40,
            ),
        ) {
            let format = LogFormat::compile(
                "[$time_local] $status $request_time $upstream_response_time",
                Escape::Default,
            )
            .unwrap();
            let mut matcher = LineMatcher::new(format.clone());
            let mut whole = RecordExtractor::new(&format, None).unwrap();
            let mut per_line = RecordExtractor::new(&format, None).unwrap();
            for (time, status, request_time, upstream) in lines {
                let text = format!("[{time}] {status} {request_time} {upstream}");
                let fields = matcher.match_line(text.as_bytes()).unwrap();
                let want = whole.extract(&fields).map(|request| {
                    (request.end_ms, request.status, request.request_time_us, request.upstream_time_us)
                });
                let got = per_line.extract_line(&fields).and_then(|line| {
                    // Placed whenever the time parsed, as replay's main thread does.
                    let end_ms = per_line.place(line.logged_ms);
                    line.status
                        .map(|status| (end_ms, status, line.request_time_us, line.upstream_time_us))
                });
                prop_assert_eq!(got, want, "line {:?}", text);
            }
        }
    }

    /// Hands out input a read at a time, cycling through `sizes`: 0 is an `Interrupted`
    /// error, anything else at most that many bytes (a pipe, the gzip decoder).
    struct Trickle<'a> {
        input: &'a [u8],
        sizes: Vec<usize>,
        reads: usize,
    }

    impl Read for Trickle<'_> {
        fn read(&mut self, buffer: &mut [u8]) -> std::io::Result<usize> {
            let size = self.sizes[self.reads % self.sizes.len()];
            self.reads += 1;
            if size == 0 {
                return Err(std::io::ErrorKind::Interrupted.into());
            }
            let size = size.min(buffer.len()).min(self.input.len());
            buffer[..size].copy_from_slice(&self.input[..size]);
            self.input = &self.input[size..];
            Ok(size)
        }
    }

    /// Lines as [`for_each_line`] gives them: the kept ones in order, and how many were too long.
    type Split = (Vec<Vec<u8>>, u64);

    fn split_whole(input: &[u8]) -> Split {
        let (mut kept, mut too_long) = (Vec::new(), 0);
        for_each_line(input, |item| match item {
            Ok(line) => kept.push(line.to_vec()),
            Err(_) => too_long += 1,
        })
        .unwrap();
        (kept, too_long)
    }

    /// The same through [`LineChunks`] and [`for_each_line_in`], checking that every chunk
    /// but the last ends a line and that each line's start is where it is.
    fn split_in_chunks(reader: impl Read, chunk_bytes: usize) -> Split {
        let mut chunks = LineChunks::new(reader, chunk_bytes);
        let (mut kept, mut too_long) = (Vec::new(), 0);
        let mut buffer = Vec::new();
        let mut previous_unterminated = false;
        while let Some(len) = chunks.next_chunk(&mut buffer, &mut too_long).unwrap() {
            assert!(!previous_unterminated, "only the last chunk may end without a newline");
            assert!(len > 0 && len <= chunks.buffer_len());
            let chunk = &buffer[..len];
            for_each_line_in(chunk, |start, item| match item {
                Ok(line) => {
                    assert_eq!(&chunk[start..start + line.len()], line);
                    kept.push(line.to_vec());
                }
                Err(_) => too_long += 1,
            });
            previous_unterminated = chunk.last() != Some(&b'\n');
        }
        (kept, too_long)
    }

    /// A short line of any bytes but `\n`, or one of `len` bytes around [`MAX_LINE_BYTES`].
    fn some_line() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            8 => proptest::collection::vec(any::<u8>().prop_filter("not a newline", |&b| b != b'\n'), 0..40),
            1 => (MAX_LINE_BYTES - 2..=MAX_LINE_BYTES + 2).prop_map(|len| vec![b'x'; len]),
            1 => Just(vec![b'y'; 2 * MAX_LINE_BYTES + 7]),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Chunked splitting sees the lines whole-input splitting sees, whatever the chunk
        /// size and however the reads fall: lines longer than a chunk, too-long lines cut
        /// anywhere, a last line without newline, interrupted reads.
        #[test]
        fn chunks_split_into_the_same_lines(
            lines in proptest::collection::vec(some_line(), 0..24),
            final_newline: bool,
            chunk_bytes in prop_oneof![1..300usize, Just(READ_CHUNK_BYTES)],
            sizes in proptest::collection::vec(prop_oneof![1 => Just(0usize), 6 => 1..70_000usize], 1..6),
        ) {
            let mut input = lines.join(&b'\n');
            if final_newline && !lines.is_empty() {
                input.push(b'\n');
            }
            prop_assume!(sizes.iter().any(|&size| size > 0));
            let whole = split_whole(&input);
            let chunked = split_in_chunks(Trickle { input: &input, sizes, reads: 0 }, chunk_bytes);
            prop_assert_eq!(chunked.1, whole.1, "too-long lines");
            prop_assert!(chunked.0 == whole.0, "kept lines differ");
        }
    }

    #[test]
    fn second_resolution_times_are_spread_over_the_second() {
        let mut spreader = SecondSpreader::default();
        let placed: Vec<i64> = [1000, 1000, 2000, 2000, 2000, 2000, 1000, 3000, 3000, 9000]
            .iter()
            .map(|&second| spreader.place(second))
            .collect();
        // First second: nothing known yet. Then 2 per second before, 4 now, so the 3rd and
        // 4th are capped; a late line keeps its second; a gap forgets the rate.
        assert_eq!(placed, [1000, 1000, 2000, 2500, 2999, 2999, 1000, 3000, 3250, 9000]);
    }

    #[test]
    fn spreading_matches_the_division_it_replaces() {
        // For every count of lines in the previous second, each line's offset is exactly
        // index * 1000 / count, capped at 999.
        for previous in 1..=2_100u64 {
            let mut spreader = SecondSpreader::default();
            for _ in 0..previous {
                spreader.place(1_000);
            }
            for index in 0..previous + 5 {
                let want = 2_000 + (index * 1000 / previous).min(999) as i64;
                assert_eq!(spreader.place(2_000), want, "line {index} after {previous}");
            }
        }
    }

    #[test]
    fn missing_variables_are_named() {
        let format = LogFormat::compile("$status $request_time", Escape::Default).unwrap();
        assert_eq!(RecordExtractor::new(&format, None).unwrap_err(), MissingVariable::Time);
        let format = LogFormat::compile("$msec $status", Escape::Default).unwrap();
        assert_eq!(
            RecordExtractor::new(&format, Some("host")).unwrap_err(),
            MissingVariable::Breakdown("host".into())
        );
    }

    /// Literals that hold a `"`, which both default and json escaping keep out of values.
    const LITERALS: &[&str] = &["\"", "\" \"", "\" - \"", "|\"", "\" [", "\"\t\"", "\",\"b\":\""];
    const PREFIXES: &[&str] = &["", "[", "\"", "{\"a\":\""];

    /// Escaping, prefix index, `(value, literal index, braced)` per variable, last literal.
    type LineCase = (Escape, usize, Vec<(Vec<u8>, usize, bool)>, Option<usize>);

    fn line_case() -> impl Strategy<Value = LineCase> {
        (
            prop_oneof![Just(Escape::Default), Just(Escape::Json)],
            0..PREFIXES.len(),
            proptest::collection::vec(
                (
                    proptest::collection::vec(any::<u8>(), 0..24),
                    0..LITERALS.len(),
                    any::<bool>(),
                ),
                1..7,
            ),
            proptest::option::of(0..LITERALS.len()),
        )
    }

    proptest! {
        /// Render random values (quotes, backslashes, control and non-UTF-8 bytes) through a
        /// random format as nginx would escape them, then match and unescape them back.
        #[test]
        fn rendered_values_parse_back((escape, prefix, fields, last) in line_case()) {
            let mut format = PREFIXES[prefix].to_string();
            let mut line = PREFIXES[prefix].as_bytes().to_vec();
            for (i, (value, literal, braced)) in fields.iter().enumerate() {
                let name = format!("v{i}");
                format.push_str(&if *braced { format!("${{{name}}}") } else { format!("${name}") });
                line.extend_from_slice(&values::escape_like_nginx(escape, value));
                let literal = if i + 1 < fields.len() { Some(*literal) } else { last };
                if let Some(literal) = literal {
                    format.push_str(LITERALS[literal]);
                    line.extend_from_slice(LITERALS[literal].as_bytes());
                }
            }
            let compiled = LogFormat::compile(&format, escape).unwrap();
            let mut matcher = LineMatcher::new(compiled);
            let matched = matcher.match_line(&line);
            prop_assert!(matched.is_ok(), "{format:?} {:?}: {matched:?}", String::from_utf8_lossy(&line));
            if let Ok(matched) = matched {
                let parsed: Vec<Vec<u8>> = matched
                    .iter()
                    .map(|raw| values::unescape(escape, raw).into_owned())
                    .collect();
                let wanted: Vec<Vec<u8>> = fields.into_iter().map(|(value, _, _)| value).collect();
                prop_assert_eq!(parsed, wanted);
            }
        }
    }
}
