//! The per-line matcher: splits one access-log line by a compiled [`LogFormat`].
//!
//! **Zero-copy and allocation-free**: values come back as byte slices into the line, and the
//! span table is one `Vec` sized once per format and reused for every line. The next literal
//! is found by its first byte ([`ByteFinder`]: memchr's SSE2 searcher, inlined, on x86_64;
//! a word at a time in plain code near the end of a line), then the whole literal is one
//! masked word compare. That common case runs in a loop with no call in it, so its state
//! stays in registers; anything else (a first byte that is not the literal, a long literal,
//! an escaped quote) goes to one general search out of line. A value ends at the first
//! occurrence of the literal that follows it in the format; under `escape=json` an
//! occurrence preceded by an odd number of backslashes is part of the value (`\"`) and is
//! skipped. Errors are a small `Copy` enum so the caller can count bad lines by
//! [`MatchError::reason`].
//!
//! **nginx writes several `$upstream_*` variables as lists** ([`UPSTREAM_LISTS`]): `, `
//! between the servers tried in turn, ` : ` across an internal redirect (`0.000, 0.001 :
//! 0.003`). When such a value is followed by a literal that starts with a space, a comma or
//! a colon, an occurrence of the literal inside a separator is part of the list and is
//! skipped; one where a separator starts is still the literal if the literal starts with
//! that whole separator (`$upstream_status : $status` stays as before, ambiguous). These
//! fields take the general search, out of line; every other field keeps the fast path.

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

/// The variables nginx writes as a list, one entry per upstream state: the `*_variable`
/// functions of `ngx_http_upstream.c` join entries with `, ` and start a new group after an
/// internal redirect with ` : ` (`$upstream_cache_status` and the `$upstream_http_*` headers
/// are single values).
pub(crate) const UPSTREAM_LISTS: &[&str] = &[
    "upstream_addr",
    "upstream_status",
    "upstream_connect_time",
    "upstream_header_time",
    "upstream_response_time",
    "upstream_response_length",
    "upstream_bytes_received",
    "upstream_bytes_sent",
];

