//! Frames: a 4-byte big-endian length, then that many bytes of UTF-8 JSON. The reader checks the length
//! against a maximum before it allocates, and refuses an empty frame.

use serde::{de::DeserializeOwned, Serialize};
use std::io::{self, Read, Write};
use thiserror::Error;

/// Largest frame a server accepts from a client by default (64 KiB; `--max-frame`).
pub const MAX_FRAME_BYTES: u32 = 64 * 1024;
/// Largest frame ever written or read: a trial result with the most per-interval figures a trial may have
/// (100,000 at ~170 bytes of JSON each) and a NIC's link counters fits.
pub const ABSOLUTE_MAX_FRAME_BYTES: u32 = 32 << 20;

/// A frame could not be read or written.
#[derive(Debug, Error)]
pub enum FrameError {
    #[error("the peer closed the control connection")]
    Closed,
    #[error("control frame of {len} bytes exceeds the limit of {max} bytes")]
    TooLarge { len: u32, max: u32 },
    #[error("empty control frame")]
    Empty,
    /// The decoder's complaint, control characters escaped and cut to one short line (it may quote the
    /// peer's text, which reaches logs and terminals).
    #[error("control frame is not valid JSON for this protocol: {0}")]
    Malformed(String),
    #[error("cannot encode a control frame: {0}")]
    Encode(serde_json::Error),
    #[error("the peer sent nothing for too long (timed out) while {0}")]
    TimedOut(&'static str),
    #[error("control connection failed while {context}: {source}")]
    Io {
        context: &'static str,
        #[source]
        source: io::Error,
    },
}

fn io_error(context: &'static str, e: io::Error) -> FrameError {
    match e.kind() {
        io::ErrorKind::UnexpectedEof
        | io::ErrorKind::ConnectionReset
        | io::ErrorKind::BrokenPipe => FrameError::Closed,
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => FrameError::TimedOut(context),
        _ => FrameError::Io { context, source: e },
    }
}

/// Encodes one message as a frame (length prefix + JSON).
pub fn encode_frame<T: Serialize>(message: &T) -> Result<Vec<u8>, FrameError> {
    let json = serde_json::to_vec(message).map_err(FrameError::Encode)?;
    let len = u32::try_from(json.len()).map_err(|_| FrameError::TooLarge {
        len: u32::MAX,
        max: MAX_FRAME_BYTES,
    })?;
    if len > ABSOLUTE_MAX_FRAME_BYTES {
        return Err(FrameError::TooLarge {
            len,
            max: ABSOLUTE_MAX_FRAME_BYTES,
        });
    }
    let mut frame = Vec::with_capacity(4 + json.len());
    frame.extend_from_slice(&len.to_be_bytes());
    frame.extend_from_slice(&json);
    Ok(frame)
}

/// Decodes the JSON body of a frame.
pub fn decode_body<T: DeserializeOwned>(body: &[u8]) -> Result<T, FrameError> {
    serde_json::from_slice(body)
        .map_err(|e| FrameError::Malformed(crate::text::one_line(&e.to_string(), MALFORMED_CHARS)))
}

/// Characters of a decoding error kept for the log line.
const MALFORMED_CHARS: usize = 200;

/// Writes one message as a frame.
pub fn write_frame<T: Serialize>(writer: &mut impl Write, message: &T) -> Result<(), FrameError> {
    let frame = encode_frame(message)?;
    writer
        .write_all(&frame)
        .map_err(|e| io_error("sending a control frame", e))?;
    writer
        .flush()
        .map_err(|e| io_error("sending a control frame", e))
}

/// Decodes arbitrary bytes the way a server and a client read them (a frame of either direction's
/// messages); the fuzz target and its regression test call this. Never panics.
pub fn decode_untrusted(data: &[u8]) {
    use crate::control::{ClientMessage, ServerMessage};
    let _ = read_frame::<ClientMessage>(&mut &data[..], MAX_FRAME_BYTES);
    let _ = read_frame::<ServerMessage>(&mut &data[..], ABSOLUTE_MAX_FRAME_BYTES);
    let _ = decode_body::<ClientMessage>(data);
}

/// Reads one frame of at most `max` bytes and decodes it.
pub fn read_frame<T: DeserializeOwned>(reader: &mut impl Read, max: u32) -> Result<T, FrameError> {
    read_frame_limited(reader, || max)
}

/// Reads one frame and decodes it; its limit is asked for once the length prefix has arrived, so a limit
/// changed while the reader waited applies to the frame that came.
pub fn read_frame_limited<T: DeserializeOwned>(
    reader: &mut impl Read,
    max: impl Fn() -> u32,
) -> Result<T, FrameError> {
    let mut prefix = [0u8; 4];
    reader
        .read_exact(&mut prefix)
        .map_err(|e| io_error("reading a control frame", e))?;
    let max = max();
    let len = u32::from_be_bytes(prefix);
    if len == 0 {
        return Err(FrameError::Empty);
    }
    if len > max {
        return Err(FrameError::TooLarge { len, max });
    }
    let mut body = vec![0u8; len as usize];
    reader
        .read_exact(&mut body)
        .map_err(|e| io_error("reading a control frame", e))?;
    decode_body(&body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Ping {
        n: u32,
    }

    #[test]
    fn frames_round_trip() {
        let mut wire = Vec::new();
        write_frame(&mut wire, &Ping { n: 7 }).unwrap();
        assert_eq!(&wire[..4], &(wire.len() as u32 - 4).to_be_bytes());
        let back: Ping = read_frame(&mut wire.as_slice(), MAX_FRAME_BYTES).unwrap();
        assert_eq!(back, Ping { n: 7 });
    }

    #[test]
    fn oversized_length_is_refused_before_allocating() {
        let wire = [0xFFu8, 0xFF, 0xFF, 0xFF];
        let err = read_frame::<Ping>(&mut wire.as_slice(), MAX_FRAME_BYTES).unwrap_err();
        assert!(
            matches!(err, FrameError::TooLarge { len: u32::MAX, .. }),
            "{err}"
        );
    }

    #[test]
    fn empty_truncated_and_malformed_frames_fail_cleanly() {
        let empty = 0u32.to_be_bytes();
        assert!(matches!(
            read_frame::<Ping>(&mut empty.as_slice(), 100),
            Err(FrameError::Empty)
        ));
        let truncated = [0u8, 0, 0, 10, b'{'];
        assert!(matches!(
            read_frame::<Ping>(&mut truncated.as_slice(), 100),
            Err(FrameError::Closed)
        ));
        let mut bad = 5u32.to_be_bytes().to_vec();
        bad.extend_from_slice(b"{\"n\":");
        assert!(matches!(
            read_frame::<Ping>(&mut bad.as_slice(), 100),
            Err(FrameError::Malformed(_))
        ));
        let mut wrong_type = 10u32.to_be_bytes().to_vec();
        wrong_type.extend_from_slice(b"{\"n\":\"xy\"}");
        assert!(matches!(
            read_frame::<Ping>(&mut wrong_type.as_slice(), 100),
            Err(FrameError::Malformed(_))
        ));
    }
}
