//! One sample: scrape stub_status, read the kernel's accept queue, derive PendingRequests
//! (saturation included), with rate-limited failure logging. Shared by the daemon and the
//! one-shot.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use crate::config::Config;
use crate::derive::log_window::{BusyTime, LittleWindow};
use crate::derive::pending::{KernelDeltas, Pending, PendingDeriver, StubReading};
use crate::derive::{Deriver, Figures};
use crate::events::FailureStreak;
use crate::sources::accept_queue::{KernelReader, KernelSample};
use crate::sources::stub_status::{ScrapeError, Scraper};
use crate::stats::{unix_ms, Stats};

/// While a failure goes on, repeat its warning at most this often.
const FAILURE_LOG_EVERY: Duration = Duration::from_secs(60);

/// What one sample found.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    pub pending: Pending,
    pub figures: Option<Figures>,
    pub kernel: Option<KernelSample>,
    pub deltas: KernelDeltas,
}

pub struct Sampler {
    scraper: Scraper,
    kernel: Option<KernelReader>,
    deriver: Deriver,
    pending: PendingDeriver,
    stats: Arc<Stats>,
    last_ok: Option<Instant>,
    /// For `log_concurrency`: what the access-log task adds, when it was last taken, and the
    /// window over the last period.
    busy_time: BusyTime,
    log_window_since: Option<Instant>,
    log_window: LittleWindow,
    stub_failing: FailureStreak,
    kernel_failing: FailureStreak,
    pub last_error: Option<ScrapeError>,
}

impl Sampler {
    pub fn new(config: &Config, stats: Arc<Stats>) -> Self {
        let formula = config.cloudwatch.pending;
        Sampler {
            scraper: Scraper::new(&config.nginx.status_url, config.nginx.timeout),
            kernel: formula
                .uses_kernel()
                .then(|| KernelReader::new(config.nginx.listen_ports.clone())),
            deriver: Deriver::default(),
            pending: PendingDeriver::new(formula),
            stats,
            last_ok: None,
            busy_time: BusyTime::default(),
            log_window_since: None,
            log_window: LittleWindow::new(config.cloudwatch.samples_per_period() as usize),
            stub_failing: FailureStreak::repeating_every(FAILURE_LOG_EVERY),
            kernel_failing: FailureStreak::repeating_every(FAILURE_LOG_EVERY),
            last_error: None,
        }
    }

    /// Use another directory than /proc/self/net for the kernel's view (tests).
    pub fn with_kernel_reader(mut self, reader: KernelReader) -> Self {
        self.kernel = Some(reader);
        self
    }

    pub fn stats(&self) -> Arc<Stats> {
        self.stats.clone()
    }

    pub fn url(&self) -> &str {
        self.scraper.url()
    }

    /// Take one sample.
    pub async fn sample(&mut self, clock: &crate::clock::Clock) -> Sample {
        let scraped = self.scraper.scrape().await;
        let now = Instant::now();
        let kernel = self.read_kernel();
        let figures = match scraped {
            Ok(status) => {
                let elapsed = self.last_ok.map_or(Duration::ZERO, |t| now - t);
                self.last_ok = Some(now);
                self.last_error = None;
                if let Some(failures) = self.stub_failing.recovered() {
                    tracing::info!(failures, url = %self.scraper.url(), "stub_status readable again");
                }
                Some(self.deriver.observe(status, elapsed))
            }
            Err(error) => {
                if self.stub_failing.failed() {
                    let failures = self.stub_failing.count();
                    tracing::warn!(failures, kind = error.kind(), "cannot read stub_status: {error}");
                }
                self.last_error = Some(error);
                None
            }
        };
        let reading = match (&figures, &self.last_error) {
            (Some(figures), _) => StubReading::Read(figures),
            (None, Some(ScrapeError::Timeout { .. } | ScrapeError::Connect { .. } | ScrapeError::Body { .. })) => {
                StubReading::Unanswered
            }
            (None, _) => StubReading::Wrong,
        };
        let log_concurrency = self.take_log_window(now);
        let (pending, deltas) = self.pending.observe(reading, kernel.as_ref(), log_concurrency);
        let sample = Sample {
            pending,
            figures,
            kernel,
            deltas,
        };
        self.record(&sample, clock);
        sample
    }

    /// Where the access-log task adds the busy time this sampler's `log_concurrency` takes.
    pub fn busy_time(&self) -> BusyTime {
        self.busy_time.clone()
    }

    /// `log_concurrency` over the last period (see [`LittleWindow`]); `None` before the first
    /// window or without the formula.
    fn take_log_window(&mut self, now: Instant) -> Option<u64> {
        if self.pending.formula() != crate::derive::pending::Formula::LogConcurrency {
            return None;
        }
        let busy_us = self.busy_time.take();
        let since = self.log_window_since.replace(now)?;
        Some(self.log_window.push(busy_us, (now - since).as_micros() as u64))
    }

    fn read_kernel(&mut self) -> Option<KernelSample> {
        let reader = self.kernel.as_mut()?;
        match reader.sample() {
            Ok(sample) => {
                if let Some(failures) = self.kernel_failing.recovered() {
                    tracing::info!(failures, "accept queue readable again");
                }
                Some(sample)
            }
            Err(error) => {
                if self.kernel_failing.failed() {
                    tracing::warn!(
                        failures = self.kernel_failing.count(),
                        "cannot read the accept queue: {error}"
                    );
                }
                None
            }
        }
    }

    /// Update the exporter's own counters and the live gauges.
    fn record(&self, sample: &Sample, clock: &crate::clock::Clock) {
        let stats = &self.stats;
        let live = &stats.live;
        match sample.pending {
            Pending::Measured(value) => {
                Stats::bump(&stats.samples_ok);
                Stats::set(&stats.last_sample_ok_unix_ms, unix_ms(clock.now()));
                Stats::set(&live.pending, value);
                Stats::set(&live.saturated, 0);
            }
            Pending::Saturated(value) => {
                Stats::bump(&stats.samples_saturated);
                Stats::set(&stats.last_sample_ok_unix_ms, unix_ms(clock.now()));
                Stats::set(&live.pending, value);
                Stats::set(&live.saturated, 1);
                tracing::debug!(value, "nginx saturated: stub_status unanswered, kernel shows load");
            }
            Pending::Blind => Stats::bump(&stats.samples_failed),
        }
        if let Some(f) = &sample.figures {
            Stats::set(&live.in_flight, f.in_flight);
            Stats::set(&live.reading, f.reading);
            Stats::set(&live.writing, f.writing);
            Stats::set(&live.waiting, f.waiting);
            Stats::set(&live.active, f.active);
            Stats::set_f64(
                &live.requests_per_second_bits,
                f.requests_per_second.unwrap_or(f64::NAN),
            );
            Stats::add(&live.dropped_connections, f.dropped_connections.unwrap_or(0));
        }
        if let Some(k) = &sample.kernel {
            Stats::set(&live.accept_queue, k.accept_queue.depth);
            Stats::set(&live.accept_queue_limit, k.accept_queue.limit);
        }
        Stats::add(&live.listen_overflows, sample.deltas.listen_overflows);
        Stats::add(&live.listen_drops, sample.deltas.listen_drops);
        tracing::trace!(?sample, "sample");
    }
}
