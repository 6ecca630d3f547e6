//! What the SVG holds, checked on hand-made evaluations (no engine): a path per series, a
//! line per threshold, one band per ALARM interval, and a bounded size on a long window.

use super::*;
use crate::chart::MAX_BUCKETS;
use crate::scaling::scenario::{
    AdjustmentType, Alarm, AlarmEvaluation, Comparison, Group, MetricAggregation, Policy, PolicyKind, ScalingService,
    SeriesStats, StepAdjustment, TreatMissingData,
};

fn scenario() -> Scenario {
    let alarm = |name: &str, statistic, threshold| Alarm {
        name: name.into(),
        namespace: "N".into(),
        metric_name: "PendingRequests".into(),
        dimensions: vec![],
        statistic,
        period: 10,
        evaluation_periods: 3,
        datapoints_to_alarm: 3,
        threshold,
        comparison: Comparison::GreaterThanOrEqualToThreshold,
        treat_missing_data: TreatMissingData::Missing,
        actions: vec![0],
        actions_enabled: true,
        evaluation_window: Default::default(),
    };
    Scenario {
        delays: Default::default(),
        group: Group {
            service: ScalingService::ApplicationAutoScaling,
            name: "service/c/web".into(),
            min_capacity: 2,
            max_capacity: 6,
            desired_capacity: 2,
            default_instance_warmup: None,
            default_cooldown: 300,
            suspended: Default::default(),
        },
        alarms: vec![
            alarm("high", Statistic::Average, 20.0),
            alarm("spike", Statistic::Maximum, 45.0),
        ],
        policies: vec![Policy {
            name: "out".into(),
            arn: "out".into(),
            enabled: true,
            kind: PolicyKind::Step {
                adjustment_type: AdjustmentType::ChangeInCapacity,
                min_adjustment_magnitude: None,
                aggregation: MetricAggregation::Average,
                steps: vec![StepAdjustment {
                    lower_bound: Some(0.0),
                    upper_bound: None,
                    scaling_adjustment: 1,
                }],
                estimated_instance_warmup: None,
                cooldown: None,
            },
        }],
    }
}

fn point(i: i64, average: f64) -> SeriesPoint {
    SeriesPoint {
        start_ms: i * 10_000,
        stats: SeriesStats {
            average: Some(average),
            maximum: Some(average * 1.5),
            ..SeriesStats::default()
        },
    }
}

fn evaluation(i: i64, high: AlarmState, desired: u32) -> Evaluation {
    Evaluation {
        time_ms: i * 10_000 + 10_000,
        alarms: vec![
            AlarmEvaluation {
                state: high,
                value: Some(1.0),
            },
            AlarmEvaluation {
                state: AlarmState::Ok,
                value: Some(1.0),
            },
        ],
        desired_capacity: desired,
        in_service_capacity: desired,
        serving_capacity: desired,
        activities: vec![],
    }
}

fn hex(colour: RGBColor) -> String {
    format!("#{:02X}{:02X}{:02X}", colour.0, colour.1, colour.2)
}

/// Elements of the SVG that carry `attribute="value"`.
fn count(svg: &str, element: &str, needles: &[String]) -> usize {
    svg.split('<')
        .filter(|e| e.starts_with(element) && needles.iter().all(|n| e.contains(n.as_str())))
        .count()
}

