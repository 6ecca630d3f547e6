//! EMF to the CloudWatch agent's listener: an agent in the test (TCP, then UDP) that the
//! daemon writes newline-delimited EMF to; the TCP agent restarts mid-run and every
//! period's line must arrive exactly once. Real nginx on loopback.

use nginx_backlog_exporter_test_support as support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use support::*;
use tokio::io::AsyncBufReadExt;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// A TCP EMF listener: collects complete lines; `stop` closes the listener and every
/// connection, as an agent restart does.
struct Agent {
    tasks: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl Agent {
    async fn start(port: u16, lines: Arc<Mutex<Vec<String>>>) -> Agent {
        let listener = TcpListener::bind(("127.0.0.1", port)).await.unwrap();
        let tasks = Arc::new(Mutex::new(Vec::new()));
        let connections = tasks.clone();
        let accept = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let lines = lines.clone();
                let reader = tokio::spawn(async move {
                    let mut reader = tokio::io::BufReader::new(stream).lines();
                    while let Ok(Some(line)) = reader.next_line().await {
                        lines.lock().unwrap().push(line);
                    }
                });
                connections.lock().unwrap().push(reader);
            }
        });
        tasks.lock().unwrap().push(accept);
        Agent { tasks }
    }

    fn stop(self) {
        for task in self.tasks.lock().unwrap().drain(..) {
            task.abort();
        }
    }
}

fn config(nginx: &Nginx, output: &str, http_port: u16) -> String {
    format!(
        "[nginx]\nstatus_url = \"{}\"\nlisten_ports = [{}]\n[cloudwatch]\nnamespace = \"Test/Emf\"\ninstance_id = \"i-emf\"\nsample_interval = \"500ms\"\nperiod = \"1s\"\nput_metric_data = false\n[emf]\nenabled = true\noutput = \"{output}\"\n[http]\nlisten = \"127.0.0.1:{http_port}\"\n",
        nginx.status_url(),
        nginx.port
    )
}

fn timestamp(line: &str) -> u64 {
    let root: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("a whole JSON line: {e}: {line}"));
    assert_eq!(root["InstanceId"], "i-emf", "{line}");
    root["_aws"]["Timestamp"].as_u64().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_agent_restart_loses_and_duplicates_no_line() {
    let upstream = SlowUpstream::start().await;
    let nginx = Nginx::start(upstream.port).await;
    let (agent_port, http_port) = (free_port(), free_port());
    let received = Arc::new(Mutex::new(Vec::new()));
    let agent = Agent::start(agent_port, received.clone()).await;
    let dir = tempfile::tempdir().unwrap();
    let path = write_config(
        dir.path(),
        &config(&nginx, &format!("tcp://127.0.0.1:{agent_port}"), http_port),
    );
    let daemon = exporter()
        .arg("--config")
        .arg(&path)
        .arg("run")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let count = || received.lock().unwrap().len();
    wait_until(Duration::from_secs(15), "3 lines at the agent", async || count() >= 3).await;

    // The agent goes away just after a line (the next comes a period later); the daemon
    // keeps what it makes meanwhile.
    let before = count();
    wait_until(Duration::from_secs(5), "the next line", async || count() > before).await;
    agent.stop();
    let stopped_with = count();
    let buffered = "nginx_backlog_emf_lines_buffered{}";
    wait_until(
        Duration::from_secs(15),
        "3 lines buffered while the agent is down",
        async || metric(http_port, buffered).await >= 3.0,
    )
    .await;
    assert_eq!(count(), stopped_with, "nothing arrives while the agent is down");

    let _agent = Agent::start(agent_port, received.clone()).await;
    wait_until(Duration::from_secs(15), "the buffered lines delivered", async || {
        count() >= stopped_with + 3 && metric(http_port, buffered).await == 0.0
    })
    .await;
    wait_until(Duration::from_secs(5), "one more fresh line", async || {
        count() >= stopped_with + 4
    })
    .await;
    assert_eq!(metric(http_port, "nginx_backlog_emf_lines_dropped_total{}").await, 0.0);
    let stderr = stop(daemon).await;
    assert!(
        stderr.contains("lost") || stderr.contains("cannot reach"),
        "the outage is logged: {stderr}"
    );

    // Every period exactly once, in order, none missing: one line per 1 s period.
    let lines = received.lock().unwrap().clone();
    let stamps: Vec<u64> = lines.iter().map(|l| timestamp(l)).collect();
    for pair in stamps.windows(2) {
        assert_eq!(pair[1], pair[0] + 1000, "consecutive periods, once each: {stamps:?}");
    }
    println!(
        "{} lines over the run, {} of them after the agent stopped (at least 3 made while it was down)",
        lines.len(),
        lines.len() - stopped_with
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn udp_agent_gets_one_whole_line_per_datagram() {
    let upstream = SlowUpstream::start().await;
    let nginx = Nginx::start(upstream.port).await;
    let agent = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let agent_port = agent.local_addr().unwrap().port();
    let http_port = free_port();
    let dir = tempfile::tempdir().unwrap();
    let path = write_config(
        dir.path(),
        &config(&nginx, &format!("udp://127.0.0.1:{agent_port}"), http_port),
    );
    let (daemon, _lines) = dry_run_daemon(&path);
    let mut stamps = Vec::new();
    let mut buf = vec![0u8; 65_536];
    while stamps.len() < 3 {
        let n = tokio::time::timeout(Duration::from_secs(10), agent.recv(&mut buf))
            .await
            .expect("a datagram")
            .unwrap();
        let text = std::str::from_utf8(&buf[..n]).unwrap();
        let line = text
            .strip_suffix('\n')
            .expect("a datagram is one line with its newline");
        assert!(!line.contains('\n'), "one line per datagram: {text}");
        stamps.push(timestamp(line));
    }
    for pair in stamps.windows(2) {
        assert_eq!(pair[1], pair[0] + 1000, "{stamps:?}");
    }
    stop(daemon).await;
}
