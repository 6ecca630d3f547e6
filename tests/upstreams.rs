//! Requests waiting at each upstream, measured against the truth on Debian's nginx: two
//! upstream groups served by backends on loopback that hold requests until the test releases
//! them, `api` with a `keepalive` pool and `web` without. The truth is what the test holds
//! (and stub_status's Writing agrees); the count is sources/upstreams' dump.
//!
//! Run with `--nocapture` to see the figures each step measured.

use nginx_backlog_exporter_test_support as support;

use std::time::Duration;

use nginx_backlog_exporter::sources::upstreams::{ConnectionCounts, UpstreamCounts, UpstreamMap, UpstreamReader};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// An HTTP/1.1 backend: `/fast` answers at once, `/hold` answers when released (keeping the connection open unless
/// nginx asked to close it), `/stream` sends a chunk of body every 100 ms until released,
/// `/stall` sends its headers at once and its body when released.
struct Backend {
    port: u16,
    release: watch::Sender<u64>,
}

impl Backend {
    async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let (release, released) = watch::channel(0u64);
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve(stream, released.clone()));
            }
        });
        Backend { port, release }
    }

    /// Answer every request held now.
    fn release(&self) {
        self.release.send_modify(|generation| *generation += 1);
    }
}

async fn serve(mut stream: TcpStream, mut released: watch::Receiver<u64>) {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let head_end = loop {
            if let Some(at) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
                break at + 4;
            }
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buffer.extend_from_slice(&chunk[..n]),
            }
        };
        let head = String::from_utf8_lossy(&buffer[..head_end]).to_ascii_lowercase();
        buffer.drain(..head_end);
        let generation = *released.borrow_and_update();
        let until_released = async |released: &mut watch::Receiver<u64>| {
            let _ = released.wait_for(|now| *now > generation).await;
        };
        let close = head.contains("connection: close") || head.lines().next().is_some_and(|l| l.ends_with("http/1.0"));
        let path = head.split_whitespace().nth(1).unwrap_or_default().to_string();
        if path.contains("/stream") {
            let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n").await;
            loop {
                tokio::select! {
                    _ = until_released(&mut released) => return,
                    _ = tokio::time::sleep(Duration::from_millis(100)) => {
                        if stream.write_all(b"chunk\n").await.is_err() { return }
                    }
                }
            }
        }
        if path.contains("/stall") {
            let _ = stream
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\n")
                .await;
            until_released(&mut released).await;
            let _ = stream.write_all(b"ok\n").await;
            return;
        }
        if !path.contains("/fast") {
            until_released(&mut released).await;
        }
        // Read the request body before answering, as a server must.
        let body_length: usize = head
            .lines()
            .find_map(|line| line.strip_prefix("content-length:"))
            .and_then(|value| value.trim().parse().ok())
            .unwrap_or(0);
        while buffer.len() < body_length {
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buffer.extend_from_slice(&chunk[..n]),
            }
        }
        buffer.drain(..body_length);
        let connection = if close { "close" } else { "keep-alive" };
        let response = format!("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: {connection}\r\n\r\nok\n");
        if stream.write_all(response.as_bytes()).await.is_err() || close {
            return;
        }
    }
}

