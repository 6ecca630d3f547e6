//! Value converters for the few variables the signals need. Each takes the raw bytes the
//! matcher returned and never allocates. `-` (nginx's "unset") and anything malformed give
//! `None`; the caller tells them apart where it matters (a malformed `$request_time` is a bad
//! line, see `RecordExtractor`).

use std::borrow::Cow;

use super::format::Escape;

/// An HTTP status as nginx writes it: exactly three digits.
pub(crate) fn parse_status(raw: &[u8]) -> Option<u16> {
    match raw {
        [a, b, c] if a.is_ascii_digit() && b.is_ascii_digit() && c.is_ascii_digit() => {
            Some(u16::from(a - b'0') * 100 + u16::from(b - b'0') * 10 + u16::from(c - b'0'))
        }
        _ => None,
    }
}

/// Seconds with an optional fraction (`$request_time` `0.003`) as microseconds. Digits past
/// the sixth decimal are dropped; more than 12 integer digits are refused (no overflow).
#[inline]
pub(crate) fn parse_seconds_as_micros(raw: &[u8]) -> Option<u64> {
    // Most requests take under ten seconds and nginx writes three decimals: `D.DDD`, the
    // dot and the decimals checked and converted as one word, and no call (this runs twice
    // per line).
    if let [whole, fraction @ ..] = raw {
        if let Ok(fraction) = <[u8; 4]>::try_from(fraction) {
            // `.DDD` XOR `.000`: a zero byte, then the decimals' values if they are digits.
            let values = u32::from_le_bytes(fraction) ^ u32::from_le_bytes(*b".000");
            let whole = whole.wrapping_sub(b'0');
            if whole > 9 || values & 0xff != 0 || !all_digit_values(values) {
                return parse_seconds_as_micros_general(raw);
            }
            let [_, a, b, c] = values.to_le_bytes().map(u64::from);
            return Some(u64::from(whole) * 1_000_000 + (a * 100 + b * 10 + c) * 1_000);
        }
    }
    parse_seconds_as_micros_general(raw)
}

/// Whether every byte of `values` (bytes XORed with `0`, which maps the digits to 0..=9) is
/// at most 9: the high nibble is 0 and adding 6 does not carry out of the low one (no byte
/// can carry into the next: each is at most 0x0f then).
#[inline]
fn all_digit_values(values: u32) -> bool {
    const HIGH_NIBBLES: u32 = 0xf0f0_f0f0;
    values & HIGH_NIBBLES == 0 && values.wrapping_add(0x0606_0606) & HIGH_NIBBLES == 0
}

/// [`parse_seconds_as_micros`] for every other shape. Out of line, so the common shape
/// above stays small enough to be inlined into the caller.
#[inline(never)]
fn parse_seconds_as_micros_general(raw: &[u8]) -> Option<u64> {
    // nginx writes these with exactly three decimals: take that shape without a loop over
    // the fraction (the general loop below was a fifth of `replay` in callgrind).
    if let [whole @ .., b'.', a, b, c] = raw {
        if (1..=12).contains(&whole.len()) && a.is_ascii_digit() && b.is_ascii_digit() && c.is_ascii_digit() {
            let mut seconds: u64 = 0;
            for &digit in whole {
                if !digit.is_ascii_digit() {
                    return None;
                }
                seconds = seconds * 10 + u64::from(digit - b'0');
            }
            let millis = u64::from(a - b'0') * 100 + u64::from(b - b'0') * 10 + u64::from(c - b'0');
            return Some(seconds * 1_000_000 + millis * 1_000);
        }
    }
    // One pass over a handful of bytes: no separate search for the dot (seen in callgrind).
    let mut seconds: u64 = 0;
    let mut whole_digits = 0;
    let mut micros: u64 = 0;
    let mut scale: u64 = 100_000;
    let mut in_fraction = false;
    for &byte in raw {
        match byte {
            b'0'..=b'9' if in_fraction => {
                micros += u64::from(byte - b'0') * scale;
                scale /= 10;
            }
            b'0'..=b'9' => {
                whole_digits += 1;
                if whole_digits > 12 {
                    return None;
                }
                seconds = seconds * 10 + u64::from(byte - b'0');
            }
            b'.' if !in_fraction => in_fraction = true,
            _ => return None,
        }
    }
    if whole_digits == 0 {
        return None;
    }
    Some(seconds * 1_000_000 + micros)
}

