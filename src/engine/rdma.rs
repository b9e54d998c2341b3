//! RDMA workloads on connected RC queue pairs, one pinned thread per queue pair, with perftest's methods.
//!
//! - Bandwidth: the active side keeps up to `tx_depth` work requests in flight, chains `post_list` per
//!   post call and asks for a completion every `cq_mod` (selective signaling). The figure runs from the
//!   first post of the measured phase to its last completion (perftest's "first post to last
//!   completion"); the warm-up runs the same way before it and is drained first. Intervals count
//!   completions as they are reaped. The passive side reposts receives (send) or waits (write, read).
//! - Latency: write spins on the last byte of the buffer that the peer's write fills (ib_write_lat);
//!   send waits for the receive completion of the echo (ib_send_lat); read waits for its own completion
//!   (ib_read_lat). Every round trip is one histogram sample; nothing is dropped.
//! - The end: each side that posted sends a zero-length FIN send-with-immediate on the queue pair; a
//!   passive or echoing side ends at the peer's FIN, at the trial's stop flag, or when nothing arrives
//!   for the stall timeout. A write/read target has nothing to poll but that FIN, so it sleeps on the
//!   completion channel instead of spinning (perftest's passive side sleeps as well).

use crate::engine::bandwidth::ReceiveOutcome;
use crate::engine::latency::{LatencySampler, PingOutcome};
use crate::engine::progress::Progress;
use crate::engine::{Phase, Role};
use crate::plan::{RdmaOp, RdmaSettings, StopCondition, TestKind, TrialSpec};
use crate::stats::IntervalCounter;
use crate::transport::rdma::verbs::Qp;
use crate::transport::rdma::RdmaError;
use crate::transport::TransportError;
use std::time::{Duration, Instant};

/// Longest sleep on the completion channel of a side that only waits for the peer's FIN (it wakes at
/// once when the FIN arrives; the bound covers a FIN that slipped in before the channel was armed).
const PASSIVE_WAIT: Duration = Duration::from_millis(50);

/// What one RDMA data thread did in a bandwidth trial.
#[derive(Debug, Clone, Default)]
pub struct RdmaOutcome {
    /// The measured phase of the work requests this side posted, timed first post to last completion.
    pub posted: Option<ReceiveOutcome>,
    /// Work requests completed in the warm-up.
    pub warmup_ops: u64,
    /// Messages and bytes this side received (send op only), warm-up included.
    pub received_messages: u64,
    pub received_bytes: u64,
}

/// The knobs of one thread's loop.
#[derive(Debug, Clone)]
pub struct Knobs {
    pub op: RdmaOp,
    pub size: usize,
    pub tx_depth: u64,
    pub post_list: u64,
    pub cq_mod: u64,
    /// Latency answers: request a completion every this many sends (send latency signals selectively
    /// like ib_send_lat: `cq_mod` up to `MAX_LAT_SIGNAL_EVERY`; write latency signals every send,
    /// like ib_write_lat).
    pub lat_signal_every: u64,
    pub use_event: bool,
    pub stall: Duration,
    pub interval_ns: u64,
    pub expected_intervals: usize,
}

pub use crate::transport::rdma::setup::MAX_LAT_SIGNAL_EVERY;

impl Knobs {
    pub fn new(spec: &TrialSpec, settings: &RdmaSettings, stall: Duration) -> Knobs {
        let tx_depth = crate::transport::rdma::setup::tx_depth(spec, settings) as u64;
        let post_list = (settings.post_list.max(1) as u64).min(tx_depth);
        // A completion at least every tx_depth requests, or the queue would fill with none to reap; and
        // a whole number of post lists per completion.
        let cq_mod = (settings.cq_mod.max(1) as u64).min(tx_depth);
        let cq_mod = (cq_mod / post_list).max(1) * post_list;
        let lat_signal_every = match (spec.test, settings.op) {
            (TestKind::Lat, RdmaOp::Send) => {
                (settings.cq_mod as u64).clamp(1, MAX_LAT_SIGNAL_EVERY)
            }
            _ => 1,
        };
        Knobs {
            op: settings.op,
            size: spec.message_size as usize,
            tx_depth,
            post_list,
            cq_mod,
            lat_signal_every,
            use_event: settings.use_event,
            stall,
            interval_ns: (spec.interval_s * 1e9) as u64,
            expected_intervals: match spec.stop {
                StopCondition::Duration { seconds } => {
                    ((seconds / spec.interval_s).ceil() as usize).min(100_000)
                }
                StopCondition::Iterations { .. } => 64,
            },
        }
    }
}

