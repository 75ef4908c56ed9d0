//! Encryption at rest for personal data (ID-card numbers, phones).
//!
//! Two keys with two jobs:
//! - the **encryption key** (AES-256-GCM) makes the stored column unreadable without it;
//!   GCM also authenticates, so a tampered or swapped ciphertext fails instead of decrypting
//!   to garbage;
//! - the **hash key** (HMAC-SHA256) gives a deterministic fingerprint for the uniqueness
//!   index. A plain SHA-256 of an ID number would be reversible by brute force (there are
//!   only ~10^11 plausible numbers); keyed, it is not, and duplicates are still found
//!   without decrypting every row.
//!
//! Ciphertext layout: `[version: 1 byte][nonce: 12 bytes][ciphertext + tag]`. The version
//! byte names the key that sealed it, so a key can be rotated later by adding a new
//! version and re-encrypting lazily; it is also authenticated (as associated data), so it
//! cannot be altered to point at another key.

use std::fmt;

use aes_gcm::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::DomainError;

type HmacSha256 = Hmac<Sha256>;

/// Key version written into every ciphertext by this build.
pub const KEY_VERSION: u8 = 1;
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;
/// Personal-data fields are short; refusing large input keeps `encrypt` from being used as
/// a general-purpose blob store and keeps AES-GCM far from its message-size limit.
pub const MAX_PLAINTEXT_BYTES: usize = 4096;

/// Config key names, used in error messages so an operator knows which setting is wrong.
pub const ENCRYPTION_KEY_NAME: &str = "pii.encryption_key";
/// See [`ENCRYPTION_KEY_NAME`].
pub const HASH_KEY_NAME: &str = "pii.hash_key";

/// Seals and opens personal data and computes its keyed hash. Cheap to clone.
#[derive(Clone)]
pub struct PiiCipher {
    aead: Aes256Gcm,
    /// HMAC state already keyed; cloned per hash so the key schedule runs once.
    mac: HmacSha256,
}

impl PiiCipher {
    /// Builds a cipher from raw 32-byte keys.
    pub fn new(key: &[u8; 32], hash_key: &[u8; 32]) -> Self {
        // HMAC pads keys shorter than the block (64 bytes for SHA-256) with zeros, so the
        // zero-padded block *is* the key; passing it as a full block uses the infallible
        // constructor instead of `new_from_slice(..)` and its impossible error.
        let mut block = [0u8; 64];
        block[..32].copy_from_slice(hash_key);
        Self {
            aead: Aes256Gcm::new(&(*key).into()),
            mac: <HmacSha256 as KeyInit>::new(&block.into()),
        }
    }

    /// Builds a cipher from the two base64 strings found in configuration.
    ///
    /// The two keys must differ: reusing one key for both jobs is a configuration slip
    /// that would make a leak of one a leak of both.
    pub fn from_base64(key_b64: &str, hash_key_b64: &str) -> Result<Self, DomainError> {
        let key = decode_key(ENCRYPTION_KEY_NAME, key_b64)?;
        let hash_key = decode_key(HASH_KEY_NAME, hash_key_b64)?;
        if key == hash_key {
            return Err(DomainError::config(
                HASH_KEY_NAME,
                format!("must differ from {ENCRYPTION_KEY_NAME}"),
            ));
        }
        Ok(Self::new(&key, &hash_key))
    }

    /// A fresh random key as base64, for `tongxin run` and for operators creating keys.
    pub fn generate_key_base64() -> String {
        STANDARD.encode(Aes256Gcm::generate_key(OsRng))
    }

