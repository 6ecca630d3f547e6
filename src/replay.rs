//! `replay`: run whole existing access logs (plain or `.gz`) through the same matcher and
//! derive code as the daemon and print the per-period series, to see what the exporter
//! would have published. Built for speed: 1 MiB reads, memchr line splitting, and no
//! allocation per line (see `sources::access_log::for_each_line` and the matcher).
//!
//! With more than one thread the lines are matched and extracted on worker threads, a chunk
//! of whole lines at a time ([`LineChunks`]), and the main thread reads and feeds the
//! signals each chunk's requests **strictly in chunk order**, placing whole-second times
//! within their second as it goes (that needs the lines before), so the output is the
//! single-threaded one byte for byte.

use std::io::{BufReader, BufWriter, ErrorKind, Read, Write};
use std::num::NonZeroUsize;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::Context;
use flate2::read::MultiGzDecoder;

use crate::chart::ReplayPlot;
use crate::derive::log_signals::{LogSignals, PeriodSignals, SignalsConfig};
use crate::parse_log::{self, LogCommandError};
use crate::sources::access_log::values::{format_rfc3339, rfc3339_bytes};
use crate::sources::access_log::LogFormatSource;
use crate::sources::access_log::{self, BadLine, BadLineCounts, CompletedRequest, LineChunks, LineParser, LineRequest};

/// What `replay` needs besides the format, its period already checked ([`check_period`]).
#[derive(Debug, Clone)]
pub struct Options {
    pub period: Duration,
    pub output: Output,
    /// Variable name (without `$`) to break counts down by.
    pub breakdown: Option<String>,
    pub files: Vec<PathBuf>,
    /// Threads matching lines; `None`: one per core ([`std::thread::available_parallelism`]).
    /// One runs everything on the main thread.
    pub threads: Option<NonZeroUsize>,
    /// Also draw the series as an SVG here.
    pub plot: Option<PathBuf>,
}

/// What `replay` prints per period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    /// One CSV row ([`CSV_HEADER`] first).
    Csv,
    /// One JSON object per line.
    Json,
}

/// Most worker threads `replay` starts: each has up to two chunks in flight, a chunk being
/// [`CHUNK_BYTES`] plus [`access_log::MAX_LINE_BYTES`] of lines and ~0.6 MB of records, so 64
/// hold about 220 MB.
pub(crate) const MAX_THREADS: usize = 64;

/// Whole lines per chunk handed to a worker: the same 1 MiB as `for_each_line`'s reads, so
/// a chunk costs one read and one channel hop per ~8,000 lines.
const CHUNK_BYTES: usize = 1024 * 1024;

/// How many bad lines `replay` and `simulate --log` name on stderr (file, line number,
/// reason): enough to start from with `parse-log`, few enough to read.
pub(crate) const BAD_LINES_SHOWN: usize = 5;

/// Totals over the whole replay.
#[derive(Debug, Default)]
pub(crate) struct ReplaySummary {
    pub lines: u64,
    pub bad: BadLineCounts,
    /// The first [`BAD_LINES_SHOWN`] bad lines, in log order.
    pub(crate) first_bad: Vec<BadLineAt>,
    pub late: u64,
    pub periods: u64,
}

/// A skipped line: which file, which line of it (from 1, after decompression), and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BadLineAt {
    pub file: PathBuf,
    pub line: u64,
    pub reason: BadLine,
}

impl std::fmt::Display for BadLineAt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{} {}", self.file.display(), self.line, self.reason.label())
    }
}

impl ReplaySummary {
    /// Lines that gave a request.
    pub(crate) fn good_lines(&self) -> u64 {
        self.lines - self.bad.total()
    }

    /// `a.log:3 bad_status, a.log:9 too_few_fields`: the first bad lines, for stderr.
    pub(crate) fn first_bad_lines(&self) -> String {
        let shown: Vec<String> = self.first_bad.iter().map(ToString::to_string).collect();
        shown.join(", ")
    }
}