pub(super) fn stalled(since: Instant, stall: Duration) -> Result<(), RdmaError> {
    if since.elapsed() > stall {
        Err(RdmaError::Stalled {
            seconds: since.elapsed().as_secs_f64(),
        })
    } else {
        Ok(())
    }
}

/// Receive-side bookkeeping shared by the loops.
pub(super) struct Inbox {
    receives: bool,
    pub(super) fin: bool,
    pub(super) messages: u64,
    bytes: u64,
    last_arrival: Instant,
}

impl Inbox {
    pub(super) fn new(op: RdmaOp) -> Inbox {
        Inbox {
            receives: op == RdmaOp::Send,
            fin: false,
            messages: 0,
            bytes: 0,
            last_arrival: Instant::now(),
        }
    }

    /// Reaps receive completions (reposting them); the FIN can arrive on any op.
    #[inline]
    pub(super) fn poll(&mut self, qp: &mut Qp) -> Result<bool, RdmaError> {
        let r = qp.poll_recv()?;
        if r.messages > 0 || r.fin {
            self.last_arrival = Instant::now();
        }
        self.messages += r.messages;
        self.bytes += r.bytes;
        self.fin |= r.fin;
        Ok(r.messages > 0 || r.fin)
    }
}

/// One posting phase (warm-up or measured): returns (work requests completed, first post, last completion).
#[allow(clippy::too_many_arguments)]
fn post_phase(
    qp: &mut Qp,
    k: &Knobs,
    inbox: &mut Inbox,
    until: Option<Instant>,
    count: Option<u64>,
    phase: &Phase,
    mut on_completion: impl FnMut(Instant, u64),
) -> Result<(u64, Instant, Instant), RdmaError> {
    let mut posted = 0u64;
    let mut completed = 0u64;
    let mut since_signal = 0u64;
    let mut done_posting = false;
    let first = Instant::now();
    let mut last = first;
    let mut last_progress = first;
    loop {
        // Post while there is room in the send queue.
        while !done_posting && posted - completed + k.post_list <= k.tx_depth {
            let left = count.map(|c| c.saturating_sub(posted));
            let out_of_time = until.is_some_and(|u| Instant::now() >= u) || phase.stopped();
            if left == Some(0) || (out_of_time && since_signal == 0) {
                done_posting = true;
                break;
            }
            let n = left.unwrap_or(k.post_list).min(k.post_list);
            let is_last = left == Some(n) || out_of_time;
            since_signal += n;
            let signal = since_signal >= k.cq_mod || is_last;
            qp.post(n as usize, signal, if signal { since_signal } else { 0 })?;
            if signal {
                since_signal = 0;
            }
            posted += n;
            if is_last {
                done_posting = true;
            }
        }
        let reaped = qp.poll_send()?;
        if reaped.completed > 0 {
            completed += reaped.completed;
            last = Instant::now();
            last_progress = last;
            on_completion(last, reaped.completed);
        }
        // Receives (send op) and the peer's FIN (bibw).
        inbox.poll(qp)?;
        if done_posting && completed >= posted {
            return Ok((completed, first, last));
        }
        if reaped.completed == 0 {
            if k.use_event {
                qp.wait_event(Duration::from_millis(100))?;
            }
            stalled(last_progress, k.stall)?;
        }
    }
}

