//! One sample: scrape stub_status and derive figures, with rate-limited failure logging.
//! Shared by the daemon and the one-shot.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use crate::derive::{Deriver, Figures};
use crate::sources::stub_status::{ScrapeError, Scraper};
use crate::stats::{unix_ms, Stats};

/// While stub_status keeps failing, repeat the warning at most this often.
const FAILURE_LOG_EVERY: Duration = Duration::from_secs(60);

pub struct Sampler {
    scraper: Scraper,
    deriver: Deriver,
    stats: Arc<Stats>,
    last_ok: Option<Instant>,
    failing: Option<Failing>,
    pub last_error: Option<ScrapeError>,
}

struct Failing {
    count: u64,
    last_logged: Instant,
}

impl Sampler {
    pub fn new(scraper: Scraper, stats: Arc<Stats>) -> Self {
        Sampler {
            scraper,
            deriver: Deriver::default(),
            stats,
            last_ok: None,
            failing: None,
            last_error: None,
        }
    }

    pub fn stats(&self) -> Arc<Stats> {
        self.stats.clone()
    }

    pub fn url(&self) -> &hyper::Uri {
        self.scraper.url()
    }

    /// Take one sample at `now` (tokio time); `None` if nginx could not be read.
    pub async fn sample(&mut self, clock: &crate::clock::Clock) -> Option<Figures> {
        match self.scraper.scrape().await {
            Ok(status) => {
                let now = Instant::now();
                let elapsed = self.last_ok.map_or(Duration::ZERO, |t| now - t);
                self.last_ok = Some(now);
                self.last_error = None;
                Stats::bump(&self.stats.samples_ok);
                Stats::set(&self.stats.last_sample_ok_unix_ms, unix_ms(clock.now()));
                if let Some(failing) = self.failing.take() {
                    tracing::info!(failures = failing.count, url = %self.scraper.url(), "stub_status readable again");
                }
                let figures = self.deriver.observe(status, elapsed);
                tracing::trace!(?figures, "sample");
                Some(figures)
            }
            Err(error) => {
                Stats::bump(&self.stats.samples_failed);
                let now = Instant::now();
                match self.failing.as_mut() {
                    None => {
                        tracing::warn!(kind = error.kind(), "cannot read stub_status: {error}");
                        self.failing = Some(Failing {
                            count: 1,
                            last_logged: now,
                        });
                    }
                    Some(failing) => {
                        failing.count += 1;
                        if now - failing.last_logged >= FAILURE_LOG_EVERY {
                            tracing::warn!(
                                failures = failing.count,
                                kind = error.kind(),
                                "still cannot read stub_status: {error}"
                            );
                            failing.last_logged = now;
                        }
                    }
                }
                self.last_error = Some(error);
                None
            }
        }
    }
}
