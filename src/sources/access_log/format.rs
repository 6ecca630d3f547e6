//! The `log_format` compiler: turns a user's nginx `log_format` string into a [`LogFormat`]
//! once, with position-aware human errors. The per-line work lives in [`super::matcher`].
//!
//! A format is a run of literal text and `$variable` / `${variable}` references, exactly as
//! nginx reads it. A compiled format is: a prefix literal, then for each variable the literal
//! that follows it. A line is split at the first occurrence of that following literal, so
//! **two variables with nothing between them cannot be split and are rejected here**, not on
//! every line.

use nom::branch::alt;
use nom::bytes::complete::{tag, take_till1, take_while1};
use nom::combinator::map;
use nom::sequence::{delimited, preceded};
use nom::{IResult, Parser};

/// nginx's built-in `combined` format, used when nothing else is configured.
pub const COMBINED: &str = "$remote_addr - $remote_user [$time_local] \"$request\" $status $body_bytes_sent \"$http_referer\" \"$http_user_agent\"";

/// How nginx escaped variable values (`log_format ... escape=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Escape {
    /// `"`, `\`, control and non-ASCII bytes as `\xHH`: a `"` in the format is a reliable delimiter.
    #[default]
    Default,
    /// `\"`, `\\`, `\n`, `\r`, `\t`, `\u00XX`; unset variables are written as an empty string.
    Json,
    /// Nothing escaped: a value containing the next literal splits wrongly.
    None,
}

impl Escape {
    /// The value of nginx's `escape=` parameter.
    pub fn from_nginx(value: &str) -> Option<Escape> {
        match value {
            "default" => Some(Escape::Default),
            "json" => Some(Escape::Json),
            "none" => Some(Escape::None),
            _ => None,
        }
    }
}

/// A `log_format` that cannot be compiled, with where and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("log_format: {message} at byte {offset} (column {column})")]
pub struct FormatError {
    /// Byte offset into the format string.
    pub offset: usize,
    /// 1-based character column, for humans.
    pub column: usize,
    pub message: String,
}

/// One variable of a compiled format and the literal that ends it (empty only for a
/// variable at the very end of the format, which runs to the end of the line).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Field {
    pub name: Box<str>,
    pub(crate) terminator: Box<[u8]>,
}

/// A compiled `log_format`: build once, match many lines with [`super::matcher::LineMatcher`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogFormat {
    pub(crate) source: Box<str>,
    pub(crate) escape: Escape,
    pub(crate) prefix: Box<[u8]>,
    pub(crate) fields: Box<[Field]>,
}

impl LogFormat {
    /// nginx's built-in `combined` format.
    pub fn combined() -> LogFormat {
        // The constant is known to compile; the tests below hold it to that.
        LogFormat::compile(COMBINED, Escape::Default).unwrap_or_else(|_| LogFormat {
            source: COMBINED.into(),
            escape: Escape::Default,
            prefix: Box::default(),
            fields: Box::default(),
        })
    }

    /// Compile a format string; errors carry the byte offset and column of the problem.
    pub fn compile(format: &str, escape: Escape) -> Result<LogFormat, FormatError> {
        let error = |offset: usize, message: String| FormatError {
            offset,
            column: format[..offset].chars().count() + 1,
            message,
        };
        if format.is_empty() {
            return Err(error(0, "the format is empty".into()));
        }
        let mut prefix: Vec<u8> = Vec::new();
        let mut fields: Vec<Field> = Vec::new();
        // Where the current trailing literal began, to tell adjacent variables apart.
        let mut literal_since_variable = true;
        let mut rest = format;
        while !rest.is_empty() {
            let offset = format.len() - rest.len();
            let (after, piece) = match piece(rest) {
                Ok(parsed) => parsed,
                Err(_) => return Err(error(offset, diagnose(rest))),
            };
            match piece {
                Piece::Literal(text) => {
                    let target = match fields.last_mut() {
                        Some(field) => {
                            let mut bytes = std::mem::take(&mut field.terminator).into_vec();
                            bytes.extend_from_slice(text.as_bytes());
                            field.terminator = bytes.into_boxed_slice();
                            None
                        }
                        None => Some(text),
                    };
                    if let Some(text) = target {
                        prefix.extend_from_slice(text.as_bytes());
                    }
                    literal_since_variable = true;
                }
                Piece::Variable(name) => {
                    if !literal_since_variable {
                        let previous = fields.last().map(|f| &*f.name).unwrap_or_default();
                        return Err(error(
                            offset,
                            format!(
                                "${previous} and ${name} are adjacent with nothing between them, so a line cannot be split"
                            ),
                        ));
                    }
                    fields.push(Field {
                        name: name.into(),
                        terminator: Box::default(),
                    });
                    literal_since_variable = false;
                }
            }
            rest = after;
        }
        if fields.is_empty() {
            return Err(error(0, "the format has no variables".into()));
        }
        Ok(LogFormat {
            source: format.into(),
            escape,
            prefix: prefix.into_boxed_slice(),
            fields: fields.into_boxed_slice(),
        })
    }

