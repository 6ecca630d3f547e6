//! What `simulate` prints: a short human summary ([`Summary`]) and one CSV row or JSON line
//! per evaluation ([`RowWriter`]). Both fold evaluations as they come, so memory stays flat
//! in the series length (the summary keeps only the list of activities).

use std::collections::VecDeque;
use std::io::{self, Write};

use crate::scaling::scenario::{Activity, AdjustmentType, AlarmState, Evaluation, PolicyKind, Scenario, SeriesPoint};
use crate::sources::access_log::values::format_rfc3339;

/// Runs of breaching datapoints remembered for the scale-out timeline (the series is read a
/// little ahead of the evaluations).
const BREACH_RUNS_KEPT: usize = 8;

/// Two scaling activities in opposite directions this close together are a flap.
pub(crate) const FLAP_WINDOW_MS: i64 = 10 * 60 * 1000;

/// Whether `next` reverses `last` within [`FLAP_WINDOW_MS`].
pub(crate) fn is_flap(last: &Activity, next: &Activity) -> bool {
    let out = |a: &Activity| a.to > a.from;
    out(last) != out(next) && next.time_ms - last.time_ms < FLAP_WINDOW_MS
}

/// Whether `policy` can add capacity (so an alarm that runs it is a scale-out alarm).
pub(crate) fn scales_out(kind: &PolicyKind) -> bool {
    match kind {
        PolicyKind::Step {
            adjustment_type, steps, ..
        } => *adjustment_type == AdjustmentType::ExactCapacity || steps.iter().any(|s| s.scaling_adjustment > 0),
        PolicyKind::Simple {
            adjustment_type,
            scaling_adjustment,
            ..
        } => *adjustment_type == AdjustmentType::ExactCapacity || *scaling_adjustment > 0,
        PolicyKind::TargetTracking { .. } => true,
    }
}

/// Time in each state, per alarm: OK, ALARM, INSUFFICIENT_DATA, in ms.
#[derive(Debug, Clone, Copy, Default)]
struct StateTimes([i64; 3]);

fn state_index(state: AlarmState) -> usize {
    match state {
        AlarmState::Ok => 0,
        AlarmState::Alarm => 1,
        AlarmState::InsufficientData => 2,
    }
}

/// Folds evaluations into the figures a person reads first.
#[derive(Debug)]
pub struct Summary {
    /// Per alarm: whether it runs a policy that adds capacity, its statistic and threshold.
    scale_out_alarms: Vec<usize>,
    first_breach: Option<(i64, usize)>,
    /// The starts of the latest runs of datapoints breaching a scale-out threshold (a run
    /// ends at a datapoint that breaches none), newest last, a few kept.
    breach_runs: VecDeque<i64>,
    in_breach: bool,
    /// Per scale-out: (breach run start, activity index).
    scale_outs: Vec<(Option<i64>, usize)>,
    activities: Vec<Activity>,
    flaps: Vec<(i64, i64)>,
    state_times: Vec<StateTimes>,
    /// The previous evaluation: its time, states and desired capacity (each holds until the
    /// next evaluation).
    previous: Option<(i64, Vec<AlarmState>, u32)>,
    tick_ms: i64,
    first_time: Option<i64>,
    evaluations: u64,
    capacity_ms: f64,
    peak_capacity: u32,
    min_capacity: u32,
}

impl Summary {
    pub fn new(scenario: &Scenario) -> Summary {
        let scale_out_alarms = scenario
            .alarms
            .iter()
            .enumerate()
            .filter(|(_, alarm)| {
                alarm.comparison.is_upper() && alarm.actions.iter().any(|&p| scales_out(&scenario.policies[p].kind))
            })
            .map(|(index, _)| index)
            .collect();
        Summary {
            scale_out_alarms,
            first_breach: None,
            breach_runs: VecDeque::new(),
            in_breach: false,
            scale_outs: Vec::new(),
            activities: Vec::new(),
            flaps: Vec::new(),
            state_times: vec![StateTimes::default(); scenario.alarms.len()],
            previous: None,
            tick_ms: 0,
            first_time: None,
            evaluations: 0,
            capacity_ms: 0.0,
            peak_capacity: scenario.group.desired_capacity,
            min_capacity: scenario.group.desired_capacity,
        }
    }

