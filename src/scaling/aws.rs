//! The AWS shapes of the scaling model, named and spelled as AWS's APIs spell them: what
//! `describe-alarms`, `describe-policies` / `describe-scaling-policies` and
//! `describe-auto-scaling-groups` / `describe-scalable-targets` print, what `PutMetricAlarm`,
//! `PutScalingPolicy` and CloudFormation take. Each field is mapped here once:
//!
//! ```text
//! scenario::Scenario --documents()--> MetricAlarm, ScalingPolicy, AutoScalingGroup | ScalableTarget
//!     --serde--> --print-aws JSON, CloudFormation properties, the CLI's JSON arguments
//! describe-* JSON --serde--> the same shapes --simulate::input (drafts, validation)--> Scenario
//! check: the SDK's answers --> the same shapes --> the same validation
//! ```
//!
//! Optional fields AWS leaves out are `None` and not written. Fields of the describe-* output
//! that are state rather than configuration (timestamps, state reasons, instances) are
//! listed in [`NOT_CONFIGURATION`]; any other key the shapes do not hold is reported by the
//! reader as not modelled.

use serde::{Deserialize, Serialize};

use super::scenario::{
    BacklogPerTask, EvaluationWindow as ModelWindow, Group, Policy, PolicyKind, PredefinedMetric, ScalingProcess,
    ScalingService, Scenario, Statistic, StepAdjustment as ModelStep, TrackedMetric,
};

/// ECS: the one scalable dimension and namespace this tool models.
pub(crate) const ECS_SCALABLE_DIMENSION: &str = "ecs:service:DesiredCount";
pub(crate) const ECS_SERVICE_NAMESPACE: &str = "ecs";

/// RunningTaskCount: Container Insights publishes it per service (ClusterName, ServiceName).
pub(crate) const RUNNING_TASKS_NAMESPACE: &str = "ECS/ContainerInsights";
pub(crate) const RUNNING_TASKS_METRIC: &str = "RunningTaskCount";

/// The one-minute limitation of Application Auto Scaling's target tracking, carried in the
/// Label of the expression so that it travels with the policy in every format.
pub(crate) const PER_TASK_LABEL: &str =
    "PendingRequests per running task (one-minute data: reacts in minutes, not seconds)";

/// Keys the describe-* commands print that describe state, history or parts of the group the
/// simulation has nothing to do with: read and dropped without a warning. Any other key the
/// shapes below do not hold is a field AWS added or one this tool does not model, and the
/// reader names it.
pub(crate) const NOT_CONFIGURATION: &[&str] = &[
    // describe-alarms
    "CompositeAlarms",
    "NextToken",
    "AlarmDescription",
    "AlarmConfigurationUpdatedTimestamp",
    "StateValue",
    "StateReason",
    "StateReasonData",
    "StateUpdatedTimestamp",
    "StateTransitionedTimestamp",
    "EvaluationState",
    "OKActions",
    "InsufficientDataActions",
    // describe-policies / describe-scaling-policies
    "Alarms",
    "CreationTime",
    // describe-auto-scaling-groups / describe-scalable-targets
    "AutoScalingGroupARN",
    "ScalableTargetARN",
    "LaunchConfigurationName",
    "LaunchTemplate",
    "MixedInstancesPolicy",
    "AvailabilityZones",
    "AvailabilityZoneDistribution",
    "AvailabilityZoneImpairmentPolicy",
    "LoadBalancerNames",
    "TargetGroupARNs",
    "TrafficSources",
    "HealthCheckType",
    "HealthCheckGracePeriod",
    "Instances",
    "CreatedTime",
    "VPCZoneIdentifier",
    "EnabledMetrics",
    "Tags",
    "TerminationPolicies",
    "NewInstancesProtectedFromScaleIn",
    "ServiceLinkedRoleARN",
    "CapacityRebalance",
    "Context",
    "DesiredCapacityType",
    "Status",
    "PlacementGroup",
    "MaxInstanceLifetime",
    "InstanceMaintenancePolicy",
    "CapacityReservationSpecification",
    "RoleARN",
];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Dimension {
    pub name: String,
    pub value: String,
}

