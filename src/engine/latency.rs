//! Ping-pong latency: the client sends a message and waits for the server to echo it whole; every round
//! trip of the measured phase is one histogram sample (nothing is dropped). Figures are round-trip times.
//! A ping-pong has one request in flight, so it records exactly what it measures: no coordinated omission
//! correction applies.

use crate::engine::buffer::AlignedBuffer;
use crate::engine::progress::Progress;
use crate::engine::Phase;
use crate::stats::{IntervalCounter, LatencyRecorder};
use crate::transport::{DataStream, TransportError};
use std::time::Instant;

/// The round trips completed in one interval slot.
#[derive(Debug, Clone)]
pub struct IntervalLatency {
    pub slot: usize,
    pub recorder: LatencyRecorder,
}

/// What one pinging stream measured.
#[derive(Debug, Clone)]
pub struct PingOutcome {
    pub warmup_round_trips: u64,
    pub recorder: LatencyRecorder,
    pub measured_ns: u64,
    pub intervals: IntervalCounter,
    pub interval_latency: Vec<IntervalLatency>,
}

/// The per-sample bookkeeping of a ping loop, TCP or RDMA: every round trip into the histogram, the
/// interval counters and the interval's own histogram, and the live progress. It allocates only when an
/// interval closes, between two round trips.
pub struct LatencySampler {
    out: PingOutcome,
    slot_recorder: LatencyRecorder,
    slot: usize,
    count: u64,
    latency_sum: u64,
    measured_start: Instant,
}

impl LatencySampler {
    /// A sampler for intervals of `interval_ns`, with room for `expected_intervals` ahead.
    pub fn new(interval_ns: u64, expected_intervals: usize) -> Self {
        LatencySampler {
            out: PingOutcome {
                warmup_round_trips: 0,
                recorder: LatencyRecorder::new(),
                measured_ns: 0,
                intervals: IntervalCounter::new(interval_ns, expected_intervals),
                interval_latency: Vec::with_capacity(expected_intervals + 2),
            },
            slot_recorder: LatencyRecorder::new(),
            slot: 0,
            count: 0,
            latency_sum: 0,
            measured_start: Instant::now(),
        }
    }

    /// Counts one warm-up round trip (not sampled).
    pub fn warmup_round_trip(&mut self) {
        self.out.warmup_round_trips += 1;
    }

    /// The measured phase starts now.
    pub fn start_measuring(&mut self, progress: &Progress) {
        progress.start_measuring();
        self.measured_start = Instant::now();
    }

    /// Whether the measured phase is over before a round trip that would start at `t0`.
    #[inline]
    pub fn done(&self, phase: &Phase, t0: Instant) -> bool {
        match phase.count {
            Some(limit) => self.count >= limit,
            None => t0.saturating_duration_since(self.measured_start) >= phase.duration,
        }
    }

    /// One round trip from `t0` to `t1` that moved `bytes` (both directions).
    #[inline]
    pub fn record(&mut self, t0: Instant, t1: Instant, bytes: u64, progress: &Progress) {
        let rtt = t1.saturating_duration_since(t0).as_nanos() as u64;
        self.out.recorder.record(rtt);
        self.count += 1;
        self.latency_sum += rtt;
        let offset = t1.saturating_duration_since(self.measured_start).as_nanos() as u64;
        let this_slot = self.out.intervals.slot(offset);
        if this_slot != self.slot {
            close_slot(&mut self.out, &mut self.slot_recorder, self.slot);
            self.slot = this_slot;
        }
        self.slot_recorder.record(rtt);
        self.out.intervals.add(offset, bytes, 1);
        self.out.measured_ns = offset;
        progress.publish(0, self.count, self.latency_sum);
    }

    /// What was measured, the last interval's histogram kept.
    pub fn finish(mut self) -> PingOutcome {
        close_slot(&mut self.out, &mut self.slot_recorder, self.slot);
        self.out
    }
}

/// Runs the client's side of a ping-pong.
pub fn ping_loop(
    stream: &mut dyn DataStream,
    size: usize,
    phase: &Phase,
    interval_ns: u64,
    expected_intervals: usize,
    progress: &Progress,
) -> (PingOutcome, Option<TransportError>) {
    let request = AlignedBuffer::new(size, 0x5A);
    let mut reply_storage = AlignedBuffer::new(size, 0);
    let reply = reply_storage.as_mut_slice();
    let mut sampler = LatencySampler::new(interval_ns, expected_intervals);
    let result = (|| {
        let warm_end = Instant::now() + phase.warmup;
        while Instant::now() < warm_end && !phase.stopped() {
            stream.send_message(request.as_slice())?;
            stream.recv_exact(reply)?;
            sampler.warmup_round_trip();
        }
        sampler.start_measuring(progress);
        loop {
            let t0 = Instant::now();
            if sampler.done(phase, t0) || phase.stopped() {
                break;
            }
            stream.send_message(request.as_slice())?;
            stream.recv_exact(reply)?;
            sampler.record(t0, Instant::now(), 2 * size as u64, progress);
        }
        Ok(())
    })();
    let out = sampler.finish();
    let finished = stream.finish();
    (out, result.err().or(finished.err()))
}

/// Keeps the finished slot's histogram. This allocates once per interval, between two round trips,
/// never inside a timed region.
fn close_slot(out: &mut PingOutcome, slot_recorder: &mut LatencyRecorder, slot: usize) {
    if slot_recorder.count() > 0 {
        let recorder = std::mem::take(slot_recorder);
        out.interval_latency
            .push(IntervalLatency { slot, recorder });
    }
}

/// Runs the server's side: echoes each whole message until the client finishes. Returns messages echoed.
pub fn echo_loop(stream: &mut dyn DataStream, size: usize) -> (u64, Option<TransportError>) {
    let mut storage = AlignedBuffer::new(size, 0);
    let buf = storage.as_mut_slice();
    let mut echoed = 0u64;
    let result = (|| loop {
        let first = stream.recv_some(buf)?;
        if first == 0 {
            return stream.finish();
        }
        if first < size {
            stream.recv_exact(&mut buf[first..])?;
        }
        stream.send_message(buf)?;
        echoed += 1;
    })();
    (echoed, result.err())
}
