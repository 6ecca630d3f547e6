//! What one sample says `PendingRequests` is, including when nginx is saturated. The rules
//! take nginx's [`Answer`] (its counters' figures, or no answer, or a wrong one), never a
//! source's own types; "stub_status" below is the source that gives them today.
//!
//! Measured on nginx 1.22: when workers are stalled or out of `worker_connections`, the
//! stub_status request itself hangs or is refused exactly when the backlog is worst. The
//! connections then wait in the kernel's accept queue, or are accepted and dropped
//! (`accepts - handled` grows). So:
//!
//! - stub_status readable: the configured formula (default in-flight + accept queue);
//! - stub_status unanswered (timeout, refused, reset) while the kernel shows load (a
//!   non-empty accept queue, listen overflows, or dropped connections just before): nginx is
//!   saturated; the sample is the accept-queue depth plus the last in-flight value seen. It
//!   is never dropped: a missing datapoint would let the alarm go quiet at the worst moment;
//! - otherwise (nginx down, wrong URL, a page that is not stub_status): no value.

use crate::derive::Figures;
use crate::model::Unread;
use crate::sources::accept_queue::{KernelSample, ListenDrops};

/// How `PendingRequests` is computed from a readable sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Formula {
    /// Requests nginx is working on plus connections waiting in the accept queue (default).
    InFlightPlusAcceptQueue,
    /// Only what stub_status shows (no kernel signal).
    InFlight,
    /// Only the kernel's accept queue: connections nginx has not even accepted.
    AcceptQueue,
    /// From the access log, by Little's law: the `$request_time` of the requests completed
    /// since the last sample, summed, over the time between samples (the average number in
    /// flight, as far as completed requests tell).
    LogConcurrency,
}

impl Formula {
    pub const NAMES: [&'static str; 4] = ["in_flight+accept_queue", "in_flight", "accept_queue", "log_concurrency"];

    /// The name the config spells this formula with (`cloudwatch.pending`).
    pub fn name(self) -> &'static str {
        match self {
            Formula::InFlightPlusAcceptQueue => Self::NAMES[0],
            Formula::InFlight => Self::NAMES[1],
            Formula::AcceptQueue => Self::NAMES[2],
            Formula::LogConcurrency => Self::NAMES[3],
        }
    }

    pub fn parse(name: &str) -> Option<Formula> {
        match name {
            "in_flight+accept_queue" => Some(Formula::InFlightPlusAcceptQueue),
            "in_flight" => Some(Formula::InFlight),
            "accept_queue" => Some(Formula::AcceptQueue),
            "log_concurrency" => Some(Formula::LogConcurrency),
            _ => None,
        }
    }

    /// Whether the accept queue is read (also the evidence of saturation).
    pub(crate) fn uses_kernel(self) -> bool {
        self != Formula::InFlight
    }
}

/// Shown as the config spells it, so `check` and the logs print what the user can type.
impl std::fmt::Display for Formula {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Which logged requests the `log_concurrency` formula counts. Long-lived requests (WebSockets,
/// answered 101; server-sent events; long polls) end after minutes or hours and would then
/// pour their whole `$request_time` into the one period they end in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogConcurrencyFilter {
    /// Statuses left out (default: 101, a WebSocket or other protocol switch).
    pub(crate) exclude_status: Vec<u16>,
    /// Requests that ran longer than this are left out (default: none are).
    pub(crate) max_request_time_us: Option<u64>,
}

impl Default for LogConcurrencyFilter {
    fn default() -> Self {
        LogConcurrencyFilter {
            exclude_status: vec![101],
            max_request_time_us: None,
        }
    }
}

impl LogConcurrencyFilter {
    /// Whether a logged request with this status and `$request_time` counts.
    pub fn counts(&self, status: u16, request_time_us: u64) -> bool {
        !self.exclude_status.contains(&status) && self.max_request_time_us.is_none_or(|max| request_time_us <= max)
    }
}

/// How nginx answered this sample, whichever source asked (stub_status today).
#[derive(Debug, Clone, Copy)]
pub enum Answer<'a> {
    Read(&'a Figures),
    /// Timed out, refused or reset: what saturation looks like (and what "down" looks like).
    Unanswered,
    /// Answered with something that is not what was asked for: we cannot see nginx.
    Wrong,
}

impl From<Unread> for Answer<'_> {
    fn from(unread: Unread) -> Self {
        match unread {
            Unread::Unanswered => Answer::Unanswered,
            Unread::Wrong => Answer::Wrong,
        }
    }
}

/// The value of one sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pending {
    Measured(u64),
    Saturated(u64),
    Blind,
}

impl Pending {
    pub fn value(self) -> Option<u64> {
        match self {
            Pending::Measured(v) | Pending::Saturated(v) => Some(v),
            Pending::Blind => None,
        }
    }
}

/// Kernel counters turned into per-sample increases.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct KernelDeltas {
    pub(crate) listen_overflows: u64,
    pub(crate) listen_drops: u64,
}

