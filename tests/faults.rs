//! Fault tests: the exporter binary against real nginx and ministack, with the fault proxy
//! (tests/support/fault_proxy.rs) between it and ministack. Real sockets and real time:
//! tokio's paused clock cannot drive a child process nor the SDK's sockets, so the daemon
//! runs with 1 s periods and outages last about 12 s. Datapoints are read back with
//! GetMetricStatistics at 1 s granularity: a period that arrived twice shows a doubled
//! SampleCount. Run with --nocapture to see the figures.

use nginx_backlog_exporter_test_support as support;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aws_sdk_cloudwatch::error::ProvideErrorMetadata;
use support::fault_proxy::{Call, Fault, FaultProxy};
use support::*;

const NAMESPACE: &str = "Test/Faults";
const INSTANCE: &str = "i-faults";
const HELD: f64 = 3.0;
/// sample_interval 500ms in 1 s periods.
const SAMPLES_PER_PERIOD: f64 = 2.0;
const OUTAGE: Duration = Duration::from_secs(12);

struct Rig {
    _upstream: SlowUpstream,
    _nginx: Nginx,
    ministack: Ministack,
    proxy: FaultProxy,
    dir: tempfile::TempDir,
    config: PathBuf,
    started: SystemTime,
}

impl Rig {
    async fn start(extra_cloudwatch: &str) -> Self {
        let upstream = SlowUpstream::start().await;
        let nginx = Nginx::start(upstream.port).await;
        let ministack = Ministack::start().await;
        let proxy = FaultProxy::start(&ministack.endpoint()).await;
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state");
        let text = format!(
            "[nginx]\nstatus_url = \"{}\"\n\n[cloudwatch]\nnamespace = \"{NAMESPACE}\"\nregion = \"us-east-1\"\ninstance_id = \"{INSTANCE}\"\nsample_interval = \"500ms\"\nperiod = \"1s\"\noperation_timeout = \"2s\"\n{extra_cloudwatch}\n[daemon]\nstate_directory = \"{}\"\n",
            nginx.status_url(),
            state.display()
        );
        let config = write_config(dir.path(), &text);
        // Requests stay held for the whole test so every sample reads HELD.
        std::mem::forget(nginx.hold_requests(HELD as usize).await);
        Rig {
            _upstream: upstream,
            _nginx: nginx,
            ministack,
            proxy,
            dir,
            config,
            started: SystemTime::now(),
        }
    }

    fn spool_file(&self) -> PathBuf {
        self.dir.path().join("state/spool-v1.log")
    }

    fn daemon(&self) -> tokio::process::Child {
        exporter()
            .env("AWS_ENDPOINT_URL", self.proxy.endpoint())
            .env(
                "NGINX_BACKLOG_EXPORTER_LOG",
                std::env::var("FAULT_LOG").unwrap_or("info".into()),
            )
            .arg("--config")
            .arg(&self.config)
            .arg("run")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    }

    /// Published periods, by unix second.
    async fn periods(&self) -> BTreeMap<u64, aws_sdk_cloudwatch::types::Datapoint> {
        self.ministack
            .datapoints(NAMESPACE, "PendingRequests", &[("InstanceId", INSTANCE)], self.started)
            .await
            .into_iter()
            .map(|p| (p.timestamp.unwrap().secs() as u64, p))
            .collect()
    }

    async fn wait_for_periods(&self, n: usize) {
        wait_until(Duration::from_secs(30), "periods published", async || {
            self.periods().await.len() >= n
        })
        .await;
    }

    /// Wait until every second in `from..=to` has a datapoint.
    async fn wait_for_all(&self, from: u64, to: u64, limit: Duration) {
        wait_until(limit, "every period of the outage published", async || {
            let periods = self.periods().await;
            (from..=to).all(|s| periods.contains_key(&s))
        })
        .await;
    }

    /// Keep `fault` for `duration` (then pass again if `restore`), sampling the spool file size; returns
    /// the largest seen.
    async fn outage(&self, fault: Fault, duration: Duration, restore: bool) -> u64 {
        self.proxy.set(fault).await;
        let until = Instant::now() + duration;
        let mut max_spool = 0;
        while Instant::now() < until {
            max_spool = max_spool.max(std::fs::metadata(self.spool_file()).map_or(0, |m| m.len()));
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        if restore {
            self.proxy.set(Fault::Pass).await;
        }
        max_spool
    }
}

fn unix_secs(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).unwrap().as_secs()
}

