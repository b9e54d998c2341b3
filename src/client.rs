//! linkbench-client: connects to a server, runs every trial of the plan, prints live lines and a table,
//! and builds the report. Whatever happens, the report keeps every figure measured before it happened and
//! says what went wrong (`status: incomplete`).

use crate::clock;
use crate::control::auth::{self, PreSharedKey};
use crate::control::{
    frame::FrameError, read_frame, write_frame, ClientMessage, RefusalReason, ServerMessage,
    SideReport, CONTROL_PREAMBLE, COOKIE_BYTES, DATA_PREAMBLE, PROTOCOL_VERSION, SERVER_PREAMBLE,
};
use crate::diag::link::LinkProbe;
use crate::diag::{route, HostFacts};
use crate::engine::{self, pinning, Side};
use crate::plan::{TestKind, TestPlan, TransportKind, TrialSpec};
use crate::report::model::{ClockPair, Report, ReportError, Status, TestResult, ToolInfo, Units};
use crate::report::model::{LinkSides, RdmaReport};
use crate::report::table;
use crate::results;
use crate::transport::rdma::setup::RdmaSide;
use crate::transport::tcp::{TcpDataStream, TcpOptions};
use crate::transport::DataStream;
use std::collections::BTreeMap;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};
use thiserror::Error;

