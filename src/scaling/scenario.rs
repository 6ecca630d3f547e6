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
    pub(crate) default_instance_warmup: Option<u32>,
    /// DefaultCooldown (EC2 only; AWS's default is 300 s), seconds.
    pub(crate) default_cooldown: u32,
    /// What is suspended: SuspendedProcesses (EC2) or SuspendedState (Application Auto
    /// Scaling). Nothing, by default.
    pub suspended: Suspensions,
}

impl Group {
    /// Whether an alarm may run `policy` at all: the policy is enabled and alarm
    /// notifications are not suspended. Scale-out and scale-in have their own switches
    /// ([`Suspensions::may_scale_out`], [`Suspensions::may_scale_in`]).
    pub(crate) fn alarm_may_run(&self, policy: &Policy) -> bool {
        policy.enabled && self.suspended.alarms_may_run_policies()
    }
}

/// EC2 Auto Scaling's process names (ProcessType, as-suspend-resume-processes), in the
/// order AWS lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ScalingProcess {
    Launch,
    Terminate,
    AddToLoadBalancer,
    AlarmNotification,
    AZRebalance,
    HealthCheck,
    InstanceRefresh,
    ReplaceUnhealthy,
    ScheduledActions,
}

impl ScalingProcess {
    pub(crate) const ALL: [ScalingProcess; 9] = [
        ScalingProcess::Launch,
        ScalingProcess::Terminate,
        ScalingProcess::AddToLoadBalancer,
        ScalingProcess::AlarmNotification,
        ScalingProcess::AZRebalance,
        ScalingProcess::HealthCheck,
        ScalingProcess::InstanceRefresh,
        ScalingProcess::ReplaceUnhealthy,
        ScalingProcess::ScheduledActions,
    ];

    /// The name AWS uses (`ProcessName` in describe-auto-scaling-groups).
    pub fn name(self) -> &'static str {
        match self {
            ScalingProcess::Launch => "Launch",
            ScalingProcess::Terminate => "Terminate",
            ScalingProcess::AddToLoadBalancer => "AddToLoadBalancer",
            ScalingProcess::AlarmNotification => "AlarmNotification",
            ScalingProcess::AZRebalance => "AZRebalance",
            ScalingProcess::HealthCheck => "HealthCheck",
            ScalingProcess::InstanceRefresh => "InstanceRefresh",
            ScalingProcess::ReplaceUnhealthy => "ReplaceUnhealthy",
            ScalingProcess::ScheduledActions => "ScheduledActions",
        }
    }

    pub(crate) fn from_name(name: &str) -> Option<ScalingProcess> {
        ScalingProcess::ALL.into_iter().find(|p| p.name() == name)
    }
}

/// The switches that turn a group's scaling off: EC2 Auto Scaling's `SuspendedProcesses`
/// (as-suspend-resume-processes) and Application Auto Scaling's `SuspendedState`
/// (application-auto-scaling-suspend-resume-scaling). A group of one service never has the
/// other's set; validation sees to that.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Suspensions {
    /// SuspendedProcesses, sorted in AWS's order, each once.
    pub processes: std::collections::BTreeSet<ScalingProcess>,
    /// SuspendedState.DynamicScalingInSuspended.
    pub(crate) dynamic_scaling_in: bool,
    /// SuspendedState.DynamicScalingOutSuspended.
    pub(crate) dynamic_scaling_out: bool,
    /// SuspendedState.ScheduledScalingSuspended (the simulation has no scheduled actions:
    /// read, written and rendered only).
    pub(crate) scheduled_scaling: bool,
}

impl Suspensions {
    pub(crate) fn is_suspended(&self, process: ScalingProcess) -> bool {
        self.processes.contains(&process)
    }

    /// Whether an alarm may invoke a scaling policy at all: EC2's `AlarmNotification`
    /// process stops every alarm-driven policy, target tracking's included.
    pub(crate) fn alarms_may_run_policies(&self) -> bool {
        !self.is_suspended(ScalingProcess::AlarmNotification)
    }

    /// Whether an alarm-driven policy may raise capacity: `Launch` (EC2) or
    /// `DynamicScalingOutSuspended` (Application Auto Scaling) stop it.
    pub(crate) fn may_scale_out(&self) -> bool {
        self.alarms_may_run_policies() && !self.is_suspended(ScalingProcess::Launch) && !self.dynamic_scaling_out
    }

    /// Whether an alarm-driven policy may lower capacity: `Terminate` (EC2) or
    /// `DynamicScalingInSuspended` (Application Auto Scaling) stop it.
    pub(crate) fn may_scale_in(&self) -> bool {
        self.alarms_may_run_policies() && !self.is_suspended(ScalingProcess::Terminate) && !self.dynamic_scaling_in
    }

    /// Whether any switch is on.
    pub(crate) fn is_any_suspended(&self) -> bool {
        *self != Suspensions::default()
    }

