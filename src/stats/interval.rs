//! Per-interval figures (`--interval`): bytes and messages counted in fixed slices of the measured phase,
//! so a report shows how steady a link was, not just its average.

use crate::stats::LatencySummary;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// One slice of the measured phase, summed over all streams of a trial.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct IntervalFigures {
    /// Seconds from the start of the measured phase to the start of this slice.
    pub start_s: f64,
    /// Seconds from the start of the measured phase to the end of this slice (the last slice may be short).
    pub end_s: f64,
    /// Payload bytes received in the slice (bandwidth tests; 0 for latency).
    pub bytes: u64,
    /// Whole messages received in the slice, or round trips completed (latency).
    pub messages: u64,
    /// 10^9-based bits of payload per second over the slice.
    pub bits_per_second: f64,
    pub messages_per_second: f64,
    /// Round-trip latency of the samples completed in this slice (latency tests).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub latency_round_trip_ns: Option<LatencySummary>,
}

/// Counts bytes and messages into interval slots. Slots are allocated ahead for the expected length; the
/// hot path only indexes and adds.
#[derive(Debug, Clone)]
pub struct IntervalCounter {
    interval_ns: u64,
    bytes: Vec<u64>,
    messages: Vec<u64>,
}

impl IntervalCounter {
    /// A counter for slices of `interval_ns`, with room for `expected_slots` before it needs to grow.
    pub fn new(interval_ns: u64, expected_slots: usize) -> Self {
        let interval_ns = interval_ns.max(1);
        IntervalCounter {
            interval_ns,
            bytes: Vec::with_capacity(expected_slots + 2),
            messages: Vec::with_capacity(expected_slots + 2),
        }
    }

    /// Slot index for a time offset from the start of the measured phase.
    #[inline]
    pub fn slot(&self, offset_ns: u64) -> usize {
        (offset_ns / self.interval_ns) as usize
    }

    /// Adds to the slot that holds `offset_ns`.
    #[inline]
    pub fn add(&mut self, offset_ns: u64, bytes: u64, messages: u64) {
        let slot = self.slot(offset_ns);
        if slot >= self.bytes.len() {
            self.bytes.resize(slot + 1, 0);
            self.messages.resize(slot + 1, 0);
        }
        self.bytes[slot] += bytes;
        self.messages[slot] += messages;
    }

    /// (bytes, messages) of one slot, zero when nothing was counted there.
    pub fn get(&self, slot: usize) -> (u64, u64) {
        (
            self.bytes.get(slot).copied().unwrap_or(0),
            self.messages.get(slot).copied().unwrap_or(0),
        )
    }

    /// Number of slots touched so far.
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Whether nothing was counted.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    pub fn interval_ns(&self) -> u64 {
        self.interval_ns
    }
}

/// Builds report figures from per-stream counters whose measured phases all last `measured_ns`.
pub fn figures_from_counters(
    counters: &[IntervalCounter],
    measured_ns: u64,
) -> Vec<IntervalFigures> {
    let Some(interval_ns) = counters.first().map(|c| c.interval_ns()) else {
        return Vec::new();
    };
    let slots = counters.iter().map(|c| c.len()).max().unwrap_or(0);
    (0..slots)
        .map(|slot| {
            let (bytes, messages) = counters.iter().fold((0, 0), |(b, m), c| {
                let (cb, cm) = c.get(slot);
                (b + cb, m + cm)
            });
            let start_ns = slot as u64 * interval_ns;
            let end_ns = ((slot as u64 + 1) * interval_ns).min(measured_ns.max(start_ns + 1));
            let seconds = (end_ns - start_ns) as f64 / 1e9;
            IntervalFigures {
                start_s: start_ns as f64 / 1e9,
                end_s: end_ns as f64 / 1e9,
                bytes,
                messages,
                bits_per_second: bytes as f64 * 8.0 / seconds,
                messages_per_second: messages as f64 / seconds,
                latency_round_trip_ns: None,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_land_in_their_slices_and_sum_over_streams() {
        let mut a = IntervalCounter::new(1_000_000_000, 2);
        let mut b = IntervalCounter::new(1_000_000_000, 2);
        a.add(100, 1000, 1);
        a.add(999_999_999, 1000, 1);
        a.add(1_000_000_000, 500, 1);
        b.add(1_500_000_000, 500, 1);
        let f = figures_from_counters(&[a, b], 1_500_000_000);
        assert_eq!(f.len(), 2);
        assert_eq!((f[0].bytes, f[0].messages), (2000, 2));
        assert_eq!((f[1].bytes, f[1].messages), (1000, 2));
        assert_eq!(f[0].bits_per_second, 16000.0);
        // the last slice is half a second long
        assert!((f[1].end_s - 1.5).abs() < 1e-9);
        assert_eq!(f[1].bits_per_second, 16000.0);
    }

    #[test]
    fn no_counters_no_figures() {
        assert!(figures_from_counters(&[], 10).is_empty());
    }
}
