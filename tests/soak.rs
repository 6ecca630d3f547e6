//! Chaos soak (issue 15): the daemon with the access log on, against real nginx under steady
//! `wrk` load, publishing through the fault proxy to ministack, while faults are injected at
//! random times from a seed: CloudWatch outages (503 or refused), throttling and resets;
//! `kill -9` and restart of the exporter (sometimes in the middle of an outage); nginx
//! reload, restart (with a blind gap) and binary upgrade; logrotate by rename and by
//! copytruncate; a full state directory (a small tmpfs, filled up and then freed).
//!
//! At the end it reconciles what ministack holds against what the test knows:
//! - every 1 s period in which nginx was readable and the exporter alive was published
//!   exactly once (PendingRequests' SampleCount is 1 or 2 at 500 ms samples; a copy sent
//!   twice shows 3 or more, or 2 if the first had a single sample, which this cannot tell
//!   from once; RequestsCompleted has one sample, so its duplicates are exact); periods
//!   around a `kill -9` are the README's crash window ("What a crash can cost"): counted,
//!   not failed, and duplicates only if a kill came within a second of a successful call.
//!   Nothing is published for periods in which nginx was down throughout;
//! - every access-log line nginx wrote was counted once: nginx writes every line twice, to
//!   `access.log` (followed and rotated) and to `truth.log` (never touched), and the
//!   published `RequestsCompleted` of each second must equal truth.log's lines stamped with
//!   that second. Allowed and counted: lines of the log periods still open at a `kill -9`
//!   (their lines are behind the checkpoint, as the README says for SIGTERM), and lines that
//!   copytruncate removed before they were read (only if the exporter counted
//!   `log_possibly_lost_bytes`);
//! - memory stayed flat: the largest VmRSS of the last third of the run against the first.
//!
//! It prints one line of figures and fails on any other loss or duplicate.
//! `SOAK_SECONDS` sets the length of the fault phase, `SOAK_SEED` the seed (else random,
//! printed). `soak_short` (120 s) runs in `cargo test`; `soak_long` is `#[ignore]`d and run by
//! `scripts/soak.sh --minutes N`. Timing is real, so a seed replays the same sequence of
//! faults and pauses, not the same interleaving with the daemon.

use nginx_backlog_exporter_test_support as support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use support::fault_proxy::{Fault, FaultProxy};
use support::*;

const NAMESPACE: &str = "Test/Soak";
const INSTANCE: &str = "i-soak";
/// access_log.settle: a log period is published this long after its end.
const SETTLE_MS: i64 = 2_000;
const PERIOD_MS: i64 = 1_000;
/// The tmpfs of the state directory, and the spool's bound within it.
const STATE_FS: &str = "1m";
const SPOOL_MAX: &str = "128KiB";

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    CwOutage,
    CwThrottle,
    CwReset,
    Kill9,
    NginxReload,
    NginxRestart,
    NginxUpgrade,
    RotateRename,
    RotateCopytruncate,
    DiskFull,
}

const KINDS: [Kind; 10] = [
    Kind::CwOutage,
    Kind::CwThrottle,
    Kind::CwReset,
    Kind::Kill9,
    Kind::NginxReload,
    Kind::NginxRestart,
    Kind::NginxUpgrade,
    Kind::RotateRename,
    Kind::RotateCopytruncate,
    Kind::DiskFull,
];

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::CwOutage => "cw_outage",
            Kind::CwThrottle => "cw_throttle",
            Kind::CwReset => "cw_reset",
            Kind::Kill9 => "kill9",
            Kind::NginxReload => "nginx_reload",
            Kind::NginxRestart => "nginx_restart",
            Kind::NginxUpgrade => "nginx_upgrade",
            Kind::RotateRename => "rotate_rename",
            Kind::RotateCopytruncate => "rotate_copytruncate",
            Kind::DiskFull => "disk_full",
        }
    }
}

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as i64
}

/// The state directory on a tmpfs of its own, unmounted when dropped.
struct SmallDisk {
    path: PathBuf,
}

