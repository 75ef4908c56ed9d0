//! The process's settings: the shared sections plus one section per service.

use serde::Deserialize;
use tongxin_platform::config::{CommonSettings, ConfigError, ServiceSettings, Validate};

/// Everything `tongxin serve` and `tongxin migrate` read (defaults → tongxin.toml → env).
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// Telemetry, events, auth, shutdown.
    #[serde(flatten)]
    pub common: CommonSettings,
    /// `[venues]`: `TONGXIN_VENUES__…`.
    pub venues: ServiceSettings,
}

impl Default for Settings {
    fn default() -> Self {
        Self { common: CommonSettings::default(), venues: tongxin_venues::default_settings() }
    }
}

impl Validate for Settings {
    fn validate(&self, prefix: &str) -> Result<(), ConfigError> {
        self.common.validate(prefix)?;
        self.venues.validate("venues")
    }
}

/// The services `serve` and `migrate` know.
pub const SERVICES: &[&str] = &["venues"];