/// A multi-valued `$upstream_response_time` (`0.000, 0.003` for retries, `0.001 : 0.001`
/// across an internal redirect, `-` for a server never reached) as the **sum** of its parts
/// in microseconds: the time this request spent waiting on upstreams in total, which is what
/// it added to the proxy's backlog. `-` parts are ignored; `None` if no part is a number or
/// any part is garbage.
#[inline]
pub(crate) fn parse_upstream_sum_micros(raw: &[u8]) -> Option<u64> {
    // Most requests reach one upstream once: try the single number first, and split only
    // when that fails (seen in perf and callgrind).
    if let Some(single) = parse_seconds_as_micros(raw) {
        return Some(single);
    }
    parse_upstream_list_micros(raw)
}

/// [`parse_upstream_sum_micros`] for `-` and lists.
#[inline(never)]
fn parse_upstream_list_micros(raw: &[u8]) -> Option<u64> {
    if raw == b"-" {
        return None;
    }
    if !raw.iter().any(|&b| b == b',' || b == b':') {
        return None;
    }
    let mut total: Option<u64> = None;
    for part in raw.split(|&b| b == b',' || b == b':') {
        let part = part.trim_ascii();
        if part == b"-" {
            continue;
        }
        let micros = parse_seconds_as_micros(part)?;
        total = Some(total.unwrap_or(0).saturating_add(micros));
    }
    total
}

/// Which variable carries the time a request was logged (its end).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeVariable {
    /// `$msec`: `1700000000.123`.
    Msec,
    /// `$time_iso8601`: `2026-11-22T19:49:22+00:00`.
    Iso8601,
    /// `$time_local`: `22/Nov/2026:19:49:22 +0000`.
    Local,
}

impl TimeVariable {
    /// The preferred order when a format has several: the most precise first.
    pub(crate) const PREFERENCE: [(&'static str, TimeVariable); 3] = [
        ("msec", TimeVariable::Msec),
        ("time_iso8601", TimeVariable::Iso8601),
        ("time_local", TimeVariable::Local),
    ];

    /// The variable's name, without `$`.
    pub fn name(self) -> &'static str {
        match self {
            TimeVariable::Msec => "msec",
            TimeVariable::Iso8601 => "time_iso8601",
            TimeVariable::Local => "time_local",
        }
    }

    /// A value of the form nginx writes, for messages.
    pub fn example(self) -> &'static str {
        match self {
            TimeVariable::Msec => "1700000000.123",
            TimeVariable::Iso8601 => "2026-11-22T19:49:22+00:00",
            TimeVariable::Local => "22/Nov/2026:19:49:22 +0000",
        }
    }
}

/// Parses log times to Unix milliseconds. The textual forms change once a second, so the
/// last string and its value are cached: a busy log parses each distinct second once. A new
/// second of the same day (and offset) only reads its `HH:MM:SS`: a quiet log's time changes
/// every few lines (issue 22).
#[derive(Debug, Clone)]
pub(crate) struct TimeParser {
    variable: TimeVariable,
    cached_text: [u8; 32],
    cached_len: usize,
    cached_ms: i64,
    /// Unix seconds of the cached text's midnight, less its offset: its value without its clock.
    cached_day_seconds: i64,
}

impl TimeParser {
    pub fn new(variable: TimeVariable) -> TimeParser {
        TimeParser {
            variable,
            cached_text: [0; 32],
            cached_len: usize::MAX,
            cached_ms: 0,
            cached_day_seconds: 0,
        }
    }

    pub fn variable(&self) -> TimeVariable {
        self.variable
    }

    /// Unix time in milliseconds.
    #[inline]
    pub(crate) fn parse_ms(&mut self, raw: &[u8]) -> Option<i64> {
        if self.variable == TimeVariable::Msec {
            return parse_msec(raw);
        }
        if self.cached_len == raw.len() && same_text(&self.cached_text, raw) {
            return Some(self.cached_ms);
        }
        self.parse_and_cache(raw)
    }

