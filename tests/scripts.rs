//! The scripts find the binary where cargo put it, and keep their state in their temp dir.
//! (Static checks of scripts/*.sh, plus the one helper they ask where cargo builds.)

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every scripts/*.sh with its text.
fn scripts() -> Vec<(String, String)> {
    let mut scripts: Vec<(String, String)> = std::fs::read_dir(root().join("scripts"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "sh"))
        .map(|path| {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read_to_string(&path).unwrap())
        })
        .collect();
    scripts.sort();
    assert!(scripts.len() > 10, "scripts/ holds the demos and benches: {scripts:?}");
    scripts
}

/// The lines that are not comments.
fn code(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines()
        .enumerate()
        .map(|(i, line)| (i + 1, line))
        .filter(|(_, line)| !line.trim_start().starts_with('#'))
}

fn target_dir_with(env: &[(&str, &str)]) -> String {
    let mut command = Command::new(root().join("scripts/cargo-target-dir.sh"));
    command
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("CARGO_BUILD_TARGET_DIR");
    for (name, value) in env {
        command.env(name, value);
    }
    let output = command.output().expect("run scripts/cargo-target-dir.sh");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap().trim_end().to_owned()
}

#[test]
fn cargo_target_dir_is_where_cargo_builds() {
    assert_eq!(
        target_dir_with(&[("CARGO_TARGET_DIR", "/tmp/elsewhere")]),
        "/tmp/elsewhere"
    );
    // What build.target-dir in a .cargo/config.toml sets, in its environment form.
    assert_eq!(
        target_dir_with(&[("CARGO_BUILD_TARGET_DIR", "/tmp/configured")]),
        "/tmp/configured"
    );
    let default = target_dir_with(&[]);
    assert!(Path::new(&default).is_absolute(), "{default}");
}

#[test]
fn no_script_guesses_where_the_binary_is() {
    for (name, text) in scripts() {
        // A script that sets CARGO_TARGET_DIR itself has cargo build where it then looks.
        let sets_it = code(&text).any(|(_, l)| {
            let l = l.trim_start();
            l.starts_with("CARGO_TARGET_DIR=") || l.starts_with("export CARGO_TARGET_DIR=")
        });
        for (line_number, line) in code(&text) {
            // Setting CARGO_TARGET_DIR for its own builds is fine: cargo then builds there.
            if line.contains("export CARGO_TARGET_DIR=") {
                continue;
            }
            for guess in [
                "target/debug",
                "target/release",
                "${CARGO_TARGET_DIR:-",
                "$CARGO_TARGET_DIR/",
            ] {
                if sets_it && guess == "$CARGO_TARGET_DIR/" {
                    continue;
                }
                assert!(
                    !line.contains(guess),
                    "scripts/{name}:{line_number}: {guess:?} ignores build.target-dir; use scripts/cargo-target-dir.sh: {line}"
                );
            }
        }
    }
}

/// Whether a line starts the exporter daemon (`... --config F run ...`).
fn starts_the_daemon(line: &str) -> bool {
    line.contains("--config") && line.split_whitespace().any(|word| word == "run")
}

#[test]
fn every_script_that_runs_the_daemon_keeps_its_state_in_its_temp_dir() {
    let scripts = scripts();
    let text_of = |name: &str| &scripts.iter().find(|(n, _)| n == name).unwrap().1;
    // The two libraries every demo and bench sources point STATE_DIRECTORY (the default when
    // a config names no state_directory) into their temp directory.
    assert!(text_of("bench-lib.sh").contains("export STATE_DIRECTORY=\"$work/"));
    assert!(text_of("demo-lib.sh").contains("state_directory = \"$work/state\""));
    let mut daemons = 0;
    for (name, text) in &scripts {
        let runs: Vec<usize> = code(text)
            .filter(|(_, l)| starts_the_daemon(l))
            .map(|(n, _)| n)
            .collect();
        if runs.is_empty() {
            continue;
        }
        daemons += runs.len();
        let sourced = [
            "scripts/bench-lib.sh",
            "scripts/demo-lib.sh",
            "/bench-lib.sh",
            "/demo-lib.sh",
        ]
        .iter()
        .any(|lib| {
            code(text).any(|(_, l)| {
                (l.trim_start().starts_with("source ") || l.trim_start().starts_with(". ")) && l.contains(lib)
            })
        });
        assert!(
            sourced,
            "scripts/{name}:{runs:?} runs the daemon without bench-lib.sh or demo-lib.sh: it would write /var/lib/nginx-backlog-exporter"
        );
    }
    assert!(daemons >= 5, "the benches and demos run the daemon: found {daemons}");
}
