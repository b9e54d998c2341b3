//! The workloads. A side (client or server) of a trial gets its connected data streams, starts one pinned
//! thread per stream and direction, and returns what each measured. The control session samples the
//! threads' [`progress::Progress`] for live lines while they run; the hot loops themselves never allocate,
//! lock or log.

pub mod bandwidth;
pub mod buffer;
pub mod cpu;
pub mod latency;
pub mod pinning;
pub mod probe;
pub mod progress;
pub mod rdma;
pub mod rdma_probe;
pub mod stop;

use crate::plan::{StopCondition, TestKind, TrialSpec};
use crate::transport::{DataStream, TransportError};
use crate::units::seconds_saturating;
use bandwidth::{ReceiveOutcome, SendOutcome};
use latency::PingOutcome;
use pinning::CpuChoice;
use progress::Progress;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use thiserror::Error;

/// A side could not start its data threads.
#[derive(Debug, Error)]
pub enum EngineError {
    #[error("could not start a data thread: {0}")]
    Spawn(std::io::Error),
    #[error(transparent)]
    Transport(#[from] TransportError),
    #[error("internal error: {0}")]
    Mismatch(&'static str),
}

/// The phases of a trial as a sending or pinging thread sees them.
#[derive(Debug, Clone)]
pub struct Phase {
    pub warmup: Duration,
    /// Length of the measured phase (ignored when `count` is set).
    pub duration: Duration,
    /// Messages (bandwidth) or round trips (latency) per stream in the measured phase.
    pub count: Option<u64>,
    /// Set to end the trial early (Ctrl-C, a peer that went away); checked once per message.
    pub stop: Arc<AtomicBool>,
}

impl Phase {
    /// Whether the trial was asked to end early.
    #[inline]
    pub fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }
}

impl Phase {
    pub fn from_spec(spec: &TrialSpec, stop: Arc<AtomicBool>) -> Phase {
        let (duration, count) = match spec.stop {
            StopCondition::Duration { seconds } => (seconds_saturating(seconds), None),
            StopCondition::Iterations { count } => (Duration::ZERO, Some(count)),
        };
        Phase {
            warmup: seconds_saturating(spec.warmup_s),
            duration,
            count,
            stop,
        }
    }
}

/// Which end of the control session this side is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Client,
    Server,
}

/// What one data thread does, over TCP or RDMA.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// TCP bandwidth: streams messages.
    Send,
    /// TCP bandwidth: counts what arrives.
    Receive,
    /// Latency: sends a message and waits for its answer (TCP or RDMA).
    Ping,
    /// Latency: answers each message (TCP or RDMA).
    Echo,
    /// RDMA bandwidth: posts work requests and times their completions.
    Post,
    /// RDMA bandwidth: serves the peer's work requests (reposts receives, waits for its end).
    Serve,
    /// RDMA bidirectional bandwidth: posts and serves on the same queue pair.
    PostAndServe,
    /// The latency probe beside the traffic: paced round trips on a connection of its own.
    Probe,
    /// Answers the probe's round trips.
    ProbeEcho,
}

impl Role {
    /// Whether this thread's progress is what the side measures (shown in live lines).
    pub fn measures(self) -> bool {
        matches!(
            self,
            Role::Receive | Role::Ping | Role::Post | Role::PostAndServe
        )
    }
}

/// The roles of this side's threads for one stream (TCP: a send and a receive thread for bibw; RDMA:
/// one thread per queue pair).
pub fn roles_for(spec: &TrialSpec, side: Side) -> Vec<Role> {
    let client = side == Side::Client;
    let rdma = spec.transport == crate::plan::TransportKind::Rdma;
    match (spec.test, client, rdma) {
        (TestKind::Lat, true, _) => vec![Role::Ping],
        (TestKind::Lat, false, _) => vec![Role::Echo],
        (TestKind::Bibw, _, false) => vec![Role::Send, Role::Receive],
        (TestKind::Bibw, _, true) => vec![Role::PostAndServe],
        // The side that sends data: the client unless reversed.
        (TestKind::Bw, c, false) if c != spec.reverse => vec![Role::Send],
        (TestKind::Bw, _, false) => vec![Role::Receive],
        (TestKind::Bw, c, true) if c != spec.reverse => vec![Role::Post],
        (TestKind::Bw, _, true) => vec![Role::Serve],
    }
}

