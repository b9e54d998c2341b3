//! linkbench-client: connects to a server, runs every trial of the plan, prints live lines and a table,
//! and builds the report. Whatever happens, the report keeps every figure measured before it happened and
//! says what went wrong (`status: incomplete`).
//!
//! The client trusts the server no more than the server trusts it: the handshake runs against one
//! deadline (`handshake`), every later exchange against its own (the `ready`, the trial's result), the
//! server's frames are bounded in size and number (`trust`), and text from the server is escaped
//! before it reaches a terminal ([`crate::text`]).

mod handshake;
pub mod soak;
mod trial;
pub mod trust;
mod watch;

use crate::clock;
use crate::control::auth::PreSharedKey;
use crate::control::reader::FrameReader;
use crate::control::{
    frame::FrameError, write_frame, ClientMessage, ServerLimits, ServerMessage, PROTOCOL_VERSION,
};
use crate::diag::{route, HostFacts};
use crate::engine::pinning;
use crate::model::report::{ClockPair, Report, ReportError, Status, ToolInfo, Units};
use crate::plan::{TestKind, TestPlan, TransportKind};
use crate::report::table;
use crate::text::escape_control;
use std::collections::BTreeMap;
use std::io::{self, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use thiserror::Error;
use trial::TrialRun;

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
    #[error("the server's answer is implausible: {0}; the trial is kept as incomplete")]
    Implausible(String),
    #[error("data connection setup failed: {0}")]
    Data(String),
    #[error("the trial failed while it ran: {0}")]
    TrialFailed(String),
    #[error(transparent)]
    Pinning(#[from] pinning::PinningError),
    #[error(transparent)]
    Rdma(#[from] crate::transport::rdma::RdmaError),
    /// The soak's series file could not be written while the soak ran.
    #[error("{0}")]
    Series(String),
    /// The `--series` path cannot be used (it exists, its directory is missing or not writable).
    #[error("{0}")]
    SeriesUnusable(String),
}

impl From<crate::trial::TrialError> for ClientError {
    fn from(e: crate::trial::TrialError) -> Self {
        use crate::trial::TrialError;
        match e {
            TrialError::Pinning(e) => ClientError::Pinning(e),
            TrialError::Rdma(e) => ClientError::Rdma(e),
            connection @ TrialError::Connection { .. } => ClientError::Data(connection.to_string()),
            TrialError::Start(e) => ClientError::Data(e.to_string()),
        }
    }
}

impl ClientError {
    /// Whether this error is the user's request being unacceptable (exit code 2) rather than a failure.
    pub fn is_bad_input(&self) -> bool {
        matches!(self, ClientError::LimitRefused(_) | ClientError::Pinning(_))
            || matches!(self, ClientError::SeriesUnusable(_))
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
    /// `--soak`: the series file and the sample interval (the plan is then one trial).
    pub soak: Option<soak::SoakSettings>,
}

/// Set when the user asked the run to stop (SIGINT/SIGTERM).
static INTERRUPTED: AtomicBool = AtomicBool::new(false);
/// How often a running trial looks at the interrupt flag.
pub(crate) const INTERRUPT_CHECK: Duration = Duration::from_millis(200);

/// Asks the run to stop: the running trial ends early on both sides and the report is written with what
/// was measured. Returns whether a stop had already been asked for.
pub fn interrupt() -> bool {
    INTERRUPTED.swap(true, Ordering::SeqCst)
}

pub(crate) fn interrupted() -> bool {
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
    let planned = config.plan.trial_count();
    report.status = if error.is_none()
        && report.results.len() as u64 == planned
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
    for r in &report.results {
        if let Some(sharing) = &r.placement.server_sharing {
            warnings.push(format!(
                "server: during {}, {}",
                trial_name(r),
                sharing.summary
            ));
        }
    }
    warnings.extend(link_warnings(report));
    if report.clock.client.read_cost_ns > 200.0 {
        warnings.push(format!(
            "client: reading the clock costs {:.0} ns (clocksource {}); short latencies are inflated",
            report.clock.client.read_cost_ns,
            report.clock.client.clocksource.as_deref().unwrap_or("unknown")
        ));
    }
    // Host and link facts come from both hosts: escaped before they reach a terminal.
    warnings
        .into_iter()
        .map(|w| escape_control(&w).into_owned())
        .collect()
}

/// A trial as the warnings name it: `bw 64K trial 0`.
fn trial_name(r: &crate::model::TestResult) -> String {
    format!(
        "{} {} trial {}",
        r.test,
        crate::units::format_size(r.message_size),
        r.trial
    )
}

/// What the link counters and module monitors say went wrong during each trial.
fn link_warnings(report: &Report) -> Vec<String> {
    let mut warnings = Vec::new();
    for r in &report.results {
        let Some(sides) = &r.link else { continue };
        let trial = trial_name(r);
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
            let flags = link
                .module_flags_before()
                .into_iter()
                .map(|f| (f, "had latched before a trial"))
                .chain(
                    link.module_flags_during()
                        .into_iter()
                        .map(|f| (f, "raised during a trial")),
                );
            for (f, when) in flags {
                let lane = f.lane.map(|l| format!(" lane {l}")).unwrap_or_default();
                let w = format!("{at}: the module {when}: {}{lane} {}", f.monitor, f.level);
                // The same flag in several trials is said once.
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

/// A connected, welcomed session with the server.
struct Session {
    control: TcpStream,
    addr: SocketAddr,
    /// This side's address on the control connection.
    local: std::net::IpAddr,
    frames: FrameReader<ServerMessage>,
    limits: ServerLimits,
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
    let mut session = open_session(config, report)?;
    let result = run_trials(config, &mut session, report, out);
    let _ = write_frame(&mut session.control, &ClientMessage::Bye);
    result
}

/// Connects, shakes hands, and starts the reader of the server's frames.
fn open_session(config: &ClientConfig, report: &mut Report) -> Result<Session, ClientError> {
    let (control, addr) = connect(config)?;
    report.server_address = format!("{} ({addr})", config.server);
    let welcome = handshake::handshake(
        &control,
        addr,
        config.connect_timeout.max(Duration::from_secs(5)),
        config.psk.as_ref(),
    )?;
    let mut limits = ServerLimits::default();
    if let ServerMessage::Welcome {
        host,
        clock,
        limits: announced,
        ..
    } = welcome
    {
        report.server = Some(*host);
        report.clock.server = Some(clock);
        limits = announced;
    }
    let local = control
        .local_addr()
        .map_err(|e| ClientError::Data(e.to_string()))?
        .ip();
    report.client.interface = Some(route::interface_facts(&config.root, local, addr.ip()));
    let reader = control
        .try_clone()
        .map_err(|e| ClientError::Data(e.to_string()))?;
    let frames = FrameReader::spawn(reader, handshake::WELCOME_LIMIT, "control-reader", |_| {})
        .map_err(|e| ClientError::Data(e.to_string()))?;
    Ok(Session {
        control,
        addr,
        local,
        frames,
        limits,
    })
}

/// Runs every trial of the plan, in order; the first failure ends the run (its partial result kept).
fn run_trials(
    config: &ClientConfig,
    session: &mut Session,
    report: &mut Report,
    out: &mut dyn Write,
) -> Result<(), ClientError> {
    let interface = report.client.interface.as_ref();
    let name = interface.and_then(|i| i.name.clone());
    let nic_local: Option<Vec<usize>> = interface
        .map(|i| i.local_cpus.clone())
        .filter(|c| !c.is_empty());
    let mut last_test: Option<TestKind> = None;
    for spec in config.plan.iter_trials() {
        if interrupted() {
            return Err(ClientError::Interrupted);
        }
        if last_test != Some(spec.test) {
            let _ = writeln!(out, "{}", table::header(spec.test));
            last_test = Some(spec.test);
        }
        let trial = TrialRun {
            config,
            spec: &spec,
            addr: session.addr,
            local: session.local,
            nic_local: nic_local.as_deref(),
            interface: name.as_deref(),
            server_limits: &session.limits,
        };
        match trial.run(&mut session.control, &session.frames, out) {
            Ok(result) => {
                let _ = writeln!(out, "{}", table::row(&result));
                if let Some(probe) = &result.probe {
                    let _ = writeln!(out, "{}", table::probe_line(probe));
                }
                if let Some(soak) = &result.soak {
                    let _ = writeln!(out, "{}", table::soak_lines(soak));
                }
                report.results.push(result);
            }
            Err((partial, e)) => {
                if let Some(result) = partial {
                    let _ = writeln!(out, "{}", table::row(&result));
                    if let Some(probe) = &result.probe {
                        let _ = writeln!(out, "{}", table::probe_line(probe));
                    }
                    report.results.push(*result);
                }
                report.errors.push(ReportError {
                    message: e.to_string(),
                    trial: Some(spec.trial),
                    message_size: Some(spec.message_size),
                });
                return Err(e);
            }
        }
    }
    Ok(())
}

/// The message's type as the protocol names it.
pub(crate) fn message_name(message: &ServerMessage) -> &'static str {
    match message {
        ServerMessage::Welcome { .. } => "welcome",
        ServerMessage::Challenge { .. } => "challenge",
        ServerMessage::Refused { .. } => "refused",
        ServerMessage::Ready { .. } => "ready",
        ServerMessage::Interval { .. } => "interval",
        ServerMessage::TrialResult { .. } => "trial_result",
        ServerMessage::Error { .. } => "error",
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
