//! Bandwidth workloads: a sender that streams fixed-size messages, first for the warm-up and then for the
//! measured phase, and a receiver that counts what arrives.
//!
//! The first byte of every message says which phase it belongs to ([`WARMUP_MARK`] or [`MEASURED_MARK`]),
//! so the receiver, which is the side that measures, separates the phases exactly in both duration and
//! iteration mode, whatever the network buffered. The receiver's clock starts when the last warm-up byte
//! has arrived (or when the stream starts, without warm-up) and stops at the last measured byte: like
//! perftest's "first post to last completion", seen from where the data lands.

use crate::engine::buffer::AlignedBuffer;
use crate::engine::progress::Progress;
use crate::engine::Phase;
use crate::stats::IntervalCounter;
use crate::transport::{DataStream, TransportError, ZeroCopyStats};
use std::time::Instant;

/// First byte of a warm-up message.
pub const WARMUP_MARK: u8 = b'W';
/// First byte of a measured message.
pub const MEASURED_MARK: u8 = b'M';

/// Receive buffer target: several messages per read for small sizes, like iperf3's 128 KiB reads.
const RECEIVE_CHUNK: usize = 256 * 1024;

/// What a sending stream did.
#[derive(Debug, Clone, Default)]
pub struct SendOutcome {
    pub warmup_messages: u64,
    pub messages: u64,
    pub bytes: u64,
    pub zerocopy: Option<ZeroCopyStats>,
}

/// What a receiving stream measured. Times are nanoseconds from the side's epoch.
#[derive(Debug, Clone)]
pub struct ReceiveOutcome {
    pub warmup_bytes: u64,
    pub bytes: u64,
    /// Whole measured messages.
    pub messages: u64,
    pub start_ns: u64,
    pub end_ns: u64,
    pub intervals: IntervalCounter,
}

/// A page-aligned message buffer whose first byte is `mark`; never written again (zero-copy may still be
/// reading it).
pub fn message_buffer(size: usize, mark: u8) -> AlignedBuffer {
    let mut buf = AlignedBuffer::new(size, 0xA5);
    buf.as_mut_slice()[0] = mark;
    buf
}

/// Streams messages until the phase plan says stop, then finishes the stream. On error, returns what was
/// sent so far with the error.
pub fn send_loop(
    stream: &mut dyn DataStream,
    size: usize,
    phase: &Phase,
    progress: &Progress,
) -> (SendOutcome, Option<TransportError>) {
    let warm = message_buffer(size, WARMUP_MARK);
    let measured = message_buffer(size, MEASURED_MARK);
    let mut out = SendOutcome::default();
    let result = (|| {
        let start = Instant::now();
        let warm_end = start + phase.warmup;
        while Instant::now() < warm_end && !phase.stopped() {
            stream.send_message(warm.as_slice())?;
            out.warmup_messages += 1;
        }
        progress.start_measuring();
        let measured_start = Instant::now();
        loop {
            match phase.count {
                Some(count) if out.messages >= count => break,
                None if measured_start.elapsed() >= phase.duration => break,
                _ if phase.stopped() => break,
                _ => {}
            }
            stream.send_message(measured.as_slice())?;
            out.messages += 1;
            out.bytes += size as u64;
            progress.publish(out.bytes, out.messages, 0);
        }
        stream.finish()
    })();
    out.zerocopy = stream.zerocopy_stats();
    (out, result.err())
}

/// Counts arriving messages until the peer finishes. On error, returns what was measured so far.
pub fn receive_loop(
    stream: &mut dyn DataStream,
    size: usize,
    epoch: Instant,
    interval_ns: u64,
    expected_intervals: usize,
    progress: &Progress,
) -> (ReceiveOutcome, Option<TransportError>) {
    let chunk = if size >= RECEIVE_CHUNK {
        RECEIVE_CHUNK
    } else {
        size * (RECEIVE_CHUNK / size)
    };
    let mut storage = AlignedBuffer::new(chunk, 0);
    let buf = storage.as_mut_slice();
    let ns_since = |t: Instant| t.saturating_duration_since(epoch).as_nanos() as u64;
    let mut out = ReceiveOutcome {
        warmup_bytes: 0,
        bytes: 0,
        messages: 0,
        start_ns: ns_since(Instant::now()),
        end_ns: 0,
        intervals: IntervalCounter::new(interval_ns, expected_intervals),
    };
    let mut last_read = Instant::now();
    let mut measuring = false;
    let mut current_measured = false;
    let mut offset_in_message = 0usize;
    let mut measured_start = last_read;
    let result = (|| loop {
        let n = stream.recv_some(buf)?;
        let now = Instant::now();
        if n == 0 {
            if offset_in_message != 0 {
                return Err(TransportError::PeerClosed);
            }
            return Ok(());
        }
        let mut pos = 0;
        let mut measured_bytes = 0u64;
        let mut measured_messages = 0u64;
        while pos < n {
            if offset_in_message == 0 {
                current_measured = match buf[pos] {
                    MEASURED_MARK => true,
                    WARMUP_MARK => false,
                    other => return Err(out_of_sync(other)),
                };
                if current_measured && !measuring {
                    measuring = true;
                    // The clock starts when the data before this read had arrived.
                    measured_start = last_read;
                    out.start_ns = ns_since(last_read);
                    progress.start_measuring();
                }
            }
            let take = (n - pos).min(size - offset_in_message);
            if current_measured {
                measured_bytes += take as u64;
            } else {
                out.warmup_bytes += take as u64;
            }
            offset_in_message += take;
            pos += take;
            if offset_in_message == size {
                offset_in_message = 0;
                measured_messages += u64::from(current_measured);
            }
        }
        if measured_bytes > 0 || measured_messages > 0 {
            out.bytes += measured_bytes;
            out.messages += measured_messages;
            out.end_ns = ns_since(now);
            let offset = now.saturating_duration_since(measured_start).as_nanos() as u64;
            out.intervals.add(offset, measured_bytes, measured_messages);
            progress.publish(out.bytes, out.messages, 0);
        }
        last_read = now;
    })();
    if out.end_ns < out.start_ns {
        out.end_ns = out.start_ns;
    }
    (out, result.err())
}

fn out_of_sync(byte: u8) -> TransportError {
    TransportError::io(
        "checking the phase mark of a message",
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!(
                "data stream out of sync: message starts with byte {byte:#04x}, not a phase mark"
            ),
        ),
    )
}
