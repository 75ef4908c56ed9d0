//! Encryption at rest for short personal values (ID-card numbers, phones).
//!
//! AES-256-GCM makes the stored column unreadable without the key; GCM also authenticates,
//! so a tampered or swapped ciphertext fails instead of decrypting to garbage.
//!
//! Ciphertext layout: `[version: 1 byte][nonce: 12 bytes][ciphertext + tag]`. The version
//! byte names the key that sealed it; it is also authenticated (as associated data), so it
//! cannot be altered to point at another key. Stored data depends on this layout.
//!
//! Rotation: a configured key is a key ring, `v2:<new>,v1:<old>`. The first key seals, every
//! key opens what its version sealed, and a bare `<key>` is `v1:<key>` (what every key
//! configured before rotation existed is). [`super::reseal`] re-seals stored values under
//! the first key, after which the old one can be dropped from the ring. docs/deploy.md
//! "Rotate the PII keys" gives the steps.

use std::fmt;

use aes_gcm::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::{PiiError, decode_key};

/// The version of a key configured without one (every key before rotation existed).
pub const KEY_VERSION: u8 = 1;
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;
/// Personal-data fields are short; refusing large input keeps `encrypt` from being used as
/// a general-purpose blob store and keeps AES-GCM far from its message-size limit.
pub const MAX_PLAINTEXT_BYTES: usize = 4096;
/// The field named when a value cannot be sealed (the caller's field is not known here,
/// and the value is never echoed).
const FIELD: &str = "pii";

/// The keys of a configured ring (see [`PiiCipher::from_base64`]) with their versions, the
/// sealing one first; never empty.
pub(super) fn ring_keys(
    key_name: &'static str,
    ring: &str,
) -> Result<Vec<(u8, [u8; 32])>, PiiError> {
    let mut keys: Vec<(u8, [u8; 32])> = Vec::new();
    for entry in ring.split(',') {
        let entry = entry.trim();
        let (version, key) = match entry.split_once(':') {
            Some((version, key)) => {
                let version = version
                    .strip_prefix('v')
                    .and_then(|v| v.parse::<u8>().ok())
                    .filter(|v| *v > 0)
                    .ok_or_else(|| {
                        PiiError::key(key_name, "a key's version is v1 to v255 (`v2:<key>`)")
                    })?;
                (version, key)
            }
            None => (KEY_VERSION, entry),
        };
        if keys.iter().any(|(v, _)| *v == version) {
            return Err(PiiError::key(
                key_name,
                format!("names version v{version} twice"),
            ));
        }
        keys.push((version, decode_key(key_name, key)?));
    }
    Ok(keys)
}

/// Seals and opens short personal values. Cheap to clone.
#[derive(Clone)]
pub struct PiiCipher {
    /// The version that seals.
    current: u8,
    /// Every key of the ring by version, the sealing one first.
    keys: Vec<(u8, Aes256Gcm)>,
}

impl PiiCipher {
    /// Builds a cipher from one raw 32-byte key, version 1.
    pub fn new(key: &[u8; 32]) -> Self {
        Self {
            current: KEY_VERSION,
            keys: vec![(KEY_VERSION, Aes256Gcm::new(&(*key).into()))],
        }
    }

    /// Builds a cipher from a configured key ring: `<key>` (version 1) or
    /// `v<N>:<key>,v<M>:<key>,…` (base64 keys of 32 bytes; N, M from 1 to 255, each once;
    /// the first seals). Errors name `key_name`, never a key.
    pub fn from_base64(key_name: &'static str, ring: &str) -> Result<Self, PiiError> {
        let keys: Vec<(u8, Aes256Gcm)> = ring_keys(key_name, ring)?
            .into_iter()
            .map(|(version, key)| (version, Aes256Gcm::new(&key.into())))
            .collect();
        Ok(Self {
            current: keys[0].0,
            keys,
        })
    }

    /// A fresh random key, base64, as the configuration wants it.
    pub fn generate_key_base64() -> String {
        STANDARD.encode(Aes256Gcm::generate_key(OsRng))
    }

    /// The version that seals.
    pub fn current_version(&self) -> u8 {
        self.current
    }

