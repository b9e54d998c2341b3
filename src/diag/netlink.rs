//! A small generic-netlink client for the ethtool family: FEC statistics (`ETHTOOL_MSG_FEC_GET` with
//! `ETHTOOL_FLAG_STATS`, which the `ethtool` crate cannot ask for) and module EEPROM pages
//! (`ETHTOOL_MSG_MODULE_EEPROM_GET`, 128 bytes per request). Messages are encoded and parsed here by hand;
//! no `unsafe` is needed because a netlink socket's plain `send` goes to the kernel, and every read of a
//! reply is bounds-checked.
//!
//! Why the request/ACK/sequence framing is ours (about 100 lines) and not a crate's, after trying them:
//! - neli 0.7 (tried: a scratch client resolved the family and got the same EOPNOTSUPP for `lo` and
//!   ENODEV for a missing interface) would replace it with about 40 lines, but its `NlRouter` starts a
//!   processing thread with an epoll and an eventfd per socket (one per counter snapshot here), closed
//!   asynchronously after drop; its receive has no timeout, where ours gives up after 2 s; it brings about
//!   20 crates (derive_builder and darling, getset, parking_lot, its own proc macros), and its API was
//!   rewritten from 0.6 to 0.7. Its attribute builders are longer than `put_attr`, so the ethtool
//!   requests would not shrink.
//! - netlink-packet-generic/-core with netlink-sys encode and decode the headers but leave the
//!   send-and-wait-for-ACK loop and the sequence check to the caller, so the loop below would stay, with
//!   a family trait implemented around it; netlink-packet-core has had three breaking releases (0.7,
//!   0.8, 0.9).
//!
//! The ethtool attribute parsing ([`attrs`], [`parse_fec_stats`]) is ours either way: no crate parses
//! FEC statistics or module EEPROM replies.

use std::collections::BTreeMap;
use std::io::{self, Read};
use std::time::Duration;

const NETLINK_GENERIC: i32 = 16;
const GENL_ID_CTRL: u16 = 0x10;
const CTRL_CMD_GETFAMILY: u8 = 3;
const CTRL_ATTR_FAMILY_ID: u16 = 1;
const CTRL_ATTR_FAMILY_NAME: u16 = 2;
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const NLM_F_REQUEST: u16 = 1;
const NLM_F_ACK: u16 = 4;
const NLA_F_NESTED: u16 = 0x8000;
const NLA_TYPE_MASK: u16 = 0x3fff;

const ETHTOOL_MSG_FEC_GET: u8 = 29;
const ETHTOOL_MSG_MODULE_EEPROM_GET: u8 = 31;
const ETHTOOL_A_HEADER_DEV_NAME: u16 = 2;
const ETHTOOL_A_HEADER_FLAGS: u16 = 3;
const ETHTOOL_FLAG_STATS: u32 = 1 << 2;
const ETHTOOL_A_FEC_HEADER: u16 = 1;
const ETHTOOL_A_FEC_STATS: u16 = 5;
const ETHTOOL_A_FEC_STAT_CORRECTED: u16 = 2;
const ETHTOOL_A_FEC_STAT_UNCORR: u16 = 3;
const ETHTOOL_A_FEC_STAT_CORR_BITS: u16 = 4;
const ETHTOOL_A_FEC_STAT_HIST: u16 = 5;
const ETHTOOL_A_FEC_HIST_BIN_LOW: u16 = 2;
const ETHTOOL_A_FEC_HIST_BIN_HIGH: u16 = 3;
const ETHTOOL_A_FEC_HIST_BIN_VAL: u16 = 4;
const ETHTOOL_A_MODULE_EEPROM_HEADER: u16 = 1;
const ETHTOOL_A_MODULE_EEPROM_OFFSET: u16 = 2;
const ETHTOOL_A_MODULE_EEPROM_LENGTH: u16 = 3;
const ETHTOOL_A_MODULE_EEPROM_PAGE: u16 = 4;
const ETHTOOL_A_MODULE_EEPROM_BANK: u16 = 5;
const ETHTOOL_A_MODULE_EEPROM_I2C_ADDRESS: u16 = 6;
const ETHTOOL_A_MODULE_EEPROM_DATA: u16 = 7;
/// "Not set" in the kernel's ethtool statistics.
const STAT_NOT_SET: u64 = u64::MAX;

