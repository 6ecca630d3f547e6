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
//!
//! **Only `http {}`'s formats count**: nginx keeps one list of formats for `http {}` and
//! another for `stream {}` (`ngx_http_log_module` and `ngx_stream_log_module` each own theirs),
//! and an access log is an http log. Each directive carries the blocks it sits in, through
//! includes. **OpenResty's `*_by_lua_block { ... }` hold Lua**, which is skipped the way
//! OpenResty's own reader does (`ngx_http_lua_conf_read_lua_token`): braces are counted
//! outside Lua strings (`"..."`, `'...'` on one line), comments (`--` to the end of the
//! line, `--[[ ]]`) and long brackets (`[[ ]]`, `[=[ ]=]`).

use std::path::{Path, PathBuf};

use super::format::Escape;

/// nginx itself has no include depth limit but a loop would never end; real configs nest 2-3.
pub(crate) const MAX_INCLUDE_DEPTH: usize = 16;

/// One directive: its name, its arguments (escapes resolved), the line it starts on and
/// the blocks it sits in within its file, outermost first (`["http", "server"]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Directive {
    pub name: String,
    pub args: Vec<String>,
    pub line: usize,
    pub blocks: Vec<String>,
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
    #[error("log_format {name:?} not found in http {{}} of {}{}", searched_list(.searched), elsewhere_note(.elsewhere))]
    NotFound {
        name: String,
        searched: Vec<PathBuf>,
        /// A `log_format` of that name outside `http {}` (in `stream {}`), which was skipped.
        elsewhere: Option<Elsewhere>,
    },
}

/// Where a `log_format` that does not apply to the access log was seen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Elsewhere {
    pub file: PathBuf,
    pub line: usize,
    /// The blocks it sits in, e.g. `stream`.
    pub blocks: String,
}

