use super::*;

/// `(end_ms, status, request_time_ms)`.
type Line = (i64, u16, Option<u64>);

fn run(period_s: u64, lines: &[Line]) -> Vec<PeriodSignals> {
    let mut signals = LogSignals::new(SignalsConfig::new(Duration::from_secs(period_s))).unwrap();
    for &(end_ms, status, request_time_ms) in lines {
        signals.observe(&CompletedRequest {
            end_ms,
            status,
            request_time_us: request_time_ms.map(|ms| ms * 1000),
            upstream_time_us: None,
            breakdown: None,
        });
    }
    signals.finish();
    std::iter::from_fn(|| signals.pop_closed()).collect()
}

/// Compare `(start_ms, completed, in_flight_average, in_flight_peak)` per period.
fn check(period_s: u64, lines: &[Line], expected: &[(i64, u64, f64, u64)]) {
    let got: Vec<(i64, u64, f64, u64)> = run(period_s, lines)
        .iter()
        .map(|p| (p.start_ms, p.completed, p.in_flight_average, p.in_flight_peak))
        .collect();
    assert_eq!(got, expected, "lines {lines:?}");
}

#[test]
fn one_request_covers_its_duration() {
    // 500 ms in flight in the first 1 s period: average 0.5, peak 1.
    check(1, &[(10_500, 200, Some(500))], &[(10_000, 1, 0.5, 1)]);
}

#[test]
fn a_long_request_is_in_flight_in_earlier_periods() {
    // Ended at 12.5 s after 2.5 s: in flight through 10 s, 11 s and half of 12 s.
    check(
        1,
        &[(12_500, 200, Some(2_500))],
        &[(10_000, 0, 1.0, 1), (11_000, 0, 1.0, 1), (12_000, 1, 0.5, 1)],
    );
}

#[test]
fn overlapping_requests_peak() {
    check(
        10,
        &[
            (1_000, 200, Some(1_000)),
            (1_500, 200, Some(1_000)),
            (2_000, 200, Some(500)),
        ],
        // 2.5 s of request-time over 10 s; at 500..1000 ms two are in flight.
        &[(0, 3, 0.25, 2)],
    );
}

#[test]
fn zero_time_requests_occupy_their_millisecond() {
    check(
        1,
        &[(5_000, 200, Some(0)), (5_000, 200, Some(0))],
        &[(5_000, 2, 0.002, 2)],
    );
}

#[test]
fn statuses_and_quantiles() {
    let lines: Vec<Line> = (0..100)
        .map(|i| {
            (
                1_000 + i,
                if i % 10 == 0 {
                    499
                } else if i == 5 {
                    502
                } else {
                    200
                },
                Some(i as u64 + 1),
            )
        })
        .collect();
    let periods = run(10, &lines);
    assert_eq!(periods.len(), 1);
    let period = &periods[0];
    assert_eq!(period.completed, 100);
    assert_eq!(period.status_499, 10);
    assert_eq!(period.status_5xx, 1);
    assert_eq!(period.by_class, [0, 89, 0, 10, 1, 0]);
    let near = |got: Option<f64>, want: f64| got.is_some_and(|got| (got - want).abs() / want < 0.016);
    assert!(near(period.request_time.p50, 0.050), "{:?}", period.request_time);
    assert!(near(period.request_time.p90, 0.090), "{:?}", period.request_time);
    assert!(near(period.request_time.p99, 0.099), "{:?}", period.request_time);
    assert_eq!(period.upstream_response_time.p99, None);
}

#[test]
fn late_requests_are_counted_not_misfiled() {
    let mut signals = LogSignals::new(SignalsConfig {
        settle: Duration::from_secs(1),
        ..SignalsConfig::new(Duration::from_secs(1))
    })
    .unwrap();
    let request = |end_ms| CompletedRequest {
        end_ms,
        status: 200,
        request_time_us: Some(1000),
        upstream_time_us: None,
        breakdown: None,
    };
    signals.observe(&request(1_500));
    signals.observe(&request(10_000));
    assert_eq!(signals.pop_closed().map(|p| p.start_ms), Some(1_000));
    signals.observe(&request(1_600));
    assert_eq!(signals.late_requests(), 1);
}

