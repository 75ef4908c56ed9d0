//! What the legal-aid service publishes (`tongxin.legalaid.appointment_*`, body
//! `AppointmentChanged`; `case_*`, `CaseChanged`; `consultation_logged`,
//! `ConsultationLogged`; ids and codes only) and what it consumes (the venues unit events, to
//! know unit paths for staff scopes, through the platform's known-units consumer; the orders
//! events, for the orders dispatched to a station: [`consumers::orders`]).

pub mod consumers;

use chrono::{DateTime, Utc};
use prost::Message;
use tongxin_proto::events as pb;
use tongxin_proto::legalaid as la;

use crate::domain::LegalService;
use crate::domain::appointment::{Appointment, Status};

/// CloudEvents source of everything legal-aid publishes.
pub const SOURCE: &str = "tongxin/legal-aid";

/// The subject of an appointment event: `tongxin.legalaid.appointment_<event>`.
pub fn subject(event: &str) -> String {
    format!("tongxin.legalaid.appointment_{event}")
}

/// The proto service.
pub fn service_pb(service: LegalService) -> la::LegalService {
    match service {
        LegalService::Consultation => la::LegalService::Consultation,
        LegalService::Mediation => la::LegalService::Mediation,
        LegalService::LegalAidReferral => la::LegalService::LegalAidReferral,
        LegalService::LegalAidCase => la::LegalService::LegalAidCase,
        LegalService::Notarization => la::LegalService::Notarization,
        LegalService::HealthCheck => la::LegalService::HealthCheck,
        LegalService::NeedsSurvey => la::LegalService::NeedsSurvey,
    }
}

/// The proto service back to ours.
pub fn service_from_pb(value: i32) -> Option<LegalService> {
    let service = la::LegalService::try_from(value).ok()?;
    LegalService::ALL
        .into_iter()
        .find(|s| service_pb(*s) == service)
}

/// The proto status.
pub fn status_pb(status: Status) -> la::AppointmentStatus {
    match status {
        Status::Booked => la::AppointmentStatus::Booked,
        Status::CheckedIn => la::AppointmentStatus::CheckedIn,
        Status::Cancelled => la::AppointmentStatus::Cancelled,
        Status::NoShow => la::AppointmentStatus::NoShow,
    }
}

/// What happened besides the appointment's new state.
#[derive(Debug, Clone, Copy, Default)]
pub struct Extra {
    /// A reschedule: the old start.
    pub previous_start: Option<DateTime<Utc>>,
    /// A reminder: 24 or 1.
    pub reminder_hours: Option<u32>,
}

/// The body of every `tongxin.legalaid.appointment_*` event.
pub fn appointment_changed(
    a: &Appointment,
    actor: &str,
    at: DateTime<Utc>,
    extra: Extra,
) -> Vec<u8> {
    pb::AppointmentChanged {
        appointment_id: a.id.to_string(),
        station_id: a.station.to_string(),
        org_unit_id: a.unit.to_string(),
        provider_id: a.provider.map(|p| p.to_string()),
        service: service_pb(a.service) as i32,
        starts_at_ms: a.starts_at.timestamp_millis(),
        ends_at_ms: a.ends_at.timestamp_millis(),
        status: status_pb(a.status) as i32,
        previous_starts_at_ms: extra.previous_start.map(|t| t.timestamp_millis()),
        order_id: a.order.map(|o| o.to_string()),
        walk_in: a.walk_in,
        actor: actor.to_owned(),
        occurred_at_ms: at.timestamp_millis(),
        reminder_hours: extra.reminder_hours,
    }
    .encode_to_vec()
}

/// The subject of a case event: `tongxin.legalaid.case_<event>` (`opened`, `closed`).
pub fn case_subject(event: &str) -> String {
    format!("tongxin.legalaid.case_{event}")
}

/// The body of every `tongxin.legalaid.case_*` event.
pub fn case_changed(c: &crate::service::cases::Case, actor: &str, at: DateTime<Utc>) -> Vec<u8> {
    pb::CaseChanged {
        case_id: c.id.to_string(),
        station_id: c.station.to_string(),
        appointment_id: c.appointment.to_string(),
        provider_id: c.provider.map(|p| p.to_string()),
        kind: c.kind.code().to_owned(),
        status: c.status.code().to_owned(),
        result: c.result.map(|r| r.code().to_owned()),
        version: c.version,
        actor: actor.to_owned(),
        occurred_at_ms: at.timestamp_millis(),
    }
    .encode_to_vec()
}

/// The subject of a logged visit outcome.
pub const CONSULTATION_LOGGED: &str = "tongxin.legalaid.consultation_logged";

/// The body of `tongxin.legalaid.consultation_logged`: ids and the outcome code only.
pub fn consultation_logged(
    consultation: uuid::Uuid,
    a: &Appointment,
    outcome: &str,
    case: Option<uuid::Uuid>,
    actor: &str,
    at: DateTime<Utc>,
) -> Vec<u8> {
    pb::ConsultationLogged {
        consultation_id: consultation.to_string(),
        appointment_id: a.id.to_string(),
        station_id: a.station.to_string(),
        provider_id: a.provider.map(|p| p.to_string()),
        service: service_pb(a.service) as i32,
        outcome: outcome.to_owned(),
        order_id: a.order.map(|o| o.to_string()),
        case_id: case.map(|c| c.to_string()),
        actor: actor.to_owned(),
        occurred_at_ms: at.timestamp_millis(),
    }
    .encode_to_vec()
}

/// The durable consumer that keeps `known_units` current from the venues org-tree events.
pub const UNITS_CONSUMER: &str = "legal-aid-known-units";
/// What it listens to.
pub const UNITS_FILTER: &str = tongxin_platform::org::consumer::UNIT_EVENTS;

#[cfg(test)]
mod tests {
    /// Every appointment event legal-aid publishes is in the catalog, typed
    /// `AppointmentChanged`.
    #[test]
    fn every_subject_is_in_the_event_catalog() {
        for event in [
            "booked",
            "rescheduled",
            "cancelled",
            "checked_in",
            "no_show",
            "reminder_due",
        ] {
            let subject = super::subject(event);
            assert_eq!(
                tongxin_proto::catalog::by_subject(&subject).map(|e| e.message),
                Some("tongxin.events.v1.AppointmentChanged"),
                "{subject}"
            );
        }
        assert_eq!(
            tongxin_proto::catalog::by_subject(super::CONSULTATION_LOGGED).map(|e| e.message),
            Some("tongxin.events.v1.ConsultationLogged")
        );
        for event in ["opened", "closed"] {
            let subject = super::case_subject(event);
            assert_eq!(
                tongxin_proto::catalog::by_subject(&subject).map(|e| e.message),
                Some("tongxin.events.v1.CaseChanged"),
                "{subject}"
            );
        }
    }
}
