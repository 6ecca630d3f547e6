//! `check`: validate everything the daemon needs and print the plan, with cost, then the
//! alarms that watch each published series and the policies they run (`alarms`, read by
//! `aws`; those reads are optional and never make `check` fail).

pub mod access_log;
pub mod alarms;
mod aws;
mod floor;

use std::fmt::Write;
use std::time::Duration;

use aws_config::SdkConfig;
use aws_credential_types::provider::ProvideCredentials;
use aws_credential_types::Credentials;

use crate::config::{Config, INSTANCE_DIMENSION};
use crate::derive::in_flight;
use crate::limits;
use crate::sinks::cloudwatch::credentials;
use crate::sinks::{cloudwatch, spool, Target};
use crate::sources::accept_queue::{KernelReader, QueueSourceKind};
use crate::sources::stub_status::Scraper;

const SECONDS_PER_MONTH: f64 = 30.0 * 24.0 * 3600.0;
const CREDENTIALS_TIMEOUT: Duration = Duration::from_secs(5);

/// What `check` does besides validating the config (which was loaded to build this).
#[derive(Debug, Clone)]
pub struct Options {
    /// Stop after the config: read neither nginx nor AWS.
    pub config_only: bool,
    /// The user the daemon runs as (whose access to the access log is checked).
    pub service_user: String,
}

/// Runs every check, prints the report to stdout, and fails if anything needed is missing.
pub async fn run(config: Config, options: &Options) -> anyhow::Result<()> {
    if options.config_only {
        println!("config        {}: ok", config.path.display());
        return Ok(());
    }
    let mut report = String::new();
    let _ = writeln!(report, "config        {}: ok", config.path.display());
    let scraper = Scraper::new(&config.nginx.status_url, config.nginx.timeout);
    let mut problems = stub_status_lines(&mut report, &config, &scraper).await;
    // Read beside the AWS lookups below; reported after the pending line.
    let floor_window = floor::start(&config, &scraper);
    problems += accept_queue_lines(&mut report, &config);
    problems += access_log_lines(&mut report, &config, &options.service_user);
    let aws = aws_identity_lines(&mut report, &config).await;
    problems += aws.problems;
    output_lines(&mut report, &config, floor_window, &aws.instance_id).await;
    if config.cloudwatch.put_metric_data {
        plan_lines(&mut report, &config, &aws.instance_id);
        if let Some(sdk_config) = &aws.sdk_config {
            alarm_lines(&mut report, &config, sdk_config, &aws.instance_id).await;
        }
    } else {
        let _ = writeln!(
            report,
            "plan          no PutMetricData calls (cloudwatch.put_metric_data = false)"
        );
    }
    print!("{report}");
    if problems > 0 {
        anyhow::bail!("check found {problems} problem(s)");
    }
    Ok(())
}

/// The stub_status line: one scrape, its figures; returns the problems found (0 or 1).
async fn stub_status_lines(report: &mut String, config: &Config, scraper: &Scraper) -> usize {
    match scraper.scrape().await {
        Ok(status) => {
            let _ = writeln!(
                report,
                "stub_status   {}: ok (active {}, reading {}, writing {}, waiting {}; in flight now {})",
                config.nginx.status_url,
                status.active,
                status.reading,
                status.writing,
                status.waiting,
                in_flight(&status)
            );
            0
        }
        Err(error) => {
            let _ = writeln!(report, "stub_status   FAILED: {error}");
            1
        }
    }
}

/// The accept-queue line, when the pending formula reads the kernel; returns the problems
/// found (0 or 1).
fn accept_queue_lines(report: &mut String, config: &Config) -> usize {
    if !config.cloudwatch.pending.uses_kernel() {
        return 0;
    }
    let mut reader = KernelReader::new(config.nginx.listen_ports.clone());
    match reader.sample() {
        Ok(sample) if sample.accept_queue.listeners > 0 => {
            // Only netlink shows the queues' limit; /proc, the fallback, does not.
            let (limit, source) = match reader.last_source() {
                Some(source @ QueueSourceKind::SockDiag) => (sample.accept_queue.limit.to_string(), source),
                _ => ("unknown".to_string(), QueueSourceKind::Proc),
            };
            let _ = writeln!(
                report,
                "accept queue  ports {:?}: ok ({} connections waiting, limit {limit}, {} listening sockets; via {source})",
                config.nginx.listen_ports, sample.accept_queue.depth, sample.accept_queue.listeners,
            );
            0
        }
        Ok(_) => {
            let _ = writeln!(
                report,
                "accept queue  FAILED: nothing listens on ports {:?}: set nginx.listen_ports to nginx's listen ports",
                config.nginx.listen_ports
            );
            1
        }
        Err(error) => {
            let _ = writeln!(report, "accept queue  FAILED: {error}");
            1
        }
    }
}

