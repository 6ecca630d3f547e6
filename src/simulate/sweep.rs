//! `--sweep KEY=FROM..TO:STEP`: one closed-loop run per value of one knob of the policy (a
//! threshold, EvaluationPeriods, DatapointsToAlarm, a step's bound or adjustment) or of the
//! pool (the launch time, K), one summary row each, the runs spread over the cores.
//!
//! Keys name what they change by the names in the policy:
//! `alarm.NAME.threshold`, `alarm.NAME.evaluation_periods`, `alarm.NAME.datapoints_to_alarm`,
//! `policy.NAME.step.I.adjustment`, `policy.NAME.step.I.lower_bound`,
//! `policy.NAME.step.I.upper_bound`, `policy.NAME.cooldown`, `launch_time`,
//! `unit_concurrency`. [`set`] takes the policy's keys for `--set KEY=VALUE`.

use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use crate::scaling::scenario::{PolicyKind, Scenario};
use crate::simulate::closed_loop::{self, LoopConfig, LoopOutcome, Quiet, Request};

/// The form of every key (NAME: an alarm's or a policy's name; I: a step's index), as
/// `--sweep`'s help lists them.
pub const KEY_FORMS: [&str; 9] = [
    "alarm.NAME.threshold",
    "alarm.NAME.evaluation_periods",
    "alarm.NAME.datapoints_to_alarm",
    "policy.NAME.step.I.adjustment",
    "policy.NAME.step.I.lower_bound",
    "policy.NAME.step.I.upper_bound",
    "policy.NAME.cooldown",
    "launch_time",
    "unit_concurrency",
];

/// Most values one sweep runs.
pub(crate) const MAX_VALUES: usize = 1000;

/// What a sweep changes.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Knob {
    Threshold(usize),
    EvaluationPeriods(usize),
    DatapointsToAlarm(usize),
    StepAdjustment {
        policy: usize,
        step: usize,
    },
    StepBound {
        policy: usize,
        step: usize,
        lower: bool,
    },
    /// Cooldown of a step or simple policy, seconds.
    Cooldown(usize),
    LaunchTime,
    UnitConcurrency,
}

/// A parsed `--sweep`.
#[derive(Debug, Clone, PartialEq)]
pub struct Sweep {
    /// The KEY as given.
    pub key: String,
    knob: Knob,
    pub values: Vec<f64>,
}

/// One value's run.
#[derive(Debug, Clone, PartialEq)]
pub struct SweepRow {
    pub value: f64,
    /// Why this value was not run (e.g. M above N).
    pub refused: Option<String>,
    pub(crate) outcome: Option<LoopOutcome>,
}

impl Sweep {
    /// Parse `KEY=FROM..TO:STEP` against the scenario's names.
    pub fn parse(text: &str, scenario: &Scenario) -> Result<Sweep, String> {
        let (key, range) = text
            .split_once('=')
            .ok_or_else(|| format!("--sweep {text:?}: expected KEY=FROM..TO:STEP"))?;
        let knob = knob_of(key, scenario)?;
        let duration = matches!(knob, Knob::LaunchTime | Knob::Cooldown(_));
        let values = parse_range(range, duration).map_err(|e| format!("--sweep {key}: {e}"))?;
        Ok(Sweep {
            key: key.to_owned(),
            knob,
            values,
        })
    }

