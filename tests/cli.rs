//! CLI contract: every config error exits 2 with the key and the line, before anything starts.

use nginx_backlog_exporter_test_support as support;

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
async fn unknown_key_names_its_section_and_the_near_one() {
    check_rejected(
        "[cloudwatch]\nnamespace = \"x\"\nsample_intervall = \"1s\"\n",
        &["/config.toml:3: cloudwatch.sample_intervall: unknown key; did you mean `sample_interval`?"],
    )
    .await;
}

#[tokio::test]
async fn wrong_type_names_its_section() {
    check_rejected(
        "[cloudwatch]\nnamespace = \"x\"\n\n[daemon]\nshutdown_grace = 5\n",
        &["/config.toml:5: daemon.shutdown_grace: expected a duration such as \"10s\" or \"500ms\", got integer `5`"],
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

/// A config `check` can read without nginx: identity from the file, nothing at the status URL.
const OFF_AWS: &str = "[nginx]\nstatus_url = \"http://127.0.0.1:9/s\"\n[cloudwatch]\nnamespace = \"x\"\ninstance_id = \"i-1\"\nregion = \"eu-west-1\"\npending = \"in_flight\"\n";

/// `check` with `env` on top of the support environment (AWS_ACCESS_KEY_ID etc. removed
/// unless given again); returns exit code, stdout and stderr.
async fn check_with(env: &[(&str, &str)]) -> (i32, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = write_config(dir.path(), OFF_AWS);
    let mut command = exporter();
    command
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY");
    for (name, value) in env {
        command.env(name, value);
    }
    run_exporter(command.arg("--config").arg(&path).arg("check")).await
}

/// A loopback "metadata service" that answers every request 403 with an HTML body, as a
/// non-AWS service at the IMDS address would: IMDS credentials fail (not "not configured").
async fn not_imds() -> (String, tokio::task::JoinHandle<()>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let mut buffer = [0u8; 4096];
            let _ = stream.read(&mut buffer).await;
            let body = "<html><body><h1>403 Forbidden</h1>".repeat(20);
            let response = format!(
                "HTTP/1.1 403 Forbidden\r\ncontent-type: text/html\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = stream.write_all(response.as_bytes()).await;
        }
    });
    (endpoint, task)
}

/// The credentials line and the provider lines under it.
fn credential_lines(stdout: &str) -> Vec<&str> {
    let mut lines = stdout.lines().skip_while(|l| !l.starts_with("credentials"));
    let head = lines.next().into_iter();
    head.chain(lines.take_while(|l| l.starts_with("              ")))
        .collect()
}

const PROVIDERS: [&str; 5] = [
    "Environment",
    "Profile",
    "WebIdentityToken",
    "EcsContainer",
    "Ec2InstanceMetadata",
];

#[tokio::test]
async fn check_without_credentials_says_what_each_provider_said() {
    // The support environment's IMDS is a closed port: every provider has nothing.
    let (code, stdout, stderr) = check_with(&[]).await;
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    let lines = credential_lines(&stdout);
    assert_eq!(
        lines[0], "credentials   FAILED: no AWS credentials; the chain tried",
        "{stdout}"
    );
    assert_eq!(lines.len(), 1 + PROVIDERS.len(), "{stdout}");
    for (line, provider) in lines[1..].iter().zip(PROVIDERS) {
        assert!(
            line.trim_start().starts_with(&format!("{provider}: ")),
            "{provider}: {line}"
        );
    }
    assert!(
        lines[1].ends_with("Environment: environment variable not set"),
        "{stdout}"
    );
    assert!(
        lines[3].contains("$AWS_WEB_IDENTITY_TOKEN_FILE was not set"),
        "{stdout}"
    );
    assert!(
        lines[5].contains("could not communicate with IMDS") && lines[5].contains("Connection refused"),
        "{stdout}"
    );
    assert!(!stderr.contains("WARN"), "{stderr}");
}

#[tokio::test]
async fn check_names_the_provider_that_failed_without_a_debug_dump() {
    let (endpoint, server) = not_imds().await;
    let (code, stdout, stderr) = check_with(&[("AWS_EC2_METADATA_SERVICE_ENDPOINT", &endpoint)]).await;
    server.abort();
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    let lines = credential_lines(&stdout);
    assert_eq!(
        lines[0], "credentials   FAILED: AWS credentials failed at Ec2InstanceMetadata; the chain tried",
        "{stdout}"
    );
    assert_eq!(lines.len(), 1 + PROVIDERS.len(), "{stdout}");
    assert!(
        lines[5]
            .trim_start()
            .starts_with("Ec2InstanceMetadata: FAILED, the chain stops here: failed to load IMDS session token"),
        "{stdout}"
    );
    // The SDK's own warning carries the Debug form of the response, body and all: not shown.
    assert_eq!(
        stderr.lines().collect::<Vec<_>>(),
        ["nginx-backlog-exporter: check found 2 problem(s)"],
        "{stderr}"
    );
    for line in &lines {
        assert!(line.len() < 200, "one short line per provider: {line}");
        assert!(
            !line.contains("SdkBody") && !line.contains("403 Forbidden</h1>"),
            "{line}"
        );
    }
}

