//! One sample: read nginx's source (stub_status), read the kernel's accept queue, derive
//! PendingRequests (saturation included), with rate-limited failure logging. Shared by the
//! daemon and the one-shot. The sampler is where sources meet derive: a source gives a
//! `model::Reading` or a `ReadError`, and derive takes what is inside the reading.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use crate::config::Config;
use crate::derive::log_window::{BusyTime, LittleWindow};
use crate::derive::pending::{Answer, KernelDeltas, Pending, PendingDeriver};
use crate::derive::{Deriver, Figures};
use crate::events::pipeline::{SampleBlind, SampleSaturated, SampleTaken};
use crate::events::sources as events;
use crate::events::FailureStreak;
use crate::model::Reading;
use crate::sources::accept_queue::{KernelReader, KernelSample};
use crate::sources::stub_status::Scraper;
use crate::sources::{ReadError, Source};
use crate::stats::Stats;

/// While a failure goes on, repeat its warning at most this often.
const FAILURE_LOG_EVERY: Duration = Duration::from_secs(60);

/// What one sample found.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    pub pending: Pending,
    pub figures: Option<Figures>,
    pub kernel: Option<KernelSample>,
    pub(crate) deltas: KernelDeltas,
}

pub(crate) struct Sampler {
    /// The source of nginx's counters: its answer, or its silence, is what the saturation
    /// rules judge nginx by.
    nginx: Source,
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
    pub(crate) last_error: Option<ReadError>,
}

impl Sampler {
    pub fn new(config: &Config, stats: Arc<Stats>) -> Self {
        let formula = config.cloudwatch.pending;
        Sampler {
            nginx: Source::StubStatus(Scraper::new(&config.nginx.status_url, config.nginx.timeout)),
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
    #[cfg(test)]
    pub(crate) fn with_kernel_reader(mut self, reader: KernelReader) -> Self {
        self.kernel = Some(reader);
        self
    }

    /// Take one sample.
    pub async fn sample(&mut self, clock: &crate::clock::Clock) -> Sample {
        let read = self.nginx.read().await;
        self.observe(read, clock)
    }

    /// Everything of a sample after nginx's source was read: the kernel's view, the derived
    /// figures and PendingRequests, the failure streaks and the live gauges.
    pub fn observe(&mut self, read: Result<Reading, ReadError>, clock: &crate::clock::Clock) -> Sample {
        let now = Instant::now();
        let kernel = self.read_kernel();
        let name = self.nginx.name();
        let figures = match read {
            Ok(Reading::Connections(counters)) => {
                let elapsed = self.last_ok.map_or(Duration::ZERO, |t| now - t);
                self.last_ok = Some(now);
                self.last_error = None;
                events::SourceRead {
                    name,
                    url: &self.nginx.target(),
                }
                .emit(&mut self.stub_failing);
                Ok(self.deriver.observe(counters, elapsed))
            }
            Err(error) => {
                events::SourceUnreadable {
                    name,
                    kind: error.kind,
                    error: &error,
                }
                .emit(&mut self.stub_failing);
                let unread = error.unread;
                self.last_error = Some(error);
                Err(unread)
            }
        };
        let answer = match &figures {
            Ok(figures) => Answer::Read(figures),
            Err(unread) => Answer::from(*unread),
        };
        let log_concurrency = self.take_log_window(now);
        let (pending, deltas) = self.pending.observe(answer, kernel.as_ref(), log_concurrency);
        let sample = Sample {
            pending,
            figures: figures.ok(),
            kernel,
            deltas,
        };
        self.record(&sample, clock);
        sample
    }

    /// Where the access-log task adds the busy time this sampler's `log_concurrency` takes.
    pub(crate) fn busy_time(&self) -> BusyTime {
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
                events::AcceptQueueRead.emit(&mut self.kernel_failing);
                Some(sample)
            }
            Err(error) => {
                events::AcceptQueueUnreadable { error: &error }.emit(&mut self.kernel_failing);
                None
            }
        }
    }

