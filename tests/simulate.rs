//! `simulate` end to end through the binary: the shipped policy on a series, on an access
//! log, on the series read back from a CloudWatch API, the AWS CLI JSON it prints read back,
//! and bad input refused with the file, key and line.

use nginx_backlog_exporter_test_support as support;

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use support::{exporter, load_test, replay_csv, run_exporter};

fn shipped_policy() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("config/scaling-policy.toml")
}

fn json_rows(stdout: &str) -> Vec<serde_json::Value> {
    stdout
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect()
}

async fn simulate(args: &[&str]) -> (i32, String, String) {
    run_exporter(exporter().arg("simulate").args(args)).await
}

/// The shipped example on a load test: the first scale-out comes 40 s after the backlog
/// crosses 20 (3 of 3 ten-second periods, the last seen 5 s after it ends), capacity reaches the group's max of 6 and returns
/// to its min of 2 once the backlog is gone, and never leaves [2, 6].
#[tokio::test]
async fn the_shipped_policy_scales_out_and_back_in_on_a_load_test() {
    let dir = tempfile::tempdir().unwrap();
    let start = 1_764_547_200; // on a minute boundary
    let series = replay_csv(dir.path(), start, &load_test());
    let policy = shipped_policy();
    let (code, stdout, stderr) = simulate(&[
        "--policy",
        policy.to_str().unwrap(),
        "--series",
        series.to_str().unwrap(),
        "--output",
        "json",
    ])
    .await;
    assert_eq!(code, 0, "{stderr}");
    let rows = json_rows(&stdout);
    let time_of = |row: &serde_json::Value| {
        humantime::parse_rfc3339(row["time"].as_str().unwrap())
            .unwrap()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_secs()
            - start
    };
    let capacities: Vec<u64> = rows.iter().map(|r| r["desired_capacity"].as_u64().unwrap()).collect();
    assert!(capacities.iter().all(|c| (2..=6).contains(c)), "{capacities:?}");
    assert_eq!(capacities.iter().max(), Some(&6));
    assert_eq!(capacities.last(), Some(&2));
    // The backlog is 30 from 120 s on; the periods 120, 130 and 140 s have ended at 150 s,
    // and reach the alarm 5 s later (the default ingestion delay): ALARM at the evaluation
    // of 160 s.
    let first_out = rows
        .iter()
        .find(|r| !r["activity"].is_null())
        .expect("a scaling activity");
    assert_eq!(time_of(first_out), 160, "{first_out}");
    assert_eq!(first_out["activity"]["from"], 2);
    assert_eq!(first_out["activity"]["to"], 3);
    assert_eq!(first_out["activity"]["policy"], "web-scale-out");
    // Every row names both alarms; the high one is in ALARM at the first scale-out.
    assert_eq!(first_out["alarms"][0]["name"], "web-pending-high");
    assert_eq!(first_out["alarms"][0]["state"], "ALARM");
    // Rows every 10 s from the end of the first period to the end of the last.
    assert_eq!(rows.len(), load_test().len());
    assert_eq!(time_of(&rows[0]), 10);
    // The summary goes to stderr with --output json and lists the activities.
    assert!(
        stderr.contains("web-scale-out") && stderr.contains("web-scale-in"),
        "{stderr}"
    );
}

/// `--print-aws` writes the three AWS CLI documents; simulating them gives the same rows as
/// the TOML they came from (the round trip that says render and import agree).
#[tokio::test]
async fn print_aws_documents_simulate_the_same_as_the_toml() {
    let dir = tempfile::tempdir().unwrap();
    let series = replay_csv(dir.path(), 1_764_547_200, &load_test());
    let policy = shipped_policy();
    let aws = dir.path().join("aws");
    let (code, stdout, stderr) = simulate(&[
        "--policy",
        policy.to_str().unwrap(),
        "--print-aws",
        aws.to_str().unwrap(),
    ])
    .await;
    assert_eq!(code, 0, "{stderr}");
    for name in ["alarms.json", "policies.json", "group.json"] {
        assert!(aws.join(name).exists(), "{name}: {stdout}");
    }
    let (code, from_toml, stderr) = simulate(&[
        "--policy",
        policy.to_str().unwrap(),
        "--series",
        series.to_str().unwrap(),
        "--output",
        "csv",
    ])
    .await;
    assert_eq!(code, 0, "{stderr}");
    let file = |name: &str| aws.join(name).to_str().unwrap().to_owned();
    let (code, from_json, stderr) = simulate(&[
        "--alarms",
        &file("alarms.json"),
        "--policies",
        &file("policies.json"),
        "--group",
        &file("group.json"),
        "--capacity",
        "2",
        "--series",
        series.to_str().unwrap(),
        "--output",
        "csv",
    ])
    .await;
    assert_eq!(code, 0, "{stderr}");
    assert!(from_toml.lines().count() > 90);
    assert_eq!(from_json, from_toml);
}

