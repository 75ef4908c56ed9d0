//! The volunteers gRPC server: translate, call [`Volunteers`], translate back.

pub mod ledger;
pub mod matching;

use tongxin_platform::auth::Role;
use tongxin_platform::grpc::principal;
use tongxin_proto::volunteers as pb;
use tongxin_proto::volunteers::volunteer_service_server::{
    VolunteerService, VolunteerServiceServer,
};
use tonic::{Request, Response, Status};
use uuid::Uuid;

use crate::domain::team::TeamLevel;
use crate::domain::{DomainError, VolunteerId};
use crate::error::VolunteersError;
use crate::service::{VolunteerView, Volunteers};

/// The most ids one `BatchGetVolunteers` may ask for.
pub const MAX_BATCH: usize = 1000;

/// `tongxin.volunteers.v1.VolunteerService`.
pub struct VolunteerGrpc(pub Volunteers);

/// The tonic service, ready to add to routes.
pub fn volunteer_service(volunteers: Volunteers) -> VolunteerServiceServer<VolunteerGrpc> {
    VolunteerServiceServer::new(VolunteerGrpc(volunteers))
}

/// The fully-qualified names for the health service.
pub const SERVICE_NAMES: &[&str] = &["tongxin.volunteers.v1.VolunteerService"];

fn parse_id(id: &str, field: &'static str) -> Result<Uuid, Status> {
    Uuid::parse_str(id).map_err(|_| {
        VolunteersError::from(DomainError::invalid(field, "not a volunteer id")).into()
    })
}

/// The protobuf form of a view (already masked for the caller): outside scope the name is
/// masked, the personal fields are empty (lat/lon 0) and `personal_masked` says so.
pub fn to_proto(v: VolunteerView) -> pb::Volunteer {
    let (home_unit_id, home_unit_path) = v.home_unit();
    let personal = v.personal();
    pb::Volunteer {
        id: v.id().0.to_string(),
        volunteer_no: v.volunteer_no().to_owned(),
        name: v.name().to_owned(),
        home_unit_id: home_unit_id.to_string(),
        home_unit_path: home_unit_path.to_owned(),
        lat: personal.map_or(0.0, |p| p.row.lat),
        lon: personal.map_or(0.0, |p| p.row.lon),
        skills: personal.map(|p| p.skills.to_vec()).unwrap_or_default(),
        availability: personal
            .map(|p| p.row.availability.clone())
            .unwrap_or_default(),
        status: v.status().to_owned(),
        phone_masked: v.phone().is_masked(),
        phone: v.phone().as_str().to_owned(),
        personal_masked: personal.is_none(),
    }
}

#[tonic::async_trait]
impl VolunteerService for VolunteerGrpc {
    #[tracing::instrument(skip_all)]
    async fn get_volunteer(
        &self,
        request: Request<pb::GetVolunteerRequest>,
    ) -> Result<Response<pb::Volunteer>, Status> {
        let caller = self.0.caller(principal(&request)).await?;
        let id = parse_id(&request.get_ref().id, "id")?;
        let view = self
            .0
            .volunteer(&caller, VolunteerId(id))
            .await?
            .ok_or_else(|| VolunteersError::NotFound(format!("volunteer {id} does not exist")))?;
        Ok(Response::new(to_proto(view)))
    }

    #[tracing::instrument(skip_all, fields(count = request.get_ref().ids.len()))]
    async fn batch_get_volunteers(
        &self,
        request: Request<pb::BatchGetVolunteersRequest>,
    ) -> Result<Response<pb::BatchGetVolunteersResponse>, Status> {
        let caller = self.0.caller(principal(&request)).await?;
        let req = request.into_inner();
        if req.ids.len() > MAX_BATCH {
            return Err(VolunteersError::from(DomainError::invalid(
                "ids",
                format!("at most {MAX_BATCH} per call"),
            ))
            .into());
        }
        let ids = req
            .ids
            .iter()
            .map(|id| parse_id(id, "ids"))
            .collect::<Result<Vec<_>, _>>()?;
        let views = self.0.volunteers_by_id(&caller, &ids).await?;
        Ok(Response::new(pb::BatchGetVolunteersResponse {
            volunteers: views.into_iter().map(to_proto).collect(),
        }))
    }

