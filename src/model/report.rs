//! The report: one JSON document per client run, versioned by `schema_version` (semver: a new optional
//! field is a minor version, anything a reader could misread is a major version). Field names other tools
//! read are fixed by the Core issue; units are spelled in names (`_ns`, `_s`, `bits_per_second`).

use crate::clock::ClockFacts;
use crate::diag::link::LinkReport;
use crate::diag::HostFacts;
use crate::model::{CpuChoice, CpuReport, RdmaPortFacts, ReceiveReport, ZeroCopyStats};
use crate::plan::{StopCondition, TestKind, TransportKind};
use crate::stats::{IntervalFigures, LatencySummary};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Version of this report format.
pub const SCHEMA_VERSION: &str = "1.7.0";

/// A linkbench run: what was asked, where it ran, and every trial's figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(title = "linkbench report")]
pub struct Report {
    /// Semantic version of this format ("1.0.0").
    pub schema_version: String,
    /// `complete` when every planned trial ran to its end; `incomplete` otherwise (see `errors`).
    pub status: Status,
    /// What went wrong; empty for a complete run.
    pub errors: Vec<ReportError>,
    /// Conditions that could distort the figures (unpinned threads, frequency scaling, ...).
    pub warnings: Vec<String>,
    pub tool: ToolInfo,
    /// When the run started, RFC 3339.
    pub started_at: String,
    /// When the report was written, RFC 3339.
    pub finished_at: String,
    /// `--label KEY=VALUE` tags (link=copper, cable=..., module serial, ...).
    pub labels: BTreeMap<String, String>,
    /// The client's command line.
    pub command_line: Vec<String>,
    /// The server as given on the command line, and the address connected to.
    pub server_address: String,
    pub client: HostFacts,
    /// Null when the server could not be reached.
    pub server: Option<HostFacts>,
    pub clock: ClockPair,
    /// What the figures mean.
    pub units: Units,
    /// One entry per trial, in the order they ran.
    pub results: Vec<TestResult>,
}

/// Whether the run finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Complete,
    Incomplete,
}

/// One thing that went wrong.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ReportError {
    pub message: String,
    /// The trial it happened in, when it belongs to one.
    pub trial: Option<u32>,
    pub message_size: Option<u64>,
}

/// The program that wrote the report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ToolInfo {
    /// Always "linkbench".
    pub name: String,
    pub version: String,
    pub protocol_version: u32,
}

/// The clocks both sides timed with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ClockPair {
    pub client: ClockFacts,
    pub server: Option<ClockFacts>,
}

/// Plain-words definitions of the figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Units {
    pub bits_per_second: String,
    pub messages_per_second: String,
    pub latency: String,
    pub message_size: String,
}

impl Default for Units {
    fn default() -> Self {
        Units {
            bits_per_second: "payload bits per second, SI: 1 Gbit/s = 10^9 bit/s; protocol headers not counted"
                .into(),
            messages_per_second: "whole messages of message_size bytes received per second".into(),
            latency: "round trip (send to reply received) in nanoseconds, not half of it; every measured round \
                      trip is in the histogram"
                .into(),
            message_size: "payload bytes per message; sizes like 64K on the command line are binary (65536)".into(),
        }
    }
}

/// Which way the data flowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    ClientToServer,
    ServerToClient,
}

/// The figures of one trial.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TestResult {
    pub transport: TransportKind,
    /// The data-path operation: `stream` for TCP; `write`, `read` or `send` for RDMA.
    pub op: String,
    pub test: TestKind,
    pub message_size: u64,
    pub streams: u32,
    /// Length of the measured phase in seconds (receiver's clock for bandwidth, pinger's for latency).
    pub duration_s: f64,
    /// Payload bytes delivered in the measured phase (both directions for `bibw`; requests plus replies
    /// for `lat`).
    pub bytes: u64,
    /// Whole messages delivered in the measured phase (round trips for `lat`).
    pub messages: u64,
    /// Index among the repeats of the same test and size (0-based).
    pub trial: u32,
    /// False when the trial ended early; the figures then cover what was measured before.
    pub complete: bool,
    pub reverse: bool,
    pub warmup_s: f64,
    pub stop: StopCondition,
    pub bandwidth: Option<Bandwidth>,
    pub latency: Option<Latency>,
    /// Per-interval figures of the measured phase (both directions summed for `bibw`).
    pub intervals: Vec<IntervalFigures>,
    pub placement: Placement,
    pub tcp: Option<TcpSettings>,
    pub zerocopy: Option<ZeroCopyReport>,
    /// The interface that carried the trial on each side: facts, module, counters before/after/delta and
    /// the link verdict (added in 1.1.0; null in older reports).
    #[serde(default)]
    pub link: Option<LinkSides>,
    /// RDMA trials: the knobs, each side's device, port and GID, and the sanity counts (added in 1.2.0).
    #[serde(default)]
    pub rdma: Option<RdmaReport>,
    /// TCP bandwidth: the receive mode (`--recv-mode`), what it means, and how the bytes came off the
    /// sockets (added in 1.4.0; null in older reports and for latency and RDMA).
    #[serde(default)]
    pub receive: Option<ReceiveReport>,
    /// Each side's CPU cost: data threads' user and system time, the host's utilization, and the cost per
    /// GB or per round trip (added in 1.4.0; null in older reports).
    #[serde(default)]
    pub cpu: Option<CpuReport>,
    /// A soak (`--soak`): the series file and what it held (added with report 1.5.0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub soak: Option<crate::model::SoakSummary>,
    /// The latency probe beside the traffic (`--probe-rate`; added with report 1.6.0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probe: Option<crate::model::ProbeReport>,
}

