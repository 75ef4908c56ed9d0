//! Encryption at rest for the citizen's contact phone (AES-256-GCM).
//!
//! A small local copy of the sealing half of `tongxin-volunteers`' `PiiCipher` (same layout:
//! `[version][12-byte nonce][ciphertext + tag]`, the version byte authenticated), without
//! its keyed hash, which orders does not need. Moving it into `crates/platform` would touch
//! the volunteers service while it is being built in parallel; the copy is 60 lines.

use std::fmt;

use aes_gcm::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::DomainError;

const KEY_VERSION: u8 = 1;
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;
/// The config key, named in errors.
pub const KEY_NAME: &str = "pii_key";

/// Seals and opens short personal values. Cheap to clone.
#[derive(Clone)]
pub struct PiiCipher(Aes256Gcm);

impl PiiCipher {
    /// From base64 of 32 bytes.
    pub fn from_base64(key_b64: &str) -> Result<Self, DomainError> {
        let bytes = STANDARD
            .decode(key_b64.trim())
            .map_err(|_| DomainError::config(KEY_NAME, "must be base64"))?;
        let key: [u8; 32] = bytes
            .try_into()
            .map_err(|_| DomainError::config(KEY_NAME, "must be 32 bytes"))?;
        Ok(Self(Aes256Gcm::new(&key.into())))
    }

    /// A fresh random key as base64 (tests, `tongxin run`).
    pub fn generate_key_base64() -> String {
        STANDARD.encode(Aes256Gcm::generate_key(OsRng))
    }

    /// Encrypts with a fresh nonce.
    pub fn encrypt(&self, plaintext: &str) -> Result<Vec<u8>, DomainError> {
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let sealed = self
            .0
            .encrypt(
                &nonce,
                Payload {
                    msg: plaintext.as_bytes(),
                    aad: &[KEY_VERSION],
                },
            )
            .map_err(|_| DomainError::invalid("phone", "could not be encrypted"))?;
        let mut out = Vec::with_capacity(1 + NONCE_LEN + sealed.len());
        out.push(KEY_VERSION);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    /// Opens what [`PiiCipher::encrypt`] sealed.
    pub fn decrypt(&self, blob: &[u8]) -> Result<String, DomainError> {
        let err = || DomainError::Decrypt { field: "phone" };
        if blob.len() < 1 + NONCE_LEN + TAG_LEN || blob[0] != KEY_VERSION {
            return Err(err());
        }
        let (nonce, sealed) = blob[1..].split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| err())?;
        let plain = self
            .0
            .decrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: sealed,
                    aad: &blob[..1],
                },
            )
            .map_err(|_| err())?;
        String::from_utf8(plain).map_err(|_| err())
    }
}

impl fmt::Debug for PiiCipher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PiiCipher(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_hides_the_plaintext() {
        let c = PiiCipher::from_base64(&PiiCipher::generate_key_base64()).expect("key");
        let sealed = c.encrypt("13812341234").expect("seal");
        assert!(!sealed.windows(11).any(|w| w == b"13812341234"));
        assert_eq!(c.decrypt(&sealed).expect("open"), "13812341234");
        let mut tampered = sealed.clone();
        let last = tampered.len() - 1;
        tampered[last] ^= 1;
        assert!(c.decrypt(&tampered).is_err());
        let other = PiiCipher::from_base64(&PiiCipher::generate_key_base64()).expect("key");
        assert!(other.decrypt(&sealed).is_err());
    }

    #[test]
    fn bad_keys_are_named() {
        assert!(PiiCipher::from_base64("bm90IGEga2V5").is_err());
        assert!(PiiCipher::from_base64("***").is_err());
    }
}
