//! Events: the bus, the transactional outbox and idempotent consumers.
//!
//! Subjects are `tongxin.<domain>.<event>`; the JetStream stream (default `TONGXIN`) holds
//! `tongxin.>`. Bodies are protobuf; headers carry `Nats-Msg-Id` (the event id, so JetStream
//! drops a republished duplicate), `content-type` and `ce-dataschema` (both naming the body's
//! protobuf message, from [`tongxin_proto::catalog`]), `ce-type`, `ce-source`, `ce-time` and
//! `traceparent`.
//!
//! Writers never publish directly: they [`outbox::enqueue`] inside the transaction that makes
//! the change, and the [`outbox::OutboxRelay`] publishes after commit. Readers use
//! [`consumer::run_consumer`], which records each event id in the same transaction as its
//! effect, so a redelivery changes nothing.

pub mod consumer;
pub mod memory;
pub mod migration;
pub mod nats;
pub mod outbox;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures::stream::BoxStream;
use uuid::Uuid;

use crate::config::{EventsBackend, EventsSettings};

/// Header names, shared by every backend.
pub mod headers {
    /// JetStream de-duplication key: the event id.
    pub const MSG_ID: &str = "Nats-Msg-Id";
    /// CloudEvents type, e.g. `tongxin.venues.unit_created`.
    pub const CE_TYPE: &str = "ce-type";
    /// CloudEvents source, e.g. `tongxin/venues`.
    pub const CE_SOURCE: &str = "ce-source";
    /// CloudEvents time, RFC 3339.
    pub const CE_TIME: &str = "ce-time";
    /// CloudEvents id (same as the message id).
    pub const CE_ID: &str = "ce-id";
    /// CloudEvents spec version.
    pub const CE_SPECVERSION: &str = "ce-specversion";
    /// W3C trace context.
    pub const TRACEPARENT: &str = "traceparent";
    /// The body's media type, naming its protobuf message:
    /// `application/protobuf; proto=tongxin.events.v1.OrderChanged` (CloudEvents'
    /// `datacontenttype` in binary mode).
    pub const CONTENT_TYPE: &str = "content-type";
    /// CloudEvents `dataschema`: `urn:tongxin:proto:<full message name>`.
    pub const CE_DATASCHEMA: &str = "ce-dataschema";
}

/// One event as it travels: identity, routing, provenance and the protobuf body.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// Unique id; also the JetStream de-duplication key.
    pub id: Uuid,
    /// `tongxin.<domain>.<event>`.
    pub subject: String,
    /// CloudEvents type; by convention the subject.
    pub ce_type: String,
    /// The publishing service, e.g. `tongxin/venues`.
    pub source: String,
    /// When the change committed.
    pub time: DateTime<Utc>,
    /// The W3C trace context of the request that caused it.
    pub traceparent: Option<String>,
    /// Protobuf-encoded body.
    pub payload: Bytes,
}

impl Event {
    /// The full protobuf name of the body, from the catalog of what Tongxin publishes;
    /// `None` for a subject outside it (tests' own subjects).
    pub fn message_type(&self) -> Option<&'static str> {
        tongxin_proto::catalog::by_subject(&self.subject).map(|e| e.message)
    }
}

/// A failure talking to the bus.
#[derive(Debug, thiserror::Error)]
pub enum BusError {
    /// The bus cannot be reached or did not acknowledge in time.
    #[error("event bus unavailable: {0}")]
    Unavailable(String),
    /// A message that is not a Tongxin event (missing id header and the like).
    #[error("malformed event: {0}")]
    Malformed(String),
}

/// Settles one delivery with the bus.
#[async_trait]
pub trait Acker: Send + Sync {
    /// Done; do not deliver again.
    async fn ack(&self) -> Result<(), BusError>;
    /// Failed; deliver again after `delay`.
    async fn nak(&self, delay: Duration) -> Result<(), BusError>;
    /// Never deliver again (the event was parked).
    async fn term(&self) -> Result<(), BusError>;
}

/// An event handed to a durable consumer, with its delivery count.
pub struct Delivery {
    /// The event.
    pub event: Event,
    /// 1 on first delivery.
    pub attempt: i64,
    /// How to settle it.
    pub acker: Box<dyn Acker>,
}

