//! What zero-copy sends did on one stream, as both sides report it.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// What happened to zero-copy sends on one stream: whether the kernel really avoided the copy.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ZeroCopyStats {
    /// send() calls made with MSG_ZEROCOPY.
    pub sends: u64,
    /// Sends whose completion notification arrived.
    pub completed: u64,
    /// Completed sends for which the kernel reported it copied the data anyway
    /// (SO_EE_CODE_ZEROCOPY_COPIED: always the case on loopback).
    pub copied: u64,
    /// Times the socket's pinned-memory budget was full (ENOBUFS) and the sender waited for completions.
    pub enobufs_waits: u64,
}

impl ZeroCopyStats {
    /// Adds another stream's figures.
    pub fn add(&mut self, other: &ZeroCopyStats) {
        self.sends = self.sends.saturating_add(other.sends);
        self.completed = self.completed.saturating_add(other.completed);
        self.copied = self.copied.saturating_add(other.copied);
        self.enobufs_waits = self.enobufs_waits.saturating_add(other.enobufs_waits);
    }
}