pub fn run(format: &LogFormatSource, options: &Options) -> Result<(), LogCommandError> {
    let started = Instant::now();
    // Before the header: a missing file prints nothing on stdout, only its error.
    parse_log::check_files(&options.files)?;
    let stdout = std::io::stdout();
    let mut out = BufWriter::with_capacity(1 << 16, stdout.lock());
    // Written with the first row: input with no usable line prints nothing at all.
    let mut header = options.output == Output::Csv;
    let output = options.output;
    let mut plot = options.plot.as_ref().map(|_| ReplayPlot::new());
    let replayed = replay_periods(
        format,
        &options.files,
        options.period,
        options.breakdown.as_deref(),
        options.threads,
        &mut |period| {
            if let Some(plot) = plot.as_mut() {
                plot.observe(period);
            }
            if std::mem::take(&mut header) {
                writeln!(out, "{CSV_HEADER}")?;
            }
            write_period(&mut out, output, period)
        },
    );
    let summary = match replayed {
        Ok(summary) => summary,
        Err(ReplayError::Output(error)) if error.kind() == ErrorKind::BrokenPipe => return Ok(()),
        Err(ReplayError::Output(error)) => return Err(anyhow::Error::new(error).context("writing to stdout").into()),
        Err(ReplayError::Command(error)) => return Err(error),
    };
    match out.flush() {
        Err(error) if error.kind() == ErrorKind::BrokenPipe => return Ok(()),
        other => other.context("writing to stdout")?,
    }
    print_summary("replay", &summary, started.elapsed().as_secs_f64());
    if let (Some(plot), Some(path)) = (plot, &options.plot) {
        plot.write_svg(path)
            .map_err(|error| anyhow::Error::new(error).context(format!("writing {}", path.display())))?;
    }
    Ok(())
}

/// The one-line summary on stderr (so stdout stays a clean series).
pub(crate) fn print_summary(command: &str, summary: &ReplaySummary, elapsed: f64) {
    eprintln!(
        "{command}: {} lines in {elapsed:.3}s ({:.0} lines/s), {} periods, {} late, {}",
        summary.lines,
        summary.lines as f64 / elapsed.max(1e-9),
        summary.periods,
        summary.late,
        summary.bad.summary()
    );
    if !summary.first_bad.is_empty() {
        eprintln!(
            "{command}: first bad lines: {} (parse-log shows why)",
            summary.first_bad_lines()
        );
    }
}

/// Why [`replay_periods`] stopped: the command failed, or the period sink did.
#[derive(Debug)]
pub(crate) enum ReplayError {
    Command(LogCommandError),
    Output(std::io::Error),
}

impl From<LogCommandError> for ReplayError {
    fn from(error: LogCommandError) -> Self {
        ReplayError::Command(error)
    }
}

/// `--period`: a length the signals take (whole seconds, at most a day), checked before a
/// command reads anything.
pub fn check_period(period: Duration) -> Result<(), LogCommandError> {
    signals_for(period).map(drop)
}

fn signals_for(period: Duration) -> Result<LogSignals, LogCommandError> {
    LogSignals::new(SignalsConfig::new(period)).map_err(|error| LogCommandError::Usage(format!("--period: {error}")))
}

/// Replay `files` in order and hand each closed period to `sink`, in time order: what
/// `replay` prints and what `simulate --log` simulates on.
pub(crate) fn replay_periods(
    format: &LogFormatSource,
    files: &[PathBuf],
    period: Duration,
    breakdown: Option<&str>,
    threads: Option<NonZeroUsize>,
    sink: &mut dyn FnMut(&PeriodSignals) -> std::io::Result<()>,
) -> Result<ReplaySummary, ReplayError> {
    let signals = signals_for(period)?;
    let mut periods = Periods {
        signals,
        sink,
        periods: 0,
    };
    let mut summary = replay_into(format, files, breakdown, threads, &mut periods)?;
    periods.signals.finish();
    summary.late = periods.signals.late_requests();
    periods.drain().map_err(ReplayError::Output)?;
    summary.periods = periods.periods;
    Ok(summary)
}

/// Replay `files` in order and hand each request to `sink` in log order, its end time
/// placed as the series places it: what the closed-loop `simulate` queues.
pub(crate) fn replay_requests(
    format: &LogFormatSource,
    files: &[PathBuf],
    threads: Option<NonZeroUsize>,
    sink: &mut dyn FnMut(&CompletedRequest),
) -> Result<ReplaySummary, ReplayError> {
    struct Requests<'s>(&'s mut dyn FnMut(&CompletedRequest));
    impl Observer for Requests<'_> {
        fn observe(&mut self, request: &CompletedRequest) -> std::io::Result<()> {
            (self.0)(request);
            Ok(())
        }
    }
    replay_into(format, files, None, threads, &mut Requests(sink))
}

/// What the replayed requests go to, in log order. An error stops the output (a closed
/// stdout) but not the count of lines.
trait Observer {
    fn observe(&mut self, request: &CompletedRequest) -> std::io::Result<()>;
}

/// The series: each request into the signals, each period that closes to the sink.
struct Periods<'s> {
    signals: LogSignals,
    sink: &'s mut dyn FnMut(&PeriodSignals) -> std::io::Result<()>,
    periods: u64,
}

