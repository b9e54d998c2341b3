//! The client's side of the handshake: preamble, hello, the key challenge (mutual: the server must prove
//! the key too), and the welcome. All of it runs against one deadline, so a server that drips its
//! answer a byte at a time cannot hold the client; the welcome may be at most [`WELCOME_LIMIT`] bytes.

use super::ClientError;
use crate::control::auth::{self, PreSharedKey};
use crate::control::deadline::DeadlineStream;
use crate::control::{
    read_frame, write_frame, ClientMessage, RefusalReason, ServerMessage, CONTROL_PREAMBLE,
    PROTOCOL_VERSION, SERVER_PREAMBLE,
};
use crate::text::escape_control;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// Largest challenge or welcome accepted (host facts with a module's decoded EEPROM fit many times).
pub const WELCOME_LIMIT: u32 = 1 << 20;

/// Says hello within `timeout` (for the whole exchange) and returns the server's welcome.
pub fn handshake(
    stream: &TcpStream,
    addr: SocketAddr,
    timeout: Duration,
    psk: Option<&PreSharedKey>,
) -> Result<ServerMessage, ClientError> {
    let mut wire = DeadlineStream::within(stream, timeout);
    let client_nonce = auth::new_nonce();
    let mut hello = CONTROL_PREAMBLE.to_vec();
    hello.extend(crate::control::frame::encode_frame(
        &ClientMessage::Hello {
            protocol_version: PROTOCOL_VERSION,
            tool_version: env!("CARGO_PKG_VERSION").into(),
            client_nonce: Some(client_nonce.clone()),
        },
    )?);
    wire.write_all(&hello)
        .map_err(|source| ClientError::Connect {
            addr: addr.to_string(),
            source,
        })?;
    read_server_preamble(&mut wire, addr, timeout)?;
    let mut answer: ServerMessage = read_frame(&mut wire, WELCOME_LIMIT)?;
    let mut server_nonce = None;
    if let ServerMessage::Challenge {
        server_nonce: nonce,
    } = &answer
    {
        let Some(psk) = psk else {
            return Err(ClientError::Auth(
                "the server requires a pre-shared key: run the client with --psk-file".into(),
            ));
        };
        let proof = psk
            .client_proof(nonce, &client_nonce)
            .map_err(|e| ClientError::Auth(e.to_string()))?;
        write_frame(&mut wire, &ClientMessage::Auth { proof })?;
        server_nonce = Some(nonce.clone());
        answer = read_frame(&mut wire, WELCOME_LIMIT)?;
    }
    judge_welcome(answer, addr, psk, &client_nonce, server_nonce.as_deref())
}

/// Reads the server's 8-byte preamble, naming what answered when it is not a linkbench server.
fn read_server_preamble(
    wire: &mut impl Read,
    addr: SocketAddr,
    timeout: Duration,
) -> Result<(), ClientError> {
    let mut preamble = [0u8; 8];
    let mut got = 0;
    let not_linkbench = |answer: String| ClientError::NotLinkbench {
        addr: addr.to_string(),
        answer,
    };
    let closed = || ClientError::ClosedSilently {
        addr: addr.to_string(),
    };
    while got < preamble.len() {
        match wire.read(&mut preamble[got..]) {
            Ok(0) if got == 0 => return Err(closed()),
            Ok(0) => return Err(not_linkbench(describe_answer(&preamble[..got]))),
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                let answered = if got == 0 {
                    "nothing".to_string()
                } else {
                    describe_answer(&preamble[..got])
                };
                return Err(not_linkbench(format!(
                    "{answered} within {:.0} s",
                    timeout.as_secs_f64()
                )));
            }
            Err(e) if got == 0 && e.kind() == io::ErrorKind::ConnectionReset => {
                return Err(closed())
            }
            Err(e) => return Err(not_linkbench(format!("with an error: {e}"))),
        }
    }
    if &preamble != SERVER_PREAMBLE {
        return Err(not_linkbench(describe_answer(&preamble)));
    }
    Ok(())
}

/// Accepts a welcome (checking the server's proof when a key is in use) or turns a refusal into an error.
fn judge_welcome(
    answer: ServerMessage,
    addr: SocketAddr,
    psk: Option<&PreSharedKey>,
    client_nonce: &str,
    server_nonce: Option<&str>,
) -> Result<ServerMessage, ClientError> {
    match answer {
        ServerMessage::Welcome {
            protocol_version, ..
        } if protocol_version != PROTOCOL_VERSION => Err(ClientError::ProtocolVersion {
            addr: addr.to_string(),
            server: protocol_version,
            client: PROTOCOL_VERSION,
        }),
        ServerMessage::Welcome {
            ref server_proof, ..
        } => {
            if let Some(psk) = psk {
                // Mutual: a server that cannot prove it holds the key is not trusted with the test.
                let (Some(nonce), Some(proof)) = (server_nonce, server_proof) else {
                    return Err(ClientError::Auth(
                        "the server did not authenticate itself (is it running without --psk-file?); \
                         refusing to run with --psk-file against an unauthenticated server"
                            .into(),
                    ));
                };
                psk.verify_server(client_nonce, nonce, proof).map_err(|e| {
                    ClientError::Auth(format!(
                        "{e}: the server's proof is wrong; check both --psk-file"
                    ))
                })?;
            }
            Ok(answer)
        }
        ServerMessage::Refused {
            reason: RefusalReason::Auth,
            message,
        } => Err(ClientError::Auth(escape_control(&message).into_owned())),
        ServerMessage::Refused { message, .. } => {
            Err(ClientError::Refused(escape_control(&message).into_owned()))
        }
        other => Err(ClientError::Unexpected(super::message_name(&other).into())),
    }
}

fn describe_answer(bytes: &[u8]) -> String {
    let printable: String = bytes
        .iter()
        .map(|&b| {
            if (0x20..0x7f).contains(&b) {
                b as char
            } else {
                '.'
            }
        })
        .collect();
    format!("'{printable}'")
}
