//! Whether a trial's CPU cost was measured on a host that was busy with other work: the host's
//! utilization (from `/proc/stat`, everything that ran) less the CPU this trial's own data threads on
//! that host spent. Other load makes CPU cost per unit of work wander far beyond its trials' spread
//! (caches, frequency, scheduling and the kernel's batching all change), so a CPU-cost verdict between
//! runs where either host was busy would judge the neighbours, not the link.
//!
//! Measured (2026-12-03, the 1 Gbit/s tbf link of `tests/compare.rs`, 0.3 s trials, 5 a run, client and
//! server on one 2-CPU host): quiet, the other load was -0.05..0.11 cores and no pair of 8 runs had a
//! CPU interval's near end past +11.3%; with a second shaped link and `yes` beside it, 1.0-1.2 cores, and
//! the near end reached +47.3% over 12 runs (`linkbench-compare` with `--threshold cpu=0`, every ordered
//! pair). The limit sits between the two.

use crate::model::{Report, SideCpu, TestResult};

/// Other load, as a share of the host's CPUs, above which a host counts as busy.
pub const OTHER_LOAD_LIMIT: f64 = 0.10;

/// Cores the host spent outside this trial's data threads on it, during one side's window.
fn other_cores(side: &SideCpu, peer_on_same_host: Option<&SideCpu>) -> Option<f64> {
    let host = side.host?;
    let own = side.cores_busy? + peer_on_same_host.map_or(Some(0.0), |p| p.cores_busy)?;
    Some(host.utilization_percent / 100.0 * f64::from(host.cpus) - own)
}

/// The reason the trial's CPU cost is not judged (a side's host was busy), or `None` when every side
/// with figures was quiet enough. Client and server count as one host when their host names agree.
pub fn busy_host(report: &Report, result: &TestResult) -> Option<String> {
    let cpu = result.cpu.as_ref()?;
    let same_host = report
        .server
        .as_ref()
        .is_some_and(|s| s.hostname == report.client.hostname);
    let sides = [
        ("client", cpu.client.as_ref(), cpu.server.as_ref()),
        ("server", cpu.server.as_ref(), cpu.client.as_ref()),
    ];
    for (name, side, peer) in sides {
        let Some(side) = side else { continue };
        let peer = if same_host { peer } else { None };
        let (Some(other), Some(host)) = (other_cores(side, peer), side.host) else {
            continue;
        };
        if other > OTHER_LOAD_LIMIT * f64::from(host.cpus) {
            return Some(format!(
                "trial {}: the {name}'s host had {other:.2} of {} CPUs busy outside this trial's data threads",
                result.trial, host.cpus
            ));
        }
    }
    None
}
