//! Per-period signals from access-log lines. Pure: requests and timestamps in, figures out.
//!
//! A request is attributed to the period its **end** falls in (nginx logs when a request
//! ends). Counts, status classes and latency quantiles are per period. Concurrency comes
//! from a sweep: each request covers `[end - request_time, end)` in 1 ms slots (at least the
//! slot it ended in: nginx's `$request_time` and `$msec` are truncated milliseconds, so a
//! `0.000` request still occupied that millisecond); per second we keep the average and the
//! peak number in flight.
//!
//! **A period is final only once no request still to be logged can overlap it**: a request
//! is logged when it ends, so the sweep lags the newest end time (the watermark) by
//! `settle`. Longer requests are clipped to that horizon. Requests that end in a period
//! already emitted are counted as late and dropped. Memory is flat: a ring of
//! `settle + period` millisecond slots, and per open period two fixed histograms and a
//! breakdown capped at `breakdown_cap` values plus "other".
//!
//! The per-request path is a handful of comparisons: the period most requests land in is
//! kept out of the map (`hot`), the sweep's ring is a power of two (a mask, not a division),
//! and the map of open periods is only touched when a second is swept or a request lands in
//! another period (a map lookup per line was 12 % of `replay` in perf).

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::Duration;

use crate::sources::access_log::CompletedRequest;

/// How periods are cut and how long they wait for long requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SignalsConfig {
    pub period: Duration,
    /// How long after a moment a request covering it may still be logged.
    pub settle: Duration,
    /// Distinct breakdown values kept per period; the rest go to [`OTHER`].
    pub(crate) breakdown_cap: usize,
}

/// The breakdown bucket for values past the cap.
pub(crate) const OTHER: &str = "other";

impl SignalsConfig {
    /// nginx's default `proxy_read_timeout` is 60 s: few proxied requests outlive it.
    pub(crate) const DEFAULT_SETTLE: Duration = Duration::from_secs(60);
    pub(crate) const DEFAULT_BREAKDOWN_CAP: usize = 20;

    pub fn new(period: Duration) -> SignalsConfig {
        SignalsConfig {
            period,
            settle: Self::DEFAULT_SETTLE,
            breakdown_cap: Self::DEFAULT_BREAKDOWN_CAP,
        }
    }

    fn period_ms(&self) -> Result<i64, SignalsConfigError> {
        let ms = self.period.as_millis();
        if ms == 0 || !ms.is_multiple_of(1000) || ms > 86_400_000 {
            return Err(SignalsConfigError::Period(self.period));
        }
        Ok(ms as i64)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum SignalsConfigError {
    #[error("period must be a whole number of seconds between 1s and 1d, got {0:?}")]
    Period(Duration),
    #[error("settle must be at most 1h, got {0:?}")]
    Settle(Duration),
}

/// p50/p90/p99 in seconds; `None` when the period had no value. With how many values there
/// were and their sum, for a Prometheus summary's `_count` and `_sum`.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Quantiles {
    pub p50: Option<f64>,
    pub p90: Option<f64>,
    pub p99: Option<f64>,
    pub count: u64,
    /// Exact (not from the buckets), in µs.
    pub(crate) sum_micros: u64,
}

/// Concurrency over one second.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub(crate) struct SecondInFlight {
    pub average: f64,
    pub peak: u64,
}

/// Counts for one breakdown value.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BreakdownRow {
    /// The raw value (lossy UTF-8), or [`OTHER`].
    pub value: String,
    pub completed: u64,
    pub status_499: u64,
    pub status_5xx: u64,
}

/// Everything derived for one period.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PeriodSignals {
    /// Unix ms, aligned to the period.
    pub start_ms: i64,
    pub period_ms: i64,
    /// Requests that ended in the period.
    pub completed: u64,
    /// 1xx, 2xx, 3xx, 4xx, 5xx, then anything else (nginx writes 009 for HTTP/0.9).
    pub(crate) by_class: [u64; 6],
    pub status_499: u64,
    pub status_5xx: u64,
    pub request_time: Quantiles,
    pub upstream_response_time: Quantiles,
    /// Mean number in flight over the period.
    pub in_flight_average: f64,
    /// Most in flight in any millisecond of the period.
    pub in_flight_peak: u64,
    pub(crate) in_flight_per_second: Vec<SecondInFlight>,
    /// Sorted by value, [`OTHER`] last; empty without a breakdown variable.
    pub breakdown: Vec<BreakdownRow>,
}

