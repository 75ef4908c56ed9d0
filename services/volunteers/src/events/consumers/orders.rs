//! The durable consumer of `tongxin.orders.>` that keeps each volunteer's open assignments
//! and ratings (`volunteer_load`) current for matching.
//!
//! Idempotent twice over: the platform's processed-events table drops a redelivered event,
//! and every effect is a state change of one (order, volunteer) row in
//! `order_assignments` (open → closed, unrated → rated), so even two different events
//! announcing the same move change the counts once.
//!
//! An event carries the order *after* the move, so:
//! - `order_accepted`: every listed volunteer's assignment opens (+1);
//! - `order_completed`, `order_cancelled`: every open assignment on the order closes (-1);
//! - `order_declined` (and any other move): an open assignment of a volunteer no longer
//!   listed on the order closes (-1), i.e. the decliner after an acceptance; a decline
//!   before acceptance changes nothing;
//! - `order_rated`: the stars count once for each volunteer who was on the order.
//!
//! Replicas see the changed rows through their periodic refresh (see [`crate::service::matcher`]).

use chrono::Utc;
use prost::Message;
use sea_orm::DatabaseTransaction;
use tongxin_platform::events::Event;
use tongxin_platform::events::consumer::{Handler, HandlerError, uuid_field as uuid};
use tongxin_proto::events::OrderChanged;

use crate::store::load;

/// Durable consumer name.
pub const CONSUMER: &str = "volunteers-order-load";
/// What it listens to.
pub const FILTER: &str = "tongxin.orders.>";

/// Applies order events to `volunteer_load`.
pub struct OrderLoadHandler;

#[async_trait::async_trait]
impl Handler for OrderLoadHandler {
    async fn handle(&self, txn: &DatabaseTransaction, event: &Event) -> Result<(), HandlerError> {
        // Only order moves carry an `OrderChanged`; the service's other events (a published
        // evaluation) and notices change no load.
        let Some(kind) = event.subject.strip_prefix("tongxin.orders.") else {
            return Ok(());
        };
        if !kind.starts_with("order_") || matches!(kind, "order_reminder" | "order_overdue_alert") {
            return Ok(());
        }
        let body = OrderChanged::decode(event.payload.clone())
            .map_err(|e| HandlerError::Poison(e.to_string()))?;
        let order = uuid(&body.order_id, "order_id")?;
        let listed = body
            .volunteer_ids
            .iter()
            .map(|v| uuid(v, "volunteer_ids"))
            .collect::<Result<Vec<_>, _>>()?;
        let now = Utc::now();
        match kind {
            "order_accepted" => {
                for v in &listed {
                    if load::open(txn, order, *v).await? {
                        load::bump(txn, *v, 1, None, now).await?;
                    }
                }
            }
            "order_completed" | "order_cancelled" => {
                for v in load::open_on(txn, order).await? {
                    if load::close(txn, order, v).await? {
                        load::bump(txn, v, -1, None, now).await?;
                    }
                }
            }
            "order_rated" => {
                let stars = body
                    .rating
                    .and_then(|r| u8::try_from(r).ok())
                    .filter(|r| (1..=5).contains(r))
                    .ok_or_else(|| HandlerError::Poison("rating must be 1 to 5".to_owned()))?;
                let mut on_order = load::all_on(txn, order).await?;
                for v in &listed {
                    if !on_order.contains(v) {
                        on_order.push(*v);
                    }
                }
                for v in on_order {
                    if load::mark_rated(txn, order, v).await? {
                        load::bump(txn, v, 0, Some(stars), now).await?;
                    }
                }
            }
            _ => {
                for v in load::open_on(txn, order).await? {
                    if !listed.contains(&v) && load::close(txn, order, v).await? {
                        load::bump(txn, v, -1, None, now).await?;
                    }
                }
            }
        }
        Ok(())
    }
}
