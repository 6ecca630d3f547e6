//! The access-log pipeline in the daemon: the tailer hands complete lines to the compiled
//! matcher, matched lines become completed requests, and the log signals fold them into
//! periods. Bad lines are counted by reason and skipped (their text is logged at debug level
//! only). Closed periods feed the local outputs through [`Stats`], and the signals listed in
//! `access_log.publish` go to the outputs ([`LogOutputs`]) as datapoints of extra metrics.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::clock::Clock;
use crate::config::AccessLogConfig;
use crate::derive::log_metrics::{self, QuietPeriods};
use crate::derive::log_signals::{LogSignals, SignalsConfig};
use crate::derive::log_window::BusyTime;
use crate::derive::pending::LogConcurrencyFilter;
use crate::events::pipeline::{LogLineExcluded, LogLineParsed, LogLineRejected, LogPeriodPartial};
use crate::model::{Datapoint, LogMetric};
use crate::sinks::outputs::LogOutputs;
use crate::sources::access_log::tail::{Follow, TailError, Tailer, TailerOptions};
use crate::sources::access_log::{BadLine, LineParser};
use crate::stats::{unix_ms, Stats};

/// How often idle periods are closed when no line arrives.
const IDLE_TICK: Duration = Duration::from_secs(1);
/// A line stamped further ahead of our clock than this is corrupt, not early.
const MAX_FUTURE: Duration = Duration::from_secs(300);

#[derive(Debug, thiserror::Error)]
pub enum LogPipelineError {
    #[error("access log {path}: {source}")]
    Tail {
        path: std::path::PathBuf,
        #[source]
        source: TailError,
    },
    #[error("access log signals: {0}")]
    Signals(String),
}

/// What the tailer feeds (its [`Follow`]): parses each line and folds it into periods, and
/// hands the closed periods to the outputs.
struct LinesIntoPeriods {
    clock: Clock,
    parser: LineParser,
    signals: LogSignals,
    stats: Arc<Stats>,
    max_end_ms: i64,
    /// Signals to publish, and where their datapoints go.
    publish: Vec<LogMetric>,
    outputs: LogOutputs,
    /// Whether any output takes the published signals' datapoints.
    publishes: bool,
    /// Periods without a single line still publish their zero counts.
    quiet: QuietPeriods,
    /// Which requests feed the `log_concurrency` window, and where their time goes.
    concurrency: LogConcurrencyFilter,
    busy_time: Option<BusyTime>,
    /// Periods before this are partial (reading began inside them): not published.
    first_complete_ms: Option<i64>,
}

impl LinesIntoPeriods {
    fn line(&mut self, line: &[u8]) {
        let result = self.parser.parse(line).and_then(|request| {
            if request.end_ms > self.max_end_ms {
                Err(BadLine::BadTime)
            } else {
                Ok(request)
            }
        });
        match result {
            Ok(request) => {
                LogLineParsed.emit(&self.stats);
                if self.first_complete_ms.is_none() {
                    self.first_complete_ms = Some(log_metrics::first_complete_period(
                        request.end_ms,
                        self.quiet.period_ms(),
                        self.quiet.first_whole_ms(),
                    ));
                }
                let request_time_us = request.request_time_us.unwrap_or(0);
                if self.concurrency.counts(request.status, request_time_us) {
                    if let Some(busy_time) = &self.busy_time {
                        busy_time.add(request_time_us);
                    }
                } else {
                    LogLineExcluded.emit(&self.stats);
                }
                self.signals.observe(&request);
            }
            Err(reason) => {
                LogLineRejected { reason, line }.emit(&self.stats);
            }
        }
    }
}

