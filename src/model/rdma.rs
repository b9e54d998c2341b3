//! What each side says about its RDMA port and queue pairs: the endpoints the peer connects to (they
//! travel in the setup and ready messages) and the port facts the report keeps.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// What the peer needs to reach one queue pair and its registered buffer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct QpEndpoint {
    pub qpn: u32,
    pub psn: u32,
    /// Port LID (InfiniBand addressing; 0 on RoCE).
    pub lid: u16,
    /// GID in IPv6 notation (RoCE addressing).
    pub gid: String,
    pub rkey: u32,
    /// Virtual address of the registered buffer.
    pub addr: u64,
    /// Length of the registered buffer in bytes.
    pub len: u64,
}

/// The RDMA device and port a side used, for the report.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
pub struct RdmaPortFacts {
    /// Device name (mlx5_0, rxe0).
    pub device: String,
    pub port: u8,
    /// How the device was chosen: `--device`, `netdev of the local address`, `route`, `only device`.
    pub selected_by: String,
    pub firmware: Option<String>,
    /// The Ethernet netdev under the port (RoCE).
    pub netdev: Option<String>,
    /// Logical port state (ACTIVE).
    pub state: Option<String>,
    /// `InfiniBand` or `Ethernet`.
    pub link_layer: Option<String>,
    /// Port rate as sysfs gives it (e.g. "100 Gb/sec (4X EDR)").
    pub rate: Option<String>,
    pub width: Option<u32>,
    /// Active MTU of the port in bytes.
    pub active_mtu: u32,
    /// Path MTU the queue pairs use, in bytes.
    pub path_mtu: u32,
    /// `gid` (RoCE: GRH with the GID below) or `lid` (InfiniBand without GRH).
    pub addressing: String,
    pub gid_index: Option<u32>,
    pub gid: Option<String>,
    /// GID type from sysfs (`RoCE v2`, `IB/RoCE v1`).
    pub gid_type: Option<String>,
    pub lid: u16,
    /// Queue pair numbers, one per stream, then the latency probe's (`--probe-rate`) last.
    pub qpns: Vec<u32>,
}

/// One side's half of the RDMA connection exchange.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RdmaOffer {
    pub endpoints: Vec<QpEndpoint>,
    pub port: RdmaPortFacts,
}