/// Every period arrived at most once (a duplicate doubles SampleCount past 2) and carries
/// the held requests; returns (periods, periods with a single sample).
fn check_exactly_once(periods: &BTreeMap<u64, aws_sdk_cloudwatch::types::Datapoint>) -> (usize, usize) {
    let mut single = 0;
    for (second, point) in periods {
        let count = point.sample_count.unwrap();
        assert!(
            (1.0..=SAMPLES_PER_PERIOD).contains(&count),
            "period {second} arrived more than once: {point:?}"
        );
        assert_eq!(point.sum, Some(HELD * count), "{point:?}");
        assert_eq!((point.minimum, point.maximum), (Some(HELD), Some(HELD)));
        single += usize::from(count == 1.0);
    }
    (periods.len(), single)
}

/// Seconds in `from..=to` with no datapoint.
fn missing(periods: &BTreeMap<u64, aws_sdk_cloudwatch::types::Datapoint>, from: u64, to: u64) -> Vec<u64> {
    (from..=to).filter(|s| !periods.contains_key(s)).collect()
}

/// The first four successful calls after `after` (request bytes): the newest alone first.
fn first_calls_after(calls: &[Call], after: Instant) -> Vec<usize> {
    calls
        .iter()
        .filter(|c| c.at >= after && c.status == Some(200))
        .take(4)
        .map(|c| c.request_bytes)
        .collect()
}

