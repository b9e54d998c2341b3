//! The legacy ethtool ioctl (`SIOCETHTOOL`): driver and firmware names, the driver's statistics
//! (`ethtool -S`), and the module EEPROM fallback for drivers without the netlink page interface.
//! The one `unsafe` block here is the ioctl call itself; every buffer is built and read as plain bytes.

#![allow(unsafe_code)]

use std::io;
use std::os::fd::AsRawFd;

const SIOCETHTOOL: libc::c_ulong = 0x8946;
const ETHTOOL_GDRVINFO: u32 = 0x03;
const ETHTOOL_GSTRINGS: u32 = 0x1b;
const ETHTOOL_GSTATS: u32 = 0x1d;
const ETHTOOL_GSSET_INFO: u32 = 0x37;
const ETHTOOL_GMODULEINFO: u32 = 0x42;
const ETHTOOL_GMODULEEEPROM: u32 = 0x43;
const ETH_SS_STATS: u32 = 1;
const ETH_GSTRING_LEN: usize = 32;
/// Drivers with thousands of statistics exist; more than this is treated as garbage.
const MAX_STATS: usize = 65_536;

/// What `ethtool -i` prints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DriverInfo {
    pub driver: Option<String>,
    pub version: Option<String>,
    pub firmware: Option<String>,
    pub bus_info: Option<String>,
}

/// `struct ifreq` with `ifr_data` pointing at an ethtool command buffer.
#[repr(C)]
struct IfReq {
    name: [u8; 16],
    data: *mut libc::c_void,
    _pad: [u8; 16],
}

/// Runs one ethtool command whose buffer (starting with the command word) is `buf`.
fn ethtool(interface: &str, buf: &mut [u8]) -> io::Result<()> {
    if interface.is_empty() || interface.len() >= 16 || interface.contains('\0') {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "bad interface name",
        ));
    }
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::DGRAM, None)?;
    let mut req = IfReq {
        name: [0; 16],
        data: buf.as_mut_ptr().cast(),
        _pad: [0; 16],
    };
    req.name[..interface.len()].copy_from_slice(interface.as_bytes());
    // SAFETY: `req` is a properly laid out `struct ifreq` whose name is NUL-terminated and whose data
    // pointer refers to `buf`, which lives across the call and is as long as the command it starts
    // with requires (every caller sizes it from the command's own length fields). The kernel writes only
    // within that length.
    let rc = unsafe { libc::ioctl(socket.as_raw_fd(), SIOCETHTOOL as _, &mut req as *mut IfReq) };
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

fn u32_at(buf: &[u8], at: usize) -> u32 {
    u32::from_ne_bytes(buf[at..at + 4].try_into().expect("4 bytes"))
}

fn cstr(buf: &[u8]) -> Option<String> {
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    let s = String::from_utf8_lossy(&buf[..end]).trim().to_string();
    (!s.is_empty() && s != "N/A").then_some(s)
}

/// `ETHTOOL_GDRVINFO`.
pub fn driver_info(interface: &str) -> io::Result<DriverInfo> {
    let mut buf = vec![0u8; 196];
    buf[..4].copy_from_slice(&ETHTOOL_GDRVINFO.to_ne_bytes());
    ethtool(interface, &mut buf)?;
    Ok(DriverInfo {
        driver: cstr(&buf[4..36]),
        version: cstr(&buf[36..68]),
        firmware: cstr(&buf[68..100]),
        bus_info: cstr(&buf[100..132]),
    })
}

/// `ethtool -S`: every driver statistic by name.
pub fn statistics(interface: &str) -> io::Result<Vec<(String, u64)>> {
    // struct ethtool_sset_info { cmd, reserved, u64 sset_mask, u32 data[] }
    let mut info = vec![0u8; 20];
    info[..4].copy_from_slice(&ETHTOOL_GSSET_INFO.to_ne_bytes());
    info[8..16].copy_from_slice(&(1u64 << ETH_SS_STATS).to_ne_bytes());
    ethtool(interface, &mut info)?;
    let mask = u64::from_ne_bytes(info[8..16].try_into().expect("8 bytes"));
    if mask & (1 << ETH_SS_STATS) == 0 {
        return Ok(Vec::new());
    }
    let n = u32_at(&info, 16) as usize;
    if n == 0 {
        return Ok(Vec::new());
    }
    if n > MAX_STATS {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("driver claims {n} statistics"),
        ));
    }
    let mut names = vec![0u8; 12 + n * ETH_GSTRING_LEN];
    names[..4].copy_from_slice(&ETHTOOL_GSTRINGS.to_ne_bytes());
    names[4..8].copy_from_slice(&ETH_SS_STATS.to_ne_bytes());
    names[8..12].copy_from_slice(&(n as u32).to_ne_bytes());
    ethtool(interface, &mut names)?;
    let mut values = vec![0u8; 8 + n * 8];
    values[..4].copy_from_slice(&ETHTOOL_GSTATS.to_ne_bytes());
    values[4..8].copy_from_slice(&(n as u32).to_ne_bytes());
    ethtool(interface, &mut values)?;
    let got = (u32_at(&values, 4) as usize).min(n);
    Ok((0..got)
        .map(|i| {
            let name = cstr(&names[12 + i * ETH_GSTRING_LEN..12 + (i + 1) * ETH_GSTRING_LEN])
                .unwrap_or_else(|| format!("stat{i}"));
            let v = u64::from_ne_bytes(values[8 + i * 8..16 + i * 8].try_into().expect("8 bytes"));
            (name, v)
        })
        .collect())
}

/// `ETHTOOL_GMODULEINFO` + `ETHTOOL_GMODULEEEPROM`: the whole legacy dump (256, 512 or 640 bytes).
pub fn module_eeprom(interface: &str) -> io::Result<Vec<u8>> {
    // struct ethtool_modinfo { cmd, type, eeprom_len, reserved[8] }
    let mut info = vec![0u8; 44];
    info[..4].copy_from_slice(&ETHTOOL_GMODULEINFO.to_ne_bytes());
    ethtool(interface, &mut info)?;
    let len = u32_at(&info, 8) as usize;
    if len == 0 || len > 4096 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("driver reports a {len}-byte module EEPROM"),
        ));
    }
    // struct ethtool_eeprom { cmd, magic, offset, len, data[] }
    let mut buf = vec![0u8; 16 + len];
    buf[..4].copy_from_slice(&ETHTOOL_GMODULEEEPROM.to_ne_bytes());
    buf[12..16].copy_from_slice(&(len as u32).to_ne_bytes());
    ethtool(interface, &mut buf)?;
    Ok(buf[16..].to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_interface_is_named_by_the_kernel() {
        let err = driver_info("lbnosuchif0").unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::ENODEV), "{err}");
    }

    #[test]
    fn bad_names_are_refused_before_the_kernel() {
        assert_eq!(
            driver_info("a-name-far-too-long-for-ifreq")
                .unwrap_err()
                .kind(),
            io::ErrorKind::InvalidInput
        );
        assert_eq!(
            driver_info("").unwrap_err().kind(),
            io::ErrorKind::InvalidInput
        );
    }
}
