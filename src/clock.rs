//! The clock every figure is timed with (`std::time::Instant`, CLOCK_MONOTONIC through the vDSO) and its
//! own cost, measured once per run and recorded in the report so a reader can judge small latencies.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::time::Instant;

/// The clock used for timing and what it costs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ClockFacts {
    /// The clock read for every timestamp.
    pub clock: String,
    /// The kernel's clocksource (`tsc`, `kvm-clock`, `hpet`, ...); `hpet` or `acpi_pm` make every read a
    /// slow syscall.
    pub clocksource: Option<String>,
    /// Whether the CPU flags say the TSC is invariant (`constant_tsc` and `nonstop_tsc`).
    pub tsc_invariant: Option<bool>,
    /// Median cost of one clock read, in nanoseconds.
    pub read_cost_ns: f64,
    /// Smallest non-zero difference seen between consecutive reads, in nanoseconds.
    pub resolution_ns: u64,
}

/// Measures the clock's cost: 7 batches of 20,000 reads, the median batch.
pub fn measure(root: &Path) -> ClockFacts {
    let mut batches = Vec::with_capacity(7);
    let mut resolution = u64::MAX;
    for _ in 0..7 {
        let start = Instant::now();
        let mut previous = start;
        for _ in 0..20_000 {
            let now = Instant::now();
            let step = now.duration_since(previous).as_nanos() as u64;
            if step > 0 && step < resolution {
                resolution = step;
            }
            previous = now;
        }
        batches.push(start.elapsed().as_nanos() as f64 / 20_000.0);
    }
    batches.sort_by(|a, b| a.total_cmp(b));
    let cpuinfo = std::fs::read_to_string(root.join("proc/cpuinfo")).ok();
    let tsc_invariant = cpuinfo.map(|text| {
        let flags = text.lines().find(|l| l.starts_with("flags")).unwrap_or("");
        let has = |f: &str| flags.split_whitespace().any(|w| w == f);
        has("constant_tsc") && has("nonstop_tsc")
    });
    ClockFacts {
        clock: "CLOCK_MONOTONIC (std::time::Instant)".to_string(),
        clocksource: crate::sysfs::read_trimmed(
            &root.join("sys/devices/system/clocksource/clocksource0/current_clocksource"),
        ),
        tsc_invariant,
        read_cost_ns: batches[batches.len() / 2],
        resolution_ns: if resolution == u64::MAX {
            0
        } else {
            resolution
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clock_cost_is_measured_and_fixture_facts_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let cs = dir
            .path()
            .join("sys/devices/system/clocksource/clocksource0");
        std::fs::create_dir_all(&cs).unwrap();
        std::fs::write(cs.join("current_clocksource"), "hpet\n").unwrap();
        std::fs::create_dir_all(dir.path().join("proc")).unwrap();
        std::fs::write(
            dir.path().join("proc/cpuinfo"),
            "flags\t: fpu constant_tsc\n",
        )
        .unwrap();
        let facts = measure(dir.path());
        assert_eq!(facts.clocksource.as_deref(), Some("hpet"));
        assert_eq!(facts.tsc_invariant, Some(false));
        assert!(facts.read_cost_ns > 0.0);
    }
}
