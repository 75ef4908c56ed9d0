//! What the orders service publishes (`tongxin.orders.order_*`, body `OrderChanged`, no
//! personal data) and what it consumes (the venues unit events, to know unit paths, through
//! the platform's known-units consumer).

use prost::Message;
use tongxin_proto::events as pb;

use crate::domain::machine::ChainUnit;
use crate::domain::{Level, OrderState};
use crate::store::orders::Model;

/// CloudEvents source of everything orders publishes.
pub const SOURCE: &str = "tongxin/orders";

/// The subject of a move or notice: `tongxin.orders.order_<event>`.
pub fn subject(event: &str) -> String {
    format!("tongxin.orders.order_{event}")
}

/// The proto state.
pub fn state_pb(state: OrderState) -> pb::OrderState {
    match state {
        OrderState::Placed => pb::OrderState::Placed,
        OrderState::Received => pb::OrderState::Received,
        OrderState::Escalated => pb::OrderState::Escalated,
        OrderState::Dispatched => pb::OrderState::Dispatched,
        OrderState::Accepted => pb::OrderState::Accepted,
        OrderState::InProgress => pb::OrderState::InProgress,
        OrderState::Completed => pb::OrderState::Completed,
        OrderState::Rated => pb::OrderState::Rated,
        OrderState::Cancelled => pb::OrderState::Cancelled,
    }
}

/// The proto state back to ours.
pub fn state_from_pb(state: pb::OrderState) -> Option<OrderState> {
    OrderState::ALL.into_iter().find(|s| state_pb(*s) == state)
}

/// The proto level.
pub fn level_pb(level: Level) -> pb::OrderLevel {
    match level {
        Level::Courtyard => pb::OrderLevel::Courtyard,
        Level::Station => pb::OrderLevel::Station,
        Level::Institute => pb::OrderLevel::Institute,
        Level::Center => pb::OrderLevel::Center,
    }
}

/// Hours as stored.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct StoredHours {
    /// Volunteer id.
    pub volunteer_id: uuid::Uuid,
    /// Hours.
    pub hours: f64,
}

/// The body of every `tongxin.orders.order_*` event: the order after the move.
pub fn order_changed(
    row: &Model,
    previous: Option<OrderState>,
    actor: &str,
    note: &str,
) -> Vec<u8> {
    let state = OrderState::parse(&row.state).unwrap_or(OrderState::Placed);
    let level = Level::parse(&row.holding_level).unwrap_or(Level::Center);
    let ids = |text: &str| serde_json::from_str::<Vec<uuid::Uuid>>(text).unwrap_or_default();
    let mut volunteers = ids(&row.accepted);
    if volunteers.is_empty() {
        volunteers = ids(&row.dispatched);
    }
    let hours = serde_json::from_str::<Vec<StoredHours>>(&row.hours).unwrap_or_default();
    pb::OrderChanged {
        order_id: row.id.to_string(),
        order_no: row.order_no.clone(),
        state: state_pb(state) as i32,
        previous_state: previous.map(|p| state_pb(p) as i32).unwrap_or_default(),
        category_code: row.category_code.clone(),
        holding_unit_id: row.holding_unit_id.to_string(),
        holding_unit_path: row.holding_unit_path.clone(),
        holding_level: level_pb(level) as i32,
        courtyard_id: row.courtyard_id.map(|c| c.to_string()).unwrap_or_default(),
        district: row.district.clone(),
        volunteer_ids: volunteers.iter().map(ToString::to_string).collect(),
        team_id: row.team_id.map(|t| t.to_string()),
        hours: hours
            .iter()
            .map(|h| pb::VolunteerHours {
                volunteer_id: h.volunteer_id.to_string(),
                hours: h.hours,
            })
            .collect(),
        rating: row.rating.map(|r| r as u32),
        actor: actor.to_owned(),
        note: note.to_owned(),
        occurred_at_ms: row.updated_at.timestamp_millis(),
        placed_at_ms: row.placed_at.timestamp_millis(),
        deadline_at_ms: row.deadline_at.map(|d| d.timestamp_millis()),
    }
    .encode_to_vec()
}

/// The durable consumer that keeps `known_units` current from the venues org-tree events
/// (the platform's [`KnownUnitsConsumer`](tongxin_platform::org::consumer::KnownUnitsConsumer);
/// orders adds no steps of its own: orders keep the paths they were routed with).
pub const UNITS_CONSUMER: &str = "orders-known-units";
/// What it listens to.
pub const UNITS_FILTER: &str = tongxin_platform::org::consumer::UNIT_EVENTS;

/// The chain as stored.
pub fn chain_of(row: &Model) -> Vec<ChainUnit> {
    serde_json::from_str(&row.chain).unwrap_or_default()
}
