//! Admitting a connection the accept loop let in (its address is allowed and an admission slot was
//! free): read the 8-byte preamble, then route a data connection to the running session by its cookie,
//! or run a control connection's handshake, take a session slot, and run the session.
//!
//! The preamble, the cookie and the whole handshake share one deadline, `--handshake-timeout` from the
//! accept. The connection counts against `--max-connections` until it has a session slot; then the
//! slot holds it. A session that panics is caught here: the panic is logged and its slot and pending
//! data connections are freed, so the server goes on serving.

use super::handshake::{self, refuse};
use super::session::Session;
use super::throttle::throttled_warn;
use super::Shared;
use crate::control::auth::constant_time_eq;
use crate::control::deadline::DeadlineStream;
use crate::control::{
    RefusalReason, CONTROL_PREAMBLE, COOKIE_BYTES, DATA_PREAMBLE, SERVER_PREAMBLE,
};
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use tracing::{info, warn};

/// How long a client waits for the slot of a session that is ending (a client that reconnects at once).
const SLOT_GRACE: Duration = Duration::from_secs(2);
/// How long a busy refusal may take to write.
const REFUSAL_WRITE: Duration = Duration::from_secs(1);
/// Stack of a session thread (the admission thread that starts it has a small one).
const SESSION_STACK_BYTES: usize = 8 << 20;

/// A connection counted against `--max-connections`; uncounted on drop.
pub(super) struct Admitting(Arc<Shared>);

impl Admitting {
    /// Counts one more connection, unless `--max-connections` are already being admitted.
    pub(super) fn try_new(shared: &Arc<Shared>) -> Option<Self> {
        let before = shared.admitting.fetch_add(1, Ordering::SeqCst);
        if before >= shared.config.max_connections {
            shared.admitting.fetch_sub(1, Ordering::SeqCst);
            return None;
        }
        Some(Admitting(Arc::clone(shared)))
    }
}

impl Drop for Admitting {
    fn drop(&mut self) {
        self.0.admitting.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Handles one admitted connection from start to end (for a control connection: the whole session).
pub(super) fn admit(stream: TcpStream, peer: SocketAddr, ticket: Admitting) {
    let shared = &Arc::clone(&ticket.0);
    if stream.set_nonblocking(false).is_err() {
        return drop_connection(shared, stream, peer, "socket setup failed");
    }
    let mut wire = DeadlineStream::within(&stream, shared.config.handshake_timeout);
    let mut preamble = [0u8; 8];
    if let Err(e) = wire.read_exact(&mut preamble) {
        let why = format!("no preamble within the handshake deadline ({e})");
        return drop_connection(shared, stream, peer, &why);
    }
    if &preamble == DATA_PREAMBLE {
        return route_data(shared, wire, &stream, peer);
    }
    if &preamble != CONTROL_PREAMBLE {
        return drop_connection(
            shared,
            stream,
            peer,
            "not a linkbench client (unknown preamble)",
        );
    }
    let greeted = wire
        .write_all(SERVER_PREAMBLE)
        .map_err(|e| handshake::HandshakeError::Refused(format!("client went away ({e})")))
        .and_then(|_| handshake::greet(shared, &mut wire));
    let server_proof = match greeted {
        Ok(proof) => proof,
        Err(e) => {
            throttled_warn!(shared.log_throttle, %peer, "refused session: {e}");
            return shared.closer.close(stream);
        }
    };
    let Some(slot) = shared.slots.acquire(SLOT_GRACE) else {
        throttled_warn!(shared.log_throttle, %peer, "refused session: busy with another client");
        // The wait for a slot may have used up the handshake deadline: the refusal gets its own.
        let mut wire = DeadlineStream::within(&stream, REFUSAL_WRITE);
        let _ = refuse::<()>(
            &mut wire,
            RefusalReason::Busy,
            "the server is busy running another client's test; try again when it is done".into(),
        );
        return shared.closer.close(stream);
    };
    // From here the session slot, not the admission count, holds this connection.
    drop(ticket);
    std::thread::scope(|scope| {
        // The session (RDMA setup included) gets a full-size stack, not the admission thread's.
        let session = std::thread::Builder::new()
            .name("session".into())
            .stack_size(SESSION_STACK_BYTES)
            .spawn_scoped(scope, || run_session(shared, &stream, peer, server_proof));
        if let Err(e) = session {
            warn!(%peer, "could not start a session thread ({e}); closed the connection");
        }
    });
    drop(slot);
    if shared.config.once {
        shared.stop.store(true, Ordering::SeqCst);
    }
}

/// Runs a session; a panic in it is logged and ends only that session.
fn run_session(shared: &Shared, stream: &TcpStream, peer: SocketAddr, proof: Option<String>) {
    info!(%peer, "session started");
    let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        Session::new(shared, stream, peer).and_then(|s| s.run(proof))
    }));
    match ran {
        Ok(Ok(())) => info!(%peer, "session ended"),
        Ok(Err(e)) => warn!(%peer, "session failed: {e}"),
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            warn!(%peer, "session panicked ({what}); ended it and freed its slot: please report this as a bug");
        }
    }
    let _ = stream.shutdown(Shutdown::Both);
}

/// A data connection: reads its cookie and stream index, and hands it to the session that expects it.
fn route_data(shared: &Shared, mut wire: DeadlineStream<'_>, stream: &TcpStream, peer: SocketAddr) {
    let mut cookie = [0u8; COOKIE_BYTES];
    let mut index = [0u8; 4];
    if wire
        .read_exact(&mut cookie)
        .and_then(|_| wire.read_exact(&mut index))
        .is_err()
    {
        return throttled_warn!(shared.log_throttle, %peer, "closed connection: data connection ended before its cookie");
    }
    let pending = shared.pending();
    // Every waiting session's cookie is compared, in constant time each, whichever matches.
    let session = pending.iter().fold(None, |found, p| {
        if constant_time_eq(&p.cookie, &cookie) {
            Some(p)
        } else {
            found
        }
    });
    let handed = match (session, stream.try_clone()) {
        (Some(pending), Ok(clone)) => pending
            .streams
            .try_send((u32::from_be_bytes(index), clone))
            .is_ok(),
        _ => false,
    };
    // Not held while logging: every session's routing waits on this lock.
    drop(pending);
    if !handed {
        throttled_warn!(shared.log_throttle, %peer, "closed connection: data connection with an unknown session cookie (or more than its trial's streams)");
    }
}

/// Closes a connection that turned out not to be a linkbench client, with one (throttled) log line.
fn drop_connection(shared: &Shared, stream: TcpStream, peer: SocketAddr, why: &str) {
    throttled_warn!(shared.log_throttle, %peer, "closed connection: {why}");
    shared.closer.close(stream);
}
