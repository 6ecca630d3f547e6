//! The JSON the AWS CLI prints, read into the AWS shapes of `scaling::aws` (the ones
//! `--print-aws` writes). Keys those shapes do not hold are named in a warning, except the
//! state fields of [`NOT_CONFIGURATION`]; a wrong type names its JSON path
//! (serde_path_to_error) and line (serde_json). Values that validation may refuse get their
//! line from a position-keeping parse (jsonc-parser's AST) of the same text.

use serde::de::DeserializeOwned;

use super::draft::{
    ActionRef, AlarmDraft, At, Drafts, GroupDraft, PerTaskDraft, PolicyDraft, StepDraft, TargetDraft,
    DEFAULT_ACCOUNT_ID, DEFAULT_REGION,
};
use super::{InputError, Location, Warning};
use crate::scaling::aws::{
    self, DescribeAlarms, DescribeGroups, DescribePolicies, MetricAlarm, ScalingPolicy, TargetTrackingConfiguration,
    TargetTrackingMetricDataQuery, NOT_CONFIGURATION,
};
use crate::scaling::scenario::ScalingService;

/// Where a key of an AWS shape was given: a JSON file's path and line, or (for `check`) the
/// API answer it came from.
pub(crate) trait Locate {
    fn loc(&self, path: &str) -> Location;

    fn at<T>(&self, path: String, value: T) -> At<T> {
        At {
            at: self.loc(&path),
            value,
        }
    }

    fn opt<T>(&self, path: String, value: Option<T>) -> Option<At<T>> {
        value.map(|v| self.at(path, v))
    }
}

/// The Metrics of a target tracking policy, if they are the backlog-per-task form that
/// `policy render` writes (m1 the Sum of a series, m2 the service's RunningTaskCount, e1 the
/// expression of `per_task_expression`): the one metric math this tool models.
fn per_task_of(
    queries: Vec<TargetTrackingMetricDataQuery>,
    at: Location,
    service_name: &str,
) -> Result<PerTaskDraft, InputError> {
    let refuse = |what: &str| {
        at.error(format!(
            "metric math {what}: only the backlog-per-task form of `policy render` (m1 = Sum of the \
             series, m2 = {} RunningTaskCount of the service, e1 = {:?}) can be simulated",
            aws::RUNNING_TASKS_NAMESPACE,
            "m1 / PERIOD(m1) / m2"
        ))
    };
    let find = |id: &str| queries.iter().find(|q| q.id == id);
    let (Some(m1), Some(m2), Some(e1)) = (find("m1"), find("m2"), find("e1")) else {
        return Err(refuse("without the queries m1, m2 and e1"));
    };
    if queries.len() != 3 {
        return Err(refuse("with queries other than m1, m2 and e1"));
    }
    let Some(series) = m1.metric_stat.as_ref().filter(|s| s.stat == "Sum") else {
        return Err(refuse("whose m1 is not the Sum of a metric"));
    };
    let running = m2.metric_stat.as_ref().filter(|s| {
        s.metric.namespace == aws::RUNNING_TASKS_NAMESPACE && s.metric.metric_name == aws::RUNNING_TASKS_METRIC
    });
    let Some(running) = running else {
        return Err(refuse("whose m2 is not RunningTaskCount"));
    };
    let mut parts = service_name.split('/').skip(1);
    let (cluster, service) = (parts.next().unwrap_or_default(), parts.next().unwrap_or_default());
    let dimension = |name: &str| {
        running
            .metric
            .dimensions
            .iter()
            .find(|d| d.name == name)
            .map(|d| d.value.as_str())
    };
    if dimension("ClusterName") != Some(cluster) || dimension("ServiceName") != Some(service) {
        return Err(refuse(&format!(
            "whose m2 counts the tasks of another service than {service_name}"
        )));
    }
    let interval = e1
        .expression
        .as_deref()
        .filter(|_| e1.return_data != Some(false))
        .and_then(aws::per_task_sample_interval);
    let Some(interval) = interval else {
        return Err(refuse("with another expression"));
    };
    Ok(PerTaskDraft {
        at: at.clone(),
        namespace: At {
            value: series.metric.namespace.clone(),
            at: at.clone(),
        },
        metric_name: series.metric.metric_name.clone(),
        dimensions: aws::dimension_pairs(&series.metric.dimensions),
        sample_interval: At { value: interval, at },
    })
}