/// utime + stime of a process, in seconds (from /proc/PID/stat, clock ticks of 1/100 s).
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let fields: Vec<&str> = stat.rsplit_once(')').unwrap().1.split_whitespace().collect();
    // After the command name: state is field 3, utime field 14, stime field 15.
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    ticks as f64 / 100.0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sdk_reads_the_proxys_errors_as_cloudwatch_codes() {
    let ministack = Ministack::start().await;
    let proxy = FaultProxy::start(&ministack.endpoint()).await;
    let client = {
        let config = aws_sdk_cloudwatch::Config::builder()
            .behavior_version(aws_sdk_cloudwatch::config::BehaviorVersion::latest())
            .http_client(plain_http_client())
            .region(aws_sdk_cloudwatch::config::Region::new("us-east-1"))
            .endpoint_url(proxy.endpoint())
            .retry_config(aws_sdk_cloudwatch::config::retry::RetryConfig::disabled())
            .credentials_provider(aws_sdk_cloudwatch::config::Credentials::new(
                "test", "test", None, None, "test",
            ))
            .build();
        aws_sdk_cloudwatch::Client::from_conf(config)
    };
    let put = || {
        client.put_metric_data().namespace(NAMESPACE).metric_data(
            aws_sdk_cloudwatch::types::MetricDatum::builder()
                .metric_name("M")
                .value(1.0)
                .build(),
        )
    };
    put().send().await.expect("passes through to ministack");
    for (fault, code) in [
        (Fault::Throttle, "Throttling"),
        (Fault::AccessDenied, "AccessDenied"),
        (Fault::Status(500), "InternalServiceError"),
    ] {
        proxy.set(fault).await;
        let error = put().send().await.expect_err("the proxy fails it");
        assert_eq!(error.code(), Some(code), "{fault:?}: {error:?}");
    }
    proxy.set(Fault::Status(503)).await;
    let error = put().send().await.unwrap_err();
    assert_eq!(error.raw_response().map(|r| r.status().as_u16()), Some(503));
    assert_eq!(proxy.calls().len(), 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_denied_names_the_missing_permission_and_once_fails_fast() {
    let rig = Rig::start("").await;
    rig.proxy.set(Fault::AccessDenied).await;
    let started = Instant::now();
    let (code, _, stderr) = run_exporter(
        exporter()
            .env("AWS_ENDPOINT_URL", rig.proxy.endpoint())
            .arg("--config")
            .arg(&rig.config)
            .args(["once", "--window", "500ms"]),
    )
    .await;
    println!(
        "once under AccessDenied: exit {code} after {:?}: {stderr}",
        started.elapsed()
    );
    assert_eq!(code, 1);
    assert!(stderr.contains("AccessDenied"), "{stderr}");
    assert!(
        stderr.contains("cloudwatch:PutMetricData"),
        "names the permission: {stderr}"
    );
    assert!(!rig.spool_file().exists(), "once does not use the state directory");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_an_outage_every_datapoint_arrives_once_fresh_first() {
    let rig = Rig::start("").await;
    let daemon = rig.daemon();
    rig.wait_for_periods(2).await;
    let outage_start = SystemTime::now();
    let max_spool = rig.outage(Fault::Status(503), OUTAGE, true).await;
    let recovered = Instant::now();
    let recovered_at = SystemTime::now();
    let first = *rig.periods().await.keys().next().unwrap();
    rig.wait_for_all(first, unix_secs(recovered_at) - 1, Duration::from_secs(60))
        .await;
    let stderr = stop(daemon).await;

    let periods = rig.periods().await;
    let (count, single) = check_exactly_once(&periods);
    let last = *periods.keys().last().unwrap();
    assert_eq!(missing(&periods, first, last), Vec::<u64>::new(), "no gap");
    let calls = rig.proxy.calls();
    let failed = calls.iter().filter(|c| c.fault != Fault::Pass).count();
    let order = first_calls_after(&calls, recovered);
    // The first call after recovery carries the newest datapoint alone (another fresh one may
    // also go alone before the backlog); the backlog follows in a bigger call.
    let alone = *order.iter().min().unwrap_or(&0);
    assert!(
        order.first() == Some(&alone) && order.iter().any(|&bytes| bytes > alone),
        "fresh alone first, then the spool: {order:?}"
    );
    let outage_periods = unix_secs(recovered_at) - unix_secs(outage_start);
    println!(
        "outage: {outage_periods} periods in a {OUTAGE:?} 503 outage; {count} periods published ({single} with one sample), 0 lost, 0 duplicated; {} calls ({failed} failed); first calls after recovery carried {order:?} request bytes; max spool file {max_spool} bytes",
        calls.len()
    );
    assert!(max_spool > 0, "the outage went through the spool");
    assert!(stderr.contains("publishing recovered"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_during_an_outage_loses_and_duplicates_nothing() {
    let rig = Rig::start("").await;
    let mut daemon = rig.daemon();
    rig.wait_for_periods(2).await;
    let max_spool = rig.outage(Fault::Refuse, Duration::from_secs(8), false).await;
    let spooled_bytes = std::fs::metadata(rig.spool_file()).unwrap().len();
    let killed_at = SystemTime::now();
    daemon.start_kill().unwrap(); // SIGKILL
    daemon.wait().await.unwrap();
    rig.proxy.set(Fault::Pass).await;
    // `check` reports what waits in the spool (read only, no lock needed).
    let (_, check_out, _) = run_exporter(
        exporter()
            .env("AWS_ENDPOINT_URL", rig.proxy.endpoint())
            .arg("--config")
            .arg(&rig.config)
            .arg("check"),
    )
    .await;
    let waiting_line = check_out
        .lines()
        .find(|l| l.starts_with("spool "))
        .unwrap_or_default()
        .to_owned();
    let waiting: usize = waiting_line
        .split(": ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert!(
        waiting_line.contains("datapoint(s) waiting for CloudWatch") && waiting >= 5,
        "an 8 s outage of 1 s periods leaves at least 5 spooled: {check_out}"
    );

    let restarted = Instant::now();
    let daemon = rig.daemon();
    let first = *rig.periods().await.keys().next().unwrap();
    // The period open at the kill and the one closing during it were never complete.
    let last_closed = unix_secs(killed_at) - 2;
    rig.wait_for_all(first, last_closed, Duration::from_secs(30)).await;
    rig.wait_for_periods(rig.periods().await.len() + 2).await;
    let stderr = stop(daemon).await;

    let periods = rig.periods().await;
    let (count, single) = check_exactly_once(&periods);
    let lost = missing(&periods, first, last_closed);
    let order = first_calls_after(&rig.proxy.calls(), restarted);
    println!(
        "kill -9: spool held {spooled_bytes} bytes (max {max_spool}) at the kill; after restart {count} periods published ({single} with one sample), {} lost, 0 duplicated; first calls after restart carried {order:?} request bytes",
        lost.len()
    );
    assert_eq!(lost, Vec::<u64>::new());
    assert!(spooled_bytes > 0);
    let alone = *order.iter().min().unwrap_or(&0);
    assert!(
        order.first() == Some(&alone) && order.iter().any(|&bytes| bytes > alone),
        "fresh first after restart: {order:?}"
    );
    assert!(stderr.contains("spool opened"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_throttling_storm_stays_under_the_call_rate_without_spinning() {
    const MAX_CALLS_PER_SECOND: usize = 2;
    let rig = Rig::start(&format!("max_calls_per_second = {MAX_CALLS_PER_SECOND}")).await;
    let daemon = rig.daemon();
    let pid = daemon.id().unwrap();
    rig.wait_for_periods(2).await;
    let cpu_before = cpu_seconds(pid);
    let storm = Instant::now();
    rig.outage(Fault::Throttle, Duration::from_secs(15), true).await;
    let storm_wall = storm.elapsed().as_secs_f64();
    let storm_cpu = cpu_seconds(pid) - cpu_before;
    let recovered_at = SystemTime::now();
    let first = *rig.periods().await.keys().next().unwrap();
    rig.wait_for_all(first, unix_secs(recovered_at) - 1, Duration::from_secs(60))
        .await;
    let stderr = stop(daemon).await;

    let calls = rig.proxy.calls();
    let throttled = calls.iter().filter(|c| c.fault == Fault::Throttle).count();
    // Calls in any window of one second (less 50 ms of scheduling slack at the proxy).
    let busiest = calls
        .iter()
        .map(|c| {
            calls
                .iter()
                .filter(|d| d.at >= c.at && d.at < c.at + Duration::from_millis(950))
                .count()
        })
        .max()
        .unwrap_or(0);
    let (count, _) = check_exactly_once(&rig.periods().await);
    println!(
        "throttling storm: {storm_wall:.1} s, {throttled} throttled calls, {} calls in all, at most {busiest} in any second (limit {MAX_CALLS_PER_SECOND}); exporter CPU {storm_cpu:.2} s during the storm ({:.1}%); {count} periods published once each",
        calls.len(),
        100.0 * storm_cpu / storm_wall
    );
    assert!(busiest <= MAX_CALLS_PER_SECOND);
    assert!(throttled >= 2, "the storm was felt");
    assert!(stderr.contains("HTTP 400 Throttling"), "{stderr}");
    // Generous: a busy loop would burn a whole core.
    assert!(storm_cpu < 0.5 * storm_wall, "{storm_cpu} s CPU in {storm_wall} s");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_spool_drops_the_oldest_first_and_stays_bounded() {
    // 1 KiB: room for 8 datapoints (half of it, 57 bytes each).
    const SPOOL_MAX_BYTES: u64 = 1024;
    const SPOOL_DATAPOINTS: u64 = 8;
    let rig = Rig::start(&format!("spool_max_bytes = {SPOOL_MAX_BYTES}")).await;
    let daemon = rig.daemon();
    rig.wait_for_periods(2).await;
    let outage_start = SystemTime::now();
    let max_spool = rig.outage(Fault::Reset, OUTAGE, true).await;
    let restored = Instant::now();
    // The outage, as the daemon sees it, lasts until its first retry after the proxy passes
    // again: backoff may put that up to 16 s later, and periods keep closing meanwhile.
    let success_after = |after: Instant| {
        rig.proxy
            .calls()
            .into_iter()
            .find(|c| c.at >= after && c.status == Some(200))
    };
    wait_until(
        Duration::from_secs(120),
        "the first call after the outage",
        async || success_after(restored).is_some(),
    )
    .await;
    let first_ok = success_after(restored).unwrap().at;
    // Then the spooled backlog follows in a second call.
    wait_until(
        Duration::from_secs(30),
        "the backlog after the fresh datapoint",
        async || success_after(first_ok + Duration::from_millis(1)).is_some(),
    )
    .await;
    let first_ok_secs = unix_secs(SystemTime::now() - first_ok.elapsed());
    tokio::time::sleep(Duration::from_secs(2)).await;
    let stderr = stop(daemon).await;

    let periods = rig.periods().await;
    check_exactly_once(&periods);
    let first = *periods.keys().next().unwrap();
    let last = *periods.keys().last().unwrap();
    let lost = missing(&periods, first, last);
    let dropped_logged = stderr.matches("dropped the oldest").count();
    // What waited for the first successful call: the periods between the loss and that call.
    let kept = lost.last().map_or(0, |l| first_ok_secs.saturating_sub(*l + 1));
    println!(
        "spool full: {} periods failed to send (outage {} s, first success {} s after it began), {} lost ({lost:?}), {kept} kept and sent, spool file at most {max_spool} bytes (bound {SPOOL_MAX_BYTES}), {dropped_logged} drop warning(s)",
        first_ok_secs - unix_secs(outage_start),
        OUTAGE.as_secs(),
        first_ok_secs - unix_secs(outage_start),
        lost.len()
    );
    assert!(!lost.is_empty(), "a 12 s outage overflows 8 datapoints");
    assert!(max_spool <= SPOOL_MAX_BYTES);
    // Oldest first: what was lost is one run at the start of the outage, everything after it arrived.
    assert_eq!(
        *lost.last().unwrap() - lost[0] + 1,
        lost.len() as u64,
        "one contiguous run: {lost:?}"
    );
    assert!(lost[0] >= unix_secs(outage_start) - 1, "{lost:?}");
    // Nothing beyond the bound was lost: the spool's 8 plus the fresh one (one more or less
    // for periods closing around the second boundaries).
    assert!(
        (SPOOL_DATAPOINTS..=SPOOL_DATAPOINTS + 2).contains(&kept),
        "kept {kept} periods through the outage, bound {SPOOL_DATAPOINTS} + 1 fresh: lost {lost:?}, first success at {first_ok_secs}"
    );
    assert_eq!(dropped_logged, 1, "drops are logged once a minute: {stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expiring_instance_role_credentials_are_refreshed_without_a_failed_call() {
    // Credentials from the (emulated) instance role that expire 20 s after each fetch: the SDK
    // chain must fetch new ones before they expire, and no call may fail meanwhile.
    let imds = Imds::start_with_role(INSTANCE, "us-east-1", Duration::from_secs(20)).await;
    let rig = Rig::start("").await;
    let home = tempfile::tempdir().unwrap();
    let daemon = exporter()
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env("HOME", home.path())
        .env("AWS_EC2_METADATA_SERVICE_ENDPOINT", imds.endpoint())
        .env("AWS_ENDPOINT_URL", rig.proxy.endpoint())
        .env("NGINX_BACKLOG_EXPORTER_LOG", "info")
        .arg("--config")
        .arg(&rig.config)
        .arg("run")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let started = SystemTime::now();
    wait_until(
        Duration::from_secs(90),
        "three sets of credentials in turn",
        async || {
            let mut keys = rig.proxy.access_keys();
            keys.dedup();
            keys.len() >= 3
        },
    )
    .await;
    let elapsed = started.elapsed().unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let stderr = stop(daemon).await;

    let keys = rig.proxy.access_keys();
    let mut distinct = keys.clone();
    distinct.dedup();
    let calls = rig.proxy.calls();
    let failed = calls.iter().filter(|c| c.status != Some(200)).count();
    let periods = rig.periods().await;
    check_exactly_once(&periods);
    let (first, last) = (*periods.keys().next().unwrap(), *periods.keys().last().unwrap());
    let lost = missing(&periods, first, last);
    println!(
        "credentials: {} calls in {:.0} s signed with {distinct:?} in turn; {failed} failed; {} periods, {} lost",
        calls.len(),
        elapsed.as_secs_f64(),
        periods.len(),
        lost.len()
    );
    assert!(distinct.iter().all(|k| k.starts_with("ASIATEST")), "{distinct:?}");
    assert_eq!(failed, 0, "{stderr}");
    assert!(lost.is_empty(), "{lost:?}");
    assert!(!stderr.contains("publish failed"), "{stderr}");
}
