//! What a side's data threads cost in CPU: each thread's own time over its life and over its measured
//! phase, summed into the side's sample with the host's utilization over the same window.

use crate::cputime::{self, HostTicks};
use crate::engine::progress::{HostMark, MeasuredFrom};
use crate::model::{CpuSpan, CpuTimes, HostCpu, SideCpuSample};
use std::path::Path;
use std::time::{Duration, Instant};

/// One data thread's CPU time.
#[derive(Debug, Clone, Copy)]
pub struct ThreadCpu {
    /// From the thread's start (after the start barrier) to its end.
    pub whole: CpuTimes,
    pub whole_s: f64,
    /// From the start of its measured phase to its end, when it had one.
    pub measured: Option<(CpuTimes, f64)>,
}

/// A thread's CPU clock and wall clock at one moment.
#[derive(Debug, Clone, Copy)]
pub struct CpuStamp {
    user: Duration,
    system: Duration,
    at: Instant,
}

impl CpuStamp {
    /// The calling thread's CPU time now.
    pub fn now() -> CpuStamp {
        let (user, system) = cputime::thread_times();
        CpuStamp {
            user,
            system,
            at: Instant::now(),
        }
    }

    fn from_measured(m: MeasuredFrom) -> CpuStamp {
        CpuStamp {
            user: m.0,
            system: m.1,
            at: m.2,
        }
    }

    fn until(&self, later: &CpuStamp) -> (CpuTimes, f64) {
        let times = CpuTimes {
            user_s: later.user.saturating_sub(self.user).as_secs_f64(),
            system_s: later.system.saturating_sub(self.system).as_secs_f64(),
        };
        (
            times,
            later.at.saturating_duration_since(self.at).as_secs_f64(),
        )
    }
}

impl ThreadCpu {
    /// The thread's figures from its start, its measured phase's start (if any) and its end.
    pub fn new(born: CpuStamp, measured_from: Option<MeasuredFrom>, ended: CpuStamp) -> ThreadCpu {
        let (whole, whole_s) = born.until(&ended);
        ThreadCpu {
            whole,
            whole_s,
            measured: measured_from.map(|m| CpuStamp::from_measured(m).until(&ended)),
        }
    }
}

/// The side's sample: the measured phase's time when every thread had one, else every thread's whole
/// life; the host's utilization from `mark`'s window start to now.
pub fn side_sample(threads: &[ThreadCpu], mark: &HostMark) -> Option<SideCpuSample> {
    if threads.is_empty() {
        return None;
    }
    let all_measured = threads.iter().all(|t| t.measured.is_some());
    let mut times = CpuTimes::default();
    let mut wall_s: f64 = 0.0;
    for t in threads {
        let (thread_times, thread_s) = match (all_measured, t.measured) {
            (true, Some(m)) => m,
            _ => (t.whole, t.whole_s),
        };
        times.add(&thread_times);
        wall_s = wall_s.max(thread_s);
    }
    Some(SideCpuSample {
        data_threads: u32::try_from(threads.len()).unwrap_or(u32::MAX),
        span: if all_measured {
            CpuSpan::MeasuredPhase
        } else {
            CpuSpan::WholeTrial
        },
        times,
        wall_s,
        host: host_cpu(mark),
    })
}

/// The host's utilization from the mark's window start to now.
fn host_cpu(mark: &HostMark) -> Option<HostCpu> {
    let (start, at) = mark.window_start()?;
    let now = HostTicks::read(Path::new("/"))?;
    let (busy, user, system) = start.shares_until(&now)?;
    Some(HostCpu {
        utilization_percent: busy,
        user_percent: user,
        system_percent: system,
        cpus: now.cpus,
        window_s: at.elapsed().as_secs_f64(),
    })
}