/// Sends FIN and waits for its completion, then (when `wait_peer`) for the peer's FIN.
pub(super) fn finish(
    qp: &mut Qp,
    k: &Knobs,
    inbox: &mut Inbox,
    send_fin: bool,
    wait_peer: bool,
    phase: &Phase,
) -> Result<(), RdmaError> {
    let mut fin_done = !send_fin;
    if send_fin {
        qp.post_fin()?;
    }
    let started = Instant::now();
    while !fin_done || (wait_peer && !inbox.fin) {
        if !fin_done {
            fin_done = qp.poll_send()?.fin_sent;
        }
        let got = inbox.poll(qp)?;
        if !got && wait_peer && !inbox.fin {
            if phase.stopped() && fin_done {
                return Ok(());
            }
            if k.use_event {
                qp.wait_event(Duration::from_millis(100))?;
            } else if !inbox.receives && fin_done {
                // Write/read target: nothing to do but notice the FIN. Sleep on the completion channel
                // instead of spinning, as perftest's passive side sleeps, so this side's CPU does not
                // compete with the transfer.
                qp.wait_idle(PASSIVE_WAIT)?;
            }
            // A receiver hears from its sender all along; anything else only at the end.
            let since = if inbox.receives {
                inbox.last_arrival.max(started)
            } else {
                started
            };
            stalled(since, k.stall)?;
        } else if !fin_done {
            stalled(started, k.stall)?;
        }
    }
    Ok(())
}

/// The bandwidth loop of one queue pair: active, passive or both.
pub fn bandwidth_loop(
    qp: &mut Qp,
    k: &Knobs,
    role: Role,
    phase: &Phase,
    epoch: Instant,
    progress: &Progress,
    passive_limit: Option<Duration>,
) -> (RdmaOutcome, Option<TransportError>) {
    let mut out = RdmaOutcome::default();
    let mut inbox = Inbox::new(k.op);
    let active = matches!(role, Role::Post | Role::PostAndServe);
    let result = (|| -> Result<(), RdmaError> {
        if active {
            if !phase.warmup.is_zero() {
                let until = Instant::now() + phase.warmup;
                let (ops, _, _) =
                    post_phase(qp, k, &mut inbox, Some(until), None, phase, |_, _| {})?;
                out.warmup_ops = ops;
            }
            progress.start_measuring();
            let until = phase
                .count
                .is_none()
                .then(|| Instant::now() + phase.duration);
            let ns_since = |t: Instant| t.saturating_duration_since(epoch).as_nanos() as u64;
            let measured_start = Instant::now();
            let mut intervals = IntervalCounter::new(k.interval_ns, k.expected_intervals);
            let mut done = 0u64;
            let size = k.size as u64;
            let (ops, first, last) =
                post_phase(qp, k, &mut inbox, until, phase.count, phase, |t, n| {
                    let offset = t.saturating_duration_since(measured_start).as_nanos() as u64;
                    intervals.add(offset, n * size, n);
                    done += n;
                    progress.publish(done * size, done, 0);
                })?;
            out.posted = Some(ReceiveOutcome {
                warmup_bytes: out.warmup_ops * size,
                bytes: ops * size,
                messages: ops,
                start_ns: ns_since(first),
                end_ns: ns_since(last.max(first)),
                intervals,
                receive: Default::default(),
            });
        } else {
            // A passive side cannot tell the phases apart: live lines count it as measuring, its CPU
            // time covers its whole life.
            progress.start_passive();
        }
        // Passive sides wait for the peer's FIN; bibw sides for both FINs.
        let wait_peer = matches!(role, Role::Serve | Role::PostAndServe);
        let mut k = k.clone();
        if role == Role::Serve && !inbox.receives {
            // Write/read: nothing arrives until the FIN, so the wait is the whole trial plus the stall time.
            if let Some(limit) = passive_limit {
                k.stall += limit;
            } else {
                k.stall = Duration::from_secs(u64::MAX / 4);
            }
        }
        finish(qp, &k, &mut inbox, active, wait_peer, phase)
    })();
    out.received_messages = inbox.messages;
    out.received_bytes = inbox.bytes;
    (out, result.err().map(TransportError::from))
}

