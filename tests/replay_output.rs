//! `replay`'s output as a user reads it: the CSV's columns, and how close its quantiles are.

use nginx_backlog_exporter_test_support as support;

use support::{exporter, run_exporter};

const FORMAT: &str = "$msec $status $request_time";
/// 2025-12-01T00:00:00Z, the start of a 10 s period.
const START: u64 = 1_764_547_200;

/// Writes `(status, request_time_ms)` lines, all ending within the period from START, and
/// replays them; returns (CSV stdout, JSON stdout).
async fn replay(lines: &[(u16, u64)]) -> (String, String) {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.log");
    let text: String = lines
        .iter()
        .enumerate()
        .map(|(i, (status, ms))| {
            // Spread over the period's first 9 s, in end order.
            let end_ms = START * 1000 + (i as u64 * 9000) / lines.len() as u64;
            format!(
                "{}.{:03} {status} {}.{:03}\n",
                end_ms / 1000,
                end_ms % 1000,
                ms / 1000,
                ms % 1000
            )
        })
        .collect();
    std::fs::write(&log, text).unwrap();
    let mut outputs = Vec::new();
    for output in ["csv", "json"] {
        let (code, stdout, stderr) = run_exporter(
            exporter()
                .args(["replay", "--log-format", FORMAT, "--output", output])
                .arg(&log),
        )
        .await;
        assert_eq!(code, 0, "{stderr}");
        assert!(stderr.contains(" 0 bad"), "every line is good: {stderr}");
        outputs.push(stdout);
    }
    let json = outputs.pop().unwrap();
    (outputs.pop().unwrap(), json)
}

/// The JSON line of the period the requests ended in (earlier ones hold only their time in flight).
fn ended_in(json: &str, completed: u64) -> serde_json::Value {
    json.lines()
        .map(|line| serde_json::from_str::<serde_json::Value>(line).unwrap())
        .find(|period| period["completed"] == completed)
        .unwrap_or_else(|| panic!("no period with {completed} completions: {json}"))
}

#[tokio::test]
async fn the_csv_has_the_status_classes_the_json_has() {
    let mut lines = vec![(200, 10); 5];
    lines.extend([(404, 10); 3]);
    lines.extend([(499, 10), (502, 10), (503, 10), (301, 10)]);
    let (csv, json) = replay(&lines).await;
    let mut rows = csv.lines();
    assert_eq!(
        rows.next(),
        Some("time,completed,in_flight_average,in_flight_peak,status_499,status_5xx,request_time_p50,request_time_p90,request_time_p99,upstream_response_time_p99,status_2xx,status_4xx"),
        "the first ten columns where they were, the 2xx and 4xx counts after them"
    );
    let row: Vec<&str> = rows
        .find(|row| row.starts_with("2025-12-01T00:00:00"))
        .expect(&csv)
        .split(',')
        .collect();
    let column = |name: &str| row[csv.lines().next().unwrap().split(',').position(|h| h == name).unwrap()];
    assert_eq!(column("completed"), "12");
    assert_eq!(column("status_499"), "1");
    assert_eq!(column("status_5xx"), "2");
    assert_eq!(column("status_2xx"), "5");
    // 499 is a 4xx, in the JSON as here.
    assert_eq!(column("status_4xx"), "4");
    let period = ended_in(&json, 12);
    assert_eq!(
        (period["status_2xx"].as_u64(), period["status_4xx"].as_u64()),
        (Some(5), Some(4))
    );
}

/// The bound README and `replay --help` state: the nearest-rank quantile (the ⌈q·n⌉-th
/// smallest), exact below 256 µs, otherwise within 1/256 of it; the CSV rounds to the ms.
#[tokio::test]
async fn quantiles_are_within_1_in_256_of_the_nearest_rank_value() {
    // 1,000 request times from 1 ms to about 60 s, in a scrambled order (a fixed LCG).
    let mut state = 12_345u64;
    let times: Vec<u64> = (0..1000)
        .map(|_| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let exponent = (state >> 33) % 16; // 2^0 .. 2^15 ms
            1 + ((state >> 11) % (1 << exponent)) * 2
        })
        .collect();
    let lines: Vec<(u16, u64)> = times.iter().map(|&ms| (200, ms)).collect();
    let (csv, json) = replay(&lines).await;
    let mut sorted = times.clone();
    sorted.sort_unstable();
    let period = ended_in(&json, 1000);
    let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    let row: Vec<&str> = csv
        .lines()
        .find(|row| row.starts_with("2025-12-01T00:00:00"))
        .expect(&csv)
        .split(',')
        .collect();
    for (q, key) in [(0.5, "p50"), (0.9, "p90"), (0.99, "p99")] {
        let rank = (q * sorted.len() as f64).ceil() as usize;
        let exact = sorted[rank - 1] as f64 / 1000.0;
        let reported = period["request_time"][key].as_f64().unwrap();
        assert!(
            (reported - exact).abs() <= exact / 256.0 + 1e-9,
            "{key}: {reported} s for {exact} s is off by more than 1/256"
        );
        let csv_value: f64 = row[header.iter().position(|h| *h == format!("request_time_{key}")).unwrap()]
            .parse()
            .unwrap();
        assert!(
            (csv_value - reported).abs() <= 0.0005 + 1e-9,
            "{key}: CSV {csv_value} vs {reported}"
        );
    }
}

#[tokio::test]
async fn help_says_the_quantiles_are_approximate_and_how_close() {
    let (code, stdout, stderr) = run_exporter(exporter().args(["replay", "--help"])).await;
    assert_eq!(code, 0, "{stderr}");
    let text = stdout.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(text.contains("Quantiles are approximate"), "{stdout}");
    assert!(
        text.contains("exact below 256 µs and otherwise within 1/256 (0.4 %)"),
        "{stdout}"
    );
    assert!(text.contains("status_2xx, status_4xx"), "{stdout}");
}
