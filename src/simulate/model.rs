//! The validated scenario `simulate` runs: an Auto Scaling group (or an ECS service's scalable
//! target), the CloudWatch alarms on PendingRequests and the scaling policies they invoke,
//! plus the series the alarms watch and what the engine reports per evaluation.
//!
//! These are plain data: the readers in `input` (AWS CLI JSON, the policy TOML) build them
//! after validation, the engine in `engine` reads them, `report` and `plot` print what the
//! engine produced. Durations are whole seconds and times Unix milliseconds, as in the
//! rest of derive, so nothing here reads a clock.

/// Which service's scaling rules apply: they differ in warmup vs cooldown and in whether an
/// alarm that stays in ALARM invokes its policy again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScalingService {
    /// EC2 Auto Scaling (`aws autoscaling`): instance warmup, actions repeated every
    /// evaluation the alarm stays in ALARM.
    Ec2AutoScaling,
    /// Application Auto Scaling (`aws application-autoscaling`), e.g. an ECS service's
    /// `ecs:service:DesiredCount`: per-policy cooldown.
    ApplicationAutoScaling,
}

/// The capacity being scaled: an Auto Scaling group or a scalable target.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    pub service: ScalingService,
    /// AutoScalingGroupName, or the scalable target's ResourceId (`service/cluster/name`).
    pub name: String,
    pub min_capacity: u32,
    pub max_capacity: u32,
    /// Starting capacity: DesiredCapacity, or `--capacity`; validation refuses none.
    pub desired_capacity: u32,
    /// DefaultInstanceWarmup (EC2 only), seconds.
    pub default_instance_warmup: Option<u32>,
    /// DefaultCooldown (EC2 only; AWS's default is 300 s), seconds.
    pub default_cooldown: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Statistic {
    Average,
    Maximum,
    Minimum,
    Sum,
    SampleCount,
}

impl Statistic {
    pub const ALL: [Statistic; 5] = [
        Statistic::Average,
        Statistic::Maximum,
        Statistic::Minimum,
        Statistic::Sum,
        Statistic::SampleCount,
    ];

    /// The name AWS uses (`Statistic` in describe-alarms).
    pub fn name(self) -> &'static str {
        match self {
            Statistic::Average => "Average",
            Statistic::Maximum => "Maximum",
            Statistic::Minimum => "Minimum",
            Statistic::Sum => "Sum",
            Statistic::SampleCount => "SampleCount",
        }
    }

    pub fn from_name(name: &str) -> Option<Statistic> {
        Statistic::ALL.into_iter().find(|s| s.name() == name)
    }
}

/// The four static-threshold operators (anomaly-detection operators are refused by
/// validation: they need a model of the band that this tool does not have).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparison {
    GreaterThanOrEqualToThreshold,
    GreaterThanThreshold,
    LessThanThreshold,
    LessThanOrEqualToThreshold,
}

impl Comparison {
    pub const ALL: [Comparison; 4] = [
        Comparison::GreaterThanOrEqualToThreshold,
        Comparison::GreaterThanThreshold,
        Comparison::LessThanThreshold,
        Comparison::LessThanOrEqualToThreshold,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Comparison::GreaterThanOrEqualToThreshold => "GreaterThanOrEqualToThreshold",
            Comparison::GreaterThanThreshold => "GreaterThanThreshold",
            Comparison::LessThanThreshold => "LessThanThreshold",
            Comparison::LessThanOrEqualToThreshold => "LessThanOrEqualToThreshold",
        }
    }

    pub fn from_name(name: &str) -> Option<Comparison> {
        Comparison::ALL.into_iter().find(|c| c.name() == name)
    }

    /// Whether `value` breaches `threshold`.
    pub fn breaches(self, value: f64, threshold: f64) -> bool {
        match self {
            Comparison::GreaterThanOrEqualToThreshold => value >= threshold,
            Comparison::GreaterThanThreshold => value > threshold,
            Comparison::LessThanThreshold => value < threshold,
            Comparison::LessThanOrEqualToThreshold => value <= threshold,
        }
    }

    /// A greater-than alarm breaches upward (a scale-out alarm, usually).
    pub fn is_upper(self) -> bool {
        matches!(
            self,
            Comparison::GreaterThanOrEqualToThreshold | Comparison::GreaterThanThreshold
        )
    }
}

/// TreatMissingData.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TreatMissingData {
    Missing,
    Ignore,
    Breaching,
    NotBreaching,
}

impl TreatMissingData {
    pub const ALL: [TreatMissingData; 4] = [
        TreatMissingData::Missing,
        TreatMissingData::Ignore,
        TreatMissingData::Breaching,
        TreatMissingData::NotBreaching,
    ];

