//! Encryption at rest for short personal values (ID-card numbers, phones).
//!
//! AES-256-GCM makes the stored column unreadable without the key; GCM also authenticates,
//! so a tampered or swapped ciphertext fails instead of decrypting to garbage.
//!
//! Ciphertext layout: `[version: 1 byte][nonce: 12 bytes][ciphertext + tag]`. The version
//! byte names the key that sealed it, so a key can be rotated later by adding a new
//! version and re-encrypting lazily; it is also authenticated (as associated data), so it
//! cannot be altered to point at another key. Stored data depends on this layout: change it
//! only by adding a version.

use std::fmt;

use aes_gcm::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::{PiiError, decode_key};

/// Key version written into every ciphertext by this build.
pub const KEY_VERSION: u8 = 1;
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;
/// Personal-data fields are short; refusing large input keeps `encrypt` from being used as
/// a general-purpose blob store and keeps AES-GCM far from its message-size limit.
pub const MAX_PLAINTEXT_BYTES: usize = 4096;
/// The field named when a value cannot be sealed (the caller's field is not known here,
/// and the value is never echoed).
const FIELD: &str = "pii";

/// Seals and opens short personal values. Cheap to clone.
#[derive(Clone)]
pub struct PiiCipher(Aes256Gcm);

impl PiiCipher {
    /// Builds a cipher from a raw 32-byte key.
    pub fn new(key: &[u8; 32]) -> Self {
        Self(Aes256Gcm::new(&(*key).into()))
    }

    /// Builds a cipher from the base64 key found in configuration under `key_name`, which
    /// an error names.
    pub fn from_base64(key_name: &'static str, key_b64: &str) -> Result<Self, PiiError> {
        Ok(Self::new(&decode_key(key_name, key_b64)?))
    }

    /// A fresh random key as base64, for `tongxin run`, tests and operators creating keys.
    pub fn generate_key_base64() -> String {
        STANDARD.encode(Aes256Gcm::generate_key(OsRng))
    }

    /// Encrypts with a fresh random nonce, so equal inputs give different ciphertexts and
    /// the stored column reveals nothing, not even which rows are equal (that is what
    /// [`super::KeyedHash`] is for).
    pub fn encrypt(&self, plaintext: &str) -> Result<Vec<u8>, PiiError> {
        if plaintext.len() > MAX_PLAINTEXT_BYTES {
            return Err(PiiError::invalid(
                FIELD,
                format!("value is longer than {MAX_PLAINTEXT_BYTES} bytes"),
            ));
        }
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
            .map_err(|_| PiiError::invalid(FIELD, "value could not be encrypted"))?;
        let mut out = Vec::with_capacity(1 + NONCE_LEN + sealed.len());
        out.push(KEY_VERSION);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    /// Decrypts what [`PiiCipher::encrypt`] produced. Any change to any byte, an unknown
    /// key version or the wrong key gives [`PiiError::Decrypt`].
    pub fn decrypt(&self, blob: &[u8]) -> Result<String, PiiError> {
        if blob.len() < 1 + NONCE_LEN + TAG_LEN || blob[0] != KEY_VERSION {
            return Err(PiiError::Decrypt);
        }
        let (nonce, sealed) = blob[1..].split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| PiiError::Decrypt)?;
        let plain = self
            .0
            .decrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: sealed,
                    aad: &blob[..1],
                },
            )
            .map_err(|_| PiiError::Decrypt)?;
        String::from_utf8(plain).map_err(|_| PiiError::Decrypt)
    }
}

impl fmt::Debug for PiiCipher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PiiCipher")
            .field("key_version", &KEY_VERSION)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cipher() -> PiiCipher {
        PiiCipher::new(&[7u8; 32])
    }

    const ID: &str = "11010519491231002X";

    #[test]
    fn round_trips() {
        let c = cipher();
        let blob = c.encrypt(ID).unwrap();
        assert_eq!(c.decrypt(&blob).unwrap(), ID);
        assert_eq!(blob[0], KEY_VERSION);
        assert_eq!(blob.len(), 1 + NONCE_LEN + ID.len() + TAG_LEN);
        assert_eq!(c.decrypt(&c.encrypt("").unwrap()).unwrap(), "");
        assert_eq!(c.decrypt(&c.encrypt("张三").unwrap()).unwrap(), "张三");
    }

    /// Sealed by the services' own copies before this module existed (key `[7; 32]`):
    /// rows already stored must keep opening.
    #[test]
    fn opens_ciphertext_written_before_the_move() {
        let golden =
            "01f92097973553af9ab7bee8d8a014a7c58eba8d783a83b9d0d1b859c6464b0a9e4984a94115f05b";
        let blob: Vec<u8> = (0..golden.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&golden[i..i + 2], 16).unwrap())
            .collect();
        assert_eq!(cipher().decrypt(&blob).unwrap(), "13812341234");
    }

    #[test]
    fn ciphertext_does_not_contain_the_plaintext() {
        let c = cipher();
        let blob = c.encrypt(ID).unwrap();
        assert!(!blob.windows(ID.len()).any(|w| w == ID.as_bytes()));
        // Not even a recognisable fragment (the birth date).
        assert!(!blob.windows(8).any(|w| w == b"19491231"));
        // Fresh nonce each time: equal inputs do not give equal ciphertexts.
        assert_ne!(blob, c.encrypt(ID).unwrap());
    }

    #[test]
    fn tampering_fails() {
        let c = cipher();
        let blob = c.encrypt(ID).unwrap();
        for i in 0..blob.len() {
            let mut bad = blob.clone();
            bad[i] ^= 0x01;
            assert_eq!(
                c.decrypt(&bad).unwrap_err(),
                PiiError::Decrypt,
                "flipping byte {i} went unnoticed"
            );
        }
        assert!(c.decrypt(&blob[..blob.len() - 1]).is_err());
        assert!(c.decrypt(&[]).is_err());
        assert!(c.decrypt(&[KEY_VERSION; 20]).is_err());
    }

    #[test]
    fn wrong_key_fails() {
        let blob = cipher().encrypt(ID).unwrap();
        let other = PiiCipher::new(&[8u8; 32]);
        assert_eq!(other.decrypt(&blob), Err(PiiError::Decrypt));
    }

    #[test]
    fn from_base64_names_the_bad_key() {
        assert!(PiiCipher::from_base64("pii_key", &STANDARD.encode([1u8; 32])).is_ok());
        assert_eq!(
            PiiCipher::from_base64("pii_key", "bm90IGEga2V5")
                .unwrap_err()
                .to_string(),
            "configuration pii_key: must decode to 32 bytes, got 9"
        );
        assert!(PiiCipher::from_base64("pii_key", "***").is_err());
    }

    #[test]
    fn generated_keys_are_usable_and_distinct() {
        let a = PiiCipher::generate_key_base64();
        let b = PiiCipher::generate_key_base64();
        assert_ne!(a, b);
        let sealed = PiiCipher::from_base64("a", &a)
            .unwrap()
            .encrypt(ID)
            .unwrap();
        assert!(
            PiiCipher::from_base64("b", &b)
                .unwrap()
                .decrypt(&sealed)
                .is_err()
        );
    }

    #[test]
    fn debug_shows_no_key_material() {
        assert_eq!(
            format!("{:?}", cipher()),
            "PiiCipher { key_version: 1, .. }"
        );
    }

    #[test]
    fn refuses_oversized_input() {
        assert_eq!(
            cipher()
                .encrypt(&"a".repeat(MAX_PLAINTEXT_BYTES + 1))
                .unwrap_err()
                .to_string(),
            "pii: value is longer than 4096 bytes"
        );
    }
}
