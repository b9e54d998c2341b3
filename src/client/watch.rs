//! Watching a running trial from the client: live lines (the server's receive side and this side's own
//! threads), the server's messages until its result, Ctrl-C, and the limits on what the server may send
//! ([`super::trust`]). Ends with the server's result, or with the reason there is none.

use super::soak::{ProbeTake, ServerHalf, SoakRecorder};
use super::trust::{LiveUpdates, TrialBounds};
use super::{interrupted, message_name, ClientError, INTERRUPT_CHECK};
use crate::control::frame::FrameError;
use crate::control::reader::{FrameReader, Next};
use crate::control::{write_frame, ClientMessage, ServerMessage, SideReport};
use crate::engine::probe::Cut;
use crate::engine::RunningSide;
use crate::plan::{TestKind, TransportKind, TrialSpec};
use crate::report::table;
use crate::text::escape_control;
use crate::units::seconds_saturating;
use std::cell::RefCell;
use std::io::Write;
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Running totals at the last live line.
#[derive(Debug, Clone, Copy, Default)]
struct Mark {
    bytes: u64,
    messages: u64,
    latency_sum_ns: u64,
    at_s: f64,
    measuring: bool,
}

/// What the watch needs to know about the trial.
pub struct Watch<'a> {
    pub spec: &'a TrialSpec,
    pub live: bool,
    pub bounds: TrialBounds,
    /// How long the server may send nothing at all.
    pub silence: Duration,
    pub stop: &'a Arc<AtomicBool>,
    /// A soak: a line of the series for every interval frame of the server.
    pub soak: RefCell<Option<SoakRecorder>>,
}

/// How the watch ended.
pub struct Watched {
    pub server: Result<SideReport, ClientError>,
    /// Ctrl-C ended the trial (a stop was sent).
    pub stop_sent: bool,
    /// The soak's series could not be written: the trial was stopped.
    pub series_error: Option<String>,
}

