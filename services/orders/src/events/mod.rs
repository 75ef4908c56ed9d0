//! What the orders service publishes (`tongxin.orders.order_*`, body `OrderChanged`, no
//! personal data) and what it consumes (the venues unit events, to know unit paths, through
//! the platform's known-units consumer).

pub mod consumers;
pub mod forget;

use chrono::{DateTime, Utc};
use prost::Message;
use tongxin_proto::events as pb;

use crate::domain::intake::Channel;
use crate::domain::order::Order;
use crate::domain::{Level, OrderState};

/// CloudEvents source of everything orders publishes.
pub const SOURCE: &str = "tongxin/orders";

/// The subject of a published quarterly evaluation (`EvaluationPublished`).
pub const EVALUATION_PUBLISHED: &str = "tongxin.orders.evaluation_published";

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

/// The proto channel.
pub fn channel_pb(channel: Channel) -> pb::OrderChannel {
    match channel {
        Channel::Visit => pb::OrderChannel::Visit,
        Channel::Briefing => pb::OrderChannel::Briefing,
        Channel::Phone => pb::OrderChannel::Phone,
        Channel::MiniProgram => pb::OrderChannel::MiniProgram,
    }
}

/// The subject of the reply owed to a resident (see [`reply_due`]).
pub const REPLY_DUE: &str = "tongxin.orders.reply_due";

/// The body of `tongxin.orders.reply_due`: an order filed on behalf of a resident was
/// completed at `at`. Ids only: no phone, no name, no outcome text (a department reads those
/// over gRPC, `GetResidentReply`, with its own credential).
pub fn reply_due(order: &Order, at: DateTime<Utc>) -> Vec<u8> {
    let holding = order.holding_unit();
    pb::ReplyDue {
        order_id: order.id.to_string(),
        order_no: order.number.clone(),
        channel: channel_pb(order.intake.channel) as i32,
        unit_id: holding.id.to_string(),
        unit_path: holding.path.clone(),
        district: order.district.clone(),
        visit_id: order.intake.source.visit().map(|v| v.to_string()),
        activity_id: order.intake.source.activity().map(|a| a.to_string()),
        completed_at_ms: at.timestamp_millis(),
        version: order.version,
    }
    .encode_to_vec()
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

/// Whether a timeline event is an arrival at the unit holding the order after it (placed
/// there, escalated there): those get a place among the unit's arrivals.
pub fn is_arrival(event: &str) -> bool {
    matches!(event, "placed" | "escalated")
}

/// Whether a timeline event is a notice (it changes nothing, not even the version).
pub fn is_notice(event: &str) -> bool {
    matches!(event, "reminder" | "overdue_alert")
}

/// The body of every `tongxin.orders.order_*` event: the order after the move made `at`,
/// with the move's place among the holding unit's arrivals if it is one.
pub fn order_changed(
    order: &Order,
    previous: Option<OrderState>,
    actor: &str,
    note: &str,
    at: DateTime<Utc>,
    arrival: Option<i64>,
) -> Vec<u8> {
    order_changed_pb(order, previous, actor, note, at, arrival).encode_to_vec()
}

/// [`order_changed`] before encoding (a move that adds a field of its own).
pub fn order_changed_pb(
    order: &Order,
    previous: Option<OrderState>,
    actor: &str,
    note: &str,
    at: DateTime<Utc>,
    arrival: Option<i64>,
) -> pb::OrderChanged {
    let holding = order.holding_unit();
    pb::OrderChanged {
        order_id: order.id.to_string(),
        order_no: order.number.clone(),
        state: state_pb(order.state) as i32,
        previous_state: previous.map(|p| state_pb(p) as i32).unwrap_or_default(),
        category_code: order.category.clone(),
        holding_unit_id: holding.id.to_string(),
        holding_unit_path: holding.path.clone(),
        holding_level: level_pb(holding.level) as i32,
        courtyard_id: order.courtyard.map(|c| c.to_string()).unwrap_or_default(),
        district: order.district.clone(),
        volunteer_ids: order.volunteers().iter().map(ToString::to_string).collect(),
        team_id: order.team.map(|t| t.0.to_string()),
        hours: order
            .hours
            .iter()
            .map(|h| pb::VolunteerHours {
                volunteer_id: h.volunteer.to_string(),
                hours: h.hours.get(),
            })
            .collect(),
        rating: order.rating.map(|r| u32::from(r.get())),
        actor: actor.to_owned(),
        note: note.to_owned(),
        occurred_at_ms: at.timestamp_millis(),
        placed_at_ms: order.placed_at.timestamp_millis(),
        deadline_at_ms: order.deadline.map(|d| d.at.timestamp_millis()),
        version: order.version,
        arrival,
        legal_aid_station_id: order.legal_aid_station.map(|s| s.to_string()),
        citizen: order.legal_aid_station.map(|_| order.citizen.clone()),
        legal_service: None,
        channel: channel_pb(order.intake.channel) as i32,
    }
}

/// The durable consumer that keeps `known_units` current from the venues org-tree events
/// (the platform's [`KnownUnitsConsumer`](tongxin_platform::org::consumer::KnownUnitsConsumer);
/// orders adds no steps of its own: orders keep the paths they were routed with).
pub const UNITS_CONSUMER: &str = "orders-known-units";
/// What it listens to.
pub const UNITS_FILTER: &str = tongxin_platform::org::consumer::UNIT_EVENTS;

#[cfg(test)]
mod tests {
    /// Every move and notice orders publishes is in the catalog, typed `OrderChanged`.
    #[test]
    fn every_subject_is_in_the_event_catalog() {
        let events = [
            "placed",
            "received",
            "escalated",
            "dispatched",
            "accepted",
            "declined",
            "started",
            "completed",
            "rated",
            "cancelled",
            "reminder",
            "overdue_alert",
        ];
        for event in events {
            let subject = super::subject(event);
            assert_eq!(
                tongxin_proto::catalog::by_subject(&subject).map(|e| e.message),
                Some("tongxin.events.v1.OrderChanged"),
                "{subject}"
            );
        }
        assert_eq!(
            tongxin_proto::catalog::by_subject(super::REPLY_DUE).map(|e| e.message),
            Some("tongxin.events.v1.ReplyDue")
        );
    }
}
