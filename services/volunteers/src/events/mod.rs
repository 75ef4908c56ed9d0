//! What the volunteers service publishes. Event bodies carry no personal data beyond a
//! volunteer's id, public number and home unit.

pub mod consumers;
pub mod ledger;

use prost::Message;
use tongxin_platform::db::DbError;
use tongxin_platform::org::UnitPath;
use tongxin_platform::org::consumer::{AnnouncedUnit, KnownUnitsHook};
use tongxin_proto::events as pb_events;

use crate::store::volunteers::Model;

mod changes;
mod linking;
pub use changes::*;
pub use linking::*;

/// CloudEvents source of everything volunteers publishes.
pub const SOURCE: &str = "tongxin/volunteers";
/// A volunteer joined the registry.
pub const VOLUNTEER_REGISTERED: &str = "tongxin.volunteers.volunteer_registered";

/// The body of `tongxin.volunteers.volunteer_registered`.
pub fn volunteer_registered(row: &Model, actor: &str) -> Vec<u8> {
    pb_events::VolunteerRegistered {
        volunteer_id: row.id.to_string(),
        volunteer_no: row.volunteer_no.clone(),
        home_unit_id: row.home_unit_id.to_string(),
        home_unit_path: row.home_unit_path.clone(),
        actor: actor.to_owned(),
    }
    .encode_to_vec()
}

/// The durable consumer that keeps `known_units` current from the venues org-tree events
/// (the platform's
/// [`KnownUnitsConsumer`](tongxin_platform::org::consumer::KnownUnitsConsumer), with
/// [`UnitsHook`] for what volunteers adds).
pub const UNITS_CONSUMER: &str = "volunteers-known-units";
/// What it listens to (other venues subjects are acknowledged and ignored).
pub const UNITS_FILTER: &str = tongxin_platform::org::consumer::UNIT_EVENTS;

/// What volunteers does on a unit event beyond `known_units`: it records the unit's name and
/// location (the import resolves units by name and places a volunteer without coordinates
/// at their unit), and on a move it moves the volunteers and teams at and below the unit.
pub struct UnitsHook;

#[async_trait::async_trait]
impl KnownUnitsHook for UnitsHook {
    async fn announced(
        &self,
        txn: &sea_orm::DatabaseTransaction,
        unit: &AnnouncedUnit,
    ) -> Result<(), DbError> {
        crate::store::unit_details::describe(txn, unit.id, &unit.name, unit.location).await
    }

    async fn moved(
        &self,
        txn: &sea_orm::DatabaseTransaction,
        old: &str,
        new: &UnitPath,
    ) -> Result<(), DbError> {
        // Volunteers and teams of the moved subtree go with it: staff of the new
        // ancestors gain them, staff of the old ones lose them.
        crate::store::unit_moves::move_members(txn, old, new.as_str()).await
    }
}

#[cfg(test)]
mod tests {
    /// Each subject volunteers publishes is in the catalog, so its messages name their type.
    #[test]
    fn every_subject_is_in_the_event_catalog() {
        use super::changes::{VOLUNTEER_ERASED, VOLUNTEER_STATUS_CHANGED, VOLUNTEER_UPDATED};
        use super::ledger::{
            STAR_REACHED, TEAM_CREATED, TEAM_LEADER_CHANGED, TEAM_MEMBER_ADDED, TEAM_MEMBER_REMOVED,
        };
        use super::linking::{ACCOUNT_INVITE_ISSUED, ACCOUNT_LINKED, ACCOUNT_UNLINKED};
        for subject in [
            ACCOUNT_INVITE_ISSUED,
            ACCOUNT_LINKED,
            ACCOUNT_UNLINKED,
            super::VOLUNTEER_REGISTERED,
            VOLUNTEER_UPDATED,
            VOLUNTEER_STATUS_CHANGED,
            VOLUNTEER_ERASED,
            STAR_REACHED,
            TEAM_CREATED,
            TEAM_MEMBER_ADDED,
            TEAM_MEMBER_REMOVED,
            TEAM_LEADER_CHANGED,
        ] {
            assert!(
                tongxin_proto::catalog::by_subject(subject).is_some(),
                "{subject} is missing from tongxin_proto::catalog"
            );
        }
    }
}
