//! The transactional outbox and its relay.
//!
//! A service writes its change and [`enqueue`]s the event in the same transaction, so either
//! both commit or neither does. The [`OutboxRelay`] then publishes unpublished rows in order
//! and marks a row published only after the bus acknowledged it. A crash between publish and
//! mark republishes the event with the same `Nats-Msg-Id`, which JetStream drops as a
//! duplicate. Several replicas may run relays against one database: each claims its rows with
//! `FOR UPDATE SKIP LOCKED` (PostgreSQL), so a row is published by one relay at a time.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use sea_orm::sea_query::{LockBehavior, LockType};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, TransactionTrait,
};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::{Event, SharedBus};
use crate::db::{DbError, classify};

/// The `outbox_events` table.
pub mod entity {
    use sea_orm::entity::prelude::*;

    /// One event waiting to be (or already) published.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "outbox_events")]
    pub struct Model {
        /// Commit order; the relay publishes in this order.
        #[sea_orm(primary_key)]
        pub seq: i64,
        /// The event id and `Nats-Msg-Id`.
        #[sea_orm(unique)]
        pub event_id: Uuid,
        /// NATS subject.
        pub subject: String,
        /// CloudEvents source.
        pub source: String,
        /// Protobuf body.
        pub payload: Vec<u8>,
        /// W3C trace context of the writing request.
        pub traceparent: Option<String>,
        /// When the change committed.
        pub created_at: ChronoDateTimeUtc,
        /// When the bus acknowledged it; `None` until then.
        pub published_at: Option<ChronoDateTimeUtc>,
    }

    /// No relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// Writes `payload` as an event on `subject` within the caller's transaction `conn`.
///
/// `source` names the service (`tongxin/venues`). The trace context of the current span is
/// stored with it, so consumers continue the same trace.
pub async fn enqueue<C: ConnectionTrait>(
    conn: &C,
    subject: &str,
    source: &str,
    payload: Vec<u8>,
) -> Result<Event, DbError> {
    let event = Event {
        id: Uuid::now_v7(),
        subject: subject.to_owned(),
        ce_type: subject.to_owned(),
        source: source.to_owned(),
        time: Utc::now(),
        traceparent: crate::telemetry::current_traceparent(),
        payload: payload.into(),
    };
    let row = entity::ActiveModel {
        event_id: Set(event.id),
        subject: Set(event.subject.clone()),
        source: Set(event.source.clone()),
        payload: Set(event.payload.to_vec()),
        traceparent: Set(event.traceparent.clone()),
        created_at: Set(event.time),
        published_at: Set(None),
        ..Default::default()
    };
    entity::Entity::insert(row)
        .exec_without_returning(conn)
        .await
        .map_err(classify)?;
    Ok(event)
}

/// How many events wait to be published (the `/metrics` gauge `tongxin_outbox_backlog`).
/// Counted through the partial index of unpublished rows, so a scrape stays cheap however
/// many published rows the table keeps.
pub async fn backlog<C: ConnectionTrait>(conn: &C) -> Result<u64, DbError> {
    entity::Entity::find()
        .filter(entity::Column::PublishedAt.is_null())
        .count(conn)
        .await
        .map_err(classify)
}

/// Wakes the relay right after a commit, so events leave within milliseconds instead of
/// waiting for the next poll.
#[derive(Clone, Default)]
pub struct OutboxWaker(Arc<Notify>);

impl OutboxWaker {
    /// Signals the relay; cheap, never blocks, coalesces.
    pub fn wake(&self) {
        self.0.notify_one();
    }
}

/// A failed relay round.
#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbError),
    /// Some events were not acknowledged; they stay unpublished and are retried.
    #[error("{failed} of {claimed} events not acknowledged: {first}")]
    Bus {
        /// How many the round claimed.
        claimed: usize,
        /// How many failed.
        failed: usize,
        /// The first failure.
        first: String,
    },
}

/// Publishes committed outbox rows.
#[derive(Clone)]
pub struct OutboxRelay {
    db: DatabaseConnection,
    bus: SharedBus,
    batch: u64,
    interval: Duration,
    waker: OutboxWaker,
}

