//! The link behind a test: the interface's facts (speed, driver, firmware, PCI address, NUMA node), its
//! transceiver module, its RDMA port, and a probe that snapshots counters and module monitors before a
//! test and again after it, then judges the link (flapped, uncorrectable errors, pre-FEC BER).

use crate::diag::counters::{CounterSnapshot, Counters};
use crate::diag::module::{self, Crossing, ModuleFlag, ModuleInfo, Monitors};
use crate::diag::rdma::{self, IbPort};
use crate::diag::{ethtool_ioctl, netlink};
use crate::sysfs::read_trimmed;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Static facts about one network interface.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct LinkFacts {
    pub interface: String,
    pub mtu: Option<u32>,
    /// Negotiated speed in 10^6 bit/s; null when the driver does not say (virtual interfaces).
    pub speed_mbps: Option<u64>,
    pub duplex: Option<String>,
    /// `up`, `down`, `unknown` (loopback), ...
    pub operstate: Option<String>,
    pub driver: Option<String>,
    pub driver_version: Option<String>,
    pub firmware: Option<String>,
    pub pci_address: Option<String>,
    pub numa_node: Option<u32>,
    /// CPUs local to the device; empty for virtual interfaces.
    pub local_cpus: Vec<usize>,
    /// The RDMA port on this interface (RoCE), if any: state, rate, width, link layer.
    pub ib_port: Option<IbPort>,
    /// What could not be read, and why.
    pub unavailable: Vec<String>,
}

impl LinkFacts {
    /// The port's line rate, bit/s: the netdev speed, else the RDMA port's rate (an InfiniBand port has
    /// no netdev speed); null when neither says.
    pub fn line_rate_bps(&self) -> Option<f64> {
        self.speed_mbps.map(|m| m as f64 * 1e6).or_else(|| {
            let ib = self.ib_port.as_ref()?;
            ib.rate_gbps.map(|g| g * 1e9)
        })
    }

    /// Reads the facts of `interface` under `root`; `live` also asks the kernel (ethtool ioctl), which
    /// only makes sense when `root` is `/`.
    pub fn read(root: &Path, interface: &str, live: bool) -> LinkFacts {
        let dir = root.join("sys/class/net").join(interface);
        let mut unavailable = Vec::new();
        let speed_mbps = read_trimmed(&dir.join("speed"))
            .and_then(|s| s.parse::<i64>().ok())
            .filter(|&s| s > 0)
            .map(|s| s as u64);
        if speed_mbps.is_none() {
            unavailable.push(
                "speed: the driver does not report one (virtual interface or link down)".into(),
            );
        }
        let device = std::fs::canonicalize(dir.join("device")).ok();
        let sysfs_driver = std::fs::canonicalize(dir.join("device/driver"))
            .ok()
            .and_then(|p| p.file_name().map(|n| n.to_string_lossy().to_string()));
        let sysfs_pci = device
            .as_ref()
            .and_then(|p| p.file_name().map(|n| n.to_string_lossy().to_string()))
            .filter(|n| n.contains(':'));
        let (mut driver, mut driver_version, mut firmware, mut bus) =
            (sysfs_driver, None, None, sysfs_pci);
        if live {
            match ethtool_ioctl::driver_info(interface) {
                Ok(info) => {
                    driver = info.driver.or(driver);
                    driver_version = info.version;
                    firmware = info.firmware;
                    bus = bus.or(info.bus_info.filter(|b| b.contains(':')));
                }
                Err(e) => unavailable.push(format!("driver, firmware: ethtool -i: {e}")),
            }
        }
        if firmware.is_none() && !unavailable.iter().any(|u| u.starts_with("driver")) {
            unavailable.push("firmware: the driver reports none".into());
        }
        let numa_node = read_trimmed(&dir.join("device/numa_node"))
            .and_then(|s| s.parse::<i64>().ok())
            .filter(|&n| n >= 0)
            .map(|n| n as u32);
        LinkFacts {
            interface: interface.to_string(),
            mtu: read_trimmed(&dir.join("mtu")).and_then(|s| s.parse().ok()),
            speed_mbps,
            duplex: read_trimmed(&dir.join("duplex")),
            operstate: read_trimmed(&dir.join("operstate")),
            driver,
            driver_version,
            firmware,
            pci_address: bus,
            numa_node,
            local_cpus: crate::diag::route::nic_local_cpus(root, interface).unwrap_or_default(),
            ib_port: rdma::port_for_netdev(root, interface),
            unavailable,
        }
    }
}

