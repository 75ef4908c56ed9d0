//! What the venues service publishes.

use prost::Message;
use tongxin_proto::{events as pb_events, venues as pb};

use crate::domain::org::UnitKind;
use crate::store::org_units::OrgUnit;

/// CloudEvents source of everything venues publishes.
pub const SOURCE: &str = "tongxin/venues";
/// A unit joined the org tree.
pub const UNIT_CREATED: &str = "tongxin.venues.unit_created";
/// A unit was renamed or moved.
pub const UNIT_UPDATED: &str = "tongxin.venues.unit_updated";

/// The protobuf form of a unit, shared by gRPC and events.
pub fn to_proto(unit: &OrgUnit) -> pb::OrgUnit {
    pb::OrgUnit {
        id: unit.id.to_string(),
        kind: kind_to_proto(unit.kind) as i32,
        name: unit.name.clone(),
        code: unit.code.clone(),
        path: unit.path.clone(),
        parent_id: unit.parent_id.map(|p| p.to_string()),
        location: Some(pb::Location {
            lat: unit.location.lat(),
            lon: unit.location.lon(),
        }),
        district: unit.district.clone(),
    }
}

/// The body of `tongxin.venues.unit_created`.
pub fn unit_created(unit: &OrgUnit, actor: &str) -> Vec<u8> {
    pb_events::UnitCreated {
        unit: Some(to_proto(unit)),
        actor: actor.to_owned(),
    }
    .encode_to_vec()
}

/// The body of `tongxin.venues.unit_updated`.
pub fn unit_updated(unit: &OrgUnit, actor: &str, change: &str, old_path: &str) -> Vec<u8> {
    pb_events::UnitUpdated {
        unit: Some(to_proto(unit)),
        actor: actor.to_owned(),
        change: change.to_owned(),
        old_path: old_path.to_owned(),
    }
    .encode_to_vec()
}

/// Proto enum for a kind.
pub fn kind_to_proto(kind: UnitKind) -> pb::UnitKind {
    match kind {
        UnitKind::Center => pb::UnitKind::Center,
        UnitKind::Institute => pb::UnitKind::Institute,
        UnitKind::Station => pb::UnitKind::Station,
        UnitKind::Courtyard => pb::UnitKind::Courtyard,
    }
}

/// Kind for a proto enum value; `None` for unspecified or unknown.
pub fn kind_from_proto(value: i32) -> Option<UnitKind> {
    match pb::UnitKind::try_from(value).ok()? {
        pb::UnitKind::Center => Some(UnitKind::Center),
        pb::UnitKind::Institute => Some(UnitKind::Institute),
        pb::UnitKind::Station => Some(UnitKind::Station),
        pb::UnitKind::Courtyard => Some(UnitKind::Courtyard),
        pb::UnitKind::Unspecified => None,
    }
}

/// A unit back from its protobuf form (events, gRPC); `None` if the message is malformed.
pub fn from_proto(unit: pb::OrgUnit) -> Option<OrgUnit> {
    use crate::domain::org::OrgUnitId;
    let location = unit.location?;
    Some(OrgUnit {
        id: OrgUnitId::parse(&unit.id, "id").ok()?,
        kind: kind_from_proto(unit.kind)?,
        name: unit.name,
        code: unit.code,
        path: unit.path,
        parent_id: match unit.parent_id.as_deref() {
            None | Some("") => None,
            Some(p) => Some(OrgUnitId::parse(p, "parentId").ok()?),
        },
        district: unit.district,
        location: tongxin_platform::geo::Coordinates::parse(location.lat, location.lon).ok()?,
    })
}

/// An activity took place; carries the volunteers' hours for the volunteers service.
pub const ACTIVITY_HELD: &str = "tongxin.venues.activity_held";

/// Who recorded an activity as held, and the scope they recorded it in: volunteers approves
/// at once only the hours of volunteers that scope covers.
pub struct Recorder<'a> {
    /// The principal's subject.
    pub subject: &'a str,
    /// The path of the unit the recorder's scope hangs on, if any.
    pub unit_path: Option<&'a str>,
}

