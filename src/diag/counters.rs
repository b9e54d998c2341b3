//! Port counters before and after a test: netdev statistics (sysfs), the driver's ethtool statistics,
//! FEC statistics (netlink) and InfiniBand port counters (sysfs), with deltas. IB counters saturate at
//! their width instead of wrapping; a counter at its maximum is flagged, because its delta is then a
//! lower bound.

use crate::diag::{ethtool_ioctl, netlink};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// Named counter values.
pub type CounterMap = BTreeMap<String, u64>;

/// All counters of one interface at one moment; a group is null when it could not be read
/// (`unavailable` says why).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
pub struct CounterSnapshot {
    /// `/sys/class/net/IF/statistics/*` plus `carrier_changes`, `carrier_up_count`, `carrier_down_count`.
    pub netdev: CounterMap,
    /// `ethtool -S IF`.
    pub ethtool: Option<CounterMap>,
    /// `ethtool -I --show-fec IF`: `corrected_blocks`, `uncorrectable_blocks`, `corrected_bits`, per lane.
    pub fec: Option<CounterMap>,
    /// `/sys/class/infiniband/DEV/ports/N/counters/*` of the RDMA port on this interface, and its
    /// driver's `hw_counters/*` as `hw_counters.NAME`.
    pub ib_port: Option<CounterMap>,
    /// One line per group that could not be read, with the reason.
    pub unavailable: Vec<String>,
}

/// Before, after and the difference.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Counters {
    pub before: CounterSnapshot,
    pub after: CounterSnapshot,
    pub delta: CounterDelta,
}

/// `after - before` for every counter present in both.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
pub struct CounterDelta {
    pub netdev: CounterMap,
    pub ethtool: Option<CounterMap>,
    pub fec: Option<CounterMap>,
    pub ib_port: Option<CounterMap>,
    /// Counters at their saturation value after the test (`ib_port.symbol_error`, ...): their delta is a
    /// lower bound.
    pub saturated: Vec<String>,
    /// Counters that went down (driver reset or wrap); their delta is reported as 0.
    pub went_backwards: Vec<String>,
}

/// Width in bits of the IB port counters that saturate below 64 bits (IBA PortCounters).
pub fn ib_counter_width(name: &str) -> Option<u32> {
    Some(match name {
        "symbol_error"
        | "port_rcv_errors"
        | "port_rcv_remote_physical_errors"
        | "port_rcv_switch_relay_errors"
        | "port_xmit_discards"
        | "VL15_dropped" => 16,
        "link_error_recovery"
        | "link_downed"
        | "port_xmit_constraint_errors"
        | "port_rcv_constraint_errors" => 8,
        "local_link_integrity_errors" | "excessive_buffer_overrun_errors" => 4,
        _ => return None,
    })
}

impl CounterSnapshot {
    /// Reads every group for `interface` (and its RDMA port, when it has one) under `root`.
    pub fn read(
        root: &Path,
        interface: &str,
        ib_port: Option<&Path>,
        live: bool,
    ) -> CounterSnapshot {
        let mut snap = CounterSnapshot {
            netdev: read_netdev(root, interface),
            ..Default::default()
        };
        if snap.netdev.is_empty() {
            snap.unavailable.push(format!(
                "netdev: no statistics under /sys/class/net/{interface}"
            ));
        }
        if live {
            match ethtool_ioctl::statistics(interface) {
                Ok(stats) if stats.is_empty() => snap
                    .unavailable
                    .push("ethtool: the driver has no statistics".into()),
                Ok(stats) => snap.ethtool = Some(stats.into_iter().collect()),
                Err(e) => snap.unavailable.push(format!("ethtool: {e}")),
            }
            match netlink::Ethtool::open().and_then(|mut e| e.fec_stats(interface)) {
                Ok(fec) if fec.is_empty() => snap
                    .unavailable
                    .push("fec: the driver reports no FEC statistics".into()),
                Ok(fec) => snap.fec = Some(fec),
                Err(e) => snap
                    .unavailable
                    .push(format!("fec: {e} (no FEC on this link or driver)")),
            }
        } else if let Some(fec) = read_fec_fixture(root, interface) {
            // A fixture tree (a recorded or replayed link): FEC statistics as the netlink reader
            // returns them, one flat JSON object of counters.
            snap.fec = Some(fec);
        }
        if let Some(port) = ib_port {
            // IBA PortCounters, plus the driver's own (`hw_counters/`: soft-RoCE has only these).
            let mut map = read_dir_u64(&port.join("counters"));
            map.extend(
                read_dir_u64(&port.join("hw_counters"))
                    .into_iter()
                    .filter(|(name, _)| name != "lifespan")
                    .map(|(name, v)| (format!("hw_counters.{name}"), v)),
            );
            if map.is_empty() {
                snap.unavailable
                    .push(format!("ib_port: no counters under {}", port.display()));
            } else {
                snap.ib_port = Some(map);
            }
        }
        snap
    }
}

