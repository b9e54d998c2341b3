//! `--allow CIDR`: which peer addresses may connect. Checked at accept, before a single byte is read; an
//! IPv4 client seen on an IPv6 socket (`::ffff:a.b.c.d`) is matched as IPv4.

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
    if let Ok(net) = t.parse::<IpNet>() {
        return Ok(net.trunc());
    }
    t.parse::<IpAddr>()
        .map(IpNet::from)
        .map_err(|_| AllowParseError(text.to_string()))
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
    allow.iter().any(|net| net.contains(&peer))
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
    fn bad_cidrs_are_refused() {
        for bad in ["", "10.0.0.0/33", "hostname", "10.0.0/8", "::1/200"] {
            assert!(parse_allow(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_allow("10.1.2.3/8").unwrap().to_string(), "10.0.0.0/8");
    }
}
