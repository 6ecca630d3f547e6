//! `parse-log`: show how the configured format splits each line, as JSON lines. A debugging
//! aid for a `log_format`: `{"line":N,"ok":true,"fields":{"status":"200",...}}` with every
//! variable's raw (still escaped) value, or `{"line":N,"ok":false,"error":"..."}` (with the
//! fields when the line matched but a value is unusable). The verdict is `replay`'s and the
//! daemon's, through the same [`LineParser`], and the error starts with the reason they count
//! it under. Non-UTF-8 bytes show as U+FFFD; a variable used twice is shown once (its first
//! occurrence).

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::sources::access_log::{
    self, compile_from_source, BadLine, BadLineCounts, LineParser, LogFormat, LogFormatSource, LogFormatSourceError,
    MatchError, MissingVariable, TimeVariable,
};

/// What went wrong in `parse-log` or `replay`; [`LogCommandError::is_usage`] tells `main`
/// which exit code to use.
#[derive(Debug, thiserror::Error)]
pub enum LogCommandError {
    #[error(transparent)]
    Format(#[from] LogFormatSourceError),
    #[error(transparent)]
    MissingVariable(#[from] MissingVariable),
    #[error("{0}")]
    Usage(String),
    /// The input was read but none of it is usable (no line is a request in the format): a
    /// result would be a quiet zero, so there is none (exit 2, as for bad flags).
    #[error("{0}")]
    Unusable(String),
    /// A log file that cannot be opened or read (exit 2, as any input the command cannot use).
    #[error("cannot read {}: {source}", path.display())]
    Input {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{0:#}")]
    Runtime(#[from] anyhow::Error),
}

impl LogCommandError {
    /// A problem with the flags or the format (exit 2) rather than with running (exit 1).
    pub(crate) fn is_usage(&self) -> bool {
        !matches!(self, LogCommandError::Runtime(_))
    }
}

/// Open a log file the user named: one that is missing, unreadable or a directory is input the
/// command cannot use.
pub(crate) fn open_input(path: &Path) -> Result<File, LogCommandError> {
    let input = |source| LogCommandError::Input {
        path: path.to_owned(),
        source,
    };
    let file = File::open(path).map_err(input)?;
    // Opening a directory succeeds; reading it fails later, looking like a failure while running.
    if file.metadata().map_err(input)?.is_dir() {
        return Err(input(std::io::Error::from(std::io::ErrorKind::IsADirectory)));
    }
    Ok(file)
}

/// Compile the format the flags or the config named.
pub fn compile(source: &LogFormatSource) -> Result<LogFormat, LogCommandError> {
    Ok(compile_from_source(source)?)
}

/// `--config` and the format flags say the same thing twice.
pub fn config_and_flags(command: &str) -> LogCommandError {
    LogCommandError::Usage(format!(
        "{command}: give either --config or --log-format/--log-format-name, not both"
    ))
}

pub fn run(source: &LogFormatSource, file: Option<&Path>) -> Result<(), LogCommandError> {
    // The parser `replay` and the daemon use: a format they refuse is refused here too.
    let mut parser = LineParser::new(compile(source)?, None)?;
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let counts = match file {
        Some(path) => {
            let reader = open_input(path)?;
            write_all(&mut parser, reader, &mut out)
        }
        None => write_all(&mut parser, std::io::stdin().lock(), &mut out),
    }
    .or_else(|error| closed_stdout_is_done(error, ParseCounts::default()))
    .with_context(|| format!("reading {}", display_name(file)))?;
    out.flush()
        .or_else(|error| closed_stdout_is_done(error, ()))
        .context("writing to stdout")?;
    // The summary goes to stderr so stdout stays one JSON object per line.
    eprintln!("parse-log: {} lines, {}", counts.lines, counts.bad.summary());
    Ok(())
}

/// `parse-log ... | head` closes stdout early: that ends the command, it is not a failure.
pub(crate) fn closed_stdout_is_done<T>(error: std::io::Error, done: T) -> std::io::Result<T> {
    if error.kind() == std::io::ErrorKind::BrokenPipe {
        Ok(done)
    } else {
        Err(error)
    }
}

fn display_name(file: Option<&Path>) -> String {
    file.map_or_else(|| "standard input".into(), |p| p.display().to_string())
}

/// Lines read and bad lines by reason.
#[derive(Debug, Default)]
pub struct ParseCounts {
    pub lines: u64,
    pub bad: BadLineCounts,
}

/// Write one JSON object per line of `reader` to `out`, with the verdict `replay` and the
/// daemon give the line ([`LineParser::parse_with_fields`]): a line that matches the format
/// but has a value the signals cannot use is `"ok":false`, its fields shown beside the error.
pub fn write_all(
    parser: &mut LineParser,
    reader: impl std::io::Read,
    out: &mut impl Write,
) -> std::io::Result<ParseCounts> {
    let format = parser.format().clone();
    let format = &format;
    let names: Vec<&str> = format.variables().collect();
    // Show a variable used twice only once, so the object has no duplicate keys.
    let shown: Vec<bool> = names
        .iter()
        .enumerate()
        .map(|(i, name)| !names[..i].contains(name))
        .collect();
    // The variable behind each reason, looked up before the parser is borrowed by a line.
    let culprits = BadLine::ALL.map(|reason| parser.variable_of(reason));
    let mut counts = ParseCounts::default();
    let mut write_error = Ok(());
    access_log::for_each_line(reader, |item| {
        if write_error.is_err() {
            return;
        }
        counts.lines += 1;
        let result = match item {
            Ok(line) => match parser.parse_with_fields(line) {
                Ok((fields, Ok(_))) => write_fields(out, counts.lines, None, &names, &shown, fields.iter()),
                Ok((fields, Err(reason))) => {
                    counts.bad.bump(reason);
                    let value =
                        culprits[reason as usize].and_then(|name| Some((name, fields.get(format.position(name)?)?)));
                    let error = describe_value(reason, value);
                    write_fields(out, counts.lines, Some(&error), &names, &shown, fields.iter())
                }
                Err(error) => {
                    counts.bad.bump(error.into());
                    write_failure(out, counts.lines, &describe(format, error))
                }
            },
            Err(reason) => {
                counts.bad.bump(reason);
                write_failure(
                    out,
                    counts.lines,
                    &format!("{}: longer than {} bytes", reason.label(), access_log::MAX_LINE_BYTES),
                )
            }
        };
        if let Err(error) = result {
            write_error = Err(error);
        }
    })?;
    write_error?;
    Ok(counts)
}

/// Longest part of a bad value quoted in its error.
const QUOTED_VALUE_CHARS: usize = 80;

/// Why a matched line is skipped, naming the variable and its value: `bad_status: $status is
/// "2OO", not three digits`.
fn describe_value(reason: BadLine, value: Option<(&str, &[u8])>) -> String {
    let Some((name, raw)) = value else {
        return reason.label().to_string();
    };
    let expected = match reason {
        BadLine::BadStatus => "three digits".to_string(),
        BadLine::BadRequestTime => "a number of seconds such as 0.003, or -".to_string(),
        BadLine::BadTime => match TimeVariable::PREFERENCE.iter().find(|(n, _)| *n == name) {
            Some((_, variable)) => format!("a time such as {:?}", variable.example()),
            None => "a time".to_string(),
        },
        _ => return reason.label().to_string(),
    };
    let text = String::from_utf8_lossy(raw);
    let mut quoted: String = text.chars().take(QUOTED_VALUE_CHARS).collect();
    if quoted.len() < text.len() {
        quoted.push_str("...");
    }
    format!("{}: ${name} is {quoted:?}, not {expected}", reason.label())
}

fn write_fields<'l>(
    out: &mut impl Write,
    line: u64,
    error: Option<&str>,
    names: &[&str],
    shown: &[bool],
    values: impl Iterator<Item = &'l [u8]>,
) -> std::io::Result<()> {
    match error {
        None => write!(out, "{{\"line\":{line},\"ok\":true,\"fields\":{{")?,
        Some(error) => {
            write!(out, "{{\"line\":{line},\"ok\":false,\"error\":")?;
            serde_json::to_writer(&mut *out, error)?;
            out.write_all(b",\"fields\":{")?;
        }
    }
    let mut first = true;
    for ((name, value), &show) in names.iter().zip(values).zip(shown) {
        if !show {
            continue;
        }
        if !first {
            out.write_all(b",")?;
        }
        first = false;
        serde_json::to_writer(&mut *out, name)?;
        out.write_all(b":")?;
        serde_json::to_writer(&mut *out, &String::from_utf8_lossy(value))?;
    }
    out.write_all(b"}}\n")
}

fn write_failure(out: &mut impl Write, line: u64, error: &str) -> std::io::Result<()> {
    write!(out, "{{\"line\":{line},\"ok\":false,\"error\":")?;
    serde_json::to_writer(&mut *out, error)?;
    out.write_all(b"}\n")
}

/// A match error in the format's own terms; never quotes the line itself.
pub fn describe(format: &LogFormat, error: MatchError) -> String {
    let fields = format.fields();
    match error {
        MatchError::LiteralMismatch => format!(
            "literal_mismatch: the line does not start with {:?}",
            String::from_utf8_lossy(&format.prefix)
        ),
        MatchError::TooFewFields { field } => match fields.get(field) {
            Some(f) => format!(
                "too_few_fields: no {:?} after ${}",
                String::from_utf8_lossy(&f.terminator),
                f.name
            ),
            None => error.to_string(),
        },
        MatchError::TrailingData { offset } => {
            format!("trailing_data: the format ends at byte {offset} but the line goes on")
        }
    }
}

/// Every file can be opened, before the first is read: a typo in the last of several logs
/// fails at once, not after minutes of replay.
pub(crate) fn check_files(files: &[PathBuf]) -> Result<(), LogCommandError> {
    for file in files {
        open_input(file)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::access_log::Escape;

    fn check(format: &str, input: &str, expected: &str) {
        let compiled = LogFormat::compile(format, Escape::Default).unwrap();
        let mut parser = LineParser::new(compiled, None).unwrap();
        let mut out = Vec::new();
        write_all(&mut parser, input.as_bytes(), &mut out).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), expected, "input {input:?}");
    }

    #[test]
    fn json_lines_per_input_line() {
        check(
            "$msec $status \"$request\" $status",
            "1.5 200 \"GET / HTTP/1.1\" 200\n\\x16\\x03\n",
            concat!(
                "{\"line\":1,\"ok\":true,\"fields\":{\"msec\":\"1.5\",\"status\":\"200\",\"request\":\"GET / HTTP/1.1\"}}\n",
                "{\"line\":2,\"ok\":false,\"error\":\"too_few_fields: no \\\" \\\" after $msec\"}\n",
            ),
        );
        check(
            "[$msec] $status",
            "1.5] 200",
            "{\"line\":1,\"ok\":false,\"error\":\"literal_mismatch: the line does not start with \\\"[\\\"\"}\n",
        );
    }

    /// Issue 22: lines that match the format but that `replay` and the daemon skip were
    /// `"ok":true`. Each is refused under the reason replay counts it as, naming the value.
    #[test]
    fn a_value_the_signals_cannot_use_is_not_ok() {
        let format = r#"$remote_addr - $remote_user [$time_local] "$request" $status $request_time"#;
        let line = |time: &str, status: &str, rest: &str| {
            format!("10.0.0.1 - - [{time}] \"GET / HTTP/1.1\" {status} {rest}\n")
        };
        let cases = [
            (
                line("07/Dec/2026:10:00:00 +0000", "2OO", "0.001"),
                r#"bad_status: $status is "2OO", not three digits"#,
            ),
            (
                line("32/Dec/2026:10:00:00 +0000", "200", "0.001"),
                r#"bad_time: $time_local is "32/Dec/2026:10:00:00 +0000", not a time such as "22/Nov/2026:19:49:22 +0000""#,
            ),
            // A combined line with two more variables, read with a format that ends early:
            // the last variable takes the rest of the line.
            (
                line("07/Dec/2026:10:00:00 +0000", "200", r#"3 "-" "curl/7.88.1" 0.000 -"#),
                r#"bad_request_time: $request_time is "3 \"-\" \"curl/7.88.1\" 0.000 -", not a number of seconds such as 0.003, or -"#,
            ),
        ];
        for (input, error) in cases {
            let compiled = LogFormat::compile(format, Escape::Default).unwrap();
            let mut parser = LineParser::new(compiled, None).unwrap();
            let mut out = Vec::new();
            let counts = write_all(&mut parser, input.as_bytes(), &mut out).unwrap();
            let shown: serde_json::Value = serde_json::from_slice(&out).unwrap();
            assert_eq!(shown["ok"], false, "{input}");
            assert_eq!(shown["error"], error, "{input}");
            assert_eq!(shown["fields"]["remote_addr"], "10.0.0.1", "the fields are shown too");
            // The count replay's summary prints.
            let label = error.split(':').next().unwrap();
            assert_eq!(counts.bad.summary(), format!("1 bad: {label}=1"));
        }
    }
}
