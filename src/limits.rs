//! CloudWatch API limits, from the PutMetricData API reference
//! (<https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricData.html>)
//! and the CloudWatch quotas page. Config validation and the encoder both use these.

use std::time::Duration;

/// Datums in one PutMetricData call.
pub(crate) const MAX_DATUMS_PER_CALL: usize = 1000;
/// Request payload of one PutMetricData call.
pub(crate) const MAX_PAYLOAD_BYTES: usize = 1_000_000;
/// Dimensions on one datum.
pub(crate) const MAX_DIMENSIONS: usize = 30;
/// Oldest timestamp PutMetricData accepts.
pub(crate) const MAX_DATAPOINT_AGE: Duration = Duration::from_secs(14 * 24 * 3600);
/// Namespace, metric name and dimension name length.
pub(crate) const MAX_NAME_LEN: usize = 255;
/// Dimension value length.
pub(crate) const MAX_DIMENSION_VALUE_LEN: usize = 1024;
/// The only two StorageResolution values CloudWatch accepts.
pub(crate) const STORAGE_RESOLUTIONS: [i32; 2] = [1, 60];
/// PutMetricData price per 1,000 requests (us-east-1, standard tier).
pub(crate) const PRICE_PER_1000_REQUESTS_USD: f64 = 0.01;
/// Custom metric price per metric-month (first 10,000 metrics, us-east-1).
pub(crate) const PRICE_PER_METRIC_MONTH_USD: f64 = 0.30;