fn dimensions(pairs: &[(String, String)]) -> Vec<Dimension> {
    pairs
        .iter()
        .map(|(name, value)| Dimension {
            name: name.clone(),
            value: value.clone(),
        })
        .collect()
}

/// The pairs of a `Dimensions` list, in its order.
pub(crate) fn dimension_pairs(list: &[Dimension]) -> Vec<(String, String)> {
    list.iter().map(|d| (d.name.clone(), d.value.clone())).collect()
}

/// PutMetricAlarm's `EvaluationWindow` union: exactly one member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum EvaluationWindow {
    SlidingWindow {},
    WallClockWindow {
        #[serde(rename = "Timezone", default, skip_serializing_if = "Option::is_none")]
        timezone: Option<String>,
    },
}

impl From<&ModelWindow> for EvaluationWindow {
    fn from(window: &ModelWindow) -> Self {
        match window {
            ModelWindow::Sliding => EvaluationWindow::SlidingWindow {},
            ModelWindow::WallClock { timezone } => EvaluationWindow::WallClockWindow {
                timezone: timezone.clone(),
            },
        }
    }
}

impl From<EvaluationWindow> for ModelWindow {
    fn from(window: EvaluationWindow) -> Self {
        match window {
            EvaluationWindow::SlidingWindow {} => ModelWindow::Sliding,
            EvaluationWindow::WallClockWindow { timezone } => ModelWindow::WallClock { timezone },
        }
    }
}

/// One alarm of describe-alarms (MetricAlarm); also PutMetricAlarm's and
/// `AWS::CloudWatch::Alarm`'s fields of the same names.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct MetricAlarm {
    pub alarm_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) alarm_arn: Option<String>,
    /// AWS's default (absent) is true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actions_enabled: Option<bool>,
    #[serde(default)]
    pub alarm_actions: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub statistic: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extended_statistic: Option<String>,
    #[serde(default)]
    pub dimensions: Vec<Dimension>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    pub evaluation_periods: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub datapoints_to_alarm: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold: Option<f64>,
    pub comparison_operator: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub treat_missing_data: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) evaluate_low_sample_count_percentile: Option<String>,
    /// Absent: a sliding window. describe-alarms shows it when it was set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evaluation_window: Option<EvaluationWindow>,
    /// Metric math: not modelled (an empty list is none: moto prints `[]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold_metric_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct DescribeAlarms {
    pub(crate) metric_alarms: Vec<MetricAlarm>,
}

/// StepAdjustment: bounds relative to the alarm threshold, absent when infinite.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StepAdjustment {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric_interval_lower_bound: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric_interval_upper_bound: Option<f64>,
    pub scaling_adjustment: i64,
}

impl From<&ModelStep> for StepAdjustment {
    fn from(step: &ModelStep) -> Self {
        StepAdjustment {
            metric_interval_lower_bound: step.lower_bound,
            metric_interval_upper_bound: step.upper_bound,
            scaling_adjustment: step.scaling_adjustment,
        }
    }
}

/// Application Auto Scaling's StepScalingPolicyConfiguration (EC2 Auto Scaling holds the same
/// fields on the policy itself).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StepScalingPolicyConfiguration {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adjustment_type: Option<String>,
    #[serde(default)]
    pub step_adjustments: Vec<StepAdjustment>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_adjustment_magnitude: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cooldown: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric_aggregation_type: Option<String>,
}

/// TargetTrackingMetricStat's Metric.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct QueryMetric {
    pub namespace: String,
    pub metric_name: String,
    #[serde(default)]
    pub dimensions: Vec<Dimension>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MetricStat {
    pub metric: QueryMetric,
    pub stat: String,
}

/// TargetTrackingMetricDataQuery.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TargetTrackingMetricDataQuery {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric_stat: Option<MetricStat>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expression: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub return_data: Option<bool>,
}

