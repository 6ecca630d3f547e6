//! Command-line interface: clap types only; the doc comments are the --help text. A module
//! of the binary (the library never sees a clap type); `plan` turns these into the library's
//! plans. examples/gen-assets.rs includes this file for the man pages and completions.

use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use nginx_backlog_exporter::config::DEFAULT_CONFIG_PATH;

/// Publishes the NGINX request backlog (PendingRequests) to CloudWatch for EC2 Auto Scaling.
///
/// Exit codes: 0 success, 1 runtime failure, 2 usage or configuration error.
#[derive(Debug, Parser)]
#[command(name = "nginx-backlog-exporter", version)]
pub struct Cli {
    /// The TOML configuration file.
    #[arg(long, short, global = true, default_value = DEFAULT_CONFIG_PATH, env = "NGINX_BACKLOG_EXPORTER_CONFIG")]
    pub config: PathBuf,

    /// Log level: error, warn, info, debug or trace (default: info for run, error for once, warn for check).
    #[arg(long, global = true, env = "NGINX_BACKLOG_EXPORTER_LOG")]
    pub log_level: Option<tracing::Level>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run as a daemon: sample every sample_interval, publish one datapoint every period.
    Run {
        /// Do everything but call PutMetricData; print each request as a JSON line on stdout.
        #[arg(long)]
        dry_run: bool,
    },
    /// Sample for one window, publish exactly one datapoint, and exit (for cron).
    Once {
        /// How long to sample (default: the configured period).
        #[arg(long, value_parser = humantime::parse_duration)]
        window: Option<Duration>,
        /// Do everything but call PutMetricData; print the request as a JSON line on stdout.
        #[arg(long)]
        dry_run: bool,
    },
    /// Validate the config, read stub_status once, resolve AWS identity, and print the plan.
    ///
    /// Then, for each published series (per instance and fleet), every alarm that watches it
    /// and the scaling policy it runs, or "no alarm watches". Those reads need the optional
    /// cloudwatch:DescribeAlarmsForMetric, autoscaling:DescribePolicies and
    /// application-autoscaling:DescribeScalingPolicies; a missing one is named in one line and
    /// never changes the exit code.
    Check {
        /// Only validate the config file, reading neither nginx nor AWS (e.g. after an edit,
        /// before `systemctl restart`; the daemon tolerates nginx being down).
        #[arg(long)]
        config_only: bool,
        /// The user the daemon runs as, whose access to nginx.access_log is checked (from
        /// the mode, owner and group of the file and its directories, and the user's groups).
        #[arg(long, default_value = nginx_backlog_exporter::check::access_log::SERVICE_USER)]
        service_user: String,
    },
    /// Split access-log lines with a log_format and print each as a JSON line (a format debugger).
    ///
    /// Prints {"line":N,"ok":true,"fields":{...}} with every variable's raw value, or
    /// {"line":N,"ok":false,"error":"..."}. With --config, the format is the config file's.
    ParseLog {
        #[command(flatten)]
        format: LogFormatArgs,
        /// The access log to read (default: standard input).
        file: Option<PathBuf>,
    },
    /// Run existing access logs (plain or .gz) through the signals and print the per-period series.
    ///
    /// With --config, the format is the config file's. The CSV's columns: time, completed,
    /// in_flight_average, in_flight_peak, status_499, status_5xx, request_time_p50/p90/p99,
    /// upstream_response_time_p99, status_2xx, status_4xx.
    ///
    /// Quantiles are approximate: each is the nearest-rank value (the ceil(q*n)-th smallest of
    /// the period's n), given as the middle of its histogram bucket, which is exact below 256 µs
    /// and otherwise within 1/256 (0.4 %) of it; the CSV then rounds to the millisecond.
    Replay {
        #[command(flatten)]
        format: LogFormatArgs,
        /// Period length, a whole number of seconds.
        #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
        period: Duration,
        /// Output: one CSV row or one JSON object per period.
        #[arg(long, value_enum, default_value_t = ReplayOutput::Csv)]
        output: ReplayOutput,
        /// Also count by this variable (name without $), keeping at most 20 values plus "other".
        #[arg(long)]
        breakdown: Option<String>,
        /// Threads matching lines, besides the one reading them and deriving the series (default:
        /// one per core, at most 64). 1 does everything on one thread. The output is the same.
        #[arg(long, value_name = "N")]
        threads: Option<NonZeroUsize>,
        /// Also draw in-flight average and peak and completions per period as an SVG.
        #[arg(long, value_name = "FILE.svg")]
        plot: Option<PathBuf>,
        /// Access logs, replayed in the order given.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Replay a PendingRequests series through CloudWatch alarm and Auto Scaling rules and show
    /// every alarm transition and capacity change (docs/simulate.md, "Simulating a scaling
    /// policy").
    ///
    /// The policy: --policy FILE.toml, or the JSON the AWS CLI prints (--alarms, --policies,
    /// --group). The series: --series, --log or --from-cloudwatch.
    Simulate(Box<SimulateArgs>),
    /// Render a scaling-policy TOML (simulate's) for deployment, or lint it against this config.
    Policy {
        #[command(subcommand)]
        command: PolicyCommand,
    },
}

/// `simulate`'s flags.
#[derive(Debug, Clone, Args)]
pub struct SimulateArgs {
    /// The policy as one TOML file ([group], [[alarm]], [[policy]]; config/scaling-policy.toml).
    #[arg(long, conflicts_with_all = ["alarms", "policies", "group"])]
    pub policy: Option<PathBuf>,
    /// `aws cloudwatch describe-alarms` JSON.
    #[arg(long, requires = "policies")]
    pub alarms: Option<PathBuf>,
    /// `aws autoscaling describe-policies` or `aws application-autoscaling
    /// describe-scaling-policies` JSON.
    #[arg(long, requires = "alarms")]
    pub policies: Option<PathBuf>,
    /// `aws autoscaling describe-auto-scaling-groups` or `aws application-autoscaling
    /// describe-scalable-targets` JSON.
    #[arg(long, requires = "alarms")]
    pub group: Option<PathBuf>,
    /// Starting capacity (where the group file has none, or to override it).
    #[arg(long, value_name = "N")]
    pub capacity: Option<u32>,
    /// Write the --policy TOML as the three AWS CLI JSON documents into DIR (alarms.json,
    /// policies.json, group.json), so what was simulated can be deployed.
    #[arg(long, value_name = "DIR", requires = "policy")]
    pub print_aws: Option<PathBuf>,
    /// The series: `replay`'s CSV or JSON, `aws cloudwatch get-metric-statistics` JSON, or a
    /// CSV whose header names timestamp and any of SampleCount, Sum, Minimum, Maximum,
    /// Average; - for standard input.
    #[arg(long, conflicts_with_all = ["log", "from_cloudwatch"])]
    pub series: Option<PathBuf>,
    /// Access logs (plain or .gz) to replay into the series: in-flight average and peak per
    /// period stand for Average and Maximum. The format: --config or the format flags.
    #[arg(long, num_args = 1.., value_name = "FILE", conflicts_with = "from_cloudwatch")]
    pub log: Vec<PathBuf>,
    #[command(flatten)]
    pub format: LogFormatArgs,
    /// Threads matching log lines (as replay's --threads).
    #[arg(long, value_name = "N")]
    pub threads: Option<NonZeroUsize>,
    /// Read the published series back with GetMetricData (the config's namespace, metric
    /// and dimensions), between --start and --end.
    #[arg(long, requires_all = ["start", "end"])]
    pub from_cloudwatch: bool,
    /// Start of the CloudWatch window (RFC 3339, e.g. 2026-12-01T10:00:00Z).
    #[arg(long, value_parser = humantime::parse_rfc3339_weak)]
    pub start: Option<std::time::SystemTime>,
    /// End of the CloudWatch window (RFC 3339).
    #[arg(long, value_parser = humantime::parse_rfc3339_weak)]
    pub end: Option<std::time::SystemTime>,
    /// Dimensions to read instead of the config's InstanceId, e.g. the fleet series:
    /// --dimensions AutoScalingGroupName=web.
    #[arg(long, value_name = "NAME=VALUE,...")]
    pub dimensions: Option<String>,
    /// The series' period, for --log and --from-cloudwatch (default: the config's period for
    /// --from-cloudwatch, 10s for --log).
    #[arg(long, value_parser = humantime::parse_duration)]
    pub period: Option<Duration>,
    /// What to print on stdout: the summary, or one CSV row / JSON line per evaluation (the
    /// summary then goes to stderr).
    #[arg(long, value_enum, default_value_t = SimulateOutput::Summary)]
    pub output: SimulateOutput,
    /// Also draw the series, thresholds, alarm states and capacity as an SVG.
    #[arg(long, value_name = "FILE.svg")]
    pub plot: Option<PathBuf>,
    /// Close the loop: replay the --log requests into a pool of capacity × K slots with one
    /// queue, and let the alarms and the policy resize it. K: requests one instance or task
    /// serves at once.
    #[arg(long, value_name = "K", requires = "log")]
    pub unit_concurrency: Option<u32>,
    /// Closed loop: from a scaling activity to the new capacity taking requests (boot,
    /// health checks), in place of the policy's start-up and discovery delays.
    #[arg(long, value_parser = humantime::parse_duration, requires = "unit_concurrency")]
    pub launch_time: Option<Duration>,
    /// Closed loop: count the requests that waited longer than this for a slot.
    #[arg(long, value_parser = humantime::parse_duration, requires = "unit_concurrency")]
    pub slo: Option<Duration>,
    /// Closed loop: how often the pool is sampled into each period's statistic set (the
    /// daemon's sample_interval).
    #[arg(long, value_parser = humantime::parse_duration, default_value = "1s", requires = "unit_concurrency")]
    pub sample_interval: Duration,
    /// Closed loop: run once per value of KEY (alarm.NAME.threshold,
    /// alarm.NAME.evaluation_periods, alarm.NAME.datapoints_to_alarm,
    /// policy.NAME.step.I.adjustment, policy.NAME.step.I.lower_bound,
    /// policy.NAME.step.I.upper_bound, policy.NAME.cooldown, launch_time, unit_concurrency),
    /// FROM to TO by STEP, on all cores; one summary row per value.
    #[arg(long, value_name = "KEY=FROM..TO:STEP", requires = "unit_concurrency")]
    pub sweep: Option<String>,
    /// Delay: from the end of a datapoint's period to its alarm seeing it (CloudWatch
    /// ingestion); overrides the policy's [delays] ingestion.
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    pub ingestion_delay: Option<Duration>,
    /// Delay, EC2: from the launch to the instance being InService (boot, lifecycle hooks),
    /// before its warmup starts; overrides [delays] ec2_launch_to_in_service.
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    pub launch_to_in_service: Option<Duration>,
    /// Delay, ECS: from desired count rising to the task running (placement, image pull,
    /// start, health checks); overrides [delays] ecs_task_startup.
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    pub task_startup: Option<Duration>,
    /// Delay, ECS: the capacity provider's instance launch that tasks wait for (in
    /// PROVISIONING) when the cluster has no room; overrides [delays] ecs_instance_launch.
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    pub instance_launch: Option<Duration>,
    /// ECS: tasks the cluster has room for at the start, beyond those running; more wait
    /// for an instance launch. Overrides [delays] ecs_spare_tasks.
    #[arg(long, value_name = "N")]
    pub spare_tasks: Option<u32>,
    /// Delay: from a task or instance running to nginx sending it requests (DNS TTL, or a
    /// load balancer's registration); overrides [delays] discovery.
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    pub discovery_delay: Option<Duration>,
    /// Delay, scale-in: a load balancer's deregistration delay, while the removed capacity
    /// drains (no new requests) and is still paid for; overrides [delays] deregistration.
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    pub deregistration_delay: Option<Duration>,
    /// CPU utilization (percent) for a CPU target tracking policy beside the step pair: a
    /// series file in any form --series takes, its Average (or Maximum) the CPU.
    #[arg(long, value_name = "FILE")]
    pub cpu_series: Option<PathBuf>,
    /// Change one key of the policy before simulating (the keys of --sweep, and
    /// policy.NAME.cooldown; the pool's have their own flags), e.g. --set alarm.web-pending-high.threshold=30; repeatable.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SimulateOutput {
    Summary,
    Csv,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Print the alarms, scaling policies and (ECS) scalable target as CloudFormation (JSON),
    /// Terraform or a bash script of AWS CLI calls.
    Render {
        /// The policy TOML (config/scaling-policy.toml is the annotated example).
        #[arg(long)]
        policy: PathBuf,
        /// What to print: a CloudFormation template (JSON), Terraform (HCL), or a bash script
        /// of AWS CLI calls.
        #[arg(long, value_enum)]
        format: PolicyFormat,
    },
    /// Validate the policy TOML as simulate does; with --config, also check that every alarm
    /// watches a series the exporter publishes (namespace, metric name, dimension set, period,
    /// statistic). Exit 0 with warnings, 2 on errors.
    Lint {
        /// The policy TOML.
        #[arg(long)]
        policy: PathBuf,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PolicyFormat {
    Cloudformation,
    Terraform,
    Cli,
}

/// Where the access-log format comes from (default: nginx's built-in combined).
#[derive(Debug, Clone, Args)]
pub struct LogFormatArgs {
    /// An nginx log_format string, e.g. '$remote_addr [$time_local] "$request" $status'.
    #[arg(long, conflicts_with_all = ["log_format_name", "nginx_conf"])]
    pub log_format: Option<String>,
    /// How --log-format values are escaped (log_format's escape= parameter).
    #[arg(long, value_enum, requires = "log_format")]
    pub log_escape: Option<LogEscape>,
    /// Read `log_format NAME` from --nginx-conf (and the files it includes).
    #[arg(long, requires = "nginx_conf")]
    pub log_format_name: Option<String>,
    /// The nginx.conf to read --log-format-name from.
    #[arg(long, requires = "log_format_name")]
    pub nginx_conf: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogEscape {
    Default,
    Json,
    None,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReplayOutput {
    Csv,
    Json,
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::Cli;

    /// Every subcommand, recursively, with its path ("policy render").
    fn commands(command: &clap::Command, path: String, found: &mut Vec<(String, clap::Command)>) {
        for sub in command.get_subcommands() {
            let path = format!("{path} {}", sub.get_name()).trim().to_owned();
            found.push((path.clone(), sub.clone()));
            commands(sub, path, found);
        }
    }

    /// `--help` describes every flag and argument of every command.
    #[test]
    fn every_argument_has_a_description() {
        let mut found = vec![(String::new(), Cli::command())];
        commands(&Cli::command(), String::new(), &mut found);
        let mut bare = Vec::new();
        for (path, command) in &found {
            for arg in command.get_arguments() {
                let id = arg.get_id().as_str();
                if id == "help" || id == "version" || arg.is_hide_set() {
                    continue;
                }
                if arg.get_help().is_none() && arg.get_long_help().is_none() {
                    bare.push(format!("{path}: --{id}"));
                }
            }
        }
        assert!(bare.is_empty(), "arguments without a description: {bare:?}");
    }

    /// `--sweep`'s help lists every key form the sweep takes.
    #[test]
    fn sweeps_help_lists_every_key() {
        let command = Cli::command();
        let simulate = command.find_subcommand("simulate").unwrap();
        let sweep = simulate.get_arguments().find(|arg| arg.get_id() == "sweep").unwrap();
        let help = sweep.get_help().unwrap().to_string();
        for form in nginx_backlog_exporter::simulate::sweep::KEY_FORMS {
            assert!(help.contains(form), "--sweep's help omits {form}: {help}");
        }
    }
}
