//! `tongxin.venues.v1.RhythmService`: visits and cadence for the other services (the order
//! links to the visit where a need was heard; the quarterly evaluation). Behind the same
//! credential layer as the other venues services: a user's token or a service credential.

use chrono::{NaiveDate, Utc};
use tongxin_proto::venues as pb;
use tongxin_proto::venues::rhythm_service_server::{RhythmService, RhythmServiceServer};
use tonic::{Request, Response, Status};

use crate::domain::DomainError;
use crate::domain::org::OrgUnitId;
use crate::domain::rhythm::{VisitId, local_date};
use crate::error::VenuesError;
use crate::service::Venues;
use crate::service::rhythm::MAX_RHYTHM_UNITS;

/// `tongxin.venues.v1.RhythmService`.
pub struct RhythmGrpc(pub Venues);

/// The tonic service, ready to add to routes.
pub fn rhythm_service(venues: Venues) -> RhythmServiceServer<RhythmGrpc> {
    RhythmServiceServer::new(RhythmGrpc(venues))
}

fn date(text: &str, field: &str) -> Result<NaiveDate, VenuesError> {
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
        .map_err(|_| DomainError::invalid(field, "must be a date, YYYY-MM-DD").into())
}

#[tonic::async_trait]
impl RhythmService for RhythmGrpc {
    #[tracing::instrument(skip_all, fields(id = %request.get_ref().id))]
    async fn get_visit(
        &self,
        request: Request<pb::GetVisitRequest>,
    ) -> Result<Response<pb::Visit>, Status> {
        let id = VisitId::parse(&request.get_ref().id, "id").map_err(VenuesError::from)?;
        // Counts only: the notes and needs never leave through gRPC.
        let visit = self
            .0
            .visit_counts(id)
            .await?
            .ok_or_else(|| VenuesError::NotFound(format!("visit {id} does not exist")))?;
        Ok(Response::new(pb::Visit {
            id: visit.id.to_string(),
            unit_id: visit.unit_id.to_string(),
            visited_on: local_date(visit.visited_at).to_string(),
            visited_at_ms: visit.visited_at.timestamp_millis(),
            households_reached: visit.households_reached,
            needs_heard: visit.needs_count,
            recorder: visit.recorder,
        }))
    }

    #[tracing::instrument(skip_all, fields(units = request.get_ref().unit_ids.len()))]
    async fn unit_rhythm(
        &self,
        request: Request<pb::UnitRhythmRequest>,
    ) -> Result<Response<pb::UnitRhythmResponse>, Status> {
        let req = request.into_inner();
        if req.unit_ids.len() > MAX_RHYTHM_UNITS {
            return Err(VenuesError::from(DomainError::invalid(
                "unit_ids",
                format!("at most {MAX_RHYTHM_UNITS} ids"),
            ))
            .into());
        }
        let ids: Vec<OrgUnitId> = req
            .unit_ids
            .iter()
            .enumerate()
            .map(|(i, id)| {
                OrgUnitId::parse(id, "unit_ids").map_err(|e| {
                    VenuesError::from(DomainError::invalid(&format!("unit_ids[{i}]"), e.reason))
                })
            })
            .collect::<Result<_, _>>()?;
        let from = date(&req.from_date, "from_date")?;
        let to = date(&req.to_date, "to_date")?;
        let (units, missing) = self.0.unit_rhythm(&ids, (from, to), Utc::now()).await?;
        Ok(Response::new(pb::UnitRhythmResponse {
            units: units
                .into_iter()
                .map(|(unit, t)| pb::UnitRhythm {
                    unit_id: unit.id.to_string(),
                    visit_periods_due: t.visit_periods_due,
                    visit_periods_met: t.visit_periods_met,
                    activity_periods_due: t.activity_periods_due,
                    activity_periods_met: t.activity_periods_met,
                    visits: t.visits,
                    households_reached: t.households_reached,
                    activities_held: t.activities_held,
                    attendance: t.attendance,
                })
                .collect(),
            missing_ids: missing.iter().map(ToString::to_string).collect(),
        }))
    }
}
