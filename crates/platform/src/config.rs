//! Typed, layered configuration.
//!
//! Layers, later wins: defaults in code (each struct's `Default`) → an optional TOML file
//! (`tongxin.toml` or the path given) → environment variables `TONGXIN_<SECTION>__<KEY>`,
//! e.g. `TONGXIN_VENUES__DATABASE__URL` or `TONGXIN_EVENTS__NATS_URL`.
//!
//! The top-level struct belongs to the binary (it knows which services exist); this module
//! gives the shared sections and the loader. Secrets are [`SecretString`] so they never
//! print, and every section validates itself at load, naming the key that is wrong.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize, Serializer};

/// A configuration error that names the key at fault.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration: `{key}`: {message}")]
pub struct ConfigError {
    /// Dotted key, e.g. `venues.database.url`.
    pub key: String,
    /// What is wrong with it, for a human.
    pub message: String,
}

impl ConfigError {
    /// An error about `key`.
    pub fn new(key: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            message: message.into(),
        }
    }
}

/// Sections check their own values after loading; `prefix` is the section's dotted path.
pub trait Validate {
    /// Returns the first invalid key, if any.
    fn validate(&self, prefix: &str) -> Result<(), ConfigError>;
}

/// Loads `T` from defaults, the TOML file and the environment, then validates it.
///
/// `file`: an explicit path must exist; without one, `./tongxin.toml` is read when present.
pub fn load<T: DeserializeOwned + Serialize + Default + Validate>(
    file: Option<&Path>,
) -> Result<T, ConfigError> {
    load_from(file, environment())
}

/// The environment layer: `TONGXIN_<SECTION>__<KEY>` only. Variables without `__` (such as
/// the gateway's `TONGXIN_GATEWAY_PORT`) belong to other programs and are ignored here.
pub fn environment() -> Env {
    Env::prefixed("TONGXIN_")
        .filter(|key| key.as_str().contains("__"))
        .split("__")
}

/// [`load`] with an explicit environment provider, so tests need not touch the process env.
pub fn load_from<T: DeserializeOwned + Serialize + Default + Validate>(
    file: Option<&Path>,
    env: Env,
) -> Result<T, ConfigError> {
    // Defaults as the bottom layer (not serde defaults), so a partial section from the file
    // or the environment is completed key by key.
    let mut figment = Figment::from(Serialized::defaults(T::default()));
    match file {
        Some(path) if !path.exists() => {
            return Err(ConfigError::new(
                "config file",
                format!("{} does not exist", path.display()),
            ));
        }
        Some(path) => figment = figment.merge(Toml::file(path)),
        None => figment = figment.merge(Toml::file("tongxin.toml")),
    }
    let value: T = figment.merge(env).extract().map_err(from_figment)?;
    value.validate("")?;
    Ok(value)
}

fn from_figment(err: figment::Error) -> ConfigError {
    // figment reports the path of the offending key; keep its message, lead with the key.
    let key = err.path.join(".");
    let key = if key.is_empty() {
        "(root)".to_owned()
    } else {
        key
    };
    ConfigError::new(key, err.kind.to_string())
}

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_owned()
    } else {
        format!("{prefix}.{key}")
    }
}

/// Settings every process shares, whichever services it runs.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CommonSettings {
    /// Logs and traces.
    pub telemetry: TelemetrySettings,
    /// The event bus.
    pub events: EventsSettings,
    /// Token verification.
    pub auth: AuthSettings,
    /// How long in-flight requests may take to finish after SIGTERM, in seconds.
    pub shutdown_timeout_secs: u64,
}

impl Default for CommonSettings {
    fn default() -> Self {
        Self {
            telemetry: TelemetrySettings::default(),
            events: EventsSettings::default(),
            auth: AuthSettings::default(),
            shutdown_timeout_secs: 20,
        }
    }
}

impl CommonSettings {
    /// The bounded drain time after a stop signal.
    pub fn shutdown_timeout(&self) -> Duration {
        Duration::from_secs(self.shutdown_timeout_secs)
    }
}

