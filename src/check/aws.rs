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
use crate::scaling::model::{
    AdjustmentType, Alarm, Comparison, MetricAggregation, Policy, PolicyKind, Statistic, StepAdjustment, TrackedMetric,
    TreatMissingData,
};

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

/// One alarm as the model holds it, or as a name and why it is not checked.
fn read_alarm(metric_alarm: &aws_sdk_cloudwatch::types::MetricAlarm) -> ReadAlarm {
    let name = metric_alarm.alarm_name().unwrap_or("(unnamed)").to_owned();
    let unchecked = |why: String| ReadAlarm::Unchecked {
        name: name.clone(),
        why,
    };
    if let Some(extended) = metric_alarm.extended_statistic() {
        return unchecked(format!("ExtendedStatistic {extended}"));
    }
    let Some(statistic) = metric_alarm.statistic().and_then(|s| Statistic::from_name(s.as_str())) else {
        return unchecked(String::from("no Statistic"));
    };
    let Some(comparison) = metric_alarm
        .comparison_operator()
        .and_then(|c| Comparison::from_name(c.as_str()))
    else {
        let operator = metric_alarm.comparison_operator().map_or("none", |c| c.as_str());
        return unchecked(format!("ComparisonOperator {operator}"));
    };
    let treat_missing_data = match metric_alarm.treat_missing_data() {
        None => TreatMissingData::Missing,
        Some(value) => match TreatMissingData::from_name(value) {
            Some(t) => t,
            None => return unchecked(format!("TreatMissingData {value:?}")),
        },
    };
    let (Some(period), Some(evaluation_periods), Some(threshold)) = (
        metric_alarm.period().and_then(|p| u32::try_from(p).ok()),
        metric_alarm.evaluation_periods().and_then(|p| u32::try_from(p).ok()),
        metric_alarm.threshold(),
    ) else {
        return unchecked(String::from("no Period, EvaluationPeriods or Threshold"));
    };
    let datapoints_to_alarm = metric_alarm
        .datapoints_to_alarm()
        .and_then(|m| u32::try_from(m).ok())
        .unwrap_or(evaluation_periods);
    ReadAlarm::Checked {
        alarm: Alarm {
            name,
            namespace: metric_alarm.namespace().unwrap_or("").to_owned(),
            metric_name: metric_alarm.metric_name().unwrap_or("").to_owned(),
            dimensions: metric_alarm
                .dimensions()
                .iter()
                .map(|d| (d.name().unwrap_or("").to_owned(), d.value().unwrap_or("").to_owned()))
                .collect(),
            statistic,
            period,
            evaluation_periods,
            datapoints_to_alarm,
            threshold,
            comparison,
            treat_missing_data,
            actions: Vec::new(),
            // AWS's default is true.
            actions_enabled: metric_alarm.actions_enabled().unwrap_or(true),
            evaluation_window: Default::default(),
        },
        action_arns: metric_alarm.alarm_actions().to_vec(),
        // AWS's default is true.
        actions_enabled: metric_alarm.actions_enabled().unwrap_or(true),
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

/// Steps sorted by their lower bound, as validation sorts them for the model.
fn sorted_steps(mut steps: Vec<StepAdjustment>) -> Vec<StepAdjustment> {
    steps.sort_by(|a, b| {
        a.lower_bound
            .unwrap_or(f64::NEG_INFINITY)
            .total_cmp(&b.lower_bound.unwrap_or(f64::NEG_INFINITY))
    });
    steps
}

fn non_negative(value: Option<i32>) -> Option<u32> {
    value.and_then(|v| u32::try_from(v).ok())
}

fn ec2_policy(policy: &aws_sdk_autoscaling::types::ScalingPolicy, arn: &str) -> PolicyRead {
    let policy_type = policy.policy_type().unwrap_or("SimpleScaling");
    let unchecked = || PolicyRead::Unchecked {
        policy_type: policy_type.to_owned(),
    };
    let adjustment_type = policy.adjustment_type().and_then(AdjustmentType::from_name);
    let kind = match (policy_type, adjustment_type) {
        ("StepScaling", Some(adjustment_type)) => PolicyKind::Step {
            adjustment_type,
            min_adjustment_magnitude: non_negative(policy.min_adjustment_magnitude()),
            aggregation: policy
                .metric_aggregation_type()
                .and_then(MetricAggregation::from_name)
                .unwrap_or(MetricAggregation::Average),
            steps: sorted_steps(
                policy
                    .step_adjustments()
                    .iter()
                    .map(|s| StepAdjustment {
                        lower_bound: s.metric_interval_lower_bound(),
                        upper_bound: s.metric_interval_upper_bound(),
                        scaling_adjustment: i64::from(s.scaling_adjustment().unwrap_or(0)),
                    })
                    .collect(),
            ),
            estimated_instance_warmup: non_negative(policy.estimated_instance_warmup()),
            cooldown: None,
        },
        ("SimpleScaling", Some(adjustment_type)) => PolicyKind::Simple {
            adjustment_type,
            scaling_adjustment: i64::from(policy.scaling_adjustment().unwrap_or(0)),
            min_adjustment_magnitude: non_negative(policy.min_adjustment_magnitude()),
            cooldown: non_negative(policy.cooldown()),
        },
        ("TargetTrackingScaling", _) => {
            let Some(tracking) = policy.target_tracking_configuration() else {
                return unchecked();
            };
            PolicyKind::TargetTracking {
                target_value: tracking.target_value().unwrap_or(0.0),
                statistic: tracking
                    .customized_metric_specification()
                    .and_then(|m| m.statistic())
                    .and_then(|s| Statistic::from_name(s.as_str()))
                    .unwrap_or(Statistic::Average),
                disable_scale_in: tracking.disable_scale_in().unwrap_or(false),
                scale_out_cooldown: non_negative(policy.estimated_instance_warmup()),
                scale_in_cooldown: None,
                metric_period: 60,
                // `check` describes the policy's target, not its metric.
                metric: TrackedMetric::AlarmSeries,
                tracking_alarms: Default::default(),
            }
        }
        _ => return unchecked(),
    };
    PolicyRead::Found(Policy {
        name: policy.policy_name().unwrap_or("").to_owned(),
        arn: arn.to_owned(),
        kind,
        // AWS's default is true.
        enabled: policy.enabled().unwrap_or(true),
    })
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
    use aws_sdk_applicationautoscaling::types::PolicyType;
    let unchecked = || PolicyRead::Unchecked {
        policy_type: policy.policy_type().as_str().to_owned(),
    };
    let kind = match policy.policy_type() {
        PolicyType::StepScaling => {
            let Some(step) = policy.step_scaling_policy_configuration() else {
                return unchecked();
            };
            let Some(adjustment_type) = step
                .adjustment_type()
                .and_then(|t| AdjustmentType::from_name(t.as_str()))
            else {
                return unchecked();
            };
            PolicyKind::Step {
                adjustment_type,
                min_adjustment_magnitude: non_negative(step.min_adjustment_magnitude()),
                aggregation: step
                    .metric_aggregation_type()
                    .and_then(|a| MetricAggregation::from_name(a.as_str()))
                    .unwrap_or(MetricAggregation::Average),
                steps: sorted_steps(
                    step.step_adjustments()
                        .iter()
                        .map(|s| StepAdjustment {
                            lower_bound: s.metric_interval_lower_bound(),
                            upper_bound: s.metric_interval_upper_bound(),
                            scaling_adjustment: i64::from(s.scaling_adjustment()),
                        })
                        .collect(),
                ),
                estimated_instance_warmup: None,
                cooldown: non_negative(step.cooldown()),
            }
        }
        PolicyType::TargetTrackingScaling => {
            let Some(tracking) = policy.target_tracking_scaling_policy_configuration() else {
                return unchecked();
            };
            PolicyKind::TargetTracking {
                target_value: tracking.target_value(),
                statistic: tracking
                    .customized_metric_specification()
                    .and_then(|m| m.statistic())
                    .and_then(|s| Statistic::from_name(s.as_str()))
                    .unwrap_or(Statistic::Average),
                disable_scale_in: tracking.disable_scale_in().unwrap_or(false),
                scale_out_cooldown: non_negative(tracking.scale_out_cooldown()),
                scale_in_cooldown: non_negative(tracking.scale_in_cooldown()),
                metric_period: 60,
                // `check` describes the policy's target, not its metric.
                metric: TrackedMetric::AlarmSeries,
                tracking_alarms: Default::default(),
            }
        }
        _ => return unchecked(),
    };
    PolicyRead::Found(Policy {
        name: policy.policy_name().to_owned(),
        arn: policy.policy_arn().to_owned(),
        kind,
        enabled: true,
    })
}
