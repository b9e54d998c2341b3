//! The latency probe over RDMA: a send/receive queue pair of its own beside the trial's queue pairs, on
//! the same device and port. The client sends the probe's message and waits for the server's echo; the
//! pacing, windows and histogram are the TCP probe's ([`crate::engine::probe`]).
//!
//! Neither end busy-polls: the probe's queue pair sleeps on its completion channel between round trips,
//! while one is out, while its send queue is full and while its FIN goes out, as the TCP probe sleeps in
//! `recv`, so it never spins a core the traffic needs. The completion queues stay armed (armed before the
//! first post, again after every wake-up) and each side polls after every wake-up, so no completion is
//! missed; a round trip's time therefore includes one wake-up on each side, which `--test lat`
//! (busy-polling) does not. An echo that ends on the trial's stop (not the client's FIN) sends a FIN of
//! its own, so a probe waiting for an answer ends at once, with that reason, instead of at the stall
//! timeout.

use super::probe::RoundTrip;
use super::rdma::{stalled, Inbox, Knobs, Unreaped};
use super::Phase;
use crate::plan::{ProbeSpec, RdmaOp};
use crate::transport::rdma::verbs::Qp;
use crate::transport::rdma::RdmaError;
use crate::transport::TransportError;
use std::time::{Duration, Instant};

/// Longest sleep on the completion channel before the stall and stop checks run again (a completion
/// wakes the sleeper at once).
const WAKE_CHECK: Duration = Duration::from_millis(100);

/// The probe queue pair's knobs: one send of the probe's size at a time, each signaled, events on.
pub fn probe_knobs(probe: ProbeSpec, stall: Duration) -> Knobs {
    Knobs {
        op: RdmaOp::Send,
        size: probe.size as usize,
        tx_depth: 1,
        post_list: 1,
        cq_mod: 1,
        lat_signal_every: 1,
        use_event: true,
        stall,
        interval_ns: u64::MAX,
        expected_intervals: 0,
    }
}

/// The pinging end: one send, then sleep until the echo's receive completes.
pub struct QpRoundTrip<'a> {
    qp: &'a mut Qp,
    knobs: Knobs,
    inbox: Inbox,
    unreaped: Unreaped,
    phase: Phase,
}

impl<'a> QpRoundTrip<'a> {
    pub fn new(qp: &'a mut Qp, knobs: Knobs, phase: Phase) -> QpRoundTrip<'a> {
        QpRoundTrip {
            qp,
            knobs,
            inbox: Inbox::new(RdmaOp::Send),
            unreaped: Unreaped::default(),
            phase,
        }
    }

    fn exchange(&mut self) -> Result<(), RdmaError> {
        let k = &self.knobs;
        // Armed before anything is posted or polled: every completion from here raises an event.
        self.qp.arm()?;
        make_room_sleeping(self.qp, &mut self.unreaped, k)?;
        let before = self.inbox.messages;
        let started = Instant::now();
        self.unreaped.post(self.qp, k)?;
        while self.inbox.messages == before {
            if self.inbox.fin {
                return Err(RdmaError::Peer(
                    "the server ended the probe's queue pair before answering".into(),
                ));
            }
            if !self.inbox.poll(self.qp)? {
                self.qp.wait_event(WAKE_CHECK)?;
                stalled(started, k.stall)?;
            }
        }
        self.unreaped.reap(self.qp)
    }
}

impl RoundTrip for QpRoundTrip<'_> {
    fn round_trip(&mut self) -> Result<(), TransportError> {
        Ok(self.exchange()?)
    }

    /// Sends the FIN that ends the server's echo and sleeps until it has gone out.
    fn finish(&mut self) -> Result<(), TransportError> {
        let k = &self.knobs;
        self.qp.arm()?;
        self.qp.post_fin()?;
        let started = Instant::now();
        while !self.qp.poll_send()?.fin_sent {
            if self.phase.stopped() && started.elapsed() > WAKE_CHECK {
                break;
            }
            self.qp.wait_event(WAKE_CHECK)?;
            stalled(started, k.stall)?;
        }
        Ok(())
    }
}

/// Makes room for one more send, sleeping on the completion channel (armed by the caller) while the
/// send queue holds the most unreaped sends allowed.
fn make_room_sleeping(qp: &mut Qp, unreaped: &mut Unreaped, k: &Knobs) -> Result<(), RdmaError> {
    let started = Instant::now();
    while unreaped.full(k) {
        unreaped.reap(qp)?;
        if unreaped.full(k) {
            qp.wait_event(WAKE_CHECK)?;
            stalled(started, k.stall)?;
        }
    }
    Ok(())
}

/// The server's end: answers each probe message with one of the same size until the client's FIN (or
/// the trial's stop), sleeping on the completion channel in between. Returns the round trips answered.
pub fn probe_echo_loop(qp: &mut Qp, k: &Knobs, phase: &Phase) -> (u64, Option<TransportError>) {
    let mut inbox = Inbox::new(RdmaOp::Send);
    let mut unreaped = Unreaped::default();
    let mut echoed = 0u64;
    let result = (|| -> Result<(), RdmaError> {
        let mut idle_since = Instant::now();
        qp.arm()?;
        loop {
            let before = inbox.messages;
            inbox.poll(qp)?;
            for _ in before..inbox.messages {
                make_room_sleeping(qp, &mut unreaped, k)?;
                unreaped.post(qp, k)?;
                echoed += 1;
                idle_since = Instant::now();
            }
            unreaped.reap(qp)?;
            if inbox.fin {
                return Ok(());
            }
            if phase.stopped() {
                // The client may be waiting for an answer: its probe ends at this FIN.
                return qp.post_fin();
            }
            if inbox.messages == before {
                qp.wait_event(WAKE_CHECK)?;
                stalled(idle_since, k.stall)?;
            }
        }
    })();
    (echoed, result.err().map(TransportError::from))
}
