//! CloudWatch Embedded Metric Format: one JSON line per period, for hosts where the
//! CloudWatch agent or a log driver ships logs and PutMetricData is not allowed.
//!
//! Follows the specification
//! (<https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html>):
//! `_aws.Timestamp` in epoch milliseconds, `_aws.CloudWatchMetrics` holding the Namespace,
//! the dimension sets (each a list of top-level keys) and the metric definitions (Name,
//! Unit, StorageResolution); the dimension values and the metric's values at top level. A
//! metric value is an array of at most 100 numbers, so a period with more samples becomes
//! several lines with the same timestamp, which CloudWatch aggregates.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::SystemTime;

use serde_json::{json, Map, Value};
use tokio::sync::mpsc;

use super::emf_agent::{self, Protocol};
use super::Target;
use crate::clock::Clock;
use crate::config::{EmfOutput, INSTANCE_DIMENSION};
use crate::events::sinks::{EmfLinesWritten, EmfWriteFailed};
use crate::events::FailureStreak;
use crate::model::Metric;
use crate::stats::{unix_ms, Stats};

/// Values one EMF metric may carry (the specification's limit).
pub(crate) const MAX_VALUES_PER_LINE: usize = 100;

/// One period's samples of one metric for the EMF writer.
#[derive(Debug, Clone)]
pub struct EmfRecord {
    pub timestamp: SystemTime,
    pub values: Vec<f64>,
    pub metric: Metric,
}

impl EmfRecord {
    /// A datapoint's period, with the values it was made of (the samples of a PendingRequests
    /// period, for the percentiles CloudWatch computes from EMF).
    pub(crate) fn with_values(datapoint: &crate::model::Datapoint, values: Vec<f64>) -> EmfRecord {
        EmfRecord {
            timestamp: datapoint.timestamp,
            values,
            metric: datapoint.metric,
        }
    }

    /// A datapoint that is one value per period (the access log's metrics): its sum.
    pub(crate) fn of_datapoint(datapoint: &crate::model::Datapoint) -> EmfRecord {
        EmfRecord::with_values(datapoint, vec![datapoint.stats.sum])
    }
}

/// Encode one period as EMF lines (pure).
pub fn encode(target: &Target, record: &EmfRecord) -> Vec<String> {
    let (metric_name, unit) = target.name_and_unit(record.metric);
    let mut dimension_sets = vec![json!([INSTANCE_DIMENSION])];
    if !target.fleet_dimensions.is_empty() {
        let names: Vec<&str> = target.fleet_dimensions.iter().map(|(name, _)| name.as_str()).collect();
        dimension_sets.push(json!(names));
    }
    let mut base = Map::new();
    base.insert(
        "_aws".into(),
        json!({
            "Timestamp": unix_ms(record.timestamp),
            "CloudWatchMetrics": [{
                "Namespace": target.namespace,
                "Dimensions": dimension_sets,
                "Metrics": [{"Name": metric_name, "Unit": unit, "StorageResolution": target.storage_resolution}],
            }],
        }),
    );
    base.insert(INSTANCE_DIMENSION.into(), Value::from(target.instance_id.clone()));
    for (name, value) in &target.fleet_dimensions {
        base.insert(name.clone(), Value::from(value.clone()));
    }
    record
        .values
        .chunks(MAX_VALUES_PER_LINE)
        .map(|chunk| {
            let mut line = base.clone();
            line.insert(metric_name.to_owned(), json!(chunk));
            Value::Object(line).to_string()
        })
        .collect()
}