    /// Each switch that is on, named as AWS names it (`SuspendedProcesses: Launch`,
    /// `SuspendedState.DynamicScalingOutSuspended`), for warnings.
    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .processes
            .iter()
            .map(|p| format!("SuspendedProcesses: {}", p.name()))
            .collect();
        for (on, name) in [
            (self.dynamic_scaling_in, "DynamicScalingInSuspended"),
            (self.dynamic_scaling_out, "DynamicScalingOutSuspended"),
            (self.scheduled_scaling, "ScheduledScalingSuspended"),
        ] {
            if on {
                names.push(format!("SuspendedState.{name}"));
            }
        }
        names
    }
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
    pub(crate) const ALL: [Statistic; 5] = [
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

    pub(crate) fn from_name(name: &str) -> Option<Statistic> {
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
    pub(crate) const ALL: [Comparison; 4] = [
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

    pub(crate) fn from_name(name: &str) -> Option<Comparison> {
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
    pub(crate) fn is_upper(self) -> bool {
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
    pub(crate) const ALL: [TreatMissingData; 4] = [
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

    pub(crate) fn from_name(name: &str) -> Option<TreatMissingData> {
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
    /// ActionsEnabled (AWS's default: true). False: the alarm changes state, runs no action.
    pub actions_enabled: bool,
    /// EvaluationWindow (AWS's default: a sliding window).
    pub evaluation_window: EvaluationWindow,
}

/// PutMetricAlarm's `EvaluationWindow` (alarm-evaluation-window): which range of data an
/// evaluation reads.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum EvaluationWindow {
    /// `SlidingWindow`, the default: the N periods ending at the evaluation.
    #[default]
    Sliding,
    /// `WallClockWindow`: periods aligned to clock boundaries that match the period, in
    /// `timezone` (UTC when absent). AWS takes it only for periods of 1 minute, 5 minutes,
    /// 1 hour, 1 day or 1 week.
    WallClock { timezone: Option<String> },
}

impl EvaluationWindow {
    /// The union member's name as AWS spells it.
    pub fn name(&self) -> &'static str {
        match self {
            EvaluationWindow::Sliding => "SlidingWindow",
            EvaluationWindow::WallClock { .. } => "WallClockWindow",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdjustmentType {
    ChangeInCapacity,
    ExactCapacity,
    PercentChangeInCapacity,
}

impl AdjustmentType {
    pub(crate) const ALL: [AdjustmentType; 3] = [
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

    pub(crate) fn from_name(name: &str) -> Option<AdjustmentType> {
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

    pub(crate) fn from_name(name: &str) -> Option<MetricAggregation> {
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
        /// The two alarms AWS creates for the policy, as the model takes them.
        tracking_alarms: TrackingAlarms,
    },
}

/// The alarms AWS creates for a target tracking policy: "high", `high_datapoints` of as many
/// periods above the target; "low", `low_datapoints` of as many below `low_fraction` of it.
/// The defaults (3 of 3; 15 of 15 below 90 %) are what describe-alarms shows for a
/// one-minute metric. AWS documents neither alarm as a contract and tunes them for
/// high-resolution metrics, so they are parameters, not rules.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrackingAlarms {
    pub(crate) high_datapoints: u32,
    pub(crate) low_datapoints: u32,
    pub(crate) low_fraction: f64,
}

impl Default for TrackingAlarms {
    fn default() -> Self {
        TrackingAlarms {
            high_datapoints: 3,
            low_datapoints: 15,
            low_fraction: 0.9,
        }
    }
}

/// The metric a target tracking policy follows.
#[derive(Debug, Clone, PartialEq)]
pub enum TrackedMetric {
    /// The series of the scenario's first alarm, with the policy's statistic.
    AlarmSeries,
    /// Metric math: the fleet total of PendingRequests divided by the service's running tasks
    /// (ECS only).
    BacklogPerTask(BacklogPerTask),
    /// A PredefinedMetricSpecification (ECS only): a metric the service publishes itself, so
    /// the simulation needs it given as its own series.
    Predefined(PredefinedMetric),
}

/// Application Auto Scaling's predefined ECS metrics (PredefinedMetricType).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PredefinedMetric {
    EcsServiceAverageCpuUtilization,
    EcsServiceAverageMemoryUtilization,
    /// 20 s resolution (target-tracking-faster-auto-scaling).
    EcsServiceAverageCpuUtilizationHighResolution,
    /// 20 s resolution (target-tracking-faster-auto-scaling).
    EcsServiceAverageMemoryUtilizationHighResolution,
}

impl PredefinedMetric {
    pub(crate) const ALL: [PredefinedMetric; 4] = [
        PredefinedMetric::EcsServiceAverageCpuUtilization,
        PredefinedMetric::EcsServiceAverageMemoryUtilization,
        PredefinedMetric::EcsServiceAverageCpuUtilizationHighResolution,
        PredefinedMetric::EcsServiceAverageMemoryUtilizationHighResolution,
    ];

    /// The name AWS uses (`PredefinedMetricType`).
    pub fn name(self) -> &'static str {
        match self {
            PredefinedMetric::EcsServiceAverageCpuUtilization => "ECSServiceAverageCPUUtilization",
            PredefinedMetric::EcsServiceAverageMemoryUtilization => "ECSServiceAverageMemoryUtilization",
            PredefinedMetric::EcsServiceAverageCpuUtilizationHighResolution => {
                "ECSServiceAverageCPUUtilizationHighResolution"
            }
            PredefinedMetric::EcsServiceAverageMemoryUtilizationHighResolution => {
                "ECSServiceAverageMemoryUtilizationHighResolution"
            }
        }
    }

    pub(crate) fn from_name(name: &str) -> Option<PredefinedMetric> {
        PredefinedMetric::ALL.into_iter().find(|m| m.name() == name)
    }

    /// Seconds between the metric's datapoints: 20 for the high-resolution ones, 60 else.
    pub(crate) fn period_s(self) -> u32 {
        match self {
            PredefinedMetric::EcsServiceAverageCpuUtilizationHighResolution
            | PredefinedMetric::EcsServiceAverageMemoryUtilizationHighResolution => 20,
            PredefinedMetric::EcsServiceAverageCpuUtilization
            | PredefinedMetric::EcsServiceAverageMemoryUtilization => 60,
        }
    }
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
    pub(crate) sample_interval_s: f64,
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
    /// Enabled (EC2 Auto Scaling; AWS's default: true). False: the policy does nothing.
    pub enabled: bool,
}

/// Everything one simulation runs: validated, so the engine never has to refuse anything.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    pub group: Group,
    pub alarms: Vec<Alarm>,
    pub policies: Vec<Policy>,
    /// The time the real loop takes between a datapoint and new capacity serving.
    pub delays: Delays,
}

/// The delays of the real loop, in seconds. All zero (and no limit on ECS room) is the
/// instantaneous loop; the engine gives them their meaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Delays {
    /// PutMetricData to the datapoint being visible to the alarm.
    pub ingestion_s: u32,
    /// EC2: an instance's launch to InService (before its warmup starts).
    pub ec2_launch_to_in_service_s: u32,
    /// ECS: a task's placement, image pull, start and health check.
    pub ecs_task_startup_s: u32,
    /// ECS: the instance launch a task waits for (in PROVISIONING) when the cluster has no room.
    pub ecs_instance_launch_s: u32,
    /// ECS: tasks that fit on the cluster's existing instances before an instance launch is
    /// needed; `None`: always room.
    pub ecs_spare_tasks: Option<u32>,
    /// nginx learning a new task's or instance's address (DNS TTL, registration).
    pub discovery_s: u32,
    /// On scale-in: the load balancer's deregistration delay.
    pub deregistration_s: u32,
}

impl Delays {
    /// What `simulate` assumes when neither the policy's `[delays]` nor a flag says
    /// otherwise, each from a public figure (docs/simulate.md, "What the model assumes", cites
    /// them): CloudWatch makes a high-resolution datapoint visible to alarms within seconds
    /// (the embedded metric format page asks for a flush every 5 s or less so that alarms
    /// do not see partial data): 5 s. An EC2 instance's boot to InService without lifecycle
    /// hooks: 90 s (AWS publishes no figure; the group's activity history shows yours). An
    /// ECS task's placement, image pull, start and health check: 60 s. The capacity
    /// provider's instance launch: 300 s (managed scaling tracks a one-minute metric and its
    /// instanceWarmupPeriod defaults to 300 s). Room for every task (`ecs_spare_tasks`
    /// unset). Discovery: 60 s, a Cloud Map DNS record's TTL in the ECS service discovery
    /// examples. Deregistration: 300 s, Elastic Load Balancing's default deregistration
    /// delay.
    pub(crate) const MEASURED: Delays = Delays {
        ingestion_s: 5,
        ec2_launch_to_in_service_s: 90,
        ecs_task_startup_s: 60,
        ecs_instance_launch_s: 300,
        ecs_spare_tasks: None,
        discovery_s: 60,
        deregistration_s: 300,
    };
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
    pub(crate) time_ms: i64,
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
    pub(crate) serving_at_ms: Option<i64>,
}

/// One evaluation: the engine emits one per evaluation tick, in time order.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    /// Unix ms of the evaluation.
    pub(crate) time_ms: i64,
    /// One per alarm, in [`Scenario::alarms`] order.
    pub alarms: Vec<AlarmEvaluation>,
    pub desired_capacity: u32,
    /// Capacity the service counts: EC2, instances InService and warmed (desired minus those
    /// launching or warming); ECS, tasks running (RunningTaskCount).
    pub(crate) in_service_capacity: u32,
    /// Capacity nginx sends requests to: desired minus what is still launching, starting or
    /// waiting for discovery.
    pub(crate) serving_capacity: u32,
    /// Activities that started at this evaluation (usually none, sometimes more than one
    /// policy's when alarms fire together: the largest capacity wins, the others are
    /// not listed).
    pub activities: Vec<Activity>,
}
