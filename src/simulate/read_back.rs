//! `simulate --from-cloudwatch`: read the published series back with GetMetricData, the five
//! statistics of each period, so every alarm statistic is there.

use std::time::{Duration, SystemTime};

use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{Dimension, Metric, MetricDataQuery, MetricStat, ScanBy};

use crate::config::CloudWatchConfig;
use crate::scaling::scenario::{Series, SeriesPoint, SeriesStats, Statistic};

/// What CloudWatch keeps (CloudWatch User Guide, "Metrics retention"): data points with a
/// period under 60 s for 3 hours, 60 s ones for 15 days, 300 s ones for 63 days, 1 h ones 455
/// days. GetMetricData refuses a finer period for a window that starts before those.
pub(crate) const RETENTION: [(u32, Duration); 4] = [
    (1, Duration::from_secs(3 * 3600)),
    (60, Duration::from_secs(15 * 86_400)),
    (300, Duration::from_secs(63 * 86_400)),
    (3600, Duration::from_secs(455 * 86_400)),
];

/// The finest period a window starting at `start` can still be read at, or `None` if it is
/// older than everything CloudWatch keeps.
pub(crate) fn finest_period(start: SystemTime, now: SystemTime) -> Option<u32> {
    let age = now.duration_since(start).unwrap_or_default();
    RETENTION
        .iter()
        .find(|(_, kept)| age <= *kept)
        .map(|(period, _)| *period)
}

/// Which series to read.
#[derive(Debug, Clone)]
pub struct SeriesQuery {
    pub namespace: String,
    pub metric_name: String,
    pub dimensions: Vec<(String, String)>,
    pub period: u32,
    pub start: SystemTime,
    pub end: SystemTime,
}

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error(
        "--period {period}s is finer than CloudWatch keeps for a window starting at {start}: data under 60 s is kept 3 hours, 60 s data 15 days, 300 s data 63 days; use --period {finest}s or a later --start"
    )]
    TooFine { period: u32, finest: u32, start: String },
    #[error("the window starting at {0} is older than CloudWatch keeps any data (455 days)")]
    TooOld(String),
    #[error("--end must be after --start")]
    Empty,
    #[error("GetMetricData: {0}")]
    Call(String),
}

/// Check the query against CloudWatch's retention before calling.
pub fn check(query: &SeriesQuery, now: SystemTime) -> Result<(), FetchError> {
    if query.end <= query.start {
        return Err(FetchError::Empty);
    }
    let start = humantime::format_rfc3339_seconds(query.start).to_string();
    let finest = finest_period(query.start, now).ok_or_else(|| FetchError::TooOld(start.clone()))?;
    if query.period < finest {
        return Err(FetchError::TooFine {
            period: query.period,
            finest,
            start,
        });
    }
    Ok(())
}

/// Read the series; pages through NextToken.
/// `endpoint`: where `client` calls, named when the call fails.
pub async fn fetch(
    client: &aws_sdk_cloudwatch::Client,
    endpoint: &str,
    query: &SeriesQuery,
) -> Result<Series, FetchError> {
    let metric = Metric::builder()
        .namespace(&query.namespace)
        .metric_name(&query.metric_name)
        .set_dimensions(Some(
            query
                .dimensions
                .iter()
                .map(|(name, value)| Dimension::builder().name(name).value(value).build())
                .collect(),
        ))
        .build();
    let queries: Vec<MetricDataQuery> = Statistic::ALL
        .iter()
        .map(|statistic| {
            MetricDataQuery::builder()
                .id(statistic.name().to_ascii_lowercase())
                .metric_stat(
                    MetricStat::builder()
                        .metric(metric.clone())
                        .period(query.period as i32)
                        .stat(statistic.name())
                        .build(),
                )
                .return_data(true)
                .build()
        })
        .collect();
    let mut points: std::collections::BTreeMap<i64, SeriesStats> = Default::default();
    let mut token: Option<String> = None;
    loop {
        let response = client
            .get_metric_data()
            .set_metric_data_queries(Some(queries.clone()))
            .start_time(DateTime::from(query.start))
            .end_time(DateTime::from(query.end))
            .scan_by(ScanBy::TimestampAscending)
            .set_next_token(token.take())
            .send()
            .await
            .map_err(|error| FetchError::Call(crate::aws_error::reason(endpoint, &error)))?;
        for result in response.metric_data_results() {
            let Some(statistic) = Statistic::ALL
                .into_iter()
                .find(|s| Some(s.name().to_ascii_lowercase().as_str()) == result.id())
            else {
                continue;
            };
            for (timestamp, value) in result.timestamps().iter().zip(result.values()) {
                let start_ms = timestamp.to_millis().unwrap_or_default();
                let stats = points.entry(start_ms).or_default();
                let slot = match statistic {
                    Statistic::Average => &mut stats.average,
                    Statistic::Maximum => &mut stats.maximum,
                    Statistic::Minimum => &mut stats.minimum,
                    Statistic::Sum => &mut stats.sum,
                    Statistic::SampleCount => &mut stats.sample_count,
                };
                *slot = Some(*value);
            }
        }
        token = response.next_token().map(str::to_owned);
        if token.is_none() {
            break;
        }
    }
    Ok(Series {
        period: query.period,
        points: points
            .into_iter()
            .map(|(start_ms, stats)| SeriesPoint { start_ms, stats })
            .collect(),
    })
}

