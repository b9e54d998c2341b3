//! Live progress shared between a data thread and its side's control thread, which samples it once per
//! interval for the on-screen lines. The data thread only stores its own running totals (no locked
//! read-modify-write); each stream's counters sit on their own cache lines.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// Running totals of one stream's measured phase.
#[derive(Debug, Default)]
#[repr(align(128))]
pub struct Progress {
    measuring: AtomicBool,
    bytes: AtomicU64,
    messages: AtomicU64,
    latency_sum_ns: AtomicU64,
}

/// A sample of every stream's totals.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProgressSample {
    pub streams_measuring: usize,
    pub bytes: u64,
    pub messages: u64,
    pub latency_sum_ns: u64,
}

impl Progress {
    /// Marks the start of the measured phase.
    pub fn start_measuring(&self) {
        self.measuring.store(true, Ordering::Relaxed);
    }

    /// Publishes the stream's running totals.
    #[inline]
    pub fn publish(&self, bytes: u64, messages: u64, latency_sum_ns: u64) {
        self.bytes.store(bytes, Ordering::Relaxed);
        self.messages.store(messages, Ordering::Relaxed);
        self.latency_sum_ns.store(latency_sum_ns, Ordering::Relaxed);
    }

    /// Sums the totals of several streams.
    pub fn sample(all: &[Progress]) -> ProgressSample {
        all.iter().fold(ProgressSample::default(), |mut s, p| {
            s.streams_measuring += usize::from(p.measuring.load(Ordering::Relaxed));
            s.bytes += p.bytes.load(Ordering::Relaxed);
            s.messages += p.messages.load(Ordering::Relaxed);
            s.latency_sum_ns += p.latency_sum_ns.load(Ordering::Relaxed);
            s
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_sum_streams() {
        let all: Vec<Progress> = (0..3).map(|_| Progress::default()).collect();
        all[0].start_measuring();
        all[0].publish(10, 1, 5);
        all[2].publish(30, 3, 0);
        let s = Progress::sample(&all);
        assert_eq!(
            s,
            ProgressSample {
                streams_measuring: 1,
                bytes: 40,
                messages: 4,
                latency_sum_ns: 5
            }
        );
    }
}
