//! Ending a running trial from outside its data threads, at once and whatever the peer does.
//!
//! Senders and pingers look at the stop flag once per message, RDMA loops once per poll. A TCP receiver
//! or echo thread is blocked in `recv` until its peer sends or closes, so a peer that trickles one byte
//! every few seconds would keep it there: [`TrialStop::abort`] also shuts the data sockets down, which
//! wakes every blocked call on them at once.

use std::net::{Shutdown, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// The stop flag of a trial and handles on its data sockets. Dropping it ends the trial too, so a control
/// thread that unwinds never leaves data threads running.
pub struct TrialStop {
    flag: Arc<AtomicBool>,
    sockets: Vec<TcpStream>,
    armed: bool,
}

impl TrialStop {
    /// Watches `flag` (the flag the data threads look at) and `sockets` (clones of the data sockets; none
    /// for RDMA, whose loops all look at the flag).
    pub fn new(flag: Arc<AtomicBool>, sockets: Vec<TcpStream>) -> Self {
        TrialStop {
            flag,
            sockets,
            armed: true,
        }
    }

    /// Ends the trial now: sets the flag and shuts every data socket down in both directions.
    pub fn abort(&self) {
        self.flag.store(true, Ordering::SeqCst);
        for socket in &self.sockets {
            let _ = socket.shutdown(Shutdown::Both);
        }
    }

    /// The trial ended by itself: dropping this no longer touches the flag or the sockets.
    pub fn disarm(mut self) {
        self.armed = false;
    }
}

impl Drop for TrialStop {
    fn drop(&mut self) {
        if self.armed {
            self.abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;
    use std::net::TcpListener;
    use std::time::Duration;

    #[test]
    fn abort_wakes_a_receiver_blocked_on_a_silent_peer() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let _peer = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (ours, _) = listener.accept().unwrap();
        let mut receiver = ours.try_clone().unwrap();
        receiver
            .set_read_timeout(Some(Duration::from_secs(60)))
            .unwrap();
        let flag = Arc::new(AtomicBool::new(false));
        let stop = TrialStop::new(Arc::clone(&flag), vec![ours]);
        let blocked = std::thread::spawn(move || receiver.read(&mut [0u8; 16]));
        std::thread::sleep(Duration::from_millis(100));
        drop(stop);
        assert_eq!(blocked.join().unwrap().unwrap(), 0, "the receive ended");
        assert!(flag.load(Ordering::SeqCst));
    }
}