/// One JSON file: its name, its text and a position-keeping parse for line numbers.
struct Doc<'a> {
    file: &'a str,
    text: &'a str,
    ast: Option<jsonc_parser::ast::Value<'a>>,
}

fn line_of(text: &str, offset: usize) -> usize {
    let offset = offset.min(text.len());
    text.as_bytes()[..offset].iter().filter(|&&b| b == b'\n').count() + 1
}

/// `MetricAlarms[1].StateValue`: the JSON path of a key serde_ignored reports.
fn ignored_path(path: &serde_ignored::Path) -> String {
    use serde_ignored::Path;
    match path {
        Path::Root => String::new(),
        Path::Seq { parent, index } => format!("{}[{index}]", ignored_path(parent)),
        Path::Map { parent, key } => {
            let parent = ignored_path(parent);
            if parent.is_empty() {
                key.clone()
            } else {
                format!("{parent}.{key}")
            }
        }
        Path::Some { parent } | Path::NewtypeStruct { parent } | Path::NewtypeVariant { parent } => {
            ignored_path(parent)
        }
    }
}

impl<'a> Doc<'a> {
    /// The document as `T`, and a warning for each key `T` does not hold (but the state
    /// fields of [`NOT_CONFIGURATION`]).
    fn parse<T: DeserializeOwned>(file: &'a str, text: &'a str) -> Result<(Doc<'a>, T, Vec<Warning>), InputError> {
        let mut ignored = Vec::new();
        let deserializer = &mut serde_json::Deserializer::from_str(text);
        let mut note = |path: serde_ignored::Path| ignored.push(ignored_path(&path));
        let tracked = serde_ignored::Deserializer::new(deserializer, &mut note);
        let value: T = serde_path_to_error::deserialize(tracked).map_err(|error| {
            let path = error.path().to_string();
            let inner = error.into_inner();
            // serde_json's message ends with " at line L column C": the line is in the location.
            let message = inner.to_string();
            let message = crate::serde_errors::in_words(message.split(" at line ").next().unwrap_or("invalid JSON"));
            InputError::Invalid {
                location: Location {
                    file: file.to_owned(),
                    key: if path == "." { "(document)".into() } else { path },
                    line: inner.line().max(1),
                },
                message,
            }
        })?;
        let ast = jsonc_parser::parse_to_ast(text, &Default::default(), &Default::default())
            .ok()
            .and_then(|r| r.value);
        let doc = Doc { file, text, ast };
        let warnings = ignored
            .into_iter()
            .filter(|path| {
                let key = path.rsplit('.').next().unwrap_or(path);
                let key = key.split('[').next().unwrap_or(key);
                !NOT_CONFIGURATION.contains(&key)
            })
            .map(|path| {
                doc.loc(&path)
                    .warn("not modelled by the simulation: this field is ignored (a field AWS added, or one this tool does not read)")
            })
            .collect();
        Ok((doc, value, warnings))
    }
}

impl Locate for Doc<'_> {
    /// The location of a JSON path like `MetricAlarms[1].Period`.
    fn loc(&self, path: &str) -> Location {
        Location {
            file: self.file.to_owned(),
            key: path.to_owned(),
            line: path_line(self.ast.as_ref(), self.text, path),
        }
    }
}

/// The 1-based line of a JSON path like `Datapoints[3].Average` in `text`: the line of the
/// value, or of the nearest enclosing value the path reaches when the key itself is absent.
pub(crate) fn json_path_line(text: &str, path: &str) -> usize {
    let ast = jsonc_parser::parse_to_ast(text, &Default::default(), &Default::default())
        .ok()
        .and_then(|r| r.value);
    path_line(ast.as_ref(), text, path)
}

