//! The per-line matcher: splits one access-log line by a compiled [`LogFormat`].
//!
//! **Zero-copy and allocation-free**: values come back as byte slices into the line, and the
//! span table is one `Vec` sized once per format and reused for every line. The next literal
//! is found with `memchr` on its first byte. A value ends at the first occurrence of the
//! literal that follows it in the format; under `escape=json` an occurrence preceded by an
//! odd number of backslashes is part of the value (`\"`) and is skipped. Errors are a small
//! `Copy` enum so the caller can count bad lines by [`MatchError::reason`].

use super::format::{Escape, LogFormat};

/// Why a line did not fit the format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchError {
    /// The line does not start with the format's leading literal.
    LiteralMismatch,
    /// The literal after variable number `field` never appears: the line is cut short.
    TooFewFields { field: usize },
    /// The format ended but the line goes on from byte `offset`.
    TrailingData { offset: usize },
}

impl MatchError {
    /// A fixed label for counting bad lines by reason.
    pub fn reason(&self) -> &'static str {
        match self {
            MatchError::LiteralMismatch => "literal_mismatch",
            MatchError::TooFewFields { .. } => "too_few_fields",
            MatchError::TrailingData { .. } => "trailing_data",
        }
    }
}

impl std::fmt::Display for MatchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MatchError::LiteralMismatch => write!(
                f,
                "literal_mismatch: the line does not start with the format's first literal"
            ),
            MatchError::TooFewFields { field } => {
                write!(f, "too_few_fields: no end found for variable number {}", field + 1)
            }
            MatchError::TrailingData { offset } => {
                write!(f, "trailing_data: the line goes on past the format at byte {offset}")
            }
        }
    }
}

impl std::error::Error for MatchError {}

/// Matches lines against one format, reusing its span table.
#[derive(Debug, Clone)]
pub struct LineMatcher {
    format: LogFormat,
    /// `(start, end)` of each variable's value in the last matched line.
    spans: Vec<(usize, usize)>,
}

/// The values of one matched line, by variable position (see [`LogFormat::position`]).
#[derive(Debug, Clone, Copy)]
pub struct Fields<'m, 'l> {
    line: &'l [u8],
    spans: &'m [(usize, usize)],
}

impl<'m, 'l> Fields<'m, 'l> {
    /// The raw (still escaped) value of the variable at `position`.
    pub fn get(&self, position: usize) -> Option<&'l [u8]> {
        let (start, end) = *self.spans.get(position)?;
        self.line.get(start..end)
    }

    pub fn len(&self) -> usize {
        self.spans.len()
    }

    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// Raw values in format order.
    pub fn iter(&self) -> impl Iterator<Item = &'l [u8]> + '_ {
        let line = self.line;
        self.spans
            .iter()
            .map(move |&(start, end)| line.get(start..end).unwrap_or_default())
    }
}

impl LineMatcher {
    pub fn new(format: LogFormat) -> LineMatcher {
        let spans = vec![(0, 0); format.fields().len()];
        LineMatcher { format, spans }
    }

    pub fn format(&self) -> &LogFormat {
        &self.format
    }

    /// Split `line` (without its newline) into the format's variables.
    pub fn match_line<'m, 'l>(&'m mut self, line: &'l [u8]) -> Result<Fields<'m, 'l>, MatchError> {
        let prefix = &*self.format.prefix;
        if !line.starts_with(prefix) {
            return Err(MatchError::LiteralMismatch);
        }
        let json = self.format.escape == Escape::Json;
        let mut position = prefix.len();
        for (index, (field, span)) in self.format.fields.iter().zip(self.spans.iter_mut()).enumerate() {
            let terminator = &*field.terminator;
            if terminator.is_empty() {
                // Only the last variable has no literal after it: it takes the rest.
                *span = (position, line.len());
                position = line.len();
                continue;
            }
            let Some(at) = find_literal(line, position, terminator, json) else {
                return Err(MatchError::TooFewFields { field: index });
            };
            *span = (position, at);
            position = at + terminator.len();
        }
        if position != line.len() {
            return Err(MatchError::TrailingData { offset: position });
        }
        Ok(Fields {
            line,
            spans: &self.spans,
        })
    }
}

/// First occurrence of `literal` (non-empty) in `line[from..]`, as an absolute offset.
/// With `skip_escaped`, an occurrence right after an odd run of backslashes is escaped.
#[inline]
fn find_literal(line: &[u8], from: usize, literal: &[u8], skip_escaped: bool) -> Option<usize> {
    let (&first, rest) = literal.split_first()?;
    let mut search_from = from;
    loop {
        let haystack = line.get(search_from..)?;
        let at = search_from + memchr::memchr(first, haystack)?;
        let after = line.get(at + 1..)?;
        // Literals are a few bytes: a plain loop beats a memcmp call (seen in perf).
        let rest_matches = rest.len() <= after.len() && rest.iter().zip(after).all(|(want, got)| want == got);
        if rest_matches && !(skip_escaped && escaped(line, from, at)) {
            return Some(at);
        }
        search_from = at + 1;
    }
}

