//! Reads one named `log_format` out of nginx.conf, following `include` like nginx does.
//!
//! The tokenizer is pure ([`directives`]); the file walk ([`find_log_format`]) only reads
//! files and expands `include` globs. Tokens follow nginx's `ngx_conf_read_token`: words
//! end at whitespace, `;` or `{` (but `${` stays in the word), `#` starts a comment,
//! `'...'` and `"..."` are strings, and `\"`, `\'`, `\\`, `\t`, `\r`, `\n` are escapes (any
//! other backslash is kept). A `log_format` is `log_format NAME [escape=..] STRING...;` and
//! its strings are concatenated with nothing between them, which is how multi-line formats
//! are written. Relative `include` paths resolve against the directory of the main
//! nginx.conf (nginx's conf prefix), not of the including file.

use std::path::{Path, PathBuf};

use super::format::Escape;

/// nginx itself has no include depth limit but a loop would never end; real configs nest 2-3.
pub const MAX_INCLUDE_DEPTH: usize = 16;

/// One directive: its name, its arguments (escapes resolved) and the line it starts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Directive {
    pub name: String,
    pub args: Vec<String>,
    pub line: usize,
}

/// A `log_format` found in the configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamedFormat {
    pub format: String,
    pub escape: Escape,
    /// The file that defines it.
    pub file: PathBuf,
    pub line: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum NginxConfError {
    #[error("cannot read {}: {source}", path.display())]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{}:{line}: {message}", path.display())]
    Syntax {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error("{}: includes nest deeper than {MAX_INCLUDE_DEPTH} (an include loop?)", path.display())]
    TooDeep { path: PathBuf },
    #[error("log_format {name:?} not found in {}", searched_list(.searched))]
    NotFound { name: String, searched: Vec<PathBuf> },
}

fn searched_list(searched: &[PathBuf]) -> String {
    let names: Vec<String> = searched.iter().map(|p| p.display().to_string()).collect();
    names.join(", ")
}

/// Syntax error without a file name; [`find_log_format`] adds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenError {
    pub line: usize,
    pub message: String,
}

/// Split a configuration file's text into directives, flattening blocks.
pub fn directives(text: &[u8]) -> Result<Vec<Directive>, TokenError> {
    let mut out = Vec::new();
    let mut words: Vec<String> = Vec::new();
    let mut directive_line = 1;
    let mut line = 1;
    let mut i = 0;
    let finish = |words: &mut Vec<String>, out: &mut Vec<Directive>, at_line: usize| {
        let mut drained = std::mem::take(words).into_iter();
        if let Some(name) = drained.next() {
            out.push(Directive {
                name,
                args: drained.collect(),
                line: at_line,
            });
        }
    };
    while i < text.len() {
        let byte = text[i];
        match byte {
            b'\n' => {
                line += 1;
                i += 1;
            }
            b' ' | b'\t' | b'\r' => i += 1,
            b'#' => {
                while i < text.len() && text[i] != b'\n' {
                    i += 1;
                }
            }
            b';' | b'{' => {
                if words.is_empty() {
                    return Err(TokenError {
                        line,
                        message: format!("unexpected {:?}", char::from(byte)),
                    });
                }
                finish(&mut words, &mut out, directive_line);
                i += 1;
            }
            b'}' => {
                if !words.is_empty() {
                    return Err(TokenError {
                        line,
                        message: "unexpected \"}\"".into(),
                    });
                }
                i += 1;
            }
            b'"' | b'\'' => {
                if words.is_empty() {
                    directive_line = line;
                }
                let quote = byte;
                let start_line = line;
                let mut word = Vec::new();
                i += 1;
                loop {
                    let Some(&c) = text.get(i) else {
                        return Err(TokenError {
                            line: start_line,
                            message: format!("unclosed {} string", char::from(quote)),
                        });
                    };
                    if c == quote {
                        i += 1;
                        break;
                    }
                    if c == b'\\' {
                        i += push_escape(&text[i..], &mut word);
                        continue;
                    }
                    if c == b'\n' {
                        line += 1;
                    }
                    word.push(c);
                    i += 1;
                }
                words.push(String::from_utf8_lossy(&word).into_owned());
            }
            _ => {
                if words.is_empty() {
                    directive_line = line;
                }
                let mut word = Vec::new();
                while let Some(&c) = text.get(i) {
                    match c {
                        b' ' | b'\t' | b'\r' | b'\n' | b';' => break,
                        b'{' if word.last() != Some(&b'$') => break,
                        b'\\' => i += push_escape(&text[i..], &mut word),
                        _ => {
                            word.push(c);
                            i += 1;
                        }
                    }
                }
                words.push(String::from_utf8_lossy(&word).into_owned());
            }
        }
    }
    if !words.is_empty() {
        return Err(TokenError {
            line: directive_line,
            message: "unexpected end of file, expecting \";\"".into(),
        });
    }
    Ok(out)
}

