//! Which volunteer a signed-in person acts as.
//!
//! A volunteer signs in with their account; the volunteers service links that account (the
//! token `sub`) to a volunteer record. Orders asks it (`GetVolunteerBySubject`) and keeps the
//! answer for a while: the link is made once at registration and practically never changes,
//! while a volunteer's session makes many calls. Only found links are kept, so a person who
//! registers as a volunteer can act at once. When volunteers does not answer, the link is
//! unknown: volunteer moves fail with UNAVAILABLE rather than act as nobody.

use std::time::Duration;

use tongxin_platform::auth::{Principal, Role};
use tongxin_platform::ttl_cache::TtlCache;

use super::Orders;
use crate::domain::VolunteerId;
use crate::error::OrdersError;
use crate::grpc::clients::CallError;

/// How long a found link is trusted.
pub const LINK_TTL: Duration = Duration::from_secs(300);
/// The most links kept; past it, expired ones are dropped, then all (a refill is cheap).
pub const LINK_CAPACITY: usize = 10_000;

/// The volunteer a caller acts as, as far as is known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VolunteerLink {
    /// The principal does not hold the volunteer role.
    NotVolunteer,
    /// The account is linked to this volunteer.
    Linked(VolunteerId),
    /// The account holds the role but has no volunteer record.
    Unlinked,
    /// Volunteers did not answer (the cause).
    Unknown(String),
}

impl VolunteerLink {
    /// The linked volunteer, if known.
    pub fn id(&self) -> Option<VolunteerId> {
        match self {
            Self::Linked(id) => Some(*id),
            _ => None,
        }
    }

    /// The linked volunteer for a move made as a volunteer; UNAVAILABLE when it could not be
    /// found out (acting as "nobody" would answer FORBIDDEN for the wrong reason).
    pub fn for_move(&self) -> Result<Option<VolunteerId>, OrdersError> {
        match self {
            Self::Unknown(cause) => Err(OrdersError::Unavailable(format!(
                "volunteers GetVolunteerBySubject: {cause}"
            ))),
            other => Ok(other.id()),
        }
    }
}

/// Found links by account subject.
pub type LinkCache = TtlCache<String, VolunteerId>;

/// An empty cache of links.
pub fn link_cache() -> LinkCache {
    TtlCache::new(LINK_TTL, LINK_CAPACITY)
}

impl Orders {
    /// Forgets every cached link (a link ended somewhere: see
    /// [`crate::events::forget`]).
    pub fn forget_links(&self) {
        self.links.clear();
    }

    /// Forgets every cached chain of units (a unit moved: see [`crate::events::forget`]).
    pub fn forget_chains(&self) {
        self.deps.venues.forget_chains();
    }

    /// The volunteer `principal` acts as: from the cache, else from volunteers.
    pub(crate) async fn volunteer_link(&self, principal: &Principal) -> VolunteerLink {
        if !principal.has_role(Role::Volunteer) {
            return VolunteerLink::NotVolunteer;
        }
        if let Some(id) = self.links.get(principal.subject.as_str()) {
            return VolunteerLink::Linked(id);
        }
        match self.deps.volunteers.volunteer_by_subject(principal).await {
            Ok(Some(v)) => match uuid::Uuid::parse_str(&v.id) {
                Ok(id) => {
                    let id = VolunteerId(id);
                    self.links.put(principal.subject.clone(), id);
                    VolunteerLink::Linked(id)
                }
                Err(_) => VolunteerLink::Unknown("volunteers answered a malformed id".into()),
            },
            Ok(None) => VolunteerLink::Unlinked,
            Err(CallError::Unavailable(cause)) => {
                tracing::warn!(%cause, "cannot resolve the volunteer of an account");
                VolunteerLink::Unknown(cause)
            }
            Err(CallError::Refused(status)) => {
                // Refusing to tell an account its own record is a bug on one side; the
                // person is not a known volunteer here.
                tracing::warn!(code = ?status.code(), message = status.message(), "volunteers refused GetVolunteerBySubject");
                VolunteerLink::Unlinked
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unknown_link_makes_a_move_unavailable() {
        let id = VolunteerId(uuid::Uuid::now_v7());
        assert_eq!(VolunteerLink::Linked(id).for_move().ok(), Some(Some(id)));
        assert_eq!(VolunteerLink::Unlinked.for_move().ok(), Some(None));
        assert!(matches!(
            VolunteerLink::Unknown("down".into()).for_move(),
            Err(OrdersError::Unavailable(_))
        ));
    }
}
