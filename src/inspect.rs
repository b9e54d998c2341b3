//! `linkbench-inspect`: the inventory of a host (every network interface with its facts, module and
//! counters; every RDMA device), one interface, or a raw module EEPROM dump, as JSON or a table. Each
//! part that could not be read says why instead of disappearing.

use crate::diag::counters::CounterSnapshot;
use crate::diag::link::{read_module, LinkFacts};
use crate::diag::module::ModuleInfo;
use crate::diag::rdma::{self, RdmaDevice};
use crate::diag::HostFacts;
use serde::Serialize;
use std::fmt::Write as _;
use std::path::Path;

/// One interface as inspected now.
#[derive(Debug, Clone, Serialize)]
pub struct InterfaceInventory {
    #[serde(flatten)]
    pub facts: LinkFacts,
    pub module: Option<ModuleInfo>,
    pub module_unavailable: Option<String>,
    pub counters: CounterSnapshot,
}

/// The whole host.
#[derive(Debug, Clone, Serialize)]
pub struct Inventory {
    pub host: HostFacts,
    pub interfaces: Vec<InterfaceInventory>,
    pub rdma_devices: Vec<RdmaDevice>,
    /// Host-wide things that could not be read, and why.
    pub unavailable: Vec<String>,
}

/// Why an inspection could not be done.
#[derive(Debug, thiserror::Error)]
pub enum InspectError {
    #[error("no interface named '{0}' (see `ip link`)")]
    NoSuchInterface(String),
    #[error("cannot list {0}: {1}")]
    Sysfs(String, std::io::Error),
}

/// Names of every network interface under `root`, sorted.
pub fn interface_names(root: &Path) -> Result<Vec<String>, InspectError> {
    let dir = root.join("sys/class/net");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .map_err(|e| InspectError::Sysfs(dir.display().to_string(), e))?
        .flatten()
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|n| n != "bonding_masters")
        .collect();
    names.sort();
    Ok(names)
}

/// Inspects one interface.
pub fn interface(root: &Path, name: &str) -> Result<InterfaceInventory, InspectError> {
    if !root.join("sys/class/net").join(name).exists() {
        return Err(InspectError::NoSuchInterface(name.to_string()));
    }
    let live = root == Path::new("/");
    let facts = LinkFacts::read(root, name, live);
    let (module, module_unavailable) = match read_module(root, name, live) {
        Ok(m) => (Some(m), None),
        Err(why) => (None, Some(why)),
    };
    let ib = facts.ib_port.as_ref().map(|p| p.path.clone());
    let counters = CounterSnapshot::read(root, name, ib.as_deref(), live);
    Ok(InterfaceInventory {
        facts,
        module,
        module_unavailable,
        counters,
    })
}

/// Inspects the whole host.
pub fn inventory(root: &Path) -> Result<Inventory, InspectError> {
    let interfaces = interface_names(root)?
        .iter()
        .map(|n| interface(root, n))
        .collect::<Result<Vec<_>, _>>()?;
    let rdma_devices = rdma::devices(root);
    let mut unavailable = Vec::new();
    if rdma_devices.is_empty() {
        unavailable.push(
            "rdma: no devices under /sys/class/infiniband (no RDMA NIC, or its kernel driver is not loaded)".into(),
        );
    }
    Ok(Inventory {
        host: HostFacts::collect(root),
        interfaces,
        rdma_devices,
        unavailable,
    })
}

fn opt<T: std::fmt::Display>(v: &Option<T>) -> String {
    v.as_ref().map_or("-".into(), |v| v.to_string())
}

