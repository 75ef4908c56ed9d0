//! The NATS JetStream backend.

use std::time::Duration;

use async_nats::HeaderMap;
use async_nats::jetstream::{self, AckKind, consumer::pull, stream};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use futures::StreamExt;
use futures::stream::BoxStream;
use tokio::sync::broadcast;
use tokio_stream::wrappers::BroadcastStream;
use uuid::Uuid;

use super::{Acker, BusError, ConsumerSpec, Delivery, Event, EventBus, Watched, headers};
use crate::config::EventsSettings;

/// JetStream for durable events, core NATS for live watches.
pub struct NatsBus {
    client: async_nats::Client,
    jetstream: jetstream::Context,
    stream: String,
    /// Fires when live messages may have been lost: the connection came back (the client
    /// re-subscribes, but what was published meanwhile is gone), or the server dropped
    /// messages for a slow subscriber.
    losses: broadcast::Sender<()>,
}

/// A subject nobody serves: a request to it is answered "no responders" by the server itself.
const BARRIER_SUBJECT: &str = "_tongxin.barrier";

/// Returns once the server has read everything this client sent before: a request nobody
/// answers comes back as "no responders" only after the server has read it, and the server
/// reads one connection's operations in order, so every SUB sent earlier is then active.
/// (`Client::flush` only empties the socket.)
pub async fn barrier(client: &async_nats::Client) -> Result<(), BusError> {
    let answer = tokio::time::timeout(
        Duration::from_secs(5),
        client.request(BARRIER_SUBJECT, bytes::Bytes::new()),
    )
    .await
    .map_err(|_| BusError::Unavailable("no answer from NATS within 5 s".to_owned()))?;
    match answer {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == async_nats::RequestErrorKind::NoResponders => Ok(()),
        Err(e) => Err(BusError::Unavailable(e.to_string())),
    }
}

impl NatsBus {
    /// Connects and creates the stream when missing (idempotent: several replicas may race).
    pub async fn connect(settings: &EventsSettings) -> Result<Self, BusError> {
        let (losses, _) = broadcast::channel(16);
        let signal = losses.clone();
        let client = async_nats::ConnectOptions::new()
            .name("tongxin")
            .event_callback(move |event| {
                if matches!(
                    event,
                    async_nats::Event::Connected | async_nats::Event::SlowConsumer(_)
                ) {
                    // No watcher is not an error.
                    let _ = signal.send(());
                }
                futures::future::ready(())
            })
            // Keep reconnecting forever: a NATS restart must not take the service down;
            // the outbox holds events until the bus is back.
            .max_reconnects(None)
            .connection_timeout(Duration::from_secs(5))
            .connect(settings.nats_url.as_str())
            .await
            .map_err(|e| BusError::Unavailable(e.to_string()))?;
        let mut jetstream = jetstream::new(client.clone());
        jetstream.set_timeout(Duration::from_secs(5));
        // Create, or bring an existing stream's limits in line with the configuration
        // (idempotent: replicas starting together send the same config).
        jetstream
            .create_or_update_stream(stream_config(settings))
            .await
            .map_err(|e| BusError::Unavailable(e.to_string()))?;
        Ok(Self {
            client,
            jetstream,
            stream: settings.stream.clone(),
            losses,
        })
    }

    /// The underlying client, for tests and tools.
    pub fn client(&self) -> &async_nats::Client {
        &self.client
    }
}

/// The TONGXIN stream as configured: every `tongxin.>` subject, on disk, with the retention
/// limits from `events.stream_*`.
pub fn stream_config(settings: &EventsSettings) -> stream::Config {
    const DAY: Duration = Duration::from_secs(24 * 3600);
    stream::Config {
        name: settings.stream.clone(),
        subjects: vec!["tongxin.>".to_owned()],
        storage: stream::StorageType::File,
        num_replicas: settings.stream_replicas,
        // Zero is "no limit" for both, in the configuration as in JetStream's age; bytes
        // use -1 for that.
        max_age: DAY * u32::try_from(settings.stream_max_age_days).unwrap_or(u32::MAX),
        max_bytes: if settings.stream_max_bytes == 0 {
            -1
        } else {
            settings.stream_max_bytes
        },
        discard: stream::DiscardPolicy::Old,
        // The relay republishes with the same Nats-Msg-Id after a lost ack; two
        // minutes covers any realistic retry gap.
        duplicate_window: Duration::from_secs(120),
        ..Default::default()
    }
}