/// What an RDMA trial ran on and with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RdmaReport {
    pub settings: crate::plan::RdmaSettings,
    /// Completion moderation actually used: bandwidth, cq_mod capped at tx_depth in whole post lists;
    /// latency, a completion every min(cq_mod, 4) sends for send (ib_send_lat signals selectively too),
    /// every send for write, read and atomic.
    pub effective_cq_mod: u32,
    pub client: Option<RdmaPortFacts>,
    pub server: Option<RdmaPortFacts>,
    /// Work requests each side completed in the warm-up (bandwidth).
    pub client_warmup_ops: u64,
    pub server_warmup_ops: u64,
    /// Send op: messages and bytes each side's receive queue took, warm-up included. For a one-way send
    /// test the receiver's count equals the sender's warm-up plus measured messages.
    pub client_received_messages: u64,
    pub client_received_bytes: u64,
    pub server_received_messages: u64,
    pub server_received_bytes: u64,
}

/// Each side's link during one trial; a side is null when its interface could not be found (or, for the
/// server, when its result never arrived).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct LinkSides {
    pub client: Option<LinkReport>,
    pub server: Option<LinkReport>,
}

impl LinkSides {
    /// The sides whose link was read, named `client` and `server`.
    pub fn each(&self) -> impl Iterator<Item = (&'static str, &LinkReport)> {
        [("client", &self.client), ("server", &self.server)]
            .into_iter()
            .filter_map(|(side, link)| link.as_ref().map(|l| (side, l)))
    }
}

/// Bandwidth figures (bw, bibw).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Bandwidth {
    /// 10^9-based bits of payload per second, summed over directions for `bibw`.
    pub bits_per_second: f64,
    pub messages_per_second: f64,
    /// The best full interval, like perftest's peak.
    pub best_interval_bits_per_second: Option<f64>,
    /// Each direction measured where the data landed.
    pub directions: Vec<DirectionFigures>,
}

/// What one direction of a trial delivered, measured by its receiver (TCP) or, for RDMA, by the side that
/// posted the work requests from its first post to its last completion (perftest's method).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct DirectionFigures {
    pub direction: Direction,
    pub bytes: u64,
    pub messages: u64,
    /// Warm-up bytes received and discarded.
    pub warmup_bytes: u64,
    /// From the arrival of the last warm-up byte to the arrival of the last measured byte.
    pub duration_s: f64,
    pub bits_per_second: f64,
    pub messages_per_second: f64,
    /// Measured bytes the sender handed to the transport (equal to `bytes` when nothing was lost).
    pub sent_bytes: u64,
    pub per_stream: Vec<StreamFigures>,
    pub intervals: Vec<IntervalFigures>,
}

/// One stream of a direction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct StreamFigures {
    pub bytes: u64,
    pub messages: u64,
    pub duration_s: f64,
    pub bits_per_second: f64,
}

/// Latency figures (lat).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Latency {
    /// Measured round trips; every one is in the histogram.
    pub count: u64,
    pub round_trip_ns: LatencySummary,
    /// The HdrHistogram of round-trip nanoseconds (1 ns to 60 s, 3 significant digits), base64 of the
    /// V2+DEFLATE encoding (Java/Python HdrHistogram `decode`).
    pub histogram: String,
    /// Samples outside 1 ns..60 s, recorded at the nearest bound.
    pub clamped_samples: u64,
    pub warmup_round_trips: u64,
}

/// Where the data threads ran.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Placement {
    pub client: Option<CpuChoice>,
    pub server: Option<CpuChoice>,
    pub client_all_pinned: bool,
    /// Null when the server's figures never arrived.
    pub server_all_pinned: Option<bool>,
    /// Other sessions' trials that ran on the server beside this one (`linkbench-server
    /// --max-sessions`), and the CPUs they shared; absent when the trial had the server to itself
    /// (added with report 1.7.0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_sharing: Option<crate::model::ServerSharing>,
}

/// TCP socket settings of the data connections.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TcpSettings {
    pub nodelay: bool,
    pub busy_poll: bool,
}

/// Whether MSG_ZEROCOPY really avoided the copy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ZeroCopyReport {
    /// Figures summed over every sending stream of both sides.
    pub stats: ZeroCopyStats,
    /// True only when some sends completed without the kernel copying.
    pub kernel_avoided_copy: bool,
    pub explanation: String,
}

impl ZeroCopyReport {
    /// Interprets the completion figures.
    pub fn from_stats(stats: ZeroCopyStats) -> ZeroCopyReport {
        let avoided = stats.completed > stats.copied;
        let explanation = if stats.completed == 0 {
            "no zero-copy completion was reported, so it is unknown whether the copy was avoided"
                .to_string()
        } else if stats.copied == stats.completed {
            "the kernel copied every send anyway (SO_EE_CODE_ZEROCOPY_COPIED); this is always so on loopback \
             and on devices without scatter-gather"
                .to_string()
        } else {
            format!(
                "{} of {} completed sends avoided the copy; {} were copied",
                stats.completed - stats.copied,
                stats.completed,
                stats.copied
            )
        };
        ZeroCopyReport {
            stats,
            kernel_avoided_copy: avoided,
            explanation,
        }
    }
}