fn path_line(ast: Option<&jsonc_parser::ast::Value>, text: &str, path: &str) -> usize {
    use jsonc_parser::ast::Value;
    use jsonc_parser::common::Ranged;
    let mut node = ast;
    let mut offset = node.map_or(0, |n| n.start());
    for segment in path.split('.') {
        let (name, indexes) = match segment.find('[') {
            Some(i) => (&segment[..i], &segment[i..]),
            None => (segment, ""),
        };
        let mut next = node.and_then(|n| match n {
            Value::Object(object) => object.get(name).map(|p| &p.value),
            _ => None,
        });
        for index in indexes.split(['[', ']']).filter(|s| !s.is_empty()) {
            let index: usize = index.parse().unwrap_or(usize::MAX);
            next = next.and_then(|n| match n {
                Value::Array(array) => array.elements.get(index),
                _ => None,
            });
        }
        match next {
            Some(found) => {
                offset = found.start();
                node = Some(found);
            }
            None => break,
        }
    }
    line_of(text, offset)
}

/// The target tracking configuration at `tkey` as a draft.
fn target_draft(
    doc: &impl Locate,
    t: TargetTrackingConfiguration,
    tkey: String,
    resource: &str,
) -> Result<TargetDraft, InputError> {
    let mut spec = t.customized_metric_specification;
    let per_task = match spec.as_mut().and_then(|s| s.metrics.take()) {
        Some(queries) => Some(per_task_of(
            queries,
            doc.loc(&format!("{tkey}.CustomizedMetricSpecification.Metrics")),
            resource,
        )?),
        None => None,
    };
    Ok(TargetDraft {
        target_value: doc.at(format!("{tkey}.TargetValue"), t.target_value),
        statistic: doc.opt(
            format!("{tkey}.CustomizedMetricSpecification.Statistic"),
            spec.as_ref().and_then(|s| s.statistic.clone()),
        ),
        disable_scale_in: t.disable_scale_in,
        scale_out_cooldown: doc.opt(format!("{tkey}.ScaleOutCooldown"), t.scale_out_cooldown),
        scale_in_cooldown: doc.opt(format!("{tkey}.ScaleInCooldown"), t.scale_in_cooldown),
        period: doc.opt(
            format!("{tkey}.CustomizedMetricSpecification.Period"),
            spec.as_ref().and_then(|s| s.period),
        ),
        per_task,
        predefined: doc.opt(
            format!("{tkey}.PredefinedMetricSpecification.PredefinedMetricType"),
            t.predefined_metric_specification.map(|p| p.predefined_metric_type),
        ),
        tracking_alarms: None,
    })
}

