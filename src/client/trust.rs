//! What a client accepts from a server during a trial. A server is a peer like any other: one that
//! sends live updates forever, a result padded to the frame limit, counters that run backwards, or
//! intervals beyond the trial's end would otherwise hang the client, grow it without bound, or put
//! figures in the report that no trial could have produced. Every check here ends the trial as
//! incomplete with the reason, and keeps what the client measured itself.
//!
//! The bounds come from the trial's own plan and the protocol's constants (never from numbers the server
//! chose alone): the measured phase lasts at most [`ServerLimits::measured_bound_s`] (for
//! `--iterations`, at most [`MAX_INTERVALS`] intervals whatever the server's limits say), plus a grace.

use crate::control::limits::{interval_slots, MAX_CPU_INDEX, MAX_INTERVALS};
use crate::control::{ServerLimits, SideReport, ABSOLUTE_MAX_FRAME_BYTES};
use crate::model::report::DirectionFigures;
use crate::plan::TrialSpec;
use crate::units::seconds_saturating;
use std::time::{Duration, Instant};

/// Bytes of a result that do not depend on its length: link counters before, after and their deltas
/// (a NIC with many queues has thousands of `ethtool -S` counters), module monitors, errors.
const RESULT_BASE_BYTES: u64 = 4 << 20;
/// Bytes a result may spend per interval slot (one direction's figures are ~130-170 bytes of JSON).
const RESULT_BYTES_PER_SLOT: u64 = 256;
/// Added to the server's own grace (its stall timeout + 10 s, which the client does not know) before
/// the client stops waiting for a result.
const CLIENT_GRACE: Duration = Duration::from_secs(60);
/// Live updates a server may send beyond one per elapsed interval (the first, and one late tick).
const EXTRA_UPDATES: u64 = 3;
/// Time added to the elapsed time before counting the intervals a server may have sent updates for, so
/// a client whose control thread was held up (a loaded host) never reads a burst of queued updates as a
/// flood.
const PACING_SLACK: Duration = Duration::from_secs(1);

/// The limits one trial's server messages must keep.
#[derive(Debug, Clone)]
pub struct TrialBounds {
    /// Warm-up plus the longest measured phase.
    planned: Duration,
    grace: Duration,
    interval_s: f64,
    /// Longest the measured phase may have lasted by the server's clock, in seconds.
    measured_s: f64,
    slots: u64,
    streams: usize,
}

impl TrialBounds {
    /// Bounds for `spec` on a server that announced `limits`; `silence` is how long the client waits
    /// for any message at all.
    pub fn new(spec: &TrialSpec, limits: &ServerLimits, silence: Duration) -> Self {
        let measured = limits
            .measured_bound_s(spec)
            .min(MAX_INTERVALS as f64 * spec.interval_s);
        let grace = silence.saturating_add(CLIENT_GRACE);
        TrialBounds {
            planned: seconds_saturating(spec.warmup_s + measured),
            grace,
            interval_s: spec.interval_s,
            measured_s: measured + grace.as_secs_f64(),
            slots: interval_slots(spec, measured, grace.as_secs_f64()),
            streams: spec.streams as usize,
        }
    }

    /// Largest trial result frame accepted.
    pub fn result_limit(&self) -> u32 {
        let bytes = RESULT_BASE_BYTES
            .saturating_add(self.slots.saturating_mul(RESULT_BYTES_PER_SLOT))
            .min(u64::from(ABSOLUTE_MAX_FRAME_BYTES));
        bytes as u32
    }

    /// When the client stops waiting for the result of a trial that started at `started`.
    pub fn deadline(&self, started: Instant) -> Instant {
        let wait = self.planned.saturating_add(self.grace);
        started
            .checked_add(wait)
            .unwrap_or(started + Duration::from_secs(86_400 * 365))
    }

    /// How long the client waits past the trial's planned end, for the error message.
    pub fn planned_and_grace(&self) -> (Duration, Duration) {
        (self.planned, self.grace)
    }

    /// Checks the server's result; the error names what is implausible.
    pub fn check_result(&self, report: &SideReport) -> Result<(), String> {
        for (name, figures) in [("received", &report.received), ("posted", &report.posted)] {
            if let Some(f) = figures {
                self.check_direction(name, f)?;
            }
        }
        let most_errors = 2 * self.streams + 8;
        if report.errors.len() > most_errors {
            return Err(format!(
                "the server reported {} errors for {} streams",
                report.errors.len(),
                self.streams
            ));
        }
        if let Some(s) = &report.sharing {
            if s.most_at_once > s.other_trials || s.cpus_shared.len() > MAX_CPU_INDEX + 1 {
                return Err(format!(
                    "the server's note of the trials it ran beside this one is implausible: {} at most at \
                     once of {} in all, {} CPUs shared",
                    s.most_at_once,
                    s.other_trials,
                    s.cpus_shared.len()
                ));
            }
        }
        Ok(())
    }