/// The module in the cage: its decoded EEPROM (identity, and monitors read before the test) and the
/// monitors read after it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ModuleReport {
    #[serde(flatten)]
    pub info: ModuleInfo,
    /// The live monitors read again after the test; null when the second read failed.
    pub monitors_after: Option<Monitors>,
}

/// What the counters say about the link during one test.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
pub struct LinkVerdict {
    /// The carrier went down (netdev `carrier_changes`/`carrier_down_count`, IB `link_downed`).
    pub link_flapped: bool,
    /// FEC uncorrectable blocks during the test; null when the link reports no FEC statistics.
    pub uncorrectable_errors: Option<u64>,
    /// Error, drop and discard counters that rose, as `group.name +N`.
    pub error_counters_increased: Vec<String>,
    /// FEC corrected bits during the test; null without FEC statistics.
    pub corrected_bits: Option<u64>,
    /// Line bits that passed during the test: link speed x elapsed time; null when the speed is unknown.
    pub line_bits: Option<f64>,
    /// Estimated pre-FEC bit error ratio: corrected bits / line bits.
    pub pre_fec_ber: Option<f64>,
    /// One-sided 95% upper bound of the pre-FEC BER (3 / line bits when no error was seen).
    pub pre_fec_ber_upper_95: Option<f64>,
    /// Why figures are missing, and saturated counters.
    pub notes: Vec<String>,
}

/// One interface's facts, module and counters around one test.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct LinkReport {
    #[serde(flatten)]
    pub facts: LinkFacts,
    /// Null when no module EEPROM could be read (see `module_unavailable`).
    pub module: Option<ModuleReport>,
    pub module_unavailable: Option<String>,
    pub counters: Counters,
    /// Seconds between the two counter snapshots.
    pub elapsed_s: f64,
    pub verdict: LinkVerdict,
}

impl LinkReport {
    /// The alarms and warnings the module raised during the test: its latched flags as read after it.
    /// Reading clears them, so the read before the test took whatever was raised earlier and the read
    /// after it holds what was raised since. Empty without a module, its flags, or the second read.
    pub fn module_flags_during(&self) -> Vec<&ModuleFlag> {
        let Some(m) = &self.module else {
            return Vec::new();
        };
        let after = m
            .monitors_after
            .iter()
            .flat_map(|a| a.flags.iter().flatten());
        let mut out: Vec<&ModuleFlag> = Vec::new();
        for f in after {
            if !out.contains(&f) {
                out.push(f);
            }
        }
        out
    }

    /// The flags the module had latched before the test (raised at any time since they were last
    /// read: a link that came up, a peer that booted).
    pub fn module_flags_before(&self) -> Vec<&ModuleFlag> {
        self.module
            .iter()
            .flat_map(|m| m.info.flags.iter().flatten())
            .collect()
    }

    /// Module monitor values past a threshold before or after the test, as linkbench computes them
    /// (not the module's alarm state: see [`Self::module_flags`]), each (monitor, lane, level, value)
    /// once; empty without a module.
    pub fn module_crossings(&self) -> Vec<&Crossing> {
        let Some(m) = &self.module else {
            return Vec::new();
        };
        let after = m.monitors_after.iter().flat_map(|a| &a.crossed);
        let mut out: Vec<&Crossing> = Vec::new();
        for c in m.info.crossed.iter().chain(after) {
            let seen = out.iter().any(|o| {
                (&o.monitor, o.lane, &o.level, o.value) == (&c.monitor, c.lane, &c.level, c.value)
            });
            if !seen {
                out.push(c);
            }
        }
        out
    }
}

/// Counters and monitors taken before a test, waiting for the after-test read.
#[derive(Debug)]
pub struct LinkProbe {
    root: PathBuf,
    live: bool,
    facts: LinkFacts,
    module: Result<ModuleInfo, String>,
    before: CounterSnapshot,
    started: Instant,
}

impl LinkProbe {
    /// Reads the facts, the module and the counters of `interface` now.
    pub fn begin(root: &Path, interface: &str) -> LinkProbe {
        let live = root == Path::new("/");
        let facts = LinkFacts::read(root, interface, live);
        let module = read_module(root, interface, live);
        let ib = facts.ib_port.as_ref().map(|p| p.path.clone());
        let before = CounterSnapshot::read(root, interface, ib.as_deref(), live);
        LinkProbe {
            root: root.to_path_buf(),
            live,
            facts,
            module,
            before,
            started: Instant::now(),
        }
    }