/// CustomizedMetricSpecification: one metric (with `Period`, EC2 only: 10, 30 or 60), or
/// metric math in `Metrics`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CustomizedMetricSpecification {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dimensions: Option<Vec<Dimension>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub statistic: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics: Option<Vec<TargetTrackingMetricDataQuery>>,
}

/// PredefinedMetricSpecification.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PredefinedMetricSpecification {
    pub predefined_metric_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_label: Option<String>,
}

/// TargetTrackingConfiguration (EC2 Auto Scaling) and
/// TargetTrackingScalingPolicyConfiguration (Application Auto Scaling, which adds the two
/// cooldowns).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct TargetTrackingConfiguration {
    pub target_value: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub predefined_metric_specification: Option<PredefinedMetricSpecification>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customized_metric_specification: Option<CustomizedMetricSpecification>,
    #[serde(default)]
    pub disable_scale_in: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale_out_cooldown: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale_in_cooldown: Option<i64>,
}

/// One policy of describe-policies (EC2 Auto Scaling: the fields on the policy) or of
/// describe-scaling-policies (Application Auto Scaling: in the configuration objects).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct ScalingPolicy {
    pub policy_name: String,
    #[serde(rename = "PolicyARN")]
    pub policy_arn: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_scaling_group_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_namespace: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scalable_dimension: Option<String>,
    pub policy_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adjustment_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_adjustment_magnitude: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scaling_adjustment: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cooldown: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric_aggregation_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step_adjustments: Option<Vec<StepAdjustment>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub estimated_instance_warmup: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_tracking_configuration: Option<TargetTrackingConfiguration>,
    /// EC2 Auto Scaling; AWS's default (absent) is true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step_scaling_policy_configuration: Option<StepScalingPolicyConfiguration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_tracking_scaling_policy_configuration: Option<TargetTrackingConfiguration>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribePolicies {
    pub(crate) scaling_policies: Vec<ScalingPolicy>,
}

/// SuspendedProcess of describe-auto-scaling-groups.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct SuspendedProcess {
    pub(crate) process_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) suspension_reason: Option<String>,
}

/// One group of describe-auto-scaling-groups.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct AutoScalingGroup {
    pub auto_scaling_group_name: String,
    pub min_size: i64,
    pub max_size: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub desired_capacity: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) default_cooldown: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) default_instance_warmup: Option<i64>,
    #[serde(default)]
    pub(crate) suspended_processes: Vec<SuspendedProcess>,
}

/// SuspendedState of describe-scalable-targets; an absent member is false.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SuspendedState {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dynamic_scaling_in_suspended: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dynamic_scaling_out_suspended: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheduled_scaling_suspended: Option<bool>,
}

/// One target of describe-scalable-targets.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ScalableTarget {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_namespace: Option<String>,
    pub resource_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scalable_dimension: Option<String>,
    pub min_capacity: i64,
    pub max_capacity: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suspended_state: Option<SuspendedState>,
}

/// describe-auto-scaling-groups or describe-scalable-targets.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct DescribeGroups {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) auto_scaling_groups: Option<Vec<AutoScalingGroup>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) scalable_targets: Option<Vec<ScalableTarget>>,
}

/// The scenario as the three describe-* documents.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Documents {
    pub alarms: DescribeAlarms,
    pub policies: DescribePolicies,
    pub groups: DescribeGroups,
}

/// `m1 × sample_interval / PERIOD(m1)` is the fleet total; divided by m2, per task.
pub(crate) fn per_task_expression(per_task: &BacklogPerTask) -> String {
    if per_task.sample_interval_s == 1.0 {
        "m1 / PERIOD(m1) / m2".to_owned()
    } else {
        format!("m1 * {} / PERIOD(m1) / m2", per_task.sample_interval_s)
    }
}