impl Periods<'_> {
    /// Out of line: most requests close no period, and the test for that is inline.
    #[inline(never)]
    fn drain(&mut self) -> std::io::Result<()> {
        while let Some(period) = self.signals.pop_closed() {
            self.periods += 1;
            (self.sink)(&period)?;
            self.signals.recycle(period);
        }
        Ok(())
    }
}

impl Observer for Periods<'_> {
    fn observe(&mut self, request: &CompletedRequest) -> std::io::Result<()> {
        self.signals.observe(request);
        if self.signals.has_closed() {
            self.drain()
        } else {
            Ok(())
        }
    }
}

fn replay_into(
    format: &LogFormatSource,
    files: &[PathBuf],
    breakdown: Option<&str>,
    threads: Option<NonZeroUsize>,
    observer: &mut dyn Observer,
) -> Result<ReplaySummary, ReplayError> {
    let format = parse_log::compile(format)?;
    let parser = LineParser::new(format, breakdown).map_err(LogCommandError::from)?;
    if !parser.has_request_time() {
        tracing::warn!("the log format has no $request_time: in-flight figures will be zero");
    }
    parse_log::check_files(files)?;
    let threads = threads
        .or_else(|| std::thread::available_parallelism().ok())
        .map_or(1, NonZeroUsize::get)
        .min(MAX_THREADS);
    let mut replay = Replay {
        parser,
        summary: ReplaySummary::default(),
        threads,
        chunk_bytes: CHUNK_BYTES,
        bad_lines_shown: BAD_LINES_SHOWN,
    };
    for file in files {
        let reader = open(file)?;
        match replay.feed(reader, file, observer) {
            Ok(()) => {}
            Err(FeedError::Output(error)) => return Err(ReplayError::Output(error)),
            // A read error or a broken .gz: the file cannot be used (exit 2).
            Err(FeedError::Input(source)) => {
                return Err(LogCommandError::Input {
                    path: file.clone(),
                    source,
                }
                .into())
            }
        }
    }
    let summary = replay.summary;
    if summary.good_lines() == 0 {
        return Err(LogCommandError::Unusable(no_good_line(files, &summary)).into());
    }
    Ok(summary)
}

/// The logs gave no request at all: a series of nothing would be a quiet zero.
fn no_good_line(files: &[PathBuf], summary: &ReplaySummary) -> String {
    let names: Vec<String> = files.iter().map(|file| file.display().to_string()).collect();
    let names = names.join(", ");
    if summary.lines == 0 {
        return format!("{names}: no lines: nothing to replay");
    }
    format!(
        "{names}: no line is a request in the log format ({} lines, {}); first bad lines: {} (parse-log shows why)",
        summary.lines,
        summary.bad.summary(),
        summary.first_bad_lines()
    )
}

/// A file, decompressed if its name ends in `.gz`.
fn open(path: &Path) -> Result<Box<dyn Read>, LogCommandError> {
    let file = parse_log::open_input(path)?;
    if path.extension().is_some_and(|ext| ext == "gz") {
        Ok(Box::new(MultiGzDecoder::new(BufReader::with_capacity(1 << 20, file))))
    } else {
        Ok(Box::new(file))
    }
}

struct Replay {
    /// Parses every line on the main thread; with workers, a clone each parses and this one
    /// places the lines in log order.
    parser: LineParser,
    summary: ReplaySummary,
    /// Worker threads; 1: none, the main thread does it all.
    threads: usize,
    chunk_bytes: usize,
    /// Bad lines kept in [`ReplaySummary::first_bad`].
    bad_lines_shown: usize,
}

impl Replay {
    /// Note a bad line: counted, and kept if it is one of the first few.
    fn note_bad(summary: &mut ReplaySummary, shown: usize, file: &Path, line: u64, reason: BadLine) {
        summary.bad.bump(reason);
        if summary.first_bad.len() < shown {
            summary.first_bad.push(BadLineAt {
                file: file.to_path_buf(),
                line,
                reason,
            });
        }
    }

    /// Replay one file, `path` naming it in [`ReplaySummary::first_bad`].
    fn feed(&mut self, reader: impl Read, path: &Path, observer: &mut dyn Observer) -> Result<(), FeedError> {
        if self.threads > 1 {
            return self.feed_in_parallel(reader, path, observer);
        }
        let Replay {
            parser,
            summary,
            bad_lines_shown,
            ..
        } = self;
        let mut write_result = Ok(());
        let mut line_number = 0;
        access_log::for_each_line(reader, |item| {
            summary.lines += 1;
            line_number += 1;
            let request = item.and_then(|line| parser.parse(line));
            match request {
                Ok(request) if write_result.is_ok() => write_result = observer.observe(&request),
                Ok(_) => {}
                Err(reason) => Self::note_bad(summary, *bad_lines_shown, path, line_number, reason),
            }
        })
        .map_err(FeedError::Input)?;
        write_result.map_err(FeedError::Output)
    }

