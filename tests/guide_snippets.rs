//! docs/asg-guide.md cannot drift from the tool: every snippet the guide says is generated sits
//! between marker comments, and this test runs the binary for each marker and requires the
//! block to be exactly its output.
//!
//! - `<!-- render: ARGS -->` + a fenced block + `<!-- /render -->`: the block is the stdout of
//!   `nginx-backlog-exporter policy render ARGS`.
//! - `<!-- run: ARGS -->` + a fenced block + `<!-- /run -->`: the block is the line
//!   `$ nginx-backlog-exporter ARGS` and then the stdout of `nginx-backlog-exporter ARGS`.
//!
//! ARGS are split as a shell would split them (single and double quotes, no expansion) and
//! run from the repository root, so every path in them is relative to it and every command
//! in the guide can be run as it stands from a checkout. Nothing is written anywhere: the
//! commands print on stdout, and the worked example's log is the committed
//! tests/fixtures/burst-access.log, which `burst_log` below generates (and this test checks).
//!
//! After a change to what `policy render` or `simulate` prints, refresh the guide (and the
//! fixture) with one command, then review the diff:
//!
//! ```sh
//! UPDATE_GUIDE=1 cargo test --test guide_snippets
//! ```

use std::path::PathBuf;
use std::process::Command;

use nginx_backlog_exporter_test_support::NGINX;

const GUIDE: &str = "docs/asg-guide.md";
const BURST_LOG: &str = "tests/fixtures/burst-access.log";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn updating() -> bool {
    std::env::var_os("UPDATE_GUIDE").is_some_and(|v| v == "1")
}

/// One marked block of the guide.
#[derive(Debug)]
struct Block {
    /// "render" or "run".
    kind: String,
    args: String,
    /// 1-based line of the opening marker.
    line: usize,
    /// Byte range of the block's content: after the opening fence's newline, up to the
    /// closing fence.
    content: std::ops::Range<usize>,
}

fn blocks(text: &str) -> Vec<Block> {
    let mut found = Vec::new();
    let mut offset = 0;
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let mut starts = Vec::with_capacity(lines.len());
    for l in &lines {
        starts.push(offset);
        offset += l.len();
    }
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i].trim_end();
        let marker = ["render", "run"].into_iter().find_map(|kind| {
            let rest = line.strip_prefix(&format!("<!-- {kind}:"))?;
            Some((kind, rest.strip_suffix("-->")?.trim().to_owned()))
        });
        let Some((kind, args)) = marker else {
            assert!(
                !line.starts_with("<!-- render") && !line.starts_with("<!-- run"),
                "{GUIDE}:{}: a marker must read `<!-- render: ARGS -->` or `<!-- run: ARGS -->`: {line}",
                i + 1
            );
            i += 1;
            continue;
        };
        let open = lines.get(i + 1).map(|l| l.trim_end()).unwrap_or("");
        assert!(
            open.starts_with("```"),
            "{GUIDE}:{}: the line after a marker must open a fenced block, not {open:?}",
            i + 2
        );
        let close = (i + 2..lines.len())
            .find(|&j| lines[j].trim_end() == "```")
            .unwrap_or_else(|| panic!("{GUIDE}:{}: the block is never closed", i + 2));
        let end_marker = format!("<!-- /{kind} -->");
        assert_eq!(
            lines.get(close + 1).map(|l| l.trim_end()),
            Some(end_marker.as_str()),
            "{GUIDE}:{}: the block must be followed by {end_marker}",
            close + 2
        );
        found.push(Block {
            kind: kind.to_owned(),
            args,
            line: i + 1,
            content: starts[i + 2]..starts[close],
        });
        i = close + 2;
    }
    found
}

/// Splits ARGS as a POSIX shell would for words with single or double quotes (no escapes,
/// no expansion: the guide's commands need neither).
fn split_args(args: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word: Option<String> = None;
    let mut quote: Option<char> = None;
    for c in args.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => word.get_or_insert_with(String::new).push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                word.get_or_insert_with(String::new);
            }
            (None, c) if c.is_whitespace() => words.extend(word.take()),
            (None, c) => word.get_or_insert_with(String::new).push(c),
        }
    }
    assert!(quote.is_none(), "unbalanced quote in {args:?}");
    words.extend(word);
    words
}

