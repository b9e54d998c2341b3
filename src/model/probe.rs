//! The latency probe as a report and a soak sample carry it: round trips of a small message at a set
//! rate on a connection (RDMA: a queue pair) of their own, beside the trial's traffic, and what that connection shared with
//! the traffic (the figures mean "latency through this path while it carries that load").

use crate::stats::LatencySummary;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The probe over a whole trial (a soak: the whole soak).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ProbeReport {
    /// Round trips started per second, as asked (`--probe-rate`).
    pub rate_per_s: u32,
    /// Payload bytes each way (`--probe-size`).
    pub size_bytes: u32,
    /// Round trips of the measured phase; every one is in the histogram.
    pub count: u64,
    pub warmup_round_trips: u64,
    /// Slots of the measured phase that passed while the previous round trip was still in flight (the
    /// path was slower than the probe's period); they are counted, never sent late in a burst.
    pub missed_slots: u64,
    /// Round trips the server answered, warm-up included; null when its report did not arrive.
    pub server_echoed: Option<u64>,
    /// Round-trip times of the measured phase, nanoseconds; null when none completed.
    pub round_trip_ns: Option<LatencySummary>,
    /// The HdrHistogram of round-trip nanoseconds (1 ns to 60 s, 3 significant digits), base64 of the
    /// V2+DEFLATE encoding, like the latency test's.
    pub histogram: String,
    /// Samples outside 1 ns..60 s, recorded at the nearest bound.
    pub clamped_samples: u64,
    /// What the probe shares with the traffic.
    pub shares: ProbeShares,
}

/// What the probe's connection and threads share with the trial's traffic.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ProbeShares {
    /// The network path: the probe connects from the same client to the same server address, so it
    /// takes the same route, interface and NIC as the data.
    pub path: String,
    /// The NIC's queues: which receive queue a connection lands on is the NIC's hash of its ports, so
    /// the probe may or may not share one with a data stream.
    pub queue: String,
    /// The CPU the client's probe thread was pinned to.
    pub client_cpu: usize,
    /// A client data thread was pinned to the same CPU.
    pub client_cpu_shared: bool,
    /// The CPU the server's echo thread was pinned to; null when the server's report did not arrive.
    pub server_cpu: Option<usize>,
    pub server_cpu_shared: Option<bool>,
    /// The above in one sentence.
    pub summary: String,
}

/// The probe's round trips within one soak sample.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ProbeSample {
    /// Round trips that completed in the window.
    pub count: u64,
    /// Round-trip nanoseconds; null when none completed in the window.
    pub p50_ns: Option<u64>,
    pub p99_ns: Option<u64>,
    pub max_ns: Option<u64>,
    /// Slots that passed while a round trip was in flight.
    pub missed_slots: u64,
    /// The window's length on the client's clock: from the previous sample's cut to this one's (longer
    /// than the sample interval when a round trip was in flight at the previous cut).
    pub window_s: f64,
}