/// One attribute: type (flags masked off) and payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attr<'a> {
    pub kind: u16,
    pub payload: &'a [u8],
}

/// Splits a run of netlink attributes; a malformed tail ends the list.
pub fn attrs(mut data: &[u8]) -> Vec<Attr<'_>> {
    let mut out = Vec::new();
    while data.len() >= 4 {
        let len = u16::from_ne_bytes([data[0], data[1]]) as usize;
        let kind = u16::from_ne_bytes([data[2], data[3]]) & NLA_TYPE_MASK;
        if len < 4 || len > data.len() {
            break;
        }
        out.push(Attr {
            kind,
            payload: &data[4..len],
        });
        let padded = (len + 3) & !3;
        data = data.get(padded..).unwrap_or(&[]);
    }
    out
}

fn put_attr(buf: &mut Vec<u8>, kind: u16, payload: &[u8]) {
    let len = 4 + payload.len();
    buf.extend_from_slice(&(len as u16).to_ne_bytes());
    buf.extend_from_slice(&kind.to_ne_bytes());
    buf.extend_from_slice(payload);
    buf.resize((buf.len() + 3) & !3, 0);
}

/// The ethtool request header nest: device name and flags.
fn header(interface: &str, flags: u32) -> Vec<u8> {
    let mut nest = Vec::new();
    let mut name = interface.as_bytes().to_vec();
    name.push(0);
    put_attr(&mut nest, ETHTOOL_A_HEADER_DEV_NAME, &name);
    if flags != 0 {
        put_attr(&mut nest, ETHTOOL_A_HEADER_FLAGS, &flags.to_ne_bytes());
    }
    nest
}

/// A generic-netlink socket with a sequence counter.
struct GenlSocket {
    socket: socket2::Socket,
    seq: u32,
}

impl GenlSocket {
    fn open() -> io::Result<GenlSocket> {
        let socket = socket2::Socket::new(
            socket2::Domain::from(libc::AF_NETLINK),
            socket2::Type::RAW,
            Some(socket2::Protocol::from(NETLINK_GENERIC)),
        )?;
        socket.set_read_timeout(Some(Duration::from_secs(2)))?;
        Ok(GenlSocket { socket, seq: 1 })
    }

    /// Sends one request and returns the payloads (after the genl header) of its replies.
    fn request(
        &mut self,
        family: u16,
        cmd: u8,
        version: u8,
        attrs: &[u8],
    ) -> io::Result<Vec<Vec<u8>>> {
        self.seq += 1;
        let seq = self.seq;
        let mut msg = Vec::with_capacity(20 + attrs.len());
        msg.extend_from_slice(&((20 + attrs.len()) as u32).to_ne_bytes());
        msg.extend_from_slice(&family.to_ne_bytes());
        msg.extend_from_slice(&(NLM_F_REQUEST | NLM_F_ACK).to_ne_bytes());
        msg.extend_from_slice(&seq.to_ne_bytes());
        msg.extend_from_slice(&0u32.to_ne_bytes());
        msg.extend_from_slice(&[cmd, version, 0, 0]);
        msg.extend_from_slice(attrs);
        self.socket.send(&msg)?;
        let mut replies = Vec::new();
        let mut buf = vec![0u8; 65_536];
        loop {
            let n = (&self.socket).read(&mut buf)?;
            let mut data = &buf[..n];
            while data.len() >= 16 {
                let len = u32::from_ne_bytes(data[0..4].try_into().expect("4")) as usize;
                let kind = u16::from_ne_bytes([data[4], data[5]]);
                let their_seq = u32::from_ne_bytes(data[8..12].try_into().expect("4"));
                if len < 16 || len > data.len() {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        "truncated netlink message",
                    ));
                }
                let body = &data[16..len];
                if their_seq == seq {
                    match kind {
                        NLMSG_ERROR => {
                            let code = body
                                .get(0..4)
                                .map(|b| i32::from_ne_bytes(b.try_into().expect("4")))
                                .unwrap_or(-libc::EPROTO);
                            return if code == 0 {
                                Ok(replies)
                            } else {
                                Err(io::Error::from_raw_os_error(-code))
                            };
                        }
                        NLMSG_DONE => return Ok(replies),
                        _ => replies.push(body.get(4..).unwrap_or(&[]).to_vec()),
                    }
                }
                data = data.get((len + 3) & !3..).unwrap_or(&[]);
            }
        }
    }

    /// The id of a generic-netlink family.
    fn family(&mut self, name: &str) -> io::Result<u16> {
        let mut payload = Vec::new();
        let mut z = name.as_bytes().to_vec();
        z.push(0);
        put_attr(&mut payload, CTRL_ATTR_FAMILY_NAME, &z);
        let replies = self.request(GENL_ID_CTRL, CTRL_CMD_GETFAMILY, 1, &payload)?;
        replies
            .iter()
            .flat_map(|r| attrs(r))
            .find(|a| a.kind == CTRL_ATTR_FAMILY_ID && a.payload.len() >= 2)
            .map(|a| u16::from_ne_bytes([a.payload[0], a.payload[1]]))
            .ok_or_else(|| {
                io::Error::new(io::ErrorKind::NotFound, format!("no {name} netlink family"))
            })
    }
}