/// The sample interval an expression of [`per_task_expression`] holds; `None` for any other
/// expression.
pub(crate) fn per_task_sample_interval(expression: &str) -> Option<f64> {
    if expression == "m1 / PERIOD(m1) / m2" {
        return Some(1.0);
    }
    let interval: f64 = expression
        .strip_prefix("m1 * ")?
        .strip_suffix(" / PERIOD(m1) / m2")?
        .parse()
        .ok()?;
    (interval.is_finite() && interval > 0.0).then_some(interval)
}

/// CustomizedMetricSpecification.Metrics for backlog per task: m1 the Sum of the series, m2
/// the service's RunningTaskCount, e1 their quotient.
pub(crate) fn per_task_metrics(per_task: &BacklogPerTask) -> Vec<TargetTrackingMetricDataQuery> {
    let stat = |namespace: &str, metric_name: &str, dimensions: Vec<Dimension>, stat: &str| MetricStat {
        metric: QueryMetric {
            namespace: namespace.to_owned(),
            metric_name: metric_name.to_owned(),
            dimensions,
        },
        stat: stat.to_owned(),
    };
    vec![
        TargetTrackingMetricDataQuery {
            id: "m1".into(),
            label: Some("PendingRequests, every sample of every proxy (Sum)".into()),
            metric_stat: Some(stat(
                &per_task.namespace,
                &per_task.metric_name,
                dimensions(&per_task.dimensions),
                "Sum",
            )),
            expression: None,
            return_data: Some(false),
        },
        TargetTrackingMetricDataQuery {
            id: "m2".into(),
            label: Some("Running tasks of the service".into()),
            metric_stat: Some(stat(
                RUNNING_TASKS_NAMESPACE,
                RUNNING_TASKS_METRIC,
                dimensions(&[
                    ("ClusterName".to_owned(), per_task.cluster.clone()),
                    ("ServiceName".to_owned(), per_task.service.clone()),
                ]),
                "Average",
            )),
            expression: None,
            return_data: Some(false),
        },
        TargetTrackingMetricDataQuery {
            id: "e1".into(),
            label: Some(PER_TASK_LABEL.into()),
            metric_stat: None,
            expression: Some(per_task_expression(per_task)),
            return_data: Some(true),
        },
    ]
}

/// The metric a target tracking policy on the alarm series follows: the first alarm's.
pub(crate) fn customized_metric(
    scenario: &Scenario,
    statistic: Statistic,
    period: Option<u32>,
) -> CustomizedMetricSpecification {
    let (namespace, metric_name, pairs) = scenario.alarms.first().map_or_else(
        || (String::new(), crate::config::DEFAULT_METRIC_NAME.to_owned(), Vec::new()),
        |a| (a.namespace.clone(), a.metric_name.clone(), a.dimensions.clone()),
    );
    CustomizedMetricSpecification {
        metric_name: Some(metric_name),
        namespace: Some(namespace),
        dimensions: Some(dimensions(&pairs)),
        statistic: Some(statistic.name().to_owned()),
        period: period.map(i64::from),
        metrics: None,
    }
}

fn wide(value: Option<u32>) -> Option<i64> {
    value.map(i64::from)
}

