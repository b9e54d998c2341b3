//! Watching a running trial from its control thread: live `interval` frames to the client, the client's
//! frames (only one `stop` is allowed), and the trial clock. When the client breaks the protocol, goes
//! away, or the clock runs out, the trial is ended at once (the trial's stop: its flag set, its data
//! sockets shut); data threads that do not stop within the join bound are left behind rather than
//! holding the session.

use super::handshake::message_name;
use super::session::{Frames, Session, WATCH_TICK};
use super::trial_clock::TrialClock;
use crate::control::deadline::DeadlineStream;
use crate::control::frame::FrameError;
use crate::control::reader::Next;
use crate::control::{write_frame, ClientMessage, ServerMessage};
use crate::diag::sampler::LinkSample;
use crate::engine::RunningSide;
use crate::plan::TrialSpec;
use crate::trial::Running;
use crate::units::seconds_saturating;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

/// How a trial's run went, seen from its control thread.
#[derive(Default)]
pub(super) struct Watched {
    /// The control connection failed.
    pub client_gone: Option<FrameError>,
    /// The client sent what a running trial does not accept.
    pub violation: Option<String>,
    /// The trial clock ran out; the report says so.
    pub cut: Option<String>,
    pub stop_seen: bool,
}

impl Watched {
    /// Whether the trial was ended before its threads ended by themselves (they are being stopped).
    pub fn ended_early(&self) -> bool {
        self.client_gone.is_some() || self.violation.is_some() || self.cut.is_some()
    }
}

impl Session<'_> {
    /// Runs the watch loop until every data thread has ended; after an early end (the threads stopped),
    /// at most the join bound longer, live updates still going out.
    pub(super) fn watch(
        &mut self,
        spec: &TrialSpec,
        trial: &mut Running,
        clock: &TrialClock,
        frames: &Frames,
    ) -> Watched {
        let mut sampler = spec.link_samples.then(|| trial.link_sampler()).flatten();
        let (running, trial_stop) = (&mut trial.running, &trial.stop);
        let interval = seconds_saturating(spec.interval_s);
        let started = Instant::now();
        let mut next_tick = started + interval;
        let mut watched = Watched::default();
        let mut ended_at: Option<Instant> = None;
        loop {
            let now = Instant::now();
            let wake = next_tick.min(now + WATCH_TICK);
            if running.wait_finished(wake.saturating_duration_since(now)) {
                break;
            }
            if !watched.ended_early() {
                read_client(frames, &mut watched, &self.stop);
                if clock.expired() && !watched.ended_early() {
                    watched.cut = Some(clock.cut_message());
                }
            }
            let now = Instant::now();
            if now >= next_tick {
                if watched.client_gone.is_none() && watched.violation.is_none() {
                    let link = sampler.as_mut().map(|s| Box::new(s.take()));
                    self.send_interval(running, started, link, &mut watched);
                }
                // Ticks missed while busy are skipped, not sent in a burst.
                while next_tick <= now {
                    next_tick += interval;
                }
            }
            if watched.ended_early() && ended_at.is_none() {
                trial_stop.abort();
                ended_at = Some(Instant::now());
            }
            if ended_at.is_some_and(|t| t.elapsed() > clock.join_bound()) {
                return watched;
            }
        }
        watched
    }

    fn send_interval(
        &mut self,
        running: &RunningSide,
        started: Instant,
        link: Option<Box<LinkSample>>,
        watched: &mut Watched,
    ) {
        let sample = running.measured_progress();
        let live = ServerMessage::Interval {
            elapsed_s: started.elapsed().as_secs_f64(),
            measuring: running.all_measuring(&sample),
            bytes: sample.bytes,
            messages: sample.messages,
            link,
        };
        // One deadline for the whole frame: a client that reads slowly cannot stall the trial clock here.
        let mut wire = DeadlineStream::within(&self.control, self.shared.config.handshake_timeout);
        if let Err(e) = write_frame(&mut wire, &live) {
            // The data threads stop for a client that is gone (the loop ends the trial).
            watched.client_gone = Some(e);
        }
    }
}

/// Takes the client's waiting frames: one `stop` is fine (it sets the trial's stop flag, as the reader
/// thread already did), anything else breaks the trial.
fn read_client(frames: &Frames, watched: &mut Watched, stop: &AtomicBool) {
    loop {
        match frames.try_next() {
            Ok(Next::Frame(ClientMessage::Stop)) if !watched.stop_seen => {
                watched.stop_seen = true;
                stop.store(true, Ordering::SeqCst);
            }
            Ok(Next::Frame(other)) => {
                watched.violation = Some(format!(
                    "the client sent {} during a trial, where only one stop is allowed",
                    message_name(&other)
                ));
                return;
            }
            Ok(Next::Quiet) => return,
            Err(e) => {
                watched.client_gone = Some(e);
                return;
            }
        }
    }
}