/// Bad input: exit 2, one line naming what is wrong and where.
#[tokio::test]
async fn bad_series_and_policies_are_refused_with_the_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let policy = shipped_policy();
    let policy = policy.to_str().unwrap();

    let empty = dir.path().join("empty.csv");
    std::fs::write(&empty, format!("{}\n", nginx_backlog_exporter::replay::CSV_HEADER)).unwrap();
    let (code, _, stderr) = simulate(&["--policy", policy, "--series", empty.to_str().unwrap()]).await;
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("empty"), "{stderr}");

    let nan = dir.path().join("nan.csv");
    std::fs::write(
        &nan,
        "timestamp,Average\n2026-01-01T00:00:00Z,1\n2026-01-01T00:00:10Z,NaN\n",
    )
    .unwrap();
    let (code, _, stderr) = simulate(&["--policy", policy, "--series", nan.to_str().unwrap()]).await;
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("nan.csv") && stderr.contains(":3"), "{stderr}");

    // The shipped alarms use Average; a series of Maximum alone lacks it.
    let max_only = dir.path().join("max.csv");
    std::fs::write(
        &max_only,
        "timestamp,Maximum\n2026-01-01T00:00:00Z,1\n2026-01-01T00:00:10Z,2\n",
    )
    .unwrap();
    let (code, _, stderr) = simulate(&["--policy", policy, "--series", max_only.to_str().unwrap()]).await;
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("web-pending-high") && stderr.contains("Average") && stderr.contains("Maximum"),
        "{stderr}"
    );

    // An overlapping step in a policy file.
    let bad = dir.path().join("bad.toml");
    let text = std::fs::read_to_string(shipped_policy()).unwrap().replacen(
        "metric_interval_lower_bound = 20.0",
        "metric_interval_lower_bound = 10.0",
        1,
    );
    std::fs::write(&bad, text).unwrap();
    let series = replay_csv(dir.path(), 1_764_547_200, &load_test());
    let (code, _, stderr) = simulate(&["--policy", bad.to_str().unwrap(), "--series", series.to_str().unwrap()]).await;
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("bad.toml:") && stderr.contains("step_adjustments"),
        "{stderr}"
    );
}

/// `--log`: replay's own code makes the series. Forty requests of 2 s start every second for
/// two minutes (about 80 in flight), then one short request a second: the scale-out alarm
/// fires during the burst and capacity comes back to 2 after it.
#[tokio::test]
async fn a_log_replayed_into_the_simulation_scales_out_on_its_burst() {
    let dir = tempfile::tempdir().unwrap();
    let start = 1_764_547_200u64;
    let mut log = String::new();
    for second in 0..900u64 {
        let burst = (60..180).contains(&second);
        for i in 0..(if burst { 40 } else { 1 }) {
            let (duration, ms) = if burst { (2.0, i * 20) } else { (0.05, 0) };
            log.push_str(&format!("{}.{ms:03} 200 {duration:.3}\n", start + second + 2));
        }
    }
    let path = dir.path().join("access.log");
    std::fs::write(&path, log).unwrap();
    let policy = shipped_policy();
    let (code, stdout, stderr) = simulate(&[
        "--policy",
        policy.to_str().unwrap(),
        "--log-format",
        "$msec $status $request_time",
        "--log",
        path.to_str().unwrap(),
        "--output",
        "json",
    ])
    .await;
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("simulate: "), "replay's summary line: {stderr}");
    let rows = json_rows(&stdout);
    let peak = rows.iter().map(|r| r["desired_capacity"].as_u64().unwrap()).max();
    assert_eq!(peak, Some(6), "the burst scales out to the max");
    assert_eq!(rows.last().unwrap()["desired_capacity"], 2);
}