    fn check_direction(&self, name: &str, f: &DirectionFigures) -> Result<(), String> {
        let implausible = |what: String| Err(format!("the server's {name} figures: {what}"));
        if f.intervals.len() as u64 > self.slots {
            return implausible(format!(
                "{} intervals, more than a trial of at most {:.1} s at {} s intervals has",
                f.intervals.len(),
                self.measured_s,
                self.interval_s
            ));
        }
        if !(f.duration_s.is_finite() && (0.0..=self.measured_s).contains(&f.duration_s)) {
            return implausible(format!(
                "a measured phase of {} s, beyond the trial's {:.1} s",
                f.duration_s, self.measured_s
            ));
        }
        let beyond = f.intervals.iter().find(|i| {
            !(i.start_s.is_finite() && i.end_s.is_finite())
                || i.start_s < 0.0
                || i.start_s > i.end_s
                || i.end_s > self.measured_s
        });
        if let Some(i) = beyond {
            return implausible(format!(
                "an interval from {} s to {} s, outside the trial's {:.1} s",
                i.start_s, i.end_s, self.measured_s
            ));
        }
        if f.per_stream.len() > self.streams {
            return implausible(format!(
                "{} streams in a trial of {}",
                f.per_stream.len(),
                self.streams
            ));
        }
        Ok(())
    }
}

/// Checks the server's live updates as they come: no more than one per interval (and a few), counters
/// that never run backwards, and times inside the trial.
#[derive(Debug, Clone)]
pub struct LiveUpdates {
    bounds: TrialBounds,
    started: Instant,
    received: u64,
    last_bytes: u64,
    last_messages: u64,
}

impl LiveUpdates {
    pub fn new(bounds: TrialBounds, started: Instant) -> Self {
        LiveUpdates {
            bounds,
            started,
            received: 0,
            last_bytes: 0,
            last_messages: 0,
        }
    }

    /// Accepts one update (its elapsed seconds and running totals) or says why it is implausible.
    pub fn check(&mut self, elapsed_s: f64, bytes: u64, messages: u64) -> Result<(), String> {
        self.received += 1;
        let elapsed = self.started.elapsed().as_secs_f64();
        let slack = PACING_SLACK.as_secs_f64().max(3.0 * self.bounds.interval_s);
        let allowed = ((elapsed + slack) / self.bounds.interval_s).floor() as u64 + EXTRA_UPDATES;
        if self.received > allowed {
            return Err(format!(
                "the server sent {} live updates in {elapsed:.1} s of {} s intervals",
                self.received, self.bounds.interval_s
            ));
        }
        let latest = (self.bounds.planned + self.bounds.grace).as_secs_f64();
        if !(elapsed_s.is_finite() && (0.0..=latest).contains(&elapsed_s)) {
            return Err(format!(
                "the server's live update says {elapsed_s} s into a trial of at most {latest:.1} s"
            ));
        }
        if bytes < self.last_bytes || messages < self.last_messages {
            return Err(format!(
                "the server's running totals went backwards ({} to {bytes} bytes, {} to {messages} messages)",
                self.last_bytes, self.last_messages
            ));
        }
        self.last_bytes = bytes;
        self.last_messages = messages;
        Ok(())
    }
}