    /// A datapoint of the series: remembers the first that breaches a scale-out alarm's
    /// threshold by that alarm's statistic, and where each run of breaching datapoints began.
    pub(crate) fn observe_point(&mut self, point: &SeriesPoint, scenario: &Scenario) {
        let breached = self.scale_out_alarms.iter().find(|&&index| {
            let alarm = &scenario.alarms[index];
            point
                .stats
                .get(alarm.statistic)
                .is_some_and(|value| alarm.comparison.breaches(value, alarm.threshold))
        });
        match breached {
            Some(&index) => {
                self.first_breach.get_or_insert((point.start_ms, index));
                if !self.in_breach {
                    self.in_breach = true;
                    if self.breach_runs.len() == BREACH_RUNS_KEPT {
                        self.breach_runs.pop_front();
                    }
                    self.breach_runs.push_back(point.start_ms);
                }
            }
            None => self.in_breach = false,
        }
    }

    pub fn observe(&mut self, evaluation: &Evaluation) {
        let time = evaluation.time_ms;
        self.first_time.get_or_insert(time);
        self.evaluations += 1;
        if let Some((previous_time, states, desired)) = &self.previous {
            let held = time - previous_time;
            self.tick_ms = held;
            self.hold(states.clone(), *desired, held);
        }
        for activity in &evaluation.activities {
            if let Some(last) = self.activities.last() {
                if is_flap(last, activity) {
                    self.flaps.push((last.time_ms, activity.time_ms));
                }
            }
            if activity.to > activity.from {
                // The run under way when it was decided (the series may already be past it).
                let run = self
                    .breach_runs
                    .iter()
                    .rev()
                    .find(|start| **start < activity.time_ms)
                    .copied();
                self.scale_outs.push((run, self.activities.len()));
            }
            self.activities.push(activity.clone());
        }
        self.peak_capacity = self.peak_capacity.max(evaluation.desired_capacity);
        self.min_capacity = self.min_capacity.min(evaluation.desired_capacity);
        self.previous = Some((
            time,
            evaluation.alarms.iter().map(|a| a.state).collect(),
            evaluation.desired_capacity,
        ));
    }

    fn hold(&mut self, states: Vec<AlarmState>, desired: u32, held_ms: i64) {
        for (times, state) in self.state_times.iter_mut().zip(states) {
            times.0[state_index(state)] += held_ms;
        }
        self.capacity_ms += f64::from(desired) * held_ms as f64;
    }

    /// Capacity-hours: desired capacity over time, each evaluation's value held until the
    /// next (the last for one evaluation interval).
    pub(crate) fn capacity_hours(&self) -> f64 {
        let last = self
            .previous
            .as_ref()
            .map_or(0.0, |(_, _, desired)| f64::from(*desired) * self.tick_ms as f64);
        (self.capacity_ms + last) / 3_600_000.0
    }

    pub fn activities(&self) -> &[Activity] {
        &self.activities
    }

    /// Pairs of activity times in opposite directions within [`FLAP_WINDOW_MS`].
    pub fn flaps(&self) -> &[(i64, i64)] {
        &self.flaps
    }

    /// From the first datapoint breaching a scale-out threshold to the first scale-out.
    pub(crate) fn scale_out_delay_ms(&self) -> Option<i64> {
        let (breach, _) = self.first_breach?;
        self.activities
            .iter()
            .find(|a| a.to > a.from && a.time_ms >= breach)
            .map(|a| a.time_ms - breach)
    }