impl SmallDisk {
    fn mount(path: PathBuf) -> Self {
        std::fs::create_dir_all(&path).unwrap();
        let output = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={STATE_FS},mode=0700"), "tmpfs"])
            .arg(&path)
            .output()
            .expect("run mount");
        assert!(
            output.status.success(),
            "the soak needs a tmpfs for the state directory (run as root): mount said {}",
            String::from_utf8_lossy(&output.stderr)
        );
        SmallDisk { path }
    }

    /// Fill the file system up to the last byte.
    fn fill(&self) -> u64 {
        use std::io::Write;
        let mut file = std::fs::File::create(self.path.join("filler")).unwrap();
        let chunk = vec![0u8; 4096];
        let mut written = 0;
        while let Ok(n) = file.write(&chunk) {
            if n == 0 {
                break;
            }
            written += n as u64;
        }
        // tmpfs has no partial blocks left once a 4 KiB write fails; fill the rest byte-wise.
        while file.write(&[0u8]).is_ok_and(|n| n == 1) {
            written += 1;
        }
        written
    }

    fn free(&self) {
        let _ = std::fs::remove_file(self.path.join("filler"));
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg("-l").arg(&self.path).status();
    }
}

/// One life of the exporter process.
struct Life {
    child: tokio::process::Child,
    pid: u32,
    seen: Seen,
}

/// What a life's /metrics last said.
#[derive(Default, Clone, Copy)]
struct Seen {
    possibly_lost_bytes: u64,
    lines_late: u64,
    lines_rejected: u64,
    truncations: u64,
    rotations: u64,
}

struct Soak {
    rng: StdRng,
    _upstream: SlowUpstream,
    nginx: Nginx,
    ministack: Ministack,
    proxy: FaultProxy,
    // Dropped in this order: the tmpfs is unmounted before its temp directory is removed.
    disk: SmallDisk,
    dir: tempfile::TempDir,
    config: PathBuf,
    http_port: u16,
    life: Option<Life>,
    lives: Vec<Seen>,
    faults: BTreeMap<Kind, u32>,
    /// (killed, back up) in unix ms.
    exporter_down: Vec<(i64, i64)>,
    /// When each `kill -9` was sent.
    kills: Vec<Instant>,
    /// (stop began, nginx gone, start began, nginx answering) in unix ms.
    nginx_down: Vec<(i64, i64, i64, i64)>,
    copytruncates: Vec<i64>,
    /// (unix ms, VmRSS kB)
    rss: Vec<(i64, u64)>,
    peak_hwm_kb: u64,
    disk_full_unavailable: Option<String>,
}

impl Soak {
    async fn start(seed: u64) -> Self {
        let upstream = SlowUpstream::start().await;
        // Every line also goes to truth.log (relative to nginx's prefix), which nothing rotates.
        let nginx = Nginx::start_with(upstream.port, "access_log truth.log;").await;
        let ministack = Ministack::start().await;
        let proxy = FaultProxy::start(&ministack.endpoint()).await;
        let dir = tempfile::tempdir().unwrap();
        let disk = SmallDisk::mount(dir.path().join("state"));
        let http_port = free_port();
        let text = format!(
            r#"[nginx]
status_url = "{status}"
timeout = "400ms"
listen_ports = [{port}]
access_log = "{log}"

[access_log]
start_at = "beginning"
settle = "{SETTLE_MS}ms"
publish = ["RequestsCompleted"]

[cloudwatch]
namespace = "{NAMESPACE}"
region = "us-east-1"
instance_id = "{INSTANCE}"
sample_interval = "500ms"
period = "1s"
operation_timeout = "2s"
connect_timeout = "1s"
spool_max_bytes = "{SPOOL_MAX}"

[http]
listen = "127.0.0.1:{http_port}"

[daemon]
state_directory = "{state}"
"#,
            status = nginx.status_url(),
            port = nginx.port,
            log = nginx.dir.path().join("access.log").display(),
            state = disk.path.display(),
        );
        let config = write_config(dir.path(), &text);
        let mut soak = Soak {
            rng: StdRng::seed_from_u64(seed),
            _upstream: upstream,
            nginx,
            ministack,
            proxy,
            disk,
            dir,
            config,
            http_port,
            life: None,
            lives: Vec::new(),
            faults: BTreeMap::new(),
            exporter_down: Vec::new(),
            kills: Vec::new(),
            nginx_down: Vec::new(),
            copytruncates: Vec::new(),
            rss: Vec::new(),
            peak_hwm_kb: 0,
            disk_full_unavailable: None,
        };
        soak.spawn_exporter();
        soak
    }