/// The separators of an [`UPSTREAM_LISTS`] value.
const LIST_SEPARATORS: [&[u8]; 2] = [b", ", b" : "];

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
    /// Finds the literal's first byte.
    finder: ByteFinder,
    /// The whole literal, little-endian in a word, with a mask of the bytes that count:
    /// compared in one go at a candidate rather than byte by byte. Zero mask for a one-byte
    /// literal (nothing left to compare). A literal longer than a word gets a word whose
    /// first byte differs from the literal's, so the compare always fails and
    /// [`find_literal`] decides: one test fewer per field than a flag.
    literal_word: u64,
    literal_mask: u64,
    /// The literal after its first byte.
    rest: Box<[u8]>,
    /// Whole literal length; 0 only for a last variable, which runs to the end of the line.
    len: usize,
    /// The value is an [`UPSTREAM_LISTS`] list whose separators can hold the literal's first
    /// byte: [`find_literal`] skips occurrences inside a separator. Such a step's
    /// `literal_word` never matches, so the fast path hands it over.
    list: bool,
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

    /// Where the value at `position` lies in the line: `Some` exactly when [`Fields::get`] is.
    pub fn span(&self, position: usize) -> Option<std::ops::Range<usize>> {
        let (start, end) = *self.spans.get(position)?;
        self.line.get(start..end).map(|_| start..end)
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
            .map(|field| {
                let literal = &*field.terminator;
                let first = literal.first().copied().unwrap_or(0);
                let list = UPSTREAM_LISTS.contains(&&*field.name)
                    && LIST_SEPARATORS.iter().any(|separator| separator.contains(&first));
                let mut word = [0u8; 8];
                let (literal_word, literal_mask) = match literal.len() {
                    _ if list => (u64::from(!first), 0xff),
                    0 | 1 => (0, 0),
                    len if len <= word.len() => {
                        word[..len].copy_from_slice(literal);
                        (u64::from_le_bytes(word), u64::MAX >> (8 * (word.len() - len)))
                    }
                    _ => (u64::from(!first), 0xff),
                };
                Step {
                    finder: ByteFinder::new(first),
                    literal_word,
                    literal_mask,
                    rest: literal.get(1..).unwrap_or_default().into(),
                    len: literal.len(),
                    list,
                }
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
        // Escaping is fixed per format: one loop for each, with no per-field test.
        let position = if self.format.escape == Escape::Json {
            split::<true>(line, prefix.len(), &self.steps, &mut self.spans)?
        } else {
            split::<false>(line, prefix.len(), &self.steps, &mut self.spans)?
        };
        if position != line.len() {
            return Err(MatchError::TrailingData { offset: position });
        }
        Ok(Fields {
            line,
            spans: &self.spans,
        })
    }
}

/// Find each step's literal from `position` on and record the values between; returns
/// where the last literal ended. Runs of steps in the common case go through
/// [`split_short`], a loop with no call in it, so its state stays in registers; the
/// general search and the last variable are handled here between runs (keeping the call
/// inside the loop cost ~45 instructions of spills per field, in callgrind).
#[inline(always)]
fn split<const JSON: bool>(
    line: &[u8],
    mut position: usize,
    steps: &[Step],
    spans: &mut [(usize, usize)],
) -> Result<usize, MatchError> {
    // Every step, in the common case.
    let (mut index, mut resume) = split_short::<JSON>(line, &mut position, steps, spans);
    loop {
        let (Some(step), Some(span)) = (steps.get(index), spans.get_mut(index)) else {
            return Ok(position);
        };
        if step.len == 0 {
            // The last variable ([`split_short`] takes it in the common case).
            *span = (position, line.len());
            position = line.len();
        } else {
            let Some(at) = find_literal(line, position, position + resume, step, JSON) else {
                return Err(MatchError::TooFewFields { field: index });
            };
            *span = (position, at);
            position = at + step.len;
        }
        index += 1;
        let (done, next_resume) = split_short::<JSON>(
            line,
            &mut position,
            steps.get(index..).unwrap_or_default(),
            spans.get_mut(index..).unwrap_or_default(),
        );
        index += done;
        resume = next_resume;
    }
}

/// Record values while each step's literal is found by [`find_literal_short`]; returns
/// how many steps were done and, for the step it stopped at, where the general search
/// may start (relative to `position`).
#[inline(always)]
fn split_short<const JSON: bool>(
    line: &[u8],
    position: &mut usize,
    steps: &[Step],
    spans: &mut [(usize, usize)],
) -> (usize, usize) {
    // Only the last variable can lack a literal after it (it takes the rest): tested once
    // here rather than per field.
    let (with_literals, takes_rest) = match steps.split_last() {
        Some((last, others)) if last.len == 0 => (others, true),
        _ => (steps, false),
    };
    let mut rest = line.get(*position..).unwrap_or_default();
    let mut spans = spans.iter_mut();
    for (done, step) in with_literals.iter().enumerate() {
        let Some(span) = spans.next() else {
            return (done, 0);
        };
        let (offset, after) = match find_literal_short::<JSON>(rest, step) {
            Ok(offset) => match rest.get(offset + step.len..) {
                Some(after) => (offset, after),
                None => return (done, 0),
            },
            Err(resume) => return (done, resume),
        };
        *span = (*position, *position + offset);
        *position += offset + step.len;
        rest = after;
    }
    if let (true, Some(span)) = (takes_rest, spans.next()) {
        *span = (*position, line.len());
        *position = line.len();
        return (steps.len(), 0);
    }
    (with_literals.len(), 0)
}

/// The common case, inlined into the per-line loop: the literal's first byte in `rest` (the
/// value and what follows) followed by the rest of the literal, not escaped; its offset in
/// `rest`. `Err(resume)` for anything else (a first byte that is not the literal, a
/// backslash before it under json escaping, a literal longer than a word or one that runs
/// into the line's last eight bytes, no first byte at all): the general [`find_literal`]
/// then searches on from `resume`, out of line.
#[inline(always)]
fn find_literal_short<const JSON: bool>(rest: &[u8], step: &Step) -> Result<usize, usize> {
    let found = step.finder.find(rest).ok_or(rest.len());
    let offset = found?;
    if step.literal_mask != 0 {
        let word = rest.get(offset..).and_then(|candidate| candidate.first_chunk::<8>());
        match word {
            Some(word) if (u64::from_le_bytes(*word) ^ step.literal_word) & step.literal_mask == 0 => {}
            _ => return Err(offset),
        }
    }
    if JSON && offset > 0 && rest.get(offset - 1) == Some(&b'\\') {
        return Err(offset);
    }
    Ok(offset)
}

/// First byte equal to `needle_repeated`'s in a short `haystack` (the end of a line), a
/// word at a time; the last partial word is tested as the haystack's last eight bytes with
/// those already tested forced to `0xff` after the XOR, so they can neither match nor
/// borrow, rather than byte by byte.
#[inline(always)]
fn find_byte_in_short(needle_repeated: u64, haystack: &[u8]) -> Option<usize> {
    let (words, tail) = haystack.as_chunks::<8>();
    for (index, word) in words.iter().enumerate() {
        if let Some(byte) = first_zero_byte(u64::from_le_bytes(*word) ^ needle_repeated) {
            return Some(index * 8 + byte);
        }
    }
    if tail.is_empty() {
        return None;
    }
    let Some(last) = haystack.last_chunk::<8>() else {
        let needle = needle_repeated as u8;
        return tail.iter().position(|&b| b == needle);
    };
    let tested_bits = 8 * (8 - tail.len() as u32);
    let tested = !u64::MAX.checked_shl(tested_bits).unwrap_or(0);
    first_zero_byte((u64::from_le_bytes(*last) ^ needle_repeated) | tested).map(|byte| haystack.len() - 8 + byte)
}

/// Finds one byte. On x86_64, memchr's SSE2 searcher (SSE2 is part of the baseline): it
/// inlines into the per-line loop, where `memchr::memchr` is a call through a function
/// pointer (to pick AVX2 at run time) that costs more than a short search. Fewer than 16
/// bytes (the end of a line), where the SSE2 searcher goes byte by byte, are tested a
/// word at a time.
#[derive(Debug, Clone, Copy)]
struct ByteFinder {
    /// The byte in every byte of a word, for [`find_byte_in_short`].
    repeated: u64,
    #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
    sse2: memchr::arch::x86_64::sse2::memchr::One,
}

impl ByteFinder {
    fn new(needle: u8) -> ByteFinder {
        ByteFinder {
            repeated: ONES * u64::from(needle),
            // Not an `Option` tested per field: `One::new` is `None` only without SSE2, which
            // this cfg rules out at compile time.
            #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
            sse2: memchr::arch::x86_64::sse2::memchr::One::new(needle)
                .expect("SSE2 is enabled at compile time, so memchr's SSE2 searcher exists"),
        }
    }

    #[inline(always)]
    fn find(&self, haystack: &[u8]) -> Option<usize> {
        if haystack.len() < 16 {
            return find_byte_in_short(self.repeated, haystack);
        }
        #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
        {
            // Most values end within 32 bytes: two 16-byte searches. Given more, memchr's
            // searcher first sets up its aligned 64-byte loop, which costs more than that
            // (~60 instructions per line in callgrind), but beats a loop of 16-byte searches
            // here on a ~120-byte user agent (+40 per line, measured).
            let (first, rest) = haystack.split_at(16);
            if let Some(index) = self.sse2.find(first) {
                return Some(index);
            }
            let Some((second, rest)) = rest.split_first_chunk::<16>() else {
                return find_byte_in_short(self.repeated, rest).map(|index| 16 + index);
            };
            if let Some(index) = self.sse2.find(second) {
                return Some(16 + index);
            }
            return self.sse2.find(rest).map(|index| 32 + index);
        }
        #[allow(unreachable_code)]
        find_byte(self.repeated, haystack, 0)
    }
}

/// Index of the lowest zero byte of `zeroed` (a word XORed with a repeated needle). The
/// classic "has a zero byte" test marks zero bytes; marks above the first true zero may be
/// false (borrows), so only the lowest mark is used: that one is exact.
#[inline(always)]
fn first_zero_byte(zeroed: u64) -> Option<usize> {
    let marks = zeroed.wrapping_sub(ONES) & !zeroed & HIGHS;
    (marks != 0).then(|| (marks.trailing_zeros() / 8) as usize)
}

/// First occurrence of the step's literal in `line[search_from..]` (the value began at
/// `from`), as an absolute offset. With `skip_escaped`, an occurrence right after an odd run
/// of backslashes is escaped; in a list, one inside a separator is skipped. Out of line:
/// long values and odd cases only (see [`find_literal_short`]).
#[inline(never)]
fn find_literal(line: &[u8], from: usize, search_from: usize, step: &Step, skip_escaped: bool) -> Option<usize> {
    let mut search_from = search_from;
    loop {
        let at = search_from + step.finder.find(line.get(search_from..)?)?;
        let after = line.get(at + 1..)?;
        let rest = &*step.rest;
        // A plain loop still beats a memcmp call for a few bytes (seen in perf).
        let rest_matches = rest.len() <= after.len() && rest.iter().zip(after).all(|(want, got)| want == got);
        if rest_matches
            && !(skip_escaped && escaped(line, from, at))
            && !(step.list && in_list_separator(line, from, at, step))
        {
            return Some(at);
        }
        search_from = at + 1;
    }
}

const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);

