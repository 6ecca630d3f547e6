//! What the closed loop prints: the scaled pool beside the fixed one, and one row per value of
//! a sweep (a table, CSV or JSON lines). Pure formatting over [`LoopOutcome`]s.

use std::io::{self, Write};

use crate::simulate::closed_loop::{LoopConfig, LoopOutcome};
use crate::simulate::sweep::{Sweep, SweepRow};

fn seconds(us: u64) -> String {
    format!("{:.3} s", us as f64 / 1e6)
}

fn over_slo(outcome: &LoopOutcome) -> String {
    format!(
        "{} ({:.2} %)",
        outcome.over_slo,
        outcome.over_slo as f64 * 100.0 / (outcome.requests.max(1)) as f64
    )
}

/// The pool's setting, one line.
pub(crate) fn write_setting(out: &mut impl Write, config: &LoopConfig, requests: u64, starting: u32) -> io::Result<()> {
    writeln!(
        out,
        "closed loop: {requests} requests into {starting} unit(s) × K {} = {} slots at the start, one queue; {}; sampled every {} into {} s periods{}",
        config.unit_concurrency,
        u64::from(starting) * u64::from(config.unit_concurrency),
        config.launch_time_ms.map_or("the policy's delays".to_owned(), |ms| format!(
            "launch time {}",
            humantime::format_duration(std::time::Duration::from_millis(ms.max(0) as u64))
        )),
        humantime::format_duration(std::time::Duration::from_millis(config.sample_interval_ms as u64)),
        config.period_ms / 1000,
        config
            .slo_us
            .map_or(String::new(), |slo| format!("; SLO {}", humantime::format_duration(std::time::Duration::from_micros(slo))))
    )
}

/// The scaled pool beside the fixed one.
pub(crate) fn write_comparison(
    out: &mut impl Write,
    config: &LoopConfig,
    scaled: &LoopOutcome,
    fixed: &LoopOutcome,
    starting: u32,
) -> io::Result<()> {
    let fixed_label = format!("fixed at {starting}");
    let rows: [(&str, String, String); 9] = [
        (
            "queueing delay p50",
            seconds(scaled.wait_p50_us),
            seconds(fixed.wait_p50_us),
        ),
        (
            "queueing delay p99",
            seconds(scaled.wait_p99_us),
            seconds(fixed.wait_p99_us),
        ),
        (
            "queueing delay max",
            seconds(scaled.wait_max_us),
            seconds(fixed.wait_max_us),
        ),
        (
            "waited over the SLO",
            config.slo_us.map_or("-".into(), |_| over_slo(scaled)),
            config.slo_us.map_or("-".into(), |_| over_slo(fixed)),
        ),
        (
            "capacity-hours",
            format!("{:.2}", scaled.capacity_hours),
            format!("{:.2}", fixed.capacity_hours),
        ),
        (
            "capacity (units)",
            format!("{} to {}", scaled.capacity_min, scaled.capacity_max),
            format!("{starting}"),
        ),
        ("scaling activities", scaled.activities.to_string(), "0".into()),
        ("flaps", scaled.flaps.to_string(), "0".into()),
        (
            "peak PendingRequests",
            scaled.peak_pending.to_string(),
            fixed.peak_pending.to_string(),
        ),
    ];
    writeln!(out, "{:22}  {:>20}  {:>20}", "", "scaled", fixed_label)?;
    for (name, a, b) in rows {
        writeln!(out, "{name:22}  {a:>20}  {b:>20}")?;
    }
    Ok(())
}

/// How the sweep's rows are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SweepFormat {
    Table,
    Csv,
    Json,
}

pub const SWEEP_CSV_HEADER: &str =
    "value,capacity_hours,wait_p50_s,wait_p99_s,wait_max_s,over_slo,activities,flaps,peak_pending,capacity_max,refused";

/// One row per value, then (table only) the fixed pool for reference.
pub(crate) fn write_sweep(
    out: &mut impl Write,
    sweep: &Sweep,
    rows: &[SweepRow],
    fixed: &LoopOutcome,
    format: SweepFormat,
) -> io::Result<()> {
    match format {
        SweepFormat::Table => {
            writeln!(
                out,
                "{:>12}  {:>14}  {:>10}  {:>10}  {:>9}  {:>10}  {:>5}  {:>12}  {:>7}",
                sweep.key.rsplit('.').next().unwrap_or(&sweep.key),
                "capacity-hours",
                "p99 wait",
                "max wait",
                "over SLO",
                "activities",
                "flaps",
                "peak pending",
                "max cap"
            )?;
            for row in rows {
                match (&row.outcome, &row.refused) {
                    (Some(o), _) => writeln!(
                        out,
                        "{:>12}  {:>14.2}  {:>10}  {:>10}  {:>9}  {:>10}  {:>5}  {:>12}  {:>7}",
                        row.value,
                        o.capacity_hours,
                        seconds(o.wait_p99_us),
                        seconds(o.wait_max_us),
                        o.over_slo,
                        o.activities,
                        o.flaps,
                        o.peak_pending,
                        o.capacity_max
                    )?,
                    (None, why) => writeln!(
                        out,
                        "{:>12}  refused: {}",
                        row.value,
                        why.as_deref().unwrap_or("not run")
                    )?,
                }
            }
            writeln!(
                out,
                "{:>12}  {:>14.2}  {:>10}  {:>10}  {:>9}  {:>10}  {:>5}  {:>12}  {:>7}",
                "fixed",
                fixed.capacity_hours,
                seconds(fixed.wait_p99_us),
                seconds(fixed.wait_max_us),
                fixed.over_slo,
                0,
                0,
                fixed.peak_pending,
                fixed.capacity_max
            )
        }
        SweepFormat::Csv => {
            writeln!(out, "{SWEEP_CSV_HEADER}")?;
            for row in rows {
                match &row.outcome {
                    Some(o) => writeln!(
                        out,
                        "{},{:.4},{:.6},{:.6},{:.6},{},{},{},{},{},",
                        row.value,
                        o.capacity_hours,
                        o.wait_p50_us as f64 / 1e6,
                        o.wait_p99_us as f64 / 1e6,
                        o.wait_max_us as f64 / 1e6,
                        o.over_slo,
                        o.activities,
                        o.flaps,
                        o.peak_pending,
                        o.capacity_max
                    )?,
                    None => writeln!(
                        out,
                        "{},,,,,,,,,,\"{}\"",
                        row.value,
                        row.refused.as_deref().unwrap_or("").replace('"', "'")
                    )?,
                }
            }
            Ok(())
        }
        SweepFormat::Json => {
            for row in rows {
                let value = match &row.outcome {
                    Some(o) => serde_json::json!({
                        "key": sweep.key,
                        "value": row.value,
                        "capacity_hours": o.capacity_hours,
                        "wait_p50_s": o.wait_p50_us as f64 / 1e6,
                        "wait_p99_s": o.wait_p99_us as f64 / 1e6,
                        "wait_max_s": o.wait_max_us as f64 / 1e6,
                        "over_slo": o.over_slo,
                        "activities": o.activities,
                        "flaps": o.flaps,
                        "peak_pending": o.peak_pending,
                        "capacity_max": o.capacity_max,
                    }),
                    None => serde_json::json!({"key": sweep.key, "value": row.value, "refused": row.refused}),
                };
                serde_json::to_writer(&mut *out, &value)?;
                out.write_all(b"\n")?;
            }
            Ok(())
        }
    }
}
