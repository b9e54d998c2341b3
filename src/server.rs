//! linkbench-server: one port for control and data connections, one test session at a time.
//!
//! The accept loop hands every connection to a short-lived thread that reads the 8-byte preamble (with a
//! timeout, so a silent connection costs one thread for a bounded time). A control connection either
//! becomes the session or, while another session runs, is told "busy" and closed, like iperf3. A data
//! connection is handed to the session whose cookie it presents; any other is dropped.

use crate::clock::{self, ClockFacts};
use crate::control::{
    frame, read_frame, write_frame, ClientMessage, RefusalReason, ServerLimits, ServerMessage,
    CONTROL_PREAMBLE, COOKIE_BYTES, DATA_PREAMBLE, MAX_FRAME_BYTES, PROTOCOL_VERSION,
    SERVER_PREAMBLE,
};
use crate::diag::{route, HostFacts};
use crate::engine::{self, pinning, Side};
use crate::plan::{TestKind, TrialSpec};
use crate::report::model::Direction;
use crate::results;
use crate::transport::tcp::{TcpDataStream, TcpOptions};
use crate::transport::DataStream;
use rand::RngCore;
use std::io::{self, Read};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use thiserror::Error;
use tracing::{info, warn};

/// The server could not start or keep running.
#[derive(Debug, Error)]
pub enum ServerError {
    #[error("cannot listen on {addr}: {source} (is another server using the port? pick one with --bind)")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: io::Error,
    },
    #[error("accepting connections failed: {0}")]
    Accept(io::Error),
}

/// How the server runs.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub bind: SocketAddr,
    /// Exit after the first session.
    pub once: bool,
    pub limits: ServerLimits,
    /// How long a new connection may take to say what it is and to say hello.
    pub handshake_timeout: Duration,
    /// How long a session may sit idle between trials.
    pub idle_timeout: Duration,
    /// A data connection silent this long is declared stalled.
    pub stall_timeout: Duration,
    /// Connections being classified at once; more are closed immediately.
    pub max_pending_connections: usize,
    /// Root of the file system facts are read from (normally `/`).
    pub root: PathBuf,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            bind: SocketAddr::from(([0u16; 8], crate::control::DEFAULT_PORT)),
            once: false,
            limits: ServerLimits::default(),
            handshake_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(120),
            stall_timeout: Duration::from_secs(10),
            max_pending_connections: 256,
            root: PathBuf::from("/"),
        }
    }
}

struct PendingData {
    cookie: [u8; COOKIE_BYTES],
    streams: mpsc::Sender<(u32, TcpStream)>,
}

struct Shared {
    config: ServerConfig,
    busy: AtomicBool,
    stop: AtomicBool,
    pending_connections: AtomicUsize,
    pending_data: Mutex<Option<PendingData>>,
    host: HostFacts,
    clock: ClockFacts,
}

/// A bound server.
pub struct Server {
    listener: TcpListener,
    shared: Arc<Shared>,
}

impl Server {
    /// Binds the listening socket and measures the host once.
    pub fn bind(config: ServerConfig) -> Result<Server, ServerError> {
        let listener = bind_listener(config.bind).map_err(|source| ServerError::Bind {
            addr: config.bind,
            source,
        })?;
        let host = HostFacts::collect(&config.root);
        let clock = clock::measure(&config.root);
        let shared = Arc::new(Shared {
            config,
            busy: AtomicBool::new(false),
            stop: AtomicBool::new(false),
            pending_connections: AtomicUsize::new(0),
            pending_data: Mutex::new(None),
            host,
            clock,
        });
        Ok(Server { listener, shared })
    }

    /// The address actually bound (useful with port 0).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until stopped (or, with `once`, until the first session ends).
    pub fn run(self) -> Result<(), ServerError> {
        self.listener
            .set_nonblocking(true)
            .map_err(ServerError::Accept)?;
        while !self.shared.stop.load(Ordering::SeqCst) {
            // Sleep in poll() until a connection arrives, waking now and then only to notice a stop
            // request: a short sleep loop would wake the machine hundreds of times a second.
            if !wait_readable(&self.listener, ACCEPT_WAKE_MS) {
                continue;
            }
            match self.listener.accept() {
                Ok((stream, peer)) => self.dispatch(stream, peer),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) if is_transient_accept_error(&e) => {
                    warn!(error = %e, "accept failed; continuing");
                    std::thread::sleep(Duration::from_millis(50));
                }
                Err(e) => return Err(ServerError::Accept(e)),
            }
        }
        info!("server stopping");
        Ok(())
    }

    fn dispatch(&self, stream: TcpStream, peer: SocketAddr) {
        let pending = self
            .shared
            .pending_connections
            .fetch_add(1, Ordering::SeqCst);
        if pending >= self.shared.config.max_pending_connections {
            self.shared
                .pending_connections
                .fetch_sub(1, Ordering::SeqCst);
            warn!(%peer, "refused connection: {pending} connections already waiting to be classified");
            return;
        }
        let shared = Arc::clone(&self.shared);
        let spawned = std::thread::Builder::new()
            .name("conn".into())
            .spawn(move || {
                handle_connection(&shared, stream, peer);
            });
        if let Err(e) = spawned {
            self.shared
                .pending_connections
                .fetch_sub(1, Ordering::SeqCst);
            warn!(%peer, error = %e, "could not start a thread for a connection; closed it");
        }
    }
}

