//! One trial from the client's side: choose CPUs and probe the link, send `setup`, take the server's
//! `ready`, connect the data streams (or queue pairs) and say `start`, watch it run ([`super::watch`]),
//! and build the result from both sides' figures. A trial that fails keeps what it measured.

use super::soak::SoakRecorder;
use super::trust::TrialBounds;
use super::watch::{Watch, Watched};
use super::{message_name, ClientConfig, ClientError};
use crate::control::auth;
use crate::control::reader::{FrameReader, Next};
use crate::control::{
    write_frame, ClientMessage, RefusalReason, ServerLimits, ServerMessage, SideReport,
    COOKIE_BYTES, DATA_PREAMBLE,
};
use crate::engine::{self, Side, SideOutcome};
use crate::model::report::{LinkSides, RdmaReport, TestResult};
use crate::model::{RdmaOffer, RdmaPortFacts};
use crate::plan::{TestKind, TransportKind, TrialSpec};
use crate::results;
use crate::text::escape_control;
use crate::trial::{Prepared, Running, SideSetup};
use crate::units::seconds_saturating;
use std::cell::RefCell;
use std::io::Write;
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Puts the soak's summary into the trial's result; a series that could not be written makes the trial
/// incomplete with that error.
fn with_soak(
    outcome: Result<TestResult, TrialFailure>,
    soak: Option<&SoakRecorder>,
    series_error: Option<String>,
) -> Result<TestResult, TrialFailure> {
    let Some(soak) = soak else {
        return outcome;
    };
    let (result, error) = match (outcome, series_error) {
        (Ok(result), None) => {
            return Ok(TestResult {
                soak: Some(soak.summary(result.link.as_ref(), None)),
                ..result
            })
        }
        (Err((None, e)), _) => {
            soak.discard_if_empty();
            return Err((None, e));
        }
        // The series failing is why the trial was stopped (the stop reads as an interruption otherwise).
        (Ok(result), Some(why)) => (result, ClientError::Series(why)),
        (Err((Some(result), _)), Some(why)) => (*result, ClientError::Series(why)),
        (Err((Some(result), e)), None) => (*result, e),
    };
    let result = TestResult {
        soak: Some(soak.summary(result.link.as_ref(), Some(error.to_string()))),
        complete: false,
        ..result
    };
    Err((Some(Box::new(result)), error))
}

/// Largest `ready` accepted (a cookie, CPUs, and up to `--max-streams` queue pairs).
const READY_LIMIT: u32 = 1 << 20;

/// One trial and what it needs from the session.
pub struct TrialRun<'a> {
    pub config: &'a ClientConfig,
    pub spec: &'a TrialSpec,
    pub addr: SocketAddr,
    /// This side's address on the control connection.
    pub local: IpAddr,
    pub nic_local: Option<&'a [usize]>,
    /// The local interface the route to the server uses.
    pub interface: Option<&'a str>,
    /// What the server announced in its welcome.
    pub server_limits: &'a ServerLimits,
}

/// A trial that failed, with whatever it measured before it failed.
pub type TrialFailure = (Option<Box<TestResult>>, ClientError);

/// A trial whose data threads run.
struct Started {
    /// Just before `start` was sent: the server's trial cannot have begun earlier.
    at: Instant,
    running: Running,
    stop: Arc<AtomicBool>,
    /// RDMA: the server's port facts.
    server_port: Option<RdmaPortFacts>,
}

