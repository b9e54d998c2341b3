//! What to run: a [`TestPlan`] (the user's request: sizes, repeats, common settings) expands into
//! [`TrialSpec`]s, one per independent measurement. A `TrialSpec` is also what the client sends the server,
//! so it is plain serde data and the server re-validates it against its limits.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Which data path carries the test.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    JsonSchema,
    clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum TransportKind {
    /// TCP sockets (the fallback that runs everywhere).
    Tcp,
    /// RDMA verbs over reliable-connected queue pairs (RoCE v2 or InfiniBand).
    Rdma,
}

impl fmt::Display for TransportKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TransportKind::Tcp => "tcp",
            TransportKind::Rdma => "rdma",
        })
    }
}

/// The workload.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    JsonSchema,
    clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum TestKind {
    /// Bandwidth, one direction (client to server, or server to client with `--reverse`).
    Bw,
    /// Bandwidth in both directions at once.
    Bibw,
    /// Round-trip ping-pong latency.
    Lat,
}

impl TestKind {
    /// The default message size over a transport: what the tool its users compare against uses.
    /// Latency: 2 bytes (perftest). TCP bandwidth: 128 KiB, iperf3's write length (for TCP a "message"
    /// is one write; the wire does not see it). RDMA bandwidth: perftest's 64 KiB.
    pub fn default_message_size(self, transport: TransportKind) -> u64 {
        match (self, transport) {
            (TestKind::Lat, _) => 2,
            (TestKind::Bw | TestKind::Bibw, TransportKind::Tcp) => 128 * 1024,
            (TestKind::Bw | TestKind::Bibw, TransportKind::Rdma) => 64 * 1024,
        }
    }
}

impl fmt::Display for TestKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TestKind::Bw => "bw",
            TestKind::Bibw => "bibw",
            TestKind::Lat => "lat",
        })
    }
}

/// The RDMA operation a test uses (perftest's ib_write_*, ib_read_*, ib_send_*).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    JsonSchema,
    clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum RdmaOp {
    /// RDMA write: one-sided, the passive side's CPU sees nothing.
    Write,
    /// RDMA read: one-sided, the active side pulls data from the passive side.
    Read,
    /// Send/receive: two-sided, the receiver posts receive buffers.
    Send,
    /// Atomic fetch-and-add on an 8-byte word of the passive side's buffer (ib_atomic_*); one-sided,
    /// the old value comes back to the poster. Messages are always 8 bytes.
    Atomic,
}

impl RdmaOp {
    /// One-sided operations whose data comes back to the side that posted them.
    pub fn returns_data(self) -> bool {
        matches!(self, RdmaOp::Read | RdmaOp::Atomic)
    }
}

impl fmt::Display for RdmaOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RdmaOp::Write => "write",
            RdmaOp::Read => "read",
            RdmaOp::Send => "send",
            RdmaOp::Atomic => "atomic",
        })
    }
}

/// RDMA knobs that both sides need; perftest's defaults and names in the comments.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RdmaSettings {
    pub op: RdmaOp,
    /// Work requests in flight per queue pair (perftest -t; 128 for bandwidth, 1 for latency).
    pub tx_depth: u32,
    /// Receive buffers posted per queue pair for send tests (perftest -r, 512).
    pub rx_depth: u32,
    /// Messages up to this size go inline in the work request (perftest -I; 220 for write/send latency,
    /// 0 for bandwidth here).
    pub inline_size: u32,
    /// Work requests chained in one post call (perftest -l, 1).
    pub post_list: u32,
    /// Request a completion every this many work requests (selective signaling; perftest -Q, 100).
    pub cq_mod: u32,
    /// Outstanding RDMA reads per queue pair (perftest -o; the device's maximum, up to 16).
    pub outstanding_reads: u32,
    /// Path MTU in bytes (256..4096); the port's active MTU when absent (perftest -m).
    pub mtu: Option<u32>,
    /// Sleep on completion events instead of busy polling the completion queue (perftest -e).
    pub use_event: bool,
    /// Register buffers in 2 MiB huge pages (perftest --use_hugepages).
    pub hugepages: bool,
}

impl RdmaSettings {
    /// perftest's defaults for `op` in a `test`: 128 work requests in flight for bandwidth and 1 for
    /// latency; inline up to 220 bytes for write latency and 236 for send latency, none otherwise; 512
    /// receive buffers, post lists of 1, a completion every 100, 16 outstanding reads, the port's MTU,
    /// busy polling, ordinary pages.
    pub fn perftest_defaults(op: RdmaOp, test: TestKind) -> RdmaSettings {
        RdmaSettings {
            op,
            tx_depth: match test {
                TestKind::Lat => 1,
                _ => 128,
            },
            rx_depth: 512,
            inline_size: match (test, op) {
                (TestKind::Lat, RdmaOp::Write) => 220,
                (TestKind::Lat, RdmaOp::Send) => 236,
                _ => 0,
            },
            post_list: 1,
            cq_mod: 100,
            outstanding_reads: 16,
            mtu: None,
            use_event: false,
            hugepages: false,
        }
    }
}