#[test]
fn breakdown_is_capped() {
    let mut signals = LogSignals::new(SignalsConfig {
        breakdown_cap: 2,
        ..SignalsConfig::new(Duration::from_secs(10))
    })
    .unwrap();
    for (value, status) in [(&b"b"[..], 200), (b"a", 499), (b"c", 502), (b"d", 200), (b"a", 200)] {
        signals.observe(&CompletedRequest {
            end_ms: 1_000,
            status,
            request_time_us: None,
            upstream_time_us: None,
            breakdown: Some(value),
        });
    }
    signals.finish();
    let rows: Vec<(String, u64, u64, u64)> = signals
        .pop_closed()
        .unwrap()
        .breakdown
        .into_iter()
        .map(|r| (r.value, r.completed, r.status_499, r.status_5xx))
        .collect();
    assert_eq!(
        rows,
        vec![("a".into(), 2, 1, 0), ("b".into(), 1, 0, 0), ("other".into(), 2, 0, 1)]
    );
}

#[test]
fn histogram_buckets_are_tight() {
    for value in [0, 1, 63, 64, 127, 128, 1_000, 12_345, 1_000_000, 59_999_999] {
        let mut histogram = LatencyHistogram::new();
        histogram.record(value);
        let got = histogram.quantile_micros(0.5).unwrap();
        let error = (got as f64 - value as f64).abs() / (value.max(1) as f64);
        assert!(error < 0.004, "{value} came back as {got}");
    }
    let mut clamped = LatencyHistogram::new();
    clamped.record(u64::MAX);
    assert!(clamped.quantile_micros(1.0).is_some());
    assert_eq!(LatencyHistogram::new().quantile_micros(0.5), None);
}

#[test]
fn bad_periods_are_refused() {
    assert!(LogSignals::new(SignalsConfig::new(Duration::from_millis(1500))).is_err());
    assert!(LogSignals::new(SignalsConfig::new(Duration::ZERO)).is_err());
}

