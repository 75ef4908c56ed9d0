//! The durable consumer of `tongxin.legalaid.>` that moves an order dispatched to a legal-aid
//! station along with the station's visit for it:
//!
//! | legal-aid event | order move | timeline note |
//! |---|---|---|
//! | `appointment_booked` (naming the order) | dispatched → accepted | the slot's time and the station |
//! | `appointment_checked_in` | accepted → in progress | the station |
//! | `consultation_logged` | in progress → completed | the outcome code |
//! | `appointment_cancelled` | accepted → dispatched (`order_dispatched` again: the citizen books anew or withdraws the order) | that the slot was given up |
//! | `appointment_cancelled` of a withdrawn order | none (a timeline row only) | that the order was withdrawn |
//! | `appointment_rescheduled` | none (a timeline row only) | the new time |
//!
//! Each move is an ordinary order move ([`Orders::apply`]): the state machine checks that
//! the event's station is the one the order was dispatched to (`Actor::LegalAid`), and the
//! order event, the timeline row and so `orderProgress` follow as for any move, in the
//! consumer's transaction.
//!
//! Idempotent twice over: the platform's processed-events table drops a redelivered event,
//! and a move whose order already stands where it would take it is skipped (at or past the
//! target of a visit's step; not accepted any more for a slot given up), so the same visit
//! announced twice moves the order once. An event that arrives before the one it follows (a
//! check-in before the booking was applied) is retried, not dropped.

use chrono::{DateTime, Utc};
use prost::Message;
use sea_orm::DatabaseTransaction;
use tongxin_platform::events::Event;
use tongxin_platform::events::consumer::{Handler, HandlerError, uuid_field as uuid};
use tongxin_platform::org::clock::CHINA_STANDARD_TIME;
use tongxin_proto::events::{AppointmentChanged, ConsultationLogged};
use uuid::Uuid;

use crate::domain::machine::{Actor, Command};
use crate::domain::{OrderState, order::Order};
use crate::error::OrdersError;
use crate::service::{MoveActor, Orders};
use crate::store::{orders, timeline};

/// Durable consumer name.
pub const CONSUMER: &str = "orders-legal-aid-visits";
/// What it listens to.
pub const FILTER: &str = "tongxin.legalaid.>";

/// Applies a legal-aid station's visits to the orders they serve.
pub struct LegalAidVisits(pub Orders);

fn poison(e: prost::DecodeError) -> HandlerError {
    HandlerError::Poison(e.to_string())
}

fn handler_error(e: OrdersError) -> HandlerError {
    match e {
        OrdersError::Domain(d) => HandlerError::Poison(d.to_string()),
        OrdersError::Unauthenticated => HandlerError::Poison("unauthenticated".to_owned()),
        OrdersError::Unavailable(cause) => HandlerError::Retry(cause),
        OrdersError::Db(db) => db.into(),
    }
}

/// A time as the district reads it (UTC+8), for the timeline note.
fn local(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .map(|t| {
            t.with_timezone(&CHINA_STANDARD_TIME)
                .format("%Y-%m-%d %H:%M")
                .to_string()
        })
        .unwrap_or_default()
}

/// What one event asks of its order.
struct Visit {
    order: Uuid,
    station: Uuid,
    actor: String,
    step: Step,
    note: String,
}

