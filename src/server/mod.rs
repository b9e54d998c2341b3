//! linkbench-server: one port for control and data connections, one test session at a time (up to
//! `--max-sessions` at once).
//!
//! The accept loop ([`Server::run`]) sleeps in `poll()`. It judges each connection's address against
//! `--allow` before reading a byte: a peer outside it is sent a refusal and handed to the `closer`,
//! without a thread. Others get a short-lived admission thread (`admission`) that reads the 8-byte
//! preamble and routes a data connection to the running session by its cookie, or runs a control
//! connection's `handshake` (hello and key) and then the `session`, which owns a session slot
//! (`slots`; a client past `--max-sessions` is told "busy", like iperf3). Sessions that run trials at
//! once share the server's stream and memory budget, and each trial's report says what it shared
//! (`sharing`). At most `--max-connections` connections are being admitted at once; more are closed at
//! once.
//!
//! What each connection may cost is bounded: an admission thread lives at most `--handshake-timeout`;
//! a refused or closing connection lingers in the one closer thread at most a second, and at most 64 do;
//! a trial ends by the server's own clock (`trial_clock`); a session's queued control frames are
//! bounded ([`crate::control::reader`]). Refusal log lines are throttled (`throttle`).

mod admission;
pub(crate) mod closer;
mod exchange;
mod handshake;
mod session;
pub(crate) mod sharing;
pub(crate) mod slots;
pub(crate) mod throttle;
mod trial_clock;
mod watch;

use crate::clock::{self, ClockFacts};
use crate::control::auth::PreSharedKey;
use crate::control::{allow, RefusalReason, ServerLimits, COOKIE_BYTES};
use crate::diag::HostFacts;
use closer::Closer;
use ipnet::IpNet;
use sharing::TrialRegistry;
use slots::SessionSlots;
use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use thiserror::Error;
use throttle::{throttled_warn, LogThrottle};
use tracing::info;

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
    #[error("cannot start the server's closing thread: {0}")]
    Thread(io::Error),
}

/// How the server runs.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub bind: SocketAddr,
    /// Exit after the first session.
    pub once: bool,
    pub limits: ServerLimits,
    /// Largest control frame accepted, in bytes.
    pub max_frame_bytes: u32,
    /// How long a new connection may take to say what it is, say hello and authenticate.
    pub handshake_timeout: Duration,
    /// How long a session may sit idle between trials.
    pub idle_timeout: Duration,
    /// A data connection silent this long is declared stalled.
    pub stall_timeout: Duration,
    /// Connections being admitted at once; more are closed immediately.
    pub max_connections: usize,
    /// Sessions served at once (one: a second client is told "busy").
    pub max_sessions: usize,
    /// Pre-shared key every client must prove it holds; none means no authentication.
    pub psk: Option<PreSharedKey>,
    /// Peer networks allowed to connect; empty allows all.
    pub allow: Vec<IpNet>,
    /// Root of the file system facts are read from (normally `/`).
    pub root: PathBuf,
    /// RDMA device, port and GID index for RDMA trials (chosen per connection when absent).
    pub rdma_device: crate::transport::rdma::select::DeviceRequest,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            bind: SocketAddr::from(([0u16; 8], crate::control::DEFAULT_PORT)),
            once: false,
            limits: ServerLimits::default(),
            max_frame_bytes: crate::control::MAX_FRAME_BYTES,
            handshake_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(120),
            stall_timeout: Duration::from_secs(10),
            max_connections: 256,
            max_sessions: 1,
            psk: None,
            allow: Vec::new(),
            root: PathBuf::from("/"),
            rdma_device: Default::default(),
        }
    }
}

/// A session waiting for its data connections.
struct PendingData {
    cookie: [u8; COOKIE_BYTES],
    streams: mpsc::SyncSender<(u32, TcpStream)>,
}

/// A session's claim on its data connections, withdrawn when dropped (the exchange ended, or failed).
struct ExpectedData<'a> {
    shared: &'a Shared,
    cookie: [u8; COOKIE_BYTES],
}

impl Drop for ExpectedData<'_> {
    fn drop(&mut self) {
        self.shared.pending().retain(|p| p.cookie != self.cookie);
    }
}

