//! MSG_ZEROCOPY for TCP sends: the kernel pins the sender's pages instead of copying them and reports,
//! through the socket's error queue, when each send is done and whether it had to copy after all
//! (loopback always copies). These are the crate's only raw syscalls outside the RDMA backend; each
//! `unsafe` block says why it is sound.

#![allow(unsafe_code)]

use crate::transport::ZeroCopyStats;
use std::io;
use std::os::fd::RawFd;

const SO_EE_ORIGIN_ZEROCOPY: u8 = 5;
const SO_EE_CODE_ZEROCOPY_COPIED: u8 = 1;

/// Turns on SO_ZEROCOPY for a socket.
pub fn enable(fd: RawFd) -> io::Result<()> {
    let one: libc::c_int = 1;
    // SAFETY: `fd` is an open socket owned by the caller; the option value points to a live c_int and the
    // length passed is its exact size.
    let rc = unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_ZEROCOPY,
            &one as *const libc::c_int as *const libc::c_void,
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// One send() with MSG_ZEROCOPY; returns the bytes accepted. The caller must not modify `buf` until the
/// matching completion has been read (the engine never writes its send buffers after setup).
pub fn send(fd: RawFd, buf: &[u8], nonblocking: bool) -> io::Result<usize> {
    let flags = libc::MSG_ZEROCOPY | if nonblocking { libc::MSG_DONTWAIT } else { 0 };
    // SAFETY: `buf` is a valid, initialised slice for the duration of the call; the kernel only reads it
    // (later too, for zero-copy, which is why the engine's send buffers are immutable after setup).
    let n = unsafe { libc::send(fd, buf.as_ptr() as *const libc::c_void, buf.len(), flags) };
    if n < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(n as usize)
    }
}

/// Reads every completion notification queued on the socket's error queue without blocking and adds
/// them to `stats`. Returns how many sends the notifications covered.
pub fn drain_completions(fd: RawFd, stats: &mut ZeroCopyStats) -> io::Result<u64> {
    let mut covered = 0;
    loop {
        // Room for one sock_extended_err control message plus the address that may follow it.
        let mut control = [0u64; 16];
        let mut msg: libc::msghdr = unsafe_zeroed_msghdr();
        msg.msg_control = control.as_mut_ptr() as *mut libc::c_void;
        msg.msg_controllen = std::mem::size_of_val(&control) as _;
        // SAFETY: `msg` points to a control buffer that lives for the whole call and whose length is
        // given; no data iovec is supplied (the error queue carries no payload for zero-copy).
        let rc = unsafe { libc::recvmsg(fd, &mut msg, libc::MSG_ERRQUEUE | libc::MSG_DONTWAIT) };
        if rc < 0 {
            let err = io::Error::last_os_error();
            return match err.kind() {
                io::ErrorKind::WouldBlock => Ok(covered),
                io::ErrorKind::Interrupted => continue,
                _ => Err(err),
            };
        }
        // SAFETY: CMSG_FIRSTHDR/CMSG_NXTHDR walk the control buffer the kernel just filled, bounded by
        // msg_controllen, and return null past its end.
        let mut cmsg = unsafe { libc::CMSG_FIRSTHDR(&msg) };
        while !cmsg.is_null() {
            // SAFETY: `cmsg` is non-null and points inside `control`, as guaranteed above.
            let header = unsafe { &*cmsg };
            let is_recverr = (header.cmsg_level == libc::SOL_IP
                && header.cmsg_type == libc::IP_RECVERR)
                || (header.cmsg_level == libc::SOL_IPV6 && header.cmsg_type == libc::IPV6_RECVERR);
            if is_recverr {
                // SAFETY: for IP_RECVERR/IPV6_RECVERR the payload starts with a sock_extended_err; it may
                // be unaligned, so read it with read_unaligned.
                let err: libc::sock_extended_err = unsafe {
                    std::ptr::read_unaligned(libc::CMSG_DATA(cmsg) as *const libc::sock_extended_err)
                };
                if err.ee_origin == SO_EE_ORIGIN_ZEROCOPY {
                    // ee_info..=ee_data is the range of send ids completed (u32, wrapping).
                    let n = u64::from(err.ee_data.wrapping_sub(err.ee_info)) + 1;
                    stats.completed += n;
                    covered += n;
                    if err.ee_code & SO_EE_CODE_ZEROCOPY_COPIED != 0 {
                        stats.copied += n;
                    }
                }
            }
            // SAFETY: as for CMSG_FIRSTHDR above.
            cmsg = unsafe { libc::CMSG_NXTHDR(&msg, cmsg) };
        }
    }
}

/// Waits up to `timeout_ms` for the error queue to become readable.
pub fn wait_for_completions(fd: RawFd, timeout_ms: i32) -> io::Result<bool> {
    let mut pfd = libc::pollfd {
        fd,
        events: 0,
        revents: 0,
    };
    // SAFETY: one valid pollfd, count 1. POLLERR is always reported, so events may be 0.
    let rc = unsafe { libc::poll(&mut pfd, 1, timeout_ms) };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(rc > 0 && pfd.revents & libc::POLLERR != 0)
}

fn unsafe_zeroed_msghdr() -> libc::msghdr {
    // SAFETY: msghdr is a plain C struct for which all-zero bytes are a valid value (null pointers,
    // zero lengths).
    unsafe { std::mem::zeroed() }
}

/// Bytes (and a FIN) the peer has not acknowledged yet (`SIOCOUTQ`): 0 once everything sent arrived.
/// Lives here beside the other raw socket calls.
pub fn unacknowledged_bytes(fd: RawFd) -> io::Result<usize> {
    let mut n: libc::c_int = 0;
    // SAFETY: `fd` is an open socket owned by the caller; SIOCOUTQ writes one c_int through the pointer,
    // which refers to the live local `n`.
    let rc = unsafe { libc::ioctl(fd, libc::TIOCOUTQ, &mut n as *mut libc::c_int) };
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(n.max(0) as usize)
    }
}