/// Derives [`PeriodSignals`] from completed requests.
#[derive(Debug)]
pub(crate) struct LogSignals {
    config: SignalsConfig,
    period_ms: i64,
    settle_ms: i64,
    open: BTreeMap<i64, OpenPeriodSignals>,
    /// The open period the last request landed in, kept out of `open` (never in both) so the
    /// common case needs no map lookup. Put back before anything walks `open`.
    hot: Option<OpenPeriodSignals>,
    closed: VecDeque<PeriodSignals>,
    /// Closed periods' accumulators, emptied, for the next periods: a period's histograms are
    /// 36 KB, and a quiet log closes one every period (issue 22). At most as many as were
    /// ever open at once.
    spare: Vec<OpenPeriodSignals>,
    /// Periods handed back by [`LogSignals::recycle`], whose vectors the next closed periods
    /// reuse.
    recycled: Vec<PeriodSignals>,
    sweep: Option<InFlightSweep>,
    watermark_ms: i64,
    /// Every period ending by this has closed: the one place that decides (see
    /// [`LogSignals::closed_until_ms`]).
    closed_until_ms: i64,
    late_requests: u64,
}

impl LogSignals {
    pub fn new(config: SignalsConfig) -> Result<LogSignals, SignalsConfigError> {
        let period_ms = config.period_ms()?;
        if config.settle > Duration::from_secs(3600) {
            return Err(SignalsConfigError::Settle(config.settle));
        }
        Ok(LogSignals {
            config,
            period_ms,
            settle_ms: config.settle.as_millis() as i64,
            open: BTreeMap::new(),
            hot: None,
            closed: VecDeque::new(),
            spare: Vec::new(),
            recycled: Vec::new(),
            sweep: None,
            watermark_ms: i64::MIN,
            closed_until_ms: i64::MIN,
            late_requests: 0,
        })
    }

    /// Requests dropped because their period had already been emitted.
    pub(crate) fn late_requests(&self) -> u64 {
        self.late_requests
    }

    fn period_start(&self, at_ms: i64) -> i64 {
        at_ms.div_euclid(self.period_ms) * self.period_ms
    }

    pub fn observe(&mut self, request: &CompletedRequest<'_>) {
        let end = request.end_ms;
        if self.sweep.is_none() {
            self.start_sweep(end);
        }
        if end > self.watermark_ms {
            self.advance_to(end);
        }
        let period_ms = self.period_ms;
        // The hot period is open (the sweep parks it before closing anything), so a
        // request in it cannot be late: only another period needs the test.
        let hot_start = self.hot.as_ref().map(|hot| hot.start_ms);
        let in_hot = hot_start.is_some_and(|start| end >= start && end - start < period_ms);
        let period = match hot_start {
            Some(start) if in_hot => start,
            _ => {
                let period = self.period_start(end);
                let swept_until = self.sweep.as_ref().map_or(i64::MIN, |s| s.swept_until_ms);
                if period + period_ms <= swept_until {
                    self.late_requests += 1;
                    return;
                }
                period
            }
        };
        if let (Some(us), Some(sweep)) = (request.request_time_us, self.sweep.as_mut()) {
            let duration = i64::try_from(us / 1000).unwrap_or(i64::MAX).min(self.settle_ms);
            // A 0.000 request still happened in the millisecond it was logged in.
            let start = end.saturating_sub(duration);
            sweep.add(start, end.max(start + 1));
        }
        if !in_hot {
            self.make_hot(period);
        }
        let cap = self.config.breakdown_cap;
        if let Some(hot) = self.hot.as_mut() {
            hot.add(request, cap);
        }
    }

    /// The first request: start the sweep early enough to see its whole duration.
    #[cold]
    #[inline(never)]
    fn start_sweep(&mut self, first_end_ms: i64) {
        let origin = self.period_start(first_end_ms.saturating_sub(self.settle_ms));
        self.sweep = Some(InFlightSweep::new(origin, self.settle_ms));
    }

