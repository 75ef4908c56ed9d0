//! Ledger and team events: what the volunteers service publishes about stars and teams.
//! The consumers that credit approved hours live in [`super::consumers::ledger`]; they call
//! the ledger service, which calls back only into this file's publishers, so the
//! dependency runs one way: consumers → service → publishers.

use prost::Message;
use tongxin_proto::events as pb_events;
use uuid::Uuid;

use crate::store::{teams, volunteers};

/// A volunteer reached a star level.
pub const STAR_REACHED: &str = "tongxin.volunteers.star_reached";
/// A team was created.
pub const TEAM_CREATED: &str = "tongxin.volunteers.team_created";
/// A volunteer joined a team.
pub const TEAM_MEMBER_ADDED: &str = "tongxin.volunteers.team_member_added";
/// A volunteer left a team.
pub const TEAM_MEMBER_REMOVED: &str = "tongxin.volunteers.team_member_removed";
/// A member became (or stopped being) a leader.
pub const TEAM_LEADER_CHANGED: &str = "tongxin.volunteers.team_leader_changed";

/// The body of `star_reached`.
pub fn star_reached(
    v: &volunteers::Model,
    level: i16,
    approved_hours: f64,
    entry: Uuid,
) -> Vec<u8> {
    pb_events::StarReached {
        volunteer_id: v.id.to_string(),
        volunteer_no: v.volunteer_no.clone(),
        home_unit_id: v.home_unit_id.to_string(),
        home_unit_path: v.home_unit_path.clone(),
        level: u32::try_from(level).unwrap_or(0),
        approved_hours,
        entry_id: entry.to_string(),
    }
    .encode_to_vec()
}

/// The body of `team_created`.
pub fn team_created(t: &teams::Model, actor: &str) -> Vec<u8> {
    pb_events::TeamCreated {
        team_id: t.id.to_string(),
        name: t.name.clone(),
        level: t.level.clone(),
        unit_id: t.unit_id.to_string(),
        unit_path: t.unit_path.clone(),
        parent_team_id: t.parent_id.map(|p| p.to_string()),
        actor: actor.to_owned(),
    }
    .encode_to_vec()
}

/// The body of the membership events.
pub fn membership_changed(team: Uuid, volunteer: Uuid, leader: bool, actor: &str) -> Vec<u8> {
    pb_events::TeamMembershipChanged {
        team_id: team.to_string(),
        volunteer_id: volunteer.to_string(),
        is_leader: leader,
        actor: actor.to_owned(),
    }
    .encode_to_vec()
}
