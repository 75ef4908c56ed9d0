//! Personal data at rest and on screen, shared by every service that stores it.
//!
//! - [`PiiCipher`] seals short values (phones, ID-card numbers) with AES-256-GCM;
//! - [`KeyedHash`] fingerprints them with HMAC-SHA256 for uniqueness indexes, and
//!   [`HashingCipher`] pairs the two under distinct keys for a service that needs both;
//! - [`Phone`] parses a mainland mobile number and masks it;
//! - [`reseal`] rewrites stored values under the sealing key of a rotated key ring.
//!
//! Nothing here knows a service's configuration: callers pass the config key's name, which
//! errors then name, and map [`PiiError`] into their own domain error (its variants line up
//! with the usual invalid-input / configuration / stored-data classes).

mod cipher;
mod hash;
mod phone;
mod reseal;

pub use cipher::{KEY_VERSION, MAX_PLAINTEXT_BYTES, PiiCipher};
pub use hash::{HashingCipher, KeyedHash};
pub use phone::Phone;
pub use reseal::{Resealed, SealedColumns, reseal};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

/// What can go wrong with personal data. Messages name the field or config key and never
/// contain the value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PiiError {
    /// A caller's value is not acceptable (a client error).
    #[error("{field}: {reason}")]
    Invalid {
        /// The field as the client knows it, e.g. `phone`.
        field: &'static str,
        /// What is wrong, in words a person can act on.
        reason: String,
    },
    /// A configured key is unusable (a start-up error).
    #[error("configuration {key}: {reason}")]
    Key {
        /// The config key, as the caller named it.
        key: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// Stored ciphertext could not be opened: wrong key, unknown key version, or tampering.
    /// Carries no field: the caller knows what it was opening.
    #[error("stored value could not be decrypted")]
    Decrypt,
}

impl PiiError {
    fn invalid(field: &'static str, reason: impl Into<String>) -> Self {
        Self::Invalid {
            field,
            reason: reason.into(),
        }
    }

    fn key(key: &'static str, reason: impl Into<String>) -> Self {
        Self::Key {
            key,
            reason: reason.into(),
        }
    }
}

/// Decodes a configured key: base64 of exactly 32 bytes. `name` is the config key, named
/// in the error so an operator knows which setting is wrong.
pub fn decode_key(name: &'static str, b64: &str) -> Result<[u8; 32], PiiError> {
    let bytes = STANDARD
        .decode(b64.trim())
        .map_err(|_| PiiError::key(name, "is not valid base64"))?;
    <[u8; 32]>::try_from(bytes.as_slice()).map_err(|_| {
        PiiError::key(
            name,
            format!("must decode to 32 bytes, got {}", bytes.len()),
        )
    })
}

/// A name as someone outside scope sees it: the first character, and a `*` for each of the
/// others (`张三` → `张*`, `欧阳娜娜` → `欧***`), so a list stays readable without naming
/// anyone; a one-character name becomes `*`.
pub fn mask_name(name: &str) -> String {
    let mut chars = name.trim().chars();
    let Some(first) = chars.next() else {
        return String::new();
    };
    let rest = chars.count();
    if rest == 0 {
        return "*".to_owned();
    }
    std::iter::once(first)
        .chain(std::iter::repeat_n('*', rest))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_key_names_the_bad_key() {
        assert_eq!(decode_key("k", &STANDARD.encode([1u8; 32])), Ok([1u8; 32]));
        assert_eq!(
            decode_key("pii_key", "not base64!")
                .unwrap_err()
                .to_string(),
            "configuration pii_key: is not valid base64"
        );
        assert_eq!(
            decode_key("pii_key", &STANDARD.encode([1u8; 16]))
                .unwrap_err()
                .to_string(),
            "configuration pii_key: must decode to 32 bytes, got 16"
        );
    }
}
