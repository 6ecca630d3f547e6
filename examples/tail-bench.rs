//! The daemon's access-log path without the rest of the daemon: `pipeline::access_log::start`, the
//! very task `run` spawns (tailer, line parser, log signals, periods closed by the clock),
//! on a log for a fixed time, with no outputs; then print what it counted.
//! `scripts/bench-tail.sh` measures the real daemon under load; it uses this only for the
//! per-line cost on a bulk append (`bench_support.py bulk_tail`), where the daemon's start-up
//! and its once-a-second sampling would blur a figure of a fraction of a microsecond.
//!
//! Usage: tail-bench LOG STATE_DIR SECONDS [LOG_FORMAT]

use std::sync::Arc;
use std::time::Duration;

use nginx_backlog_exporter::clock::Clock;
use nginx_backlog_exporter::pipeline;
use nginx_backlog_exporter::sinks::outputs::LogOutputs;
use nginx_backlog_exporter::stats::Stats;
use tokio_util::sync::CancellationToken;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let [_, log, state_dir, seconds, rest @ ..] = args.as_slice() else {
        anyhow::bail!("usage: tail-bench LOG STATE_DIR SECONDS [LOG_FORMAT]");
    };
    let seconds: u64 = seconds.parse()?;
    let format = rest.first().map_or("combined", String::as_str);
    let toml = format!(
        "[nginx]\nstatus_url = \"http://127.0.0.1:9/nginx_status\"\naccess_log = {log:?}\nlog_format = {format:?}\n\
         [cloudwatch]\nnamespace = \"Bench/Tail\"\ninstance_id = \"i-tailbench\"\n\
         [daemon]\nstate_directory = {state_dir:?}\n"
    );
    let config = nginx_backlog_exporter::config::parse(std::path::Path::new("tail-bench.toml"), &toml)?;
    let access_log = config.access_log.as_ref().expect("access_log is set");
    let stats = Arc::new(Stats::default());
    // The daemon's runtime: one thread.
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(async {
        let token = CancellationToken::new();
        let task = pipeline::access_log::start(
            access_log,
            config.cloudwatch.period,
            &config.daemon.state_directory,
            stats.clone(),
            Clock::system(),
            token.clone(),
            None,
            LogOutputs::none(stats.clone()),
        )?;
        let task = tokio::spawn(task);
        tokio::time::sleep(Duration::from_secs(seconds)).await;
        token.cancel();
        task.await?;
        anyhow::Ok(())
    })?;
    let log = &stats.log;
    let bad: u64 = log.lines_rejected.iter().map(Stats::get).sum();
    println!(
        "lines={} bad={bad} completed={}",
        Stats::get(&log.lines_parsed) + bad,
        Stats::get(&log.completed)
    );
    Ok(())
}
