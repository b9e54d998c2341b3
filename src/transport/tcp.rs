//! The TCP backend: one `TcpStream` per stream, blocking on a pinned thread or busy-polling
//! (non-blocking calls in a spin loop), optionally sending with MSG_ZEROCOPY.

use crate::transport::zerocopy_rx::ZeroCopyRegion;
use crate::transport::{
    zerocopy, Chunk, DataStream, RecvMode, StreamHalves, TransportError, ZeroCopyStats,
};
use nix::poll::{PollFd, PollFlags, PollTimeout};
use nix::sys::socket::MsgFlags;
use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::os::fd::{AsFd, AsRawFd};
use std::time::{Duration, Instant};

/// Sends between two zero-copy completion drains.
const ZEROCOPY_DRAIN_EVERY: u64 = 32;

/// How a data connection is set up.
#[derive(Debug, Clone, Copy)]
pub struct TcpOptions {
    /// Disable Nagle's algorithm (latency tests).
    pub nodelay: bool,
    /// Spin on non-blocking calls instead of sleeping in the kernel.
    pub busy_poll: bool,
    /// Send with MSG_ZEROCOPY.
    pub zerocopy: bool,
    /// A peer silent for this long is declared stalled.
    pub stall_timeout: Duration,
}

/// One TCP data connection.
pub struct TcpDataStream {
    stream: TcpStream,
    options: TcpOptions,
    zerocopy: Option<ZeroCopyStats>,
    sends_since_drain: u64,
    /// `--recv-mode zerocopy`: the region mapped on the socket, made on the first receive.
    zerocopy_region: Option<ZeroCopyRegion>,
    /// Whether `wake_per_message` has run (copy mode, once per stream).
    wake_per_message_set: bool,
}

impl TcpDataStream {
    /// Applies `options` to a connected stream.
    pub fn new(stream: TcpStream, options: TcpOptions) -> Result<Self, TransportError> {
        stream
            .set_nodelay(options.nodelay)
            .map_err(|e| TransportError::io("setting TCP_NODELAY", e))?;
        stream
            .set_nonblocking(options.busy_poll)
            .map_err(|e| TransportError::io("setting the socket's blocking mode", e))?;
        if !options.busy_poll {
            stream
                .set_read_timeout(Some(options.stall_timeout))
                .and_then(|_| stream.set_write_timeout(Some(options.stall_timeout)))
                .map_err(|e| TransportError::io("setting socket timeouts", e))?;
        }
        // A peer that vanished without closing (cable pulled) fails our sends within the stall timeout.
        socket2::SockRef::from(&stream)
            .set_tcp_user_timeout(Some(options.stall_timeout))
            .map_err(|e| TransportError::io("setting TCP_USER_TIMEOUT", e))?;
        let zerocopy = if options.zerocopy {
            zerocopy::enable(stream.as_fd()).map_err(|e| {
                TransportError::ZeroCopyUnavailable(format!(
                    "setsockopt(SO_ZEROCOPY) failed: {e} (needs Linux 4.14 or later)"
                ))
            })?;
            Some(ZeroCopyStats::default())
        } else {
            None
        };
        Ok(TcpDataStream {
            stream,
            options,
            zerocopy,
            sends_since_drain: 0,
            zerocopy_region: None,
            wake_per_message_set: false,
        })
    }

    /// Copy mode: the reader is woken when `bytes` (a message, at most the read buffer) are queued,
    /// not at every segment (SO_RCVLOWAT). On loopback the sender's core runs the receiver's TCP
    /// work and pays for every wake-up: with one wake-up per 128 KiB message the sender spent
    /// 0.29-0.33 CPU-s/GB instead of 0.31-0.42, 1.04-1.19x iperf3's bandwidth over 5 interleaved
    /// rounds instead of 0.87-1.16x (2026-12-03). A read still returns what is queued when the
    /// peer finishes (FIN) or the stall timeout passes, so the end of a trial is not delayed.
    fn wake_per_message(&self, bytes: usize) -> Result<(), TransportError> {
        let bytes = libc::c_int::try_from(bytes.max(1)).unwrap_or(libc::c_int::MAX);
        super::zerocopy::set_receive_low_water(self.stream.as_fd(), bytes)
            .map_err(|e| TransportError::io("setting SO_RCVLOWAT", e))
    }

