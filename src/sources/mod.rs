//! Sources: where samples come from. Sources never import sinks.

pub mod access_log;
pub mod stub_status;