    pub fn write(&self, scenario: &Scenario, out: &mut impl Write) -> io::Result<()> {
        let (Some(first), Some((last, states, desired))) = (self.first_time, self.previous.as_ref()) else {
            return writeln!(
                out,
                "simulate: no evaluation (the series ends before its first period does)"
            );
        };
        let mut times = self.state_times.clone();
        for (t, state) in times.iter_mut().zip(states) {
            t.0[state_index(*state)] += self.tick_ms;
        }
        writeln!(
            out,
            "simulate: {} evaluations, {} to {}, every {} s; capacity {} at the start, min {} max {}",
            self.evaluations,
            format_rfc3339(first),
            format_rfc3339(*last),
            self.tick_ms / 1000,
            scenario.group.desired_capacity,
            scenario.group.min_capacity,
            scenario.group.max_capacity
        )?;
        writeln!(out, "scaling activities: {}", self.activities.len())?;
        for activity in &self.activities {
            let policy = &scenario.policies[activity.policy];
            let step = match (&policy.kind, activity.step) {
                (PolicyKind::Step { steps, .. }, Some(index)) => {
                    let step = &steps[index];
                    let bound = |b: Option<f64>, open: &str| b.map_or(open.to_owned(), |b| format!("{b}"));
                    format!(
                        " step {index} ({} to {})",
                        bound(step.lower_bound, "-inf"),
                        bound(step.upper_bound, "+inf")
                    )
                }
                _ => String::new(),
            };
            writeln!(
                out,
                "  {}  {}{}  {:+}  {} -> {}",
                format_rfc3339(activity.time_ms),
                policy.name,
                step,
                activity.adjustment,
                activity.from,
                activity.to
            )?;
        }
        match (self.first_breach, self.scale_out_delay_ms()) {
            (None, _) => writeln!(out, "first scale-out: the series never breached a scale-out threshold")?,
            (Some((at, alarm)), Some(delay)) => writeln!(
                out,
                "first scale-out: {} s after the series first breached {} ({})",
                delay / 1000,
                scenario.alarms[alarm].name,
                format_rfc3339(at)
            )?,
            (Some((at, alarm)), None) => writeln!(
                out,
                "first scale-out: never, though the series breached {} at {}",
                scenario.alarms[alarm].name,
                format_rfc3339(at)
            )?,
        }
        if !self.scale_outs.is_empty() {
            writeln!(
                out,
                "scale-outs: first breach -> desired capacity rose -> new capacity serving"
            )?;
        }
        for (run, index) in &self.scale_outs {
            let activity = &self.activities[*index];
            let since = |at: i64| match run {
                Some(start) => format!("+{} s", (at - start) / 1000),
                None => format_rfc3339(at),
            };
            writeln!(
                out,
                "  {} -> {} -> {}  ({} -> {})",
                run.map_or("no breach seen".to_owned(), format_rfc3339),
                since(activity.time_ms),
                activity.serving_at_ms.map_or("never".to_owned(), since),
                activity.from,
                activity.to
            )?;
        }
        writeln!(out, "flaps (direction changes within 10 min): {}", self.flaps.len())?;
        for (from, to) in &self.flaps {
            writeln!(out, "  {} then {}", format_rfc3339(*from), format_rfc3339(*to))?;
        }
        writeln!(
            out,
            "capacity: peak {}, lowest {}, at the end {}; {:.2} capacity-hours",
            self.peak_capacity,
            self.min_capacity,
            desired,
            self.capacity_hours()
        )?;
        writeln!(out, "time in each alarm state:")?;
        let width = scenario.alarms.iter().map(|a| a.name.len()).max().unwrap_or(0);
        for (alarm, times) in scenario.alarms.iter().zip(&times) {
            let total = times.0.iter().sum::<i64>().max(1) as f64;
            let part = |i: usize, name: &str| {
                format!(
                    "{name} {} ({:.1} %)",
                    humantime::format_duration(std::time::Duration::from_millis(times.0[i] as u64)),
                    times.0[i] as f64 * 100.0 / total
                )
            };
            writeln!(
                out,
                "  {:width$}  {}  {}  {}",
                alarm.name,
                part(0, "OK"),
                part(1, "ALARM"),
                part(2, "INSUFFICIENT_DATA")
            )?;
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RowFormat {
    Csv,
    Json,
}

/// One row per evaluation: `time`, each alarm's state and the value it saw,
/// `desired_capacity`, `in_service_capacity`, `serving_capacity`, and where an activity
/// starts, the activity.
///
/// CSV: `time,<alarm>_state,<alarm>_value,...,desired_capacity,in_service_capacity,
/// serving_capacity,activity_policy,activity_step,activity_adjustment,activity_from,
/// activity_to`.
/// JSON lines: `{"time","alarms":[{"name","state","value"}],"desired_capacity",
/// "in_service_capacity","serving_capacity","activity":null|{"policy","step","adjustment",
/// "from","to"}}`.
#[derive(Debug)]
pub(crate) struct RowWriter {
    format: RowFormat,
    /// CSV-quoted or JSON-encoded once.
    alarm_names: Vec<String>,
    policy_names: Vec<String>,
}

fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_owned()
    }
}

fn json_string(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_else(|_| "\"\"".to_owned())
}

impl RowWriter {
    pub fn new(scenario: &Scenario, format: RowFormat) -> RowWriter {
        let encode = |name: &str| match format {
            RowFormat::Csv => csv_field(name),
            RowFormat::Json => json_string(name),
        };
        RowWriter {
            format,
            alarm_names: scenario.alarms.iter().map(|a| encode(&a.name)).collect(),
            policy_names: scenario.policies.iter().map(|p| encode(&p.name)).collect(),
        }
    }