impl Validate for CommonSettings {
    fn validate(&self, prefix: &str) -> Result<(), ConfigError> {
        self.events.validate(&join(prefix, "events"))?;
        self.auth.validate(&join(prefix, "auth"))?;
        if self.shutdown_timeout_secs == 0 || self.shutdown_timeout_secs > 600 {
            return Err(ConfigError::new(
                join(prefix, "shutdown_timeout_secs"),
                "must be between 1 and 600 seconds",
            ));
        }
        Ok(())
    }
}

/// Log format on stdout.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// One JSON object per line, for collectors.
    Json,
    /// Human-readable, for a terminal.
    Pretty,
}

/// Logs and traces. OTLP export turns on when `OTEL_EXPORTER_OTLP_ENDPOINT` is set.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TelemetrySettings {
    /// `json` or `pretty`.
    pub format: LogFormat,
    /// An `EnvFilter` directive; `RUST_LOG` overrides it.
    pub level: String,
}

impl Default for TelemetrySettings {
    fn default() -> Self {
        Self {
            format: LogFormat::Json,
            level: "info".to_owned(),
        }
    }
}

/// Which event bus a process uses.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum EventsBackend {
    /// NATS JetStream: production and tests.
    Nats,
    /// In-process: `tongxin run` only; events do not leave the process.
    Memory,
}

/// The event bus and the outbox relay.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EventsSettings {
    /// `nats` or `memory`.
    pub backend: EventsBackend,
    /// NATS server URL(s), comma-separated.
    pub nats_url: String,
    /// The JetStream stream that holds `tongxin.>`.
    pub stream: String,
    /// How often the relay looks for unpublished rows when nobody woke it, in milliseconds.
    pub relay_interval_ms: u64,
    /// Rows the relay claims per round.
    pub relay_batch: u64,
    /// Deliveries of one event to a consumer before it is parked.
    pub max_deliver: i64,
    /// How long the stream keeps an event, in days (0: no age limit). Consumers of other
    /// departments must read within this window; the outbox keeps its own copy regardless.
    pub stream_max_age_days: u64,
    /// The most bytes the stream keeps; the oldest events go first (0: no size limit).
    pub stream_max_bytes: i64,
    /// Copies JetStream keeps of the stream (1 on one server, 3 in a cluster).
    pub stream_replicas: usize,
}

impl Default for EventsSettings {
    fn default() -> Self {
        Self {
            backend: EventsBackend::Nats,
            nats_url: "nats://127.0.0.1:4222".to_owned(),
            stream: "TONGXIN".to_owned(),
            relay_interval_ms: 500,
            relay_batch: 256,
            max_deliver: 5,
            stream_max_age_days: 30,
            stream_max_bytes: 0,
            stream_replicas: 1,
        }
    }
}

impl Validate for EventsSettings {
    fn validate(&self, prefix: &str) -> Result<(), ConfigError> {
        if self.backend == EventsBackend::Nats
            && !self
                .nats_url
                .split(',')
                .all(|u| u.trim().starts_with("nats://") || u.trim().starts_with("tls://"))
        {
            return Err(ConfigError::new(
                join(prefix, "nats_url"),
                "must be nats:// or tls:// URLs",
            ));
        }
        if self.stream.is_empty()
            || !self
                .stream
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            return Err(ConfigError::new(
                join(prefix, "stream"),
                "must be a non-empty stream name",
            ));
        }
        if self.relay_interval_ms == 0 {
            return Err(ConfigError::new(
                join(prefix, "relay_interval_ms"),
                "must be positive",
            ));
        }
        if !(1..=10_000).contains(&self.relay_batch) {
            return Err(ConfigError::new(
                join(prefix, "relay_batch"),
                "must be between 1 and 10000",
            ));
        }
        if !(1..=100).contains(&self.max_deliver) {
            return Err(ConfigError::new(
                join(prefix, "max_deliver"),
                "must be between 1 and 100",
            ));
        }
        if self.stream_max_age_days > 3650 {
            return Err(ConfigError::new(
                join(prefix, "stream_max_age_days"),
                "must be at most 3650 (0 for no age limit)",
            ));
        }
        if self.stream_max_bytes < 0 {
            return Err(ConfigError::new(
                join(prefix, "stream_max_bytes"),
                "must be 0 (no size limit) or a number of bytes",
            ));
        }
        if !matches!(self.stream_replicas, 1 | 3 | 5) {
            return Err(ConfigError::new(
                join(prefix, "stream_replicas"),
                "must be 1, 3 or 5",
            ));
        }
        Ok(())
    }
}