    /// A new second: parse it and remember it. Out of line, once a second.
    #[inline(never)]
    fn parse_and_cache(&mut self, raw: &[u8]) -> Option<i64> {
        let clock = match self.variable {
            TimeVariable::Iso8601 => ISO8601_CLOCK,
            TimeVariable::Local => TIME_LOCAL_CLOCK,
            TimeVariable::Msec => return None,
        };
        // The same text but for the clock: a parsed text's date and offset, so only the clock
        // needs checking (the full parse checks it the same way).
        let cached = self
            .cached_text
            .get(..raw.len())
            .filter(|_| self.cached_len == raw.len());
        let (seconds, day_seconds) = match (cached, raw.get(clock.clone())) {
            (Some(cached), Some(raw_clock))
                if cached.get(..clock.start) == raw.get(..clock.start)
                    && cached.get(clock.end..) == raw.get(clock.end..) =>
            {
                (
                    self.cached_day_seconds + clock_seconds(raw_clock)?,
                    self.cached_day_seconds,
                )
            }
            _ => {
                let seconds = match self.variable {
                    TimeVariable::Iso8601 => parse_iso8601(raw)?,
                    _ => parse_time_local(raw)?,
                };
                // Parsed, so the clock is there and valid.
                let day_seconds = seconds - raw.get(clock).and_then(clock_seconds).unwrap_or(0);
                (seconds, day_seconds)
            }
        };
        let ms = seconds.checked_mul(1000)?;
        if let Some(slot) = self.cached_text.get_mut(..raw.len()) {
            slot.copy_from_slice(raw);
            self.cached_len = raw.len();
            self.cached_ms = ms;
            self.cached_day_seconds = day_seconds;
        }
        Some(ms)
    }
}

/// Where `HH:MM:SS` is in `2026-11-22T19:49:22+00:00`.
const ISO8601_CLOCK: std::ops::Range<usize> = 11..19;
/// Where `HH:MM:SS` is in `22/Nov/2026:19:49:22 +0000`.
const TIME_LOCAL_CLOCK: std::ops::Range<usize> = 12..20;

/// Whether `raw` is the start of `cached`. Time texts are 16 to 32 bytes long, so this is
/// two (overlapping) 16-byte compares rather than a `memcmp` call (this runs on every line).
#[inline]
fn same_text(cached: &[u8; 32], raw: &[u8]) -> bool {
    match (raw.first_chunk::<16>(), raw.last_chunk::<16>()) {
        (Some(head), Some(tail)) => {
            let cached_tail = raw.len().checked_sub(16).and_then(|start| cached.get(start..raw.len()));
            cached.first_chunk::<16>() == Some(head) && cached_tail == Some(&tail[..])
        }
        _ => cached.get(..raw.len()) == Some(raw),
    }
}

/// `$msec`: seconds with a millisecond fraction.
pub(crate) fn parse_msec(raw: &[u8]) -> Option<i64> {
    let micros = parse_seconds_as_micros(raw)?;
    i64::try_from(micros / 1000).ok()
}

/// `2026-11-22T19:49:22+00:00` to Unix seconds.
pub(crate) fn parse_iso8601(raw: &[u8]) -> Option<i64> {
    if raw.len() != 25 || raw[4] != b'-' || raw[7] != b'-' || raw[10] != b'T' {
        return None;
    }
    if raw[13] != b':' || raw[16] != b':' || raw[22] != b':' {
        return None;
    }
    let year = digits(&raw[0..4])?;
    let month = digits(&raw[5..7])?;
    let day = digits(&raw[8..10])?;
    let local = clock_seconds(&raw[ISO8601_CLOCK])?;
    let offset = offset_seconds(raw[19], &raw[20..22], &raw[23..25])?;
    Some(days_from_civil(year, month, day)? * 86_400 + local - offset)
}

