//! `simulate`: what CloudWatch alarms and an Auto Scaling policy would have done with a
//! PendingRequests series, by AWS's documented rules.
//!
//! ```text
//! input (AWS CLI JSON | policy TOML) --validate--> scaling::model::Scenario
//! series (replay CSV/JSON | get-metric-statistics | GetMetricData | --log) --> scaling::model::Series
//! engine (pure: alarms, steps, warmup/cooldown)  --Evaluation per tick-->  report | plot
//! --log requests --> closed_loop (pool of capacity × K, one queue) --samples--> engine
//!                        ^---------- desired capacity, after the launch time ----'
//! sweep: the closed loop once per value of one knob, on all cores --> loop_report
//! ```
//!
//! The command layer checks the flags and builds a [`Plan`] before anything is read;
//! [`run`] takes only that plan.

pub mod closed_loop;
pub mod cloudwatch;
mod driver;
pub mod engine;
pub mod input;
mod loop_driver;
pub mod loop_report;
pub mod plan;
pub mod plot;
mod prepare;
pub mod report;
pub mod series;
pub mod sweep;
mod watchers;

pub use driver::{point_of, run};
pub use plan::{CloudWatchRead, Logs, Output, Plan, SeriesPlan};
pub use prepare::{check_closed_loop, check_cpu_series, check_log, SimulateError};