    /// The scenario and pool with `value` in place, or why that value cannot be run.
    pub fn apply(&self, value: f64, scenario: &mut Scenario, config: &mut LoopConfig) -> Result<(), String> {
        let whole = || -> Result<u32, String> {
            if value.fract() != 0.0 || value < 1.0 || value > f64::from(u32::MAX) {
                return Err(format!("{value} is not a whole number of at least 1"));
            }
            Ok(value as u32)
        };
        match self.knob {
            Knob::Threshold(alarm) => scenario.alarms[alarm].threshold = value,
            Knob::EvaluationPeriods(index) => {
                let n = whole()?;
                let alarm = &mut scenario.alarms[index];
                if alarm.datapoints_to_alarm == alarm.evaluation_periods {
                    // N of N stays N of N.
                    alarm.datapoints_to_alarm = n;
                } else if alarm.datapoints_to_alarm > n {
                    return Err(format!(
                        "EvaluationPeriods {n} is below DatapointsToAlarm {}",
                        alarm.datapoints_to_alarm
                    ));
                }
                alarm.evaluation_periods = n;
                check_range(alarm.evaluation_periods, alarm.period)?;
            }
            Knob::DatapointsToAlarm(index) => {
                let m = whole()?;
                let alarm = &mut scenario.alarms[index];
                if m > alarm.evaluation_periods {
                    return Err(format!(
                        "DatapointsToAlarm {m} is above EvaluationPeriods {}",
                        alarm.evaluation_periods
                    ));
                }
                alarm.datapoints_to_alarm = m;
            }
            Knob::StepAdjustment { policy, step } => {
                if value.fract() != 0.0 {
                    return Err(format!("{value} is not a whole number"));
                }
                steps_of(scenario, policy)[step].scaling_adjustment = value as i64;
            }
            Knob::StepBound { policy, step, lower } => {
                let steps = steps_of(scenario, policy);
                // The bound is shared with the neighbouring step: both move, so the steps
                // stay without gap or overlap.
                if lower {
                    steps[step].lower_bound = Some(value);
                    if step > 0 {
                        steps[step - 1].upper_bound = Some(value);
                    }
                } else {
                    steps[step].upper_bound = Some(value);
                    if step + 1 < steps.len() {
                        steps[step + 1].lower_bound = Some(value);
                    }
                }
                for (index, s) in steps.iter().enumerate() {
                    if let (Some(lower), Some(upper)) = (s.lower_bound, s.upper_bound) {
                        if lower >= upper {
                            return Err(format!("step {index} would run from {lower} to {upper}"));
                        }
                    }
                }
            }
            Knob::Cooldown(policy) => {
                if value < 0.0 || value.fract() != 0.0 {
                    return Err(format!("a cooldown is whole seconds, got {value}"));
                }
                match &mut scenario.policies[policy].kind {
                    PolicyKind::Step { cooldown, .. } | PolicyKind::Simple { cooldown, .. } => {
                        *cooldown = Some(value as u32)
                    }
                    PolicyKind::TargetTracking { .. } => unreachable!("knob_of refuses it"),
                }
            }
            Knob::LaunchTime => {
                if value < 0.0 {
                    return Err("a launch time cannot be negative".into());
                }
                config.launch_time_ms = Some((value * 1000.0).round() as i64);
            }
            Knob::UnitConcurrency => config.unit_concurrency = whole()?,
        }
        Ok(())
    }

    /// Run every value over `requests` on `threads` threads; rows in value order.
    pub fn run(
        &self,
        requests: &[Request],
        scenario: &Scenario,
        config: &LoopConfig,
        threads: NonZeroUsize,
    ) -> Vec<SweepRow> {
        let rows: Mutex<Vec<Option<SweepRow>>> = Mutex::new(vec![None; self.values.len()]);
        let next = AtomicUsize::new(0);
        let workers = threads.get().min(self.values.len()).max(1);
        std::thread::scope(|scope| {
            for _ in 0..workers {
                scope.spawn(|| loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    let Some(&value) = self.values.get(index) else { return };
                    let row = self.run_one(value, requests, scenario, config);
                    rows.lock().expect("a sweep worker panicked")[index] = Some(row);
                });
            }
        });
        rows.into_inner()
            .expect("a sweep worker panicked")
            .into_iter()
            .map(|row| row.expect("every value ran"))
            .collect()
    }

    fn run_one(&self, value: f64, requests: &[Request], scenario: &Scenario, config: &LoopConfig) -> SweepRow {
        let mut scenario = scenario.clone();
        let mut config = *config;
        match self.apply(value, &mut scenario, &mut config) {
            Err(why) => SweepRow {
                value,
                refused: Some(why),
                outcome: None,
            },
            Ok(()) => SweepRow {
                value,
                refused: None,
                outcome: Some(closed_loop::run(
                    requests,
                    scenario.group.desired_capacity,
                    Some(&scenario),
                    &config,
                    &mut Quiet,
                )),
            },
        }
    }
}

