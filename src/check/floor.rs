//! `check`: does in-flight have a floor that never moves? Long-lived connections (WebSockets,
//! server-sent events, long polls) stay in stub_status's `Writing` for their whole life, so
//! the stub_status formulas never go below their count. Two views, each with what it can see:
//!
//! - stub_status, sampled [`SAMPLES`] times over [`WINDOW`] (run beside the AWS lookups, so
//!   `check` waits for it only when those are quicker): `requests` counts requests as they
//!   *start*, so if in flight never went below `F` while only `S` other requests started, at
//!   least `F - S` of those in flight at the first sample were still open at the last one;
//! - the access log's last [`LOG_TAIL_BYTES`]: requests that ended with 101 or ran longer than
//!   a bound (`access_log.concurrency_max_request_time`, else [`LONG_REQUEST`]).

use std::fmt::Write;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;
use std::time::Duration;

use crate::config::{AccessLogConfig, Config};
use crate::derive::in_flight;
use crate::derive::pending::{Formula, LogConcurrencyFilter};
use crate::model::Connections;
use crate::sources::access_log::{LineMatcher, LogFormat, RecordExtractor};
use crate::sources::stub_status::Scraper;

/// stub_status reads in the window (the first at once).
pub const SAMPLES: usize = 5;
/// From the first read to the last.
pub(crate) const WINDOW: Duration = Duration::from_secs(2);
/// How much of the access log's end is read: a few thousand lines.
pub(crate) const LOG_TAIL_BYTES: u64 = 256 * 1024;
/// A request longer than this is reported as long-lived when no
/// `access_log.concurrency_max_request_time` is set.
pub(crate) const LONG_REQUEST: Duration = Duration::from_secs(60);
/// The README section that says what to do.
const SEE: &str = "see docs/measuring.md \"Long-lived connections\": pending = \"log_concurrency\" (it leaves out 101 by default, and with access_log.concurrency_max_request_time requests longer than a bound), or alarm thresholds above the floor";

/// What one read of nginx's counters says about the floor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FloorRead {
    pub in_flight: u64,
    /// nginx's `requests` counter (requests started, the read itself included).
    pub requests: u64,
}

impl FloorRead {
    pub fn of(status: &Connections) -> FloorRead {
        FloorRead {
            in_flight: in_flight(status),
            requests: status.requests,
        }
    }
}

/// What the window's readings say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Floor {
    /// A read failed, too few reads, or the counter went back (nginx restarted).
    Unknown,
    /// In flight went down to `lowest`, or no lower than new requests explain.
    Moving { lowest: u64, started: u64 },
    /// In flight never went below `floor` while `started` other requests started: at least
    /// `outlasting` requests stayed open through the whole window.
    Stuck { floor: u64, started: u64, outlasting: u64 },
}

/// The pure decision on the window's readings, oldest first.
pub(crate) fn judge(readings: &[FloorRead]) -> Floor {
    let (Some(first), Some(last)) = (readings.first(), readings.last()) else {
        return Floor::Unknown;
    };
    if readings.len() < 2 || readings.windows(2).any(|w| w[1].requests < w[0].requests) {
        return Floor::Unknown;
    }
    // Every read after the first is one request of its own.
    let own_reads = readings.len() as u64 - 1;
    let started = (last.requests - first.requests).saturating_sub(own_reads);
    let floor = readings.iter().map(|r| r.in_flight).min().unwrap_or(0);
    match floor.saturating_sub(started) {
        0 => Floor::Moving { lowest: floor, started },
        outlasting => Floor::Stuck {
            floor,
            started,
            outlasting,
        },
    }
}

/// What the end of the access log says about long-lived requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct LogTail {
    /// Lines read that are requests (bad lines are skipped).
    pub requests: u64,
    /// Ended with 101 (a WebSocket or another protocol switch).
    pub switched: u64,
    /// Ran longer than the bound (not 101).
    pub long: u64,
    pub(crate) longest_us: u64,
    /// Of `switched + long`, those `log_concurrency` counts with this filter.
    pub(crate) still_counted: u64,
}