fn elsewhere_note(elsewhere: &Option<Elsewhere>) -> String {
    match elsewhere {
        Some(seen) => format!(
            " (the one at {}:{} is in {} {{}}, and the access log is an http log)",
            seen.file.display(),
            seen.line,
            seen.blocks
        ),
        None => String::new(),
    }
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

/// Split a configuration file's text into directives, each with the blocks it sits in.
pub fn directives(text: &[u8]) -> Result<Vec<Directive>, TokenError> {
    let mut out = Vec::new();
    let mut words: Vec<String> = Vec::new();
    let mut blocks: Vec<String> = Vec::new();
    let mut directive_line = 1;
    let mut line = 1;
    let mut i = 0;
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
                let mut drained = std::mem::take(&mut words).into_iter();
                let Some(name) = drained.next() else {
                    return Err(TokenError {
                        line,
                        message: format!("unexpected {:?}", char::from(byte)),
                    });
                };
                i += 1;
                // The directive sits in the blocks around it, not in the one it opens.
                let enclosing = blocks.clone();
                if byte == b'{' {
                    if name.ends_with(LUA_BLOCK_SUFFIX) {
                        i = skip_lua_block(text, i, &mut line, directive_line)?;
                    } else {
                        blocks.push(name.clone());
                    }
                }
                out.push(Directive {
                    name,
                    args: drained.collect(),
                    line: directive_line,
                    blocks: enclosing,
                });
            }
            b'}' => {
                if !words.is_empty() {
                    return Err(TokenError {
                        line,
                        message: "unexpected \"}\"".into(),
                    });
                }
                blocks.pop();
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

/// OpenResty's directives whose block is Lua code (`init_by_lua_block`,
/// `content_by_lua_block`, `set_by_lua_block $var`, ...), in http and stream alike.
const LUA_BLOCK_SUFFIX: &str = "_by_lua_block";

/// Skip the Lua code of a `*_by_lua_block` from just after its `{`; returns the index just
/// after the `}` that closes it. The tokens are those of OpenResty's lexer: `{` and `}`
/// count, and nothing inside a string, a comment or a long bracket does.
fn skip_lua_block(text: &[u8], start: usize, line: &mut usize, directive_line: usize) -> Result<usize, TokenError> {
    let mut depth = 1usize;
    let mut i = start;
    while let Some(&byte) = text.get(i) {
        match byte {
            b'\n' => *line += 1,
            b'{' => depth += 1,
            b'}' => {
                depth -= 1;
                if depth == 0 {
                    return Ok(i + 1);
                }
            }
            b'-' if text.get(i + 1) == Some(&b'-') => {
                let after_dashes = i + 2;
                i = match long_bracket_end(text, after_dashes, line) {
                    // `--[[ ... ]]`, `--[==[ ... ]==]`: a long comment.
                    Some(end) => end?,
                    // `-- ...`: a comment to the end of the line (the newline is counted above).
                    None => memchr::memchr(b'\n', &text[after_dashes..]).map_or(text.len(), |at| after_dashes + at),
                };
                continue;
            }
            b'[' => {
                if let Some(end) = long_bracket_end(text, i, line) {
                    i = end?;
                    continue;
                }
            }
            b'"' | b'\'' => {
                // A string ends on its own line; a quote that opens none is just a byte.
                if let Some(end) = lua_string_end(text, i) {
                    i = end;
                    continue;
                }
            }
            _ => {}
        }
        i += 1;
    }
    Err(TokenError {
        line: directive_line,
        message: "unexpected end of file in a *_by_lua_block: the Lua code's \"}\" is missing".into(),
    })
}

/// If a Lua long bracket (`[[`, `[=[`, `[==[`, ...) opens at `open`, the index just after
/// the one that closes it (`]]`, `]=]`, ...; counting lines), or an error when it never does.
fn long_bracket_end(text: &[u8], open: usize, line: &mut usize) -> Option<Result<usize, TokenError>> {
    let rest = text.get(open..)?;
    let level = rest.iter().skip(1).take_while(|&&b| b == b'=').count();
    if rest.first() != Some(&b'[') || rest.get(level + 1) != Some(&b'[') {
        return None;
    }
    let mut close = Vec::with_capacity(level + 2);
    close.push(b']');
    close.extend(std::iter::repeat_n(b'=', level));
    close.push(b']');
    let body_start = open + level + 2;
    let body = &text[body_start..];
    Some(match memchr::memmem::find(body, &close) {
        Some(at) => {
            *line += memchr::memchr_iter(b'\n', &body[..at]).count();
            Ok(body_start + at + close.len())
        }
        None => Err(TokenError {
            line: *line,
            message: format!(
                "a Lua long bracket in a *_by_lua_block is never closed: no {:?}",
                String::from_utf8_lossy(&close)
            ),
        }),
    })
}

/// The index just after a Lua string that opens at `open` (with `\` escaping the next byte),
/// if it closes on the same line.
fn lua_string_end(text: &[u8], open: usize) -> Option<usize> {
    let quote = *text.get(open)?;
    let mut i = open + 1;
    loop {
        match *text.get(i)? {
            b'\n' => return None,
            b'\\' if text.get(i + 1).is_some_and(|&next| next != b'\n') => i += 2,
            b'\\' => return None,
            c if c == quote => return Some(i + 1),
            _ => i += 1,
        }
    }
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

/// Whether a `log_format` inside `blocks` is one of `http {}`'s. nginx takes `log_format`
/// only at the top of `http {}` (or of `stream {}`); one outside any block is taken too, for
/// a file that is included inside `http {}`.
fn at_http_level(blocks: &[String]) -> bool {
    match blocks {
        [] => true,
        [only] => only == "http",
        _ => false,
    }
}

/// Read `http {}`'s `log_format NAME` from the directives of one file, if there.
pub(crate) fn log_format_in(
    directives: &[Directive],
    name: &str,
) -> Option<Result<(String, Escape, usize), TokenError>> {
    let found = directives.iter().find(|d| {
        d.name == "log_format" && d.args.first().map(String::as_str) == Some(name) && at_http_level(&d.blocks)
    })?;
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

/// Find `log_format NAME` of `http {}` in `nginx_conf` and the files it includes, depth
/// first in file order like nginx. `combined` is nginx's built-in and is used if not defined.
/// A format outside any block is taken too: `nginx_conf` may be a snippet that nginx.conf
/// includes inside `http {}`.
pub fn find_log_format(nginx_conf: &Path, name: &str) -> Result<NamedFormat, NginxConfError> {
    let prefix = nginx_conf.parent().map(Path::to_path_buf).unwrap_or_default();
    let mut search = Search {
        prefix: &prefix,
        name,
        searched: Vec::new(),
        elsewhere: None,
    };
    if let Some(found) = search.file(nginx_conf, &[], 0)? {
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
        searched: search.searched,
        elsewhere: search.elsewhere,
    })
}

/// One search for a format through the include tree.
struct Search<'a> {
    prefix: &'a Path,
    name: &'a str,
    searched: Vec<PathBuf>,
    /// The first format of that name outside `http {}`, for the error if none is inside.
    elsewhere: Option<Elsewhere>,
}

impl Search<'_> {
    /// Search one file whose directives sit inside the blocks `outer` (those around the
    /// `include` that named it).
    fn file(&mut self, path: &Path, outer: &[String], depth: usize) -> Result<Option<NamedFormat>, NginxConfError> {
        if depth > MAX_INCLUDE_DEPTH {
            return Err(NginxConfError::TooDeep { path: path.into() });
        }
        let text = std::fs::read(path).map_err(|source| NginxConfError::Read {
            path: path.into(),
            source,
        })?;
        self.searched.push(path.into());
        let syntax = |error: TokenError| NginxConfError::Syntax {
            path: path.into(),
            line: error.line,
            message: error.message,
        };
        let parsed = directives(&text).map_err(syntax)?;
        for directive in &parsed {
            let blocks: Vec<String> = outer.iter().chain(&directive.blocks).cloned().collect();
            if directive.name == "log_format" && directive.args.first().map(String::as_str) == Some(self.name) {
                if !at_http_level(&blocks) {
                    self.elsewhere.get_or_insert_with(|| Elsewhere {
                        file: path.into(),
                        line: directive.line,
                        blocks: blocks.join(" { "),
                    });
                    continue;
                }
                let (format, escape, line) = log_format_in(std::slice::from_ref(directive), self.name)
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
                let pattern = self.prefix.join(pattern);
                for included in expand_include(&pattern).map_err(|source| NginxConfError::Read {
                    path: pattern.clone(),
                    source,
                })? {
                    if let Some(found) = self.file(&included, &blocks, depth + 1)? {
                        return Ok(Some(found));
                    }
                }
            }
        }
        Ok(None)
    }
}

/// A directive with the file it is in; its `blocks` are all the blocks around it, through
/// the includes that brought its file in (`["http", "upstream"]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Located {
    pub file: PathBuf,
    pub directive: Directive,
}