/// `--set KEY=VALUE`: one value of one of the policy's keys, in place (the pool's own
/// settings have their flags).
pub fn set(text: &str, scenario: &mut Scenario) -> Result<(), String> {
    let (key, value) = text
        .split_once('=')
        .ok_or_else(|| format!("--set {text:?}: expected KEY=VALUE"))?;
    let knob = knob_of(key, scenario).map_err(|e| e.replacen("--sweep", "--set", 1))?;
    if matches!(knob, Knob::LaunchTime | Knob::UnitConcurrency) {
        return Err(format!("--set {key}: give it with --{}", key.replace('_', "-")));
    }
    let values = parse_range(&format!("{value}..{value}:1"), matches!(knob, Knob::Cooldown(_)))
        .map_err(|e| format!("--set {key}: {e}"))?;
    let sweep = Sweep {
        key: key.to_owned(),
        knob,
        values,
    };
    let mut unused = LoopConfig {
        unit_concurrency: 1,
        launch_time_ms: None,
        sample_interval_ms: 1000,
        period_ms: 10_000,
        slo_us: None,
    };
    sweep
        .apply(sweep.values[0], scenario, &mut unused)
        .map_err(|e| format!("--set {key}: {e}"))
}

/// CloudWatch's limit: EvaluationPeriods × Period at most one day.
fn check_range(evaluation_periods: u32, period: u32) -> Result<(), String> {
    if u64::from(evaluation_periods) * u64::from(period) > 86_400 {
        return Err(format!(
            "EvaluationPeriods {evaluation_periods} × Period {period} s is over CloudWatch's one day"
        ));
    }
    Ok(())
}

fn steps_of(scenario: &mut Scenario, policy: usize) -> &mut Vec<crate::scaling::scenario::StepAdjustment> {
    match &mut scenario.policies[policy].kind {
        PolicyKind::Step { steps, .. } => steps,
        _ => unreachable!("knob_of accepts step keys on step policies only"),
    }
}

fn knob_of(key: &str, scenario: &Scenario) -> Result<Knob, String> {
    let known = || known_keys(scenario).join(", ");
    match key {
        "launch_time" => return Ok(Knob::LaunchTime),
        "unit_concurrency" => return Ok(Knob::UnitConcurrency),
        _ => {}
    }
    if let Some(rest) = key.strip_prefix("alarm.") {
        let (name, field) = rest
            .rsplit_once('.')
            .ok_or_else(|| format!("--sweep {key}: expected alarm.NAME.FIELD; keys here: {}", known()))?;
        let alarm = scenario
            .alarms
            .iter()
            .position(|a| a.name == name)
            .ok_or_else(|| format!("--sweep {key}: no alarm named {name:?}; keys here: {}", known()))?;
        return match field {
            "threshold" => Ok(Knob::Threshold(alarm)),
            "evaluation_periods" => Ok(Knob::EvaluationPeriods(alarm)),
            "datapoints_to_alarm" => Ok(Knob::DatapointsToAlarm(alarm)),
            _ => Err(format!(
                "--sweep {key}: an alarm's field is threshold, evaluation_periods or datapoints_to_alarm"
            )),
        };
    }
    if let Some(rest) = key.strip_prefix("policy.") {
        let bad = || {
            format!(
                "--sweep {key}: expected policy.NAME.step.I.FIELD or policy.NAME.cooldown; keys here: {}",
                known()
            )
        };
        let (rest, field) = rest.rsplit_once('.').ok_or_else(bad)?;
        if field == "cooldown" {
            let policy = scenario
                .policies
                .iter()
                .position(|p| p.name == rest)
                .ok_or_else(|| format!("--sweep {key}: no policy named {rest:?}; keys here: {}", known()))?;
            if matches!(scenario.policies[policy].kind, PolicyKind::TargetTracking { .. }) {
                return Err(format!(
                    "--sweep {key}: {rest:?} is a target tracking policy (its cooldowns are not swept)"
                ));
            }
            return Ok(Knob::Cooldown(policy));
        }
        let (rest, index) = rest.rsplit_once('.').ok_or_else(bad)?;
        let name = rest.strip_suffix(".step").ok_or_else(bad)?;
        let policy = scenario
            .policies
            .iter()
            .position(|p| p.name == name)
            .ok_or_else(|| format!("--sweep {key}: no policy named {name:?}; keys here: {}", known()))?;
        let PolicyKind::Step { steps, .. } = &scenario.policies[policy].kind else {
            return Err(format!("--sweep {key}: {name:?} is not a step policy"));
        };
        let step: usize = index.parse().map_err(|_| bad())?;
        if step >= steps.len() {
            return Err(format!(
                "--sweep {key}: {name:?} has {} step(s), numbered from 0",
                steps.len()
            ));
        }
        return match field {
            "adjustment" => Ok(Knob::StepAdjustment { policy, step }),
            "lower_bound" | "upper_bound" => {
                let lower = field == "lower_bound";
                let bound = if lower {
                    steps[step].lower_bound
                } else {
                    steps[step].upper_bound
                };
                if bound.is_none() {
                    return Err(format!(
                        "--sweep {key}: that bound is open (infinite); sweep the bound it shares with the next step"
                    ));
                }
                Ok(Knob::StepBound { policy, step, lower })
            }
            _ => Err(format!(
                "--sweep {key}: a step's field is adjustment, lower_bound or upper_bound"
            )),
        };
    }
    Err(format!("--sweep {key}: unknown key; keys here: {}", known()))
}