/// `--from-cloudwatch`: the series published to a CloudWatch API (ministack on loopback) is
/// read back with GetMetricData under the config's namespace, metric and InstanceId, and
/// simulated; a window older than CloudWatch keeps at that period is refused up front.
#[tokio::test]
async fn the_published_series_is_read_back_from_cloudwatch_and_simulated() {
    let ministack = support::Ministack::start().await;
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let start = now - now % 60 - 30 * 60;
    let averages = load_test();
    ministack
        .put_series("Sim/Proxy", "i-0sim0000000000000", start, &averages)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let config = support::write_config(
        dir.path(),
        "[nginx]\nstatus_url = \"http://127.0.0.1:9/nginx_status\"\n[cloudwatch]\nnamespace = \"Sim/Proxy\"\nregion = \"us-east-1\"\ninstance_id = \"i-0sim0000000000000\"\nperiod = \"10s\"\nstorage_resolution = 1\n",
    );
    let rfc3339 =
        |secs: u64| humantime::format_rfc3339_seconds(SystemTime::UNIX_EPOCH + Duration::from_secs(secs)).to_string();
    let policy = shipped_policy();
    let run = |from: u64, to: u64| {
        let mut command = exporter();
        command
            .env("AWS_ENDPOINT_URL", ministack.endpoint())
            .arg("--config")
            .arg(&config)
            .args(["simulate", "--policy", policy.to_str().unwrap(), "--from-cloudwatch"])
            .args(["--start", &rfc3339(from), "--end", &rfc3339(to), "--output", "json"]);
        command
    };
    let (code, stdout, stderr) = run_exporter(&mut run(start, start + 10 * averages.len() as u64)).await;
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains(&format!("{} datapoints", averages.len())), "{stderr}");
    let rows = json_rows(&stdout);
    assert_eq!(
        rows.iter().map(|r| r["desired_capacity"].as_u64().unwrap()).max(),
        Some(6)
    );
    // A 10 s period for a window that began four hours ago: CloudWatch has only 60 s data.
    let (code, _, stderr) = run_exporter(&mut run(now - 4 * 3600, now)).await;
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("--period 60s"), "{stderr}");
}

/// `--plot` on simulate and on replay writes an SVG with the paths the plot promises.
#[tokio::test]
async fn simulate_and_replay_draw_their_plots() {
    let dir = tempfile::tempdir().unwrap();
    let series = replay_csv(dir.path(), 1_764_547_200, &load_test());
    let policy = shipped_policy();
    let svg = dir.path().join("simulate.svg");
    let (code, _, stderr) = simulate(&[
        "--policy",
        policy.to_str().unwrap(),
        "--series",
        series.to_str().unwrap(),
        "--plot",
        svg.to_str().unwrap(),
    ])
    .await;
    assert_eq!(code, 0, "{stderr}");
    let text = std::fs::read_to_string(&svg).unwrap();
    assert!(
        text.contains("web-pending-high: threshold 20"),
        "threshold in the legend"
    );
    assert!(text.matches("<polyline").count() >= 6, "series, thresholds, capacity");
    // The high alarm is in ALARM over one interval of the load test: one band of its colour.
    let band = text
        .split('<')
        .filter(|e| e.starts_with("rect") && e.contains("fill=\"#FF7F0E\"") && e.contains("opacity=\"0.18\""))
        .count();
    assert_eq!(band, 1);

    let log = dir.path().join("access.log");
    let lines: String = (0..300)
        .map(|i| format!("{}.000 200 0.500\n", 1_764_547_200 + i))
        .collect();
    std::fs::write(&log, lines).unwrap();
    let replay_svg = dir.path().join("replay.svg");
    let (code, stdout, stderr) = run_exporter(exporter().args([
        "replay",
        "--log-format",
        "$msec $status $request_time",
        "--plot",
        replay_svg.to_str().unwrap(),
        log.to_str().unwrap(),
    ]))
    .await;
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.starts_with("time,completed"), "the CSV is unchanged: {stdout}");
    let text = std::fs::read_to_string(&replay_svg).unwrap();
    assert!(text.contains("in flight, average") && text.contains("completed"));
    assert!(text.matches("<polyline").count() >= 6);
}