/// One ScalingPolicy (at `prefix`, e.g. `ScalingPolicies[0]`) as a draft.
pub(crate) fn policy_draft(doc: &impl Locate, prefix: &str, p: ScalingPolicy) -> Result<PolicyDraft, InputError> {
    let key = |field: &str| format!("{prefix}.{field}");
    let steps_of = |list: Vec<aws::StepAdjustment>, list_key: String| At {
        at: doc.loc(&list_key),
        value: list
            .into_iter()
            .enumerate()
            .map(|(j, s)| StepDraft {
                at: doc.loc(&format!("{list_key}[{j}]")),
                lower: s.metric_interval_lower_bound,
                upper: s.metric_interval_upper_bound,
                adjustment: s.scaling_adjustment,
            })
            .collect(),
    };
    let resource = p.resource_id.clone().unwrap_or_default();
    let enabled = doc.opt(key("Enabled"), p.enabled);
    let draft = match p.step_scaling_policy_configuration {
        Some(c) => {
            let ckey = |field: &str| key(&format!("StepScalingPolicyConfiguration.{field}"));
            PolicyDraft {
                at: doc.loc(prefix),
                name: p.policy_name,
                arn: Some(p.policy_arn),
                policy_type: doc.at(key("PolicyType"), p.policy_type),
                adjustment_type: doc.opt(ckey("AdjustmentType"), c.adjustment_type),
                min_adjustment_magnitude: doc.opt(ckey("MinAdjustmentMagnitude"), c.min_adjustment_magnitude),
                aggregation: doc.opt(ckey("MetricAggregationType"), c.metric_aggregation_type),
                steps: Some(steps_of(c.step_adjustments, ckey("StepAdjustments"))),
                estimated_instance_warmup: None,
                cooldown: doc.opt(ckey("Cooldown"), c.cooldown),
                scaling_adjustment: None,
                target: None,
                enabled,
            }
        }
        None => PolicyDraft {
            at: doc.loc(prefix),
            name: p.policy_name,
            arn: Some(p.policy_arn),
            policy_type: doc.at(key("PolicyType"), p.policy_type),
            adjustment_type: doc.opt(key("AdjustmentType"), p.adjustment_type),
            min_adjustment_magnitude: doc.opt(key("MinAdjustmentMagnitude"), p.min_adjustment_magnitude),
            aggregation: doc.opt(key("MetricAggregationType"), p.metric_aggregation_type),
            steps: p.step_adjustments.map(|list| steps_of(list, key("StepAdjustments"))),
            estimated_instance_warmup: doc.opt(key("EstimatedInstanceWarmup"), p.estimated_instance_warmup),
            cooldown: doc.opt(key("Cooldown"), p.cooldown),
            scaling_adjustment: doc.opt(key("ScalingAdjustment"), p.scaling_adjustment),
            target: match (
                p.target_tracking_configuration,
                p.target_tracking_scaling_policy_configuration,
            ) {
                (Some(t), _) => Some(target_draft(doc, t, key("TargetTrackingConfiguration"), &resource)?),
                (None, Some(t)) => Some(target_draft(
                    doc,
                    t,
                    key("TargetTrackingScalingPolicyConfiguration"),
                    &resource,
                )?),
                (None, None) => None,
            },
            enabled,
        },
    };
    Ok(draft)
}

/// One MetricAlarm (at `prefix`, e.g. `MetricAlarms[0]`) as a draft.
pub(crate) fn alarm_draft(doc: &impl Locate, prefix: &str, a: MetricAlarm) -> Result<AlarmDraft, InputError> {
    let key = |field: &str| format!("{prefix}.{field}");
    // An empty Metrics list holds no metric math: moto's server (5.2.5) prints
    // "Metrics": [] on every single-metric alarm.
    let metric_math = a
        .metrics
        .as_ref()
        .is_some_and(|metrics| metrics.as_array().is_none_or(|queries| !queries.is_empty()));
    let unsupported = if metric_math {
        Some(doc.at(key("Metrics"), "metric math (Metrics)"))
    } else if a.extended_statistic.is_some() {
        Some(doc.at(key("ExtendedStatistic"), "ExtendedStatistic (percentiles)"))
    } else if a.threshold_metric_id.is_some() {
        Some(doc.at(
            key("ThresholdMetricId"),
            "an anomaly-detection band (ThresholdMetricId)",
        ))
    } else {
        None
    };
    let missing = |field: &str| doc.loc(&key(field)).error(format!("{field} is missing"));
    let statistic = match (a.statistic, &unsupported) {
        (Some(s), _) => doc.at(key("Statistic"), s),
        (None, Some(_)) => doc.at(key("Statistic"), String::new()),
        (None, None) => return Err(missing("Statistic")),
    };
    let period = match (a.period, &unsupported) {
        (Some(p), _) => doc.at(key("Period"), p),
        (None, Some(_)) => doc.at(key("Period"), 60),
        (None, None) => return Err(missing("Period")),
    };
    let threshold = match (a.threshold, &unsupported) {
        (Some(t), _) => doc.at(key("Threshold"), t),
        (None, Some(_)) => doc.at(key("Threshold"), 0.0),
        (None, None) => return Err(missing("Threshold")),
    };
    Ok(AlarmDraft {
        at: doc.loc(prefix),
        name: a.alarm_name,
        namespace: a.namespace.unwrap_or_default(),
        metric_name: a.metric_name.unwrap_or_default(),
        dimensions: aws::dimension_pairs(&a.dimensions),
        unsupported,
        statistic,
        period,
        evaluation_periods: doc.at(key("EvaluationPeriods"), a.evaluation_periods),
        datapoints_to_alarm: doc.opt(key("DatapointsToAlarm"), a.datapoints_to_alarm),
        threshold,
        comparison: doc.at(key("ComparisonOperator"), a.comparison_operator),
        treat_missing_data: doc.opt(key("TreatMissingData"), a.treat_missing_data),
        actions: a
            .alarm_actions
            .into_iter()
            .enumerate()
            .map(|(j, arn)| doc.at(key(&format!("AlarmActions[{j}]")), ActionRef::Arn(arn)))
            .collect(),
        actions_enabled: doc.opt(key("ActionsEnabled"), a.actions_enabled),
        evaluation_window: doc.opt(key("EvaluationWindow"), a.evaluation_window.map(Into::into)),
    })
}

