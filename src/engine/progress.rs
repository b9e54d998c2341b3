//! Live progress shared between a data thread and its side's control thread, which samples it once per
//! interval for the on-screen lines. The data thread only stores its own running totals (no locked
//! read-modify-write); each stream's counters sit on their own cache lines. When a thread's measured
//! phase starts it also notes its own CPU time, and the first thread of the side notes the host's
//! (`/proc/stat`): once per thread, at the phase change, never per message.

use crate::cputime::{self, HostTicks};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The host's CPU ticks where a side's CPU window starts: when its data threads started, replaced by the
/// moment the first of them started its measured phase.
#[derive(Debug)]
pub struct HostMark {
    started: Option<(HostTicks, Instant)>,
    measuring: Mutex<Option<(HostTicks, Instant)>>,
    taken: AtomicBool,
}

impl HostMark {
    /// Notes the host's ticks now, as the window's start until a measured phase starts.
    pub fn new() -> HostMark {
        HostMark {
            started: HostTicks::read(Path::new("/")).map(|t| (t, Instant::now())),
            measuring: Mutex::new(None),
            taken: AtomicBool::new(false),
        }
    }

    fn measuring_starts(&self) {
        if self.taken.swap(true, Ordering::Relaxed) {
            return;
        }
        let ticks = HostTicks::read(Path::new("/")).map(|t| (t, Instant::now()));
        if let Ok(mut slot) = self.measuring.lock() {
            *slot = ticks;
        }
    }

    /// Where the window starts: the first measured phase's start, else the threads' start.
    pub fn window_start(&self) -> Option<(HostTicks, Instant)> {
        let measuring = self.measuring.lock().ok().and_then(|s| *s);
        measuring.or(self.started)
    }
}

impl Default for HostMark {
    fn default() -> Self {
        HostMark::new()
    }
}

/// A thread's own CPU time (user, system) and the instant when its measured phase started.
pub type MeasuredFrom = (Duration, Duration, Instant);

/// Running totals of one stream's measured phase.
#[derive(Debug, Default)]
#[repr(align(128))]
pub struct Progress {
    measuring: AtomicBool,
    bytes: AtomicU64,
    messages: AtomicU64,
    latency_sum_ns: AtomicU64,
    measured_from: Mutex<Option<MeasuredFrom>>,
    host: Option<Arc<HostMark>>,
}

/// A sample of every stream's totals.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProgressSample {
    pub streams_measuring: usize,
    pub bytes: u64,
    pub messages: u64,
    pub latency_sum_ns: u64,
}

impl Progress {
    /// Progress of a thread whose side notes the host's CPU ticks in `host`.
    pub fn with_host_mark(host: Arc<HostMark>) -> Progress {
        Progress {
            host: Some(host),
            ..Progress::default()
        }
    }

    /// Marks the start of the measured phase, on the data thread itself: notes the thread's CPU time
    /// (and, for the side's first thread, the host's). Only the first call counts.
    pub fn start_measuring(&self) {
        if self.measuring.swap(true, Ordering::Relaxed) {
            return;
        }
        let (user, system) = cputime::thread_times();
        if let Ok(mut slot) = self.measured_from.lock() {
            *slot = Some((user, system, Instant::now()));
        }
        if let Some(host) = &self.host {
            host.measuring_starts();
        }
    }

    /// Marks a thread that serves the peer without knowing the phases as measuring, for the live lines
    /// only: its CPU time stays that of its whole life.
    pub fn start_passive(&self) {
        self.measuring.store(true, Ordering::Relaxed);
    }

    /// The thread's CPU time and instant at the start of its measured phase, if it started one.
    pub fn measured_from(&self) -> Option<MeasuredFrom> {
        self.measured_from.lock().ok().and_then(|s| *s)
    }

    /// Publishes the stream's running totals.
    #[inline]
    pub fn publish(&self, bytes: u64, messages: u64, latency_sum_ns: u64) {
        self.bytes.store(bytes, Ordering::Relaxed);
        self.messages.store(messages, Ordering::Relaxed);
        self.latency_sum_ns.store(latency_sum_ns, Ordering::Relaxed);
    }

    /// Sums the totals of several streams.
    pub fn sample(all: &[Progress]) -> ProgressSample {
        all.iter().fold(ProgressSample::default(), |mut s, p| {
            s.streams_measuring += usize::from(p.measuring.load(Ordering::Relaxed));
            s.bytes += p.bytes.load(Ordering::Relaxed);
            s.messages += p.messages.load(Ordering::Relaxed);
            s.latency_sum_ns += p.latency_sum_ns.load(Ordering::Relaxed);
            s
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_sum_streams() {
        let all: Vec<Progress> = (0..3).map(|_| Progress::default()).collect();
        all[0].start_measuring();
        all[0].publish(10, 1, 5);
        all[2].publish(30, 3, 0);
        let s = Progress::sample(&all);
        assert_eq!(
            s,
            ProgressSample {
                streams_measuring: 1,
                bytes: 40,
                messages: 4,
                latency_sum_ns: 5
            }
        );
    }
}