/// Number of data threads a side runs for a trial (the probe's thread, when there is one, is last).
pub fn thread_count(spec: &TrialSpec, side: Side) -> usize {
    roles_for(spec, side).len() * spec.streams as usize + usize::from(spec.probe.is_some())
}

/// TCP connections a trial opens: one per stream, and the probe's last.
pub fn connection_count(spec: &TrialSpec) -> usize {
    spec.streams as usize + usize::from(spec.probe.is_some())
}

/// RDMA queue pairs a side opens for a trial: one per stream (`--qps`), and the probe's last.
pub fn queue_pair_count(spec: &TrialSpec) -> usize {
    connection_count(spec)
}

/// The work of one data thread: given its progress slot and the side's epoch, returns what it measured.
type Job = Box<dyn FnOnce(&Progress, Instant) -> (ThreadOutcome, Option<TransportError>) + Send>;

/// The result of one data thread.
#[derive(Debug)]
pub enum ThreadOutcome {
    Sent(SendOutcome),
    Received(ReceiveOutcome),
    Pinged(Box<PingOutcome>),
    Echoed(u64),
    Rdma(Box<rdma::RdmaOutcome>),
    Probed(Box<probe::ProbeOutcome>),
    ProbeEchoed(u64),
}

/// Everything a side measured in one trial.
#[derive(Debug, Default)]
pub struct SideOutcome {
    pub sent: Vec<SendOutcome>,
    pub received: Vec<ReceiveOutcome>,
    pub pings: Vec<PingOutcome>,
    pub echoed: u64,
    /// RDMA bandwidth threads (posted and received figures).
    pub rdma: Vec<rdma::RdmaOutcome>,
    /// One line per failed thread.
    pub errors: Vec<String>,
    /// Whether every data thread was pinned where it was asked to run.
    pub all_pinned: bool,
    /// What the data threads cost in CPU (and the host's utilization while they measured).
    pub cpu: Option<crate::model::SideCpuSample>,
    /// TCP receivers: how the bytes came off the sockets.
    pub receive: Option<crate::model::ReceiveStats>,
    /// The latency probe's round trips (the side that pings).
    pub probe: Option<probe::ProbeOutcome>,
    /// The probe's round trips answered (the side that echoes).
    pub probe_echoed: Option<u64>,
}

/// What a data thread hands back when it ends: its figures, its error, whether it was pinned, its CPU.
type ThreadEnd = (ThreadOutcome, Option<TransportError>, bool, cpu::ThreadCpu);

/// A side whose data threads are running.
pub struct RunningSide {
    handles: Vec<JoinHandle<ThreadEnd>>,
    /// Where the host's CPU window starts.
    host_mark: Arc<progress::HostMark>,
    /// Each data thread sends once when it ends.
    done: std::sync::mpsc::Receiver<()>,
    finished: usize,
    progress: Arc<Vec<Progress>>,
    roles: Vec<Role>,
    pub epoch: Instant,
    /// The latency probe's windows (the side that pings).
    probe: Option<probe::ProbeHandle>,
}

impl RunningSide {
    /// Live totals of the threads whose figures the side measures.
    pub fn measured_progress(&self) -> progress::ProgressSample {
        let measured: Vec<usize> = self
            .roles
            .iter()
            .enumerate()
            .filter(|(_, r)| r.measures())
            .map(|(i, _)| i)
            .collect();
        let mut sum = progress::ProgressSample::default();
        for i in measured {
            let s = Progress::sample(std::slice::from_ref(&self.progress[i]));
            sum.streams_measuring += s.streams_measuring;
            sum.bytes += s.bytes;
            sum.messages += s.messages;
            sum.latency_sum_ns += s.latency_sum_ns;
        }
        sum
    }