/// Why a run could not start or had to stop.
#[derive(Debug, Error)]
pub enum ClientError {
    #[error(
        "interrupted: the run was stopped by a signal (Ctrl-C); the report holds what was measured"
    )]
    Interrupted,
    #[error("authentication: {0}")]
    Auth(String),
    #[error("{addr} closed the connection without answering: it may be shedding load (more connections than its --max-connections), not accept this client's address (--allow), or not be a linkbench server")]
    ClosedSilently { addr: String },
    #[error("cannot resolve server '{server}': {reason}")]
    Resolve { server: String, reason: String },
    #[error("cannot reach linkbench-server at {addr}: {source} (is linkbench-server running there and the port open?)")]
    Connect {
        addr: String,
        #[source]
        source: io::Error,
    },
    #[error("{addr} is not a linkbench server (it answered {answer}); check the host and port")]
    NotLinkbench { addr: String, answer: String },
    #[error("server at {addr} speaks linkbench protocol {server}, this client {client}: run the same linkbench version on both hosts")]
    ProtocolVersion {
        addr: String,
        server: u32,
        client: u32,
    },
    #[error("server refused: {0}")]
    Refused(String),
    #[error("the server refused the test: {0}")]
    LimitRefused(String),
    #[error("control connection to the server failed: {0}")]
    Control(#[from] FrameError),
    #[error("the server stopped answering: no message for {0:.0} s")]
    ServerSilent(f64),
    #[error("the server reported an error: {0}")]
    ServerError(String),
    #[error("unexpected message from the server: {0}")]
    Unexpected(String),
    #[error("data connection setup failed: {0}")]
    Data(String),
    #[error(transparent)]
    Pinning(#[from] pinning::PinningError),
    #[error(transparent)]
    Rdma(#[from] crate::transport::rdma::RdmaError),
}

impl ClientError {
    /// Whether this error is the user's request being unacceptable (exit code 2) rather than a failure.
    pub fn is_bad_input(&self) -> bool {
        matches!(self, ClientError::LimitRefused(_) | ClientError::Pinning(_))
    }
}

/// How the client runs.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// `HOST`, `HOST:PORT`, `[V6]:PORT`.
    pub server: String,
    pub plan: TestPlan,
    /// CPUs for the client's data threads.
    pub cpus: Option<Vec<usize>>,
    pub labels: BTreeMap<String, String>,
    pub command_line: Vec<String>,
    pub connect_timeout: Duration,
    /// A data connection silent this long is declared stalled.
    pub stall_timeout: Duration,
    /// Print live per-interval lines.
    pub live: bool,
    pub root: PathBuf,
    /// Pre-shared key for servers that require authentication (`--psk-file`).
    pub psk: Option<PreSharedKey>,
    /// RDMA device, port and GID index the user asked for.
    pub rdma_device: crate::transport::rdma::select::DeviceRequest,
}

/// Largest frame accepted from a server: results carry per-interval figures, so they may be large.
const SERVER_FRAME_LIMIT: u32 = crate::control::ABSOLUTE_MAX_FRAME_BYTES;

/// Set when the user asked the run to stop (SIGINT/SIGTERM).
static INTERRUPTED: AtomicBool = AtomicBool::new(false);
/// How often a running trial looks at the interrupt flag.
const INTERRUPT_CHECK: Duration = Duration::from_millis(200);

/// Asks the run to stop: the running trial ends early on both sides and the report is written with what
/// was measured. Returns whether a stop had already been asked for.
pub fn interrupt() -> bool {
    INTERRUPTED.swap(true, Ordering::SeqCst)
}

fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// The finished run: the report, and the error that stopped it early, if any.
pub struct RunOutcome {
    pub report: Report,
    pub error: Option<ClientError>,
}

/// Splits `HOST[:PORT]` (IPv6 in brackets, or bare without a port).
pub fn parse_server(text: &str, default_port: u16) -> Result<(String, u16), ClientError> {
    let bad = |reason: &str| ClientError::Resolve {
        server: text.to_string(),
        reason: reason.to_string(),
    };
    if text.is_empty() {
        return Err(bad("empty host"));
    }
    if let Some(rest) = text.strip_prefix('[') {
        let (host, after) = rest
            .split_once(']')
            .ok_or_else(|| bad("missing ']' after an IPv6 address"))?;
        let port = match after.strip_prefix(':') {
            Some(p) => p
                .parse()
                .map_err(|_| bad("the port must be a number from 1 to 65535"))?,
            None if after.is_empty() => default_port,
            None => return Err(bad("expected :PORT after ']'")),
        };
        return Ok((host.to_string(), port));
    }
    if text.parse::<std::net::Ipv6Addr>().is_ok() {
        return Ok((text.to_string(), default_port));
    }
    match text.rsplit_once(':') {
        Some((host, port)) => {
            let port: u16 = port
                .parse()
                .map_err(|_| bad("the port must be a number from 1 to 65535"))?;
            if port == 0 || host.is_empty() {
                return Err(bad("use HOST:PORT with a port from 1 to 65535"));
            }
            Ok((host.to_string(), port))
        }
        None => Ok((text.to_string(), default_port)),
    }
}

/// Runs the whole plan. `out` receives the live lines and the table.
pub fn run(config: &ClientConfig, out: &mut dyn Write) -> RunOutcome {
    let started_at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let mut report = Report {
        schema_version: crate::report::SCHEMA_VERSION.to_string(),
        status: Status::Incomplete,
        errors: Vec::new(),
        warnings: Vec::new(),
        tool: ToolInfo {
            name: "linkbench".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            protocol_version: PROTOCOL_VERSION,
        },
        started_at,
        finished_at: String::new(),
        labels: config.labels.clone(),
        command_line: config.command_line.clone(),
        server_address: config.server.clone(),
        client: HostFacts::collect(&config.root),
        server: None,
        clock: ClockPair {
            client: clock::measure(&config.root),
            server: None,
        },
        units: Units::default(),
        results: Vec::new(),
    };
    let error = run_into(config, &mut report, out).err();
    if let Some(e) = &error {
        report.errors.push(ReportError {
            message: e.to_string(),
            trial: None,
            message_size: None,
        });
    }
    let planned = config.plan.trials().len();
    report.status = if error.is_none()
        && report.results.len() == planned
        && report.results.iter().all(|r| r.complete)
    {
        Status::Complete
    } else {
        Status::Incomplete
    };
    // Warnings qualify figures; a run that measured nothing has none to qualify.
    if !report.results.is_empty() {
        report.warnings = distortion_warnings(&report);
    }
    report.finished_at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    RunOutcome { report, error }
}

/// Conditions that could distort the figures, said in the report and on screen.
pub fn distortion_warnings(report: &Report) -> Vec<String> {
    let mut warnings = Vec::new();
    for (side, host) in [
        ("client", Some(&report.client)),
        ("server", report.server.as_ref()),
    ] {
        let Some(host) = host else { continue };
        match host.cpu_governor.as_deref() {
            Some("performance") => {}
            Some(other) => warnings.push(format!(
                "{side}: CPU frequency governor is '{other}', not 'performance'; frequency scaling can distort latency"
            )),
            None => warnings.push(format!(
                "{side}: CPU frequency governor unknown (no cpufreq in sysfs, as in most VMs); frequency scaling \
                 is not under this host's control"
            )),
        }
    }
    if report
        .results
        .iter()
        .any(|r| !r.placement.client_all_pinned)
    {
        warnings.push("client: some data threads could not be pinned to their CPU".into());
    }
    if report
        .results
        .iter()
        .any(|r| r.placement.server_all_pinned == Some(false))
    {
        warnings.push("server: some data threads could not be pinned to their CPU".into());
    }
    warnings.extend(link_warnings(report));
    if report.clock.client.read_cost_ns > 200.0 {
        warnings.push(format!(
            "client: reading the clock costs {:.0} ns (clocksource {}); short latencies are inflated",
            report.clock.client.read_cost_ns,
            report.clock.client.clocksource.as_deref().unwrap_or("unknown")
        ));
    }
    warnings
}

/// What the link counters and module monitors say went wrong during each trial.
fn link_warnings(report: &Report) -> Vec<String> {
    let mut warnings = Vec::new();
    for r in &report.results {
        let Some(sides) = &r.link else { continue };
        let trial = format!(
            "{} {} trial {}",
            r.test,
            crate::units::format_size(r.message_size),
            r.trial
        );
        for (side, link) in sides.each() {
            let v = &link.verdict;
            let at = format!("{side} link {}", link.facts.interface);
            if v.link_flapped {
                warnings.push(format!("{at}: the link went down during {trial}"));
            }
            if let Some(n) = v.uncorrectable_errors.filter(|&n| n > 0) {
                warnings.push(format!("{at}: {n} uncorrectable FEC blocks during {trial}"));
            }
            if !v.error_counters_increased.is_empty() {
                warnings.push(format!(
                    "{at}: error counters rose during {trial}: {}",
                    v.error_counters_increased.join(", ")
                ));
            }
            for c in link.module_crossings() {
                let lane = c.lane.map(|l| format!(" lane {l}")).unwrap_or_default();
                let w = format!(
                    "{at}: module {}{lane} at {} ({} vs limit {})",
                    c.monitor, c.level, c.value, c.limit
                );
                // The same crossing in several trials is said once.
                if !warnings.contains(&w) {
                    warnings.push(w);
                }
            }
        }
    }
    warnings
}

fn connect(config: &ClientConfig) -> Result<(TcpStream, SocketAddr), ClientError> {
    let (host, port) = parse_server(&config.server, crate::control::DEFAULT_PORT)?;
    let addrs: Vec<SocketAddr> = (host.as_str(), port)
        .to_socket_addrs()
        .map_err(|e| ClientError::Resolve {
            server: config.server.clone(),
            reason: e.to_string(),
        })?
        .collect();
    let mut last = None;
    for addr in &addrs {
        match TcpStream::connect_timeout(addr, config.connect_timeout) {
            Ok(s) => return Ok((s, *addr)),
            Err(e) => last = Some((addr, e)),
        }
    }
    match last {
        Some((addr, source)) => Err(ClientError::Connect {
            addr: addr.to_string(),
            source,
        }),
        None => Err(ClientError::Resolve {
            server: config.server.clone(),
            reason: "no address found".into(),
        }),
    }
}

fn describe_answer(bytes: &[u8]) -> String {
    let printable: String = bytes
        .iter()
        .map(|&b| {
            if (0x20..0x7f).contains(&b) {
                b as char
            } else {
                '.'
            }
        })
        .collect();
    format!("'{printable}'")
}

fn handshake(
    stream: &mut TcpStream,
    addr: SocketAddr,
    timeout: Duration,
    psk: Option<&PreSharedKey>,
) -> Result<ServerMessage, ClientError> {
    let connect_err = |e| ClientError::Connect {
        addr: addr.to_string(),
        source: e,
    };
    stream
        .set_read_timeout(Some(timeout))
        .map_err(connect_err)?;
    let client_nonce = auth::new_nonce();
    let mut hello = CONTROL_PREAMBLE.to_vec();
    hello.extend(crate::control::frame::encode_frame(
        &ClientMessage::Hello {
            protocol_version: PROTOCOL_VERSION,
            tool_version: env!("CARGO_PKG_VERSION").into(),
            client_nonce: Some(client_nonce.clone()),
        },
    )?);
    stream.write_all(&hello).map_err(connect_err)?;
    let mut preamble = [0u8; 8];
    let mut got = 0;
    while got < preamble.len() {
        let not_linkbench = |answer: String| ClientError::NotLinkbench {
            addr: addr.to_string(),
            answer,
        };
        match stream.read(&mut preamble[got..]) {
            Ok(0) if got == 0 => {
                return Err(ClientError::ClosedSilently {
                    addr: addr.to_string(),
                })
            }
            Ok(0) => return Err(not_linkbench(describe_answer(&preamble[..got]))),
            Ok(n) => got += n,
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                return Err(not_linkbench(format!(
                    "nothing within {:.0} s",
                    timeout.as_secs_f64()
                )))
            }
            Err(e) if got == 0 && e.kind() == io::ErrorKind::ConnectionReset => {
                return Err(ClientError::ClosedSilently {
                    addr: addr.to_string(),
                })
            }
            Err(e) => return Err(not_linkbench(format!("with an error: {e}"))),
        }
    }
    if &preamble != SERVER_PREAMBLE {
        return Err(ClientError::NotLinkbench {
            addr: addr.to_string(),
            answer: describe_answer(&preamble),
        });
    }
    let mut answer: ServerMessage = read_frame(stream, SERVER_FRAME_LIMIT)?;
    let mut server_nonce = None;
    if let ServerMessage::Challenge {
        server_nonce: nonce,
    } = &answer
    {
        let Some(psk) = psk else {
            return Err(ClientError::Auth(
                "the server requires a pre-shared key: run the client with --psk-file".into(),
            ));
        };
        let proof = psk
            .client_proof(nonce, &client_nonce)
            .map_err(|e| ClientError::Auth(e.to_string()))?;
        write_frame(stream, &ClientMessage::Auth { proof })?;
        server_nonce = Some(nonce.clone());
        answer = read_frame(stream, SERVER_FRAME_LIMIT)?;
    }
    match answer {
        ServerMessage::Welcome {
            protocol_version, ..
        } if protocol_version != PROTOCOL_VERSION => Err(ClientError::ProtocolVersion {
            addr: addr.to_string(),
            server: protocol_version,
            client: PROTOCOL_VERSION,
        }),
        ServerMessage::Welcome {
            ref server_proof, ..
        } => {
            if let Some(psk) = psk {
                // Mutual: a server that cannot prove it holds the key is not trusted with the test.
                let (Some(nonce), Some(proof)) = (&server_nonce, server_proof) else {
                    return Err(ClientError::Auth(
                        "the server did not authenticate itself (is it running without --psk-file?); \
                         refusing to run with --psk-file against an unauthenticated server"
                            .into(),
                    ));
                };
                psk.verify_server(&client_nonce, nonce, proof)
                    .map_err(|e| {
                        ClientError::Auth(format!(
                            "{e}: the server's proof is wrong; check both --psk-file"
                        ))
                    })?;
            }
            Ok(answer)
        }
        ServerMessage::Refused {
            reason: RefusalReason::Auth,
            message,
        } => Err(ClientError::Auth(message)),
        ServerMessage::Refused { message, .. } => Err(ClientError::Refused(message)),
        other => Err(ClientError::Unexpected(format!("{other:?}"))),
    }
}