/// The client's latency loop.
pub fn ping_loop(
    qp: &mut Qp,
    k: &Knobs,
    phase: &Phase,
    progress: &Progress,
) -> (PingOutcome, Option<TransportError>) {
    let mut sampler = LatencySampler::new(k.interval_ns, k.expected_intervals);
    let mut inbox = Inbox::new(k.op);
    let mut unreaped = Unreaped::default();
    let mut iteration = 0u64;
    // A write or send round trip moves the message both ways; a read or atomic brings it back once.
    let moved = if k.op.returns_data() { 1 } else { 2 } * k.size as u64;
    let result = (|| -> Result<(), RdmaError> {
        let warm_end = Instant::now() + phase.warmup;
        while Instant::now() < warm_end && !phase.stopped() {
            iteration += 1;
            unreaped.make_room(qp, k)?;
            round_trip(qp, k, &mut inbox, &mut unreaped, iteration, Instant::now())?;
            sampler.warmup_round_trip();
        }
        sampler.start_measuring(progress);
        // A sample runs from just before the post to the moment the answer is seen (the peer's write
        // landing, its echo's receive completion, the read's or atomic's own completion). The
        // bookkeeping below and the reaping of a write's or send's own completion fall outside it;
        // perftest's post-to-post samples include them.
        loop {
            unreaped.make_room(qp, k)?;
            let t0 = Instant::now();
            if sampler.done(phase, t0) || phase.stopped() {
                break;
            }
            iteration += 1;
            let t1 = round_trip(qp, k, &mut inbox, &mut unreaped, iteration, t0)?;
            sampler.record(t0, t1, moved, progress);
        }
        Ok(())
    })();
    let out = sampler.finish();
    let finished = finish(qp, k, &mut inbox, true, false, phase);
    (
        out,
        result.err().or(finished.err()).map(TransportError::from),
    )
}

/// One round trip started at `started`: post, wait for the answer (the peer's write, its echo, or the
/// read's or atomic's completion), reap what send completions are there. Returns when the answer was
/// seen.
///
/// The write spins (here, waiting for the answer, and in [`echo_loop`], waiting for the ping) are plain
/// load loops without `std::hint::spin_loop()` (x86 PAUSE), as ib_write_lat's are: on the hardware a
/// PAUSE waits ~140 cycles on Skylake and later, up to that much late in noticing the peer's write;
/// under QEMU TCG (the soft-RoCE suite) every PAUSE leaves translated code (helper_pause ->
/// cpu_loop_exit, "let another CPU run"), and a multi-threaded TCG vCPU takes QEMU's big lock each time
/// it comes back, so a pausing spin hammers the lock the other vCPU needs. A latency test owns its core
/// by design (pinned, busy-polling), so there is no sibling thread to yield to.
#[inline]
fn round_trip(
    qp: &mut Qp,
    k: &Knobs,
    inbox: &mut Inbox,
    unreaped: &mut Unreaped,
    iteration: u64,
    started: Instant,
) -> Result<Instant, RdmaError> {
    let mut spins = 0u32;
    match k.op {
        RdmaOp::Write => {
            let mark = iteration as u8;
            qp.set_source_last(mark);
            unreaped.post(qp, k)?;
            // A plain load loop, as ib_write_lat's: no PAUSE (see above).
            while qp.target_last() != mark {
                spins = spins.wrapping_add(1);
                if spins % 4096 == 0 {
                    stalled(started, k.stall)?;
                }
            }
            let answered = Instant::now();
            unreaped.reap(qp)?;
            Ok(answered)
        }
        RdmaOp::Send => {
            unreaped.post(qp, k)?;
            let before = inbox.messages;
            while inbox.messages == before {
                if !inbox.poll(qp)? {
                    spins = spins.wrapping_add(1);
                    if spins % 4096 == 0 {
                        stalled(started, k.stall)?;
                    }
                }
            }
            let answered = Instant::now();
            unreaped.reap(qp)?;
            Ok(answered)
        }
        RdmaOp::Read | RdmaOp::Atomic => {
            qp.post(1, true, 1)?;
            reap_one_send(qp, k, started)?;
            Ok(Instant::now())
        }
    }
}

