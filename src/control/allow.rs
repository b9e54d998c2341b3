//! `--allow CIDR`: which peer addresses may connect. Checked at accept, before a single byte is read.
//!
//! IPv4 has two spellings: `192.0.2.7`, and `::ffff:192.0.2.7` as an IPv4 client appears on an IPv6
//! socket. Both sides are normalised: a peer in the mapped form is matched as IPv4, an allowed network
//! written in the mapped form (`::ffff:127.0.0.1/128`, `::ffff:0:0/96`) becomes the IPv4 network it
//! names, and an IPv6 network that covers the whole mapped range (`::/0`) also allows every IPv4 peer.

use ipnet::IpNet;
use std::net::IpAddr;
use thiserror::Error;

/// A CIDR that could not be parsed.
#[derive(Debug, Error, PartialEq, Eq)]
#[error(
    "invalid --allow value '{0}': use an address or CIDR such as 10.0.0.0/8, 192.0.2.7 or fd00::/8"
)]
pub struct AllowParseError(pub String);

/// Parses `10.0.0.0/8`, `192.0.2.7` (one host) or `fd00::/8`.
pub fn parse_allow(text: &str) -> Result<IpNet, AllowParseError> {
    let t = text.trim();
    let net = match t.parse::<IpNet>() {
        Ok(net) => net.trunc(),
        Err(_) => t
            .parse::<IpAddr>()
            .map(IpNet::from)
            .map_err(|_| AllowParseError(text.to_string()))?,
    };
    Ok(unmap(net))
}

/// The IPv4 network an IPv4-mapped IPv6 network names (`::ffff:10.0.0.0/104` is `10.0.0.0/8`); any other
/// network unchanged.
fn unmap(net: IpNet) -> IpNet {
    let IpNet::V6(v6) = net else { return net };
    match (
        v6.network().to_ipv4_mapped(),
        v6.prefix_len().checked_sub(96),
    ) {
        (Some(v4), Some(prefix)) => ipnet::Ipv4Net::new(v4, prefix)
            .map(IpNet::V4)
            .unwrap_or(net),
        _ => net,
    }
}

/// The mapped form of every IPv4 address, `::ffff:0:0/96`.
fn mapped_range() -> ipnet::Ipv6Net {
    ipnet::Ipv6Net::new(std::net::Ipv4Addr::UNSPECIFIED.to_ipv6_mapped(), 96).expect("valid prefix")
}

/// Whether `peer` may connect; an empty list allows everyone.
pub fn is_allowed(allow: &[IpNet], peer: IpAddr) -> bool {
    if allow.is_empty() {
        return true;
    }
    let peer = match peer {
        IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map(IpAddr::V4)
            .unwrap_or(IpAddr::V6(v6)),
        v4 => v4,
    };
    allow.iter().any(|net| match (net, peer) {
        // An IPv6 network that covers the whole mapped range allows every IPv4 peer (`::/0`).
        (IpNet::V6(v6), IpAddr::V4(v4)) => {
            v6.contains(&mapped_range()) || v6.contains(&v4.to_ipv6_mapped())
        }
        _ => net.contains(&peer),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidrs_and_hosts_match() {
        let allow = vec![
            parse_allow("10.77.0.0/24").unwrap(),
            parse_allow("127.0.0.1").unwrap(),
        ];
        assert!(is_allowed(&allow, "10.77.0.9".parse().unwrap()));
        assert!(is_allowed(&allow, "127.0.0.1".parse().unwrap()));
        assert!(
            is_allowed(&allow, "::ffff:10.77.0.3".parse().unwrap()),
            "v4-mapped is IPv4"
        );
        assert!(!is_allowed(&allow, "10.78.0.1".parse().unwrap()));
        assert!(!is_allowed(&allow, "::1".parse().unwrap()));
        assert!(
            is_allowed(&[], "192.0.2.1".parse().unwrap()),
            "no list allows all"
        );
    }

    #[test]
    fn ipv4_in_its_mapped_form_is_ipv4_on_both_sides() {
        let host = parse_allow("::ffff:127.0.0.1/128").unwrap();
        assert_eq!(host.to_string(), "127.0.0.1/32");
        assert_eq!(
            parse_allow("::ffff:127.0.0.1").unwrap().to_string(),
            "127.0.0.1/32"
        );
        assert_eq!(
            parse_allow("::ffff:0:0/96").unwrap().to_string(),
            "0.0.0.0/0"
        );
        assert_eq!(
            parse_allow("::ffff:10.1.0.0/112").unwrap().to_string(),
            "10.1.0.0/16"
        );
        let v4: IpAddr = "127.0.0.1".parse().unwrap();
        let mapped: IpAddr = "::ffff:127.0.0.1".parse().unwrap();
        for peer in [v4, mapped] {
            assert!(is_allowed(&[host], peer), "{peer}");
            assert!(
                is_allowed(&[parse_allow("::/0").unwrap()], peer),
                "::/0 allows {peer}"
            );
            assert!(is_allowed(&[parse_allow("::ffff:0:0/96").unwrap()], peer));
        }
        // An IPv6 network that does not cover the mapped range still excludes IPv4 peers.
        assert!(!is_allowed(&[parse_allow("fd00::/8").unwrap()], v4));
        assert!(!is_allowed(&[parse_allow("8000::/1").unwrap()], mapped));
        assert!(
            is_allowed(&[parse_allow("::/1").unwrap()], mapped),
            "::/1 covers the mapped range"
        );
    }

    #[test]
    fn bad_cidrs_are_refused() {
        for bad in ["", "10.0.0.0/33", "hostname", "10.0.0/8", "::1/200"] {
            assert!(parse_allow(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_allow("10.1.2.3/8").unwrap().to_string(), "10.0.0.0/8");
    }
}