/// The access-log lines (`access_log::check`); returns the problems found.
fn access_log_lines(report: &mut String, config: &Config, service_user: &str) -> usize {
    let log = access_log::check(config, service_user, access_log::AccountFiles::system());
    for line in log.lines {
        let _ = writeln!(report, "{line}");
    }
    log.problems
}

/// What the AWS identity section found, for the lines after it.
struct AwsIdentity {
    /// The instance the datapoints are for; "?" when it could not be resolved.
    instance_id: String,
    /// Set once region and credentials are known: the alarm side is read with it.
    sdk_config: Option<SdkConfig>,
    problems: usize,
}

/// The region, instance id and credentials lines (only the instance id when nothing is
/// published to CloudWatch).
async fn aws_identity_lines(report: &mut String, config: &Config) -> AwsIdentity {
    let cw = &config.cloudwatch;
    let mut found = AwsIdentity {
        instance_id: String::from("?"),
        sdk_config: None,
        problems: 0,
    };
    let identity = if cw.put_metric_data {
        cloudwatch::resolve(cw).await.map(Some)
    } else {
        cloudwatch::resolve_instance_id(cw).await.map(|(id, source)| {
            let _ = writeln!(report, "instance id   {id} (from {source})");
            found.instance_id = id;
            None
        })
    };
    match identity {
        Ok(None) => {}
        Ok(Some(identity)) => {
            let _ = writeln!(
                report,
                "region        {} (from {})",
                identity.region, identity.region_source
            );
            let _ = writeln!(
                report,
                "instance id   {} (from {})",
                identity.instance_id, identity.instance_id_source
            );
            found.instance_id = identity.instance_id.clone();
            let verified = credentials_lines(report, &identity.sdk_config).await;
            found.problems += usize::from(!verified);
            if verified {
                found.sdk_config = Some(identity.sdk_config);
            }
        }
        Err(error) => {
            found.problems += 1;
            let _ = writeln!(report, "aws identity  FAILED: {error}");
        }
    }
    found
}

/// The credentials line(s): found by the provider chain, then accepted by STS. Returns
/// false when that is a problem (none found, or STS refused them); found but unverified is
/// not one.
async fn credentials_lines(report: &mut String, sdk_config: &SdkConfig) -> bool {
    match find_credentials(sdk_config).await {
        Ok(c) => {
            // Found is not valid: "ok" only once STS has accepted them.
            let key = credentials::key_prefix(&c);
            match aws::caller_identity(sdk_config).await {
                aws::CallerIdentity::Verified { arn } => {
                    let _ = writeln!(
                        report,
                        "credentials   ok: {arn} (access key {key}..., verified by STS GetCallerIdentity)"
                    );
                    true
                }
                aws::CallerIdentity::Rejected { endpoint, reason } => {
                    let _ = writeln!(
                        report,
                        "credentials   FAILED: access key {key}... refused by STS GetCallerIdentity at {endpoint}: {reason}"
                    );
                    false
                }
                aws::CallerIdentity::Unverified { endpoint, reason } => {
                    let _ = writeln!(
                        report,
                        "credentials   found, not verified: STS GetCallerIdentity at {endpoint}: {reason} (access key {key}...)"
                    );
                    true
                }
            }
        }
        Err(e) => {
            // The headline, then what each provider said, one line each.
            let mut lines = e.lines();
            let _ = writeln!(report, "credentials   FAILED: {}", lines.next().unwrap_or_default());
            for line in lines {
                let _ = writeln!(report, "              {}", line.trim_start());
            }
            false
        }
    }
}

/// Ask the config's credentials provider, within [`CREDENTIALS_TIMEOUT`]; the error says why
/// there are none.
async fn find_credentials(sdk_config: &SdkConfig) -> Result<Credentials, String> {
    match sdk_config.credentials_provider() {
        None => Err("no credentials provider".to_owned()),
        Some(provider) => match tokio::time::timeout(CREDENTIALS_TIMEOUT, provider.provide_credentials()).await {
            Err(_) => Err(format!(
                "timed out after {}",
                humantime::format_duration(CREDENTIALS_TIMEOUT)
            )),
            Ok(Err(e)) => Err(credentials::describe(&e)),
            Ok(Ok(c)) => Ok(c),
        },
    }
}

