//! The messages of the control protocol, as serde types (JSON objects tagged by `"type"`).

use crate::clock::ClockFacts;
use crate::control::limits::ServerLimits;
use crate::diag::HostFacts;
use crate::model::{CpuChoice, RdmaOffer, SideReport};
use crate::plan::TrialSpec;
use serde::{Deserialize, Serialize};

/// Client to server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientMessage {
    Hello {
        protocol_version: u32,
        tool_version: String,
        /// Random hex nonce for the pre-shared-key challenge ([`crate::control::auth`]).
        #[serde(default)]
        client_nonce: Option<String>,
    },
    /// The answer to a challenge: the client's HMAC proof, hex.
    Auth {
        proof: String,
    },
    Setup {
        spec: TrialSpec,
        /// RDMA trials: the client's queue pairs (in INIT) and port.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        rdma: Option<Box<RdmaOffer>>,
    },
    Start,
    /// End the running trial now (Ctrl-C on the client); both sides report what they measured.
    Stop,
    Bye,
}

/// Why the server said no.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefusalReason {
    /// Another client's session is running (one test at a time, like iperf3).
    Busy,
    /// The client speaks another protocol version.
    ProtocolVersion,
    /// A requested size, count or duration is over a server limit or invalid.
    Limit,
    /// A requested server CPU cannot be used.
    Cpu,
    /// A message arrived that the current state does not accept.
    Protocol,
    /// Pre-shared-key authentication failed or was missing.
    Auth,
    /// The client's address is not in the server's `--allow` list.
    NotAllowed,
}

/// Server to client.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMessage {
    Welcome {
        protocol_version: u32,
        tool_version: String,
        host: Box<HostFacts>,
        clock: ClockFacts,
        limits: ServerLimits,
        /// The server's HMAC proof when a pre-shared key is in use, hex.
        #[serde(default)]
        server_proof: Option<String>,
    },
    /// The server requires a pre-shared key: prove you hold it.
    Challenge {
        server_nonce: String,
    },
    Refused {
        reason: RefusalReason,
        message: String,
    },
    Ready {
        cookie: String,
        cpus: CpuChoice,
        /// RDMA trials: the server's queue pairs (already connected to the client's) and port.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        rdma: Option<Box<RdmaOffer>>,
    },
    /// A live sample of what the server's measuring threads have counted so far.
    Interval {
        /// Seconds since the server's data threads started (warm-up included).
        elapsed_s: f64,
        /// Whether the measured phase had started on every measuring stream.
        measuring: bool,
        bytes: u64,
        messages: u64,
        /// A soak (`link_samples` in the spec): the server's link sampled at this interval's end.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        link: Option<Box<crate::diag::sampler::LinkSample>>,
    },
    TrialResult {
        report: Box<SideReport>,
    },
    /// The trial failed on the server before it could run.
    Error {
        message: String,
    },
}
