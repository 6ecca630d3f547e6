//! Pure parser for the body of nginx's `stub_status` page.
//!
//! nginx 1.22 writes exactly (note the trailing spaces):
//! ```text
//! Active connections: 1 \nserver accepts handled requests\n 7 7 7 \nReading: 0 Writing: 1 Waiting: 0 \n
//! ```
//! Anything else (an HTML error page, a truncated body, a counter that does not fit
//! in a u64) is an error: a wrong page must never read as zero load.

use nom::bytes::complete::tag;
use nom::character::complete::{space0, space1, u64 as number};
use nom::combinator::eof;
use nom::{IResult, Parser};

/// A stub_status page is nginx's connection counters; the parser fills the type derive takes.
pub type StubStatus = crate::model::Connections;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a stub_status page: expected {expected} at byte {offset}")]
pub struct ParseError {
    pub expected: &'static str,
    pub offset: usize,
}

/// One step of the page: consumes its part of the input, yields a number (or 0 for text).
type Step = dyn for<'a> FnMut(&'a [u8]) -> IResult<&'a [u8], u64>;

/// Parse a whole stub_status body.
pub fn parse(body: &[u8]) -> Result<StubStatus, ParseError> {
    // Each step names what it expected so the error says where the page went wrong.
    let mut input = body;
    let mut step = |expected: &'static str, parser: &mut Step| match parser(input) {
        Ok((rest, value)) => {
            input = rest;
            Ok(value)
        }
        Err(_) => Err(ParseError {
            expected,
            offset: body.len() - input.len(),
        }),
    };

    let active = step("\"Active connections:\"", &mut |i| {
        let (i, _) = (tag("Active connections:"), space1).parse(i)?;
        let (i, n) = number(i)?;
        let (i, _) = (space0, tag("\n")).parse(i)?;
        Ok((i, n))
    })?;
    step("\"server accepts handled requests\"", &mut |i| {
        let (i, _) = tag("server accepts handled requests")(i)?;
        let (i, _) = (space0, tag("\n")).parse(i)?;
        Ok((i, 0))
    })?;
    let accepts = step("the accepts counter", &mut |i| {
        let (i, _) = space0(i)?;
        number(i)
    })?;
    let handled = step("the handled counter", &mut |i| {
        let (i, _) = space1(i)?;
        number(i)
    })?;
    let requests = step("the requests counter", &mut |i| {
        let (i, _) = space1(i)?;
        let (i, n) = number(i)?;
        let (i, _) = (space0, tag("\n")).parse(i)?;
        Ok((i, n))
    })?;
    let reading = step("\"Reading:\"", &mut |i| {
        let (i, _) = (tag("Reading:"), space1).parse(i)?;
        number(i)
    })?;
    let writing = step("\"Writing:\"", &mut |i| {
        let (i, _) = (space1, tag("Writing:"), space1).parse(i)?;
        number(i)
    })?;
    let waiting = step("\"Waiting:\"", &mut |i| {
        let (i, _) = (space1, tag("Waiting:"), space1).parse(i)?;
        number(i)
    })?;
    step("the end of the page", &mut |i| {
        let (i, _) = (space0, tag("\n"), eof).parse(i)?;
        Ok((i, 0))
    })?;

    Ok(StubStatus {
        active,
        accepts,
        handled,
        requests,
        reading,
        writing,
        waiting,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const NGINX_1_22: &str =
        "Active connections: 3 \nserver accepts handled requests\n 17 16 40 \nReading: 0 Writing: 2 Waiting: 1 \n";

    fn check(body: &str, expected: Result<StubStatus, &'static str>) {
        match (parse(body.as_bytes()), expected) {
            (Ok(got), Ok(want)) => assert_eq!(got, want, "body {body:?}"),
            (Err(got), Err(want)) => assert_eq!(got.expected, want, "body {body:?}"),
            (got, want) => panic!("body {body:?}: got {got:?}, want {want:?}"),
        }
    }

    #[test]
    fn parses_what_nginx_writes() {
        check(
            NGINX_1_22,
            Ok(StubStatus {
                active: 3,
                accepts: 17,
                handled: 16,
                requests: 40,
                reading: 0,
                writing: 2,
                waiting: 1,
            }),
        );
    }

    #[test]
    fn counters_with_many_digits() {
        let body = "Active connections: 123456 \nserver accepts handled requests\n 18446744073709551615 18446744073709551614 9999999999999 \nReading: 12 Writing: 345 Waiting: 6789 \n";
        let parsed = parse(body.as_bytes()).unwrap();
        assert_eq!(parsed.accepts, u64::MAX);
        assert_eq!(parsed.handled, u64::MAX - 1);
        assert_eq!(parsed.requests, 9_999_999_999_999);
        assert_eq!((parsed.reading, parsed.writing, parsed.waiting), (12, 345, 6789));
    }

    #[test]
    fn tolerates_missing_trailing_spaces() {
        let body = "Active connections: 1\nserver accepts handled requests\n 1 1 1\nReading: 0 Writing: 1 Waiting: 0\n";
        assert_eq!(parse(body.as_bytes()).unwrap().writing, 1);
    }

    #[test]
    fn malformed_pages_are_errors() {
        check("", Err("\"Active connections:\""));
        check(
            "<html><body>404 Not Found</body></html>",
            Err("\"Active connections:\""),
        );
        check("Active connections: x \n", Err("\"Active connections:\""));
        check("Active connections: 1 \n", Err("\"server accepts handled requests\""));
        check(
            "Active connections: 1 \nserver accepts handled requests\n 1 1",
            Err("the requests counter"),
        );
        check(
            "Active connections: 1 \nserver accepts handled requests\n 18446744073709551616 1 1 \n",
            Err("the accepts counter"),
        );
        check("Active connections: -1 \n", Err("\"Active connections:\""));
    }

    #[test]
    fn truncated_bodies_are_errors_at_every_cut() {
        // Every proper prefix of a real page must fail: a cut body never reads as a value.
        for cut in 0..NGINX_1_22.len() {
            assert!(
                parse(&NGINX_1_22.as_bytes()[..cut]).is_err(),
                "prefix of {cut} bytes parsed"
            );
        }
    }

    #[test]
    fn trailing_garbage_is_an_error() {
        check(&format!("{NGINX_1_22}<html>"), Err("the end of the page"));
    }
}
