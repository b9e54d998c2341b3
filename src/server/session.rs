//! One client's control session, after its handshake: the welcome, then trials until the client says
//! bye, goes silent past the idle timeout, goes away, or breaks the protocol.
//!
//! What a client may send in each state (anything else ends the session with a `refused` naming it):
//!
//! | state | accepted |
//! |-------|----------|
//! | between trials | `setup`, `bye`; one late `stop` right after a trial that saw none |
//! | exchange (after `ready`) | `start`, within `--handshake-timeout` |
//! | trial | `stop`, once |
//!
//! A reader thread ([`crate::control::reader`]) queues the client's frames on a bounded channel; during a
//! trial the session looks at it every [`WATCH_TICK`], and a `stop` sets the trial's stop flag from the
//! reader thread at once. The server ends every trial by its own clock ([`super::trial_clock`]).

use super::handshake::message_name;
use super::sharing::TrialTicket;
use super::throttle::throttled_warn;
use super::trial_clock::TrialClock;
use super::Shared;
use crate::control::deadline::DeadlineStream;
use crate::control::frame::FrameError;
use crate::control::reader::{FrameReader, Next};
use crate::control::{write_frame, ClientMessage, RefusalReason, ServerMessage, PROTOCOL_VERSION};
use crate::diag::route;
use crate::engine::Side;
use crate::model::report::Direction;
use crate::model::{CpuChoice, RdmaOffer};
use crate::plan::{TransportKind, TrialSpec};
use crate::results;
use crate::trial::{Prepared, Running, SideSetup, TrialError};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use thiserror::Error;
use tracing::info;

/// Why a session ended early.
#[derive(Debug, Error)]
pub(super) enum SessionError {
    #[error(transparent)]
    Frame(#[from] FrameError),
    #[error("{0}")]
    Refused(String),
    #[error("control socket setup failed: {0}")]
    Socket(std::io::Error),
    #[error("the client sent nothing for {0:.0} s (idle timeout)")]
    Idle(f64),
}

/// How often a running trial's control thread looks at the client's frames and the trial clock.
pub(super) const WATCH_TICK: Duration = Duration::from_millis(100);

pub(super) type Frames = FrameReader<ClientMessage>;

/// A session in progress.
pub(super) struct Session<'a> {
    pub(super) shared: &'a Shared,
    pub(super) control: TcpStream,
    pub(super) peer: SocketAddr,
    /// Set by the reader thread on `stop`; cleared before each trial's `ready`.
    pub(super) stop: Arc<AtomicBool>,
    /// CPUs local to the NIC that carries the client's connection.
    pub(super) nic_local: Option<Vec<usize>>,
    /// The local interface the route to the client uses.
    pub(super) interface: Option<String>,
    /// One `stop` may still arrive for the trial that just ended.
    late_stop_allowed: bool,
}

impl<'a> Session<'a> {
    pub(super) fn new(
        shared: &'a Shared,
        control: &TcpStream,
        peer: SocketAddr,
    ) -> Result<Self, SessionError> {
        let control = control.try_clone().map_err(SessionError::Socket)?;
        // Keepalive finds a client that vanished without closing (cable pulled, host down) while idle.
        let keepalive = socket2::TcpKeepalive::new()
            .with_time(Duration::from_secs(10))
            .with_interval(Duration::from_secs(5))
            .with_retries(3);
        let _ = socket2::SockRef::from(&control).set_tcp_keepalive(&keepalive);
        // Unacknowledged data (a client that stopped reading, or vanished) fails our writes after this.
        let _ = socket2::SockRef::from(&control).set_tcp_user_timeout(Some(
            shared.config.handshake_timeout.max(Duration::from_secs(30)),
        ));
        Ok(Session {
            shared,
            control,
            peer,
            stop: Arc::new(AtomicBool::new(false)),
            nic_local: None,
            interface: None,
            late_stop_allowed: false,
        })
    }

    /// Sends one frame, whole within `--handshake-timeout`: a client that reads slowly cannot hold the
    /// session in a write (each frame has one deadline, not one per write call).
    pub(super) fn send(&mut self, message: &ServerMessage) -> Result<(), SessionError> {
        let mut wire = DeadlineStream::within(&self.control, self.shared.config.handshake_timeout);
        Ok(write_frame(&mut wire, message)?)
    }

    /// Tells the client why the session ends, and ends it.
    pub(super) fn refuse(
        &mut self,
        reason: RefusalReason,
        message: String,
    ) -> Result<(), SessionError> {
        let _ = self.send(&ServerMessage::Refused {
            reason,
            message: message.clone(),
        });
        Err(SessionError::Refused(message))
    }

