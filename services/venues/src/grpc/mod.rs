//! The venues gRPC server: translate, call [`Venues`], translate back.

pub mod proto;
pub mod rhythm;

use tongxin_platform::grpc::require_principal;
use tongxin_proto::venues as pb;
use tongxin_proto::venues::org_service_server::{OrgService, OrgServiceServer};
use tonic::{Request, Response, Status};

use crate::domain::DomainError;
use crate::domain::org::OrgUnitId;
use crate::events::{kind_from_proto, to_proto};
use crate::service::{NewUnit, Venues};

/// `tongxin.venues.v1.OrgService`.
pub struct OrgGrpc(pub Venues);

/// The tonic service, ready to add to routes.
pub fn org_service(venues: Venues) -> OrgServiceServer<OrgGrpc> {
    OrgServiceServer::new(OrgGrpc(venues))
}

/// The fully-qualified names for the health service.
pub const SERVICE_NAMES: &[&str] = &[
    "tongxin.venues.v1.OrgService",
    "tongxin.venues.v1.VenueService",
    "tongxin.venues.v1.RhythmService",
];

fn invalid(field: &str, message: &str) -> Status {
    crate::error::VenuesError::from(DomainError::invalid(field, message)).into()
}

#[tonic::async_trait]
impl OrgService for OrgGrpc {
    #[tracing::instrument(skip_all)]
    async fn create_unit(
        &self,
        request: Request<pb::CreateUnitRequest>,
    ) -> Result<Response<pb::OrgUnit>, Status> {
        let actor = require_principal(&request)?;
        let req = request.into_inner();
        let kind = kind_from_proto(req.kind)
            .ok_or_else(|| invalid("kind", "must be a known unit kind"))?;
        let location = req
            .location
            .ok_or_else(|| invalid("location", "is required"))?;
        let unit = self
            .0
            .create_unit(
                &actor,
                NewUnit {
                    kind,
                    name: req.name,
                    code: req.code,
                    parent_id: req.parent_id.filter(|p| !p.is_empty()),
                    lat: location.lat,
                    lon: location.lon,
                },
            )
            .await?;
        Ok(Response::new(to_proto(&unit)))
    }

    #[tracing::instrument(skip_all, fields(id = %request.get_ref().id))]
    async fn get_unit(
        &self,
        request: Request<pb::GetUnitRequest>,
    ) -> Result<Response<pb::OrgUnit>, Status> {
        let id = OrgUnitId::parse(&request.get_ref().id, "id")
            .map_err(crate::error::VenuesError::from)?;
        let unit = self.0.existing_unit(id).await?;
        Ok(Response::new(to_proto(&unit)))
    }

    #[tracing::instrument(skip_all, fields(id = %request.get_ref().id))]
    async fn ancestors(
        &self,
        request: Request<pb::AncestorsRequest>,
    ) -> Result<Response<pb::AncestorsResponse>, Status> {
        let id = OrgUnitId::parse(&request.get_ref().id, "id")
            .map_err(crate::error::VenuesError::from)?;
        let chain = self.0.ancestors(id).await?;
        Ok(Response::new(pb::AncestorsResponse {
            units: chain.iter().map(to_proto).collect(),
        }))
    }

    #[tracing::instrument(skip_all)]
    async fn covering_courtyard(
        &self,
        request: Request<pb::CoveringCourtyardRequest>,
    ) -> Result<Response<pb::CoveringCourtyardResponse>, Status> {
        let req = request.into_inner();
        let location = req
            .location
            .ok_or_else(|| invalid("location", "is required"))?;
        let point = tongxin_platform::geo::Coordinates::parse(location.lat, location.lon)
            .map_err(|e| crate::error::VenuesError::from(DomainError::from(e)))?;
        let minutes = (req.minutes != 0.0).then_some(req.minutes);
        let found = self.0.circle().covering_courtyard(point, minutes).await?;
        Ok(Response::new(match found {
            Some(reached) => pb::CoveringCourtyardResponse {
                found: true,
                courtyard: Some(to_proto(reached.place.unit())),
                walking_minutes: reached.minutes,
                distance_m: reached.distance_m,
            },
            None => pb::CoveringCourtyardResponse::default(),
        }))
    }