/// Reads arbitrary bytes as a server's frames the way a client does during a five-second trial: frames
/// bounded by the trial's result limit, live updates and the result checked. The fuzz target
/// `server_frames` and its regression test call this. Never panics.
pub fn decode_untrusted(data: &[u8]) {
    use crate::control::frame::read_frame_limited;
    use crate::control::ServerMessage;
    let spec = TrialSpec {
        transport: crate::plan::TransportKind::Tcp,
        test: crate::plan::TestKind::Bw,
        message_size: 65536,
        streams: 2,
        stop: crate::plan::StopCondition::Duration { seconds: 5.0 },
        warmup_s: 1.0,
        interval_s: 1.0,
        reverse: false,
        zerocopy: false,
        busy_poll: false,
        recv_mode: crate::plan::RecvMode::Copy,
        server_cpus: None,
        trial: 0,
        rdma: None,
        link_samples: true,
        probe: None,
    };
    let bounds = TrialBounds::new(&spec, &ServerLimits::default(), Duration::from_secs(13));
    let mut live = LiveUpdates::new(bounds.clone(), Instant::now());
    let mut wire = data;
    while let Ok(message) = read_frame_limited::<ServerMessage>(&mut wire, || bounds.result_limit())
    {
        match message {
            ServerMessage::Interval {
                elapsed_s,
                bytes,
                messages,
                ..
            } => {
                let _ = live.check(elapsed_s, bytes, messages);
            }
            // What the client then builds from the server's figures must not overflow either.
            ServerMessage::TrialResult { report } if bounds.check_result(&report).is_ok() => {
                let cpus = crate::model::CpuChoice {
                    cpus: vec![0],
                    source: crate::engine::pinning::CpuSource::Spread,
                };
                let own = crate::engine::SideOutcome::default();
                let _ = crate::results::build_result(&spec, &own, &cpus, &report, true);
            }
            ServerMessage::Refused { message, .. } | ServerMessage::Error { message } => {
                let _ = crate::text::escape_control(&message);
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{StopCondition, TestKind, TransportKind};
    use crate::stats::IntervalFigures;

    fn spec(stop: StopCondition) -> TrialSpec {
        TrialSpec {
            transport: TransportKind::Tcp,
            test: TestKind::Bw,
            message_size: 65536,
            streams: 2,
            stop,
            warmup_s: 1.0,
            interval_s: 1.0,
            reverse: false,
            zerocopy: false,
            busy_poll: false,
            recv_mode: Default::default(),
            server_cpus: None,
            trial: 0,
            rdma: None,
            link_samples: false,
            probe: None,
        }
    }

    fn interval(start_s: f64, end_s: f64) -> IntervalFigures {
        IntervalFigures {
            start_s,
            end_s,
            bytes: 1,
            messages: 1,
            bits_per_second: 8.0,
            messages_per_second: 1.0,
            latency_round_trip_ns: None,
        }
    }

    #[test]
    fn a_server_that_claims_the_impossible_is_named() {
        let limits = ServerLimits {
            max_duration_s: 1e300,
            ..ServerLimits::default()
        };
        let silence = Duration::from_secs(13);
        let bounds = TrialBounds::new(
            &spec(StopCondition::Duration { seconds: 5.0 }),
            &limits,
            silence,
        );
        let mut figures = DirectionFigures {
            direction: crate::model::report::Direction::ClientToServer,
            bytes: 1,
            messages: 1,
            warmup_bytes: 0,
            duration_s: 5.0,
            bits_per_second: 1.0,
            messages_per_second: 1.0,
            sent_bytes: 1,
            per_stream: Vec::new(),
            intervals: (0..5).map(|i| interval(i as f64, i as f64 + 1.0)).collect(),
        };
        let mut report = SideReport {
            received: Some(figures.clone()),
            ..SideReport::default()
        };
        assert_eq!(bounds.check_result(&report), Ok(()));
        figures.intervals.push(interval(1e6, 1e6 + 1.0));
        report.received = Some(figures.clone());
        assert!(bounds
            .check_result(&report)
            .unwrap_err()
            .contains("outside"));
        figures.intervals = (0..1_000_000).map(|_| interval(0.0, 1.0)).collect();
        report.received = Some(figures);
        assert!(bounds
            .check_result(&report)
            .unwrap_err()
            .contains("intervals"));
        // An iterations trial is bounded by the protocol's interval count, not the server's limits.
        let it = TrialBounds::new(
            &spec(StopCondition::Iterations { count: 9 }),
            &limits,
            silence,
        );
        assert!(it.measured_s <= MAX_INTERVALS as f64 + 73.0 + 1.0);
        assert!(bounds.result_limit() < 5 << 20);
        assert!(it.result_limit() > 28 << 20, "100,000 intervals fit");
        assert!(it.result_limit() <= ABSOLUTE_MAX_FRAME_BYTES);
    }

    #[test]
    fn live_updates_must_keep_pace_and_never_run_backwards() {
        let bounds = TrialBounds::new(
            &spec(StopCondition::Duration { seconds: 5.0 }),
            &ServerLimits::default(),
            Duration::from_secs(13),
        );
        let mut live = LiveUpdates::new(bounds.clone(), Instant::now());
        assert_eq!(live.check(1.0, 100, 1), Ok(()));
        assert!(live.check(1.1, 50, 1).unwrap_err().contains("backwards"));
        let mut flood = LiveUpdates::new(bounds.clone(), Instant::now());
        let results: Vec<_> = (0..20).map(|i| flood.check(1.0, i, i)).collect();
        assert!(
            results[..6].iter().all(|r| r.is_ok()),
            "a burst inside the slack"
        );
        assert!(results.iter().any(|r| r.is_err()), "twenty updates at once");
        let mut late = LiveUpdates::new(bounds, Instant::now());
        assert!(late.check(1e9, 1, 1).unwrap_err().contains("into a trial"));
    }
}