/// When the measured phase of a trial ends (the warm-up comes before it and is not counted).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum StopCondition {
    /// Run the measured phase for this many seconds.
    Duration { seconds: f64 },
    /// Send this many messages per stream (bandwidth) or complete this many round trips per stream (latency).
    Iterations { count: u64 },
}

/// `--recv-mode`: how the receiving side of a TCP bandwidth test takes data off the socket.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema, clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum RecvMode {
    /// `recv()` into a user buffer: every payload byte is copied to user space (iperf3's way).
    #[default]
    Copy,
    /// `recv(MSG_TRUNC)`: the kernel receives, acknowledges and frees the payload without copying it to
    /// user space; only the first byte of each message (its phase mark) is read.
    Discard,
    /// `getsockopt(TCP_ZEROCOPY_RECEIVE)`: the receive queue's pages are mapped into user space; what the
    /// kernel cannot map (payload not page-aligned in the socket buffer) is copied with `recv()`.
    Zerocopy,
}

impl RecvMode {
    /// The name used on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            RecvMode::Copy => "copy",
            RecvMode::Discard => "discard",
            RecvMode::Zerocopy => "zerocopy",
        }
    }

    /// What the mode means for the figures, in one sentence.
    pub fn meaning(self) -> &'static str {
        match self {
            RecvMode::Copy => {
                "payload copied to user space with recv(), as iperf3 does, the reader woken once a message is queued (SO_RCVLOWAT); the copy's CPU cost is in the figure"
            }
            RecvMode::Discard => {
                "payload not copied to user space: recv(MSG_TRUNC) drops it in the kernel after TCP has \
                 received and acknowledged it; only each message's first byte (its phase mark) is read"
            }
            RecvMode::Zerocopy => {
                "payload mapped into user space with TCP_ZEROCOPY_RECEIVE where the kernel could map whole \
                 pages, copied with recv() where it could not; see bytes_mapped and bytes_copied"
            }
        }
    }
}

/// One independent measurement: everything both sides need to run it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TrialSpec {
    pub transport: TransportKind,
    pub test: TestKind,
    /// Payload bytes per message.
    pub message_size: u64,
    /// Parallel connections, each served by its own pinned thread on each side.
    pub streams: u32,
    pub stop: StopCondition,
    /// Seconds of traffic before the measured phase; discarded.
    pub warmup_s: f64,
    /// Length of the per-interval figures, in seconds.
    pub interval_s: f64,
    /// The server sends (bandwidth only).
    pub reverse: bool,
    /// Send with MSG_ZEROCOPY where the kernel offers it.
    pub zerocopy: bool,
    /// Spin on non-blocking receives instead of sleeping in the kernel.
    pub busy_poll: bool,
    /// How a TCP bandwidth receiver takes data off the socket (added with report 1.4.0).
    #[serde(default)]
    pub recv_mode: RecvMode,
    /// CPUs the server should pin its data threads to; the server picks when absent.
    pub server_cpus: Option<Vec<usize>>,
    /// Index of this trial among the repeats of the same test and size (0-based).
    pub trial: u32,
    /// RDMA operation and knobs (transport `rdma` only).
    #[serde(default)]
    pub rdma: Option<RdmaSettings>,
    /// A soak: each side samples its link (counters, module monitors) at every interval and the server
    /// sends its sample with the interval's live figures (added with report 1.5.0; an older server
    /// ignores it and sends none).
    #[serde(default)]
    pub link_samples: bool,
    /// A latency probe beside the traffic on a connection (RDMA: a queue pair) of its own (added with
    /// report 1.6.0; an older server refuses the probe's connection, or the spec, so the trial fails
    /// with that error).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probe: Option<ProbeSpec>,
}

/// The latency probe: small paced round trips on a connection (RDMA: a send/receive queue pair) of
/// their own, beside the traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ProbeSpec {
    /// Round trips started per second (one in flight at a time; a slot missed while one is in flight
    /// is counted, not sent late in a burst).
    pub rate_per_s: u32,
    /// Payload bytes of each probe message (the echo is as long).
    pub size: u32,
}

impl TrialSpec {
    /// Whether the client side sends data in the measured phase.
    pub fn client_sends(&self) -> bool {
        match self.test {
            TestKind::Bw => !self.reverse,
            TestKind::Bibw | TestKind::Lat => true,
        }
    }