/// Open the tailer now (so a bad state directory is a startup error), run until cancelled.
/// The metrics of `access_log.publish` go to `outputs` each period; the `$request_time` of
/// each counted request to `busy_time` (the sampler's `log_concurrency` input).
#[allow(clippy::too_many_arguments)]
pub fn start(
    config: &AccessLogConfig,
    period: Duration,
    state_directory: &std::path::Path,
    stats: Arc<Stats>,
    clock: Clock,
    token: CancellationToken,
    busy_time: Option<BusyTime>,
    outputs: LogOutputs,
) -> Result<impl std::future::Future<Output = ()>, LogPipelineError> {
    let mut options = TailerOptions::new(&config.path, state_directory);
    options.start_at = config.start_at;
    let tailer =
        Tailer::open_counting(options, Arc::clone(&stats.log.tail)).map_err(|source| LogPipelineError::Tail {
            path: config.path.clone(),
            source,
        })?;
    let mut signals_config = SignalsConfig::new(period);
    signals_config.breakdown_cap = config.breakdown_cap;
    signals_config.settle = config.settle;
    let signals = LogSignals::new(signals_config).map_err(|e| LogPipelineError::Signals(e.to_string()))?;
    let parser = LineParser::new(config.format.clone(), config.breakdown.as_deref())
        .map_err(|e| LogPipelineError::Signals(e.to_string()))?;
    Stats::set(&stats.log.enabled, 1);
    let parse_now = clock.now();
    let parse = LinesIntoPeriods {
        clock,
        parser,
        signals,
        stats,
        max_end_ms: i64::MAX,
        publishes: outputs.publishes() && !config.publish.is_empty(),
        outputs,
        publish: config.publish.clone(),
        concurrency: config.concurrency.clone(),
        busy_time,
        first_complete_ms: None,
        quiet: QuietPeriods::new(unix_ms(parse_now) as i64, period.as_millis() as i64),
    };
    Ok(run(tailer, parse, token))
}

async fn run(tailer: Tailer, parse: LinesIntoPeriods, token: CancellationToken) {
    tailer.run(token, parse).await;
}

impl Follow for LinesIntoPeriods {
    fn before_drain(&mut self) {
        let now_ms = unix_ms(self.clock.now()) as i64;
        self.max_end_ms = now_ms + MAX_FUTURE.as_millis() as i64;
    }

    fn line(&mut self, line: &[u8]) {
        LinesIntoPeriods::line(self, line);
    }

    /// Close the periods the clock has passed, and send their datapoints (waiting while
    /// delivery is behind: a catch-up closes many periods at once).
    async fn after_drain(&mut self, readable: bool) {
        let now_ms = unix_ms(self.clock.now()) as i64;
        self.signals.advance_to(now_ms);
        let datapoints = publish_closed(self, readable);
        if !datapoints.is_empty() {
            self.outputs.send(datapoints).await;
        }
    }

    fn idle_tick(&self) -> Option<Duration> {
        Some(IDLE_TICK)
    }
}

/// Fold closed periods into the stats; returns the datapoints of the published metrics.
fn publish_closed(parse: &mut LinesIntoPeriods, readable: bool) -> Vec<Datapoint> {
    let log = &parse.stats.log;
    Stats::set(&log.lines_late, parse.signals.late_requests());
    let mut newest = None;
    let mut datapoints = Vec::new();
    let mut popped = Vec::new();
    while let Some(period) = parse.signals.pop_closed() {
        popped.push(period.start_ms);
        // The totals count every line read; only a whole period is published.
        Stats::add(&log.completed, period.completed);
        for (total, count) in log.completed_by_class.iter().zip(period.by_class) {
            Stats::add(total, count);
        }
        Stats::add(&log.status_499, period.status_499);
        Stats::add(&log.status_5xx, period.status_5xx);
        for (totals, quantiles) in [
            (&log.request_time, &period.request_time),
            (&log.upstream_response_time, &period.upstream_response_time),
        ] {
            totals.add(quantiles.count, quantiles.sum_micros);
        }
        if parse.first_complete_ms.is_none_or(|first| period.start_ms < first) {
            // Partial: reading began inside it (see log_metrics::first_complete_period).
            LogPeriodPartial.emit(&parse.stats);
            continue;
        }
        if parse.publishes {
            datapoints.extend(log_metrics::datapoints(&period, &parse.publish));
        }
        newest = Some(period);
    }
    if let Some(period) = newest {
        parse.outputs.newest_period(period);
    }
    let period_ms = parse.quiet.period_ms();
    for start_ms in parse.quiet.closed(parse.signals.closed_until_ms(), &popped, readable) {
        if parse.publishes {
            let quiet = log_metrics::quiet_period(start_ms, period_ms);
            datapoints.extend(log_metrics::datapoints(&quiet, &parse.publish));
        }
    }
    datapoints.sort_by_key(|d| d.timestamp);
    datapoints
}