    /// The spelling AWS uses (`missing`, `ignore`, `breaching`, `notBreaching`).
    pub fn name(self) -> &'static str {
        match self {
            TreatMissingData::Missing => "missing",
            TreatMissingData::Ignore => "ignore",
            TreatMissingData::Breaching => "breaching",
            TreatMissingData::NotBreaching => "notBreaching",
        }
    }

    pub fn from_name(name: &str) -> Option<TreatMissingData> {
        TreatMissingData::ALL.into_iter().find(|t| t.name() == name)
    }
}

/// A metric alarm on the simulated series.
#[derive(Debug, Clone, PartialEq)]
pub struct Alarm {
    pub name: String,
    pub namespace: String,
    pub metric_name: String,
    /// Name, value; in the order given.
    pub dimensions: Vec<(String, String)>,
    pub statistic: Statistic,
    /// Seconds: 10, 20, 30 or a multiple of 60.
    pub period: u32,
    pub evaluation_periods: u32,
    /// M of N; equals `evaluation_periods` when the source leaves it out.
    pub datapoints_to_alarm: u32,
    pub threshold: f64,
    pub comparison: Comparison,
    pub treat_missing_data: TreatMissingData,
    /// Indexes into [`Scenario::policies`] of the policies AlarmActions names.
    pub actions: Vec<usize>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdjustmentType {
    ChangeInCapacity,
    ExactCapacity,
    PercentChangeInCapacity,
}

impl AdjustmentType {
    pub const ALL: [AdjustmentType; 3] = [
        AdjustmentType::ChangeInCapacity,
        AdjustmentType::ExactCapacity,
        AdjustmentType::PercentChangeInCapacity,
    ];

    pub fn name(self) -> &'static str {
        match self {
            AdjustmentType::ChangeInCapacity => "ChangeInCapacity",
            AdjustmentType::ExactCapacity => "ExactCapacity",
            AdjustmentType::PercentChangeInCapacity => "PercentChangeInCapacity",
        }
    }

    pub fn from_name(name: &str) -> Option<AdjustmentType> {
        AdjustmentType::ALL.into_iter().find(|t| t.name() == name)
    }
}

/// MetricAggregationType of a step policy (AWS's default is Average).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricAggregation {
    Average,
    Minimum,
    Maximum,
}

impl MetricAggregation {
    pub fn name(self) -> &'static str {
        match self {
            MetricAggregation::Average => "Average",
            MetricAggregation::Minimum => "Minimum",
            MetricAggregation::Maximum => "Maximum",
        }
    }

    pub fn from_name(name: &str) -> Option<MetricAggregation> {
        [
            MetricAggregation::Average,
            MetricAggregation::Minimum,
            MetricAggregation::Maximum,
        ]
        .into_iter()
        .find(|a| a.name() == name)
    }
}

/// One step: bounds relative to the alarm threshold, `None` for an open (infinite) bound.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepAdjustment {
    pub lower_bound: Option<f64>,
    pub upper_bound: Option<f64>,
    pub scaling_adjustment: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub enum PolicyKind {
    Step {
        adjustment_type: AdjustmentType,
        min_adjustment_magnitude: Option<u32>,
        aggregation: MetricAggregation,
        /// Validated: no overlap, no gap, at most one open bound per side, sorted by bound.
        steps: Vec<StepAdjustment>,
        /// EC2: EstimatedInstanceWarmup, seconds.
        estimated_instance_warmup: Option<u32>,
        /// Application Auto Scaling: Cooldown, seconds (AWS's default is 300 s for ECS).
        cooldown: Option<u32>,
    },
    /// EC2 simple scaling: one adjustment, then a cooldown.
    Simple {
        adjustment_type: AdjustmentType,
        scaling_adjustment: i64,
        min_adjustment_magnitude: Option<u32>,
        /// Cooldown, else the group's DefaultCooldown.
        cooldown: Option<u32>,
    },
    /// Target tracking on the simulated series.
    TargetTracking {
        target_value: f64,
        /// The statistic of the customized metric specification.
        statistic: Statistic,
        disable_scale_in: bool,
        /// EC2: EstimatedInstanceWarmup; Application Auto Scaling: ScaleOutCooldown.
        scale_out_cooldown: Option<u32>,
        /// Application Auto Scaling: ScaleInCooldown.
        scale_in_cooldown: Option<u32>,
        /// The metric's period in seconds: EC2 accepts 10, 30 or 60 for customized metrics;
        /// Application Auto Scaling has none (one minute).
        metric_period: u32,
        /// What the policy tracks.
        metric: TrackedMetric,
    },
}

/// The metric a target tracking policy follows.
#[derive(Debug, Clone, PartialEq)]
pub enum TrackedMetric {
    /// The series of the scenario's first alarm, with the policy's statistic.
    AlarmSeries,
    /// Metric math: the fleet total of PendingRequests divided by the service's running tasks
    /// (ECS only).
    BacklogPerTask(BacklogPerTask),
}