/// A log of 1 s requests (upstream 0.9 s of each): 10 a second for two minutes, 40 a second
/// for three, then 2 a second for twelve. Logged at their end, in end order, as nginx does.
fn ramp_log(dir: &Path) -> PathBuf {
    let start = 1_764_547_200u64 * 1000;
    let mut lines: Vec<(u64, String)> = Vec::new();
    let mut at = 0u64;
    for (seconds, rate) in [(120u64, 10u64), (180, 40), (720, 2)] {
        for i in 0..seconds * rate {
            let arrival = start + at + i * 1000 / rate;
            // The backend's time, and nginx's own 100 ms on top.
            let end = arrival + 1000;
            lines.push((end, format!("{}.{:03} 200 1.000 0.900\n", end / 1000, end % 1000)));
        }
        at += seconds * 1000;
    }
    lines.sort();
    let path = dir.join("access.log");
    std::fs::write(&path, lines.into_iter().map(|(_, l)| l).collect::<String>()).unwrap();
    path
}

const RAMP_FORMAT: &str = "$msec $status $request_time $upstream_response_time";

/// A figure of the closed loop's table: `(scaled, fixed)` on the line starting with `name`.
fn table_row(summary: &str, name: &str) -> (String, String) {
    let line = summary
        .lines()
        .find(|l| l.starts_with(name))
        .unwrap_or_else(|| panic!("no {name:?} row in:\n{summary}"));
    let rest = line[name.len()..].trim();
    // Columns are right-aligned and at least two spaces apart.
    let columns: Vec<&str> = rest.split("  ").map(str::trim).filter(|c| !c.is_empty()).collect();
    assert_eq!(columns.len(), 2, "{line}");
    (columns[0].to_owned(), columns[1].to_owned())
}

fn secs(cell: &str) -> f64 {
    cell.trim_end_matches(" s")
        .parse()
        .unwrap_or_else(|_| panic!("{cell:?}"))
}

/// `--unit-concurrency` closes the loop: the shipped policy on 2 tasks of 10 slots scales out
/// during the burst, which keeps the queueing far below the fixed 2 tasks', for more
/// capacity-hours, and scales back in when the load drops.
#[tokio::test]
async fn the_closed_loop_scales_out_on_a_burst_and_waits_less_than_the_fixed_pool() {
    let dir = tempfile::tempdir().unwrap();
    let log = ramp_log(dir.path());
    let policy = shipped_policy();
    let plot = dir.path().join("loop.svg");
    let (code, stdout, stderr) = simulate(&[
        "--policy",
        policy.to_str().unwrap(),
        "--log-format",
        RAMP_FORMAT,
        "--log",
        log.to_str().unwrap(),
        "--unit-concurrency",
        "10",
        "--launch-time",
        "60s",
        "--slo",
        "1s",
        "--plot",
        plot.to_str().unwrap(),
    ])
    .await;
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains("closed loop: 9840 requests into 2 unit(s) × K 10 = 20 slots"),
        "{stdout}"
    );
    // What was read says requests (120 × 10 + 180 × 40 + 720 × 2 lines), not a count of
    // periods the closed loop never makes from the log.
    assert!(
        stderr.contains("simulate: 9840 lines in") && stderr.contains(", 9840 requests, "),
        "{stderr}"
    );
    assert!(!stderr.contains(" periods,"), "{stderr}");
    let (scaled, fixed) = table_row(&stdout, "queueing delay p99");
    assert!(secs(&scaled) * 3.0 < secs(&fixed), "p99 {scaled} vs {fixed}");
    let (scaled_hours, fixed_hours) = table_row(&stdout, "capacity-hours");
    assert!(scaled_hours.parse::<f64>().unwrap() > fixed_hours.parse::<f64>().unwrap());
    let (capacity, _) = table_row(&stdout, "capacity (units)");
    assert!(capacity.starts_with("2 to ") && capacity != "2 to 2", "{capacity}");
    // Service time is the upstream's 0.9 s: 10 a second keep 9 busy, under the 20 threshold.
    assert!(
        stdout.contains("web-scale-in"),
        "scales back in after the burst:\n{stdout}"
    );
    let svg = std::fs::read_to_string(&plot).unwrap();
    assert!(svg.contains("<svg"));
}

