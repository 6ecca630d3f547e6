//! Black-box: a real nginx writes its access log, a real logrotate rotates it, and the
//! tailer must read every request's line exactly once.
//!
//! Needs Debian's `nginx-light` (or any nginx at /usr/sbin/nginx) and `logrotate`; CI
//! installs both. A missing binary fails the test with a message saying so.

use nginx_backlog_exporter_test_support as support;

use std::fmt::Write as _;
use std::os::unix::fs::PermissionsExt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nginx_backlog_exporter::sources::access_log::tail::{StartAt, TailCounters, Tailer, TailerOptions};
use support::{http_get, logrotate, Nginx, SlowUpstream, DEBIAN_NGINX_LOGROTATE};
use tokio_util::sync::CancellationToken;

const BEFORE_ROTATION: usize = 60;
const AFTER_ROTATION: usize = 40;

/// One request, numbered so its log line can be told from every other; nginx writes the
/// line before it closes the connection.
async fn request(nginx: &Nginx, number: usize) {
    let answer = http_get(&format!("http://127.0.0.1:{}/req-{number}", nginx.port)).await;
    assert!(
        matches!(answer, Some((200, _))),
        "unexpected answer {answer:?}: {}",
        nginx.error_log()
    );
}

/// The request numbers in the lines read, in order (the lines of nginx's start-up probes of
/// stub_status are not numbered and are left out).
fn request_numbers(lines: &[Vec<u8>]) -> Vec<usize> {
    lines
        .iter()
        .filter_map(|line| {
            let line = String::from_utf8_lossy(line);
            let start = line.find("/req-")? + "/req-".len();
            let digits: String = line[start..].chars().take_while(char::is_ascii_digit).collect();
            Some(digits.parse().unwrap())
        })
        .collect()
}

async fn wait_for_lines(seen: &Mutex<Vec<Vec<u8>>>, count: usize) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while request_numbers(&seen.lock().unwrap()).len() < count && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Requests, rotation, more requests; returns the tailer's counters after checking lines.
async fn rotate_under_load(directives: &str, wait_before_rotating: bool) -> TailCounters {
    let upstream = SlowUpstream::start().await;
    // Two workers: each reopens the log on USR1, and one may still write to the old file.
    let nginx = Nginx::start_workers(upstream.port, 2, 64, "").await;
    let dir = nginx.dir.path();
    // Workers drop root; they must reach the log they reopen after USR1.
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let log = dir.join("access.log");
    let tailer = Tailer::open(TailerOptions {
        start_at: StartAt::Beginning,
        recheck_interval: Duration::from_millis(100),
        rotated_file_grace: Duration::from_secs(2),
        ..TailerOptions::new(&log, dir.join("tail-state"))
    })
    .unwrap();
    let token = CancellationToken::new();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink_seen = Arc::clone(&seen);
    let task = tokio::spawn(tailer.run(token.clone(), move |line: &[u8]| {
        sink_seen.lock().unwrap().push(line.to_vec())
    }));

    for number in 0..BEFORE_ROTATION {
        request(&nginx, number).await;
    }
    if wait_before_rotating {
        wait_for_lines(&seen, BEFORE_ROTATION).await;
    }
    let d = dir.display();
    let directives = directives.replace("{d}", &d.to_string());
    logrotate(dir, &log, &format!("{DEBIAN_NGINX_LOGROTATE}{directives}"));
    for number in BEFORE_ROTATION..BEFORE_ROTATION + AFTER_ROTATION {
        request(&nginx, number).await;
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