/// Is `line[at]` escaped, i.e. preceded (within the value starting at `from`) by an odd
/// number of backslashes?
#[inline]
fn escaped(line: &[u8], from: usize, at: usize) -> bool {
    let value = line.get(from..at).unwrap_or_default();
    let backslashes = value.iter().rev().take_while(|&&b| b == b'\\').count();
    backslashes % 2 == 1
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::access_log::format::COMBINED;

    /// Match `line` against `format` and compare every raw value, or the error.
    fn check(format: &str, escape: Escape, line: &[u8], expected: Result<&[&[u8]], MatchError>) {
        let compiled = LogFormat::compile(format, escape).expect("test format compiles");
        let mut matcher = LineMatcher::new(compiled);
        let got = matcher.match_line(line).map(|fields| fields.iter().collect::<Vec<_>>());
        let want = expected.map(|values| values.to_vec());
        assert_eq!(got, want, "line {:?} against {format:?}", String::from_utf8_lossy(line));
    }

    const TIMED: &str = "$remote_addr - $remote_user [$time_local] \"$request\" $status $body_bytes_sent \"$http_referer\" \"$http_user_agent\" $request_time $upstream_response_time";

    #[test]
    fn combined_line() {
        check(
            COMBINED,
            Escape::Default,
            b"127.0.0.1 - - [22/Nov/2026:19:49:22 +0000] \"GET /a?b=c HTTP/1.1\" 200 612 \"-\" \"curl/7.88.1\"",
            Ok(&[
                b"127.0.0.1",
                b"-",
                b"22/Nov/2026:19:49:22 +0000",
                b"GET /a?b=c HTTP/1.1",
                b"200",
                b"612",
                b"-",
                b"curl/7.88.1",
            ]),
        );
    }

    #[test]
    fn default_escaping_keeps_quotes_out_of_values() {
        check(
            COMBINED,
            Escape::Default,
            b"10.0.0.1 - - [22/Nov/2026:19:49:22 +0000] \"\\x16\\x03\\x01\\x02\\x00\\x01\\x00\\x01\\xFC\\x03\\x03\" 400 157 \"-\" \"a \\x22quoted\\x22 agent\"",
            Ok(&[
                b"10.0.0.1",
                b"-",
                b"22/Nov/2026:19:49:22 +0000",
                b"\\x16\\x03\\x01\\x02\\x00\\x01\\x00\\x01\\xFC\\x03\\x03",
                b"400",
                b"157",
                b"-",
                b"a \\x22quoted\\x22 agent",
            ]),
        );
    }

    #[test]
    fn multi_valued_upstream_fields() {
        check(
            TIMED,
            Escape::Default,
            b"::1 - bob [22/Nov/2026:19:49:22 +0000] \"GET / HTTP/1.1\" 502 157 \"-\" \"curl\" 0.004 0.000, 0.003 : -",
            Ok(&[
                b"::1",
                b"bob",
                b"22/Nov/2026:19:49:22 +0000",
                b"GET / HTTP/1.1",
                b"502",
                b"157",
                b"-",
                b"curl",
                b"0.004",
                b"0.000, 0.003 : -",
            ]),
        );
    }

    #[test]
    fn json_escaped_quotes_are_skipped() {
        let format = r#"{"ua":"$http_user_agent","s":"$status"}"#;
        check(
            format,
            Escape::Json,
            br#"{"ua":"say \"hi\" \\","s":"200"}"#,
            Ok(&[br#"say \"hi\" \\"#, b"200"]),
        );
        check(format, Escape::Json, br#"{"ua":"","s":"499"}"#, Ok(&[b"", b"499"]));
        // Without json escaping the first `" ` ends the value, even after a backslash.
        let quoted = "\"$http_user_agent\" $status";
        check(quoted, Escape::Json, br#""a\" b" 200"#, Ok(&[br#"a\" b"#, b"200"]));
        check(
            quoted,
            Escape::Default,
            br#""a\" b" 200"#,
            Ok(&[br#"a\"#, br#"b" 200"#]),
        );
    }

    #[test]
    fn bad_lines_say_why() {
        check(
            COMBINED,
            Escape::Default,
            b"",
            Err(MatchError::TooFewFields { field: 0 }),
        );
        check(
            "[$msec] $status",
            Escape::Default,
            b"1700000000.123] 200",
            Err(MatchError::LiteralMismatch),
        );
        check(
            COMBINED,
            Escape::Default,
            b"127.0.0.1 - - [22/Nov/2026:19:49:22 +0000] \"GET / HTTP/1.1\" 200",
            Err(MatchError::TooFewFields { field: 4 }),
        );
        check(
            "$status \"$request\"",
            Escape::Default,
            b"200 \"GET /\" extra",
            Err(MatchError::TrailingData { offset: 11 }),
        );
        check(
            "$status $request_time",
            Escape::None,
            b"200 0.001 \xff\xfe",
            Ok(&[b"200", b"0.001 \xff\xfe"]),
        );
    }

    #[test]
    fn reasons_are_fixed_labels() {
        assert_eq!(MatchError::LiteralMismatch.reason(), "literal_mismatch");
        assert_eq!(MatchError::TooFewFields { field: 3 }.reason(), "too_few_fields");
        assert_eq!(MatchError::TrailingData { offset: 9 }.reason(), "trailing_data");
    }

    #[test]
    fn matcher_is_reused_across_lines() {
        let mut matcher = LineMatcher::new(LogFormat::compile("$a $b", Escape::Default).unwrap());
        assert_eq!(matcher.match_line(b"1 2").unwrap().get(1), Some(&b"2"[..]));
        assert!(matcher.match_line(b"12").is_err());
        assert_eq!(matcher.match_line(b"3 4").unwrap().get(0), Some(&b"3"[..]));
    }
}