/// How often the accept loop wakes without a connection, to notice a stop request.
const ACCEPT_WAKE_MS: u16 = 250;

/// Waits until the listener has a connection to accept, at most `timeout_ms`.
fn wait_readable(listener: &TcpListener, timeout_ms: u16) -> bool {
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
    use std::os::fd::AsFd;
    let mut fds = [PollFd::new(listener.as_fd(), PollFlags::POLLIN)];
    matches!(poll(&mut fds, PollTimeout::from(timeout_ms)), Ok(n) if n > 0)
}

fn bind_listener(addr: SocketAddr) -> io::Result<TcpListener> {
    let domain = socket2::Domain::for_address(addr);
    let socket = socket2::Socket::new(domain, socket2::Type::STREAM, Some(socket2::Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    if addr.is_ipv6() {
        // Accept IPv4 clients on [::] too.
        let _ = socket.set_only_v6(false);
    }
    socket.bind(&addr.into())?;
    socket.listen(1024)?;
    Ok(socket.into())
}

fn is_transient_accept_error(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM | libc::ECONNABORTED)
    ) || e.kind() == io::ErrorKind::Interrupted
}

fn handle_connection(shared: &Arc<Shared>, mut stream: TcpStream, peer: SocketAddr) {
    let classified = classify(shared, &mut stream, peer);
    shared.pending_connections.fetch_sub(1, Ordering::SeqCst);
    match classified {
        Ok(Kind::Data) | Err(_) => {}
        Ok(Kind::Control) => {
            if shared
                .busy
                .compare_exchange(false, true, Ordering::SeqCst, Ordering::SeqCst)
                .is_err()
            {
                info!(%peer, "refused session: busy with another client");
                let _ = write_frame(
                    &mut stream,
                    &ServerMessage::Refused {
                        reason: RefusalReason::Busy,
                        message: "the server is busy running another client's test; try again when it is done"
                            .into(),
                    },
                );
                return;
            }
            info!(%peer, "session started");
            match Session::new(shared, stream, peer).run() {
                Ok(()) => info!(%peer, "session ended"),
                Err(e) => warn!(%peer, "session failed: {e}"),
            }
            *shared
                .pending_data
                .lock()
                .unwrap_or_else(|p| p.into_inner()) = None;
            shared.busy.store(false, Ordering::SeqCst);
            if shared.config.once {
                shared.stop.store(true, Ordering::SeqCst);
            }
        }
    }
}

enum Kind {
    Control,
    Data,
}

/// Reads the preamble; a data connection is handed over here, a control one is answered with the
/// server preamble.
fn classify(shared: &Shared, stream: &mut TcpStream, peer: SocketAddr) -> Result<Kind, ()> {
    let fail = |why: &str| {
        info!(%peer, "closed connection: {why}");
    };
    if stream.set_nonblocking(false).is_err()
        || stream
            .set_read_timeout(Some(shared.config.handshake_timeout))
            .is_err()
        || stream
            .set_write_timeout(Some(shared.config.handshake_timeout))
            .is_err()
    {
        fail("socket setup failed");
        return Err(());
    }
    let mut preamble = [0u8; 8];
    if let Err(e) = stream.read_exact(&mut preamble) {
        fail(&format!("no preamble ({e})"));
        return Err(());
    }
    if &preamble == CONTROL_PREAMBLE {
        if crate::transport::tcp::write_preamble(stream, SERVER_PREAMBLE).is_err() {
            fail("client went away during the handshake");
            return Err(());
        }
        return Ok(Kind::Control);
    }
    if &preamble != DATA_PREAMBLE {
        fail("not a linkbench client (unknown preamble)");
        return Err(());
    }
    let mut cookie = [0u8; COOKIE_BYTES];
    let mut index = [0u8; 4];
    if stream
        .read_exact(&mut cookie)
        .and_then(|_| stream.read_exact(&mut index))
        .is_err()
    {
        fail("data connection ended before its cookie");
        return Err(());
    }
    let guard = shared
        .pending_data
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    match guard.as_ref() {
        Some(pending) if pending.cookie == cookie => {
            let _ = pending.streams.send((
                u32::from_be_bytes(index),
                stream.try_clone().map_err(|_| ())?,
            ));
            Ok(Kind::Data)
        }
        _ => {
            fail("data connection with an unknown session cookie");
            Err(())
        }
    }
}