/// What the block of a marker must hold.
fn expected(block: &Block) -> String {
    let words = split_args(&block.args);
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_nginx-backlog-exporter"));
    cmd.current_dir(root())
        .env_remove("NGINX_BACKLOG_EXPORTER_CONFIG")
        .env_remove("NGINX_BACKLOG_EXPORTER_LOG");
    if block.kind == "render" {
        cmd.args(["policy", "render"]);
    }
    let output = cmd.args(&words).output().expect("run the exporter");
    let stdout = String::from_utf8(output.stdout).expect("UTF-8 output");
    assert!(
        output.status.success(),
        "{GUIDE}:{}: `{} {}` failed ({}):\n{}",
        block.line,
        block.kind,
        block.args,
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        !stdout.contains("\n```"),
        "{GUIDE}:{}: output holds a fence",
        block.line
    );
    if block.kind == "run" {
        format!("$ nginx-backlog-exporter {}\n{stdout}", block.args)
    } else {
        stdout
    }
}

/// Every marked block equals what the binary prints now (with UPDATE_GUIDE=1: becomes it).
#[test]
fn every_marked_block_in_the_guide_is_what_the_tool_prints() {
    let path = root().join(GUIDE);
    let text = std::fs::read_to_string(&path).unwrap();
    let found = blocks(&text);
    let mut updated = String::with_capacity(text.len());
    let mut last = 0;
    let mut stale = Vec::new();
    for block in &found {
        let want = expected(block);
        let have = &text[block.content.clone()];
        if have != want {
            stale.push(format!(
                "{GUIDE}:{}: `<!-- {}: {} -->` differs from the tool's output:\n--- guide\n{have}--- tool\n{want}",
                block.line, block.kind, block.args
            ));
        }
        updated.push_str(&text[last..block.content.start]);
        updated.push_str(&want);
        last = block.content.end;
    }
    updated.push_str(&text[last..]);
    if updating() {
        if updated != text {
            std::fs::write(&path, updated).unwrap();
            eprintln!("rewrote {} block(s) of {GUIDE}", stale.len());
        }
        return;
    }
    assert!(
        stale.is_empty(),
        "{}\n\n{} block(s) stale: run `UPDATE_GUIDE=1 cargo test --test guide_snippets` and review the diff",
        stale.join("\n\n"),
        stale.len()
    );
}

/// The guide shows what it promises: the three formats for each target's policy, and the
/// worked sweeps. (A deleted marker would otherwise pass silently.)
#[test]
fn the_guide_renders_every_target_in_every_format() {
    let text = std::fs::read_to_string(root().join(GUIDE)).unwrap();
    let found = blocks(&text);
    for policy in [
        "config/scaling-policy.toml",
        "tests/fixtures/policy-ec2-asg.toml",
        "tests/fixtures/policy-ecs-daemon-asg.toml",
    ] {
        for format in ["cli", "cloudformation", "terraform"] {
            let args = format!("--policy {policy} --format {format}");
            assert!(
                found.iter().any(|b| b.kind == "render" && b.args == args),
                "{GUIDE} has no `<!-- render: {args} -->`"
            );
        }
    }
    let sweeps: Vec<&Block> = found
        .iter()
        .filter(|b| b.kind == "run" && b.args.contains("--sweep") && b.args.contains(BURST_LOG))
        .collect();
    assert!(sweeps.len() >= 2, "the worked example's two sweeps: {sweeps:?}");
}

/// Each fence's language matches its format, so the guide highlights what it shows.
#[test]
fn each_rendered_block_is_fenced_with_its_language() {
    let text = std::fs::read_to_string(root().join(GUIDE)).unwrap();
    for block in blocks(&text) {
        let fence = text[..block.content.start].lines().last().unwrap_or("");
        let want = match block.kind.as_str() {
            "run" => "```text",
            _ if block.args.ends_with("--format cli") => "```sh",
            _ if block.args.ends_with("--format cloudformation") => "```json",
            _ if block.args.ends_with("--format terraform") => "```hcl",
            _ => panic!("{GUIDE}:{}: unknown format in {:?}", block.line, block.args),
        };
        assert_eq!(fence, want, "{GUIDE}:{}", block.line);
    }
}

/// The rows of the `run:` block whose args contain `needle`, as whitespace-split cells by the
/// value in the first column ("3.000 s" is two cells: the number, then "s").
fn sweep_rows(text: &str, needle: &str) -> Vec<Vec<String>> {
    let block = blocks(text)
        .into_iter()
        .find(|b| b.kind == "run" && b.args.contains(needle))
        .unwrap_or_else(|| panic!("no run block with {needle:?}"));
    text[block.content]
        .lines()
        .skip(2) // the command, the header
        .map(|l| l.split_whitespace().map(str::to_owned).collect())
        .collect()
}

