//! The legal-aid operations, shared by the GraphQL and gRPC front doors.
//!
//! Who sees and does what (decided here, once):
//! - stations, providers' public fields, the duty roster and the free slots: any
//!   authenticated caller (they are public services);
//! - staff (or admins) whose scope (their unit's path, from `known_units`) covers a
//!   station's unit manage it: the station itself, its providers, rules and exceptions, and
//!   its appointments (check-in, no-show, cancel, reschedule, walk-ins);
//! - admins maintain the district-wide holiday calendar;
//! - a citizen (or company contact) sees and changes their own appointments;
//! - a provider whose account is linked (`legal_aid_provider`) sees their own schedule and
//!   checks their visitors in;
//! - anyone else is told an appointment does not exist (NOT_FOUND); a station they may see
//!   but not manage answers FORBIDDEN.

mod booking;
pub mod calendar_feed;
pub mod cases;
pub mod clock;
pub mod consultations;
pub mod reminders;
pub mod requests;
mod roster;
mod stations;

/// The roster's inputs and outputs as the front doors build and read them.
pub mod roster_input {
    pub use super::roster::{ExceptionKindInput, NewException, NewRule, RosterDay};
}

use std::sync::Arc;

use sea_orm::DatabaseConnection;
use tongxin_platform::auth::{Principal, Role};
use tongxin_platform::events::outbox::OutboxWaker;
use tongxin_platform::org::UnitPath;
use tongxin_platform::pii::{Phone, PiiCipher};

use crate::domain::appointment::{Appointment, Station};
use crate::domain::{DomainError, ProviderId, StationId};
use crate::error::LegalAidError;
use crate::service::clock::Clock;
use crate::store::{appointments, known_units, stations as station_store};

pub use booking::{Booking, WalkIn, Withdrawal};
pub use roster::{ExceptionKindInput, NewException, NewRule, RosterDay};
pub use stations::{NewProvider, NewStation};

/// The page size when the caller gives none, and the most a caller may ask for.
pub const DEFAULT_PAGE: u64 = 50;
/// See [`DEFAULT_PAGE`].
pub const MAX_PAGE: u64 = 100;

/// Who is asking, resolved once per request.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The principal.
    pub principal: Principal,
    /// The staff scope path, when staff and their unit is known.
    pub scope: Option<UnitPath>,
    /// The provider record linked to the principal's account.
    pub provider: Option<ProviderId>,
}

impl Caller {
    /// Whether staff scope covers `path`.
    pub fn manages(&self, path: &str) -> bool {
        self.principal.is_staff() && self.scope.as_ref().is_some_and(|s| s.covers(path))
    }

    /// Refuses unless the caller manages `station`.
    pub fn must_manage(&self, station: &Station) -> Result<(), DomainError> {
        if self.manages(&station.unit_path) {
            Ok(())
        } else {
            Err(DomainError::Forbidden(
                "only staff whose scope covers the station may do this".to_owned(),
            ))
        }
    }
}

/// An appointment as one caller may see it.
#[derive(Debug, Clone)]
pub struct AppointmentView {
    /// The appointment.
    pub appointment: Appointment,
    /// The topic.
    pub topic: String,
    /// The parties named for the conflict check.
    pub parties: Vec<String>,
    /// The contact phone: in full for its citizen and staff in scope, masked for the
    /// provider; none when none was given.
    pub phone: Option<String>,
}

/// The legal-aid operations over their database.
#[derive(Clone)]
pub struct LegalAid {
    db: DatabaseConnection,
    waker: OutboxWaker,
    cipher: Arc<PiiCipher>,
    clock: Clock,
}

impl LegalAid {
    /// Operations over `db`, sealing personal data with `cipher`.
    pub fn new(db: DatabaseConnection, waker: OutboxWaker, cipher: PiiCipher) -> Self {
        Self {
            db,
            waker,
            cipher: Arc::new(cipher),
            clock: Clock::system(),
        }
    }

    /// The same operations reading the time from `clock`.
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// Now, by the service's clock.
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.clock.now()
    }

    /// The cipher that seals personal data at rest (the demo history writes sealed rows).
    pub(crate) fn cipher(&self) -> &PiiCipher {
        &self.cipher
    }

    /// The database (loaders, tests).
    pub fn db(&self) -> &DatabaseConnection {
        &self.db
    }

    /// Records a unit (seeding, tests; otherwise learnt from the venues events).
    pub async fn remember_unit(
        &self,
        id: uuid::Uuid,
        path: &str,
        level: tongxin_platform::org::Level,
    ) -> Result<(), LegalAidError> {
        let path = UnitPath::parse(path)?;
        known_units::remember(&self.db, id, path.as_str(), Some(level)).await?;
        Ok(())
    }

    /// Resolves a principal into what the rules need.
    pub async fn caller(&self, principal: Option<&Principal>) -> Result<Caller, LegalAidError> {
        let principal = principal.ok_or(LegalAidError::Unauthenticated)?.clone();
        let scope = match (principal.is_staff(), principal.unit) {
            (true, Some(unit)) => known_units::path_of(&self.db, unit)
                .await?
                .and_then(|p| UnitPath::parse(&p).ok()),
            _ => None,
        };
        let provider = if principal.has_role(Role::LegalAidProvider) {
            station_store::provider_by_subject(&self.db, &principal.subject)
                .await?
                .map(|p| ProviderId(p.id))
        } else {
            None
        };
        Ok(Caller {
            principal,
            scope,
            provider,
        })
    }

    /// Station `id`, or NOT_FOUND.
    pub async fn station(&self, id: StationId) -> Result<Station, LegalAidError> {
        let row = station_store::stations(&self.db, &[id.0])
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| DomainError::NotFound("no such station".to_owned()))?;
        station_store::parse_station(row)
    }

    /// The view of a stored appointment for `caller`, or NOT_FOUND if they may not see it.
    pub fn view(
        &self,
        caller: &Caller,
        station: &Station,
        row: &appointments::appointment::Model,
    ) -> Result<AppointmentView, LegalAidError> {
        let appointment = appointments::parse(row)?;
        let owner = caller.principal.subject == appointment.citizen;
        let staff = caller.manages(&station.unit_path);
        let provider = caller.provider.is_some() && caller.provider == appointment.provider;
        if !(owner || staff || provider || caller.principal.is_service()) {
            return Err(DomainError::NotFound("no such appointment".to_owned()).into());
        }
        let topic = self.cipher.decrypt(&row.topic_cipher)?;
        let parties: Vec<String> = serde_json::from_str(&self.cipher.decrypt(&row.parties_cipher)?)
            .map_err(|_| crate::store::corrupt("parties"))?;
        let phone = match &row.phone_cipher {
            Some(sealed) => {
                let phone = Phone::parse(&self.cipher.decrypt(sealed)?)?;
                Some(if owner || staff {
                    phone.expose().to_owned()
                } else {
                    phone.masked()
                })
            }
            None => None,
        };
        Ok(AppointmentView {
            appointment,
            topic,
            parties,
            phone,
        })
    }

    fn wake(&self) {
        self.waker.wake();
    }
}