/// 300 periods; "high" in ALARM over three separate intervals.
fn three_alarm_intervals() -> String {
    let scenario = scenario();
    let mut plot = SimulationPlot::new(&scenario);
    for i in 0..300 {
        let in_alarm = (40..60).contains(&i) || (120..130).contains(&i) || (200..260).contains(&i);
        plot.observe_point(&point(i, if in_alarm { 30.0 } else { 5.0 }));
        let state = if i < 3 {
            AlarmState::InsufficientData
        } else if in_alarm {
            AlarmState::Alarm
        } else {
            AlarmState::Ok
        };
        plot.observe(&evaluation(i, state, if in_alarm { 4 } else { 2 }));
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("plot.svg");
    plot.write_svg(&path).unwrap();
    std::fs::read_to_string(&path).unwrap()
}

#[test]
fn one_band_per_alarm_interval() {
    let svg = three_alarm_intervals();
    let band = [
        format!("fill=\"{}\"", hex(alarm_colour(0))),
        format!("opacity=\"{BAND_OPACITY}\""),
    ];
    assert_eq!(count(&svg, "rect", &band), 3, "three ALARM intervals of high");
    // spike never alarmed: no band of its colour.
    let spike_band = [format!("fill=\"{}\"", hex(alarm_colour(1)))];
    assert_eq!(count(&svg, "rect", &spike_band), 0);
}

#[test]
fn a_path_per_series_a_line_per_threshold_and_the_capacity() {
    let svg = three_alarm_intervals();
    // Each line is one polyline, plus its legend sample.
    for statistic in [Statistic::Average, Statistic::Maximum] {
        let stroke = [format!("stroke=\"{}\"", hex(series_colour(statistic)))];
        assert_eq!(count(&svg, "polyline", &stroke), 2, "{statistic:?}");
    }
    for (i, name) in ["high", "spike"].iter().enumerate() {
        let stroke = [format!("stroke=\"{}\"", hex(alarm_colour(i)))];
        assert!(count(&svg, "polyline", &stroke) >= 2, "{name}'s dashed threshold");
        assert!(svg.contains(&format!("{name}: threshold")), "{name} in the legend");
    }
    assert!(svg.contains("desired capacity") && svg.contains("in service"));
    assert_eq!(
        count(
            &svg,
            "polyline",
            &["stroke=\"#000000\"".to_owned(), "stroke-width=\"2\"".to_owned()]
        ),
        2
    );
}

/// 100,000 periods (11.6 days of 10 s): the buckets stay bounded, the file small, a
/// one-period spike still reaches the top of its line, and bands stay countable.
#[test]
fn a_hundred_thousand_periods_stay_small_and_keep_their_spikes() {
    let scenario = scenario();
    let mut plot = SimulationPlot::new(&scenario);
    for i in 0..100_000 {
        let spike = i == 54_321;
        plot.observe_point(&point(i, if spike { 500.0 } else { 5.0 + (i % 7) as f64 }));
        let state = if i % 5_000 < 100 {
            AlarmState::Alarm
        } else {
            AlarmState::Ok
        };
        plot.observe(&evaluation(i, state, 2 + (i % 3) as u32));
    }
    assert!(plot.buckets.len <= MAX_BUCKETS, "{} buckets", plot.buckets.len);
    assert!(plot.buckets.len > MAX_BUCKETS / 4);
    let spike_max = (0..plot.buckets.len)
        .map(|b| plot.buckets.value(b, 1).max)
        .fold(0.0, f64::max);
    assert_eq!(spike_max, 750.0);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("long.svg");
    plot.write_svg(&path).unwrap();
    let svg = std::fs::read_to_string(&path).unwrap();
    assert!(svg.len() < 1_000_000, "{} bytes", svg.len());
    let band = [
        format!("fill=\"{}\"", hex(alarm_colour(0))),
        format!("opacity=\"{BAND_OPACITY}\""),
    ];
    assert_eq!(count(&svg, "rect", &band), 20, "one band per 5,000 periods");
}

/// The text of every `<text>` element of an SVG.
fn texts(svg: &str) -> Vec<String> {
    svg.split("<text")
        .skip(1)
        .filter_map(|element| {
            let (_, rest) = element.split_once('>')?;
            let (text, _) = rest.split_once("</text>")?;
            Some(text.trim().to_owned())
        })
        .collect()
}

/// 300 periods from 05:33:20 UTC, an origin that is no multiple of a round step: the time
/// axis is labelled at round times all the same (every 10 minutes, the step that gives at
/// most 10 ticks over 50 minutes), the capacity axis in whole units, and the legend sits
/// right of the chart, clear of the data.
#[test]
fn ticks_are_round_times_and_whole_capacities_and_the_legend_is_outside() {
    let origin_ms = (5 * 3600 + 33 * 60 + 20) * 1000;
    let scenario = scenario();
    let mut plot = SimulationPlot::new(&scenario);
    for i in 0..300 {
        let mut point = point(i, if (100..150).contains(&i) { 30.0 } else { 5.0 });
        point.start_ms += origin_ms;
        plot.observe_point(&point);
        let mut evaluation = evaluation(i, AlarmState::Ok, if (110..200).contains(&i) { 4 } else { 2 });
        evaluation.time_ms += origin_ms;
        plot.observe(&evaluation);
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("plot.svg");
    plot.write_svg(&path).unwrap();
    let svg = std::fs::read_to_string(&path).unwrap();
    let texts = texts(&svg);
    let times: Vec<&str> = texts
        .iter()
        .map(String::as_str)
        .filter(|t| t.len() == 5 && t.as_bytes()[2] == b':')
        .collect();
    assert_eq!(times, ["05:40", "05:50", "06:00", "06:10", "06:20"], "{texts:?}");
    assert!(
        texts.contains(&"time (UTC), from 1970-01-01T05:33:20Z".to_owned()),
        "{texts:?}"
    );
    // Capacity 0 to max + 1 = 7, one label a unit, none with a decimal point.
    for capacity in 0..=7 {
        assert!(texts.contains(&capacity.to_string()), "capacity {capacity}: {texts:?}");
    }
    assert!(!texts.iter().any(|t| t.ends_with(".0")), "{texts:?}");
    // The legend's labels start right of the plotting area (which ends before WIDTH - LEGEND_WIDTH).
    let legend_x = svg
        .split("<text")
        .find(|element| element.contains(">\nin service\n</text>") || element.contains(">in service</text>"))
        .and_then(|element| element.split("x=\"").nth(1))
        .and_then(|rest| rest.split('"').next())
        .and_then(|x| x.parse::<u32>().ok())
        .expect("the in-service legend entry");
    assert!(legend_x > WIDTH - LEGEND_WIDTH, "legend at x = {legend_x}");
}

/// In service and desired capacity are both visible where they are equal: in service is a
/// wide, pale line under the thin black desired line.
#[test]
fn in_service_shows_under_an_equal_desired_capacity() {
    let svg = three_alarm_intervals();
    let under = [
        format!("stroke=\"{}\"", hex(IN_SERVICE_COLOUR)),
        format!("stroke-width=\"{IN_SERVICE_WIDTH}\""),
    ];
    // The line and its legend sample.
    assert_eq!(count(&svg, "polyline", &under), 2);
    let desired = ["stroke=\"#000000\"".to_owned(), "stroke-width=\"2\"".to_owned()];
    let position = |needles: &[String]| {
        svg.split('<')
            .position(|e| e.starts_with("polyline") && needles.iter().all(|n| e.contains(n.as_str())))
            .unwrap()
    };
    assert!(
        position(&under) < position(&desired),
        "in service is drawn first, under desired"
    );
}