#[derive(Debug)]
pub(crate) struct PendingDeriver {
    formula: Formula,
    last_in_flight: Option<u64>,
    last_drops: Option<ListenDrops>,
    /// The last readable sample showed connections accepted and dropped.
    dropping: bool,
}

impl PendingDeriver {
    pub fn new(formula: Formula) -> Self {
        PendingDeriver {
            formula,
            last_in_flight: None,
            last_drops: None,
            dropping: false,
        }
    }

    pub fn formula(&self) -> Formula {
        self.formula
    }

    /// `log_concurrency` is this sample's Little's-law value from the access log, when the
    /// formula needs it.
    pub fn observe(
        &mut self,
        nginx: Answer,
        kernel: Option<&KernelSample>,
        log_concurrency: Option<u64>,
    ) -> (Pending, KernelDeltas) {
        let deltas = self.kernel_deltas(kernel.and_then(|k| k.drops));
        let queue = kernel.map(|k| k.accept_queue);
        let listening = queue.is_some_and(|q| q.listeners > 0);
        let depth = queue.map_or(0, |q| q.depth);
        let pending = match nginx {
            Answer::Read(figures) => {
                self.last_in_flight = Some(figures.in_flight);
                self.dropping = figures.dropped_connections.unwrap_or(0) > 0;
                match self.formula {
                    Formula::InFlightPlusAcceptQueue => Pending::Measured(figures.in_flight + depth),
                    Formula::InFlight => Pending::Measured(figures.in_flight),
                    // No listening row for the configured ports: listen_ports is wrong, and a
                    // 0 from it would be a lie.
                    Formula::AcceptQueue if listening => Pending::Measured(depth),
                    Formula::AcceptQueue => Pending::Blind,
                    // nginx answers, so a quiet log means no requests: 0 is measured, not assumed.
                    Formula::LogConcurrency => log_concurrency.map_or(Pending::Blind, Pending::Measured),
                }
            }
            Answer::Unanswered => {
                let evidence = depth > 0 || deltas.listen_overflows > 0 || self.dropping;
                if listening && evidence {
                    Pending::Saturated(depth + self.last_in_flight.unwrap_or(0))
                } else {
                    Pending::Blind
                }
            }
            Answer::Wrong => Pending::Blind,
        };
        (pending, deltas)
    }