impl ScalingPolicy {
    /// The policy as AWS holds it, in `scenario`'s group.
    pub(crate) fn from_model(scenario: &Scenario, policy: &Policy) -> ScalingPolicy {
        let group = &scenario.group;
        let ec2 = group.service == ScalingService::Ec2AutoScaling;
        let mut out = ScalingPolicy {
            policy_name: policy.name.clone(),
            policy_arn: policy.arn.clone(),
            // describe-policies prints Enabled; Application Auto Scaling has no such field.
            enabled: ec2.then_some(policy.enabled),
            ..ScalingPolicy::default()
        };
        if ec2 {
            out.auto_scaling_group_name = Some(group.name.clone());
        } else {
            out.service_namespace = Some(ECS_SERVICE_NAMESPACE.into());
            out.resource_id = Some(group.name.clone());
            out.scalable_dimension = Some(ECS_SCALABLE_DIMENSION.into());
        }
        match &policy.kind {
            PolicyKind::Step {
                adjustment_type,
                min_adjustment_magnitude,
                aggregation,
                steps,
                estimated_instance_warmup,
                cooldown,
            } => {
                out.policy_type = "StepScaling".into();
                let config = StepScalingPolicyConfiguration {
                    adjustment_type: Some(adjustment_type.name().into()),
                    step_adjustments: steps.iter().map(StepAdjustment::from).collect(),
                    min_adjustment_magnitude: wide(*min_adjustment_magnitude),
                    cooldown: wide(*cooldown),
                    metric_aggregation_type: Some(aggregation.name().into()),
                };
                if ec2 {
                    out.adjustment_type = config.adjustment_type;
                    out.step_adjustments = Some(config.step_adjustments);
                    out.min_adjustment_magnitude = config.min_adjustment_magnitude;
                    out.cooldown = config.cooldown;
                    out.metric_aggregation_type = config.metric_aggregation_type;
                    out.estimated_instance_warmup = wide(*estimated_instance_warmup);
                } else {
                    out.step_scaling_policy_configuration = Some(config);
                }
            }
            PolicyKind::Simple {
                adjustment_type,
                scaling_adjustment,
                min_adjustment_magnitude,
                cooldown,
            } => {
                out.policy_type = "SimpleScaling".into();
                out.adjustment_type = Some(adjustment_type.name().into());
                out.scaling_adjustment = Some(*scaling_adjustment);
                out.min_adjustment_magnitude = wide(*min_adjustment_magnitude);
                out.cooldown = wide(*cooldown);
            }
            PolicyKind::TargetTracking {
                target_value,
                statistic,
                disable_scale_in,
                scale_out_cooldown,
                scale_in_cooldown,
                metric_period,
                metric,
                // Not AWS's: the model's reading of the alarms AWS creates.
                tracking_alarms: _,
            } => {
                out.policy_type = "TargetTrackingScaling".into();
                let (customized, predefined) = match metric {
                    TrackedMetric::AlarmSeries => (
                        Some(customized_metric(scenario, *statistic, ec2.then_some(*metric_period))),
                        None,
                    ),
                    TrackedMetric::BacklogPerTask(per_task) => (
                        Some(CustomizedMetricSpecification {
                            metrics: Some(per_task_metrics(per_task)),
                            ..CustomizedMetricSpecification::default()
                        }),
                        None,
                    ),
                    TrackedMetric::Predefined(predefined) => (
                        None,
                        Some(PredefinedMetricSpecification {
                            predefined_metric_type: predefined.name().into(),
                            resource_label: None,
                        }),
                    ),
                };
                let mut config = TargetTrackingConfiguration {
                    target_value: *target_value,
                    predefined_metric_specification: predefined,
                    customized_metric_specification: customized,
                    disable_scale_in: *disable_scale_in,
                    scale_out_cooldown: None,
                    scale_in_cooldown: None,
                };
                if ec2 {
                    out.estimated_instance_warmup = wide(*scale_out_cooldown);
                    out.target_tracking_configuration = Some(config);
                } else {
                    config.scale_out_cooldown = wide(*scale_out_cooldown);
                    config.scale_in_cooldown = wide(*scale_in_cooldown);
                    out.target_tracking_scaling_policy_configuration = Some(config);
                }
            }
        }
        out
    }
}

impl MetricAlarm {
    /// The alarm as AWS holds it; `arn` is AlarmArn, the actions the policies' ARNs.
    pub(crate) fn from_model(scenario: &Scenario, index: usize, arn: Option<String>) -> MetricAlarm {
        let alarm = &scenario.alarms[index];
        MetricAlarm {
            alarm_name: alarm.name.clone(),
            alarm_arn: arn,
            actions_enabled: Some(alarm.actions_enabled),
            alarm_actions: alarm
                .actions
                .iter()
                .map(|&i| scenario.policies[i].arn.clone())
                .collect(),
            metric_name: Some(alarm.metric_name.clone()),
            namespace: Some(alarm.namespace.clone()),
            statistic: Some(alarm.statistic.name().into()),
            dimensions: dimensions(&alarm.dimensions),
            period: Some(i64::from(alarm.period)),
            evaluation_periods: i64::from(alarm.evaluation_periods),
            datapoints_to_alarm: Some(i64::from(alarm.datapoints_to_alarm)),
            threshold: Some(alarm.threshold),
            comparison_operator: alarm.comparison.name().into(),
            treat_missing_data: Some(alarm.treat_missing_data.name().into()),
            // describe-alarms shows the field when it was set; the default is left out.
            evaluation_window: match &alarm.evaluation_window {
                ModelWindow::Sliding => None,
                window => Some(window.into()),
            },
            ..MetricAlarm::default()
        }
    }
}