    /// Update the exporter's own counters and the live gauges.
    fn record(&self, sample: &Sample, clock: &crate::clock::Clock) {
        let stats = &self.stats;
        let live = &stats.live;
        match sample.pending {
            Pending::Measured(pending) => SampleTaken {
                pending,
                at: clock.now(),
            }
            .emit(stats),
            Pending::Saturated(pending) => SampleSaturated {
                pending,
                at: clock.now(),
            }
            .emit(stats),
            Pending::Blind => SampleBlind.emit(stats),
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

#[cfg(test)]
mod tests {
    //! The sampler as the daemon drives it, in paused time, with stub_status readings handed
    //! in (the scrape itself is `stub_status`'s, tested against real nginx) and the kernel's
    //! view read from files in a temp directory.

    use super::*;
    use crate::clock::Clock;
    use crate::derive::pending::Pending;
    use crate::sources::stub_status::ScrapeError;
    use std::sync::Arc;

    const NETSTAT: &str = "TcpExt: ListenOverflows ListenDrops\nTcpExt: 0 0\n";

    struct Setup {
        kernel_dir: tempfile::TempDir,
        sampler: Sampler,
        stats: Arc<Stats>,
        clock: Clock,
    }

    fn setup(pending: &str) -> Setup {
        let toml = format!(
            "[nginx]\nstatus_url = \"http://127.0.0.1:9/nginx_status\"\nlisten_ports = [80]\n\
             access_log = \"/nonexistent/access.log\"\nlog_format = '$msec $status $request_time'\n\
             [cloudwatch]\nnamespace = \"Test/Sampler\"\ninstance_id = \"i-sampler\"\npending = \"{pending}\"\n\
             period = \"4s\"\nsample_interval = \"1s\"\n"
        );
        let config = crate::config::parse(std::path::Path::new("sampler.toml"), &toml).unwrap();
        let kernel_dir = tempfile::tempdir().unwrap();
        set_accept_queue(&kernel_dir, 0);
        let stats = Arc::new(Stats::default());
        let sampler = Sampler::new(&config, stats.clone())
            .with_kernel_reader(KernelReader::with_root(kernel_dir.path().to_owned(), vec![80]));
        Setup {
            kernel_dir,
            sampler,
            stats,
            clock: Clock::starting_at(std::time::UNIX_EPOCH + Duration::from_secs(1_800_000_000)),
        }
    }

    /// A listening socket on port 80 with `depth` connections waiting to be accepted.
    fn set_accept_queue(dir: &tempfile::TempDir, depth: u32) {
        let header = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode";
        let row =
            format!("   0: 00000000:0050 00000000:0000 0A 00000000:{depth:08X} 00:00000000 00000000     0        0 1");
        std::fs::write(dir.path().join("tcp"), format!("{header}\n{row}\n")).unwrap();
        std::fs::write(dir.path().join("netstat"), NETSTAT).unwrap();
    }

    /// stub_status with `writing` (our own scrape included) and `requests` so far.
    fn page(writing: u64, requests: u64) -> Result<Reading, ReadError> {
        let text = format!(
            "Active connections: {} \nserver accepts handled requests\n {requests} {requests} {requests} \nReading: 0 Writing: {writing} Waiting: 1 \n",
            writing + 1
        );
        Ok(Reading::Connections(
            crate::sources::stub_status::parser::parse(text.as_bytes()).unwrap(),
        ))
    }

    fn unanswered() -> Result<Reading, ReadError> {
        Err(ScrapeError::Timeout {
            url: "http://127.0.0.1:9/nginx_status".into(),
            timeout: Duration::from_secs(1),
        }
        .into())
    }

    #[tokio::test(start_paused = true)]
    async fn in_flight_plus_accept_queue_then_saturation_then_blindness() {
        let mut s = setup("in_flight+accept_queue");
        set_accept_queue(&s.kernel_dir, 3);
        let sample = s.sampler.observe(page(5, 100), &s.clock);
        assert_eq!(
            sample.pending,
            Pending::Measured(7),
            "4 in flight (5 minus our scrape) + 3 queued"
        );
        assert_eq!(Stats::get(&s.stats.live.pending), 7);
        assert_eq!(Stats::get(&s.stats.samples_ok), 1);

        // Workers stuck: stub_status does not answer, the kernel still shows a queue.
        tokio::time::advance(Duration::from_secs(1)).await;
        let sample = s.sampler.observe(unanswered(), &s.clock);
        assert_eq!(sample.pending, Pending::Saturated(7), "reported high, not missing");
        assert_eq!(Stats::get(&s.stats.samples_saturated), 1);
        assert_eq!(Stats::get(&s.stats.live.saturated), 1);

        // nginx gone: no answer and nothing queued. Blind: nothing to publish, never a 0.
        set_accept_queue(&s.kernel_dir, 0);
        for _ in 0..3 {
            tokio::time::advance(Duration::from_secs(1)).await;
            assert_eq!(s.sampler.observe(unanswered(), &s.clock).pending, Pending::Blind);
        }
        assert_eq!(Stats::get(&s.stats.samples_failed), 3);
        assert_eq!(
            s.sampler.stub_failing.count(),
            4,
            "one streak: the saturated sample and three blind"
        );

        tokio::time::advance(Duration::from_secs(1)).await;
        assert_eq!(s.sampler.observe(page(1, 130), &s.clock).pending, Pending::Measured(0));
        assert!(!s.sampler.stub_failing.is_failing(), "the streak ended");
        assert!(s.sampler.last_error.is_none());
    }

    #[tokio::test(start_paused = true)]
    async fn log_concurrency_is_littles_law_over_the_period_from_the_busy_time_it_is_handed() {
        let mut s = setup("log_concurrency");
        let busy = s.sampler.busy_time();
        // The first sample opens the window: nothing known yet.
        assert_eq!(s.sampler.observe(page(1, 0), &s.clock).pending, Pending::Blind);
        // 2 s of requests ending each second: 2 in flight on average.
        for _ in 0..4 {
            tokio::time::advance(Duration::from_secs(1)).await;
            busy.add(2_000_000);
            assert_eq!(s.sampler.observe(page(1, 0), &s.clock).pending, Pending::Measured(2));
        }
        // A quiet second: the 4-sample window (a 4 s period) averages (2 + 2 + 2 + 0) / 4.
        tokio::time::advance(Duration::from_secs(1)).await;
        assert_eq!(s.sampler.observe(page(1, 0), &s.clock).pending, Pending::Measured(2));
        for _ in 0..3 {
            tokio::time::advance(Duration::from_secs(1)).await;
            s.sampler.observe(page(1, 0), &s.clock);
        }
        assert_eq!(
            Stats::get(&s.stats.live.pending),
            0,
            "four quiet seconds: none in flight"
        );
        // A sample the sampler was late for takes everything added since the one before.
        tokio::time::advance(Duration::from_secs(2)).await;
        busy.add(8_000_000);
        assert_eq!(
            s.sampler.observe(page(1, 0), &s.clock).pending,
            Pending::Measured(2),
            "8 s of requests over the 5 s the window now spans: 1.6, rounded"
        );
    }
}