/// Latency sends whose completions are not reaped yet. Answering a ping must not wait for the
/// completion of the previous answer (that waits for the peer's ACK, which soft-RoCE may deliver late):
/// completions are reaped when they are there, and only a send queue holding two signaling periods of
/// sends makes the next post wait. The send queue has room for these plus the FIN.
#[derive(Default)]
pub(super) struct Unreaped {
    outstanding: u64,
    since_signal: u64,
}

impl Unreaped {
    /// Whether the send queue holds the most unreaped sends allowed (the next post must wait).
    pub(super) fn full(&self, k: &Knobs) -> bool {
        self.outstanding >= 2 * k.lat_signal_every
    }

    /// Reaps what has completed, without waiting.
    #[inline]
    pub(super) fn reap(&mut self, qp: &mut Qp) -> Result<(), RdmaError> {
        if self.outstanding > 0 {
            self.outstanding = self.outstanding.saturating_sub(qp.poll_send()?.completed);
        }
        Ok(())
    }

    /// Makes room for one more send: polls only when the queue holds the most we allow, so the path
    /// from a ping to its answer (and from a sample's start to its post) has no extra poll.
    #[inline]
    pub(super) fn make_room(&mut self, qp: &mut Qp, k: &Knobs) -> Result<(), RdmaError> {
        if self.full(k) {
            let started = Instant::now();
            let mut spins = 0u32;
            while self.full(k) {
                self.reap(qp)?;
                spins = spins.wrapping_add(1);
                if spins % 4096 == 0 {
                    stalled(started, k.stall)?;
                }
            }
        }
        Ok(())
    }

    /// Posts one send of the connected op, signaled every `lat_signal_every`, and counts it.
    #[inline]
    pub(super) fn post(&mut self, qp: &mut Qp, k: &Knobs) -> Result<(), RdmaError> {
        self.since_signal += 1;
        let signal = self.since_signal >= k.lat_signal_every;
        qp.post(1, signal, if signal { self.since_signal } else { 0 })?;
        if signal {
            self.since_signal = 0;
        }
        self.outstanding += 1;
        Ok(())
    }
}

/// Waits for the one signaled send in flight.
#[inline]
fn reap_one_send(qp: &mut Qp, k: &Knobs, started: Instant) -> Result<(), RdmaError> {
    let mut spins = 0u32;
    loop {
        if qp.poll_send()?.completed > 0 {
            return Ok(());
        }
        spins = spins.wrapping_add(1);
        if spins % 4096 == 0 {
            stalled(started, k.stall)?;
        }
    }
}