    /// The latency probe's figures since the last cut, waiting up to `wait` for a round trip in flight;
    /// `None` without a probe on this side.
    pub fn probe_cut(&self, wait: Duration) -> Option<probe::Cut> {
        Some(self.probe.as_ref()?.cut(wait))
    }

    /// Whether this side runs the latency probe's pinging end.
    pub fn has_probe(&self) -> bool {
        self.probe.is_some()
    }

    /// Whether this side measures anything in this trial.
    pub fn measures_anything(&self) -> bool {
        self.roles.iter().any(|r| r.measures())
    }

    /// Whether every measuring thread is in its measured phase in `sample` (a rate over an interval
    /// in which only some were is part warm-up, and reads low).
    pub fn all_measuring(&self, sample: &progress::ProgressSample) -> bool {
        let measuring = self.roles.iter().filter(|r| r.measures()).count();
        measuring > 0 && sample.streams_measuring >= measuring
    }

    /// Sleeps until every data thread has ended (true) or `timeout` passes (false), without polling.
    pub fn wait_finished(&mut self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while self.finished < self.handles.len() {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.done.recv_timeout(left) {
                Ok(()) => self.finished += 1,
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => return false,
                // Every sender is gone, so every thread has ended.
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => return true,
            }
        }
        true
    }

    /// Waits for every data thread and gathers their figures.
    pub fn join(self) -> SideOutcome {
        let mut out = SideOutcome {
            all_pinned: true,
            ..Default::default()
        };
        let mut thread_cpu = Vec::with_capacity(self.handles.len());
        for handle in self.handles {
            match handle.join() {
                Ok((outcome, error, pinned, cpu)) => {
                    out.all_pinned &= pinned;
                    // The probe's CPU is not the data path's cost per byte.
                    if !matches!(
                        outcome,
                        ThreadOutcome::Probed(_) | ThreadOutcome::ProbeEchoed(_)
                    ) {
                        thread_cpu.push(cpu);
                    }
                    if let Some(e) = error {
                        out.errors.push(e.to_string());
                    }
                    match outcome {
                        ThreadOutcome::Sent(s) => out.sent.push(s),
                        ThreadOutcome::Received(r) => out.received.push(r),
                        ThreadOutcome::Pinged(p) => out.pings.push(*p),
                        ThreadOutcome::Echoed(n) => out.echoed += n,
                        ThreadOutcome::Rdma(r) => out.rdma.push(*r),
                        ThreadOutcome::Probed(p) => out.probe = Some(*p),
                        ThreadOutcome::ProbeEchoed(n) => out.probe_echoed = Some(n),
                    }
                }
                Err(_) => out.errors.push("a data thread panicked".to_string()),
            }
        }
        out.cpu = cpu::side_sample(&thread_cpu, &self.host_mark);
        out.receive = out.received.iter().fold(None, |acc, r| {
            let mut total: crate::model::ReceiveStats = acc.unwrap_or_default();
            total.add(&r.receive);
            Some(total)
        });
        out
    }
}

/// A side's connected data path: TCP streams or RDMA queue pairs, one per `spec.streams`.
pub enum DataPath {
    Tcp(Vec<Box<dyn DataStream>>),
    Rdma(Vec<crate::transport::rdma::verbs::Qp>),
}

