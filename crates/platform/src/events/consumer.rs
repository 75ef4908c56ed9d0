//! Durable, idempotent consumers.
//!
//! Each delivery is handled in one database transaction that first records
//! `(consumer, event id)` in `processed_events`; a second delivery of the same event finds the
//! row and changes nothing. The delivery is acknowledged only after commit. A handler failure
//! is retried with backoff up to `max_deliver` times; an event that still fails, or that can
//! never succeed (a poison event), is parked in `parked_events` with a log line and
//! terminated, so a consumer never loops forever on one event.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::Utc;
use futures::StreamExt;
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveValue::Set, DatabaseConnection, DatabaseTransaction, EntityTrait, TransactionTrait,
};
use tokio_util::sync::CancellationToken;

use super::{BusError, ConsumerSpec, Delivery, Event, SharedBus};
use crate::db::{DbError, classify};

/// The `processed_events` table: one row per event a consumer has applied.
pub mod processed {
    use sea_orm::entity::prelude::*;

    /// An applied event.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "processed_events")]
    pub struct Model {
        /// The durable consumer's name.
        #[sea_orm(primary_key, auto_increment = false)]
        pub consumer: String,
        /// The event id.
        #[sea_orm(primary_key, auto_increment = false)]
        pub event_id: Uuid,
        /// When it was applied.
        pub processed_at: ChronoDateTimeUtc,
    }

    /// No relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// The `parked_events` table: events a consumer gave up on, kept for a person to inspect.
pub mod parked {
    use sea_orm::entity::prelude::*;

    /// A parked event.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "parked_events")]
    pub struct Model {
        /// Row id.
        #[sea_orm(primary_key)]
        pub id: i64,
        /// The durable consumer's name.
        pub consumer: String,
        /// The event id.
        pub event_id: Uuid,
        /// Its subject.
        pub subject: String,
        /// Its body, to replay by hand.
        pub payload: Vec<u8>,
        /// Why it was parked.
        pub reason: String,
        /// Deliveries made.
        pub attempts: i64,
        /// When.
        pub parked_at: ChronoDateTimeUtc,
    }

    /// No relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// Why a handler did not apply an event.
#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    /// Might succeed later (a dependency is down): retry with backoff.
    #[error("retryable: {0}")]
    Retry(String),
    /// Can never succeed (undecodable body, impossible reference): park at once.
    #[error("poison: {0}")]
    Poison(String),
}

/// Reads a UUID field of an event body; one that is not a UUID can never be applied.
pub fn uuid_field(text: &str, field: &str) -> Result<uuid::Uuid, HandlerError> {
    uuid::Uuid::parse_str(text).map_err(|_| HandlerError::Poison(format!("{field} is not a UUID")))
}

impl From<DbError> for HandlerError {
    fn from(err: DbError) -> Self {
        match err {
            DbError::Unavailable(_) | DbError::Other(_) => HandlerError::Retry(err.to_string()),
            DbError::Conflict(_) | DbError::NotFound(_) => HandlerError::Poison(err.to_string()),
        }
    }
}

/// Applies one event inside the consumer's transaction.
#[async_trait]
pub trait Handler: Send + Sync + 'static {
    /// Makes the event's effect using `txn`; the caller commits.
    async fn handle(&self, txn: &DatabaseTransaction, event: &Event) -> Result<(), HandlerError>;
}

/// What happened to one delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Applied and acknowledged.
    Applied,
    /// Seen before; acknowledged without changes.
    Duplicate,
    /// Failed; will be redelivered.
    Retrying,
    /// Given up on; parked and terminated.
    Parked,
}