    /// The main thread reads chunks and hands them to the workers round-robin, then takes
    /// them back in the same order, so chunk `k` is observed before chunk `k + 1` without a
    /// reordering buffer. Chunks and their record vectors are reused: at most `2 * threads +
    /// 1` exist, which bounds memory and keeps the per-line path free of allocation.
    fn feed_in_parallel(
        &mut self,
        reader: impl Read,
        path: &Path,
        observer: &mut dyn Observer,
    ) -> Result<(), FeedError> {
        let Replay {
            parser,
            summary,
            threads,
            chunk_bytes,
            bad_lines_shown,
        } = self;
        let shown = *bad_lines_shown;
        // Lines of this file before the chunk being observed (too-long ones included).
        let mut line_number = 0;
        // Too-long lines after the last chunk's lines.
        let mut trailing_too_long = 0;
        let workers = *threads;
        // One chunk parsing and one waiting per worker, and one being read.
        let in_flight = 2 * workers + 1;
        let mut chunks = LineChunks::new(reader, *chunk_bytes);
        let mut write_result = Ok(());
        std::thread::scope(|scope| {
            let mut to_workers = Vec::with_capacity(workers);
            let mut from_workers = Vec::with_capacity(workers);
            for _ in 0..workers {
                // Bounded, and never full: only `in_flight` chunks exist. When the main thread
                // leaves (done or failed) it drops its ends and the worker's loop ends.
                let (send_chunk, chunks_to_parse) = mpsc::sync_channel::<Chunk>(in_flight);
                let (send_parsed, parsed_chunks) = mpsc::sync_channel::<Chunk>(in_flight);
                let mut worker_parser = parser.clone();
                scope.spawn(move || {
                    for mut chunk in chunks_to_parse {
                        chunk.parse(&mut worker_parser, shown);
                        if send_parsed.send(chunk).is_err() {
                            return;
                        }
                    }
                });
                to_workers.push(send_chunk);
                from_workers.push(parsed_chunks);
            }
            let mut spare: Vec<Chunk> = Vec::with_capacity(in_flight);
            let (mut sent, mut observed) = (0, 0);
            let mut input_done = false;
            loop {
                if !input_done && sent - observed < in_flight {
                    let mut chunk = spare.pop().unwrap_or_else(|| Chunk::new(chunks.buffer_len()));
                    let mut too_long = 0;
                    let read = chunks.next_chunk(&mut chunk.bytes, &mut too_long);
                    match read.map_err(FeedError::Input)? {
                        Some(len) => {
                            chunk.len = len;
                            // Counted, in line order, when the chunk is observed.
                            chunk.too_long_before = too_long;
                            to_workers[sent % workers].send(chunk).map_err(|_| worker_stopped())?;
                            sent += 1;
                        }
                        None => {
                            trailing_too_long = too_long;
                            input_done = true;
                        }
                    }
                    continue;
                }
                if observed == sent {
                    break;
                }
                let chunk = from_workers[observed % workers].recv().map_err(|_| worker_stopped())?;
                observed += 1;
                for _ in 0..chunk.too_long_before {
                    line_number += 1;
                    Self::note_bad(summary, shown, path, line_number, BadLine::TooLong);
                }
                summary.lines += chunk.too_long_before + chunk.lines;
                summary.bad.merge(&chunk.bad);
                for &(index, reason) in &chunk.first_bad {
                    if summary.first_bad.len() < shown {
                        summary.first_bad.push(BadLineAt {
                            file: path.to_path_buf(),
                            line: line_number + index,
                            reason,
                        });
                    }
                }
                line_number += chunk.lines;
                let bytes = &chunk.bytes[..chunk.len];
                for record in &chunk.records {
                    // Every line with a time is placed, in order, as `extract` would.
                    let end_ms = parser.place(record.line.logged_ms);
                    let Ok(status) = record.line.status else {
                        continue;
                    };
                    if write_result.is_ok() {
                        write_result = observer.observe(&CompletedRequest {
                            end_ms,
                            status,
                            request_time_us: record.line.request_time_us,
                            upstream_time_us: record.line.upstream_time_us,
                            breakdown: record.breakdown.clone().and_then(|span| bytes.get(span)),
                        });
                    }
                }
                spare.push(chunk);
            }
            for _ in 0..trailing_too_long {
                line_number += 1;
                summary.lines += 1;
                Self::note_bad(summary, shown, path, line_number, BadLine::TooLong);
            }
            Ok(())
        })?;
        write_result.map_err(FeedError::Output)
    }
}