    /// A sampler of the same interface, its baseline read now.
    pub fn sampler(&self) -> crate::diag::sampler::LinkSampler {
        crate::diag::sampler::LinkSampler::begin(&self.root, &self.facts.interface)
    }

    /// Reads counters and monitors again and judges the link.
    pub fn finish(self) -> LinkReport {
        let elapsed_s = self.started.elapsed().as_secs_f64();
        let ib = self.facts.ib_port.as_ref().map(|p| p.path.clone());
        let after =
            CounterSnapshot::read(&self.root, &self.facts.interface, ib.as_deref(), self.live);
        let counters = Counters::new(self.before, after);
        let (module, module_unavailable) = match self.module {
            Ok(info) => {
                let monitors_after = read_module(&self.root, &self.facts.interface, self.live)
                    .ok()
                    .map(|m| m.monitors());
                (
                    Some(ModuleReport {
                        info,
                        monitors_after,
                    }),
                    None,
                )
            }
            Err(why) => (None, Some(why)),
        };
        let speed_bps = self.facts.line_rate_bps();
        let verdict = judge(&counters, speed_bps.map(|s| s * elapsed_s));
        LinkReport {
            facts: self.facts,
            module,
            module_unavailable,
            counters,
            elapsed_s,
            verdict,
        }
    }
}

/// Whether a counter name counts errors, drops or discards.
fn is_error_counter(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    [
        "err", "drop", "discard", "symbol", "downed", "uncorr", "crc", "fcs", "overrun",
    ]
    .iter()
    .any(|k| n.contains(k))
}

/// One-sided 95% Poisson upper bound on a count `k` (Wilson-Hilferty; exact -ln 0.05 at 0).
pub fn poisson_upper_95(k: u64) -> f64 {
    if k == 0 {
        return -(0.05f64.ln());
    }
    let n = k as f64 + 1.0;
    n * (1.0 - 1.0 / (9.0 * n) + 1.644_853_6 / (3.0 * n.sqrt())).powi(3)
}

/// The verdict from the deltas and the bits that crossed the line.
pub fn judge(counters: &Counters, line_bits: Option<f64>) -> LinkVerdict {
    let d = &counters.delta;
    let mut v = LinkVerdict {
        line_bits,
        ..Default::default()
    };
    let flaps = ["carrier_changes", "carrier_down_count"]
        .iter()
        .filter_map(|n| d.netdev.get(*n))
        .chain(d.ib_port.iter().filter_map(|m| m.get("link_downed")))
        .any(|&x| x > 0);
    v.link_flapped = flaps;
    let groups = [
        ("netdev", Some(&d.netdev)),
        ("ethtool", d.ethtool.as_ref()),
        ("fec", d.fec.as_ref()),
        ("ib_port", d.ib_port.as_ref()),
    ];
    for (group, map) in groups {
        for (name, &delta) in map.into_iter().flatten() {
            if delta > 0 && is_error_counter(name) {
                v.error_counters_increased
                    .push(format!("{group}.{name} +{delta}"));
            }
        }
    }
    v.uncorrectable_errors = d
        .fec
        .as_ref()
        .and_then(|f| f.get("uncorrectable_blocks").copied());
    v.corrected_bits = d
        .fec
        .as_ref()
        .and_then(|f| f.get("corrected_bits").copied());
    match (v.corrected_bits, line_bits) {
        (Some(k), Some(bits)) if bits > 0.0 => {
            v.pre_fec_ber = Some(k as f64 / bits);
            v.pre_fec_ber_upper_95 = Some(poisson_upper_95(k) / bits);
        }
        (None, _) => v
            .notes
            .push("pre-FEC BER unknown: the link reports no FEC corrected bits".into()),
        _ => v
            .notes
            .push("pre-FEC BER unknown: the link speed is unknown".into()),
    }
    for s in &d.saturated {
        v.notes
            .push(format!("{s} is saturated: its delta is a lower bound"));
    }
    for s in &d.went_backwards {
        v.notes.push(format!(
            "{s} went backwards (reset or wrap): its delta is 0"
        ));
    }
    v
}

