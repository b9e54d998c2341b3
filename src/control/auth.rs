//! Optional mutual authentication with a pre-shared key (`--psk-file` on both sides): a challenge-response
//! with HMAC-SHA256 at the start of the control session, before the server accepts anything else.
//!
//! The client's hello carries a random client nonce. A server with a key answers with a challenge (a
//! random server nonce); the client proves it holds the key with
//! `HMAC(key, "linkbench-v1 client" || server_nonce || client_nonce)`; the server checks it in constant
//! time and proves itself in its welcome with `HMAC(key, "linkbench-v1 server" || client_nonce ||
//! server_nonce)`. Fresh nonces on both sides make a recorded exchange useless to replay. Data
//! connections need the session cookie, which only an authenticated client receives.

use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;
use std::path::Path;
use thiserror::Error;

/// Bytes of each nonce.
pub const NONCE_BYTES: usize = 32;
/// Shortest key accepted.
pub const MIN_KEY_BYTES: usize = 16;
/// Longest key file read.
pub const MAX_KEY_BYTES: usize = 4096;

const CLIENT_LABEL: &[u8] = b"linkbench-v1 client";
const SERVER_LABEL: &[u8] = b"linkbench-v1 server";

/// The key could not be loaded or a proof did not verify.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum AuthError {
    #[error("pre-shared key file {path}: {reason}")]
    KeyFile { path: String, reason: String },
    #[error(
        "the pre-shared key in {path} is {len} bytes; use at least {MIN_KEY_BYTES} (e.g. `head -c 32 /dev/urandom | base64 > FILE`)"
    )]
    KeyTooShort { path: String, len: usize },
    #[error("a nonce or proof is not valid hex of the right length")]
    Malformed,
    #[error("authentication failed: the pre-shared keys differ")]
    Mismatch,
}

/// A pre-shared key.
#[derive(Clone)]
pub struct PreSharedKey(Vec<u8>);

impl std::fmt::Debug for PreSharedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PreSharedKey(<redacted>)")
    }
}

impl PreSharedKey {
    /// Reads a key file (a regular file of at most [`MAX_KEY_BYTES`]); surrounding whitespace (a trailing
    /// newline) is not part of the key.
    pub fn from_file(path: &Path) -> Result<PreSharedKey, AuthError> {
        let shown = path.display().to_string();
        let limit = crate::files::Limit {
            bytes: MAX_KEY_BYTES as u64,
            what: "a key file",
        };
        let bytes = crate::files::read_regular(path, limit).map_err(|e| AuthError::KeyFile {
            path: shown.clone(),
            reason: e.problem.to_string(),
        })?;
        let key = bytes.trim_ascii().to_vec();
        if key.len() < MIN_KEY_BYTES {
            return Err(AuthError::KeyTooShort {
                path: shown,
                len: key.len(),
            });
        }
        Ok(PreSharedKey(key))
    }

    /// A key from bytes (tests).
    pub fn from_bytes(bytes: &[u8]) -> PreSharedKey {
        PreSharedKey(bytes.to_vec())
    }

    fn mac(&self, label: &[u8], first: &[u8], second: &[u8]) -> Hmac<Sha256> {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes keys of any length");
        mac.update(label);
        mac.update(first);
        mac.update(second);
        mac
    }

    /// The proof for `label` over two nonces, hex.
    fn proof(&self, label: &[u8], first: &str, second: &str) -> Result<String, AuthError> {
        let (a, b) = (decode_nonce(first)?, decode_nonce(second)?);
        Ok(hex(&self.mac(label, &a, &b).finalize().into_bytes()))
    }

    /// Checks a proof for `label` over two nonces in constant time.
    fn verify(
        &self,
        label: &[u8],
        first: &str,
        second: &str,
        proof: &str,
    ) -> Result<(), AuthError> {
        let (a, b) = (decode_nonce(first)?, decode_nonce(second)?);
        let proof = decode_proof(proof)?;
        self.mac(label, &a, &b)
            .verify_slice(&proof)
            .map_err(|_| AuthError::Mismatch)
    }

    /// The client's proof, hex.
    pub fn client_proof(
        &self,
        server_nonce: &str,
        client_nonce: &str,
    ) -> Result<String, AuthError> {
        self.proof(CLIENT_LABEL, server_nonce, client_nonce)
    }

    /// Checks the client's proof in constant time.
    pub fn verify_client(
        &self,
        server_nonce: &str,
        client_nonce: &str,
        proof: &str,
    ) -> Result<(), AuthError> {
        self.verify(CLIENT_LABEL, server_nonce, client_nonce, proof)
    }

    /// The server's proof, hex.
    pub fn server_proof(
        &self,
        client_nonce: &str,
        server_nonce: &str,
    ) -> Result<String, AuthError> {
        self.proof(SERVER_LABEL, client_nonce, server_nonce)
    }