/// A plain-text table of the inventory.
pub fn inventory_table(inv: &Inventory) -> String {
    let mut out = String::new();
    let h = &inv.host;
    let _ = writeln!(
        out,
        "host {}  kernel {}  cpu {} x{}  governor {}  boost {}  clocksource {}",
        opt(&h.hostname),
        opt(&h.kernel),
        opt(&h.cpu_model),
        opt(&h.logical_cpus),
        opt(&h.cpu_governor),
        opt(&h.turbo_boost),
        opt(&h.clocksource)
    );
    let _ = writeln!(
        out,
        "{:<16} {:>6} {:>8} {:<6} {:<12} {:<14} {:<13} {:<28}",
        "interface", "mtu", "speed", "state", "driver", "firmware", "pci", "module"
    );
    for i in &inv.interfaces {
        let f = &i.facts;
        let module = match &i.module {
            Some(m) => format!(
                "{} {} {:?}",
                m.identifier,
                m.part_number.as_deref().unwrap_or("?"),
                m.media
            )
            .to_lowercase(),
            None => "none".into(),
        };
        let _ = writeln!(
            out,
            "{:<16} {:>6} {:>8} {:<6} {:<12} {:<14} {:<13} {:<28}",
            f.interface,
            opt(&f.mtu),
            f.speed_mbps.map_or("-".into(), |s| format!("{s}M")),
            opt(&f.operstate),
            opt(&f.driver),
            opt(&f.firmware),
            opt(&f.pci_address),
            module
        );
    }
    for d in &inv.rdma_devices {
        for p in &d.ports {
            let _ = writeln!(
                out,
                "rdma {}/{}  state {}  rate {}  link layer {}  netdev {}  firmware {}",
                d.name,
                p.port,
                opt(&p.state),
                opt(&p.rate),
                opt(&p.link_layer),
                opt(&p.netdev),
                opt(&d.firmware)
            );
        }
    }
    for u in &inv.unavailable {
        let _ = writeln!(out, "not available: {u}");
    }
    for i in &inv.interfaces {
        for u in i.facts.unavailable.iter().chain(&i.counters.unavailable) {
            let _ = writeln!(out, "not available on {}: {u}", i.facts.interface);
        }
        if let Some(m) = &i.module_unavailable {
            let _ = writeln!(out, "not available on {}: module: {m}", i.facts.interface);
        }
    }
    out
}

/// A plain-text rendering of a decoded module.
pub fn module_table(m: &ModuleInfo) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} ({})  vendor {}  part {}  serial {}  rev {}",
        m.identifier,
        m.spec,
        opt(&m.vendor),
        opt(&m.part_number),
        opt(&m.serial_number),
        opt(&m.revision)
    );
    let _ = writeln!(
        out,
        "media {:?}  connector {}  length {} m  wavelength {} nm  temperature {} C  supply {} V",
        m.media,
        opt(&m.connector),
        opt(&m.cable_length_m),
        opt(&m.wavelength_nm),
        m.temperature_c.map_or("-".into(), |t| format!("{t:.2}")),
        m.voltage_v.map_or("-".into(), |v| format!("{v:.3}"))
    );
    for l in &m.lanes {
        let f = |v: Option<f64>| v.map_or("-".into(), |v| format!("{v:.4}"));
        let _ = writeln!(
            out,
            "lane {}: rx {} mW  tx {} mW  bias {} mA",
            l.lane,
            f(l.rx_power_mw),
            f(l.tx_power_mw),
            f(l.tx_bias_ma)
        );
    }
    match &m.flags {
        Some(flags) if flags.is_empty() => {
            let _ = writeln!(out, "module flags: none raised");
        }
        Some(flags) => {
            for f in flags {
                let lane = f.lane.map_or(String::new(), |l| format!(" lane {l}"));
                let _ = writeln!(
                    out,
                    "FLAG {}{lane} {} (raised by the module)",
                    f.monitor, f.level
                );
            }
        }
        None => {
            let _ = writeln!(out, "module flags: not in the dump");
        }
    }
    for c in &m.crossed {
        let _ = writeln!(
            out,
            "past threshold (computed) {}{} {}: {} (limit {})",
            c.monitor,
            c.lane.map_or(String::new(), |l| format!(" lane {l}")),
            c.level,
            c.value,
            c.limit
        );
    }
    for w in &m.warnings {
        let _ = writeln!(out, "warning: {w}");
    }
    out
}