/// Whole lines for a worker, and what it made of them.
#[derive(Default)]
struct Chunk {
    /// Lines in the first `len` bytes; the rest is room for reading ([`LineChunks`]).
    bytes: Vec<u8>,
    len: usize,
    /// One per line with a time, in line order.
    records: Vec<Record>,
    lines: u64,
    bad: BadLineCounts,
    /// Too-long lines just before this chunk's lines (set by the reading thread).
    too_long_before: u64,
    /// The first few bad lines: their number within the chunk (from 1) and why.
    first_bad: Vec<(u64, BadLine)>,
}

/// What the main thread needs of a line: owned, the breakdown value as a span of the chunk.
struct Record {
    line: LineRequest,
    breakdown: Option<Range<usize>>,
}

impl Chunk {
    /// Zeroed by the allocator (fresh pages), not by a `memset` over the whole buffer.
    fn new(buffer_len: usize) -> Chunk {
        Chunk {
            bytes: vec![0; buffer_len],
            ..Chunk::default()
        }
    }

    /// Match and extract every line (on a worker thread), keeping the first `shown` bad ones.
    fn parse(&mut self, parser: &mut LineParser, shown: usize) {
        let Chunk {
            bytes,
            len,
            records,
            lines,
            bad,
            first_bad,
            ..
        } = self;
        records.clear();
        first_bad.clear();
        *lines = 0;
        *bad = BadLineCounts::default();
        let mut note = |line: u64, reason: BadLine| {
            bad.bump(reason);
            if first_bad.len() < shown {
                first_bad.push((line, reason));
            }
        };
        // A line with a bad $status still moves the spreading of whole-second times.
        let place_bad_status = parser.spreads();
        access_log::for_each_line_in(&bytes[..*len], |start, item| {
            *lines += 1;
            let (line, span) = match item.and_then(|line| parser.parse_unplaced(line)) {
                Ok(parsed) => parsed,
                Err(reason) => return note(*lines, reason),
            };
            if let Err(reason) = line.status {
                note(*lines, reason);
                if !place_bad_status {
                    return;
                }
            }
            let breakdown = span.map(|span| start + span.start..start + span.end);
            records.push(Record { line, breakdown });
        });
    }
}

/// A worker's channel closed before it gave a chunk back: it panicked, and the scope
/// re-raises that panic; this only ends the main thread's loop.
fn worker_stopped() -> FeedError {
    FeedError::Input(std::io::Error::other("a replay worker thread stopped"))
}

/// Reading a log and writing the series fail differently: a closed stdout just ends.
enum FeedError {
    Input(std::io::Error),
    Output(std::io::Error),
}

/// The 2xx and 4xx counts came last, after the first ten columns, which keep their places.
pub const CSV_HEADER: &str = "time,completed,in_flight_average,in_flight_peak,status_499,status_5xx,request_time_p50,request_time_p90,request_time_p99,upstream_response_time_p99,status_2xx,status_4xx";

/// One period as a CSV row or a JSON line.
pub(crate) fn write_period(out: &mut impl Write, output: Output, period: &PeriodSignals) -> std::io::Result<()> {
    match output {
        Output::Csv => write_csv_row(out, period),
        Output::Json => {
            let time = format_rfc3339(period.start_ms);
            let quantiles = |q: &crate::derive::log_signals::Quantiles| serde_json::json!({"p50": q.p50, "p90": q.p90, "p99": q.p99});
            let breakdown: Vec<serde_json::Value> = period
                .breakdown
                .iter()
                .map(|row| {
                    serde_json::json!({
                        "value": row.value,
                        "completed": row.completed,
                        "status_499": row.status_499,
                        "status_5xx": row.status_5xx,
                    })
                })
                .collect();
            let value = serde_json::json!({
                "time": time,
                "period_seconds": period.period_ms / 1000,
                "completed": period.completed,
                "status_1xx": period.by_class[0],
                "status_2xx": period.by_class[1],
                "status_3xx": period.by_class[2],
                "status_4xx": period.by_class[3],
                "status_5xx": period.status_5xx,
                "status_other": period.by_class[5],
                "status_499": period.status_499,
                "in_flight_average": period.in_flight_average,
                "in_flight_peak": period.in_flight_peak,
                "in_flight_per_second": period.in_flight_per_second.iter().map(|s| serde_json::json!({"average": s.average, "peak": s.peak})).collect::<Vec<_>>(),
                "request_time": quantiles(&period.request_time),
                "upstream_response_time": quantiles(&period.upstream_response_time),
                "breakdown": breakdown,
            });
            serde_json::to_writer(&mut *out, &value)?;
            out.write_all(b"\n")
        }
    }
}