    fn spawn_exporter(&mut self) {
        let n = self.lives.len() + usize::from(self.life.is_some());
        let stderr = std::fs::File::create(self.dir.path().join(format!("exporter-{n}.log"))).unwrap();
        let child = exporter()
            .env("AWS_ENDPOINT_URL", self.proxy.endpoint())
            .env("NGINX_BACKLOG_EXPORTER_LOG", "info")
            .arg("--config")
            .arg(&self.config)
            .arg("run")
            .stdout(Stdio::null())
            .stderr(Stdio::from(stderr))
            .spawn()
            .expect("start the exporter");
        let pid = child.id().unwrap();
        self.life = Some(Life {
            child,
            pid,
            seen: Seen::default(),
        });
    }

    /// Read the live exporter's memory and counters.
    async fn observe(&mut self) {
        let Some(life) = self.life.as_mut() else { return };
        if let Ok(status) = std::fs::read_to_string(format!("/proc/{}/status", life.pid)) {
            let field = |name: &str| -> Option<u64> {
                status
                    .lines()
                    .find(|l| l.starts_with(name))?
                    .split_whitespace()
                    .nth(1)?
                    .parse()
                    .ok()
            };
            if let Some(rss) = field("VmRSS:") {
                self.rss.push((now_ms(), rss));
            }
            if let Some(hwm) = field("VmHWM:") {
                self.peak_hwm_kb = self.peak_hwm_kb.max(hwm);
            }
        }
        if let Some((200, body)) = http_get(&format!("http://127.0.0.1:{}/metrics", self.http_port)).await {
            let value = |name: &str| -> u64 {
                body.lines()
                    .filter(|l| l.starts_with(name))
                    .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
                    .sum::<f64>() as u64
            };
            life.seen = Seen {
                possibly_lost_bytes: value("nginx_backlog_log_possibly_lost_bytes_total"),
                lines_late: value("nginx_backlog_log_lines_late"),
                lines_rejected: value("nginx_backlog_log_lines_rejected_total"),
                truncations: value("nginx_backlog_log_truncations_total"),
                rotations: value("nginx_backlog_log_rotations_total"),
            };
        }
    }

    /// Wait, observing every 500 ms.
    async fn idle(&mut self, duration: Duration) {
        let until = Instant::now() + duration;
        while Instant::now() < until {
            self.observe().await;
            tokio::time::sleep(Duration::from_millis(500).min(until.saturating_duration_since(Instant::now()))).await;
        }
    }

    fn secs(&mut self, lo: f64, hi: f64) -> Duration {
        Duration::from_secs_f64(self.rng.random_range(lo..hi))
    }

    async fn kill9(&mut self) {
        self.observe().await;
        let mut life = self.life.take().expect("exporter running");
        let killed = now_ms();
        self.kills.push(Instant::now());
        life.child.start_kill().unwrap();
        life.child.wait().await.unwrap();
        self.lives.push(life.seen);
        let down = self.secs(0.0, 2.0);
        tokio::time::sleep(down).await;
        self.spawn_exporter();
        // Startup (config, spool replay, first sample) before it can publish again.
        self.exporter_down.push((killed, now_ms() + 1_000));
        *self.faults.entry(Kind::Kill9).or_default() += 1;
    }

    async fn nginx_signal(&self, signal: &str, pid: u32) {
        let status = tokio::process::Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(pid.to_string())
            .status()
            .await
            .unwrap();
        assert!(status.success(), "kill -{signal} {pid}");
    }

    /// Every rotated copy kept, uncompressed, so every line can still be counted at the end.
    async fn logrotate(&self, directives: &str) {
        let log = self.nginx.dir.path().join("access.log");
        let directives = format!("    rotate 100000\n    missingok\n    nocompress\n{directives}");
        support::logrotate(self.dir.path(), &log, &directives);
    }