    /// The CSV header (nothing for JSON lines).
    pub(crate) fn write_header(&mut self, out: &mut impl Write) -> io::Result<()> {
        if self.format == RowFormat::Json {
            return Ok(());
        }
        write!(out, "time")?;
        for name in &self.alarm_names {
            // The name may be quoted: the suffix goes inside the quotes.
            let (head, quoted) = name.strip_suffix('"').map_or((name.as_str(), false), |h| (h, true));
            let close = if quoted { "\"" } else { "" };
            write!(out, ",{head}_state{close},{head}_value{close}")?;
        }
        writeln!(
            out,
            ",desired_capacity,in_service_capacity,serving_capacity,activity_policy,activity_step,activity_adjustment,activity_from,activity_to"
        )
    }

    pub fn write(&mut self, out: &mut impl Write, evaluation: &Evaluation) -> io::Result<()> {
        let time = format_rfc3339(evaluation.time_ms);
        let activity = evaluation.activities.first();
        match self.format {
            RowFormat::Csv => {
                write!(out, "{time}")?;
                for alarm in &evaluation.alarms {
                    write!(out, ",{},", alarm.state.name())?;
                    if let Some(value) = alarm.value {
                        write!(out, "{value}")?;
                    }
                }
                write!(
                    out,
                    ",{},{},{}",
                    evaluation.desired_capacity, evaluation.in_service_capacity, evaluation.serving_capacity
                )?;
                match activity {
                    Some(a) => writeln!(
                        out,
                        ",{},{},{},{},{}",
                        self.policy_names[a.policy],
                        a.step.map_or(String::new(), |s| s.to_string()),
                        a.adjustment,
                        a.from,
                        a.to
                    ),
                    None => writeln!(out, ",,,,,"),
                }
            }
            RowFormat::Json => {
                write!(out, "{{\"time\":\"{time}\",\"alarms\":[")?;
                for (i, (alarm, name)) in evaluation.alarms.iter().zip(&self.alarm_names).enumerate() {
                    let separator = if i == 0 { "" } else { "," };
                    write!(
                        out,
                        "{separator}{{\"name\":{name},\"state\":\"{}\",\"value\":",
                        alarm.state.name()
                    )?;
                    match alarm.value {
                        Some(value) if value.is_finite() => write!(out, "{value}}}")?,
                        _ => write!(out, "null}}")?,
                    }
                }
                write!(
                    out,
                    "],\"desired_capacity\":{},\"in_service_capacity\":{},\"serving_capacity\":{},\"activity\":",
                    evaluation.desired_capacity, evaluation.in_service_capacity, evaluation.serving_capacity
                )?;
                match activity {
                    Some(a) => writeln!(
                        out,
                        "{{\"policy\":{},\"step\":{},\"adjustment\":{},\"from\":{},\"to\":{}}}}}",
                        self.policy_names[a.policy],
                        a.step.map_or("null".to_owned(), |s| s.to_string()),
                        a.adjustment,
                        a.from,
                        a.to
                    ),
                    None => writeln!(out, "null}}"),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scaling::scenario::{
        Alarm, AlarmEvaluation, Comparison, Group, MetricAggregation, Policy, ScalingService, SeriesStats, Statistic,
        StepAdjustment, TreatMissingData,
    };

    fn scenario() -> Scenario {
        let alarm = |name: &str, comparison, threshold, policy| Alarm {
            name: name.into(),
            namespace: "N".into(),
            metric_name: "PendingRequests".into(),
            dimensions: vec![],
            statistic: Statistic::Average,
            period: 60,
            evaluation_periods: 1,
            datapoints_to_alarm: 1,
            threshold,
            comparison,
            treat_missing_data: TreatMissingData::Missing,
            actions: vec![policy],
            actions_enabled: true,
            evaluation_window: Default::default(),
        };
        let policy = |name: &str, adjustment| Policy {
            name: name.into(),
            arn: name.into(),
            enabled: true,
            kind: PolicyKind::Step {
                adjustment_type: AdjustmentType::ChangeInCapacity,
                min_adjustment_magnitude: None,
                aggregation: MetricAggregation::Average,
                steps: vec![StepAdjustment {
                    lower_bound: if adjustment > 0 { Some(0.0) } else { None },
                    upper_bound: if adjustment > 0 { None } else { Some(0.0) },
                    scaling_adjustment: adjustment,
                }],
                estimated_instance_warmup: None,
                cooldown: None,
            },
        };
        Scenario {
            delays: Default::default(),
            group: Group {
                service: ScalingService::ApplicationAutoScaling,
                name: "service/c/s".into(),
                min_capacity: 1,
                max_capacity: 10,
                desired_capacity: 2,
                default_instance_warmup: None,
                default_cooldown: 300,
                suspended: Default::default(),
            },
            alarms: vec![
                alarm("high, \"quoted\"", Comparison::GreaterThanThreshold, 10.0, 0),
                alarm("low", Comparison::LessThanThreshold, 2.0, 1),
            ],
            policies: vec![policy("out", 1), policy("in", -1)],
        }
    }

    fn evaluation(
        minute: i64,
        states: [AlarmState; 2],
        desired: u32,
        activity: Option<(usize, u32, u32)>,
    ) -> Evaluation {
        Evaluation {
            time_ms: minute * 60_000,
            alarms: states
                .iter()
                .map(|&state| AlarmEvaluation {
                    state,
                    value: (state != AlarmState::InsufficientData).then_some(12.5),
                })
                .collect(),
            desired_capacity: desired,
            in_service_capacity: desired,
            serving_capacity: desired,
            activities: activity
                .map(|(policy, from, to)| Activity {
                    time_ms: minute * 60_000,
                    policy,
                    step: Some(0),
                    adjustment: i64::from(to) - i64::from(from),
                    from,
                    to,
                    serving_at_ms: (to > from).then_some(minute * 60_000 + 45_000),
                })
                .into_iter()
                .collect(),
        }
    }

    use AlarmState::{Alarm as A, InsufficientData as I, Ok as O};

    /// A run: the series breaches at minute 0, out at 2 and 3, in at 8 (a flap: within 10
    /// minutes of the scale-out), in again at 20 (not a flap).
    fn folded() -> Summary {
        let scenario = scenario();
        let mut summary = Summary::new(&scenario);
        let breach = SeriesPoint {
            start_ms: 0,
            stats: SeriesStats {
                average: Some(11.0),
                ..SeriesStats::default()
            },
        };
        summary.observe_point(&breach, &scenario);
        let quiet = [O, O];
        for minute in 1..=20 {
            let (states, desired, activity) = match minute {
                1 => ([I, I], 2, None),
                2 => ([A, O], 3, Some((0, 2, 3))),
                3 => ([A, O], 4, Some((0, 3, 4))),
                4..=7 => (quiet, 4, None),
                8 => ([O, A], 3, Some((1, 4, 3))),
                9..=19 => (quiet, 3, None),
                _ => ([O, A], 2, Some((1, 3, 2))),
            };
            summary.observe(&evaluation(minute, states, desired, activity));
        }
        summary
    }

    #[test]
    fn the_summary_counts_activities_flaps_delay_and_capacity_hours() {
        let summary = folded();
        assert_eq!(summary.activities().len(), 4);
        assert_eq!(summary.flaps(), &[(180_000, 480_000)]);
        assert_eq!(summary.scale_out_delay_ms(), Some(120_000));
        // Twenty evaluations, each capacity held a minute: 2 + 3 + 4×5 + 3×12 + 2 = 63
        // capacity-minutes.
        assert!(
            (summary.capacity_hours() - 63.0 / 60.0).abs() < 1e-9,
            "{}",
            summary.capacity_hours()
        );
    }

    #[test]
    fn the_summary_text_names_every_activity_and_the_state_times() {
        let scenario = scenario();
        let mut text = Vec::new();
        folded().write(&scenario, &mut text).unwrap();
        let text = String::from_utf8(text).unwrap();
        assert!(text.contains("scaling activities: 4"), "{text}");
        assert!(
            text.contains("1970-01-01T00:02:00Z  out step 0 (0 to +inf)  +1  2 -> 3"),
            "{text}"
        );
        assert!(
            text.contains("1970-01-01T00:08:00Z  in step 0 (-inf to 0)  -1  4 -> 3"),
            "{text}"
        );
        assert!(
            text.contains("first scale-out: 120 s after the series first breached high"),
            "{text}"
        );
        // The series breached at 0:00; desired rose at 2:00 and 3:00, serving 45 s later.
        assert!(
            text.contains("  1970-01-01T00:00:00Z -> +120 s -> +165 s  (2 -> 3)"),
            "{text}"
        );
        assert!(
            text.contains("  1970-01-01T00:00:00Z -> +180 s -> +225 s  (3 -> 4)"),
            "{text}"
        );
        assert!(text.contains("flaps (direction changes within 10 min): 1"), "{text}");
        assert!(
            text.contains("peak 4, lowest 2, at the end 2; 1.05 capacity-hours"),
            "{text}"
        );
        // Twenty evaluations a minute apart, each state held until the next: high was
        // INSUFFICIENT_DATA 1 min, ALARM 2 min, OK 17 min.
        assert!(
            text.contains("OK 17m (85.0 %)  ALARM 2m (10.0 %)  INSUFFICIENT_DATA 1m (5.0 %)"),
            "{text}"
        );
    }

    #[test]
    fn csv_rows_have_a_column_per_alarm_and_quote_names() {
        let scenario = scenario();
        let mut rows = RowWriter::new(&scenario, RowFormat::Csv);
        let mut out = Vec::new();
        rows.write_header(&mut out).unwrap();
        rows.write(&mut out, &evaluation(2, [A, I], 3, Some((0, 2, 3))))
            .unwrap();
        rows.write(&mut out, &evaluation(3, [O, O], 3, None)).unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "time,\"high, \"\"quoted\"\"_state\",\"high, \"\"quoted\"\"_value\",low_state,low_value,desired_capacity,in_service_capacity,serving_capacity,activity_policy,activity_step,activity_adjustment,activity_from,activity_to"
        );
        assert_eq!(
            lines[1],
            "1970-01-01T00:02:00Z,ALARM,12.5,INSUFFICIENT_DATA,,3,3,3,out,0,1,2,3"
        );
        assert_eq!(lines[2], "1970-01-01T00:03:00Z,OK,12.5,OK,12.5,3,3,3,,,,,");
    }

    #[test]
    fn json_rows_parse_and_carry_the_activity() {
        let scenario = scenario();
        let mut rows = RowWriter::new(&scenario, RowFormat::Json);
        let mut out = Vec::new();
        rows.write_header(&mut out).unwrap();
        rows.write(&mut out, &evaluation(2, [A, I], 3, Some((0, 2, 3))))
            .unwrap();
        rows.write(&mut out, &evaluation(3, [O, O], 3, None)).unwrap();
        let values: Vec<serde_json::Value> = String::from_utf8(out)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(values[0]["time"], "1970-01-01T00:02:00Z");
        assert_eq!(values[0]["alarms"][0]["name"], "high, \"quoted\"");
        assert_eq!(values[0]["alarms"][1]["value"], serde_json::Value::Null);
        assert_eq!(values[0]["activity"]["policy"], "out");
        assert_eq!(values[0]["activity"]["to"], 3);
        assert_eq!(values[1]["activity"], serde_json::Value::Null);
        assert_eq!(values[1]["alarms"][1]["state"], "OK");
    }
}