/// The sweep against a model that counts every millisecond, on a log that is quiet (a few
/// requests a second, gaps of minutes) and busy by turns (300 requests in one second), at
/// periods of 1 s and 10 s, with closed periods handed back for reuse or not: the same
/// per-second concurrency, counts and quantiles.
#[test]
fn quiet_and_busy_seconds_match_a_millisecond_model() {
    let mut random: u64 = 22;
    let mut next = move |below: u64| {
        random = random
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (random >> 33) % below
    };
    // (end_ms, request_time_ms), in end order; durations under 5 s, so none is clipped.
    let mut requests: Vec<(i64, i64)> = Vec::new();
    let mut end = 1_000_000_i64;
    for second in 0..900 {
        let count = match second % 300 {
            17 => 300,
            100..=219 => 0,
            _ => next(4),
        };
        for _ in 0..count {
            end += next(1_000 / (count + 1)) as i64;
            let duration = if next(10) == 0 { next(5_000) } else { next(40) };
            requests.push((end, duration as i64));
        }
        end = end.max(1_000_000 + (second + 1) * 1_000);
    }
    // The model: in flight per millisecond over `[end - duration, end)`; a 0.000 request
    // over the millisecond it was logged in, `[end, end + 1)`.
    let origin = 900_000;
    let mut in_flight = vec![0_i64; 2_000_000];
    for &(end, duration) in &requests {
        let during = if duration == 0 {
            end..end + 1
        } else {
            end - duration..end
        };
        for at in during {
            in_flight[(at - origin) as usize] += 1;
        }
    }
    for period_s in [1, 10] {
        let period_ms = period_s * 1_000;
        for recycle in [false, true] {
            let mut signals = LogSignals::new(SignalsConfig::new(Duration::from_secs(period_s as u64))).unwrap();
            let mut got = Vec::new();
            let mut pop = |signals: &mut LogSignals| {
                while let Some(period) = signals.pop_closed() {
                    got.push(period.clone());
                    if recycle {
                        signals.recycle(period);
                    }
                }
            };
            for &(end_ms, duration) in &requests {
                signals.observe(&CompletedRequest {
                    end_ms,
                    status: if duration > 1_000 { 504 } else { 200 },
                    request_time_us: Some(duration as u64 * 1_000),
                    upstream_time_us: None,
                    breakdown: None,
                });
                pop(&mut signals);
            }
            signals.finish();
            pop(&mut signals);
            assert_eq!(signals.late_requests(), 0);

            let mut expected = Vec::new();
            for start in (origin..origin + in_flight.len() as i64).step_by(period_ms as usize) {
                let ended: Vec<i64> = requests
                    .iter()
                    .filter(|&&(end, _)| end >= start && end < start + period_ms)
                    .map(|&(_, duration)| duration)
                    .collect();
                let seconds: Vec<(i64, i64)> = (0..period_s)
                    .map(|second| {
                        let from = (start - origin + second * 1_000) as usize;
                        let slots = &in_flight[from..from + 1_000];
                        (slots.iter().sum(), slots.iter().copied().max().unwrap_or(0))
                    })
                    .collect();
                if ended.is_empty() && seconds.iter().all(|&(sum, _)| sum == 0) {
                    continue;
                }
                let total: i64 = seconds.iter().map(|&(sum, _)| sum).sum();
                let mut sorted = ended.clone();
                sorted.sort_unstable();
                let rank = |q: f64| {
                    let rank = ((q * sorted.len() as f64).ceil() as usize).max(1);
                    sorted.get(rank - 1).map(|&ms| ms as f64 / 1e3)
                };
                expected.push((
                    start,
                    ended.len() as u64,
                    ended.iter().filter(|&&duration| duration > 1_000).count() as u64,
                    total as f64 / period_ms as f64,
                    seconds.iter().map(|&(_, peak)| peak).max().unwrap_or(0) as u64,
                    seconds
                        .iter()
                        .map(|&(sum, peak)| SecondInFlight {
                            average: sum as f64 / 1000.0,
                            peak: peak as u64,
                        })
                        .collect::<Vec<_>>(),
                    [rank(0.5), rank(0.9), rank(0.99)],
                ));
            }
            assert!(expected.len() >= 50, "{} periods", expected.len());
            assert_eq!(got.len(), expected.len(), "{period_s} s periods, recycle {recycle}");
            for (got, want) in got.iter().zip(&expected) {
                let context = format!("{period_s} s periods, recycle {recycle}, period {}", got.start_ms);
                assert_eq!(
                    (
                        got.start_ms,
                        got.completed,
                        got.status_5xx,
                        got.in_flight_average,
                        got.in_flight_peak
                    ),
                    (want.0, want.1, want.2, want.3, want.4),
                    "{context}"
                );
                assert_eq!(got.in_flight_per_second, want.5, "{context}");
                let quantiles = [got.request_time.p50, got.request_time.p90, got.request_time.p99];
                for (got, want) in quantiles.iter().zip(&want.6) {
                    // Histogram buckets: within 1/256 of the value (exact below 256 µs).
                    let near = match (got, want) {
                        (Some(got), Some(want)) => (got - want).abs() <= want / 256.0 + 1e-9,
                        (None, None) => true,
                        _ => false,
                    };
                    assert!(near, "{context}: {quantiles:?} against {:?}", want);
                }
            }
        }
    }
}

#[test]
fn taking_quantiles_empties_the_histogram() {
    let mut histogram = LatencyHistogram::new();
    for micros in [5, 300, 300, 70_000, 2_000_000] {
        histogram.record(micros);
    }
    let expected = histogram.quantiles();
    assert_eq!(expected.p50, Some(300e-6));
    assert_eq!(histogram.take_quantiles(), expected);
    assert_eq!(histogram.count(), 0);
    assert!(histogram.counts.iter().all(|&count| count == 0));
    assert_eq!(histogram.take_quantiles(), Quantiles::default());
    // A saturated bucket holds less than was recorded: the ranks past it are not found,
    // as `quantiles` says, and the histogram is still emptied.
    histogram.counts[3] = u32::MAX;
    histogram.total = 2 * u64::from(u32::MAX);
    let saturated = histogram.quantiles();
    assert!(saturated.p50.is_some() && saturated.p90.is_none());
    assert_eq!(histogram.take_quantiles(), saturated);
    assert!(histogram.counts.iter().all(|&count| count == 0));
}

#[test]
fn idle_gaps_are_skipped_cheaply() {
    // A day-long gap must not take a day of 1 ms steps nor emit empty periods.
    let periods = run(10, &[(1_000, 200, Some(10)), (86_400_000 * 3 + 5_000, 200, Some(10))]);
    assert_eq!(periods.len(), 2);
}