fn run_into(
    config: &ClientConfig,
    report: &mut Report,
    out: &mut dyn Write,
) -> Result<(), ClientError> {
    if config.plan.transport == TransportKind::Rdma {
        // Say why RDMA cannot run before touching the network.
        crate::transport::rdma::setup::check_available()?;
    }
    let (mut control, addr) = connect(config)?;
    report.server_address = format!("{} ({addr})", config.server);
    let welcome = handshake(
        &mut control,
        addr,
        config.connect_timeout.max(Duration::from_secs(5)),
        config.psk.as_ref(),
    )?;
    if let ServerMessage::Welcome { host, clock, .. } = welcome {
        report.server = Some(*host);
        report.clock.server = Some(clock);
    }
    let local = control
        .local_addr()
        .map_err(|e| ClientError::Data(e.to_string()))?
        .ip();
    report.client.interface = Some(route::interface_facts(&config.root, local, addr.ip()));
    let interface = report
        .client
        .interface
        .as_ref()
        .and_then(|i| i.name.clone());
    let nic_local: Option<Vec<usize>> = report
        .client
        .interface
        .as_ref()
        .map(|i| i.local_cpus.clone())
        .filter(|c| !c.is_empty());

    // A reader thread turns control frames into channel messages, so the main thread can wait with a
    // timeout without ever cutting a frame in half.
    let reader = control
        .try_clone()
        .map_err(|e| ClientError::Data(e.to_string()))?;
    reader
        .set_read_timeout(None)
        .map_err(|e| ClientError::Data(e.to_string()))?;
    let (tx, frames) = mpsc::channel::<Result<ServerMessage, FrameError>>();
    std::thread::Builder::new()
        .name("control-reader".into())
        .spawn(move || {
            let mut reader = reader;
            loop {
                let frame = read_frame::<ServerMessage>(&mut reader, SERVER_FRAME_LIMIT);
                let failed = frame.is_err();
                if tx.send(frame).is_err() || failed {
                    return;
                }
            }
        })
        .map_err(|e| ClientError::Data(e.to_string()))?;

    let mut last_test: Option<TestKind> = None;
    for spec in config.plan.trials() {
        if interrupted() {
            let _ = write_frame(&mut control, &ClientMessage::Bye);
            return Err(ClientError::Interrupted);
        }
        if last_test != Some(spec.test) {
            let _ = writeln!(out, "{}", table::header(spec.test));
            last_test = Some(spec.test);
        }
        let trial = TrialRun {
            config,
            spec: &spec,
            addr,
            local,
            nic_local: nic_local.as_deref(),
            interface: interface.as_deref(),
        };
        match trial.run(&mut control, &frames, out) {
            Ok(result) => {
                let _ = writeln!(out, "{}", table::row(&result));
                report.results.push(result);
            }
            Err((partial, e)) => {
                if let Some(result) = partial {
                    let _ = writeln!(out, "{}", table::row(&result));
                    report.results.push(*result);
                }
                report.errors.push(ReportError {
                    message: e.to_string(),
                    trial: Some(spec.trial),
                    message_size: Some(spec.message_size),
                });
                let _ = write_frame(&mut control, &ClientMessage::Bye);
                return Err(e);
            }
        }
    }
    let _ = write_frame(&mut control, &ClientMessage::Bye);
    Ok(())
}

