//! sea-orm entities and queries; a row that does not parse is an error, never a default.
//! Known units are the platform's table ([`tongxin_platform::org::known_units`]).

pub mod appointments;
pub mod roster;
pub mod stations;

pub use tongxin_platform::org::known_units;

/// A stored value that does not parse: our data is broken (logged, never sent).
pub fn corrupt(what: &str) -> crate::error::LegalAidError {
    crate::error::LegalAidError::Internal(format!("stored {what} does not parse"))
}
