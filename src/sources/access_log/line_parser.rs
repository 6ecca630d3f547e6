//! One access-log line in, a completed request or the reason it was skipped out: the
//! matcher compiled from the user's `log_format` and the extractor of the variables the
//! signals need, as one type. The daemon, `replay` (both its paths), `simulate --log` and the
//! benchmarks all parse lines through it, so they cannot disagree about a line.

use std::ops::Range;

use super::{
    BadLine, CompletedRequest, Fields, LineMatcher, LineRequest, LogFormat, MatchError, MissingVariable,
    RecordExtractor,
};

#[derive(Debug, Clone)]
pub struct LineParser {
    matcher: LineMatcher,
    extractor: RecordExtractor,
}

impl LineParser {
    /// Fails when the format lacks a variable the signals cannot do without (`$status`, a
    /// time), or the `breakdown` variable.
    pub fn new(format: LogFormat, breakdown: Option<&str>) -> Result<LineParser, MissingVariable> {
        let extractor = RecordExtractor::new(&format, breakdown)?;
        Ok(LineParser {
            matcher: LineMatcher::new(format),
            extractor,
        })
    }

    /// Matched, extracted and placed in time. Lines must come in log order: a whole-second
    /// time variable is spread within its second by the lines before.
    #[inline]
    pub fn parse<'l>(&mut self, line: &'l [u8]) -> Result<CompletedRequest<'l>, BadLine> {
        let fields = self.matcher.match_line(line)?;
        self.extractor.extract(&fields)
    }

    /// What `parse-log` shows: the fields as matched, and the verdict [`LineParser::parse`]
    /// gives on them (the same code, so the two cannot disagree about a line).
    pub(crate) fn parse_with_fields<'p, 'l>(
        &'p mut self,
        line: &'l [u8],
    ) -> Result<(Fields<'p, 'l>, Result<CompletedRequest<'l>, BadLine>), MatchError> {
        let fields = self.matcher.match_line(line)?;
        let verdict = self.extractor.extract(&fields);
        Ok((fields, verdict))
    }

    /// The variable (without `$`) whose value is bad when a line is skipped for `reason`:
    /// `None` for the reasons that are about the whole line.
    pub(crate) fn variable_of(&self, reason: BadLine) -> Option<&'static str> {
        self.extractor.variable_of(reason)
    }

    pub fn format(&self) -> &LogFormat {
        self.matcher.format()
    }

    /// Matched and extracted but not yet placed, with the breakdown value's span in the line:
    /// what one line says on its own, so chunks can be parsed on several threads and then
    /// [placed](LineParser::place) in log order. `Err` only for what makes a line useless;
    /// a bad `$status` is in the [`LineRequest`] (the line still moves the spreading).
    #[inline]
    pub(crate) fn parse_unplaced(&mut self, line: &[u8]) -> Result<(LineRequest, Option<Range<usize>>), BadLine> {
        let fields = self.matcher.match_line(line)?;
        let request = self.extractor.extract_line(&fields)?;
        Ok((request, self.extractor.breakdown_span(&fields)))
    }

    /// The end time of an unplaced line, in log order (see [`RecordExtractor::place`]).
    #[inline]
    pub fn place(&mut self, logged_ms: i64) -> i64 {
        self.extractor.place(logged_ms)
    }

    /// Whether placing changes anything (lines with a bad `$status` must still be placed).
    pub(crate) fn spreads(&self) -> bool {
        self.extractor.spreads()
    }

    /// Whether concurrency can be derived (the format has `$request_time`).
    pub(crate) fn has_request_time(&self) -> bool {
        self.extractor.has_request_time()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::access_log::{Escape, COMBINED};

    const LINE: &[u8] =
        br#"10.0.0.1 - - [22/Nov/2026:19:49:22 +0000] "GET /login HTTP/1.1" 503 12 "-" "curl/8.5" 0.250 0.200"#;

    fn parser(breakdown: Option<&str>) -> LineParser {
        let format = format!("{COMBINED} $request_time $upstream_response_time");
        LineParser::new(LogFormat::compile(&format, Escape::Default).unwrap(), breakdown).unwrap()
    }

    #[test]
    fn parse_and_parse_unplaced_then_place_agree() {
        let mut whole = parser(Some("request"));
        let mut split = parser(Some("request"));
        for _ in 0..3 {
            let request = whole.parse(LINE).unwrap();
            let (unplaced, span) = split.parse_unplaced(LINE).unwrap();
            assert_eq!(split.place(unplaced.logged_ms), request.end_ms);
            assert_eq!(unplaced.status, Ok(request.status));
            assert_eq!(unplaced.request_time_us, request.request_time_us);
            assert_eq!(unplaced.upstream_time_us, request.upstream_time_us);
            assert_eq!(span.map(|span| &LINE[span]), request.breakdown);
        }
        assert_eq!(whole.parse(LINE).unwrap().breakdown, Some(&b"GET /login HTTP/1.1"[..]));
        assert!(whole.spreads() && whole.has_request_time());
    }

    #[test]
    fn a_line_of_another_format_is_a_bad_line_with_its_reason() {
        let mut parser = parser(None);
        assert_eq!(parser.parse(b"not a log line"), Err(BadLine::TooFewFields));
        let bad_status = String::from_utf8_lossy(LINE).replace("503", "5x3");
        assert_eq!(parser.parse(bad_status.as_bytes()), Err(BadLine::BadStatus));
        assert_eq!(
            parser.parse_unplaced(bad_status.as_bytes()).unwrap().0.status,
            Err(BadLine::BadStatus),
            "unplaced, the line is kept for the spreading"
        );
    }

    #[test]
    fn a_format_without_status_is_refused() {
        let format = LogFormat::compile("$remote_addr [$time_local]", Escape::Default).unwrap();
        assert!(LineParser::new(format, None).is_err());
    }
}
