//! `parse-log`: show how the configured format splits each line, as JSON lines. A debugging
//! aid for a `log_format`: `{"line":N,"ok":true,"fields":{"status":"200",...}}` with every
//! variable's raw (still escaped) value, or `{"line":N,"ok":false,"error":"..."}`. Non-UTF-8
//! bytes show as U+FFFD; a variable used twice is shown once (its first occurrence).

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::sources::access_log::{
    self, compile_from_source, BadLineCounts, LineMatcher, LogFormat, LogFormatSource, LogFormatSourceError,
    MatchError, MissingVariable,
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
    pub fn is_usage(&self) -> bool {
        !matches!(self, LogCommandError::Runtime(_))
    }
}

/// Open a log file the user named: one that is missing, unreadable or a directory is input the
/// command cannot use.
pub fn open_input(path: &Path) -> Result<File, LogCommandError> {
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
    let format = compile(source)?;
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let counts = match file {
        Some(path) => {
            let reader = open_input(path)?;
            write_all(&format, reader, &mut out)
        }
        None => write_all(&format, std::io::stdin().lock(), &mut out),
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
pub fn closed_stdout_is_done<T>(error: std::io::Error, done: T) -> std::io::Result<T> {
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

/// Write one JSON object per line of `reader` to `out`.
pub fn write_all(format: &LogFormat, reader: impl std::io::Read, out: &mut impl Write) -> std::io::Result<ParseCounts> {
    let names: Vec<&str> = format.variables().collect();
    // Show a variable used twice only once, so the object has no duplicate keys.
    let shown: Vec<bool> = names
        .iter()
        .enumerate()
        .map(|(i, name)| !names[..i].contains(name))
        .collect();
    let mut matcher = LineMatcher::new(format.clone());
    let mut counts = ParseCounts::default();
    let mut write_error = Ok(());
    access_log::for_each_line(reader, |item| {
        if write_error.is_err() {
            return;
        }
        counts.lines += 1;
        let result = match item {
            Ok(line) => match matcher.match_line(line) {
                Ok(fields) => write_fields(out, counts.lines, &names, &shown, fields.iter()),
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

fn write_fields<'l>(
    out: &mut impl Write,
    line: u64,
    names: &[&str],
    shown: &[bool],
    values: impl Iterator<Item = &'l [u8]>,
) -> std::io::Result<()> {
    write!(out, "{{\"line\":{line},\"ok\":true,\"fields\":{{")?;
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
pub fn check_files(files: &[PathBuf]) -> Result<(), LogCommandError> {
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
        let mut out = Vec::new();
        write_all(&compiled, input.as_bytes(), &mut out).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), expected, "input {input:?}");
    }

    #[test]
    fn json_lines_per_input_line() {
        check(
            "$status \"$request\" $status",
            "200 \"GET / HTTP/1.1\" 200\n\\x16\\x03\nbad \"x\" y z\n",
            concat!(
                "{\"line\":1,\"ok\":true,\"fields\":{\"status\":\"200\",\"request\":\"GET / HTTP/1.1\"}}\n",
                "{\"line\":2,\"ok\":false,\"error\":\"too_few_fields: no \\\" \\\\\\\"\\\" after $status\"}\n",
                "{\"line\":3,\"ok\":true,\"fields\":{\"status\":\"bad\",\"request\":\"x\"}}\n",
            ),
        );
        check(
            "[$msec] $status",
            "1.5] 200",
            "{\"line\":1,\"ok\":false,\"error\":\"literal_mismatch: the line does not start with \\\"[\\\"\"}\n",
        );
    }
}
