//! TCP_ZEROCOPY_RECEIVE: the kernel maps whole pages of a socket's receive queue into a region the
//! receiver mapped on the socket, instead of copying them (Linux 4.18+). What it cannot map (payload
//! not page-aligned in the socket buffer, less than a page queued) it names in `recv_skip_hint`, and
//! the caller copies those bytes with an ordinary `recv()`. Loopback rarely has page-aligned payload, so
//! there most bytes are copied; real NICs with header split and page-sized payloads map them.
//!
//! Two raw calls, because neither nix 0.29 nor socket2 0.5 has them: `mmap` of the socket and
//! `getsockopt(TCP_ZEROCOPY_RECEIVE)`; each `unsafe` block says why it is sound.

#![allow(unsafe_code)]

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};

/// `TCP_ZEROCOPY_RECEIVE` from `<linux/tcp.h>`.
const TCP_ZEROCOPY_RECEIVE: libc::c_int = 35;

/// `struct tcp_zerocopy_receive` as Linux 5.11+ defines it; older kernels read the prefix they know.
#[repr(C)]
#[derive(Debug, Default, Clone, Copy)]
struct ZeroCopyReceive {
    address: u64,
    length: u32,
    recv_skip_hint: u32,
    inq: u32,
    err: i32,
    copybuf_address: u64,
    copybuf_len: i32,
    flags: u32,
    msg_control: u64,
    msg_controllen: u64,
    msg_flags: u32,
    reserved: u32,
}

/// What one zero-copy receive call did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mapped {
    /// Bytes now readable at the start of the region.
    pub mapped: usize,
    /// Bytes at the head of the queue the kernel could not map: read them with `recv()`.
    pub copy_next: usize,
}

/// A read-only region mapped on one socket, which the kernel fills with receive-queue pages.
#[derive(Debug)]
pub struct ZeroCopyRegion {
    address: *mut libc::c_void,
    length: usize,
    /// Bytes the last `receive` mapped: only these may be read (the rest of the region has no pages,
    /// and reading it would fault).
    mapped: usize,
}

// SAFETY: the region is plain memory owned by this value (unmapped in Drop); the raw pointer is only an
// address, and no other handle refers to it, so moving the owner to another thread is sound.
unsafe impl Send for ZeroCopyRegion {}

impl ZeroCopyRegion {
    /// Maps `length` bytes (rounded up to whole pages) on the socket `fd`.
    pub fn map(fd: BorrowedFd<'_>, length: usize) -> io::Result<ZeroCopyRegion> {
        let page = 4096usize;
        let length = length.div_ceil(page).max(1) * page;
        // SAFETY: a fresh shared read-only mapping chosen by the kernel (null hint), on a borrowed fd
        // that is open for the call; nothing else is at that address until we unmap it in Drop.
        let address = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                length,
                libc::PROT_READ,
                libc::MAP_SHARED,
                fd.as_raw_fd(),
                0,
            )
        };
        if address == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        Ok(ZeroCopyRegion {
            address,
            length,
            mapped: 0,
        })
    }

    /// Asks the kernel to map what the receive queue holds (up to the region's length) into the region;
    /// pages mapped by the previous call are unmapped first (by the kernel), so a slice from
    /// [`ZeroCopyRegion::bytes`] must not outlive the next call, which the borrow checker enforces.
    pub fn receive(&mut self, fd: BorrowedFd<'_>) -> io::Result<Mapped> {
        self.mapped = 0;
        let mut zc = ZeroCopyReceive {
            address: self.address as u64,
            length: u32::try_from(self.length).unwrap_or(!4095),
            ..ZeroCopyReceive::default()
        };
        let mut len = std::mem::size_of::<ZeroCopyReceive>() as libc::socklen_t;
        // SAFETY: `fd` is borrowed and open; the option value points to a live, writable
        // ZeroCopyReceive of exactly `len` bytes, `len` to a live socklen_t. The kernel maps pages only
        // into our region (address and length are ours, from `map`).
        let rc = unsafe {
            libc::getsockopt(
                fd.as_raw_fd(),
                libc::IPPROTO_TCP,
                TCP_ZEROCOPY_RECEIVE,
                &mut zc as *mut ZeroCopyReceive as *mut libc::c_void,
                &mut len,
            )
        };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
        if zc.err != 0 {
            return Err(io::Error::from_raw_os_error(zc.err.saturating_abs()));
        }
        self.mapped = (zc.length as usize).min(self.length);
        Ok(Mapped {
            mapped: self.mapped,
            copy_next: zc.recv_skip_hint as usize,
        })
    }

    /// The bytes the last `receive` mapped.
    pub fn bytes(&self) -> &[u8] {
        // SAFETY: the first `mapped` bytes of our region hold pages the kernel inserted in the last
        // `receive` (never more than the region's length). The slice borrows `self`, so the next
        // `receive` (which needs `&mut self` and replaces those pages) cannot run while it lives.
        unsafe { std::slice::from_raw_parts(self.address as *const u8, self.mapped) }
    }
}

impl Drop for ZeroCopyRegion {
    fn drop(&mut self) {
        // SAFETY: address and length are exactly what mmap returned; no slice of the region can outlive
        // `self`, so nothing refers to it any more.
        unsafe {
            libc::munmap(self.address, self.length);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::{TcpListener, TcpStream};
    use std::os::fd::AsFd;

    /// Whatever the kernel maps or leaves to copy, the bytes that come out are the bytes sent.
    #[test]
    fn every_byte_arrives_mapped_or_copied() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (mut server, _) = listener.accept().unwrap();
        let sent: Vec<u8> = (0..(1 << 20)).map(|i: u32| (i % 251) as u8).collect();
        let to_send = sent.clone();
        let writer = std::thread::spawn(move || client.write_all(&to_send));
        let mut region = ZeroCopyRegion::map(server.as_fd(), 256 * 1024).unwrap();
        let mut got = Vec::with_capacity(sent.len());
        let mut buf = vec![0u8; 256 * 1024];
        let mut mapped_total = 0;
        while got.len() < sent.len() {
            let m = region.receive(server.as_fd()).unwrap();
            got.extend_from_slice(region.bytes());
            mapped_total += m.mapped;
            if m.mapped == 0 {
                let want = m.copy_next.clamp(1, buf.len()).min(sent.len() - got.len());
                let n = server.read(&mut buf[..want]).unwrap();
                got.extend_from_slice(&buf[..n]);
            }
        }
        writer.join().unwrap().unwrap();
        assert_eq!(got.len(), sent.len());
        assert!(got == sent, "bytes differ (mapped {mapped_total})");
    }
}