/// An open connection to the kernel's ethtool netlink family.
pub struct Ethtool {
    socket: GenlSocket,
    family: u16,
}

impl Ethtool {
    /// Opens a socket and resolves the family (kernel 5.6 and later).
    pub fn open() -> io::Result<Ethtool> {
        let mut socket = GenlSocket::open()?;
        let family = socket.family("ethtool")?;
        Ok(Ethtool { socket, family })
    }

    /// FEC statistics: `corrected_blocks`, `uncorrectable_blocks`, `corrected_bits` totals, the same per
    /// lane (`..._lane0`, ...), and histogram bins (`hist_LOW_HIGH`) where the kernel has them. An empty
    /// map means the driver answered without statistics.
    pub fn fec_stats(&mut self, interface: &str) -> io::Result<BTreeMap<String, u64>> {
        let mut payload = Vec::new();
        put_attr(
            &mut payload,
            ETHTOOL_A_FEC_HEADER | NLA_F_NESTED,
            &header(interface, ETHTOOL_FLAG_STATS),
        );
        let replies = self
            .socket
            .request(self.family, ETHTOOL_MSG_FEC_GET, 1, &payload)?;
        let mut out = BTreeMap::new();
        for reply in &replies {
            for stats in attrs(reply)
                .into_iter()
                .filter(|a| a.kind == ETHTOOL_A_FEC_STATS)
            {
                parse_fec_stats(stats.payload, &mut out);
            }
        }
        Ok(out)
    }

    /// Up to 128 bytes of module EEPROM at `offset` of `page`/`bank` of I2C address `i2c`.
    pub fn module_eeprom(
        &mut self,
        interface: &str,
        i2c: u8,
        page: u8,
        bank: u8,
        offset: u32,
        length: u32,
    ) -> io::Result<Vec<u8>> {
        let mut payload = Vec::new();
        put_attr(
            &mut payload,
            ETHTOOL_A_MODULE_EEPROM_HEADER | NLA_F_NESTED,
            &header(interface, 0),
        );
        put_attr(
            &mut payload,
            ETHTOOL_A_MODULE_EEPROM_OFFSET,
            &offset.to_ne_bytes(),
        );
        put_attr(
            &mut payload,
            ETHTOOL_A_MODULE_EEPROM_LENGTH,
            &length.to_ne_bytes(),
        );
        put_attr(&mut payload, ETHTOOL_A_MODULE_EEPROM_PAGE, &[page]);
        put_attr(&mut payload, ETHTOOL_A_MODULE_EEPROM_BANK, &[bank]);
        put_attr(&mut payload, ETHTOOL_A_MODULE_EEPROM_I2C_ADDRESS, &[i2c]);
        let replies =
            self.socket
                .request(self.family, ETHTOOL_MSG_MODULE_EEPROM_GET, 1, &payload)?;
        replies
            .iter()
            .flat_map(|r| attrs(r))
            .find(|a| a.kind == ETHTOOL_A_MODULE_EEPROM_DATA)
            .map(|a| a.payload.to_vec())
            .ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    "module EEPROM reply without data",
                )
            })
    }
}

