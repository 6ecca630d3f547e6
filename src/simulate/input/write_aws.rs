//! `simulate --policy F --print-aws DIR`: the scenario as the describe-* JSON the AWS CLI
//! prints, so the same files feed `--alarms/--policies/--group` and show what to create.
//! ARNs are synthesized in AWS's formats with UUIDs derived from the names (UUID v5), so the
//! output is the same on every run.

use std::path::{Path, PathBuf};

use serde_json::{json, Map, Value};

use super::draft::{DEFAULT_ACCOUNT_ID, DEFAULT_REGION};
use super::InputError;
use crate::scaling::model::{
    BacklogPerTask, Group, Policy, PolicyKind, ScalingService, Scenario, StepAdjustment, TrackedMetric,
};

/// The UUID of a synthesized ARN: stable for a (group, policy) pair.
fn policy_uuid(group: &str, policy: &str) -> uuid::Uuid {
    uuid::Uuid::new_v5(
        &uuid::Uuid::NAMESPACE_OID,
        format!("nginx-backlog-exporter/{group}/{policy}").as_bytes(),
    )
}

/// PolicyARN as AWS makes it. EC2 Auto Scaling (API_ScalingPolicy):
/// `arn:aws:autoscaling:REGION:ACCOUNT:scalingPolicy:UUID:autoScalingGroupName/GROUP:policyName/NAME`;
/// Application Auto Scaling (describe-scaling-policies example of the AWS CLI):
/// `arn:aws:autoscaling:REGION:ACCOUNT:scalingPolicy:UUID:resource/ecs/service/CLUSTER/SERVICE:policyName/NAME`.
pub(super) fn policy_arn(group: &Group, region: &str, account: &str, policy: &str) -> String {
    let uuid = policy_uuid(&group.name, policy);
    match group.service {
        ScalingService::Ec2AutoScaling => format!(
            "arn:aws:autoscaling:{region}:{account}:scalingPolicy:{uuid}:autoScalingGroupName/{}:policyName/{policy}",
            group.name
        ),
        ScalingService::ApplicationAutoScaling => format!(
            "arn:aws:autoscaling:{region}:{account}:scalingPolicy:{uuid}:resource/ecs/{}:policyName/{policy}",
            group.name
        ),
    }
}

/// Region and account of the first policy ARN (the TOML's, since it made them), else the
/// defaults.
fn region_and_account(scenario: &Scenario) -> (String, String) {
    scenario
        .policies
        .first()
        .and_then(|p| {
            let mut parts = p.arn.split(':').skip(3);
            Some((parts.next()?.to_owned(), parts.next()?.to_owned()))
        })
        .filter(|(r, a)| !r.is_empty() && !a.is_empty())
        .unwrap_or_else(|| (DEFAULT_REGION.to_owned(), DEFAULT_ACCOUNT_ID.to_owned()))
}

/// StepAdjustments as AWS's JSON spells them (describe-policies, CloudFormation and the CLI
/// alike): `policy render` uses it too.
pub(crate) fn steps_json(steps: &[StepAdjustment]) -> Value {
    Value::Array(
        steps
            .iter()
            .map(|s| {
                let mut step = Map::new();
                if let Some(lower) = s.lower_bound {
                    step.insert("MetricIntervalLowerBound".into(), json!(lower));
                }
                if let Some(upper) = s.upper_bound {
                    step.insert("MetricIntervalUpperBound".into(), json!(upper));
                }
                step.insert("ScalingAdjustment".into(), json!(s.scaling_adjustment));
                Value::Object(step)
            })
            .collect(),
    )
}

/// The one-minute limitation of Application Auto Scaling's target tracking, carried in the
/// Label of the expression so that it travels with the policy in every format.
pub(crate) const PER_TASK_LABEL: &str =
    "PendingRequests per running task (one-minute data: reacts in minutes, not seconds)";

/// RunningTaskCount: Container Insights publishes it per service (ClusterName, ServiceName).
pub(crate) const RUNNING_TASKS_NAMESPACE: &str = "ECS/ContainerInsights";
pub(crate) const RUNNING_TASKS_METRIC: &str = "RunningTaskCount";

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