/// `22/Nov/2026:19:49:22 +0000` to Unix seconds.
pub(crate) fn parse_time_local(raw: &[u8]) -> Option<i64> {
    if raw.len() != 26 || raw[2] != b'/' || raw[6] != b'/' || raw[11] != b':' || raw[20] != b' ' {
        return None;
    }
    let day = digits(&raw[0..2])?;
    let month = match &raw[3..6] {
        b"Jan" => 1,
        b"Feb" => 2,
        b"Mar" => 3,
        b"Apr" => 4,
        b"May" => 5,
        b"Jun" => 6,
        b"Jul" => 7,
        b"Aug" => 8,
        b"Sep" => 9,
        b"Oct" => 10,
        b"Nov" => 11,
        b"Dec" => 12,
        _ => return None,
    };
    let year = digits(&raw[7..11])?;
    let local = clock_seconds(&raw[TIME_LOCAL_CLOCK])?;
    let offset = offset_seconds(raw[21], &raw[22..24], &raw[24..26])?;
    Some(days_from_civil(year, month, day)? * 86_400 + local - offset)
}

fn digits(raw: &[u8]) -> Option<i64> {
    let mut value = 0i64;
    for &digit in raw {
        if !digit.is_ascii_digit() {
            return None;
        }
        value = value * 10 + i64::from(digit - b'0');
    }
    Some(value)
}

/// `HH:MM:SS` to seconds since midnight.
fn clock_seconds(raw: &[u8]) -> Option<i64> {
    if raw.len() != 8 || raw[2] != b':' || raw[5] != b':' {
        return None;
    }
    let (hours, minutes, seconds) = (digits(&raw[0..2])?, digits(&raw[3..5])?, digits(&raw[6..8])?);
    // 60 allows a leap second as some clocks write it.
    if hours > 23 || minutes > 59 || seconds > 60 {
        return None;
    }
    Some(hours * 3600 + minutes * 60 + seconds)
}

fn offset_seconds(sign: u8, hours: &[u8], minutes: &[u8]) -> Option<i64> {
    let magnitude = digits(hours)? * 3600 + digits(minutes)? * 60;
    match sign {
        b'+' => Some(magnitude),
        b'-' => Some(-magnitude),
        _ => None,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> Option<i64> {
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let shifted_month = (month + 9) % 12;
    let day_of_year = (153 * shifted_month + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    Some(era * 146_097 + day_of_era - 719_468)
}

/// `(year, month, day)` of a day count since 1970-01-01: the inverse of `days_from_civil`.
pub(crate) fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z - era * 146_097;
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * shifted_month + 2) / 5 + 1) as u32;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Unix milliseconds as `2026-11-22T19:49:22Z` (UTC, second precision).
pub(crate) fn format_rfc3339(unix_ms: i64) -> String {
    if let Some(text) = rfc3339_bytes(unix_ms) {
        return text.iter().map(|&byte| char::from(byte)).collect();
    }
    let seconds = unix_ms.div_euclid(1000);
    let (year, month, day) = civil_from_days(seconds.div_euclid(86_400));
    let of_day = seconds.rem_euclid(86_400);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        of_day / 3600,
        of_day / 60 % 60,
        of_day % 60
    )
}

/// [`format_rfc3339`]'s text as ASCII bytes, without the formatter or an allocation (`replay`
/// writes one per period); `None` for a year outside 0 to 9999.
pub(crate) fn rfc3339_bytes(unix_ms: i64) -> Option<[u8; 20]> {
    let seconds = unix_ms.div_euclid(1000);
    let (year, month, day) = civil_from_days(seconds.div_euclid(86_400));
    let year = u16::try_from(year).ok().filter(|&year| year <= 9999)?;
    let of_day = seconds.rem_euclid(86_400) as u32;
    let two = |value: u32| [b'0' + (value / 10) as u8, b'0' + (value % 10) as u8];
    let [y1, y2] = two(u32::from(year / 100));
    let [y3, y4] = two(u32::from(year % 100));
    let [mo1, mo2] = two(month);
    let [d1, d2] = two(day);
    let [h1, h2] = two(of_day / 3600);
    let [mi1, mi2] = two(of_day / 60 % 60);
    let [s1, s2] = two(of_day % 60);
    Some([
        y1, y2, y3, y4, b'-', mo1, mo2, b'-', d1, d2, b'T', h1, h2, b':', mi1, mi2, b':', s1, s2, b'Z',
    ])
}