/// Count the long-lived requests in `text`, whole lines of the access log.
pub(crate) fn scan_log(text: &[u8], format: &LogFormat, filter: &LogConcurrencyFilter, bound_us: u64) -> LogTail {
    let mut tail = LogTail::default();
    let Ok(mut extractor) = RecordExtractor::new(format, None) else {
        return tail;
    };
    let mut matcher = LineMatcher::new(format.clone());
    for line in text.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        let Ok(fields) = matcher.match_line(line) else {
            continue;
        };
        let Ok(request) = extractor.extract(&fields) else {
            continue;
        };
        tail.requests += 1;
        let time = request.request_time_us.unwrap_or(0);
        let long_lived = if request.status == 101 {
            tail.switched += 1;
            true
        } else if time > bound_us {
            tail.long += 1;
            true
        } else {
            false
        };
        if long_lived {
            tail.longest_us = tail.longest_us.max(time);
            tail.still_counted += u64::from(filter.counts(request.status, time));
        }
    }
    tail
}

/// Start reading stub_status over the window, if the published formula reads in-flight.
pub fn start(config: &Config, scraper: &Scraper) -> Option<tokio::task::JoinHandle<Floor>> {
    if !matches!(
        config.cloudwatch.pending,
        Formula::InFlight | Formula::InFlightPlusAcceptQueue
    ) {
        return None;
    }
    let scraper = scraper.clone();
    Some(tokio::spawn(async move {
        let mut readings = Vec::with_capacity(SAMPLES);
        let mut ticks = tokio::time::interval(WINDOW / (SAMPLES as u32 - 1));
        for _ in 0..SAMPLES {
            ticks.tick().await;
            match scraper.scrape().await {
                Ok(status) => readings.push(FloorRead::of(&status)),
                Err(_) => return Floor::Unknown,
            }
        }
        judge(&readings)
    }))
}

/// Wait for the window and add what it and the access log say to `report`.
pub async fn report(report: &mut String, config: &Config, window: Option<tokio::task::JoinHandle<Floor>>) {
    if let Some(window) = window {
        let floor = window.await.unwrap_or(Floor::Unknown);
        let window = humantime::format_duration(WINDOW);
        match floor {
            Floor::Unknown => {}
            Floor::Moving { lowest, started } => {
                let _ = writeln!(
                    report,
                    "in flight     {SAMPLES} reads over {window}: lowest {lowest} ({started} other requests started): no floor"
                );
            }
            Floor::Stuck {
                floor,
                started,
                outlasting,
            } => {
                let _ = writeln!(
                    report,
                    "in flight     {SAMPLES} reads over {window}: never below {floor} ({started} other requests started), so at least {outlasting} stayed open the whole time"
                );
                let _ = writeln!(
                    report,
                    "              warning: in-flight floor of {floor}: long-lived connections (WebSockets, server-sent events, long polls) count in stub_status for as long as they are open, so PendingRequests never goes below them (requests slower than {window} look the same); {SEE}"
                );
            }
        }
    }
    if let Some(access_log) = &config.access_log {
        log_report(report, config.cloudwatch.pending, access_log);
    }
}

fn log_report(report: &mut String, pending: Formula, access_log: &AccessLogConfig) {
    let Ok(text) = read_tail(&access_log.path, LOG_TAIL_BYTES) else {
        return;
    };
    let filter = &access_log.concurrency;
    let bound_us = filter.max_request_time_us.unwrap_or(LONG_REQUEST.as_micros() as u64);
    let tail = scan_log(&text, &access_log.format, filter, bound_us);
    let flagged = if pending == Formula::LogConcurrency {
        tail.still_counted
    } else {
        tail.switched + tail.long
    };
    if flagged == 0 {
        return;
    }
    let bound = humantime::format_duration(Duration::from_micros(bound_us));
    let longest = humantime::format_duration(Duration::from_secs(tail.longest_us / 1_000_000));
    let _ = writeln!(
        report,
        "access log    {}: of the last {} requests, {} ended with 101 and {} ran longer than {bound} (longest {longest})",
        access_log.path.display(),
        tail.requests,
        tail.switched,
        tail.long
    );
    let what = if pending == Formula::LogConcurrency {
        format!("{flagged} of them still count in log_concurrency (access_log.concurrency_exclude_status, concurrency_max_request_time)")
    } else {
        "while open they count in stub_status, so PendingRequests never goes below them".to_owned()
    };
    let _ = writeln!(report, "              warning: long-lived requests: {what}; {SEE}");
}

