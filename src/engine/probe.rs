//! The latency probe: small round trips at a set rate on a connection of their own, beside a bandwidth
//! trial's traffic, so one report (or one soak sample) has both the bandwidth and the latency a small
//! message sees under that load.
//!
//! Pacing: round trip k is due at `start + k / rate`. One is in flight at a time; a slot that passes
//! while the previous round trip is still out is counted as missed, never sent late in a burst (a
//! burst would measure the probe's own queue). Every round trip is timed from its actual send, so the
//! figures are round-trip times; missed slots say how often the path was slower than the probe's
//! period.
//!
//! A soak cuts the probe into windows: the control thread asks ([`ProbeHandle::cut`]) and the probe
//! thread, between two round trips, answers with the window's count, percentiles and maximum and starts
//! a new one. It wakes for a call while it waits for its next slot, so a cut waits at most for a round
//! trip in flight. The whole measured phase's histogram is kept apart ([`ProbeOutcome::recorder`]); a
//! window's figures are computed once per cut, never per round trip.

use crate::engine::buffer::AlignedBuffer;
use crate::engine::Phase;
use crate::plan::ProbeSpec;
use crate::stats::LatencyRecorder;
use crate::transport::{DataStream, TransportError};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};

/// What the control thread (or a data thread) tells the probe thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProbeCall {
    /// Close the current window and send its figures.
    Cut,
    /// The side's data threads have all ended: the probe ends too.
    DataEnded,
}

/// One window of the probe (a soak sample's worth): round trips that completed in it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ProbeWindow {
    pub round_trips: u64,
    /// Null figures when no round trip completed in the window.
    pub p50_ns: Option<u64>,
    pub p99_ns: Option<u64>,
    pub max_ns: Option<u64>,
    /// Slots that passed while a round trip was in flight.
    pub missed_slots: u64,
    /// Length of the window on the probe thread's clock.
    pub seconds: f64,
}

/// What a cut found.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Cut {
    /// The round trips since the previous cut.
    Window(ProbeWindow),
    /// A round trip is still in flight: the next cut collects this one's answer too.
    InFlight,
    /// The probe has ended (with the data, or on an error) and handed over every window.
    Ended,
}

impl ProbeWindow {
    /// Two consecutive windows as one: counts and lengths add; the percentiles are the larger of the
    /// two (an upper bound of the joined window's), the maximum is exact.
    fn join(self, later: ProbeWindow) -> ProbeWindow {
        let larger = |a: Option<u64>, b: Option<u64>| a.max(b);
        ProbeWindow {
            round_trips: self.round_trips + later.round_trips,
            p50_ns: larger(self.p50_ns, later.p50_ns),
            p99_ns: larger(self.p99_ns, later.p99_ns),
            max_ns: larger(self.max_ns, later.max_ns),
            missed_slots: self.missed_slots + later.missed_slots,
            seconds: self.seconds + later.seconds,
        }
    }
}

/// What the probe measured over the trial.
#[derive(Debug, Clone, Default)]
pub struct ProbeOutcome {
    /// Every round trip of the measured phase.
    pub recorder: LatencyRecorder,
    pub warmup_round_trips: u64,
    /// Slots of the measured phase that passed while a round trip was in flight.
    pub missed_slots: u64,
    /// From the measured phase's start to the last round trip's end.
    pub measured_ns: u64,
}

/// The probe thread's ends of its two channels.
pub struct ProbeLink {
    calls: Receiver<ProbeCall>,
    windows: Sender<ProbeWindow>,
}

/// The control thread's ends: asks for windows, and (cloned into each data thread) says when the
/// data ended.
pub struct ProbeHandle {
    calls: Sender<ProbeCall>,
    windows: Receiver<ProbeWindow>,
    /// A cut was asked for and not answered yet.
    outstanding: std::cell::Cell<bool>,
}

/// The two ends of a probe's channels.
pub fn probe_channels() -> (ProbeHandle, ProbeLink) {
    let (calls_tx, calls_rx) = mpsc::channel();
    let (windows_tx, windows_rx) = mpsc::channel();
    (
        ProbeHandle {
            calls: calls_tx,
            windows: windows_rx,
            outstanding: std::cell::Cell::new(false),
        },
        ProbeLink {
            calls: calls_rx,
            windows: windows_tx,
        },
    )
}

impl ProbeHandle {
    /// A sender a data thread uses to say the data ended.
    pub fn notifier(&self) -> Sender<ProbeCall> {
        self.calls.clone()
    }

