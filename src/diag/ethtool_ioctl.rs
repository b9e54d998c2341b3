//! The legacy ethtool ioctl (`SIOCETHTOOL`): driver and firmware names, the driver's statistics
//! (`ethtool -S`), and the module EEPROM fallback for drivers without the netlink page interface.
//!
//! The raw call is `ethtool_raw`, an `unsafe fn`: the kernel writes its reply through the pointer in
//! `struct ifreq`, and how much it writes depends on the command. Two kinds of command go through it:
//! - replies the request bounds (`GDRVINFO`, `GSSET_INFO`, `GMODULEINFO`, `GMODULEEEPROM`): `bounded`
//!   computes the kernel's reply size from the command word and the request's own fields and refuses a
//!   buffer shorter than that;
//! - `GSTRINGS` and `GSTATS`, whose reply size is the driver's count at the time of the call
//!   (net/ethtool/ioctl.c: `ethtool_get_strings` and `ethtool_get_stats` ask the driver, write that
//!   count back into the header's `len`/`n_stats` and copy that many entries). Kernels before upstream
//!   commit 7b07be1ff1cb (December 2025, backported to stable) ignore the count in the request, so a
//!   count that grew since `GSSET_INFO` (a channel change on a live NIC) writes past a buffer sized
//!   from the old one; kernels with it answer a nonzero request count that differs from the driver's
//!   with 0 entries. Both replies land in a `Guarded` mapping: room for half as many entries again
//!   as expected, then an inaccessible page at which the kernel's `copy_to_user` stops with `EFAULT`,
//!   so no reply can reach other memory. A reply that hit the guard, came back empty, or disagrees
//!   between names and values is read again from `GSSET_INFO` (three tries).

#![allow(unsafe_code)]

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::ptr::NonNull;

const SIOCETHTOOL: libc::c_ulong = 0x8946;
const ETHTOOL_GDRVINFO: u32 = 0x03;
const ETHTOOL_GSTRINGS: u32 = 0x1b;
const ETHTOOL_GSTATS: u32 = 0x1d;
const ETHTOOL_GSSET_INFO: u32 = 0x37;
const ETHTOOL_GMODULEINFO: u32 = 0x42;
const ETHTOOL_GMODULEEEPROM: u32 = 0x43;
const ETH_SS_STATS: u32 = 1;
const ETH_GSTRING_LEN: usize = 32;
/// `sizeof(struct ethtool_drvinfo)`.
const DRVINFO_LEN: usize = 196;
/// `sizeof(struct ethtool_sset_info)` without its `data[]`: cmd, reserved, u64 sset_mask.
const SSET_INFO_HEADER: usize = 16;
/// `sizeof(struct ethtool_modinfo)`: cmd, type, eeprom_len, reserved[8].
const MODINFO_LEN: usize = 44;
/// `sizeof(struct ethtool_eeprom)` without its `data[]`: cmd, magic, offset, len.
const EEPROM_HEADER: usize = 16;
/// `sizeof(struct ethtool_gstrings)` without its `data[]`: cmd, string_set, len.
const GSTRINGS_HEADER: usize = 12;
/// `sizeof(struct ethtool_stats)` without its `data[]`: cmd, n_stats.
const GSTATS_HEADER: usize = 8;
/// Drivers with thousands of statistics exist; more than this is treated as garbage.
const MAX_STATS: usize = 65_536;
/// Reads of the statistics before giving up on a count that keeps changing.
const ATTEMPTS: usize = 3;

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

