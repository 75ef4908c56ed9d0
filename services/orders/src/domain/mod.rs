//! The orders domain: values and rules, no I/O.
//!
//! Values are parsed, not checked ([`menu::Category::parse`], [`Rating::parse`],
//! [`Hours::parse`], [`tongxin_platform::pii::Phone::parse`]); the state machine in [`machine`] decides every
//! move from the facts of one order and the actor, so the service only loads, asks, writes.
//! The order itself is [`order::Order`]: what the store reads (or refuses), what the service
//! changes with [`order::Order::apply`], and what GraphQL, gRPC and the events show.

pub mod evaluation;
pub mod intake;
pub mod machine;
pub mod menu;
pub mod metrics;
pub mod order;
pub mod scope;

use std::fmt;

use serde::{Deserialize, Serialize};
use tongxin_platform::org::OrgError;
use tongxin_platform::pii::PiiError;
use uuid::Uuid;

/// An order's internal id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct OrderId(pub Uuid);

impl fmt::Display for OrderId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl OrderId {
    /// Parses a client-supplied id; the error names `field`.
    pub fn parse(text: &str, field: &'static str) -> Result<Self, DomainError> {
        Uuid::parse_str(text.trim())
            .map(Self)
            .map_err(|_| DomainError::invalid(field, "not an order id"))
    }
}

// The org vocabulary (unit ids and levels, volunteer ids) is the platform's, shared with
// every service; re-exported so `crate::domain::Level` and friends keep working.
pub use tongxin_platform::org::{Level, UnitId, VolunteerId};

/// A volunteer team's id (owned by volunteers).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TeamId(pub Uuid);

/// Where an order stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderState {
    /// Placed by the citizen, waiting for the holding unit to receive it.
    Placed,
    /// Taken by the holding unit's staff.
    Received,
    /// Passed up to the parent unit, which must receive it.
    Escalated,
    /// Sent to volunteers or a team.
    Dispatched,
    /// A volunteer (or the team) took it.
    Accepted,
    /// Work started.
    InProgress,
    /// Done, hours recorded.
    Completed,
    /// The citizen rated it; final.
    Rated,
    /// The citizen withdrew it; final.
    Cancelled,
}

impl OrderState {
    /// Every state.
    pub const ALL: [OrderState; 9] = [
        Self::Placed,
        Self::Received,
        Self::Escalated,
        Self::Dispatched,
        Self::Accepted,
        Self::InProgress,
        Self::Completed,
        Self::Rated,
        Self::Cancelled,
    ];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Placed => "placed",
            Self::Received => "received",
            Self::Escalated => "escalated",
            Self::Dispatched => "dispatched",
            Self::Accepted => "accepted",
            Self::InProgress => "in_progress",
            Self::Completed => "completed",
            Self::Rated => "rated",
            Self::Cancelled => "cancelled",
        }
    }

    /// Parses a stored name.
    pub fn parse(text: &str) -> Result<Self, DomainError> {
        Self::ALL
            .into_iter()
            .find(|s| s.as_str() == text)
            .ok_or_else(|| DomainError::invalid("state", "unknown order state"))
    }

    /// Whether the holding unit's receive deadline runs in this state.
    pub fn awaits_receipt(self) -> bool {
        matches!(self, Self::Placed | Self::Escalated)
    }
}

/// A rating, 1 to 5 stars.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rating(u8);

impl Rating {
    /// 1..=5.
    pub fn parse(stars: i64) -> Result<Self, DomainError> {
        if (1..=5).contains(&stars) {
            Ok(Self(stars as u8))
        } else {
            Err(DomainError::invalid("rating", "must be 1 to 5"))
        }
    }

    /// The stars.
    pub fn get(self) -> u8 {
        self.0
    }
}

/// Service hours on one order: quarter hours, more than 0 and at most 24.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hours(f64);

impl Hours {
    /// Quarter hours in (0, 24].
    pub fn parse(hours: f64) -> Result<Self, DomainError> {
        let quarters = hours * 4.0;
        if !hours.is_finite() || hours <= 0.0 || hours > 24.0 {
            return Err(DomainError::invalid(
                "hours",
                "must be more than 0 and at most 24",
            ));
        }
        if (quarters - quarters.round()).abs() > 1e-9 {
            return Err(DomainError::invalid("hours", "must be in quarter hours"));
        }
        Ok(Self(quarters.round() / 4.0))
    }