    /// Make `period`'s accumulator the hot one (the previous hot one goes back into `open`).
    /// Out of line: once per period, and for the odd request that ends in another.
    #[inline(never)]
    fn make_hot(&mut self, period: i64) {
        if matches!(&self.hot, Some(hot) if hot.start_ms == period) {
            return;
        }
        let next = match self.open.remove(&period) {
            Some(open) => open,
            None => reopen(&mut self.spare, period, self.period_ms),
        };
        self.park_hot();
        self.hot = Some(next);
    }

    /// Put the hot period back into `open`, before anything walks or drains the map.
    fn park_hot(&mut self) {
        if let Some(hot) = self.hot.take() {
            self.open.insert(hot.start_ms, hot);
        }
    }

    /// Move time forward to `now_ms` (the newest end seen, or the wall clock in the daemon):
    /// every period that can no longer change is closed.
    pub(crate) fn advance_to(&mut self, now_ms: i64) {
        if now_ms <= self.watermark_ms {
            return;
        }
        self.watermark_ms = now_ms;
        let horizon = now_ms.saturating_sub(self.settle_ms);
        self.closed_until_ms = self.closed_until_ms.max(horizon.div_euclid(1000) * 1000);
        // The sweep stops on whole seconds, so nothing is due until the horizon is a whole
        // second past it: most requests end within the same second as the one before and
        // skip the call (it was 2 % of `replay` in callgrind).
        if self
            .sweep
            .as_ref()
            .is_none_or(|sweep| horizon < sweep.swept_until_ms.saturating_add(1000))
        {
            return;
        }
        self.sweep_to(horizon.div_euclid(1000) * 1000);
    }

    /// End of input: settle everything that was observed and close all periods.
    pub fn finish(&mut self) {
        let Some(last) = self.sweep.as_ref().map(|s| s.last_end_ms) else {
            return;
        };
        let last_period_end = self.period_start(last.max(self.watermark_ms)) + self.period_ms;
        self.sweep_to(last_period_end);
        self.park_hot();
        while let Some((_, accumulator)) = self.open.pop_first() {
            self.close(accumulator);
        }
    }

    /// The period's signals to `closed`, its accumulator to `spare`.
    fn close(&mut self, mut accumulator: OpenPeriodSignals) {
        let signals = accumulator.finish(self.recycled.pop().unwrap_or_default());
        self.closed.push_back(signals);
        self.spare.push(accumulator);
    }

    /// Periods ending at or before this are closed, whether or not a request landed in them:
    /// `advance_to`'s time less `settle`, cut to the second (the sweep's whole seconds). A
    /// period with requests is popped by [`LogSignals::pop_closed`] once it is; one without
    /// any never appears there, and [`crate::derive::log_metrics::QuietPeriods`] finds it
    /// from this.
    pub(crate) fn closed_until_ms(&self) -> i64 {
        self.closed_until_ms
    }

    /// Whether [`LogSignals::pop_closed`] has a period to give.
    #[inline]
    pub(crate) fn has_closed(&self) -> bool {
        !self.closed.is_empty()
    }

    /// The next finished period, oldest first.
    pub(crate) fn pop_closed(&mut self) -> Option<PeriodSignals> {
        self.closed.pop_front()
    }

    /// Give a popped period back once it is written: the next period to close reuses its
    /// vectors instead of allocating its own (optional; `replay` does it).
    pub(crate) fn recycle(&mut self, period: PeriodSignals) {
        // `replay` hands back each one it pops; a few cover periods closing together.
        if self.recycled.len() < 4 {
            self.recycled.push(period);
        }
    }

    fn sweep_to(&mut self, target_ms: i64) {
        // Nothing to sum and, since every period ending by `swept_until` was closed when it
        // got there, nothing to close: the common case, one comparison.
        if self
            .sweep
            .as_ref()
            .is_none_or(|sweep| sweep.swept_until_ms >= target_ms)
        {
            return;
        }
        self.park_hot();
        let Some(sweep) = self.sweep.as_mut() else {
            return;
        };
        debug_assert_eq!(sweep.swept_until_ms % 1000, 0, "advance_to relies on whole seconds");
        let (period_ms, open, spare) = (self.period_ms, &mut self.open, &mut self.spare);
        sweep.run_to(target_ms, |second_start, sum, peak| {
            let period = second_start.div_euclid(period_ms) * period_ms;
            open.entry(period)
                .or_insert_with(|| reopen(spare, period, period_ms))
                .add_second(second_start, sum, peak);
        });
        let swept_until = sweep.swept_until_ms;
        while let Some(entry) = self.open.first_entry() {
            if *entry.key() + self.period_ms > swept_until {
                break;
            }
            let accumulator = entry.remove();
            self.close(accumulator);
        }
    }
}

