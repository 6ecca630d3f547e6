//! stub_status where production proxies put it: on a unix socket, and behind TLS (with and
//! without a client certificate). Real nginx on loopback, certificates made by the test.

use nginx_backlog_exporter_test_support as support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;
use support::*;
use tokio::io::AsyncWriteExt;

/// A daemon config (dry run) reading stub_status at `status_url`, with nginx's TCP port as
/// the accept-queue port: a unix-socket URL has no port of its own to default to.
fn config(status_url: &str, nginx: &Nginx, nginx_extra: &str) -> String {
    format!(
        "[nginx]\nstatus_url = \"{status_url}\"\ntimeout = \"300ms\"\nlisten_ports = [{}]\n{nginx_extra}\n\
         [cloudwatch]\nnamespace = \"Test/Transports\"\ninstance_id = \"i-transport\"\nsample_interval = \"500ms\"\nperiod = \"1s\"\n",
        nginx.port
    )
}

/// The same, for `check` without CloudWatch: EMF only, so no region or credentials are needed.
fn check_config(status_url: &str, nginx: &Nginx, nginx_extra: &str) -> String {
    config(status_url, nginx, nginx_extra).replace(
        "period = \"1s\"\n",
        "period = \"1s\"\nput_metric_data = false\n[emf]\nenabled = true\n",
    )
}

async fn check(dir: &Path, text: &str) -> (i32, String) {
    let path = write_config(dir, text);
    let (code, stdout, stderr) = run_exporter(exporter().arg("--config").arg(&path).arg("check")).await;
    (code, format!("{stdout}\n{stderr}"))
}