struct TrialRun<'a> {
    config: &'a ClientConfig,
    spec: &'a TrialSpec,
    addr: SocketAddr,
    /// This side's address on the control connection.
    local: std::net::IpAddr,
    nic_local: Option<&'a [usize]>,
    /// The local interface the route to the server uses.
    interface: Option<&'a str>,
}

/// A trial that failed, with whatever it measured before it failed.
type TrialFailure = (Option<Box<TestResult>>, ClientError);

impl TrialRun<'_> {
    fn silence_limit(&self) -> Duration {
        Duration::from_secs_f64((self.spec.interval_s * 3.0).max(10.0)) + self.config.stall_timeout
    }

    fn next_message(
        &self,
        frames: &mpsc::Receiver<Result<ServerMessage, FrameError>>,
        wait: Duration,
    ) -> Result<Option<ServerMessage>, ClientError> {
        match frames.recv_timeout(wait) {
            Ok(Ok(m)) => Ok(Some(m)),
            Ok(Err(e)) => Err(e.into()),
            Err(mpsc::RecvTimeoutError::Timeout) => Ok(None),
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                Err(ClientError::Control(FrameError::Closed))
            }
        }
    }

    fn run(
        &self,
        control: &mut TcpStream,
        frames: &mpsc::Receiver<Result<ServerMessage, FrameError>>,
        out: &mut dyn Write,
    ) -> Result<TestResult, TrialFailure> {
        let spec = self.spec;
        let threads = engine::thread_count(spec, Side::Client);
        let usable = pinning::usable_cpus();
        let cpus = pinning::choose_cpus(
            self.config.cpus.as_deref(),
            self.nic_local,
            &usable,
            threads,
            false,
        )
        .map_err(|e| (None, e.into()))?;
        let probe = self
            .interface
            .map(|i| LinkProbe::begin(&self.config.root, i));
        let mut rdma_side = match spec.transport {
            TransportKind::Rdma => Some(
                RdmaSide::open(
                    &self.config.root,
                    spec,
                    &self.config.rdma_device,
                    self.local,
                    self.interface,
                )
                .map_err(|e| (None, e.into()))?,
            ),
            TransportKind::Tcp => None,
        };
        write_frame(
            control,
            &ClientMessage::Setup {
                spec: spec.clone(),
                rdma: rdma_side.as_ref().map(|s| Box::new(s.offer())),
            },
        )
        .map_err(|e| (None, e.into()))?;
        let (cookie, server_rdma) = match self
            .next_message(frames, self.silence_limit())
            .map_err(|e| (None, e))?
        {
            Some(ServerMessage::Ready { cookie, rdma, .. }) => (cookie, rdma),
            Some(ServerMessage::Refused {
                reason: RefusalReason::Limit | RefusalReason::Cpu,
                message,
            }) => return Err((None, ClientError::LimitRefused(message))),
            Some(ServerMessage::Refused { message, .. }) => {
                return Err((None, ClientError::Refused(message)))
            }
            Some(ServerMessage::Error { message }) => {
                return Err((None, ClientError::ServerError(message)))
            }
            Some(other) => return Err((None, ClientError::Unexpected(format!("{other:?}")))),
            None => {
                return Err((
                    None,
                    ClientError::ServerSilent(self.silence_limit().as_secs_f64()),
                ))
            }
        };
        let cookie = auth::unhex(&cookie).and_then(|v| <[u8; COOKIE_BYTES]>::try_from(v).ok());
        let cookie: [u8; COOKIE_BYTES] = cookie.ok_or_else(|| {
            (
                None,
                ClientError::Unexpected("the server's session cookie is not valid hex".into()),
            )
        })?;
        let stop = Arc::new(AtomicBool::new(false));
        let mut stop_sent = false;
        let mut rdma_facts = None;
        let running = match rdma_side.take() {
            Some(mut side) => {
                let server_offer = server_rdma.as_deref().ok_or_else(|| {
                    (
                        None,
                        ClientError::Unexpected(
                            "the server answered an RDMA setup without its queue pairs".into(),
                        ),
                    )
                })?;
                side.connect(spec, server_offer)
                    .map_err(|e| (None, e.into()))?;
                write_frame(control, &ClientMessage::Start).map_err(|e| (None, e.into()))?;
                let (qps, facts) = side.into_qps();
                rdma_facts = Some((facts, server_offer.port.clone()));
                engine::start_rdma_side(
                    spec,
                    Side::Client,
                    qps,
                    &cpus,
                    Arc::clone(&stop),
                    self.config.stall_timeout,
                )
            }
            None => {
                let streams = self.open_streams(&cookie).map_err(|e| (None, e))?;
                write_frame(control, &ClientMessage::Start).map_err(|e| (None, e.into()))?;
                engine::start_side(spec, Side::Client, streams, &cpus, Arc::clone(&stop))
            }
        }
        .map_err(|e| (None, ClientError::Data(e.to_string())))?;

        // Run: live lines until the server's result arrives.
        let interval = Duration::from_secs_f64(spec.interval_s);
        let started = Instant::now();
        let mut next_tick = started + interval;
        // Live lines start with the first interval that began inside the measured phase.
        let mut last_own = (0u64, 0u64, 0u64, 0.0f64, false);
        let mut last_server = (0u64, 0u64, 0.0f64, false);
        let mut last_heard = Instant::now();
        let server_measures = spec.test != TestKind::Lat && spec.client_sends();
        let server_report: Result<SideReport, ClientError> = loop {
            if interrupted() && !stop_sent {
                // End the trial on both sides; the server still reports what it measured.
                stop.store(true, Ordering::SeqCst);
                let _ = write_frame(control, &ClientMessage::Stop);
                stop_sent = true;
            }
            let wait = next_tick
                .saturating_duration_since(Instant::now())
                .clamp(Duration::from_millis(1), INTERRUPT_CHECK);
            match self.next_message(frames, wait) {
                Ok(Some(ServerMessage::Interval {
                    elapsed_s,
                    measuring,
                    bytes,
                    messages,
                })) => {
                    last_heard = Instant::now();
                    if self.config.live && server_measures && last_server.3 {
                        let label = if spec.test == TestKind::Bibw {
                            "c->s"
                        } else {
                            "recv"
                        };
                        let _ = writeln!(
                            out,
                            "{}",
                            table::live_bandwidth_line(
                                label,
                                last_server.2,
                                elapsed_s,
                                bytes - last_server.0,
                                messages - last_server.1
                            )
                        );
                    }
                    last_server = (bytes, messages, elapsed_s, measuring);
                }
                Ok(Some(ServerMessage::TrialResult { report })) => break Ok(*report),
                Ok(Some(ServerMessage::Error { message })) => {
                    break Err(ClientError::ServerError(message))
                }
                Ok(Some(other)) => break Err(ClientError::Unexpected(format!("{other:?}"))),
                Ok(None) => {
                    if last_heard.elapsed() > self.silence_limit() {
                        break Err(ClientError::ServerSilent(
                            last_heard.elapsed().as_secs_f64(),
                        ));
                    }
                }
                Err(e) => break Err(e),
            }
            if Instant::now() >= next_tick {
                if self.config.live && running.measures_anything() {
                    let s = running.measured_progress();
                    let now_s = started.elapsed().as_secs_f64();
                    if last_own.4 {
                        let line = if spec.test == TestKind::Lat {
                            table::live_latency_line(
                                last_own.3,
                                now_s,
                                s.messages - last_own.1,
                                s.latency_sum_ns - last_own.2,
                            )
                        } else {
                            // RDMA: this side times what it posted (and its completions).
                            let label = if spec.transport == TransportKind::Rdma {
                                "posted"
                            } else if spec.test == TestKind::Bibw {
                                "s->c"
                            } else {
                                "recv"
                            };
                            table::live_bandwidth_line(
                                label,
                                last_own.3,
                                now_s,
                                s.bytes - last_own.0,
                                s.messages - last_own.1,
                            )
                        };
                        let _ = writeln!(out, "{line}");
                    }
                    last_own = (
                        s.bytes,
                        s.messages,
                        s.latency_sum_ns,
                        now_s,
                        s.streams_measuring > 0,
                    );
                }
                next_tick += interval;
            }
        };
        // The client's own threads end by themselves: senders by the plan, receivers at the peer's end,
        // or at the stall timeout if the server vanished. Without the server's result there is no end
        // to wait for (an RDMA write/read target sees no traffic): stop them.
        if server_report.is_err() {
            stop.store(true, Ordering::SeqCst);
        }
        let outcome = running.join();
        let client_link = probe.map(LinkProbe::finish);
        let (server_report, error) = match server_report {
            Ok(r) if stop_sent => (r, Some(ClientError::Interrupted)),
            Ok(r) => (r, None),
            Err(e) => (SideReport::default(), Some(e)),
        };
        let mut thread_errors = outcome.errors.clone();
        thread_errors.extend(server_report.errors.iter().map(|e| format!("server: {e}")));
        let complete = error.is_none() && thread_errors.is_empty();
        let mut result = results::build_result(spec, &outcome, &cpus, &server_report, complete)
            .map_err(|e| (None, ClientError::Data(e.to_string())))?;
        result.link = Some(LinkSides {
            client: client_link,
            server: server_report.link.clone(),
        });
        if let (Some(settings), Some((client_port, server_port))) = (&spec.rdma, rdma_facts) {
            let knobs = engine::rdma::Knobs::new(spec, settings, self.config.stall_timeout);
            result.rdma = Some(RdmaReport {
                settings: settings.clone(),
                effective_cq_mod: if spec.test == TestKind::Lat {
                    knobs.lat_signal_every as u32
                } else {
                    knobs.cq_mod as u32
                },
                client: Some(client_port),
                server: Some(server_port),
                client_warmup_ops: outcome.rdma.iter().map(|r| r.warmup_ops).sum(),
                server_warmup_ops: server_report.rdma_warmup_ops,
                client_received_messages: outcome.rdma.iter().map(|r| r.received_messages).sum(),
                client_received_bytes: outcome.rdma.iter().map(|r| r.received_bytes).sum(),
                server_received_messages: server_report.rdma_received_messages,
                server_received_bytes: server_report.rdma_received_bytes,
            });
        }
        match error {
            Some(e) => Err((Some(Box::new(result)), e)),
            None if !thread_errors.is_empty() => Err((
                Some(Box::new(result)),
                ClientError::Data(thread_errors.join("; ")),
            )),
            None => Ok(result),
        }
    }

    fn open_streams(
        &self,
        cookie: &[u8; COOKIE_BYTES],
    ) -> Result<Vec<Box<dyn DataStream>>, ClientError> {
        let spec = self.spec;
        let options = TcpOptions {
            nodelay: spec.test == TestKind::Lat,
            busy_poll: spec.busy_poll,
            zerocopy: spec.zerocopy && spec.client_sends() && spec.test != TestKind::Lat,
            stall_timeout: self.config.stall_timeout,
        };
        (0..spec.streams)
            .map(|index| {
                let mut stream =
                    TcpStream::connect_timeout(&self.addr, self.config.connect_timeout).map_err(
                        |e| {
                            ClientError::Data(format!(
                                "stream {index} could not connect to {}: {e}",
                                self.addr
                            ))
                        },
                    )?;
                let mut preamble = DATA_PREAMBLE.to_vec();
                preamble.extend_from_slice(cookie);
                preamble.extend_from_slice(&index.to_be_bytes());
                crate::transport::tcp::write_preamble(&mut stream, &preamble)
                    .map_err(|e| ClientError::Data(format!("stream {index}: {e}")))?;
                TcpDataStream::new(stream, options)
                    .map(|d| Box::new(d) as Box<dyn DataStream>)
                    .map_err(|e| ClientError::Data(e.to_string()))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_addresses_parse() {
        assert_eq!(parse_server("host", 1).unwrap(), ("host".into(), 1));
        assert_eq!(parse_server("host:99", 1).unwrap(), ("host".into(), 99));
        assert_eq!(
            parse_server("127.0.0.1:5", 1).unwrap(),
            ("127.0.0.1".into(), 5)
        );
        assert_eq!(parse_server("::1", 1).unwrap(), ("::1".into(), 1));
        assert_eq!(parse_server("[::1]:7", 1).unwrap(), ("::1".into(), 7));
        assert_eq!(parse_server("[::1]", 1).unwrap(), ("::1".into(), 1));
        for bad in [
            "",
            "host:",
            "host:0",
            "host:99999",
            "host:x",
            "[::1",
            "[::1]x",
        ] {
            assert!(parse_server(bad, 1).is_err(), "{bad}");
        }
    }
}