/// nginx's worker's uid (the socket owner of its upstream connections).
fn worker_uid(nginx: &support::Nginx) -> u32 {
    let worker = nginx.worker_pids()[0];
    let status = std::fs::read_to_string(format!("/proc/{worker}/status")).unwrap();
    let line = status.lines().find(|line| line.starts_with("Uid:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

fn counts(waiting: u32, idle: u32) -> ConnectionCounts {
    ConnectionCounts { waiting, idle }
}

struct Setup {
    nginx: support::Nginx,
    api: Backend,
    web: Backend,
    map: UpstreamMap,
    reader: UpstreamReader,
    /// The port of the server block that passes to `api` and `web`.
    proxy_port: u16,
    _slow: support::SlowUpstream,
}

impl Setup {
    async fn start() -> Self {
        let api = Backend::start().await;
        let web = Backend::start().await;
        let slow = support::SlowUpstream::start().await;
        let extra = format!(
            "upstream api {{\n        server 127.0.0.1:{api};\n        keepalive 16;\n    }}\n    upstream web {{ server 127.0.0.1:{web}; }}\n    server {{\n        listen 127.0.0.1:{{PORT}};\n        proxy_read_timeout 300s;\n        location /api/ {{\n            proxy_pass http://api;\n            proxy_http_version 1.1;\n            proxy_set_header Connection \"\";\n        }}\n        location /web/ {{ proxy_pass http://web; }}\n        location /upload/ {{\n            proxy_pass http://web;\n            proxy_request_buffering off;\n        }}\n    }}\n",
            api = api.port,
            web = web.port,
        );
        let port = support::free_port();
        let nginx = support::Nginx::start_with(slow.port, &extra.replace("{PORT}", &port.to_string())).await;
        let mut map = UpstreamMap::from_conf(&nginx.dir.path().join("nginx.conf")).unwrap();
        let problems = map.resolve().await;
        assert!(problems.is_empty(), "{problems:?}");
        let names: Vec<&str> = map.names().collect();
        let slow_group = format!("127.0.0.1:{}", slow.port);
        assert_eq!(names, ["api", "web", slow_group.as_str()]);
        let reader = UpstreamReader::open(Some(worker_uid(&nginx))).unwrap();
        Setup {
            nginx,
            api,
            web,
            map,
            reader,
            proxy_port: port,
            _slow: slow,
        }
    }

    /// Start `n` requests to `path`; they stay in flight until their backend answers.
    fn requests(&self, path: &str, n: usize) -> Vec<tokio::task::JoinHandle<Option<(u16, String)>>> {
        (0..n)
            .map(|i| {
                let url = format!("http://127.0.0.1:{}{path}{i}", self.proxy_port);
                tokio::spawn(async move { support::http_get(&url).await })
            })
            .collect()
    }

    /// Wait until stub_status's Writing is `in_flight` (+ 1, the probe itself).
    async fn wait_in_flight(&self, in_flight: usize) {
        let expected = format!("Writing: {} ", in_flight + 1);
        support::wait_until(Duration::from_secs(10), &expected, async || {
            self.nginx
                .stub_status()
                .await
                .is_some_and(|page| page.contains(&expected))
        })
        .await;
    }

    /// One sample, printed with what it stands for.
    fn sample(&mut self, what: &str) -> UpstreamCounts {
        let counts = self.reader.sample(&self.map).unwrap();
        let groups: Vec<String> = counts
            .groups
            .iter()
            .map(|(name, c)| format!("{name}: {} waiting, {} idle", c.waiting, c.idle))
            .collect();
        eprintln!(
            "{what}: {} | unclaimed {:?} shared {:?}",
            groups.join("; "),
            counts.unclaimed,
            counts.shared
        );
        counts
    }
}

async fn finish(handles: Vec<tokio::task::JoinHandle<Option<(u16, String)>>>) -> Vec<u16> {
    let mut statuses = Vec::new();
    for handle in handles {
        statuses.push(handle.await.unwrap().map_or(0, |(status, _)| status));
    }
    statuses
}

/// The measurement, repeated: six requests warm `api`'s keepalive pool, then three
/// are held at `api` (on pooled connections) and two at `web` (fresh connections each).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counts_equal_the_held_requests_at_each_group() {
    let mut setup = Setup::start().await;
    let nothing = setup.sample("before any request");
    assert_eq!(nothing.group("api"), Some(counts(0, 0)));
    assert_eq!(nothing.group("web"), Some(counts(0, 0)));

    // Warm the pool: six at once, held so that each response comes well after its request.
    let warm = setup.requests("/api/hold/warm", 6);
    setup.wait_in_flight(6).await;
    let warming = setup.sample("6 held at api (fresh connections)");
    assert_eq!(warming.group("api"), Some(counts(6, 0)));
    setup.api.release();
    assert_eq!(finish(warm).await, [200; 6]);
    setup.wait_in_flight(0).await;
    let pooled = setup.sample("after the warm-up (6 pooled keep-alive connections)");
    assert_eq!(
        pooled.group("api"),
        Some(counts(0, 6)),
        "idle keep-alive connections are not waiting"
    );

    tokio::time::sleep(Duration::from_millis(300)).await;
    let api_held = setup.requests("/api/hold/", 3);
    let web_held = setup.requests("/web/hold/", 2);
    setup.wait_in_flight(5).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let held = setup.sample("3 held at api on pooled connections, 2 at web");
    assert_eq!(held.group("api"), Some(counts(3, 3)));
    assert_eq!(held.group("web"), Some(counts(2, 0)));
    assert_eq!((held.unclaimed, held.shared), (counts(0, 0), counts(0, 0)));

    // The truth, again, after two more seconds of holding: the clocks only grow.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let later = setup.sample("2 s later");
    assert_eq!(later.group("api"), Some(counts(3, 3)));
    assert_eq!(later.group("web"), Some(counts(2, 0)));

    setup.web.release();
    assert_eq!(finish(web_held).await, [200; 2]);
    let web_done = setup.sample("web released");
    assert_eq!(
        web_done.group("web"),
        Some(counts(0, 0)),
        "no keepalive: nginx closed them"
    );
    assert_eq!(web_done.group("api"), Some(counts(3, 3)));
    setup.api.release();
    assert_eq!(finish(api_held).await, [200; 3]);
    setup.wait_in_flight(0).await;
    let done = setup.sample("all released");
    assert_eq!(done.group("api"), Some(counts(0, 6)));

    // Another process of the host with connections to the same address is counted only
    // when the owner is not filtered: here the test itself (root, nginx's worker is not).
    let mut stranger = TcpStream::connect(("127.0.0.1", setup.api.port)).await.unwrap();
    stranger
        .write_all(b"GET /hold/stranger HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let filtered = setup.sample("a connection of another uid to api's address");
    assert_eq!(filtered.group("api"), Some(counts(0, 6)));
    let mut everyone = UpstreamReader::open(None).unwrap();
    let unfiltered = everyone.sample(&setup.map).unwrap();
    eprintln!("the same, no owner filter: api {:?}", unfiltered.group("api"));
    assert_eq!(unfiltered.group("api"), Some(counts(1, 6)));
    drop(stranger);

    // A fast upstream: each answer arrives within the kernel's clock tick of its request
    // (tcp_info's clocks count jiffies: 4 ms at HZ=250), so a pooled connection's two clocks
    // tie. Idle all the same.
    for i in 0..20 {
        let url = format!("http://127.0.0.1:{}/api/fast/{i}", setup.proxy_port);
        assert_eq!(support::http_get(&url).await.map(|(status, _)| status), Some(200));
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    let fast = setup.sample("after 20 fast answers on the pool");
    assert_eq!(
        fast.group("api").map(|c| c.waiting),
        Some(0),
        "idle pooled connections after fast answers"
    );
}

/// A response being streamed is not waiting (data arrives after the request went out); an
/// upstream that sent its headers and then stalls is not seen as waiting either (the miss the
/// docs state).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streamed_and_stalled_responses_are_not_waiting() {
    let mut setup = Setup::start().await;
    let streaming = setup.requests("/web/stream/", 2);
    let stalled = setup.requests("/api/stall/", 1);
    let held = setup.requests("/api/hold/", 1);
    setup.wait_in_flight(4).await;
    tokio::time::sleep(Duration::from_millis(700)).await;
    let sample = setup.sample("2 streaming from web; at api 1 stalled after headers, 1 held");
    assert_eq!(
        sample.group("web"),
        Some(counts(0, 2)),
        "streaming responses are not waiting"
    );
    assert_eq!(
        sample.group("api"),
        Some(counts(1, 1)),
        "only the held request waits; the stalled one is missed"
    );

    // A request body still being sent (proxy_request_buffering off: nginx passes each piece
    // on as the client sends it, every 100 ms): the request is in flight, and counted.
    let port = setup.proxy_port;
    let (body_sent, body_done) = tokio::sync::oneshot::channel();
    let upload = tokio::spawn(async move {
        let mut client = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        let pieces = 15;
        let head = format!(
            "POST /upload/hold HTTP/1.0\r\nHost: x\r\nContent-Length: {}\r\n\r\n",
            pieces * 1024
        );
        client.write_all(head.as_bytes()).await.unwrap();
        for _ in 0..pieces {
            client.write_all(&[b'x'; 1024]).await.unwrap();
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let _ = body_sent.send(());
        let mut response = Vec::new();
        client.read_to_end(&mut response).await.unwrap();
        String::from_utf8_lossy(&response).into_owned()
    });
    setup.wait_in_flight(5).await;
    tokio::time::sleep(Duration::from_millis(700)).await;
    let sample = setup.sample("+ 1 request body being sent to web, 100 ms apart");
    assert_eq!(
        sample.group("web"),
        Some(counts(1, 2)),
        "the upload is waiting, the streams are not"
    );
    body_done.await.unwrap();
    setup.web.release();
    setup.api.release();
    finish(streaming).await;
    assert_eq!(finish(stalled).await, [200]);
    assert_eq!(finish(held).await, [200]);
    let response = upload.await.unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
}

fn corpus(path: &str) -> std::path::PathBuf {
    support::project_root().join("tests/fixtures/real-world").join(path)
}

/// Public real-world configurations (tests/fixtures/real-world): each file's groups, as its
/// text spells them. Stream upstreams (APISIX's, ingress-nginx's, Kong's stream listener) are
/// not HTTP groups; commented-out passes (nginx's own sample) are nothing.
#[test]
fn real_world_configurations() {
    let discourse = UpstreamMap::from_conf(&corpus("discourse/nginx.sample.conf")).unwrap();
    let groups = discourse.groups();
    assert_eq!(groups.len(), 1);
    assert_eq!(
        (groups[0].name, groups[0].place.line, groups[0].block),
        ("discourse", 6, true)
    );
    assert_eq!(
        (groups[0].unix_sockets, groups[0].addresses.len()),
        (2, 0),
        "thin's unix sockets: nothing a TCP dump can see"
    );

    let kong = UpstreamMap::from_conf(&corpus("kong/nginx.conf")).unwrap();
    let groups = kong.groups();
    assert_eq!(groups.len(), 1, "{groups:?}");
    assert_eq!(groups[0].name, "kong_upstream");
    assert_eq!(
        (groups[0].place.file.clone(), groups[0].place.line),
        (corpus("kong/nginx-kong.conf"), 56),
        "http's block, not the stream one in nginx-kong-stream.conf"
    );
    assert_eq!(groups[0].addresses, ["0.0.0.1:80".parse().unwrap()]);
    assert_eq!(groups[0].lua_balancer.map(|place| place.line), Some(62));
    assert!(kong.dynamic_passes().is_empty(), "its proxy_pass names kong_upstream");

    // h5bp's folder holds only the files it includes before its log_format: not walkable.
    for stream_only in [
        "apisix/nginx.conf",
        "ingress-nginx/nginx.conf",
        "nginx/nginx.conf",
        "npm/nginx.conf",
    ] {
        let map = UpstreamMap::from_conf(&corpus(stream_only)).unwrap_or_else(|error| panic!("{stream_only}: {error}"));
        assert_eq!(map.names().count(), 0, "{stream_only}");
    }
}

/// `nginx -T` output read in place of nginx.conf gives the same groups, their files and lines
/// as nginx printed them (includes resolved inside the dump).
#[test]
fn nginx_dash_t_output_reads_like_the_files() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join("conf.d")).unwrap();
    std::fs::write(
        root.join("nginx.conf"),
        format!(
            "pid {0}/nginx.pid;\nerror_log {0}/error.log;\nevents {{}}\nhttp {{\n    access_log off;\n    include conf.d/*.conf;\n    server {{\n        listen 127.0.0.1:{1};\n        location / {{ proxy_pass http://api; }}\n        location /b/ {{ proxy_pass http://127.0.0.1:9001/b/; }}\n    }}\n}}\n",
            root.display(),
            support::free_port()
        ),
    )
    .unwrap();
    std::fs::write(
        root.join("conf.d/api.conf"),
        "# the api service\nupstream api {\n    server 127.0.0.1:9000;\n}\n",
    )
    .unwrap();
    let output = std::process::Command::new(support::NGINX)
        .arg("-T")
        .arg("-p")
        .arg(root)
        .arg("-c")
        .arg(root.join("nginx.conf"))
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let dump = root.join("nginx-T.txt");
    std::fs::write(&dump, &output.stdout).unwrap();
    let summary = |map: &UpstreamMap| -> Vec<(String, std::path::PathBuf, usize, Vec<std::net::SocketAddr>)> {
        map.groups()
            .into_iter()
            .map(|group| {
                (
                    group.name.to_string(),
                    group.place.file.clone(),
                    group.place.line,
                    group.addresses,
                )
            })
            .collect()
    };
    let from_files = UpstreamMap::from_conf(&root.join("nginx.conf")).unwrap();
    let from_dump = UpstreamMap::from_conf(&dump).unwrap();
    let expected = vec![
        (
            "api".to_string(),
            root.join("conf.d/api.conf"),
            2,
            vec!["127.0.0.1:9000".parse().unwrap()],
        ),
        (
            "127.0.0.1:9001".to_string(),
            root.join("nginx.conf"),
            10,
            vec!["127.0.0.1:9001".parse().unwrap()],
        ),
    ];
    assert_eq!(summary(&from_files), expected);
    assert_eq!(
        summary(&from_dump),
        expected,
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );
}