/// The prose under the worked example reads figures off the two sweeps: those readings hold
/// (the blocks themselves are checked against the tool above, so a change in the tool that
/// changes the story fails here, pointing at the paragraph to rewrite).
#[test]
fn the_guides_reading_of_the_sweeps_holds() {
    let text = std::fs::read_to_string(root().join(GUIDE)).unwrap();
    // Columns: value, capacity-hours, p99, "s", max, "s", over SLO, activities, flaps, ...
    let (hours, p99, flaps) = (1, 2, 8);
    let rows = sweep_rows(&text, "--sweep alarm.web-pending-high.threshold=5..30:5");
    let by = |v: &str| rows.iter().find(|r| r[0] == v).unwrap_or_else(|| panic!("row {v}"));
    // "thresholds of 5 and 10 ... p99 wait 3.0 s"; "15 to 30 behave the same (p99 10.8 s)".
    assert_eq!((by("5")[p99].as_str(), by("10")[p99].as_str()), ("3.000", "3.000"));
    for v in ["15", "20", "25", "30"] {
        assert_eq!(by(v)[1..], by("15")[1..], "row {v}");
        assert_eq!(by(v)[p99], "10.800");
    }
    // "The capacity-hours differ little because every row reaches the maximum of 6."
    let scaled: Vec<&Vec<String>> = rows.iter().filter(|r| r[0] != "fixed").collect();
    let hours_of = |r: &Vec<String>| r[hours].parse::<f64>().unwrap();
    assert!(scaled
        .iter()
        .all(|r| (hours_of(r) - hours_of(scaled[0])).abs() <= 0.05 && r.last().unwrap() == "6"));
    // "Every row has one flap."
    assert!(scaled.iter().all(|r| r[flaps] == "1"), "{scaled:?}");

    let rows = sweep_rows(&text, "--sweep launch_time=30s..3m:30s");
    let p99s: Vec<f64> = rows.iter().map(|r| r[p99].parse().unwrap()).collect();
    // "Each 30 s of start-up costs about 3.3 s of p99 wait" (30 s to 150 s; then it meets the
    // fixed pool), and "at 3 minutes ... as long as the fixed 2 tasks".
    for w in p99s[..5].windows(2) {
        assert!((w[1] - w[0] - 3.3).abs() < 0.15, "{p99s:?}");
    }
    assert_eq!(rows[5][0], "180");
    assert_eq!(rows[5][p99], rows.last().unwrap()[p99]);
    assert_eq!(rows.last().unwrap()[0], "fixed");
    assert!(rows[..6].iter().all(|r| r[flaps] == "1"));
}

/// Every fence the guide opens is closed (indented ones in lists too): one stray fence turns
/// the rest of the page into a code block without failing any other test.
#[test]
fn every_fence_in_the_guide_is_closed() {
    let text = std::fs::read_to_string(root().join(GUIDE)).unwrap();
    let mut open: Option<(usize, usize)> = None; // (line, indent)
    for (i, line) in text.lines().enumerate() {
        let indent = line.len() - line.trim_start().len();
        let fence = line.trim_start();
        if !fence.starts_with("```") {
            continue;
        }
        match open {
            None => open = Some((i + 1, indent)),
            Some((_, at)) if fence == "```" && indent == at => open = None,
            Some((from, _)) => panic!("{GUIDE}:{}: a fence opens inside the block of line {from}", i + 1),
        }
    }
    assert!(
        open.is_none(),
        "{GUIDE}:{}: this fence is never closed",
        open.unwrap().0
    );
}

/// The worked example's log, deterministic: 0.9 s requests at 15 a second for a minute, 25 a
/// second for three minutes, then 2 a second for five, logged (as nginx logs) at their end, in
/// end order, as `$msec $status $request_time`.
fn burst_log() -> String {
    let start_ms = 1_764_547_200_000u64; // 2025-12-01T00:00:00Z
    let mut lines: Vec<(u64, String)> = Vec::new();
    let mut at = 0u64;
    for (seconds, rate) in [(60u64, 15u64), (180, 25), (300, 2)] {
        for i in 0..seconds * rate {
            let end = start_ms + at + i * 1000 / rate + 900;
            lines.push((end, format!("{}.{:03} 200 0.900\n", end / 1000, end % 1000)));
        }
        at += seconds * 1000;
    }
    lines.sort();
    lines.into_iter().map(|(_, l)| l).collect()
}