/// The header `nginx -T` prints before each file it dumps: `# configuration file PATH:`.
const DUMP_HEADER: &str = "# configuration file ";

/// Split the output of `nginx -T` into its files, in the order nginx read them, each with the
/// text nginx printed after its header (nginx adds one newline after each file). `None` when
/// `text` is not such a dump (no line starts with the header). Lines before the first header
/// (`nginx: the configuration file ... syntax is ok` when stderr was captured too) are skipped.
pub(crate) fn split_config_dump(text: &[u8]) -> Option<Vec<(PathBuf, Vec<u8>)>> {
    let mut files: Vec<(PathBuf, Vec<u8>)> = Vec::new();
    for line in text.split_inclusive(|&b| b == b'\n') {
        let bare = line.strip_suffix(b"\n").unwrap_or(line);
        let header = bare
            .strip_prefix(DUMP_HEADER.as_bytes())
            .and_then(|rest| rest.strip_suffix(b":"));
        match (header, files.last_mut()) {
            (Some(path), _) => files.push((PathBuf::from(String::from_utf8_lossy(path).into_owned()), Vec::new())),
            (None, Some((_, body))) => body.extend_from_slice(line),
            (None, None) => {}
        }
    }
    if files.is_empty() {
        return None;
    }
    Some(files)
}

/// Every directive of `nginx_conf` and the files it includes, in the order nginx reads them,
/// each with its file and all the blocks around it. `nginx_conf` may also be the saved output
/// of `nginx -T`: its files are then read from the dump, not from disk (includes resolve
/// against the dumped files), so a host whose nginx.conf the exporter cannot read can hand
/// it the dump.
pub(crate) fn all_directives(nginx_conf: &Path) -> Result<Vec<Located>, NginxConfError> {
    let text = std::fs::read(nginx_conf).map_err(|source| NginxConfError::Read {
        path: nginx_conf.into(),
        source,
    })?;
    let mut walk = Walk {
        prefix: nginx_conf.parent().map(Path::to_path_buf).unwrap_or_default(),
        dump: None,
        out: Vec::new(),
    };
    match split_config_dump(&text) {
        Some(files) => {
            let (first, first_text) = files[0].clone();
            walk.prefix = first.parent().map(Path::to_path_buf).unwrap_or_default();
            walk.dump = Some(files);
            walk.file(&first, first_text, &[], 0)?;
        }
        None => walk.file(nginx_conf, text, &[], 0)?,
    }
    Ok(walk.out)
}

/// One walk of the include tree, from disk or from an `nginx -T` dump.
struct Walk {
    prefix: PathBuf,
    dump: Option<Vec<(PathBuf, Vec<u8>)>>,
    out: Vec<Located>,
}

