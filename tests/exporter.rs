//! Black-box tests of the exporter binary against real nginx, ministack and an IMDSv2
//! emulation, all on loopback.

use nginx_backlog_exporter_test_support as support;

use std::time::{Duration, SystemTime};

use serde_json::Value;
use support::*;

fn config(status_url: &str, extra_cloudwatch: &str) -> String {
    format!(
        "[nginx]\nstatus_url = \"{status_url}\"\n\n[cloudwatch]\nnamespace = \"Test/Backlog\"\nsample_interval = \"500ms\"\nperiod = \"1s\"\n{extra_cloudwatch}\n"
    )
}

fn dry_run_lines(stdout: &str) -> Vec<Value> {
    stdout
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}")))
        .collect()
}

fn stat(datum: &Value, name: &str) -> f64 {
    datum["statistic_values"][name]
        .as_f64()
        .unwrap_or_else(|| panic!("no {name} in {datum}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn once_dry_run_reports_the_held_requests_in_flight() {
    let upstream = SlowUpstream::start().await;
    let nginx = Nginx::start(upstream.port).await;
    let dir = tempfile::tempdir().unwrap();
    let path = write_config(dir.path(), &config(&nginx.status_url(), "instance_id = \"i-dryrun\""));

    let held = nginx.hold_requests(4).await;
    let (code, stdout, stderr) =
        run_exporter(
            exporter()
                .arg("--config")
                .arg(&path)
                .args(["once", "--window", "1500ms", "--dry-run"]),
        )
        .await;
    assert_eq!(code, 0, "stderr: {stderr}");
    let lines = dry_run_lines(&stdout);
    assert_eq!(lines.len(), 1, "exactly one request: {stdout}");
    let request = &lines[0];
    assert_eq!(request["namespace"], "Test/Backlog");
    let data = request["metric_data"].as_array().unwrap();
    assert_eq!(data.len(), 1);
    let datum = &data[0];
    assert_eq!(datum["metric_name"], "PendingRequests");
    assert_eq!(
        datum["dimensions"],
        serde_json::json!([{"name": "InstanceId", "value": "i-dryrun"}])
    );
    assert_eq!(datum["unit"], "Count");
    assert_eq!(datum["storage_resolution"], 1);
    assert_eq!(stat(datum, "sample_count"), 3.0, "1.5 s window at 500 ms");
    assert_eq!((stat(datum, "minimum"), stat(datum, "maximum")), (4.0, 4.0), "{datum}");
    assert_eq!(stat(datum, "sum"), 12.0);
    let timestamp = datum["timestamp"].as_str().unwrap();
    let parsed = humantime::parse_rfc3339(timestamp).expect("RFC 3339 timestamp");
    let age = SystemTime::now().duration_since(parsed).unwrap();
    assert!(
        age < Duration::from_secs(30),
        "timestamp {timestamp} is the window's start"
    );
    assert!(timestamp.ends_with(".000Z"), "aligned to the second: {timestamp}");

    upstream.release();
    for request in held {
        assert_eq!(request.await.unwrap().map(|(status, _)| status), Some(200));
    }
    let (code, stdout, _) =
        run_exporter(
            exporter()
                .arg("--config")
                .arg(&path)
                .args(["once", "--window", "500ms", "--dry-run"]),
        )
        .await;
    assert_eq!(code, 0);
    let datum = &dry_run_lines(&stdout)[0]["metric_data"][0];
    assert_eq!(
        stat(datum, "maximum"),
        0.0,
        "released requests are no longer in flight (own scrape not counted)"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn once_publishes_to_cloudwatch_with_identity_from_imds() {
    let upstream = SlowUpstream::start().await;
    let nginx = Nginx::start(upstream.port).await;
    let ministack = Ministack::start().await;
    let imds = Imds::start("i-0imds000000000001", "eu-west-1").await;
    let dir = tempfile::tempdir().unwrap();
    let path = write_config(dir.path(), &config(&nginx.status_url(), ""));

    let _held = nginx.hold_requests(3).await;
    let started = SystemTime::now();
    let (code, stdout, stderr) = run_exporter(
        exporter()
            .env("AWS_ENDPOINT_URL", ministack.endpoint())
            .env("AWS_EC2_METADATA_SERVICE_ENDPOINT", imds.endpoint())
            .arg("--config")
            .arg(&path)
            .args(["once", "--window", "1s"]),
    )
    .await;
    assert_eq!(code, 0, "stdout: {stdout}\nstderr: {stderr}");
    assert!(
        imds.requests.load(std::sync::atomic::Ordering::Relaxed) >= 2,
        "region and instance id came from IMDS"
    );

    let dims = [("InstanceId", "i-0imds000000000001")];
    let points = ministack
        .datapoints_in("eu-west-1", "Test/Backlog", "PendingRequests", &dims, started)
        .await;
    assert_eq!(points.len(), 1, "{points:?}");
    let point = &points[0];
    assert_eq!(point.sample_count, Some(2.0));
    assert_eq!(point.sum, Some(6.0));
    assert_eq!(point.minimum, Some(3.0));
    assert_eq!(point.maximum, Some(3.0));
    let elsewhere = ministack
        .datapoints_in("us-east-1", "Test/Backlog", "PendingRequests", &dims, started)
        .await;
    assert!(
        elsewhere.is_empty(),
        "published to the region IMDS named, not a default"
    );
    upstream.release();
}

/// CloudWatch over HTTPS, as in production (every other test talks plain HTTP to ministack):
/// nginx terminates TLS in front of ministack with a certificate made for the test. Trusted
/// through SSL_CERT_FILE, `once` publishes through the crate's rustls-on-ring client; with
/// another certificate trusted instead, the handshake is refused and nothing is published.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn once_publishes_over_https_and_refuses_an_untrusted_certificate() {
    let upstream = SlowUpstream::start().await;
    let ministack = Ministack::start().await;
    let dir = tempfile::tempdir().unwrap();
    let write_certificate = |name: &str| {
        let certified = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).unwrap();
        let cert = dir.path().join(format!("{name}.pem"));
        let key = dir.path().join(format!("{name}.key"));
        std::fs::write(&cert, certified.cert.pem()).unwrap();
        std::fs::write(&key, certified.key_pair.serialize_pem()).unwrap();
        (cert, key)
    };
    let (cert, key) = write_certificate("server");
    let (other_cert, _) = write_certificate("other");
    let tls_port = free_port();
    let nginx = Nginx::start_with(
        upstream.port,
        &format!(
            "server {{ listen 127.0.0.1:{tls_port} ssl; ssl_certificate {}; ssl_certificate_key {}; \
             location / {{ proxy_pass {}; }} }}",
            cert.display(),
            key.display(),
            ministack.endpoint()
        ),
    )
    .await;
    let path = write_config(
        dir.path(),
        &config(
            &nginx.status_url(),
            "instance_id = \"i-0tls0000000000001\"\nregion = \"us-east-1\"",
        ),
    );
    let endpoint = format!("https://127.0.0.1:{tls_port}");
    let dims = [("InstanceId", "i-0tls0000000000001")];

    // `once` over HTTPS, trusting only the certificate in `trusted`.
    let once_trusting = |trusted: &std::path::Path| {
        let mut command = exporter();
        command
            .env("AWS_ENDPOINT_URL", &endpoint)
            .env("SSL_CERT_FILE", trusted)
            .arg("--config")
            .arg(&path)
            .args(["once", "--window", "500ms"]);
        command
    };

    let started = SystemTime::now();
    let (code, stdout, stderr) = run_exporter(&mut once_trusting(&other_cert)).await;
    assert_ne!(
        code, 0,
        "an untrusted certificate must fail: stdout: {stdout}\nstderr: {stderr}"
    );
    assert!(stderr.contains("invalid peer certificate"), "says why: {stderr}");
    let points = ministack
        .datapoints("Test/Backlog", "PendingRequests", &dims, started)
        .await;
    assert!(
        points.is_empty(),
        "nothing published past a refused handshake: {points:?}"
    );

    let (code, stdout, stderr) = run_exporter(&mut once_trusting(&cert)).await;
    assert_eq!(code, 0, "stdout: {stdout}\nstderr: {stderr}");
    let points = ministack
        .datapoints("Test/Backlog", "PendingRequests", &dims, started)
        .await;
    assert_eq!(points.len(), 1, "{points:?}");
    assert_eq!(points[0].maximum, Some(0.0), "an idle nginx: nothing pending");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn daemon_publishes_every_period_and_flushes_on_sigterm() {
    let upstream = SlowUpstream::start().await;
    let nginx = Nginx::start(upstream.port).await;
    let ministack = Ministack::start().await;
    let dir = tempfile::tempdir().unwrap();
    let fleet =
        "region = \"us-east-1\"\ninstance_id = \"i-daemon\"\n[cloudwatch.fleet_dimensions]\nService = \"nginx-test\"\n";
    let path = write_config(dir.path(), &config(&nginx.status_url(), fleet));

    let _held = nginx.hold_requests(2).await;
    let started = SystemTime::now();
    let daemon = exporter()
        .env("AWS_ENDPOINT_URL", ministack.endpoint())
        .arg("--config")
        .arg(&path)
        .arg("run")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let instance = [("InstanceId", "i-daemon")];
    wait_until(Duration::from_secs(20), "three periods published", async || {
        ministack
            .datapoints("Test/Backlog", "PendingRequests", &instance, started)
            .await
            .len()
            >= 3
    })
    .await;
    let stderr = stop(daemon).await;
    assert!(stderr.contains("shutting down"), "{stderr}");

    let points = ministack
        .datapoints("Test/Backlog", "PendingRequests", &instance, started)
        .await;
    assert!(points.len() >= 3, "{points:?}");
    for point in &points {
        assert_eq!(
            (point.minimum, point.maximum),
            (Some(2.0), Some(2.0)),
            "every sample saw the 2 held requests: {point:?}"
        );
        let count = point.sample_count.unwrap();
        assert!(
            (1.0..=2.0).contains(&count),
            "at most 2 samples per 1 s period: {point:?}"
        );
        assert_eq!(point.sum, Some(2.0 * count));
    }
    let fleet_points = ministack
        .datapoints("Test/Backlog", "PendingRequests", &[("Service", "nginx-test")], started)
        .await;
    assert_eq!(
        fleet_points.iter().map(|p| (p.timestamp, p.sum)).collect::<Vec<_>>(),
        points.iter().map(|p| (p.timestamp, p.sum)).collect::<Vec<_>>(),
        "the fleet series carries the same datapoints"
    );
    upstream.release();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nginx_down_publishes_nothing_and_once_fails() {
    let upstream = SlowUpstream::start().await;
    let mut nginx = Nginx::start(upstream.port).await;
    let status_url = nginx.status_url();
    nginx.stop();
    let dir = tempfile::tempdir().unwrap();
    let path = write_config(dir.path(), &config(&status_url, "instance_id = \"i-down\""));

    let (code, stdout, stderr) =
        run_exporter(
            exporter()
                .arg("--config")
                .arg(&path)
                .args(["once", "--window", "1s", "--dry-run"]),
        )
        .await;
    assert_eq!(code, 1, "stderr: {stderr}");
    assert_eq!(stdout, "", "nothing published");
    assert_eq!(stderr.lines().count(), 1, "one-line reason: {stderr}");
    assert!(
        stderr.contains("nginx could not be read") && stderr.contains("published nothing"),
        "{stderr}"
    );

    // The daemon keeps running, publishes nothing for blind periods, and says so once.
    let daemon = exporter()
        .arg("--config")
        .arg(&path)
        .args(["run", "--dry-run"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    tokio::time::sleep(Duration::from_millis(3500)).await;
    terminate(&daemon);
    let output = daemon.wait_with_output().await.unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert_eq!(String::from_utf8_lossy(&output.stdout), "", "no datapoint while blind");
    assert_eq!(
        stderr.matches("cannot read stub_status").count(),
        1,
        "failure logged once: {stderr}"
    );
    assert_eq!(
        stderr.matches("publishing nothing for it").count(),
        1,
        "blind period warned once: {stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_that_is_not_stub_status_is_an_error_not_a_zero() {
    let upstream = SlowUpstream::start().await;
    let nginx = Nginx::start(upstream.port).await;
    let dir = tempfile::tempdir().unwrap();
    for (path, expected) in [("not_status", "not a stub_status page"), ("missing", "HTTP 404")] {
        let url = format!("http://127.0.0.1:{}/{path}", nginx.port);
        let config_path = write_config(dir.path(), &config(&url, "instance_id = \"i-html\""));
        let (code, stdout, stderr) =
            run_exporter(
                exporter()
                    .arg("--config")
                    .arg(&config_path)
                    .args(["once", "--window", "500ms", "--dry-run"]),
            )
            .await;
        assert_eq!(code, 1, "{stderr}");
        assert_eq!(stdout, "");
        assert!(stderr.contains(expected), "{stderr}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn once_off_ec2_fails_fast_with_advice() {
    let upstream = SlowUpstream::start().await;
    let nginx = Nginx::start(upstream.port).await;
    let dir = tempfile::tempdir().unwrap();
    let path = write_config(dir.path(), &config(&nginx.status_url(), ""));
    // The support environment points IMDS at a closed port: what "not on EC2" looks like.
    let (code, stdout, stderr) = run_exporter(exporter().arg("--config").arg(&path).arg("once")).await;
    assert_eq!(code, 1);
    assert_eq!(stdout, "");
    assert!(stderr.contains("set cloudwatch.instance_id"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_reports_the_plan_or_what_is_missing() {
    let upstream = SlowUpstream::start().await;
    let mut nginx = Nginx::start(upstream.port).await;
    // With STS: "credentials ok" only once GetCallerIdentity has accepted them.
    let ministack = Ministack::start_with(&[("SERVICES", "cloudwatch,sts")]).await;
    let imds = Imds::start("i-0check", "us-west-2").await;
    let dir = tempfile::tempdir().unwrap();
    let path = write_config(
        dir.path(),
        &config(
            &nginx.status_url(),
            "[cloudwatch.fleet_dimensions]\nService = \"nginx\"",
        ),
    );
    let check = || {
        let mut command = exporter();
        command
            .env("AWS_ENDPOINT_URL", ministack.endpoint())
            .env("AWS_EC2_METADATA_SERVICE_ENDPOINT", imds.endpoint())
            .arg("--config")
            .arg(&path)
            .arg("check");
        command
    };
    let (code, stdout, stderr) = run_exporter(&mut check()).await;
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    for expected in [
        "stub_status   http://127.0.0.1:",
        "region        us-west-2 (from IMDSv2)",
        "instance id   i-0check (from IMDSv2)",
        // ministack's account is 000000000000 and its default keys are the account's root.
        "credentials   ok: arn:aws:iam::000000000000:root (access key test..., verified by STS GetCallerIdentity)",
        "every 1s: one PutMetricData to Test/Backlog/PendingRequests {InstanceId=i-0check}, a statistic set of 2 samples 500ms apart",
        "plus the fleet datum {Service=nginx}",
        // 30 days of 1 s periods = 2,592,000 calls = $25.92; two custom metrics = $0.60.
        "about 2592000 calls/month = $25.92/month in API calls + 2 custom metric(s) = $0.60/month",
    ] {
        assert!(stdout.contains(expected), "missing {expected:?} in:\n{stdout}");
    }

    nginx.stop();
    let (code, stdout, stderr) = run_exporter(&mut check()).await;
    assert_eq!(code, 1);
    assert!(stdout.contains("stub_status   FAILED: cannot reach"), "{stdout}");
    assert!(
        stdout.contains("accept queue  FAILED: nothing listens on ports"),
        "{stdout}"
    );
    assert!(stderr.contains("check found 2 problem"), "{stderr}");
}

/// `once` without credentials says what each provider of the chain said, one line each, and
/// no SDK Debug dump; it publishes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn once_without_credentials_says_what_each_provider_said() {
    let upstream = SlowUpstream::start().await;
    let nginx = Nginx::start(upstream.port).await;
    let dir = tempfile::tempdir().unwrap();
    let path = write_config(
        dir.path(),
        &config(
            &nginx.status_url(),
            "instance_id = \"i-nocreds\"\nregion = \"us-east-1\"",
        ),
    );
    let started = std::time::Instant::now();
    let (code, stdout, stderr) = run_exporter(
        exporter()
            .env_remove("AWS_ACCESS_KEY_ID")
            .env_remove("AWS_SECRET_ACCESS_KEY")
            // Nothing listens here either: the publish fails before anything is sent.
            .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
            .arg("--config")
            .arg(&path)
            .args(["once", "--window", "1s"]),
    )
    .await;
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(stdout, "");
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(
        lines[0],
        "nginx-backlog-exporter: publishing to CloudWatch failed: no AWS credentials; the chain tried",
        "{stderr} (after {:?})",
        started.elapsed()
    );
    let providers: Vec<&str> = lines[1..]
        .iter()
        .map(|l| l.trim_start().split(':').next().unwrap())
        .collect();
    assert_eq!(
        providers,
        [
            "Environment",
            "Profile",
            "WebIdentityToken",
            "EcsContainer",
            "Ec2InstanceMetadata"
        ],
        "{stderr}"
    );
    assert!(lines[1].ends_with("environment variable not set"), "{stderr}");
    assert!(
        !stderr.contains("DispatchFailure(") && !stderr.contains("the credential provider was not enabled"),
        "{stderr}"
    );
}