pub fn parse(alarms: (&str, &str), policies: (&str, &str), group: Option<(&str, &str)>) -> Result<Drafts, InputError> {
    let (policy_doc, described, mut warnings): (Doc, DescribePolicies, _) = Doc::parse(policies.0, policies.1)?;
    let (alarm_doc, described_alarms, alarm_warnings): (Doc, DescribeAlarms, _) = Doc::parse(alarms.0, alarms.1)?;
    warnings.extend(alarm_warnings);
    // Tell the two services apart by shape: Application Auto Scaling's policies carry a
    // ServiceNamespace and a ResourceId, EC2 Auto Scaling's an AutoScalingGroupName.
    let service = match described.scaling_policies.first() {
        Some(first) if first.service_namespace.is_some() || first.resource_id.is_some() => {
            ScalingService::ApplicationAutoScaling
        }
        _ => ScalingService::Ec2AutoScaling,
    };
    let mut policy_drafts = Vec::new();
    let mut group_name: Option<String> = None;
    for (i, p) in described.scaling_policies.into_iter().enumerate() {
        let prefix = format!("ScalingPolicies[{i}]");
        let this_group = match service {
            ScalingService::Ec2AutoScaling => p.auto_scaling_group_name.clone(),
            ScalingService::ApplicationAutoScaling => p.resource_id.clone(),
        };
        let Some(this_group) = this_group else {
            return Err(policy_doc.loc(&prefix).error(
                "policies of EC2 Auto Scaling (AutoScalingGroupName) and Application Auto Scaling (ResourceId) \
                 cannot be mixed",
            ));
        };
        if let Some(first) = &group_name {
            if *first != this_group {
                let field = match service {
                    ScalingService::Ec2AutoScaling => "AutoScalingGroupName",
                    ScalingService::ApplicationAutoScaling => "ResourceId",
                };
                return Err(policy_doc
                    .loc(&format!("{prefix}.{field}"))
                    .error(format!("all policies must scale one group; the first scales {first:?}")));
            }
        }
        group_name = Some(this_group);
        policy_drafts.push(policy_draft(&policy_doc, &prefix, p)?);
    }

    let alarm_drafts = described_alarms
        .metric_alarms
        .into_iter()
        .enumerate()
        .map(|(i, a)| alarm_draft(&alarm_doc, &format!("MetricAlarms[{i}]"), a))
        .collect::<Result<Vec<_>, _>>()?;

    let group_draft = match group {
        Some((file, text)) => {
            let (draft, group_warnings) = group_file(file, text, service, group_name.as_deref())?;
            warnings.extend(group_warnings);
            Some(draft)
        }
        None => None,
    };
    Ok(Drafts {
        group: group_draft,
        group_missing_at: policy_doc.loc("ScalingPolicies"),
        alarms: alarm_drafts,
        policies: policy_drafts,
        region: DEFAULT_REGION.to_owned(),
        account_id: DEFAULT_ACCOUNT_ID.to_owned(),
        warnings,
    })
}