impl Walk {
    fn file(&mut self, path: &Path, text: Vec<u8>, outer: &[String], depth: usize) -> Result<(), NginxConfError> {
        if depth > MAX_INCLUDE_DEPTH {
            return Err(NginxConfError::TooDeep { path: path.into() });
        }
        let parsed = directives(&text).map_err(|error| NginxConfError::Syntax {
            path: path.into(),
            line: error.line,
            message: error.message,
        })?;
        for mut directive in parsed {
            let blocks: Vec<String> = outer.iter().chain(&directive.blocks).cloned().collect();
            if directive.name == "include" {
                if let Some(pattern) = directive.args.first() {
                    let pattern = self.prefix.join(pattern);
                    for (included, included_text) in self.included(&pattern)? {
                        self.file(&included, included_text, &blocks, depth + 1)?;
                    }
                }
                continue;
            }
            directive.blocks = blocks;
            self.out.push(Located {
                file: path.into(),
                directive,
            });
        }
        Ok(())
    }

    /// The files an include pattern names, with their text.
    fn included(&self, pattern: &Path) -> Result<Vec<(PathBuf, Vec<u8>)>, NginxConfError> {
        let Some(dump) = &self.dump else {
            let paths = expand_include(pattern).map_err(|source| NginxConfError::Read {
                path: pattern.into(),
                source,
            })?;
            return paths
                .into_iter()
                .map(|path| match std::fs::read(&path) {
                    Ok(text) => Ok((path, text)),
                    Err(source) => Err(NginxConfError::Read { path, source }),
                })
                .collect();
        };
        let wanted: Vec<String> = pattern
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        let mut found: Vec<(PathBuf, Vec<u8>)> = dump
            .iter()
            .filter(|(path, _)| {
                let names: Vec<String> = path
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect();
                names.len() == wanted.len()
                    && wanted
                        .iter()
                        .zip(&names)
                        .all(|(want, name)| wildcard_match(want.as_bytes(), name.as_bytes()))
            })
            .cloned()
            .collect();
        // Sorted as glob(3) sorts; a file nginx read twice is in the dump twice or once
        // (newer nginx prints it once), and is walked once per include either way.
        found.sort_by(|a, b| a.0.cmp(&b.0));
        found.dedup_by(|a, b| a.0 == b.0);
        if found.is_empty() && !pattern.to_string_lossy().contains(['*', '?', '[']) {
            return Err(NginxConfError::Read {
                path: pattern.into(),
                source: std::io::Error::new(std::io::ErrorKind::NotFound, "not in the nginx -T output"),
            });
        }
        Ok(found)
    }
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
pub(crate) fn wildcard_match(pattern: &[u8], name: &[u8]) -> bool {
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

    /// nginx's two namespaces: `stream {}`'s `main` is not `http {}`'s (APISIX's
    /// `http&stream` layout defines both, stream first).
    #[test]
    fn only_http_formats_count() {
        let both = "stream {\n  log_format main '$remote_addr [$time_local] $protocol $status';\n}\nhttp {\n  log_format main '$remote_addr [$time_local] \"$request\" $status';\n}\n";
        check(
            both,
            "main",
            Ok(("$remote_addr [$time_local] \"$request\" $status", Escape::Default)),
        );
        check("stream { log_format main $status; }\n", "main", Err((0, "not found")));
        // Nested blocks are not http's top level, whatever their names.
        check(
            "http { map $a $b { log_format main; } server { log_format main $status; } }",
            "main",
            Err((0, "not found")),
        );
        let parsed = directives(b"http {\n server {\n  listen 80;\n }\n}\nstream { server { listen 53; } }").unwrap();
        let blocks: Vec<(&str, Vec<&str>)> = parsed
            .iter()
            .map(|d| (d.name.as_str(), d.blocks.iter().map(String::as_str).collect()))
            .collect();
        assert_eq!(
            blocks,
            [
                ("http", vec![]),
                ("server", vec!["http"]),
                ("listen", vec!["http", "server"]),
                ("stream", vec![]),
                ("server", vec!["stream"]),
                ("listen", vec!["stream", "server"]),
            ]
        );
    }

    #[test]
    fn includes_carry_their_block() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::write(
            root.join("nginx.conf"),
            "events {}\nstream {\n  include stream.fmt;\n}\nhttp {\n  include http.fmt;\n}\n",
        )
        .unwrap();
        std::fs::write(
            root.join("stream.fmt"),
            "log_format main '$remote_addr $protocol $status';\n",
        )
        .unwrap();
        std::fs::write(
            root.join("http.fmt"),
            "log_format main '$remote_addr \"$request\" $status';\n",
        )
        .unwrap();
        let found = find_log_format(&root.join("nginx.conf"), "main").unwrap();
        assert_eq!(found.format, "$remote_addr \"$request\" $status");
        assert_eq!(found.file, root.join("http.fmt"));

        std::fs::write(root.join("http.fmt"), "log_format other $status;\n").unwrap();
        let message = find_log_format(&root.join("nginx.conf"), "main")
            .unwrap_err()
            .to_string();
        assert!(
            message.contains(&format!(
                "the one at {}:1 is in stream {{}}",
                root.join("stream.fmt").display()
            )),
            "{message}"
        );
        assert!(message.contains("the access log is an http log"), "{message}");
    }

