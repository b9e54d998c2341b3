//! A thread that reads one peer's control frames for a whole session and hands them over a bounded
//! channel, so the session waits for a message with a timeout without ever cutting a frame in half.
//!
//! The channel holds at most [`QUEUED_FRAMES`] frames: a peer that sends faster than the session reads
//! fills it, then the reader stops reading, and the peer's own sends block on a full TCP window. Memory
//! is bounded by `QUEUED_FRAMES` times the frame limit, whatever the peer sends. The frame limit can
//! change with the session's state ([`FrameReader::set_limit`]): a server's result may be large, its
//! live updates may not.

use crate::control::frame::{read_frame_limited, FrameError};
use serde::de::DeserializeOwned;
use std::net::TcpStream;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

/// Frames waiting for the session at most.
pub const QUEUED_FRAMES: usize = 4;

/// The receiving end of a reader thread.
pub struct FrameReader<T> {
    frames: mpsc::Receiver<Result<T, FrameError>>,
    limit: Arc<AtomicU32>,
}

/// What waiting for a frame gave.
#[derive(Debug)]
pub enum Next<T> {
    Frame(T),
    /// Nothing arrived in time.
    Quiet,
}

impl<T: DeserializeOwned + Send + 'static> FrameReader<T> {
    /// Starts a thread reading frames of at most `limit` bytes from `stream` (a clone of the session's
    /// socket). `on_frame` runs on the reader thread before a frame is queued (a server sets its trial's
    /// stop flag there, so a stop acts at once). The thread ends at the first error or when the
    /// receiving end is dropped.
    pub fn spawn(
        mut stream: TcpStream,
        limit: u32,
        name: &str,
        on_frame: impl Fn(&Result<T, FrameError>) + Send + 'static,
    ) -> std::io::Result<FrameReader<T>> {
        stream.set_read_timeout(None)?;
        let limit = Arc::new(AtomicU32::new(limit));
        let shared = Arc::clone(&limit);
        let (tx, frames) = mpsc::sync_channel(QUEUED_FRAMES);
        std::thread::Builder::new()
            .name(name.into())
            .spawn(move || loop {
                let frame = read_frame_limited::<T>(&mut stream, || shared.load(Ordering::SeqCst));
                on_frame(&frame);
                let failed = frame.is_err();
                if tx.send(frame).is_err() || failed {
                    return;
                }
            })?;
        Ok(FrameReader { frames, limit })
    }
}

impl<T> FrameReader<T> {
    /// Changes the largest frame accepted from the next frame on.
    pub fn set_limit(&self, limit: u32) {
        self.limit.store(limit, Ordering::SeqCst);
    }

    /// Waits up to `wait` for the next frame; a read error or the reader's end is an error.
    pub fn next(&self, wait: Duration) -> Result<Next<T>, FrameError> {
        match self.frames.recv_timeout(wait) {
            Ok(Ok(frame)) => Ok(Next::Frame(frame)),
            Ok(Err(e)) => Err(e),
            Err(mpsc::RecvTimeoutError::Timeout) => Ok(Next::Quiet),
            Err(mpsc::RecvTimeoutError::Disconnected) => Err(FrameError::Closed),
        }
    }

    /// The next frame if one is already waiting.
    pub fn try_next(&self) -> Result<Next<T>, FrameError> {
        match self.frames.try_recv() {
            Ok(Ok(frame)) => Ok(Next::Frame(frame)),
            Ok(Err(e)) => Err(e),
            Err(mpsc::TryRecvError::Empty) => Ok(Next::Quiet),
            Err(mpsc::TryRecvError::Disconnected) => Err(FrameError::Closed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::control::frame::write_frame;
    use std::io::Write;
    use std::net::TcpListener;

    fn pair() -> (TcpStream, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        (client, listener.accept().unwrap().0)
    }

    #[test]
    fn a_flood_fills_the_queue_and_then_the_socket_not_memory() {
        let (mut peer, ours) = pair();
        let reader: FrameReader<String> =
            FrameReader::spawn(ours.try_clone().unwrap(), 4096, "test-reader", |_| {}).unwrap();
        // The peer writes 1000-byte frames until its socket stays blocked for half a second: the reader
        // took only what its queue holds, the rest waits in the socket buffers.
        peer.set_nonblocking(true).unwrap();
        let frame = crate::control::frame::encode_frame(&"x".repeat(1000)).unwrap();
        let (mut written, mut offset) = (0usize, 0usize);
        let mut blocked_since: Option<std::time::Instant> = None;
        while written < 256 << 20 {
            match peer.write(&frame[offset..]) {
                Ok(n) => {
                    written += n;
                    offset = (offset + n) % frame.len();
                    blocked_since = None;
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    let since = *blocked_since.get_or_insert_with(std::time::Instant::now);
                    if since.elapsed() > Duration::from_millis(500) {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(10));
                }
                Err(e) => panic!("{e}"),
            }
        }
        assert!(
            written < 64 << 20,
            "the peer could write {written} bytes: nothing pushed back"
        );
        for _ in 0..QUEUED_FRAMES {
            assert!(matches!(reader.try_next(), Ok(Next::Frame(s)) if s.len() == 1000));
        }
    }

    #[test]
    fn the_limit_applies_from_the_next_frame() {
        let (mut peer, ours) = pair();
        let reader: FrameReader<String> =
            FrameReader::spawn(ours, 1 << 20, "test-reader", |_| {}).unwrap();
        write_frame(&mut peer, &"a".repeat(100)).unwrap();
        assert!(matches!(
            reader.next(Duration::from_secs(5)),
            Ok(Next::Frame(s)) if s.len() == 100
        ));
        reader.set_limit(50);
        write_frame(&mut peer, &"b".repeat(100)).unwrap();
        assert!(matches!(
            reader.next(Duration::from_secs(5)),
            Err(FrameError::TooLarge { len: 102, max: 50 })
        ));
    }
}
