//! Closing refused and finished connections without letting them cost the server anything that lasts.
//!
//! A refusal must reach the client, so the server shuts its side down and reads what the client still
//! sends before closing (closing with unread input resets the connection and can destroy the refusal in
//! flight). Done in the refusing thread, that linger was a thread and a descriptor per refused
//! connection for as long as the peer kept sending. Here one thread lingers over all of them, each for at
//! most [`LINGER`] and [`DISCARD_BYTES`], and at most [`MAX_LINGERING`] at once: past that a connection
//! is closed at once (the refusal may then be lost, which a flood has earned). The cost of closing is
//! bounded in total: one thread, `2 x MAX_LINGERING` descriptors, one second each.

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::os::fd::AsFd;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Longest a closing connection lingers.
pub const LINGER: Duration = Duration::from_secs(1);
/// Most bytes read and discarded from one closing connection.
pub const DISCARD_BYTES: usize = 16 * 1024;
/// Most connections lingering at once (and as many more waiting to join them).
pub const MAX_LINGERING: usize = 64;
/// How often the closer looks at the clock when nothing arrives.
const TICK: Duration = Duration::from_millis(100);

/// Hands connections to the closing thread.
pub struct Closer {
    queue: mpsc::SyncSender<TcpStream>,
}

struct Lingering {
    stream: TcpStream,
    until: Instant,
    budget: usize,
}

impl Closer {
    /// Starts the closing thread; it ends when the `Closer` is dropped and nothing lingers.
    pub fn start() -> io::Result<Closer> {
        let (queue, arrivals) = mpsc::sync_channel(MAX_LINGERING);
        std::thread::Builder::new()
            .name("closer".into())
            .spawn(move || linger_all(arrivals))?;
        Ok(Closer { queue })
    }

    /// Flushes and shuts down our side of `stream`, then lets it linger (or closes it at once when
    /// too many already do).
    pub fn close(&self, mut stream: TcpStream) {
        let _ = stream.flush();
        let _ = stream.shutdown(Shutdown::Write);
        if stream.set_nonblocking(true).is_ok() {
            // Full: dropped here, closed at once.
            let _ = self.queue.try_send(stream);
        }
    }
}

fn linger_all(arrivals: mpsc::Receiver<TcpStream>) {
    let mut lingering: Vec<Lingering> = Vec::new();
    loop {
        if lingering.is_empty() {
            match arrivals.recv() {
                Ok(stream) => lingering.push(start_lingering(stream)),
                Err(_) => return,
            }
        }
        while let Ok(stream) = arrivals.try_recv() {
            if lingering.len() < MAX_LINGERING {
                lingering.push(start_lingering(stream));
            }
        }
        wait_for_input(&lingering);
        let now = Instant::now();
        lingering.retain_mut(|l| now < l.until && discard(l));
    }
}

fn start_lingering(stream: TcpStream) -> Lingering {
    Lingering {
        stream,
        until: Instant::now() + LINGER,
        budget: DISCARD_BYTES,
    }
}

/// Sleeps until one of the connections has input or [`TICK`] passes.
fn wait_for_input(lingering: &[Lingering]) {
    let mut fds: Vec<PollFd> = lingering
        .iter()
        .map(|l| PollFd::new(l.stream.as_fd(), PollFlags::POLLIN))
        .collect();
    let _ = poll(&mut fds, PollTimeout::from(TICK.as_millis() as u16));
}

/// Reads and drops what has arrived; false once the peer closed, failed or spent its budget.
fn discard(l: &mut Lingering) -> bool {
    let mut sink = [0u8; 4096];
    loop {
        match l.stream.read(&mut sink) {
            Ok(0) => return false,
            Ok(n) if n >= l.budget => return false,
            Ok(n) => l.budget -= n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return true,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    #[test]
    fn a_refusal_arrives_and_a_peer_that_keeps_sending_is_closed_within_the_linger() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut peer = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (mut ours, _) = listener.accept().unwrap();
        // Unread input on our side: a plain close would reset the connection.
        peer.write_all(&[1u8; 1000]).unwrap();
        ours.write_all(b"refused").unwrap();
        let closer = Closer::start().unwrap();
        closer.close(ours);
        let mut got = Vec::new();
        peer.set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        // The peer keeps sending while it reads; the closer still ends the connection.
        let writer = peer.try_clone().unwrap();
        let flood = std::thread::spawn(move || {
            let mut writer = writer;
            while writer.write_all(&[2u8; 1024]).is_ok() {}
        });
        let started = Instant::now();
        let result = peer.read_to_end(&mut got);
        assert_eq!(&got[..], b"refused", "{result:?}");
        assert!(started.elapsed() < Duration::from_secs(5));
        flood.join().unwrap();
    }
}