    /// Lua in OpenResty's blocks is skipped by OpenResty's own tokens; the format after it
    /// is found.
    #[test]
    fn lua_blocks_are_skipped() {
        let after = "\nlog_format main '$status $request_time';\n";
        let want = Ok(("$status $request_time", Escape::Default));
        for lua in [
            // Lua statements do not end in `;`: nginx's own syntax fails on the first `}`.
            "init_by_lua_block {\n  Kong = require 'kong'\n  Kong.init()\n}",
            "init_by_lua_block { print(\"a brace { in a string\") }",
            "init_by_lua_block { print('a brace } in a string') }",
            "init_by_lua_block { print(\"an escaped quote \\\" and }\") }",
            "init_by_lua_block {\n  -- a comment with a brace {\n}",
            "init_by_lua_block {\n  --[[ a long comment\n } over lines ]]\n}",
            "init_by_lua_block {\n  --[==[ ]] } ]=] still the comment ]==]\n}",
            "init_by_lua_block { local s = [[ } ]] }",
            "init_by_lua_block { local s = [=[ ]] } ]=] }",
            "init_by_lua_block { local t = { a = { 1, 2 }, b = #x } }",
            // A quote that closes on no line is a byte, as in OpenResty's lexer.
            "init_by_lua_block {\n  local n = 1 -- it's\n  x = \"a\n}",
            "server { set_by_lua_block $sum { return 1 + 2 } }",
            "server { \"rewrite_by_lua_block\" { a = { 1, 2, 3 } } }",
            // Only the directive's name makes a Lua block.
            "server { server_name content_by_lua_block; } upstream content_by_lua_block { server a; }",
        ] {
            check(&format!("http {{\n{lua}{after}}}\n"), "main", want);
        }
    }

    #[test]
    fn lua_blocks_keep_line_numbers_and_say_when_unclosed() {
        let parsed = directives(b"init_by_lua_block {\n -- }\n s = [[\n]]\n}\nlog_format main $status;\n").unwrap();
        assert_eq!(parsed[1].line, 6);
        check(
            "http {\n init_by_lua_block {\n  x = { }\n",
            "main",
            Err((2, "lua_block")),
        );
        check(
            "http {\n init_by_lua_block {\n  s = [==[ }\n",
            "main",
            Err((3, "never closed")),
        );
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

    /// `nginx -T` prints `# configuration file PATH:`, the file, and a newline, per file.
    #[test]
    fn config_dumps_split_into_their_files() {
        let dump = b"nginx: the configuration file /etc/nginx/nginx.conf syntax is ok\n# configuration file /etc/nginx/nginx.conf:\nhttp {\n  include conf.d/*.conf;\n}\n\n# configuration file /etc/nginx/conf.d/a.conf:\nupstream a { server 10.0.0.1; }\n\n";
        let files = split_config_dump(dump).unwrap();
        let names: Vec<&Path> = files.iter().map(|(path, _)| path.as_path()).collect();
        assert_eq!(
            names,
            [
                Path::new("/etc/nginx/nginx.conf"),
                Path::new("/etc/nginx/conf.d/a.conf")
            ]
        );
        assert_eq!(files[1].1, b"upstream a { server 10.0.0.1; }\n\n");
        assert_eq!(split_config_dump(b"http {\n}\n"), None);

        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("dump.txt"), dump).unwrap();
        let walked = all_directives(&dir.path().join("dump.txt")).unwrap();
        let seen: Vec<(String, &str, usize, Vec<&str>)> = walked
            .iter()
            .map(|located| {
                (
                    located.file.display().to_string(),
                    located.directive.name.as_str(),
                    located.directive.line,
                    located.directive.blocks.iter().map(String::as_str).collect(),
                )
            })
            .collect();
        assert_eq!(
            seen,
            [
                ("/etc/nginx/nginx.conf".to_string(), "http", 1, vec![]),
                ("/etc/nginx/conf.d/a.conf".to_string(), "upstream", 1, vec!["http"]),
                (
                    "/etc/nginx/conf.d/a.conf".to_string(),
                    "server",
                    1,
                    vec!["http", "upstream"]
                ),
            ]
        );
    }
}
