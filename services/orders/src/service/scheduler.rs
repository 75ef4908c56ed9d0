//! Deadlines that fire by themselves. Deadlines live in the orders table, not in timers, so
//! a restart loses nothing. Each round, in one transaction per batch:
//! - orders whose holding unit did not receive them in time are escalated to the parent
//!   (actor `scheduler`, timeline row, `order_escalated`); at the center, which has no
//!   parent, an `order_overdue_alert` goes out once instead;
//! - orders past `reminder_percent` of their SLA get one `order_reminder`.
//!
//! Several replicas may run it: rows are claimed `FOR UPDATE SKIP LOCKED` on PostgreSQL (a
//! replica never sees rows another one holds), and every write is still conditional on the
//! row's version, so an order is handled once even if a claim were to overlap. SQLite
//! (`tongxin run`) is one process with one connection: a plain select is enough.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, TransactionTrait};
use tokio_util::sync::CancellationToken;
use tongxin_platform::db::classify;
use tongxin_platform::events::outbox;
use uuid::Uuid;

use crate::domain::machine::{Actor, Command};
use crate::domain::order::Order;
use crate::error::OrdersError;
use crate::events;
use crate::service::Orders;
use crate::service::moves_actor;
use crate::store::{orders, timeline};

/// The actor name on the timeline and in events.
pub const ACTOR: &str = "scheduler";

/// What one round did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Round {
    /// Orders escalated.
    pub escalated: usize,
    /// Overdue alerts raised at the center.
    pub alerted: usize,
    /// Reminders sent.
    pub reminded: usize,
}

/// The deadline loop.
#[derive(Clone)]
pub struct Scheduler {
    orders: Orders,
    interval: Duration,
    batch: u64,
}

impl Scheduler {
    /// A scheduler over `orders`, looking every `interval`, claiming `batch` rows at a time.
    pub fn new(orders: Orders, interval: Duration, batch: u64) -> Self {
        Self {
            orders,
            interval,
            batch,
        }
    }

    /// Runs rounds until `shutdown`. A failed round is logged and retried next time.
    pub async fn run(self, shutdown: CancellationToken) {
        loop {
            match self.round(self.orders.now()).await {
                Ok(r) if r != Round::default() => tracing::info!(?r, "deadline round"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = ?e, "deadline round failed"),
            }
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(self.interval) => {}
            }
        }
    }

    /// One round at `now`.
    pub async fn round(&self, now: DateTime<Utc>) -> Result<Round, OrdersError> {
        let mut round = Round::default();
        let db = self.orders.db();
        let txn = db.begin().await.map_err(classify)?;
        let overdue = orders::claim_overdue(&txn, now, self.batch).await?;
        // A row that does not parse is logged by `parse` and left for a person: the other
        // deadlines must still fire.
        for order in overdue
            .into_iter()
            .filter_map(|row| orders::parse(row).ok())
        {
            if order.route.at_top() {
                if self.notice(&txn, &order, "overdue_alert", now).await? {
                    round.alerted += 1;
                }
                continue;
            }
            let note = format!(
                "not received within the {} deadline",
                order.holding_unit().level.as_str()
            );
            let who = moves_actor(Actor::Scheduler, ACTOR);
            if self
                .orders
                .apply(&txn, &order, &who, &Command::AutoEscalate, &note, now)
                .await?
                .is_some()
            {
                round.escalated += 1;
            }
        }
        txn.commit().await.map_err(classify)?;

        let txn = db.begin().await.map_err(classify)?;
        let due = orders::claim_reminders(&txn, now, self.batch).await?;
        for order in due.into_iter().filter_map(|row| orders::parse(row).ok()) {
            if self.notice(&txn, &order, "reminder", now).await? {
                round.reminded += 1;
            }
        }
        txn.commit().await.map_err(classify)?;
        if round != Round::default() {
            self.orders.wake_relay();
        }
        Ok(round)
    }

    /// A notice that changes no state (reminder, overdue alert): marks it sent (so it goes out
    /// once), appends a timeline row and the event. `false` if the row changed meanwhile.
    async fn notice<C: ConnectionTrait>(
        &self,
        txn: &C,
        order: &Order,
        event: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, OrdersError> {
        // No version bump (see `Order::reminded`): a notice must not make a staff member's
        // concurrent move fail.
        let next = match event {
            "reminder" => order.reminded(),
            _ => order.alerted(now),
        };
        if !orders::update_if_version(txn, &orders::Model::from(&next), order.version).await? {
            return Ok(false);
        }
        let note = match event {
            "reminder" => format!("reminder: receive before {}", deadline_text(order)),
            _ => format!("overdue at the center since {}", deadline_text(order)),
        };
        let holding = order.holding_unit();
        timeline::append(
            txn,
            timeline::Model {
                id: Uuid::now_v7(),
                order_id: order.id.0,
                from_state: Some(order.state.into()),
                to_state: order.state.into(),
                event: event.to_owned(),
                actor: ACTOR.to_owned(),
                role: ACTOR.to_owned(),
                unit_id: holding.id.0,
                unit_path: holding.path.clone(),
                level: holding.level,
                note: note.clone(),
                at: now,
                version: order.version,
                arrival: None,
            },
        )
        .await?;
        outbox::enqueue(
            txn,
            &events::subject(event),
            events::SOURCE,
            events::order_changed(&next, Some(order.state), ACTOR, &note, now, None),
        )
        .await?;
        Ok(true)
    }
}

fn deadline_text(order: &Order) -> String {
    order
        .deadline
        .map(|d| d.at.to_rfc3339())
        .unwrap_or_else(|| "-".to_owned())
}