    /// The hours.
    pub fn get(self) -> f64 {
        self.0
    }
}

/// Free text a person typed (a reason, a comment, a description), trimmed and bounded.
pub fn text(
    field: &'static str,
    input: &str,
    required: bool,
    max_chars: usize,
) -> Result<String, DomainError> {
    let t = input.trim();
    if required && t.is_empty() {
        return Err(DomainError::invalid(field, "is required"));
    }
    if t.chars().count() > max_chars {
        return Err(DomainError::invalid(
            field,
            format!("must have at most {max_chars} characters"),
        ));
    }
    Ok(t.to_owned())
}

/// How the service should report a [`DomainError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// BAD_USER_INPUT.
    BadUserInput,
    /// CONFLICT: the move does not fit the order's current state.
    Conflict,
    /// FORBIDDEN: the actor may not make this move.
    Forbidden,
    /// NOT_FOUND: no such thing, or the caller may not know it exists.
    NotFound,
    /// Our own configuration or data is wrong.
    Internal,
}

/// Every rule violation in the orders domain. Messages name the field and never echo
/// personal data.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    /// A caller-supplied value is not acceptable.
    #[error("{field}: {reason}")]
    Invalid {
        /// Field name as the client knows it.
        field: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// The move does not fit the current state (a skipped step or a lost race).
    #[error("order is {state}: cannot {action}")]
    WrongState {
        /// The current state.
        state: &'static str,
        /// What was attempted.
        action: &'static str,
    },
    /// The actor may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// Not there, or not to be revealed.
    #[error("{0}")]
    NotFound(String),
    /// Configuration or stored data is unusable.
    #[error("configuration {key}: {reason}")]
    Config {
        /// The key.
        key: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// Stored ciphertext could not be opened.
    #[error("{field}: stored value could not be decrypted")]
    Decrypt {
        /// What.
        field: &'static str,
    },
}

impl DomainError {
    /// An invalid value.
    pub fn invalid(field: &'static str, reason: impl Into<String>) -> Self {
        Self::Invalid {
            field,
            reason: reason.into(),
        }
    }

    /// A bad configuration value.
    pub fn config(key: &'static str, reason: impl Into<String>) -> Self {
        Self::Config {
            key,
            reason: reason.into(),
        }
    }

    /// How to report it.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::Invalid { .. } => ErrorKind::BadUserInput,
            Self::WrongState { .. } => ErrorKind::Conflict,
            Self::Forbidden(_) => ErrorKind::Forbidden,
            Self::NotFound(_) => ErrorKind::NotFound,
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
            // The contact phone is the only value orders seals.
            PiiError::Decrypt => Self::Decrypt { field: "phone" },
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
        assert_eq!(sealed, DomainError::Decrypt { field: "phone" });
        assert_eq!(sealed.kind(), ErrorKind::Internal);
    }

    #[test]
    fn ratings_are_one_to_five() {
        assert!(Rating::parse(0).is_err());
        assert!(Rating::parse(6).is_err());
        assert_eq!(Rating::parse(5).map(Rating::get), Ok(5));
    }

    #[test]
    fn hours_are_quarters_up_to_a_day() {
        assert!(Hours::parse(0.0).is_err());
        assert!(Hours::parse(-1.0).is_err());
        assert!(Hours::parse(24.25).is_err());
        assert!(Hours::parse(1.1).is_err());
        assert!(Hours::parse(f64::NAN).is_err());
        assert_eq!(Hours::parse(1.75).map(Hours::get), Ok(1.75));
        assert_eq!(Hours::parse(24.0).map(Hours::get), Ok(24.0));
    }

    #[test]
    fn states_round_trip() {
        for s in OrderState::ALL {
            assert_eq!(OrderState::parse(s.as_str()), Ok(s));
        }
        for l in Level::ALL {
            assert_eq!(Level::parse(l.as_str()), Ok(l));
        }
        assert_eq!(
            DomainError::from(Level::parse("planet").unwrap_err()),
            DomainError::invalid("level", "must be courtyard, station, institute or center")
        );
    }
}