/// The pending line, the floor, the EMF and HTTP outputs, and the spool when publishing.
async fn output_lines(
    report: &mut String,
    config: &Config,
    floor_window: Option<tokio::task::JoinHandle<floor::Floor>>,
    instance_id: &str,
) {
    let cw = &config.cloudwatch;
    let _ = writeln!(
        report,
        "pending       {} every {}",
        cw.pending,
        humantime::format_duration(cw.sample_interval)
    );
    floor::report(report, config, floor_window).await;
    if let Some(output) = &config.emf {
        let _ = writeln!(report, "emf           one line per period to {output:?}");
    }
    if let Some(http) = &config.http {
        let _ = writeln!(
            report,
            "http          /metrics and /healthz on {}://{} ({})",
            http.scheme(),
            http.listen,
            http.guards()
        );
        for risk in http.risks() {
            let _ = writeln!(report, "              warning: {risk}");
        }
    }
    if cw.put_metric_data {
        spool_status(report, config, instance_id);
    }
}

/// The PutMetricData plan, its cost, and the advice on missing data (when publishing).
fn plan_lines(report: &mut String, config: &Config, instance_id: &str) {
    let cw = &config.cloudwatch;
    let period = cw.period.as_secs_f64();
    let calls_per_month = SECONDS_PER_MONTH / period;
    let published_from_log: Vec<&str> = config
        .access_log
        .iter()
        .flat_map(|a| a.publish.iter().map(|m| m.name()))
        .collect();
    let metrics = (1 + published_from_log.len()) * (1 + usize::from(!cw.fleet_dimensions.is_empty()));
    let _ = writeln!(
        report,
        "plan          every {}: one PutMetricData to {}/{} {{{INSTANCE_DIMENSION}={instance_id}}}, a statistic set of {} samples {} apart, unit Count, StorageResolution {}",
        humantime::format_duration(cw.period),
        cw.namespace,
        cw.metric_name,
        cw.samples_per_period(),
        humantime::format_duration(cw.sample_interval),
        cw.storage_resolution
    );
    if !cw.fleet_dimensions.is_empty() {
        let dims: Vec<String> = cw.fleet_dimensions.iter().map(|(n, v)| format!("{n}={v}")).collect();
        let _ = writeln!(
            report,
            "              plus the fleet datum {{{}}} in the same call",
            dims.join(", ")
        );
    }
    if !published_from_log.is_empty() {
        let _ = writeln!(
            report,
            "              plus from the access log, in the same call when ready (a period closes access_log.settle after its end): {}",
            published_from_log.join(", ")
        );
    }
    let _ = writeln!(
        report,
        "cost          about {:.0} calls/month = ${:.2}/month in API calls + {} custom metric(s) = ${:.2}/month (us-east-1 list prices)",
        calls_per_month,
        calls_per_month / 1000.0 * limits::PRICE_PER_1000_REQUESTS_USD,
        metrics,
        metrics as f64 * limits::PRICE_PER_METRIC_MONTH_USD
    );
    let _ = writeln!(
        report,
        "blind periods publish nothing: give alarms TreatMissingData = missing (notBreaching is fine on scale-in only)"
    );
}

/// The alarms on each published series and the policies they run (read, never a problem).
async fn alarm_lines(report: &mut String, config: &Config, sdk_config: &SdkConfig, instance_id: &str) {
    let series = alarms::published_series(config, instance_id);
    let (listed, policies) = aws::read(sdk_config, series).await;
    for line in alarms::report(&config.cloudwatch, &listed, &policies) {
        let _ = writeln!(report, "{line}");
    }
}

/// What the daemon's spool holds (read only: `check` may run beside the daemon).
fn spool_status(report: &mut String, config: &Config, instance_id: &str) {
    let dir = &config.daemon.state_directory;
    let cw = &config.cloudwatch;
    let stamp = |t: Option<std::time::SystemTime>| {
        t.map_or("-".to_owned(), |t| humantime::format_rfc3339_seconds(t).to_string())
    };
    match spool::inspect(dir) {
        Ok(None) => {
            let _ = writeln!(report, "spool         {}: none yet", dir.display());
        }
        Ok(Some(summary)) if summary.datapoints == 0 => {
            let _ = writeln!(
                report,
                "spool         {}: empty ({} bytes)",
                dir.display(),
                summary.file_bytes
            );
        }
        Ok(Some(summary)) => {
            let owner = Target::spool_owner(&cw.namespace, &cw.metric_name, instance_id);
            let foreign = summary.target.as_deref().is_some_and(|t| t != owner);
            let _ = writeln!(
                report,
                "spool         {}: {} datapoint(s) waiting for CloudWatch, {} to {}, {} bytes{}{}",
                dir.display(),
                summary.datapoints,
                stamp(summary.oldest),
                stamp(summary.newest),
                summary.file_bytes,
                if summary.torn_bytes > 0 {
                    ", a torn last write (dropped at start)"
                } else {
                    ""
                },
                if foreign {
                    "; written for another namespace, metric or instance: discarded at start"
                } else {
                    ""
                }
            );
        }
        Err(error) => {
            let _ = writeln!(
                report,
                "spool         {}: cannot read ({error}); the daemon would keep unsent datapoints in memory only",
                dir.display()
            );
        }
    }
}