/// One client's control session.
struct Session<'a> {
    shared: &'a Shared,
    control: TcpStream,
    peer: SocketAddr,
}

/// Why a session ended early.
#[derive(Debug, Error)]
enum SessionError {
    #[error(transparent)]
    Frame(#[from] frame::FrameError),
    #[error("{0}")]
    Refused(String),
    #[error("control socket setup failed: {0}")]
    Socket(io::Error),
}

impl<'a> Session<'a> {
    fn new(shared: &'a Shared, control: TcpStream, peer: SocketAddr) -> Self {
        Session {
            shared,
            control,
            peer,
        }
    }

    fn send(&mut self, message: &ServerMessage) -> Result<(), SessionError> {
        Ok(write_frame(&mut self.control, message)?)
    }

    fn refuse(&mut self, reason: RefusalReason, message: String) -> Result<(), SessionError> {
        let _ = self.send(&ServerMessage::Refused {
            reason,
            message: message.clone(),
        });
        Err(SessionError::Refused(message))
    }

    fn run(mut self) -> Result<(), SessionError> {
        // Hello
        let hello: ClientMessage = read_frame(&mut self.control, MAX_FRAME_BYTES)?;
        match hello {
            ClientMessage::Hello {
                protocol_version, ..
            } if protocol_version == PROTOCOL_VERSION => {}
            ClientMessage::Hello {
                protocol_version,
                tool_version,
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
                );
            }
        }
        let mut host = self.shared.host.clone();
        let local = self
            .control
            .local_addr()
            .map_err(SessionError::Socket)?
            .ip();
        host.interface = Some(route::interface_facts(&self.shared.config.root, local));
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
        })?;
        // Negotiate / Run, until bye.
        self.control
            .set_read_timeout(Some(self.shared.config.idle_timeout))
            .map_err(SessionError::Socket)?;
        loop {
            let message: ClientMessage = read_frame(&mut self.control, MAX_FRAME_BYTES)?;
            match message {
                ClientMessage::Setup { spec } => self.run_trial(&spec, nic_local.as_deref())?,
                ClientMessage::Bye => return Ok(()),
                other => {
                    return self.refuse(
                        RefusalReason::Protocol,
                        format!("expected setup or bye, got {}", message_name(&other)),
                    );
                }
            }
        }
    }

    fn run_trial(
        &mut self,
        spec: &TrialSpec,
        nic_local: Option<&[usize]>,
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
        let mut cookie = [0u8; COOKIE_BYTES];
        rand::thread_rng().fill_bytes(&mut cookie);
        let (tx, rx) = mpsc::channel();
        *self
            .shared
            .pending_data
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = Some(PendingData {
            cookie,
            streams: tx,
        });
        self.send(&ServerMessage::Ready {
            cookie: hex(&cookie),
            cpus: cpus.clone(),
        })?;

        // Exchange: the client connects its data streams, then says start.
        self.control
            .set_read_timeout(Some(self.shared.config.handshake_timeout))
            .map_err(SessionError::Socket)?;
        let start: ClientMessage = read_frame(&mut self.control, MAX_FRAME_BYTES)?;
        if start != ClientMessage::Start {
            return self.refuse(
                RefusalReason::Protocol,
                format!("expected start, got {}", message_name(&start)),
            );
        }
        let streams = self.collect_streams(spec, &rx);
        *self
            .shared
            .pending_data
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = None;
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
        let mut running = match engine::start_side(spec, Side::Server, streams, &cpus) {
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
        let mut client_gone: Option<frame::FrameError> = None;
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
        let report = results::side_report(spec, &outcome, &cpus, Direction::ClientToServer);
        self.control
            .set_read_timeout(Some(self.shared.config.idle_timeout))
            .map_err(SessionError::Socket)?;
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
        ClientMessage::Setup { .. } => "setup",
        ClientMessage::Start => "start",
        ClientMessage::Bye => "bye",
    }
}

/// Lower-case hex of bytes (session cookies travel as hex in JSON).
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Bytes of a hex string, `None` when it is not valid hex of the right length.
pub fn unhex<const N: usize>(text: &str) -> Option<[u8; N]> {
    if text.len() != N * 2 {
        return None;
    }
    let mut out = [0u8; N];
    for (i, chunk) in text.as_bytes().chunks(2).enumerate() {
        let s = std::str::from_utf8(chunk).ok()?;
        out[i] = u8::from_str_radix(s, 16).ok()?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_round_trip_through_hex() {
        let c = [0u8, 1, 0xab, 0xff];
        assert_eq!(hex(&c), "0001abff");
        assert_eq!(unhex::<4>("0001abff"), Some(c));
        assert_eq!(unhex::<4>("0001abf"), None);
        assert_eq!(unhex::<2>("zzzz"), None);
    }
}
