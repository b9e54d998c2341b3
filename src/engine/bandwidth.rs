//! Bandwidth workloads: a sender that streams fixed-size messages, first for the warm-up and then for the
//! measured phase, and a receiver that counts what arrives.
//!
//! The first byte of every message says which phase it belongs to ([`WARMUP_MARK`] or [`MEASURED_MARK`]),
//! so the receiver, which is the side that measures, separates the phases exactly in both duration and
//! iteration mode, whatever the network buffered. The receiver's clock starts when the last warm-up byte
//! has arrived (or when the stream starts, without warm-up) and stops at the last measured byte: like
//! perftest's "first post to last completion", seen from where the data lands.
//!
//! The receiver takes data off the socket in the trial's receive mode: copied (`recv()`), dropped in the
//! kernel (`MSG_TRUNC`, after reading each message's first byte) or mapped (`TCP_ZEROCOPY_RECEIVE`).
//! The marks stay readable in every mode, so the boundary is exact in all three.

use crate::engine::buffer::AlignedBuffer;
use crate::engine::progress::Progress;
use crate::engine::Phase;
use crate::model::ReceiveStats;
use crate::stats::IntervalCounter;
use crate::transport::{Chunk, DataStream, RecvMode, TransportError, ZeroCopyStats};
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
    /// How the bytes came off the socket (warm-up included).
    pub receive: ReceiveStats,
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

/// Splits received bytes into messages by their phase marks, across chunk boundaries.
struct PhaseWalker {
    size: usize,
    offset_in_message: usize,
    current_measured: bool,
    measuring: bool,
}

/// What one chunk held.
#[derive(Default)]
struct Walked {
    warmup_bytes: u64,
    measured_bytes: u64,
    measured_messages: u64,
    /// The first measured byte was in this chunk.
    measuring_started: bool,
}

impl PhaseWalker {
    /// Walks `n` bytes; `data` holds them when they were read (copied or mapped), `None` when they were
    /// dropped in the kernel, which the receive modes never do across a message's start.
    fn walk(&mut self, data: Option<&[u8]>, n: usize) -> Result<Walked, TransportError> {
        let mut w = Walked::default();
        let mut pos = 0;
        while pos < n {
            if self.offset_in_message == 0 {
                let mark = data.and_then(|d| d.get(pos)).copied();
                self.current_measured = match mark {
                    Some(MEASURED_MARK) => true,
                    Some(WARMUP_MARK) => false,
                    Some(other) => return Err(out_of_sync(other)),
                    None => return Err(mark_unread()),
                };
                if self.current_measured && !self.measuring {
                    self.measuring = true;
                    w.measuring_started = true;
                }
            }
            let take = (n - pos).min(self.size - self.offset_in_message);
            if self.current_measured {
                w.measured_bytes += take as u64;
            } else {
                w.warmup_bytes += take as u64;
            }
            self.offset_in_message += take;
            pos += take;
            if self.offset_in_message == self.size {
                self.offset_in_message = 0;
                w.measured_messages += u64::from(self.current_measured);
            }
        }
        Ok(w)
    }
}

/// How a receiving stream reads and times what arrives.
#[derive(Debug, Clone, Copy)]
pub struct ReceiveSettings {
    pub size: usize,
    pub mode: RecvMode,
    pub interval_ns: u64,
    pub expected_intervals: usize,
}

/// Counts arriving messages until the peer finishes, taking them off the socket in `settings.mode`. On
/// error, returns what was measured so far.
pub fn receive_loop(
    stream: &mut dyn DataStream,
    settings: ReceiveSettings,
    epoch: Instant,
    progress: &Progress,
) -> (ReceiveOutcome, Option<TransportError>) {
    let size = settings.size;
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
        intervals: IntervalCounter::new(settings.interval_ns, settings.expected_intervals),
        receive: ReceiveStats::default(),
    };
    let mut walker = PhaseWalker {
        size,
        offset_in_message: 0,
        current_measured: false,
        measuring: false,
    };
    let mut last_read = Instant::now();
    let mut measured_start = last_read;
    let result = (|| loop {
        let at_start = walker.offset_in_message == 0;
        let left = size - walker.offset_in_message;
        let chunk = stream.recv_chunk(settings.mode, buf, left, at_start)?;
        let now = Instant::now();
        let (data, n) = match chunk {
            Chunk::Copied(d) => {
                out.receive.bytes_copied += d.len() as u64;
                (Some(d), d.len())
            }
            Chunk::Mapped(d) => {
                out.receive.bytes_mapped += d.len() as u64;
                (Some(d), d.len())
            }
            Chunk::Discarded(n) => {
                out.receive.bytes_discarded += n as u64;
                (None, n)
            }
        };
        if n == 0 {
            if walker.offset_in_message != 0 {
                return Err(TransportError::PeerClosed);
            }
            return Ok(());
        }
        let w = walker.walk(data, n)?;
        if w.measuring_started {
            // The clock starts when the data before this read had arrived.
            measured_start = last_read;
            out.start_ns = ns_since(last_read);
            progress.start_measuring();
        }
        out.warmup_bytes += w.warmup_bytes;
        if w.measured_bytes > 0 || w.measured_messages > 0 {
            out.bytes += w.measured_bytes;
            out.messages += w.measured_messages;
            out.end_ns = ns_since(now);
            let offset = now.saturating_duration_since(measured_start).as_nanos() as u64;
            out.intervals
                .add(offset, w.measured_bytes, w.measured_messages);
            progress.publish(out.bytes, out.messages, 0);
        }
        last_read = now;
    })();
    if out.end_ns < out.start_ns {
        out.end_ns = out.start_ns;
    }
    (out, result.err())
}

fn mark_unread() -> TransportError {
    TransportError::io(
        "checking the phase mark of a message",
        std::io::Error::other("internal error: a message's first byte was dropped unread"),
    )
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