/// Token verification: the same JWKS the router uses.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthSettings {
    /// Path of the JWKS file (JSON). Required by `serve`; `run` writes its own.
    pub jwks_path: Option<PathBuf>,
    /// Expected `iss`.
    pub issuer: String,
    /// Expected `aud` of user tokens; service tokens carry `<audience>-services`.
    pub audience: String,
    /// The service's private key (PKCS#8 PEM, P-256), which signs its service tokens for
    /// the calls it makes on its own behalf (orders' routing lookups); its public half must
    /// be in the JWKS. `run` and the tests use the dev key.
    pub service_key_path: Option<PathBuf>,
}

impl Default for AuthSettings {
    fn default() -> Self {
        Self {
            jwks_path: None,
            service_key_path: None,
            issuer: "tongxin".to_owned(),
            audience: "tongxin".to_owned(),
        }
    }
}

impl Validate for AuthSettings {
    fn validate(&self, prefix: &str) -> Result<(), ConfigError> {
        if self.issuer.is_empty() {
            return Err(ConfigError::new(
                join(prefix, "issuer"),
                "must not be empty",
            ));
        }
        if self.audience.is_empty() {
            return Err(ConfigError::new(
                join(prefix, "audience"),
                "must not be empty",
            ));
        }
        Ok(())
    }
}

/// Where one service listens and keeps its data.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceSettings {
    /// GraphQL, health and metrics.
    pub http_addr: SocketAddr,
    /// gRPC for the other services.
    pub grpc_addr: SocketAddr,
    /// The service's own database.
    pub database: DatabaseSettings,
}

impl ServiceSettings {
    /// Defaults for a service that listens on the given ports of the loopback interface
    /// only: reaching a service from another host is a decision the operator makes
    /// (`0.0.0.0:<port>` in the settings, as in a cluster), never a default.
    pub fn on_ports(http: u16, grpc: u16, database: &str) -> Self {
        Self {
            http_addr: SocketAddr::from(([127, 0, 0, 1], http)),
            grpc_addr: SocketAddr::from(([127, 0, 0, 1], grpc)),
            database: DatabaseSettings::new(database),
        }
    }
}

impl Validate for ServiceSettings {
    fn validate(&self, prefix: &str) -> Result<(), ConfigError> {
        if self.http_addr.port() != 0 && self.http_addr == self.grpc_addr {
            return Err(ConfigError::new(
                join(prefix, "grpc_addr"),
                "must differ from http_addr",
            ));
        }
        self.database.validate(&join(prefix, "database"))
    }
}

/// A database connection pool.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSettings {
    /// `postgres://…` or `sqlite://…`; may hold a password, so it never prints.
    #[serde(serialize_with = "expose_for_layering")]
    pub url: SecretString,
    /// Pool size.
    #[serde(default = "default_max_connections")]
    pub max_connections: u32,
    /// Seconds to wait for a connection before answering UNAVAILABLE.
    #[serde(default = "default_connect_timeout")]
    pub connect_timeout_secs: u64,
}

/// Serialising exists only to feed defaults into the layered loader; nothing prints it.
/// For a secret setting: `#[serde(serialize_with = "expose_for_layering")]`.
pub fn expose_for_layering<S: Serializer>(
    secret: &SecretString,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(secret.expose_secret())
}