/// Runs the ethtool command whose buffer (starting with the command word) is at `data`.
///
/// # Safety
/// `data` must be valid for reads of the command's request and for writes of every byte the kernel
/// writes back for that command (which for `GSTRINGS` and `GSTATS` depends on the driver at the time of
/// the call, not on the request), for the whole call, and no reference to that memory may be live
/// during it.
unsafe fn ethtool_raw(fd: BorrowedFd<'_>, name: &[u8; 16], data: *mut u8) -> io::Result<()> {
    let mut req = IfReq {
        name: *name,
        data: data.cast(),
        _pad: [0; 16],
    };
    // SAFETY: `fd` is borrowed, so open for the call; `req` is a `struct ifreq` with a NUL-terminated
    // name, live for the call; what the kernel writes through `req.data` is the caller's contract.
    let rc = unsafe { libc::ioctl(fd.as_raw_fd(), SIOCETHTOOL as _, &mut req as *mut IfReq) };
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// How many bytes the kernel writes back for a command whose reply the request bounds; `None` for any
/// other command. From net/ethtool/ioctl.c: `GDRVINFO` and `GMODULEINFO` copy their struct,
/// `GSSET_INFO` its header and one u32 per bit set in the requested mask, `GMODULEEEPROM` its header
/// and at most the `len` requested.
fn reply_len(request: &[u8]) -> Option<usize> {
    match u32_at(request, 0) {
        ETHTOOL_GDRVINFO => Some(DRVINFO_LEN),
        ETHTOOL_GMODULEINFO => Some(MODINFO_LEN),
        ETHTOOL_GSSET_INFO if request.len() >= SSET_INFO_HEADER => {
            let mask = u64::from_ne_bytes(request[8..16].try_into().expect("8 bytes"));
            Some(SSET_INFO_HEADER + 4 * mask.count_ones() as usize)
        }
        ETHTOOL_GMODULEEEPROM if request.len() >= EEPROM_HEADER => {
            Some(EEPROM_HEADER + u32_at(request, 12) as usize)
        }
        _ => None,
    }
}

/// Runs a command whose reply the request bounds (see [`reply_len`]) in `buf`.
fn bounded(dev: &Device, buf: &mut [u8]) -> io::Result<()> {
    match reply_len(buf) {
        Some(len) if len <= buf.len() => {
            // SAFETY: `buf` is an exclusive borrow, so no other reference is live, and it holds the
            // request and at least the `len` bytes the kernel writes back for this command.
            unsafe { ethtool_raw(dev.fd(), &dev.name, buf.as_mut_ptr()) }
        }
        _ => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "ethtool command buffer shorter than its reply",
        )),
    }
}

/// A socket for the ioctl and the interface's name as `struct ifreq` wants it.
struct Device {
    socket: socket2::Socket,
    name: [u8; 16],
}

impl Device {
    fn open(interface: &str) -> io::Result<Device> {
        if interface.is_empty() || interface.len() >= 16 || interface.contains('\0') {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "bad interface name",
            ));
        }
        let mut name = [0; 16];
        name[..interface.len()].copy_from_slice(interface.as_bytes());
        let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::DGRAM, None)?;
        Ok(Device { socket, name })
    }

    fn fd(&self) -> BorrowedFd<'_> {
        self.socket.as_fd()
    }

    /// `GSSET_INFO` for the statistics set: the driver's count, 0 when it has none.
    fn stats_count(&self) -> io::Result<usize> {
        let mut info = [0u8; SSET_INFO_HEADER + 4];
        info[..4].copy_from_slice(&ETHTOOL_GSSET_INFO.to_ne_bytes());
        info[8..16].copy_from_slice(&(1u64 << ETH_SS_STATS).to_ne_bytes());
        bounded(self, &mut info)?;
        let mask = u64::from_ne_bytes(info[8..16].try_into().expect("8 bytes"));
        Ok(if mask & (1 << ETH_SS_STATS) == 0 {
            0
        } else {
            u32_at(&info, 16) as usize
        })
    }

    /// Runs `GSTRINGS` or `GSTATS` (`request`, the header) into a guarded buffer with room for at least
    /// `capacity` entries of `entry` bytes. Returns the buffer and the count the kernel wrote back at
    /// `count_at`, or `None` when the driver's count no longer fits.
    fn counted(
        &self,
        request: &[u8],
        count_at: usize,
        entry: usize,
        capacity: usize,
    ) -> io::Result<Option<(Guarded, usize)>> {
        let mut buf = Guarded::new(request.len() + capacity * entry)?;
        buf.bytes_mut()[..request.len()].copy_from_slice(request);
        // SAFETY: `buf` is a mapping this function alone refers to (no reference into it is live), its
        // writable bytes hold the request, and an inaccessible page follows them: whatever count the
        // driver has now, the kernel writes only inside the mapping, and `copy_to_user` fails with
        // EFAULT at the guard page rather than write past it.
        match unsafe { ethtool_raw(self.fd(), &self.name, buf.as_mut_ptr()) } {
            Err(e) if e.raw_os_error() == Some(libc::EFAULT) => return Ok(None),
            other => other?,
        }
        let count = u32_at(buf.bytes(), count_at) as usize;
        let fits = count <= (buf.bytes().len() - request.len()) / entry;
        Ok(fits.then_some((buf, count)))
    }

    /// One read of names and values for `expected` (> 0) statistics; `None` when the driver's count is
    /// no longer `expected` or changed between the two calls.
    fn read_statistics(&self, expected: usize) -> io::Result<Option<Vec<(String, u64)>>> {
        let capacity = expected + expected / 2 + 16;
        let mut request = [0u8; GSTRINGS_HEADER];
        request[..4].copy_from_slice(&ETHTOOL_GSTRINGS.to_ne_bytes());
        request[4..8].copy_from_slice(&ETH_SS_STATS.to_ne_bytes());
        request[8..12].copy_from_slice(&(expected as u32).to_ne_bytes());
        let Some((names, n)) = self.counted(&request, 8, ETH_GSTRING_LEN, capacity)? else {
            return Ok(None);
        };
        let mut request = [0u8; GSTATS_HEADER];
        request[..4].copy_from_slice(&ETHTOOL_GSTATS.to_ne_bytes());
        request[4..8].copy_from_slice(&(expected as u32).to_ne_bytes());
        let Some((values, got)) = self.counted(&request, 4, 8, capacity)? else {
            return Ok(None);
        };
        // Kernels with 7b07be1ff1cb answer a count other than the driver's with 0 entries.
        if n == 0 || got != n {
            return Ok(None);
        }
        let (names, values) = (
            &names.bytes()[GSTRINGS_HEADER..],
            &values.bytes()[GSTATS_HEADER..],
        );
        Ok(Some(
            (0..n)
                .map(|i| {
                    let name = cstr(&names[i * ETH_GSTRING_LEN..(i + 1) * ETH_GSTRING_LEN])
                        .unwrap_or_else(|| format!("stat{i}"));
                    let v = u64::from_ne_bytes(values[i * 8..i * 8 + 8].try_into().expect("8"));
                    (name, v)
                })
                .collect(),
        ))
    }
}

