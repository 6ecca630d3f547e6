//! What the readers hand to validation: the values as the file spelled them, each with the
//! [`Location`] it came from, so validation names the file, key and line whichever format
//! the value was read from.

use super::Location;
use crate::scaling::scenario::{EvaluationWindow, ScalingService};

#[derive(Debug, Clone)]
pub struct At<T> {
    pub value: T,
    pub at: Location,
}

/// How an alarm names the policy it invokes.
#[derive(Debug, Clone)]
pub(crate) enum ActionRef {
    /// describe-alarms: AlarmActions hold ARNs.
    Arn(String),
    /// The TOML: policy names (there are no ARNs yet).
    Name(String),
}

#[derive(Debug, Clone)]
pub(crate) struct GroupDraft {
    pub at: Location,
    pub service: ScalingService,
    pub name: String,
    pub min: Option<At<i64>>,
    pub max: Option<At<i64>>,
    pub desired: Option<At<i64>>,
    pub(crate) default_instance_warmup: Option<At<i64>>,
    pub(crate) default_cooldown: Option<At<i64>>,
    /// EC2 Auto Scaling's SuspendedProcesses, as spelled (validation names an unknown one).
    pub(crate) suspended_processes: Vec<At<String>>,
    /// Application Auto Scaling's SuspendedState members.
    pub dynamic_scaling_in_suspended: Option<At<bool>>,
    pub dynamic_scaling_out_suspended: Option<At<bool>>,
    pub scheduled_scaling_suspended: Option<At<bool>>,
}

#[derive(Debug, Clone)]
pub(crate) struct AlarmDraft {
    pub at: Location,
    pub name: String,
    pub namespace: String,
    pub metric_name: String,
    pub dimensions: Vec<(String, String)>,
    /// Where a feature this tool does not model was used (`Metrics`, ExtendedStatistic,
    /// ThresholdMetricId) and what it was.
    pub(crate) unsupported: Option<At<&'static str>>,
    pub statistic: At<String>,
    pub period: At<i64>,
    pub evaluation_periods: At<i64>,
    pub datapoints_to_alarm: Option<At<i64>>,
    pub threshold: At<f64>,
    pub comparison: At<String>,
    pub treat_missing_data: Option<At<String>>,
    pub actions: Vec<At<ActionRef>>,
    pub actions_enabled: Option<At<bool>>,
    pub evaluation_window: Option<At<EvaluationWindow>>,
}

#[derive(Debug, Clone)]
pub(crate) struct StepDraft {
    pub at: Location,
    pub lower: Option<f64>,
    pub upper: Option<f64>,
    pub adjustment: i64,
}

#[derive(Debug, Clone)]
pub(crate) struct TargetDraft {
    pub target_value: At<f64>,
    pub statistic: Option<At<String>>,
    pub disable_scale_in: bool,
    pub scale_out_cooldown: Option<At<i64>>,
    pub scale_in_cooldown: Option<At<i64>>,
    pub period: Option<At<i64>>,
    /// Metric math instead of the first alarm's series.
    pub per_task: Option<PerTaskDraft>,
    /// PredefinedMetricSpecification.PredefinedMetricType, as spelled.
    pub predefined: Option<At<String>>,
    /// `tracking_alarms` in the TOML; AWS has no such field (it creates the alarms itself).
    pub(crate) tracking_alarms: Option<TrackingAlarmsDraft>,
}

/// The shape of a target tracking policy's own alarms, each key optional (the model's default).
#[derive(Debug, Clone)]
pub(crate) struct TrackingAlarmsDraft {
    pub(crate) high_datapoints: Option<At<i64>>,
    pub(crate) low_datapoints: Option<At<i64>>,
    pub(crate) low_fraction: Option<At<f64>>,
}

/// `backlog_per_task` in the TOML, or the Metrics of describe-scaling-policies in the form
/// `policy render` writes.
#[derive(Debug, Clone)]
pub(crate) struct PerTaskDraft {
    pub at: Location,
    pub namespace: At<String>,
    pub metric_name: String,
    pub dimensions: Vec<(String, String)>,
    pub sample_interval: At<f64>,
}

#[derive(Debug, Clone)]
pub(crate) struct PolicyDraft {
    pub at: Location,
    pub name: String,
    /// PolicyARN (JSON); the TOML has none and validation synthesizes one.
    pub arn: Option<String>,
    pub policy_type: At<String>,
    pub adjustment_type: Option<At<String>>,
    pub min_adjustment_magnitude: Option<At<i64>>,
    pub aggregation: Option<At<String>>,
    /// The StepAdjustments list's location and its steps.
    pub steps: Option<At<Vec<StepDraft>>>,
    pub estimated_instance_warmup: Option<At<i64>>,
    pub cooldown: Option<At<i64>>,
    pub scaling_adjustment: Option<At<i64>>,
    pub target: Option<TargetDraft>,
    /// EC2 Auto Scaling's Enabled.
    pub enabled: Option<At<bool>>,
}

#[derive(Debug, Clone)]
pub(crate) struct Drafts {
    pub group: Option<GroupDraft>,
    /// Where to point when no group was given (the policies file).
    pub(crate) group_missing_at: Location,
    pub alarms: Vec<AlarmDraft>,
    pub policies: Vec<PolicyDraft>,
    /// For ARNs the TOML synthesizes.
    pub region: String,
    pub(crate) account_id: String,
    /// What the reader saw and does not model (keys AWS added), said before validation's own.
    pub warnings: Vec<super::Warning>,
}

/// Region and account in synthesized ARNs when the TOML names none (the AWS documentation's
/// example account).
pub(crate) const DEFAULT_REGION: &str = "us-east-1";
pub(crate) const DEFAULT_ACCOUNT_ID: &str = "123456789012";