/// Undo nginx's escaping of a raw value (for display and tests; the hot path never needs it).
/// Malformed escapes are kept as written.
pub fn unescape(escape: Escape, raw: &[u8]) -> Cow<'_, [u8]> {
    if escape == Escape::None || memchr::memchr(b'\\', raw).is_none() {
        return Cow::Borrowed(raw);
    }
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        let byte = raw[i];
        if byte != b'\\' {
            out.push(byte);
            i += 1;
            continue;
        }
        let decoded = match (escape, raw.get(i + 1)) {
            (Escape::Default, Some(b'x')) => raw.get(i + 2..i + 4).and_then(hex_byte).map(|b| (b, 4)),
            (Escape::Json, Some(b'"')) => Some((b'"', 2)),
            (Escape::Json, Some(b'\\')) => Some((b'\\', 2)),
            (Escape::Json, Some(b'/')) => Some((b'/', 2)),
            (Escape::Json, Some(b'n')) => Some((b'\n', 2)),
            (Escape::Json, Some(b'r')) => Some((b'\r', 2)),
            (Escape::Json, Some(b't')) => Some((b'\t', 2)),
            (Escape::Json, Some(b'b')) => Some((0x08, 2)),
            (Escape::Json, Some(b'f')) => Some((0x0c, 2)),
            (Escape::Json, Some(b'u')) => match raw.get(i + 2..i + 4) {
                Some(b"00") => raw.get(i + 4..i + 6).and_then(hex_byte).map(|b| (b, 6)),
                _ => None,
            },
            _ => None,
        };
        match decoded {
            Some((value, width)) => {
                out.push(value);
                i += width;
            }
            None => {
                out.push(byte);
                i += 1;
            }
        }
    }
    Cow::Owned(out)
}

fn hex_byte(pair: &[u8]) -> Option<u8> {
    let nibble = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    };
    match pair {
        [high, low] => Some(nibble(*high)? << 4 | nibble(*low)?),
        _ => None,
    }
}