/// Writes EMF lines to stdout or appends them to a file (reopened for every period, so
/// logrotate's rename needs no signal), or hands them to [`super::emf_agent`] for the
/// CloudWatch agent's tcp:// or udp:// listener (given `drain` to send what is buffered once
/// `records` closes).
pub async fn run(
    target: Target,
    output: EmfOutput,
    mut records: mpsc::Receiver<EmfRecord>,
    stats: Arc<Stats>,
    clock: Clock,
    drain: std::time::Duration,
) {
    match output {
        EmfOutput::Tcp(address) => {
            let encode = |record: &EmfRecord| encode(&target, record);
            return emf_agent::run(Protocol::Tcp, address, records, encode, stats, clock, drain).await;
        }
        EmfOutput::Udp(address) => {
            let encode = |record: &EmfRecord| encode(&target, record);
            return emf_agent::run(Protocol::Udp, address, records, encode, stats, clock, drain).await;
        }
        EmfOutput::Stdout | EmfOutput::File(_) => {}
    }
    let mut failing = FailureStreak::once();
    while let Some(record) = records.recv().await {
        let lines = encode(&target, &record);
        let output = output.clone();
        let written = tokio::task::spawn_blocking(move || write_lines(&output, &lines).map(|()| lines.len()))
            .await
            .unwrap_or_else(|e| Err(std::io::Error::other(e)));
        match written {
            Ok(lines) => EmfLinesWritten { lines, at: clock.now() }.emit(&stats, &mut failing),
            Err(error) => EmfWriteFailed { error: &error }.emit(&stats, &mut failing),
        }
    }
}

/// Write lines to the output (blocking; `once` uses it directly, with no buffer: a line the
/// agent does not take is its failure).
pub(crate) fn write_lines(output: &EmfOutput, lines: &[String]) -> std::io::Result<()> {
    const AGENT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);
    match output {
        EmfOutput::Tcp(address) => {
            let mut stream = std::net::TcpStream::connect_timeout(&resolve(address)?, AGENT_TIMEOUT)?;
            stream.set_write_timeout(Some(AGENT_TIMEOUT))?;
            let text: String = lines.iter().map(|line| format!("{line}\n")).collect();
            stream.write_all(text.as_bytes())
        }
        EmfOutput::Udp(address) => {
            let socket = std::net::UdpSocket::bind(if address.starts_with('[') {
                "[::]:0"
            } else {
                "0.0.0.0:0"
            })?;
            socket.connect(address)?;
            for line in lines {
                let datagram = format!("{line}\n");
                if datagram.len() > emf_agent::MAX_DATAGRAM_BYTES {
                    return Err(std::io::Error::other(format!(
                        "an EMF line of {} bytes does not fit one UDP datagram (at most {}); use tcp://",
                        datagram.len(),
                        emf_agent::MAX_DATAGRAM_BYTES
                    )));
                }
                socket.send(datagram.as_bytes())?;
            }
            Ok(())
        }
        EmfOutput::Stdout => {
            let mut stdout = std::io::stdout().lock();
            for line in lines {
                writeln!(stdout, "{line}")?;
            }
            stdout.flush()
        }
        EmfOutput::File(path) => {
            let mut file = open_append(path)?;
            let mut text = String::new();
            for line in lines {
                text.push_str(line);
                text.push('\n');
            }
            // One write call per period keeps the lines whole for a concurrent reader.
            file.write_all(text.as_bytes())
        }
    }
}

fn resolve(address: &str) -> std::io::Result<std::net::SocketAddr> {
    std::net::ToSocketAddrs::to_socket_addrs(address)?
        .next()
        .ok_or_else(|| std::io::Error::other("the name resolves to no address"))
}

