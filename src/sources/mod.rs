//! Sources: where samples come from. Sources never import sinks.

pub mod stub_status;
