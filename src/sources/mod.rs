//! Sources: where samples come from. Sources never import sinks.

pub mod accept_queue;
pub mod access_log;
pub mod stub_status;
pub mod upstreams;
