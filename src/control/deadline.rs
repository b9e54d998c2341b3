//! A socket read and written against one deadline for a whole exchange, not one timeout per call.
//!
//! A per-call timeout lets a peer that drips one byte just inside it hold a connection forever (a
//! 64 KiB frame dripped at one byte every 5 s lasts days). [`DeadlineStream`] sets each call's timeout to
//! what is left of the deadline, so a handshake or an exchange ends when its time is up, however the
//! bytes arrive.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// A borrowed socket whose reads and writes all end by `deadline`.
pub struct DeadlineStream<'a> {
    stream: &'a TcpStream,
    deadline: Instant,
}

/// The shortest timeout a socket accepts (zero means "never" to the kernel).
const SHORTEST: Duration = Duration::from_millis(1);

impl<'a> DeadlineStream<'a> {
    /// Reads and writes on `stream` must all finish by `deadline`.
    pub fn new(stream: &'a TcpStream, deadline: Instant) -> Self {
        DeadlineStream { stream, deadline }
    }

    /// The deadline `within` from now.
    pub fn within(stream: &'a TcpStream, within: Duration) -> Self {
        Self::new(stream, Instant::now() + within)
    }

    /// Time left before the deadline, or a timed-out error once it has passed.
    fn left(&self) -> io::Result<Duration> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the exchange's deadline passed",
            ));
        }
        Ok(left.max(SHORTEST))
    }
}

impl Read for DeadlineStream<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.stream.set_read_timeout(Some(self.left()?))?;
        (&mut &*self.stream).read(buf)
    }
}

impl Write for DeadlineStream<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.stream.set_write_timeout(Some(self.left()?))?;
        (&mut &*self.stream).write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    #[test]
    fn a_dripping_peer_is_cut_off_at_the_deadline_not_per_byte() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let dripper = std::thread::spawn(move || {
            let mut s = TcpStream::connect(addr).unwrap();
            // One byte every 100 ms: each read finds data well inside a per-read timeout of 300 ms.
            for _ in 0..30 {
                if s.write_all(b"x").is_err() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        });
        let (server, _) = listener.accept().unwrap();
        let started = Instant::now();
        let mut reader = DeadlineStream::within(&server, Duration::from_millis(300));
        let mut buf = [0u8; 64];
        let err = reader.read_exact(&mut buf).unwrap_err();
        assert!(
            matches!(
                err.kind(),
                io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock
            ),
            "{err}"
        );
        assert!(started.elapsed() < Duration::from_secs(2));
        drop(server);
        dripper.join().unwrap();
    }
}
