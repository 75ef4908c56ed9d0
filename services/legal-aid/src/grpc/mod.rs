//! The legal-aid gRPC server (`tongxin.legalaid.v1.LegalAidService`): translate, call
//! [`LegalAid`], translate back. Every call needs a verified credential (the platform's
//! layer puts the principal into the request).

use chrono::{DateTime, Utc};
use tongxin_platform::grpc::require_principal;
use tongxin_proto::legalaid as pb;
use tongxin_proto::legalaid::legal_aid_service_server::{LegalAidService, LegalAidServiceServer};
use tonic::{Request, Response, Status};

use crate::domain::appointment::Station;
use crate::domain::{AppointmentId, DomainError, StationId};
use crate::error::LegalAidError;
use crate::events::{service_from_pb, service_pb, status_pb};
use crate::service::LegalAid;

/// `tongxin.legalaid.v1.LegalAidService`.
pub struct LegalAidGrpc(pub LegalAid);

/// The tonic service, ready to add to routes.
pub fn legal_aid_service(legal_aid: LegalAid) -> LegalAidServiceServer<LegalAidGrpc> {
    LegalAidServiceServer::new(LegalAidGrpc(legal_aid))
}

/// The fully-qualified names for the health service.
pub const SERVICE_NAMES: &[&str] = &["tongxin.legalaid.v1.LegalAidService"];

fn invalid(field: &'static str, message: &str) -> Status {
    LegalAidError::from(DomainError::invalid(field, message)).into()
}

fn instant(ms: i64, field: &'static str) -> Result<DateTime<Utc>, Status> {
    DateTime::from_timestamp_millis(ms).ok_or_else(|| invalid(field, "not a time"))
}

/// The proto form of a station.
pub fn station_pb(s: &Station) -> pb::Station {
    pb::Station {
        id: s.id.to_string(),
        org_unit_id: s.unit.to_string(),
        org_unit_path: s.unit_path.clone(),
        venue_id: s.venue.map(|v| v.to_string()),
        name: s.name.clone(),
        address: s.address.clone(),
        opening_hours: s.opening_hours.clone(),
        contact: s.contact.clone(),
        services: s.services.iter().map(|x| service_pb(*x) as i32).collect(),
    }
}

#[tonic::async_trait]
impl LegalAidService for LegalAidGrpc {
    #[tracing::instrument(skip_all, fields(id = %request.get_ref().id))]
    async fn get_station(
        &self,
        request: Request<pb::GetStationRequest>,
    ) -> Result<Response<pb::Station>, Status> {
        require_principal(&request)?;
        let id = StationId::parse(&request.get_ref().id, "id").map_err(LegalAidError::from)?;
        let station = self.0.station(id).await?;
        Ok(Response::new(station_pb(&station)))
    }

    #[tracing::instrument(skip_all, fields(station = %request.get_ref().station_id))]
    async fn available_slots(
        &self,
        request: Request<pb::AvailableSlotsRequest>,
    ) -> Result<Response<pb::AvailableSlotsResponse>, Status> {
        require_principal(&request)?;
        let req = request.into_inner();
        let station =
            StationId::parse(&req.station_id, "station_id").map_err(LegalAidError::from)?;
        let service =
            service_from_pb(req.service).ok_or_else(|| invalid("service", "a known service"))?;
        let slots = self
            .0
            .available_slots(
                station,
                service,
                instant(req.from_ms, "from_ms")?,
                instant(req.to_ms, "to_ms")?,
            )
            .await?;
        Ok(Response::new(pb::AvailableSlotsResponse {
            slots: slots
                .into_iter()
                .map(|s| pb::Slot {
                    starts_at_ms: s.starts_at.timestamp_millis(),
                    ends_at_ms: s.ends_at.timestamp_millis(),
                    provider_ids: s.free.iter().map(ToString::to_string).collect(),
                })
                .collect(),
        }))
    }

    #[tracing::instrument(skip_all, fields(id = %request.get_ref().id))]
    async fn get_appointment(
        &self,
        request: Request<pb::GetAppointmentRequest>,
    ) -> Result<Response<pb::Appointment>, Status> {
        let principal = require_principal(&request)?;
        let id = AppointmentId::parse(&request.get_ref().id, "id").map_err(LegalAidError::from)?;
        let caller = self.0.caller(Some(&principal)).await?;
        let a = self.0.appointment(&caller, id).await?.appointment;
        Ok(Response::new(pb::Appointment {
            id: a.id.to_string(),
            station_id: a.station.to_string(),
            provider_id: a.provider.map(|p| p.to_string()),
            service: service_pb(a.service) as i32,
            starts_at_ms: a.starts_at.timestamp_millis(),
            ends_at_ms: a.ends_at.timestamp_millis(),
            status: status_pb(a.status) as i32,
            order_id: a.order.map(|o| o.to_string()),
            walk_in: a.walk_in,
        }))
    }
}
