//! Which RDMA device, port and GID a side uses, from sysfs alone (so the choice and the reason for it
//! can be tested on a fixture tree): `--device`/`--port`/`--gid-index` when given; otherwise the port on
//! the netdev that holds the control connection's local address, then the port on the route's
//! interface, then the only device there is. RoCE uses the port's RoCE v2 IPv4-mapped GID (the local
//! address's own when it has one); InfiniBand uses LID addressing unless a GID index is given.

use super::RdmaError;
use crate::diag::rdma::{self, IbPort};
use crate::sysfs::read_trimmed;
use std::net::{IpAddr, Ipv6Addr};
use std::path::Path;

/// What the user asked for.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DeviceRequest {
    pub device: Option<String>,
    pub port: Option<u8>,
    pub gid_index: Option<u32>,
}

/// The chosen port and address.
#[derive(Debug, Clone, PartialEq)]
pub struct Choice {
    pub port: IbPort,
    pub firmware: Option<String>,
    pub selected_by: String,
    /// GID index for GRH addressing; `None` means InfiniBand LID addressing.
    pub gid_index: Option<u32>,
    pub gid_type: Option<String>,
}

impl Choice {
    pub fn infiniband(&self) -> bool {
        self.port.link_layer.as_deref() == Some("InfiniBand")
    }
}

/// One entry of a port's GID table.
#[derive(Debug, Clone, PartialEq)]
pub struct GidEntry {
    pub index: u32,
    pub gid: Ipv6Addr,
    pub kind: Option<String>,
}

/// The non-zero GIDs of a port, from sysfs.
pub fn gid_table(port: &IbPort) -> Vec<GidEntry> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(port.path.join("gids")) else {
        return out;
    };
    for e in entries.flatten() {
        let Ok(index) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Some(text) = read_trimmed(&e.path()) else {
            continue;
        };
        let Some(gid) = parse_sysfs_gid(&text) else {
            continue;
        };
        if gid.is_unspecified() {
            continue;
        }
        let kind = read_trimmed(&port.path.join(format!("gid_attrs/types/{index}")));
        out.push(GidEntry { index, gid, kind });
    }
    out.sort_by_key(|g| g.index);
    out
}

/// Sysfs writes GIDs as eight colon-separated groups of four hex digits.
fn parse_sysfs_gid(text: &str) -> Option<Ipv6Addr> {
    let groups: Vec<u16> = text
        .split(':')
        .map(|g| u16::from_str_radix(g, 16).ok())
        .collect::<Option<_>>()?;
    let groups: [u16; 8] = groups.try_into().ok()?;
    Some(Ipv6Addr::from(groups))
}

/// The RoCE v2 IPv4-mapped GID to use: the one for `local` when there is one, else the first.
pub fn roce_v2_gid(table: &[GidEntry], local: IpAddr) -> Option<&GidEntry> {
    let v2_ipv4: Vec<&GidEntry> = table
        .iter()
        .filter(|g| g.kind.as_deref() == Some("RoCE v2") && g.gid.to_ipv4_mapped().is_some())
        .collect();
    let local_v4 = match local {
        IpAddr::V4(v4) => Some(v4),
        IpAddr::V6(v6) => v6.to_ipv4_mapped(),
    };
    v2_ipv4
        .iter()
        .find(|g| g.gid.to_ipv4_mapped() == local_v4)
        .or(v2_ipv4.first())
        .copied()
}