#[cfg(test)]
mod tests {
    //! The daemon's access-log task as `app` wires it, in paused time: a log written in
    //! advance, a clock that only moves with tokio's, and the outputs' channels read back.

    use super::*;
    use crate::derive::log_signals::PeriodSignals;
    use crate::model::LogMetric;
    use std::time::{SystemTime, UNIX_EPOCH};
    use tokio::sync::{mpsc, watch};

    /// 2026-01-01T00:00:00Z, a whole minute: periods of 10 s start on it.
    const T0: u64 = 1_767_225_600;

    /// A line of the test's format: `$msec` is seconds with milliseconds, as nginx writes it.
    fn line(at_s: u64, status: u16, request_time: &str) -> String {
        format!("{at_s}.000 \"GET / HTTP/1.1\" {status} {request_time}\n")
    }

    struct Wired {
        _dir: tempfile::TempDir,
        log: std::path::PathBuf,
        state: std::path::PathBuf,
        datapoints: mpsc::Receiver<Datapoint>,
        busy_time: BusyTime,
        last_period: watch::Receiver<Option<PeriodSignals>>,
        stats: Arc<Stats>,
        token: CancellationToken,
        task: tokio::task::JoinHandle<()>,
    }

    fn wire(lines: &str) -> Wired {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("access.log");
        std::fs::write(&log, lines).unwrap();
        let state = dir.path().join("state");
        let toml = format!(
            "[nginx]\nstatus_url = \"http://127.0.0.1:9/nginx_status\"\naccess_log = {log:?}\n\
             log_format = '$msec \"$request\" $status $request_time'\n\
             [cloudwatch]\nnamespace = \"Test/Wiring\"\ninstance_id = \"i-wiring\"\nperiod = \"10s\"\n\
             [access_log]\nstart_at = \"beginning\"\nsettle = \"2s\"\npublish = [\"RequestsCompleted\"]\n\
             [daemon]\nstate_directory = {state:?}\n"
        );
        let config = crate::config::parse(std::path::Path::new("wiring.toml"), &toml).unwrap();
        let access_log = config.access_log.clone().unwrap();
        let (sender, datapoints) = mpsc::channel(64);
        let busy_time = BusyTime::default();
        let (last_sender, last_period) = watch::channel(None);
        let stats = Arc::new(Stats::default());
        let token = CancellationToken::new();
        let task = start(
            &access_log,
            config.cloudwatch.period,
            &config.daemon.state_directory,
            stats.clone(),
            Clock::starting_at(SystemTime::UNIX_EPOCH + Duration::from_millis(T0 * 1000 + 500)),
            token.clone(),
            Some(busy_time.clone()),
            LogOutputs::to_channels(stats.clone(), Some(sender), Some(last_sender)),
        )
        .unwrap();
        Wired {
            _dir: dir,
            log,
            state,
            datapoints,
            busy_time,
            last_period,
            stats,
            token,
            task: tokio::spawn(task),
        }
    }

    fn received(wired: &mut Wired) -> Vec<(u64, f64)> {
        let mut seen = Vec::new();
        while let Ok(datapoint) = wired.datapoints.try_recv() {
            assert_eq!(
                datapoint.metric,
                crate::model::Metric::Log(LogMetric::RequestsCompleted)
            );
            let at = datapoint.timestamp.duration_since(UNIX_EPOCH).unwrap().as_secs();
            seen.push((at - T0, datapoint.stats.sum));
        }
        seen
    }