impl OutboxRelay {
    /// A relay over `db` publishing to `bus`, `batch` rows per round, polling every `interval`.
    pub fn new(db: DatabaseConnection, bus: SharedBus, batch: u64, interval: Duration) -> Self {
        Self {
            db,
            bus,
            batch,
            interval,
            waker: OutboxWaker::default(),
        }
    }

    /// The handle writers use to wake this relay after commit.
    pub fn waker(&self) -> OutboxWaker {
        self.waker.clone()
    }

    /// One round: claim up to `batch` unpublished rows, publish, mark the acknowledged ones.
    /// Returns how many were published.
    pub async fn relay_once(&self) -> Result<usize, RelayError> {
        match self.claim_and_publish().await? {
            Some(round) => round.finish().await,
            None => Ok(0),
        }
    }

    /// Claims up to `batch` unpublished rows (locked by the round's transaction) and
    /// publishes them; `None` when there were none.
    async fn claim_and_publish(&self) -> Result<Option<Round>, RelayError> {
        let txn = self.db.begin().await.map_err(classify)?;
        let mut query = entity::Entity::find()
            .filter(entity::Column::PublishedAt.is_null())
            .order_by_asc(entity::Column::Seq)
            .limit(self.batch);
        if self.db.get_database_backend() == DbBackend::Postgres {
            query = query.lock_with_behavior(LockType::Update, LockBehavior::SkipLocked);
        }
        let rows = query.all(&txn).await.map_err(classify)?;
        if rows.is_empty() {
            txn.commit().await.map_err(classify)?;
            return Ok(None);
        }
        let events: Vec<Event> = rows.into_iter().map(to_event).collect();
        let results = self.bus.publish_batch(&events).await;

        let mut acked = Vec::with_capacity(events.len());
        let mut first_failure = None;
        for (event, result) in events.iter().zip(&results) {
            match result {
                Ok(()) => acked.push(event.id),
                Err(e) => {
                    first_failure.get_or_insert_with(|| e.to_string());
                }
            }
        }
        Ok(Some(Round {
            txn,
            claimed: events.len(),
            acked,
            first_failure,
        }))
    }

    /// One round of [`Self::run`] on PostgreSQL: claims and publishes the next rows while the
    /// previous round (`marking`) marks its rows and commits. Its rows stay locked until that
    /// commit, so `SKIP LOCKED` keeps them out of this claim, and this round publishes only
    /// after the previous round's acks came back, so the stream still receives events in
    /// commit order. Returns how many rows this round claimed.
    async fn pipelined_round(
        &self,
        marking: &mut Option<tokio::task::JoinHandle<Result<usize, RelayError>>>,
    ) -> Result<usize, RelayError> {
        let claimed = self.claim_and_publish().await;
        let previous = finish_marking(marking).await;
        match claimed {
            // A round the bus did not fully acknowledge commits before the next claim: its
            // unpublished rows are then free again, and the next round (claiming in commit
            // order) takes them first instead of publishing later events ahead of them.
            Ok(Some(round)) if round.first_failure.is_some() => {
                let n = round.claimed;
                previous.and(round.finish().await).map(|_| n)
            }
            Ok(Some(round)) => {
                let n = round.claimed;
                *marking = Some(tokio::spawn(round.finish()));
                previous.map(|_| n)
            }
            Ok(None) => previous.map(|_| 0),
            Err(e) => Err(e),
        }
    }

    /// How many rows are still unpublished (for metrics and tests).
    pub async fn backlog(&self) -> Result<u64, DbError> {
        use sea_orm::PaginatorTrait;
        entity::Entity::find()
            .filter(entity::Column::PublishedAt.is_null())
            .count(&self.db)
            .await
            .map_err(classify)
    }

    /// Deletes rows published before `older_than` ago; the stream keeps the history.
    pub async fn prune(&self, older_than: Duration) -> Result<u64, DbError> {
        let cutoff = Utc::now()
            - chrono::Duration::from_std(older_than).unwrap_or(chrono::Duration::days(7));
        let result = entity::Entity::delete_many()
            .filter(entity::Column::PublishedAt.lt(cutoff))
            .exec(&self.db)
            .await
            .map_err(classify)?;
        Ok(result.rows_affected)
    }

