//! Data paths. TCP moves messages through a [`DataStream`]; RDMA ([`rdma`]) has its own loops in
//! `engine::rdma`, because one-sided writes and reads have no receiver to read from a stream.
//!
//! # The stream contract (TCP)
//! - A `DataStream` is one connection between two pinned threads, opened during the control session's
//!   Run state (a connection to the server's port that presents the session cookie). RDMA queue pairs
//!   are created before the setup message and their endpoint details travel in the setup and ready
//!   messages instead.
//! - `send_message` returns when the whole message has been handed to the transport (TCP: accepted by the
//!   socket; RDMA: posted, completions reaped as the backend sees fit); it never allocates.
//! - `recv_some` returns what has arrived, `Ok(0)` once the peer has finished and everything was received;
//!   `recv_exact` fills the buffer or fails. A peer that stalls longer than the stream's timeout is an
//!   error, never a hang.
//! - `finish` tells the peer this side sends no more and waits for outstanding sends (zero-copy
//!   completions) so the byte counts are final.
//! - `recv_chunk` receives in a `--recv-mode` (copy, discard, zerocopy) and says how each chunk came.
//! - `split` gives independent send and receive halves for bidirectional tests.

pub mod rdma;
pub mod tcp;
pub mod zerocopy;
pub mod zerocopy_rx;

pub use crate::model::ZeroCopyStats;
pub use crate::plan::RecvMode;

use std::io;
use thiserror::Error;

/// A data-path operation failed.
#[derive(Debug, Error)]
pub enum TransportError {
    #[error("the peer closed the data connection in the middle of a message")]
    PeerClosed,
    #[error("the peer sent nothing for {seconds:.1} s (timed out); is it still running?")]
    Stalled { seconds: f64 },
    #[error("data connection I/O failed while {context}: {source}")]
    Io {
        context: &'static str,
        #[source]
        source: io::Error,
    },
    #[error("zero-copy send is not available: {0}")]
    ZeroCopyUnavailable(String),
    #[error("zero-copy receive is not available: {0}; use --recv-mode copy or discard")]
    ZeroCopyReceiveUnavailable(String),
    #[error(transparent)]
    Rdma(#[from] rdma::RdmaError),
}

impl TransportError {
    /// Wraps an I/O error with what was being done.
    pub fn io(context: &'static str, source: io::Error) -> Self {
        TransportError::Io { context, source }
    }
}

/// A trial's TCP data streams, and clones of their sockets to end the trial with
/// (the engine's `TrialStop`).
pub type Connected = (Vec<Box<dyn DataStream>>, Vec<std::net::TcpStream>);

/// The send half and the receive half of one connection.
pub type StreamHalves = (Box<dyn DataStream>, Box<dyn DataStream>);

/// A chunk of received payload and how it came off the socket.
#[derive(Debug)]
pub enum Chunk<'a> {
    /// Copied into the caller's buffer by `recv()`; empty when the peer has finished.
    Copied(&'a [u8]),
    /// Mapped into user space without a copy (TCP_ZEROCOPY_RECEIVE).
    Mapped(&'a [u8]),
    /// This many bytes were received and dropped in the kernel (MSG_TRUNC); never 0.
    Discarded(usize),
}

/// One connection carrying messages between two pinned threads.
pub trait DataStream: Send {
    /// Sends one whole message.
    fn send_message(&mut self, message: &[u8]) -> Result<(), TransportError>;
    /// Receives whatever has arrived, up to `buf.len()` bytes; `Ok(0)` when the peer has finished.
    fn recv_some(&mut self, buf: &mut [u8]) -> Result<usize, TransportError>;
    /// Receives exactly `buf.len()` bytes.
    fn recv_exact(&mut self, buf: &mut [u8]) -> Result<(), TransportError> {
        let mut filled = 0;
        while filled < buf.len() {
            match self.recv_some(&mut buf[filled..])? {
                0 => return Err(TransportError::PeerClosed),
                n => filled += n,
            }
        }
        Ok(())
    }
    /// Receives the next chunk in `mode`, into `buf` where it copies. `message_left` bytes remain of the
    /// message in progress (its whole size at a message's start): `discard` reads a message's first byte
    /// (its phase mark) with `recv()` and drops at most the rest of that message, so a dropped chunk
    /// never holds the start of a message. Streams without the modes copy.
    fn recv_chunk<'a>(
        &'a mut self,
        mode: RecvMode,
        buf: &'a mut [u8],
        message_left: usize,
        at_message_start: bool,
    ) -> Result<Chunk<'a>, TransportError> {
        let _ = (mode, message_left, at_message_start);
        let n = self.recv_some(buf)?;
        Ok(Chunk::Copied(&buf[..n]))
    }
    /// Tells the peer no more data follows, after outstanding sends have completed.
    fn finish(&mut self) -> Result<(), TransportError>;
    /// Zero-copy figures for this stream, if zero-copy was requested.
    fn zerocopy_stats(&self) -> Option<ZeroCopyStats>;
    /// Independent send and receive halves of the same connection.
    fn split(self: Box<Self>) -> Result<StreamHalves, TransportError>;
}