    /// Wait (in paused time, a few seconds at most) until `lines` lines have been parsed: the
    /// tailer reads on its idle tick or on inotify's wake-up, which comes in real time.
    async fn read(wired: &Wired, lines: u64) {
        for _ in 0..50 {
            if Stats::get(&wired.stats.log.lines_parsed) >= lines {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!(
            "{lines} lines not read in 5 s: {}",
            Stats::get(&wired.stats.log.lines_parsed)
        );
    }

    fn append(wired: &Wired, lines: &[String]) {
        let mut log = std::fs::OpenOptions::new().append(true).open(&wired.log).unwrap();
        std::io::Write::write_all(&mut log, lines.concat().as_bytes()).unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn closed_periods_go_to_delivery_quiet_ones_as_zero_and_the_newest_to_metrics() {
        // Reading begins at T0 + 0.5 s inside period 0..10, whose earlier lines (if any) are
        // not ours: that period is partial and is not published. Times below are from T0.
        let started = tokio::time::Instant::now() - Duration::from_millis(500);
        let at = |ms: u64| tokio::time::sleep_until(started + Duration::from_millis(ms));
        let mut wired = wire(&line(T0 + 1, 200, "0.050"));
        read(&wired, 1).await;
        assert_eq!(wired.busy_time.take(), 50_000);
        // Three requests in 10..20 s (one a 101, left out of log_concurrency), written as
        // the clock gets there.
        at(12_600).await;
        append(
            &wired,
            &[
                line(T0 + 11, 200, "0.250"),
                line(T0 + 12, 101, "1.000"),
                line(T0 + 12, 200, "0.500"),
            ],
        );
        read(&wired, 4).await;
        assert_eq!(wired.busy_time.take(), 750_000, "0.25 s + 0.5 s; the 101 left out");
        assert_eq!(Stats::get(&wired.stats.log.concurrency_excluded), 1);
        assert_eq!(received(&mut wired), vec![], "0..10 closed at 12 s, but it is partial");
        assert_eq!(Stats::get(&wired.stats.log.periods_partial), 1);
        assert!(wired.last_period.borrow().is_none());
        // 10..20 closes at 20 s + settle 2 s: by the next idle tick (a second).
        at(21_900).await;
        assert_eq!(received(&mut wired), vec![], "not before it closes");
        at(23_100).await;
        assert_eq!(received(&mut wired), vec![(10, 3.0)]);
        assert_eq!(wired.last_period.borrow().as_ref().map(|p| p.completed), Some(3));
        // 20..30 quiet (a zero: the log was readable), 30..40 with one line.
        at(31_600).await;
        append(&wired, &[line(T0 + 31, 503, "0.100")]);
        read(&wired, 5).await;
        at(43_100).await;
        assert_eq!(received(&mut wired), vec![(20, 0.0), (30, 1.0)]);
        assert_eq!(wired.busy_time.take(), 100_000);
        let newest = wired.last_period.borrow().clone().unwrap();
        assert_eq!((newest.start_ms as u64 / 1000 - T0, newest.status_5xx), (30, 1));

        // SIGTERM: the task ends and leaves a checkpoint at the end of what it read.
        wired.token.cancel();
        wired.task.await.unwrap();
        let checkpoint = std::fs::read_dir(&wired.state).unwrap().count();
        assert_eq!(checkpoint, 1, "one checkpoint file");
        assert!(Stats::get(&wired.stats.log.tail.checkpoints_written) >= 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_line_from_the_future_is_a_bad_time_not_a_period() {
        let lines = [line(T0, 200, "0.010"), line(T0 + 3600, 200, "0.010")].concat();
        let mut wired = wire(&lines);
        tokio::time::sleep(Duration::from_millis(11_000)).await;
        append(&wired, &[line(T0 + 11, 200, "0.010")]);
        tokio::time::sleep(Duration::from_millis(12_000)).await;
        assert_eq!(
            received(&mut wired),
            vec![(10, 1.0)],
            "0..10 partial, 10..20 with its line"
        );
        assert_eq!(
            Stats::get(&wired.stats.log.lines_rejected[BadLine::BadTime as usize]),
            1,
            "an hour ahead of the clock is corrupt, not early"
        );
        wired.token.cancel();
        wired.task.await.unwrap();
    }
}