/// The dimensions the exporter publishes per instance.
pub(crate) fn instance_dimensions(instance_id: &str) -> Vec<(String, String)> {
    vec![(crate::config::INSTANCE_DIMENSION.to_owned(), instance_id.to_owned())]
}

/// `--dimensions Name=Value,Name=Value`.
pub fn parse_dimensions(text: &str) -> Result<Vec<(String, String)>, String> {
    text.split(',')
        .map(|pair| match pair.split_once('=') {
            Some((name, value)) if !name.trim().is_empty() && !value.trim().is_empty() => {
                Ok((name.trim().to_owned(), value.trim().to_owned()))
            }
            _ => Err(format!("--dimensions: {pair:?} is not NAME=VALUE")),
        })
        .collect()
}

/// The config's namespace and metric.
pub fn query_for(
    config: &CloudWatchConfig,
    dimensions: Vec<(String, String)>,
    period: u32,
    start: SystemTime,
    end: SystemTime,
) -> SeriesQuery {
    SeriesQuery {
        namespace: config.namespace.clone(),
        metric_name: config.metric_name.clone(),
        dimensions,
        period,
        start,
        end,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: Duration = Duration::from_secs(3600);

    /// CloudWatch User Guide, "Metrics retention": which period a window can be read at.
    #[test]
    fn retention_decides_the_finest_period() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000 * 86_400);
        assert_eq!(finest_period(now - 2 * HOUR, now), Some(1));
        assert_eq!(finest_period(now - 4 * HOUR, now), Some(60));
        assert_eq!(finest_period(now - 20 * 24 * HOUR, now), Some(300));
        assert_eq!(finest_period(now - 100 * 24 * HOUR, now), Some(3600));
        assert_eq!(finest_period(now - 500 * 24 * HOUR, now), None);
        let query = SeriesQuery {
            namespace: "N".into(),
            metric_name: "M".into(),
            dimensions: vec![],
            period: 10,
            start: now - 4 * HOUR,
            end: now,
        };
        let error = check(&query, now).unwrap_err().to_string();
        assert!(
            error.contains("--period 10s") && error.contains("--period 60s"),
            "{error}"
        );
        assert!(check(
            &SeriesQuery {
                period: 60,
                ..query.clone()
            },
            now
        )
        .is_ok());
        assert!(matches!(
            check(
                &SeriesQuery {
                    end: query.start,
                    ..query
                },
                now
            ),
            Err(FetchError::Empty)
        ));
    }

    #[test]
    fn dimensions_are_name_value_pairs() {
        assert_eq!(
            parse_dimensions("AutoScalingGroupName=web, Env=prod"),
            Ok(vec![
                ("AutoScalingGroupName".into(), "web".into()),
                ("Env".into(), "prod".into())
            ])
        );
        assert!(parse_dimensions("web").is_err());
    }
}
