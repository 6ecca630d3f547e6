//! `check`: validate everything the daemon needs and print the plan, with cost, then the
//! alarms that watch each published series and the policies they run (`alarms`, read by
//! `aws`; those reads are optional and never make `check` fail).

pub mod access_log;
pub mod alarms;
mod aws;
mod floor;

use std::fmt::Write;
use std::time::Duration;

use aws_credential_types::provider::ProvideCredentials;

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
    let service_user = options.service_user.as_str();
    let mut report = String::new();
    let mut problems = 0;
    let cw = &config.cloudwatch;
    let _ = writeln!(report, "config        {}: ok", config.path.display());

    let scraper = Scraper::new(&config.nginx.status_url, config.nginx.timeout);
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
        }
        Err(error) => {
            problems += 1;
            let _ = writeln!(report, "stub_status   FAILED: {error}");
        }
    }
    // Read beside the AWS lookups below; reported after the pending line.
    let floor_window = floor::start(&config, &scraper);

    if cw.pending.uses_kernel() {
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
            }
            Ok(_) => {
                problems += 1;
                let _ = writeln!(
                    report,
                    "accept queue  FAILED: nothing listens on ports {:?}: set nginx.listen_ports to nginx's listen ports",
                    config.nginx.listen_ports
                );
            }
            Err(error) => {
                problems += 1;
                let _ = writeln!(report, "accept queue  FAILED: {error}");
            }
        }
    }

    let log = access_log::check(&config, service_user, access_log::AccountFiles::system());
    problems += log.problems;
    for line in log.lines {
        let _ = writeln!(report, "{line}");
    }

    let mut instance_id = String::from("?");
    // Set once region and credentials are known: the alarm side is read with it.
    let mut sdk_config = None;
    let identity = if cw.put_metric_data {
        cloudwatch::resolve(cw).await.map(Some)
    } else {
        cloudwatch::resolve_instance_id(cw).await.map(|(id, source)| {
            let _ = writeln!(report, "instance id   {id} (from {source})");
            instance_id = id;
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
            instance_id = identity.instance_id.clone();
            let credentials = match identity.sdk_config.credentials_provider() {
                None => Err("no credentials provider".to_owned()),
                Some(provider) => {
                    match tokio::time::timeout(CREDENTIALS_TIMEOUT, provider.provide_credentials()).await {
                        Err(_) => Err(format!(
                            "timed out after {}",
                            humantime::format_duration(CREDENTIALS_TIMEOUT)
                        )),
                        Ok(Err(e)) => Err(credentials::describe(&e)),
                        Ok(Ok(c)) => Ok(c),
                    }
                }
            };
            match credentials {
                Ok(c) => {
                    // Found is not valid: "ok" only once STS has accepted them.
                    let key = credentials::key_prefix(&c);
                    match aws::caller_identity(&identity.sdk_config).await {
                        aws::CallerIdentity::Verified { arn } => {
                            let _ = writeln!(
                                report,
                                "credentials   ok: {arn} (access key {key}..., verified by STS GetCallerIdentity)"
                            );
                            sdk_config = Some(identity.sdk_config.clone());
                        }
                        aws::CallerIdentity::Rejected { endpoint, reason } => {
                            problems += 1;
                            let _ = writeln!(
                                report,
                                "credentials   FAILED: access key {key}... refused by STS GetCallerIdentity at {endpoint}: {reason}"
                            );
                        }
                        aws::CallerIdentity::Unverified { endpoint, reason } => {
                            let _ = writeln!(
                                report,
                                "credentials   found, not verified: STS GetCallerIdentity at {endpoint}: {reason} (access key {key}...)"
                            );
                            sdk_config = Some(identity.sdk_config.clone());
                        }
                    }
                }
                Err(e) => {
                    problems += 1;
                    // The headline, then what each provider said, one line each.
                    let mut lines = e.lines();
                    let _ = writeln!(report, "credentials   FAILED: {}", lines.next().unwrap_or_default());
                    for line in lines {
                        let _ = writeln!(report, "              {}", line.trim_start());
                    }
                }
            }
        }
        Err(error) => {
            problems += 1;
            let _ = writeln!(report, "aws identity  FAILED: {error}");
        }
    }

    let _ = writeln!(
        report,
        "pending       {} every {}",
        cw.pending,
        humantime::format_duration(cw.sample_interval)
    );
    floor::report(&mut report, &config, floor_window).await;
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
        spool_status(&mut report, &config, &instance_id);
    }
    if !cw.put_metric_data {
        let _ = writeln!(
            report,
            "plan          no PutMetricData calls (cloudwatch.put_metric_data = false)"
        );
        print!("{report}");
        if problems > 0 {
            anyhow::bail!("check found {problems} problem(s)");
        }
        return Ok(());
    }
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
    if let Some(sdk_config) = &sdk_config {
        let series = alarms::published_series(&config, &instance_id);
        let (listed, policies) = aws::read(sdk_config, series).await;
        for line in alarms::report(cw, &listed, &policies) {
            let _ = writeln!(report, "{line}");
        }
    }
    print!("{report}");
    if problems > 0 {
        anyhow::bail!("check found {problems} problem(s)");
    }
    Ok(())
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