/// Resolve one backslash escape at the start of `rest`; returns the bytes consumed.
fn push_escape(rest: &[u8], word: &mut Vec<u8>) -> usize {
    match rest.get(1) {
        Some(&c @ (b'"' | b'\'' | b'\\')) => {
            word.push(c);
            2
        }
        Some(b't') => {
            word.push(b'\t');
            2
        }
        Some(b'r') => {
            word.push(b'\r');
            2
        }
        Some(b'n') => {
            word.push(b'\n');
            2
        }
        Some(&c) => {
            // nginx keeps the backslash, and the next byte never ends the word.
            word.extend_from_slice(&[b'\\', c]);
            2
        }
        None => {
            word.push(b'\\');
            1
        }
    }
}

/// Read `log_format NAME` from the directives of one file, if there.
pub fn log_format_in(directives: &[Directive], name: &str) -> Option<Result<(String, Escape, usize), TokenError>> {
    let found = directives
        .iter()
        .find(|d| d.name == "log_format" && d.args.first().map(String::as_str) == Some(name))?;
    let mut parts = found.args.iter().skip(1).peekable();
    let mut escape = Escape::Default;
    if let Some(value) = parts.peek().and_then(|p| p.strip_prefix("escape=")) {
        match Escape::from_nginx(value) {
            Some(parsed) => escape = parsed,
            None => {
                return Some(Err(TokenError {
                    line: found.line,
                    message: format!("unknown escape={value:?}: expected default, json or none"),
                }))
            }
        }
        parts.next();
    }
    let format: String = parts.map(String::as_str).collect();
    if format.is_empty() {
        return Some(Err(TokenError {
            line: found.line,
            message: format!("log_format {name:?} has no format string"),
        }));
    }
    Some(Ok((format, escape, found.line)))
}

/// Find `log_format NAME` in `nginx_conf` and the files it includes, depth first in file
/// order like nginx. `combined` is nginx's built-in and is used if not defined.
pub fn find_log_format(nginx_conf: &Path, name: &str) -> Result<NamedFormat, NginxConfError> {
    let prefix = nginx_conf.parent().map(Path::to_path_buf).unwrap_or_default();
    let mut searched = Vec::new();
    if let Some(found) = search_file(nginx_conf, &prefix, name, 0, &mut searched)? {
        return Ok(found);
    }
    if name == "combined" {
        return Ok(NamedFormat {
            format: super::format::COMBINED.into(),
            escape: Escape::Default,
            file: PathBuf::from("(built in)"),
            line: 0,
        });
    }
    Err(NginxConfError::NotFound {
        name: name.into(),
        searched,
    })
}

fn search_file(
    path: &Path,
    prefix: &Path,
    name: &str,
    depth: usize,
    searched: &mut Vec<PathBuf>,
) -> Result<Option<NamedFormat>, NginxConfError> {
    if depth > MAX_INCLUDE_DEPTH {
        return Err(NginxConfError::TooDeep { path: path.into() });
    }
    let text = std::fs::read(path).map_err(|source| NginxConfError::Read {
        path: path.into(),
        source,
    })?;
    searched.push(path.into());
    let syntax = |error: TokenError| NginxConfError::Syntax {
        path: path.into(),
        line: error.line,
        message: error.message,
    };
    let parsed = directives(&text).map_err(syntax)?;
    for directive in &parsed {
        if directive.name == "log_format" && directive.args.first().map(String::as_str) == Some(name) {
            let (format, escape, line) = log_format_in(std::slice::from_ref(directive), name)
                .unwrap_or_else(|| {
                    Err(TokenError {
                        line: directive.line,
                        message: "log_format vanished".into(),
                    })
                })
                .map_err(syntax)?;
            return Ok(Some(NamedFormat {
                format,
                escape,
                file: path.into(),
                line,
            }));
        }
        if directive.name == "include" {
            let Some(pattern) = directive.args.first() else {
                continue;
            };
            let pattern = prefix.join(pattern);
            for included in expand_include(&pattern).map_err(|source| NginxConfError::Read {
                path: pattern.clone(),
                source,
            })? {
                if let Some(found) = search_file(&included, prefix, name, depth + 1, searched)? {
                    return Ok(Some(found));
                }
            }
        }
    }
    Ok(None)
}