/// Reads and decodes the module EEPROM of `interface`: ethtool netlink pages first, the legacy ioctl
/// second. A fixture `root` may hold the dump as `sys/class/net/IF/module_eeprom.bin` (tests only).
pub fn read_module(root: &Path, interface: &str, live: bool) -> Result<ModuleInfo, String> {
    let dump = if live {
        match read_dump_netlink(interface) {
            Ok(d) => d,
            Err(nl) => ethtool_ioctl::module_eeprom(interface).map_err(|io| {
                format!("no module EEPROM: netlink {nl}; ioctl {io} (no pluggable module on this interface)")
            })?,
        }
    } else {
        std::fs::read(
            root.join("sys/class/net")
                .join(interface)
                .join("module_eeprom.bin"),
        )
        .map_err(|e| format!("no module EEPROM dump in the fixture tree: {e}"))?
    };
    let mut info = module::decode(&dump).map_err(|e| e.to_string())?;
    if info.spec == "CMIS" && module::vdm::advertised(&dump) {
        let pages = if live {
            read_vdm_netlink(interface).map_err(|e| e.to_string())
        } else {
            std::fs::read(
                root.join("sys/class/net")
                    .join(interface)
                    .join("module_vdm.bin"),
            )
            .map_err(|e| format!("no module_vdm.bin in the fixture tree: {e}"))
        };
        match pages.and_then(|p| module::vdm::decode(&p)) {
            Ok(observables) => info.vdm = observables,
            Err(why) => info.warnings.push(format!(
                "the module advertises VDM (page 01h byte 142 bit 6) but pages 20h-2Fh could not be read: {why}"
            )),
        }
    }
    Ok(info)
}

/// Reads VDM pages 20h-2Fh over netlink: page 2Fh first (how many groups), then each group's
/// descriptors, samples and thresholds and the flags page; pages not read stay zero.
fn read_vdm_netlink(interface: &str) -> std::io::Result<Vec<u8>> {
    let mut nl = netlink::Ethtool::open()?;
    let mut pages = vec![0u8; module::vdm::VDM_BYTES];
    let mut fill = |pages: &mut [u8], page: u8| -> std::io::Result<()> {
        let data = nl.module_eeprom(interface, 0x50, page, 0, 128, 128)?;
        let at = usize::from(page - 0x20) * 128;
        let n = data.len().min(128);
        pages[at..at + n].copy_from_slice(&data[..n]);
        Ok(())
    };
    fill(&mut pages, 0x2F)?;
    let groups = (pages[15 * 128] & 0x03) + 1;
    for g in 0..groups {
        for base in [0x20, 0x24, 0x28] {
            fill(&mut pages, base + g)?;
        }
    }
    fill(&mut pages, 0x2C)?;
    Ok(pages)
}