#[tokio::test]
async fn check_prints_a_non_ascii_access_key_and_the_formula_as_configured() {
    // A key id is only four characters of the key, not four bytes: no panic mid-character.
    // Nothing answers at the endpoint: the keys are found, not verified (and never "ok").
    let (_, stdout, stderr) = check_with(&[
        ("AWS_ACCESS_KEY_ID", "日本語キー"),
        ("AWS_SECRET_ACCESS_KEY", "x"),
        ("AWS_ENDPOINT_URL", "http://127.0.0.1:9"),
    ])
    .await;
    let line = stdout
        .lines()
        .find(|l| l.starts_with("credentials"))
        .unwrap_or_default();
    assert!(
        line.starts_with("credentials   found, not verified: STS GetCallerIdentity at ")
            && line.ends_with("(access key 日本語キ...)"),
        "{stdout}\n{stderr}"
    );
    assert!(stdout.contains("pending       in_flight every 1s"), "{stdout}");
}

/// A format with a whole-second time, `$status` and `$request_time`, as in issue 22.
const TIMED: &str = r#"$remote_addr - $remote_user [$time_local] "$request" $status $request_time"#;

/// Issue 22: `parse-log` called lines `"ok": true` that `replay` skips. Both now give one
/// verdict: parse-log names the value and why, under the reason replay counts it as, and
/// replay names each bad line's number.
#[tokio::test]
async fn parse_log_and_replay_give_one_verdict_on_each_line() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.log");
    let line = |time: &str, status: &str, rest: &str| {
        format!("10.0.0.1 - - [{time}:10:00:00 +0000] \"GET / HTTP/1.1\" {status} {rest}\n")
    };
    let text = [
        line("07/Dec/2026", "200", "0.001"),
        line("07/Dec/2026", "2OO", "0.001"),
        line("32/Dec/2026", "200", "0.001"),
        // A combined line with $request_time and $upstream_response_time after it, read
        // with a format that ends at $status $request_time.
        line("07/Dec/2026", "200", r#"3 "-" "curl/7.88.1" 0.000 -"#),
        line("07/Dec/2026", "404", "0.002"),
    ]
    .concat();
    std::fs::write(&log, text).unwrap();
    let (code, stdout, stderr) = run_exporter(exporter().args(["parse-log", "--log-format", TIMED]).arg(&log)).await;
    assert_eq!(code, 0, "{stderr}");
    let verdicts: Vec<(bool, String)> = stdout
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            (v["ok"] == true, v["error"].as_str().unwrap_or_default().to_string())
        })
        .collect();
    assert_eq!(
        verdicts,
        [
            (true, String::new()),
            (false, r#"bad_status: $status is "2OO", not three digits"#.into()),
            (
                false,
                r#"bad_time: $time_local is "32/Dec/2026:10:00:00 +0000", not a time such as "22/Nov/2026:19:49:22 +0000""#
                    .into()
            ),
            (
                false,
                r#"bad_request_time: $request_time is "3 \"-\" \"curl/7.88.1\" 0.000 -", not a number of seconds such as 0.003, or -"#
                    .into()
            ),
            (true, String::new()),
        ],
        "{stdout}"
    );
    let counts = "5 lines, 3 bad: bad_time=1 bad_status=1 bad_request_time=1";
    assert_eq!(stderr, format!("parse-log: {counts}\n"));

    let (code, _, stderr) = run_exporter(
        exporter()
            .args(["replay", "--threads", "1", "--log-format", TIMED])
            .arg(&log),
    )
    .await;
    assert_eq!(code, 0, "two lines are good: {stderr}");
    let shown = log.display();
    assert!(
        stderr.contains(", 3 bad: bad_time=1 bad_status=1 bad_request_time=1\n"),
        "the same counts: {stderr}"
    );
    assert!(
        stderr.ends_with(&format!(
            "replay: first bad lines: {shown}:2 bad_status, {shown}:3 bad_time, {shown}:4 bad_request_time (parse-log shows why)\n"
        )),
        "{stderr}"
    );
}

