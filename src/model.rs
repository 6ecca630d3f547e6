//! The types between sources and sinks: what derive produces and sinks publish.

use std::time::SystemTime;

use serde::{Deserialize, Serialize};

/// CloudWatch's StatisticSet: a summary of the samples of one period.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct StatisticSet {
    pub sample_count: f64,
    pub sum: f64,
    pub minimum: f64,
    pub maximum: f64,
}

impl StatisticSet {
    pub fn of(value: f64) -> Self {
        StatisticSet {
            sample_count: 1.0,
            sum: value,
            minimum: value,
            maximum: value,
        }
    }

    pub fn add(&mut self, value: f64) {
        self.sample_count += 1.0;
        self.sum += value;
        self.minimum = self.minimum.min(value);
        self.maximum = self.maximum.max(value);
    }

    pub fn average(&self) -> f64 {
        self.sum / self.sample_count
    }
}

/// One period's figure of the published metric, stamped with the period's start.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Datapoint {
    pub timestamp: SystemTime,
    pub stats: StatisticSet,
}