/// Reads pages over netlink into the dump layout of [`crate::diag::module`].
fn read_dump_netlink(interface: &str) -> std::io::Result<Vec<u8>> {
    let mut nl = netlink::Ethtool::open()?;
    let mut dump = nl.module_eeprom(interface, 0x50, 0, 0, 0, 128)?;
    let id = dump[0];
    let upper = |nl: &mut netlink::Ethtool, i2c: u8, page: u8| {
        nl.module_eeprom(interface, i2c, page, 0, 128, 128)
    };
    match id {
        0x03 => {
            dump.extend(upper(&mut nl, 0x50, 0)?);
            if dump.get(92).is_some_and(|b| b & 0x40 != 0) {
                if let Ok(low) = nl.module_eeprom(interface, 0x51, 0, 0, 0, 128) {
                    if let Ok(high) = upper(&mut nl, 0x51, 0) {
                        dump.extend(low);
                        dump.extend(high);
                    }
                }
            }
        }
        _ => {
            let (pages, flat): (&[u8], bool) = match id {
                0x0C | 0x0D | 0x11 => (&[0, 1, 2, 3], dump[2] & 0x04 != 0),
                0x18 | 0x19 | 0x1B | 0x1E | 0x1F => (&[0, 1, 2, 0x10, 0x11], dump[2] & 0x80 != 0),
                _ => (&[0], true),
            };
            dump.extend(upper(&mut nl, 0x50, 0)?);
            if !flat {
                for &p in &pages[1..] {
                    match upper(&mut nl, 0x50, p) {
                        Ok(data) if data.len() == 128 => dump.extend(data),
                        _ => break,
                    }
                }
            }
        }
    }
    Ok(dump)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::counters::CounterMap;

    #[test]
    fn vdm_pages_are_read_when_the_module_advertises_them_and_missed_with_a_warning() {
        let step =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/replay/lr4-heating/0010");
        let info = read_module(&step, "eth0", false).unwrap();
        assert_eq!(info.vdm.len(), 16);
        let lane3 = info
            .vdm
            .iter()
            .find(|o| o.type_id == 15 && o.lane == 3)
            .unwrap();
        let lane1 = info
            .vdm
            .iter()
            .find(|o| o.type_id == 15 && o.lane == 1)
            .unwrap();
        assert!(lane3.value > 5.0 * lane1.value, "{lane3:?} {lane1:?}");
        assert_eq!(info.monitors().vdm.len(), 16);
        // The same module without its VDM pages: decoded, with a warning naming the pages.
        let dir = tempfile::tempdir().unwrap();
        let net = dir.path().join("sys/class/net/eth0");
        std::fs::create_dir_all(&net).unwrap();
        std::fs::copy(
            step.join("sys/class/net/eth0/module_eeprom.bin"),
            net.join("module_eeprom.bin"),
        )
        .unwrap();
        let info = read_module(dir.path(), "eth0", false).unwrap();
        assert!(info.vdm.is_empty());
        assert!(
            info.warnings.iter().any(|w| w.contains("pages 20h-2Fh")),
            "{:?}",
            info.warnings
        );
    }

    #[test]
    fn the_ber_bound_with_no_errors_is_three_over_bits() {
        assert!((poisson_upper_95(0) - 2.9957).abs() < 1e-3);
        // Exact one-sided 95% upper limits: k=1 -> 4.744, k=10 -> 17.0
        assert!((poisson_upper_95(1) - 4.744).abs() < 0.05);
        assert!((poisson_upper_95(10) - 16.96).abs() < 0.1);
    }

    #[test]
    fn the_verdict_names_flaps_errors_and_the_ber() {
        let snap = |carrier: u64, uncorr: u64, bits: u64, crc: u64| CounterSnapshot {
            netdev: CounterMap::from([
                ("carrier_changes".into(), carrier),
                ("rx_crc_errors".into(), crc),
            ]),
            fec: Some(CounterMap::from([
                ("uncorrectable_blocks".into(), uncorr),
                ("corrected_bits".into(), bits),
            ])),
            ..Default::default()
        };
        let c = Counters::new(snap(2, 0, 100, 0), snap(4, 3, 100, 5));
        let v = judge(&c, Some(1e12));
        assert!(v.link_flapped);
        assert_eq!(v.uncorrectable_errors, Some(3));
        assert_eq!(v.pre_fec_ber, Some(0.0));
        assert!((v.pre_fec_ber_upper_95.unwrap() - 2.9957e-12).abs() < 1e-15);
        assert!(v
            .error_counters_increased
            .contains(&"netdev.rx_crc_errors +5".to_string()));
        assert!(v
            .error_counters_increased
            .contains(&"fec.uncorrectable_blocks +3".to_string()));
        let quiet = judge(&Counters::new(snap(2, 0, 0, 0), snap(2, 0, 0, 0)), None);
        assert!(!quiet.link_flapped);
        assert!(quiet.error_counters_increased.is_empty());
        assert_eq!(quiet.pre_fec_ber, None);
        assert!(quiet.notes[0].contains("speed is unknown"));
    }

    #[test]
    fn a_module_read_before_and_after_gives_each_crossing_once() {
        let dir = tempfile::tempdir().unwrap();
        let net = dir.path().join("sys/class/net/eth9");
        std::fs::create_dir_all(&net).unwrap();
        std::fs::write(net.join("mtu"), "1500\n").unwrap();
        let dump = std::fs::read(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/eeprom/qsfp28-100g-sr4.bin"),
        )
        .unwrap();
        std::fs::write(net.join("module_eeprom.bin"), dump).unwrap();
        let r = LinkProbe::begin(dir.path(), "eth9").finish();
        let m = r.module.as_ref().expect("the fixture module decodes");
        assert_eq!(m.info.crossed.len(), 1);
        assert_eq!(m.monitors_after.as_ref().unwrap().crossed.len(), 1);
        let crossings = r.module_crossings();
        assert_eq!(crossings.len(), 1, "{crossings:?}");
        assert_eq!(
            (crossings[0].lane, crossings[0].level.as_str()),
            (Some(4), "low_alarm")
        );
    }

    #[test]
    fn loopback_facts_and_a_probe_run_here() {
        let probe = LinkProbe::begin(Path::new("/"), "lo");
        let r = probe.finish();
        assert_eq!(r.facts.interface, "lo");
        assert_eq!(r.facts.mtu, Some(65536));
        assert!(r.module.is_none());
        assert!(r
            .module_unavailable
            .as_deref()
            .unwrap()
            .contains("no module EEPROM"));
        assert!(r.counters.before.netdev.contains_key("rx_bytes"));
        assert!(r.counters.delta.netdev.contains_key("tx_bytes"));
    }
}
