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

/// Every `.rs` file under `dir`, recursively.
fn rust_files(dir: &Path, found: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, found);
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push(path);
        }
    }
}

/// Joins comment lines (`///`, `//!`, `//`, `#`) into one text, so a pointer a comment wraps
/// reads as it prints (clap joins a doc comment's lines the same way).
fn unwrap_comments(text: &str) -> String {
    let mut joined = String::new();
    for line in text.lines() {
        let trimmed = line.trim_start();
        let comment = ["//!", "///", "//", "#"]
            .iter()
            .find_map(|marker| trimmed.strip_prefix(marker));
        match comment {
            Some(rest) => {
                joined.push(' ');
                joined.push_str(rest.trim());
            }
            None => {
                joined.push('\n');
                joined.push_str(line);
            }
        }
    }
    joined
}

/// The pointers into the docs a text makes: `README, "Heading"`, `docs/x.md "Heading"` (the
/// comma optional, the quotes escaped or not) -> (file, heading).
fn doc_pointers(text: &str) -> Vec<(String, String)> {
    let mut found = Vec::new();
    for (at, _) in text.match_indices("README").chain(text.match_indices("docs/")) {
        let rest = &text[at..];
        let (file, named) = if rest.starts_with("README") {
            ("README.md".to_owned(), "README".len())
        } else {
            let Some(end) = rest.find(".md") else { continue };
            if rest[..end].contains(|c: char| !(c.is_alphanumeric() || "/-_".contains(c))) {
                continue;
            }
            (rest[..end + 3].to_owned(), end + 3)
        };
        let after = rest[named..]
            .trim_start_matches("'s")
            .trim_start_matches(',')
            .trim_start_matches(' ')
            .trim_start_matches('\\');
        let Some(quoted) = after.strip_prefix('"') else {
            continue;
        };
        let Some(end) = quoted.find('"') else { continue };
        let heading = quoted[..end].trim_end_matches('\\');
        found.push((file, heading.to_owned()));
    }
    found
}

/// What the code prints or its --help shows that points into the docs (`see docs/simulate.md,
/// "Closing the loop"`) names a file that exists and a heading in it (a heading may go on
/// after the words quoted): a user who follows it finds the section.
#[test]
fn every_pointer_from_the_code_into_the_docs_names_a_real_file_and_heading() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    rust_files(&root.join("src"), &mut files);
    files.push(root.join("config/nginx-backlog-exporter.toml"));
    files.push(root.join("config/scaling-policy.toml"));
    let mut checked = 0;
    let mut broken = Vec::new();
    for file in &files {
        let text = unwrap_comments(&std::fs::read_to_string(file).unwrap());
        for (doc, heading) in doc_pointers(&text) {
            checked += 1;
            let shown = format!("{}: {doc} \"{heading}\"", file.strip_prefix(root).unwrap().display());
            let Ok(doc_text) = std::fs::read_to_string(root.join(&doc)) else {
                broken.push(format!("{shown}: no such file"));
                continue;
            };
            let headings: Vec<&str> = doc_text
                .lines()
                .filter(|l| l.starts_with('#'))
                .map(|l| l.trim_start_matches('#').trim())
                .collect();
            if !headings.iter().any(|h| h.starts_with(&heading)) {
                broken.push(format!("{shown}: no such heading"));
            }
        }
    }
    assert!(broken.is_empty(), "pointers to nowhere:\n{}", broken.join("\n"));
    assert!(
        checked >= 3,
        "the help and messages point into the docs: {checked} found"
    );
}

