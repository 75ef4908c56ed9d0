//! Stations, providers and appointments as the layers pass them around, and the moves an
//! appointment may make.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::slots::Policy;
use super::{AppointmentId, DomainError, LegalService, ProviderId, ProviderKind, StationId};

/// A station.
#[derive(Debug, Clone, PartialEq)]
pub struct Station {
    /// Its id.
    pub id: StationId,
    /// The org unit it hangs on.
    pub unit: Uuid,
    /// That unit's path.
    pub unit_path: String,
    /// The venue it sits in.
    pub venue: Option<Uuid>,
    /// Name.
    pub name: String,
    /// Address.
    pub address: String,
    /// Opening hours as people read them.
    pub opening_hours: String,
    /// Public contact of the station's desk.
    pub contact: String,
    /// What it offers.
    pub services: Vec<LegalService>,
    /// Its booking policy.
    pub policy: Policy,
}

/// A provider.
#[derive(Debug, Clone, PartialEq)]
pub struct Provider {
    /// Its id.
    pub id: ProviderId,
    /// Name.
    pub name: String,
    /// Kind.
    pub kind: ProviderKind,
    /// Office or firm.
    pub office: String,
    /// Licence number.
    pub licence_no: String,
    /// What they give.
    pub services: Vec<LegalService>,
    /// Whether an account is linked.
    pub linked: bool,
}

/// Where an appointment stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Booked, waiting.
    Booked,
    /// The visitor arrived.
    CheckedIn,
    /// Cancelled; the slot is free.
    Cancelled,
    /// The visitor did not come.
    NoShow,
}

impl Status {
    /// Every status.
    pub const ALL: [Self; 4] = [Self::Booked, Self::CheckedIn, Self::Cancelled, Self::NoShow];

    /// The stored code.
    pub fn code(self) -> &'static str {
        match self {
            Self::Booked => "booked",
            Self::CheckedIn => "checked_in",
            Self::Cancelled => "cancelled",
            Self::NoShow => "no_show",
        }
    }

    /// The status with stored `code`.
    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.code() == code)
    }
}

/// An appointment (no personal data: the sealed topic, parties and phone stay in the row).
#[derive(Debug, Clone, PartialEq)]
pub struct Appointment {
    /// Its id.
    pub id: AppointmentId,
    /// The station.
    pub station: StationId,
    /// The station's unit.
    pub unit: Uuid,
    /// The provider.
    pub provider: Option<ProviderId>,
    /// The service.
    pub service: LegalService,
    /// Start.
    pub starts_at: DateTime<Utc>,
    /// End (exclusive).
    pub ends_at: DateTime<Utc>,
    /// Where it stands.
    pub status: Status,
    /// Who booked it (subject).
    pub citizen: String,
    /// A walk-in without a booking.
    pub walk_in: bool,
    /// The order it serves.
    pub order: Option<Uuid>,
    /// Version, bumped by every change.
    pub version: i32,
}

/// A change of an appointment, as its event names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// Booked.
    Booked,
    /// Moved.
    Rescheduled,
    /// Cancelled.
    Cancelled,
    /// Arrived.
    CheckedIn,
    /// Did not come.
    NoShow,
}

impl Change {
    /// The event name: `tongxin.legalaid.appointment_<name>`.
    pub fn event(self) -> &'static str {
        match self {
            Self::Booked => "booked",
            Self::Rescheduled => "rescheduled",
            Self::Cancelled => "cancelled",
            Self::CheckedIn => "checked_in",
            Self::NoShow => "no_show",
        }
    }
}

impl Appointment {
    /// The status after `change`, or why the appointment cannot make it now.
    pub fn after(&self, change: Change, now: DateTime<Utc>) -> Result<Status, DomainError> {
        let refuse = |what: &str| {
            Err(DomainError::Conflict(format!(
                "a {} appointment cannot be {what}",
                self.status.code().replace('_', "-")
            )))
        };
        match (change, self.status) {
            (Change::Rescheduled, Status::Booked) => Ok(Status::Booked),
            (Change::Rescheduled, _) => refuse("rescheduled"),
            (Change::Cancelled, Status::Booked) => Ok(Status::Cancelled),
            (Change::Cancelled, _) => refuse("cancelled"),
            (Change::CheckedIn, Status::Booked) => {
                if super::roster::local_date(now) != super::roster::local_date(self.starts_at) {
                    return Err(DomainError::invalid(
                        "id",
                        "check-in is on the appointment's day",
                    ));
                }
                Ok(Status::CheckedIn)
            }
            (Change::CheckedIn, _) => refuse("checked in"),
            (Change::NoShow, Status::Booked) => {
                if now < self.starts_at {
                    return Err(DomainError::invalid(
                        "id",
                        "the appointment has not started yet",
                    ));
                }
                Ok(Status::NoShow)
            }
            (Change::NoShow, _) => refuse("marked as a no-show"),
            (Change::Booked, _) => refuse("booked again"),
        }
    }
}