/// `{time},{completed},{in_flight_average:.3},...` as [`CSV_HEADER`] names them, written
/// piece by piece rather than through `format!`: a quiet day at 1 s periods is 86,400 rows,
/// and the formatter's float path and its temporary strings cost about 10,000 instructions a
/// row, more than the day's lines took (issue 22).
fn write_csv_row(out: &mut impl Write, period: &PeriodSignals) -> std::io::Result<()> {
    match rfc3339_bytes(period.start_ms) {
        Some(time) => out.write_all(&time)?,
        None => out.write_all(format_rfc3339(period.start_ms).as_bytes())?,
    }
    let seconds = |out: &mut _, value: Option<f64>| match value {
        Some(value) => {
            out_byte(out, b',')?;
            write_thousandths(out, value)
        }
        None => out_byte(out, b','),
    };
    out_byte(out, b',')?;
    write_u64(out, period.completed)?;
    out_byte(out, b',')?;
    write_thousandths(out, period.in_flight_average)?;
    for count in [period.in_flight_peak, period.status_499, period.status_5xx] {
        out_byte(out, b',')?;
        write_u64(out, count)?;
    }
    seconds(out, period.request_time.p50)?;
    seconds(out, period.request_time.p90)?;
    seconds(out, period.request_time.p99)?;
    seconds(out, period.upstream_response_time.p99)?;
    for count in [period.by_class[1], period.by_class[3]] {
        out_byte(out, b',')?;
        write_u64(out, count)?;
    }
    out_byte(out, b'\n')
}

fn out_byte(out: &mut impl Write, byte: u8) -> std::io::Result<()> {
    out.write_all(&[byte])
}

/// What `{}` prints for `value`.
fn write_u64(out: &mut impl Write, value: u64) -> std::io::Result<()> {
    let mut digits = [0u8; 20];
    let mut start = digits.len();
    let mut rest = value;
    for digit in digits.iter_mut().rev() {
        *digit = b'0' + (rest % 10) as u8;
        rest /= 10;
        start -= 1;
        if rest == 0 {
            break;
        }
    }
    out.write_all(digits.get(start..).unwrap_or_default())
}

