//! `simulate`: what CloudWatch alarms and an Auto Scaling policy would have done with a
//! PendingRequests series, by AWS's documented rules.
//!
//! ```text
//! input (AWS CLI JSON | policy TOML) --validate--> model::Scenario
//! series (replay CSV/JSON | get-metric-statistics | GetMetricData | --log) --> model::Series
//! engine (pure: alarms, steps, warmup/cooldown)  --Evaluation per tick-->  report | plot
//! ```

pub mod closed_loop;
pub mod cloudwatch;
mod driver;
pub mod engine;
pub mod input;
pub mod model;
pub mod plot;
pub mod report;
pub mod series;
pub mod sweep;

pub use driver::{point_of, run, SimulateError};
