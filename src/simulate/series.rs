//! Series readers: a PendingRequests series from a file (or stdin), format told by content.
//!
//! - the CSV `replay` prints (header [`crate::replay::CSV_HEADER`]): `in_flight_average` is the
//!   period's Average and `in_flight_peak` its Maximum; replay has no SampleCount, Sum or
//!   Minimum, so those are absent;
//! - the JSON lines `replay --output json` prints: the same two fields, and `period_seconds`
//!   gives the period;
//! - `aws cloudwatch get-metric-statistics` JSON (`{"Label": .., "Datapoints": [..]}`, in
//!   CloudWatch's arbitrary order, Timestamp RFC 3339 with or without fractional seconds);
//! - any CSV whose header has `timestamp` (or `time`) and some of SampleCount, Sum, Minimum,
//!   Maximum, Average (names case-insensitive, empty cells absent).
//!
//! Times are RFC 3339. The period is replay JSON's `period_seconds`, else the smallest gap
//! between consecutive timestamps; `period_hint` (the CLI's `--period`) overrides both and is
//! required for a single datapoint. Points are sorted; duplicate timestamps are merged as
//! CloudWatch aggregates statistic sets: SampleCount and Sum add, Minimum is the least,
//! Maximum the greatest, Average is Sum / SampleCount when both are known, else the mean of
//! the merged averages (unweighted: nothing says how many samples each held). Counts and
//! values are never negative for PendingRequests; NaN and infinities are refused.

use std::io::Read;
use std::path::Path;

use serde::Deserialize;

use crate::scaling::scenario::{Series, SeriesPoint, SeriesStats, Statistic};

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SeriesRead {
    pub series: Series,
    /// Datapoints merged into another with the same timestamp.
    pub(crate) merged_duplicates: u64,
    /// Whether the source was out of time order (CloudWatch returns Datapoints unordered).
    pub(crate) reordered: bool,
    /// The statistics every datapoint has (directly, or Average from Sum / SampleCount).
    pub statistics: Vec<Statistic>,
}

#[derive(Debug, thiserror::Error)]
pub enum SeriesError {
    #[error("cannot read {origin}: {source}")]
    Read {
        origin: String,
        #[source]
        source: std::io::Error,
    },
    /// `origin:line: message`; for the JSON document the message starts with the JSON path.
    #[error("{origin}:{line}: {message}")]
    Invalid {
        origin: String,
        line: usize,
        message: String,
    },
}

pub(crate) fn read_series_with_period(path: &Path, period_hint: Option<u32>) -> Result<SeriesRead, SeriesError> {
    let origin = if path == Path::new("-") {
        "<stdin>".to_owned()
    } else {
        path.display().to_string()
    };
    let bytes = if path == Path::new("-") {
        let mut bytes = Vec::new();
        std::io::stdin().read_to_end(&mut bytes).map(|_| bytes)
    } else {
        std::fs::read(path)
    }
    .map_err(|source| SeriesError::Read {
        origin: origin.clone(),
        source,
    })?;
    parse_series_with_period(&origin, &bytes, period_hint)
}

/// Pure: the bytes of a series file to a series.
#[cfg(test)]
pub(crate) fn parse_series(origin: &str, bytes: &[u8]) -> Result<SeriesRead, SeriesError> {
    parse_series_with_period(origin, bytes, None)
}

pub(crate) fn parse_series_with_period(
    origin: &str,
    bytes: &[u8],
    period_hint: Option<u32>,
) -> Result<SeriesRead, SeriesError> {
    let invalid = |line: usize, message: String| SeriesError::Invalid {
        origin: origin.to_owned(),
        line,
        message,
    };
    let text = std::str::from_utf8(bytes).map_err(|e| {
        let line = bytes[..e.valid_up_to()].iter().filter(|&&b| b == b'\n').count() + 1;
        invalid(line, "not UTF-8 text".into())
    })?;
    if text.trim().is_empty() {
        return Err(invalid(1, "no datapoints: the series is empty".into()));
    }
    let first_line = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    let raw = if first_line.trim_start().starts_with('{') {
        let is_json_lines = serde_json::from_str::<serde_json::Value>(first_line)
            .ok()
            .is_some_and(|v| v.get("time").is_some());
        if is_json_lines {
            json_lines(text, &invalid)?
        } else {
            metric_statistics(text, &invalid)?
        }
    } else {
        csv_rows(text, &invalid)?
    };
    finish(raw, period_hint, &invalid)
}

