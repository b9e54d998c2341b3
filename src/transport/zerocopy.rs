//! MSG_ZEROCOPY for TCP sends: the kernel pins the sender's pages instead of copying them and reports,
//! through the socket's error queue, when each send is done and whether it had to copy after all
//! (loopback always copies). Every helper borrows the socket (`BorrowedFd`), so none can outlive it.
//!
//! The send goes through socket2 and the error queue through `nix` (`recvmsg` with `MSG_ERRQUEUE`,
//! whose `Ipv4RecvErr`/`Ipv6RecvErr` control messages carry the `sock_extended_err`), so neither needs
//! `unsafe` here. Two raw calls remain, because neither crate has them: `setsockopt(SO_ZEROCOPY)` (no
//! such option in nix 0.29 or socket2 0.5) and the `SIOCOUTQ` ioctl (nix offers only macros that
//! generate `unsafe` functions); each `unsafe` block says why it is sound.

#![allow(unsafe_code)]

use crate::transport::ZeroCopyStats;
use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout};
use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags};
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};

const SO_EE_ORIGIN_ZEROCOPY: u8 = 5;
const SO_EE_CODE_ZEROCOPY_COPIED: u8 = 1;

/// Sets SO_RCVLOWAT: a blocking read (and the wake-up) waits for `bytes` queued, or the peer's FIN,
/// or the receive timeout. Not a zero-copy option, but the same kind of raw setsockopt.
pub fn set_receive_low_water(fd: BorrowedFd<'_>, bytes: libc::c_int) -> io::Result<()> {
    set_socket_int(fd, libc::SO_RCVLOWAT, bytes)
}

/// Turns on SO_ZEROCOPY for a socket.
pub fn enable(fd: BorrowedFd<'_>) -> io::Result<()> {
    set_socket_int(fd, libc::SO_ZEROCOPY, 1)
}

/// setsockopt(SOL_SOCKET, `option`, `value`) for an option whose value is a C int.
fn set_socket_int(fd: BorrowedFd<'_>, option: libc::c_int, value: libc::c_int) -> io::Result<()> {
    // SAFETY: `fd` is borrowed, so it is open for the whole call; the option value points to a live
    // c_int and the length passed is its exact size. The kernel only reads it.
    let rc = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            option,
            &value as *const libc::c_int as *const libc::c_void,
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// One send() with MSG_ZEROCOPY; returns the bytes accepted. The kernel keeps reading `buf`'s pages
/// (pinned, so this is not a memory-safety matter) until the matching completion, so a caller that
/// writes to it before then sends the new bytes; the engine never writes its send buffers after setup.
pub fn send(fd: BorrowedFd<'_>, buf: &[u8], nonblocking: bool) -> io::Result<usize> {
    let flags = libc::MSG_ZEROCOPY | if nonblocking { libc::MSG_DONTWAIT } else { 0 };
    socket2::SockRef::from(&fd).send_with_flags(buf, flags)
}

/// Reads every completion notification queued on the socket's error queue without blocking and adds
/// them to `stats`. Returns how many sends the notifications covered.
pub fn drain_completions(fd: BorrowedFd<'_>, stats: &mut ZeroCopyStats) -> io::Result<u64> {
    let mut covered = 0;
    // Room for one sock_extended_err control message plus the offender address that follows it.
    let mut control = nix::cmsg_space!(libc::sock_extended_err, libc::sockaddr_in6);
    loop {
        // The error queue carries no payload for zero-copy, so no data buffers.
        let msg = match recvmsg::<()>(
            fd.as_raw_fd(),
            &mut [],
            Some(&mut control),
            MsgFlags::MSG_ERRQUEUE | MsgFlags::MSG_DONTWAIT,
        ) {
            Ok(msg) => msg,
            Err(Errno::EAGAIN) => return Ok(covered),
            Err(Errno::EINTR) => continue,
            Err(e) => return Err(e.into()),
        };
        for cmsg in msg.cmsgs()? {
            let err = match cmsg {
                ControlMessageOwned::Ipv4RecvErr(err, _)
                | ControlMessageOwned::Ipv6RecvErr(err, _) => err,
                _ => continue,
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
    }
}

/// Waits up to `timeout_ms` (-1: forever) for the error queue to become readable.
pub fn wait_for_completions(fd: BorrowedFd<'_>, timeout_ms: i32) -> io::Result<bool> {
    // POLLERR is always reported, so no events need asking for.
    let mut fds = [PollFd::new(fd, PollFlags::empty())];
    let timeout = PollTimeout::try_from(timeout_ms.max(-1)).unwrap_or(PollTimeout::NONE);
    let ready = nix::poll::poll(&mut fds, timeout)?;
    Ok(ready > 0
        && fds[0]
            .revents()
            .is_some_and(|r| r.contains(PollFlags::POLLERR)))
}

/// Bytes (and a FIN) the peer has not acknowledged yet (`SIOCOUTQ`): 0 once everything sent arrived.
/// Lives here beside the other raw socket calls.
pub fn unacknowledged_bytes(fd: BorrowedFd<'_>) -> io::Result<usize> {
    let mut n: libc::c_int = 0;
    // SAFETY: `fd` is borrowed, so it is open for the whole call; SIOCOUTQ (TIOCOUTQ's number) writes
    // one c_int through the pointer, which refers to the live local `n`.
    let rc = unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCOUTQ, &mut n as *mut libc::c_int) };
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(n.max(0) as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;
    use std::net::{TcpListener, TcpStream};
    use std::os::fd::AsFd;

    /// Loopback copies every zero-copy send, so each completion arrives flagged as copied.
    #[test]
    fn loopback_completions_are_read_from_the_error_queue() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (mut server, _) = listener.accept().unwrap();
        let reader = std::thread::spawn(move || {
            let mut got = Vec::new();
            server.read_to_end(&mut got).map(|_| got.len())
        });
        enable(client.as_fd()).unwrap();
        let buf = vec![7u8; 64 * 1024];
        let (mut sends, mut sent) = (0, 0);
        while sent < 4 * buf.len() {
            sent += send(client.as_fd(), &buf, false).unwrap();
            sends += 1;
        }
        let mut stats = ZeroCopyStats::default();
        let mut covered = 0;
        while covered < sends {
            assert!(
                wait_for_completions(client.as_fd(), 5_000).unwrap(),
                "no completion within 5 s"
            );
            covered += drain_completions(client.as_fd(), &mut stats).unwrap();
        }
        assert_eq!((stats.completed, stats.copied), (sends, sends));
        assert_eq!(drain_completions(client.as_fd(), &mut stats).unwrap(), 0);
        client.shutdown(std::net::Shutdown::Write).unwrap();
        assert_eq!(reader.join().unwrap().unwrap(), sent);
        // Everything arrived; the last ACK may still be on its way back.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while unacknowledged_bytes(client.as_fd()).unwrap() > 0 {
            assert!(
                std::time::Instant::now() < deadline,
                "bytes still unacknowledged after 5 s"
            );
            std::thread::yield_now();
        }
    }
}
