//! Record corrections, status changes and erasure. Like every volunteers event they carry
//! ids, the public number and the home unit, never a name, phone or ID-card number.

use prost::Message;
use tongxin_proto::events as pb_events;

use crate::store::volunteers::Model;

/// A volunteer's record was corrected (or a deletion request recorded).
pub const VOLUNTEER_UPDATED: &str = "tongxin.volunteers.volunteer_updated";
/// A volunteer's status changed.
pub const VOLUNTEER_STATUS_CHANGED: &str = "tongxin.volunteers.volunteer_status_changed";
/// A volunteer's personal data was erased on request.
pub const VOLUNTEER_ERASED: &str = "tongxin.volunteers.volunteer_erased";

/// The body of `volunteer_updated`: which fields changed, not their values.
pub fn volunteer_updated(row: &Model, changed: &[&str], actor: &str) -> Vec<u8> {
    pb_events::VolunteerUpdated {
        volunteer_id: row.id.to_string(),
        volunteer_no: row.volunteer_no.clone(),
        home_unit_id: row.home_unit_id.to_string(),
        home_unit_path: row.home_unit_path.clone(),
        changed_fields: changed.iter().map(|f| (*f).to_owned()).collect(),
        actor: actor.to_owned(),
    }
    .encode_to_vec()
}

/// The body of `volunteer_status_changed`.
pub fn volunteer_status_changed(row: &Model, previous: &str, actor: &str) -> Vec<u8> {
    pb_events::VolunteerStatusChanged {
        volunteer_id: row.id.to_string(),
        volunteer_no: row.volunteer_no.clone(),
        home_unit_id: row.home_unit_id.to_string(),
        home_unit_path: row.home_unit_path.clone(),
        previous_status: previous.to_owned(),
        status: row.status.clone(),
        actor: actor.to_owned(),
    }
    .encode_to_vec()
}

/// The body of `volunteer_erased`.
pub fn volunteer_erased(row: &Model, actor: &str) -> Vec<u8> {
    pb_events::VolunteerErased {
        volunteer_id: row.id.to_string(),
        volunteer_no: row.volunteer_no.clone(),
        home_unit_path: row.home_unit_path.clone(),
        actor: actor.to_owned(),
    }
    .encode_to_vec()
}