/// CustomizedMetricSpecification.Metrics (TargetTrackingMetricDataQuery) as AWS's JSON
/// spells it: describe-scaling-policies, CloudFormation and the CLI alike.
pub(crate) fn per_task_metrics_json(per_task: &BacklogPerTask) -> Value {
    let dimensions = |pairs: &[(&str, &str)]| -> Value {
        Value::Array(pairs.iter().map(|(n, v)| json!({"Name": n, "Value": v})).collect())
    };
    let fleet: Vec<(&str, &str)> = per_task
        .dimensions
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    json!([
        {
            "Id": "m1",
            "Label": "PendingRequests, every sample of every proxy (Sum)",
            "MetricStat": {
                "Metric": {
                    "Namespace": per_task.namespace,
                    "MetricName": per_task.metric_name,
                    "Dimensions": dimensions(&fleet),
                },
                "Stat": "Sum",
            },
            "ReturnData": false,
        },
        {
            "Id": "m2",
            "Label": "Running tasks of the service",
            "MetricStat": {
                "Metric": {
                    "Namespace": RUNNING_TASKS_NAMESPACE,
                    "MetricName": RUNNING_TASKS_METRIC,
                    "Dimensions": dimensions(&[
                        ("ClusterName", per_task.cluster.as_str()),
                        ("ServiceName", per_task.service.as_str()),
                    ]),
                },
                "Stat": "Average",
            },
            "ReturnData": false,
        },
        {
            "Id": "e1",
            "Label": PER_TASK_LABEL,
            "Expression": per_task_expression(per_task),
            "ReturnData": true,
        },
    ])
}

/// Inserts `key: value` when there is a value (AWS leaves unset fields out).
fn put(map: &mut Map<String, Value>, key: &str, value: Option<impl Into<Value>>) {
    if let Some(value) = value {
        map.insert(key.into(), value.into());
    }
}

fn customized_metric(scenario: &Scenario, statistic: &str, period: Option<u32>) -> Value {
    let (namespace, metric, dimensions) = scenario.alarms.first().map_or_else(
        || (String::new(), crate::config::DEFAULT_METRIC_NAME.to_owned(), Vec::new()),
        |a| (a.namespace.clone(), a.metric_name.clone(), a.dimensions.clone()),
    );
    let mut spec = Map::new();
    spec.insert("MetricName".into(), json!(metric));
    spec.insert("Namespace".into(), json!(namespace));
    spec.insert(
        "Dimensions".into(),
        Value::Array(dimensions.iter().map(|(n, v)| json!({"Name": n, "Value": v})).collect()),
    );
    spec.insert("Statistic".into(), json!(statistic));
    put(&mut spec, "Period", period);
    Value::Object(spec)
}

fn policy_json(scenario: &Scenario, policy: &Policy) -> Value {
    let group = &scenario.group;
    let mut out = Map::new();
    out.insert("PolicyName".into(), json!(policy.name));
    out.insert("PolicyARN".into(), json!(policy.arn));
    let ec2 = group.service == ScalingService::Ec2AutoScaling;
    if ec2 {
        out.insert("AutoScalingGroupName".into(), json!(group.name));
    } else {
        out.insert("ServiceNamespace".into(), json!("ecs"));
        out.insert("ResourceId".into(), json!(group.name));
        out.insert("ScalableDimension".into(), json!("ecs:service:DesiredCount"));
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
            out.insert("PolicyType".into(), json!("StepScaling"));
            let mut config = Map::new();
            config.insert("AdjustmentType".into(), json!(adjustment_type.name()));
            config.insert("StepAdjustments".into(), steps_json(steps));
            put(&mut config, "MinAdjustmentMagnitude", *min_adjustment_magnitude);
            config.insert("MetricAggregationType".into(), json!(aggregation.name()));
            put(&mut config, "Cooldown", *cooldown);
            if ec2 {
                put(&mut config, "EstimatedInstanceWarmup", *estimated_instance_warmup);
                out.extend(config);
            } else {
                out.insert("StepScalingPolicyConfiguration".into(), Value::Object(config));
            }
        }
        PolicyKind::Simple {
            adjustment_type,
            scaling_adjustment,
            min_adjustment_magnitude,
            cooldown,
        } => {
            out.insert("PolicyType".into(), json!("SimpleScaling"));
            out.insert("AdjustmentType".into(), json!(adjustment_type.name()));
            out.insert("ScalingAdjustment".into(), json!(scaling_adjustment));
            put(&mut out, "MinAdjustmentMagnitude", *min_adjustment_magnitude);
            put(&mut out, "Cooldown", *cooldown);
        }
        PolicyKind::TargetTracking {
            target_value,
            statistic,
            disable_scale_in,
            scale_out_cooldown,
            scale_in_cooldown,
            metric_period,
            metric,
            tracking_alarms: _,
        } => {
            out.insert("PolicyType".into(), json!("TargetTrackingScaling"));
            let mut config = Map::new();
            config.insert("TargetValue".into(), json!(target_value));
            match metric {
                TrackedMetric::AlarmSeries => {
                    config.insert(
                        "CustomizedMetricSpecification".into(),
                        customized_metric(scenario, statistic.name(), ec2.then_some(*metric_period)),
                    );
                }
                TrackedMetric::BacklogPerTask(per_task) => {
                    config.insert(
                        "CustomizedMetricSpecification".into(),
                        json!({ "Metrics": per_task_metrics_json(per_task) }),
                    );
                }
                TrackedMetric::Predefined(predefined) => {
                    config.insert(
                        "PredefinedMetricSpecification".into(),
                        json!({ "PredefinedMetricType": predefined.name() }),
                    );
                }
            }
            config.insert("DisableScaleIn".into(), json!(disable_scale_in));
            if ec2 {
                put(&mut out, "EstimatedInstanceWarmup", *scale_out_cooldown);
                out.insert("TargetTrackingConfiguration".into(), Value::Object(config));
            } else {
                put(&mut config, "ScaleOutCooldown", *scale_out_cooldown);
                put(&mut config, "ScaleInCooldown", *scale_in_cooldown);
                out.insert("TargetTrackingScalingPolicyConfiguration".into(), Value::Object(config));
            }
        }
    }
    Value::Object(out)
}

