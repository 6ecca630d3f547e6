//! nginx restarts, reloads, binary upgrades and outages: no negative or spiking rates, no
//! datapoint of 0 while nginx is away, and sampling resumes by itself.

use nginx_backlog_exporter_test_support as support;

use std::time::Duration;

use support::*;

/// Drive `n` quick requests through nginx.
async fn traffic(nginx_port: u16, n: usize) {
    for _ in 0..n {
        let _ = http_get(&format!("http://127.0.0.1:{nginx_port}/fast")).await;
    }
}

/// Watches /metrics while `during` runs, checking every reading of the rate.
struct RateWatch {
    readings: Vec<f64>,
}

impl RateWatch {
    async fn sample(&mut self, http_port: u16) {
        if let Some(seen) = metrics(http_port).await {
            self.readings.push(seen["nginx_backlog_requests_per_second{}"]);
        }
    }

    fn check(&self, max_plausible: f64) {
        let known: Vec<f64> = self.readings.iter().copied().filter(|r| !r.is_nan()).collect();
        assert!(!known.is_empty(), "some rate was measured: {:?}", self.readings);
        for rate in &known {
            assert!(*rate >= 0.0, "negative rate in {:?}", self.readings);
            assert!(*rate <= max_plausible, "spike {rate} in {:?}", self.readings);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_reload_and_upgrade_keep_rates_sane_and_outages_silent() {
    let upstream = SlowUpstream::start().await;
    let mut nginx = Nginx::start(upstream.port).await;
    let http_port = free_port();
    let dir = tempfile::tempdir().unwrap();
    let config = format!(
        "[nginx]\nstatus_url = \"{}\"\ntimeout = \"300ms\"\nlisten_ports = [{}]\n[cloudwatch]\nnamespace = \"Test/Faults\"\ninstance_id = \"i-faults\"\nsample_interval = \"500ms\"\nperiod = \"1s\"\n[http]\nlisten = \"127.0.0.1:{http_port}\"\n",
        nginx.status_url(),
        nginx.port
    );
    let path = write_config(dir.path(), &config);
    let (daemon, mut lines) = dry_run_daemon(&path);
    let mut watch = RateWatch { readings: Vec::new() };
    // Before: a few hundred requests, so the counters are well above what a fresh nginx has.
    for _ in 0..6 {
        traffic(nginx.port, 60).await;
        watch.sample(http_port).await;
        tokio::time::sleep(Duration::from_millis(250)).await;
    }

    // Restart: counters reset to near zero.
    nginx.restart().await;
    for _ in 0..6 {
        traffic(nginx.port, 10).await;
        watch.sample(http_port).await;
        tokio::time::sleep(Duration::from_millis(250)).await;
    }

    // Reload (HUP): new workers, same shared counters.
    let master = nginx.master_pid().unwrap();
    assert!(std::process::Command::new("kill")
        .args(["-HUP", &master.to_string()])
        .status()
        .unwrap()
        .success());
    for _ in 0..6 {
        traffic(nginx.port, 10).await;
        watch.sample(http_port).await;
        tokio::time::sleep(Duration::from_millis(250)).await;
    }

    // Binary upgrade: USR2 starts a new master, WINCH and QUIT retire the old one.
    let pid_file = nginx.dir.path().join("nginx.pid");
    assert!(std::process::Command::new("kill")
        .args(["-USR2", &master.to_string()])
        .status()
        .unwrap()
        .success());
    wait_until(Duration::from_secs(10), "the new master", async || {
        std::fs::read_to_string(&pid_file).is_ok_and(|pid| pid.trim() != master.to_string())
    })
    .await;
    for signal in ["-WINCH", "-QUIT"] {
        assert!(std::process::Command::new("kill")
            .args([signal, &master.to_string()])
            .status()
            .unwrap()
            .success());
    }
    for _ in 0..8 {
        traffic(nginx.port, 10).await;
        watch.sample(http_port).await;
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    // At most ~60 requests per 250 ms are driven here; anything far above is a spike.
    watch.check(2000.0);

    // Outage: nginx gone. Nothing is published for its periods, /healthz says so, and
    // sampling resumes by itself when nginx is back.
    nginx.stop();
    wait_until(Duration::from_secs(10), "unhealthy while nginx is away", async || {
        http_get(&format!("http://127.0.0.1:{http_port}/healthz"))
            .await
            .is_some_and(|(status, _)| status == 503)
    })
    .await;
    let printed_before = lines.seen.len();
    let before_outage_end = std::time::SystemTime::now();
    tokio::time::sleep(Duration::from_secs(2)).await;
    nginx.start_again().await;
    let back = lines
        .wait_for(Duration::from_secs(10), "a datapoint after nginx came back", |line| {
            let request: serde_json::Value = serde_json::from_str(line).unwrap();
            let stamp = request["metric_data"][0]["timestamp"].as_str().unwrap();
            humantime::parse_rfc3339(stamp).unwrap() > before_outage_end
        })
        .await;
    assert!(
        back.contains("\"maximum\":0.0"),
        "nothing in flight after the restart: {back}"
    );
    for line in &lines.seen[printed_before.saturating_sub(2)..] {
        assert!(!line.contains("\"sample_count\":0"), "no empty statistic set: {line}");
    }
    let seen = metrics(http_port).await.unwrap();
    assert!(
        seen["nginx_backlog_periods_blind_total{}"] >= 1.0,
        "blind periods counted: {seen:?}"
    );
    stop(daemon).await;
    upstream.release();
}