/// An empty accumulator for `period`: a spare one if there is one.
fn reopen(spare: &mut Vec<OpenPeriodSignals>, period: i64, period_ms: i64) -> OpenPeriodSignals {
    match spare.pop() {
        Some(mut accumulator) => {
            accumulator.start_ms = period;
            accumulator
        }
        None => OpenPeriodSignals::new(period, period_ms),
    }
}

/// Difference array over a ring of 1 ms slots: `+1` where a request starts, `-1` where it
/// ends; running the prefix sum gives the number in flight per millisecond.
///
/// A bit per slot says which slots were written, so a quiet second is summed in a few steps
/// per 64 ms instead of 1000 (a log of a dozen requests a second spent most of its time
/// adding zeros, issue 22); a busy stretch of 64 ms takes the plain loop.
#[derive(Debug)]
struct InFlightSweep {
    /// A power of two long (at least 2048), so a slot is a mask rather than a division.
    deltas: Vec<i32>,
    /// Bit `slot % 64` of word `slot / 64`: `deltas[slot]` was written since it was summed.
    touched: Vec<u64>,
    /// Every slot before this has been summed into a finished second.
    swept_until_ms: i64,
    running: i64,
    last_end_ms: i64,
    second_sum: i64,
    second_peak: i64,
}

impl InFlightSweep {
    fn new(origin_ms: i64, settle_ms: i64) -> InFlightSweep {
        // The watermark runs at most settle + 1 s ahead of swept_until; keep a spare second.
        // At least 2048, so `touched` is whole words.
        let slots = (usize::try_from(settle_ms).unwrap_or(0) + 2_000).next_power_of_two();
        InFlightSweep {
            deltas: vec![0; slots],
            touched: vec![0; slots / 64],
            swept_until_ms: origin_ms,
            running: 0,
            last_end_ms: origin_ms,
            second_sum: 0,
            second_peak: 0,
        }
    }

    fn slot(&self, at_ms: i64) -> usize {
        // Two's complement: masking is `rem_euclid` for a power of two, negatives included.
        (at_ms & (self.deltas.len() as i64 - 1)) as usize
    }

    /// A request in flight over `[start, end)`; the caller keeps `end` within the ring.
    fn add(&mut self, start_ms: i64, end_ms: i64) {
        let start_ms = start_ms.max(self.swept_until_ms);
        if start_ms >= end_ms {
            return;
        }
        let (start, end) = (self.slot(start_ms), self.slot(end_ms));
        self.deltas[start] += 1;
        self.deltas[end] -= 1;
        self.touched[start / 64] |= 1 << (start % 64);
        self.touched[end / 64] |= 1 << (end % 64);
        self.last_end_ms = self.last_end_ms.max(end_ms);
    }