/// The whole lines of the last `limit` bytes of `path`.
fn read_tail(path: &Path, limit: u64) -> std::io::Result<Vec<u8>> {
    let mut file = std::fs::File::open(path)?;
    let length = file.metadata()?.len();
    let start = length.saturating_sub(limit);
    file.seek(SeekFrom::Start(start))?;
    let mut text = Vec::with_capacity((length - start) as usize);
    file.take(limit).read_to_end(&mut text)?;
    // A partial first line (cut by the seek) and a last line nginx is still writing.
    let begin = if start > 0 {
        text.iter().position(|&b| b == b'\n').map_or(text.len(), |i| i + 1)
    } else {
        0
    };
    let end = text.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    Ok(text.get(begin..end.max(begin)).unwrap_or_default().to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::access_log::Escape;

    fn reads(pairs: &[(u64, u64)]) -> Vec<FloorRead> {
        pairs
            .iter()
            .map(|&(in_flight, requests)| FloorRead { in_flight, requests })
            .collect()
    }

    fn check(pairs: &[(u64, u64)], expected: Floor) {
        assert_eq!(judge(&reads(pairs)), expected, "{pairs:?}");
    }

    #[test]
    fn a_floor_no_new_request_explains_is_stuck() {
        // Five idle WebSockets, nothing else: each read adds one request, its own.
        check(
            &[(5, 100), (5, 101), (5, 102), (5, 103), (5, 104)],
            Floor::Stuck {
                floor: 5,
                started: 0,
                outlasting: 5,
            },
        );
        // Five open while three short requests started: at least two outlasted the window.
        check(
            &[(5, 100), (6, 102), (5, 103), (7, 106), (5, 107)],
            Floor::Stuck {
                floor: 5,
                started: 3,
                outlasting: 2,
            },
        );
    }

    #[test]
    fn a_floor_new_requests_explain_is_not() {
        // A busy proxy: never at 0, but 40 requests started, enough to be the floor each time.
        check(
            &[(3, 1000), (4, 1010), (3, 1020), (5, 1030), (3, 1044)],
            Floor::Moving { lowest: 3, started: 40 },
        );
        // Down to 0 once is no floor.
        check(&[(5, 10), (0, 11), (5, 12)], Floor::Moving { lowest: 0, started: 0 });
        check(&[(0, 10), (0, 11)], Floor::Moving { lowest: 0, started: 0 });
    }

    #[test]
    fn too_little_or_a_restart_says_nothing() {
        check(&[], Floor::Unknown);
        check(&[(5, 10)], Floor::Unknown);
        // nginx restarted between reads: the counter went back.
        check(&[(5, 100), (5, 101), (5, 3), (5, 4)], Floor::Unknown);
    }

    fn timed() -> LogFormat {
        LogFormat::compile(
            "$remote_addr [$time_local] \"$request\" $status $request_time",
            Escape::Default,
        )
        .unwrap()
    }

    const LOG: &str = "\
127.0.0.1 [03/Dec/2026:08:00:00 +0000] \"GET /ws/0 HTTP/1.1\" 101 3600.123
127.0.0.1 [03/Dec/2026:08:00:01 +0000] \"GET /a HTTP/1.1\" 200 0.002
127.0.0.1 [03/Dec/2026:08:00:01 +0000] \"GET /events HTTP/1.1\" 200 75.000
not a log line
127.0.0.1 [03/Dec/2026:08:00:02 +0000] \"GET /b HTTP/1.1\" 200 59.999
";

    #[test]
    fn the_log_tail_counts_101s_and_requests_past_the_bound() {
        let filter = LogConcurrencyFilter::default();
        let tail = scan_log(LOG.as_bytes(), &timed(), &filter, 60_000_000);
        assert_eq!(
            tail,
            LogTail {
                requests: 4,
                switched: 1,
                long: 1,
                longest_us: 3_600_123_000,
                // The 101 is left out by default; the 75 s stream is not.
                still_counted: 1,
            }
        );
        let nothing_left_out = LogConcurrencyFilter {
            exclude_status: vec![],
            max_request_time_us: None,
        };
        assert_eq!(
            scan_log(LOG.as_bytes(), &timed(), &nothing_left_out, 60_000_000).still_counted,
            2
        );
        let bounded = LogConcurrencyFilter {
            exclude_status: vec![101],
            max_request_time_us: Some(30_000_000),
        };
        let tail = scan_log(LOG.as_bytes(), &timed(), &bounded, 30_000_000);
        assert_eq!((tail.long, tail.still_counted), (2, 0));
    }

    #[test]
    fn only_whole_lines_of_the_tail_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("access.log");
        std::fs::write(&path, "first line\nsecond line\nthird, being writ").unwrap();
        assert_eq!(read_tail(&path, 1000).unwrap(), b"first line\nsecond line\n");
        // Cut inside the first line: it is dropped.
        assert_eq!(read_tail(&path, 30).unwrap(), b"second line\n");
        assert_eq!(read_tail(&path, 5).unwrap(), b"");
        assert!(read_tail(&dir.path().join("missing.log"), 10).is_err());
    }
}
