//! `MatchCandidates` in protobuf: the request parsed into a [`MatchQuery`], each candidate
//! with its score explanation in English and Chinese.

use chrono::{DateTime, Utc};
use tongxin_proto::volunteers as pb;
use tonic::Status;
use uuid::Uuid;

use crate::domain::DomainError;
use crate::error::VolunteersError;
use crate::service::{CandidateView, MatchQuery};

fn invalid(field: &'static str, reason: &str) -> Status {
    VolunteersError::from(DomainError::invalid(field, reason)).into()
}

fn instant(ms: i64, field: &'static str) -> Result<DateTime<Utc>, Status> {
    DateTime::from_timestamp_millis(ms).ok_or_else(|| invalid(field, "not a valid instant"))
}

/// The request as the service takes it; INVALID_ARGUMENT for what cannot even be read.
pub fn query(req: pb::MatchCandidatesRequest) -> Result<MatchQuery, Status> {
    let location = req
        .location
        .ok_or_else(|| invalid("location", "is required"))?;
    let exclude = req
        .exclude_volunteer_ids
        .iter()
        .map(|id| {
            Uuid::parse_str(id).map_err(|_| invalid("exclude_volunteer_ids", "not a volunteer id"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(MatchQuery {
        lat: location.lat,
        lon: location.lon,
        skills: req.skills,
        window_start: instant(req.window_start_ms, "window_start_ms")?,
        window_end: instant(req.window_end_ms, "window_end_ms")?,
        count: req.count,
        exclude,
    })
}

/// One candidate in protobuf.
pub fn candidate(c: CandidateView) -> pb::Candidate {
    let e = &c.found.explanation;
    pb::Candidate {
        score: e.total_points,
        walking_minutes: e.walking_minutes,
        distance_m: e.distance_m,
        open_assignments: u32::from(e.open_assignments),
        rating_average: e.rating_average,
        rating_count: e.rating_count,
        explanation: Some(pb::ScoreExplanation {
            distance_points: e.distance_points,
            distance_max_points: e.distance_max_points,
            load_points: e.load_points,
            load_max_points: e.load_max_points,
            rating_points: e.rating_points,
            rating_max_points: e.rating_max_points,
            text_en: crate::present::matching::english(e),
            text_zh: crate::present::matching::chinese(e),
        }),
        volunteer: Some(crate::grpc::to_proto(c.volunteer)),
    }
}
