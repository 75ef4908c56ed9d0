//! The org vocabulary every service shares: who a unit is ([`UnitId`]), where it sits
//! ([`UnitPath`], built from [`UnitCode`] segments), which of the four levels it is
//! ([`Level`]), the district's wall clock ([`clock`]), and the copy of the venues org tree
//! that a service keeps to resolve staff scopes ([`known_units`], kept current by
//! [`consumer::KnownUnitsConsumer`]).
//!
//! Venues owns the org tree; every other service only learns it. The rules live here once so
//! that a path venues created is a path every service accepts, and a scope means the same
//! thing everywhere. Failures are one [`OrgError`] naming the field; each service converts it
//! into its own domain error with one `From`.

pub mod clock;
pub mod consumer;
mod ids;
pub mod known_units;
mod level;
mod path;

pub use clock::{CHINA_STANDARD_TIME, local_today};
pub use ids::{UnitId, VolunteerId};
pub use level::Level;
pub use path::{UnitCode, UnitPath, ancestor_paths, covers, district_of};

/// A value of the org vocabulary that does not parse. The message names the field (as the
/// client knows it) and never echoes the value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct OrgError {
    /// Field name as the client knows it, e.g. `unit_path`.
    pub field: &'static str,
    /// What is wrong, in words a person can act on.
    pub reason: String,
}

impl OrgError {
    /// An invalid value of `field`.
    pub fn invalid(field: &'static str, reason: impl Into<String>) -> Self {
        Self {
            field,
            reason: reason.into(),
        }
    }
}

/// A malformed org value from a client is their mistake: BAD_USER_INPUT.
impl From<OrgError> for crate::error::ApiError {
    fn from(err: OrgError) -> Self {
        crate::error::ApiError::bad_input(err.to_string())
    }
}