#[test]
fn doc_pointers_are_read_as_written() {
    assert_eq!(
        doc_pointers(r#"see docs/measuring.md \"Long-lived connections\": pending"#),
        [("docs/measuring.md".to_owned(), "Long-lived connections".to_owned())]
    );
    assert_eq!(
        doc_pointers(&unwrap_comments("    /// change (see README, \"simulate\").\n")),
        [("README.md".to_owned(), "simulate".to_owned())]
    );
    assert!(doc_pointers("the README's Tests section").is_empty());
}

/// The lines of docs/simulate.md's first code block from the line starting with `from` to the
/// block's end.
fn simulate_doc_commands(from: &str) -> String {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/simulate.md")).unwrap();
    let block = doc
        .split("```sh\n")
        .nth(1)
        .expect("a sh block")
        .split("```")
        .next()
        .unwrap();
    let start = block.find(from).unwrap_or_else(|| panic!("{from:?} not in the block"));
    block[start..].to_owned()
}

/// "What is deployed today" and the way back, run as docs/simulate.md prints them, in bash
/// with the real AWS CLI: the shipped ECS policy deployed with `policy render --format cli`
/// to moto (ECS, Application Auto Scaling) and ministack (CloudWatch, through the CLI's and
/// SDK's per-service endpoint variable), the series published to ministack for the last
/// hour. Only the config's path is put in; `date`, `aws` and the exporter run as printed. Both
/// simulations must exit 0 and scale out and back, the same way.
#[tokio::test]
async fn the_simulate_docs_deployed_today_commands_run_as_printed() {
    use nginx_backlog_exporter_test_support as support;
    use std::os::unix::fs::symlink;
    use std::process::Command;
    use std::time::SystemTime;

    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let venv = root.join(".venv/bin");
    assert!(
        venv.join("aws").exists(),
        "run scripts/setup.sh: it installs the AWS CLI in .venv"
    );
    let moto = support::Moto::start().await;
    let ministack = support::Ministack::start().await;
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    symlink(
        env!("CARGO_BIN_EXE_nginx-backlog-exporter"),
        bin.join("nginx-backlog-exporter"),
    )
    .unwrap();
    std::fs::copy(
        root.join("config/scaling-policy.toml"),
        dir.path().join("scaling-policy.toml"),
    )
    .unwrap();
    let config = dir.path().join("exporter.toml");
    std::fs::write(
        &config,
        "[nginx]\nstatus_url = \"http://127.0.0.1:9/nginx_status\"\n[cloudwatch]\nnamespace = \"MyApp\"\n\
         region = \"us-east-1\"\ninstance_id = \"i-0123456789abcdef0\"\nperiod = \"10s\"\n",
    )
    .unwrap();
    let bash = |script: &str| {
        let output = Command::new("bash")
            .args(["-euo", "pipefail", "-c", script])
            .env_clear()
            .env(
                "PATH",
                format!("{}:{}:/usr/local/bin:/usr/bin:/bin", bin.display(), venv.display()),
            )
            .env("HOME", dir.path())
            .env("AWS_CONFIG_FILE", "/dev/null")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_DEFAULT_REGION", "us-east-1")
            .env("AWS_ENDPOINT_URL", moto.endpoint())
            .env("AWS_ENDPOINT_URL_CLOUDWATCH", ministack.endpoint())
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://127.0.0.1:9")
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .current_dir(dir.path())
            .output()
            .expect("run bash");
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        assert!(output.status.success(), "{script}\n{stderr}");
        String::from_utf8_lossy(&output.stdout).into_owned()
    };

    // What the commands read: the service (2 tasks), the deployed policy, the series.
    bash(
        "aws ecs create-cluster --cluster-name demo-cluster >/dev/null\n\
         aws ecs register-task-definition --family web \
             --container-definitions '[{\"name\": \"web\", \"image\": \"nginx\", \"memory\": 128}]' >/dev/null\n\
         aws ecs create-service --cluster demo-cluster --service-name web --task-definition web \
             --desired-count 2 >/dev/null\n\
         nginx-backlog-exporter policy render --policy scaling-policy.toml --format cli >deploy.sh\n\
         bash deploy.sh >/dev/null\n",
    );
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let start = now - now % 60 - 60 * 60;
    ministack
        .put_series("MyApp", "i-0123456789abcdef0", start, &support::load_test())
        .await;

    let commands = simulate_doc_commands("# what is deployed today")
        .replace("/etc/nginx-backlog-exporter/config.toml", config.to_str().unwrap());
    bash(&commands);
    // Desired capacity over time, from the CSV's desired_capacity column.
    let capacities = |file: &str| -> Vec<u64> {
        let csv = std::fs::read_to_string(dir.path().join(file)).unwrap();
        let mut lines = csv.lines();
        let header: Vec<&str> = lines.next().unwrap_or_default().split(',').collect();
        let column = header
            .iter()
            .position(|name| *name == "desired_capacity")
            .unwrap_or_else(|| panic!("no desired_capacity column in {file}: {csv}"));
        lines
            .map(|line| line.split(',').nth(column).unwrap().parse().unwrap())
            .collect()
    };
    let today = capacities("today.csv");
    assert_eq!(
        today.first(),
        Some(&2),
        "the service's desiredCount is the start: {today:?}"
    );
    assert_eq!(
        today.iter().max(),
        Some(&6),
        "the burst scales out to the max: {today:?}"
    );
    assert_eq!(today.last(), Some(&2), "and back in: {today:?}");
    assert_eq!(
        capacities("printed.csv"),
        today,
        "--print-aws's files simulate as what was deployed"
    );
}
