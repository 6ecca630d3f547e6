//! PendingRequests stays true when nginx is saturated (stub_status unanswered), and the
//! local outputs (/metrics, /healthz, EMF) say what happened. Real nginx on loopback.

use nginx_backlog_exporter_test_support as support;

use std::time::Duration;

use serde_json::Value;
use support::*;
use tokio::io::AsyncWriteExt;

fn config(nginx: &Nginx, http_port: u16, extra: &str) -> String {
    format!(
        "[nginx]\nstatus_url = \"{}\"\ntimeout = \"300ms\"\nlisten_ports = [{}]\n\n[cloudwatch]\nnamespace = \"Test/Saturation\"\ninstance_id = \"i-saturated\"\nsample_interval = \"500ms\"\nperiod = \"1s\"\n{extra}\n[http]\nlisten = \"127.0.0.1:{http_port}\"\n",
        nginx.status_url(),
        nginx.port
    )
}

/// (minimum, maximum) of a dry-run JSON line's first datum.
fn min_max(line: &str) -> (f64, f64) {
    let request: Value = serde_json::from_str(line).unwrap();
    let stats = &request["metric_data"][0]["statistic_values"];
    (stats["minimum"].as_f64().unwrap(), stats["maximum"].as_f64().unwrap())
}

/// Open a connection and send a request for the slow location without waiting for an answer.
async fn send_request(port: u16, i: usize) -> tokio::net::TcpStream {
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let request = format!("GET /slow/queued-{i} HTTP/1.1\r\nHost: test\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    stream
}

async fn metrics(port: u16) -> std::collections::HashMap<String, f64> {
    support::metrics(port).await.expect("/metrics answers 200")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopped_workers_read_as_the_accept_queue_not_as_silence() {
    let upstream = SlowUpstream::start().await;
    let nginx = Nginx::start(upstream.port).await;
    let http_port = free_port();
    let dir = tempfile::tempdir().unwrap();
    let path = write_config(dir.path(), &config(&nginx, http_port, ""));
    let _held = nginx.hold_requests(2).await;

    let (daemon, mut lines) = dry_run_daemon(&path);
    lines
        .wait_for(Duration::from_secs(10), "a period with the 2 held requests", |l| {
            min_max(l) == (2.0, 2.0)
        })
        .await;

    // Workers stopped: stub_status hangs; new connections wait in the kernel's accept queue.
    const QUEUED: usize = 6;
    nginx.signal_workers("STOP");
    let mut queued = Vec::new();
    for i in 0..QUEUED {
        queued.push(send_request(nginx.port, i).await);
    }
    let saturated = lines
        .wait_for(Duration::from_secs(10), "a saturated period", |l| {
            min_max(l).0 >= QUEUED as f64
        })
        .await;
    let (minimum, _) = min_max(&saturated);
    assert!(
        minimum >= QUEUED as f64,
        "published at least the {QUEUED} queued connections: {saturated}"
    );
    let seen = metrics(http_port).await;
    assert!(seen["nginx_backlog_samples_total{result=saturated}"] >= 1.0, "{seen:?}");
    assert_eq!(seen["nginx_backlog_saturated{}"], 1.0);
    assert!(seen["nginx_backlog_accept_queue_depth{}"] >= QUEUED as f64, "{seen:?}");

    // Workers resumed: the queued requests are accepted and held by the upstream, so the
    // true in-flight count is the 2 from before plus the queued ones.
    nginx.signal_workers("CONT");
    let expected = (2 + QUEUED) as f64;
    lines
        .wait_for(Duration::from_secs(10), "the true in-flight count again", |l| {
            min_max(l) == (expected, expected)
        })
        .await;
    assert_eq!(metrics(http_port).await["nginx_backlog_saturated{}"], 0.0);

    upstream.release();
    stop(daemon).await;
    drop(queued);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn worker_connections_exhaustion_is_reported_as_dropped_connections() {
    let upstream = SlowUpstream::start().await;
    // 16 connections: the listening socket, the clients and their upstream connections.
    let nginx = Nginx::start_full(upstream.port, 16, "").await;
    let http_port = free_port();
    let dir = tempfile::tempdir().unwrap();
    let path = write_config(dir.path(), &config(&nginx, http_port, ""));
    let daemon = exporter()
        .arg("--config")
        .arg(&path)
        .args(["run", "--dry-run"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    wait_until(Duration::from_secs(10), "the first sample", async || {
        http_get(&format!("http://127.0.0.1:{http_port}/metrics"))
            .await
            .is_some_and(|(_, body)| body.contains("nginx_backlog_samples_total{result=\"ok\"} 1"))
    })
    .await;

    // Far more held requests than worker_connections allows.
    let mut clients = Vec::new();
    for i in 0..40 {
        clients.push(send_request(nginx.port, i).await);
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    upstream.release();
    drop(clients);
    let mut seen = Default::default();
    wait_until(Duration::from_secs(15), "dropped connections counted", async || {
        seen = metrics(http_port).await;
        seen["nginx_backlog_dropped_connections_total{}"] > 0.0
    })
    .await;
    println!(
        "dropped connections reported: {}",
        seen["nginx_backlog_dropped_connections_total{}"]
    );
    let errors = std::fs::read_to_string(nginx.dir.path().join("error.log")).unwrap();
    assert!(
        errors.contains("worker_connections are not enough"),
        "nginx really ran out: {errors}"
    );
    stop(daemon).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_and_healthz_and_emf_describe_the_same_samples() {
    let upstream = SlowUpstream::start().await;
    let mut nginx = Nginx::start(upstream.port).await;
    let http_port = free_port();
    let dir = tempfile::tempdir().unwrap();
    let emf_path = dir.path().join("emf.log");
    let emf = format!(
        "put_metric_data = false\n[cloudwatch.fleet_dimensions]\nService = \"nginx\"\n[emf]\nenabled = true\noutput = \"{}\"\n",
        emf_path.display()
    );
    let path = write_config(dir.path(), &config(&nginx, http_port, &emf));
    let _held = nginx.hold_requests(3).await;
    let daemon = exporter()
        .arg("--config")
        .arg(&path)
        .arg("run")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let healthz = format!("http://127.0.0.1:{http_port}/healthz");
    wait_until(Duration::from_secs(10), "healthy", async || {
        http_get(&healthz).await.is_some_and(|(status, _)| status == 200)
    })
    .await;
    wait_until(Duration::from_secs(10), "two EMF lines", async || {
        std::fs::read_to_string(&emf_path).is_ok_and(|text| text.lines().count() >= 2)
    })
    .await;

    let seen = metrics(http_port).await;
    for (name, expected) in [
        ("nginx_backlog_pending_requests{}", 3.0),
        ("nginx_backlog_in_flight_requests{}", 3.0),
        ("nginx_backlog_writing_connections{}", 4.0),
        ("nginx_backlog_accept_queue_depth{}", 0.0),
        ("nginx_backlog_saturated{}", 0.0),
        ("nginx_backlog_publish_calls_total{result=failed}", 0.0),
    ] {
        assert_eq!(seen.get(name), Some(&expected), "{name} in {seen:?}");
    }
    for name in [
        "nginx_backlog_samples_total{result=ok}",
        "nginx_backlog_emf_lines_written_total{}",
        "nginx_backlog_last_publish_age_seconds{}",
        "nginx_backlog_listen_overflows_total{}",
        "nginx_backlog_requests_per_second{}",
        "nginx_backlog_waiting_connections{}",
    ] {
        assert!(seen.contains_key(name), "{name} missing from {seen:?}");
    }

    let text = std::fs::read_to_string(&emf_path).unwrap();
    for line in text.lines() {
        let root: Value = serde_json::from_str(line).unwrap();
        let timestamp = root["_aws"]["Timestamp"].as_u64().expect("Timestamp in epoch ms");
        assert_eq!(timestamp % 1000, 0, "aligned to the 1 s period");
        let directive = &root["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(directive["Namespace"], "Test/Saturation");
        assert_eq!(
            directive["Dimensions"],
            serde_json::json!([["InstanceId"], ["Service"]])
        );
        assert_eq!(
            directive["Metrics"],
            serde_json::json!([{"Name": "PendingRequests", "Unit": "Count", "StorageResolution": 1}])
        );
        assert_eq!(
            (root["InstanceId"].as_str(), root["Service"].as_str()),
            (Some("i-saturated"), Some("nginx"))
        );
        let values = root["PendingRequests"].as_array().expect("values array");
        assert!(!values.is_empty() && values.len() <= 2, "1 s period at 500 ms: {line}");
        assert!(values.iter().all(|v| v.as_f64() == Some(3.0)), "{line}");
    }

    // nginx gone: /healthz says why, with a 503.
    nginx.stop();
    wait_until(Duration::from_secs(15), "unhealthy", async || {
        http_get(&healthz)
            .await
            .is_some_and(|(status, body)| status == 503 && body.starts_with("no successful sample"))
    })
    .await;
    upstream.release();
    stop(daemon).await;
}