    /// Sum slots up to `target_ms` (exclusive), reporting each finished second as
    /// `(second_start, sum of in-flight over its 1000 ms, peak)`.
    fn run_to(&mut self, target_ms: i64, mut on_second: impl FnMut(i64, i64, i64)) {
        while self.swept_until_ms < target_ms {
            // Nothing pending and nothing running: jump over idle time a second at a time.
            if self.running == 0 && self.swept_until_ms >= self.last_end_ms && self.swept_until_ms % 1000 == 0 {
                let idle_until = target_ms.div_euclid(1000) * 1000;
                if idle_until > self.swept_until_ms {
                    self.swept_until_ms = idle_until;
                    self.last_end_ms = self.last_end_ms.max(idle_until);
                    continue;
                }
            }
            // Up to the end of this second (or the target), 64 slots (one word of `touched`)
            // at a time: no per-slot test for the second's end (the per-millisecond loop was
            // 2 % of `replay`).
            let second_end = (self.swept_until_ms.div_euclid(1000) + 1) * 1000;
            let until = second_end.min(target_ms);
            let (mut running, mut sum, mut peak) = (self.running, self.second_sum, self.second_peak);
            let mut at = self.swept_until_ms;
            while at < until {
                let slot = self.slot(at);
                let first = slot % 64;
                // The ring is whole words long, so a word never wraps.
                let len = (64 - first).min((until - at) as usize);
                let range = (u64::MAX >> (64 - len)) << first;
                let Some(word) = self.touched.get_mut(slot / 64) else {
                    break;
                };
                let mut written = (*word & range) >> first;
                *word &= !range;
                let Some(deltas) = self.deltas.get_mut(slot..slot + len) else {
                    break;
                };
                if written.count_ones() > SPARSE_SLOTS {
                    // Busy: the plain loop.
                    for delta in deltas {
                        running += i64::from(std::mem::take(delta));
                        sum += running;
                        peak = peak.max(running);
                    }
                } else {
                    // Quiet: `running` only changes at a written slot.
                    let mut summed = 0;
                    while written != 0 {
                        let next = written.trailing_zeros() as usize;
                        written &= written - 1;
                        if next > summed {
                            sum += running * (next - summed) as i64;
                            peak = peak.max(running);
                        }
                        if let Some(delta) = deltas.get_mut(next) {
                            running += i64::from(std::mem::take(delta));
                        }
                        sum += running;
                        peak = peak.max(running);
                        summed = next + 1;
                    }
                    if len > summed {
                        sum += running * (len - summed) as i64;
                        peak = peak.max(running);
                    }
                }
                at += len as i64;
            }
            (self.running, self.second_sum, self.second_peak) = (running, sum, peak);
            self.swept_until_ms = until;
            if until == second_end {
                if self.second_sum > 0 {
                    on_second(second_end - 1000, self.second_sum, self.second_peak);
                }
                self.second_sum = 0;
                self.second_peak = 0;
            }
        }
    }
}

/// Written slots in a word of `touched` above which summing slot by slot is cheaper than
/// jumping from one to the next.
const SPARSE_SLOTS: u32 = 16;

#[derive(Debug)]
struct OpenPeriodSignals {
    start_ms: i64,
    period_ms: i64,
    completed: u64,
    by_class: [u64; 6],
    status_499: u64,
    status_5xx: u64,
    request_time: LatencyHistogram,
    upstream_response_time: LatencyHistogram,
    /// `(sum over the second's ms of in-flight, peak)` per second of the period.
    seconds: Vec<(i64, i64)>,
    breakdown: HashMap<Box<[u8]>, BreakdownRow>,
    breakdown_other: BreakdownRow,
}

impl OpenPeriodSignals {
    fn new(start_ms: i64, period_ms: i64) -> OpenPeriodSignals {
        OpenPeriodSignals {
            start_ms,
            period_ms,
            completed: 0,
            by_class: [0; 6],
            status_499: 0,
            status_5xx: 0,
            request_time: LatencyHistogram::new(),
            upstream_response_time: LatencyHistogram::new(),
            seconds: vec![(0, 0); (period_ms / 1000) as usize],
            breakdown: HashMap::new(),
            breakdown_other: BreakdownRow {
                value: OTHER.into(),
                ..BreakdownRow::default()
            },
        }
    }

    fn add(&mut self, request: &CompletedRequest<'_>, breakdown_cap: usize) {
        self.completed += 1;
        let class = match request.status {
            100..=599 => usize::from(request.status / 100 - 1),
            _ => 5,
        };
        self.by_class[class] += 1;
        let is_499 = request.status == 499;
        let is_5xx = class == 4;
        self.status_499 += u64::from(is_499);
        self.status_5xx += u64::from(is_5xx);
        if let Some(us) = request.request_time_us {
            self.request_time.record(us);
        }
        if let Some(us) = request.upstream_time_us {
            self.upstream_response_time.record(us);
        }
        if let Some(value) = request.breakdown {
            if self.breakdown.len() < breakdown_cap && !self.breakdown.contains_key(value) {
                self.breakdown.insert(
                    value.into(),
                    BreakdownRow {
                        value: String::from_utf8_lossy(value).into_owned(),
                        ..BreakdownRow::default()
                    },
                );
            }
            let row = match self.breakdown.get_mut(value) {
                Some(row) => row,
                None => &mut self.breakdown_other,
            };
            row.completed += 1;
            row.status_499 += u64::from(is_499);
            row.status_5xx += u64::from(is_5xx);
        }
    }

