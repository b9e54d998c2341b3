//! Which CPUs the data threads run on, and pinning them there. By default a side uses the CPUs local to the
//! NIC that carries the route to its peer (`/sys/class/net/IF/device/local_cpulist`); where there is no
//! such NIC (loopback, virtual devices) it spreads threads over the CPUs it may use, the client from the
//! lowest CPU up and the server from the highest down, so that a loopback pair does not share cores.

use thiserror::Error;

/// A requested CPU cannot be used.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum PinningError {
    #[error("CPU {cpu} is not available to this process (usable CPUs: {usable}); pick CPUs from that list")]
    Unavailable { cpu: usize, usable: String },
    #[error("no CPUs are usable by this process")]
    NoCpus,
}

pub use crate::diag::host::usable_cpus;
pub use crate::model::{CpuChoice, CpuSource};

/// Chooses CPUs for `threads` data threads. `from_top` spreads from the highest CPU down (the server).
/// CPUs in `busy` (other sessions' trials on this server) come after the others, so concurrent trials
/// share a CPU only when there are not enough for all; a requested list is taken as it is.
pub fn choose_cpus(
    requested: Option<&[usize]>,
    nic_local: Option<&[usize]>,
    usable: &[usize],
    threads: usize,
    from_top: bool,
    busy: &[usize],
) -> Result<CpuChoice, PinningError> {
    if usable.is_empty() {
        return Err(PinningError::NoCpus);
    }
    if let Some(requested) = requested {
        if let Some(&cpu) = requested.iter().find(|c| !usable.contains(c)) {
            return Err(PinningError::Unavailable {
                cpu,
                usable: format_cpu_list(usable),
            });
        }
        return Ok(CpuChoice {
            cpus: requested.to_vec(),
            source: CpuSource::Requested,
        });
    }
    if let Some(local) = nic_local {
        let local: Vec<usize> = local
            .iter()
            .copied()
            .filter(|c| usable.contains(c))
            .collect();
        if !local.is_empty() {
            return Ok(CpuChoice {
                cpus: ordered(&local, threads, from_top, busy),
                source: CpuSource::NicLocal,
            });
        }
    }
    Ok(CpuChoice {
        cpus: ordered(usable, threads, from_top, busy),
        source: CpuSource::Spread,
    })
}

fn ordered(cpus: &[usize], threads: usize, from_top: bool, busy: &[usize]) -> Vec<usize> {
    let mut list: Vec<usize> = cpus.to_vec();
    if from_top {
        list.reverse();
    }
    // A stable sort: free CPUs first, each group in the spreading order.
    list.sort_by_key(|c| busy.contains(c));
    list.truncate(threads.max(1));
    list
}

/// Pins the calling thread; returns whether the kernel accepted it.
pub fn pin_current_thread(cpu: usize) -> bool {
    core_affinity::set_for_current(core_affinity::CoreId { id: cpu })
}

/// `0-3,8` style text for a CPU list.
pub fn format_cpu_list(cpus: &[usize]) -> String {
    let mut sorted = cpus.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let mut parts = Vec::new();
    let mut i = 0;
    while i < sorted.len() {
        let start = sorted[i];
        let mut end = start;
        while i + 1 < sorted.len() && sorted[i + 1] == end + 1 {
            i += 1;
            end = sorted[i];
        }
        parts.push(if start == end {
            start.to_string()
        } else {
            format!("{start}-{end}")
        });
        i += 1;
    }
    parts.join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requested_cpus_must_be_usable() {
        let usable = [0, 1, 2, 3];
        let c = choose_cpus(Some(&[2]), None, &usable, 4, false, &[]).unwrap();
        assert_eq!((c.cpus, c.source), (vec![2], CpuSource::Requested));
        assert_eq!(
            choose_cpus(Some(&[9]), None, &usable, 1, false, &[]),
            Err(PinningError::Unavailable {
                cpu: 9,
                usable: "0-3".into()
            })
        );
    }

    #[test]
    fn cpus_other_trials_use_come_last_and_requested_ones_are_kept() {
        let usable = [0, 1, 2, 3];
        let server = choose_cpus(None, None, &usable, 2, true, &[3]).unwrap();
        assert_eq!(server.cpus, vec![2, 1]);
        let all_busy = choose_cpus(None, None, &usable, 2, true, &[0, 1, 2, 3]).unwrap();
        assert_eq!(all_busy.cpus, vec![3, 2], "shared only when all are taken");
        let local = choose_cpus(None, Some(&[2, 3]), &usable, 2, true, &[3]).unwrap();
        assert_eq!(local.cpus, vec![2, 3]);
        let asked = choose_cpus(Some(&[3]), None, &usable, 1, true, &[3]).unwrap();
        assert_eq!(asked.cpus, vec![3]);
    }

    #[test]
    fn nic_local_cpus_win_over_spreading() {
        let c = choose_cpus(None, Some(&[2, 3, 7]), &[0, 1, 2, 3], 4, false, &[]).unwrap();
        assert_eq!((c.cpus, c.source), (vec![2, 3], CpuSource::NicLocal));
    }

    #[test]
    fn client_spreads_up_and_server_spreads_down() {
        let usable = [0, 1, 2, 3];
        assert_eq!(
            choose_cpus(None, None, &usable, 2, false, &[])
                .unwrap()
                .cpus,
            vec![0, 1]
        );
        assert_eq!(
            choose_cpus(None, None, &usable, 2, true, &[]).unwrap().cpus,
            vec![3, 2]
        );
        let c = choose_cpus(None, None, &[0, 1], 3, true, &[]).unwrap();
        assert_eq!([c.cpu_for(0), c.cpu_for(1), c.cpu_for(2)], [1, 0, 1]);
    }

    #[test]
    fn cpu_lists_format_as_ranges() {
        assert_eq!(format_cpu_list(&[0, 1, 2, 3, 8, 10, 11]), "0-3,8,10-11");
        assert_eq!(format_cpu_list(&[]), "");
    }
}