/// The name of a service's personal-data key setting (base64 of 32 random bytes).
const PII_KEY: &str = "pii_key";

/// The cipher a service's `pii_key` setting makes; an error naming `<section>.pii_key` when
/// the key is missing or malformed (a service does not start without it).
pub fn pii_cipher(section: &str, key: &SecretString) -> anyhow::Result<crate::pii::PiiCipher> {
    let key = key.expose_secret();
    if key.is_empty() {
        anyhow::bail!("{section}.{PII_KEY} must be set (base64 of 32 random bytes)");
    }
    crate::pii::PiiCipher::from_base64(PII_KEY, key).map_err(|e| anyhow::anyhow!("{section}.{e}"))
}

/// Checks a `pii_key` that is set; a missing one is reported when the service builds its
/// cipher, so that commands which never need it (`schema`, `migrate`) still run.
pub fn validate_pii_key(prefix: &str, key: &SecretString) -> Result<(), ConfigError> {
    let key = key.expose_secret();
    if !key.is_empty() && crate::pii::PiiCipher::from_base64(PII_KEY, key).is_err() {
        return Err(ConfigError::new(
            join(prefix, PII_KEY),
            "must be base64 of 32 bytes, or a key ring `v2:<key>,v1:<key>`",
        ));
    }
    Ok(())
}

fn default_max_connections() -> u32 {
    16
}

fn default_connect_timeout() -> u64 {
    5
}

impl DatabaseSettings {
    /// Settings for `url` with default pool limits.
    pub fn new(url: &str) -> Self {
        Self {
            url: SecretString::from(url.to_owned()),
            max_connections: default_max_connections(),
            connect_timeout_secs: default_connect_timeout(),
        }
    }

    /// Whether the URL names SQLite (embedded mode).
    pub fn is_sqlite(&self) -> bool {
        self.url.expose_secret().starts_with("sqlite:")
    }
}

