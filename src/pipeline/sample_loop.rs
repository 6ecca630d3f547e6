//! The sample loop: sample stub_status every `sample_interval`, close a period every
//! `period`, and hand each closed period to the outputs.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::{Interval, MissedTickBehavior};
use tokio_util::sync::CancellationToken;

use crate::clock::{next_multiple, round_to, Clock};
use crate::config::Config;
use crate::derive::period::{Closed, PeriodAccumulator};
use crate::events::pipeline::{PeriodBlind, PublishingResumed};
use crate::sampler::Sampler;
use crate::sinks::outputs::Outputs;
use crate::stats::Stats;

/// A wall-clock step bigger than this re-aligns the sample ticks.
const MAX_CLOCK_DRIFT: Duration = Duration::from_millis(250);

fn aligned_ticker(clock: &Clock, step: Duration) -> Interval {
    let first = clock.instant_for(next_multiple(clock.now(), step));
    let mut ticker = tokio::time::interval_at(first, step);
    // A scrape is bounded by nginx.timeout <= sample_interval; if one still overruns,
    // skip the missed tick rather than sample twice in a row.
    ticker.set_missed_tick_behavior(MissedTickBehavior::Skip);
    ticker
}

/// Sample until cancelled, then close the partial period. The caller drains `outputs`
/// afterwards.
pub(crate) async fn sample_loop(
    config: &Config,
    clock: &Clock,
    mut sampler: Sampler,
    outputs: &mut Outputs,
    stats: Arc<Stats>,
    token: CancellationToken,
) {
    let mut handoff = Handoff {
        outputs,
        stats,
        blind_periods: 0,
    };
    let interval = config.cloudwatch.sample_interval;
    let mut periods = PeriodAccumulator::new(
        config.cloudwatch.period,
        config.cloudwatch.samples_per_period() as usize,
    );
    let mut ticker = aligned_ticker(clock, interval);
    loop {
        let tick = tokio::select! {
            biased;
            () = token.cancelled() => break,
            tick = ticker.tick() => tick,
        };
        let drift = clock.drift();
        if drift > MAX_CLOCK_DRIFT {
            tracing::warn!(drift = ?drift, "system clock stepped; re-aligning samples to it");
            clock.reanchor();
            ticker = aligned_ticker(clock, interval);
            continue;
        }
        let at = round_to(clock.wall(tick), interval);
        if let Some(closed) = periods.roll(at) {
            handoff.send(closed);
        }
        let sample = tokio::select! {
            biased;
            () = token.cancelled() => break,
            sample = sampler.sample(clock) => sample,
        };
        periods.add(sample.pending.value().map(|v| v as f64));
    }
    if let Some(closed) = periods.flush() {
        handoff.send(closed);
    }
}

/// Hands closed periods to the outputs; blind periods are counted, logged once, never sent.
struct Handoff<'a> {
    outputs: &'a mut Outputs,
    stats: Arc<Stats>,
    blind_periods: u64,
}

impl Handoff<'_> {
    fn send(&mut self, closed: Closed) {
        match closed {
            Closed::Datapoint { datapoint, values } => {
                if self.blind_periods > 0 {
                    PublishingResumed {
                        periods: self.blind_periods,
                    }
                    .emit();
                    self.blind_periods = 0;
                }
                // The daemon's outputs never fail in place: a stuck one drops and counts.
                if let Err(error) = self.outputs.send_period(datapoint, values) {
                    tracing::error!(%error, "an output refused this period's datapoint");
                }
            }
            Closed::Blind {
                period_start,
                failed_samples,
            } => {
                self.blind_periods += 1;
                PeriodBlind {
                    period_start,
                    failed_samples,
                    blind_in_a_row: self.blind_periods,
                }
                .emit(&self.stats);
            }
        }
    }
}