    /// Welcomes the client (with the server's proof when a key is in use), then serves trials.
    pub(super) fn run(mut self, server_proof: Option<String>) -> Result<(), SessionError> {
        self.welcome(server_proof)?;
        let stop = Arc::clone(&self.stop);
        let reader = self.control.try_clone().map_err(SessionError::Socket)?;
        let frames: Frames = FrameReader::spawn(
            reader,
            self.shared.config.max_frame_bytes,
            "session-reader",
            move |frame| {
                if matches!(frame, Ok(ClientMessage::Stop)) {
                    stop.store(true, Ordering::SeqCst);
                }
            },
        )
        .map_err(SessionError::Socket)?;
        loop {
            let message = match frames.next(self.shared.config.idle_timeout)? {
                Next::Frame(m) => m,
                Next::Quiet => {
                    return Err(SessionError::Idle(
                        self.shared.config.idle_timeout.as_secs_f64(),
                    ))
                }
            };
            match message {
                ClientMessage::Setup { spec, rdma } => self.run_trial(&spec, rdma, &frames)?,
                ClientMessage::Bye => return Ok(()),
                ClientMessage::Stop if self.late_stop_allowed => self.late_stop_allowed = false,
                other => {
                    return self.refuse(
                        RefusalReason::Protocol,
                        format!(
                            "expected setup or bye between trials, got {}",
                            message_name(&other)
                        ),
                    )
                }
            }
        }
    }

    fn welcome(&mut self, server_proof: Option<String>) -> Result<(), SessionError> {
        let mut host = self.shared.host.clone();
        let local = self
            .control
            .local_addr()
            .map_err(SessionError::Socket)?
            .ip();
        let interface = route::interface_facts(&self.shared.config.root, local, self.peer.ip());
        self.interface = interface.name.clone();
        self.nic_local = Some(interface.local_cpus.clone()).filter(|c| !c.is_empty());
        host.interface = Some(interface);
        self.send(&ServerMessage::Welcome {
            protocol_version: PROTOCOL_VERSION,
            tool_version: env!("CARGO_PKG_VERSION").to_string(),
            host: Box::new(host),
            clock: self.shared.clock.clone(),
            limits: self.shared.config.limits.clone(),
            server_proof,
        })
    }

    /// One trial: check it, prepare this side, exchange connections, run it and report.
    fn run_trial(
        &mut self,
        spec: &TrialSpec,
        client_offer: Option<Box<RdmaOffer>>,
        frames: &Frames,
    ) -> Result<(), SessionError> {
        let (mut prepared, ticket) = match self.prepare(spec, client_offer.as_deref()) {
            Ok(p) => p,
            // Refusing a trial ends nothing: the client may ask for something else.
            Err(refusal) => return self.send(&refusal),
        };
        let cpus = prepared.cpus.clone();
        // The stop flag was cleared before `ready`: a stop that came since belongs to this trial.
        let connections = self.exchange(spec, &prepared, frames)?;
        let started = match connections {
            Some(connections) => prepared.attach_tcp(connections),
            None => Ok(()),
        }
        .and_then(|()| prepared.start(Arc::clone(&self.stop)));
        let running = match started {
            Ok(r) => {
                ticket.started();
                r
            }
            Err(e) => {
                let message = match e {
                    TrialError::Connection { source, .. } => {
                        format!("server could not set up a data connection: {source}")
                    }
                    TrialError::Start(e) => format!("server could not start the test: {e}"),
                    other => format!("server could not start the test: {other}"),
                };
                self.send(&ServerMessage::Error {
                    message: message.clone(),
                })?;
                return Err(SessionError::Refused(message));
            }
        };
        self.finish_trial(spec, running, &cpus, frames, &ticket)
    }