    /// The format string as written.
    pub fn source(&self) -> &str {
        &self.source
    }

    pub fn escape(&self) -> Escape {
        self.escape
    }

    /// Variable names in the order they appear; a line's values come back in this order.
    pub fn variables(&self) -> impl ExactSizeIterator<Item = &str> + '_ {
        self.fields.iter().map(|field| &*field.name)
    }

    /// Position of the first occurrence of `name` (without `$`) among the variables.
    pub fn position(&self, name: &str) -> Option<usize> {
        self.fields.iter().position(|field| &*field.name == name)
    }

    pub(crate) fn fields(&self) -> &[Field] {
        &self.fields
    }
}

#[derive(Debug, PartialEq)]
enum Piece<'a> {
    Literal(&'a str),
    Variable(&'a str),
}

/// nginx variable names: letters, digits and underscores.
fn variable_name(input: &str) -> IResult<&str, &str> {
    take_while1(|c: char| c.is_ascii_alphanumeric() || c == '_').parse(input)
}

fn piece(input: &str) -> IResult<&str, Piece<'_>> {
    alt((
        map(delimited(tag("${"), variable_name, tag("}")), Piece::Variable),
        map(preceded(tag("$"), variable_name), Piece::Variable),
        map(take_till1(|c| c == '$'), Piece::Literal),
    ))
    .parse(input)
}

/// Why `piece` failed; `rest` always starts with `$` then.
fn diagnose(rest: &str) -> String {
    if let Some(braced) = rest.strip_prefix("${") {
        return match braced.find('}') {
            None => "unclosed \"${\": no \"}\" follows".into(),
            Some(0) => "empty variable name in \"${}\"".into(),
            Some(_) => "invalid variable name inside \"${...}\" (letters, digits and _ only)".into(),
        };
    }
    match rest.chars().nth(1) {
        None => "\"$\" at the end of the format with no variable name".into(),
        Some(c) => format!("\"$\" must be followed by a variable name, found {c:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `Ok((prefix, [(name, terminator)]))` or `Err((offset, column, message fragment))`.
    type Expected<'a> = Result<(&'a str, &'a [(&'a str, &'a str)]), (usize, usize, &'a str)>;

    fn check(format: &str, expected: Expected<'_>) {
        match (LogFormat::compile(format, Escape::Default), expected) {
            (Ok(got), Ok((prefix, fields))) => {
                assert_eq!(&*got.prefix, prefix.as_bytes(), "prefix of {format:?}");
                let got_fields: Vec<(&str, &[u8])> = got.fields.iter().map(|f| (&*f.name, &*f.terminator)).collect();
                let want: Vec<(&str, &[u8])> = fields.iter().map(|(n, t)| (*n, t.as_bytes())).collect();
                assert_eq!(got_fields, want, "fields of {format:?}");
            }
            (Err(got), Err((offset, column, message))) => {
                assert_eq!(
                    (got.offset, got.column),
                    (offset, column),
                    "position for {format:?}: {got}"
                );
                assert!(
                    got.message.contains(message),
                    "message for {format:?}: {:?} lacks {message:?}",
                    got.message
                );
            }
            (got, want) => panic!("format {format:?}: got {got:?}, want {want:?}"),
        }
    }

    #[test]
    fn combined_compiles() {
        check(
            COMBINED,
            Ok((
                "",
                &[
                    ("remote_addr", " - "),
                    ("remote_user", " ["),
                    ("time_local", "] \""),
                    ("request", "\" "),
                    ("status", " "),
                    ("body_bytes_sent", " \""),
                    ("http_referer", "\" \""),
                    ("http_user_agent", "\""),
                ],
            )),
        );
        assert_eq!(LogFormat::combined().fields().len(), 8);
    }

    #[test]
    fn braced_variables_and_prefix() {
        check("[${msec}]${status}ms", Ok(("[", &[("msec", "]"), ("status", "ms")])));
        check("$a", Ok(("", &[("a", "")])));
        check("x$a y", Ok(("x", &[("a", " y")])));
    }

    #[test]
    fn bad_formats_say_where() {
        check("", Err((0, 1, "empty")));
        check("$status $", Err((8, 9, "at the end")));
        check("$status ${msec", Err((8, 9, "unclosed")));
        check("a ${} b", Err((2, 3, "empty variable name")));
        check("a ${x-y} b", Err((2, 3, "invalid variable name")));
        check("$status $-", Err((8, 9, "found '-'")));
        check("$status$msec", Err((7, 8, "adjacent")));
        check("${status}${msec} x", Err((9, 10, "adjacent")));
        check("no variables", Err((0, 1, "no variables")));
        // Columns count characters, offsets count bytes.
        check("é $", Err((3, 3, "at the end")));
    }

    #[test]
    fn lookups() {
        let format = LogFormat::combined();
        assert_eq!(format.position("status"), Some(4));
        assert_eq!(format.position("msec"), None);
        assert_eq!(format.variables().count(), 8);
        assert_eq!(Escape::from_nginx("json"), Some(Escape::Json));
        assert_eq!(Escape::from_nginx("xml"), None);
    }
}