    /// Whether the server side sends data in the measured phase.
    pub fn server_sends(&self) -> bool {
        match self.test {
            TestKind::Bw => self.reverse,
            TestKind::Bibw | TestKind::Lat => true,
        }
    }
}

/// The user's request, before expansion into trials.
#[derive(Debug, Clone, PartialEq)]
pub struct TestPlan {
    pub transport: TransportKind,
    pub test: TestKind,
    pub sizes: Vec<u64>,
    pub streams: u32,
    pub stop: StopCondition,
    pub warmup_s: f64,
    pub interval_s: f64,
    pub repeat: u32,
    pub reverse: bool,
    pub zerocopy: bool,
    pub busy_poll: bool,
    pub recv_mode: RecvMode,
    pub server_cpus: Option<Vec<usize>>,
    pub rdma: Option<RdmaSettings>,
    /// A soak: sample the link at every interval on both sides ([`TrialSpec::link_samples`]).
    pub link_samples: bool,
    /// The latency probe beside the traffic ([`TrialSpec::probe`]).
    pub probe: Option<ProbeSpec>,
}

/// The most trials one run may plan (message sizes x `--repeat`). Every trial is a control-session round
/// trip, at least one measured phase and a result in the report (2-10 KiB each), so 10,000 is days of
/// testing and a report linkbench-compare still reads (`report::MAX_REPORT_BYTES`); the command
/// line refuses more before anything is allocated.
pub const MAX_TRIALS: u64 = 10_000;

impl TestPlan {
    /// How many trials the plan expands into, without expanding it.
    pub fn trial_count(&self) -> u64 {
        (self.sizes.len() as u64).saturating_mul(u64::from(self.repeat))
    }

    /// Every trial, size by size, made one at a time; the repeats of one size run back to back.
    pub fn iter_trials(&self) -> impl Iterator<Item = TrialSpec> + '_ {
        self.sizes.iter().flat_map(move |&message_size| {
            (0..self.repeat).map(move |trial| TrialSpec {
                transport: self.transport,
                test: self.test,
                message_size,
                streams: self.streams,
                stop: self.stop,
                warmup_s: self.warmup_s,
                interval_s: self.interval_s,
                reverse: self.reverse,
                zerocopy: self.zerocopy,
                busy_poll: self.busy_poll,
                recv_mode: self.recv_mode,
                server_cpus: self.server_cpus.clone(),
                trial,
                rdma: self.rdma.clone(),
                link_samples: self.link_samples,
                probe: self.probe,
            })
        })
    }

    /// Every trial, size by size, in a vector. Nothing is reserved ahead, so a plan built around the
    /// command line's [`MAX_TRIALS`] check grows it only as far as it really goes; prefer
    /// [`TestPlan::iter_trials`] and [`TestPlan::trial_count`].
    pub fn trials(&self) -> Vec<TrialSpec> {
        self.iter_trials().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan() -> TestPlan {
        TestPlan {
            transport: TransportKind::Tcp,
            test: TestKind::Bw,
            sizes: vec![2, 4],
            streams: 2,
            stop: StopCondition::Duration { seconds: 1.0 },
            warmup_s: 0.5,
            interval_s: 1.0,
            repeat: 3,
            reverse: true,
            zerocopy: false,
            busy_poll: false,
            recv_mode: Default::default(),
            server_cpus: Some(vec![1]),
            rdma: None,
            link_samples: false,
            probe: None,
        }
    }

    #[test]
    fn trials_expand_sizes_then_repeats() {
        let trials = plan().trials();
        let got: Vec<(u64, u32)> = trials.iter().map(|t| (t.message_size, t.trial)).collect();
        assert_eq!(got, vec![(2, 0), (2, 1), (2, 2), (4, 0), (4, 1), (4, 2)]);
        assert!(trials.iter().all(|t| t.reverse && t.streams == 2));
    }

    #[test]
    fn a_huge_plan_is_counted_without_being_expanded() {
        let mut p = plan();
        p.repeat = u32::MAX;
        p.sizes = (1..=26).map(|i| 1 << i).collect();
        assert_eq!(p.trial_count(), 26 * u64::from(u32::MAX));
        let first: Vec<u32> = p.iter_trials().take(3).map(|t| t.trial).collect();
        assert_eq!(first, vec![0, 1, 2]);
    }

    #[test]
    fn direction_follows_test_and_reverse() {
        let mut t = plan().trials().remove(0);
        assert!(t.server_sends() && !t.client_sends());
        t.reverse = false;
        assert!(t.client_sends() && !t.server_sends());
        t.test = TestKind::Bibw;
        assert!(t.client_sends() && t.server_sends());
    }
}