    fn stalled(&self) -> TransportError {
        TransportError::Stalled {
            seconds: self.options.stall_timeout.as_secs_f64(),
        }
    }

    fn is_timeout(e: &io::Error) -> bool {
        matches!(
            e.kind(),
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
        )
    }

    fn send_copying(&mut self, message: &[u8]) -> Result<(), TransportError> {
        let mut offset = 0;
        let mut spin_started: Option<Instant> = None;
        while offset < message.len() {
            match self.stream.write(&message[offset..]) {
                Ok(0) => return Err(TransportError::PeerClosed),
                Ok(n) => {
                    offset += n;
                    spin_started = None;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if self.options.busy_poll && e.kind() == io::ErrorKind::WouldBlock => {
                    self.check_spin(&mut spin_started)?;
                }
                Err(e) if Self::is_timeout(&e) => return Err(self.stalled()),
                Err(e) => return Err(TransportError::io("sending", e)),
            }
        }
        Ok(())
    }

    fn send_zerocopy(&mut self, message: &[u8]) -> Result<(), TransportError> {
        let mut offset = 0;
        let mut spin_started: Option<Instant> = None;
        while offset < message.len() {
            match zerocopy::send(
                self.stream.as_fd(),
                &message[offset..],
                self.options.busy_poll,
            ) {
                Ok(n) => {
                    offset += n;
                    spin_started = None;
                    if let Some(stats) = self.zerocopy.as_mut() {
                        stats.sends += 1;
                    }
                    self.sends_since_drain += 1;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => {
                    // The socket's pinned-memory budget is spent: wait for completions to return it.
                    if let Some(stats) = self.zerocopy.as_mut() {
                        stats.enobufs_waits += 1;
                    }
                    let timeout_ms =
                        self.options.stall_timeout.as_millis().min(i32::MAX as u128) as i32;
                    if !zerocopy::wait_for_completions(self.stream.as_fd(), timeout_ms)
                        .map_err(|e| TransportError::io("waiting for zero-copy completions", e))?
                    {
                        return Err(self.stalled());
                    }
                    self.drain()?;
                }
                Err(e) if self.options.busy_poll && e.kind() == io::ErrorKind::WouldBlock => {
                    self.check_spin(&mut spin_started)?;
                }
                Err(e) if Self::is_timeout(&e) => return Err(self.stalled()),
                Err(e) => return Err(TransportError::io("sending with MSG_ZEROCOPY", e)),
            }
        }
        if self.sends_since_drain >= ZEROCOPY_DRAIN_EVERY {
            self.drain()?;
        }
        Ok(())
    }

    fn drain(&mut self) -> Result<(), TransportError> {
        self.sends_since_drain = 0;
        if let Some(stats) = self.zerocopy.as_mut() {
            zerocopy::drain_completions(self.stream.as_fd(), stats)
                .map_err(|e| TransportError::io("reading zero-copy completions", e))?;
        }
        Ok(())
    }

    /// One receive call, retried on interruption, spinning in busy-poll mode, with the stall timeout.
    fn receive_with(
        &mut self,
        mut call: impl FnMut(&mut TcpStream) -> io::Result<usize>,
    ) -> Result<usize, TransportError> {
        let mut spin_started: Option<Instant> = None;
        let mut spins: u32 = 0;
        loop {
            match call(&mut self.stream) {
                Ok(n) => return Ok(n),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if self.options.busy_poll && e.kind() == io::ErrorKind::WouldBlock => {
                    spins = spins.wrapping_add(1);
                    if spins % 4096 == 0 {
                        self.check_spin(&mut spin_started)?;
                    } else {
                        std::hint::spin_loop();
                    }
                }
                Err(e) if Self::is_timeout(&e) => return Err(self.stalled()),
                Err(e) if e.kind() == io::ErrorKind::ConnectionReset => {
                    return Err(TransportError::PeerClosed)
                }
                Err(e) => return Err(TransportError::io("receiving", e)),
            }
        }
    }

    /// `--recv-mode zerocopy`: maps what the kernel can; copies (into `buf`) what it cannot, and the
    /// end of the stream. Waits for data when nothing is queued.
    fn recv_mapped<'a>(&'a mut self, buf: &'a mut [u8]) -> Result<Chunk<'a>, TransportError> {
        if self.zerocopy_region.is_none() {
            let region = ZeroCopyRegion::map(self.stream.as_fd(), buf.len()).map_err(|e| {
                TransportError::ZeroCopyReceiveUnavailable(format!(
                    "mapping the socket failed: {e} (TCP_ZEROCOPY_RECEIVE needs Linux 4.18 or later)"
                ))
            })?;
            self.zerocopy_region = Some(region);
        }
        let mut copy_next = self.map_queue()?;
        if copy_next.is_none() {
            self.wait_readable()?;
            copy_next = self.map_queue()?;
        }
        match copy_next {
            // Pages were mapped: the region holds them until the next call.
            None | Some(0) if self.mapped_len() > 0 => Ok(Chunk::Mapped(self.mapped_bytes())),
            // What the kernel could not map (or the stream's end): copy it.
            hint => {
                let want = hint.unwrap_or(buf.len()).clamp(1, buf.len());
                let n = self.recv_some(&mut buf[..want])?;
                Ok(Chunk::Copied(&buf[..n]))
            }
        }
    }

    /// One TCP_ZEROCOPY_RECEIVE call: `None` when nothing at all is queued, else the bytes the kernel
    /// asks to be copied next (0 when it mapped pages).
    fn map_queue(&mut self) -> Result<Option<usize>, TransportError> {
        let fd = self.stream.as_fd();
        let region = self.zerocopy_region.as_mut().ok_or(TransportError::io(
            "receiving with TCP_ZEROCOPY_RECEIVE",
            io::Error::other("no region mapped"),
        ))?;
        let mapped = loop {
            match region.receive(fd) {
                Ok(m) => break m,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                // Nothing queued and the peer has finished (Linux says EIO): the copy path reads the end.
                Err(e)
                    if e.kind() == io::ErrorKind::WouldBlock
                        || e.raw_os_error() == Some(libc::EIO) =>
                {
                    break crate::transport::zerocopy_rx::Mapped {
                        mapped: 0,
                        copy_next: 0,
                    }
                }
                Err(e) => return Err(TransportError::io("receiving with TCP_ZEROCOPY_RECEIVE", e)),
            }
        };
        Ok(match (mapped.mapped, mapped.copy_next) {
            (0, 0) => None,
            (m, _) if m > 0 => Some(0),
            (_, hint) => Some(hint),
        })
    }

    fn mapped_len(&self) -> usize {
        self.zerocopy_region.as_ref().map_or(0, |r| r.bytes().len())
    }

    fn mapped_bytes(&self) -> &[u8] {
        self.zerocopy_region.as_ref().map_or(&[], |r| r.bytes())
    }

    /// Waits until the socket is readable (data or its end), spinning in busy-poll mode; the stall
    /// timeout bounds the wait.
    fn wait_readable(&self) -> Result<(), TransportError> {
        let started = Instant::now();
        let timeout = if self.options.busy_poll {
            PollTimeout::ZERO
        } else {
            PollTimeout::try_from(self.options.stall_timeout).unwrap_or(PollTimeout::MAX)
        };
        loop {
            let mut fds = [PollFd::new(self.stream.as_fd(), PollFlags::POLLIN)];
            match nix::poll::poll(&mut fds, timeout) {
                Ok(n) if n > 0 => return Ok(()),
                Ok(_) | Err(nix::errno::Errno::EINTR) => {}
                Err(e) => return Err(TransportError::io("waiting for data", e.into())),
            }
            if started.elapsed() > self.options.stall_timeout {
                return Err(self.stalled());
            }
            std::hint::spin_loop();
        }
    }

    /// In busy-poll mode, gives up after the stall timeout; the clock is read only once per 4096 spins.
    fn check_spin(&self, started: &mut Option<Instant>) -> Result<(), TransportError> {
        std::hint::spin_loop();
        match started {
            None => *started = Some(Instant::now()),
            Some(t) => {
                if t.elapsed() > self.options.stall_timeout {
                    return Err(self.stalled());
                }
            }
        }
        Ok(())
    }
}

impl DataStream for TcpDataStream {
    fn send_message(&mut self, message: &[u8]) -> Result<(), TransportError> {
        if self.zerocopy.is_some() {
            self.send_zerocopy(message)
        } else {
            self.send_copying(message)
        }
    }

    fn recv_some(&mut self, buf: &mut [u8]) -> Result<usize, TransportError> {
        self.receive_with(|stream| stream.read(buf))
    }

    fn recv_chunk<'a>(
        &'a mut self,
        mode: RecvMode,
        buf: &'a mut [u8],
        message_left: usize,
        at_message_start: bool,
    ) -> Result<Chunk<'a>, TransportError> {
        match mode {
            RecvMode::Copy => {
                if !self.wake_per_message_set {
                    self.wake_per_message_set = true;
                    self.wake_per_message(message_left.min(buf.len()))?;
                }
                let n = self.recv_some(buf)?;
                Ok(Chunk::Copied(&buf[..n]))
            }
            RecvMode::Discard if at_message_start => {
                let n = self.recv_some(&mut buf[..1])?;
                Ok(Chunk::Copied(&buf[..n]))
            }
            RecvMode::Discard => {
                let want = message_left.clamp(1, buf.len());
                let n = self.receive_with(|stream| {
                    nix::sys::socket::recv(
                        stream.as_raw_fd(),
                        &mut buf[..want],
                        MsgFlags::MSG_TRUNC,
                    )
                    .map_err(io::Error::from)
                })?;
                Ok(if n == 0 {
                    Chunk::Copied(&[])
                } else {
                    Chunk::Discarded(n)
                })
            }
            RecvMode::Zerocopy => self.recv_mapped(buf),
        }
    }