/// The group as describe-auto-scaling-groups or describe-scalable-targets prints it.
/// describe-scalable-targets has no desired count: a reader needs `--capacity`.
pub(crate) fn describe_groups(group: &Group) -> DescribeGroups {
    let suspended = &group.suspended;
    match group.service {
        ScalingService::Ec2AutoScaling => DescribeGroups {
            auto_scaling_groups: Some(vec![AutoScalingGroup {
                auto_scaling_group_name: group.name.clone(),
                min_size: i64::from(group.min_capacity),
                max_size: i64::from(group.max_capacity),
                desired_capacity: Some(i64::from(group.desired_capacity)),
                default_cooldown: Some(i64::from(group.default_cooldown)),
                default_instance_warmup: wide(group.default_instance_warmup),
                suspended_processes: suspended
                    .processes
                    .iter()
                    .map(|p| SuspendedProcess {
                        process_name: p.name().into(),
                        suspension_reason: None,
                    })
                    .collect(),
            }]),
            scalable_targets: None,
        },
        ScalingService::ApplicationAutoScaling => DescribeGroups {
            auto_scaling_groups: None,
            scalable_targets: Some(vec![ScalableTarget {
                service_namespace: Some(ECS_SERVICE_NAMESPACE.into()),
                resource_id: group.name.clone(),
                scalable_dimension: Some(ECS_SCALABLE_DIMENSION.into()),
                min_capacity: i64::from(group.min_capacity),
                max_capacity: i64::from(group.max_capacity),
                suspended_state: Some(suspended_state(group)),
            }]),
        },
    }
}

/// SuspendedState as describe-scalable-targets prints it: all three members, false when off.
pub fn suspended_state(group: &Group) -> SuspendedState {
    let s = &group.suspended;
    SuspendedState {
        dynamic_scaling_in_suspended: Some(s.dynamic_scaling_in),
        dynamic_scaling_out_suspended: Some(s.dynamic_scaling_out),
        scheduled_scaling_suspended: Some(s.scheduled_scaling),
    }
}

/// The names of the processes, for a message that lists what AWS accepts.
pub(crate) fn process_names() -> Vec<&'static str> {
    ScalingProcess::ALL.map(ScalingProcess::name).to_vec()
}

/// The predefined metric types this tool models, for a message that lists them.
pub(crate) fn predefined_names() -> Vec<&'static str> {
    PredefinedMetric::ALL.map(PredefinedMetric::name).to_vec()
}

impl Documents {
    /// The scenario as describe-alarms, describe-policies / describe-scaling-policies and
    /// describe-auto-scaling-groups / describe-scalable-targets print it. `alarm_arn` gives
    /// each alarm's AlarmArn.
    pub(crate) fn from_model(scenario: &Scenario, alarm_arn: impl Fn(&str) -> String) -> Documents {
        Documents {
            alarms: DescribeAlarms {
                metric_alarms: (0..scenario.alarms.len())
                    .map(|i| MetricAlarm::from_model(scenario, i, Some(alarm_arn(&scenario.alarms[i].name))))
                    .collect(),
            },
            policies: DescribePolicies {
                scaling_policies: scenario
                    .policies
                    .iter()
                    .map(|p| ScalingPolicy::from_model(scenario, p))
                    .collect(),
            },
            groups: describe_groups(&scenario.group),
        }
    }
}