/// Escape a value the way nginx 1.22 writes it (`ngx_http_log_escape` and `ngx_escape_json`):
/// used by the round-trip property test and the test-log generator.
#[cfg(test)]
pub(crate) fn escape_like_nginx(escape: Escape, value: &[u8]) -> Vec<u8> {
    const UPPER_HEX: &[u8; 16] = b"0123456789ABCDEF";
    const LOWER_HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = Vec::with_capacity(value.len());
    for &byte in value {
        match escape {
            Escape::None => out.push(byte),
            Escape::Default => {
                if !(0x20..0x7f).contains(&byte) || byte == b'"' || byte == b'\\' {
                    out.extend_from_slice(&[
                        b'\\',
                        b'x',
                        UPPER_HEX[usize::from(byte >> 4)],
                        UPPER_HEX[usize::from(byte & 0xf)],
                    ]);
                } else {
                    out.push(byte);
                }
            }
            Escape::Json => match byte {
                b'"' | b'\\' => out.extend_from_slice(&[b'\\', byte]),
                b'\n' => out.extend_from_slice(b"\\n"),
                b'\r' => out.extend_from_slice(b"\\r"),
                b'\t' => out.extend_from_slice(b"\\t"),
                0x08 => out.extend_from_slice(b"\\b"),
                0x0c => out.extend_from_slice(b"\\f"),
                0..0x20 => out.extend_from_slice(&[
                    b'\\',
                    b'u',
                    b'0',
                    b'0',
                    LOWER_HEX[usize::from(byte >> 4)],
                    LOWER_HEX[usize::from(byte & 0xf)],
                ]),
                _ => out.push(byte),
            },
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check<T: PartialEq + std::fmt::Debug>(convert: impl Fn(&[u8]) -> T, input: &str, expected: T) {
        assert_eq!(convert(input.as_bytes()), expected, "input {input:?}");
    }

    #[test]
    fn statuses() {
        check(parse_status, "200", Some(200));
        check(parse_status, "499", Some(499));
        check(parse_status, "009", Some(9));
        check(parse_status, "-", None);
        check(parse_status, "2000", None);
        check(parse_status, "20x", None);
    }

    #[test]
    fn seconds() {
        check(parse_seconds_as_micros, "0.003", Some(3_000));
        check(parse_seconds_as_micros, "12.5", Some(12_500_000));
        check(parse_seconds_as_micros, "7", Some(7_000_000));
        check(parse_seconds_as_micros, "0.0000019", Some(1));
        check(parse_seconds_as_micros, "-", None);
        check(parse_seconds_as_micros, "", None);
        check(parse_seconds_as_micros, ".5", None);
        check(parse_seconds_as_micros, "1.2.3", None);
        check(parse_seconds_as_micros, "9999999999999", None);
        // The three-decimal shape nginx writes, and its near misses.
        check(parse_seconds_as_micros, "0.000", Some(0));
        check(parse_seconds_as_micros, "60.001", Some(60_001_000));
        check(
            parse_seconds_as_micros,
            "999999999999.999",
            Some(999_999_999_999_999_000),
        );
        check(parse_seconds_as_micros, "1000000000000.000", None);
        check(parse_seconds_as_micros, "1.2.345", None);
        check(parse_seconds_as_micros, ".123", None);
        check(parse_seconds_as_micros, "1.12x", None);
        check(parse_seconds_as_micros, "9.999", Some(9_999_000));
        check(parse_seconds_as_micros, "/.000", None);
        check(parse_seconds_as_micros, "0.:00", None);
    }

    #[test]
    fn the_five_byte_shortcut_agrees_with_the_general_parser() {
        // Every byte value at every position of `D.DDD`, the shape taken without a loop.
        for position in 0..5 {
            for byte in 0..=u8::MAX {
                let mut raw = *b"7.123";
                raw[position] = byte;
                assert_eq!(
                    parse_seconds_as_micros(&raw),
                    parse_seconds_as_micros_general(&raw),
                    "{:?}",
                    String::from_utf8_lossy(&raw)
                );
            }
        }
    }

    #[test]
    fn upstream_lists_are_summed() {
        check(parse_upstream_sum_micros, "0.012", Some(12_000));
        check(parse_upstream_sum_micros, "0.000, 0.003", Some(3_000));
        check(parse_upstream_sum_micros, "0.001 : 0.001", Some(2_000));
        check(parse_upstream_sum_micros, "-, 0.000", Some(0));
        check(parse_upstream_sum_micros, "0.002, 0.001 : 0.004", Some(7_000));
        check(parse_upstream_sum_micros, "-", None);
        check(parse_upstream_sum_micros, "- : -", None);
        check(parse_upstream_sum_micros, "retry502", None);
        check(parse_upstream_sum_micros, "", None);
    }

    #[test]
    fn times() {
        check(parse_msec, "1700000000.123", Some(1_700_000_000_123));
        check(parse_msec, "1700000000", Some(1_700_000_000_000));
        check(parse_iso8601, "2026-11-22T19:49:22+00:00", Some(1_795_376_962));
        check(parse_iso8601, "2026-11-22T20:49:22+01:00", Some(1_795_376_962));
        check(parse_iso8601, "1970-01-01T00:00:00+00:00", Some(0));
        check(parse_iso8601, "2026-11-22 19:49:22+00:00", None);
        check(parse_iso8601, "2026-13-22T19:49:22+00:00", None);
        check(parse_time_local, "22/Nov/2026:19:49:22 +0000", Some(1_795_376_962));
        check(parse_time_local, "22/Nov/2026:14:49:22 -0500", Some(1_795_376_962));
        check(parse_time_local, "29/Feb/2024:00:00:00 +0000", Some(1_709_164_800));
        check(parse_time_local, "22/Foo/2026:19:49:22 +0000", None);
        check(parse_time_local, "22/Nov/2026:25:49:22 +0000", None);
    }

    #[test]
    fn time_parser_caches_the_last_second() {
        let mut parser = TimeParser::new(TimeVariable::Local);
        assert_eq!(parser.parse_ms(b"22/Nov/2026:19:49:22 +0000"), Some(1_795_376_962_000));
        assert_eq!(parser.parse_ms(b"22/Nov/2026:19:49:22 +0000"), Some(1_795_376_962_000));
        assert_eq!(parser.parse_ms(b"22/Nov/2026:19:49:23 +0000"), Some(1_795_376_963_000));
        assert_eq!(parser.parse_ms(b"garbage"), None);
        assert_eq!(parser.parse_ms(b"22/Nov/2026:19:49:23 +0000"), Some(1_795_376_963_000));
        // A change in the first byte only, then in the last only.
        assert_eq!(parser.parse_ms(b"12/Nov/2026:19:49:23 +0000"), Some(1_794_512_963_000));
        assert_eq!(parser.parse_ms(b"12/Nov/2026:19:49:23 +0100"), Some(1_794_509_363_000));
        let mut msec = TimeParser::new(TimeVariable::Msec);
        assert_eq!(msec.parse_ms(b"1700000000.5"), Some(1_700_000_000_500));
    }

    /// A new second of the cached day reads only the clock: it must still check it, and a
    /// change anywhere else (day, month, year, offset) must not take that path.
    #[test]
    fn time_parser_new_second_of_the_same_day() {
        let mut local = TimeParser::new(TimeVariable::Local);
        // 2026-11-22T19:49:22Z is 1,795,376,962; its midnight is 4 h 10 min 38 s later.
        let cases: [(&[u8], Option<i64>); 11] = [
            (b"22/Nov/2026:19:49:22 +0000", Some(1_795_376_962_000)),
            (b"22/Nov/2026:19:50:00 +0000", Some(1_795_377_000_000)),
            (b"22/Nov/2026:23:59:59 +0000", Some(1_795_391_999_000)),
            (b"22/Nov/2026:24:00:00 +0000", None),
            (b"22/Nov/2026:23:60:00 +0000", None),
            (b"22/Nov/2026:2x:00:00 +0000", None),
            (b"22/Nov/2026:23-59:59 +0000", None),
            (b"23/Nov/2026:00:00:00 +0000", Some(1_795_392_000_000)),
            (b"23/Nov/2026:00:00:01 -0100", Some(1_795_395_601_000)),
            (b"23/Dec/2026:00:00:01 -0100", Some(1_797_987_601_000)),
            (b"23/Dec/2027:00:00:01 -0100", Some(1_829_523_601_000)),
        ];
        for (text, expected) in cases {
            assert_eq!(local.parse_ms(text), expected, "{}", String::from_utf8_lossy(text));
        }
        let mut iso = TimeParser::new(TimeVariable::Iso8601);
        let cases: [(&[u8], Option<i64>); 5] = [
            (b"2026-11-22T19:49:22+00:00", Some(1_795_376_962_000)),
            (b"2026-11-22T23:59:59+00:00", Some(1_795_391_999_000)),
            (b"2026-11-22T23:59:5x+00:00", None),
            (b"2026-11-22T23:59:59+01:00", Some(1_795_388_399_000)),
            (b"2026-11-23T00:00:00+01:00", Some(1_795_388_400_000)),
        ];
        for (text, expected) in cases {
            assert_eq!(iso.parse_ms(text), expected, "{}", String::from_utf8_lossy(text));
        }
    }

    #[test]
    fn rfc3339_round_trip() {
        assert_eq!(format_rfc3339(1_795_376_962_000), "2026-11-22T19:49:22Z");
        assert_eq!(format_rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(format_rfc3339(1_709_164_800_999), "2024-02-29T00:00:00Z");
        assert_eq!(format_rfc3339(-1), "1969-12-31T23:59:59Z");
        assert_eq!(format_rfc3339(253_402_300_799_000), "9999-12-31T23:59:59Z");
        // Past the bytes' four-digit years, the general path.
        assert_eq!(rfc3339_bytes(253_402_300_800_000), None);
        assert_eq!(format_rfc3339(253_402_300_800_000), "10000-01-01T00:00:00Z");
        assert_eq!(rfc3339_bytes(-62_167_219_201_000), None);
        assert_eq!(format_rfc3339(-62_167_219_200_000), "0000-01-01T00:00:00Z");
    }

    #[test]
    fn escaping_round_trips() {
        let value: &[u8] = b"a\"b\\c\n\x01\xff z";
        for escape in [Escape::Default, Escape::Json, Escape::None] {
            let escaped = escape_like_nginx(escape, value);
            assert_eq!(&*unescape(escape, &escaped), value, "{escape:?}");
        }
        assert_eq!(escape_like_nginx(Escape::Default, b"\"\x16"), b"\\x22\\x16".to_vec());
        assert_eq!(escape_like_nginx(Escape::Json, b"\"\x01"), b"\\\"\\u0001".to_vec());
    }
}
