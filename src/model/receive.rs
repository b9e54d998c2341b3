//! How a TCP bandwidth receiver took the payload off the socket, and what each way cost in bytes.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use crate::plan::RecvMode;

/// What a receiving stream's chosen mode did with the bytes (warm-up included).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ReceiveStats {
    /// Bytes copied into a user buffer by recv().
    pub bytes_copied: u64,
    /// Bytes dropped in the kernel by recv(MSG_TRUNC).
    pub bytes_discarded: u64,
    /// Bytes mapped into user space by TCP_ZEROCOPY_RECEIVE.
    pub bytes_mapped: u64,
}

impl ReceiveStats {
    /// Adds another stream's figures.
    pub fn add(&mut self, other: &ReceiveStats) {
        self.bytes_copied = self.bytes_copied.saturating_add(other.bytes_copied);
        self.bytes_discarded = self.bytes_discarded.saturating_add(other.bytes_discarded);
        self.bytes_mapped = self.bytes_mapped.saturating_add(other.bytes_mapped);
    }
}

/// The receive mode in a report's result: which ran, what it means, and how the bytes came.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ReceiveReport {
    pub mode: RecvMode,
    pub meaning: String,
    /// Summed over every receiving stream of both sides, warm-up included.
    pub stats: ReceiveStats,
}