/// The body of `tongxin.venues.activity_held`; `unit_path` is the organising unit's.
pub fn activity_held(
    activity: &crate::store::activities::Activity,
    unit_path: &str,
    attendance: u32,
    served: &[crate::domain::activity::ServedHours],
    recorder: &Recorder<'_>,
) -> Vec<u8> {
    pb_events::ActivityHeld {
        activity_id: activity.id.to_string(),
        title: activity.title.clone(),
        theme: crate::grpc::proto::theme_to_proto(activity.theme) as i32,
        theme_label: activity.theme_label.clone(),
        venue_id: activity.venue_id.to_string(),
        org_unit_id: activity.org_unit_id.to_string(),
        starts_at_ms: activity.starts_at.timestamp_millis(),
        ends_at_ms: activity.ends_at.timestamp_millis(),
        attendance,
        served: served
            .iter()
            .map(crate::grpc::proto::served_to_proto)
            .collect(),
        actor: recorder.subject.to_owned(),
        org_unit_path: unit_path.to_owned(),
        actor_unit_path: recorder.unit_path.unwrap_or_default().to_owned(),
    }
    .encode_to_vec()
}

/// Staff or a volunteer recorded a visit (走访).
pub const VISIT_RECORDED: &str = "tongxin.venues.visit_recorded";
/// A period ended and a unit had not met its district's cadence rule.
pub const CADENCE_MISSED: &str = "tongxin.venues.cadence_missed";

/// The body of `tongxin.venues.visit_recorded`: counts only, never the notes or needs.
pub fn visit_recorded(visit: &crate::store::rhythm::visits::Model, unit_path: &str) -> Vec<u8> {
    pb_events::VisitRecorded {
        visit_id: visit.id.to_string(),
        unit_id: visit.unit_id.to_string(),
        unit_path: unit_path.to_owned(),
        visited_at_ms: visit.visited_at.timestamp_millis(),
        households_reached: u32::try_from(visit.households_reached).unwrap_or(0),
        needs_heard: u32::try_from(visit.needs_count).unwrap_or(0),
        actor: visit.recorder.clone(),
    }
    .encode_to_vec()
}

/// The proto enum for what a rule counts.
pub fn cadence_kind_to_proto(kind: crate::domain::rhythm::PeriodKind) -> pb_events::CadenceKind {
    match kind {
        crate::domain::rhythm::PeriodKind::Week => pb_events::CadenceKind::Visits,
        crate::domain::rhythm::PeriodKind::Month => pb_events::CadenceKind::Activities,
    }
}

/// The body of `tongxin.venues.cadence_missed`.
pub fn cadence_missed(
    miss: &crate::store::rhythm::misses::Model,
    unit_path: &str,
    kind: crate::domain::rhythm::PeriodKind,
) -> Vec<u8> {
    pb_events::CadenceMissed {
        unit_id: miss.unit_id.to_string(),
        unit_path: unit_path.to_owned(),
        kind: cadence_kind_to_proto(kind) as i32,
        period_start: miss.period_start.to_string(),
        period_end: miss.period_end.to_string(),
        required: u32::try_from(miss.required).unwrap_or(0),
        done: u32::try_from(miss.done).unwrap_or(0),
        streak: u32::try_from(miss.streak).unwrap_or(0),
    }
    .encode_to_vec()
}

#[cfg(test)]
mod tests {
    /// Each subject venues publishes is in the catalog, so its messages name their type.
    #[test]
    fn every_subject_is_in_the_event_catalog() {
        for subject in [
            super::UNIT_CREATED,
            super::UNIT_UPDATED,
            super::ACTIVITY_HELD,
            super::VISIT_RECORDED,
            super::CADENCE_MISSED,
        ] {
            assert!(
                tongxin_proto::catalog::by_subject(subject).is_some(),
                "{subject} is missing from tongxin_proto::catalog"
            );
        }
    }
}
