//! Host facts: name, kernel, OS, CPU model and count, NUMA nodes, CPU frequency governor.

use crate::diag::InterfaceFacts;
use crate::sysfs::read_trimmed;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Facts about one side's machine.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
pub struct HostFacts {
    pub hostname: Option<String>,
    /// Kernel release (`uname -r`).
    pub kernel: Option<String>,
    /// Operating system (`PRETTY_NAME` of os-release).
    pub os: Option<String>,
    pub cpu_model: Option<String>,
    /// CPUs online.
    pub logical_cpus: Option<usize>,
    /// CPUs this process may run on.
    pub usable_cpus: Vec<usize>,
    pub numa_nodes: Option<usize>,
    /// cpufreq governor of CPU 0 (`performance`, `powersave`, ...); null where cpufreq is absent (common
    /// in VMs), which means the hypervisor controls the frequency.
    pub cpu_governor: Option<String>,
    /// Whether turbo/boost is on (`cpufreq/boost`, or the inverse of `intel_pstate/no_turbo`); null where
    /// the kernel does not say.
    pub turbo_boost: Option<bool>,
    /// Physical cores (distinct core ids per package in `/proc/cpuinfo`).
    pub physical_cores: Option<usize>,
    /// The kernel clock source (`tsc`, `kvm-clock`, ...).
    pub clocksource: Option<String>,
    /// The interface that carries the route to the peer.
    pub interface: Option<InterfaceFacts>,
}

impl HostFacts {
    /// Reads the facts under `root` (normally `/`).
    pub fn collect(root: &Path) -> HostFacts {
        let read = |p: &str| read_trimmed(&root.join(p));
        let cpuinfo = std::fs::read_to_string(root.join("proc/cpuinfo")).unwrap_or_default();
        let cpu_model = cpuinfo
            .lines()
            .find(|l| l.starts_with("model name"))
            .and_then(|l| l.split_once(':'))
            .map(|(_, v)| v.trim().to_string());
        let logical_cpus = read("sys/devices/system/cpu/online")
            .and_then(|s| crate::units::parse_cpu_list(&s).ok())
            .map(|v| v.len());
        let numa_nodes = read("sys/devices/system/node/online")
            .and_then(|s| crate::units::parse_cpu_list(&s).ok())
            .map(|v| v.len());
        let os = std::fs::read_to_string(root.join("etc/os-release"))
            .ok()
            .and_then(|text| {
                text.lines()
                    .find_map(|l| l.strip_prefix("PRETTY_NAME="))
                    .map(|v| v.trim_matches('"').to_string())
            });
        HostFacts {
            hostname: read("proc/sys/kernel/hostname"),
            kernel: read("proc/sys/kernel/osrelease"),
            os,
            cpu_model,
            logical_cpus,
            usable_cpus: usable_cpus(),
            numa_nodes,
            cpu_governor: read("sys/devices/system/cpu/cpu0/cpufreq/scaling_governor"),
            turbo_boost: read("sys/devices/system/cpu/cpufreq/boost")
                .map(|v| v == "1")
                .or_else(|| read("sys/devices/system/cpu/intel_pstate/no_turbo").map(|v| v == "0")),
            physical_cores: physical_cores(&cpuinfo),
            clocksource: read("sys/devices/system/clocksource/clocksource0/current_clocksource"),
            interface: None,
        }
    }
}

/// CPUs this process may run on, ascending.
pub fn usable_cpus() -> Vec<usize> {
    let mut cpus: Vec<usize> = core_affinity::get_core_ids()
        .unwrap_or_default()
        .into_iter()
        .map(|c| c.id)
        .collect();
    cpus.sort_unstable();
    cpus
}

/// Distinct (physical id, core id) pairs; `None` when cpuinfo has no topology (some VMs, non-x86).
fn physical_cores(cpuinfo: &str) -> Option<usize> {
    let mut cores = std::collections::BTreeSet::new();
    for block in cpuinfo.split("\n\n") {
        let field = |key: &str| {
            block
                .lines()
                .find(|l| l.starts_with(key))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        };
        if let (Some(p), Some(c)) = (field("physical id"), field("core id")) {
            cores.insert((p, c));
        }
    }
    (!cores.is_empty()).then_some(cores.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn facts_come_from_the_root_tree() {
        let dir = tempfile::tempdir().unwrap();
        let put = |p: &str, text: &str| {
            let path = dir.path().join(p);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        };
        put("proc/sys/kernel/hostname", "rack1-node7\n");
        put("proc/sys/kernel/osrelease", "6.1.0-test\n");
        put(
            "etc/os-release",
            "NAME=x\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n",
        );
        put(
            "proc/cpuinfo",
            "processor\t: 0\nmodel name\t: Test CPU @ 3.0GHz\nphysical id\t: 0\ncore id\t: 0\n\n\
             processor\t: 1\nphysical id\t: 0\ncore id\t: 0\n\n\
             processor\t: 2\nphysical id\t: 0\ncore id\t: 1\n",
        );
        put("sys/devices/system/cpu/intel_pstate/no_turbo", "0\n");
        put(
            "sys/devices/system/clocksource/clocksource0/current_clocksource",
            "tsc\n",
        );
        put("sys/devices/system/cpu/online", "0-15\n");
        put("sys/devices/system/node/online", "0-1\n");
        put(
            "sys/devices/system/cpu/cpu0/cpufreq/scaling_governor",
            "powersave\n",
        );
        let f = HostFacts::collect(dir.path());
        assert_eq!(f.hostname.as_deref(), Some("rack1-node7"));
        assert_eq!(f.kernel.as_deref(), Some("6.1.0-test"));
        assert_eq!(f.os.as_deref(), Some("Debian GNU/Linux 12 (bookworm)"));
        assert_eq!(f.cpu_model.as_deref(), Some("Test CPU @ 3.0GHz"));
        assert_eq!(f.logical_cpus, Some(16));
        assert_eq!(f.numa_nodes, Some(2));
        assert_eq!(f.cpu_governor.as_deref(), Some("powersave"));
        assert_eq!(f.turbo_boost, Some(true));
        assert_eq!(f.physical_cores, Some(2));
        assert_eq!(f.clocksource.as_deref(), Some("tsc"));
    }

    #[test]
    fn an_empty_root_gives_unknowns_not_errors() {
        let dir = tempfile::tempdir().unwrap();
        let f = HostFacts::collect(dir.path());
        assert_eq!(f.hostname, None);
        assert_eq!(f.cpu_governor, None);
    }
}
