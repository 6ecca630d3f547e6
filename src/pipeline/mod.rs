//! The daemon's stages between sources and outputs: the sample loop (stub_status samples
//! into periods, closed periods to the outputs) and the access-log pipeline (tailed lines
//! into periods, their metrics to the outputs). `app` builds them from `Config` and runs them.

pub mod access_log;
pub(crate) mod sample_loop;
