//! Pure encoder: datapoints in, PutMetricData requests out. The CloudWatch client
//! converts these to SDK types and `--dry-run` prints them as JSON, so both show
//! exactly the same request.

use std::time::SystemTime;

use serde::{Serialize, Serializer};

use crate::config::{CloudWatchConfig, INSTANCE_DIMENSION};
use crate::limits;
use crate::model::{Datapoint, Metric, StatisticSet};

/// Where datapoints go: everything but the values.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    pub namespace: String,
    pub metric_name: String,
    pub instance_id: String,
    pub storage_resolution: i32,
    pub fleet_dimensions: Vec<(String, String)>,
}

impl Target {
    pub fn new(config: &CloudWatchConfig, instance_id: String) -> Self {
        Target {
            namespace: config.namespace.clone(),
            metric_name: config.metric_name.clone(),
            instance_id,
            storage_resolution: config.storage_resolution,
            fleet_dimensions: config.fleet_dimensions.clone(),
        }
    }

    /// The name and unit `metric` is published under.
    pub(crate) fn name_and_unit(&self, metric: Metric) -> (&str, &'static str) {
        match metric {
            Metric::Pending => (self.metric_name.as_str(), UNIT),
            Metric::Log(metric) => (metric.name(), metric.unit()),
        }
    }

    /// Who a spool's datapoints belong to (see [`crate::sinks::spool::Spool::bind_to`]).
    pub(crate) fn spool_owner(namespace: &str, metric_name: &str, instance_id: &str) -> String {
        format!("{namespace}\n{metric_name}\n{instance_id}")
    }

    /// Datums one datapoint becomes: the per-instance one, plus the fleet one if configured.
    pub(crate) fn datums_per_datapoint(&self) -> usize {
        1 + usize::from(!self.fleet_dimensions.is_empty())
    }
}

/// One PutMetricData call.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PutRequest {
    pub namespace: String,
    pub metric_data: Vec<Datum>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Datum {
    pub metric_name: String,
    pub dimensions: Vec<Dimension>,
    #[serde(serialize_with = "rfc3339")]
    pub timestamp: SystemTime,
    pub statistic_values: StatisticSet,
    pub unit: &'static str,
    pub storage_resolution: i32,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Dimension {
    pub name: String,
    pub value: String,
}

/// The unit of the scaling metric (access-log metrics name their own).
pub(crate) const UNIT: &str = "Count";

fn rfc3339<S: Serializer>(time: &SystemTime, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_str(&humantime::format_rfc3339_millis(*time))
}

fn dimension(name: &str, value: &str) -> Dimension {
    Dimension {
        name: name.to_owned(),
        value: value.to_owned(),
    }
}

/// Rough wire size of a datum, to keep a call under the payload limit.
fn estimated_bytes(datum: &Datum) -> usize {
    let dimensions: usize = datum.dimensions.iter().map(|d| d.name.len() + d.value.len() + 16).sum();
    datum.metric_name.len() + dimensions + 128
}

/// Encode datapoints in the order given, as few calls as the API limits allow.
pub fn encode(target: &Target, datapoints: &[Datapoint]) -> Vec<PutRequest> {
    let mut requests: Vec<PutRequest> = Vec::new();
    let mut bytes = 0;
    for datapoint in datapoints {
        let (metric_name, unit) = target.name_and_unit(datapoint.metric);
        let mut datums = vec![Datum {
            metric_name: metric_name.to_owned(),
            dimensions: vec![dimension(INSTANCE_DIMENSION, &target.instance_id)],
            timestamp: datapoint.timestamp,
            statistic_values: datapoint.stats,
            unit,
            storage_resolution: target.storage_resolution,
        }];
        if !target.fleet_dimensions.is_empty() {
            datums.push(Datum {
                dimensions: target.fleet_dimensions.iter().map(|(n, v)| dimension(n, v)).collect(),
                ..datums[0].clone()
            });
        }
        let size: usize = datums.iter().map(estimated_bytes).sum();
        let fits = requests.last().is_some_and(|r| {
            r.metric_data.len() + datums.len() <= limits::MAX_DATUMS_PER_CALL
                && bytes + size <= limits::MAX_PAYLOAD_BYTES
        });
        if !fits {
            requests.push(PutRequest {
                namespace: target.namespace.clone(),
                metric_data: Vec::new(),
            });
            bytes = 0;
        }
        bytes += size;
        requests.last_mut().expect("pushed above").metric_data.extend(datums);
    }
    requests
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    fn target(fleet: &[(&str, &str)]) -> Target {
        Target {
            namespace: "MyApp".into(),
            metric_name: "PendingRequests".into(),
            instance_id: "i-0123456789abcdef0".into(),
            storage_resolution: 1,
            fleet_dimensions: fleet.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect(),
        }
    }

    fn datapoint(second: u64, value: f64) -> Datapoint {
        Datapoint::pending(UNIX_EPOCH + Duration::from_secs(second), StatisticSet::of(value))
    }

    #[test]
    fn one_datapoint_is_one_datum_with_the_instance_dimension() {
        let requests = encode(&target(&[]), &[datapoint(1_800_000_000, 4.0)]);
        assert_eq!(requests.len(), 1);
        let json = serde_json::to_value(&requests[0]).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "namespace": "MyApp",
                "metric_data": [{
                    "metric_name": "PendingRequests",
                    "dimensions": [{"name": "InstanceId", "value": "i-0123456789abcdef0"}],
                    "timestamp": "2027-01-15T08:00:00.000Z",
                    "statistic_values": {"sample_count": 1.0, "sum": 4.0, "minimum": 4.0, "maximum": 4.0},
                    "unit": "Count",
                    "storage_resolution": 1
                }]
            })
        );
    }

    #[test]
    fn fleet_datum_rides_in_the_same_call_with_only_its_dimensions() {
        let requests = encode(&target(&[("Service", "nginx")]), &[datapoint(60, 2.0)]);
        assert_eq!(requests.len(), 1);
        let data = &requests[0].metric_data;
        assert_eq!(data.len(), 2);
        assert_eq!(data[0].dimensions, vec![dimension("InstanceId", "i-0123456789abcdef0")]);
        assert_eq!(data[1].dimensions, vec![dimension("Service", "nginx")]);
        assert_eq!(data[0].statistic_values, data[1].statistic_values);
        assert_eq!(data[0].timestamp, data[1].timestamp);
    }

    #[test]
    fn splits_at_the_datum_limit_keeping_order() {
        let points: Vec<_> = (0..2500).map(|i| datapoint(i * 10, i as f64)).collect();
        let requests = encode(&target(&[]), &points);
        let sizes: Vec<_> = requests.iter().map(|r| r.metric_data.len()).collect();
        assert_eq!(sizes, vec![1000, 1000, 500]);
        let flat: Vec<_> = requests
            .iter()
            .flat_map(|r| &r.metric_data)
            .map(|d| d.statistic_values.sum)
            .collect();
        assert!(flat.windows(2).all(|w| w[0] < w[1]), "order kept");
    }

    #[test]
    fn fleet_pairs_never_split_across_calls() {
        let points: Vec<_> = (0..999).map(|i| datapoint(i, 1.0)).collect();
        let requests = encode(&target(&[("Service", "nginx")]), &points);
        assert!(requests
            .iter()
            .all(|r| r.metric_data.len() % 2 == 0 && r.metric_data.len() <= 1000));
        assert_eq!(requests.iter().map(|r| r.metric_data.len()).sum::<usize>(), 1998);
    }

    #[test]
    fn nothing_in_nothing_out() {
        assert!(encode(&target(&[]), &[]).is_empty());
    }
}