    async fn inject(&mut self, kind: Kind) {
        match kind {
            Kind::CwOutage | Kind::CwThrottle | Kind::CwReset => {
                let fault = match kind {
                    Kind::CwThrottle => Fault::Throttle,
                    Kind::CwReset => Fault::Reset,
                    _ if self.rng.random_bool(0.5) => Fault::Status(503),
                    _ => Fault::Refuse,
                };
                let length = self.secs(3.0, 12.0);
                let kill_in_the_middle = kind == Kind::CwOutage && self.rng.random_bool(0.33);
                self.proxy.set(fault).await;
                if kill_in_the_middle {
                    self.idle(length / 2).await;
                    self.kill9().await;
                    self.idle(length / 2).await;
                } else {
                    self.idle(length).await;
                }
                self.proxy.set(Fault::Pass).await;
            }
            Kind::Kill9 => self.kill9().await,
            Kind::NginxReload => {
                let master = self.nginx.master_pid().unwrap();
                self.nginx_signal("HUP", master).await;
            }
            Kind::NginxRestart => {
                let began = now_ms();
                self.nginx.stop();
                let gone = now_ms();
                let blind = self.secs(1.5, 5.0);
                self.idle(blind).await;
                let starting = now_ms();
                self.nginx.start_again().await;
                self.nginx_down.push((began, gone, starting, now_ms()));
            }
            Kind::NginxUpgrade => {
                let master = self.nginx.master_pid().unwrap();
                let pid_file = self.nginx.dir.path().join("nginx.pid");
                self.nginx_signal("USR2", master).await;
                wait_until(Duration::from_secs(10), "the new nginx master", async || {
                    std::fs::read_to_string(&pid_file).is_ok_and(|pid| pid.trim() != master.to_string())
                })
                .await;
                self.idle(Duration::from_millis(500)).await;
                self.nginx_signal("WINCH", master).await;
                self.nginx_signal("QUIT", master).await;
                let gone = Path::new("/proc").join(master.to_string());
                wait_until(Duration::from_secs(10), "the old nginx master to exit", async || {
                    !gone.exists()
                })
                .await;
            }
            Kind::RotateRename => {
                let d = self.nginx.dir.path().display().to_string();
                self.logrotate(&format!(
                    "    create\n    postrotate\n        kill -USR1 $(cat {d}/nginx.pid)\n    endscript"
                ))
                .await;
            }
            Kind::RotateCopytruncate => {
                self.copytruncates.push(now_ms());
                self.logrotate("    copytruncate").await;
                self.copytruncates.push(now_ms());
            }
            Kind::DiskFull => {
                let filled = self.disk.fill();
                if filled == 0 && self.disk_full_unavailable.is_none() {
                    self.disk_full_unavailable = Some("the tmpfs was already full".into());
                }
                let length = self.secs(3.0, 12.0);
                self.idle(length).await;
                self.disk.free();
            }
        }
        if kind != Kind::Kill9 {
            *self.faults.entry(kind).or_default() += 1;
        }
    }

    /// Every 1-second datapoint of `metric` from `since` to now, by unix second, read in
    /// windows of 20 minutes (CloudWatch returns at most 1440 datapoints per call).
    async fn published(&self, metric: &str, since: i64) -> BTreeMap<i64, (f64, f64)> {
        let client = self.ministack.client("us-east-1");
        let mut out = BTreeMap::new();
        let end = now_ms() / 1000 + 60;
        let mut from = since / 1000 - 5;
        while from < end {
            let to = (from + 1200).min(end);
            let output = client
                .get_metric_statistics()
                .namespace(NAMESPACE)
                .metric_name(metric)
                .dimensions(
                    aws_sdk_cloudwatch::types::Dimension::builder()
                        .name("InstanceId")
                        .value(INSTANCE)
                        .build(),
                )
                .start_time(aws_smithy_types::DateTime::from_secs(from))
                .end_time(aws_smithy_types::DateTime::from_secs(to))
                .period(1)
                .statistics(aws_sdk_cloudwatch::types::Statistic::SampleCount)
                .statistics(aws_sdk_cloudwatch::types::Statistic::Sum)
                .send()
                .await
                .expect("GetMetricStatistics");
            for point in output.datapoints.unwrap_or_default() {
                let second = point.timestamp.unwrap().secs();
                if second >= from && second < to {
                    out.insert(second, (point.sample_count.unwrap(), point.sum.unwrap()));
                }
            }
            from = to;
        }
        out
    }
}

