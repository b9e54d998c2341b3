//! One client's control session: hello (and the pre-shared-key challenge when the server has a key),
//! then trials until the client says bye, goes silent past the idle timeout, or goes away.
//!
//! A reader thread turns the client's frames into channel messages for the whole session, so the session
//! never cuts a frame in half on a timeout, and a `stop` (or the client vanishing) ends a running trial at
//! once through the trial's stop flag instead of waiting for a stall timeout.

use super::Shared;
use crate::control::auth;
use crate::control::frame::FrameError;
use crate::control::{
    read_frame, write_frame, ClientMessage, RefusalReason, ServerMessage, COOKIE_BYTES,
    PROTOCOL_VERSION,
};
use crate::diag::link::LinkProbe;
use crate::diag::route;
use crate::engine::{self, pinning, Side};
use crate::plan::{TestKind, TransportKind, TrialSpec};
use crate::report::model::Direction;
use crate::results;
use crate::transport::rdma::setup::RdmaSide;
use crate::transport::rdma::RdmaOffer;
use crate::transport::tcp::{TcpDataStream, TcpOptions};
use crate::transport::DataStream;
use rand::RngCore;
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};
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

type Frames = mpsc::Receiver<Result<ClientMessage, FrameError>>;

/// A session in progress.
pub(super) struct Session<'a> {
    shared: &'a Shared,
    control: TcpStream,
    peer: SocketAddr,
    /// Set by the reader thread on `stop` or when the client goes away; cleared at each trial's start.
    stop: Arc<AtomicBool>,
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
        Ok(Session {
            shared,
            control,
            peer,
            stop: Arc::new(AtomicBool::new(false)),
        })
    }

    fn send(&mut self, message: &ServerMessage) -> Result<(), SessionError> {
        Ok(write_frame(&mut self.control, message)?)
    }

    fn refuse(&mut self, reason: RefusalReason, message: String) -> Result<(), SessionError> {
        let _ = self.send(&ServerMessage::Refused {
            reason,
            message: message.clone(),
        });
        super::admission::close_gracefully(&mut self.control);
        Err(SessionError::Refused(message))
    }

    fn read(&mut self) -> Result<ClientMessage, SessionError> {
        Ok(read_frame(
            &mut self.control,
            self.shared.config.max_frame_bytes,
        )?)
    }

    pub(super) fn run(mut self) -> Result<(), SessionError> {
        // Hello (the admission set the handshake timeout on this socket).
        let client_nonce = match self.read()? {
            ClientMessage::Hello {
                protocol_version,
                client_nonce,
                ..
            } if protocol_version == PROTOCOL_VERSION => client_nonce,
            ClientMessage::Hello {
                protocol_version,
                tool_version,
                ..
            } => {
                return self.refuse(
                    RefusalReason::ProtocolVersion,
                    format!(
                        "this server speaks linkbench protocol {PROTOCOL_VERSION} (linkbench {}), the client \
                         protocol {protocol_version} (linkbench {tool_version}): run the same linkbench version on both hosts",
                        env!("CARGO_PKG_VERSION")
                    ),
                );
            }
            other => {
                return self.refuse(
                    RefusalReason::Protocol,
                    format!("expected hello, got {}", message_name(&other)),
                )
            }
        };
        let server_proof = self.authenticate(client_nonce)?;
        let mut host = self.shared.host.clone();
        let local = self
            .control
            .local_addr()
            .map_err(SessionError::Socket)?
            .ip();
        host.interface = Some(route::interface_facts(
            &self.shared.config.root,
            local,
            self.peer.ip(),
        ));
        let interface = host.interface.as_ref().and_then(|i| i.name.clone());
        let nic_local = host
            .interface
            .as_ref()
            .map(|i| i.local_cpus.clone())
            .filter(|c| !c.is_empty());
        self.send(&ServerMessage::Welcome {
            protocol_version: PROTOCOL_VERSION,
            tool_version: env!("CARGO_PKG_VERSION").to_string(),
            host: Box::new(host),
            clock: self.shared.clock.clone(),
            limits: self.shared.config.limits.clone(),
            server_proof,
        })?;

        let frames = self.spawn_reader()?;
        // Negotiate / Run, until bye.
        loop {
            match self.next(&frames, self.shared.config.idle_timeout)? {
                ClientMessage::Setup { spec, rdma } => self.run_trial(
                    &spec,
                    rdma.as_deref(),
                    nic_local.as_deref(),
                    interface.as_deref(),
                    &frames,
                )?,
                ClientMessage::Bye => return Ok(()),
                // A stop that arrived after its trial had already ended.
                ClientMessage::Stop => {}
                other => {
                    return self.refuse(
                        RefusalReason::Protocol,
                        format!("expected setup or bye, got {}", message_name(&other)),
                    )
                }
            }
        }
    }

    /// With a pre-shared key: challenge the client, check its proof, and return the server's proof.
    fn authenticate(
        &mut self,
        client_nonce: Option<String>,
    ) -> Result<Option<String>, SessionError> {
        let Some(psk) = self.shared.config.psk.clone() else {
            return Ok(None);
        };
        let Some(client_nonce) = client_nonce else {
            return self
                .refuse(
                    RefusalReason::Auth,
                    "this server requires a pre-shared key: run the client with --psk-file".into(),
                )
                .map(|_| None);
        };
        let server_nonce = auth::new_nonce();
        self.send(&ServerMessage::Challenge {
            server_nonce: server_nonce.clone(),
        })?;
        let proof = match self.read()? {
            ClientMessage::Auth { proof } => proof,
            other => {
                return self
                    .refuse(
                        RefusalReason::Protocol,
                        format!("expected auth, got {}", message_name(&other)),
                    )
                    .map(|_| None)
            }
        };
        if let Err(e) = psk.verify_client(&server_nonce, &client_nonce, &proof) {
            info!(peer = %self.peer, "refused session: {e}");
            return self
                .refuse(
                    RefusalReason::Auth,
                    format!("{e}: check that both sides use the same --psk-file"),
                )
                .map(|_| None);
        }
        psk.server_proof(&client_nonce, &server_nonce)
            .map(Some)
            .map_err(|e| SessionError::Refused(e.to_string()))
    }

    /// Starts the thread that reads the client's frames for the rest of the session.
    fn spawn_reader(&self) -> Result<Frames, SessionError> {
        let mut reader = self.control.try_clone().map_err(SessionError::Socket)?;
        reader
            .set_read_timeout(None)
            .map_err(SessionError::Socket)?;
        let max = self.shared.config.max_frame_bytes;
        let stop = Arc::clone(&self.stop);
        let (tx, rx) = mpsc::channel();
        std::thread::Builder::new()
            .name("session-reader".into())
            .spawn(move || loop {
                let frame = read_frame::<ClientMessage>(&mut reader, max);
                let end = frame.is_err() || matches!(frame, Ok(ClientMessage::Bye));
                if matches!(frame, Ok(ClientMessage::Stop) | Err(_)) {
                    stop.store(true, Ordering::SeqCst);
                }
                if tx.send(frame).is_err() || end {
                    return;
                }
            })
            .map_err(SessionError::Socket)?;
        Ok(rx)
    }

    fn next(&self, frames: &Frames, timeout: Duration) -> Result<ClientMessage, SessionError> {
        match frames.recv_timeout(timeout) {
            Ok(Ok(message)) => Ok(message),
            Ok(Err(e)) => Err(e.into()),
            Err(mpsc::RecvTimeoutError::Timeout) => Err(SessionError::Idle(timeout.as_secs_f64())),
            Err(mpsc::RecvTimeoutError::Disconnected) => Err(FrameError::Closed.into()),
        }
    }

    /// Opens this side's queue pairs and connects them to the client's.
    fn open_rdma(
        &self,
        spec: &TrialSpec,
        client_offer: Option<&RdmaOffer>,
        interface: Option<&str>,
    ) -> Result<RdmaSide, String> {
        let offer = client_offer.ok_or_else(|| {
            "an RDMA trial needs the client's queue pairs in its setup".to_string()
        })?;
        let local = self.control.local_addr().map_err(|e| e.to_string())?.ip();
        let mut side = RdmaSide::open(
            &self.shared.config.root,
            spec,
            &self.shared.config.rdma_device,
            local,
            interface,
        )
        .map_err(|e| format!("server: {e}"))?;
        side.connect(spec, offer)
            .map_err(|e| format!("server: {e}"))?;
        info!(peer = %self.peer, device = %side.facts.device, "RDMA queue pairs connected: {}",
            crate::transport::rdma::setup::describe(&side.offer().endpoints));
        Ok(side)
    }

    fn run_trial(
        &mut self,
        spec: &TrialSpec,
        client_offer: Option<&RdmaOffer>,
        nic_local: Option<&[usize]>,
        interface: Option<&str>,
        frames: &Frames,
    ) -> Result<(), SessionError> {
        if let Err(violation) = self.shared.config.limits.validate(spec) {
            info!(peer = %self.peer, "refused trial: {violation}");
            // Refusing a trial ends nothing: the client may ask for something else.
            return self.send(&ServerMessage::Refused {
                reason: RefusalReason::Limit,
                message: violation.to_string(),
            });
        }
        let threads = engine::thread_count(spec, Side::Server);
        let usable = pinning::usable_cpus();
        let cpus = match pinning::choose_cpus(
            spec.server_cpus.as_deref(),
            nic_local,
            &usable,
            threads,
            true,
        ) {
            Ok(c) => c,
            Err(e) => {
                return self.send(&ServerMessage::Refused {
                    reason: RefusalReason::Cpu,
                    message: format!("server CPU list (--server-cpu): {e}"),
                })
            }
        };
        // Counters and module monitors before the data connections open, read again after the trial.
        let probe = interface.map(|i| LinkProbe::begin(&self.shared.config.root, i));
        let rdma = spec.transport == TransportKind::Rdma;
        let rdma_side = if rdma {
            match self.open_rdma(spec, client_offer, interface) {
                Ok(side) => Some(side),
                Err(message) => {
                    info!(peer = %self.peer, "RDMA trial could not start: {message}");
                    return self.send(&ServerMessage::Error { message });
                }
            }
        } else {
            None
        };
        let mut cookie = [0u8; COOKIE_BYTES];
        rand::thread_rng().fill_bytes(&mut cookie);
        let (tx, rx) = mpsc::channel();
        if !rdma {
            self.shared.set_pending_data(Some(super::PendingData {
                cookie,
                streams: tx,
            }));
        }
        self.send(&ServerMessage::Ready {
            cookie: auth::hex(&cookie),
            cpus: cpus.clone(),
            rdma: rdma_side.as_ref().map(|s| Box::new(s.offer())),
        })?;

        // Exchange: the client connects its data streams (or its queue pairs), then says start.
        let start = self.next(frames, self.shared.config.handshake_timeout);
        let streams = match start {
            Ok(ClientMessage::Start) if rdma => Ok(Vec::new()),
            Ok(ClientMessage::Start) => self.collect_streams(spec, &rx),
            Ok(other) => Err(format!("expected start, got {}", message_name(&other))),
            Err(e) => Err(e.to_string()),
        };
        self.shared.set_pending_data(None);
        let streams = match streams {
            Ok(s) => s,
            Err(message) => {
                self.send(&ServerMessage::Error {
                    message: message.clone(),
                })?;
                return Err(SessionError::Refused(message));
            }
        };

        // Run
        self.stop.store(false, Ordering::SeqCst);
        let started_side = match rdma_side {
            Some(side) => engine::start_rdma_side(
                spec,
                Side::Server,
                side.into_qps().0,
                &cpus,
                Arc::clone(&self.stop),
                self.shared.config.stall_timeout,
            ),
            None => engine::start_side(spec, Side::Server, streams, &cpus, Arc::clone(&self.stop)),
        };
        let mut running = match started_side {
            Ok(r) => r,
            Err(e) => {
                let message = format!("server could not start the test: {e}");
                self.send(&ServerMessage::Error {
                    message: message.clone(),
                })?;
                return Err(SessionError::Refused(message));
            }
        };
        let interval = Duration::from_secs_f64(spec.interval_s);
        let started = Instant::now();
        let mut next_tick = started + interval;
        let mut client_gone: Option<FrameError> = None;
        loop {
            let until_tick = next_tick.saturating_duration_since(Instant::now());
            if running.wait_finished(until_tick) {
                break;
            }
            if Instant::now() >= next_tick && client_gone.is_none() {
                let sample = running.measured_progress();
                let live = ServerMessage::Interval {
                    elapsed_s: started.elapsed().as_secs_f64(),
                    measuring: sample.streams_measuring > 0,
                    bytes: sample.bytes,
                    messages: sample.messages,
                };
                if let Err(e) = write_frame(&mut self.control, &live) {
                    // Stop sending data to a client that is gone.
                    self.stop.store(true, Ordering::SeqCst);
                    client_gone = Some(e);
                }
                next_tick += interval;
            }
        }
        let outcome = running.join();
        for e in &outcome.errors {
            info!(peer = %self.peer, "data stream ended with an error: {e}");
        }
        if let Some(e) = client_gone {
            return Err(e.into());
        }
        let mut report = results::side_report(spec, &outcome, &cpus, Direction::ClientToServer);
        report.link = probe.map(LinkProbe::finish);
        self.send(&ServerMessage::TrialResult {
            report: Box::new(report),
        })
    }

    fn collect_streams(
        &self,
        spec: &TrialSpec,
        rx: &mpsc::Receiver<(u32, TcpStream)>,
    ) -> Result<Vec<Box<dyn DataStream>>, String> {
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
        slots
            .into_iter()
            .flatten()
            .map(|s| TcpDataStream::new(s, options).map(|d| Box::new(d) as Box<dyn DataStream>))
            .collect::<Result<_, _>>()
            .map_err(|e| format!("server could not set up a data connection: {e}"))
    }
}

fn message_name(message: &ClientMessage) -> &'static str {
    match message {
        ClientMessage::Hello { .. } => "hello",
        ClientMessage::Auth { .. } => "auth",
        ClientMessage::Setup { .. } => "setup",
        ClientMessage::Start => "start",
        ClientMessage::Stop => "stop",
        ClientMessage::Bye => "bye",
    }
}
