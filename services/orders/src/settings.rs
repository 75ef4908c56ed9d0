//! The orders service's settings: where it listens and keeps its data, the key for the
//! contact phones, where venues and volunteers answer gRPC, the districts it serves, and the
//! deadline scheduler.

use std::net::SocketAddr;

use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use tongxin_platform::config::{ConfigError, DatabaseSettings, ServiceSettings, Validate};
use tongxin_platform::pii::PiiCipher;
use uuid::Uuid;

/// The `orders` section.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrdersSettings {
    /// GraphQL, health and metrics.
    pub http_addr: SocketAddr,
    /// gRPC for the other services.
    pub grpc_addr: SocketAddr,
    /// The service's own database.
    pub database: DatabaseSettings,
    /// AES-256-GCM key (base64 of 32 bytes) for contact phones; required to start.
    #[serde(serialize_with = "tongxin_platform::config::expose_for_layering")]
    pub pii_key: SecretString,
    /// The venues gRPC endpoint (OrgService: routing, unit lookups).
    pub venues_url: String,
    /// The volunteers gRPC endpoint (which volunteer an account is, dispatch targets,
    /// MatchCandidates).
    pub volunteers_url: String,
    /// The legal-aid gRPC endpoint (LegalAidService: the station a legal order is
    /// dispatched to).
    pub legal_aid_url: String,
    /// How long a call to venues or volunteers may take, in milliseconds.
    pub rpc_timeout_ms: u64,
    /// The district of a citizen whose token carries none.
    pub default_district: String,
    /// The districts served.
    pub districts: Vec<DistrictSettings>,
    /// The deadline scheduler.
    pub scheduler: SchedulerSettings,
}

/// One district: where its points lie, and its center for when venues cannot route.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DistrictSettings {
    /// The district code (first path segment), e.g. `rc`.
    pub code: String,
    /// South edge, degrees.
    pub min_lat: f64,
    /// West edge.
    pub min_lon: f64,
    /// North edge.
    pub max_lat: f64,
    /// East edge.
    pub max_lon: f64,
    /// The district center's unit id, used when venues is unreachable and the center has not
    /// been learnt yet (it is learnt from every routing and from the venues unit events).
    #[serde(default)]
    pub center_unit_id: Option<Uuid>,
}

impl DistrictSettings {
    /// Whether a point lies in the district's box.
    pub fn contains(&self, lat: f64, lon: f64) -> bool {
        (self.min_lat..=self.max_lat).contains(&lat) && (self.min_lon..=self.max_lon).contains(&lon)
    }
}

/// The deadline scheduler.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SchedulerSettings {
    /// Whether this process runs it (every replica may: claims are exclusive).
    pub enabled: bool,
    /// How often it looks, in milliseconds.
    pub interval_ms: u64,
    /// Orders it claims per round.
    pub batch: u64,
    /// The share of the SLA after which the holding unit is reminded once, in percent
    /// (0 turns reminders off).
    pub reminder_percent: u32,
}

impl Default for SchedulerSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            interval_ms: 5_000,
            batch: 100,
            reminder_percent: 50,
        }
    }
}

/// The reference district's box (Rongchang, about 29.25–29.65 N, 105.30–105.75 E).
pub fn reference_district() -> DistrictSettings {
    DistrictSettings {
        code: "rc".to_owned(),
        min_lat: 29.25,
        min_lon: 105.30,
        max_lat: 29.65,
        max_lon: 105.75,
        center_unit_id: None,
    }
}

impl OrdersSettings {
    /// Defaults on the given ports of all interfaces, without a PII key.
    pub fn on_ports(http: u16, grpc: u16, database: &str) -> Self {
        let service = ServiceSettings::on_ports(http, grpc, database);
        Self {
            http_addr: service.http_addr,
            grpc_addr: service.grpc_addr,
            database: service.database,
            pii_key: SecretString::from(String::new()),
            venues_url: "http://127.0.0.1:9081".to_owned(),
            volunteers_url: "http://127.0.0.1:9082".to_owned(),
            legal_aid_url: "http://127.0.0.1:9084".to_owned(),
            rpc_timeout_ms: 2_000,
            default_district: "rc".to_owned(),
            districts: vec![reference_district()],
            scheduler: SchedulerSettings::default(),
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
        tongxin_platform::config::pii_cipher("orders", &self.pii_key)
    }

    /// A district by code.
    pub fn district(&self, code: &str) -> Option<&DistrictSettings> {
        self.districts.iter().find(|d| d.code == code)
    }
}

impl Default for OrdersSettings {
    fn default() -> Self {
        crate::default_settings()
    }
}

impl Validate for OrdersSettings {
    fn validate(&self, prefix: &str) -> Result<(), ConfigError> {
        self.service().validate(prefix)?;
        let key = |k: &str| {
            if prefix.is_empty() {
                k.to_owned()
            } else {
                format!("{prefix}.{k}")
            }
        };
        tongxin_platform::config::validate_pii_key(prefix, &self.pii_key)?;
        for (name, url) in [
            ("venues_url", &self.venues_url),
            ("volunteers_url", &self.volunteers_url),
            ("legal_aid_url", &self.legal_aid_url),
        ] {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(ConfigError::new(key(name), "must be an http(s):// URL"));
            }
        }
        if self.rpc_timeout_ms == 0 {
            return Err(ConfigError::new(key("rpc_timeout_ms"), "must be positive"));
        }
        if self.district(&self.default_district).is_none() {
            return Err(ConfigError::new(
                key("default_district"),
                "must be one of `districts`",
            ));
        }
        for d in &self.districts {
            if d.min_lat >= d.max_lat || d.min_lon >= d.max_lon {
                return Err(ConfigError::new(
                    key("districts"),
                    format!("{}: the box is empty", d.code),
                ));
            }
        }
        if self.scheduler.interval_ms == 0 || self.scheduler.batch == 0 {
            return Err(ConfigError::new(
                key("scheduler"),
                "interval_ms and batch must be positive",
            ));
        }
        if self.scheduler.reminder_percent >= 100 {
            return Err(ConfigError::new(
                key("scheduler.reminder_percent"),
                "must be below 100",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_load_but_need_a_key_to_build() {
        let s = crate::default_settings();
        assert!(s.validate("orders").is_ok());
        assert!(s.cipher().is_err());
        let mut s = s;
        s.pii_key = SecretString::from("bm90IGEga2V5".to_owned());
        assert_eq!(
            s.validate("orders").expect_err("bad key").key,
            "orders.pii_key"
        );
        assert_eq!(
            s.cipher().expect_err("bad key").to_string(),
            "orders.configuration pii_key: must decode to 32 bytes, got 9"
        );
        s.pii_key = SecretString::from(PiiCipher::generate_key_base64());
        assert!(s.cipher().is_ok());
    }
}
