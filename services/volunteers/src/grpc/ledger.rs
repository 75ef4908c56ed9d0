//! Translation for the ledger RPC (`RecordHours`) between protobuf and the service.

use chrono::NaiveDate;
use tonic::Status;
use uuid::Uuid;

use crate::domain::DomainError;
use crate::error::VolunteersError;
use crate::service::ledger::NewHours;
use crate::store::ledger::entries;
use tongxin_proto::volunteers as pb;

fn invalid(field: &'static str, reason: &str) -> Status {
    VolunteersError::from(DomainError::invalid(field, reason)).into()
}

/// Parses a `RecordHoursRequest`; malformed ids and dates are INVALID_ARGUMENT.
pub fn new_hours(req: pb::RecordHoursRequest) -> Result<NewHours, Status> {
    let volunteer_id = Uuid::parse_str(&req.volunteer_id)
        .map_err(|_| invalid("volunteer_id", "not a volunteer id"))?;
    let source_id = req
        .source_id
        .filter(|s| !s.is_empty())
        .map(|s| Uuid::parse_str(&s))
        .transpose()
        .map_err(|_| invalid("source_id", "not a UUID"))?;
    let service_date = NaiveDate::parse_from_str(&req.service_date, "%Y-%m-%d")
        .map_err(|_| invalid("service_date", "must be a date like 2026-01-31"))?;
    Ok(NewHours {
        volunteer_id,
        source: req.source,
        source_id,
        hours: req.hours,
        service_date,
        place: req.place,
        content: req.content,
        evaluation: req.evaluation,
    })
}

/// The protobuf form of an entry.
pub fn entry_to_proto(row: entries::Model) -> pb::HoursEntry {
    pb::HoursEntry {
        id: row.id.to_string(),
        volunteer_id: row.volunteer_id.to_string(),
        source: row.source,
        source_id: row.source_id.map(|s| s.to_string()),
        hours: f64::from(row.quarters) / 4.0,
        service_date: row.service_date.to_string(),
        place: row.place,
        content: row.content,
        evaluation: row.evaluation,
        status: row.status,
        recorder: row.recorder,
        recorded_at_ms: row.recorded_at.timestamp_millis(),
    }
}