impl Validate for DatabaseSettings {
    fn validate(&self, prefix: &str) -> Result<(), ConfigError> {
        let url = self.url.expose_secret();
        if !(url.starts_with("postgres://")
            || url.starts_with("postgresql://")
            || url.starts_with("sqlite:"))
        {
            // Never echo the URL itself: it may carry a password.
            return Err(ConfigError::new(
                join(prefix, "url"),
                "must be a postgres:// or sqlite: URL",
            ));
        }
        if self.max_connections == 0 || self.max_connections > 1000 {
            return Err(ConfigError::new(
                join(prefix, "max_connections"),
                "must be between 1 and 1000",
            ));
        }
        if self.connect_timeout_secs == 0 {
            return Err(ConfigError::new(
                join(prefix, "connect_timeout_secs"),
                "must be positive",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Top {
        events: EventsSettings,
        venues: ServiceSettings,
    }

    impl Default for Top {
        fn default() -> Self {
            Self {
                events: EventsSettings::default(),
                venues: ServiceSettings::on_ports(8081, 9081, "postgres://localhost/venues"),
            }
        }
    }

    impl Validate for Top {
        fn validate(&self, prefix: &str) -> Result<(), ConfigError> {
            self.events.validate(&join(prefix, "events"))?;
            self.venues.validate(&join(prefix, "venues"))
        }
    }

    #[allow(clippy::result_large_err)]
    fn load_with(vars: &[(&str, &str)], toml: Option<&str>) -> Result<Top, ConfigError> {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("tongxin.toml");
        std::fs::write(&path, toml.unwrap_or("")).expect("write toml");
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        // figment::Jail serialises env changes across tests and restores them afterwards.
        let mut out = None;
        figment::Jail::expect_with(|jail| {
            for (k, v) in &vars {
                jail.set_env(k, v);
            }
            out = Some(load_from::<Top>(Some(&path), environment()));
            Ok(())
        });
        out.expect("jail ran")
    }

    #[test]
    fn defaults_then_file_then_env() {
        let top = load_with(
            &[("TONGXIN_VENUES__HTTP_ADDR", "127.0.0.1:7000")],
            Some("[venues]\nhttp_addr = \"127.0.0.1:6000\"\ngrpc_addr = \"127.0.0.1:6001\"\n[venues.database]\nurl = \"sqlite://x.db\"\n"),
        )
        .expect("valid");
        assert_eq!(top.venues.http_addr.port(), 7000, "env wins over file");
        assert_eq!(top.venues.grpc_addr.port(), 6001, "file wins over default");
        assert!(top.venues.database.is_sqlite());
        assert_eq!(top.events.stream, "TONGXIN", "default kept");
    }

    #[test]
    fn bad_value_names_the_key() {
        let err = load_with(&[("TONGXIN_VENUES__HTTP_ADDR", "not-an-address")], None)
            .expect_err("invalid");
        assert_eq!(err.key, "venues.http_addr", "{err}");
        let err = load_with(&[("TONGXIN_EVENTS__RELAY_BATCH", "0")], None).expect_err("invalid");
        assert_eq!(err.key, "events.relay_batch", "{err}");
        assert!(err.to_string().contains("events.relay_batch"));
        let err = load_with(&[("TONGXIN_EVENTS__MAX_DELIVER", "many")], None).expect_err("invalid");
        assert_eq!(err.key, "events.max_deliver", "{err}");
        let err = load_with(&[("TONGXIN_EVENTS__STREAM_REPLICAS", "2")], None)
            .expect_err("an even replica count has no majority");
        assert_eq!(err.key, "events.stream_replicas", "{err}");
        let err =
            load_with(&[("TONGXIN_EVENTS__STREAM_MAX_BYTES", "-1")], None).expect_err("negative");
        assert_eq!(err.key, "events.stream_max_bytes", "{err}");
        let err = load_with(&[("TONGXIN_EVENTS__STREAM_MAX_AGE_DAYS", "9999")], None)
            .expect_err("too long");
        assert_eq!(err.key, "events.stream_max_age_days", "{err}");
    }

    #[test]
    fn secret_url_is_validated_but_never_printed() {
        let err = load_with(
            &[("TONGXIN_VENUES__DATABASE__URL", "mysql://u:hunter2@db/x")],
            None,
        )
        .expect_err("invalid");
        assert_eq!(err.key, "venues.database.url");
        assert!(!err.to_string().contains("hunter2"));
        let ok = load_with(
            &[("TONGXIN_VENUES__DATABASE__URL", "postgres://u:hunter2@db/x")],
            None,
        )
        .expect("valid");
        assert!(
            !format!("{ok:?}").contains("hunter2"),
            "Debug must redact the URL"
        );
    }

    #[test]
    fn unknown_key_is_refused() {
        let err = load_with(
            &[],
            Some("[venues.database]\nurl = \"sqlite://x\"\nmax_conections = 3\n"),
        )
        .expect_err("typo");
        assert!(err.to_string().contains("max_conections"), "{err}");
    }

    #[test]
    fn other_programs_variables_are_ignored() {
        let top = load_with(&[("TONGXIN_GATEWAY_PORT", "8080")], None).expect("ignored");
        assert_eq!(top.venues.http_addr.port(), 8081);
    }

    #[test]
    fn missing_explicit_file_is_an_error() {
        let err = load_from::<Top>(
            Some(Path::new("/nonexistent/tongxin.toml")),
            Env::prefixed("TONGXIN_"),
        )
        .expect_err("missing");
        assert!(err.message.contains("does not exist"));
    }

    #[test]
    fn services_listen_on_loopback_unless_told_otherwise() {
        let top = load_with(&[], None).expect("defaults");
        assert!(top.venues.http_addr.ip().is_loopback());
        assert!(top.venues.grpc_addr.ip().is_loopback());
        let top = load_with(&[("TONGXIN_VENUES__GRPC_ADDR", "0.0.0.0:9081")], None)
            .expect("all interfaces when asked");
        assert!(top.venues.grpc_addr.ip().is_unspecified());
    }
}