impl TrialRun<'_> {
    /// How long the server may say nothing at all.
    pub fn silence_limit(&self) -> Duration {
        seconds_saturating((self.spec.interval_s * 3.0).max(10.0)) + self.config.stall_timeout
    }

    pub fn run(
        &self,
        control: &mut TcpStream,
        frames: &FrameReader<ServerMessage>,
        out: &mut dyn Write,
    ) -> Result<TestResult, TrialFailure> {
        let setup = SideSetup {
            side: Side::Client,
            root: &self.config.root,
            nic_local: self.nic_local,
            interface: self.interface,
            local: self.local,
            rdma_device: &self.config.rdma_device,
            stall: self.config.stall_timeout,
            busy_cpus: &[],
        };
        let prepared = Prepared::prepare(&setup, self.spec, self.config.cpus.as_deref())
            .map_err(|e| (None, e.into()))?;
        let bounds = TrialBounds::new(self.spec, self.server_limits, self.silence_limit());
        // The series file exists before any traffic: a path that cannot be used costs nothing.
        let mut soak = match &self.config.soak {
            Some(settings) => {
                Some(SoakRecorder::create(settings, self.spec).map_err(|e| (None, e))?)
            }
            None => None,
        };
        let started = match self.negotiate(control, frames, prepared, &bounds) {
            Ok(started) => started,
            Err(e) => {
                // Refused or failed before any traffic: no empty series is left behind.
                soak.iter().for_each(SoakRecorder::discard_if_empty);
                return Err((None, e));
            }
        };
        if let Some(recorder) = soak.as_mut() {
            recorder.start(started.running.link_sampler(), started.at);
        }
        let watch = Watch {
            spec: self.spec,
            live: self.config.live,
            bounds,
            silence: self.silence_limit(),
            stop: &started.stop,
            soak: RefCell::new(soak),
        };
        let mut watched = watch.run(control, frames, &started.running.running, started.at, out);
        let soak = watch.soak.into_inner();
        let series_error = watched.series_error.take();
        let outcome = self.finish(started, watched);
        with_soak(outcome, soak.as_ref(), series_error)
    }

    /// `setup`, `ready`, the data connections (or queue pairs), `start`, and the data threads.
    fn negotiate(
        &self,
        control: &mut TcpStream,
        frames: &FrameReader<ServerMessage>,
        mut prepared: Prepared,
        bounds: &TrialBounds,
    ) -> Result<Started, ClientError> {
        frames.set_limit(READY_LIMIT);
        write_frame(
            control,
            &ClientMessage::Setup {
                spec: self.spec.clone(),
                rdma: prepared.offer().map(Box::new),
            },
        )?;
        let (cookie, server_rdma) = self.await_ready(frames)?;
        // From `start` on, the largest frame is the trial's result.
        frames.set_limit(bounds.result_limit());
        if self.spec.transport == TransportKind::Rdma && server_rdma.is_none() {
            return Err(ClientError::Unexpected(
                "the server answered an RDMA setup without its queue pairs".into(),
            ));
        }
        prepared.connect_rdma(server_rdma.as_ref())?;
        if self.spec.transport == TransportKind::Tcp {
            // Socket options are set before `start`, so a failure never leaves the server's trial
            // running against nothing.
            prepared.attach_tcp(self.open_streams(&cookie)?)?;
        }
        let at = Instant::now();
        write_frame(control, &ClientMessage::Start)?;
        let stop = Arc::new(AtomicBool::new(false));
        let running = prepared.start(Arc::clone(&stop))?;
        Ok(Started {
            at,
            running,
            stop,
            server_port: server_rdma.map(|o| o.port),
        })
    }

    /// Waits for `ready` (the cookie and, for RDMA, the server's queue pairs).
    fn await_ready(
        &self,
        frames: &FrameReader<ServerMessage>,
    ) -> Result<([u8; COOKIE_BYTES], Option<RdmaOffer>), ClientError> {
        let silence = self.silence_limit();
        let (cookie, rdma) = match frames.next(silence)? {
            Next::Frame(ServerMessage::Ready { cookie, rdma, .. }) => (cookie, rdma),
            Next::Frame(ServerMessage::Refused {
                reason: RefusalReason::Limit | RefusalReason::Cpu,
                message,
            }) => return Err(ClientError::LimitRefused(escape_control(&message).into())),
            Next::Frame(ServerMessage::Refused { message, .. }) => {
                return Err(ClientError::Refused(escape_control(&message).into()))
            }
            Next::Frame(ServerMessage::Error { message }) => {
                return Err(ClientError::ServerError(escape_control(&message).into()))
            }
            Next::Frame(other) => return Err(ClientError::Unexpected(message_name(&other).into())),
            Next::Quiet => return Err(ClientError::ServerSilent(silence.as_secs_f64())),
        };
        let cookie = auth::unhex(&cookie)
            .and_then(|v| <[u8; COOKIE_BYTES]>::try_from(v).ok())
            .ok_or_else(|| {
                ClientError::Unexpected("a session cookie that is not 16 bytes of hex".into())
            })?;
        Ok((cookie, rdma.map(|r| *r)))
    }

    /// Ends this side's threads and builds the result from both sides' figures. The threads end by
    /// themselves once the server has its result (senders by the plan, receivers at the server's end);
    /// without a result they are stopped at once, and when they outlast [`Self::join_bound`] after it
    /// (a server that keeps the data connections open) they are stopped and the trial is incomplete.
    fn finish(&self, started: Started, watched: Watched) -> Result<TestResult, TrialFailure> {
        let spec = self.spec;
        let cpus = started.running.cpus.clone();
        let client_port = started.running.rdma_port.clone();
        let bound = self.join_bound();
        let ended = started.running.end(bound, watched.server.is_err());
        let mut late = ended.stopped_late.then(|| {
            ClientError::Implausible(format!(
                "this side's data threads had not ended {:.0} s after the server's result: the server \
                 kept the data connections open, so they were ended",
                bound.as_secs_f64()
            ))
        });
        let outcome = ended.outcome.unwrap_or_else(|| {
            late = Some(ClientError::TrialFailed(format!(
                "this side's data threads did not stop within {:.0} s of being ended; they were left behind",
                bound.as_secs_f64()
            )));
            SideOutcome::default()
        });
        let (server_report, error) = match watched.server {
            Ok(r) if watched.stop_sent => (r, Some(ClientError::Interrupted)),
            Ok(r) => (r, late),
            Err(e) => (SideReport::default(), Some(e)),
        };
        let mut thread_errors = outcome.errors.clone();
        if spec.recv_mode != crate::plan::RecvMode::Copy
            && server_report.received.is_some()
            && server_report.receive.is_none()
        {
            thread_errors.push(format!(
                "the server received with recv() (copy), not --recv-mode {}: it is older than this client \
                 (report 1.4.0); upgrade linkbench-server on that host or drop --recv-mode",
                spec.recv_mode.name()
            ));
        }
        thread_errors.extend(
            server_report
                .errors
                .iter()
                .map(|e| format!("server: {}", escape_control(e))),
        );
        let complete = error.is_none() && thread_errors.is_empty();
        let mut result = results::build_result(spec, &outcome, &cpus, &server_report, complete)
            .map_err(|e| (None, ClientError::Data(e.to_string())))?;
        result.link = Some(LinkSides {
            client: ended.link,
            server: server_report.link.clone(),
        });
        if let (Some(settings), Some(client), Some(server)) =
            (&spec.rdma, client_port, started.server_port)
        {
            result.rdma =
                Some(self.rdma_report(settings, client, server, &outcome, &server_report));
        }
        match error {
            Some(e) => Err((Some(Box::new(result)), e)),
            None if !thread_errors.is_empty() => Err((
                Some(Box::new(result)),
                ClientError::TrialFailed(thread_errors.join("; ")),
            )),
            None => Ok(result),
        }
    }

    /// How long this side's threads may take to end after the server's result: a sender may wait a stall
    /// timeout for zero-copy completions and another for the last acknowledgements.
    fn join_bound(&self) -> Duration {
        self.config
            .stall_timeout
            .saturating_mul(2)
            .saturating_add(Duration::from_secs(10))
    }

    fn rdma_report(
        &self,
        settings: &crate::plan::RdmaSettings,
        client: RdmaPortFacts,
        server: RdmaPortFacts,
        outcome: &SideOutcome,
        server_report: &SideReport,
    ) -> RdmaReport {
        let knobs = engine::rdma::Knobs::new(self.spec, settings, self.config.stall_timeout);
        RdmaReport {
            settings: settings.clone(),
            effective_cq_mod: if self.spec.test == TestKind::Lat {
                knobs.lat_signal_every as u32
            } else {
                knobs.cq_mod as u32
            },
            client: Some(client),
            server: Some(server),
            client_warmup_ops: outcome.rdma.iter().map(|r| r.warmup_ops).sum(),
            server_warmup_ops: server_report.rdma_warmup_ops,
            client_received_messages: outcome.rdma.iter().map(|r| r.received_messages).sum(),
            client_received_bytes: outcome.rdma.iter().map(|r| r.received_bytes).sum(),
            server_received_messages: server_report.rdma_received_messages,
            server_received_bytes: server_report.rdma_received_bytes,
        }
    }

    /// Connects one data connection per stream (and the latency probe's, last), presenting the session
    /// cookie.
    fn open_streams(&self, cookie: &[u8; COOKIE_BYTES]) -> Result<Vec<TcpStream>, ClientError> {
        (0..engine::connection_count(self.spec) as u32)
            .map(|index| {
                let failed = |e: String| ClientError::Data(format!("stream {index}: {e}"));
                let mut stream =
                    TcpStream::connect_timeout(&self.addr, self.config.connect_timeout)
                        .map_err(|e| failed(format!("could not connect to {}: {e}", self.addr)))?;
                let mut preamble = DATA_PREAMBLE.to_vec();
                preamble.extend_from_slice(cookie);
                preamble.extend_from_slice(&index.to_be_bytes());
                crate::transport::tcp::write_preamble(&mut stream, &preamble)
                    .map_err(|e| failed(e.to_string()))?;
                Ok(stream)
            })
            .collect()
    }
}
