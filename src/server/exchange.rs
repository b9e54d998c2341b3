//! The exchange between `ready` and the running trial: the server hands the client a session cookie
//! (and its RDMA queue pairs), the client opens its data connections to the same port presenting the
//! cookie, then says `start`. Everything here ends within `--handshake-timeout`. The data connections
//! come back raw, in stream order, for the trial pipeline ([`crate::trial`]) to start.

use super::handshake::message_name;
use super::session::{Frames, Session, SessionError};
use crate::control::auth;
use crate::control::reader::Next;
use crate::control::{ClientMessage, ServerMessage, COOKIE_BYTES};
use crate::plan::TrialSpec;
use crate::trial::Prepared;
use rand::RngCore;
use std::net::TcpStream;
use std::sync::atomic::Ordering;
use std::sync::mpsc;
use std::time::Instant;

impl Session<'_> {
    /// Sends `ready`, waits for `start` and the TCP data connections (none for RDMA); on failure tells
    /// the client why.
    pub(super) fn exchange(
        &mut self,
        spec: &TrialSpec,
        prepared: &Prepared,
        frames: &Frames,
    ) -> Result<Option<Vec<TcpStream>>, SessionError> {
        let offer = prepared.offer();
        let rdma = offer.is_some();
        let mut cookie = [0u8; COOKIE_BYTES];
        rand::thread_rng().fill_bytes(&mut cookie);
        // At most one connection per stream waits to be collected; more are closed by the admission.
        let (tx, rx) = mpsc::sync_channel(crate::engine::connection_count(spec));
        let expected = (!rdma).then(|| self.shared.expect_data(cookie, tx));
        // A stop from here on belongs to this trial.
        self.stop.store(false, Ordering::SeqCst);
        self.send(&ServerMessage::Ready {
            cookie: auth::hex(&cookie),
            cpus: prepared.cpus.clone(),
            rdma: offer.map(Box::new),
        })?;
        let timeout = self.shared.config.handshake_timeout;
        let connected = match frames.next(timeout) {
            Ok(Next::Frame(ClientMessage::Start)) if rdma => Ok(None),
            Ok(Next::Frame(ClientMessage::Start)) => self.collect_streams(spec, &rx).map(Some),
            Ok(Next::Frame(other)) => Err(format!(
                "expected start after ready, got {}",
                message_name(&other)
            )),
            Ok(Next::Quiet) => Err(format!(
                "the client did not say start within {:.0} s of ready (--handshake-timeout)",
                timeout.as_secs_f64()
            )),
            Err(e) => Err(e.to_string()),
        };
        drop(expected);
        connected.map_err(|message| {
            let _ = self.send(&ServerMessage::Error {
                message: message.clone(),
            });
            SessionError::Refused(message)
        })
    }

    /// The trial's data connections in stream order (the latency probe's last), as they arrive with the
    /// session's cookie.
    fn collect_streams(
        &self,
        spec: &TrialSpec,
        rx: &mpsc::Receiver<(u32, TcpStream)>,
    ) -> Result<Vec<TcpStream>, String> {
        let wanted = crate::engine::connection_count(spec);
        let deadline = Instant::now() + self.shared.config.handshake_timeout;
        let mut slots: Vec<Option<TcpStream>> = (0..wanted).map(|_| None).collect();
        let mut arrived = 0;
        while arrived < wanted {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok((index, stream)) => match slots.get_mut(index as usize) {
                    Some(slot @ None) => {
                        *slot = Some(stream);
                        arrived += 1;
                    }
                    _ => return Err(format!("data connection with a bad stream index {index}")),
                },
                Err(_) => {
                    return Err(format!(
                        "only {arrived} of {wanted} data connections arrived within {:.0} s (is a firewall \
                         blocking the port?)",
                        self.shared.config.handshake_timeout.as_secs_f64()
                    ))
                }
            }
        }
        Ok(slots.into_iter().flatten().collect())
    }
}
