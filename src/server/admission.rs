//! Admitting a new connection: check the peer against `--allow`, read the 8-byte preamble within the
//! handshake timeout, then route a data connection to the running session by its cookie, refuse a control
//! connection when busy or not allowed (with a message that says why), or run the session.

use super::{session, Shared};
use crate::control::{
    write_frame, RefusalReason, ServerMessage, CONTROL_PREAMBLE, COOKIE_BYTES, DATA_PREAMBLE,
    SERVER_PREAMBLE,
};
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use tracing::{info, warn};

/// What a connection turned out to be.
enum Kind {
    Control,
    Data,
    Dropped,
}

/// Handles one accepted connection from start to end (for a control connection: the whole session).
pub(super) fn admit(shared: &Arc<Shared>, mut stream: TcpStream, peer: SocketAddr) {
    let allowed = crate::control::allow::is_allowed(&shared.config.allow, peer.ip());
    let kind = classify(shared, &mut stream, peer, allowed);
    shared.admitting.fetch_sub(1, Ordering::SeqCst);
    if !matches!(kind, Kind::Control) {
        return;
    }
    if !allowed {
        info!(%peer, "refused session: address not in --allow");
        refuse(
            &mut stream,
            RefusalReason::NotAllowed,
            format!("this server does not accept connections from {}: it is not in the server's --allow list", peer.ip()),
        );
        return;
    }
    if shared
        .busy
        .compare_exchange(false, true, Ordering::SeqCst, Ordering::SeqCst)
        .is_err()
    {
        info!(%peer, "refused session: busy with another client");
        refuse(
            &mut stream,
            RefusalReason::Busy,
            "the server is busy running another client's test; try again when it is done".into(),
        );
        return;
    }
    info!(%peer, "session started");
    match session::Session::new(shared, &stream, peer).and_then(|s| s.run()) {
        Ok(()) => info!(%peer, "session ended"),
        Err(e) => warn!(%peer, "session failed: {e}"),
    }
    let _ = stream.shutdown(Shutdown::Both);
    shared.set_pending_data(None);
    shared.busy.store(false, Ordering::SeqCst);
    if shared.config.once {
        shared.stop.store(true, Ordering::SeqCst);
    }
}

/// Reads the preamble. A control connection is answered with the server preamble; a data connection with
/// the right cookie is handed to the session; anything else is dropped (and logged in one line).
fn classify(shared: &Shared, stream: &mut TcpStream, peer: SocketAddr, allowed: bool) -> Kind {
    let drop_with = |why: &str| {
        info!(%peer, "closed connection: {why}");
        Kind::Dropped
    };
    let timeout = Some(shared.config.handshake_timeout);
    if stream.set_nonblocking(false).is_err()
        || stream.set_read_timeout(timeout).is_err()
        || stream.set_write_timeout(timeout).is_err()
    {
        return drop_with("socket setup failed");
    }
    let mut preamble = [0u8; 8];
    if let Err(e) = stream.read_exact(&mut preamble) {
        return drop_with(&format!("no preamble within the handshake timeout ({e})"));
    }
    if &preamble == CONTROL_PREAMBLE {
        if stream.write_all(SERVER_PREAMBLE).is_err() {
            return drop_with("client went away during the handshake");
        }
        return Kind::Control;
    }
    if &preamble != DATA_PREAMBLE {
        return drop_with("not a linkbench client (unknown preamble)");
    }
    if !allowed {
        return drop_with("data connection from an address not in --allow");
    }
    let mut cookie = [0u8; COOKIE_BYTES];
    let mut index = [0u8; 4];
    if stream
        .read_exact(&mut cookie)
        .and_then(|_| stream.read_exact(&mut index))
        .is_err()
    {
        return drop_with("data connection ended before its cookie");
    }
    let guard = shared
        .pending_data
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    match (guard.as_ref(), stream.try_clone()) {
        (Some(pending), Ok(clone)) if pending.cookie == cookie => {
            let _ = pending.streams.send((u32::from_be_bytes(index), clone));
            Kind::Data
        }
        _ => drop_with("data connection with an unknown session cookie"),
    }
}

/// Sends a refusal and closes without resetting the connection, so the client reads the reason.
fn refuse(stream: &mut TcpStream, reason: RefusalReason, message: String) {
    let _ = write_frame(stream, &ServerMessage::Refused { reason, message });
    close_gracefully(stream);
}

/// Closes after the peer has read what we sent: shut down our side, then discard what the peer still sends
/// (closing with unread input would reset the connection and could destroy the refusal in flight).
pub(super) fn close_gracefully(stream: &mut TcpStream) {
    let _ = stream.flush();
    let _ = stream.shutdown(Shutdown::Write);
    let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
    let mut sink = [0u8; 4096];
    let mut budget: usize = 64 * 1024;
    while budget > 0 {
        match stream.read(&mut sink) {
            Ok(0) | Err(_) => break,
            Ok(n) => budget = budget.saturating_sub(n),
        }
    }
}
