//! The scaling model that `simulate`, `policy` and `check` share: the validated scenario
//! (an Auto Scaling group or scalable target, its alarms and policies, the switches that
//! turn them off, the delays of the real loop) and what the engine reports.
//!
//! ```text
//! simulate::input (AWS CLI JSON | policy TOML) --validate--> scenario::Scenario
//!        --> simulate::engine | policy::render | policy::lint | check
//! ```

pub mod aws;
pub mod scenario;