/// Picks the device, port and GID under `root` for a control connection from `local` whose route
/// leaves through `route_interface`.
pub fn choose(
    root: &Path,
    request: &DeviceRequest,
    local: IpAddr,
    route_interface: Option<&str>,
) -> Result<Choice, RdmaError> {
    let devices = rdma::devices(root);
    if devices.is_empty() {
        return Err(RdmaError::NoDevice);
    }
    let firmware_of = |name: &str| {
        devices
            .iter()
            .find(|d| d.name == name)
            .and_then(|d| d.firmware.clone())
    };
    let (port, selected_by) = if let Some(name) = &request.device {
        let device = devices
            .iter()
            .find(|d| &d.name == name)
            .ok_or_else(|| RdmaError::NoSuchDevice(name.clone()))?;
        let port = match request.port {
            Some(p) => device.ports.iter().find(|x| x.port == p as u32).cloned(),
            None => device
                .ports
                .iter()
                .find(|x| x.state.as_deref() == Some("ACTIVE"))
                .or(device.ports.first())
                .cloned(),
        };
        let port = port.ok_or(RdmaError::NoSuchPort {
            device: name.clone(),
            port: request.port.unwrap_or(1),
        })?;
        (port, "--device".to_string())
    } else {
        let by_local = crate::diag::route::interface_with_address(local)
            .and_then(|i| rdma::port_for_netdev(root, &i))
            .map(|p| (p, "netdev of the local address"));
        let by_route = || {
            route_interface
                .and_then(|i| rdma::port_for_netdev(root, i))
                .map(|p| (p, "route to the peer"))
        };
        let only = || {
            let ports: Vec<&IbPort> = devices.iter().flat_map(|d| &d.ports).collect();
            (ports.len() == 1).then(|| (ports[0].clone(), "only RDMA port on this host"))
        };
        let (port, why) = by_local.or_else(by_route).or_else(only).ok_or_else(|| {
            RdmaError::Peer(format!(
                "several RDMA devices ({}) and none carries the route to the peer: pick one with --device",
                devices
                    .iter()
                    .map(|d| d.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })?;
        (port, why.to_string())
    };
    let table = gid_table(&port);
    let infiniband = port.link_layer.as_deref() == Some("InfiniBand");
    let (gid_index, gid_type) = match request.gid_index {
        Some(i) => (
            Some(i),
            table
                .iter()
                .find(|g| g.index == i)
                .and_then(|g| g.kind.clone()),
        ),
        None if infiniband => (None, None),
        None => {
            let g = roce_v2_gid(&table, local).ok_or_else(|| RdmaError::NoGid {
                device: port.device.clone(),
                port: port.port as u8,
                hint: format!(
                    " (its netdev {} needs an IPv4 address)",
                    port.netdev.as_deref().unwrap_or("?")
                ),
            })?;
            (Some(g.index), g.kind.clone())
        }
    };
    Ok(Choice {
        firmware: firmware_of(&port.device),
        port,
        selected_by,
        gid_index,
        gid_type,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let put = |p: &str, text: &str| {
            let path = dir.path().join(p);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        };
        let d = "sys/class/infiniband/rxe0/ports/1";
        put(&format!("{d}/state"), "4: ACTIVE\n");
        put(&format!("{d}/link_layer"), "Ethernet\n");
        put(&format!("{d}/gid_attrs/ndevs/0"), "dummy0\n");
        put(
            &format!("{d}/gids/0"),
            "fe80:0000:0000:0000:0000:00ff:fe00:0001\n",
        );
        put(&format!("{d}/gid_attrs/types/0"), "IB/RoCE v1\n");
        put(
            &format!("{d}/gids/1"),
            "fe80:0000:0000:0000:0000:00ff:fe00:0001\n",
        );
        put(&format!("{d}/gid_attrs/types/1"), "RoCE v2\n");
        put(
            &format!("{d}/gids/2"),
            "0000:0000:0000:0000:0000:ffff:0a00:020f\n",
        );
        put(&format!("{d}/gid_attrs/types/2"), "IB/RoCE v1\n");
        put(
            &format!("{d}/gids/3"),
            "0000:0000:0000:0000:0000:ffff:0a00:020f\n",
        );
        put(&format!("{d}/gid_attrs/types/3"), "RoCE v2\n");
        put(
            &format!("{d}/gids/4"),
            "0000:0000:0000:0000:0000:0000:0000:0000\n",
        );
        dir
    }

    #[test]
    fn the_only_port_and_its_roce_v2_ipv4_gid_are_chosen() {
        let dir = tree();
        let local: IpAddr = "192.0.2.1".parse().unwrap();
        let c = choose(dir.path(), &DeviceRequest::default(), local, Some("lo")).unwrap();
        assert_eq!(c.port.device, "rxe0");
        assert_eq!(c.selected_by, "only RDMA port on this host");
        assert_eq!(c.gid_index, Some(3));
        assert_eq!(c.gid_type.as_deref(), Some("RoCE v2"));
        assert_eq!(gid_table(&c.port).len(), 4, "the zero GID is skipped");
    }

    #[test]
    fn the_route_interface_picks_the_port_and_requests_are_checked() {
        let dir = tree();
        let local: IpAddr = "192.0.2.1".parse().unwrap();
        let c = choose(dir.path(), &DeviceRequest::default(), local, Some("dummy0")).unwrap();
        assert_eq!(c.selected_by, "route to the peer");
        let asked = DeviceRequest {
            device: Some("rxe0".into()),
            port: Some(1),
            gid_index: Some(1),
        };
        let c = choose(dir.path(), &asked, local, None).unwrap();
        assert_eq!((c.selected_by.as_str(), c.gid_index), ("--device", Some(1)));
        let missing = DeviceRequest {
            device: Some("mlx5_9".into()),
            ..Default::default()
        };
        let e = choose(dir.path(), &missing, local, None).unwrap_err();
        assert!(e.to_string().contains("\"mlx5_9\" not found"), "{e}");
        let bad_port = DeviceRequest {
            device: Some("rxe0".into()),
            port: Some(2),
            ..Default::default()
        };
        assert!(matches!(
            choose(dir.path(), &bad_port, local, None),
            Err(RdmaError::NoSuchPort { port: 2, .. })
        ));
        let empty = tempfile::tempdir().unwrap();
        assert!(matches!(
            choose(empty.path(), &DeviceRequest::default(), local, None),
            Err(RdmaError::NoDevice)
        ));
    }

    #[test]
    fn the_roce_v2_gid_of_the_local_address_wins_then_the_first_one() {
        let g = |index, gid: &str, kind: &str| GidEntry {
            index,
            gid: gid.parse().unwrap(),
            kind: Some(kind.into()),
        };
        let table = [
            g(0, "fe80::1", "RoCE v2"),
            g(1, "::ffff:10.0.2.15", "IB/RoCE v1"),
            g(2, "::ffff:10.0.2.15", "RoCE v2"),
            g(3, "::ffff:192.0.2.7", "RoCE v2"),
        ];
        let pick = |local: &str| roce_v2_gid(&table, local.parse().unwrap()).map(|g| g.index);
        assert_eq!(pick("192.0.2.7"), Some(3));
        assert_eq!(
            pick("::ffff:192.0.2.7"),
            Some(3),
            "an IPv4-mapped local address"
        );
        assert_eq!(pick("10.0.2.15"), Some(2), "RoCE v2, not v1");
        assert_eq!(
            pick("198.51.100.1"),
            Some(2),
            "else the first RoCE v2 IPv4 GID"
        );
        assert_eq!(pick("2001:db8::1"), Some(2));
        assert_eq!(roce_v2_gid(&table[..2], "10.0.2.15".parse().unwrap()), None);
    }

    #[test]
    fn infiniband_is_the_link_layer_that_says_so() {
        let dir = tree();
        let local: IpAddr = "192.0.2.1".parse().unwrap();
        let mut c = choose(dir.path(), &DeviceRequest::default(), local, None).unwrap();
        assert!(!c.infiniband());
        c.port.link_layer = Some("InfiniBand".into());
        assert!(c.infiniband());
    }

    #[test]
    fn sysfs_gids_parse() {
        assert_eq!(
            parse_sysfs_gid("0000:0000:0000:0000:0000:ffff:0a00:020f")
                .unwrap()
                .to_ipv4_mapped(),
            Some("10.0.2.15".parse().unwrap())
        );
        assert!(parse_sysfs_gid("fe80::1").is_none());
    }
}