/// A path, or a glob (`*`, `?`, `[...]` in any component) expanded in sorted order like
/// glob(3). A glob that matches nothing is fine, as in nginx; a plain missing file is not.
fn expand_include(pattern: &Path) -> std::io::Result<Vec<PathBuf>> {
    let is_glob = |s: &str| s.contains(['*', '?', '[']);
    if !is_glob(&pattern.to_string_lossy()) {
        return Ok(vec![pattern.to_path_buf()]);
    }
    let mut candidates = vec![PathBuf::new()];
    for component in pattern.components() {
        let text = component.as_os_str().to_string_lossy();
        if !is_glob(&text) {
            for candidate in &mut candidates {
                candidate.push(component.as_os_str());
            }
            continue;
        }
        let mut next = Vec::new();
        for directory in &candidates {
            let Ok(entries) = std::fs::read_dir(if directory.as_os_str().is_empty() {
                Path::new(".")
            } else {
                directory
            }) else {
                continue;
            };
            let mut names: Vec<String> = entries
                .filter_map(|entry| entry.ok())
                .map(|entry| entry.file_name().to_string_lossy().into_owned())
                .filter(|entry| !entry.starts_with('.') && wildcard_match(text.as_bytes(), entry.as_bytes()))
                .collect();
            names.sort();
            next.extend(names.into_iter().map(|entry| directory.join(entry)));
        }
        candidates = next;
    }
    Ok(candidates)
}