/// `--sweep` runs once per value; each row's figures come from its own run: a lower
/// scale-out threshold never waits longer here, and out-of-range values are refused in
/// their row.
#[tokio::test]
async fn a_sweep_prints_one_row_per_threshold() {
    let dir = tempfile::tempdir().unwrap();
    let log = ramp_log(dir.path());
    let policy = shipped_policy();
    let (code, stdout, stderr) = simulate(&[
        "--policy",
        policy.to_str().unwrap(),
        "--log-format",
        RAMP_FORMAT,
        "--log",
        log.to_str().unwrap(),
        "--unit-concurrency",
        "10",
        "--launch-time",
        "60s",
        "--slo",
        "1s",
        "--sweep",
        "alarm.web-pending-high.threshold=10..100:30",
        "--output",
        "csv",
    ])
    .await;
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("sweep of alarm.web-pending-high.threshold over 4 values"),
        "{stderr}"
    );
    let rows: Vec<Vec<&str>> = stdout.lines().skip(1).map(|l| l.split(',').collect()).collect();
    assert_eq!(
        stdout.lines().next(),
        Some(nginx_backlog_exporter::simulate::loop_report::SWEEP_CSV_HEADER)
    );
    let values: Vec<&str> = rows.iter().map(|r| r[0]).collect();
    assert_eq!(values, ["10", "40", "70", "100"]);
    let p99: Vec<f64> = rows.iter().map(|r| r[3].parse().unwrap()).collect();
    assert!(p99.windows(2).all(|w| w[0] <= w[1]), "{p99:?}");
    assert!(p99[0] < p99[3], "{p99:?}");

    let (code, _, stderr) = simulate(&[
        "--policy",
        policy.to_str().unwrap(),
        "--log-format",
        RAMP_FORMAT,
        "--log",
        log.to_str().unwrap(),
        "--unit-concurrency",
        "10",
        "--launch-time",
        "60s",
        "--sweep",
        "alarm.web-pending-hi.threshold=10..100:30",
    ])
    .await;
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("no alarm named \"web-pending-hi\""), "{stderr}");
    assert!(stderr.contains("alarm.web-pending-high.threshold"), "{stderr}");
}

/// Issue 22: `simulate --log` on nginx's default `combined` format (no `$request_time`)
/// simulated a series of zeros and said it never breached. It is refused, naming the
/// variable and the format.
#[tokio::test]
async fn a_log_without_request_time_is_refused() {
    let log = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/access_log/nginx-1.22-combined.log"
    );
    let policy = shipped_policy();
    let (code, stdout, stderr) = simulate(&["--policy", policy.to_str().unwrap(), "--log", log]).await;
    assert_eq!(code, 2, "{stderr}");
    assert_eq!(stdout, "");
    assert_eq!(
        stderr,
        "nginx-backlog-exporter: simulate --log needs $request_time in the log format (requests in flight come from it), and nginx's default format combined has none\n"
    );
}

/// The delay flags: a negative or malformed duration is a usage error naming the flag (exit
/// 2); a valid one moves the timeline (an ingestion delay of 15 s: the periods ending at 150
/// s reach the alarm at 165 s, so the first scale-out is at 170 s), and the summary shows
/// where the time goes for every scale-out.
#[tokio::test]
async fn delay_flags_are_checked_and_move_the_timeline() {
    let dir = tempfile::tempdir().unwrap();
    let start = 1_764_547_200;
    let series = replay_csv(dir.path(), start, &load_test());
    let policy = shipped_policy();
    let base = [
        "--policy",
        policy.to_str().unwrap(),
        "--series",
        series.to_str().unwrap(),
    ];
    for (flag, value) in [
        ("--ingestion-delay", "-5s"),
        ("--discovery-delay", "soon"),
        ("--task-startup", "1.5s"),
    ] {
        let given = format!("{flag}={value}");
        let (code, _, stderr) = simulate(&[&base[..], &[given.as_str()]].concat()).await;
        assert_eq!(code, 2, "{flag} {value}: {stderr}");
        assert!(stderr.contains(flag), "{flag} {value}: {stderr}");
    }
    let (code, stdout, stderr) = simulate(
        &[
            &base[..],
            &[
                "--ingestion-delay",
                "15s",
                "--task-startup",
                "20s",
                "--discovery-delay",
                "10s",
            ],
        ]
        .concat(),
    )
    .await;
    assert_eq!(code, 0, "{stderr}");
    // The backlog breaches from 120 s: desired rose at 170 s, serving 30 s later.
    assert!(
        stdout.contains("2025-12-01T00:02:00Z -> +50 s -> +80 s  (2 -> 3)"),
        "{stdout}"
    );
}

