//! serde's errors in words a user can act on. A TOML file is read with the key's path as the
//! file spells it (`cloudwatch.period`, `alarm[1].threshold`), its line, the known key nearest
//! to an unknown one, and the expected form in words rather than Rust's type names: the
//! exporter's config and the policy TOML of `simulate`/`policy` both read through it, and the
//! JSON readers put their messages through [`in_words`].

use serde::de::DeserializeOwned;

/// Why a TOML text did not deserialize, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TomlError {
    /// 1-based line of the offending value (or key).
    pub line: usize,
    /// `section.key[index]`; empty when the text is not TOML at all.
    pub key: String,
    /// What is wrong, without the key.
    pub message: String,
}

impl std::fmt::Display for TomlError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.key.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.key, self.message)
        }
    }
}

/// Deserialize `text` into `T`, keeping the path of the key an error is about.
pub(crate) fn from_toml_str<T: DeserializeOwned>(text: &str) -> Result<T, TomlError> {
    let located = |key: &str, error: &toml::de::Error| {
        let line = error.span().map_or(1, |span| line_of(text, span.start));
        let (key, message) = describe(key, error.message().trim_end());
        TomlError { line, key, message }
    };
    let document = toml::Deserializer::parse(text).map_err(|error| located("", &error))?;
    // serde's own message names only the field, not its section: the path does.
    serde_path_to_error::deserialize(document).map_err(|error| located(&key_path(error.path()), error.inner()))
}

/// 1-based line number of a byte offset.
pub fn line_of(text: &str, offset: usize) -> usize {
    let offset = offset.min(text.len());
    text.as_bytes()[..offset].iter().filter(|&&b| b == b'\n').count() + 1
}

/// `section.key[index]`, as the file spells it, without the fields toml's `Spanned` wraps
/// each value in.
fn key_path(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut text = String::new();
    for segment in path.iter() {
        match segment {
            Segment::Map { key } if key.starts_with("$__serde_spanned") => {}
            Segment::Map { key } | Segment::Enum { variant: key } => {
                if !text.is_empty() {
                    text.push('.');
                }
                text.push_str(key);
            }
            Segment::Seq { index } => text.push_str(&format!("[{index}]")),
            Segment::Unknown => {}
        }
    }
    text
}

/// The key and serde's message in words: a missing key is named with its section, an unknown
/// key gets the known key nearest to it (if one is near) instead of the list of every key of
/// its section, and a wrong type says the form expected and what was found.
fn describe(key: &str, message: &str) -> (String, String) {
    if let Some(field) = message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.strip_suffix('`'))
    {
        let key = if key.is_empty() {
            field.to_owned()
        } else {
            format!("{key}.{field}")
        };
        return (key, "is required".to_owned());
    }
    if let Some((_, expected)) = message
        .strip_prefix("unknown field `")
        .and_then(|rest| rest.split_once("`, "))
    {
        let unknown = key.rsplit('.').next().unwrap_or(key);
        let known: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
        let message = match nearest(unknown, &known) {
            Some(near) => format!("unknown key; did you mean `{near}`?"),
            None if known.is_empty() => "unknown key; this table has no keys".to_owned(),
            None => format!(
                "unknown key; the keys here are {}",
                expected
                    .trim_start_matches("expected one of ")
                    .trim_start_matches("expected ")
            ),
        };
        return (key.to_owned(), message);
    }
    (key.to_owned(), in_words(message))
}

/// A wrong type or value in words: "invalid type: integer `10`, expected a string" becomes
/// "expected a string, got integer `10`", and Rust's primitive names (`i64`, `f64`), which
/// mean nothing to the person editing the file, become "a whole number", "a number". Other
/// messages are returned as they are.
pub(crate) fn in_words(message: &str) -> String {
    for prefix in ["invalid type: ", "invalid value: "] {
        if let Some((found, expected)) = message
            .strip_prefix(prefix)
            .and_then(|rest| rest.rsplit_once(", expected "))
        {
            return format!("expected {}, got {found}", form_in_words(expected));
        }
    }
    message.to_owned()
}

fn form_in_words(expected: &str) -> &str {
    match expected {
        "i8" | "i16" | "i32" | "i64" | "i128" | "isize" => "a whole number",
        "u8" | "u16" | "u32" | "u64" | "u128" | "usize" => "a whole number, 0 or more",
        "f32" | "f64" => "a number",
        "a boolean" => "true or false",
        "a sequence" => "a list [..]",
        "a map" | "struct" => "a table",
        other if other.starts_with("struct ") => "a table",
        other => other,
    }
}

/// The known name an unknown one was most likely meant to be (a typo away), if any.
pub fn nearest<'k>(unknown: &str, known: &[&'k str]) -> Option<&'k str> {
    /// Jaro-Winkler similarity from which a key counts as a typo of another: a swapped, doubled
    /// or missing letter scores above 0.95 (`peroid`, `sample_intervall`), unrelated keys far
    /// below (`timeout` and `region` about 0.5).
    const TYPO: f64 = 0.85;
    known
        .iter()
        .map(|&k| (strsim::jaro_winkler(unknown, k), k))
        .filter(|&(similarity, _)| similarity >= TYPO)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, k)| k)
}

/// The line a key path (`alarm[1].dimensions`, `group.name`) is given on in a TOML text, for
/// findings made after deserializing, which keep only the table's place. `None`: the text is
/// not TOML or the key is not in it.
pub(crate) fn toml_key_line(text: &str, key_path: &str) -> Option<usize> {
    use toml::de::{DeTable, DeValue};
    let document = DeTable::parse(text).ok()?;
    let mut table = Some(document.get_ref());
    let mut span = None;
    for segment in key_path.split('.') {
        let (name, indexes) = segment.split_once('[').unwrap_or((segment, ""));
        let (_, mut value) = table?.iter().find(|(key, _)| key.get_ref() == name)?;
        for index in indexes.split('[').filter(|i| !i.is_empty()) {
            let index: usize = index.trim_end_matches(']').parse().ok()?;
            let DeValue::Array(items) = value.get_ref() else {
                return None;
            };
            value = items.get(index)?;
        }
        span = Some(value.span());
        table = match value.get_ref() {
            DeValue::Table(inner) => Some(inner),
            _ => None,
        };
    }
    span.map(|span| line_of(text, span.start))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_path_finds_the_line_of_its_value() {
        let text = "[group]\nname = \"web\"\n\n[[alarm]]\nalarm_name = \"a\"\n\n[[alarm]]\nalarm_name = \"b\"\n\
                    namespace = \"x\"\ndimensions = [{ name = \"InstanceId\", value = \"i-1\" }]\n\
                    [[alarm.steps]]\nlower = 1\n";
        for (path, line) in [
            ("group.name", Some(2)),
            ("alarm[1].alarm_name", Some(8)),
            ("alarm[1].namespace", Some(9)),
            ("alarm[1].dimensions", Some(10)),
            ("alarm[1].steps[0].lower", Some(12)),
            ("alarm[0].namespace", None),
            ("alarm[2].alarm_name", None),
            ("group.name.deeper", None),
        ] {
            assert_eq!(toml_key_line(text, path), line, "{path}");
        }
        assert_eq!(toml_key_line("not = toml = at all", "not"), None);
    }
}
