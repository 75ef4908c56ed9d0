//! The orders gRPC server: translate, call [`Orders`], translate back.

pub mod clients;

use tongxin_platform::grpc::require_principal;
use tongxin_proto::orders as pb;
use tongxin_proto::orders::order_service_server::{OrderService, OrderServiceServer};
use tonic::{Request, Response, Status};
use uuid::Uuid;

use crate::domain::{DomainError, Level, OrderId, OrderState};
use crate::error::OrdersError;
use crate::events::{level_pb, state_from_pb, state_pb};
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
    let row = &view.row;
    let state = OrderState::parse(&row.state).unwrap_or(OrderState::Placed);
    let level = Level::parse(&row.holding_level).unwrap_or(Level::Center);
    let mut volunteers: Vec<Uuid> = serde_json::from_str(&row.accepted).unwrap_or_default();
    if volunteers.is_empty() {
        volunteers = serde_json::from_str(&row.dispatched).unwrap_or_default();
    }
    pb::Order {
        id: row.id.to_string(),
        order_no: row.order_no.clone(),
        state: state_pb(state) as i32,
        category_code: row.category_code.clone(),
        description: row.description.clone(),
        holding_unit_id: row.holding_unit_id.to_string(),
        holding_unit_path: row.holding_unit_path.clone(),
        holding_level: level_pb(level) as i32,
        courtyard_id: row.courtyard_id.map(|c| c.to_string()).unwrap_or_default(),
        district: row.district.clone(),
        lat: row.lat,
        lon: row.lon,
        phone: view.phone.clone(),
        phone_masked: view.phone_masked,
        volunteer_ids: volunteers.iter().map(ToString::to_string).collect(),
        team_id: row.team_id.map(|t| t.to_string()),
        rating: row.rating.map(|r| r as u32),
        placed_at_ms: row.placed_at.timestamp_millis(),
        deadline_at_ms: row.deadline_at.map(|d| d.timestamp_millis()),
        routing_note: row.routing_note.clone(),
        likely_duplicate: row.duplicate_of.is_some(),
        version: row.version,
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
                .map(|v| v.row.id.to_string())
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
