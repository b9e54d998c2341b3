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

/// Other sessions' trials that ran on the server while this trial did (`linkbench-server
/// --max-sessions` above 1): the figures are this trial's share of the server and its links, not what the
/// path gives one client alone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ServerSharing {
    /// Other trials (each from another session) that overlapped this one in time, at any moment.
    pub other_trials: u32,
    /// The most other trials that ran at once during this one.
    pub most_at_once: u32,
    /// This trial's server CPUs that another running trial's threads were pinned to as well.
    pub cpus_shared: Vec<usize>,
    /// The above in one sentence.
    pub summary: String,
}

impl ServerSharing {
    /// The figures, with their sentence.
    pub fn new(other_trials: u32, most_at_once: u32, cpus_shared: Vec<usize>) -> ServerSharing {
        let cpus = if cpus_shared.is_empty() {
            "no CPU of this trial's".to_string()
        } else {
            let list: Vec<String> = cpus_shared.iter().map(usize::to_string).collect();
            format!("CPU {}", list.join(", "))
        };
        let summary = format!(
            "the server ran {other_trials} other session's trial(s) beside this one ({most_at_once} at \
             most at once), sharing {cpus} with their threads: these figures are this trial's share"
        );
        ServerSharing {
            other_trials,
            most_at_once,
            cpus_shared,
            summary,
        }
    }
}
