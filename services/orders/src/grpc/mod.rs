//! The orders gRPC server: translate, call [`Orders`], translate back.

pub mod clients;
pub mod evaluation_sources;

use tongxin_platform::grpc::require_principal;
use tongxin_proto::orders as pb;
use tongxin_proto::orders::order_service_server::{OrderService, OrderServiceServer};
use tonic::{Request, Response, Status};
use uuid::Uuid;

use crate::domain::{DomainError, OrderId};
use crate::error::OrdersError;
use crate::events::{channel_pb, level_pb, state_from_pb, state_pb};
use crate::service::{OrderFilter, OrderView, Orders};

/// `tongxin.orders.v1.OrderService`.
pub struct OrderGrpc(pub Orders);

/// The tonic service.
pub fn order_service(orders: Orders) -> OrderServiceServer<OrderGrpc> {
    OrderServiceServer::new(OrderGrpc(orders))
}

/// The fully-qualified names for the health service.
pub const SERVICE_NAMES: &[&str] = &["tongxin.orders.v1.OrderService"];

fn to_proto(view: &OrderView) -> pb::Order {
    let order = &view.order;
    let holding = order.holding_unit();
    pb::Order {
        id: order.id.to_string(),
        order_no: order.number.clone(),
        state: state_pb(order.state) as i32,
        category_code: order.category.clone(),
        description: order.description.clone(),
        holding_unit_id: holding.id.to_string(),
        holding_unit_path: holding.path.clone(),
        holding_level: level_pb(holding.level) as i32,
        courtyard_id: order.courtyard.map(|c| c.to_string()).unwrap_or_default(),
        district: order.district.clone(),
        lat: order.location.lat(),
        lon: order.location.lon(),
        phone: view.phone.clone(),
        phone_masked: view.phone_masked,
        volunteer_ids: order.volunteers().iter().map(ToString::to_string).collect(),
        team_id: order.team.map(|t| t.0.to_string()),
        rating: order.rating.map(|r| u32::from(r.get())),
        placed_at_ms: order.placed_at.timestamp_millis(),
        deadline_at_ms: order.deadline.map(|d| d.at.timestamp_millis()),
        routing_note: order.routing_note.clone(),
        likely_duplicate: order.duplicate_of.is_some(),
        version: order.version,
        channel: channel_pb(order.intake.channel) as i32,
        source_visit_id: order.intake.source.visit().map(|v| v.to_string()),
        source_activity_id: order.intake.source.activity().map(|a| a.to_string()),
        outcome: order.outcome.clone(),
    }
}

fn invalid(field: &'static str, message: &str) -> Status {
    OrdersError::from(DomainError::invalid(field, message)).into()
}

#[tonic::async_trait]
impl OrderService for OrderGrpc {
    #[tracing::instrument(skip_all, fields(id = %request.get_ref().id))]
    async fn get_order(
        &self,
        request: Request<pb::GetOrderRequest>,
    ) -> Result<Response<pb::Order>, Status> {
        let principal = require_principal(&request)?;
        let id = OrderId::parse(&request.get_ref().id, "id").map_err(OrdersError::from)?;
        let caller = self.0.caller(Some(&principal)).await?;
        let view = self.0.order(&caller, id).await?;
        Ok(Response::new(to_proto(&view)))
    }

    #[tracing::instrument(skip_all, fields(order_id = %request.get_ref().order_id))]
    async fn get_resident_reply(
        &self,
        request: Request<pb::GetResidentReplyRequest>,
    ) -> Result<Response<pb::ResidentReply>, Status> {
        let principal = require_principal(&request)?;
        let id =
            OrderId::parse(&request.get_ref().order_id, "order_id").map_err(OrdersError::from)?;
        let caller = self.0.caller(Some(&principal)).await?;
        let reply = self.0.resident_reply(&caller, id).await?;
        let order = &reply.order;
        Ok(Response::new(pb::ResidentReply {
            order_id: order.id.to_string(),
            order_no: order.number.clone(),
            channel: channel_pb(order.intake.channel) as i32,
            phone: reply.phone,
            resident_name: reply.name,
            outcome: order.outcome.clone().unwrap_or_default(),
            completed_at_ms: order.updated_at.timestamp_millis(),
        }))
    }

    #[tracing::instrument(skip_all, fields(unit_id = %request.get_ref().unit_id))]
    async fn list_orders(
        &self,
        request: Request<pb::ListOrdersRequest>,
    ) -> Result<Response<pb::ListOrdersResponse>, Status> {
        let principal = require_principal(&request)?;
        let req = request.into_inner();
        let unit =
            Uuid::parse_str(&req.unit_id).map_err(|_| invalid("unit_id", "not a unit id"))?;
        let states = req
            .states
            .iter()
            .map(|s| {
                tongxin_proto::events::OrderState::try_from(*s)
                    .ok()
                    .and_then(state_from_pb)
                    .ok_or_else(|| invalid("states", "unknown state"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let after = match req.page_token.as_str() {
            "" => None,
            t => Some(Uuid::parse_str(t).map_err(|_| invalid("page_token", "not a page token"))?),
        };
        let filter = OrderFilter {
            states,
            category: Some(req.category_code).filter(|c| !c.is_empty()),
            ..Default::default()
        };
        let caller = self.0.caller(Some(&principal)).await?;
        let first = (req.page_size > 0).then_some(u64::from(req.page_size));
        let (views, more) = self
            .0
            .unit_orders(&caller, unit, &filter, after, first)
            .await?;
        let next_page_token = if more {
            views
                .last()
                .map(|v| v.order.id.to_string())
                .unwrap_or_default()
        } else {
            String::new()
        };
        Ok(Response::new(pb::ListOrdersResponse {
            orders: views.iter().map(to_proto).collect(),
            next_page_token,
        }))
    }
}