    /// Checks the server's proof in constant time.
    pub fn verify_server(
        &self,
        client_nonce: &str,
        server_nonce: &str,
        proof: &str,
    ) -> Result<(), AuthError> {
        self.verify(SERVER_LABEL, client_nonce, server_nonce, proof)
    }
}

/// A fresh random nonce, hex.
pub fn new_nonce() -> String {
    let mut n = [0u8; NONCE_BYTES];
    rand::thread_rng().fill_bytes(&mut n);
    hex(&n)
}

/// HMAC-SHA256 proofs are 32 bytes.
fn decode_proof(text: &str) -> Result<Vec<u8>, AuthError> {
    match unhex(text) {
        Some(bytes) if bytes.len() == 32 => Ok(bytes),
        _ => Err(AuthError::Malformed),
    }
}

fn decode_nonce(text: &str) -> Result<Vec<u8>, AuthError> {
    match unhex(text) {
        Some(bytes) if bytes.len() == NONCE_BYTES => Ok(bytes),
        _ => Err(AuthError::Malformed),
    }
}

/// Whether two byte strings are equal, in time that does not depend on where they differ (a session
/// cookie is compared like the HMAC proofs, so its bytes cannot be guessed one at a time).
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Bytes of a hex string (at most 1 KiB of text), `None` if it is not hex.
pub fn unhex(text: &str) -> Option<Vec<u8>> {
    if text.len() % 2 != 0 || text.len() > 1024 || !text.is_ascii() {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matching_keys_prove_both_ways() {
        let key = PreSharedKey::from_bytes(b"0123456789abcdef-secret");
        let (c, s) = (new_nonce(), new_nonce());
        let proof = key.client_proof(&s, &c).unwrap();
        assert_eq!(key.verify_client(&s, &c, &proof), Ok(()));
        let back = key.server_proof(&c, &s).unwrap();
        assert_eq!(key.verify_server(&c, &s, &back), Ok(()));
        // The two directions never share a proof (no reflection).
        assert_ne!(proof, back);
    }

    #[test]
    fn wrong_keys_replays_and_garbage_fail() {
        let key = PreSharedKey::from_bytes(b"0123456789abcdef-secret");
        let other = PreSharedKey::from_bytes(b"0123456789abcdef-SECRET");
        let (c, s) = (new_nonce(), new_nonce());
        let proof = other.client_proof(&s, &c).unwrap();
        assert_eq!(key.verify_client(&s, &c, &proof), Err(AuthError::Mismatch));
        // A proof recorded for one server nonce does not pass for another.
        let good = key.client_proof(&s, &c).unwrap();
        assert_eq!(
            key.verify_client(&new_nonce(), &c, &good),
            Err(AuthError::Mismatch)
        );
        for bad in ["", "zz", "abc", &"00".repeat(600)] {
            assert_eq!(key.verify_client(&s, &c, bad), Err(AuthError::Malformed));
        }
        assert_eq!(
            key.verify_client("00", &c, &good),
            Err(AuthError::Malformed)
        );
    }

    #[test]
    fn cookies_compare_whole() {
        assert!(constant_time_eq(&[1, 2, 3], &[1, 2, 3]));
        assert!(!constant_time_eq(&[1, 2, 3], &[1, 2, 4]));
        assert!(!constant_time_eq(&[9, 2, 3], &[1, 2, 3]));
        assert!(!constant_time_eq(&[1, 2], &[1, 2, 3]));
    }

    #[test]
    fn key_files_are_trimmed_and_checked() {
        let dir = tempfile::tempdir().unwrap();
        let good = dir.path().join("k");
        std::fs::write(&good, "a-sufficiently-long-key\n").unwrap();
        let k = PreSharedKey::from_file(&good).unwrap();
        assert_eq!(k.0, b"a-sufficiently-long-key");
        let short = dir.path().join("s");
        std::fs::write(&short, "short\n").unwrap();
        assert!(matches!(
            PreSharedKey::from_file(&short),
            Err(AuthError::KeyTooShort { len: 5, .. })
        ));
        assert!(matches!(
            PreSharedKey::from_file(&dir.path().join("missing")),
            Err(AuthError::KeyFile { .. })
        ));
        let huge = dir.path().join("h");
        std::fs::write(&huge, vec![b'x'; 10_000]).unwrap();
        assert!(matches!(
            PreSharedKey::from_file(&huge),
            Err(AuthError::KeyFile { .. })
        ));
        let zero = PreSharedKey::from_file(Path::new("/dev/zero")).unwrap_err();
        assert!(zero.to_string().contains("not a regular file"), "{zero}");
        assert!(
            !format!("{k:?}").contains("sufficiently"),
            "keys never print"
        );
    }
}
