//! Test support: real components on loopback. Debian's nginx with a test-owned prefix,
//! a slow upstream the test holds and releases, the ministack CloudWatch-API server, and
//! an IMDSv2 emulation. Every process is killed when its guard drops.

pub mod fault_proxy;

use std::collections::HashMap;
use std::net::{SocketAddr, TcpListener as StdListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use aws_sdk_cloudwatch::types::{Datapoint, Dimension, Statistic};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

pub const NGINX: &str = "/usr/sbin/nginx";

/// A port nothing listens on right now.
pub fn free_port() -> u16 {
    StdListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Poll `probe` until it is true or `limit` passes.
pub async fn wait_until(limit: Duration, what: &str, mut probe: impl AsyncFnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + limit;
    while !probe().await {
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// An upstream that accepts requests and answers them only when released.
pub struct SlowUpstream {
    pub port: u16,
    release: watch::Sender<bool>,
}

impl SlowUpstream {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let (release, released) = watch::channel(false);
        tokio::spawn(async move {
            loop {
                let Ok((mut stream, _)) = listener.accept().await else {
                    return;
                };
                let mut released = released.clone();
                tokio::spawn(async move {
                    let mut head = Vec::new();
                    let mut buf = [0u8; 1024];
                    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                        match stream.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => head.extend_from_slice(&buf[..n]),
                        }
                    }
                    let _ = released.wait_for(|r| *r).await;
                    let _ = stream
                        .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n")
                        .await;
                });
            }
        });
        SlowUpstream { port, release }
    }

    /// Answer every held request (and all later ones at once).
    pub fn release(&self) {
        let _ = self.release.send(true);
    }
}

/// Debian's nginx, started by the test with its own prefix, config and port.
/// It runs daemonized, as in production (nginx refuses a binary upgrade otherwise), and is
/// found through its pid file.
pub struct Nginx {
    pub port: u16,
    pub dir: tempfile::TempDir,
    running: bool,
}

impl Nginx {
    pub async fn start(upstream_port: u16) -> Self {
        Self::start_with(upstream_port, "").await
    }

    pub async fn start_with(upstream_port: u16, extra_http: &str) -> Self {
        Self::start_full(upstream_port, 256, extra_http).await
    }

    pub async fn start_full(upstream_port: u16, worker_connections: u32, extra_http: &str) -> Self {
        Self::start_workers(upstream_port, 1, worker_connections, extra_http).await
    }

    /// With `workers` worker processes (a log rotation is reopened by each of them).
    pub async fn start_workers(upstream_port: u16, workers: u32, worker_connections: u32, extra_http: &str) -> Self {
        assert!(
            Path::new(NGINX).exists(),
            "{NGINX} is missing: install Debian's nginx-light (scripts/test.sh does)"
        );
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let prefix = dir.path().display();
        let conf = format!(
            r#"
daemon on;
master_process on;
worker_processes {workers};
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections {worker_connections}; }}
http {{
    access_log {prefix}/access.log;
    client_body_temp_path {prefix}/client_body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    {extra_http}
    server {{
        listen 127.0.0.1:{port};
        location = /nginx_status {{ stub_status; }}
        location = /not_status {{ return 200 "<html><body>hello</body></html>\n"; }}
        location = /fast {{ return 200 "fast\n"; }}
        location /req- {{ return 200 "ok\n"; }}
        location /slow {{
            proxy_pass http://127.0.0.1:{upstream_port};
            proxy_read_timeout 300s;
        }}
    }}
}}
"#
        );
        std::fs::write(dir.path().join("nginx.conf"), conf).unwrap();
        let mut nginx = Nginx {
            port,
            dir,
            running: false,
        };
        nginx.launch().await;
        nginx
    }

    async fn launch(&mut self) {
        let output = Command::new(NGINX)
            .arg("-p")
            .arg(self.dir.path())
            .arg("-c")
            .arg(self.dir.path().join("nginx.conf"))
            .stdin(Stdio::null())
            .output()
            .expect("start nginx");
        assert!(
            output.status.success(),
            "nginx did not start: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        self.running = true;
        let url = self.status_url();
        wait_until(Duration::from_secs(10), "nginx to answer", async || {
            http_get(&url).await.is_some_and(|(status, _)| status == 200)
        })
        .await;
    }

    /// Stop and start again with the same prefix, config and port (counters reset).
    pub async fn restart(&mut self) {
        self.stop();
        self.launch().await;
    }

    /// Start a stopped nginx again.
    pub async fn start_again(&mut self) {
        assert!(!self.running, "nginx is running");
        self.launch().await;
    }

    pub fn status_url(&self) -> String {
        format!("http://127.0.0.1:{}/nginx_status", self.port)
    }

    /// What nginx wrote to its error log so far (for failure messages).
    pub fn error_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("error.log")).unwrap_or_default()
    }

    /// Current stub_status page, if nginx answers.
    pub async fn stub_status(&self) -> Option<String> {
        http_get(&self.status_url()).await.map(|(_, body)| body)
    }

    /// Open `n` requests to the slow upstream; they stay in flight until released.
    pub async fn hold_requests(&self, n: usize) -> Vec<tokio::task::JoinHandle<Option<(u16, String)>>> {
        let handles = (0..n)
            .map(|i| {
                let url = format!("http://127.0.0.1:{}/slow/{i}", self.port);
                tokio::spawn(async move { http_get(&url).await })
            })
            .collect();
        // Wait until nginx counts them: Writing = n held + 1 for the probe itself.
        let expected = format!("Writing: {} ", n + 1);
        wait_until(Duration::from_secs(10), "nginx to hold the requests", async || {
            self.stub_status().await.is_some_and(|page| page.contains(&expected))
        })
        .await;
        handles
    }

    /// Fast shutdown (SIGTERM): the master takes its workers down before it exits.
    pub fn stop(&mut self) {
        if !std::mem::take(&mut self.running) {
            return;
        }
        if let Some(master) = self.master_pid() {
            let _ = Command::new("kill").arg("-TERM").arg(master.to_string()).status();
            let gone = Path::new("/proc").join(master.to_string());
            let deadline = std::time::Instant::now() + Duration::from_secs(10);
            while gone.exists() && std::time::Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }

    /// The current master's pid, from its pid file (it changes in a binary upgrade).
    pub fn master_pid(&self) -> Option<u32> {
        std::fs::read_to_string(self.dir.path().join("nginx.pid"))
            .ok()?
            .trim()
            .parse()
            .ok()
    }

    /// The worker processes' pids (children of the master).
    pub fn worker_pids(&self) -> Vec<u32> {
        let master = self.master_pid().expect("nginx running");
        let children = std::fs::read_to_string(format!("/proc/{master}/task/{master}/children")).unwrap_or_default();
        children.split_whitespace().filter_map(|pid| pid.parse().ok()).collect()
    }

    /// Send `signal` (e.g. "STOP", "CONT") to every worker.
    pub fn signal_workers(&self, signal: &str) {
        let workers = self.worker_pids();
        assert!(!workers.is_empty(), "nginx has no workers");
        for pid in workers {
            let status = Command::new("kill")
                .arg(format!("-{signal}"))
                .arg(pid.to_string())
                .status()
                .unwrap();
            assert!(status.success(), "kill -{signal} {pid}");
        }
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The `Accept` header of Prometheus' scrapes (2.x): OpenMetrics first.
pub const PROMETHEUS_ACCEPT: &str = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

/// The exporter's `/metrics` on `port` as Prometheus scrapes it (OpenMetrics), parsed
/// ({"family{labels}": value}); `None` when it does not answer 200.
pub async fn metrics(port: u16) -> Option<HashMap<String, f64>> {
    let (status, body) =
        http_get_accepting(&format!("http://127.0.0.1:{port}/metrics"), Some(PROMETHEUS_ACCEPT)).await?;
    (status == 200).then(|| parse_openmetrics(&body))
}

/// One value of `/metrics` (NaN when the exporter or the series is missing).
pub async fn metric(port: u16, name: &str) -> f64 {
    metrics(port)
        .await
        .and_then(|seen| seen.get(name).copied())
        .unwrap_or(f64::NAN)
}

pub const LOGROTATE: &str = "/usr/sbin/logrotate";

/// What Debian's /etc/logrotate.d/nginx says, for [`logrotate`] (plus the test's own lines).
pub const DEBIAN_NGINX_LOGROTATE: &str = "    daily
    missingok
    rotate 14
    compress
    delaycompress
    notifempty
";

/// Run logrotate once (`-f`) on `log` with `directives` (e.g. [`DEBIAN_NGINX_LOGROTATE`] and
/// a postrotate), keeping its config and state file in `dir`.
pub fn logrotate(dir: &Path, log: &Path, directives: &str) {
    assert!(
        Path::new(LOGROTATE).exists(),
        "{LOGROTATE} is missing: install it with `apt-get install -y logrotate` (CI does)"
    );
    let config = format!("{} {{\n{directives}\n}}\n", log.display());
    let config_path = dir.join("logrotate.conf");
    std::fs::write(&config_path, config).unwrap();
    let output = Command::new(LOGROTATE)
        .arg("-s")
        .arg(dir.join("logrotate.state"))
        .arg("-f")
        .arg(&config_path)
        .output()
        .unwrap_or_else(|error| panic!("cannot run {LOGROTATE}: {error}"));
    assert!(
        output.status.success(),
        "logrotate failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A minimal HTTP/1.0 GET over a fresh connection: (status, body).
pub async fn http_get(url: &str) -> Option<(u16, String)> {
    http_get_accepting(url, None).await
}

/// [`http_get`] with an `Accept` header.
pub async fn http_get_accepting(url: &str, accept: Option<&str>) -> Option<(u16, String)> {
    let rest = url.strip_prefix("http://")?;
    let (authority, path) = rest
        .split_once('/')
        .map_or((rest, "/".to_owned()), |(a, p)| (a, format!("/{p}")));
    let mut stream = TcpStream::connect(authority).await.ok()?;
    let accept = accept.map_or_else(String::new, |accept| format!("Accept: {accept}\r\n"));
    let request = format!("GET {path} HTTP/1.0\r\nHost: {authority}\r\n{accept}\r\n");
    stream.write_all(request.as_bytes()).await.ok()?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.ok()?;
    let text = String::from_utf8_lossy(&response).into_owned();
    let status = text.split_whitespace().nth(1)?.parse().ok()?;
    let body = text.split_once("\r\n\r\n").map_or(String::new(), |(_, b)| b.to_owned());
    Some((status, body))
}

/// The ministack CloudWatch-API server, on its own port.
pub struct Ministack {
    pub port: u16,
    child: Child,
}

/// The SDK's HTTP client for loopback `http://` endpoints. The crate leaves out the SDK's
/// default HTTPS client (it brings aws-lc-rs), so a test's own SDK client needs one.
pub fn plain_http_client() -> aws_smithy_runtime_api::client::http::SharedHttpClient {
    aws_smithy_http_client::Builder::new().build_http()
}

pub fn ministack_bin() -> PathBuf {
    if let Ok(path) = std::env::var("MINISTACK_BIN") {
        return PathBuf::from(path);
    }
    project_root().join(".venv/bin/ministack")
}

impl Ministack {
    pub async fn start() -> Self {
        Ministack::start_with(&[]).await
    }

    /// With more of ministack's environment: `SERVICES` (default `cloudwatch`), `AUTH`, ...
    pub async fn start_with(env: &[(&str, &str)]) -> Self {
        let bin = ministack_bin();
        assert!(
            bin.exists(),
            "{} is missing: run scripts/test.sh (it installs ministack in .venv) or set MINISTACK_BIN",
            bin.display()
        );
        let port = free_port();
        let child = Command::new(&bin)
            .env("BIND_HOST", "127.0.0.1")
            .env("GATEWAY_PORT", port.to_string())
            .env("SERVICES", "cloudwatch")
            .env("LOG_LEVEL", "WARNING")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start ministack");
        let ministack = Ministack { port, child };
        let url = format!("http://127.0.0.1:{port}/");
        wait_until(Duration::from_secs(30), "ministack to answer", async || {
            http_get(&url).await.is_some()
        })
        .await;
        ministack
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// A CloudWatch client for reading back what the exporter published.
    pub fn client(&self, region: &str) -> aws_sdk_cloudwatch::Client {
        let config = aws_sdk_cloudwatch::Config::builder()
            .behavior_version(aws_sdk_cloudwatch::config::BehaviorVersion::latest())
            .http_client(plain_http_client())
            .region(aws_sdk_cloudwatch::config::Region::new(region.to_owned()))
            .endpoint_url(self.endpoint())
            .credentials_provider(aws_sdk_cloudwatch::config::Credentials::new(
                "test", "test", None, None, "test",
            ))
            .build();
        aws_sdk_cloudwatch::Client::from_conf(config)
    }

    /// An SDK config for any service's client on this server (ministack serves them all on
    /// one port), signed with `key`/`secret` (`test`/`test` is the root under `AUTH=true`).
    pub fn sdk_config(&self, region: &str, key: &str, secret: &str) -> aws_config::SdkConfig {
        aws_config::SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .http_client(plain_http_client())
            .region(aws_config::Region::new(region.to_owned()))
            .endpoint_url(self.endpoint())
            .credentials_provider(aws_credential_types::provider::SharedCredentialsProvider::new(
                aws_credential_types::Credentials::new(key, secret, None, None, "test"),
            ))
            .build()
    }

    /// Every 1-second datapoint of `namespace/metric{dims}` in us-east-1 from `since` on, oldest first.
    pub async fn datapoints(
        &self,
        namespace: &str,
        metric: &str,
        dims: &[(&str, &str)],
        since: SystemTime,
    ) -> Vec<Datapoint> {
        self.datapoints_in("us-east-1", namespace, metric, dims, since).await
    }

    /// The same in `region` (ministack keeps each region's metrics apart, as CloudWatch does).
    pub async fn datapoints_in(
        &self,
        region: &str,
        namespace: &str,
        metric: &str,
        dims: &[(&str, &str)],
        since: SystemTime,
    ) -> Vec<Datapoint> {
        let output = self
            .client(region)
            .get_metric_statistics()
            .namespace(namespace)
            .metric_name(metric)
            .set_dimensions(Some(
                dims.iter()
                    .map(|(n, v)| Dimension::builder().name(*n).value(*v).build())
                    .collect(),
            ))
            .start_time(aws_smithy_types::DateTime::from(since - Duration::from_secs(3600)))
            .end_time(aws_smithy_types::DateTime::from(
                SystemTime::now() + Duration::from_secs(3600),
            ))
            .period(1)
            .statistics(Statistic::SampleCount)
            .statistics(Statistic::Sum)
            .statistics(Statistic::Minimum)
            .statistics(Statistic::Maximum)
            .send()
            .await
            .expect("GetMetricStatistics");
        let mut points = output.datapoints.unwrap_or_default();
        points.retain(|p| {
            p.timestamp
                .is_some_and(|t| SystemTime::try_from(t).unwrap() >= period_floor(since))
        });
        points.sort_by_key(|p| p.timestamp.map(|t| t.secs()));
        points
    }

    /// PutMetricData of `averages` as PendingRequests{InstanceId=instance_id} in us-east-1,
    /// one 10 s statistic set of 10 samples each from `start` (Unix seconds), at high
    /// resolution: a series for `simulate --from-cloudwatch` to read back.
    pub async fn put_series(&self, namespace: &str, instance_id: &str, start: u64, averages: &[f64]) {
        use aws_sdk_cloudwatch::types::{MetricDatum, StatisticSet};
        let client = self.client("us-east-1");
        for (chunk, values) in averages.chunks(20).enumerate() {
            let data = values.iter().enumerate().map(|(i, average)| {
                let at = start + 10 * (chunk * 20 + i) as u64;
                MetricDatum::builder()
                    .metric_name("PendingRequests")
                    .dimensions(Dimension::builder().name("InstanceId").value(instance_id).build())
                    .timestamp(aws_smithy_types::DateTime::from_secs(at as i64))
                    .statistic_values(
                        StatisticSet::builder()
                            .sample_count(10.0)
                            .sum(average * 10.0)
                            .minimum(*average)
                            .maximum(*average)
                            .build(),
                    )
                    .storage_resolution(1)
                    .build()
            });
            client
                .put_metric_data()
                .namespace(namespace)
                .set_metric_data(Some(data.collect()))
                .send()
                .await
                .expect("PutMetricData");
        }
    }
}

fn period_floor(t: SystemTime) -> SystemTime {
    let secs = t.duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs();
    SystemTime::UNIX_EPOCH + Duration::from_secs(secs - secs % 60)
}

impl Drop for Ministack {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// moto's server, for the APIs ministack lacks (Application Auto Scaling, ECS).
pub struct Moto {
    pub port: u16,
    child: Child,
}

pub fn moto_bin() -> PathBuf {
    if let Ok(path) = std::env::var("MOTO_SERVER_BIN") {
        return PathBuf::from(path);
    }
    project_root().join(".venv/bin/moto_server")
}

impl Moto {
    pub async fn start() -> Self {
        let bin = moto_bin();
        assert!(
            bin.exists(),
            "{} is missing: run scripts/setup.sh (it installs moto[server] in .venv) or set MOTO_SERVER_BIN",
            bin.display()
        );
        let port = free_port();
        let child = Command::new(&bin)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start moto_server");
        let moto = Moto { port, child };
        let url = format!("http://127.0.0.1:{port}/");
        wait_until(Duration::from_secs(30), "moto to answer", async || {
            http_get(&url).await.is_some()
        })
        .await;
        moto
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// IMDSv2 emulation: a token from PUT /latest/api/token (with the TTL header the SDK
/// requires), then metadata by path for requests carrying that token.
pub struct Imds {
    pub addr: SocketAddr,
    pub requests: Arc<std::sync::atomic::AtomicUsize>,
}

/// The role name the IMDS emulation serves credentials for.
pub const IMDS_ROLE: &str = "nginx-backlog-exporter-test";

impl Imds {
    pub async fn start(instance_id: &str, region: &str) -> Self {
        Imds::start_inner(instance_id, region, None).await
    }

    /// Also serve instance-role credentials, as EC2 does: each fetch gets a new access key
    /// id (`ASIATEST0001`, `ASIATEST0002`, ...) that expires `ttl` later.
    pub async fn start_with_role(instance_id: &str, region: &str, ttl: Duration) -> Self {
        Imds::start_inner(instance_id, region, Some(ttl)).await
    }

    async fn start_inner(instance_id: &str, region: &str, credentials_ttl: Option<Duration>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let metadata: Arc<HashMap<String, String>> = Arc::new(HashMap::from([
            ("/latest/meta-data/instance-id".to_owned(), instance_id.to_owned()),
            ("/latest/meta-data/placement/region".to_owned(), region.to_owned()),
        ]));
        let requests = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = requests.clone();
        let issued = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let metadata = metadata.clone();
                let counter = counter.clone();
                let issued = issued.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
                        counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let metadata = metadata.clone();
                        let issued = issued.clone();
                        async move {
                            const ROLES: &str = "/latest/meta-data/iam/security-credentials/";
                            let role_path = format!("{ROLES}{IMDS_ROLE}");
                            const TOKEN: &str = "test-imds-token";
                            let response = hyper::Response::builder();
                            let response = if request.method() == hyper::Method::PUT
                                && request.uri().path() == "/latest/api/token"
                            {
                                response
                                    .header("X-aws-ec2-metadata-token-ttl-seconds", "21600")
                                    .body(TOKEN.to_owned())
                            } else if request
                                .headers()
                                .get("x-aws-ec2-metadata-token")
                                .and_then(|v| v.to_str().ok())
                                != Some(TOKEN)
                            {
                                response.status(401).body(String::new())
                            } else if let Some(value) = metadata.get(request.uri().path()) {
                                response.body(value.clone())
                            } else if credentials_ttl.is_some() && request.uri().path() == ROLES {
                                response.body(IMDS_ROLE.to_owned())
                            } else if let (Some(ttl), true) = (credentials_ttl, request.uri().path() == role_path) {
                                let n = issued.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
                                let expiration = humantime::format_rfc3339_seconds(SystemTime::now() + ttl);
                                response.body(format!(
                                    r#"{{"Code":"Success","LastUpdated":"{}","Type":"AWS-HMAC","AccessKeyId":"ASIATEST{n:04}","SecretAccessKey":"secret{n}","Token":"token{n}","Expiration":"{expiration}"}}"#,
                                    humantime::format_rfc3339_seconds(SystemTime::now())
                                ))
                            } else {
                                response.status(404).body(String::new())
                            };
                            Ok::<_, std::convert::Infallible>(
                                response
                                    .unwrap()
                                    .map(|body| http_body_util::Full::new(bytes::Bytes::from(body))),
                            )
                        }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Imds { addr, requests }
    }

    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }
}

/// The exporter binary, with an environment that cannot reach real AWS.
/// The checkout this crate is part of (it lives in `tests/support`).
pub fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The exporter binary cargo built for the running test: the test binary is
/// `TARGET/PROFILE/deps/NAME-HASH`, the exporter `TARGET/PROFILE/nginx-backlog-exporter` (what
/// `CARGO_BIN_EXE_*` names, which only the test crate itself is given).
pub fn exporter_binary() -> PathBuf {
    let test_binary = std::env::current_exe().expect("the test binary's path");
    let profile_dir = test_binary
        .parent()
        .and_then(Path::parent)
        .expect("the test binary is in TARGET/PROFILE/deps");
    let binary = profile_dir.join("nginx-backlog-exporter");
    assert!(
        binary.exists(),
        "{} is missing: cargo builds it for the integration tests",
        binary.display()
    );
    binary
}

/// A fresh directory under `TARGET/tmp/exporter-state` that is not removed on drop.
fn scratch_state_directory() -> PathBuf {
    let profile_dir = exporter_binary()
        .parent()
        .map(Path::to_path_buf)
        .expect("TARGET/PROFILE");
    let root = profile_dir.parent().expect("TARGET").join("tmp").join("exporter-state");
    std::fs::create_dir_all(&root).expect("create TARGET/tmp/exporter-state");
    tempfile::tempdir_in(&root).expect("a state directory").keep()
}

pub fn exporter() -> tokio::process::Command {
    let mut command = tokio::process::Command::new(exporter_binary());
    for variable in [
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "AWS_PROFILE",
        "AWS_ENDPOINT_URL",
        "AWS_EC2_METADATA_SERVICE_ENDPOINT",
        "NGINX_BACKLOG_EXPORTER_CONFIG",
        "NGINX_BACKLOG_EXPORTER_LOG",
        "JOURNAL_STREAM",
    ] {
        command.env_remove(variable);
    }
    command
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        // Nothing listens here: an IMDS lookup the test did not arrange fails at once.
        .env("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://127.0.0.1:9")
        // Each run its own state directory (the config's state_directory still wins), so
        // no test touches /var/lib or contends for another's spool. It must outlive this
        // function, so it is kept under cargo's own scratch directory for tests (TARGET/tmp,
        // what CARGO_TARGET_TMPDIR names), not left in /tmp.
        .env("STATE_DIRECTORY", scratch_state_directory())
        .stdin(Stdio::null())
        .kill_on_drop(true);
    command
}

/// Write a config file into `dir` and return its path.
pub fn write_config(dir: &Path, text: &str) -> PathBuf {
    let path = dir.join("config.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// Run the exporter to completion: (exit code, stdout, stderr).
pub async fn run_exporter(command: &mut tokio::process::Command) -> (i32, String, String) {
    let output = tokio::time::timeout(Duration::from_secs(60), command.output())
        .await
        .expect("exporter did not finish within 60 s")
        .expect("run exporter");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Send SIGTERM to a child process.
pub fn terminate(child: &tokio::process::Child) {
    let pid = child.id().expect("child still running");
    let status = Command::new("kill").arg("-TERM").arg(pid.to_string()).status().unwrap();
    assert!(status.success());
}

/// Reads a child's stdout line by line, waiting for lines that match.
pub struct Lines {
    lines: tokio::io::Lines<tokio::io::BufReader<tokio::process::ChildStdout>>,
    pub seen: Vec<String>,
}

impl Lines {
    pub fn new(child: &mut tokio::process::Child) -> Self {
        let stdout = child.stdout.take().expect("stdout piped");
        Lines {
            lines: tokio::io::AsyncBufReadExt::lines(tokio::io::BufReader::new(stdout)),
            seen: Vec::new(),
        }
    }

    /// The next line for which `matches` holds, within `limit`.
    pub async fn wait_for(&mut self, limit: Duration, what: &str, mut matches: impl FnMut(&str) -> bool) -> String {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let line = tokio::time::timeout_at(deadline, self.lines.next_line())
                .await
                .unwrap_or_else(|_| panic!("timed out waiting for {what}; lines so far: {:#?}", self.seen))
                .expect("read stdout")
                .unwrap_or_else(|| panic!("stdout closed before {what}; lines: {:#?}", self.seen));
            self.seen.push(line.clone());
            if matches(&line) {
                return line;
            }
        }
    }
}

/// Parse text with the Python prometheus_client OpenMetrics parser from .venv; returns
/// {"family{labels}": value} as the parser saw them, or panics with the parser's error.
pub fn parse_openmetrics(text: &str) -> HashMap<String, f64> {
    let python = ministack_bin().with_file_name("python");
    let script = r#"
import json, sys
from prometheus_client.openmetrics.parser import text_string_to_metric_families
out = {}
for family in text_string_to_metric_families(sys.stdin.read()):
    for s in family.samples:
        labels = ",".join(f"{k}={v}" for k, v in sorted(s.labels.items()))
        out[f"{s.name}{{{labels}}}"] = None if s.value != s.value else s.value
print(json.dumps(out))
"#;
    let mut child = Command::new(python)
        .arg("-c")
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run .venv/bin/python");
    std::io::Write::write_all(child.stdin.as_mut().unwrap(), text.as_bytes()).unwrap();
    drop(child.stdin.take());
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "the OpenMetrics parser rejected /metrics: {}\n{text}",
        String::from_utf8_lossy(&output.stderr)
    );
    let parsed: HashMap<String, serde_json::Value> = serde_json::from_slice(&output.stdout).unwrap();
    parsed
        .into_iter()
        .map(|(k, v)| (k, v.as_f64().unwrap_or(f64::NAN)))
        .collect()
}

/// `run --dry-run` with `config`; its stdout is read as lines, its stderr discarded.
pub fn dry_run_daemon(config: &Path) -> (tokio::process::Child, Lines) {
    let mut daemon = exporter()
        .arg("--config")
        .arg(config)
        .args(["run", "--dry-run"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the exporter");
    let lines = Lines::new(&mut daemon);
    (daemon, lines)
}

/// SIGTERM, then wait for a clean exit within the grace period; returns stderr if piped.
pub async fn stop(mut daemon: tokio::process::Child) -> String {
    terminate(&daemon);
    let status = tokio::time::timeout(Duration::from_secs(15), daemon.wait())
        .await
        .expect("exits within the grace period")
        .unwrap();
    let mut stderr = String::new();
    if let Some(pipe) = daemon.stderr.as_mut() {
        tokio::io::AsyncReadExt::read_to_string(pipe, &mut stderr)
            .await
            .unwrap();
    }
    assert!(status.success(), "{status:?}: {stderr}");
    stderr
}

/// A `replay` CSV: `(seconds, average)` per 10 s period from `start` (Unix seconds).
pub fn replay_csv(dir: &Path, start: u64, averages: &[f64]) -> PathBuf {
    let mut text = String::from(nginx_backlog_exporter::replay::CSV_HEADER);
    text.push('\n');
    for (i, average) in averages.iter().enumerate() {
        let time =
            humantime::format_rfc3339_seconds(SystemTime::UNIX_EPOCH + Duration::from_secs(start + 10 * i as u64));
        text.push_str(&format!(
            "{time},10,{average:.3},{},0,0,0.100,0.100,0.100,0.100,10,0\n",
            average.ceil() as u64
        ));
    }
    let path = dir.join("series.csv");
    std::fs::write(&path, text).unwrap();
    path
}

/// The shipped policy's load test (tests/simulate.rs, tests/policy_roundtrip.rs): 2 tasks, quiet, a backlog of 30 then 50 for two minutes
/// each, then quiet for ten minutes.
pub fn load_test() -> Vec<f64> {
    let mut averages = vec![1.0; 12];
    averages.extend([30.0; 12]);
    averages.extend([50.0; 12]);
    averages.extend([1.0; 60]);
    averages
}