    /// Encrypts with a fresh random nonce, so equal inputs give different ciphertexts and
    /// the stored column reveals nothing, not even which rows are equal (that is what the
    /// keyed hash is for).
    pub fn encrypt(&self, plaintext: &str) -> Result<Vec<u8>, DomainError> {
        if plaintext.len() > MAX_PLAINTEXT_BYTES {
            return Err(DomainError::invalid(
                "pii",
                format!("value is longer than {MAX_PLAINTEXT_BYTES} bytes"),
            ));
        }
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let sealed = self
            .aead
            .encrypt(
                &nonce,
                Payload {
                    msg: plaintext.as_bytes(),
                    aad: &[KEY_VERSION],
                },
            )
            .map_err(|_| DomainError::invalid("pii", "value could not be encrypted"))?;
        let mut out = Vec::with_capacity(1 + NONCE_LEN + sealed.len());
        out.push(KEY_VERSION);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    /// Decrypts what [`PiiCipher::encrypt`] produced. Any change to any byte, an unknown
    /// key version or the wrong key gives [`DomainError::Decrypt`].
    pub fn decrypt(&self, blob: &[u8]) -> Result<String, DomainError> {
        let err = || DomainError::Decrypt { field: "pii" };
        if blob.len() < 1 + NONCE_LEN + TAG_LEN || blob[0] != KEY_VERSION {
            return Err(err());
        }
        let (nonce, sealed) = blob[1..].split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| err())?;
        let plain = self
            .aead
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

    /// HMAC-SHA256 of the value: deterministic under one hash key, so a unique index on it
    /// finds a duplicate ID number without decrypting; meaningless without the key.
    ///
    /// Hash the canonical form (e.g. [`super::id_card::IdCardNumber::expose`]) so two
    /// spellings of one number collide as they should.
    pub fn keyed_hash(&self, value: &str) -> [u8; 32] {
        let mut mac = self.mac.clone();
        mac.update(value.as_bytes());
        mac.finalize().into_bytes().into()
    }
}

impl fmt::Debug for PiiCipher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PiiCipher")
            .field("key_version", &KEY_VERSION)
            .finish_non_exhaustive()
    }
}

fn decode_key(name: &'static str, b64: &str) -> Result<[u8; 32], DomainError> {
    let bytes = STANDARD
        .decode(b64.trim())
        .map_err(|_| DomainError::config(name, "is not valid base64"))?;
    <[u8; 32]>::try_from(bytes.as_slice()).map_err(|_| {
        DomainError::config(
            name,
            format!("must decode to 32 bytes, got {}", bytes.len()),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cipher() -> PiiCipher {
        PiiCipher::new(&[7u8; 32], &[9u8; 32])
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
                DomainError::Decrypt { field: "pii" },
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
        let other = PiiCipher::new(&[8u8; 32], &[9u8; 32]);
        assert!(other.decrypt(&blob).is_err());
    }

    #[test]
    fn keyed_hash_is_deterministic_and_keyed() {
        let c = cipher();
        assert_eq!(c.keyed_hash(ID), c.keyed_hash(ID));
        assert_ne!(c.keyed_hash(ID), c.keyed_hash("110105194912310029"));
        let other = PiiCipher::new(&[7u8; 32], &[10u8; 32]);
        assert_ne!(c.keyed_hash(ID), other.keyed_hash(ID));
        // Not a plain SHA-256 of the value.
        use sha2::Digest;
        let plain: [u8; 32] = Sha256::digest(ID.as_bytes()).into();
        assert_ne!(c.keyed_hash(ID), plain);
    }

    #[test]
    fn keyed_hash_equals_standard_hmac_with_the_32_byte_key() {
        let mut reference = <HmacSha256 as Mac>::new_from_slice(&[9u8; 32]).unwrap();
        reference.update(ID.as_bytes());
        let expected: [u8; 32] = reference.finalize().into_bytes().into();
        assert_eq!(cipher().keyed_hash(ID), expected);
    }

    #[test]
    fn from_base64_names_the_bad_key() {
        let good = STANDARD.encode([1u8; 32]);
        let good2 = STANDARD.encode([2u8; 32]);
        assert!(PiiCipher::from_base64(&good, &good2).is_ok());
        let err = PiiCipher::from_base64("not base64!", &good2).unwrap_err();
        assert_eq!(
            err.to_string(),
            "configuration pii.encryption_key: is not valid base64"
        );
        let err = PiiCipher::from_base64(&good, &STANDARD.encode([1u8; 16])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "configuration pii.hash_key: must decode to 32 bytes, got 16"
        );
        let err = PiiCipher::from_base64(&good, &good).unwrap_err();
        assert!(err.to_string().contains("must differ"));
    }

    #[test]
    fn generated_keys_are_usable_and_distinct() {
        let a = PiiCipher::generate_key_base64();
        let b = PiiCipher::generate_key_base64();
        assert_ne!(a, b);
        assert!(PiiCipher::from_base64(&a, &b).is_ok());
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
        assert!(
            cipher()
                .encrypt(&"a".repeat(MAX_PLAINTEXT_BYTES + 1))
                .is_err()
        );
    }
}