/// `sys/class/net/IF/fec_stats.json` of a fixture tree: the map [`netlink::Ethtool::fec_stats`] returns
/// (`corrected_blocks`, `uncorrectable_blocks`, `corrected_bits`, `..._laneN`, `hist_LO_HI`).
fn read_fec_fixture(root: &Path, interface: &str) -> Option<CounterMap> {
    let path = root
        .join("sys/class/net")
        .join(interface)
        .join("fec_stats.json");
    let limit = crate::files::Limit {
        bytes: 1 << 20,
        what: "FEC statistics (JSON)",
    };
    let bytes = crate::files::read_regular(&path, limit).ok()?;
    serde_json::from_slice(&bytes).ok()
}

fn read_netdev(root: &Path, interface: &str) -> CounterMap {
    let dir = root.join("sys/class/net").join(interface);
    let mut map = read_dir_u64(&dir.join("statistics"));
    for name in ["carrier_changes", "carrier_up_count", "carrier_down_count"] {
        if let Some(v) = read_u64(&dir.join(name)) {
            map.insert(name.to_string(), v);
        }
    }
    map
}

/// Every file in `dir` that holds one unsigned number.
pub(crate) fn read_dir_u64(dir: &Path) -> CounterMap {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return CounterMap::new();
    };
    entries
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().to_string();
            read_u64(&e.path()).map(|v| (name, v))
        })
        .collect()
}

fn read_u64(path: &Path) -> Option<u64> {
    crate::sysfs::read_trimmed(path)?.parse().ok()
}

fn diff(
    group: &str,
    before: &CounterMap,
    after: &CounterMap,
    backwards: &mut Vec<String>,
) -> CounterMap {
    after
        .iter()
        .filter_map(|(name, &a)| {
            let b = *before.get(name)?;
            if a < b {
                backwards.push(format!("{group}.{name}"));
            }
            Some((name.clone(), a.saturating_sub(b)))
        })
        .collect()
}

impl Counters {
    /// Pairs two snapshots and computes the deltas.
    pub fn new(before: CounterSnapshot, after: CounterSnapshot) -> Counters {
        let mut backwards = Vec::new();
        let netdev = diff("netdev", &before.netdev, &after.netdev, &mut backwards);
        let mut pair = |group: &str, b: &Option<CounterMap>, a: &Option<CounterMap>| match (b, a) {
            (Some(b), Some(a)) => Some(diff(group, b, a, &mut backwards)),
            _ => None,
        };
        let ethtool = pair("ethtool", &before.ethtool, &after.ethtool);
        let fec = pair("fec", &before.fec, &after.fec);
        let ib_port = pair("ib_port", &before.ib_port, &after.ib_port);
        let saturated = after
            .ib_port
            .iter()
            .flatten()
            .filter(|(name, &v)| ib_counter_width(name).is_some_and(|w| v >= (1u64 << w) - 1))
            .map(|(name, _)| format!("ib_port.{name}"))
            .collect();
        Counters {
            before,
            after,
            delta: CounterDelta {
                netdev,
                ethtool,
                fec,
                ib_port,
                saturated,
                went_backwards: backwards,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put(root: &Path, p: &str, text: &str) {
        let path = root.join(p);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    #[test]
    fn deltas_saturation_and_resets() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        put(root, "sys/class/net/eth9/statistics/rx_bytes", "1000\n");
        put(root, "sys/class/net/eth9/statistics/tx_bytes", "500\n");
        put(root, "sys/class/net/eth9/carrier_changes", "2\n");
        put(root, "ib/ports/1/counters/symbol_error", "10\n");
        put(root, "ib/ports/1/counters/link_downed", "0\n");
        put(root, "ib/ports/1/hw_counters/rcvd_seq_err", "7\n");
        put(root, "ib/ports/1/hw_counters/lifespan", "10\n");
        let port = root.join("ib/ports/1");
        let before = CounterSnapshot::read(root, "eth9", Some(&port), false);
        put(root, "sys/class/net/eth9/statistics/rx_bytes", "6000\n");
        put(root, "sys/class/net/eth9/statistics/tx_bytes", "100\n");
        put(root, "sys/class/net/eth9/carrier_changes", "4\n");
        put(root, "ib/ports/1/counters/symbol_error", "65535\n");
        put(root, "ib/ports/1/counters/link_downed", "1\n");
        let after = CounterSnapshot::read(root, "eth9", Some(&port), false);
        let c = Counters::new(before, after);
        assert_eq!(c.delta.netdev["rx_bytes"], 5000);
        assert_eq!(c.delta.netdev["tx_bytes"], 0);
        assert_eq!(c.delta.netdev["carrier_changes"], 2);
        assert_eq!(c.delta.went_backwards, vec!["netdev.tx_bytes".to_string()]);
        let ib = c.delta.ib_port.as_ref().unwrap();
        assert_eq!(ib["symbol_error"], 65525);
        assert_eq!(ib["link_downed"], 1);
        assert_eq!(ib["hw_counters.rcvd_seq_err"], 0);
        assert!(!ib.contains_key("hw_counters.lifespan"));
        assert_eq!(c.delta.saturated, vec!["ib_port.symbol_error".to_string()]);
    }

    #[test]
    fn a_missing_interface_says_so() {
        let dir = tempfile::tempdir().unwrap();
        let snap = CounterSnapshot::read(dir.path(), "nope0", None, false);
        assert!(snap.netdev.is_empty());
        assert!(
            snap.unavailable[0].contains("nope0"),
            "{:?}",
            snap.unavailable
        );
    }
}