fn to_headers(event: &Event) -> HeaderMap {
    let mut map = HeaderMap::new();
    let id = event.id.to_string();
    map.insert(headers::MSG_ID, id.as_str());
    map.insert(headers::CE_ID, id.as_str());
    map.insert(headers::CE_TYPE, event.ce_type.as_str());
    map.insert(headers::CE_SOURCE, event.source.as_str());
    map.insert(headers::CE_TIME, event.time.to_rfc3339().as_str());
    map.insert(headers::CE_SPECVERSION, "1.0");
    if let Some(message) = event.message_type() {
        map.insert(
            headers::CONTENT_TYPE,
            tongxin_proto::catalog::content_type(message).as_str(),
        );
        map.insert(
            headers::CE_DATASCHEMA,
            tongxin_proto::catalog::dataschema(message).as_str(),
        );
    }
    if let Some(tp) = &event.traceparent {
        map.insert(headers::TRACEPARENT, tp.as_str());
    }
    map
}

/// Rebuilds an [`Event`] from a NATS message's subject, headers and body.
pub fn from_message(
    subject: &str,
    map: Option<&HeaderMap>,
    payload: bytes::Bytes,
) -> Result<Event, BusError> {
    let get = |name: &str| map.and_then(|m| m.get(name)).map(|v| v.as_str().to_owned());
    let id = get(headers::MSG_ID)
        .and_then(|v| Uuid::parse_str(&v).ok())
        .ok_or_else(|| {
            BusError::Malformed(format!("{subject}: missing or invalid {}", headers::MSG_ID))
        })?;
    let time = get(headers::CE_TIME)
        .and_then(|v| DateTime::parse_from_rfc3339(&v).ok())
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(Utc::now);
    Ok(Event {
        id,
        subject: subject.to_owned(),
        ce_type: get(headers::CE_TYPE).unwrap_or_else(|| subject.to_owned()),
        source: get(headers::CE_SOURCE).unwrap_or_default(),
        time,
        traceparent: get(headers::TRACEPARENT),
        payload,
    })
}

struct JetStreamAcker(jetstream::Message);

#[async_trait]
impl Acker for JetStreamAcker {
    async fn ack(&self) -> Result<(), BusError> {
        // double_ack waits for the server to confirm, so an ack lost in transit cannot
        // cause a silent redelivery after we told the caller it was done.
        self.0
            .double_ack()
            .await
            .map_err(|e| BusError::Unavailable(e.to_string()))
    }
    async fn nak(&self, delay: Duration) -> Result<(), BusError> {
        self.0
            .ack_with(AckKind::Nak(Some(delay)))
            .await
            .map_err(|e| BusError::Unavailable(e.to_string()))
    }
    async fn term(&self) -> Result<(), BusError> {
        self.0
            .ack_with(AckKind::Term)
            .await
            .map_err(|e| BusError::Unavailable(e.to_string()))
    }
}

#[async_trait]
impl EventBus for NatsBus {
    async fn publish_batch(&self, events: &[Event]) -> Vec<Result<(), BusError>> {
        // Pipeline: send every publish first, then collect the acks. One round trip per
        // batch instead of one per event.
        let mut pending = Vec::with_capacity(events.len());
        let mut send_failed = false;
        for event in events {
            // A send that timed out means the client's queue is full (the server has been
            // gone a while): the rest would each wait out the same timeout, so they fail at
            // once and stay in the outbox for the next round.
            if send_failed {
                pending.push(Err(BusError::Unavailable(
                    "not sent: an earlier publish in the batch could not be queued".to_owned(),
                )));
                continue;
            }
            let sent = self
                .jetstream
                .publish_with_headers(
                    event.subject.clone(),
                    to_headers(event),
                    event.payload.clone(),
                )
                .await
                .map_err(|e| BusError::Unavailable(e.to_string()));
            send_failed = sent.is_err();
            pending.push(sent);
        }
        // Await the acks together: each ack's timeout starts when it is awaited, so awaiting
        // them one by one would let a round against a dead server take batch × timeout
        // (256 × 5 s) instead of one timeout.
        futures::future::join_all(pending.into_iter().map(|sent| async move {
            match sent {
                Ok(ack) => ack
                    .await
                    .map(|_| ())
                    .map_err(|e| BusError::Unavailable(e.to_string())),
                Err(e) => Err(e),
            }
        }))
        .await
    }