fn open_append(path: &PathBuf) -> std::io::Result<std::fs::File> {
    std::fs::OpenOptions::new().create(true).append(true).open(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    fn target(fleet: &[(&str, &str)]) -> Target {
        Target {
            namespace: "MyApp".into(),
            metric_name: "PendingRequests".into(),
            instance_id: "i-0abc".into(),
            storage_resolution: 1,
            fleet_dimensions: fleet.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect(),
        }
    }

    /// Checks a line against the specification's rules, independently of the encoder.
    fn assert_valid_emf(line: &str) -> Value {
        let root: Value = serde_json::from_str(line).expect("a JSON object");
        let aws = root["_aws"].as_object().expect("_aws object");
        assert!(aws["Timestamp"].is_u64(), "Timestamp is epoch milliseconds");
        let directives = aws["CloudWatchMetrics"].as_array().expect("CloudWatchMetrics array");
        assert!(!directives.is_empty());
        for directive in directives {
            let namespace = directive["Namespace"].as_str().expect("Namespace string");
            assert!(!namespace.is_empty() && namespace.len() <= 255 && !namespace.starts_with("AWS/"));
            for set in directive["Dimensions"].as_array().expect("Dimensions array") {
                let keys = set.as_array().expect("a dimension set is an array");
                assert!(keys.len() <= 30, "at most 30 dimensions per set");
                for key in keys {
                    let key = key.as_str().expect("dimension keys are strings");
                    assert!(root[key].is_string(), "dimension {key} has a string value at top level");
                }
            }
            let metrics = directive["Metrics"].as_array().expect("Metrics array");
            assert!(metrics.len() <= 100);
            for metric in metrics {
                let name = metric["Name"].as_str().expect("metric Name");
                assert!(metric["Unit"].is_string());
                assert!([1, 60].contains(&metric["StorageResolution"].as_i64().unwrap()));
                let values = root[name].as_array().expect("values at top level");
                assert!(!values.is_empty() && values.len() <= MAX_VALUES_PER_LINE);
                assert!(values.iter().all(Value::is_number));
            }
        }
        root
    }

    #[test]
    fn a_period_is_one_valid_line_with_its_samples() {
        let record = EmfRecord {
            timestamp: UNIX_EPOCH + Duration::from_secs(1_800_000_010),
            values: vec![3.0, 4.0, 5.0],
            metric: Metric::Pending,
        };
        let lines = encode(&target(&[]), &record);
        assert_eq!(lines.len(), 1);
        let root = assert_valid_emf(&lines[0]);
        assert_eq!(root["_aws"]["Timestamp"], 1_800_000_010_000u64);
        assert_eq!(root["InstanceId"], "i-0abc");
        assert_eq!(root["PendingRequests"], json!([3.0, 4.0, 5.0]));
        assert_eq!(
            root["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            json!([["InstanceId"]])
        );
    }

    #[test]
    fn fleet_dimensions_are_a_second_dimension_set() {
        let record = EmfRecord {
            timestamp: UNIX_EPOCH,
            values: vec![1.0],
            metric: Metric::Pending,
        };
        let root = assert_valid_emf(&encode(&target(&[("Service", "nginx")]), &record)[0]);
        assert_eq!(
            root["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            json!([["InstanceId"], ["Service"]])
        );
        assert_eq!(root["Service"], "nginx");
    }

    #[test]
    fn more_than_100_samples_split_into_lines_with_the_same_timestamp() {
        let record = EmfRecord {
            timestamp: UNIX_EPOCH + Duration::from_secs(60),
            values: (0..250).map(f64::from).collect(),
            metric: Metric::Pending,
        };
        let lines = encode(&target(&[]), &record);
        assert_eq!(lines.len(), 3);
        let mut all = Vec::new();
        for line in &lines {
            let root = assert_valid_emf(line);
            assert_eq!(root["_aws"]["Timestamp"], 60_000);
            all.extend(
                root["PendingRequests"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_f64().unwrap()),
            );
        }
        assert_eq!(all, record.values);
    }

    #[test]
    fn file_output_appends_whole_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("emf.log");
        let output = EmfOutput::File(path.clone());
        write_lines(&output, &["{\"a\":1}".into()]).unwrap();
        write_lines(&output, &["{\"b\":2}".into()]).unwrap();
        assert_eq!(std::fs::read_to_string(path).unwrap(), "{\"a\":1}\n{\"b\":2}\n");
    }
}