    fn add_second(&mut self, second_start_ms: i64, sum: i64, peak: i64) {
        let index = ((second_start_ms - self.start_ms) / 1000) as usize;
        if let Some(slot) = self.seconds.get_mut(index) {
            *slot = (sum, peak);
        }
    }

    /// The period's signals, written into `signals` (a recycled one: its vectors are reused).
    /// Leaves the accumulator empty, as [`OpenPeriodSignals::new`] makes it, for another period.
    fn finish(&mut self, mut signals: PeriodSignals) -> PeriodSignals {
        let total_ms: i64 = self.seconds.iter().map(|&(sum, _)| sum).sum();
        let mut breakdown = std::mem::take(&mut signals.breakdown);
        breakdown.clear();
        breakdown.extend(self.breakdown.drain().map(|(_, row)| row));
        breakdown.sort_by(|a, b| a.value.cmp(&b.value));
        if self.breakdown_other.completed > 0 {
            breakdown.push(self.breakdown_other.clone());
        }
        self.breakdown_other = BreakdownRow {
            value: std::mem::take(&mut self.breakdown_other.value),
            ..BreakdownRow::default()
        };
        let mut in_flight_per_second = std::mem::take(&mut signals.in_flight_per_second);
        in_flight_per_second.clear();
        in_flight_per_second.extend(self.seconds.iter().map(|&(sum, peak)| SecondInFlight {
            average: sum as f64 / 1000.0,
            peak: peak.max(0) as u64,
        }));
        let finished = PeriodSignals {
            start_ms: self.start_ms,
            period_ms: self.period_ms,
            completed: std::mem::take(&mut self.completed),
            by_class: std::mem::take(&mut self.by_class),
            status_499: std::mem::take(&mut self.status_499),
            status_5xx: std::mem::take(&mut self.status_5xx),
            request_time: self.request_time.take_quantiles(),
            upstream_response_time: self.upstream_response_time.take_quantiles(),
            in_flight_average: total_ms as f64 / self.period_ms as f64,
            in_flight_peak: self.seconds.iter().map(|&(_, peak)| peak).max().unwrap_or(0).max(0) as u64,
            in_flight_per_second,
            breakdown,
        };
        self.seconds.fill((0, 0));
        finished
    }
}

/// Log-linear histogram of microseconds: exact below 256 µs, then 128 buckets per power of
/// two (a bucket's middle is within 0.4 % of any value in it), up to 2^41 µs (25 days);
/// larger values are clamped. Fixed size (4480 counters, 18 KB), so memory does not grow
/// with traffic.
#[derive(Debug, Clone)]
pub(crate) struct LatencyHistogram {
    counts: Box<[u32]>,
    total: u64,
    sum_micros: u64,
}

const SUB_BUCKET_BITS: u32 = 7;
const SUB_BUCKETS: u64 = 1 << SUB_BUCKET_BITS;
const MAX_MSB: u32 = 40;
const BUCKETS: usize = ((MAX_MSB - SUB_BUCKET_BITS + 2) as usize) * SUB_BUCKETS as usize;
/// Buckets [`LatencyHistogram::take_quantiles`] skips at once when they are all empty.
const EMPTY_RUN: usize = 16;
const _: () = assert!(BUCKETS.is_multiple_of(EMPTY_RUN));

/// The first block from `from` with a count, or `blocks.len()`. A loop of its own: so LLVM
/// makes the test four 16-byte ORs and one compare (inlined into the loop that reads the
/// counts, it loaded them one by one).
#[inline(never)]
fn first_nonempty(blocks: &[[u32; EMPTY_RUN]], mut from: usize) -> usize {
    while let Some(block) = blocks.get(from) {
        if block.iter().fold(0, |any, &count| any | count) != 0 {
            break;
        }
        from += 1;
    }
    from
}