    #[tracing::instrument(skip_all)]
    async fn get_volunteer_by_subject(
        &self,
        request: Request<pb::GetVolunteerBySubjectRequest>,
    ) -> Result<Response<pb::Volunteer>, Status> {
        let actor = tongxin_platform::grpc::require_principal(&request)?;
        let subject = request.into_inner().subject;
        // Which record an account is linked to is the account's own business: another
        // service asks on behalf of the signed-in person, never to enumerate accounts.
        if actor.subject != subject && !actor.has_role(Role::Admin) {
            return Err(VolunteersError::Forbidden(
                "only the account itself may look up its volunteer record".to_owned(),
            )
            .into());
        }
        let caller = self.0.caller(Some(&actor)).await?;
        let view = self.0.my_record(&caller).await?.ok_or_else(|| {
            VolunteersError::NotFound("this account has no volunteer record".to_owned())
        })?;
        Ok(Response::new(to_proto(view)))
    }

    #[tracing::instrument(skip_all, fields(team_id = %request.get_ref().id))]
    async fn get_team(
        &self,
        request: Request<pb::GetTeamRequest>,
    ) -> Result<Response<pb::Team>, Status> {
        let id = Uuid::parse_str(&request.get_ref().id).map_err(|_| {
            Status::from(VolunteersError::from(DomainError::invalid(
                "id",
                "not a team id",
            )))
        })?;
        let team = self
            .0
            .team(id)
            .await?
            .ok_or_else(|| VolunteersError::NotFound(format!("team {id} does not exist")))?;
        Ok(Response::new(pb::Team {
            id: team.id.to_string(),
            name: team.name,
            level: TeamLevel::from(team.level).as_str().to_owned(),
            unit_id: team.unit_id.to_string(),
            unit_path: team.unit_path,
            parent_id: team.parent_id.map(|p| p.to_string()),
        }))
    }

    #[tracing::instrument(skip_all, fields(count = request.get_ref().count))]
    async fn match_candidates(
        &self,
        request: Request<pb::MatchCandidatesRequest>,
    ) -> Result<Response<pb::MatchCandidatesResponse>, Status> {
        let actor = tongxin_platform::grpc::require_principal(&request)?;
        let req = request.into_inner();
        let query = crate::grpc::matching::query(req)?;
        let found = self.0.match_candidates(&actor, query).await?;
        Ok(Response::new(pb::MatchCandidatesResponse {
            candidates: found
                .into_iter()
                .map(crate::grpc::matching::candidate)
                .collect(),
        }))
    }

    #[tracing::instrument(skip_all, fields(invite_id = %request.get_ref().invite_id))]
    async fn get_invite_delivery(
        &self,
        request: Request<pb::GetInviteDeliveryRequest>,
    ) -> Result<Response<pb::InviteDelivery>, Status> {
        let actor = tongxin_platform::grpc::require_principal(&request)?;
        let id = Uuid::parse_str(&request.get_ref().invite_id).map_err(|_| {
            Status::from(VolunteersError::from(DomainError::invalid(
                "invite_id",
                "not an invite id",
            )))
        })?;
        let delivery = self.0.invite_delivery(&actor, id).await?;
        Ok(Response::new(pb::InviteDelivery {
            invite_id: delivery.invite_id.to_string(),
            volunteer_id: delivery.volunteer_id.0.to_string(),
            phone: delivery.phone,
            expires_at: delivery
                .expires_at
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        }))
    }

    #[tracing::instrument(skip_all, fields(units = request.get_ref().unit_paths.len()))]
    async fn unit_hours(
        &self,
        request: Request<pb::UnitHoursRequest>,
    ) -> Result<Response<pb::UnitHoursResponse>, Status> {
        let actor = tongxin_platform::grpc::require_principal(&request)?;
        let req = request.into_inner();
        let date = |text: &str, field: &'static str| {
            chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| {
                Status::from(VolunteersError::from(DomainError::invalid(
                    field,
                    "must be a date like 2026-01-31",
                )))
            })
        };
        let from = date(&req.from_date, "from_date")?;
        let to = date(&req.to_date, "to_date")?;
        let hours = self.0.unit_hours(&actor, &req.unit_paths, from, to).await?;
        Ok(Response::new(pb::UnitHoursResponse { hours }))
    }

    #[tracing::instrument(skip_all, fields(volunteer_id = %request.get_ref().volunteer_id))]
    async fn record_hours(
        &self,
        request: Request<pb::RecordHoursRequest>,
    ) -> Result<Response<pb::HoursEntry>, Status> {
        let actor = principal(&request)
            .cloned()
            .ok_or_else(|| Status::from(VolunteersError::Unauthenticated))?;
        let req = request.into_inner();
        let row = self
            .0
            .record_hours(&actor, crate::grpc::ledger::new_hours(req)?)
            .await?;
        Ok(Response::new(crate::grpc::ledger::entry_to_proto(row)))
    }
}