/// describe-auto-scaling-groups or describe-scalable-targets: the entry naming the policies'
/// group, or the only entry.
fn group_file(
    file: &str,
    text: &str,
    service: ScalingService,
    wanted: Option<&str>,
) -> Result<(GroupDraft, Vec<Warning>), InputError> {
    let (doc, raw, warnings): (Doc, DescribeGroups, _) = Doc::parse(file, text)?;
    let pick = |names: Vec<&str>, list_key: &str| -> Result<usize, InputError> {
        match wanted {
            Some(wanted) => names.iter().position(|n| *n == wanted).ok_or_else(|| {
                doc.loc(list_key)
                    .error(format!("no entry for {wanted:?}, the group the policies scale"))
            }),
            None if names.len() == 1 => Ok(0),
            None => Err(doc
                .loc(list_key)
                .error("more than one entry and no policy to say which")),
        }
    };
    let draft = match (raw.auto_scaling_groups, raw.scalable_targets, service) {
        (Some(groups), None, ScalingService::Ec2AutoScaling) => {
            let i = pick(
                groups.iter().map(|g| g.auto_scaling_group_name.as_str()).collect(),
                "AutoScalingGroups",
            )?;
            let key = |field: &str| format!("AutoScalingGroups[{i}].{field}");
            let g = &groups[i];
            GroupDraft {
                at: doc.loc(&format!("AutoScalingGroups[{i}]")),
                service,
                name: g.auto_scaling_group_name.clone(),
                min: Some(doc.at(key("MinSize"), g.min_size)),
                max: Some(doc.at(key("MaxSize"), g.max_size)),
                desired: doc.opt(key("DesiredCapacity"), g.desired_capacity),
                default_instance_warmup: doc.opt(key("DefaultInstanceWarmup"), g.default_instance_warmup),
                default_cooldown: doc.opt(key("DefaultCooldown"), g.default_cooldown),
                suspended_processes: g
                    .suspended_processes
                    .iter()
                    .enumerate()
                    .map(|(j, p)| {
                        doc.at(
                            key(&format!("SuspendedProcesses[{j}].ProcessName")),
                            p.process_name.clone(),
                        )
                    })
                    .collect(),
                dynamic_scaling_in_suspended: None,
                dynamic_scaling_out_suspended: None,
                scheduled_scaling_suspended: None,
            }
        }
        (None, Some(targets), ScalingService::ApplicationAutoScaling) => {
            let i = pick(
                targets.iter().map(|t| t.resource_id.as_str()).collect(),
                "ScalableTargets",
            )?;
            let key = |field: &str| format!("ScalableTargets[{i}].{field}");
            let t = &targets[i];
            let state = t.suspended_state.clone().unwrap_or_default();
            GroupDraft {
                at: doc.loc(&format!("ScalableTargets[{i}]")),
                service,
                name: t.resource_id.clone(),
                min: Some(doc.at(key("MinCapacity"), t.min_capacity)),
                max: Some(doc.at(key("MaxCapacity"), t.max_capacity)),
                desired: None,
                default_instance_warmup: None,
                default_cooldown: None,
                suspended_processes: Vec::new(),
                dynamic_scaling_in_suspended: doc.opt(
                    key("SuspendedState.DynamicScalingInSuspended"),
                    state.dynamic_scaling_in_suspended,
                ),
                dynamic_scaling_out_suspended: doc.opt(
                    key("SuspendedState.DynamicScalingOutSuspended"),
                    state.dynamic_scaling_out_suspended,
                ),
                scheduled_scaling_suspended: doc.opt(
                    key("SuspendedState.ScheduledScalingSuspended"),
                    state.scheduled_scaling_suspended,
                ),
            }
        }
        (Some(_), None, ScalingService::ApplicationAutoScaling) => {
            return Err(doc
                .loc("AutoScalingGroups")
                .error("the policies are Application Auto Scaling's: --group needs describe-scalable-targets"))
        }
        (None, Some(_), ScalingService::Ec2AutoScaling) => {
            return Err(doc
                .loc("ScalableTargets")
                .error("the policies are EC2 Auto Scaling's: --group needs describe-auto-scaling-groups"))
        }
        _ => {
            return Err(doc.loc("").error(
                "expected {\"AutoScalingGroups\": [...]} (describe-auto-scaling-groups) or {\"ScalableTargets\": \
                 [...]} (describe-scalable-targets)",
            ))
        }
    };
    Ok((draft, warnings))
}
