//! A control connection's handshake: the client's hello and, when the server has a pre-shared key, the
//! challenge and the client's proof. All of it (with the preamble before it) runs against one deadline,
//! `--handshake-timeout` from the accept, however the bytes arrive, and before the connection may take
//! a session slot.

use super::Shared;
use crate::control::auth;
use crate::control::deadline::DeadlineStream;
use crate::control::frame::FrameError;
use crate::control::{
    read_frame, write_frame, ClientMessage, RefusalReason, ServerMessage, PROTOCOL_VERSION,
};
use crate::text::escape_control;
use std::net::TcpStream;
use thiserror::Error;

/// Why a handshake ended without a session.
#[derive(Debug, Error)]
pub enum HandshakeError {
    #[error(transparent)]
    Frame(#[from] FrameError),
    /// The client was told no, with this reason.
    #[error("{0}")]
    Refused(String),
}

/// Reads the hello and checks the key. Returns the server's proof for the welcome (with a key); a refusal
/// has been sent when it returns [`HandshakeError::Refused`].
pub fn greet(
    shared: &Shared,
    wire: &mut DeadlineStream<'_>,
) -> Result<Option<String>, HandshakeError> {
    let max = shared.config.max_frame_bytes;
    let client_nonce = match read_frame(wire, max)? {
        ClientMessage::Hello {
            protocol_version,
            client_nonce,
            ..
        } if protocol_version == PROTOCOL_VERSION => client_nonce,
        ClientMessage::Hello {
            protocol_version,
            tool_version,
            ..
        } => {
            let message = format!(
                "this server speaks linkbench protocol {PROTOCOL_VERSION} (linkbench {}), the client \
                 protocol {protocol_version} (linkbench {}): run the same linkbench version on both hosts",
                env!("CARGO_PKG_VERSION"),
                crate::text::one_line(&tool_version, 40)
            );
            return refuse(wire, RefusalReason::ProtocolVersion, message);
        }
        other => {
            let message = format!("expected hello, got {}", message_name(&other));
            return refuse(wire, RefusalReason::Protocol, message);
        }
    };
    authenticate(shared, wire, client_nonce)
}

/// With a pre-shared key: challenge the client, check its proof, and return the server's proof.
fn authenticate(
    shared: &Shared,
    wire: &mut DeadlineStream<'_>,
    client_nonce: Option<String>,
) -> Result<Option<String>, HandshakeError> {
    let Some(psk) = shared.config.psk.as_ref() else {
        return Ok(None);
    };
    let Some(client_nonce) = client_nonce else {
        return refuse(
            wire,
            RefusalReason::Auth,
            "this server requires a pre-shared key: run the client with --psk-file".into(),
        );
    };
    let server_nonce = auth::new_nonce();
    write_frame(
        wire,
        &ServerMessage::Challenge {
            server_nonce: server_nonce.clone(),
        },
    )?;
    let proof = match read_frame(wire, shared.config.max_frame_bytes)? {
        ClientMessage::Auth { proof } => proof,
        other => {
            let message = format!("expected auth, got {}", message_name(&other));
            return refuse(wire, RefusalReason::Protocol, message);
        }
    };
    if let Err(e) = psk.verify_client(&server_nonce, &client_nonce, &proof) {
        return refuse(
            wire,
            RefusalReason::Auth,
            format!("{e}: check that both sides use the same --psk-file"),
        );
    }
    psk.server_proof(&client_nonce, &server_nonce)
        .map(Some)
        .map_err(|e| HandshakeError::Refused(e.to_string()))
}

/// Sends a refusal (best effort) and returns it as the error.
pub fn refuse<T>(
    wire: &mut impl std::io::Write,
    reason: RefusalReason,
    message: String,
) -> Result<T, HandshakeError> {
    let message = escape_control(&message).into_owned();
    let _ = write_frame(
        wire,
        &ServerMessage::Refused {
            reason,
            message: message.clone(),
        },
    );
    Err(HandshakeError::Refused(message))
}

/// Writes `SERVER_PREAMBLE` and a refusal without reading anything, on a non-blocking socket: for peers
/// the server will not read from at all (outside `--allow`). Best effort: a peer whose window is full
/// gets only what fits.
pub fn refuse_unread(stream: &TcpStream, reason: RefusalReason, message: String) {
    let mut bytes = crate::control::SERVER_PREAMBLE.to_vec();
    if let Ok(frame) =
        crate::control::frame::encode_frame(&ServerMessage::Refused { reason, message })
    {
        bytes.extend(frame);
    }
    if stream.set_nonblocking(true).is_ok() {
        let _ = std::io::Write::write(&mut &*stream, &bytes);
    }
}

/// The message's type as the protocol names it.
pub fn message_name(message: &ClientMessage) -> &'static str {
    match message {
        ClientMessage::Hello { .. } => "hello",
        ClientMessage::Auth { .. } => "auth",
        ClientMessage::Setup { .. } => "setup",
        ClientMessage::Start => "start",
        ClientMessage::Stop => "stop",
        ClientMessage::Bye => "bye",
    }
}
