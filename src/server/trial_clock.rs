//! The server's own clock for a trial. A trial ends by warm-up + its measured phase + a grace, whatever
//! the client does: a client that trickles a byte every few seconds, or never closes its data
//! connections, cannot hold the server (or grow its per-interval figures) past that.
//!
//! The measured phase is the trial's duration, or for `--iterations` the longest the server allows
//! ([`crate::control::ServerLimits::measured_bound_s`]). The grace is twice the stall timeout plus
//! [`GRACE_EXTRA`]: a sender's finish may wait a stall timeout for zero-copy completions and another for
//! the last acknowledgements, and both sides need a moment to report.

use super::ServerConfig;
use crate::plan::TrialSpec;
use crate::units::seconds_saturating;
use std::time::{Duration, Instant};

/// Added to twice the stall timeout for the grace after a trial's planned end.
pub const GRACE_EXTRA: Duration = Duration::from_secs(10);
/// How long data threads get to stop once a trial was ended, beyond twice the stall timeout.
const JOIN_EXTRA: Duration = Duration::from_secs(5);

/// When a running trial must be over.
pub struct TrialClock {
    planned: Duration,
    grace: Duration,
    deadline: Instant,
    stall: Duration,
}

impl TrialClock {
    /// Starts the clock for `spec` now.
    pub fn new(config: &ServerConfig, spec: &TrialSpec) -> Self {
        let planned = seconds_saturating(spec.warmup_s + config.limits.measured_bound_s(spec));
        let grace = config
            .stall_timeout
            .saturating_mul(2)
            .saturating_add(GRACE_EXTRA);
        let now = Instant::now();
        TrialClock {
            planned,
            grace,
            deadline: now
                .checked_add(planned.saturating_add(grace))
                .unwrap_or(now + Duration::from_secs(86_400 * 365)),
            stall: config.stall_timeout,
        }
    }

    /// Whether the trial ran past its end.
    pub fn expired(&self) -> bool {
        Instant::now() >= self.deadline
    }

    /// What the report says when the server ended the trial by this clock.
    pub fn cut_message(&self) -> String {
        format!(
            "the server ended the trial at its own deadline, {:.1} s after it started ({:.1} s of warm-up \
             and measured phase + {:.1} s grace): the client had not finished by then",
            (self.planned + self.grace).as_secs_f64(),
            self.planned.as_secs_f64(),
            self.grace.as_secs_f64()
        )
    }

    /// How long data threads get to stop once the trial was ended early.
    pub fn join_bound(&self) -> Duration {
        self.stall.saturating_mul(2).saturating_add(JOIN_EXTRA)
    }
}