/// The three documents, in file-name order: alarms.json, policies.json, group.json.
pub fn documents(scenario: &Scenario) -> [(&'static str, Value); 3] {
    let (region, account) = region_and_account(scenario);
    let alarms: Vec<Value> = scenario
        .alarms
        .iter()
        .map(|a| {
            json!({
                "AlarmName": a.name,
                "AlarmArn": format!("arn:aws:cloudwatch:{region}:{account}:alarm:{}", a.name),
                "ActionsEnabled": true,
                "AlarmActions": a.actions.iter().map(|&i| scenario.policies[i].arn.clone()).collect::<Vec<_>>(),
                "MetricName": a.metric_name,
                "Namespace": a.namespace,
                "Statistic": a.statistic.name(),
                "Dimensions": a.dimensions.iter().map(|(n, v)| json!({"Name": n, "Value": v})).collect::<Vec<_>>(),
                "Period": a.period,
                "EvaluationPeriods": a.evaluation_periods,
                "DatapointsToAlarm": a.datapoints_to_alarm,
                "Threshold": a.threshold,
                "ComparisonOperator": a.comparison.name(),
                "TreatMissingData": a.treat_missing_data.name(),
            })
        })
        .collect();
    let policies: Vec<Value> = scenario.policies.iter().map(|p| policy_json(scenario, p)).collect();
    let g = &scenario.group;
    let group = match g.service {
        ScalingService::Ec2AutoScaling => {
            let mut asg = Map::new();
            asg.insert("AutoScalingGroupName".into(), json!(g.name));
            asg.insert("MinSize".into(), json!(g.min_capacity));
            asg.insert("MaxSize".into(), json!(g.max_capacity));
            asg.insert("DesiredCapacity".into(), json!(g.desired_capacity));
            asg.insert("DefaultCooldown".into(), json!(g.default_cooldown));
            put(&mut asg, "DefaultInstanceWarmup", g.default_instance_warmup);
            json!({"AutoScalingGroups": [asg]})
        }
        // describe-scalable-targets has no desired count: the reader needs --capacity.
        ScalingService::ApplicationAutoScaling => json!({"ScalableTargets": [{
            "ServiceNamespace": "ecs",
            "ResourceId": g.name,
            "ScalableDimension": "ecs:service:DesiredCount",
            "MinCapacity": g.min_capacity,
            "MaxCapacity": g.max_capacity,
        }]}),
    };
    [
        ("alarms.json", json!({ "MetricAlarms": alarms })),
        ("policies.json", json!({ "ScalingPolicies": policies })),
        ("group.json", group),
    ]
}

/// Writes alarms.json, policies.json and group.json into `dir` (created if missing); returns
/// their paths.
pub fn write_aws(scenario: &Scenario, dir: &Path) -> Result<Vec<PathBuf>, InputError> {
    std::fs::create_dir_all(dir).map_err(|source| InputError::Write {
        path: dir.to_owned(),
        source,
    })?;
    let mut paths = Vec::new();
    for (name, document) in documents(scenario) {
        let path = dir.join(name);
        let mut text = serde_json::to_string_pretty(&document).unwrap_or_default();
        text.push('\n');
        std::fs::write(&path, text).map_err(|source| InputError::Write {
            path: path.clone(),
            source,
        })?;
        paths.push(path);
    }
    Ok(paths)
}
