//! The daemon's access-log source against real nginx writing its log: lines parsed and
//! counted into periods, bad lines counted by reason, a restart resumes from the checkpoint,
//! and parse-log/replay read the same format through --config.

use nginx_backlog_exporter_test_support as support;

use std::collections::HashMap;
use std::io::Write;
use std::time::Duration;

use support::*;

async fn metrics(port: u16) -> HashMap<String, f64> {
    support::metrics(port).await.unwrap_or_default()
}

fn value(seen: &HashMap<String, f64>, name: &str) -> f64 {
    seen.get(name).copied().unwrap_or(f64::NAN)
}

async fn requests(port: u16, path: &str, n: usize) {
    for _ in 0..n {
        http_get(&format!("http://127.0.0.1:{port}{path}"))
            .await
            .expect("nginx answers");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daemon_follows_nginx_access_log_and_resumes_after_restart() {
    let upstream = SlowUpstream::start().await;
    let nginx = Nginx::start(upstream.port).await;
    let log = nginx.dir.path().join("access.log");
    let state = tempfile::tempdir().unwrap();
    let http_port = free_port();
    let dir = tempfile::tempdir().unwrap();
    let config = format!(
        "[nginx]\nstatus_url = \"{}\"\naccess_log = \"{}\"\n[access_log]\nsettle = \"2s\"\n[cloudwatch]\nnamespace = \"Test/Log\"\ninstance_id = \"i-log\"\nperiod = \"1s\"\nsample_interval = \"500ms\"\n[daemon]\nstate_directory = \"{}\"\n[http]\nlisten = \"127.0.0.1:{http_port}\"\n",
        nginx.status_url(),
        log.display(),
        state.path().display()
    );
    let path = write_config(dir.path(), &config);
    let start = || {
        exporter()
            .arg("--config")
            .arg(&path)
            .args(["run", "--dry-run"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap()
    };
    // Lines written before the first start are not ours to count (start_at = end).
    requests(nginx.port, "/fast", 3).await;
    let daemon = start();
    wait_until(Duration::from_secs(10), "/metrics", async || {
        metrics(http_port)
            .await
            .contains_key("nginx_backlog_log_lines_parsed_total{}")
    })
    .await;

    requests(nginx.port, "/fast", 20).await;
    requests(nginx.port, "/missing", 5).await;
    // The stub_status scrapes are logged too; count only ours by waiting for the totals.
    std::fs::OpenOptions::new()
        .append(true)
        .open(&log)
        .unwrap()
        .write_all(b"this is not a log line\n\x16\x03\x01\x02\n")
        .unwrap();
    let mut seen = HashMap::new();
    wait_until(Duration::from_secs(15), "the periods to close", async || {
        seen = metrics(http_port).await;
        value(&seen, "nginx_backlog_log_requests_completed_total{class=4xx}") >= 5.0
            && value(&seen, "nginx_backlog_log_lines_rejected_total{reason=too_few_fields}")
                + value(&seen, "nginx_backlog_log_lines_rejected_total{reason=literal_mismatch}")
                >= 2.0
    })
    .await;
    // Our 5 404s exactly (the 3 written before the start are not counted: start_at = end);
    // the 2xx also count the exporter's own stub_status scrapes, which nginx logs too.
    assert_eq!(
        value(&seen, "nginx_backlog_log_requests_completed_total{class=4xx}"),
        5.0,
        "{seen:?}"
    );
    assert!(
        value(&seen, "nginx_backlog_log_requests_completed_total{class=2xx}") >= 20.0,
        "{seen:?}"
    );
    assert_eq!(
        value(&seen, "nginx_backlog_log_requests_completed_total{class=5xx}"),
        0.0
    );
    assert_eq!(
        value(&seen, "nginx_backlog_log_lines_rejected_total{reason=bad_status}"),
        0.0
    );

    // SIGTERM writes the checkpoint; the next run resumes exactly there.
    stop(daemon).await;
    let checkpoints: Vec<_> = std::fs::read_dir(state.path()).unwrap().collect();
    assert!(!checkpoints.is_empty(), "a checkpoint in the state directory");
    requests(nginx.port, "/missing", 4).await;
    let daemon = start();
    let mut seen = HashMap::new();
    wait_until(
        Duration::from_secs(15),
        "the 404s written while it was down",
        async || {
            seen = metrics(http_port).await;
            value(&seen, "nginx_backlog_log_requests_completed_total{class=4xx}") >= 4.0
        },
    )
    .await;
    // Resumed at the checkpoint: the 4 written while down are counted (start_at = end
    // would have skipped them), and the 5 from before the restart are not counted again.
    tokio::time::sleep(Duration::from_secs(3)).await;
    seen = metrics(http_port).await;
    assert_eq!(
        value(&seen, "nginx_backlog_log_requests_completed_total{class=4xx}"),
        4.0,
        "{seen:?}"
    );
    stop(daemon).await;
    upstream.release();

    // parse-log and replay read the same log with the config's format.
    let (code, stdout, stderr) = run_exporter(exporter().arg("--config").arg(&path).arg("parse-log").arg(&log)).await;
    assert_eq!(code, 0, "{stderr}");
    let lines: Vec<serde_json::Value> = stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert!(
        lines.iter().any(|l| l["ok"] == true && l["fields"]["status"] == "404"),
        "{stdout}"
    );
    assert_eq!(
        lines.iter().filter(|l| l["ok"] == false).count(),
        2,
        "the two garbage lines"
    );
    let (code, stdout, stderr) = run_exporter(
        exporter()
            .arg("--config")
            .arg(&path)
            .args(["replay", "--period", "60s"])
            .arg(&log),
    )
    .await;
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.lines().count() >= 2,
        "a header and at least one period: {stdout}"
    );
    let (code, _, stderr) = run_exporter(
        exporter()
            .arg("--config")
            .arg(&path)
            .args(["parse-log", "--log-format", "$status"])
            .arg(&log),
    )
    .await;
    assert_eq!(code, 2, "both --config and a format: {stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_concurrency_formula_publishes_what_the_log_says() {
    let upstream = SlowUpstream::start().await;
    // A format with $request_time, written next to the default log (relative to the prefix).
    let timed = "log_format timed '$remote_addr [$time_local] \"$request\" $status $request_time';\n    access_log timed.log timed;";
    let nginx = Nginx::start_with(upstream.port, timed).await;
    let log = nginx.dir.path().join("timed.log");
    let state = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = format!(
        "[nginx]\nstatus_url = \"{}\"\naccess_log = \"{}\"\nlog_format_name = \"timed\"\nnginx_conf = \"{}\"\n[cloudwatch]\nnamespace = \"Test/Log\"\ninstance_id = \"i-log\"\npending = \"log_concurrency\"\nperiod = \"4s\"\nsample_interval = \"500ms\"\n[daemon]\nstate_directory = \"{}\"\n",
        nginx.status_url(),
        log.display(),
        nginx.dir.path().join("nginx.conf").display(),
        state.path().display()
    );
    let path = write_config(dir.path(), &config);
    let (daemon, mut lines) = dry_run_daemon(&path);
    let stats = |line: &str| {
        let request: serde_json::Value = serde_json::from_str(line).unwrap();
        let s = &request["metric_data"][0]["statistic_values"];
        (s["sample_count"].as_f64().unwrap(), s["maximum"].as_f64().unwrap())
    };
    // Idle: nginx answers and the log is quiet, so 0 is measured (not blind).
    let idle = lines
        .wait_for(Duration::from_secs(15), "an idle period", |l| stats(l).0 >= 6.0)
        .await;
    assert_eq!(stats(&idle).1, 0.0, "{idle}");

    // 4 requests held about 2 s: 8 s of requests over a 4 s period is about 2 in flight.
    let held = nginx.hold_requests(4).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    upstream.release();
    for request in held {
        request.await.unwrap();
    }
    let busy = lines
        .wait_for(Duration::from_secs(15), "the requests in the log", |l| stats(l).1 > 0.0)
        .await;
    let (_, maximum) = stats(&busy);
    assert!((1.0..=4.0).contains(&maximum), "between 1 and 4 in flight: {busy}");
    stop(daemon).await;
}

/// Peak resident memory of a process, in bytes (VmHWM).
fn peak_rss(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse::<u64>().unwrap() * 1024
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_huge_burst_of_log_keeps_memory_bounded_and_sampling_going() {
    let upstream = SlowUpstream::start().await;
    let nginx = Nginx::start(upstream.port).await;
    let log = nginx.dir.path().join("burst.log");
    std::fs::write(&log, b"").unwrap();
    let state = tempfile::tempdir().unwrap();
    let http_port = free_port();
    let dir = tempfile::tempdir().unwrap();
    let config = format!(
        "[nginx]\nstatus_url = \"{}\"\naccess_log = \"{}\"\n[cloudwatch]\nnamespace = \"Test/Log\"\ninstance_id = \"i-burst\"\nperiod = \"1s\"\nsample_interval = \"500ms\"\n[daemon]\nstate_directory = \"{}\"\n[http]\nlisten = \"127.0.0.1:{http_port}\"\n",
        nginx.status_url(),
        log.display(),
        state.path().display()
    );
    let path = write_config(dir.path(), &config);
    let (daemon, _lines) = dry_run_daemon(&path);
    let pid = daemon.id().unwrap();
    wait_until(Duration::from_secs(10), "/metrics", async || {
        metrics(http_port)
            .await
            .contains_key("nginx_backlog_log_lines_parsed_total{}")
    })
    .await;

    // About 65 MB in one write: 500,000 lines, one of them binary garbage every 1,000.
    const LINES: usize = 500_000;
    let good = b"10.0.0.1 - - [22/Nov/2026:20:23:16 +0000] \"GET /a/b/c?x=1 HTTP/1.1\" 200 612 \"https://example.com/\" \"Mozilla/5.0 (X11; Linux x86_64)\"\n";
    let mut burst = Vec::with_capacity(LINES * good.len());
    for i in 0..LINES {
        if i % 1000 == 999 {
            burst.extend_from_slice(b"\x00\x01\x02\xff binary \xfe\n");
        } else {
            burst.extend_from_slice(good);
        }
    }
    let burst_bytes = burst.len() as u64;
    std::fs::OpenOptions::new()
        .append(true)
        .open(&log)
        .unwrap()
        .write_all(&burst)
        .unwrap();
    drop(burst);

    // Sampling goes on while the burst is parsed: no gap between samples much longer than
    // the 500 ms interval.
    let started = tokio::time::Instant::now();
    let mut last_samples = 0.0;
    let mut last_change = started;
    let mut longest_gap = Duration::ZERO;
    loop {
        let seen = metrics(http_port).await;
        let samples = value(&seen, "nginx_backlog_samples_total{result=ok}");
        let now = tokio::time::Instant::now();
        if samples > last_samples {
            longest_gap = longest_gap.max(now - last_change);
            last_samples = samples;
            last_change = now;
        }
        let parsed = value(&seen, "nginx_backlog_log_lines_parsed_total{}");
        let rejected = value(&seen, "nginx_backlog_log_lines_rejected_total{reason=literal_mismatch}")
            + value(&seen, "nginx_backlog_log_lines_rejected_total{reason=too_few_fields}");
        if parsed >= (LINES - LINES / 1000) as f64 && rejected >= (LINES / 1000) as f64 {
            println!(
                "burst of {burst_bytes} bytes parsed in {:?}; longest gap between samples {longest_gap:?}; peak RSS {} bytes",
                now - started,
                peak_rss(pid)
            );
            break;
        }
        assert!(
            now - started < Duration::from_secs(240),
            "burst not parsed in time: {seen:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        longest_gap < Duration::from_secs(3),
        "sampling stalled for {longest_gap:?}"
    );
    assert!(
        peak_rss(pid) < burst_bytes / 2,
        "memory bounded, not the burst's size: {}",
        peak_rss(pid)
    );
    stop(daemon).await;
}

/// Sum of a metric's datapoints in ministack (all periods), and how many periods it has.
async fn published(ministack: &Ministack, metric: &str, since: std::time::SystemTime) -> (f64, usize) {
    let points = ministack
        .datapoints("Test/LogMetrics", metric, &[("InstanceId", "i-logmetrics")], since)
        .await;
    (points.iter().map(|p| p.sum.unwrap_or(0.0)).sum(), points.len())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn configured_log_signals_are_published_beside_pending_requests() {
    let upstream = SlowUpstream::start().await;
    let failing_port = free_port();
    // A second server, the only one logging to timed.log (the scrapes of stub_status go to the
    // default log): 200 on /ok, 503 on anything else.
    let extra = format!(
        "log_format timed '$remote_addr [$time_local] \"$request\" $status $request_time';\n    server {{ listen 127.0.0.1:{failing_port}; access_log timed.log timed; location = /ok {{ return 200; }} location / {{ return 503; }} }}"
    );
    let nginx = Nginx::start_with(upstream.port, &extra).await;
    let ministack = Ministack::start().await;
    let log = nginx.dir.path().join("timed.log");
    let state = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = format!(
        "[nginx]\nstatus_url = \"{}\"\naccess_log = \"{}\"\nlog_format_name = \"timed\"\nnginx_conf = \"{}\"\n[access_log]\nsettle = \"1s\"\npublish = [\"RequestsCompleted\", \"Responses5xx\", \"RequestTimeP99\"]\n[cloudwatch]\nnamespace = \"Test/LogMetrics\"\ninstance_id = \"i-logmetrics\"\nregion = \"us-east-1\"\nperiod = \"1s\"\nsample_interval = \"500ms\"\n[emf]\nenabled = true\noutput = \"{}\"\n[daemon]\nstate_directory = \"{}\"\n",
        nginx.status_url(),
        log.display(),
        nginx.dir.path().join("nginx.conf").display(),
        dir.path().join("emf.log").display(),
        state.path().display()
    );
    let path = write_config(dir.path(), &config);
    let since = std::time::SystemTime::now();
    let daemon = exporter()
        .env("AWS_ENDPOINT_URL", ministack.endpoint())
        .arg("--config")
        .arg(&path)
        .arg("run")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Published at all (and nginx's log reached) before the requests start.
    wait_until(Duration::from_secs(20), "RequestsCompleted published", async || {
        published(&ministack, "RequestsCompleted", since).await.1 > 0
    })
    .await;
    requests(failing_port, "/ok", 5).await;
    requests(failing_port, "/boom", 3).await;
    wait_until(Duration::from_secs(20), "the requests published", async || {
        published(&ministack, "RequestsCompleted", since).await.0 >= 8.0
            && published(&ministack, "Responses5xx", since).await.0 >= 3.0
    })
    .await;
    // A few more periods, so a late duplicate or a stray count would show.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let stderr = stop(daemon).await;

    assert_eq!(
        published(&ministack, "RequestsCompleted", since).await.0,
        8.0,
        "{stderr}"
    );
    assert_eq!(published(&ministack, "Responses5xx", since).await.0, 3.0, "{stderr}");
    // RequestTimeP99 exists only for periods with requests, and nginx's `return` takes 0 s.
    let (p99_sum, p99_periods) = published(&ministack, "RequestTimeP99", since).await;
    assert!((1..=8).contains(&p99_periods), "{p99_periods} periods with requests");
    assert!((0.0..0.1).contains(&p99_sum), "{p99_sum}");
    // The scaling metric kept its meaning and its rhythm: one datapoint per period throughout.
    let pending = ministack
        .datapoints(
            "Test/LogMetrics",
            "PendingRequests",
            &[("InstanceId", "i-logmetrics")],
            since,
        )
        .await;
    let seconds: Vec<i64> = pending.iter().map(|p| p.timestamp.unwrap().secs()).collect();
    let (first, last) = (*seconds.iter().min().unwrap(), *seconds.iter().max().unwrap());
    assert_eq!(
        seconds.len() as i64,
        last - first + 1,
        "a period is missing: {seconds:?}"
    );
    assert!(pending.iter().all(|p| p.maximum == Some(0.0)), "{pending:?}");

    // The EMF output carries the same metrics, each with its own name and unit.
    let emf = std::fs::read_to_string(dir.path().join("emf.log")).unwrap();
    let mut emf_sums: HashMap<String, (f64, String)> = HashMap::new();
    for line in emf.lines() {
        let record: serde_json::Value = serde_json::from_str(line).unwrap();
        let definition = &record["_aws"]["CloudWatchMetrics"][0]["Metrics"][0];
        let name = definition["Name"].as_str().unwrap().to_owned();
        let unit = definition["Unit"].as_str().unwrap().to_owned();
        let values: f64 = record[&name]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .sum();
        let entry = emf_sums.entry(name).or_insert((0.0, unit));
        entry.0 += values;
    }
    assert_eq!(emf_sums["RequestsCompleted"], (8.0, "Count".to_owned()), "{emf}");
    assert_eq!(emf_sums["Responses5xx"], (3.0, "Count".to_owned()));
    assert_eq!(emf_sums["RequestTimeP99"].1, "Seconds");
    assert!(emf_sums.contains_key("PendingRequests"));
}

/// What `promtool check metrics` (Prometheus' own linter, Debian's prometheus package) says
/// about `body`: its exit status and everything it printed.
fn promtool_check_metrics(body: &str) -> (bool, String) {
    let mut child = std::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("promtool is missing: install Debian's prometheus package (scripts/setup.sh does)");
    child.stdin.take().unwrap().write_all(body.as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), said)
}

/// Issue 22: `promtool check metrics` flagged the request-time quantiles ("non-summary
/// metrics should not have \"quantile\" label"). A live /metrics with every signal on (the
/// accept queue, the access log with both durations, a breakdown, every log metric
/// published, EMF) has nothing for it to say, and the OpenMetrics parser reads it too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_with_every_signal_on_pass_promtool() {
    let upstream = SlowUpstream::start().await;
    let full = "log_format full '$remote_addr [$time_local] \"$request\" $status $request_time $upstream_response_time';\n    access_log full.log full;";
    let nginx = Nginx::start_with(upstream.port, full).await;
    let log = nginx.dir.path().join("full.log");
    let state = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let http_port = free_port();
    let config = format!(
        "[nginx]\nstatus_url = \"{}\"\nlisten_ports = [{}]\naccess_log = \"{}\"\nlog_format_name = \"full\"\nnginx_conf = \"{}\"\n\
         [access_log]\nsettle = \"1s\"\nbreakdown = \"status\"\npublish = [\"RequestsCompleted\", \"Responses5xx\", \"Responses499\", \"RequestTimeP50\", \"RequestTimeP90\", \"RequestTimeP99\", \"UpstreamResponseTimeP50\", \"UpstreamResponseTimeP90\", \"UpstreamResponseTimeP99\", \"LogInFlightAverage\", \"LogInFlightPeak\"]\n\
         [cloudwatch]\nnamespace = \"Test/Promtool\"\ninstance_id = \"i-promtool\"\nperiod = \"1s\"\nsample_interval = \"500ms\"\n\
         [emf]\nenabled = true\noutput = \"{}\"\n[daemon]\nstate_directory = \"{}\"\n[http]\nlisten = \"127.0.0.1:{http_port}\"\n",
        nginx.status_url(),
        nginx.port,
        log.display(),
        nginx.dir.path().join("nginx.conf").display(),
        dir.path().join("emf.log").display(),
        state.path().display()
    );
    let path = write_config(dir.path(), &config);
    let (daemon, _lines) = dry_run_daemon(&path);
    wait_until(Duration::from_secs(15), "/metrics", async || {
        metrics(http_port)
            .await
            .contains_key("nginx_backlog_log_lines_parsed_total{}")
    })
    .await;
    // Proxied requests (an upstream time), quick ones (none), and a 404.
    let held = nginx.hold_requests(3).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    upstream.release();
    for request in held {
        request.await.unwrap();
    }
    requests(nginx.port, "/fast", 5).await;
    requests(nginx.port, "/missing", 2).await;
    let url = format!("http://127.0.0.1:{http_port}/metrics");
    let mut openmetrics = String::new();
    wait_until(
        Duration::from_secs(15),
        "a closed period with the proxied requests",
        async || {
            openmetrics = http_get_accepting(&url, Some(PROMETHEUS_ACCEPT))
                .await
                .map(|(_, body)| body)
                .unwrap_or_default();
            let seen = parse_openmetrics(&openmetrics);
            value(&seen, "nginx_backlog_log_requests_completed_total{class=4xx}") >= 2.0
                && openmetrics.contains("nginx_backlog_log_period_completed ")
                && openmetrics.contains("quantile=")
        },
    )
    .await;
    // What `curl -s .../metrics | promtool check metrics` reads (no Accept header: the
    // Prometheus text format), right after.
    let (_, text) = http_get(&url).await.unwrap();
    stop(daemon).await;
    assert!(text.contains("quantile="), "{text}");
    let (clean, said) = promtool_check_metrics(&text);
    assert!(clean && said.is_empty(), "promtool check metrics: {said}\n{text}");
    // The summaries: the newest period's quantiles, the totals over every period.
    let seen = parse_openmetrics(&openmetrics);
    let body = &openmetrics;
    assert!(
        value(&seen, "nginx_backlog_log_upstream_response_time_seconds_count{}") >= 3.0,
        "the 3 proxied requests: {body}"
    );
    assert!(
        value(&seen, "nginx_backlog_log_request_time_seconds_count{}") >= 10.0,
        "{body}"
    );
    assert!(
        value(&seen, "nginx_backlog_log_request_time_seconds{quantile=0.99}") >= 0.0,
        "{body}"
    );
}

/// `check` for a config whose access log is `access_log` (format `timed` of nginx's conf),
/// as `service_user`: exit code and stdout.
async fn check_log(nginx: &Nginx, access_log: &std::path::Path, pending: &str, service_user: &str) -> (i32, String) {
    let dir = tempfile::tempdir().unwrap();
    let config = format!(
        "[nginx]\nstatus_url = \"{}\"\naccess_log = \"{}\"\nlog_format_name = \"timed\"\nnginx_conf = \"{}\"\n\
         [cloudwatch]\nnamespace = \"Test/Check\"\ninstance_id = \"i-check\"\npending = \"{pending}\"\nput_metric_data = false\n\
         [emf]\nenabled = true\n",
        nginx.status_url(),
        access_log.display(),
        nginx.dir.path().join("nginx.conf").display(),
    );
    let path = write_config(dir.path(), &config);
    let (code, stdout, stderr) =
        run_exporter(
            exporter()
                .arg("--config")
                .arg(&path)
                .args(["check", "--service-user", service_user]),
        )
        .await;
    (code, format!("{stdout}{stderr}"))
}

/// The `access log` lines of a check report.
fn log_lines(report: &str) -> Vec<&str> {
    let mut lines = Vec::new();
    let mut in_log = false;
    for line in report.lines() {
        if line.starts_with("access log") {
            in_log = true;
        } else if !line.starts_with("              fix: ") {
            in_log = false;
        }
        if in_log {
            lines.push(line);
        }
    }
    lines
}

/// Issue 22: `check` never looked at the access log. It reads the log's end: the file is
/// there, the daemon's user can read it, its lines are in the format and carry
/// `$request_time`. With `pending = "log_concurrency"` (the log is the metric's only source)
/// a problem fails `check`, naming the file and the fix; otherwise it is a warning.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_reads_the_end_of_the_access_log() {
    use std::os::unix::fs::PermissionsExt;
    let timed = "log_format timed '$remote_addr [$time_local] \"$request\" $status $request_time';\n    access_log timed.log timed;";
    let nginx = Nginx::start_with(free_port(), timed).await;
    // `nobody` (not root, in no group of these files) must be able to enter the directory.
    std::fs::set_permissions(nginx.dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    requests(nginx.port, "/fast", 5).await;
    let timed_log = nginx.dir.path().join("timed.log");
    wait_until(Duration::from_secs(5), "nginx to log the requests", async || {
        std::fs::read_to_string(&timed_log).unwrap_or_default().lines().count() >= 5
    })
    .await;

    // Readable by nobody (root:root 0644, nginx's master opened it), lines in the format.
    let (code, report) = check_log(&nginx, &timed_log, "log_concurrency", "nobody").await;
    assert_eq!(code, 0, "{report}");
    let lines = log_lines(&report);
    assert_eq!(lines.len(), 1, "{report}");
    let ok = lines[0]
        .strip_prefix(&format!("access log    {}: ok (", timed_log.display()))
        .unwrap_or_else(|| panic!("{report}"));
    let (parsed, rest) = ok.split_once(" of the last ").unwrap();
    let (total, rest) = rest.split_once(" lines parse; $request_time on ").unwrap();
    assert!(parsed == total && parsed.parse::<u32>().unwrap() >= 5, "{report}");
    assert_eq!(rest, format!("{parsed} (log_concurrency))"), "{report}");

    let cases: [(&str, std::path::PathBuf, &str); 3] = [
        ("missing", nginx.dir.path().join("missing.log"), "no such file"),
        // nginx's default log is combined: read as `timed`, $remote_addr takes "127.0.0.1 - -"
        // and $request_time the rest of the line.
        ("wrong format", nginx.dir.path().join("access.log"), "0 of the last"),
        (
            "unreadable",
            nginx.dir.path().join("private.log"),
            "nobody cannot read it: root:root mode 0600",
        ),
    ];
    std::fs::copy(&timed_log, &cases[2].1).unwrap();
    std::fs::set_permissions(&cases[2].1, std::fs::Permissions::from_mode(0o600)).unwrap();
    for (case, file, problem) in &cases {
        let shown = file.display();
        // The metric depends on the log: FAILED, exit 1, the file and the fix named.
        let (code, report) = check_log(&nginx, file, "log_concurrency", "nobody").await;
        assert_eq!(code, 1, "{case}: {report}");
        let lines = log_lines(&report);
        let failed = lines
            .iter()
            .position(|line| line.starts_with(&format!("access log    FAILED: {shown}: ")))
            .unwrap_or_else(|| panic!("{case}: {report}"));
        assert!(lines[failed].contains(problem), "{case}: {report}");
        assert!(lines[failed + 1].starts_with("              fix: "), "{case}: {report}");
        assert!(report.contains("check found 1 problem(s)"), "{case}: {report}");
        // It does not (stub_status is the source): a warning, and check passes.
        let (code, report) = check_log(&nginx, file, "in_flight", "nobody").await;
        assert_eq!(code, 0, "{case}: {report}");
        let lines = log_lines(&report);
        assert!(
            lines
                .iter()
                .any(|line| line.starts_with(&format!("access log    warning: {shown}: ")) && line.contains(problem)),
            "{case}: {report}"
        );
        assert!(!report.contains("FAILED"), "{case}: {report}");
    }
    // The wrong format's reasons are named: every line is a bad_request_time.
    let (_, report) = check_log(&nginx, &cases[1].1, "log_concurrency", "nobody").await;
    assert!(report.contains(" bad: bad_request_time="), "{report}");
}
