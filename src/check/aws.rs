//! The optional reads of `check`'s alarm side: DescribeAlarmsForMetric for each published
//! series, then DescribePolicies / DescribeScalingPolicies for the policies their actions name.
//! Thin: each answer is turned into the model types of `simulate` and judged in `alarms.rs`.
//! A refused or failed read is a [`ReadFailure`] naming the IAM action, never an error: these
//! permissions are optional and `check` goes on without them.

use std::collections::{BTreeMap, BTreeSet};

use aws_config::SdkConfig;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use super::alarms::{policy_ref, PolicyRead, PolicyRef, PublishedSeries, ReadAlarm, ReadFailure, SeriesAlarms};
use crate::aws_error;
use crate::scaling::aws;
use crate::scaling::scenario::ScalingService;
use crate::simulate::input::{alarm_alone, alarm_draft, policy_alone, policy_draft, Locate, Location};

const DESCRIBE_ALARMS_FOR_METRIC: &str = "cloudwatch:DescribeAlarmsForMetric";
const DESCRIBE_POLICIES: &str = "autoscaling:DescribePolicies";
const DESCRIBE_SCALING_POLICIES: &str = "application-autoscaling:DescribeScalingPolicies";

/// The error code and message AWS answered (AccessDenied, UnauthorizedOperation, ...), or
/// why no answer came from `endpoint`.
fn failure<E>(permission: &'static str, endpoint: &str, error: &SdkError<E, HttpResponse>) -> ReadFailure
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let reason = match error {
        SdkError::ServiceError(e) => {
            let code = e.err().code().unwrap_or("error");
            match e.err().message() {
                Some(message) if !message.is_empty() => format!("{code}: {message}"),
                _ => code.to_owned(),
            }
        }
        other => aws_error::reason(endpoint, other),
    };
    ReadFailure { permission, reason }
}

/// The alarms on each series, and every policy their actions name, keyed by ARN.
pub async fn read(
    sdk_config: &SdkConfig,
    series: Vec<PublishedSeries>,
) -> (Vec<SeriesAlarms>, BTreeMap<String, PolicyRead>) {
    let cloudwatch = aws_sdk_cloudwatch::Client::new(sdk_config);
    let cloudwatch_endpoint = aws_error::endpoint(sdk_config, crate::sinks::cloudwatch::CLOUDWATCH_ENDPOINT_PREFIX);
    let mut listed = Vec::with_capacity(series.len());
    // After one failure the others would fail alike (and a timeout would cost its wait per
    // series): the rest are reported with the same failure.
    let mut failed: Option<ReadFailure> = None;
    for series in series {
        let alarms = match &failed {
            Some(failure) => Err(failure.clone()),
            None => alarms_for(&cloudwatch, &cloudwatch_endpoint, &series).await,
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
    endpoint: &str,
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
        .map_err(|e| failure(DESCRIBE_ALARMS_FOR_METRIC, endpoint, &e))?;
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
        let endpoint = aws_error::endpoint(sdk_config, "autoscaling");
        for (group, wanted) in groups {
            let answer = ec2_policies(&client, &endpoint, &group, &wanted).await;
            settle(&mut read, &wanted, answer);
        }
    }
    if !targets.is_empty() {
        let client = aws_sdk_applicationautoscaling::Client::new(sdk_config);
        let endpoint = aws_error::endpoint(sdk_config, "application-autoscaling");
        for ((namespace, resource_id), wanted) in targets {
            let answer = application_policies(&client, &endpoint, &namespace, &resource_id, &wanted).await;
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
    endpoint: &str,
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
            .map_err(|e| failure(DESCRIBE_POLICIES, endpoint, &e))?;
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
    endpoint: &str,
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
            .map_err(|e| failure(DESCRIBE_SCALING_POLICIES, endpoint, &e))?;
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

/// What STS GetCallerIdentity said of the credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CallerIdentity {
    /// Accepted: the ARN of the user or role they belong to.
    Verified { arn: String },
    /// Refused as credentials (unknown key, wrong secret, expired token): `check` fails.
    Rejected { endpoint: String, reason: String },
    /// No verdict (no network, the endpoint does not answer STS, a timeout): not "ok".
    Unverified { endpoint: String, reason: String },
}

/// The error codes by which STS refuses the credentials themselves (any other answer says
/// nothing about them: GetCallerIdentity needs no permission, so it is never an IAM denial).
const REJECTED_CREDENTIALS: [&str; 6] = [
    "InvalidClientTokenId",
    "SignatureDoesNotMatch",
    "ExpiredToken",
    "ExpiredTokenException",
    "UnrecognizedClientException",
    "IncompleteSignature",
];

/// Ask STS who the credentials are (GetCallerIdentity: no permission needed, even an explicit
/// deny does not stop it), through the same endpoint settings as every other client.
pub(crate) async fn caller_identity(sdk_config: &SdkConfig) -> CallerIdentity {
    let endpoint = SentTo::default();
    let answer = aws_sdk_sts::Client::new(sdk_config)
        .get_caller_identity()
        .customize()
        .interceptor(endpoint.clone())
        .send()
        .await;
    let endpoint = endpoint.host();
    let reason = match answer {
        Ok(output) => {
            return match output.arn() {
                Some(arn) if !arn.is_empty() => CallerIdentity::Verified { arn: arn.to_owned() },
                _ => CallerIdentity::Unverified {
                    endpoint,
                    reason: String::from("the answer names no ARN"),
                },
            }
        }
        Err(SdkError::ServiceError(e)) => {
            let code = e.err().code().unwrap_or("error").to_owned();
            let reason = match e.err().message() {
                Some(message) if !message.is_empty() => format!("{code}: {message}"),
                _ => code.clone(),
            };
            if REJECTED_CREDENTIALS.contains(&code.as_str()) {
                return CallerIdentity::Rejected { endpoint, reason };
            }
            format!("HTTP {} {reason}", e.raw().status().as_u16())
        }
        Err(SdkError::TimeoutError(_)) => String::from("timed out"),
        Err(SdkError::ResponseError(_)) => String::from("the answer is not an STS response"),
        Err(other) => aws_error::causes(&other),
    };
    CallerIdentity::Unverified { endpoint, reason }
}

/// Where a request was sent (scheme, host and port), as the SDK resolved it.
#[derive(Debug, Clone, Default)]
struct SentTo(std::sync::Arc<std::sync::Mutex<Option<String>>>);

impl SentTo {
    fn host(&self) -> String {
        self.0
            .lock()
            .ok()
            .and_then(|sent| sent.clone())
            .unwrap_or_else(|| String::from("the STS endpoint"))
    }
}

impl aws_smithy_runtime_api::client::interceptors::Intercept for SentTo {
    fn name(&self) -> &'static str {
        "SentTo"
    }

    fn read_before_transmit(
        &self,
        context: &aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef<'_>,
        _: &aws_smithy_runtime_api::client::runtime_components::RuntimeComponents,
        _: &mut aws_smithy_types::config_bag::ConfigBag,
    ) -> Result<(), aws_smithy_runtime_api::box_error::BoxError> {
        let uri = context.request().uri();
        // Scheme and authority only: the path and query are the SDK's.
        let end = uri
            .find("://")
            .map(|scheme| scheme + 3)
            .and_then(|host| uri[host..].find('/').map(|slash| host + slash))
            .unwrap_or(uri.len());
        if let Ok(mut sent) = self.0.lock() {
            *sent = Some(uri[..end].to_owned());
        }
        Ok(())
    }
}