    /// Runs until `shutdown`: publishes whenever woken or every `interval`, backing off
    /// while the bus or database is down.
    pub async fn run(self, shutdown: CancellationToken) {
        const MAX_BACKOFF: Duration = Duration::from_secs(5);
        const PRUNE_EVERY: Duration = Duration::from_secs(3600);
        let mut backoff = self.interval;
        let mut last_prune = tokio::time::Instant::now();
        // On PostgreSQL a round's marking overlaps the next round's claim and publish (see
        // `pipelined_round`); SQLite has one writer, so its rounds stay one after another.
        let pipelined = self.db.get_database_backend() == DbBackend::Postgres;
        let mut marking = None;
        loop {
            let round = if pipelined {
                self.pipelined_round(&mut marking).await
            } else {
                self.relay_once().await
            };
            let wait = match round {
                // A full batch means more may be waiting: go again at once.
                Ok(n) if n as u64 == self.batch => Duration::ZERO,
                Ok(_) => {
                    backoff = self.interval;
                    self.interval
                }
                Err(e) => {
                    tracing::warn!(error = %e, retry_in_ms = backoff.as_millis() as u64, "outbox relay round failed");
                    let wait = backoff;
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                    wait
                }
            };
            if last_prune.elapsed() >= PRUNE_EVERY {
                last_prune = tokio::time::Instant::now();
                if let Err(e) = self.prune(Duration::from_secs(7 * 24 * 3600)).await {
                    tracing::warn!(error = %e, "outbox prune failed");
                }
            }
            if wait.is_zero() {
                if shutdown.is_cancelled() {
                    break;
                }
                continue;
            }
            // Nothing more to claim for now: let the last round commit before waiting, so a
            // published row does not stay unmarked (and locked) while the relay sleeps.
            if let Err(e) = finish_marking(&mut marking).await {
                tracing::warn!(error = %e, "outbox relay round failed");
            }
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = self.waker.0.notified() => {}
                _ = tokio::time::sleep(wait) => {}
            }
        }
        // Stopping: the last round's marks are committed before `run` returns.
        if let Err(e) = finish_marking(&mut marking).await {
            tracing::warn!(error = %e, "outbox relay round failed");
        }
    }
}

/// The rows one round claimed (locked by its transaction) and what the bus said.
struct Round {
    txn: sea_orm::DatabaseTransaction,
    claimed: usize,
    acked: Vec<Uuid>,
    first_failure: Option<String>,
}

impl Round {
    /// Marks the acknowledged rows published and commits; the others stay for a later round.
    async fn finish(self) -> Result<usize, RelayError> {
        let Round {
            txn,
            claimed,
            acked,
            first_failure,
        } = self;
        if !acked.is_empty() {
            entity::Entity::update_many()
                .col_expr(entity::Column::PublishedAt, Utc::now().into())
                .filter(entity::Column::EventId.is_in(acked.iter().copied()))
                .exec(&txn)
                .await
                .map_err(classify)?;
        }
        txn.commit().await.map_err(classify)?;
        metrics::counter!("tongxin_outbox_published_total").increment(acked.len() as u64);
        match first_failure {
            None => Ok(acked.len()),
            Some(first) => Err(RelayError::Bus {
                claimed,
                failed: claimed - acked.len(),
                first,
            }),
        }
    }
}

/// Waits for the round being marked, if any.
async fn finish_marking(
    marking: &mut Option<tokio::task::JoinHandle<Result<usize, RelayError>>>,
) -> Result<usize, RelayError> {
    match marking.take() {
        Some(task) => task
            .await
            .unwrap_or_else(|e| Err(RelayError::Db(DbError::Other(format!("marking task: {e}"))))),
        None => Ok(0),
    }
}

fn to_event(row: entity::Model) -> Event {
    Event {
        id: row.event_id,
        ce_type: row.subject.clone(),
        subject: row.subject,
        source: row.source,
        time: row.created_at,
        traceparent: row.traceparent,
        payload: row.payload.into(),
    }
}