/// Lines per second of `$time_local` (`[03/Dec/2026:08:55:01 +0000]`) in these files, and
/// the shortest line's length.
fn lines_by_second(paths: &[PathBuf]) -> (BTreeMap<i64, u64>, usize) {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let mut out = BTreeMap::new();
    let mut shortest = usize::MAX;
    for path in paths {
        let text = std::fs::read_to_string(path).unwrap();
        for line in text.lines() {
            shortest = shortest.min(line.len() + 1);
            let stamp = line
                .split_once('[')
                .and_then(|(_, rest)| rest.split_once(']'))
                .map(|(stamp, _)| stamp)
                .unwrap_or_else(|| panic!("{}: a line without a time: {line}", path.display()));
            // dd/Mon/yyyy:HH:MM:SS +hhmm
            let (date_time, zone) = stamp.split_once(' ').unwrap();
            let parts: Vec<&str> = date_time.splitn(3, '/').collect();
            let day: i64 = parts[0].parse().unwrap();
            let month = MONTHS.iter().position(|m| *m == parts[1]).unwrap() as i64 + 1;
            let rest: Vec<i64> = parts[2].split(':').map(|p| p.parse().unwrap()).collect();
            let (year, h, m, s) = (rest[0], rest[1], rest[2], rest[3]);
            let offset = {
                let sign = if zone.starts_with('-') { -1 } else { 1 };
                let digits: i64 = zone[1..].parse().unwrap();
                sign * ((digits / 100) * 3600 + (digits % 100) * 60)
            };
            let second = days_from_civil(year, month, day) * 86_400 + h * 3600 + m * 60 + s - offset;
            *out.entry(second).or_default() += 1;
        }
    }
    (out, shortest)
}

/// access.log and every rotated copy of it in nginx's prefix.
fn access_logs(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with("access.log"))
        .collect()
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Does the period starting at `second` overlap `[from_ms, to_ms)`?
fn overlaps(second: i64, from_ms: i64, to_ms: i64) -> bool {
    second * 1000 < to_ms && second * 1000 + PERIOD_MS > from_ms
}

#[derive(Default, Debug)]
struct Figures {
    readable: u64,
    published_once: u64,
    lost: Vec<i64>,
    duplicated: Vec<i64>,
    crash_window: u64,
    crash_lost: u64,
    crash_duplicated: u64,
    blind: u64,
    published_blind: Vec<i64>,
    edge: u64,
    lines_nginx: u64,
    lines_counted: u64,
    lines_lost: Vec<(i64, u64)>,
    lines_extra: Vec<(i64, u64)>,
    lines_duplicated: Vec<(i64, u64)>,
    lines_crash_lost: u64,
    lines_crash_duplicated: u64,
    lines_copytruncate_lost: u64,
    /// In truth.log but in no access.log file: written between logrotate's copy and its truncate.
    lines_logrotate_lost: u64,
    /// Of those, lines the exporter read before the truncate (counted, rightly, though no file has them).
    lines_read_before_truncate: u64,
    lines_files_mismatch: Vec<(i64, i64)>,
}

