//! Events of the pipelines: each sample's outcome, the hand-off of a closed period to the
//! outputs, and the access log's lines and periods.

use std::time::SystemTime;

use crate::model::BadLine;
use crate::stats::{unix_ms, Stats};

/// A sample gave PendingRequests from stub_status (and the kernel, if read).
#[derive(Debug)]
pub(crate) struct SampleTaken {
    pub pending: u64,
    pub at: SystemTime,
}

impl SampleTaken {
    pub(crate) fn emit(self, stats: &Stats) {
        Stats::bump(&stats.samples_ok);
        Stats::set(&stats.last_sample_ok_unix_ms, unix_ms(self.at));
        Stats::set(&stats.live.pending, self.pending);
        Stats::set(&stats.live.saturated, 0);
    }
}

/// stub_status did not answer but the kernel showed load: PendingRequests is published high.
#[derive(Debug)]
pub(crate) struct SampleSaturated {
    pub pending: u64,
    pub at: SystemTime,
}

impl SampleSaturated {
    pub(crate) fn emit(self, stats: &Stats) {
        Stats::bump(&stats.samples_saturated);
        Stats::set(&stats.last_sample_ok_unix_ms, unix_ms(self.at));
        Stats::set(&stats.live.pending, self.pending);
        Stats::set(&stats.live.saturated, 1);
        tracing::debug!(
            value = self.pending,
            "nginx saturated: stub_status unanswered, kernel shows load"
        );
    }
}

/// A sample found nothing to go on (its source's failure is logged by its own event).
#[derive(Debug)]
pub(crate) struct SampleBlind;

impl SampleBlind {
    pub(crate) fn emit(self, stats: &Stats) {
        Stats::bump(&stats.samples_failed);
    }
}

/// A period with no successful sample: nothing is published for it. Logged for the first
/// blind period of a run of them (`blind_in_a_row == 1`).
#[derive(Debug)]
pub(crate) struct PeriodBlind {
    pub(crate) period_start: SystemTime,
    pub(crate) failed_samples: u32,
    pub(crate) blind_in_a_row: u64,
}

impl PeriodBlind {
    pub(crate) fn emit(self, stats: &Stats) {
        Stats::bump(&stats.periods_blind);
        if self.blind_in_a_row == 1 {
            tracing::warn!(
                period_start = %humantime::format_rfc3339_seconds(self.period_start),
                failed_samples = self.failed_samples,
                "no sample of nginx succeeded in this period: publishing nothing for it (the alarm's TreatMissingData decides)"
            );
        }
    }
}

/// A period was published after `periods` blind ones.
#[derive(Debug)]
pub(crate) struct PublishingResumed {
    pub periods: u64,
}

impl PublishingResumed {
    pub(crate) fn emit(self) {
        tracing::info!(periods = self.periods, "nginx readable again; publishing resumes");
    }
}

/// Delivery's queue was full: this period's datapoint is dropped.
#[derive(Debug)]
pub(crate) struct DeliveryBehind;

impl DeliveryBehind {
    pub(crate) fn emit(self, stats: &Stats) {
        Stats::bump(&stats.datapoints_dropped);
        tracing::error!("delivery is not keeping up; dropped this period's datapoint");
    }
}

/// The EMF writer's queue was full: this period's line is dropped. `logged` is false for the
/// access log's datapoints (counted, not logged, as before).
#[derive(Debug)]
pub(crate) struct EmfBehind {
    pub logged: bool,
}

impl EmfBehind {
    pub(crate) fn emit(self, stats: &Stats) {
        Stats::bump(&stats.emf_lines_dropped);
        if self.logged {
            tracing::error!("the EMF output is not keeping up; dropped this period's line");
        }
    }
}

/// An access-log line was parsed.
#[derive(Debug)]
pub(crate) struct LogLineParsed;

impl LogLineParsed {
    pub(crate) fn emit(self, stats: &Stats) {
        Stats::bump(&stats.log.lines_parsed);
    }
}

/// A parsed line was left out of `log_concurrency` (access_log.concurrency_*).
#[derive(Debug)]
pub(crate) struct LogLineExcluded;

impl LogLineExcluded {
    pub(crate) fn emit(self, stats: &Stats) {
        Stats::bump(&stats.log.concurrency_excluded);
    }
}

/// An access-log line was skipped. Logged at debug only: a bad line is the log's, not the
/// exporter's, and a flood of them must not flood the journal.
#[derive(Debug)]
pub(crate) struct LogLineRejected<'a> {
    pub reason: BadLine,
    pub line: &'a [u8],
}

impl LogLineRejected<'_> {
    pub(crate) fn emit(self, stats: &Stats) {
        Stats::bump(&stats.log.lines_rejected[self.reason as usize]);
        tracing::debug!(reason = self.reason.label(), line = %String::from_utf8_lossy(self.line), "skipped an access-log line");
    }
}

/// A closed log period is not published because reading began inside it.
#[derive(Debug)]
pub(crate) struct LogPeriodPartial;

impl LogPeriodPartial {
    pub(crate) fn emit(self, stats: &Stats) {
        Stats::bump(&stats.log.periods_partial);
    }
}
