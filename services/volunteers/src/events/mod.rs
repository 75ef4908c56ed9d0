//! What the volunteers service publishes. Event bodies carry no personal data beyond a
//! volunteer's id, public number and home unit.

pub mod consumers;
pub mod ledger;

use prost::Message;
use tongxin_proto::events as pb_events;

use crate::store::volunteers::Model;

mod changes;
pub use changes::*;

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

/// The durable consumer that keeps `known_units` current from the venues org-tree events.
pub const UNITS_CONSUMER: &str = "volunteers-known-units";
/// What it listens to (other venues subjects are acknowledged and ignored).
pub const UNITS_FILTER: &str = "tongxin.venues.>";

/// Applies `tongxin.venues.unit_created` / `unit_updated` to `known_units` (a move
/// rewrites the known paths below the unit too, and the paths of the volunteers and teams
/// at and below it). Idempotent by the platform's
/// processed-events table; an upsert would be idempotent anyway.
pub struct UnitsHandler;

#[async_trait::async_trait]
impl tongxin_platform::events::consumer::Handler for UnitsHandler {
    async fn handle(
        &self,
        txn: &sea_orm::DatabaseTransaction,
        event: &tongxin_platform::events::Event,
    ) -> Result<(), tongxin_platform::events::consumer::HandlerError> {
        use tongxin_platform::events::consumer::HandlerError;
        let poison = |e: prost::DecodeError| HandlerError::Poison(e.to_string());
        let (unit, old_path) = match event.subject.as_str() {
            "tongxin.venues.unit_created" => {
                let body = pb_events::UnitCreated::decode(event.payload.clone()).map_err(poison)?;
                (body.unit, None)
            }
            "tongxin.venues.unit_updated" => {
                let body = pb_events::UnitUpdated::decode(event.payload.clone()).map_err(poison)?;
                (body.unit, Some(body.old_path).filter(|p| !p.is_empty()))
            }
            _ => return Ok(()),
        };
        let unit = unit.ok_or_else(|| HandlerError::Poison("event without a unit".to_owned()))?;
        let id = uuid::Uuid::parse_str(&unit.id)
            .map_err(|_| HandlerError::Poison("unit id is not a UUID".to_owned()))?;
        let path = crate::domain::scope::UnitPath::parse(&unit.path)
            .map_err(|e| HandlerError::Poison(e.to_string()))?;
        crate::store::known_units::remember(txn, id, path.as_str()).await?;
        let location = unit.location.as_ref().map(|l| (l.lat, l.lon));
        crate::store::unit_details::describe(txn, id, &unit.name, location).await?;
        if let Some(old) = old_path
            && old != path.as_str()
        {
            crate::store::known_units::move_subtree(txn, &old, path.as_str()).await?;
            // Volunteers and teams of the moved subtree go with it: staff of the new
            // ancestors gain them, staff of the old ones lose them.
            crate::store::known_units::move_members(txn, &old, path.as_str()).await?;
        }
        Ok(())
    }
}
