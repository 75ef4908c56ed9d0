//! Live progress, fed from the order events on the bus (NATS in production, the in-process
//! bus under `tongxin run`): `orderProgress(orderId)` for the citizen and staff who may see
//! the order, `unitInbox(unitId)` for staff (orders placed at or escalated to their unit).

use async_graphql::{Context, ID, SimpleObject, Subscription as SubscriptionDerive};
use chrono::{DateTime, TimeZone, Utc};
use futures::{Stream, StreamExt};
use prost::Message;
use tongxin_platform::ApiError;
use tongxin_platform::events::{Event, SharedBus};
use tongxin_proto::events as pb;
use uuid::Uuid;

use super::order::{LevelGql, OrderStateGql, caller};
use crate::domain::{DomainError, Level};
use crate::error::OrdersError;
use crate::events::state_from_pb;
use crate::store::known_units;

/// One move of an order as it happens.
#[derive(SimpleObject, Clone)]
pub struct OrderProgress {
    /// The order.
    pub order_id: ID,
    /// Public order number.
    pub order_no: String,
    /// The move: placed, received, escalated, dispatched, accepted, declined, started,
    /// completed, rated, cancelled, reminder, overdue_alert.
    pub event: String,
    /// State after the move.
    pub state: OrderStateGql,
    /// Id of the unit holding the order after the move.
    pub holding_unit_id: ID,
    /// Its path.
    pub holding_unit_path: String,
    /// Its level.
    pub holding_level: LevelGql,
    /// Who moved it (a principal subject or `scheduler`).
    pub actor: String,
    /// The reason or note.
    pub note: String,
    /// When it happened.
    pub occurred_at: DateTime<Utc>,
}

const ALL_ORDER_EVENTS: &str = "tongxin.orders.>";

fn progress(event: &Event) -> Option<(pb::OrderChanged, OrderProgress)> {
    let body = pb::OrderChanged::decode(event.payload.clone()).ok()?;
    let state = pb::OrderState::try_from(body.state)
        .ok()
        .and_then(state_from_pb)?;
    let level = match pb::OrderLevel::try_from(body.holding_level).ok()? {
        pb::OrderLevel::Courtyard => Level::Courtyard,
        pb::OrderLevel::Station => Level::Station,
        pb::OrderLevel::Institute => Level::Institute,
        _ => Level::Center,
    };
    let name = event
        .subject
        .strip_prefix("tongxin.orders.order_")
        .unwrap_or(&event.subject)
        .to_owned();
    let view = OrderProgress {
        order_id: ID(body.order_id.clone()),
        order_no: body.order_no.clone(),
        event: name,
        state: state.into(),
        holding_unit_id: ID(body.holding_unit_id.clone()),
        holding_unit_path: body.holding_unit_path.clone(),
        holding_level: level.into(),
        actor: body.actor.clone(),
        note: body.note.clone(),
        occurred_at: Utc
            .timestamp_millis_opt(body.occurred_at_ms)
            .single()
            .unwrap_or_else(Utc::now),
    };
    Some((body, view))
}

async fn feed(
    ctx: &Context<'_>,
) -> async_graphql::Result<futures::stream::BoxStream<'static, Event>> {
    let bus = ctx.data::<SharedBus>()?;
    Ok(bus
        .watch(ALL_ORDER_EVENTS)
        .await
        .map_err(|e| ApiError::unavailable(&e))?)
}

/// The root subscription.
#[derive(Default)]
pub struct Subscription;

/// Live order progress, fed from the order events.
#[SubscriptionDerive(name = "Subscription")]
impl Subscription {
    /// Every move of one order from now on (the citizen who placed it and staff who may see
    /// it; for anyone else the order does not exist).
    async fn order_progress(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The order id.")] order_id: ID,
    ) -> async_graphql::Result<impl Stream<Item = OrderProgress> + use<>> {
        let (orders, caller) = caller(ctx).await?;
        let id = super::order::order_id(&order_id, "orderId")?;
        orders.order(&caller, id).await?;
        let wanted = id.0.to_string();
        Ok(feed(ctx).await?.filter_map(move |event| {
            let item = progress(&event)
                .filter(|(body, _)| body.order_id == wanted)
                .map(|(_, view)| view);
            futures::future::ready(item)
        }))
    }

    /// Orders placed at or escalated to one unit from now on (staff whose scope covers it).
    async fn unit_inbox(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The unit id (from the venues subgraph).")] unit_id: ID,
    ) -> async_graphql::Result<impl Stream<Item = OrderProgress> + use<>> {
        let (orders, caller) = caller(ctx).await?;
        let unit = Uuid::parse_str(unit_id.as_str())
            .map_err(|_| ApiError::bad_input("unitId: not a unit id"))?;
        let path = known_units::get(orders.db(), unit)
            .await
            .map_err(ApiError::from)?
            .map(|u| u.path);
        let in_scope = caller.principal.is_staff()
            && match (&caller.scope, &path) {
                (Some(scope), Some(path)) => scope.covers(path),
                (Some(_), None) => caller.principal.unit == Some(unit),
                _ => false,
            };
        if !in_scope {
            return Err(OrdersError::from(DomainError::Forbidden(
                "the unit is outside your scope".to_owned(),
            ))
            .into());
        }
        let wanted = unit.to_string();
        Ok(feed(ctx).await?.filter_map(move |event| {
            let arriving = event.subject.ends_with(".order_placed")
                || event.subject.ends_with(".order_escalated");
            let item = progress(&event)
                .filter(|(body, _)| arriving && body.holding_unit_id == wanted)
                .map(|(_, view)| view);
            futures::future::ready(item)
        }))
    }
}
