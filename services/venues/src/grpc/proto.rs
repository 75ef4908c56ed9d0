//! Protobuf forms of venues and activities, shared by gRPC and events.

use tongxin_proto::venues as pb;

use crate::domain::activity::{ActivityStatus, ServedHours, Theme};
use crate::domain::venue::{VenueKind, VenueStatus};
use crate::store::activities::Activity;
use crate::store::venues::Venue;

/// Proto enum for a venue kind.
pub fn venue_kind_to_proto(kind: VenueKind) -> pb::VenueKind {
    match kind {
        VenueKind::Courtyard => pb::VenueKind::Courtyard,
        VenueKind::Park => pb::VenueKind::Park,
        VenueKind::HeritageWorkshop => pb::VenueKind::HeritageWorkshop,
        VenueKind::CultureStation => pb::VenueKind::CultureStation,
        VenueKind::PatrioticBase => pb::VenueKind::PatrioticBase,
        VenueKind::CivilizedUnit => pb::VenueKind::CivilizedUnit,
        VenueKind::Other => pb::VenueKind::Other,
    }
}

/// Proto enum for a theme.
pub fn theme_to_proto(theme: Theme) -> pb::Theme {
    match theme {
        Theme::Theory => pb::Theme::Theory,
        Theme::Policy => pb::Theme::Policy,
        Theme::Law => pb::Theme::Law,
        Theme::Science => pb::Theme::Science,
        Theme::Health => pb::Theme::Health,
        Theme::RoleModels => pb::Theme::RoleModels,
        Theme::Changes => pb::Theme::Changes,
        Theme::Holiday => pb::Theme::Holiday,
        Theme::Custom => pb::Theme::Custom,
    }
}

/// Theme for a proto enum value; `None` for unspecified or unknown.
pub fn theme_from_proto(value: i32) -> Option<Theme> {
    Theme::ALL
        .into_iter()
        .find(|t| theme_to_proto(*t) as i32 == value)
}

/// The protobuf form of a venue.
pub fn venue_to_proto(venue: &Venue) -> pb::Venue {
    pb::Venue {
        id: venue.id.to_string(),
        kind: venue_kind_to_proto(venue.kind) as i32,
        name: venue.name.clone(),
        org_unit_id: venue.org_unit_id.to_string(),
        location: Some(pb::Location {
            lat: venue.location.lat(),
            lon: venue.location.lon(),
        }),
        address: venue.address.clone(),
        capacity: venue.capacity,
        facilities: venue.facilities.clone(),
        opening_hours: venue.opening_hours.clone(),
        photo_urls: venue.photo_urls.clone(),
        status: match venue.status {
            VenueStatus::Active => pb::VenueStatus::Active,
            VenueStatus::Archived => pb::VenueStatus::Archived,
        } as i32,
    }
}

/// The protobuf form of served hours.
pub fn served_to_proto(served: &ServedHours) -> pb::ServedHours {
    pb::ServedHours {
        volunteer_id: served.volunteer_id.to_string(),
        hours: served.hours(),
    }
}

/// The protobuf form of an activity with the hours served at it.
pub fn activity_to_proto(activity: &Activity, served: &[ServedHours]) -> pb::Activity {
    pb::Activity {
        id: activity.id.to_string(),
        title: activity.title.clone(),
        theme: theme_to_proto(activity.theme) as i32,
        theme_label: activity.theme_label.clone(),
        venue_id: activity.venue_id.to_string(),
        org_unit_id: activity.org_unit_id.to_string(),
        starts_at_ms: activity.starts_at.timestamp_millis(),
        ends_at_ms: activity.ends_at.timestamp_millis(),
        capacity: activity.capacity,
        speakers: activity.speakers.clone(),
        volunteer_ids: activity
            .volunteer_ids
            .iter()
            .map(|v| v.to_string())
            .collect(),
        status: match activity.status {
            ActivityStatus::Planned => pb::ActivityStatus::Planned,
            ActivityStatus::Held => pb::ActivityStatus::Held,
            ActivityStatus::Cancelled => pb::ActivityStatus::Cancelled,
        } as i32,
        cancel_reason: activity.cancel_reason.clone(),
        attendance: activity.attendance,
        served: served.iter().map(served_to_proto).collect(),
    }
}
