//! The optional reads of `check`'s alarm side: DescribeAlarmsForMetric for each published
//! series, then DescribePolicies / DescribeScalingPolicies for the policies their actions name.
//! Thin: each answer is turned into the model types of `simulate` and judged in `alarms.rs`.
//! A refused or failed read is a [`ReadFailure`] naming the IAM action, never an error: these
//! permissions are optional and `check` goes on without them.

use std::collections::{BTreeMap, BTreeSet};

use aws_config::SdkConfig;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use super::alarms::{policy_ref, PolicyRead, PolicyRef, PublishedSeries, ReadAlarm, ReadFailure, SeriesAlarms};
use crate::scaling::aws;
use crate::scaling::model::ScalingService;
use crate::simulate::input::{alarm_alone, alarm_draft, policy_alone, policy_draft, Locate, Location};

const DESCRIBE_ALARMS_FOR_METRIC: &str = "cloudwatch:DescribeAlarmsForMetric";
const DESCRIBE_POLICIES: &str = "autoscaling:DescribePolicies";
const DESCRIBE_SCALING_POLICIES: &str = "application-autoscaling:DescribeScalingPolicies";

/// The error code and message AWS answered (AccessDenied, UnauthorizedOperation, ...), or
/// why no answer came.
fn failure<E, R>(permission: &'static str, error: &SdkError<E, R>) -> ReadFailure
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let reason = match error {
        SdkError::ServiceError(e) => {
            let code = e.err().code().unwrap_or("error");
            match e.err().message() {
                Some(message) if !message.is_empty() => format!("{code}: {message}"),
                _ => code.to_owned(),
            }
        }
        SdkError::TimeoutError(_) => String::from("timed out"),
        other => DisplayErrorContext(other).to_string(),
    };
    ReadFailure { permission, reason }
}

/// The alarms on each series, and every policy their actions name, keyed by ARN.
pub async fn read(
    sdk_config: &SdkConfig,
    series: Vec<PublishedSeries>,
) -> (Vec<SeriesAlarms>, BTreeMap<String, PolicyRead>) {
    let cloudwatch = aws_sdk_cloudwatch::Client::new(sdk_config);
    let mut listed = Vec::with_capacity(series.len());
    // After one failure the others would fail alike (and a timeout would cost its wait per
    // series): the rest are reported with the same failure.
    let mut failed: Option<ReadFailure> = None;
    for series in series {
        let alarms = match &failed {
            Some(failure) => Err(failure.clone()),
            None => alarms_for(&cloudwatch, &series).await,
        };
        if let Err(failure) = &alarms {
            failed = Some(failure.clone());
        }
        listed.push(SeriesAlarms { series, alarms });
    }
    let arns: BTreeSet<&str> = listed
        .iter()
        .filter_map(|s| s.alarms.as_ref().ok())
        .flatten()
        .filter_map(|alarm| match alarm {
            ReadAlarm::Checked { action_arns, .. } => Some(action_arns),
            ReadAlarm::Unchecked { .. } => None,
        })
        .flatten()
        .map(String::as_str)
        .collect();
    let policies = policies(sdk_config, arns).await;
    (listed, policies)
}

async fn alarms_for(
    client: &aws_sdk_cloudwatch::Client,
    series: &PublishedSeries,
) -> Result<Vec<ReadAlarm>, ReadFailure> {
    use aws_sdk_cloudwatch::types::Dimension;
    let output = client
        .describe_alarms_for_metric()
        .namespace(&series.namespace)
        .metric_name(&series.metric_name)
        .set_dimensions(Some(
            series
                .dimensions
                .iter()
                .map(|(name, value)| Dimension::builder().name(name).value(value).build())
                .collect(),
        ))
        .send()
        .await
        .map_err(|e| failure(DESCRIBE_ALARMS_FOR_METRIC, &e))?;
    // CloudWatch filters by the dimensions given; compared again as sets, because an alarm
    // on another set watches another metric and some API servers return every alarm of the
    // metric name.
    let wanted: BTreeSet<(&str, &str)> = series
        .dimensions
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    Ok(output
        .metric_alarms()
        .iter()
        .filter(|alarm| {
            let set: BTreeSet<(&str, &str)> = alarm
                .dimensions()
                .iter()
                .map(|d| (d.name().unwrap_or(""), d.value().unwrap_or("")))
                .collect();
            set == wanted && alarm.dimensions().len() == series.dimensions.len()
        })
        .map(read_alarm)
        .collect())
}