    /// Checks the trial against the limits and what other sessions' trials hold, and prepares this side
    /// (CPUs, link probe, RDMA queue pairs connected to the client's); a refusal to send otherwise. The
    /// ticket holds the trial's share of the server until it is dropped.
    fn prepare(
        &self,
        spec: &TrialSpec,
        client_offer: Option<&RdmaOffer>,
    ) -> Result<(Prepared, TrialTicket<'a>), Box<ServerMessage>> {
        if let Err(violation) = self.shared.config.limits.validate(spec) {
            throttled_warn!(self.shared.log_throttle, peer = %self.peer, "refused trial: {violation}");
            return Err(Box::new(ServerMessage::Refused {
                reason: RefusalReason::Limit,
                message: violation.to_string(),
            }));
        }
        if let Some(message) =
            crate::control::limits::probe_fits_stall(spec, self.shared.config.stall_timeout)
        {
            return Err(Box::new(ServerMessage::Refused {
                reason: RefusalReason::Limit,
                message,
            }));
        }
        let limits = &self.shared.config.limits;
        let ticket = self
            .shared
            .trials
            .reserve(spec.streams, limits.trial_buffer_bytes(spec))
            .map_err(|message| {
                throttled_warn!(self.shared.log_throttle, peer = %self.peer, "refused trial: {message}");
                Box::new(ServerMessage::Refused {
                    reason: RefusalReason::Busy,
                    message,
                })
            })?;
        if spec.transport == TransportKind::Rdma && client_offer.is_none() {
            return Err(Box::new(ServerMessage::Error {
                message: "an RDMA trial needs the client's queue pairs in its setup".into(),
            }));
        }
        let local = self.control.local_addr().map_err(|e| {
            Box::new(ServerMessage::Error {
                message: format!("server: the control connection's address: {e}"),
            })
        })?;
        // One trial at a time reads the CPUs the others use and records its own.
        let placing = self.shared.trials.placing();
        let setup = SideSetup {
            side: Side::Server,
            root: &self.shared.config.root,
            nic_local: self.nic_local.as_deref(),
            interface: self.interface.as_deref(),
            local: local.ip(),
            rdma_device: &self.shared.config.rdma_device,
            stall: self.shared.config.stall_timeout,
            busy_cpus: &ticket.busy_cpus(),
        };
        let mut prepared = Prepared::prepare(&setup, spec, spec.server_cpus.as_deref())
            .map_err(|e| self.not_prepared(e))?;
        ticket.set_cpus(&prepared.cpus.cpus);
        drop(placing);
        prepared
            .connect_rdma(client_offer)
            .map_err(|e| self.not_prepared(TrialError::Rdma(e)))?;
        if let Some(device) = prepared.rdma_device() {
            let endpoints = prepared.offer().map(|o| o.endpoints).unwrap_or_default();
            info!(peer = %self.peer, device, "RDMA queue pairs connected: {}",
                crate::transport::rdma::setup::describe(&endpoints));
        }
        Ok((prepared, ticket))
    }

    /// What the client is told when this side cannot run its trial.
    fn not_prepared(&self, e: TrialError) -> Box<ServerMessage> {
        Box::new(match e {
            TrialError::Pinning(e) => ServerMessage::Refused {
                reason: RefusalReason::Cpu,
                message: format!("server CPU list (--server-cpu): {e}"),
            },
            other => {
                info!(peer = %self.peer, "trial could not start: {other}");
                ServerMessage::Error {
                    message: format!("server: {other}"),
                }
            }
        })
    }

    /// Watches the running trial, then reports it (or ends the session when the client broke it).
    fn finish_trial(
        &mut self,
        spec: &TrialSpec,
        mut running: Running,
        cpus: &CpuChoice,
        frames: &Frames,
        ticket: &TrialTicket<'_>,
    ) -> Result<(), SessionError> {
        let clock = TrialClock::new(&self.shared.config, spec);
        // The watch waits for the threads (up to the join bound after an early end, still sending live
        // updates); what it leaves running is left behind at once.
        let watched = self.watch(spec, &mut running, &clock, frames);
        let ended = running.end(Duration::ZERO, watched.ended_early());
        let sharing = ticket.ended();
        let Some(outcome) = ended.outcome else {
            // Those threads still hold their buffers and CPUs: the server keeps counting them.
            ticket.abandon();
            return Err(SessionError::Refused(format!(
                "the data threads did not stop within {:.0} s of the trial's end; they were left behind \
                 (their streams and memory stay counted against the server's limits)",
                clock.join_bound().as_secs_f64()
            )));
        };
        for e in &outcome.errors {
            info!(peer = %self.peer, "data stream ended with an error: {e}");
        }
        if let Some(message) = watched.violation {
            info!(peer = %self.peer, "ended session: {message}");
            return self.refuse(RefusalReason::Protocol, message);
        }
        if let Some(e) = watched.client_gone {
            return Err(e.into());
        }
        self.late_stop_allowed = !watched.stop_seen;
        let mut report = results::side_report(spec, &outcome, cpus, Direction::ClientToServer);
        if let Some(cut) = watched.cut {
            info!(peer = %self.peer, "{cut}");
            report.errors.push(cut);
        }
        report.link = ended.link;
        report.sharing = sharing;
        self.send(&ServerMessage::TrialResult {
            report: Box::new(report),
        })
    }
}