/// Shell-style match of one path component: `*`, `?` and `[abc]` / `[a-z]` / `[!a]`.
pub fn wildcard_match(pattern: &[u8], name: &[u8]) -> bool {
    match pattern.split_first() {
        None => name.is_empty(),
        Some((b'*', rest)) => (0..=name.len()).any(|skip| wildcard_match(rest, &name[skip..])),
        Some((b'?', rest)) => !name.is_empty() && wildcard_match(rest, &name[1..]),
        Some((b'[', rest)) => {
            let Some(close) = rest.iter().skip(1).position(|&b| b == b']').map(|p| p + 1) else {
                return name.first() == Some(&b'[') && wildcard_match(rest, &name[1..]);
            };
            let Some((&c, name_rest)) = name.split_first() else {
                return false;
            };
            let (negate, set) = match &rest[..close] {
                [b'!' | b'^', set @ ..] => (true, set),
                set => (false, set),
            };
            let mut matched = false;
            let mut k = 0;
            while k < set.len() {
                if k + 2 < set.len() && set[k + 1] == b'-' {
                    matched |= set[k] <= c && c <= set[k + 2];
                    k += 3;
                } else {
                    matched |= set[k] == c;
                    k += 1;
                }
            }
            matched != negate && wildcard_match(&rest[close + 1..], name_rest)
        }
        Some((&literal, rest)) => name.first() == Some(&literal) && wildcard_match(rest, &name[1..]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The format and escape of `log_format NAME` in `text`, or the error line and message.
    fn check(text: &str, name: &str, expected: Result<(&str, Escape), (usize, &str)>) {
        let got = directives(text.as_bytes()).and_then(|parsed| {
            log_format_in(&parsed, name).unwrap_or_else(|| {
                Err(TokenError {
                    line: 0,
                    message: "not found".into(),
                })
            })
        });
        match (got, expected) {
            (Ok((format, escape, _)), Ok((want_format, want_escape))) => {
                assert_eq!((format.as_str(), escape), (want_format, want_escape), "in {text:?}")
            }
            (Err(error), Err((line, message))) => {
                assert_eq!(error.line, line, "in {text:?}: {error:?}");
                assert!(error.message.contains(message), "in {text:?}: {error:?}");
            }
            (got, want) => panic!("in {text:?}: got {got:?}, want {want:?}"),
        }
    }

    #[test]
    fn multi_line_concatenated_formats() {
        check(
            "http {\n  log_format main '$remote_addr - $remote_user [$time_local] \"$request\" '\n      '$status $body_bytes_sent'   # trailing comment\n      \" $request_time\";\n}\n",
            "main",
            Ok((
                "$remote_addr - $remote_user [$time_local] \"$request\" $status $body_bytes_sent $request_time",
                Escape::Default,
            )),
        );
    }

    #[test]
    fn escape_parameter_and_escapes() {
        check(
            "log_format j escape=json '{\"t\":\"$msec\",\\'s\\':\"$status\"}\\t';",
            "j",
            Ok(("{\"t\":\"$msec\",'s':\"$status\"}\t", Escape::Json)),
        );
        check("log_format n escape=none $status;", "n", Ok(("$status", Escape::None)));
        check("log_format x escape=xml $status;", "x", Err((1, "unknown escape")));
        check("\n\nlog_format e;", "e", Err((3, "no format string")));
    }

    #[test]
    fn unquoted_words_and_braced_variables() {
        check(
            "log_format b ${status}x\\;y \"\\d\";",
            "b",
            Ok(("${status}x\\;y\\d", Escape::Default)),
        );
    }

    #[test]
    fn comments_and_other_names_are_skipped() {
        check(
            "# log_format main \"$nope\";\nlog_format other $a;\nlog_format main \"$status\"; # log_format main\n",
            "main",
            Ok(("$status", Escape::Default)),
        );
    }

    #[test]
    fn syntax_errors_name_the_line() {
        check("log_format main \"$status;\n\n", "main", Err((1, "unclosed")));
        check("log_format main $status", "main", Err((1, "end of file")));
        check("events {}\n;", "main", Err((2, "unexpected ';'")));
    }

    #[test]
    fn wildcards() {
        assert!(wildcard_match(b"*.conf", b"site.conf"));
        assert!(!wildcard_match(b"*.conf", b"site.conf.bak"));
        assert!(wildcard_match(b"log?.conf", b"log1.conf"));
        assert!(wildcard_match(b"[a-c]*", b"b"));
        assert!(!wildcard_match(b"[!a-c]*", b"b"));
    }

    #[test]
    fn includes_are_followed_relative_to_the_main_conf() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("conf.d")).unwrap();
        std::fs::create_dir_all(root.join("formats")).unwrap();
        std::fs::write(
            root.join("nginx.conf"),
            "events {}\nhttp {\n  include conf.d/*.conf;\n}\n",
        )
        .unwrap();
        std::fs::write(root.join("conf.d/a.conf"), "server { listen 80; }\n").unwrap();
        // Relative to the main conf's directory, not conf.d.
        std::fs::write(root.join("conf.d/b.conf"), "include formats/main.fmt;\n").unwrap();
        std::fs::write(
            root.join("formats/main.fmt"),
            "log_format main escape=json\n  '{\"s\":\"$status\"}';\n",
        )
        .unwrap();
        let found = find_log_format(&root.join("nginx.conf"), "main").unwrap();
        assert_eq!(found.format, "{\"s\":\"$status\"}");
        assert_eq!(found.escape, Escape::Json);
        assert_eq!(found.file, root.join("formats/main.fmt"));

        let missing = find_log_format(&root.join("nginx.conf"), "absent").unwrap_err();
        let message = missing.to_string();
        assert!(message.contains("\"absent\" not found"), "{message}");
        for file in ["nginx.conf", "a.conf", "b.conf", "main.fmt"] {
            assert!(message.contains(file), "{message} lacks {file}");
        }
        assert_eq!(
            find_log_format(&root.join("nginx.conf"), "combined").unwrap().format,
            crate::sources::access_log::format::COMBINED
        );
    }

    #[test]
    fn include_loops_stop() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("nginx.conf"), "include nginx.conf;\n").unwrap();
        let error = find_log_format(&dir.path().join("nginx.conf"), "main").unwrap_err();
        assert!(matches!(error, NginxConfError::TooDeep { .. }), "{error}");
    }
}
