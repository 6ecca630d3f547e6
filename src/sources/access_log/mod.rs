pub mod checkpoint;
pub mod tail;