/// Datapoints as read, with the line each came from.
struct Raw {
    points: Vec<(usize, SeriesPoint)>,
    /// replay JSON's period_seconds.
    period: Option<u32>,
}

fn parse_time(value: &str) -> Option<i64> {
    let time = time::OffsetDateTime::parse(value.trim(), &time::format_description::well_known::Rfc3339).ok()?;
    i64::try_from(time.unix_timestamp_nanos() / 1_000_000).ok()
}

/// Refuses NaN, infinities and negative values (PendingRequests and its counts are never
/// negative); `what` names the field.
fn checked(
    value: Option<f64>,
    what: &str,
    line: usize,
    invalid: &dyn Fn(usize, String) -> SeriesError,
) -> Result<Option<f64>, SeriesError> {
    match value {
        Some(v) if !v.is_finite() => Err(invalid(line, format!("{what}: {v} is not a finite number"))),
        Some(v) if v < 0.0 => Err(invalid(
            line,
            format!("{what}: {v} is negative (PendingRequests never is)"),
        )),
        other => Ok(other),
    }
}

fn stats(
    values: [Option<f64>; 5],
    names: [&str; 5],
    line: usize,
    invalid: &dyn Fn(usize, String) -> SeriesError,
) -> Result<SeriesStats, SeriesError> {
    let mut checked_values = [None; 5];
    for (i, value) in values.into_iter().enumerate() {
        checked_values[i] = checked(value, names[i], line, invalid)?;
    }
    let [sample_count, sum, minimum, maximum, average] = checked_values;
    Ok(SeriesStats {
        sample_count,
        sum,
        minimum,
        maximum,
        average,
    })
}

fn csv_rows(text: &str, invalid: &dyn Fn(usize, String) -> SeriesError) -> Result<Raw, SeriesError> {
    let mut points = Vec::new();
    csv_each(text.as_bytes(), invalid, &mut |line, point| points.push((line, point)))?;
    Ok(Raw { points, period: None })
}

