//! The docs agree with the code: docs/configuration.md's table has one row for every key the config
//! accepts, its formulas and defaults are the code's, and README's build paragraph names
//! Cargo.toml's Rust version.

use std::collections::BTreeMap;
use std::path::Path;

use nginx_backlog_exporter::config;
use nginx_backlog_exporter::derive::pending::Formula;

fn read(path: &str) -> String {
    let full = format!("{}/{path}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{full}: {e}"))
}

fn readme() -> String {
    read("README.md")
}

fn configuration() -> String {
    read("docs/configuration.md")
}

/// The Configuration table: each row's first cell's `section.key`s -> the whole row.
fn config_rows(table: &str) -> BTreeMap<String, Vec<String>> {
    let mut rows: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for line in table.lines().skip_while(|l| !l.starts_with("| key |")).skip(2) {
        if !line.starts_with('|') {
            break;
        }
        let first_cell = line.split('|').nth(1).unwrap();
        for key in first_cell.split('`').skip(1).step_by(2) {
            rows.entry(key.to_owned()).or_default().push(line.to_owned());
        }
    }
    rows
}

/// What the config accepts in `section`, as its unknown-key error lists them.
fn accepted_keys(section: &str) -> Vec<String> {
    let text = format!("[{section}]\nzzzqqqxxx = 1\n[cloudwatch]\nnamespace = \"x\"\n");
    let text = if section == "cloudwatch" {
        "[cloudwatch]\nnamespace = \"x\"\nzzzqqqxxx = 1\n".to_owned()
    } else {
        text
    };
    let error = config::parse(Path::new("c.toml"), &text).unwrap_err().to_string();
    let (_, list) = error
        .split_once("the keys here are ")
        .unwrap_or_else(|| panic!("{error}"));
    list.split('`')
        .skip(1)
        .step_by(2)
        .map(|key| format!("{section}.{key}"))
        .collect()
}

#[test]
fn every_config_key_has_exactly_one_row() {
    let rows = config_rows(&configuration());
    for (key, lines) in &rows {
        assert_eq!(
            lines.len(),
            1,
            "{key} is listed {} times:\n{}",
            lines.len(),
            lines.join("\n")
        );
    }
    for section in ["nginx", "cloudwatch", "daemon", "emf", "http", "access_log"] {
        for key in accepted_keys(section) {
            assert!(
                rows.contains_key(&key),
                "docs/configuration.md's table has no row for {key}"
            );
        }
    }
}

#[test]
fn the_pending_and_state_directory_rows_say_what_the_code_does() {
    let rows = config_rows(&configuration());
    let pending = &rows["cloudwatch.pending"][0];
    for name in Formula::NAMES {
        assert!(pending.contains(&format!("`{name}`")), "{name} missing from {pending}");
    }
    let state = &rows["daemon.state_directory"][0];
    assert!(
        state.contains("$STATE_DIRECTORY") && state.contains(config::DEFAULT_STATE_DIRECTORY),
        "{state}"
    );
}

#[test]
fn the_rust_version_is_cargo_tomls() {
    let readme = readme();
    let version = env!("CARGO_PKG_RUST_VERSION");
    assert!(
        readme.contains(&format!("needs Rust {version} or later")),
        "README names another Rust than {version}"
    );
    assert!(readme.contains("rustup"));
}

/// GitHub's anchor for a heading: lowercase, punctuation dropped (letters, digits, `-` and `_`
/// stay), spaces turned into `-`.
fn anchor(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

/// The anchors of a Markdown file's headings (outside fenced blocks).
fn anchors(text: &str) -> Vec<String> {
    let mut fenced = false;
    let mut found = Vec::new();
    for line in text.lines() {
        if line.starts_with("```") {
            fenced = !fenced;
        } else if !fenced && line.starts_with('#') {
            found.push(anchor(line.trim_start_matches('#')));
        }
    }
    found
}

/// Every `](target)` of a Markdown file that is not a web address, with its 1-based line.
fn relative_links(text: &str) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    let mut fenced = false;
    for (number, line) in text.lines().enumerate() {
        if line.starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if fenced {
            continue;
        }
        for (at, _) in line.match_indices("](") {
            let rest = &line[at + 2..];
            let Some(end) = rest.find(')') else { continue };
            let target = &rest[..end];
            if !target.contains("://") && !target.starts_with("mailto:") {
                found.push((number + 1, target.to_owned()));
            }
        }
    }
    found
}

/// The documentation is one front page and the files under docs/: every link between them
/// names a file that exists and, after `#`, a heading that file has.
#[test]
fn every_link_in_the_docs_names_a_file_and_heading_that_exist() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = vec![root.join("README.md"), root.join("BENCHMARKS.md")];
    for entry in std::fs::read_dir(root.join("docs")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "md") {
            files.push(path);
        }
    }
    let mut broken = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        for (line, target) in relative_links(&text) {
            let (path, fragment) = target.split_once('#').unwrap_or((&target, ""));
            let linked = if path.is_empty() {
                file.clone()
            } else {
                file.parent().unwrap().join(path)
            };
            let shown = format!("{}:{line}: ({target})", file.strip_prefix(root).unwrap().display());
            let Ok(linked_text) = std::fs::read_to_string(&linked) else {
                if !linked.exists() {
                    broken.push(format!("{shown}: no such file"));
                }
                continue;
            };
            if !fragment.is_empty() && !anchors(&linked_text).iter().any(|a| a == fragment) {
                broken.push(format!("{shown}: no heading with that anchor"));
            }
        }
    }
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
}

#[test]
fn anchors_are_githubs() {
    assert_eq!(
        anchor(" What `check` says about your alarms"),
        "what-check-says-about-your-alarms"
    );
    assert_eq!(
        anchor("Closing the loop: would the added capacity have been in time?"),
        "closing-the-loop-would-the-added-capacity-have-been-in-time"
    );
    assert_eq!(
        anchor("Long-lived connections (WebSockets, server-sent events, long polls)"),
        "long-lived-connections-websockets-server-sent-events-long-polls"
    );
}
