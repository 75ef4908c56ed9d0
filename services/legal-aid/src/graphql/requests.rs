//! Consultation requests in GraphQL: `consultationRequests(stationId)`, the orders of a legal
//! category dispatched to a station that are still open (waiting for a booking, or booked).

use async_graphql::connection::{Connection, EmptyFields, OpaqueCursor};
use async_graphql::{Context, Enum, ID, Object};
use chrono::{DateTime, Utc};

use super::station::LegalServiceGql;
use super::{Order, caller, page_of, uuid_of};
use crate::domain::StationId;
use crate::service::requests::{self, ConsultationRequest};

/// Where a consultation request stands.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum ConsultationRequestStatus {
    /// Waiting for its citizen to book a slot.
    Requested,
    /// A slot is booked for it.
    Booked,
    /// The visit's outcome was logged (the order is completed).
    Done,
    /// The citizen withdrew the order.
    Cancelled,
}

/// An order of a legal category (法律咨询, 劳动纠纷调解) that staff dispatched to this station:
/// its citizen books a slot for it with `bookAppointment(input.orderId)`.
pub struct ConsultationRequestNode(pub ConsultationRequest);

/// An order of a legal category (法律咨询, 劳动纠纷调解) that staff dispatched to this station:
/// its citizen books a slot for it with `bookAppointment(input.orderId)`.
#[Object(name = "ConsultationRequest")]
impl ConsultationRequestNode {
    /// The order (owned by the orders subgraph).
    async fn order(&self) -> Order {
        Order {
            id: ID(self.0.order.to_string()),
        }
    }
    /// The order's public number.
    async fn order_no(&self) -> &str {
        &self.0.order_no
    }
    /// The station it was dispatched to.
    async fn station_id(&self) -> ID {
        ID(self.0.station.to_string())
    }
    /// The legal service it asks for.
    async fn service(&self) -> LegalServiceGql {
        self.0.service.into()
    }
    /// The order's menu category code.
    async fn category_code(&self) -> &str {
        &self.0.category
    }
    /// Where it stands.
    async fn status(&self) -> ConsultationRequestStatus {
        match self.0.status.as_str() {
            requests::BOOKED => ConsultationRequestStatus::Booked,
            requests::DONE => ConsultationRequestStatus::Done,
            requests::CANCELLED => ConsultationRequestStatus::Cancelled,
            _ => ConsultationRequestStatus::Requested,
        }
    }
    /// The appointment booked for it; null until booked.
    async fn appointment_id(&self) -> Option<ID> {
        self.0.appointment.map(|a| ID(a.to_string()))
    }
    /// When it arrived at the station.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// Consultation request queries.
#[derive(Default)]
pub struct RequestQuery;

#[Object]
impl RequestQuery {
    /// A station's open consultation requests (waiting for a booking, or booked), oldest
    /// first: staff whose scope covers the station, or its providers.
    async fn consultation_requests(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The station id.")] station_id: ID,
        #[graphql(desc = "Page size, 1 to 100 (default 50).")] first: Option<i32>,
        #[graphql(desc = "The cursor of the last request already seen.")] after: Option<String>,
    ) -> async_graphql::Result<
        Connection<OpaqueCursor<usize>, ConsultationRequestNode, EmptyFields, EmptyFields>,
    > {
        let (legal_aid, caller) = caller(ctx).await?;
        let station = StationId(uuid_of(&station_id, "stationId")?);
        let list = legal_aid.consultation_requests(&caller, station).await?;
        page_of(list, after, first, ConsultationRequestNode)
    }
}
