//! Where a side's data threads ran: the CPUs chosen and why.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Where the CPU list came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CpuSource {
    /// Given on the command line (`--cpu` / `--server-cpu`).
    Requested,
    /// CPUs local to the NIC that carries the route to the peer.
    NicLocal,
    /// Spread over every usable CPU (no NIC-local list was found).
    Spread,
}

/// The CPUs chosen for a side's data threads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CpuChoice {
    /// Thread i runs on `cpus[i % cpus.len()]`.
    pub cpus: Vec<usize>,
    pub source: CpuSource,
}

impl CpuChoice {
    /// The CPU for data thread `index`.
    pub fn cpu_for(&self, index: usize) -> usize {
        self.cpus[index % self.cpus.len()]
    }
}