    /// Closes the probe's current window and waits up to `wait` for its figures. When a round trip
    /// outlasts `wait` the cut stays asked for: the next call collects that late answer, asks again,
    /// and joins the two windows, so its window runs from the previous cut to now.
    pub fn cut(&self, wait: Duration) -> Cut {
        let late = self.outstanding.get();
        let first = match self.ask_and_take(wait) {
            Cut::Window(w) if late => w,
            other => return other,
        };
        match self.ask_and_take(wait) {
            Cut::Window(now) => Cut::Window(first.join(now)),
            // The probe ended after its late answer: that answer is all there is.
            Cut::Ended => Cut::Window(first),
            Cut::InFlight => Cut::Window(first),
        }
    }

    /// Asks for a window (unless one is asked for already) and waits up to `wait` for one.
    fn ask_and_take(&self, wait: Duration) -> Cut {
        // A probe that has ended cannot be asked; what it handed over is still queued.
        if !self.outstanding.get() && self.calls.send(ProbeCall::Cut).is_ok() {
            self.outstanding.set(true);
        }
        match self.windows.recv_timeout(wait) {
            Ok(window) => {
                self.outstanding.set(false);
                Cut::Window(window)
            }
            Err(RecvTimeoutError::Timeout) => Cut::InFlight,
            Err(RecvTimeoutError::Disconnected) => Cut::Ended,
        }
    }
}

/// The round trips of the current window.
struct Window {
    recorder: LatencyRecorder,
    missed_slots: u64,
    opened: Instant,
}

impl Window {
    fn new() -> Window {
        Window {
            recorder: LatencyRecorder::new(),
            missed_slots: 0,
            opened: Instant::now(),
        }
    }

    /// The window's figures; the window starts again.
    fn close(&mut self) -> ProbeWindow {
        let count = self.recorder.count();
        let figure = |q: f64| (count > 0).then(|| self.recorder.value_at_quantile(q));
        let out = ProbeWindow {
            round_trips: count,
            p50_ns: figure(0.50),
            p99_ns: figure(0.99),
            max_ns: figure(1.0),
            missed_slots: self.missed_slots,
            seconds: self.opened.elapsed().as_secs_f64(),
        };
        self.recorder.reset();
        self.missed_slots = 0;
        self.opened = Instant::now();
        out
    }
}

/// The probe's pacing and its answers to calls.
struct Pacer {
    link: ProbeLink,
    period: Duration,
    next: Instant,
    window: Window,
    data_ended: bool,
}

impl Pacer {
    /// Waits for the next slot, answering cuts meanwhile. False when the probe should end.
    fn wait_for_slot(&mut self, phase: &Phase) -> bool {
        loop {
            if phase.stopped() || self.data_ended {
                return false;
            }
            let now = Instant::now();
            if now >= self.next {
                return true;
            }
            match self.link.calls.recv_timeout(self.next - now) {
                Ok(call) => self.answer(call),
                Err(RecvTimeoutError::Timeout) => return true,
                // Every sender is gone: the side has ended.
                Err(RecvTimeoutError::Disconnected) => return false,
            }
        }
    }

    /// Answers calls that came during a round trip.
    fn answer_pending(&mut self) {
        while let Ok(call) = self.link.calls.try_recv() {
            self.answer(call);
        }
    }

    fn answer(&mut self, call: ProbeCall) {
        match call {
            ProbeCall::Cut => {
                let _ = self.link.windows.send(self.window.close());
            }
            ProbeCall::DataEnded => self.data_ended = true,
        }
    }

    /// Slots that passed while the last round trip was out; the schedule moves past them.
    fn skip_missed(&mut self, now: Instant) -> u64 {
        let behind = now.saturating_duration_since(self.next);
        if behind < self.period {
            return 0;
        }
        let missed = (behind.as_nanos() / self.period.as_nanos().max(1)) as u64;
        self.next += self
            .period
            .saturating_mul(missed.min(u64::from(u32::MAX)) as u32);
        self.window.missed_slots += missed;
        missed
    }
}

/// One probe round trip on whatever carries the probe: a TCP connection of its own
/// ([`StreamRoundTrip`]) or an RDMA queue pair of its own (`engine::rdma_probe`).
pub trait RoundTrip {
    /// Sends the probe's message and waits for its echo.
    fn round_trip(&mut self) -> Result<(), TransportError>;
    /// Tells the peer the probe is done (its echo ends).
    fn finish(&mut self) -> Result<(), TransportError>;
}

/// The probe over a TCP connection: the message out, the same number of bytes back.
pub struct StreamRoundTrip<'a> {
    stream: &'a mut dyn DataStream,
    request: AlignedBuffer,
    reply: AlignedBuffer,
}