/// What `{value:.3}` prints, by integer arithmetic where that is sure to agree. `{:.3}` rounds
/// the exact binary value to the nearest thousandth. Below 10^9, `value * 1000.0` is within
/// 2^-23 (1.2e-7) of the exact product, so when it is more than 1e-6 from a half the two round
/// to the same integer; nearer a half (or negative, or large, or not a number) the formatter
/// decides.
fn write_thousandths(out: &mut impl Write, value: f64) -> std::io::Result<()> {
    let thousandths = value * 1000.0;
    if !(value.is_sign_positive() && thousandths < 1e9 && (thousandths.fract() - 0.5).abs() > 1e-6) {
        return write!(out, "{value:.3}");
    }
    let rounded = thousandths.round() as u64;
    write_u64(out, rounded / 1000)?;
    let digit = |value: u64| b'0' + (value % 10) as u8;
    let fraction = rounded % 1000;
    out.write_all(&[b'.', digit(fraction / 100), digit(fraction / 10), digit(fraction)])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::access_log::{Escape, LogFormat, MAX_LINE_BYTES};
    use flate2::write::GzEncoder;

    /// `$time_local` gives whole seconds, so the extractor spreads lines within a second,
    /// which depends on the lines before: the order the parallel path must keep.
    const TIME_LOCAL: &str = r#"$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" $request_time $upstream_response_time"#;
    /// `$msec` needs no spreading, so lines with a bad `$status` are not placed at all.
    const MSEC: &str = "$msec $remote_addr $status $request_time $upstream_response_time";

    /// A log in two files with a bit of everything, and how many lines and bad lines it has.
    struct VariedLog {
        files: [Vec<u8>; 2],
        lines: u64,
        bad: u64,
        /// `(file, line from 1, reason)` of every bad line.
        bad_at: Vec<(usize, u64, &'static str)>,
    }

    /// Good lines a few per second from 30 addresses (a breakdown over its cap of 20), and
    /// now and then a line three minutes late, a bad `$status`, a bad time, garbage, an empty
    /// line, a line just within and one past [`MAX_LINE_BYTES`], and one three times that.
    /// Each file ends with a good line without a newline.
    fn varied_log(format: &str) -> VariedLog {
        let mut random: u64 = 7;
        let mut next = move |below: u64| {
            random = random
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (random >> 33) % below
        };
        let render = |second: u64, milli: u64, address: u64, status: &str, time_ok: bool| {
            let request_time = format!("{}.{:03}", milli % 3, (milli * 7) % 1000);
            let upstream = if address.is_multiple_of(4) {
                "-".to_string()
            } else {
                format!("0.{milli:03}, 0.001")
            };
            if format == MSEC {
                let time = if time_ok {
                    format!("{second}.{milli:03}")
                } else {
                    format!("x{second}")
                };
                format!("{time} 10.0.0.{address} {status} {request_time} {upstream}")
            } else {
                let (hour, minute, second) = (19 + second / 3600, second / 60 % 60, second % 60);
                let time = if time_ok {
                    format!("22/Nov/2026:{hour:02}:{minute:02}:{second:02} +0000")
                } else {
                    "bad time".into()
                };
                format!("10.0.0.{address} - - [{time}] \"GET /x HTTP/1.1\" {status} 12 \"-\" \"agent\" {request_time} {upstream}")
            }
        };
        let (mut lines, mut bad, mut bad_at) = (0, 0, Vec::new());
        let mut files = [Vec::new(), Vec::new()];
        for (part, file) in files.iter_mut().enumerate() {
            let count = 2_000 + 500 * part as u64;
            for i in 0..count {
                let mut second = 600 * part as u64 + i / 5;
                let kind = if i + 1 == count { 99 } else { next(100) };
                if kind == 0 {
                    second -= second.min(180);
                }
                let (milli, address) = (next(1000), next(30));
                let line = match kind {
                    1 => render(second, milli, address, "2x0", true),
                    2 => render(second, milli, address, "200", false),
                    3 => "garbage".into(),
                    4 => String::new(),
                    _ if i == 700 => "x".repeat(MAX_LINE_BYTES + 1),
                    _ if i == 900 => "y".repeat(MAX_LINE_BYTES),
                    _ if i == 1_100 => "z".repeat(3 * MAX_LINE_BYTES),
                    _ => render(
                        second,
                        milli,
                        address,
                        ["200", "200", "499", "502"][i as usize % 4],
                        true,
                    ),
                };
                let good = !(1..=4).contains(&kind) && ![700, 900, 1_100].contains(&i);
                lines += 1;
                bad += u64::from(!good);
                let reason = match kind {
                    1 => "bad_status",
                    2 => "bad_time",
                    _ if [700, 1_100].contains(&i) => "too_long",
                    _ => "too_few_fields",
                };
                if !good {
                    bad_at.push((part, i + 1, reason));
                }
                file.extend_from_slice(line.as_bytes());
                if i + 1 < count {
                    file.push(b'\n');
                }
            }
        }
        VariedLog {
            files,
            lines,
            bad,
            bad_at,
        }
    }

    /// What a replay printed, and its summary.
    #[derive(Debug, PartialEq)]
    struct Replayed {
        output: String,
        lines: u64,
        bad: Vec<(&'static str, u64)>,
        /// `(file, line, reason)` of every bad line.
        bad_at: Vec<(usize, u64, &'static str)>,
        late: u64,
        periods: u64,
    }

    fn replay(
        format: &str,
        files: Vec<Box<dyn Read + '_>>,
        output: Output,
        threads: usize,
        chunk_bytes: usize,
    ) -> Replayed {
        let format = LogFormat::compile(format, Escape::Default).unwrap();
        let mut replay = Replay {
            parser: LineParser::new(format, Some("remote_addr")).unwrap(),
            summary: ReplaySummary::default(),
            threads,
            chunk_bytes,
            bad_lines_shown: usize::MAX,
        };
        let mut out = Vec::new();
        let mut sink = |period: &PeriodSignals| write_period(&mut out, output, period);
        let mut periods = Periods {
            signals: LogSignals::new(SignalsConfig::new(Duration::from_secs(10))).unwrap(),
            sink: &mut sink,
            periods: 0,
        };
        let names = [Path::new("0"), Path::new("1")];
        for (file, name) in files.into_iter().zip(names) {
            assert!(replay.feed(file, name, &mut periods).is_ok());
        }
        periods.signals.finish();
        replay.summary.late = periods.signals.late_requests();
        periods.drain().unwrap();
        replay.summary.periods = periods.periods;
        Replayed {
            output: String::from_utf8(out).unwrap(),
            lines: replay.summary.lines,
            bad: replay.summary.bad.nonzero().collect(),
            bad_at: replay
                .summary
                .first_bad
                .iter()
                .map(|at| (usize::from(at.file == Path::new("1")), at.line, at.reason.label()))
                .collect(),
            late: replay.summary.late,
            periods: replay.summary.periods,
        }
    }

    /// The CSV's numbers are written without the formatter: they must be what `{}` and
    /// `{:.3}` print, ties, near-ties and edge values included.
    #[test]
    fn csv_numbers_are_what_the_formatter_prints() {
        let thousandths = |value: f64| {
            let mut out = Vec::new();
            write_thousandths(&mut out, value).unwrap();
            String::from_utf8(out).unwrap()
        };
        let mut random: u64 = 3;
        let mut next = move || {
            random = random
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            random >> 11
        };
        let mut values = vec![
            0.0,
            -0.0,
            0.0005,
            0.0015,
            0.0625,
            0.1875,
            1.0005,
            2.5e-4,
            999_999.999_5,
            999_999.999_499_9,
            1e6,
            1e12,
            -1.5,
            f64::NAN,
            f64::INFINITY,
            f64::MIN_POSITIVE,
        ];
        for _ in 0..20_000 {
            let integer = next();
            // Histogram buckets in seconds, as the quantiles are made.
            values.push((integer % (1 << 41)) as f64 / 1e6);
            // Sums of milliseconds over a period, as the in-flight averages are made.
            values.push((integer % 10_000_000) as f64 / [1_000.0, 10_000.0, 60_000.0][(integer % 3) as usize]);
            // Halves of a thousandth and their neighbours.
            let half = (integer % 1_000_000) as f64 / 1000.0 + 0.0005;
            values.extend([half, half.next_up(), half.next_down()]);
            values.push(f64::from_bits(integer) % 1e7);
        }
        for value in values {
            assert_eq!(thousandths(value), format!("{value:.3}"), "{value:e}");
        }
        for value in [0, 1, 9, 10, 99, 100, 12_345, u64::MAX / 7, u64::MAX] {
            let mut out = Vec::new();
            write_u64(&mut out, value).unwrap();
            assert_eq!(String::from_utf8(out).unwrap(), value.to_string());
        }
    }

    /// The worker threads give the single-threaded output byte for byte, bad lines and late
    /// lines included, however small the chunks and whether the files are gzipped.
    #[test]
    fn threads_give_the_single_threaded_output() {
        for format in [TIME_LOCAL, MSEC] {
            let log = varied_log(format);
            let plain =
                || -> Vec<Box<dyn Read + '_>> { log.files.iter().map(|file| Box::new(&file[..]) as _).collect() };
            let gzipped: Vec<Vec<u8>> = log
                .files
                .iter()
                .map(|file| {
                    let mut encoder = GzEncoder::new(Vec::new(), flate2::Compression::fast());
                    encoder.write_all(file).unwrap();
                    encoder.finish().unwrap()
                })
                .collect();
            let unzipped = || -> Vec<Box<dyn Read + '_>> {
                gzipped
                    .iter()
                    .map(|file| Box::new(MultiGzDecoder::new(&file[..])) as _)
                    .collect()
            };
            for output in [Output::Csv, Output::Json] {
                let reference = replay(format, plain(), output, 1, CHUNK_BYTES);
                // The reference itself saw what the log holds.
                assert_eq!(reference.lines, log.lines, "{format}");
                assert_eq!(
                    reference.bad.iter().map(|(_, count)| count).sum::<u64>(),
                    log.bad,
                    "{format}"
                );
                // Both formats start and end with a variable: no literal mismatch, no trailing data.
                let reasons: Vec<&str> = reference.bad.iter().map(|(reason, _)| *reason).collect();
                assert_eq!(
                    reasons,
                    ["too_few_fields", "too_long", "bad_time", "bad_status"],
                    "{format}"
                );
                // Each bad line is named where it is: issue 22 (the threads must agree, below).
                assert_eq!(reference.bad_at, log.bad_at, "{format}");
                assert!(reference.late > 0, "{format}: no late lines");
                assert!(reference.periods >= 80, "{format}: {} periods", reference.periods);
                if output == Output::Json {
                    assert!(
                        reference.output.contains(r#""value":"other""#),
                        "the breakdown is capped"
                    );
                }
                for (threads, chunk_bytes) in [(3, 1), (3, 100), (2, 4_096), (3, 100_000), (3, CHUNK_BYTES)] {
                    let parallel = replay(format, plain(), output, threads, chunk_bytes);
                    assert_eq!(
                        parallel, reference,
                        "{format} {output:?}, {threads} threads, {chunk_bytes}-byte chunks"
                    );
                }
                let parallel = replay(format, unzipped(), output, 3, 4_096);
                assert_eq!(parallel, reference, "{format} {output:?} gzipped");
            }
        }
    }
}