/// Every row of a CSV series, in file order, to `sink` with its line: what [`csv_rows`]
/// collects and [`stream_csv`] streams.
fn csv_each(
    input: impl std::io::Read,
    invalid: &dyn Fn(usize, String) -> SeriesError,
    sink: &mut dyn FnMut(usize, SeriesPoint),
) -> Result<(), SeriesError> {
    let mut reader = csv::ReaderBuilder::new().trim(csv::Trim::All).from_reader(input);
    let headers = reader
        .headers()
        .map_err(|e| invalid(1, format!("not CSV: {e}")))?
        .clone();
    let column = |names: &[&str]| {
        headers
            .iter()
            .position(|h| names.iter().any(|n| h.eq_ignore_ascii_case(n)))
    };
    let replay = column(&["in_flight_average"]).is_some();
    let time_column = column(&["timestamp", "time"])
        .ok_or_else(|| invalid(1, "the CSV header has no `timestamp` (or `time`) column".into()))?;
    // SampleCount, Sum, Minimum, Maximum, Average, as in SeriesStats.
    let names = ["SampleCount", "Sum", "Minimum", "Maximum", "Average"];
    let columns: [Option<usize>; 5] = if replay {
        [
            None,
            None,
            None,
            column(&["in_flight_peak"]),
            column(&["in_flight_average"]),
        ]
    } else {
        names.map(|n| column(&[n]))
    };
    if columns.iter().all(Option::is_none) {
        return Err(invalid(
            1,
            "the CSV header names no statistic: expected some of SampleCount, Sum, Minimum, Maximum, Average \
             (or replay's in_flight_average, in_flight_peak)"
                .into(),
        ));
    }
    let field_names: [&str; 5] = if replay {
        ["", "", "", "in_flight_peak", "in_flight_average"]
    } else {
        names
    };
    let mut record = csv::StringRecord::new();
    loop {
        let more = reader.read_record(&mut record).map_err(|e| {
            let line = e.position().map_or(1, |p| p.line() as usize);
            invalid(line, format!("bad CSV row: {e}"))
        })?;
        if !more {
            break;
        }
        let line = record.position().map_or(1, |p| p.line() as usize);
        let time = record.get(time_column).unwrap_or("");
        let start_ms =
            parse_time(time).ok_or_else(|| invalid(line, format!("time: {time:?} is not an RFC 3339 timestamp")))?;
        let mut values = [None; 5];
        for (i, column) in columns.iter().enumerate() {
            let Some(column) = column else { continue };
            let cell = record.get(*column).unwrap_or("");
            if cell.is_empty() {
                if replay {
                    return Err(invalid(line, format!("{}: missing", field_names[i])));
                }
                continue;
            }
            values[i] = Some(
                cell.parse::<f64>()
                    .map_err(|_| invalid(line, format!("{}: {cell:?} is not a number", field_names[i])))?,
            );
        }
        sink(
            line,
            SeriesPoint {
                start_ms,
                stats: stats(values, field_names, line, invalid)?,
            },
        );
    }
    Ok(())
}

/// What a first pass over a CSV series in strict time order found: enough to start the
/// simulation and then stream the rows (memory flat in the series length).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct CsvScan {
    pub period: u32,
    pub statistics: Vec<Statistic>,
    pub points: u64,
}

fn csv_origin(path: &Path) -> (String, impl Fn(usize, String) -> SeriesError) {
    let origin = path.display().to_string();
    let for_errors = origin.clone();
    (origin, move |line: usize, message: String| SeriesError::Invalid {
        origin: for_errors.clone(),
        line,
        message,
    })
}

fn open_buffered(path: &Path, origin: &str) -> Result<std::io::BufReader<std::fs::File>, SeriesError> {
    std::fs::File::open(path)
        .map(|file| std::io::BufReader::with_capacity(1 << 16, file))
        .map_err(|source| SeriesError::Read {
            origin: origin.to_owned(),
            source,
        })
}

/// The first pass of a CSV series file read without holding it: validates every row
/// (errors with the line, as [`read_series`]) and checks the timestamps strictly increase.
/// `Ok(None)`: not a CSV file, or not in strict time order (duplicates, unordered), which
/// [`read_series_with_period`] sorts and merges in memory instead. [`feed_csv`] is the
/// second pass.
pub(crate) fn scan_csv(path: &Path, period_hint: Option<u32>) -> Result<Option<CsvScan>, SeriesError> {
    let (origin, invalid) = csv_origin(path);
    let open = || open_buffered(path, &origin);
    let mut first = String::new();
    match std::io::BufRead::read_line(&mut open()?, &mut first) {
        Ok(_) => {}
        // Not text: read whole, where the error names the line that is not UTF-8.
        Err(error) if error.kind() == std::io::ErrorKind::InvalidData => return Ok(None),
        Err(source) => {
            return Err(SeriesError::Read {
                origin: origin.clone(),
                source,
            })
        }
    }
    if first.trim().is_empty() || first.trim_start().starts_with('{') {
        return Ok(None);
    }
    let mut ordered = true;
    let mut previous: Option<(usize, i64)> = None;
    let mut smallest: Option<(usize, i64)> = None;
    let mut have = [true; 5];
    let mut points = 0u64;
    csv_each(open()?, &invalid, &mut |line, point| {
        points += 1;
        if let Some((_, before)) = previous {
            let gap = point.start_ms - before;
            if gap <= 0 {
                ordered = false;
            } else if smallest.is_none_or(|(_, g)| gap < g) {
                smallest = Some((line, gap));
            }
        }
        previous = Some((line, point.start_ms));
        for (i, statistic) in Statistic::ALL.iter().enumerate() {
            have[i] &= point.stats.get(*statistic).is_some();
        }
    })?;
    if !ordered {
        return Ok(None);
    }
    let period = match (period_hint, smallest, previous) {
        (Some(0), _, _) => return Err(invalid(1, "the period must be above 0".into())),
        (Some(hint), _, _) => hint,
        (None, _, None) => return Err(invalid(1, "no datapoints: the series is empty".into())),
        (None, None, Some((line, _))) => {
            return Err(invalid(
                line,
                "a single datapoint does not tell the series' period: give it explicitly (--period)".into(),
            ))
        }
        (None, Some((line, gap)), _) if gap % 1000 != 0 => {
            return Err(invalid(
                line,
                format!("datapoints {gap} ms apart: the period must be whole seconds"),
            ))
        }
        (None, Some((line, gap)), _) => u32::try_from(gap / 1000)
            .map_err(|_| invalid(line, format!("datapoints {gap} ms apart: too far for a period")))?,
    };
    Ok(Some(CsvScan {
        period,
        statistics: Statistic::ALL
            .into_iter()
            .zip(have)
            .filter_map(|(statistic, has)| has.then_some(statistic))
            .collect(),
        points,
    }))
}

