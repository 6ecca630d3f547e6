//! Long-lived requests on real nginx: idle proxied WebSockets stay in stub_status's Writing
//! for as long as they are open, so every stub_status formula has a floor of one per open
//! WebSocket; `log_concurrency` leaves out status 101 by default, so their closing does not
//! pour hours of `$request_time` into one period.

use nginx_backlog_exporter_test_support as support;

use std::time::Duration;

use serde_json::Value;
use support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const WEBSOCKETS: usize = 5;

/// An upstream that answers every request with 101 Switching Protocols and then holds the
/// connection, silent, until the other side closes it.
async fn websocket_upstream() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let head = read_head(&mut stream).await;
                if head.is_empty() {
                    return;
                }
                let _ = stream
                    .write_all(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n")
                    .await;
                let mut buf = [0u8; 256];
                while matches!(stream.read(&mut buf).await, Ok(n) if n > 0) {}
            });
        }
    });
    port
}

/// Bytes up to the end of an HTTP head (empty if the peer closed first).
async fn read_head(stream: &mut TcpStream) -> Vec<u8> {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return Vec::new(),
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    head
}

/// A WebSocket handshake through nginx; the connection stays open while the stream lives.
async fn open_websocket(port: u16, i: usize) -> TcpStream {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let request = format!(
        "GET /ws/{i} HTTP/1.1\r\nHost: test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let head = read_head(&mut stream).await;
    assert!(
        head.starts_with(b"HTTP/1.1 101 "),
        "nginx passes the upgrade: {}",
        String::from_utf8_lossy(&head)
    );
    stream
}

fn maximum(line: &str) -> f64 {
    let request: Value = serde_json::from_str(line).unwrap();
    request["metric_data"][0]["statistic_values"]["maximum"]
        .as_f64()
        .unwrap()
}

fn min_max(line: &str) -> (f64, f64) {
    let request: Value = serde_json::from_str(line).unwrap();
    let stats = &request["metric_data"][0]["statistic_values"];
    (stats["minimum"].as_f64().unwrap(), stats["maximum"].as_f64().unwrap())
}

/// A counter of `/metrics` (0 before its first increment: counters start absent).
async fn metric(port: u16, name: &str) -> f64 {
    let seen = support::metrics(port).await.expect("/metrics answers 200");
    seen.get(name).copied().unwrap_or(0.0)
}

/// nginx with a server on its own port (returned) proxying WebSockets to an upstream in the
/// test, logged to `timed.log` with `$request_time`.
async fn websocket_nginx(upstream: &SlowUpstream) -> (Nginx, u16) {
    let ws_upstream = websocket_upstream().await;
    let ws_port = free_port();
    let nginx = Nginx::start_with(
        upstream.port,
        &format!(
            "log_format timed '$remote_addr [$time_local] \"$request\" $status $request_time';
             server {{ listen 127.0.0.1:{ws_port}; access_log timed.log timed;
                      location /ws {{ proxy_pass http://127.0.0.1:{ws_upstream}; proxy_http_version 1.1;
                                     proxy_set_header Upgrade $http_upgrade; proxy_set_header Connection \"upgrade\";
                                     proxy_read_timeout 300s; }} }}"
        ),
    )
    .await;
    (nginx, ws_port)
}

/// The `[nginx]` section for `websocket_nginx`, with its access log.
fn nginx_section(nginx: &Nginx, ws_port: u16) -> String {
    format!(
        "[nginx]\nstatus_url = \"{}\"\nlisten_ports = [{}, {ws_port}]\naccess_log = \"{}\"\nlog_format_name = \"timed\"\nnginx_conf = \"{}\"\n",
        nginx.status_url(),
        nginx.port,
        nginx.dir.path().join("timed.log").display(),
        nginx.dir.path().join("nginx.conf").display(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_websockets_hold_stub_status_up_and_log_concurrency_leaves_them_out() {
    let upstream = SlowUpstream::start().await;
    let (nginx, ws_port) = websocket_nginx(&upstream).await;

    let mut websockets = Vec::new();
    for i in 0..WEBSOCKETS {
        websockets.push(open_websocket(ws_port, i).await);
    }
    // Idle, yet each one is a request in Writing; the scrape is the sixth.
    let page = nginx.stub_status().await.unwrap();
    assert!(
        page.contains(&format!("Reading: 0 Writing: {} ", WEBSOCKETS + 1)),
        "{page}"
    );

    let dir = tempfile::tempdir().unwrap();
    let common = nginx_section(&nginx, ws_port);
    let cloudwatch =
        "namespace = \"Test/LongLived\"\ninstance_id = \"i-ws\"\nsample_interval = \"500ms\"\nperiod = \"1s\"\n";
    let daemon = |name: &str, access_log: &str, pending: &str, http_port: u16| {
        let dir = dir.path().join(name);
        std::fs::create_dir(&dir).unwrap();
        let text = format!(
            "{common}[access_log]\n{access_log}\n[cloudwatch]\n{cloudwatch}pending = \"{pending}\"\n[http]\nlisten = \"127.0.0.1:{http_port}\"\n"
        );
        dry_run_daemon(&write_config(&dir, &text))
    };
    let (stub_port, filtered_port, unfiltered_port) = (free_port(), free_port(), free_port());
    let (stub, mut stub_lines) = daemon("stub", "", "in_flight+accept_queue", stub_port);
    let (filtered, mut filtered_lines) = daemon("filtered", "", "log_concurrency", filtered_port);
    let (unfiltered, mut unfiltered_lines) = daemon(
        "unfiltered",
        "concurrency_exclude_status = []",
        "log_concurrency",
        unfiltered_port,
    );

    // The stub_status formula: never below the open WebSockets, for as long as they are open
    // (three whole periods in a row here, none of them with a single request in flight).
    for _ in 0..3 {
        let line = stub_lines
            .wait_for(Duration::from_secs(10), "a period of the stub_status daemon", |_| true)
            .await;
        if stub_lines.seen.len() > 1 {
            assert_eq!(min_max(&line), (WEBSOCKETS as f64, WEBSOCKETS as f64), "{line}");
        }
    }

    // Close them: nginx logs each as a 101 with its whole lifetime (over 1 s each, so more than
    // one in flight per WebSocket over a 1 s period if they were counted).
    drop(websockets);
    let parsed = "nginx_backlog_log_lines_parsed_total{}";
    for port in [filtered_port, unfiltered_port] {
        wait_until(Duration::from_secs(10), "the 101s in the log", async || {
            metric(port, parsed).await >= WEBSOCKETS as f64
        })
        .await;
    }
    let excluded = "nginx_backlog_log_concurrency_excluded_total{}";
    assert_eq!(metric(filtered_port, excluded).await, WEBSOCKETS as f64);
    assert_eq!(metric(unfiltered_port, excluded).await, 0.0);

    let spike = unfiltered_lines
        .wait_for(Duration::from_secs(10), "the WebSockets' time in one period", |l| {
            maximum(l) >= WEBSOCKETS as f64
        })
        .await;
    println!("without the filter, the period the WebSockets closed in: {spike}");
    // Two whole periods after the lines were read, and every one before: all 0.
    for _ in 0..2 {
        filtered_lines
            .wait_for(Duration::from_secs(10), "a period of the filtered daemon", |_| true)
            .await;
    }
    for line in &filtered_lines.seen {
        assert_eq!(maximum(line), 0.0, "101s left out of log_concurrency: {line}");
    }
    // And stub_status is back to nothing in flight.
    stub_lines
        .wait_for(Duration::from_secs(10), "the stub_status floor gone", |l| {
            min_max(l) == (0.0, 0.0)
        })
        .await;

    for daemon in [stub, filtered, unfiltered] {
        stop(daemon).await;
    }
}

const STREAMS: usize = 8;

/// A response's whole body, read on an HTTP/2 stream.
async fn h2_body(response: h2::client::ResponseFuture) -> (u16, String) {
    let response = response.await.expect("an HTTP/2 response");
    let status = response.status().as_u16();
    let mut body = response.into_body();
    let mut text = Vec::new();
    while let Some(chunk) = body.data().await {
        let chunk = chunk.expect("body data");
        let _ = body.flow_control().release_capacity(chunk.len());
        text.extend_from_slice(&chunk);
    }
    (status, String::from_utf8_lossy(&text).into_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multiplexed_http2_streams_count_one_per_request() {
    let upstream = SlowUpstream::start().await;
    let h2_port = free_port();
    // h2c with prior knowledge: nginx 1.22 speaks HTTP/2 without TLS on a `listen ... http2`.
    let nginx = Nginx::start_with(
        upstream.port,
        &format!(
            "server {{ listen 127.0.0.1:{h2_port} http2;
                      location /slow {{ proxy_pass http://127.0.0.1:{}; proxy_read_timeout 300s; }} }}",
            upstream.port
        ),
    )
    .await;

    let tcp = TcpStream::connect(("127.0.0.1", h2_port)).await.unwrap();
    let (client, connection) = h2::client::handshake(tcp).await.expect("HTTP/2 handshake with nginx");
    tokio::spawn(async move {
        let _ = connection.await;
    });
    let mut client = client.ready().await.unwrap();
    let mut responses = Vec::new();
    for i in 0..STREAMS {
        let request = hyper::Request::get(format!("http://127.0.0.1:{h2_port}/slow/h2-{i}"))
            .body(())
            .unwrap();
        let (response, _) = client.send_request(request, true).expect("a stream");
        responses.push(response);
        client = client.ready().await.unwrap();
    }

    // One client connection (plus the scrape's), eight requests in Writing (plus the scrape).
    let expected = "Active connections: 2 \nserver accepts handled requests\n";
    let writing = format!("Reading: 0 Writing: {} ", STREAMS + 1);
    let mut page = String::new();
    wait_until(Duration::from_secs(10), "nginx to hold the eight streams", async || {
        page = nginx.stub_status().await.unwrap_or_default();
        page.contains(&writing)
    })
    .await;
    assert!(page.starts_with(expected), "one HTTP/2 connection: {page}");
    println!("eight streams held on one HTTP/2 connection:\n{page}");

    let dir = tempfile::tempdir().unwrap();
    let http_port = free_port();
    let text = format!(
        "[nginx]\nstatus_url = \"{}\"\nlisten_ports = [{}, {h2_port}]\n\
         [cloudwatch]\nnamespace = \"Test/Http2\"\ninstance_id = \"i-h2\"\nsample_interval = \"500ms\"\nperiod = \"1s\"\n\
         [http]\nlisten = \"127.0.0.1:{http_port}\"\n",
        nginx.status_url(),
        nginx.port,
    );
    let (daemon, mut lines) = dry_run_daemon(&write_config(dir.path(), &text));
    // Two whole periods (the first may have started before the daemon's first sample).
    for _ in 0..3 {
        let line = lines
            .wait_for(Duration::from_secs(10), "a period with the streams held", |_| true)
            .await;
        if lines.seen.len() > 1 {
            assert_eq!(min_max(&line), (STREAMS as f64, STREAMS as f64), "{line}");
        }
    }
    assert_eq!(
        metric(http_port, "nginx_backlog_in_flight_requests{}").await,
        STREAMS as f64
    );

    // Released: every stream is answered on the one connection, and nothing is left in flight.
    upstream.release();
    for response in responses {
        assert_eq!(h2_body(response).await, (200, "ok\n".to_owned()));
    }
    lines
        .wait_for(Duration::from_secs(10), "a period with nothing in flight", |l| {
            min_max(l) == (0.0, 0.0)
        })
        .await;
    stop(daemon).await;
}

/// `check` without CloudWatch (EMF only, so no region or credentials): (exit code, report).
async fn check(dir: &std::path::Path, nginx: &Nginx, ws_port: u16) -> (i32, String) {
    let text = format!(
        "{}[cloudwatch]\nnamespace = \"Test/LongLived\"\ninstance_id = \"i-ws\"\nput_metric_data = false\n[emf]\nenabled = true\n",
        nginx_section(nginx, ws_port)
    );
    let path = write_config(dir, &text);
    let (code, stdout, stderr) =
        run_exporter(
            exporter()
                .arg("--config")
                .arg(&path)
                .args(["check", "--service-user", "root"]),
        )
        .await;
    (code, format!("{stdout}\n{stderr}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_warns_of_the_floor_open_websockets_make_and_of_the_101s_they_leave_in_the_log() {
    let upstream = SlowUpstream::start().await;
    let (nginx, ws_port) = websocket_nginx(&upstream).await;
    let dir = tempfile::tempdir().unwrap();

    // Nothing open: in flight goes down to 0, the log has no long-lived request, no warning.
    let (code, report) = check(dir.path(), &nginx, ws_port).await;
    assert_eq!(code, 0, "{report}");
    assert!(report.contains("in flight     5 reads over 2s: lowest 0 ("), "{report}");
    assert!(report.contains("): no floor"), "{report}");
    assert!(!report.contains("warning"), "{report}");

    // Five idle WebSockets: stub_status never goes below 5 and no other request explains it.
    let mut websockets = Vec::new();
    for i in 0..WEBSOCKETS {
        websockets.push(open_websocket(ws_port, i).await);
    }
    let (code, report) = check(dir.path(), &nginx, ws_port).await;
    println!("with {WEBSOCKETS} WebSockets open:\n{report}");
    assert_eq!(code, 0, "a warning, not a failure: {report}");
    assert!(
        report.contains(&format!(
            "in flight     5 reads over 2s: never below {WEBSOCKETS} (0 other requests started), so at least {WEBSOCKETS} stayed open the whole time"
        )),
        "{report}"
    );
    assert!(
        report.contains(&format!(
            "warning: in-flight floor of {WEBSOCKETS}: long-lived connections"
        )),
        "{report}"
    );
    assert!(
        report.contains("concurrency_max_request_time"),
        "points to the way out: {report}"
    );
    // Nothing in the log while they are open (check's own reading of the log's end says only
    // that it is empty).
    assert!(
        !report.contains("ended with 101") && !report.contains("long-lived requests"),
        "nothing in the log while they are open: {report}"
    );

    // Closed: the floor is gone, and the log now shows their 101s.
    drop(websockets);
    let log = nginx.dir.path().join("timed.log");
    wait_until(Duration::from_secs(10), "the 101s in the log", async || {
        std::fs::read_to_string(&log)
            .unwrap_or_default()
            .matches("\" 101 ")
            .count()
            == WEBSOCKETS
    })
    .await;
    let (code, report) = check(dir.path(), &nginx, ws_port).await;
    println!("after they closed:\n{report}");
    assert_eq!(code, 0, "{report}");
    assert!(report.contains("): no floor"), "{report}");
    assert!(!report.contains("in-flight floor"), "{report}");
    assert!(
        report.contains(&format!(
            "access log    {}: of the last {WEBSOCKETS} requests, {WEBSOCKETS} ended with 101 and 0 ran longer than 1m",
            log.display()
        )),
        "{report}"
    );
    assert!(
        report.contains("warning: long-lived requests: while open they count in stub_status"),
        "{report}"
    );
}