/// How many bytes [`find_byte`] tests in plain code before it calls `memchr`.
const SHORT_SCAN_BYTES: usize = 32;

/// Absolute index of the first byte equal to `needle_repeated`'s (a byte times [`ONES`]) in
/// `line[from..]`: [`SHORT_SCAN_BYTES`] in plain code, then `memchr` (a call and its
/// dispatch cost more than a short search). [`ByteFinder`] off x86_64.
#[cfg_attr(all(target_arch = "x86_64", target_feature = "sse2"), allow(dead_code))]
fn find_byte(needle_repeated: u64, line: &[u8], from: usize) -> Option<usize> {
    let haystack = line.get(from..)?;
    let (short, long) = haystack.split_at(haystack.len().min(SHORT_SCAN_BYTES));
    if let Some(index) = find_byte_in_short(needle_repeated, short) {
        return Some(from + index);
    }
    memchr::memchr(needle_repeated as u8, long).map(|index| from + short.len() + index)
}

/// Is the literal found at `line[at]` part of a list separator of the value that began at
/// `from`? Not when the separator starts at `at` and the literal starts with all of it: then
/// the line is read as the format says, as before lists were known.
fn in_list_separator(line: &[u8], from: usize, at: usize, step: &Step) -> bool {
    LIST_SEPARATORS.iter().any(|separator| {
        let literal_is_separator = step.len > separator.len() - 1 && step.rest.starts_with(&separator[1..]);
        (at.saturating_sub(separator.len() - 1).max(from)..=at).any(|start| {
            line.get(start..).is_some_and(|after| after.starts_with(separator))
                && !(start == at && literal_is_separator)
        })
    })
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
    use proptest::prelude::*;

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

    /// Lists followed by a space: the formats of Discourse (`$upstream_response_time
    /// $request_time`), ingress-nginx's `upstreaminfo` (`$upstream_addr
    /// $upstream_response_length $upstream_response_time $upstream_status $req_id`) and Nginx
    /// Proxy Manager (`$upstream_cache_status $upstream_status $status`), on values nginx
    /// writes for a retry (`, `) and an internal redirect (` : `).
    #[test]
    fn upstream_lists_followed_by_a_space() {
        check(
            "$status $upstream_response_time $request_time",
            Escape::Default,
            b"502 0.000, 0.001 : 0.003 0.005",
            Ok(&[b"502", b"0.000, 0.001 : 0.003", b"0.005"]),
        );
        check(
            "$upstream_addr $upstream_response_length $upstream_response_time $upstream_status $req_id",
            Escape::Default,
            b"127.0.0.1:1, 127.0.0.1:2 : unix:/run/b.sock 0, 15 : 3 0.000, 0.001 : - 502, 200 : 404 7f3a",
            Ok(&[
                b"127.0.0.1:1, 127.0.0.1:2 : unix:/run/b.sock",
                b"0, 15 : 3",
                b"0.000, 0.001 : -",
                b"502, 200 : 404",
                b"7f3a",
            ]),
        );
        check(
            "[$time_local] $upstream_cache_status $upstream_status $status - $host",
            Escape::Default,
            b"[22/Nov/2026:19:49:22 +0000] - 502, 502 : 200 200 - example.com",
            Ok(&[
                b"22/Nov/2026:19:49:22 +0000",
                b"-",
                b"502, 502 : 200",
                b"200",
                b"example.com",
            ]),
        );
        // `[::1]:80` and a single value or `-` are lists of one.
        check(
            "$upstream_addr $status",
            Escape::Default,
            b"[::1]:8080, 127.0.0.1:8080 200",
            Ok(&[b"[::1]:8080, 127.0.0.1:8080", b"200"]),
        );
        check(
            "$upstream_status $status",
            Escape::Default,
            b"- 200",
            Ok(&[b"-", b"200"]),
        );
        // A list separator is also a list separator when the literal starts with a comma.
        check(
            "$upstream_status,$status",
            Escape::Default,
            b"502, 200,200",
            Ok(&[b"502, 200", b"200"]),
        );
        // The literal is a whole separator: read as the format says (the list cannot be told
        // from the literal), as before lists were known.
        check(
            "$upstream_status : $status",
            Escape::Default,
            b"502 : 200",
            Ok(&[b"502", b"200"]),
        );
        // Other variables keep the first-occurrence rule.
        check(
            "$upstream_cache_status $status",
            Escape::Default,
            b"HIT, MISS 200",
            Ok(&[b"HIT,", b"MISS 200"]),
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
    fn byte_searches_agree_with_memchr() {
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
                    let finder = ByteFinder::new(b'"');
                    for from in 0..=len {
                        let want = memchr::memchr(b'"', &haystack[from..]);
                        assert_eq!(
                            find_byte(ONES * u64::from(b'"'), &haystack, from),
                            want.map(|index| from + index),
                            "find_byte: len {len} at {at:?} from {from} filler {filler:#x}"
                        );
                        assert_eq!(
                            finder.find(&haystack[from..]),
                            want,
                            "ByteFinder: len {len} at {at:?} from {from} filler {filler:#x}"
                        );
                    }
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

    /// The matcher's contract in the plainest code: each variable ends at the first
    /// occurrence of the literal after it (skipping, under json escaping, occurrences after
    /// an odd run of backslashes; in an upstream list, occurrences that overlap a `, ` or
    /// ` : ` within the value, unless the literal starts with that whole separator right
    /// there). The word-at-a-time scan must agree on every line.
    fn reference_split(format: &LogFormat, line: &[u8]) -> Result<Vec<(usize, usize)>, MatchError> {
        if !line.starts_with(&format.prefix) {
            return Err(MatchError::LiteralMismatch);
        }
        let json = format.escape == Escape::Json;
        let mut position = format.prefix.len();
        let mut spans = Vec::new();
        for (index, field) in format.fields().iter().enumerate() {
            let literal = &*field.terminator;
            if literal.is_empty() {
                spans.push((position, line.len()));
                position = line.len();
                continue;
            }
            let is_list = UPSTREAM_LISTS.contains(&&*field.name);
            let inside_separator = |at: usize| {
                is_list
                    && [&b", "[..], b" : "].iter().any(|separator| {
                        (position..=at).any(|start| {
                            line[start..].starts_with(separator)
                                && start + separator.len() > at
                                && !(start == at && literal.starts_with(separator))
                        })
                    })
            };
            let at = (position..line.len())
                .find(|&at| {
                    line[at..].starts_with(literal) && !(json && escaped(line, position, at)) && !inside_separator(at)
                })
                .ok_or(MatchError::TooFewFields { field: index })?;
            spans.push((position, at));
            position = at + literal.len();
        }
        if position != line.len() {
            return Err(MatchError::TrailingData { offset: position });
        }
        Ok(spans)
    }

    /// Literals of every length class the scan treats differently: one byte, up to a word,
    /// longer than a word; with bytes that trip a naive zero-byte test.
    const SCAN_LITERALS: &[&str] = &[
        " ",
        "\"",
        "] \"",
        "\" \"",
        " - ",
        "\x01",
        "\" | very long |",
        "ab",
        ", ",
        " : ",
        ",",
        ":",
        " :",
    ];

    proptest! {
        /// Random lines (short and long values, literals' bytes, backslashes) against random
        /// formats: same spans or same error as the reference.
        #[test]
        fn the_scan_agrees_with_the_plain_reference(
            prefix in proptest::option::of(0..SCAN_LITERALS.len()),
            literals in proptest::collection::vec((0..SCAN_LITERALS.len(), any::<bool>()), 1..6),
            ends_with_variable in any::<bool>(),
            json in any::<bool>(),
            line in proptest::collection::vec(
                prop_oneof![
                    Just(b' '), Just(b'"'), Just(b']'), Just(b'-'), Just(b'\\'), Just(0x01u8), Just(b'a'), Just(b'|'),
                    Just(0x00u8), Just(0x80u8), Just(0xffu8), Just(b'!'), Just(b','), Just(b':'), Just(b' ')
                ],
                0..120,
            ),
        ) {
            let mut format = prefix.map_or(String::new(), |index| SCAN_LITERALS[index].to_string());
            for (index, &(literal, is_list)) in literals.iter().enumerate() {
                // An upstream list (lists repeat: the variables are told apart by position).
                if is_list {
                    format.push_str(&format!("${{{}}}", UPSTREAM_LISTS[index % UPSTREAM_LISTS.len()]));
                } else {
                    format.push_str(&format!("${{v{index}}}"));
                }
                if index + 1 < literals.len() || !ends_with_variable {
                    format.push_str(SCAN_LITERALS[literal]);
                }
            }
            let escape = if json { Escape::Json } else { Escape::Default };
            let compiled = LogFormat::compile(&format, escape).unwrap();
            let want = reference_split(&compiled, &line);
            let mut matcher = LineMatcher::new(compiled);
            let got = matcher.match_line(&line).map(|fields| fields.spans.to_vec());
            prop_assert_eq!(got, want, "format {:?} line {:?}", format, String::from_utf8_lossy(&line));
        }

        /// Long values on a realistic line: every field boundary past the short scan.
        #[test]
        fn long_values_agree_with_the_plain_reference(lengths in proptest::collection::vec(0..80usize, 10)) {
            let value = |index: usize, byte: u8| vec![byte; lengths[index]];
            let mut line = Vec::new();
            for (index, (byte, literal)) in [
                (b'1', &b" - "[..]), (b'u', b" ["), (b't', b"] \""), (b'r', b"\" "), (b'2', b" "),
                (b'9', b" \""), (b'f', b"\" \""), (b'a', b"\" "), (b'0', b" "), (b'5', b""),
            ].into_iter().enumerate() {
                line.extend_from_slice(&value(index, byte));
                line.extend_from_slice(literal);
            }
            let format = LogFormat::compile(TIMED, Escape::Default).unwrap();
            let want = reference_split(&format, &line);
            let mut matcher = LineMatcher::new(format);
            let got = matcher.match_line(&line).map(|fields| fields.spans.to_vec());
            prop_assert_eq!(got, want, "line {:?}", String::from_utf8_lossy(&line));
        }
    }
}