/// The server's latency loop: answers each ping until the client's FIN. Returns round trips served.
pub fn echo_loop(qp: &mut Qp, k: &Knobs, phase: &Phase) -> (u64, Option<TransportError>) {
    let mut inbox = Inbox::new(k.op);
    let mut unreaped = Unreaped::default();
    let mut echoed = 0u64;
    let result = (|| -> Result<(), RdmaError> {
        let mut idle_since = Instant::now();
        let mut spins = 0u32;
        loop {
            match k.op {
                RdmaOp::Write => {
                    let mark = (echoed + 1) as u8;
                    if qp.target_last() == mark {
                        qp.set_source_last(mark);
                        unreaped.make_room(qp, k)?;
                        unreaped.post(qp, k)?;
                        // Reap now, while the ping side takes its sample, not when the next ping is
                        // already here: the periodic reap below may come only every few round trips,
                        // and a full send queue would put a poll before the next echo.
                        unreaped.reap(qp)?;
                        echoed += 1;
                        idle_since = Instant::now();
                        continue;
                    }
                    spins = spins.wrapping_add(1);
                    if spins % 256 != 0 {
                        // No PAUSE, as in `round_trip`'s spin (see its doc).
                        continue;
                    }
                    unreaped.reap(qp)?;
                    inbox.poll(qp)?;
                }
                RdmaOp::Send => {
                    let before = inbox.messages;
                    inbox.poll(qp)?;
                    if inbox.messages > before {
                        unreaped.make_room(qp, k)?;
                        unreaped.post(qp, k)?;
                        echoed += 1;
                        idle_since = Instant::now();
                        continue;
                    }
                    unreaped.reap(qp)?;
                }
                RdmaOp::Read | RdmaOp::Atomic => {
                    // Reads and atomics never involve this side's CPU: count nothing, nap until the FIN (perftest's
                    // read_lat server sleeps too; a spinning one would steal the CPU the reads need).
                    inbox.poll(qp)?;
                    if k.use_event && !inbox.fin {
                        qp.wait_event(Duration::from_millis(100))?;
                    } else if !inbox.fin {
                        qp.wait_idle(PASSIVE_WAIT)?;
                    }
                    idle_since = Instant::now();
                }
            }
            if inbox.fin || phase.stopped() {
                return Ok(());
            }
            stalled(idle_since, k.stall)?;
        }
    })();
    (echoed, result.err().map(TransportError::from))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::TransportKind;

    fn settings(op: RdmaOp) -> RdmaSettings {
        RdmaSettings::perftest_defaults(op, TestKind::Bw)
    }

    fn spec(test: TestKind, rdma: &RdmaSettings) -> TrialSpec {
        TrialSpec {
            transport: TransportKind::Rdma,
            test,
            message_size: 65536,
            streams: 1,
            stop: StopCondition::Duration { seconds: 10.0 },
            warmup_s: 1.0,
            interval_s: 1.0,
            reverse: false,
            zerocopy: false,
            busy_poll: false,
            recv_mode: Default::default(),
            server_cpus: None,
            trial: 0,
            rdma: Some(rdma.clone()),
            link_samples: false,
            probe: None,
        }
    }

    fn knobs(test: TestKind, rdma: &RdmaSettings) -> Knobs {
        Knobs::new(&spec(test, rdma), rdma, Duration::from_secs(5))
    }

    /// (tx_depth, post_list, cq_mod, lat_signal_every)
    fn depths(k: &Knobs) -> (u64, u64, u64, u64) {
        (k.tx_depth, k.post_list, k.cq_mod, k.lat_signal_every)
    }

    #[test]
    fn bandwidth_knobs_are_perftests() {
        for op in [RdmaOp::Write, RdmaOp::Read, RdmaOp::Send, RdmaOp::Atomic] {
            let k = knobs(TestKind::Bw, &settings(op));
            assert_eq!(depths(&k), (128, 1, 100, 1), "{op:?}");
            assert_eq!((k.op, k.size, k.use_event), (op, 65536, false));
        }
        let k = knobs(TestKind::Bibw, &settings(RdmaOp::Write));
        assert_eq!(depths(&k), (128, 1, 100, 1));
        assert_eq!(k.stall, Duration::from_secs(5));
    }

    #[test]
    fn a_completion_comes_every_whole_number_of_post_lists_within_the_depth() {
        let with = |tx_depth, post_list, cq_mod| {
            let s = RdmaSettings {
                tx_depth,
                post_list,
                cq_mod,
                ..settings(RdmaOp::Write)
            };
            depths(&knobs(TestKind::Bw, &s))
        };
        assert_eq!(with(128, 8, 100), (128, 8, 96, 1));
        assert_eq!(
            with(128, 16, 10),
            (128, 16, 16, 1),
            "at least one post list"
        );
        assert_eq!(
            with(128, 200, 100),
            (128, 128, 128, 1),
            "post list within the depth"
        );
        assert_eq!(
            with(128, 1, 1000),
            (128, 1, 128, 1),
            "a completion every tx_depth"
        );
        assert_eq!(with(64, 3, 64), (64, 3, 63, 1));
        assert_eq!(with(0, 0, 0), (1, 1, 1, 1), "zeros read as one");
    }

    #[test]
    fn latency_signals_every_send_but_send_latency_up_to_four() {
        let lat = |op, cq_mod| {
            let s = RdmaSettings {
                cq_mod,
                ..settings(op)
            };
            depths(&knobs(TestKind::Lat, &s))
        };
        // Latency keeps one request in flight whatever --tx-depth says.
        assert_eq!(lat(RdmaOp::Write, 100), (1, 1, 1, 1));
        assert_eq!(lat(RdmaOp::Read, 100), (1, 1, 1, 1));
        assert_eq!(lat(RdmaOp::Atomic, 100), (1, 1, 1, 1));
        assert_eq!(lat(RdmaOp::Send, 100), (1, 1, 1, MAX_LAT_SIGNAL_EVERY));
        assert_eq!(lat(RdmaOp::Send, 2), (1, 1, 1, 2));
        assert_eq!(lat(RdmaOp::Send, 1), (1, 1, 1, 1));
        assert_eq!(lat(RdmaOp::Send, 0), (1, 1, 1, 1));
    }

    #[test]
    fn intervals_follow_the_stop_condition() {
        let s = settings(RdmaOp::Write);
        let mut t = spec(TestKind::Bw, &s);
        let k = Knobs::new(&t, &s, Duration::from_secs(5));
        assert_eq!((k.interval_ns, k.expected_intervals), (1_000_000_000, 10));
        t.stop = StopCondition::Duration { seconds: 2.5 };
        t.interval_s = 0.5;
        let k = Knobs::new(&t, &s, Duration::from_secs(5));
        assert_eq!((k.interval_ns, k.expected_intervals), (500_000_000, 5));
        t.stop = StopCondition::Duration { seconds: 2.6 };
        assert_eq!(Knobs::new(&t, &s, Duration::ZERO).expected_intervals, 6);
        t.stop = StopCondition::Duration { seconds: 1e9 };
        assert_eq!(
            Knobs::new(&t, &s, Duration::ZERO).expected_intervals,
            100_000
        );
        t.stop = StopCondition::Iterations { count: 10 };
        assert_eq!(Knobs::new(&t, &s, Duration::ZERO).expected_intervals, 64);
    }

    #[test]
    fn roles_follow_the_test_the_side_and_reverse() {
        use crate::engine::{roles_for, Side};
        let role = |t: &TrialSpec, client: bool| {
            let side = if client { Side::Client } else { Side::Server };
            let roles = roles_for(t, side);
            assert_eq!(roles.len(), 1, "one thread per queue pair");
            roles[0]
        };
        let s = settings(RdmaOp::Write);
        let mut t = spec(TestKind::Bw, &s);
        assert_eq!(role(&t, true), Role::Post);
        assert_eq!(role(&t, false), Role::Serve);
        t.reverse = true;
        assert_eq!(role(&t, true), Role::Serve);
        assert_eq!(role(&t, false), Role::Post);
        for reverse in [false, true] {
            t.reverse = reverse;
            t.test = TestKind::Bibw;
            assert_eq!(
                (role(&t, true), role(&t, false)),
                (Role::PostAndServe, Role::PostAndServe)
            );
            t.test = TestKind::Lat;
            assert_eq!((role(&t, true), role(&t, false)), (Role::Ping, Role::Echo));
        }
    }
}