/// The second pass: every point of a file [`scan_csv`] accepted, in order.
pub(crate) fn feed_csv(path: &Path, sink: &mut dyn FnMut(&SeriesPoint)) -> Result<(), SeriesError> {
    let (origin, invalid) = csv_origin(path);
    csv_each(open_buffered(path, &origin)?, &invalid, &mut |_, point| sink(&point))
}

#[derive(Deserialize)]
struct ReplayLine {
    time: String,
    period_seconds: Option<u32>,
    in_flight_average: f64,
    in_flight_peak: f64,
}

fn json_lines(text: &str, invalid: &dyn Fn(usize, String) -> SeriesError) -> Result<Raw, SeriesError> {
    let mut points = Vec::new();
    let mut period = None;
    for (index, line_text) in text.lines().enumerate() {
        let line = index + 1;
        if line_text.trim().is_empty() {
            continue;
        }
        let row: ReplayLine = serde_json::from_str(line_text).map_err(|e| {
            let message = e.to_string();
            invalid(
                line,
                crate::serde_errors::in_words(message.split(" at line ").next().unwrap_or("bad JSON")),
            )
        })?;
        let start_ms = parse_time(&row.time)
            .ok_or_else(|| invalid(line, format!("time: {:?} is not an RFC 3339 timestamp", row.time)))?;
        match (period, row.period_seconds) {
            (_, Some(0)) => return Err(invalid(line, "period_seconds: must be above 0".into())),
            (None, Some(p)) => period = Some(p),
            (Some(before), Some(p)) if before != p => {
                return Err(invalid(
                    line,
                    format!("period_seconds: {p} after {before}: one series has one period"),
                ));
            }
            _ => {}
        }
        let values = [None, None, None, Some(row.in_flight_peak), Some(row.in_flight_average)];
        let names = ["", "", "", "in_flight_peak", "in_flight_average"];
        points.push((
            line,
            SeriesPoint {
                start_ms,
                stats: stats(values, names, line, invalid)?,
            },
        ));
    }
    Ok(Raw { points, period })
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct MetricStatistics {
    datapoints: Vec<Datapoint>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Datapoint {
    timestamp: String,
    sample_count: Option<f64>,
    sum: Option<f64>,
    minimum: Option<f64>,
    maximum: Option<f64>,
    average: Option<f64>,
}

fn metric_statistics(text: &str, invalid: &dyn Fn(usize, String) -> SeriesError) -> Result<Raw, SeriesError> {
    let deserializer = &mut serde_json::Deserializer::from_str(text);
    let document: MetricStatistics = serde_path_to_error::deserialize(deserializer).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner();
        let message = inner.to_string();
        let message = crate::serde_errors::in_words(message.split(" at line ").next().unwrap_or("bad JSON"));
        let message = if path == "." {
            format!("{message} (expected replay's JSON lines or get-metric-statistics' {{\"Datapoints\": [...]}})")
        } else {
            format!("{path}: {message}")
        };
        invalid(inner.line().max(1), message)
    })?;
    let mut points = Vec::with_capacity(document.datapoints.len());
    for (i, d) in document.datapoints.into_iter().enumerate() {
        // Lines only for the datapoint that is refused: the position-keeping parse is not free.
        let at = |field: &str| crate::simulate::input::json_path_line(text, &format!("Datapoints[{i}].{field}"));
        let start_ms = parse_time(&d.timestamp).ok_or_else(|| {
            invalid(
                at("Timestamp"),
                format!(
                    "Datapoints[{i}].Timestamp: {:?} is not an RFC 3339 timestamp",
                    d.timestamp
                ),
            )
        })?;
        let values = [d.sample_count, d.sum, d.minimum, d.maximum, d.average];
        let names = ["SampleCount", "Sum", "Minimum", "Maximum", "Average"];
        for (value, name) in values.iter().zip(names) {
            checked(*value, &format!("Datapoints[{i}].{name}"), 0, &|_, message| {
                invalid(at(name), message)
            })?;
        }
        let stats = SeriesStats {
            sample_count: values[0],
            sum: values[1],
            minimum: values[2],
            maximum: values[3],
            average: values[4],
        };
        points.push((at("Timestamp"), SeriesPoint { start_ms, stats }));
    }
    Ok(Raw { points, period: None })
}

