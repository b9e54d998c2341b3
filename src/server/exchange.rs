//! The exchange between `ready` and the running trial: the server hands the client a session cookie
//! (and its RDMA queue pairs), the client opens its data connections to the same port presenting the
//! cookie, then says `start`. Everything here ends within `--handshake-timeout`.

use super::handshake::message_name;
use super::session::{Frames, Session, SessionError};
use super::PendingData;
use crate::control::auth;
use crate::control::reader::Next;
use crate::control::{ClientMessage, ServerMessage, COOKIE_BYTES};
use crate::model::CpuChoice;
use crate::plan::{TestKind, TrialSpec};
use crate::transport::rdma::setup::RdmaSide;
use crate::transport::tcp::{TcpDataStream, TcpOptions};
use crate::transport::{Connected, DataStream};
use rand::RngCore;
use std::net::TcpStream;
use std::sync::atomic::Ordering;
use std::sync::mpsc;
use std::time::Instant;

impl Session<'_> {
    /// Sends `ready`, waits for `start` and the data connections; on failure tells the client why.
    pub(super) fn exchange(
        &mut self,
        spec: &TrialSpec,
        cpus: &CpuChoice,
        rdma: Option<&RdmaSide>,
        frames: &Frames,
    ) -> Result<Connected, SessionError> {
        let mut cookie = [0u8; COOKIE_BYTES];
        rand::thread_rng().fill_bytes(&mut cookie);
        // At most one connection per stream waits to be collected; more are closed by the admission.
        let (tx, rx) = mpsc::sync_channel(spec.streams as usize);
        if rdma.is_none() {
            self.shared.set_pending_data(Some(PendingData {
                cookie,
                streams: tx,
            }));
        }
        // A stop from here on belongs to this trial.
        self.stop.store(false, Ordering::SeqCst);
        self.send(&ServerMessage::Ready {
            cookie: auth::hex(&cookie),
            cpus: cpus.clone(),
            rdma: rdma.map(|s| Box::new(s.offer())),
        })?;
        let timeout = self.shared.config.handshake_timeout;
        let connected = match frames.next(timeout) {
            Ok(Next::Frame(ClientMessage::Start)) if rdma.is_some() => Ok((Vec::new(), Vec::new())),
            Ok(Next::Frame(ClientMessage::Start)) => self.collect_streams(spec, &rx),
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
        self.shared.set_pending_data(None);
        connected.map_err(|message| {
            let _ = self.send(&ServerMessage::Error {
                message: message.clone(),
            });
            SessionError::Refused(message)
        })
    }

    fn collect_streams(
        &self,
        spec: &TrialSpec,
        rx: &mpsc::Receiver<(u32, TcpStream)>,
    ) -> Result<Connected, String> {
        let wanted = spec.streams as usize;
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
        let options = TcpOptions {
            nodelay: spec.test == TestKind::Lat,
            busy_poll: spec.busy_poll,
            zerocopy: spec.zerocopy && spec.server_sends() && spec.test != TestKind::Lat,
            stall_timeout: self.shared.config.stall_timeout,
        };
        let mut streams: Vec<Box<dyn DataStream>> = Vec::with_capacity(wanted);
        let mut sockets = Vec::with_capacity(wanted);
        for stream in slots.into_iter().flatten() {
            let failed = |e| format!("server could not set up a data connection: {e}");
            sockets.push(stream.try_clone().map_err(|e| failed(e.to_string()))?);
            let data = TcpDataStream::new(stream, options).map_err(|e| failed(e.to_string()))?;
            streams.push(Box::new(data));
        }
        Ok((streams, sockets))
    }
}
