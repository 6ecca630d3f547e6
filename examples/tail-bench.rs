//! The daemon's access-log path without the rest of the daemon: follow a log with
//! `sources::access_log::tail::Tailer`, match and extract every line, fold it into
//! `LogSignals` advanced by the wall clock, for a fixed time; then print what was seen.
//! `scripts/bench-tail.sh` measures the real daemon under load; it uses this only for the
//! per-line cost on a bulk append (`bench_support.py bulk_tail`), where the daemon's start-up
//! and its once-a-second sampling would blur a figure of a fraction of a microsecond.
//!
//! BATCH_MS 0 follows the log with `Tailer::run`; BATCH_MS > 0 drains the tailer on a timer
//! instead.
//!
//! Usage: tail-bench LOG STATE_DIR SECONDS BATCH_MS [LOG_FORMAT]

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use nginx_backlog_exporter::derive::log_signals::{LogSignals, SignalsConfig};
use nginx_backlog_exporter::sources::access_log::tail::{StartAt, Tailer, TailerOptions};
use nginx_backlog_exporter::sources::access_log::{
    BadLine, BadLineCounts, Escape, LineMatcher, LogFormat, RecordExtractor, COMBINED,
};
use tokio_util::sync::CancellationToken;

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_millis() as i64)
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let [_, log, state_dir, seconds, batch_ms, rest @ ..] = args.as_slice() else {
        anyhow::bail!("usage: tail-bench LOG STATE_DIR SECONDS BATCH_MS [LOG_FORMAT]");
    };
    let seconds: u64 = seconds.parse()?;
    let batch = Duration::from_millis(batch_ms.parse()?);
    let format = LogFormat::compile(rest.first().map_or(COMBINED, String::as_str), Escape::Default)?;
    let mut matcher = LineMatcher::new(format.clone());
    let mut extractor = RecordExtractor::new(&format, None)?;
    let mut signals = LogSignals::new(SignalsConfig::new(Duration::from_secs(10)))?;
    let mut bad = BadLineCounts::default();
    let (mut lines, mut periods) = (0u64, 0u64);

    let mut options = TailerOptions::new(log, state_dir);
    options.start_at = StartAt::End;
    let mut tailer = Tailer::open(options)?;
    // The daemon's runtime: one thread.
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(async {
        let token = CancellationToken::new();
        let stop = token.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(seconds)).await;
            stop.cancel();
        });
        let mut sink = |line: &[u8]| {
            lines += 1;
            let request = matcher
                .match_line(line)
                .map_err(BadLine::from)
                .and_then(|fields| extractor.extract(&fields));
            match request {
                Ok(request) => signals.observe(&request),
                Err(reason) => bad.bump(reason),
            }
            // As the daemon would: periods close by the wall clock, not only by lines.
            signals.advance_to(now_ms());
            while signals.pop_closed().is_some() {
                periods += 1;
            }
        };
        if batch.is_zero() {
            tailer.run(token, sink).await;
            return anyhow::Ok(());
        }
        while !token.is_cancelled() {
            // Everything written since the last drain, in one go (bounded per call).
            tailer.drain(100_000, &mut sink).await?;
            tokio::time::sleep(batch).await;
        }
        tailer.checkpoint()?;
        anyhow::Ok(())
    })?;
    println!("lines={lines} bad={} periods={periods}", bad.total());
    Ok(())
}