    async fn durable(&self, spec: &ConsumerSpec) -> Result<BoxStream<'static, Delivery>, BusError> {
        let stream = self
            .jetstream
            .get_stream(&self.stream)
            .await
            .map_err(|e| BusError::Unavailable(e.to_string()))?;
        let consumer: jetstream::consumer::PullConsumer = stream
            .get_or_create_consumer(
                &spec.name,
                pull::Config {
                    durable_name: Some(spec.name.clone()),
                    filter_subject: spec.filter.clone(),
                    ack_policy: jetstream::consumer::AckPolicy::Explicit,
                    ack_wait: spec.ack_wait,
                    max_deliver: spec.max_deliver,
                    ..Default::default()
                },
            )
            .await
            .map_err(|e| BusError::Unavailable(e.to_string()))?;
        let messages = consumer
            .messages()
            .await
            .map_err(|e| BusError::Unavailable(e.to_string()))?;
        let stream = messages.filter_map(|message| async move {
            let message = match message {
                Ok(m) => m,
                Err(e) => {
                    tracing::warn!(error = %e, "durable consumer stream error; continuing");
                    return None;
                }
            };
            let attempt = message.info().map(|i| i.delivered).unwrap_or(1);
            let subject = message.subject.to_string();
            match from_message(&subject, message.headers.as_ref(), message.payload.clone()) {
                Ok(event) => Some(Delivery {
                    event,
                    attempt,
                    acker: Box::new(JetStreamAcker(message)),
                }),
                Err(e) => {
                    // Not ours to process, and redelivering will not fix it.
                    tracing::error!(error = %e, subject, "terminating malformed message");
                    let _ = message.ack_with(AckKind::Term).await;
                    None
                }
            }
        });
        Ok(stream.boxed())
    }

    async fn watch(&self, filter: &str) -> Result<BoxStream<'static, Event>, BusError> {
        let subscriber = self
            .client
            .subscribe(filter.to_owned())
            .await
            .map_err(|e| BusError::Unavailable(e.to_string()))?;
        Ok(subscriber
            .filter_map(|m| async move {
                from_message(m.subject.as_str(), m.headers.as_ref(), m.payload).ok()
            })
            .boxed())
    }

    async fn watch_gaps(&self, filter: &str) -> Result<BoxStream<'static, Watched>, BusError> {
        // Listen for losses before subscribing, so none after the subscription is missed.
        let losses = BroadcastStream::new(self.losses.subscribe());
        let subscriber = self
            .client
            .subscribe(filter.to_owned())
            .await
            .map_err(|e| BusError::Unavailable(e.to_string()))?;
        if let Err(e) = barrier(&self.client).await {
            // The SUB stays queued and is sent on reconnect, which then reports a gap: the
            // watch works once NATS is back.
            tracing::warn!(error = %e, "watch not confirmed by NATS; continuing");
        }
        let events = subscriber
            .filter_map(|m| async move {
                from_message(m.subject.as_str(), m.headers.as_ref(), m.payload).ok()
            })
            .map(Watched::Event);
        let client = self.client.clone();
        // After a reconnect the client re-sends its SUBs before any new request: once the
        // barrier passes, this watch is active again and the reader may re-read.
        let gaps = losses.then(move |_| {
            let client = client.clone();
            async move {
                let _ = barrier(&client).await;
                Watched::Gap
            }
        });
        Ok(futures::stream::select(events, gaps).boxed())
    }

    async fn ping(&self) -> Result<(), BusError> {
        match self.client.connection_state() {
            async_nats::connection::State::Connected => Ok(()),
            other => Err(BusError::Unavailable(format!(
                "NATS connection is {other:?}"
            ))),
        }
    }
}
