//! What the server measured and did in one trial, as it sends it to the client (the client merges it
//! with its own figures into the report's result).

use crate::model::{CpuChoice, DirectionFigures, ReceiveStats, SideCpuSample, ZeroCopyStats};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// What one side measured and did in one trial.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
pub struct SideReport {
    /// CPUs the side's data threads were pinned to.
    pub cpus: Option<CpuChoice>,
    /// Whether every data thread was pinned where it was asked to run.
    pub all_pinned: bool,
    /// What this side received in the measured phase (bandwidth tests).
    pub received: Option<DirectionFigures>,
    /// Messages and bytes this side sent in the measured phase, and warm-up messages before it.
    pub sent_messages: u64,
    pub sent_bytes: u64,
    pub warmup_messages_sent: u64,
    /// Messages echoed (latency tests, server side).
    pub echoed: u64,
    pub zerocopy: Option<ZeroCopyStats>,
    /// One line per data thread that failed.
    pub errors: Vec<String>,
    /// The server's interface during the trial (counters before and after, module monitors).
    #[serde(default)]
    pub link: Option<crate::diag::link::LinkReport>,
    /// RDMA bandwidth: what this side posted in the measured phase, timed from the first post to the
    /// last completion (the direction is where the data went).
    #[serde(default)]
    pub posted: Option<DirectionFigures>,
    /// RDMA send: messages and bytes this side received, warm-up included.
    #[serde(default)]
    pub rdma_received_messages: u64,
    #[serde(default)]
    pub rdma_received_bytes: u64,
    /// RDMA work requests this side completed in the warm-up.
    #[serde(default)]
    pub rdma_warmup_ops: u64,
    /// What this side's data threads cost (null from servers before report 1.4.0).
    #[serde(default)]
    pub cpu: Option<SideCpuSample>,
    /// TCP bandwidth receiver: how the bytes came off the sockets, in the trial's receive mode.
    #[serde(default)]
    pub receive: Option<ReceiveStats>,
    /// The latency probe's round trips this side answered (null without a probe, and from servers
    /// before report 1.6.0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probe_echoed: Option<u64>,
    /// Other sessions' trials that ran on the server beside this one (null when it ran alone, and from
    /// servers before report 1.7.0, which serve one session at a time).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sharing: Option<crate::model::ServerSharing>,
}