/// Starts this side's data threads over `path`, pinned per `cpus`, with the roles [`roles_for`] gives.
/// Setting `stop` ends the trial early: senders, pingers and posters stop at their next message and
/// finish; RDMA's passive and echoing sides end too. `stall` is how long an RDMA thread waits for
/// anything before giving up (TCP streams carry their own).
pub fn start(
    spec: &TrialSpec,
    side: Side,
    path: DataPath,
    cpus: &CpuChoice,
    stop: Arc<AtomicBool>,
    stall: Duration,
) -> Result<RunningSide, EngineError> {
    let phase = Phase::from_spec(spec, stop);
    let roles = roles_for(spec, side);
    let mut probe_handle = None;
    let (mut jobs, probe_path) = match path {
        DataPath::Tcp(mut streams) => {
            let probe = take_probe_path(spec, &mut streams, connection_count(spec))?;
            (
                tcp_jobs(spec, &roles, streams, &phase)?,
                probe.map(ProbePath::Tcp),
            )
        }
        DataPath::Rdma(mut qps) => {
            let probe = take_probe_path(spec, &mut qps, queue_pair_count(spec))?;
            let jobs = rdma_jobs(spec, &roles, qps, &phase, stall)?;
            (jobs, probe.map(ProbePath::Rdma))
        }
    };
    if let (Some(probe), Some(path)) = (spec.probe, probe_path) {
        let (job, handle) = probe_job(probe, side, path, &phase, stall);
        jobs.push(job);
        probe_handle = handle;
    }
    spawn_jobs(jobs, cpus, probe_handle)
}

/// What carries the latency probe: the last TCP connection or the last queue pair.
enum ProbePath {
    Tcp(Box<dyn DataStream>),
    Rdma(crate::transport::rdma::verbs::Qp),
}

/// With a probe, the path's last connection or queue pair is the probe's: taken off `paths`, which must
/// hold `expected` of them.
fn take_probe_path<T>(
    spec: &TrialSpec,
    paths: &mut Vec<T>,
    expected: usize,
) -> Result<Option<T>, EngineError> {
    match spec.probe {
        Some(_) if paths.len() == expected => Ok(paths.pop()),
        Some(_) => Err(EngineError::Mismatch("no connection for the probe")),
        None => Ok(None),
    }
}

/// The probe's thread: the client pings at the probe's rate, the server echoes. The pinging side's
/// handle asks for windows and hears when the data ended.
fn probe_job(
    spec: crate::plan::ProbeSpec,
    side: Side,
    path: ProbePath,
    phase: &Phase,
    stall: Duration,
) -> ((Role, Job), Option<probe::ProbeHandle>) {
    let phase = phase.clone();
    if side == Side::Server {
        let job: Job = Box::new(move |_: &Progress, _: Instant| {
            let (n, e) = match path {
                ProbePath::Tcp(mut stream) => {
                    latency::echo_loop(stream.as_mut(), spec.size as usize)
                }
                ProbePath::Rdma(mut qp) => {
                    let knobs = rdma_probe::probe_knobs(spec, stall);
                    rdma_probe::probe_echo_loop(&mut qp, &knobs, &phase)
                }
            };
            (ThreadOutcome::ProbeEchoed(n), e)
        });
        return ((Role::ProbeEcho, job), None);
    }
    let (handle, link) = probe::probe_channels();
    let job: Job = Box::new(move |_: &Progress, _: Instant| {
        let (o, e) = match path {
            ProbePath::Tcp(mut stream) => {
                let mut trip = probe::StreamRoundTrip::new(stream.as_mut(), spec.size as usize);
                probe::probe_loop(&mut trip, spec, &phase, link)
            }
            ProbePath::Rdma(mut qp) => {
                let knobs = rdma_probe::probe_knobs(spec, stall);
                let mut trip = rdma_probe::QpRoundTrip::new(&mut qp, knobs, phase.clone());
                probe::probe_loop(&mut trip, spec, &phase, link)
            }
        };
        (ThreadOutcome::Probed(Box::new(o)), e)
    });
    ((Role::Probe, job), Some(handle))
}

/// Slots of per-interval figures to allocate ahead: the trial's intervals, or a few for `--iterations`.
fn expected_intervals(spec: &TrialSpec) -> usize {
    match spec.stop {
        StopCondition::Duration { seconds } => {
            ((seconds / spec.interval_s).ceil() as usize).min(100_000)
        }
        StopCondition::Iterations { .. } => 64,
    }
}