/// Reads the `ETHTOOL_A_FEC_STATS` nest into named totals and per-lane values.
pub fn parse_fec_stats(nest: &[u8], out: &mut BTreeMap<String, u64>) {
    for a in attrs(nest) {
        let name = match a.kind {
            ETHTOOL_A_FEC_STAT_CORRECTED => "corrected_blocks",
            ETHTOOL_A_FEC_STAT_UNCORR => "uncorrectable_blocks",
            ETHTOOL_A_FEC_STAT_CORR_BITS => "corrected_bits",
            ETHTOOL_A_FEC_STAT_HIST => {
                parse_fec_bin(a.payload, out);
                continue;
            }
            _ => continue,
        };
        // An array of u64: the total, then one per lane.
        for (i, chunk) in a.payload.chunks_exact(8).enumerate() {
            let v = u64::from_ne_bytes(chunk.try_into().expect("8 bytes"));
            if v == STAT_NOT_SET {
                continue;
            }
            let key = if i == 0 {
                name.to_string()
            } else {
                format!("{name}_lane{}", i - 1)
            };
            out.insert(key, v);
        }
    }
}

fn parse_fec_bin(nest: &[u8], out: &mut BTreeMap<String, u64>) {
    let (mut low, mut high, mut value) = (None, None, None);
    for a in attrs(nest) {
        let u32v = || {
            a.payload
                .get(0..4)
                .map(|b| u32::from_ne_bytes(b.try_into().expect("4")))
        };
        match a.kind {
            ETHTOOL_A_FEC_HIST_BIN_LOW => low = u32v(),
            ETHTOOL_A_FEC_HIST_BIN_HIGH => high = u32v(),
            ETHTOOL_A_FEC_HIST_BIN_VAL => {
                value = a
                    .payload
                    .get(0..8)
                    .map(|b| u64::from_ne_bytes(b.try_into().expect("8")))
            }
            _ => {}
        }
    }
    if let (Some(l), Some(h), Some(v)) = (low, high, value) {
        out.insert(format!("hist_{l}_{h}"), v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u64s(values: &[u64]) -> Vec<u8> {
        values.iter().flat_map(|v| v.to_ne_bytes()).collect()
    }

    #[test]
    fn fec_statistics_are_read_as_totals_and_lanes() {
        let mut nest = Vec::new();
        put_attr(
            &mut nest,
            ETHTOOL_A_FEC_STAT_CORRECTED,
            &u64s(&[30, 10, 20, STAT_NOT_SET]),
        );
        put_attr(&mut nest, ETHTOOL_A_FEC_STAT_UNCORR, &u64s(&[2]));
        put_attr(&mut nest, ETHTOOL_A_FEC_STAT_CORR_BITS, &u64s(&[4000]));
        let mut bin = Vec::new();
        put_attr(&mut bin, ETHTOOL_A_FEC_HIST_BIN_LOW, &1u32.to_ne_bytes());
        put_attr(&mut bin, ETHTOOL_A_FEC_HIST_BIN_HIGH, &3u32.to_ne_bytes());
        put_attr(&mut bin, ETHTOOL_A_FEC_HIST_BIN_VAL, &u64s(&[77]));
        put_attr(&mut nest, ETHTOOL_A_FEC_STAT_HIST | NLA_F_NESTED, &bin);
        let mut out = BTreeMap::new();
        parse_fec_stats(&nest, &mut out);
        assert_eq!(out["corrected_blocks"], 30);
        assert_eq!(out["corrected_blocks_lane0"], 10);
        assert_eq!(out["corrected_blocks_lane1"], 20);
        assert!(!out.contains_key("corrected_blocks_lane2"));
        assert_eq!(out["uncorrectable_blocks"], 2);
        assert_eq!(out["corrected_bits"], 4000);
        assert_eq!(out["hist_1_3"], 77);
    }

    #[test]
    fn malformed_attributes_end_the_list_without_panicking() {
        assert!(attrs(&[0xff, 0xff, 1, 0, 9]).is_empty());
        assert!(attrs(&[2, 0, 1, 0]).is_empty());
        let mut out = BTreeMap::new();
        parse_fec_stats(&[8, 0, 2, 0, 1, 2, 3], &mut out);
        assert!(out.is_empty());
    }

    #[test]
    fn the_kernel_answers_for_a_real_interface() {
        // Every kernel since 5.6 has the family; `lo` has no FEC, so the answer is an errno, never a hang.
        let mut e = Ethtool::open().expect("the ethtool netlink family (kernel 5.6 or later)");
        match e.fec_stats("lo") {
            Ok(map) => assert!(map.is_empty(), "lo reported FEC statistics: {map:?}"),
            Err(err) => assert!(err.raw_os_error().is_some(), "{err}"),
        }
        let err = e.fec_stats("lbnosuchif0").unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::ENODEV), "{err}");
    }
}