enum Step {
    /// A move forward from `from` (skipped when the order is past it already).
    Move { from: OrderState, command: Command },
    /// The appointment was cancelled: an accepted order goes back to dispatched; any other
    /// was moved already (or was withdrawn, which the timeline notes).
    GiveUp,
    /// A timeline row only, named `event`.
    Note { event: &'static str },
}

/// The visit an event describes; `None` for events that concern no order.
fn visit(event: &Event) -> Result<Option<Visit>, HandlerError> {
    let Some(kind) = event.subject.strip_prefix("tongxin.legalaid.") else {
        return Ok(None);
    };
    if kind == "consultation_logged" {
        let body = ConsultationLogged::decode(event.payload.clone()).map_err(poison)?;
        let Some(order) = body.order_id.as_deref() else {
            return Ok(None);
        };
        return Ok(Some(Visit {
            order: uuid(order, "order_id")?,
            station: uuid(&body.station_id, "station_id")?,
            actor: body.actor,
            step: Step::Move {
                from: OrderState::InProgress,
                command: Command::Complete { hours: Vec::new() },
            },
            note: format!("consultation outcome: {}", body.outcome),
        }));
    }
    if !kind.starts_with("appointment_") {
        return Ok(None);
    }
    let body = AppointmentChanged::decode(event.payload.clone()).map_err(poison)?;
    let Some(order) = body.order_id.as_deref() else {
        return Ok(None);
    };
    let (step, note) = match kind {
        "appointment_booked" => (
            Step::Move {
                from: OrderState::Dispatched,
                command: Command::Accept,
            },
            format!(
                "appointment booked at legal-aid station {}: {} (UTC+8)",
                body.station_id,
                local(body.starts_at_ms)
            ),
        ),
        "appointment_checked_in" => (
            Step::Move {
                from: OrderState::Accepted,
                command: Command::Start,
            },
            format!("checked in at legal-aid station {}", body.station_id),
        ),
        "appointment_rescheduled" => (
            Step::Note {
                event: "appointment_rescheduled",
            },
            format!(
                "appointment moved to {} (UTC+8) at legal-aid station {}",
                local(body.starts_at_ms),
                body.station_id
            ),
        ),
        "appointment_cancelled" => (
            Step::GiveUp,
            format!(
                "appointment at legal-aid station {} cancelled",
                body.station_id
            ),
        ),
        _ => return Ok(None),
    };
    Ok(Some(Visit {
        order: uuid(order, "order_id")?,
        station: uuid(&body.station_id, "station_id")?,
        actor: body.actor,
        step,
        note,
    }))
}

/// Where a state stands on the way a station moves an order (placed … dispatched come
/// before, cancelled is out of the way).
fn rank(state: OrderState) -> u8 {
    match state {
        OrderState::Accepted => 1,
        OrderState::InProgress => 2,
        OrderState::Completed | OrderState::Rated => 3,
        _ => 0,
    }
}

#[async_trait::async_trait]
impl Handler for LegalAidVisits {
    async fn handle(&self, txn: &DatabaseTransaction, event: &Event) -> Result<(), HandlerError> {
        let Some(visit) = visit(event)? else {
            return Ok(());
        };
        let Some(row) = orders::get(txn, visit.order).await? else {
            return Err(HandlerError::Poison(format!(
                "order {} does not exist",
                visit.order
            )));
        };
        let order = orders::parse(row)?;
        if order.legal_aid_station != Some(visit.station) {
            // Not (or no longer) this station's order: nothing to do for it.
            tracing::warn!(order_id = %visit.order, station_id = %visit.station,
                "a legal-aid event names an order not dispatched to its station");
            return Ok(());
        }
        let Visit {
            station,
            actor,
            step,
            note,
            ..
        } = visit;
        match step {
            Step::Note { event } => self.note(txn, &order, &actor, event, &note).await,
            Step::GiveUp => match order.state {
                OrderState::Accepted => {
                    let note =
                        format!("{note}: the slot was given up; the order waits for a new booking");
                    self.move_order(txn, &order, station, &actor, &Command::Unbook, &note)
                        .await
                }
                OrderState::Cancelled => {
                    let note = format!("{note}: the order was withdrawn");
                    self.note(txn, &order, &actor, "appointment_cancelled", &note)
                        .await
                }
                // Dispatched again already (a redelivery); a checked-in visit is never
                // cancelled.
                _ => Ok(()),
            },
            Step::Move { from, command } => {
                if order.state == OrderState::Cancelled || rank(order.state) > rank(from) {
                    // Applied already (or the citizen withdrew the order): a redelivery.
                    return Ok(());
                }
                if order.state != from {
                    return Err(HandlerError::Retry(format!(
                        "order {} is {}: waiting for the visit's earlier step",
                        order.id,
                        order.state.as_str()
                    )));
                }
                self.move_order(txn, &order, station, &actor, &command, &note)
                    .await
            }
        }
    }
}

impl LegalAidVisits {
    /// Makes `command` as the event's station; a racing move is retried.
    async fn move_order(
        &self,
        txn: &DatabaseTransaction,
        order: &Order,
        station: Uuid,
        actor: &str,
        command: &Command,
        note: &str,
    ) -> Result<(), HandlerError> {
        let who = MoveActor {
            actor: Actor::LegalAid { station },
            subject: actor,
        };
        let moved = self
            .0
            .apply(txn, order, &who, command, note, self.0.now())
            .await
            .map_err(handler_error)?;
        match moved {
            Some(_) => {
                self.0.wake_relay();
                Ok(())
            }
            None => Err(HandlerError::Retry(format!(
                "order {} changed meanwhile",
                order.id
            ))),
        }
    }

    /// A timeline row that changes nothing (like the scheduler's notices, no version bump).
    async fn note(
        &self,
        txn: &DatabaseTransaction,
        order: &Order,
        actor: &str,
        event: &str,
        note: &str,
    ) -> Result<(), HandlerError> {
        let holding = order.holding_unit();
        timeline::append(
            txn,
            timeline::Model {
                id: Uuid::now_v7(),
                order_id: order.id.0,
                from_state: Some(order.state.into()),
                to_state: order.state.into(),
                event: event.to_owned(),
                actor: actor.to_owned(),
                role: "legal_aid".to_owned(),
                unit_id: holding.id.0,
                unit_path: holding.path.clone(),
                level: holding.level,
                note: note.to_owned(),
                at: self.0.now(),
                version: order.version,
                arrival: None,
            },
        )
        .await?;
        Ok(())
    }
}