/// Zeroed read-write pages followed by one inaccessible guard page, unmapped on drop.
struct Guarded {
    base: NonNull<u8>,
    /// The writable length, a whole number of pages.
    len: usize,
    page: usize,
}

impl Guarded {
    fn new(min_len: usize) -> io::Result<Guarded> {
        // SAFETY: sysconf reads a system constant and touches no memory of ours.
        let page = usize::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) })
            .ok()
            .filter(|&p| p > 0)
            .ok_or_else(|| io::Error::other("no page size from sysconf"))?;
        let len = min_len.max(1).div_ceil(page) * page;
        // SAFETY: a new private anonymous mapping at an address of the kernel's choosing: it overlaps
        // no memory that anything else refers to.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len + page,
                libc::PROT_NONE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if base == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let Some(base) = NonNull::new(base.cast::<u8>()) else {
            return Err(io::Error::other("mmap returned null"));
        };
        // From here on, drop unmaps the whole mapping.
        let guarded = Guarded { base, len, page };
        // SAFETY: the first `len` bytes are part of the mapping just made, which only `guarded` refers
        // to; the last page stays PROT_NONE.
        let rc = unsafe {
            libc::mprotect(
                base.as_ptr().cast(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
            )
        };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(guarded)
    }

    fn bytes(&self) -> &[u8] {
        // SAFETY: `base..base + len` is readable, zero-initialised (anonymous mapping) or written since,
        // and lives as long as `self`; `&self` rules out a concurrent `&mut`.
        unsafe { std::slice::from_raw_parts(self.base.as_ptr(), self.len) }
    }

    fn bytes_mut(&mut self) -> &mut [u8] {
        // SAFETY: as in `bytes`, and `&mut self` makes this the only reference.
        unsafe { std::slice::from_raw_parts_mut(self.base.as_ptr(), self.len) }
    }

    fn as_mut_ptr(&mut self) -> *mut u8 {
        self.base.as_ptr()
    }
}

impl Drop for Guarded {
    fn drop(&mut self) {
        // SAFETY: exactly the mapping `new` made (writable pages and guard page), which no reference
        // outlives: every borrow of it is tied to `self`.
        unsafe { libc::munmap(self.base.as_ptr().cast(), self.len + self.page) };
    }
}

fn u32_at(buf: &[u8], at: usize) -> u32 {
    buf.get(at..at + 4)
        .map(|b| u32::from_ne_bytes(b.try_into().expect("4 bytes")))
        .unwrap_or(0)
}

fn cstr(buf: &[u8]) -> Option<String> {
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    let s = String::from_utf8_lossy(&buf[..end]).trim().to_string();
    (!s.is_empty() && s != "N/A").then_some(s)
}

/// `ETHTOOL_GDRVINFO`.
pub fn driver_info(interface: &str) -> io::Result<DriverInfo> {
    let dev = Device::open(interface)?;
    let mut buf = [0u8; DRVINFO_LEN];
    buf[..4].copy_from_slice(&ETHTOOL_GDRVINFO.to_ne_bytes());
    bounded(&dev, &mut buf)?;
    Ok(DriverInfo {
        driver: cstr(&buf[4..36]),
        version: cstr(&buf[36..68]),
        firmware: cstr(&buf[68..100]),
        bus_info: cstr(&buf[100..132]),
    })
}