#[test]
fn the_worked_examples_log_is_its_generator() {
    let path = root().join(BURST_LOG);
    let want = burst_log();
    if updating() && std::fs::read_to_string(&path).ok().as_deref() != Some(want.as_str()) {
        std::fs::write(&path, &want).unwrap();
        return;
    }
    let have = std::fs::read_to_string(&path).unwrap();
    assert!(
        have == want,
        "{BURST_LOG} is not burst_log()'s output: UPDATE_GUIDE=1 regenerates it"
    );
    assert!(have.len() < 200_000, "the fixture stays small: {} bytes", have.len());
}

#[test]
fn args_split_as_a_shell_splits_them() {
    assert_eq!(
        split_args("simulate --log-format '$msec $status' --x=\"a b\"c  d"),
        ["simulate", "--log-format", "$msec $status", "--x=a bc", "d"]
    );
    assert_eq!(split_args("a '' b"), ["a", "", "b"]);
}

/// The nginx configurations of the guide, with what their marker says of them: `<!-- nginx -t -->`
/// (nginx 1.22 accepts it) or `<!-- nginx 1.27.3+ ... -->` (needs a newer nginx).
struct NginxBlock {
    line: usize,
    needs_1_27_3: bool,
    text: String,
}

fn nginx_blocks(text: &str) -> Vec<NginxBlock> {
    let lines: Vec<&str> = text.lines().collect();
    let mut found = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        if line.trim_end() != "```nginx" {
            continue;
        }
        let marker = if i > 0 { lines[i - 1].trim() } else { "" };
        let needs_1_27_3 = if marker == "<!-- nginx -t -->" {
            false
        } else if marker.starts_with("<!-- nginx 1.27.3+") && marker.ends_with("-->") {
            true
        } else {
            panic!(
                "{GUIDE}:{}: an nginx block must follow `<!-- nginx -t -->` (checked with nginx -t) or `<!-- nginx 1.27.3+ ... -->`, not {marker:?}",
                i + 1
            );
        };
        let body: Vec<&str> = lines[i + 1..]
            .iter()
            .take_while(|l| l.trim_end() != "```")
            .copied()
            .collect();
        found.push(NginxBlock {
            line: i + 1,
            needs_1_27_3,
            text: body.join("\n") + "\n",
        });
    }
    found
}

/// `nginx -t` on a block as the content of `http { }`: (accepted, what nginx said).
fn nginx_t(block: &str) -> (bool, String) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("guide.conf"), block).unwrap();
    let conf = format!(
        "pid {dir}/nginx.pid;\nerror_log stderr;\nevents {{}}\nhttp {{\n    include {dir}/guide.conf;\n}}\n",
        dir = dir.path().display()
    );
    std::fs::write(dir.path().join("nginx.conf"), conf).unwrap();
    let output = Command::new(NGINX)
        .arg("-t")
        .arg("-e")
        .arg("stderr")
        .arg("-p")
        .arg(dir.path())
        .arg("-c")
        .arg(dir.path().join("nginx.conf"))
        .output()
        .expect("run nginx -t");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// The installed nginx's version, from `nginx -v` ("nginx version: nginx/1.22.1").
fn nginx_version() -> (u32, u32, u32) {
    let output = Command::new(NGINX).arg("-v").output().unwrap();
    let text = String::from_utf8_lossy(&output.stderr);
    let version = text.trim().rsplit('/').next().unwrap();
    let parts: Vec<u32> = version.split('.').map(|p| p.parse().unwrap()).collect();
    (parts[0], parts[1], parts[2])
}

/// Section 1.9's configurations are ones nginx takes: each block marked for `nginx -t` passes
/// it here; each marked 1.27.3+ is refused by an older nginx for the parameter it needs (so
/// the marker is true), and passes on a newer one.
#[test]
fn the_guides_nginx_configurations_pass_nginx_t() {
    let text = std::fs::read_to_string(root().join(GUIDE)).unwrap();
    let blocks = nginx_blocks(&text);
    let checked = blocks.iter().filter(|b| !b.needs_1_27_3).count();
    assert!(
        checked >= 2 && blocks.len() > checked,
        "1.9's load balancer and Cloud Map configurations, and the 1.27.3 one: {} found",
        blocks.len()
    );
    let old_nginx = nginx_version() < (1, 27, 3);
    for block in &blocks {
        let (accepted, said) = nginx_t(&block.text);
        if block.needs_1_27_3 && old_nginx {
            assert!(
                !accepted && said.contains("invalid parameter \"resolve\""),
                "{GUIDE}:{}: marked 1.27.3+, but this nginx says:\n{said}",
                block.line
            );
        } else {
            assert!(accepted, "{GUIDE}:{}: nginx -t refuses it:\n{said}", block.line);
        }
    }
}