impl<'a> StreamRoundTrip<'a> {
    pub fn new(stream: &'a mut dyn DataStream, size: usize) -> StreamRoundTrip<'a> {
        StreamRoundTrip {
            stream,
            request: AlignedBuffer::new(size, 0x3C),
            reply: AlignedBuffer::new(size, 0),
        }
    }
}

impl RoundTrip for StreamRoundTrip<'_> {
    fn round_trip(&mut self) -> Result<(), TransportError> {
        self.stream.send_message(self.request.as_slice())?;
        self.stream.recv_exact(self.reply.as_mut_slice())
    }

    fn finish(&mut self) -> Result<(), TransportError> {
        self.stream.finish()
    }
}

/// Runs the probe's pinging side until the side's data ends (or the trial is stopped).
pub fn probe_loop(
    path: &mut dyn RoundTrip,
    spec: ProbeSpec,
    phase: &Phase,
    link: ProbeLink,
) -> (ProbeOutcome, Option<TransportError>) {
    let start = Instant::now();
    let measured_from = start + phase.warmup;
    let mut pacer = Pacer {
        link,
        period: Duration::from_secs_f64(1.0 / f64::from(spec.rate_per_s.max(1))),
        next: start,
        window: Window::new(),
        data_ended: false,
    };
    let mut out = ProbeOutcome::default();
    let result = (|| {
        while pacer.wait_for_slot(phase) {
            let t0 = Instant::now();
            let missed = pacer.skip_missed(t0);
            path.round_trip()?;
            let t1 = Instant::now();
            let rtt = t1.saturating_duration_since(t0).as_nanos() as u64;
            pacer.window.recorder.record(rtt);
            if t0 >= measured_from {
                out.recorder.record(rtt);
                out.missed_slots += missed;
                out.measured_ns = t1.saturating_duration_since(measured_from).as_nanos() as u64;
            } else {
                out.warmup_round_trips += 1;
            }
            pacer.next += pacer.period;
            pacer.answer_pending();
        }
        Ok(())
    })();
    // A cut asked for as the probe ends still gets its answer, and the round trips since the last cut
    // go out as a last window, so no sample loses them.
    pacer.answer_pending();
    if pacer.window.recorder.count() > 0 || pacer.window.missed_slots > 0 {
        let _ = pacer.link.windows.send(pacer.window.close());
    }
    let finished = path.finish();
    (out, result.err().or(finished.err()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window(round_trips: u64, p99: u64, seconds: f64) -> ProbeWindow {
        ProbeWindow {
            round_trips,
            p50_ns: Some(p99 / 2),
            p99_ns: Some(p99),
            max_ns: Some(p99 + 1),
            missed_slots: 1,
            seconds,
        }
    }

    #[test]
    fn a_late_answer_is_joined_with_a_fresh_cut_and_an_ended_probe_says_so() {
        let (handle, ProbeLink { calls, windows }) = probe_channels();
        let short = Duration::from_millis(10);
        // Nobody answers: the cut stays asked for.
        assert_eq!(handle.cut(short), Cut::InFlight);
        assert_eq!(calls.try_recv(), Ok(ProbeCall::Cut));
        // Its late answer comes; the next call takes it and asks again, unanswered: the late window.
        windows.send(window(10, 500, 1.0)).unwrap();
        assert_eq!(handle.cut(short), Cut::Window(window(10, 500, 1.0)));
        assert_eq!(calls.try_recv(), Ok(ProbeCall::Cut));
        // That cut's late answer, then a fresh cut answered at once: one window from both.
        windows.send(window(5, 900, 0.5)).unwrap();
        let probe = std::thread::spawn(move || {
            assert_eq!(calls.recv(), Ok(ProbeCall::Cut));
            windows.send(window(2, 300, 0.25)).unwrap();
            // The probe ends: both its ends of the channels go.
        });
        let joined = handle.cut(Duration::from_secs(5));
        probe.join().unwrap();
        assert_eq!(
            joined,
            Cut::Window(window(5, 900, 0.5).join(window(2, 300, 0.25)))
        );
        assert_eq!(handle.cut(short), Cut::Ended);
    }

    #[test]
    fn joined_windows_add_counts_and_keep_the_larger_percentiles() {
        let j = window(10, 500, 1.0).join(window(5, 900, 0.5));
        assert_eq!((j.round_trips, j.missed_slots), (15, 2));
        assert_eq!((j.p99_ns, j.max_ns), (Some(900), Some(901)));
        assert!((j.seconds - 1.5).abs() < 1e-12);
    }
}
