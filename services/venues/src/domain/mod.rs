//! Venues' types and rules, free of I/O.

pub mod activity;
pub mod circle;
pub mod coverage;
pub mod org;
pub mod rhythm;
pub mod venue;

/// A rule broken by the caller's input or rights.
#[derive(Debug, thiserror::Error)]
pub enum DomainError {
    /// Bad input; the message names the field.
    #[error("{field}: {message}")]
    Invalid {
        /// The input field (GraphQL name).
        field: String,
        /// What is wrong.
        message: String,
    },
    /// Not allowed for this principal.
    #[error("{0}")]
    Forbidden(String),
}

impl DomainError {
    /// Bad input in `field`.
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        Self::Invalid {
            field: field.to_owned(),
            message: message.into(),
        }
    }
}

/// An org value (unit code, path, level, unit id) that does not parse is bad input in its
/// field.
impl From<tongxin_platform::org::OrgError> for DomainError {
    fn from(err: tongxin_platform::org::OrgError) -> Self {
        Self::invalid(err.field, err.reason)
    }
}

impl From<tongxin_platform::geo::GeoError> for DomainError {
    fn from(err: tongxin_platform::geo::GeoError) -> Self {
        Self::invalid(&format!("location.{}", err.field()), err.to_string())
    }
}
