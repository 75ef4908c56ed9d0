//! The process's settings (the shared sections plus one section per service) and the
//! service registry: every service the binary knows, as a
//! [`tongxin_platform::registry::Module`] built from its section.

use serde::{Deserialize, Serialize};
use tongxin_orders::OrdersSettings;
use tongxin_platform::config::{
    AuthSettings, CommonSettings, ConfigError, EventsSettings, TelemetrySettings, Validate,
};
use tongxin_platform::registry::Module;
use tongxin_volunteers::VolunteersSettings;

/// Everything `tongxin serve` and `tongxin migrate` read (defaults → tongxin.toml → env).
///
/// The shared sections are spelled out rather than `#[serde(flatten)]`ed from
/// [`CommonSettings`]: flattening loses the key path in error messages.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// `[telemetry]`.
    pub telemetry: TelemetrySettings,
    /// `[events]`: `TONGXIN_EVENTS__…`.
    pub events: EventsSettings,
    /// `[auth]`: `TONGXIN_AUTH__…`.
    pub auth: AuthSettings,
    /// Seconds to drain in-flight requests after SIGTERM.
    pub shutdown_timeout_secs: u64,
    /// `[venues]`: `TONGXIN_VENUES__…` (the contact-phone key `pii_key`).
    pub venues: tongxin_venues::VenuesSettings,
    /// `[volunteers]`: `TONGXIN_VOLUNTEERS__…` (PII keys under `[volunteers.pii]`).
    pub volunteers: VolunteersSettings,
    /// `[orders]`: `TONGXIN_ORDERS__…` (the phone key `pii_key`, venues/volunteers gRPC URLs,
    /// districts, scheduler).
    pub orders: OrdersSettings,
    /// `[legal_aid]`: `TONGXIN_LEGAL_AID__…` (the key `pii_key` sealing topics, party names
    /// and phones).
    pub legal_aid: tongxin_legal_aid::LegalAidSettings,
}

impl Default for Settings {
    fn default() -> Self {
        let common = CommonSettings::default();
        Self {
            telemetry: common.telemetry,
            events: common.events,
            auth: common.auth,
            shutdown_timeout_secs: common.shutdown_timeout_secs,
            venues: tongxin_venues::default_settings(),
            volunteers: tongxin_volunteers::default_settings(),
            orders: tongxin_orders::default_settings(),
            legal_aid: tongxin_legal_aid::default_settings(),
        }
    }
}

impl Settings {
    /// The sections every service shares.
    pub fn common(&self) -> CommonSettings {
        CommonSettings {
            telemetry: self.telemetry.clone(),
            events: self.events.clone(),
            auth: self.auth.clone(),
            shutdown_timeout_secs: self.shutdown_timeout_secs,
        }
    }
}

impl Validate for Settings {
    fn validate(&self, _prefix: &str) -> Result<(), ConfigError> {
        self.common().validate("")?;
        self.venues.validate("venues")?;
        self.volunteers.validate("volunteers")?;
        self.orders.validate("orders")?;
        self.legal_aid.validate("legal_aid")
    }
}

/// The registry: every service this binary can start, configured by its section. Adding a
/// service is one entry here plus its section in [`Settings`].
pub fn registry(settings: &Settings) -> Vec<Box<dyn Module>> {
    vec![
        Box::new(tongxin_venues::VenuesModule::new(settings.venues.clone())),
        Box::new(tongxin_volunteers::VolunteersModule::new(
            settings.volunteers.clone(),
        )),
        Box::new(tongxin_orders::OrdersModule::new(settings.orders.clone())),
        Box::new(tongxin_legal_aid::LegalAidModule::new(
            settings.legal_aid.clone(),
        )),
    ]
}

/// The modules named in `names`, in registry order (all of them when `names` is empty).
pub fn select(settings: &Settings, names: &[String]) -> Vec<Box<dyn Module>> {
    registry(settings)
        .into_iter()
        .filter(|m| names.is_empty() || names.iter().any(|n| n == m.name()))
        .collect()
}

/// The names of the services in the registry (for the command line).
pub fn service_names() -> Vec<&'static str> {
    registry(&Settings::default())
        .iter()
        .map(|m| m.name())
        .collect()
}

/// What a split-mode process (`serve`, `seed`) starts its services with: tokens verified
/// against the JWKS the router also uses, and the configured bus (NATS).
pub async fn split_options(
    common: tongxin_platform::config::CommonSettings,
    local_peers: bool,
    hooks: Vec<tongxin_platform::registry::Hook>,
) -> anyhow::Result<tongxin_platform::registry::Options> {
    use anyhow::Context as _;
    let jwks = common.auth.jwks_path.as_deref().context(
        "auth.jwks_path (TONGXIN_AUTH__JWKS_PATH) must name the JWKS file the router also uses \
         (`tongxin keys` makes one)",
    )?;
    let verifier = std::sync::Arc::new(tongxin_platform::auth::Verifier::from_jwks_file(
        jwks,
        &common.auth.issuer,
        &common.auth.audience,
    )?);
    let bus = tongxin_platform::events::connect(&common.events).await?;
    Ok(tongxin_platform::registry::Options {
        common,
        bus,
        verifier,
        local_peers,
        hooks,
    })
}

/// What `tongxin guard` reads: `[guard]` (TONGXIN_GUARD__…) and `[telemetry]`; the other
/// sections of a shared tongxin.toml (and their variables) are not its business.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct GuardFile {
    /// `[telemetry]`.
    pub telemetry: TelemetrySettings,
    /// `[guard]`: listen address, router URL, JWKS and limits.
    pub guard: tongxin_guard::GuardSettings,
}

impl Validate for GuardFile {
    fn validate(&self, _prefix: &str) -> Result<(), ConfigError> {
        if self.guard.jwks_path.is_none() {
            return Err(ConfigError::new(
                "guard.jwks_path",
                "name the JWKS file the router and the services use (TONGXIN_GUARD__JWKS_PATH)",
            ));
        }
        Ok(())
    }
}
