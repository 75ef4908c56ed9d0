//! The legal-aid service's settings: where it listens and keeps its data, the key that
//! seals citizens' topics, party names and phones at rest, and the reminder scheduler.

use std::net::SocketAddr;

use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use tongxin_platform::config::{ConfigError, DatabaseSettings, ServiceSettings, Validate};
use tongxin_platform::pii::PiiCipher;

/// The `legal_aid` section (`TONGXIN_LEGAL_AID__…`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LegalAidSettings {
    /// GraphQL, health and metrics.
    pub http_addr: SocketAddr,
    /// gRPC for the other services.
    pub grpc_addr: SocketAddr,
    /// The service's own database.
    pub database: DatabaseSettings,
    /// AES-256-GCM key (base64 of 32 bytes) for topics, party names and phones; required to
    /// start.
    #[serde(serialize_with = "tongxin_platform::config::expose_for_layering")]
    pub pii_key: SecretString,
    /// How often the reminder scheduler looks for reminders due (every replica may run it).
    #[serde(default = "default_reminder_interval_ms")]
    pub reminder_interval_ms: u64,
}

fn default_reminder_interval_ms() -> u64 {
    30_000
}

impl LegalAidSettings {
    /// Defaults on the given ports of all interfaces, without a PII key.
    pub fn on_ports(http: u16, grpc: u16, database: &str) -> Self {
        let service = ServiceSettings::on_ports(http, grpc, database);
        Self {
            http_addr: service.http_addr,
            grpc_addr: service.grpc_addr,
            database: service.database,
            pii_key: SecretString::from(String::new()),
            reminder_interval_ms: default_reminder_interval_ms(),
        }
    }

    /// The listening and database part.
    pub fn service(&self) -> ServiceSettings {
        ServiceSettings {
            http_addr: self.http_addr,
            grpc_addr: self.grpc_addr,
            database: self.database.clone(),
        }
    }

    /// The cipher; an error when the key is missing or malformed.
    pub fn cipher(&self) -> anyhow::Result<PiiCipher> {
        tongxin_platform::config::pii_cipher("legal_aid", &self.pii_key)
    }
}

impl Default for LegalAidSettings {
    fn default() -> Self {
        crate::default_settings()
    }
}

impl Validate for LegalAidSettings {
    fn validate(&self, prefix: &str) -> Result<(), ConfigError> {
        self.service().validate(prefix)?;
        if self.reminder_interval_ms == 0 {
            return Err(ConfigError::new(
                format!("{prefix}.reminder_interval_ms"),
                "must be at least 1",
            ));
        }
        tongxin_platform::config::validate_pii_key(prefix, &self.pii_key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_load_but_need_a_key_to_build() {
        let mut s = crate::default_settings();
        assert!(s.validate("legal_aid").is_ok());
        assert!(s.cipher().is_err());
        s.pii_key = SecretString::from(PiiCipher::generate_key_base64());
        assert!(s.cipher().is_ok());
        assert_eq!(s.http_addr.port(), 8084);
        assert_eq!(s.grpc_addr.port(), 9084);
    }
}