/// State shared by the accept loop, admission threads and the session.
struct Shared {
    config: ServerConfig,
    slots: SessionSlots,
    /// Trials running now, over all sessions: the server-wide budget and who shared with whom.
    trials: TrialRegistry,
    stop: AtomicBool,
    admitting: AtomicUsize,
    /// Sessions waiting for their data connections, by cookie.
    pending_data: Mutex<Vec<PendingData>>,
    closer: Closer,
    log_throttle: LogThrottle,
    host: HostFacts,
    clock: ClockFacts,
}

impl Shared {
    fn pending(&self) -> std::sync::MutexGuard<'_, Vec<PendingData>> {
        self.pending_data.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Routes data connections that present `cookie` to `streams` until the claim is dropped.
    fn expect_data(
        &self,
        cookie: [u8; COOKIE_BYTES],
        streams: mpsc::SyncSender<(u32, TcpStream)>,
    ) -> ExpectedData<'_> {
        self.pending().push(PendingData { cookie, streams });
        ExpectedData {
            shared: self,
            cookie,
        }
    }
}

/// A bound server.
pub struct Server {
    listener: TcpListener,
    shared: Arc<Shared>,
}

/// How often the accept loop wakes without a connection, to notice a stop request.
const ACCEPT_WAKE_MS: u16 = 250;
/// Stack of an admission thread: it only reads a preamble and routes the connection.
const ADMISSION_STACK_BYTES: usize = 256 * 1024;

impl Server {
    /// Binds the listening socket and measures the host once.
    pub fn bind(config: ServerConfig) -> Result<Server, ServerError> {
        let listener = bind_listener(config.bind).map_err(|source| ServerError::Bind {
            addr: config.bind,
            source,
        })?;
        let host = HostFacts::collect(&config.root);
        let clock = clock::measure(&config.root);
        let slots = SessionSlots::new(config.max_sessions);
        let trials = TrialRegistry::new(config.limits.max_streams, config.limits.max_buffer_bytes);
        let shared = Arc::new(Shared {
            config,
            slots,
            trials,
            stop: AtomicBool::new(false),
            admitting: AtomicUsize::new(0),
            pending_data: Mutex::new(Vec::new()),
            closer: Closer::start().map_err(ServerError::Thread)?,
            log_throttle: LogThrottle::default(),
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
            self.shared.log_throttle.flush();
            // Sleep in poll() until a connection arrives, waking now and then only to notice a stop
            // request: a short sleep loop would wake the machine hundreds of times a second.
            if !wait_readable(&self.listener, ACCEPT_WAKE_MS) {
                continue;
            }
            match self.listener.accept() {
                Ok((stream, peer)) => self.dispatch(stream, peer),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) if is_transient_accept_error(&e) => {
                    throttled_warn!(self.shared.log_throttle, error = %e, "accept failed; continuing");
                    std::thread::sleep(Duration::from_millis(50));
                }
                Err(e) => return Err(ServerError::Accept(e)),
            }
        }
        info!("server stopping");
        Ok(())
    }

    fn dispatch(&self, stream: TcpStream, peer: SocketAddr) {
        let shared = &self.shared;
        if !allow::is_allowed(&shared.config.allow, peer.ip()) {
            // Judged before reading a byte: no thread, no read, a bounded linger in the closer.
            throttled_warn!(shared.log_throttle, %peer, "refused connection: address not in --allow");
            handshake::refuse_unread(
                &stream,
                RefusalReason::NotAllowed,
                format!(
                    "this server does not accept connections from {}: it is not in the server's --allow list",
                    peer.ip()
                ),
            );
            return shared.closer.close(stream);
        }
        let Some(ticket) = admission::Admitting::try_new(shared) else {
            throttled_warn!(shared.log_throttle, %peer,
                "refused connection: {} connections already being admitted (--max-connections)",
                shared.config.max_connections);
            return;
        };
        let spawned = std::thread::Builder::new()
            .name("admission".into())
            .stack_size(ADMISSION_STACK_BYTES)
            .spawn(move || admission::admit(stream, peer, ticket));
        if let Err(e) = spawned {
            throttled_warn!(shared.log_throttle, %peer, error = %e, "could not start a thread for a connection; closed it");
        }
    }
}

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
