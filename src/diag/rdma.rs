//! RDMA devices and ports from sysfs (`/sys/class/infiniband`): firmware, port state, rate and width,
//! link layer, and which netdev a RoCE port sits on. Read without libibverbs, so it works on any host.

use crate::sysfs::read_trimmed;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// One RDMA device.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RdmaDevice {
    pub name: String,
    pub firmware: Option<String>,
    pub node_type: Option<String>,
    pub node_guid: Option<String>,
    pub ports: Vec<IbPort>,
}

/// One port of an RDMA device.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct IbPort {
    pub device: String,
    pub port: u32,
    /// `ACTIVE`, `DOWN`, ... (the text after the number in sysfs `state`).
    pub state: Option<String>,
    pub phys_state: Option<String>,
    /// As sysfs says it, e.g. `100 Gb/sec (4X EDR)`.
    pub rate: Option<String>,
    pub rate_gbps: Option<f64>,
    /// Lane count from the rate text (`4X` -> 4).
    pub width: Option<u32>,
    /// `InfiniBand` or `Ethernet` (RoCE).
    pub link_layer: Option<String>,
    /// LID for InfiniBand ports.
    pub lid: Option<String>,
    /// The netdev behind a RoCE port.
    pub netdev: Option<String>,
    /// Sysfs directory of the port (for counters).
    #[serde(skip)]
    #[schemars(skip)]
    pub path: PathBuf,
}

/// Every RDMA device under `root`.
pub fn devices(root: &Path) -> Vec<RdmaDevice> {
    let base = root.join("sys/class/infiniband");
    let Ok(entries) = std::fs::read_dir(&base) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .flatten()
        .map(|e| e.file_name().to_string_lossy().to_string())
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|name| {
            let dir = base.join(&name);
            let mut ports: Vec<IbPort> = std::fs::read_dir(dir.join("ports"))
                .into_iter()
                .flatten()
                .flatten()
                .filter_map(|e| {
                    let n: u32 = e.file_name().to_string_lossy().parse().ok()?;
                    Some(read_port(root, &name, n, &e.path()))
                })
                .collect();
            ports.sort_by_key(|p| p.port);
            RdmaDevice {
                firmware: read_trimmed(&dir.join("fw_ver")),
                node_type: read_trimmed(&dir.join("node_type")),
                node_guid: read_trimmed(&dir.join("node_guid")),
                name,
                ports,
            }
        })
        .collect()
}

fn after_colon(text: Option<String>) -> Option<String> {
    text.map(|t| match t.split_once(':') {
        Some((_, rest)) => rest.trim().to_string(),
        None => t,
    })
}

fn read_port(root: &Path, device: &str, port: u32, dir: &Path) -> IbPort {
    let rate = read_trimmed(&dir.join("rate"));
    let rate_gbps = rate
        .as_deref()
        .and_then(|r| r.split_whitespace().next())
        .and_then(|n| n.parse().ok());
    let width = rate.as_deref().and_then(|r| {
        let inner = r.split_once('(')?.1;
        inner.split_once('X')?.0.trim().parse().ok()
    });
    // RoCE: the GID table names the netdev; older kernels only link the device's `device/net`.
    let netdev = read_trimmed(&dir.join("gid_attrs/ndevs/0")).or_else(|| {
        let net = root
            .join("sys/class/infiniband")
            .join(device)
            .join("device/net");
        std::fs::read_dir(net)
            .ok()?
            .flatten()
            .next()
            .map(|e| e.file_name().to_string_lossy().to_string())
    });
    IbPort {
        device: device.to_string(),
        port,
        state: after_colon(read_trimmed(&dir.join("state"))),
        phys_state: after_colon(read_trimmed(&dir.join("phys_state"))),
        rate,
        rate_gbps,
        width,
        link_layer: read_trimmed(&dir.join("link_layer")),
        lid: read_trimmed(&dir.join("lid")),
        netdev,
        path: dir.to_path_buf(),
    }
}

/// The RDMA port carried by `interface`, if any.
pub fn port_for_netdev(root: &Path, interface: &str) -> Option<IbPort> {
    devices(root)
        .into_iter()
        .flat_map(|d| d.ports)
        .find(|p| p.netdev.as_deref() == Some(interface))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_are_read_from_the_tree() {
        let dir = tempfile::tempdir().unwrap();
        let put = |p: &str, text: &str| {
            let path = dir.path().join(p);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        };
        let d = "sys/class/infiniband/mlx5_0";
        put(&format!("{d}/fw_ver"), "28.39.1002\n");
        put(&format!("{d}/ports/1/state"), "4: ACTIVE\n");
        put(&format!("{d}/ports/1/phys_state"), "5: LinkUp\n");
        put(&format!("{d}/ports/1/rate"), "100 Gb/sec (4X EDR)\n");
        put(&format!("{d}/ports/1/link_layer"), "Ethernet\n");
        put(&format!("{d}/ports/1/gid_attrs/ndevs/0"), "ens1f0np0\n");
        let devs = devices(dir.path());
        assert_eq!(devs.len(), 1);
        assert_eq!(devs[0].firmware.as_deref(), Some("28.39.1002"));
        let p = &devs[0].ports[0];
        assert_eq!(p.state.as_deref(), Some("ACTIVE"));
        assert_eq!(p.phys_state.as_deref(), Some("LinkUp"));
        assert_eq!(p.rate_gbps, Some(100.0));
        assert_eq!(p.width, Some(4));
        assert_eq!(p.link_layer.as_deref(), Some("Ethernet"));
        let found = port_for_netdev(dir.path(), "ens1f0np0").unwrap();
        assert_eq!((found.device.as_str(), found.port), ("mlx5_0", 1));
        assert!(port_for_netdev(dir.path(), "eth0").is_none());
    }
}