/// (minimum, maximum) of a dry-run JSON line's first datum.
fn min_max(line: &str) -> (f64, f64) {
    let request: Value = serde_json::from_str(line).unwrap();
    let stats = &request["metric_data"][0]["statistic_values"];
    (stats["minimum"].as_f64().unwrap(), stats["maximum"].as_f64().unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unix_socket_status_counts_requests_and_reads_stopped_workers_as_saturated() {
    let upstream = SlowUpstream::start().await;
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("status.sock");
    let nginx = Nginx::start_with(
        upstream.port,
        &format!(
            "server {{ listen unix:{}; location = /nginx_status {{ stub_status; }} }}",
            socket.display()
        ),
    )
    .await;
    let status_url = format!("unix:{}:/nginx_status", socket.display());

    let (code, report) = check(dir.path(), &check_config(&status_url, &nginx, "")).await;
    assert_eq!(code, 0, "{report}");
    assert!(
        report.contains(&format!(
            "stub_status   {status_url}: ok (active 1, reading 0, writing 1, waiting 0; in flight now 0)"
        )),
        "{report}"
    );
    let (code, report) = check(
        dir.path(),
        &check_config(
            &format!("unix:{}:/nginx_status", dir.path().join("missing.sock").display()),
            &nginx,
            "",
        ),
    )
    .await;
    assert_eq!(code, 1, "{report}");
    assert!(report.contains("stub_status   FAILED: cannot reach unix:"), "{report}");
    assert!(report.contains("No such file or directory"), "says why: {report}");

    let path = write_config(dir.path(), &config(&status_url, &nginx, ""));
    let _held = nginx.hold_requests(2).await;
    let (daemon, mut lines) = dry_run_daemon(&path);
    lines
        .wait_for(Duration::from_secs(10), "a period with the 2 held requests", |l| {
            min_max(l) == (2.0, 2.0)
        })
        .await;

    // Workers stopped: the scrape over the socket hangs too; the TCP port's accept queue fills.
    const QUEUED: usize = 6;
    nginx.signal_workers("STOP");
    let mut queued = Vec::new();
    for i in 0..QUEUED {
        let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", nginx.port)).await.unwrap();
        let request = format!("GET /slow/queued-{i} HTTP/1.1\r\nHost: test\r\n\r\n");
        stream.write_all(request.as_bytes()).await.unwrap();
        queued.push(stream);
    }
    let saturated = lines
        .wait_for(Duration::from_secs(10), "a saturated period", |l| {
            min_max(l).0 >= QUEUED as f64
        })
        .await;
    assert!(min_max(&saturated).0 >= QUEUED as f64, "{saturated}");

    nginx.signal_workers("CONT");
    let expected = (2 + QUEUED) as f64;
    lines
        .wait_for(Duration::from_secs(10), "the true in-flight count again", |l| {
            min_max(l) == (expected, expected)
        })
        .await;
    upstream.release();
    stop(daemon).await;
    drop(queued);
}

/// A self-signed certificate for 127.0.0.1, written as (cert.pem, key.pem) into `dir`.
fn certificate(dir: &Path, name: &str) -> (PathBuf, PathBuf) {
    let certified = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).unwrap();
    let cert = dir.join(format!("{name}.pem"));
    let key = dir.join(format!("{name}.key"));
    std::fs::write(&cert, certified.cert.pem()).unwrap();
    std::fs::write(&key, certified.key_pair.serialize_pem()).unwrap();
    (cert, key)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_status_is_read_with_the_configured_ca_and_client_certificate() {
    let upstream = SlowUpstream::start().await;
    let dir = tempfile::tempdir().unwrap();
    let (server_cert, server_key) = certificate(dir.path(), "server");
    let (other_cert, _) = certificate(dir.path(), "other");
    let (client_cert, client_key) = certificate(dir.path(), "client");
    let (tls_port, mtls_port) = (free_port(), free_port());
    let nginx = Nginx::start_with(
        upstream.port,
        &format!(
            "ssl_certificate {cert}; ssl_certificate_key {key};
             server {{ listen 127.0.0.1:{tls_port} ssl; location = /nginx_status {{ stub_status; }} }}
             server {{ listen 127.0.0.1:{mtls_port} ssl; ssl_verify_client on; ssl_client_certificate {client};
                      location = /nginx_status {{ stub_status; }} }}",
            cert = server_cert.display(),
            key = server_key.display(),
            client = client_cert.display(),
        ),
    )
    .await;
    let url = format!("https://127.0.0.1:{tls_port}/nginx_status");
    let ca = format!("ca_file = \"{}\"", server_cert.display());

    let (code, report) = check(dir.path(), &check_config(&url, &nginx, &ca)).await;
    assert_eq!(code, 0, "{report}");
    assert!(
        report.contains(&format!(
            "stub_status   {url}: ok (active 1, reading 0, writing 1, waiting 0"
        )),
        "{report}"
    );

    // Another CA: the handshake is refused, and check says so.
    let other = format!("ca_file = \"{}\"", other_cert.display());
    let (code, report) = check(dir.path(), &check_config(&url, &nginx, &other)).await;
    assert_eq!(code, 1, "{report}");
    assert!(
        report.contains("stub_status   FAILED: cannot reach https://"),
        "{report}"
    );
    assert!(report.contains("invalid peer certificate"), "{report}");

    // A server that wants a client certificate: refused without one, read with one.
    let mtls_url = format!("https://127.0.0.1:{mtls_port}/nginx_status");
    let (code, report) = check(dir.path(), &check_config(&mtls_url, &nginx, &ca)).await;
    assert_eq!(code, 1, "{report}");
    assert!(
        report.contains("answered HTTP 400"),
        "nginx refuses a client without a certificate: {report}"
    );
    let with_client = format!(
        "{ca}\nclient_cert = \"{}\"\nclient_key = \"{}\"",
        client_cert.display(),
        client_key.display()
    );
    let (code, report) = check(dir.path(), &check_config(&mtls_url, &nginx, &with_client)).await;
    assert_eq!(code, 0, "{report}");
    assert!(report.contains(&format!("stub_status   {mtls_url}: ok")), "{report}");

    // The daemon over TLS counts held requests like over plain HTTP.
    let path = write_config(dir.path(), &config(&url, &nginx, &ca));
    let _held = nginx.hold_requests(3).await;
    let (daemon, mut lines) = dry_run_daemon(&path);
    lines
        .wait_for(Duration::from_secs(10), "a period with the 3 held requests", |l| {
            min_max(l) == (3.0, 3.0)
        })
        .await;
    upstream.release();
    stop(daemon).await;
}
