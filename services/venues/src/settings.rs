//! The venues service's settings: where it listens and keeps its data, and the key that
//! seals unit contacts' phones at rest.

use std::net::SocketAddr;

use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use tongxin_platform::config::{ConfigError, DatabaseSettings, ServiceSettings, Validate};
use tongxin_platform::pii::PiiCipher;

/// The `venues` section.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VenuesSettings {
    /// GraphQL, health and metrics.
    pub http_addr: SocketAddr,
    /// gRPC for the other services.
    pub grpc_addr: SocketAddr,
    /// The service's own database.
    pub database: DatabaseSettings,
    /// AES-256-GCM key (base64 of 32 bytes) for unit contacts' phones; required to start.
    #[serde(serialize_with = "tongxin_platform::config::expose_for_layering")]
    pub pii_key: SecretString,
    /// The cadence scheduler (closing weeks and months into misses).
    #[serde(default)]
    pub scheduler: CadenceSchedulerSettings,
}

/// The cadence scheduler.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CadenceSchedulerSettings {
    /// Whether this process runs it (every replica may: a miss is closed once).
    pub enabled: bool,
    /// How often it looks, in milliseconds.
    pub interval_ms: u64,
    /// How many ended weeks a round looks back over (catching up after a stop), 1 to 53.
    pub lookback_weeks: u32,
    /// How many ended months a round looks back over, 1 to 12.
    pub lookback_months: u32,
}

impl Default for CadenceSchedulerSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            interval_ms: 60_000,
            lookback_weeks: 4,
            lookback_months: 2,
        }
    }
}

impl VenuesSettings {
    /// Defaults on the given ports of all interfaces, without a PII key.
    pub fn on_ports(http: u16, grpc: u16, database: &str) -> Self {
        let service = ServiceSettings::on_ports(http, grpc, database);
        Self {
            http_addr: service.http_addr,
            grpc_addr: service.grpc_addr,
            database: service.database,
            pii_key: SecretString::from(String::new()),
            scheduler: CadenceSchedulerSettings::default(),
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
        tongxin_platform::config::pii_cipher("venues", &self.pii_key)
    }
}

impl Default for VenuesSettings {
    fn default() -> Self {
        crate::default_settings()
    }
}

impl Validate for VenuesSettings {
    fn validate(&self, prefix: &str) -> Result<(), ConfigError> {
        self.service().validate(prefix)?;
        let s = &self.scheduler;
        if s.interval_ms == 0
            || !(1..=53).contains(&s.lookback_weeks)
            || !(1..=12).contains(&s.lookback_months)
        {
            return Err(ConfigError::new(
                format!("{prefix}.scheduler"),
                "interval_ms must be positive, lookback_weeks 1 to 53, lookback_months 1 to 12",
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
        assert!(s.validate("venues").is_ok());
        assert!(s.cipher().is_err());
        s.pii_key = SecretString::from("bm90IGEga2V5".to_owned());
        assert_eq!(
            s.validate("venues").expect_err("bad key").key,
            "venues.pii_key"
        );
        s.pii_key = SecretString::from(PiiCipher::generate_key_base64());
        assert!(s.validate("venues").is_ok());
        assert!(s.cipher().is_ok());
    }
}