/// Issue 22: `replay` on a file that is not a log printed a CSV header, counted bad lines and
/// exited 0. With no usable line it exits 2, naming the first bad lines (at most 5).
#[tokio::test]
async fn replay_of_a_file_that_is_not_a_log_exits_2_naming_its_first_bad_lines() {
    let dir = tempfile::tempdir().unwrap();
    let binary = dir.path().join("access.log");
    // Bytes of every value, lines among them.
    let bytes: Vec<u8> = (0..4000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    assert!(bytes.iter().filter(|&&b| b == b'\n').count() > 6);
    std::fs::write(&binary, &bytes).unwrap();
    let empty = dir.path().join("empty.log");
    std::fs::write(&empty, "").unwrap();
    for threads in ["1", "3"] {
        let (code, stdout, stderr) = run_exporter(exporter().args(["replay", "--threads", threads]).arg(&binary)).await;
        assert_eq!(code, 2, "{stderr}");
        assert_eq!(stdout, "", "no series, not even its header");
        // The last line (a warning may come first: combined has no $request_time).
        let stderr = stderr.lines().last().unwrap_or_default();
        let prefix = format!(
            "nginx-backlog-exporter: {}: no line is a request in the log format (",
            binary.display()
        );
        assert!(stderr.starts_with(&prefix), "{stderr}");
        let (_, first) = stderr.split_once("first bad lines: ").unwrap();
        let named: Vec<&str> = first.split(", ").collect();
        assert_eq!(named.len(), 5, "the first five: {first}");
        assert!(named[0].starts_with(&format!("{}:1 ", binary.display())), "{first}");
        let (code, stdout, stderr) = run_exporter(exporter().args(["replay", "--threads", threads]).arg(&empty)).await;
        assert_eq!((code, stdout.as_str()), (2, ""), "{stderr}");
        assert_eq!(
            stderr.lines().last().unwrap_or_default(),
            format!(
                "nginx-backlog-exporter: {}: no lines: nothing to replay",
                empty.display()
            )
        );
    }
}

/// A file that is not text: NUL bytes and bytes that are not UTF-8.
fn binary_file(dir: &std::path::Path, name: &str) -> String {
    let path = dir.join(name);
    std::fs::write(
        &path,
        [0x1f_u8, 0x8b, 0x00, 0xff, 0xfe, 0x00, 0x80, 0x81, b'\n', 0xc3, 0x28],
    )
    .unwrap();
    path.to_str().unwrap().to_owned()
}

/// `args` exits 2 (input it cannot use, README's exit-code table) with one line on stderr
/// that names `needle` (the file) and no Rust type or Debug dump.
async fn exits_2(args: &[&str], needle: &str) {
    let (code, stdout, stderr) = run_exporter(exporter().args(args)).await;
    assert_eq!(code, 2, "{args:?}: stdout {stdout}\nstderr {stderr}");
    let last = stderr.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("nginx-backlog-exporter: ") && last.contains(needle),
        "{args:?}: {needle:?} not in the last line of {stderr}"
    );
    for leak in ["Error {", "Os {", "kind:", "Custom {"] {
        assert!(!stderr.contains(leak), "{args:?}: Debug output in {stderr}");
    }
}

const MISSING: &str = "/nonexistent/input.file";

#[tokio::test]
async fn run_once_and_check_exit_2_on_a_missing_or_binary_config() {
    let dir = tempfile::tempdir().unwrap();
    let binary = binary_file(dir.path(), "config.toml");
    for command in [
        &["run", "--dry-run"][..],
        &["once", "--dry-run"],
        &["check"],
        &["check", "--config-only"],
    ] {
        exits_2(&[&["--config", MISSING][..], command].concat(), MISSING).await;
        exits_2(&[&["--config", binary.as_str()][..], command].concat(), &binary).await;
    }
}

#[tokio::test]
async fn parse_log_exits_2_on_a_missing_file_or_a_directory() {
    let dir = tempfile::tempdir().unwrap();
    exits_2(&["parse-log", MISSING], MISSING).await;
    let directory = dir.path().to_str().unwrap();
    exits_2(&["parse-log", directory], directory).await;
    // With --config, the config is input too.
    exits_2(&["--config", MISSING, "parse-log", directory], MISSING).await;
}

#[tokio::test]
async fn replay_exits_2_on_a_missing_file_or_a_broken_gz() {
    let dir = tempfile::tempdir().unwrap();
    exits_2(&["replay", MISSING], MISSING).await;
    let broken = binary_file(dir.path(), "access.log.1.gz");
    exits_2(&["replay", "--threads", "1", &broken], &broken).await;
    exits_2(&["replay", "--threads", "2", &broken], &broken).await;
}

