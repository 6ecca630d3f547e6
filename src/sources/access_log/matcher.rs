//! The per-line matcher: splits one access-log line by a compiled [`LogFormat`].
//!
//! **Zero-copy and allocation-free**: values come back as byte slices into the line, and the
//! span table is one `Vec` sized once per format and reused for every line. The next literal
//! is found by its first byte: eight bytes at a time in plain code over the first 32 bytes
//! (most values are a few bytes: a status, a time, `-`), then with `memchr` (a call and its
//! dispatch cost more than such a short search; seen in perf and callgrind). A value ends at
//! the first occurrence of the literal that follows it in the format; under `escape=json` an
//! occurrence preceded by an odd number of backslashes is part of the value (`\"`) and is
//! skipped. Errors are a small `Copy` enum so the caller can count bad lines by
//! [`MatchError::reason`].

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
    /// The format's terminators laid out for the scan, one per variable.
    steps: Box<[Step]>,
    /// `(start, end)` of each variable's value in the last matched line.
    spans: Vec<(usize, usize)>,
}

/// The literal that ends one variable, prepared once so the per-line loop reads one
/// contiguous array (no pointer chase to the format's `Field`, no per-line setup).
#[derive(Debug, Clone)]
struct Step {
    /// The literal's first byte in every byte of a word, for the SWAR test in [`find_byte`].
    first_repeated: u64,
    /// The literal after its first byte.
    rest: Box<[u8]>,
    /// `rest` when it is at most four bytes (always, in the formats seen), little-endian,
    /// with a mask of the bytes that count: compared in one go rather than byte by byte.
    rest_word: Option<(u32, u32)>,
    /// Whole literal length; 0 only for a last variable, which runs to the end of the line.
    len: usize,
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
        let steps = format
            .fields()
            .iter()
            .map(|field| Step {
                first_repeated: field.terminator.first().map_or(0, |&first| ONES * u64::from(first)),
                rest: field.terminator.get(1..).unwrap_or_default().into(),
                rest_word: field.terminator.get(1..).filter(|rest| rest.len() <= 4).map(|rest| {
                    let mut word = [0u8; 4];
                    word[..rest.len()].copy_from_slice(rest);
                    (
                        u32::from_le_bytes(word),
                        u32::MAX.checked_shr(8 * (4 - rest.len() as u32)).unwrap_or(0),
                    )
                }),
                len: field.terminator.len(),
            })
            .collect();
        LineMatcher { format, steps, spans }
    }

    pub fn format(&self) -> &LogFormat {
        &self.format
    }

    /// Split `line` (without its newline) into the format's variables.
    pub fn match_line<'m, 'l>(&'m mut self, line: &'l [u8]) -> Result<Fields<'m, 'l>, MatchError> {
        let prefix = &*self.format.prefix;
        if !prefix.is_empty() && !line.starts_with(prefix) {
            return Err(MatchError::LiteralMismatch);
        }
        let json = self.format.escape == Escape::Json;
        let mut position = prefix.len();
        for (index, (step, span)) in self.steps.iter().zip(self.spans.iter_mut()).enumerate() {
            if step.len == 0 {
                // Only the last variable has no literal after it: it takes the rest.
                *span = (position, line.len());
                position = line.len();
                continue;
            }
            let Some(at) = find_literal(line, position, step, json) else {
                return Err(MatchError::TooFewFields { field: index });
            };
            *span = (position, at);
            position = at + step.len;
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

/// First occurrence of the step's literal in `line[from..]`, as an absolute offset.
/// With `skip_escaped`, an occurrence right after an odd run of backslashes is escaped.
#[inline]
fn find_literal(line: &[u8], from: usize, step: &Step, skip_escaped: bool) -> Option<usize> {
    let mut search_from = from;
    loop {
        let haystack = line.get(search_from..)?;
        let at = search_from + find_byte(step.first_repeated, haystack)?;
        let after = line.get(at + 1..)?;
        let rest_matches = match (step.rest_word, after.first_chunk::<4>()) {
            (Some((want, mask)), Some(got)) => (u32::from_le_bytes(*got) ^ want) & mask == 0,
            // Near the end of the line, or a long literal: a plain loop still beats a
            // memcmp call for a few bytes (seen in perf).
            _ => {
                let rest = &*step.rest;
                rest.len() <= after.len() && rest.iter().zip(after).all(|(want, got)| want == got)
            }
        };
        if rest_matches && !(skip_escaped && escaped(line, from, at)) {
            return Some(at);
        }
        search_from = at + 1;
    }
}

/// How far [`find_byte`] looks in plain code before it calls `memchr`.
const SHORT_SCAN_BYTES: usize = 32;
const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);

/// Index of the first byte equal to `needle_repeated`'s (a byte times [`ONES`]) in
/// `haystack`. Most values end within a few bytes, where a `memchr` call (dispatch, alignment
/// prologue) costs more than the search itself; so the first [`SHORT_SCAN_BYTES`] are
/// scanned eight at a time in a `u64` (SWAR), and only a longer value (a request line, a
/// user agent) goes on to `memchr`.
#[inline(always)]
fn find_byte(needle_repeated: u64, haystack: &[u8]) -> Option<usize> {
    let needle = needle_repeated as u8;
    let short = &haystack[..haystack.len().min(SHORT_SCAN_BYTES)];
    let (words, tail) = short.as_chunks::<8>();
    for (index, word) in words.iter().enumerate() {
        // Bytes equal to the needle become zero; the classic "has a zero byte" test marks
        // them. Marks above the first true zero may be false (borrows), so only the lowest
        // mark is used: that one is exact.
        let zeroed = u64::from_le_bytes(*word) ^ needle_repeated;
        let marks = zeroed.wrapping_sub(ONES) & !zeroed & HIGHS;
        if marks != 0 {
            return Some(index * 8 + (marks.trailing_zeros() / 8) as usize);
        }
    }
    let scanned = words.len() * 8;
    if let Some(index) = tail.iter().position(|&b| b == needle) {
        return Some(scanned + index);
    }
    let rest = haystack.get(short.len()..).filter(|rest| !rest.is_empty())?;
    memchr::memchr(needle, rest).map(|index| short.len() + index)
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
    fn find_byte_agrees_with_memchr() {
        // Every needle position (and none) across the SWAR words, the scalar tail and the
        // memchr part, with bytes that trip a naive zero-byte test (0x00, 0x01, 0x80, 0xff).
        for len in 0..80 {
            for at in (0..len).map(Some).chain([None]) {
                for filler in [b'a', 0x00, 0x01, 0x80, 0xff, b'"' ^ 0x01] {
                    let mut haystack = vec![filler; len];
                    if let Some(at) = at {
                        haystack[at] = b'"';
                        if at + 1 < len {
                            haystack[at + 1] = b'"';
                        }
                    }
                    assert_eq!(
                        find_byte(ONES * u64::from(b'"'), &haystack),
                        memchr::memchr(b'"', &haystack),
                        "len {len} at {at:?} filler {filler:#x}"
                    );
                }
            }
        }
    }

    #[test]
    fn matcher_is_reused_across_lines() {
        let mut matcher = LineMatcher::new(LogFormat::compile("$a $b", Escape::Default).unwrap());
        assert_eq!(matcher.match_line(b"1 2").unwrap().get(1), Some(&b"2"[..]));
        assert!(matcher.match_line(b"12").is_err());
        assert_eq!(matcher.match_line(b"3 4").unwrap().get(0), Some(&b"3"[..]));
    }
}