/// Where a field of an API answer came from, for the messages of the validation `check`
/// shares with `simulate`: the operation and the JSON path of the field in its answer.
struct Answer(&'static str);

impl Locate for Answer {
    fn loc(&self, path: &str) -> Location {
        Location {
            file: self.0.to_owned(),
            key: path.to_owned(),
            line: 0,
        }
    }
}

fn dimensions(list: &[aws_sdk_cloudwatch::types::Dimension]) -> Vec<aws::Dimension> {
    list.iter()
        .map(|d| aws::Dimension {
            name: d.name().unwrap_or("").to_owned(),
            value: d.value().unwrap_or("").to_owned(),
        })
        .collect()
}

/// The SDK's MetricAlarm as the AWS shape describe-alarms prints.
fn metric_alarm(alarm: &aws_sdk_cloudwatch::types::MetricAlarm) -> aws::MetricAlarm {
    use aws_sdk_cloudwatch::types::EvaluationWindow;
    aws::MetricAlarm {
        alarm_name: alarm.alarm_name().unwrap_or("(unnamed)").to_owned(),
        alarm_arn: alarm.alarm_arn().map(str::to_owned),
        actions_enabled: alarm.actions_enabled(),
        alarm_actions: alarm.alarm_actions().to_vec(),
        metric_name: alarm.metric_name().map(str::to_owned),
        namespace: alarm.namespace().map(str::to_owned),
        statistic: alarm.statistic().map(|s| s.as_str().to_owned()),
        extended_statistic: alarm.extended_statistic().map(str::to_owned),
        dimensions: dimensions(alarm.dimensions()),
        period: alarm.period().map(i64::from),
        unit: alarm.unit().map(|u| u.as_str().to_owned()),
        evaluation_periods: alarm.evaluation_periods().map_or(0, i64::from),
        datapoints_to_alarm: alarm.datapoints_to_alarm().map(i64::from),
        threshold: alarm.threshold(),
        comparison_operator: alarm.comparison_operator().map_or("", |c| c.as_str()).to_owned(),
        treat_missing_data: alarm.treat_missing_data().map(str::to_owned),
        evaluate_low_sample_count_percentile: alarm.evaluate_low_sample_count_percentile().map(str::to_owned),
        evaluation_window: match alarm.evaluation_window() {
            None | Some(EvaluationWindow::SlidingWindow(_)) => None,
            Some(EvaluationWindow::WallClockWindow(window)) => Some(aws::EvaluationWindow::WallClockWindow {
                timezone: window.timezone().map(str::to_owned),
            }),
            // A member this SDK does not know: read_alarm says so before it gets here.
            Some(_) => None,
        },
        metrics: (!alarm.metrics().is_empty()).then(|| serde_json::json!(["(metric math)"])),
        threshold_metric_id: alarm.threshold_metric_id().map(str::to_owned),
    }
}

/// One alarm as the model holds it (validated as `simulate` validates it), or as a name and
/// why it is not checked.
fn read_alarm(metric_alarm: &aws_sdk_cloudwatch::types::MetricAlarm) -> ReadAlarm {
    let shape = self::metric_alarm(metric_alarm);
    let name = shape.alarm_name.clone();
    if let Some(window) = metric_alarm
        .evaluation_window()
        .filter(|w| !(w.is_sliding_window() || w.is_wall_clock_window()))
    {
        return ReadAlarm::Unchecked {
            name,
            why: format!("an EvaluationWindow this tool does not know ({window:?})"),
        };
    }
    let action_arns = shape.alarm_actions.clone();
    let answer = Answer("DescribeAlarmsForMetric");
    match alarm_draft(&answer, &format!("MetricAlarms[{name}]"), shape).and_then(alarm_alone) {
        Ok(alarm) => ReadAlarm::Checked {
            actions_enabled: alarm.actions_enabled,
            alarm,
            action_arns,
        },
        Err(error) => ReadAlarm::Unchecked {
            name,
            why: error.message().to_owned(),
        },
    }
}

/// EC2 Auto Scaling policies are read per group, Application Auto Scaling ones per
/// scalable target: one call each, naming the policies.
async fn policies(sdk_config: &SdkConfig, arns: BTreeSet<&str>) -> BTreeMap<String, PolicyRead> {
    let mut groups: BTreeMap<String, Vec<(&str, String)>> = BTreeMap::new();
    let mut targets: BTreeMap<(String, String), Vec<(&str, String)>> = BTreeMap::new();
    for arn in arns {
        match policy_ref(arn) {
            Some(PolicyRef::Ec2 { group, name }) => groups.entry(group).or_default().push((arn, name)),
            Some(PolicyRef::Application {
                namespace,
                resource_id,
                name,
            }) => targets.entry((namespace, resource_id)).or_default().push((arn, name)),
            None => {}
        }
    }
    let mut read = BTreeMap::new();
    if !groups.is_empty() {
        let client = aws_sdk_autoscaling::Client::new(sdk_config);
        for (group, wanted) in groups {
            let answer = ec2_policies(&client, &group, &wanted).await;
            settle(&mut read, &wanted, answer);
        }
    }
    if !targets.is_empty() {
        let client = aws_sdk_applicationautoscaling::Client::new(sdk_config);
        for ((namespace, resource_id), wanted) in targets {
            let answer = application_policies(&client, &namespace, &resource_id, &wanted).await;
            settle(&mut read, &wanted, answer);
        }
    }
    read
}

/// Each wanted ARN: what the answer holds for it, `NotFound`, or the failure.
fn settle(
    read: &mut BTreeMap<String, PolicyRead>,
    wanted: &[(&str, String)],
    answer: Result<BTreeMap<String, PolicyRead>, ReadFailure>,
) {
    match answer {
        Ok(mut found) => {
            for (arn, _) in wanted {
                let policy = found.remove(*arn).unwrap_or(PolicyRead::NotFound);
                read.insert((*arn).to_owned(), policy);
            }
        }
        Err(failure) => {
            for (arn, _) in wanted {
                read.insert((*arn).to_owned(), PolicyRead::Failed(failure.clone()));
            }
        }
    }
}

async fn ec2_policies(
    client: &aws_sdk_autoscaling::Client,
    group: &str,
    wanted: &[(&str, String)],
) -> Result<BTreeMap<String, PolicyRead>, ReadFailure> {
    let mut found = BTreeMap::new();
    let mut next_token: Option<String> = None;
    loop {
        let output = client
            .describe_policies()
            .auto_scaling_group_name(group)
            .set_policy_names(Some(wanted.iter().map(|(_, name)| name.clone()).collect()))
            .set_next_token(next_token.take())
            .send()
            .await
            .map_err(|e| failure(DESCRIBE_POLICIES, &e))?;
        for policy in output.scaling_policies() {
            if let Some(arn) = policy.policy_arn() {
                found.insert(arn.to_owned(), ec2_policy(policy, arn));
            }
        }
        match output.next_token() {
            Some(token) if !token.is_empty() => next_token = Some(token.to_owned()),
            _ => return Ok(found),
        }
    }
}

fn steps<T>(
    list: &[T],
    lower: fn(&T) -> Option<f64>,
    upper: fn(&T) -> Option<f64>,
    adjustment: fn(&T) -> i64,
) -> Vec<aws::StepAdjustment> {
    list.iter()
        .map(|s| aws::StepAdjustment {
            metric_interval_lower_bound: lower(s),
            metric_interval_upper_bound: upper(s),
            scaling_adjustment: adjustment(s),
        })
        .collect()
}

/// A policy validated as `simulate` validates it, in a group of `service` named `group`; or
/// unchecked, saying its type.
fn checked_policy(
    shape: aws::ScalingPolicy,
    operation: &'static str,
    service: ScalingService,
    group: &str,
) -> PolicyRead {
    let policy_type = shape.policy_type.clone();
    let name = shape.policy_name.clone();
    match policy_draft(&Answer(operation), &format!("ScalingPolicies[{name}]"), shape)
        .and_then(|draft| policy_alone(&draft, service, group))
    {
        Ok(policy) => PolicyRead::Found(policy),
        Err(_) => PolicyRead::Unchecked { policy_type },
    }
}

fn ec2_policy(policy: &aws_sdk_autoscaling::types::ScalingPolicy, arn: &str) -> PolicyRead {
    let tracking = policy
        .target_tracking_configuration()
        .map(|t| aws::TargetTrackingConfiguration {
            target_value: t.target_value().unwrap_or(0.0),
            predefined_metric_specification: None,
            // `check` describes the policy's target, not its metric.
            customized_metric_specification: t.customized_metric_specification().map(|m| {
                aws::CustomizedMetricSpecification {
                    statistic: m.statistic().map(|s| s.as_str().to_owned()),
                    period: m.period().map(i64::from),
                    ..aws::CustomizedMetricSpecification::default()
                }
            }),
            disable_scale_in: t.disable_scale_in().unwrap_or(false),
            scale_out_cooldown: None,
            scale_in_cooldown: None,
        });
    let group = policy.auto_scaling_group_name().unwrap_or("").to_owned();
    let shape = aws::ScalingPolicy {
        policy_name: policy.policy_name().unwrap_or("").to_owned(),
        policy_arn: arn.to_owned(),
        auto_scaling_group_name: Some(group.clone()),
        policy_type: policy.policy_type().unwrap_or("SimpleScaling").to_owned(),
        adjustment_type: policy.adjustment_type().map(str::to_owned),
        min_adjustment_magnitude: policy.min_adjustment_magnitude().map(i64::from),
        scaling_adjustment: policy.scaling_adjustment().map(i64::from),
        cooldown: policy.cooldown().map(i64::from),
        metric_aggregation_type: policy.metric_aggregation_type().map(str::to_owned),
        step_adjustments: (!policy.step_adjustments().is_empty()).then(|| {
            steps(
                policy.step_adjustments(),
                |s| s.metric_interval_lower_bound(),
                |s| s.metric_interval_upper_bound(),
                |s| i64::from(s.scaling_adjustment().unwrap_or(0)),
            )
        }),
        estimated_instance_warmup: policy.estimated_instance_warmup().map(i64::from),
        target_tracking_configuration: tracking,
        enabled: policy.enabled(),
        ..aws::ScalingPolicy::default()
    };
    checked_policy(shape, "DescribePolicies", ScalingService::Ec2AutoScaling, &group)
}

async fn application_policies(
    client: &aws_sdk_applicationautoscaling::Client,
    namespace: &str,
    resource_id: &str,
    wanted: &[(&str, String)],
) -> Result<BTreeMap<String, PolicyRead>, ReadFailure> {
    use aws_sdk_applicationautoscaling::types::ServiceNamespace;
    let mut found = BTreeMap::new();
    let mut next_token: Option<String> = None;
    loop {
        let output = client
            .describe_scaling_policies()
            .service_namespace(ServiceNamespace::from(namespace))
            .resource_id(resource_id)
            .set_policy_names(Some(wanted.iter().map(|(_, name)| name.clone()).collect()))
            .set_next_token(next_token.take())
            .send()
            .await
            .map_err(|e| failure(DESCRIBE_SCALING_POLICIES, &e))?;
        for policy in output.scaling_policies() {
            found.insert(policy.policy_arn().to_owned(), application_policy(policy));
        }
        match output.next_token() {
            Some(token) if !token.is_empty() => next_token = Some(token.to_owned()),
            _ => return Ok(found),
        }
    }
}

fn application_policy(policy: &aws_sdk_applicationautoscaling::types::ScalingPolicy) -> PolicyRead {
    let step = policy
        .step_scaling_policy_configuration()
        .map(|c| aws::StepScalingPolicyConfiguration {
            adjustment_type: c.adjustment_type().map(|t| t.as_str().to_owned()),
            step_adjustments: steps(
                c.step_adjustments(),
                |s| s.metric_interval_lower_bound(),
                |s| s.metric_interval_upper_bound(),
                |s| i64::from(s.scaling_adjustment()),
            ),
            min_adjustment_magnitude: c.min_adjustment_magnitude().map(i64::from),
            cooldown: c.cooldown().map(i64::from),
            metric_aggregation_type: c.metric_aggregation_type().map(|a| a.as_str().to_owned()),
        });
    let tracking = policy
        .target_tracking_scaling_policy_configuration()
        .map(|t| aws::TargetTrackingConfiguration {
            target_value: t.target_value(),
            predefined_metric_specification: t.predefined_metric_specification().map(|p| {
                aws::PredefinedMetricSpecification {
                    predefined_metric_type: p.predefined_metric_type().as_str().to_owned(),
                    resource_label: None,
                }
            }),
            // `check` describes the policy's target, not its metric.
            customized_metric_specification: t.customized_metric_specification().map(|m| {
                aws::CustomizedMetricSpecification {
                    statistic: m.statistic().map(|s| s.as_str().to_owned()),
                    ..aws::CustomizedMetricSpecification::default()
                }
            }),
            disable_scale_in: t.disable_scale_in().unwrap_or(false),
            scale_out_cooldown: t.scale_out_cooldown().map(i64::from),
            scale_in_cooldown: t.scale_in_cooldown().map(i64::from),
        });
    let shape = aws::ScalingPolicy {
        policy_name: policy.policy_name().to_owned(),
        policy_arn: policy.policy_arn().to_owned(),
        service_namespace: Some(policy.service_namespace().as_str().to_owned()),
        resource_id: Some(policy.resource_id().to_owned()),
        policy_type: policy.policy_type().as_str().to_owned(),
        step_scaling_policy_configuration: step,
        target_tracking_scaling_policy_configuration: tracking,
        ..aws::ScalingPolicy::default()
    };
    checked_policy(
        shape,
        "DescribeScalingPolicies",
        ScalingService::ApplicationAutoScaling,
        policy.resource_id(),
    )
}