fn add(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    Some(a? + b?)
}

fn finish(
    raw: Raw,
    period_hint: Option<u32>,
    invalid: &dyn Fn(usize, String) -> SeriesError,
) -> Result<SeriesRead, SeriesError> {
    let mut points = raw.points;
    if points.is_empty() {
        return Err(invalid(1, "no datapoints: the series is empty".into()));
    }
    let reordered = points.windows(2).any(|w| w[1].1.start_ms < w[0].1.start_ms);
    // Stable: duplicates merge in file order.
    points.sort_by_key(|(_, p)| p.start_ms);
    let mut merged: Vec<(usize, SeriesPoint, u32)> = Vec::with_capacity(points.len());
    let mut merged_duplicates = 0;
    for (line, point) in points {
        match merged.last_mut() {
            Some((_, last, averages)) if last.start_ms == point.start_ms => {
                merged_duplicates += 1;
                let (a, b) = (last.stats, point.stats);
                let sample_count = add(a.sample_count, b.sample_count);
                let sum = add(a.sum, b.sum);
                let average = match (sum, sample_count) {
                    (Some(sum), Some(count)) if count > 0.0 => Some(sum / count),
                    _ => match (a.average, b.average) {
                        // Running mean of the merged averages.
                        (Some(x), Some(y)) => Some((x * f64::from(*averages) + y) / f64::from(*averages + 1)),
                        _ => None,
                    },
                };
                if b.average.is_some() {
                    *averages += 1;
                }
                last.stats = SeriesStats {
                    sample_count,
                    sum,
                    minimum: a
                        .minimum
                        .zip(b.minimum)
                        .map(|(x, y)| x.min(y))
                        .or(a.minimum.xor(b.minimum)),
                    maximum: a
                        .maximum
                        .zip(b.maximum)
                        .map(|(x, y)| x.max(y))
                        .or(a.maximum.xor(b.maximum)),
                    average,
                };
            }
            _ => merged.push((line, point, u32::from(point.stats.average.is_some()))),
        }
    }
    let period = match (period_hint, raw.period) {
        (Some(0), _) => return Err(invalid(1, "the period must be above 0".into())),
        (Some(hint), _) => hint,
        (None, Some(period)) => period,
        (None, None) => {
            let smallest = merged
                .windows(2)
                .map(|w| (w[1].0, w[1].1.start_ms - w[0].1.start_ms))
                .min_by_key(|(_, gap)| *gap);
            match smallest {
                None => {
                    return Err(invalid(
                        merged[0].0,
                        "a single datapoint does not tell the series' period: give it explicitly (--period)".into(),
                    ));
                }
                Some((line, gap)) if gap % 1000 != 0 => {
                    return Err(invalid(
                        line,
                        format!("datapoints {gap} ms apart: the period must be whole seconds"),
                    ));
                }
                Some((line, gap)) => u32::try_from(gap / 1000)
                    .map_err(|_| invalid(line, format!("datapoints {gap} ms apart: too far for a period")))?,
            }
        }
    };
    let points: Vec<SeriesPoint> = merged.into_iter().map(|(_, p, _)| p).collect();
    let statistics = Statistic::ALL
        .into_iter()
        .filter(|s| points.iter().all(|p| p.stats.get(*s).is_some()))
        .collect();
    Ok(SeriesRead {
        series: Series { period, points },
        merged_duplicates,
        reordered,
        statistics,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: i64 = 1_764_633_600_000; // 2025-12-02T00:00:00Z

    fn point(offset_s: i64, stats: SeriesStats) -> SeriesPoint {
        SeriesPoint {
            start_ms: T0 + offset_s * 1000,
            stats,
        }
    }

    fn avg_max(average: f64, maximum: f64) -> SeriesStats {
        SeriesStats {
            average: Some(average),
            maximum: Some(maximum),
            ..SeriesStats::default()
        }
    }

    fn check(input: &str, expected: SeriesRead) {
        assert_eq!(parse_series("s", input.as_bytes()).unwrap(), expected);
    }

    fn check_error(input: &str, expected: &str) {
        let message = parse_series("s", input.as_bytes()).unwrap_err().to_string();
        assert!(
            message.starts_with(expected),
            "{message:?} should start with {expected:?}"
        );
    }

    #[test]
    fn replay_csv() {
        let input = format!(
            "{}\n2025-12-02T00:00:00Z,3,1.500,4,0,0,,,,,3,0\n2025-12-02T00:00:10Z,5,6.000,9,0,0,0.100,0.200,0.300,0.300,4,1\n",
            crate::replay::CSV_HEADER
        );
        let expected = SeriesRead {
            series: Series {
                period: 10,
                points: vec![point(0, avg_max(1.5, 4.0)), point(10, avg_max(6.0, 9.0))],
            },
            merged_duplicates: 0,
            reordered: false,
            statistics: vec![Statistic::Average, Statistic::Maximum],
        };
        // A CSV saved before replay added status_2xx and status_4xx reads the same.
        check(
            "time,completed,in_flight_average,in_flight_peak,status_499,status_5xx,request_time_p50,request_time_p90,request_time_p99,upstream_response_time_p99\n\
             2025-12-02T00:00:00Z,3,1.500,4,0,0,,,,\n2025-12-02T00:00:10Z,5,6.000,9,0,0,0.100,0.200,0.300,0.300\n",
            expected.clone(),
        );
        check(&input, expected);
    }

    #[test]
    fn replay_json_lines_give_the_period() {
        // 20 s apart, but period_seconds says 10: one period is missing data.
        let input = concat!(
            r#"{"time":"2025-12-02T00:00:00Z","period_seconds":10,"completed":1,"in_flight_average":2.0,"in_flight_peak":3,"breakdown":[]}"#,
            "\n",
            r#"{"time":"2025-12-02T00:00:20Z","period_seconds":10,"completed":1,"in_flight_average":0.5,"in_flight_peak":1,"breakdown":[]}"#,
            "\n"
        );
        check(
            input,
            SeriesRead {
                series: Series {
                    period: 10,
                    points: vec![point(0, avg_max(2.0, 3.0)), point(20, avg_max(0.5, 1.0))],
                },
                merged_duplicates: 0,
                reordered: false,
                statistics: vec![Statistic::Average, Statistic::Maximum],
            },
        );
    }

    #[test]
    fn get_metric_statistics_unordered_with_offsets_and_fractions() {
        let input = r#"{
    "Label": "PendingRequests",
    "Datapoints": [
        {"Timestamp": "2025-12-02T00:01:00+00:00", "SampleCount": 60.0, "Sum": 120.0, "Minimum": 0.0, "Maximum": 7.0, "Average": 2.0, "Unit": "Count"},
        {"Timestamp": "2025-12-02T01:00:00.000+01:00", "SampleCount": 60.0, "Sum": 60.0, "Minimum": 0.0, "Maximum": 3.0, "Average": 1.0, "Unit": "Count"}
    ]
}"#;
        let full = |count: f64, sum: f64, max: f64, average: f64| SeriesStats {
            sample_count: Some(count),
            sum: Some(sum),
            minimum: Some(0.0),
            maximum: Some(max),
            average: Some(average),
        };
        check(
            input,
            SeriesRead {
                series: Series {
                    period: 60,
                    points: vec![
                        point(0, full(60.0, 60.0, 3.0, 1.0)),
                        point(60, full(60.0, 120.0, 7.0, 2.0)),
                    ],
                },
                merged_duplicates: 0,
                reordered: true,
                statistics: Statistic::ALL.to_vec(),
            },
        );
    }

    #[test]
    fn generic_csv_any_case_and_duplicates_merged_as_statistic_sets() {
        let input = "Timestamp,samplecount,SUM,Minimum,Maximum\n\
                     2025-12-02T00:00:10Z,2,10,4,6\n\
                     2025-12-02T00:00:00Z,1,1,1,1\n\
                     2025-12-02T00:00:10Z,3,5,0,9\n";
        // At 10 s: count 2+3, sum 10+5, min 0, max 9, average 15/5 (from Sum/SampleCount).
        let merged = SeriesStats {
            sample_count: Some(5.0),
            sum: Some(15.0),
            minimum: Some(0.0),
            maximum: Some(9.0),
            average: Some(3.0),
        };
        let first = SeriesStats {
            sample_count: Some(1.0),
            sum: Some(1.0),
            minimum: Some(1.0),
            maximum: Some(1.0),
            average: None,
        };
        check(
            input,
            SeriesRead {
                series: Series {
                    period: 10,
                    points: vec![point(0, first), point(10, merged)],
                },
                merged_duplicates: 1,
                reordered: true,
                statistics: Statistic::ALL.to_vec(),
            },
        );
    }

    #[test]
    fn duplicate_averages_without_sums_are_averaged() {
        let input = "time,Average\n2025-12-02T00:00:00Z,1\n2025-12-02T00:00:00Z,2\n2025-12-02T00:00:00Z,6\n2025-12-02T00:00:30Z,0\n";
        let read = parse_series("s", input.as_bytes()).unwrap();
        assert_eq!(read.merged_duplicates, 2);
        assert_eq!(read.series.points[0].stats.average, Some(3.0));
        assert_eq!(read.series.period, 30);
        assert_eq!(read.statistics, vec![Statistic::Average]);
    }

    #[test]
    fn bad_values_are_refused_with_the_line() {
        check_error(
            "time,Average\n2025-12-02T00:00:00Z,1\n2025-12-02T00:00:10Z,NaN\n",
            "s:3: Average: NaN is not a finite number",
        );
        check_error(
            "time,Average\n2025-12-02T00:00:00Z,inf\n",
            "s:2: Average: inf is not a finite number",
        );
        check_error(
            "time,Sum\n2025-12-02T00:00:00Z,1\n2025-12-02T00:00:10Z,-1\n",
            "s:3: Sum: -1 is negative",
        );
        check_error(
            "time,Average\nyesterday,1\n",
            "s:2: time: \"yesterday\" is not an RFC 3339 timestamp",
        );
        check_error(
            "time,Average\n2025-12-02T00:00:00Z,many\n",
            "s:2: Average: \"many\" is not a number",
        );
        check_error("when,Average\n", "s:1: the CSV header has no `timestamp`");
        check_error(
            "time,p99\n2025-12-02T00:00:00Z,1\n",
            "s:1: the CSV header names no statistic",
        );
        let input = "{\"Datapoints\": [\n{\"Timestamp\": \"2025-12-02T00:00:00Z\", \"Sum\": 1},\n{\"Timestamp\": \"2025-12-02T00:00:10Z\",\n \"Sum\": -2}]}";
        check_error(input, "s:4: Datapoints[1].Sum: -2 is negative");
        let input = "{\"Datapoints\": [\n{\"Timestamp\": \"2025-12-02T00:00:00Z\",\n \"Sum\": \"1\"}]}";
        check_error(input, "s:3: Datapoints[0].Sum: expected a number, got string \"1\"");
        let replay = concat!(
            r#"{"time":"2025-12-02T00:00:00Z","period_seconds":10,"in_flight_average":-1.0,"in_flight_peak":3}"#,
            "\n"
        );
        check_error(replay, "s:1: in_flight_average: -1 is negative");
    }

    #[test]
    fn empty_and_single_point_series() {
        check_error("", "s:1: no datapoints");
        check_error("time,Average\n", "s:1: no datapoints");
        check_error(
            "{\"Label\": \"PendingRequests\", \"Datapoints\": []}",
            "s:1: no datapoints",
        );
        check_error(
            "time,Average\n2025-12-02T00:00:00Z,1\n",
            "s:2: a single datapoint does not tell the series' period",
        );
        let read = parse_series_with_period("s", b"time,Average\n2025-12-02T00:00:00Z,1\n", Some(10)).unwrap();
        assert_eq!(read.series.period, 10);
    }

    /// A CSV in time order streams: the scan finds what the in-memory reader finds, and the
    /// second pass gives the same points; duplicates or disorder leave it to that reader;
    /// a bad row fails the scan with its line.
    #[test]
    fn a_csv_in_time_order_streams_the_same_points() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.csv");
        let text = "timestamp,SampleCount,Sum,Maximum\n2026-01-01T00:00:00Z,10,20,5\n2026-01-01T00:00:10Z,10,30,6\n2026-01-01T00:00:30Z,10,0,0\n";
        std::fs::write(&path, text).unwrap();
        let scan = scan_csv(&path, None).unwrap().expect("in order");
        let read = parse_series("s.csv", text.as_bytes()).unwrap();
        assert_eq!(scan.period, read.series.period);
        assert_eq!(scan.period, 10);
        assert_eq!(scan.statistics, read.statistics);
        assert_eq!(scan.points, 3);
        let mut streamed = Vec::new();
        feed_csv(&path, &mut |point| streamed.push(*point)).unwrap();
        assert_eq!(streamed, read.series.points);

        for unordered in [
            "timestamp,Average\n2026-01-01T00:00:10Z,1\n2026-01-01T00:00:00Z,2\n",
            "timestamp,Average\n2026-01-01T00:00:00Z,1\n2026-01-01T00:00:00Z,2\n",
        ] {
            std::fs::write(&path, unordered).unwrap();
            assert_eq!(scan_csv(&path, None).unwrap(), None, "{unordered}");
        }
        std::fs::write(&path, "{\"Datapoints\": []}").unwrap();
        assert_eq!(scan_csv(&path, None).unwrap(), None);
        std::fs::write(
            &path,
            "timestamp,Average\n2026-01-01T00:00:00Z,1\n2026-01-01T00:00:10Z,-3\n",
        )
        .unwrap();
        let error = scan_csv(&path, None).unwrap_err().to_string();
        assert!(error.contains("s.csv:3:") && error.contains("negative"), "{error}");
    }
}
