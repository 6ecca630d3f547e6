//! CLI contract: every config error exits 2 with the key and the line, before anything starts.

mod support;

use support::{exporter, run_exporter, write_config};

/// Runs `once --dry-run` with `text` as the config; expects exit 2 and every needle on stderr.
async fn check_rejected(text: &str, needles: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let path = write_config(dir.path(), text);
    let (code, stdout, stderr) = run_exporter(exporter().arg("--config").arg(&path).args(["once", "--dry-run"])).await;
    assert_eq!(code, 2, "config {text:?}: stderr {stderr}");
    assert_eq!(stdout, "");
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    assert!(stderr.starts_with("nginx-backlog-exporter: config error: "), "{stderr}");
    for needle in needles {
        assert!(stderr.contains(needle), "{needle:?} not in {stderr}");
    }
}

#[tokio::test]
async fn missing_file() {
    let (code, _, stderr) = run_exporter(exporter().args(["--config", "/nonexistent/exporter.toml", "check"])).await;
    assert_eq!(code, 2);
    assert!(
        stderr.contains("cannot read config file /nonexistent/exporter.toml"),
        "{stderr}"
    );
}

#[tokio::test]
async fn bad_toml() {
    check_rejected("[cloudwatch]\nnamespace = \"x\"\nperiod = 10s\n", &["config.toml:3:"]).await;
}

#[tokio::test]
async fn unknown_key() {
    check_rejected(
        "[cloudwatch]\nnamespace = \"x\"\n\n[nginx]\nstatus_uri = \"http://127.0.0.1/\"\n",
        &["config.toml:5:", "status_uri"],
    )
    .await;
}

#[tokio::test]
async fn bad_url() {
    check_rejected(
        "[nginx]\nstatus_url = \"127.0.0.1/nginx_status\"\n[cloudwatch]\nnamespace = \"x\"\n",
        &["config.toml:2:", "nginx.status_url"],
    )
    .await;
}

#[tokio::test]
async fn period_not_a_multiple_of_the_sample_interval() {
    check_rejected(
        "[cloudwatch]\nnamespace = \"x\"\nsample_interval = \"3s\"\nperiod = \"10s\"\n",
        &["config.toml:4:", "cloudwatch.period", "multiple"],
    )
    .await;
}

#[tokio::test]
async fn resolution_not_1_or_60() {
    check_rejected(
        "[cloudwatch]\nnamespace = \"x\"\nstorage_resolution = 7\n",
        &["config.toml:3:", "cloudwatch.storage_resolution"],
    )
    .await;
}

#[tokio::test]
async fn empty_namespace() {
    check_rejected(
        "[cloudwatch]\nnamespace = \"\"\n",
        &["config.toml:2:", "cloudwatch.namespace", "empty"],
    )
    .await;
}

#[tokio::test]
async fn period_zero() {
    check_rejected(
        "[cloudwatch]\nnamespace = \"x\"\nperiod = \"0s\"\n",
        &["config.toml:3:", "cloudwatch.period"],
    )
    .await;
}

#[tokio::test]
async fn usage_errors_exit_2_too() {
    let (code, _, stderr) = run_exporter(exporter().arg("frobnicate")).await;
    assert_eq!(code, 2, "{stderr}");
}

#[tokio::test]
async fn help_lists_the_commands() {
    let (code, stdout, _) = run_exporter(exporter().arg("--help")).await;
    assert_eq!(code, 0);
    for command in ["run", "once", "check"] {
        assert!(stdout.contains(command), "{stdout}");
    }
}

#[tokio::test]
async fn check_config_only_validates_without_nginx_or_aws() {
    let dir = tempfile::tempdir().unwrap();
    // Nothing listens at this status URL and there is no IMDS: only the file is checked.
    let path = write_config(
        dir.path(),
        "[nginx]\nstatus_url = \"http://127.0.0.1:9/s\"\n[cloudwatch]\nnamespace = \"x\"\n",
    );
    let (code, stdout, stderr) =
        run_exporter(exporter().arg("--config").arg(&path).args(["check", "--config-only"])).await;
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains(": ok"), "{stdout}");
    let bad = write_config(dir.path(), "[cloudwatch]\nnamespace = \"\"\n");
    let (code, _, stderr) = run_exporter(exporter().arg("--config").arg(&bad).args(["check", "--config-only"])).await;
    assert_eq!(code, 2, "{stderr}");
}

/// `replay --threads`: 0 is a usage error; worker threads print what one thread prints, the
/// summary's counts included (its timing aside).
#[tokio::test]
async fn replay_threads_print_the_same() {
    let log = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/access_log/nginx-1.22-combined.log"
    );
    let (code, _, stderr) = run_exporter(exporter().args(["replay", "--threads", "0", log])).await;
    assert_eq!(code, 2, "{stderr}");
    let mut printed = Vec::new();
    for threads in ["1", "3"] {
        let (code, stdout, stderr) = run_exporter(exporter().args([
            "replay",
            "--output",
            "json",
            "--breakdown",
            "remote_addr",
            "--threads",
            threads,
            log,
        ]))
        .await;
        assert_eq!(code, 0, "{stderr}");
        assert_eq!(stdout.lines().count(), 1, "the fixture's one period: {stdout}");
        // The last stderr line (a warning may come first: this format has no $request_time).
        let summary = stderr.lines().last().unwrap_or_default();
        let (counts, _timing) = summary.split_once(" in ").unwrap_or_default();
        let (_, periods) = summary.split_once("lines/s), ").unwrap_or_default();
        printed.push((stdout, format!("{counts}, {periods}")));
    }
    assert_eq!(printed[0].1, "replay: 14 lines, 1 periods, 0 late, 0 bad");
    assert_eq!(printed[0], printed[1]);
}
