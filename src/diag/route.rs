//! The interface that carries the route to a peer: found by asking the kernel which local address it would
//! use (a UDP `connect`, which sends nothing), then which interface holds that address. Its NIC's
//! NUMA-local CPUs (`device/local_cpulist`) are where data threads run best.

use crate::units::parse_cpu_list;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::path::Path;

/// The local interface used to reach the peer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct InterfaceFacts {
    /// Interface name (`eth0`, `lo`, ...), when one holds the local address.
    pub name: Option<String>,
    /// Local address of the connection.
    pub local_address: String,
    /// CPUs local to the interface's device; empty for virtual interfaces such as `lo`.
    pub local_cpus: Vec<usize>,
    pub mtu: Option<u32>,
}

/// The local address the kernel would use to reach `peer`.
pub fn local_address_for(peer: IpAddr) -> Option<IpAddr> {
    let bind: SocketAddr = match peer {
        IpAddr::V4(_) => "0.0.0.0:0".parse().ok()?,
        IpAddr::V6(_) => "[::]:0".parse().ok()?,
    };
    let socket = UdpSocket::bind(bind).ok()?;
    socket.connect(SocketAddr::new(peer, 9)).ok()?;
    socket.local_addr().ok().map(|a| a.ip())
}

/// The interface holding `address`.
pub fn interface_with_address(address: IpAddr) -> Option<String> {
    let address = match address {
        IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map(IpAddr::V4)
            .unwrap_or(IpAddr::V6(v6)),
        v4 => v4,
    };
    nix::ifaddrs::getifaddrs().ok()?.find_map(|ifa| {
        let sockaddr = ifa.address?;
        let ip = if let Some(v4) = sockaddr.as_sockaddr_in() {
            IpAddr::V4(v4.ip())
        } else if let Some(v6) = sockaddr.as_sockaddr_in6() {
            IpAddr::V6(v6.ip())
        } else {
            return None;
        };
        (ip == address).then_some(ifa.interface_name)
    })
}

/// Facts about the interface that carries traffic from `local` to `peer`, read under `root`. When the
/// peer's address belongs to this host, the kernel carries the traffic over `lo` whatever interface
/// holds the address, so that is the interface reported (and whose counters are read).
pub fn interface_facts(root: &Path, local: IpAddr, peer: IpAddr) -> InterfaceFacts {
    let peer_is_here = peer.is_loopback() || interface_with_address(peer).is_some();
    let name = if peer_is_here {
        loopback_name().or_else(|| interface_with_address(local))
    } else {
        interface_with_address(local)
    };
    let (local_cpus, mtu) = match &name {
        Some(n) => (
            nic_local_cpus(root, n).unwrap_or_default(),
            read_mtu(root, n),
        ),
        None => (Vec::new(), None),
    };
    InterfaceFacts {
        name,
        local_address: local.to_string(),
        local_cpus,
        mtu,
    }
}

/// CPUs local to the device behind interface `name`; `None` for virtual interfaces.
pub fn nic_local_cpus(root: &Path, name: &str) -> Option<Vec<usize>> {
    let text = std::fs::read_to_string(
        root.join("sys/class/net")
            .join(name)
            .join("device/local_cpulist"),
    )
    .ok()?;
    parse_cpu_list(text.trim()).ok()
}

/// The loopback interface's name (`lo` on Linux).
fn loopback_name() -> Option<String> {
    nix::ifaddrs::getifaddrs().ok()?.find_map(|ifa| {
        ifa.flags
            .contains(nix::net::if_::InterfaceFlags::IFF_LOOPBACK)
            .then_some(ifa.interface_name)
    })
}

fn read_mtu(root: &Path, name: &str) -> Option<u32> {
    std::fs::read_to_string(root.join("sys/class/net").join(name).join("mtu"))
        .ok()?
        .trim()
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_routes_through_lo_without_local_cpus() {
        let local = local_address_for("127.0.0.1".parse().unwrap()).unwrap();
        assert!(local.is_loopback());
        let facts = interface_facts(Path::new("/"), local, "127.0.0.1".parse().unwrap());
        assert_eq!(facts.name.as_deref(), Some("lo"));
        assert!(facts.local_cpus.is_empty());
    }

    #[test]
    fn a_peer_on_this_host_is_reached_over_lo_even_through_another_address() {
        // Any non-loopback address of this machine: traffic to it stays on lo.
        let Some(own) = nix::ifaddrs::getifaddrs().unwrap().find_map(|ifa| {
            let v4 = ifa.address?.as_sockaddr_in()?.ip();
            (!v4.is_loopback()).then_some(IpAddr::V4(v4))
        }) else {
            panic!("this test needs a non-loopback IPv4 address (the CI machine has eth0)");
        };
        let facts = interface_facts(Path::new("/"), own, own);
        assert_eq!(facts.name.as_deref(), Some("lo"));
    }

    #[test]
    fn nic_local_cpus_are_read_from_sysfs() {
        let dir = tempfile::tempdir().unwrap();
        let dev = dir.path().join("sys/class/net/ens1f0/device");
        std::fs::create_dir_all(&dev).unwrap();
        std::fs::write(dev.join("local_cpulist"), "0-7,16-23\n").unwrap();
        let cpus = nic_local_cpus(dir.path(), "ens1f0").unwrap();
        assert_eq!(cpus.len(), 16);
        assert_eq!(nic_local_cpus(dir.path(), "lo"), None);
    }
}