    /// Whether `blob` was sealed by another key than the sealing one (it needs re-sealing
    /// before that key can leave the ring).
    pub fn is_stale(&self, blob: &[u8]) -> bool {
        blob.first() != Some(&self.current)
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
        let sealed = self.keys[0]
            .1
            .encrypt(
                &nonce,
                Payload {
                    msg: plaintext.as_bytes(),
                    aad: &[self.current],
                },
            )
            .map_err(|_| PiiError::invalid(FIELD, "value could not be encrypted"))?;
        let mut out = Vec::with_capacity(1 + NONCE_LEN + sealed.len());
        out.push(self.current);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    /// Decrypts what [`PiiCipher::encrypt`] produced with any key of the ring. Any change to
    /// any byte, a version the ring lacks or the wrong key gives [`PiiError::Decrypt`].
    pub fn decrypt(&self, blob: &[u8]) -> Result<String, PiiError> {
        if blob.len() < 1 + NONCE_LEN + TAG_LEN {
            return Err(PiiError::Decrypt);
        }
        let Some((_, key)) = self.keys.iter().find(|(v, _)| *v == blob[0]) else {
            return Err(PiiError::Decrypt);
        };
        let (nonce, sealed) = blob[1..].split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| PiiError::Decrypt)?;
        let plain = key
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
            .field("key_version", &self.current)
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
    fn a_ring_seals_with_its_first_key_and_opens_with_every_key() {
        let old_key = STANDARD.encode([7u8; 32]);
        let new_key = STANDARD.encode([9u8; 32]);
        let before = PiiCipher::from_base64("pii_key", &old_key).unwrap();
        let sealed_before = before.encrypt(ID).unwrap();
        assert_eq!(sealed_before[0], 1);

        let ring =
            PiiCipher::from_base64("pii_key", &format!("v2:{new_key}, v1:{old_key}")).unwrap();
        assert_eq!(ring.current_version(), 2);
        assert_eq!(ring.decrypt(&sealed_before).unwrap(), ID);
        assert!(ring.is_stale(&sealed_before));
        let sealed_now = ring.encrypt(ID).unwrap();
        assert_eq!(sealed_now[0], 2);
        assert!(!ring.is_stale(&sealed_now));
        // The old key alone cannot open what the new one sealed.
        assert_eq!(before.decrypt(&sealed_now), Err(PiiError::Decrypt));
        // The old key dropped from the ring: what it sealed no longer opens.
        let after = PiiCipher::from_base64("pii_key", &format!("v2:{new_key}")).unwrap();
        assert_eq!(after.decrypt(&sealed_now).unwrap(), ID);
        assert_eq!(after.decrypt(&sealed_before), Err(PiiError::Decrypt));
        // The version byte is bound to its key: relabelling a v1 value as v2 fails.
        let mut relabelled = sealed_before.clone();
        relabelled[0] = 2;
        assert_eq!(ring.decrypt(&relabelled), Err(PiiError::Decrypt));
        // An explicit v1 is the same as a bare key.
        let explicit = PiiCipher::from_base64("pii_key", &format!("v1:{old_key}")).unwrap();
        assert_eq!(explicit.decrypt(&sealed_before).unwrap(), ID);
    }

    #[test]
    fn a_bad_ring_is_refused_by_name() {
        let key = STANDARD.encode([7u8; 32]);
        for (ring, words) in [
            (format!("v0:{key}"), "v1 to v255"),
            (format!("x2:{key}"), "v1 to v255"),
            (format!("v256:{key}"), "v1 to v255"),
            (format!("v2:{key},v2:{key}"), "names version v2 twice"),
            (format!("{key},v1:{key}"), "names version v1 twice"),
            (format!("v2:{key},"), "must decode to 32 bytes"),
        ] {
            let error = PiiCipher::from_base64("pii_key", &ring)
                .unwrap_err()
                .to_string();
            assert!(error.starts_with("configuration pii_key: "), "{error}");
            assert!(error.contains(words), "{ring}: {error}");
            assert!(!error.contains(&key), "{error}");
        }
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