/// What a durable consumer wants.
#[derive(Debug, Clone)]
pub struct ConsumerSpec {
    /// Durable name; one per consuming service and purpose, e.g. `volunteers-credit-hours`.
    pub name: String,
    /// Subject filter, e.g. `tongxin.orders.order_completed` or `tongxin.orders.>`.
    pub filter: String,
    /// Deliveries before an event is parked.
    pub max_deliver: i64,
    /// How long a delivery may stay unacknowledged before it is redelivered.
    pub ack_wait: Duration,
}

/// What a live feed that owns up to its losses yields.
#[derive(Debug, Clone, PartialEq)]
pub enum Watched {
    /// An event, as published.
    Event(Event),
    /// Events may have been lost here (the connection to the bus dropped and came back, or
    /// the reader fell behind): a reader that must miss nothing re-reads its source of truth.
    Gap,
}

/// Either backend: NATS JetStream or the in-process bus.
#[async_trait]
pub trait EventBus: Send + Sync {
    /// Publishes a batch and waits until the bus has acknowledged each one (persisted, for
    /// JetStream). Returns one result per event, in order, so a relay can mark exactly the
    /// acknowledged ones as sent.
    async fn publish_batch(&self, events: &[Event]) -> Vec<Result<(), BusError>>;

    /// A durable, at-least-once stream of deliveries that must be settled explicitly.
    async fn durable(&self, spec: &ConsumerSpec) -> Result<BoxStream<'static, Delivery>, BusError>;

    /// A live feed of events matching `filter` from now on (for GraphQL subscriptions); no
    /// acknowledgements, nothing replayed.
    async fn watch(&self, filter: &str) -> Result<BoxStream<'static, Event>, BusError>;

    /// Like [`EventBus::watch`], but active at the bus when it returns (an event published
    /// after this returns is delivered), and saying [`Watched::Gap`] where events may have
    /// been lost. The default trusts `watch` to lose nothing.
    async fn watch_gaps(&self, filter: &str) -> Result<BoxStream<'static, Watched>, BusError> {
        use futures::StreamExt;
        Ok(self.watch(filter).await?.map(Watched::Event).boxed())
    }

    /// Whether the bus is reachable, for readiness.
    async fn ping(&self) -> Result<(), BusError>;
}

/// A shared handle to the configured bus.
pub type SharedBus = Arc<dyn EventBus>;

/// Connects the configured backend (and, for NATS, ensures the stream exists).
pub async fn connect(settings: &EventsSettings) -> Result<SharedBus, BusError> {
    match settings.backend {
        EventsBackend::Nats => Ok(Arc::new(nats::NatsBus::connect(settings).await?)),
        EventsBackend::Memory => Ok(Arc::new(memory::MemoryBus::new())),
    }
}

/// NATS subject matching: tokens split on `.`, `*` matches one token, a final `>` one or more.
pub fn subject_matches(filter: &str, subject: &str) -> bool {
    let mut subject_tokens = subject.split('.');
    for token in filter.split('.') {
        match (token, subject_tokens.next()) {
            (">", Some(_)) => return true,
            ("*", Some(_)) => {}
            (want, Some(got)) if want == got => {}
            _ => return false,
        }
    }
    subject_tokens.next().is_none()
}

#[cfg(test)]
mod tests {
    use super::subject_matches;

    #[test]
    fn wildcards() {
        assert!(subject_matches("tongxin.>", "tongxin.venues.unit_created"));
        assert!(subject_matches(
            "tongxin.*.unit_created",
            "tongxin.venues.unit_created"
        ));
        assert!(subject_matches(
            "tongxin.venues.unit_created",
            "tongxin.venues.unit_created"
        ));
        assert!(!subject_matches(
            "tongxin.venues",
            "tongxin.venues.unit_created"
        ));
        assert!(!subject_matches(
            "tongxin.venues.unit_created.x",
            "tongxin.venues.unit_created"
        ));
        assert!(!subject_matches(
            "tongxin.orders.>",
            "tongxin.venues.unit_created"
        ));
        assert!(!subject_matches("tongxin.>", "tongxin"));
    }
}
