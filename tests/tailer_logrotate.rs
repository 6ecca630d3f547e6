//! Black-box: a real nginx writes its access log, a real logrotate rotates it, and the
//! tailer must read every request's line exactly once.
//!
//! Needs Debian's `nginx-light` (or any nginx at /usr/sbin/nginx) and `logrotate`; CI
//! installs both. A missing binary fails the test with a message saying so.

use std::fmt::Write as _;
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nginx_backlog_exporter::sources::access_log::tail::{StartAt, TailCounters, Tailer, TailerOptions};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_util::sync::CancellationToken;

const NGINX: &str = "/usr/sbin/nginx";
const LOGROTATE: &str = "/usr/sbin/logrotate";
const BEFORE_ROTATION: usize = 60;
const AFTER_ROTATION: usize = 40;

fn require(binary: &str, package: &str) {
    assert!(
        Path::new(binary).exists(),
        "{binary} is missing: install it with `apt-get install -y {package}` (CI does)"
    );
}

/// nginx running in the foreground from its own prefix; stopped when dropped.
struct Nginx {
    child: Child,
    dir: PathBuf,
    port: u16,
}

impl Nginx {
    fn start(dir: &Path) -> Nginx {
        require(NGINX, "nginx-light");
        let port = free_port();
        let d = dir.display();
        let config = format!(
            "daemon off;
master_process on;
worker_processes 2;
pid {d}/nginx.pid;
error_log {d}/error.log info;
events {{ worker_connections 64; }}
http {{
    client_body_temp_path {d}/body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    access_log {d}/access.log;
    server {{
        listen 127.0.0.1:{port};
        location / {{ return 200 \"ok\\n\"; }}
    }}
}}
"
        );
        let config_path = dir.join("nginx.conf");
        std::fs::write(&config_path, config).unwrap();
        let child = Command::new(NGINX)
            .arg("-p")
            .arg(dir)
            .arg("-c")
            .arg(&config_path)
            .arg("-e")
            .arg(dir.join("error.log"))
            .stdin(Stdio::null())
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start {NGINX}: {error}"));
        let mut nginx = Nginx {
            child,
            dir: dir.to_path_buf(),
            port,
        };
        nginx.wait_until_listening();
        nginx
    }

    fn wait_until_listening(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        let address = SocketAddr::from((Ipv4Addr::LOCALHOST, self.port));
        while std::net::TcpStream::connect(address).is_err() {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("nginx exited with {status}: {}", self.error_log());
            }
            assert!(
                Instant::now() < deadline,
                "nginx is not listening: {}",
                self.error_log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn error_log(&self) -> String {
        std::fs::read_to_string(self.dir.join("error.log")).unwrap_or_default()
    }

    async fn request(&self, number: usize) {
        let mut stream = tokio::net::TcpStream::connect((Ipv4Addr::LOCALHOST, self.port))
            .await
            .unwrap();
        let request = format!("GET /req-{number} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut response = Vec::new();
        // nginx writes the access log line before it closes the connection.
        stream.read_to_end(&mut response).await.unwrap();
        assert!(
            response.starts_with(b"HTTP/1.1 200"),
            "unexpected answer: {}",
            String::from_utf8_lossy(&response)
        );
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        // SIGTERM to the master stops the workers too; SIGKILL would orphan them.
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn logrotate(dir: &Path, directives: &str) {
    require(LOGROTATE, "logrotate");
    let d = dir.display();
    // Debian's /etc/logrotate.d/nginx, pointed at our prefix.
    let config = format!(
        "{d}/access.log {{
    daily
    missingok
    rotate 14
    compress
    delaycompress
    notifempty
{directives}
}}
"
    );
    let config_path = dir.join("logrotate.conf");
    std::fs::write(&config_path, config).unwrap();
    let output = Command::new(LOGROTATE)
        .arg("-s")
        .arg(dir.join("state"))
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

/// The request numbers in the lines read, in order.
fn request_numbers(lines: &[Vec<u8>]) -> Vec<usize> {
    lines
        .iter()
        .map(|line| {
            let line = String::from_utf8_lossy(line);
            let start = line.find("/req-").expect("a request line") + "/req-".len();
            let digits: String = line[start..].chars().take_while(char::is_ascii_digit).collect();
            digits.parse().unwrap()
        })
        .collect()
}

async fn wait_for_lines(seen: &Mutex<Vec<Vec<u8>>>, count: usize) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while seen.lock().unwrap().len() < count && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Requests, rotation, more requests; returns the tailer's counters after checking lines.
async fn rotate_under_load(directives: &str, wait_before_rotating: bool) -> TailCounters {
    let dir = tempfile::tempdir().unwrap();
    // Workers drop root; they must reach the log they reopen after USR1.
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let nginx = Nginx::start(dir.path());
    let tailer = Tailer::open(TailerOptions {
        start_at: StartAt::Beginning,
        recheck_interval: Duration::from_millis(100),
        rotated_file_grace: Duration::from_secs(2),
        ..TailerOptions::new(dir.path().join("access.log"), dir.path().join("tail-state"))
    })
    .unwrap();
    let token = CancellationToken::new();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink_seen = Arc::clone(&seen);
    let task = tokio::spawn(tailer.run(token.clone(), move |line: &[u8]| {
        sink_seen.lock().unwrap().push(line.to_vec())
    }));

    for number in 0..BEFORE_ROTATION {
        nginx.request(number).await;
    }
    if wait_before_rotating {
        wait_for_lines(&seen, BEFORE_ROTATION).await;
    }
    let d = dir.path().display();
    logrotate(dir.path(), &directives.replace("{d}", &d.to_string()));
    for number in BEFORE_ROTATION..BEFORE_ROTATION + AFTER_ROTATION {
        nginx.request(number).await;
    }
    let total = BEFORE_ROTATION + AFTER_ROTATION;
    wait_for_lines(&seen, total).await;
    // Give a duplicate, if there were one, the time to show up.
    tokio::time::sleep(Duration::from_millis(500)).await;
    token.cancel();
    let counters = task.await.unwrap();

    let numbers = request_numbers(&seen.lock().unwrap());
    let expected: Vec<usize> = (0..total).collect();
    let mut report = String::new();
    let _ = write!(report, "counters {counters:?}; nginx: {}", nginx.error_log());
    assert_eq!(numbers, expected, "{report}");
    counters
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rename_create_and_usr1_reopen_loses_and_repeats_nothing() {
    // The lines before the rotation are not waited for: the tailer must still find them
    // in the renamed file.
    let counters = rotate_under_load(
        "    create 0640
    sharedscripts
    postrotate
        kill -USR1 $(cat {d}/nginx.pid)
    endscript",
        false,
    )
    .await;
    assert_eq!(counters.rotations, 1);
    assert_eq!(counters.possibly_lost_bytes, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copytruncate_loses_and_repeats_nothing_once_lines_were_read() {
    // copytruncate loses whatever was written after the last read; the test waits until
    // the tailer has read everything, as the tailer cannot do better.
    let counters = rotate_under_load("    copytruncate", true).await;
    assert_eq!(counters.truncations, 1);
    assert_eq!(counters.possibly_lost_bytes, 0);
}
