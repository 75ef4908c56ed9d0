//! What the volunteers service publishes. Event bodies carry no personal data beyond a
//! volunteer's id, public number and home unit.

use prost::Message;
use tongxin_proto::events as pb_events;

use crate::store::volunteers::Model;

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