impl Default for LatencyHistogram {
    fn default() -> Self {
        LatencyHistogram::new()
    }
}

impl LatencyHistogram {
    pub fn new() -> LatencyHistogram {
        LatencyHistogram {
            counts: vec![0; BUCKETS].into_boxed_slice(),
            total: 0,
            sum_micros: 0,
        }
    }

    fn index(value: u64) -> usize {
        let value = value.min((1u64 << (MAX_MSB + 1)) - 1);
        if value < SUB_BUCKETS {
            return value as usize;
        }
        let msb = 63 - value.leading_zeros();
        let shift = msb - SUB_BUCKET_BITS;
        ((u64::from(shift) + 1) * SUB_BUCKETS + (value >> shift) - SUB_BUCKETS) as usize
    }

    /// The middle of bucket `index`.
    fn representative(index: usize) -> u64 {
        let index = index as u64;
        if index < SUB_BUCKETS {
            return index;
        }
        let shift = index / SUB_BUCKETS - 1;
        let lower = (index % SUB_BUCKETS + SUB_BUCKETS) << shift;
        lower + ((1u64 << shift) - 1) / 2
    }

    pub fn record(&mut self, micros: u64) {
        let slot = &mut self.counts[Self::index(micros)];
        *slot = slot.saturating_add(1);
        self.total += 1;
        self.sum_micros = self.sum_micros.saturating_add(micros);
    }

    #[cfg(test)]
    pub fn count(&self) -> u64 {
        self.total
    }

    /// The value (µs) at quantile `q` in `[0, 1]`, or `None` if empty.
    #[cfg(test)]
    pub(crate) fn quantile_micros(&self, q: f64) -> Option<u64> {
        if self.total == 0 {
            return None;
        }
        let rank = ((q.clamp(0.0, 1.0) * self.total as f64).ceil() as u64).max(1);
        let mut seen = 0u64;
        for (index, &count) in self.counts.iter().enumerate() {
            seen += u64::from(count);
            if seen >= rank {
                return Some(Self::representative(index));
            }
        }
        None
    }

    #[cfg(test)]
    pub fn quantiles(&self) -> Quantiles {
        let seconds = |q| self.quantile_micros(q).map(|us| us as f64 / 1e6);
        Quantiles {
            p50: seconds(0.5),
            p90: seconds(0.9),
            p99: seconds(0.99),
            count: self.total,
            sum_micros: self.sum_micros,
        }
    }

    /// [`LatencyHistogram::quantiles`], and the histogram left empty for the next period: one
    /// pass for the three ranks instead of one each, that skips 16 empty buckets at a time,
    /// empties what it reads and stops at the last value. A closed period used to cost a new
    /// 18 KB histogram and three scans from the first bucket; with few requests a period that
    /// was most of its cost (issue 22).
    pub(crate) fn take_quantiles(&mut self) -> Quantiles {
        let total = std::mem::take(&mut self.total);
        let sum_micros = std::mem::take(&mut self.sum_micros);
        if total == 0 {
            return Quantiles::default();
        }
        let rank = |q: f64| ((q * total as f64).ceil() as u64).max(1);
        let ranks = [rank(0.5), rank(0.9), rank(0.99)];
        let mut found = [None; 3];
        let (mut next, mut seen) = (0, 0u64);
        let (blocks, _) = self.counts.as_chunks_mut::<EMPTY_RUN>();
        let mut block_index = 0;
        while seen < total {
            block_index = first_nonempty(blocks, block_index);
            let Some(block) = blocks.get_mut(block_index) else {
                break;
            };
            for (offset, count) in block.iter_mut().enumerate() {
                seen += u64::from(std::mem::take(count));
                while next < ranks.len() && seen >= ranks[next] {
                    found[next] = Some(Self::representative(block_index * EMPTY_RUN + offset) as f64 / 1e6);
                    next += 1;
                }
            }
            block_index += 1;
        }
        // A saturated bucket holds less than was recorded: then `seen` never reaches `total`
        // and the scan empties every bucket.
        let [p50, p90, p99] = found;
        Quantiles {
            p50,
            p90,
            p99,
            count: total,
            sum_micros,
        }
    }
}

#[cfg(test)]
mod tests;