/// Every key this scenario accepts (for error messages).
pub(crate) fn known_keys(scenario: &Scenario) -> Vec<String> {
    let mut keys = vec!["launch_time".to_owned(), "unit_concurrency".to_owned()];
    for alarm in &scenario.alarms {
        for field in ["threshold", "evaluation_periods", "datapoints_to_alarm"] {
            keys.push(format!("alarm.{}.{field}", alarm.name));
        }
    }
    for policy in &scenario.policies {
        if !matches!(policy.kind, PolicyKind::TargetTracking { .. }) {
            keys.push(format!("policy.{}.cooldown", policy.name));
        }
        if let PolicyKind::Step { steps, .. } = &policy.kind {
            for (index, step) in steps.iter().enumerate() {
                keys.push(format!("policy.{}.step.{index}.adjustment", policy.name));
                if step.lower_bound.is_some() {
                    keys.push(format!("policy.{}.step.{index}.lower_bound", policy.name));
                }
                if step.upper_bound.is_some() {
                    keys.push(format!("policy.{}.step.{index}.upper_bound", policy.name));
                }
            }
        }
    }
    keys
}

/// `FROM..TO:STEP`, TO included; durations (`30s`, `2m`) where `duration`, in seconds.
fn parse_range(text: &str, duration: bool) -> Result<Vec<f64>, String> {
    let (from, rest) = text
        .split_once("..")
        .ok_or_else(|| format!("{text:?}: expected FROM..TO:STEP"))?;
    let (to, step) = rest
        .split_once(':')
        .ok_or_else(|| format!("{text:?}: expected FROM..TO:STEP"))?;
    let number = |s: &str| -> Result<f64, String> {
        let s = s.trim();
        if let Ok(value) = s.parse::<f64>() {
            if value.is_finite() {
                return Ok(value);
            }
        }
        if duration {
            if let Ok(d) = humantime::parse_duration(s) {
                return Ok(d.as_secs_f64());
            }
        }
        Err(format!(
            "{s:?} is not a number{}",
            if duration { " or a duration" } else { "" }
        ))
    };
    let (from, to, step) = (number(from)?, number(to)?, number(step)?);
    if step <= 0.0 {
        return Err(format!("the step must be above 0, got {step}"));
    }
    if to < from {
        return Err(format!("TO ({to}) is below FROM ({from})"));
    }
    let count = ((to - from) / step + 1e-9).floor() as usize + 1;
    if count > MAX_VALUES {
        return Err(format!("{count} values; at most {MAX_VALUES}"));
    }
    // Computed from the index, so 0.1 steps do not drift.
    Ok((0..count)
        .map(|i| {
            let v = from + step * i as f64;
            (v * 1e9).round() / 1e9
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scaling::scenario::{
        AdjustmentType, Alarm, Comparison, Group, MetricAggregation, Policy, ScalingService, Statistic, StepAdjustment,
        TreatMissingData,
    };

    fn scenario() -> Scenario {
        let alarm = |name: &str, n, m, actions| Alarm {
            name: name.into(),
            namespace: "N".into(),
            metric_name: "PendingRequests".into(),
            dimensions: vec![],
            statistic: Statistic::Average,
            period: 10,
            evaluation_periods: n,
            datapoints_to_alarm: m,
            threshold: 20.0,
            comparison: Comparison::GreaterThanOrEqualToThreshold,
            treat_missing_data: TreatMissingData::Missing,
            actions,
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
            alarms: vec![alarm("web-high", 3, 3, vec![0]), alarm("web.two", 5, 3, vec![])],
            policies: vec![Policy {
                name: "web-scale-out".into(),
                arn: "arn:out".into(),
                enabled: true,
                kind: PolicyKind::Step {
                    adjustment_type: AdjustmentType::ChangeInCapacity,
                    min_adjustment_magnitude: None,
                    aggregation: MetricAggregation::Average,
                    steps: vec![
                        StepAdjustment {
                            lower_bound: Some(0.0),
                            upper_bound: Some(20.0),
                            scaling_adjustment: 1,
                        },
                        StepAdjustment {
                            lower_bound: Some(20.0),
                            upper_bound: None,
                            scaling_adjustment: 2,
                        },
                    ],
                    estimated_instance_warmup: None,
                    cooldown: Some(60),
                },
            }],
        }
    }

    fn config() -> LoopConfig {
        LoopConfig {
            unit_concurrency: 10,
            launch_time_ms: Some(60_000),
            sample_interval_ms: 1000,
            period_ms: 10_000,
            slo_us: None,
        }
    }

    #[test]
    fn ranges_include_their_end_and_do_not_drift() {
        assert_eq!(
            parse_range("10..30:5", false).unwrap(),
            vec![10.0, 15.0, 20.0, 25.0, 30.0]
        );
        assert_eq!(parse_range("0.1..0.5:0.1", false).unwrap().len(), 5);
        assert_eq!(parse_range("0.1..0.5:0.1", false).unwrap()[2], 0.3);
        assert_eq!(parse_range("30s..2m:30s", true).unwrap(), vec![30.0, 60.0, 90.0, 120.0]);
        assert!(parse_range("30s..2m:30s", false).is_err());
        assert!(parse_range("5..1:1", false).unwrap_err().contains("below FROM"));
        assert!(parse_range("1..5:0", false).unwrap_err().contains("above 0"));
        assert!(parse_range("1..5000:1", false).unwrap_err().contains("at most"));
    }

    /// KEY_FORMS (what the help lists) are the keys a scenario has, with names and indexes
    /// left out: a new knob fails here until the help lists it.
    #[test]
    fn key_forms_are_the_keys_a_scenario_has() {
        let s = scenario();
        let mut forms: Vec<String> = known_keys(&s)
            .into_iter()
            .map(|key| {
                let mut key = key;
                for alarm in &s.alarms {
                    key = key.replace(&format!("alarm.{}.", alarm.name), "alarm.NAME.");
                }
                for policy in &s.policies {
                    key = key.replace(&format!("policy.{}.", policy.name), "policy.NAME.");
                }
                for index in 0..10 {
                    key = key.replace(&format!(".step.{index}."), ".step.I.");
                }
                key
            })
            .collect();
        forms.sort();
        forms.dedup();
        let mut want: Vec<String> = KEY_FORMS.iter().map(|f| f.to_string()).collect();
        want.sort();
        assert_eq!(forms, want);
    }

    #[test]
    fn keys_name_alarms_and_steps_by_their_names() {
        let s = scenario();
        let sweep = Sweep::parse("alarm.web-high.threshold=10..30:10", &s).unwrap();
        assert_eq!(sweep.values, vec![10.0, 20.0, 30.0]);
        // A dot in an alarm's name is fine: the field is what follows the last dot.
        assert!(Sweep::parse("alarm.web.two.evaluation_periods=3..6:1", &s).is_ok());
        let error = Sweep::parse("alarm.web-low.threshold=1..2:1", &s).unwrap_err();
        assert!(error.contains("no alarm named \"web-low\""), "{error}");
        assert!(error.contains("alarm.web-high.threshold"), "lists the keys: {error}");
        assert!(Sweep::parse("policy.web-scale-out.step.1.upper_bound=1..2:1", &s)
            .unwrap_err()
            .contains("open"));
        assert!(Sweep::parse("policy.web-scale-out.step.2.adjustment=1..2:1", &s)
            .unwrap_err()
            .contains("2 step(s)"));
        assert!(Sweep::parse("threshold=1..2:1", &s)
            .unwrap_err()
            .contains("unknown key"));
    }

    #[test]
    fn a_shared_bound_moves_both_steps_and_n_of_n_stays_n_of_n() {
        let s = scenario();
        let sweep = Sweep::parse("policy.web-scale-out.step.0.upper_bound=5..40:5", &s).unwrap();
        let (mut changed, mut config) = (s.clone(), config());
        sweep.apply(10.0, &mut changed, &mut config).unwrap();
        let PolicyKind::Step { steps, .. } = &changed.policies[0].kind else {
            unreachable!()
        };
        assert_eq!((steps[0].upper_bound, steps[1].lower_bound), (Some(10.0), Some(10.0)));
        // Below the step's own lower bound: refused, not run.
        let mut changed = s.clone();
        assert!(sweep
            .apply(0.0, &mut changed, &mut config)
            .unwrap_err()
            .contains("from 0 to 0"));

        let n = Sweep::parse("alarm.web-high.evaluation_periods=1..5:1", &s).unwrap();
        let mut changed = s.clone();
        n.apply(5.0, &mut changed, &mut config).unwrap();
        assert_eq!(
            (
                changed.alarms[0].evaluation_periods,
                changed.alarms[0].datapoints_to_alarm
            ),
            (5, 5)
        );
        // 3 of 5 cannot go below 3 periods.
        let n = Sweep::parse("alarm.web.two.evaluation_periods=1..5:1", &s).unwrap();
        let mut changed = s.clone();
        assert!(n.apply(2.0, &mut changed, &mut config).is_err());
        let launch = Sweep::parse("launch_time=30s..90s:30s", &s).unwrap();
        launch.apply(90.0, &mut changed, &mut config).unwrap();
        assert_eq!(config.launch_time_ms, Some(90_000));
    }

    #[test]
    fn set_changes_one_policy_key_and_refuses_the_pools() {
        let mut s = scenario();
        set("policy.web-scale-out.cooldown=20s", &mut s).unwrap();
        let PolicyKind::Step { cooldown, .. } = &s.policies[0].kind else {
            unreachable!()
        };
        assert_eq!(*cooldown, Some(20));
        set("alarm.web-high.threshold=12.5", &mut s).unwrap();
        assert_eq!(s.alarms[0].threshold, 12.5);
        let error = set("launch_time=30s", &mut s).unwrap_err();
        assert!(error.contains("--launch-time"), "{error}");
        let error = set("alarm.nope.threshold=1", &mut s).unwrap_err();
        assert!(
            error.starts_with("--set alarm.nope.threshold: no alarm named"),
            "{error}"
        );
        assert!(set("alarm.web-high.datapoints_to_alarm=9", &mut s)
            .unwrap_err()
            .contains("above"));
    }

    #[test]
    fn a_sweep_gives_one_row_per_value_in_order_whatever_the_threads() {
        let s = scenario();
        // 40 a second of 1 s against 2 × 10 slots: the backlog grows by 20 a second, so every
        // threshold scales out, a lower one sooner.
        let requests: Vec<Request> = (0..40 * 300)
            .map(|i| Request {
                arrival_us: 1_796_083_200_000_000 + i * 25_000,
                service_us: 1_000_000,
            })
            .collect();
        let sweep = Sweep::parse("alarm.web-high.threshold=100..1000:100", &s).unwrap();
        let one = sweep.run(&requests, &s, &config(), NonZeroUsize::new(1).unwrap());
        let four = sweep.run(&requests, &s, &config(), NonZeroUsize::new(4).unwrap());
        assert_eq!(one, four);
        assert_eq!(one.len(), 10);
        let waits: Vec<u64> = one.iter().map(|r| r.outcome.as_ref().unwrap().wait_p99_us).collect();
        assert!(
            waits.windows(2).all(|w| w[0] <= w[1]),
            "a higher threshold never waits less here: {waits:?}"
        );
        assert!(waits[0] < waits[9]);
    }
}