    #[tracing::instrument(skip_all, fields(parent_id = %request.get_ref().parent_id))]
    async fn list_children(
        &self,
        request: Request<pb::ListChildrenRequest>,
    ) -> Result<Response<pb::ListChildrenResponse>, Status> {
        let req = request.into_inner();
        let parent = OrgUnitId::parse(&req.parent_id, "parent_id")
            .map_err(crate::error::VenuesError::from)?;
        // Distinguish "no such parent" from "no children".
        self.0.existing_unit(parent).await?;
        let after = (!req.page_token.is_empty()).then_some(req.page_token.as_str());
        let first = (req.page_size > 0).then_some(u64::from(req.page_size));
        let (units, more) = self.0.children(parent, after, first).await?;
        let next_page_token = if more {
            units.last().map(|u| u.path.clone()).unwrap_or_default()
        } else {
            String::new()
        };
        Ok(Response::new(pb::ListChildrenResponse {
            units: units.iter().map(to_proto).collect(),
            next_page_token,
        }))
    }
}

/// `tongxin.venues.v1.VenueService`.
pub struct VenueGrpc(pub Venues);

/// The tonic venue service, ready to add to routes.
pub fn venue_service(
    venues: Venues,
) -> tongxin_proto::venues::venue_service_server::VenueServiceServer<VenueGrpc> {
    tongxin_proto::venues::venue_service_server::VenueServiceServer::new(VenueGrpc(venues))
}

/// The most ids one `BatchGetVenues` call may ask for.
pub const MAX_BATCH: usize = 1000;

#[tonic::async_trait]
impl tongxin_proto::venues::venue_service_server::VenueService for VenueGrpc {
    #[tracing::instrument(skip_all, fields(ids = request.get_ref().ids.len()))]
    async fn batch_get_venues(
        &self,
        request: Request<pb::BatchGetVenuesRequest>,
    ) -> Result<Response<pb::BatchGetVenuesResponse>, Status> {
        use crate::domain::venue::VenueId;
        let ids = request.into_inner().ids;
        if ids.len() > MAX_BATCH {
            return Err(invalid("ids", &format!("at most {MAX_BATCH} ids")));
        }
        let ids: Vec<VenueId> = ids
            .iter()
            .enumerate()
            .map(|(i, id)| VenueId::parse(id, &format!("ids[{i}]")))
            .collect::<Result<_, _>>()
            .map_err(crate::error::VenuesError::from)?;
        let found = self.0.venues_by_ids(&ids).await?;
        let present: std::collections::HashSet<VenueId> = found.iter().map(|v| v.id).collect();
        let mut missing_ids: Vec<String> = Vec::new();
        for id in &ids {
            let text = id.to_string();
            if !present.contains(id) && !missing_ids.contains(&text) {
                missing_ids.push(text);
            }
        }
        Ok(Response::new(pb::BatchGetVenuesResponse {
            venues: found
                .iter()
                .map(crate::grpc::proto::venue_to_proto)
                .collect(),
            missing_ids,
        }))
    }

    #[tracing::instrument(skip_all, fields(id = %request.get_ref().id))]
    async fn get_activity(
        &self,
        request: Request<pb::GetActivityRequest>,
    ) -> Result<Response<pb::Activity>, Status> {
        use crate::domain::activity::ActivityId;
        let id = ActivityId::parse(&request.get_ref().id, "id")
            .map_err(crate::error::VenuesError::from)?;
        let activity = self.0.activity(id).await?.ok_or_else(|| {
            crate::error::VenuesError::NotFound(format!("activity {id} does not exist"))
        })?;
        let served = self
            .0
            .served_at(&[id])
            .await?
            .remove(&id)
            .unwrap_or_default();
        Ok(Response::new(crate::grpc::proto::activity_to_proto(
            &activity, &served,
        )))
    }
}