async fn soak(seconds: u64) {
    let seed = std::env::var("SOAK_SEED")
        .ok()
        .map(|s| s.parse().expect("SOAK_SEED is a u64"))
        .unwrap_or_else(|| SystemTime::now().duration_since(UNIX_EPOCH).unwrap().subsec_nanos() as u64);
    let seconds = std::env::var("SOAK_SECONDS")
        .ok()
        .map(|s| s.parse().expect("SOAK_SECONDS is whole seconds"))
        .unwrap_or(seconds);
    println!("soak: seed {seed}, {seconds} s of faults (SOAK_SEED={seed} SOAK_SECONDS={seconds} replays the sequence)");
    let mut soak = Soak::start(seed).await;
    let began = now_ms();
    wait_until(Duration::from_secs(30), "the first datapoints", async || {
        soak.published("PendingRequests", began).await.len() >= 2
    })
    .await;

    // Steady load: 4 connections, each waiting 10 ms between requests (some hundreds per second).
    let lua = soak.dir.path().join("pace.lua");
    std::fs::write(&lua, "function delay()\n  return 10\nend\n").unwrap();
    let mut wrk = tokio::process::Command::new("wrk")
        .args(["-t1", "-c4", &format!("-d{}s", seconds + 600), "-s"])
        .arg(&lua)
        .arg(format!("http://127.0.0.1:{}/fast", soak.nginx.port))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("start wrk (Debian's wrk package)");
    let load_began = now_ms();
    soak.idle(Duration::from_secs(3)).await;

    // Faults in rounds, each round every kind once in a random order, until the time is up;
    // the first round always completes, so even a short run sees every kind.
    let faults_end = Instant::now() + Duration::from_secs(seconds);
    let mut round = Vec::new();
    let mut rounds = 0;
    while Instant::now() < faults_end || (rounds == 1 && !round.is_empty()) {
        if round.is_empty() {
            rounds += 1;
            round = KINDS.to_vec();
            round.shuffle(&mut soak.rng);
        }
        let kind = round.pop().unwrap();
        soak.inject(kind).await;
        let gap = soak.secs(2.0, 8.0);
        soak.idle(gap).await;
    }
    // A quiet tail under load, then the load stops and everything is given time to arrive.
    soak.idle(Duration::from_secs(8)).await;
    assert!(wrk.try_wait().unwrap().is_none(), "wrk kept running through the faults");
    wrk.start_kill().unwrap();
    wrk.wait().await.unwrap();
    let load_ended = now_ms();
    // The periods compared: from the first whole second of load to the last.
    let (lo, hi) = (load_began / 1000 + 1, load_ended / 1000 - 1);
    let mut previous = (0, 0.0);
    let drain = Instant::now();
    loop {
        soak.idle(Duration::from_secs(2)).await;
        let pending = soak.published("PendingRequests", began).await;
        let lines = soak.published("RequestsCompleted", began).await;
        // Only the compared periods: PendingRequests goes on being published after the load.
        let now = (
            pending.range(lo..=hi).count(),
            lines.range(lo..=hi).map(|(_, (_, sum))| sum).sum::<f64>(),
        );
        let settled = pending.contains_key(&hi) && lines.contains_key(&hi) && now == previous;
        if settled || drain.elapsed() > Duration::from_secs(120) {
            break;
        }
        previous = now;
    }
    soak.observe().await;
    let last = soak.life.take().unwrap();
    let stderr_path = soak.dir.path().join(format!("exporter-{}.log", soak.lives.len()));
    soak.lives.push(last.seen);
    stop(last.child).await;
    let pending = soak.published("PendingRequests", began).await;
    let lines = soak.published("RequestsCompleted", began).await;
    let (truth, _) = lines_by_second(&[soak.nginx.dir.path().join("truth.log")]);
    let (in_files, shortest_line) = lines_by_second(&access_logs(soak.nginx.dir.path()));

    // Reconcile the periods.
    let mut f = Figures::default();
    let crash = |second: i64, before_ms: i64| {
        soak.exporter_down
            .iter()
            .any(|&(killed, up)| overlaps(second, killed - before_ms, up + 1_000))
    };
    // The README's duplicate window: a kill right after a successful PutMetricData, before
    // the spool's removal record is on disk. Duplicates are excused only if some kill came
    // within a second of a call ministack answered 200.
    let calls = soak.proxy.calls();
    let crash_could_duplicate = soak.kills.iter().any(|&kill| {
        calls
            .iter()
            .any(|c| c.status == Some(200) && c.at <= kill && kill.duration_since(c.at) < Duration::from_secs(1))
    });
    for second in lo..=hi {
        let point = pending.get(&second);
        let blind = soak
            .nginx_down
            .iter()
            .any(|&(_, gone, starting, _)| second * 1000 >= gone && second * 1000 + PERIOD_MS <= starting);
        let edge = soak
            .nginx_down
            .iter()
            .any(|&(began, _, _, up)| overlaps(second, began - 600, up + 1_000));
        if let Some(&(count, _)) = point {
            if count > 2.0 {
                if crash_could_duplicate {
                    f.crash_duplicated += 1;
                } else {
                    f.duplicated.push(second);
                }
            }
        }
        if blind {
            f.blind += 1;
            if point.is_some() {
                f.published_blind.push(second);
            }
        } else if crash(second, 2_000) {
            f.crash_window += 1;
            f.crash_lost += u64::from(point.is_none());
        } else if edge {
            f.edge += 1;
        } else {
            f.readable += 1;
            match point {
                None => f.lost.push(second),
                Some(&(count, _)) if count <= 2.0 => f.published_once += 1,
                Some(_) => {}
            }
        }
    }
    // Reconcile the lines.
    let copytruncated = |second: i64| {
        soak.copytruncates
            .chunks(2)
            .any(|pair| overlaps(second, pair[0] - 3_000, pair[1] + 1_000))
    };
    for second in lo..=hi {
        let nginx_wrote = truth.get(&second).copied().unwrap_or(0);
        f.lines_nginx += nginx_wrote;
        // What the exporter could read: the lines that are in some access.log file.
        let written = in_files.get(&second).copied().unwrap_or(0);
        if written < nginx_wrote && copytruncated(second) {
            f.lines_logrotate_lost += nginx_wrote - written;
        } else if written != nginx_wrote {
            f.lines_files_mismatch
                .push((second, written as i64 - nginx_wrote as i64));
        }
        let (copies, sum) = lines.get(&second).copied().unwrap_or((0.0, 0.0));
        let counted = if copies > 0.0 { (sum / copies).round() as u64 } else { 0 };
        f.lines_counted += counted;
        let in_crash = crash(second, SETTLE_MS + PERIOD_MS + 1_000);
        if copies > 1.0 {
            let extra = sum.round() as u64 - counted;
            if crash_could_duplicate {
                f.lines_crash_duplicated += extra;
            } else {
                f.lines_duplicated.push((second, extra));
            }
        }
        if counted < written {
            let missing = written - counted;
            if in_crash {
                f.lines_crash_lost += missing;
            } else if copytruncated(second) {
                f.lines_copytruncate_lost += missing;
            } else {
                f.lines_lost.push((second, missing));
            }
        } else if counted > written {
            // Lines nginx wrote between logrotate's copy and its truncate are in no file, but
            // the exporter may have read them before the truncate: counting them is right, up
            // to what nginx wrote (truth.log). Only beyond that is a line counted twice.
            let ceiling = if copytruncated(second) {
                written.max(nginx_wrote)
            } else {
                written
            };
            if counted > ceiling {
                f.lines_extra.push((second, counted - ceiling));
            } else {
                f.lines_read_before_truncate += counted - written;
            }
        }
    }
    let possibly_lost_bytes: u64 = soak.lives.iter().map(|l| l.possibly_lost_bytes).sum();
    let late: u64 = soak.lives.iter().map(|l| l.lines_late).sum();
    let rejected: u64 = soak.lives.iter().map(|l| l.lines_rejected).sum();
    let truncations: u64 = soak.lives.iter().map(|l| l.truncations).sum();
    let rotations: u64 = soak.lives.iter().map(|l| l.rotations).sum();

    // Memory: the largest VmRSS in the last third of the run against the first third.
    let span = (soak.rss.first().map_or(0, |r| r.0), soak.rss.last().map_or(0, |r| r.0));
    let third = (span.1 - span.0) / 3;
    let max_in = |from: i64, to: i64| {
        soak.rss
            .iter()
            .filter(|(t, _)| *t >= from && *t <= to)
            .map(|(_, kb)| *kb)
            .max()
            .unwrap_or(0)
    };
    let rss_first = max_in(span.0, span.0 + third);
    let rss_last = max_in(span.1 - third, span.1);

    let faults: Vec<String> = KINDS
        .iter()
        .map(|k| format!("{}={}", k.name(), soak.faults.get(k).copied().unwrap_or(0)))
        .collect();
    let lines_lost: u64 = f.lines_lost.iter().map(|(_, n)| n).sum();
    let lines_duplicated: u64 =
        f.lines_duplicated.iter().map(|(_, n)| n).sum::<u64>() + f.lines_extra.iter().map(|(_, n)| n).sum::<u64>();
    println!(
        "soak seed={seed} {}s faults[{}] periods[readable={} published={} lost={} duplicated={} crash_window={} (missing {} ) crash_duplicated={} blind={} published_blind={} edge={}] lines[nginx={} counted={} lost={} duplicated={} crash_window_lost={} crash_duplicated={} copytruncate_lost={} (possibly_lost_bytes={possibly_lost_bytes}, shortest line {shortest_line} bytes) logrotate_window_lost={} (read_before_truncate={}) late={late} rejected={rejected} rotations={rotations} truncations={truncations}] rss[peak={:.1}MiB first_third={:.1}MiB last_third={:.1}MiB] exporter_lives={}",
        (hi - lo + 1),
        faults.join(" "),
        f.readable,
        f.published_once,
        f.lost.len(),
        f.duplicated.len(),
        f.crash_window,
        f.crash_lost,
        f.crash_duplicated,
        f.blind,
        f.published_blind.len(),
        f.edge,
        f.lines_nginx,
        f.lines_counted,
        lines_lost,
        lines_duplicated,
        f.lines_crash_lost,
        f.lines_crash_duplicated,
        f.lines_copytruncate_lost,
        f.lines_logrotate_lost,
        f.lines_read_before_truncate,
        soak.peak_hwm_kb as f64 / 1024.0,
        rss_first as f64 / 1024.0,
        rss_last as f64 / 1024.0,
        soak.lives.len(),
    );
    if let Some(reason) = &soak.disk_full_unavailable {
        println!("soak: disk_full was not effective: {reason}");
    }
    let stderr = std::fs::read_to_string(&stderr_path).unwrap_or_default();
    let mut failures = Vec::new();
    if !f.lost.is_empty() {
        failures.push(format!("readable periods not published: {:?}", f.lost));
    }
    if !f.duplicated.is_empty() {
        failures.push(format!("periods published twice without a crash: {:?}", f.duplicated));
    }
    if !f.published_blind.is_empty() {
        failures.push(format!(
            "periods published while nginx was down: {:?}",
            f.published_blind
        ));
    }
    if !f.lines_lost.is_empty() {
        failures.push(format!("lines lost (second, lines): {:?}", f.lines_lost));
    }
    if !f.lines_extra.is_empty() || !f.lines_duplicated.is_empty() {
        failures.push(format!(
            "lines counted more than nginx wrote (second, lines): {:?} {:?}",
            f.lines_extra, f.lines_duplicated
        ));
    }
    if !f.lines_files_mismatch.is_empty() {
        failures.push(format!(
            "access.log files and truth.log disagree away from a copytruncate (second, files - truth): {:?}",
            f.lines_files_mismatch
        ));
    }
    if f.lines_copytruncate_lost > 0 && possibly_lost_bytes == 0 {
        failures.push(format!(
            "{} lines lost around a copytruncate the exporter did not count as possibly lost",
            f.lines_copytruncate_lost
        ));
    }
    if f.readable == 0 || f.lines_nginx == 0 {
        failures.push("nothing to reconcile: no readable period or no line".into());
    }
    if rss_last > rss_first + rss_first / 2 + 4 * 1024 {
        failures.push(format!(
            "memory grew: VmRSS {rss_first} kB in the first third, {rss_last} kB in the last"
        ));
    }
    if !failures.is_empty() {
        // Keep the logs, configs and truth.log for a look.
        soak.dir.disable_cleanup(true);
    }
    assert!(
        failures.is_empty(),
        "soak failed (seed {seed}; files kept in {}):\n- {}\nnginx down: {:?}\nexporter down: {:?}\ncopytruncates: {:?}\nlast exporter's log (tail): {}",
        soak.dir.path().display(),
        failures.join("\n- "),
        soak.nginx_down,
        soak.exporter_down,
        soak.copytruncates,
        &stderr[stderr.len().saturating_sub(3000)..]
    );
}

/// The CI variant: 120 s of faults (every kind at least once), under 3 minutes in all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn soak_short() {
    soak(120).await;
}

/// `scripts/soak.sh --minutes N` runs this with SOAK_SECONDS = N * 60.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "long; run by scripts/soak.sh"]
async fn soak_long() {
    soak(1800).await;
}