/// Handles one delivery: dedupe, apply, commit, settle.
pub async fn process<H: Handler + ?Sized>(
    db: &DatabaseConnection,
    consumer: &str,
    max_deliver: i64,
    handler: &H,
    delivery: Delivery,
) -> Result<Outcome, DbError> {
    let Delivery {
        event,
        attempt,
        acker,
    } = delivery;
    let txn = db.begin().await.map_err(classify)?;
    let inserted = processed::Entity::insert(processed::ActiveModel {
        consumer: Set(consumer.to_owned()),
        event_id: Set(event.id),
        processed_at: Set(Utc::now()),
    })
    .on_conflict(
        OnConflict::columns([processed::Column::Consumer, processed::Column::EventId])
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(&txn)
    .await
    .map_err(classify)?;
    if inserted == 0 {
        txn.rollback().await.map_err(classify)?;
        settle(acker.ack().await, &event);
        tracing::debug!(consumer, event_id = %event.id, "duplicate delivery ignored");
        return Ok(Outcome::Duplicate);
    }
    match handler.handle(&txn, &event).await {
        Ok(()) => {
            txn.commit().await.map_err(classify)?;
            settle(acker.ack().await, &event);
            Ok(Outcome::Applied)
        }
        Err(HandlerError::Retry(reason)) if attempt < max_deliver => {
            txn.rollback().await.map_err(classify)?;
            let delay = backoff(attempt);
            tracing::warn!(consumer, event_id = %event.id, attempt, reason, "event handling failed; will retry");
            settle(acker.nak(delay).await, &event);
            Ok(Outcome::Retrying)
        }
        Err(err) => {
            txn.rollback().await.map_err(classify)?;
            park(db, consumer, &event, attempt, &err.to_string()).await?;
            settle(acker.term().await, &event);
            Ok(Outcome::Parked)
        }
    }
}

fn settle(result: Result<(), BusError>, event: &Event) {
    // A lost ack means a redelivery, which the processed table absorbs.
    if let Err(e) = result {
        tracing::warn!(event_id = %event.id, error = %e, "could not settle delivery; it may be redelivered");
    }
}

fn backoff(attempt: i64) -> Duration {
    let attempt = attempt.clamp(1, 10) as u32;
    Duration::from_millis(200 * u64::from(attempt * attempt)).min(Duration::from_secs(30))
}

async fn park(
    db: &DatabaseConnection,
    consumer: &str,
    event: &Event,
    attempts: i64,
    reason: &str,
) -> Result<(), DbError> {
    tracing::error!(consumer, event_id = %event.id, subject = %event.subject, attempts, reason, "event parked");
    metrics::counter!("tongxin_events_parked_total", "consumer" => consumer.to_owned())
        .increment(1);
    parked::Entity::insert(parked::ActiveModel {
        consumer: Set(consumer.to_owned()),
        event_id: Set(event.id),
        subject: Set(event.subject.clone()),
        payload: Set(event.payload.to_vec()),
        reason: Set(reason.to_owned()),
        attempts: Set(attempts),
        parked_at: Set(Utc::now()),
        ..Default::default()
    })
    .exec_without_returning(db)
    .await
    .map_err(classify)?;
    Ok(())
}

/// Runs a durable consumer until `shutdown`, one event at a time. If the bus ends the
/// stream (a broker restart), it subscribes again rather than stopping silently.
pub async fn run_consumer<H: Handler>(
    db: DatabaseConnection,
    bus: SharedBus,
    spec: ConsumerSpec,
    handler: Arc<H>,
    shutdown: CancellationToken,
) -> Result<(), BusError> {
    use tracing::Instrument;
    let mut deliveries = bus.durable(&spec).await?;
    loop {
        let delivery = tokio::select! {
            _ = shutdown.cancelled() => return Ok(()),
            next = deliveries.next() => match next {
                Some(d) => d,
                None => {
                    tracing::warn!(consumer = %spec.name, "delivery stream ended; subscribing again");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    match bus.durable(&spec).await {
                        Ok(stream) => deliveries = stream,
                        Err(e) => tracing::warn!(consumer = %spec.name, error = %e, "resubscribe failed; retrying"),
                    }
                    continue;
                }
            },
        };
        let event_id = delivery.event.id;
        // Continue the trace of the request that caused the event.
        let span = tracing::info_span!("consume", consumer = %spec.name, %event_id, subject = %delivery.event.subject);
        if let Some(tp) = &delivery.event.traceparent {
            crate::telemetry::set_parent_from_traceparent(&span, tp);
        }
        match process(
            &db,
            &spec.name,
            spec.max_deliver,
            handler.as_ref(),
            delivery,
        )
        .instrument(span)
        .await
        {
            Ok(outcome) => {
                metrics::counter!("tongxin_events_consumed_total", "consumer" => spec.name.clone(), "outcome" => format!("{outcome:?}")).increment(1);
            }
            // The delivery stays unacknowledged; the bus redelivers after ack_wait.
            Err(e) => {
                tracing::warn!(consumer = %spec.name, %event_id, error = %e, "database error while consuming")
            }
        }
    }
}
