//! The volunteers domain: values and rules, no I/O.
//!
//! Everything here is parsed, not checked: a value that exists is valid, so the store,
//! the subgraph and the gRPC server never re-validate. Every failure is one
//! [`DomainError`], whose [`DomainError::kind`] tells the service which GraphQL
//! `extensions.code` / gRPC status to use, and whose message names the offending field
//! without echoing personal data back.

pub mod availability;
pub mod crediting;
pub mod hours;
pub mod id_card;
pub mod linking;
pub mod matching;
pub mod points;
pub mod record_code;
pub mod scope;
pub mod skills;
pub mod stars;
pub mod team;

use tongxin_platform::org::OrgError;
use tongxin_platform::pii::PiiError;

// A volunteer's internal id is the platform's (orders refers to volunteers by it too);
// re-exported so `crate::domain::VolunteerId` keeps working.
pub use tongxin_platform::org::VolunteerId;

/// How the service should report a [`DomainError`]; one place in the service maps this
/// to `extensions.code` and to a gRPC status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The caller sent something invalid: GraphQL `BAD_USER_INPUT`, gRPC `INVALID_ARGUMENT`.
    BadUserInput,
    /// The request is valid but clashes with the current state: GraphQL `CONFLICT`,
    /// gRPC `FAILED_PRECONDITION` / `ALREADY_EXISTS`.
    Conflict,
    /// Our own configuration or stored data is wrong; log it, answer `INTERNAL`, never
    /// show the message to a client.
    Internal,
}

/// Every rule violation in the volunteers domain.
///
/// Messages name the field (`"id_card_number: check character does not match"`) and
/// never contain the rejected value when it may be personal data.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    /// A value supplied by a caller is not acceptable.
    #[error("{field}: {reason}")]
    Invalid {
        /// Field name as the client knows it (snake_case).
        field: &'static str,
        /// What is wrong, in words a person can act on.
        reason: String,
    },
    /// A unique value is already taken (e.g. the same ID-card number registered twice).
    /// The domain never detects this itself (it does no I/O); the store raises it when the
    /// keyed-hash index rejects an insert, so the message stays the same everywhere.
    #[error("{field}: already registered")]
    Duplicate {
        /// Field whose value is taken.
        field: &'static str,
    },
    /// A state change that the rules do not allow from the current state.
    #[error("{field}: cannot change from {from} to {to}")]
    InvalidTransition {
        /// The field whose state was to change (e.g. `status`).
        field: &'static str,
        /// Current state.
        from: &'static str,
        /// Requested state.
        to: &'static str,
    },
    /// A configuration value is unusable; raised at start-up, named by its config key.
    #[error("configuration {key}: {reason}")]
    Config {
        /// Config key, e.g. `pii.encryption_key`.
        key: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// Stored ciphertext could not be opened: wrong key, unknown key version, or tampering.
    #[error("{field}: stored value could not be decrypted")]
    Decrypt {
        /// What was being decrypted (for the log line).
        field: &'static str,
    },
}

impl DomainError {
    /// Shorthand for [`DomainError::Invalid`].
    pub fn invalid(field: &'static str, reason: impl Into<String>) -> Self {
        Self::Invalid {
            field,
            reason: reason.into(),
        }
    }

    /// Shorthand for [`DomainError::Config`].
    pub fn config(key: &'static str, reason: impl Into<String>) -> Self {
        Self::Config {
            key,
            reason: reason.into(),
        }
    }

    /// The class the service maps to a client-facing code.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::Invalid { .. } => ErrorKind::BadUserInput,
            Self::Duplicate { .. } | Self::InvalidTransition { .. } => ErrorKind::Conflict,
            Self::Config { .. } | Self::Decrypt { .. } => ErrorKind::Internal,
        }
    }
}

/// An org value (unit path, level, unit id) that does not parse is the caller's mistake.
impl From<OrgError> for DomainError {
    fn from(e: OrgError) -> Self {
        Self::Invalid {
            field: e.field,
            reason: e.reason,
        }
    }
}

/// Personal-data failures keep their class: a bad phone is the caller's (`BAD_USER_INPUT`
/// naming `phone`), a bad key or an unopenable ciphertext is ours (`INTERNAL`).
impl From<PiiError> for DomainError {
    fn from(e: PiiError) -> Self {
        match e {
            PiiError::Invalid { field, reason } => Self::Invalid { field, reason },
            PiiError::Key { key, reason } => Self::Config { key, reason },
            // ID-card numbers and phones share one cipher; the log line need not say which.
            PiiError::Decrypt => Self::Decrypt { field: "pii" },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pii_errors_keep_their_codes() {
        let bad_phone =
            DomainError::from(tongxin_platform::pii::Phone::parse("12345").unwrap_err());
        assert_eq!(bad_phone.kind(), ErrorKind::BadUserInput);
        assert!(matches!(
            bad_phone,
            DomainError::Invalid { field: "phone", .. }
        ));
        let sealed = DomainError::from(tongxin_platform::pii::PiiError::Decrypt);
        assert_eq!(sealed, DomainError::Decrypt { field: "pii" });
        assert_eq!(sealed.kind(), ErrorKind::Internal);
    }

    #[test]
    fn kinds_map_to_contract_codes() {
        assert_eq!(
            DomainError::invalid("phone", "x").kind(),
            ErrorKind::BadUserInput
        );
        assert_eq!(
            DomainError::Duplicate {
                field: "id_card_number"
            }
            .kind(),
            ErrorKind::Conflict
        );
        assert_eq!(
            DomainError::InvalidTransition {
                field: "status",
                from: "approved",
                to: "declined"
            }
            .kind(),
            ErrorKind::Conflict
        );
        assert_eq!(
            DomainError::Decrypt {
                field: "id_card_number"
            }
            .kind(),
            ErrorKind::Internal
        );
    }

    #[test]
    fn messages_name_the_field() {
        assert_eq!(
            DomainError::invalid("phone", "must have 11 digits").to_string(),
            "phone: must have 11 digits"
        );
        assert_eq!(
            DomainError::Duplicate {
                field: "id_card_number"
            }
            .to_string(),
            "id_card_number: already registered"
        );
    }
}