#[tokio::test]
async fn simulate_exits_2_on_a_missing_or_binary_series_policy_or_log() {
    let dir = tempfile::tempdir().unwrap();
    let policy = concat!(env!("CARGO_MANIFEST_DIR"), "/config/scaling-policy.toml");
    let binary = binary_file(dir.path(), "series.csv");
    exits_2(&["simulate", "--policy", policy, "--series", MISSING], MISSING).await;
    exits_2(&["simulate", "--policy", policy, "--series", &binary], &binary).await;
    exits_2(&["simulate", "--policy", MISSING, "--series", &binary], MISSING).await;
    exits_2(&["simulate", "--policy", &binary, "--series", &binary], &binary).await;
    // A format that has $request_time, so the file is what is wrong (the default, combined,
    // is refused first: tests/simulate.rs).
    let format = "--log-format=$remote_addr [$time_local] \"$request\" $status $request_time";
    exits_2(&["simulate", "--policy", policy, format, "--log", MISSING], MISSING).await;
    let broken = binary_file(dir.path(), "access.log.2.gz");
    exits_2(&["simulate", "--policy", policy, format, "--log", &broken], &broken).await;
}

#[tokio::test]
async fn policy_render_and_lint_exit_2_on_a_missing_or_binary_file() {
    let dir = tempfile::tempdir().unwrap();
    let binary = binary_file(dir.path(), "policy.toml");
    let policy = concat!(env!("CARGO_MANIFEST_DIR"), "/config/scaling-policy.toml");
    exits_2(&["policy", "render", "--policy", MISSING, "--format", "cli"], MISSING).await;
    exits_2(&["policy", "render", "--policy", &binary, "--format", "cli"], &binary).await;
    exits_2(&["policy", "lint", "--policy", MISSING], MISSING).await;
    exits_2(&["policy", "lint", "--policy", &binary], &binary).await;
    exits_2(&["--config", MISSING, "policy", "lint", "--policy", policy], MISSING).await;
    exits_2(&["--config", &binary, "policy", "lint", "--policy", policy], &binary).await;
}

/// Nothing listens here: every AWS call gets "connection refused".
const CLOSED: &str = "http://127.0.0.1:9";

/// An AWS call that cannot connect is one line: the operation, the endpoint and the cause,
/// not the SDK's Debug dump (`DispatchFailure { source: ConnectorError { kind: Io, ...`).
fn assert_one_line_aws_failure(text: &str, operation: &str) {
    let line = text
        .lines()
        .find(|line| line.contains(operation))
        .unwrap_or_else(|| panic!("{operation} not named in {text}"));
    assert!(
        line.contains(&format!("no answer from {CLOSED}")) && line.contains("Connection refused"),
        "{line}"
    );
    for leak in ["DispatchFailure", "ConnectorError", "Error {", "kind: Io", "SdkBody"] {
        assert!(!text.contains(leak), "{leak} in {text}");
    }
}

#[tokio::test]
async fn check_names_the_alarm_read_endpoint_and_cause_when_nothing_answers() {
    let (code, stdout, stderr) = check_with(&[
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
        ("AWS_ENDPOINT_URL", CLOSED),
    ])
    .await;
    // stub_status is unreachable too (exit 1); the alarm line is what is checked here.
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    assert_one_line_aws_failure(&stdout, "cloudwatch:DescribeAlarmsForMetric");
}

#[tokio::test]
async fn simulate_from_cloudwatch_names_the_endpoint_and_cause_when_nothing_answers() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_config(dir.path(), OFF_AWS);
    let policy = concat!(env!("CARGO_MANIFEST_DIR"), "/config/scaling-policy.toml");
    let now = std::time::SystemTime::now();
    let rfc3339 = |at: std::time::SystemTime| humantime::format_rfc3339_seconds(at).to_string();
    let (code, stdout, stderr) = run_exporter(
        exporter()
            .env("AWS_ENDPOINT_URL", CLOSED)
            .arg("--config")
            .arg(&path)
            .args(["simulate", "--policy", policy, "--from-cloudwatch", "--start"])
            .arg(rfc3339(now - std::time::Duration::from_secs(3600)))
            .arg("--end")
            .arg(rfc3339(now)),
    )
    .await;
    assert_eq!(code, 1, "a failure while running: {stdout}\n{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("GetMetricData: "), "{stderr}");
    assert_one_line_aws_failure(&stderr, "GetMetricData");
}

#[tokio::test]
async fn an_imds_lookup_that_gets_no_answer_names_the_path_endpoint_and_cause() {
    let dir = tempfile::tempdir().unwrap();
    // No instance_id: IMDSv2 is asked, at the closed port the support environment sets.
    let path = write_config(
        dir.path(),
        "[nginx]\nstatus_url = \"http://127.0.0.1:9/s\"\n[cloudwatch]\nnamespace = \"x\"\nregion = \"eu-west-1\"\n",
    );
    let (code, _, stderr) = run_exporter(exporter().arg("--config").arg(&path).args(["once", "--dry-run"])).await;
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("IMDSv2 GET /latest/meta-data/instance-id: no answer from http://127.0.0.1:9: "),
        "{stderr}"
    );
    assert!(stderr.contains("set cloudwatch.instance_id"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}