/// tests/fixtures/policy-ecs-cpu-safety-net.toml with `--cpu-series`: the backlog stays at
/// 10 (between the pair's 5 and 20: neither backlog alarm fires) while the CPU goes from 50
/// to 90 % at 300 s. Only the CPU policy acts: its high alarm (3 of 3 twenty-second periods
/// above 70) cannot be in ALARM before 300 + 3 × 20 = 360 s, then each invocation sets
/// ceil(C × 90 / 70) clamped to the max of 10: 2 -> 3 -> 4 -> 6 -> 8 -> 10. The CPU policy
/// has disable_scale_in, so it has no say in scale-in (as-scaling-target-tracking: only the
/// policies that may scale in must agree): when the backlog drops to 2 at 900 s, the backlog
/// pair's low alarm (6 of 6 ten-second periods below 5) cannot fire before 960 s, then
/// scales in one task at a time, 120 s (its cooldown) or more apart.
#[tokio::test]
async fn the_cpu_safety_net_scales_out_while_the_backlog_stays_low() {
    let dir = tempfile::tempdir().unwrap();
    let start = 1_764_547_200u64; // on a minute boundary
    let iso = |t: u64| humantime::format_rfc3339_seconds(SystemTime::UNIX_EPOCH + Duration::from_secs(start + t));
    let backlog = dir.path().join("backlog.csv");
    let cpu = dir.path().join("cpu.csv");
    let mut text = String::from("timestamp,average\n");
    for t in (0..1500).step_by(10) {
        text += &format!("{},{}\n", iso(t), if t < 900 { 10 } else { 2 });
    }
    std::fs::write(&backlog, text).unwrap();
    let mut text = String::from("timestamp,average\n");
    for t in (0..1500).step_by(20) {
        text += &format!("{},{}\n", iso(t), if (300..900).contains(&t) { 90 } else { 50 });
    }
    std::fs::write(&cpu, text).unwrap();
    let policy = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/policy-ecs-cpu-safety-net.toml");
    let (code, stdout, stderr) = simulate(&[
        "--policy",
        policy.to_str().unwrap(),
        "--series",
        backlog.to_str().unwrap(),
        "--cpu-series",
        cpu.to_str().unwrap(),
        "--output",
        "json",
    ])
    .await;
    assert_eq!(code, 0, "{stderr}");
    let activities: Vec<(u64, String, u64, u64)> = json_rows(&stdout)
        .iter()
        .filter(|row| !row["activity"].is_null())
        .map(|row| {
            let time = humantime::parse_rfc3339(row["time"].as_str().unwrap())
                .unwrap()
                .duration_since(SystemTime::UNIX_EPOCH)
                .unwrap()
                .as_secs()
                - start;
            let activity = &row["activity"];
            (
                time,
                activity["policy"].as_str().unwrap().to_owned(),
                activity["from"].as_u64().unwrap(),
                activity["to"].as_u64().unwrap(),
            )
        })
        .collect();
    let steps: Vec<(&str, u64, u64)> = activities[..5]
        .iter()
        .map(|(_, p, f, t)| (p.as_str(), *f, *t))
        .collect();
    assert_eq!(
        steps,
        vec![
            ("web-cpu", 2, 3),
            ("web-cpu", 3, 4),
            ("web-cpu", 4, 6),
            ("web-cpu", 6, 8),
            ("web-cpu", 8, 10)
        ],
        "{activities:?}"
    );
    assert!(activities[0].0 >= 360, "{activities:?}");
    let scale_ins = &activities[5..];
    assert!(!scale_ins.is_empty(), "{activities:?}");
    assert!(scale_ins[0].0 >= 960, "{activities:?}");
    for (i, (time, policy, from, to)) in scale_ins.iter().enumerate() {
        assert_eq!(
            (policy.as_str(), *from, *to),
            ("web-scale-in", 10 - i as u64, 9 - i as u64)
        );
        if i > 0 {
            assert!(time - scale_ins[i - 1].0 >= 120, "{activities:?}");
        }
    }
}
