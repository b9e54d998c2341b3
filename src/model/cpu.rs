//! The CPU a trial cost on one side: its data threads' own user and system time (from the threads'
//! accounting, `getrusage(RUSAGE_THREAD)`), the host's utilization from `/proc/stat`, and the cost per
//! unit of work (CPU-seconds per GB moved, CPU-microseconds per round trip).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// User and system CPU time, in seconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CpuTimes {
    pub user_s: f64,
    pub system_s: f64,
}

impl CpuTimes {
    /// User plus system.
    pub fn total_s(&self) -> f64 {
        self.user_s + self.system_s
    }

    /// This minus `earlier`, never negative.
    pub fn since(&self, earlier: &CpuTimes) -> CpuTimes {
        CpuTimes {
            user_s: (self.user_s - earlier.user_s).max(0.0),
            system_s: (self.system_s - earlier.system_s).max(0.0),
        }
    }

    /// Adds another thread's times.
    pub fn add(&mut self, other: &CpuTimes) {
        self.user_s += other.user_s;
        self.system_s += other.system_s;
    }
}

/// Which span of a trial a side's data-thread CPU time covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CpuSpan {
    /// Every data thread of the side knew when the measured phase started: the time is that phase's.
    MeasuredPhase,
    /// Some data thread serves the peer without knowing the phases (a latency echo, an RDMA target): the
    /// time covers the thread's whole life, warm-up included, and the cost per unit divides it by the
    /// work of the whole trial (warm-up included) so that it stays a fair per-unit figure.
    WholeTrial,
}

/// The host's CPU utilization over a window, from `/proc/stat`'s aggregate line.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct HostCpu {
    /// Busy share of all online CPUs over the window (100 = every CPU busy), like iperf3's
    /// `cpu_utilization_percent.host_total`: everything that ran, not only linkbench.
    pub utilization_percent: f64,
    /// User-mode (user + nice) and kernel-mode (system + irq + softirq) shares, in the same unit.
    pub user_percent: f64,
    pub system_percent: f64,
    /// Online CPUs the percentages are shares of.
    pub cpus: u32,
    /// Length of the window: from the first data thread's start of the measured phase to the moment
    /// every data thread had ended.
    pub window_s: f64,
}

/// What one side's data threads cost, as that side measured it (travels in its `SideReport`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SideCpuSample {
    /// Data threads whose time is summed.
    pub data_threads: u32,
    pub span: CpuSpan,
    /// Summed over the data threads, over `span`.
    pub times: CpuTimes,
    /// Length of the span: the longest data thread's measured phase (or whole life).
    pub wall_s: f64,
    /// Null where `/proc/stat` could not be read.
    pub host: Option<HostCpu>,
}

/// One side's CPU cost in a report's result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SideCpu {
    pub data_threads: u32,
    pub span: CpuSpan,
    /// Data threads' user time, seconds, summed over threads.
    pub user_s: f64,
    /// Data threads' system (kernel) time, seconds, summed over threads.
    pub system_s: f64,
    /// `user_s + system_s` over the measured phase's length: 1.0 is one core kept busy (busy polling
    /// shows as 1.0 per polling thread).
    pub cores_busy: Option<f64>,
    /// Bandwidth tests: data-thread CPU-seconds per 10^9 payload bytes moved.
    pub cpu_s_per_gb: Option<f64>,
    /// Latency tests: data-thread CPU-microseconds per round trip.
    pub cpu_us_per_round_trip: Option<f64>,
    /// The whole host's utilization while the side measured (everything that ran, not only linkbench).
    pub host: Option<HostCpu>,
}

/// Both sides' CPU cost of one trial.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CpuReport {
    pub client: Option<SideCpu>,
    /// Null when the server's figures never arrived (or came from a server without CPU accounting).
    pub server: Option<SideCpu>,
    pub explanation: String,
}