    fn kernel_deltas(&mut self, drops: Option<ListenDrops>) -> KernelDeltas {
        let previous = std::mem::replace(&mut self.last_drops, drops);
        match (previous, drops) {
            (Some(before), Some(now)) => KernelDeltas {
                listen_overflows: now.listen_overflows.saturating_sub(before.listen_overflows),
                listen_drops: now.listen_drops.saturating_sub(before.listen_drops),
            },
            _ => KernelDeltas::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::accept_queue::AcceptQueue;

    #[test]
    fn formulas_print_as_the_config_spells_them() {
        for (formula, name) in [
            (Formula::InFlightPlusAcceptQueue, "in_flight+accept_queue"),
            (Formula::InFlight, "in_flight"),
            (Formula::AcceptQueue, "accept_queue"),
            (Formula::LogConcurrency, "log_concurrency"),
        ] {
            assert_eq!(formula.to_string(), name);
            assert_eq!(Formula::parse(name), Some(formula));
        }
    }

    fn figures(in_flight: u64, dropped: u64) -> Figures {
        Figures {
            in_flight,
            reading: 0,
            writing: in_flight + 1,
            waiting: 0,
            active: in_flight + 1,
            requests_per_second: None,
            dropped_connections: Some(dropped),
        }
    }

    fn kernel(depth: u64, listeners: u32, overflows: u64) -> KernelSample {
        KernelSample {
            accept_queue: AcceptQueue {
                depth,
                limit: 511,
                listeners,
            },
            drops: Some(ListenDrops {
                listen_overflows: overflows,
                listen_drops: overflows,
            }),
        }
    }

    /// Feeds samples in order and checks each value.
    fn check(formula: Formula, samples: &[(Answer, Option<KernelSample>, Pending)]) {
        let mut deriver = PendingDeriver::new(formula);
        for (i, (stub, kernel, expected)) in samples.iter().enumerate() {
            let (got, _) = deriver.observe(*stub, kernel.as_ref(), None);
            assert_eq!(got, *expected, "sample {i}");
        }
    }

    #[test]
    fn readable_samples_follow_the_formula() {
        let f = figures(4, 0);
        let k = Some(kernel(3, 2, 0));
        check(
            Formula::InFlightPlusAcceptQueue,
            &[(Answer::Read(&f), k, Pending::Measured(7))],
        );
        check(Formula::InFlight, &[(Answer::Read(&f), k, Pending::Measured(4))]);
        check(Formula::AcceptQueue, &[(Answer::Read(&f), k, Pending::Measured(3))]);
        // Kernel unreadable: in-flight still stands on its own.
        check(
            Formula::InFlightPlusAcceptQueue,
            &[(Answer::Read(&f), None, Pending::Measured(4))],
        );
        // accept_queue without any listener on the configured ports has no honest value.
        check(
            Formula::AcceptQueue,
            &[(Answer::Read(&f), Some(kernel(0, 0, 0)), Pending::Blind)],
        );
    }

    #[test]
    fn unanswered_with_a_full_accept_queue_is_saturation_not_silence() {
        let f = figures(20, 0);
        check(
            Formula::InFlightPlusAcceptQueue,
            &[
                (Answer::Read(&f), Some(kernel(0, 1, 0)), Pending::Measured(20)),
                (Answer::Unanswered, Some(kernel(35, 1, 0)), Pending::Saturated(55)),
                // Even the in_flight formula reports high when saturated.
            ],
        );
        check(
            Formula::InFlight,
            &[
                (Answer::Read(&f), Some(kernel(0, 1, 0)), Pending::Measured(20)),
                (Answer::Unanswered, Some(kernel(35, 1, 0)), Pending::Saturated(55)),
            ],
        );
    }

    #[test]
    fn listen_overflows_or_dropped_connections_are_evidence_too() {
        let f = figures(8, 0);
        check(
            Formula::InFlightPlusAcceptQueue,
            &[
                (Answer::Read(&f), Some(kernel(0, 1, 100)), Pending::Measured(8)),
                // Queue drained to 0 at this instant, but SYNs overflowed since the last sample.
                (Answer::Unanswered, Some(kernel(0, 1, 130)), Pending::Saturated(8)),
            ],
        );
        let dropping = figures(8, 5);
        check(
            Formula::InFlightPlusAcceptQueue,
            &[
                (Answer::Read(&dropping), Some(kernel(0, 1, 0)), Pending::Measured(8)),
                (Answer::Unanswered, Some(kernel(0, 1, 0)), Pending::Saturated(8)),
            ],
        );
    }

    #[test]
    fn nginx_down_or_wrong_url_publishes_nothing() {
        let f = figures(2, 0);
        check(
            Formula::InFlightPlusAcceptQueue,
            &[
                (Answer::Read(&f), Some(kernel(0, 1, 0)), Pending::Measured(2)),
                // Stopped: refused, no listener, no load.
                (Answer::Unanswered, Some(kernel(0, 0, 0)), Pending::Blind),
                // Host-wide overflows from another service do not make a stopped nginx saturated.
                (Answer::Unanswered, Some(kernel(0, 0, 50)), Pending::Blind),
                // Listening but idle and unanswered: no evidence of load.
                (Answer::Unanswered, Some(kernel(0, 1, 50)), Pending::Blind),
                // A 404 or an HTML page is never saturation.
                (Answer::Wrong, Some(kernel(9, 1, 50)), Pending::Blind),
                (Answer::Unanswered, None, Pending::Blind),
            ],
        );
    }

    #[test]
    fn kernel_counters_become_increases() {
        let mut deriver = PendingDeriver::new(Formula::InFlightPlusAcceptQueue);
        let f = figures(0, 0);
        let (_, first) = deriver.observe(Answer::Read(&f), Some(&kernel(0, 1, 10)), None);
        assert_eq!(first, KernelDeltas::default(), "no increase without a previous reading");
        let (_, next) = deriver.observe(Answer::Read(&f), Some(&kernel(0, 1, 14)), None);
        assert_eq!(next.listen_overflows, 4);
        assert_eq!(next.listen_drops, 4);
    }

    #[test]
    fn formula_names_round_trip() {
        for name in Formula::NAMES {
            assert!(Formula::parse(name).is_some(), "{name}");
        }
        assert_eq!(Formula::parse("queue"), None);
    }

    #[test]
    fn log_concurrency_is_measured_when_nginx_answers() {
        let f = figures(9, 0);
        let mut deriver = PendingDeriver::new(Formula::LogConcurrency);
        let k = kernel(0, 1, 0);
        assert_eq!(
            deriver.observe(Answer::Read(&f), Some(&k), Some(4)).0,
            Pending::Measured(4)
        );
        assert_eq!(deriver.observe(Answer::Read(&f), Some(&k), None).0, Pending::Blind);
        // Saturated: the same rule as every formula.
        let busy = kernel(12, 1, 0);
        assert_eq!(
            deriver.observe(Answer::Unanswered, Some(&busy), Some(0)).0,
            Pending::Saturated(21)
        );
    }

    #[test]
    fn log_concurrency_filter_leaves_out_protocol_switches_and_overlong_requests() {
        let check = |filter: &LogConcurrencyFilter, status: u16, request_time_us: u64, expected: bool| {
            assert_eq!(
                filter.counts(status, request_time_us),
                expected,
                "{filter:?} status {status} {request_time_us} us"
            );
        };
        let default = LogConcurrencyFilter::default();
        check(&default, 200, 3_600_000_000, true);
        check(&default, 101, 1_000, false);
        let bounded = LogConcurrencyFilter {
            exclude_status: vec![],
            max_request_time_us: Some(60_000_000),
        };
        check(&bounded, 101, 1_000, true);
        check(&bounded, 200, 60_000_000, true);
        check(&bounded, 200, 60_000_001, false);
    }
}
