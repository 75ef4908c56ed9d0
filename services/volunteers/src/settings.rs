//! The volunteers service's settings: where it listens and keeps its data, like every
//! service, plus the keys that protect personal data.

use std::net::SocketAddr;

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize, Serializer};
use tongxin_platform::config::{ConfigError, DatabaseSettings, ServiceSettings, Validate};
use tongxin_platform::pii::{HashingCipher, PiiCipher, decode_key};

use crate::domain::DomainError;

/// Config key names, used in error messages so an operator knows which setting is wrong.
const ENCRYPTION_KEY_NAME: &str = "pii.encryption_key";
/// See [`ENCRYPTION_KEY_NAME`].
const HASH_KEY_NAME: &str = "pii.hash_key";

/// The `volunteers` section.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VolunteersSettings {
    /// GraphQL, health and metrics.
    pub http_addr: SocketAddr,
    /// gRPC for the other services.
    pub grpc_addr: SocketAddr,
    /// The service's own database.
    pub database: DatabaseSettings,
    /// Keys for ID-card numbers and phones.
    pub pii: PiiSettings,
}

/// The PII keys: base64 of 32 random bytes each (`PiiCipher::generate_key_base64`).
///
/// Empty by default: a deployment must configure both (`TONGXIN_VOLUNTEERS__PII__ENCRYPTION_KEY`,
/// `…__HASH_KEY`); `tongxin run` generates them into its data directory.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PiiSettings {
    /// AES-256-GCM key for the stored ID-card numbers and phones.
    #[serde(serialize_with = "expose_for_layering")]
    pub encryption_key: SecretString,
    /// HMAC-SHA256 key for the keyed hash that makes ID-card numbers unique.
    #[serde(serialize_with = "expose_for_layering")]
    pub hash_key: SecretString,
}

/// Serialising exists only to feed defaults into the layered loader; nothing prints it.
fn expose_for_layering<S: Serializer>(
    secret: &SecretString,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(secret.expose_secret())
}

impl PiiSettings {
    /// Both keys given explicitly (tests, `tongxin run`).
    pub fn new(encryption_key: &str, hash_key: &str) -> Self {
        Self {
            encryption_key: SecretString::from(encryption_key.to_owned()),
            hash_key: SecretString::from(hash_key.to_owned()),
        }
    }

    /// Fresh random keys (tests; `tongxin run` stores them).
    pub fn generate() -> Self {
        Self::new(
            &PiiCipher::generate_key_base64(),
            &PiiCipher::generate_key_base64(),
        )
    }

    /// Whether both keys are configured.
    pub fn is_set(&self) -> bool {
        !self.encryption_key.expose_secret().is_empty() && !self.hash_key.expose_secret().is_empty()
    }

    /// The cipher; an error names the key that is missing or malformed.
    pub fn cipher(&self) -> Result<HashingCipher, DomainError> {
        if self.encryption_key.expose_secret().is_empty() {
            return Err(DomainError::config(ENCRYPTION_KEY_NAME, "must be set"));
        }
        if self.hash_key.expose_secret().is_empty() {
            return Err(DomainError::config(HASH_KEY_NAME, "must be set"));
        }
        Ok(HashingCipher::from_base64(
            (ENCRYPTION_KEY_NAME, self.encryption_key.expose_secret()),
            (HASH_KEY_NAME, self.hash_key.expose_secret()),
        )?)
    }
}

impl VolunteersSettings {
    /// Defaults on the given ports of all interfaces, without PII keys.
    pub fn on_ports(http: u16, grpc: u16, database: &str) -> Self {
        let service = ServiceSettings::on_ports(http, grpc, database);
        Self {
            http_addr: service.http_addr,
            grpc_addr: service.grpc_addr,
            database: service.database,
            pii: PiiSettings::new("", ""),
        }
    }

    /// The listening and database part, as every service has it.
    pub fn service(&self) -> ServiceSettings {
        ServiceSettings {
            http_addr: self.http_addr,
            grpc_addr: self.grpc_addr,
            database: self.database.clone(),
        }
    }
}

impl Default for VolunteersSettings {
    fn default() -> Self {
        crate::default_settings()
    }
}

impl Validate for VolunteersSettings {
    /// Keys may be absent at load (a process that does not run volunteers needs none; the
    /// service refuses to build without them), but a key that is given must be usable.
    fn validate(&self, prefix: &str) -> Result<(), ConfigError> {
        self.service().validate(prefix)?;
        let pii = if prefix.is_empty() {
            "pii".to_owned()
        } else {
            format!("{prefix}.pii")
        };
        for (name, key) in [
            ("encryption_key", &self.pii.encryption_key),
            ("hash_key", &self.pii.hash_key),
        ] {
            let text = key.expose_secret();
            if text.is_empty() {
                continue;
            }
            // The encryption key may be a ring (`v2:<key>,v1:<key>`, a rotation under way);
            // the hash key is one key.
            let valid = if name == "encryption_key" {
                tongxin_platform::pii::PiiCipher::from_base64("encryption_key", text).is_ok()
            } else {
                decode_key(name, text).is_ok()
            };
            if !valid {
                let what = if name == "encryption_key" {
                    "must be base64 of 32 bytes, or a key ring `v2:<key>,v1:<key>`"
                } else {
                    "must be base64 of 32 bytes"
                };
                return Err(ConfigError::new(format!("{pii}.{name}"), what));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_malformed_key_is_named() {
        let mut s = crate::default_settings();
        s.pii = PiiSettings::new("bm90IGEga2V5", &PiiCipher::generate_key_base64());
        let err = s.validate("volunteers").expect_err("invalid");
        assert_eq!(err.key, "volunteers.pii.encryption_key");
    }

    #[test]
    fn missing_keys_load_but_do_not_build() {
        let s = crate::default_settings();
        assert!(s.validate("volunteers").is_ok());
        assert_eq!(
            s.pii.cipher().expect_err("no keys").to_string(),
            "configuration pii.encryption_key: must be set"
        );
        assert!(PiiSettings::generate().cipher().is_ok());
    }

    #[test]
    fn cipher_errors_name_the_config_key() {
        let key = PiiCipher::generate_key_base64();
        let err = PiiSettings::new(&key, "bm90IGEga2V5")
            .cipher()
            .expect_err("bad");
        assert_eq!(
            err.to_string(),
            "configuration pii.hash_key: must decode to 32 bytes, got 9"
        );
        assert_eq!(err.kind(), crate::domain::ErrorKind::Internal);
        let err = PiiSettings::new(&key, &key).cipher().expect_err("same key");
        assert_eq!(
            err.to_string(),
            "configuration pii.hash_key: must differ from pii.encryption_key"
        );
    }
}