/// `ethtool -S`: every driver statistic by name.
pub fn statistics(interface: &str) -> io::Result<Vec<(String, u64)>> {
    let dev = Device::open(interface)?;
    for _ in 0..ATTEMPTS {
        let n = dev.stats_count()?;
        if n == 0 {
            return Ok(Vec::new());
        }
        if n > MAX_STATS {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("driver claims {n} statistics"),
            ));
        }
        if let Some(stats) = dev.read_statistics(n)? {
            return Ok(stats);
        }
    }
    Err(io::Error::other(format!(
        "the driver's statistics count changed during each of {ATTEMPTS} reads"
    )))
}

/// `ETHTOOL_GMODULEINFO` + `ETHTOOL_GMODULEEEPROM`: the whole legacy dump (256, 512 or 640 bytes).
pub fn module_eeprom(interface: &str) -> io::Result<Vec<u8>> {
    let dev = Device::open(interface)?;
    let mut info = [0u8; MODINFO_LEN];
    info[..4].copy_from_slice(&ETHTOOL_GMODULEINFO.to_ne_bytes());
    bounded(&dev, &mut info)?;
    let len = u32_at(&info, 8) as usize;
    if len == 0 || len > 4096 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("driver reports a {len}-byte module EEPROM"),
        ));
    }
    let mut buf = vec![0u8; EEPROM_HEADER + len];
    buf[..4].copy_from_slice(&ETHTOOL_GMODULEEEPROM.to_ne_bytes());
    buf[12..16].copy_from_slice(&(len as u32).to_ne_bytes());
    bounded(&dev, &mut buf)?;
    Ok(buf[EEPROM_HEADER..].to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

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

    #[test]
    fn bounded_replies_need_room_for_what_the_kernel_writes() {
        let mut info = [0u8; SSET_INFO_HEADER + 4];
        info[..4].copy_from_slice(&ETHTOOL_GSSET_INFO.to_ne_bytes());
        info[8..16].copy_from_slice(&0b110u64.to_ne_bytes());
        assert_eq!(reply_len(&info), Some(SSET_INFO_HEADER + 8));
        let dev = Device::open("lo").unwrap();
        let err = bounded(&dev, &mut info).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        let mut stats = [0u8; 64];
        stats[..4].copy_from_slice(&ETHTOOL_GSTATS.to_ne_bytes());
        assert_eq!(reply_len(&stats), None, "GSTATS goes through the guard");
        assert!(bounded(&dev, &mut stats).is_err());
    }

    /// A veth with many queues has more statistics than a page holds; `lo` has none.
    struct Veth(String);

    impl Veth {
        fn new() -> Veth {
            let name = format!("lbgd{}", std::process::id() % 100_000);
            let out = Command::new("ip")
                .args([
                    "link",
                    "add",
                    &name,
                    "numtxqueues",
                    "64",
                    "numrxqueues",
                    "64",
                ])
                .args(["type", "veth", "peer", "name", &format!("{name}p")])
                .output()
                .expect("iproute2 is installed (scripts/deps.sh)");
            assert!(
                out.status.success(),
                "creating a veth needs root: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            Veth(name)
        }
    }

    impl Drop for Veth {
        fn drop(&mut self) {
            let _ = Command::new("ip").args(["link", "del", &self.0]).status();
        }
    }

    #[test]
    fn a_count_that_outgrew_the_buffer_stops_at_the_guard_page_and_is_read_again() {
        assert!(statistics("lo").unwrap().is_empty());
        let veth = Veth::new();
        let dev = Device::open(&veth.0).unwrap();
        let n = dev.stats_count().unwrap();
        let page_holds = Guarded::new(1).unwrap().bytes().len() / ETH_GSTRING_LEN;
        assert!(
            n > page_holds,
            "{n} statistics fit one page: the test proves nothing"
        );
        // A request count of 0 asks every kernel for all of them: the reply overruns a one-page buffer
        // and stops at the guard page.
        let mut request = [0u8; GSTRINGS_HEADER];
        request[..4].copy_from_slice(&ETHTOOL_GSTRINGS.to_ne_bytes());
        request[4..8].copy_from_slice(&ETH_SS_STATS.to_ne_bytes());
        assert!(dev
            .counted(&request, 8, ETH_GSTRING_LEN, 1)
            .unwrap()
            .is_none());
        let mut request = [0u8; GSTATS_HEADER];
        request[..4].copy_from_slice(&ETHTOOL_GSTATS.to_ne_bytes());
        assert!(dev.counted(&request, 4, 8, 1).unwrap().is_none());
        // As if GSSET_INFO had said 1: newer kernels answer 0 entries, older ones overrun the page;
        // either way this read is refused and `statistics` reads again.
        assert_eq!(dev.read_statistics(1).unwrap(), None);
        let stats = statistics(&veth.0).unwrap();
        assert_eq!(stats.len(), n);
        assert_eq!(stats[0].0, "peer_ifindex");
    }
}