/// `e1 = (m1 × sample_interval / PERIOD(m1)) / m2`: m1 the Sum of the exporter's series (all
/// proxies' samples in the period), so m1 × sample_interval / PERIOD(m1) is the fleet total
/// (the guide's "Reading a statistic set"); m2 ECS/ContainerInsights RunningTaskCount
/// (Average) of the service.
#[derive(Debug, Clone, PartialEq)]
pub struct BacklogPerTask {
    pub namespace: String,
    pub metric_name: String,
    /// The dimension set of the series, exactly as the exporter publishes it.
    pub dimensions: Vec<(String, String)>,
    /// The exporter's cloudwatch.sample_interval, seconds.
    pub sample_interval_s: f64,
    /// ClusterName and ServiceName of RunningTaskCount, from the ResourceId service/CLUSTER/SERVICE.
    pub cluster: String,
    pub service: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    pub name: String,
    /// PolicyARN; alarm actions name it.
    pub arn: String,
    pub kind: PolicyKind,
}

/// Everything one simulation runs: validated, so the engine never has to refuse anything.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    pub group: Group,
    pub alarms: Vec<Alarm>,
    pub policies: Vec<Policy>,
}

/// One statistic set of the series: what a datapoint of `get-metric-statistics` or a period
/// of `replay` holds. A statistic the source did not give is `None`.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct SeriesStats {
    pub sample_count: Option<f64>,
    pub sum: Option<f64>,
    pub minimum: Option<f64>,
    pub maximum: Option<f64>,
    pub average: Option<f64>,
}

impl SeriesStats {
    pub fn get(&self, statistic: Statistic) -> Option<f64> {
        match statistic {
            Statistic::Average => self
                .average
                .or_else(|| Some(self.sum? / self.sample_count?).filter(|v| v.is_finite())),
            Statistic::Maximum => self.maximum,
            Statistic::Minimum => self.minimum,
            Statistic::Sum => self.sum,
            Statistic::SampleCount => self.sample_count,
        }
    }
}

/// One datapoint of the series: its period's start and statistics.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SeriesPoint {
    /// Unix ms of the period's start.
    pub start_ms: i64,
    pub stats: SeriesStats,
}

/// The series: sorted by `start_ms`, one point per period start (duplicates merged by the
/// reader), `period` seconds apart where there is data (gaps are missing data).
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Seconds between datapoints (the series' resolution).
    pub period: u32,
    pub points: Vec<SeriesPoint>,
}

/// An alarm's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlarmState {
    Ok,
    Alarm,
    InsufficientData,
}

impl AlarmState {
    pub fn name(self) -> &'static str {
        match self {
            AlarmState::Ok => "OK",
            AlarmState::Alarm => "ALARM",
            AlarmState::InsufficientData => "INSUFFICIENT_DATA",
        }
    }
}

/// What one alarm saw at one evaluation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AlarmEvaluation {
    pub state: AlarmState,
    /// The newest datapoint in its evaluation range, `None` when missing.
    pub value: Option<f64>,
}

/// A scaling activity: the desired capacity changed (or a policy ran and was clamped).
#[derive(Debug, Clone, PartialEq)]
pub struct Activity {
    /// Unix ms.
    pub time_ms: i64,
    /// Index into [`Scenario::policies`].
    pub policy: usize,
    /// Index of the step taken (step policies).
    pub step: Option<usize>,
    /// The adjustment as AWS computed it (after rounding and MinAdjustmentMagnitude),
    /// relative to the capacity it was applied to.
    pub adjustment: i64,
    pub from: u32,
    pub to: u32,
    /// A scale-out: when the last unit it added takes requests through nginx (after the
    /// launch or task start-up, an instance launch when the cluster had no room, and
    /// discovery); `None` for a scale-in.
    pub serving_at_ms: Option<i64>,
}

/// One evaluation: the engine emits one per evaluation tick, in time order.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    /// Unix ms of the evaluation.
    pub time_ms: i64,
    /// One per alarm, in [`Scenario::alarms`] order.
    pub alarms: Vec<AlarmEvaluation>,
    pub desired_capacity: u32,
    /// Capacity the service counts: EC2, instances InService and warmed (desired minus those
    /// launching or warming); ECS, tasks running (RunningTaskCount).
    pub in_service_capacity: u32,
    /// Capacity nginx sends requests to: desired minus what is still launching, starting or
    /// waiting for discovery.
    pub serving_capacity: u32,
    /// Activities that started at this evaluation (usually none, sometimes more than one
    /// policy's when alarms fire together: the largest capacity wins, the others are
    /// not listed).
    pub activities: Vec<Activity>,
}
