//! The server<->client control protocol.
//!
//! Every connection to the server's port starts with an 8-byte preamble that says what it is:
//! [`CONTROL_PREAMBLE`] for a control session, [`DATA_PREAMBLE`] for a data connection (followed by the
//! session cookie and the stream index). The server answers a control preamble with [`SERVER_PREAMBLE`];
//! after that both sides exchange length-prefixed JSON frames ([`frame`]).
//!
//! Named states of a session (client's view; the server mirrors it):
//!
//! | state     | client sends            | server answers                            |
//! |-----------|-------------------------|-------------------------------------------|
//! | Hello     | `hello` (protocol, nonce) | `welcome` (host facts, limits) or `refused` (busy, version, address) |
//! | Auth (with a pre-shared key) | `auth` (proof) | first `challenge` (nonce), then `welcome` (server's proof) or `refused` |
//! | Negotiate | `setup` (a TrialSpec)   | `ready` (cookie, CPUs) or `refused` (a limit, named) |
//! | Exchange  | data connections, then `start` | (accepts the data connections)     |
//! | Run       | `stop` (to end early)   | `interval` frames, then `trial_result`    |
//! | Done      | `bye`, or `setup` again | closes                                     |
//!
//! Neither side takes the other's word: the server accepts in each state only what the table says (one
//! `stop` during a trial, anything else ends the session) and ends every trial by its own clock; the
//! client bounds what it accepts from the server (the client's `trust` module). Each handshake runs against
//! one deadline ([`deadline`]) and each side's frames wait in a bounded queue ([`reader`]).

pub mod allow;
pub mod auth;
pub mod deadline;
pub mod frame;
pub mod limits;
pub mod messages;
pub mod reader;

pub use crate::model::SideReport;
pub use frame::{read_frame, write_frame, FrameError, ABSOLUTE_MAX_FRAME_BYTES, MAX_FRAME_BYTES};
pub use limits::{LimitViolation, ServerLimits};
pub use messages::{ClientMessage, RefusalReason, ServerMessage};

/// Version of this protocol. A server refuses clients of another version (and says which it speaks).
pub const PROTOCOL_VERSION: u32 = 1;
/// First bytes of a control connection.
pub const CONTROL_PREAMBLE: &[u8; 8] = b"LNKBCTRL";
/// First bytes of a data connection.
pub const DATA_PREAMBLE: &[u8; 8] = b"LNKBDATA";
/// First bytes of the server's answer on a control connection.
pub const SERVER_PREAMBLE: &[u8; 8] = b"LNKBSRVR";
/// Length of the session cookie a data connection presents.
pub const COOKIE_BYTES: usize = 16;
/// The default control and data port, the same as perftest's.
pub const DEFAULT_PORT: u16 = 18515;
