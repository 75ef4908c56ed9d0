//! A deterministic, keyed fingerprint of personal data, and the cipher that carries one.
//!
//! A uniqueness index cannot use the ciphertext (a fresh nonce each time makes equal values
//! differ) nor a plain SHA-256: there are only ~10^11 plausible ID-card numbers, so an
//! unkeyed hash is reversible by brute force. HMAC-SHA256 under a secret key is not, and
//! duplicates are still found without decrypting every row.

use std::fmt;

use aes_gcm::aead::KeyInit;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::{PiiCipher, PiiError, decode_key};

type HmacSha256 = Hmac<Sha256>;

/// HMAC-SHA256 under one key. Cheap to clone.
#[derive(Clone)]
pub struct KeyedHash(
    /// HMAC state already keyed; cloned per hash so the key schedule runs once.
    HmacSha256,
);

impl KeyedHash {
    /// Builds the hash from a raw 32-byte key.
    pub fn new(key: &[u8; 32]) -> Self {
        // HMAC pads keys shorter than the block (64 bytes for SHA-256) with zeros, so the
        // zero-padded block *is* the key; passing it as a full block uses the infallible
        // constructor instead of `new_from_slice(..)` and its impossible error.
        let mut block = [0u8; 64];
        block[..32].copy_from_slice(key);
        Self(<HmacSha256 as KeyInit>::new(&block.into()))
    }

    /// HMAC-SHA256 of the value: deterministic under one key, so a unique index on it finds
    /// a duplicate without decrypting; meaningless without the key.
    ///
    /// Hash the canonical form (e.g. the parsed ID-card number) so two spellings of one
    /// value collide as they should.
    pub fn hash(&self, value: &str) -> [u8; 32] {
        let mut mac = self.0.clone();
        mac.update(value.as_bytes());
        mac.finalize().into_bytes().into()
    }
}

impl fmt::Debug for KeyedHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("KeyedHash(..)")
    }
}

/// A [`PiiCipher`] and a [`KeyedHash`] under two distinct keys, for a service that both
/// stores a personal value and must find duplicates of it. Cheap to clone.
#[derive(Clone, Debug)]
pub struct HashingCipher {
    cipher: PiiCipher,
    hash: KeyedHash,
}

impl HashingCipher {
    /// Builds both from raw 32-byte keys.
    pub fn new(key: &[u8; 32], hash_key: &[u8; 32]) -> Self {
        Self {
            cipher: PiiCipher::new(key),
            hash: KeyedHash::new(hash_key),
        }
    }

    /// Builds both from the two base64 keys found in configuration; errors name the key
    /// (`key_name`, `hash_key_name`).
    ///
    /// The two keys must differ: reusing one key for both jobs is a configuration slip
    /// that would make a leak of one a leak of both.
    pub fn from_base64(
        (key_name, key_b64): (&'static str, &str),
        (hash_key_name, hash_key_b64): (&'static str, &str),
    ) -> Result<Self, PiiError> {
        let ring = super::cipher::ring_keys(key_name, key_b64)?;
        let hash_key = decode_key(hash_key_name, hash_key_b64)?;
        if ring.iter().any(|(_, key)| *key == hash_key) {
            return Err(PiiError::key(
                hash_key_name,
                format!("must differ from {key_name}"),
            ));
        }
        Ok(Self {
            cipher: PiiCipher::from_base64(key_name, key_b64)?,
            hash: KeyedHash::new(&hash_key),
        })
    }

    /// The sealing half (for re-sealing after a key rotation).
    pub fn cipher(&self) -> &PiiCipher {
        &self.cipher
    }

    /// See [`PiiCipher::encrypt`].
    pub fn encrypt(&self, plaintext: &str) -> Result<Vec<u8>, PiiError> {
        self.cipher.encrypt(plaintext)
    }

    /// See [`PiiCipher::decrypt`].
    pub fn decrypt(&self, blob: &[u8]) -> Result<String, PiiError> {
        self.cipher.decrypt(blob)
    }

    /// See [`KeyedHash::hash`].
    pub fn keyed_hash(&self, value: &str) -> [u8; 32] {
        self.hash.hash(value)
    }
}

#[cfg(test)]
mod tests {
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;

    use super::*;

    const ID: &str = "11010519491231002X";

    fn hash() -> KeyedHash {
        KeyedHash::new(&[9u8; 32])
    }

    #[test]
    fn is_deterministic_and_keyed() {
        let h = hash();
        assert_eq!(h.hash(ID), h.hash(ID));
        assert_ne!(h.hash(ID), h.hash("110105194912310029"));
        assert_ne!(h.hash(ID), KeyedHash::new(&[10u8; 32]).hash(ID));
        // Not a plain SHA-256 of the value.
        use sha2::Digest;
        let plain: [u8; 32] = Sha256::digest(ID.as_bytes()).into();
        assert_ne!(h.hash(ID), plain);
    }

    #[test]
    fn equals_standard_hmac_with_the_32_byte_key() {
        let mut reference = <HmacSha256 as Mac>::new_from_slice(&[9u8; 32]).unwrap();
        reference.update(ID.as_bytes());
        let expected: [u8; 32] = reference.finalize().into_bytes().into();
        assert_eq!(hash().hash(ID), expected);
    }

    /// Computed by the volunteers service's own copy before this module existed: the
    /// unique index over stored hashes must keep matching.
    #[test]
    fn matches_hashes_written_before_the_move() {
        let hex: String = hash().hash(ID).iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            "a34eb8d39058cb67598e94f404e52db6bdee6d9c7ef0ff9847d5f7063f4e85da"
        );
    }

    #[test]
    fn hashing_cipher_seals_and_hashes_under_its_two_keys() {
        let c = HashingCipher::new(&[7u8; 32], &[9u8; 32]);
        assert_eq!(c.decrypt(&c.encrypt(ID).unwrap()).unwrap(), ID);
        assert_eq!(c.keyed_hash(ID), hash().hash(ID));
        assert!(
            PiiCipher::new(&[7u8; 32])
                .decrypt(&c.encrypt(ID).unwrap())
                .is_ok()
        );
    }

    #[test]
    fn from_base64_names_the_bad_key() {
        let enc = "pii.encryption_key";
        let hk = "pii.hash_key";
        let good = STANDARD.encode([1u8; 32]);
        let good2 = STANDARD.encode([2u8; 32]);
        assert!(HashingCipher::from_base64((enc, &good), (hk, &good2)).is_ok());
        let err = HashingCipher::from_base64((enc, "not base64!"), (hk, &good2)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "configuration pii.encryption_key: is not valid base64"
        );
        let err = HashingCipher::from_base64((enc, &good), (hk, &STANDARD.encode([1u8; 16])))
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "configuration pii.hash_key: must decode to 32 bytes, got 16"
        );
        let err = HashingCipher::from_base64((enc, &good), (hk, &good)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "configuration pii.hash_key: must differ from pii.encryption_key"
        );
    }

    #[test]
    fn debug_shows_no_key_material() {
        assert_eq!(
            format!("{:?}", HashingCipher::new(&[7u8; 32], &[9u8; 32])),
            "HashingCipher { cipher: PiiCipher { key_version: 1, .. }, hash: KeyedHash(..) }"
        );
    }
}