/// One job per TCP stream and role (a bidirectional stream is split into its send and receive halves).
fn tcp_jobs(
    spec: &TrialSpec,
    roles: &[Role],
    streams: Vec<Box<dyn DataStream>>,
    phase: &Phase,
) -> Result<Vec<(Role, Job)>, EngineError> {
    let size = spec.message_size as usize;
    let interval_ns = (spec.interval_s * 1e9) as u64;
    let expected = expected_intervals(spec);
    let mode = spec.recv_mode;
    let mut work: Vec<(Role, Box<dyn DataStream>)> = Vec::new();
    for stream in streams {
        match roles {
            [send, receive] => {
                let (send_half, receive_half) = stream.split()?;
                work.push((*send, send_half));
                work.push((*receive, receive_half));
            }
            [only] => work.push((*only, stream)),
            _ => return Err(EngineError::Mismatch("a TCP stream takes one or two roles")),
        }
    }
    if let Some(role) = roles
        .iter()
        .find(|r| matches!(r, Role::Post | Role::Serve | Role::PostAndServe))
    {
        return Err(EngineError::Mismatch(match role {
            Role::Post => "an RDMA poster on a TCP stream",
            _ => "an RDMA server on a TCP stream",
        }));
    }
    Ok(work
        .into_iter()
        .map(|(role, mut stream)| {
            let phase = phase.clone();
            let job: Job = Box::new(move |p: &Progress, epoch: Instant| {
                let s: &mut dyn DataStream = stream.as_mut();
                match role {
                    Role::Send => {
                        let (o, e) = bandwidth::send_loop(s, size, &phase, p);
                        (ThreadOutcome::Sent(o), e)
                    }
                    Role::Receive => {
                        let settings = bandwidth::ReceiveSettings {
                            size,
                            mode,
                            interval_ns,
                            expected_intervals: expected,
                        };
                        let (o, e) = bandwidth::receive_loop(s, settings, epoch, p);
                        (ThreadOutcome::Received(o), e)
                    }
                    Role::Ping => {
                        let (o, e) = latency::ping_loop(s, size, &phase, interval_ns, expected, p);
                        (ThreadOutcome::Pinged(Box::new(o)), e)
                    }
                    // Echo (the RDMA roles were refused above).
                    _ => {
                        let (n, e) = latency::echo_loop(s, size);
                        (ThreadOutcome::Echoed(n), e)
                    }
                }
            });
            (role, job)
        })
        .collect())
}

/// One job per RDMA queue pair, all in the side's one role.
fn rdma_jobs(
    spec: &TrialSpec,
    roles: &[Role],
    qps: Vec<crate::transport::rdma::verbs::Qp>,
    phase: &Phase,
    stall: Duration,
) -> Result<Vec<(Role, Job)>, EngineError> {
    let settings = spec
        .rdma
        .clone()
        .ok_or(EngineError::Mismatch("an RDMA trial without RDMA settings"))?;
    let &[role] = roles else {
        return Err(EngineError::Mismatch("a queue pair takes one role"));
    };
    if matches!(role, Role::Send | Role::Receive) {
        return Err(EngineError::Mismatch("a TCP role on a queue pair"));
    }
    let knobs = rdma::Knobs::new(spec, &settings, stall);
    // A passive write/read side waits for the peer's end as long as the trial may last.
    let passive_limit = match spec.stop {
        StopCondition::Duration { seconds } => Some(seconds_saturating(seconds + spec.warmup_s)),
        StopCondition::Iterations { .. } => None,
    };
    Ok(qps
        .into_iter()
        .map(|mut qp| {
            let phase = phase.clone();
            let knobs = knobs.clone();
            let job: Job = Box::new(move |p: &Progress, epoch: Instant| match role {
                Role::Ping => {
                    let (o, e) = rdma::ping_loop(&mut qp, &knobs, &phase, p);
                    (ThreadOutcome::Pinged(Box::new(o)), e)
                }
                Role::Echo => {
                    let (n, e) = rdma::echo_loop(&mut qp, &knobs, &phase);
                    (ThreadOutcome::Echoed(n), e)
                }
                r => {
                    let (o, e) =
                        rdma::bandwidth_loop(&mut qp, &knobs, r, &phase, epoch, p, passive_limit);
                    (ThreadOutcome::Rdma(Box::new(o)), e)
                }
            });
            (role, job)
        })
        .collect())
}

