//! Live progress: `orderProgress(orderId, afterVersion)` for the citizen and staff who may see
//! the order, `unitInbox(unitId, after)` for staff (orders placed at or escalated to their
//! unit). Both start from the database and go on from the bus with no gap and no duplicate,
//! and resume from the last position a client saw (see `service/live.rs`).

use async_graphql::{Context, ID, SimpleObject, Subscription as SubscriptionDerive};
use chrono::{DateTime, Utc};
use futures::{Stream, StreamExt};
use tongxin_platform::ApiError;
use uuid::Uuid;

use super::order::{LevelGql, OrderStateGql, caller};
use crate::service::Progress;

/// One move of an order (or a notice about it), in order.
#[derive(SimpleObject, Clone)]
pub struct OrderProgress {
    /// The order.
    pub order_id: ID,
    /// Public order number.
    pub order_no: String,
    /// The move: placed, received, escalated, dispatched, accepted, declined, started,
    /// completed, rated, cancelled; or a notice: reminder, overdue_alert.
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
    /// The reason or note (empty on a citizen's own move).
    pub note: String,
    /// When it happened.
    pub occurred_at: DateTime<Utc>,
    /// The order's version after the move: 1 when placed, one more with each move, no gaps.
    /// A notice changes nothing and carries the version it was raised at. Resume
    /// `orderProgress` with the last version seen as `afterVersion`.
    pub version: i64,
    /// On an arrival (placed, escalated): its place among the arrivals at the holding unit
    /// (1, 2, 3, … per unit, no gaps). Resume `unitInbox` with the last one seen as `after`.
    pub arrival: Option<i64>,
}

impl From<Progress> for OrderProgress {
    fn from(p: Progress) -> Self {
        Self {
            order_id: ID(p.order_id.to_string()),
            order_no: p.order_no,
            event: p.event,
            state: p.state.into(),
            holding_unit_id: ID(p.unit_id.to_string()),
            holding_unit_path: p.unit_path,
            holding_level: p.level.into(),
            actor: p.actor,
            note: p.note,
            occurred_at: p.at,
            version: p.version,
            arrival: p.arrival,
        }
    }
}

/// The root subscription.
#[derive(Default)]
pub struct Subscription;

/// Live order progress: the database first, then the bus.
#[SubscriptionDerive(name = "Subscription")]
impl Subscription {
    /// The moves of one order, in version order, none missed and none twice: without
    /// `afterVersion`, first the move that made the current version (and the notices since),
    /// then each later move as it happens; with it, every move after that version, then the
    /// live ones. For the citizen who placed it and staff who may see it; for anyone else
    /// the order does not exist.
    async fn order_progress(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The order id.")] order_id: ID,
        #[graphql(
            desc = "The last version the client saw (0 for everything); the feed starts after it."
        )]
        after_version: Option<i64>,
    ) -> async_graphql::Result<impl Stream<Item = OrderProgress> + use<>> {
        let (orders, caller) = caller(ctx).await?;
        let id = super::order::order_id(&order_id, "orderId")?;
        let feed = orders.order_progress(&caller, id, after_version).await?;
        Ok(feed.map(OrderProgress::from))
    }

    /// Orders arriving at one unit (placed at it or escalated to it), in arrival order, none
    /// missed and none twice: without `after`, first the orders it holds and has not
    /// received yet, then each new arrival; with `after`, every arrival after that place,
    /// then the live ones. For staff whose scope covers the unit.
    async fn unit_inbox(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The unit id (from the venues subgraph).")] unit_id: ID,
        #[graphql(
            desc = "The last `arrival` the client saw (0 for every arrival); the feed starts after it."
        )]
        after: Option<i64>,
    ) -> async_graphql::Result<impl Stream<Item = OrderProgress> + use<>> {
        let (orders, caller) = caller(ctx).await?;
        let unit = Uuid::parse_str(unit_id.as_str())
            .map_err(|_| ApiError::bad_input("unitId: not a unit id"))?;
        let feed = orders.unit_inbox(&caller, unit, after).await?;
        Ok(feed.map(OrderProgress::from))
    }
}
