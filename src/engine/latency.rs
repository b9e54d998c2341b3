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
    let mut out = PingOutcome {
        warmup_round_trips: 0,
        recorder: LatencyRecorder::new(),
        measured_ns: 0,
        intervals: IntervalCounter::new(interval_ns, expected_intervals),
        interval_latency: Vec::with_capacity(expected_intervals + 2),
    };
    let mut slot_recorder = LatencyRecorder::new();
    let mut slot = 0usize;
    let result = (|| {
        let warm_end = Instant::now() + phase.warmup;
        while Instant::now() < warm_end && !phase.stopped() {
            stream.send_message(request.as_slice())?;
            stream.recv_exact(reply)?;
            out.warmup_round_trips += 1;
        }
        progress.start_measuring();
        let measured_start = Instant::now();
        let mut count = 0u64;
        let mut latency_sum = 0u64;
        loop {
            let t0 = Instant::now();
            match phase.count {
                Some(limit) if count >= limit => break,
                None if t0.saturating_duration_since(measured_start) >= phase.duration => break,
                _ if phase.stopped() => break,
                _ => {}
            }
            stream.send_message(request.as_slice())?;
            stream.recv_exact(reply)?;
            let t1 = Instant::now();
            let rtt = t1.saturating_duration_since(t0).as_nanos() as u64;
            out.recorder.record(rtt);
            count += 1;
            latency_sum += rtt;
            let offset = t1.saturating_duration_since(measured_start).as_nanos() as u64;
            let this_slot = out.intervals.slot(offset);
            if this_slot != slot {
                close_slot(&mut out, &mut slot_recorder, slot);
                slot = this_slot;
            }
            slot_recorder.record(rtt);
            out.intervals.add(offset, 2 * size as u64, 1);
            out.measured_ns = offset;
            progress.publish(0, count, latency_sum);
        }
        Ok(())
    })();
    close_slot(&mut out, &mut slot_recorder, slot);
    let finished = stream.finish();
    (out, result.err().or(finished.err()))
}

/// Keeps the finished slot's histogram. This allocates once per interval, between two round trips,
/// never inside a timed region.
pub(crate) fn close_slot(out: &mut PingOutcome, slot_recorder: &mut LatencyRecorder, slot: usize) {
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