    fn finish(&mut self) -> Result<(), TransportError> {
        if let Some(stats) = self.zerocopy {
            let deadline = Instant::now() + self.options.stall_timeout;
            let mut done = stats.completed;
            while done < stats.sends && Instant::now() < deadline {
                zerocopy::wait_for_completions(self.stream.as_fd(), 100)
                    .map_err(|e| TransportError::io("waiting for zero-copy completions", e))?;
                self.drain()?;
                done = self.zerocopy.map(|s| s.completed).unwrap_or(done);
            }
        }
        match self.stream.shutdown(Shutdown::Write) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotConnected => return Ok(()),
            Err(e) => return Err(TransportError::io("shutting down the sending side", e)),
        }
        // Done means delivered: wait until the peer has acknowledged every byte and the FIN, so that
        // whatever is read after the trial (link counters) includes all of it.
        let deadline = Instant::now() + self.options.stall_timeout;
        while let Ok(n) = zerocopy::unacknowledged_bytes(self.stream.as_fd()) {
            if n == 0 || Instant::now() >= deadline {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        Ok(())
    }

    fn zerocopy_stats(&self) -> Option<ZeroCopyStats> {
        self.zerocopy
    }

    fn split(self: Box<Self>) -> Result<StreamHalves, TransportError> {
        let clone = self.stream.try_clone().map_err(|e| {
            TransportError::io("duplicating the socket for a bidirectional test", e)
        })?;
        let receiver = TcpDataStream {
            stream: clone,
            options: self.options,
            zerocopy: None,
            sends_since_drain: 0,
            zerocopy_region: None,
            wake_per_message_set: false,
        };
        Ok((self, Box::new(receiver)))
    }
}

/// Writes all of `bytes` to a blocking stream (used for the short data-connection preamble).
pub fn write_preamble(stream: &mut TcpStream, bytes: &[u8]) -> io::Result<()> {
    stream.write_all(bytes)?;
    stream.flush()
}