/// The probe's end of the data: when the last data thread ends (returns or panics, since a guard's drop
/// runs while unwinding), the probe is told the data ended.
struct DataEndNotice(Option<ProbeNotifier>);

/// A data thread's way to tell the probe, and the count of data threads still running.
type ProbeNotifier = (
    std::sync::mpsc::Sender<probe::ProbeCall>,
    Arc<std::sync::atomic::AtomicUsize>,
);

impl Drop for DataEndNotice {
    fn drop(&mut self) {
        if let Some((notify, running)) = self.0.take() {
            if running.fetch_sub(1, Ordering::SeqCst) == 1 {
                let _ = notify.send(probe::ProbeCall::DataEnded);
            }
        }
    }
}

/// Starts one pinned thread per job; they wait for each other before starting work. With a probe, the
/// last data thread to end tells it the data ended.
fn spawn_jobs(
    jobs: Vec<(Role, Job)>,
    cpus: &CpuChoice,
    probe: Option<probe::ProbeHandle>,
) -> Result<RunningSide, EngineError> {
    let roles: Vec<Role> = jobs.iter().map(|(r, _)| *r).collect();
    let data_threads = roles
        .iter()
        .filter(|r| !matches!(r, Role::Probe | Role::ProbeEcho))
        .count();
    let data_running = Arc::new(std::sync::atomic::AtomicUsize::new(data_threads));
    let host_mark = Arc::new(progress::HostMark::new());
    let progress: Arc<Vec<Progress>> = Arc::new(
        jobs.iter()
            .map(|_| Progress::with_host_mark(Arc::clone(&host_mark)))
            .collect(),
    );
    let barrier = Arc::new(Barrier::new(jobs.len()));
    let (done_tx, done) = std::sync::mpsc::channel();
    let epoch = Instant::now();
    let mut handles = Vec::with_capacity(jobs.len());
    for (index, (role, job)) in jobs.into_iter().enumerate() {
        let cpu = cpus.cpu_for(index);
        let progress = Arc::clone(&progress);
        let barrier = Arc::clone(&barrier);
        let done_tx = done_tx.clone();
        let data_ended = DataEndNotice(match role {
            Role::Probe | Role::ProbeEcho => None,
            _ => probe
                .as_ref()
                .map(|p| (p.notifier(), Arc::clone(&data_running))),
        });
        let handle = std::thread::Builder::new()
            .name(format!("data-{index}-{role:?}").to_lowercase())
            .spawn(move || {
                let pinned = pinning::pin_current_thread(cpu);
                barrier.wait();
                let born = cpu::CpuStamp::now();
                let (outcome, error) = job(&progress[index], epoch);
                let cpu = cpu::ThreadCpu::new(
                    born,
                    progress[index].measured_from(),
                    cpu::CpuStamp::now(),
                );
                // Before `done`: the probe hears the data ended before the side counts it finished.
                drop(data_ended);
                let _ = done_tx.send(());
                (outcome, error, pinned, cpu)
            })
            .map_err(EngineError::Spawn)?;
        handles.push(handle);
    }
    drop(done_tx);
    Ok(RunningSide {
        host_mark,
        done,
        finished: 0,
        handles,
        progress,
        roles,
        epoch,
        probe,
    })
}