impl Watch<'_> {
    /// Prints live lines until the server's result arrives (or the reason it will not).
    pub fn run(
        &self,
        control: &mut TcpStream,
        frames: &FrameReader<ServerMessage>,
        running: &RunningSide,
        started: Instant,
        out: &mut dyn Write,
    ) -> Watched {
        let spec = self.spec;
        let interval = seconds_saturating(spec.interval_s);
        let deadline = self.bounds.deadline(started);
        let mut live = LiveUpdates::new(self.bounds.clone(), started);
        let mut next_tick = started + interval;
        let (mut own, mut server) = (Mark::default(), Mark::default());
        let mut last_heard = Instant::now();
        let mut stop_sent = false;
        let mut series_error = None;
        let server_measures = spec.test != TestKind::Lat && spec.client_sends();
        let result = loop {
            if (interrupted() || series_error.is_some()) && !stop_sent {
                // End the trial on both sides; the server still reports what it measured.
                self.stop.store(true, Ordering::SeqCst);
                let _ = write_frame(control, &ClientMessage::Stop);
                stop_sent = true;
            }
            if Instant::now() >= deadline {
                break Err(self.no_result_error());
            }
            let wait = next_tick
                .saturating_duration_since(Instant::now())
                .clamp(Duration::from_millis(1), INTERRUPT_CHECK);
            match frames.next(wait) {
                Ok(Next::Frame(ServerMessage::Interval {
                    elapsed_s,
                    measuring,
                    bytes,
                    messages,
                    link,
                })) => {
                    last_heard = Instant::now();
                    if let Err(why) = live.check(elapsed_s, bytes, messages) {
                        break Err(ClientError::Implausible(why));
                    }
                    let half = ServerHalf {
                        elapsed_s,
                        measuring,
                        bytes,
                        link: link.map(|l| *l),
                    };
                    if let Err(why) = self.record_sample(half, running) {
                        series_error.get_or_insert(why);
                    }
                    let now = Mark {
                        bytes,
                        messages,
                        latency_sum_ns: 0,
                        at_s: elapsed_s,
                        measuring,
                    };
                    if self.live && server_measures && server.measuring {
                        let _ = writeln!(out, "{}", self.server_line(&server, &now));
                    }
                    server = now;
                }
                Ok(Next::Frame(ServerMessage::TrialResult { report })) => break Ok(*report),
                Ok(Next::Frame(ServerMessage::Error { message })) => {
                    break Err(ClientError::ServerError(escape_control(&message).into()))
                }
                Ok(Next::Frame(other)) => {
                    break Err(ClientError::Unexpected(message_name(&other).into()))
                }
                Ok(Next::Quiet) if last_heard.elapsed() > self.silence => {
                    break Err(ClientError::ServerSilent(
                        last_heard.elapsed().as_secs_f64(),
                    ))
                }
                Ok(Next::Quiet) => {}
                Err(e) => break Err(control_failed(e)),
            }
            if Instant::now() >= next_tick {
                if self.live && running.measures_anything() {
                    own = self.own_line(running, started, own, out);
                }
                next_tick += interval;
            }
        };
        let server = result.and_then(|report| {
            self.bounds
                .check_result(&report)
                .map(|()| report)
                .map_err(ClientError::Implausible)
        });
        Watched {
            server,
            stop_sent,
            series_error,
        }
    }

    /// The live line of the server's receive side for the interval that just ended.
    fn server_line(&self, last: &Mark, now: &Mark) -> String {
        let label = if self.spec.test == TestKind::Bibw {
            "c->s"
        } else {
            "recv"
        };
        bandwidth_line(label, last, now)
    }

    /// A soak's line for the server's interval frame (nothing without a soak, or once the series
    /// failed).
    fn record_sample(&self, server: ServerHalf, running: &RunningSide) -> Result<(), String> {
        let mut soak = self.soak.borrow_mut();
        let Some(recorder) = soak.as_mut() else {
            return Ok(());
        };
        let own = running.measured_progress();
        let probe = if running.has_probe() {
            // The probe answers between round trips: a cut waits at most for one in flight.
            let wait = recorder.probe_wait();
            match running.probe_cut(wait) {
                Some(Cut::Window(window)) => ProbeTake::Took(window),
                Some(Cut::InFlight) => ProbeTake::InFlight(wait),
                Some(Cut::Ended) | None => ProbeTake::Ended,
            }
        } else {
            ProbeTake::NoProbe
        };
        recorder.record(server, &own, running.all_measuring(&own), probe)
    }

    /// Prints this side's own live line for the interval that just ended; returns the new mark.
    fn own_line(
        &self,
        running: &RunningSide,
        started: Instant,
        last: Mark,
        out: &mut dyn Write,
    ) -> Mark {
        let s = running.measured_progress();
        let now = Mark {
            bytes: s.bytes,
            messages: s.messages,
            latency_sum_ns: s.latency_sum_ns,
            at_s: started.elapsed().as_secs_f64(),
            measuring: s.streams_measuring > 0,
        };
        if last.measuring {
            let line = if self.spec.test == TestKind::Lat {
                table::live_latency_line(
                    last.at_s,
                    now.at_s,
                    now.messages.saturating_sub(last.messages),
                    now.latency_sum_ns.saturating_sub(last.latency_sum_ns),
                )
            } else {
                // RDMA: this side times what it posted (and its completions).
                let label = if self.spec.transport == TransportKind::Rdma {
                    "posted"
                } else if self.spec.test == TestKind::Bibw {
                    "s->c"
                } else {
                    "recv"
                };
                bandwidth_line(label, &last, &now)
            };
            let _ = writeln!(out, "{line}");
        }
        now
    }

    fn no_result_error(&self) -> ClientError {
        let (planned, grace) = self.bounds.planned_and_grace();
        ClientError::ServerError(format!(
            "no result {:.0} s after the trial started ({:.1} s planned + {:.0} s grace): the server \
             kept the trial running past its end",
            (planned + grace).as_secs_f64(),
            planned.as_secs_f64(),
            grace.as_secs_f64()
        ))
    }
}

fn bandwidth_line(label: &str, last: &Mark, now: &Mark) -> String {
    table::live_bandwidth_line(
        label,
        last.at_s,
        now.at_s,
        now.bytes.saturating_sub(last.bytes),
        now.messages.saturating_sub(last.messages),
    )
}

/// A frame the server sent that the client refused, or the connection failing.
fn control_failed(e: FrameError) -> ClientError {
    match e {
        FrameError::TooLarge { len, max } => ClientError::Implausible(format!(
            "the server sent a control frame of {len} bytes, over the {max} bytes this trial's result can need"
        )),
        other => ClientError::Control(other),
    }
}
