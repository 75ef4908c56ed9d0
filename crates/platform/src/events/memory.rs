//! The in-process bus for `tongxin run`: one process, no broker, nothing survives a restart.
//!
//! Durable consumers get their own queue; a nak puts the event back after its delay with the
//! attempt count raised, so the consumer logic (idempotency, parking) is the same as on NATS.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use futures::StreamExt;
use futures::stream::BoxStream;
use tokio::sync::{broadcast, mpsc};
use tokio_stream::wrappers::errors::BroadcastStreamRecvError;
use tokio_stream::wrappers::{BroadcastStream, UnboundedReceiverStream};

use super::{Acker, BusError, ConsumerSpec, Delivery, Event, EventBus, Watched, subject_matches};

type Queue = mpsc::UnboundedSender<(Event, i64)>;

/// Broadcast for watches, one queue per durable consumer.
#[derive(Clone)]
pub struct MemoryBus {
    live: broadcast::Sender<Event>,
    durables: Arc<Mutex<Vec<(String, Queue)>>>,
}

impl Default for MemoryBus {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryBus {
    /// An empty bus.
    pub fn new() -> Self {
        let (live, _) = broadcast::channel(4096);
        Self {
            live,
            durables: Arc::new(Mutex::new(Vec::new())),
        }
    }
}

struct MemoryAcker {
    event: Event,
    attempt: i64,
    queue: Queue,
}

#[async_trait]
impl Acker for MemoryAcker {
    async fn ack(&self) -> Result<(), BusError> {
        Ok(())
    }
    async fn nak(&self, delay: Duration) -> Result<(), BusError> {
        let (event, attempt, queue) = (self.event.clone(), self.attempt + 1, self.queue.clone());
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            let _ = queue.send((event, attempt));
        });
        Ok(())
    }
    async fn term(&self) -> Result<(), BusError> {
        Ok(())
    }
}

#[async_trait]
impl EventBus for MemoryBus {
    async fn publish_batch(&self, events: &[Event]) -> Vec<Result<(), BusError>> {
        let durables = self.durables.lock().map(|d| d.clone()).unwrap_or_default();
        for event in events {
            for (filter, queue) in &durables {
                if subject_matches(filter, &event.subject) {
                    let _ = queue.send((event.clone(), 1));
                }
            }
            // No live watcher is not an error.
            let _ = self.live.send(event.clone());
        }
        events.iter().map(|_| Ok(())).collect()
    }

    async fn durable(&self, spec: &ConsumerSpec) -> Result<BoxStream<'static, Delivery>, BusError> {
        let (tx, rx) = mpsc::unbounded_channel();
        if let Ok(mut durables) = self.durables.lock() {
            durables.push((spec.filter.clone(), tx.clone()));
        }
        let max_deliver = spec.max_deliver;
        Ok(UnboundedReceiverStream::new(rx)
            .filter(move |(_, attempt)| futures::future::ready(*attempt <= max_deliver))
            .map(move |(event, attempt)| Delivery {
                acker: Box::new(MemoryAcker {
                    event: event.clone(),
                    attempt,
                    queue: tx.clone(),
                }),
                event,
                attempt,
            })
            .boxed())
    }

    async fn watch(&self, filter: &str) -> Result<BoxStream<'static, Event>, BusError> {
        let filter = filter.to_owned();
        Ok(BroadcastStream::new(self.live.subscribe())
            .filter_map(move |e| {
                let keep = e.ok().filter(|e| subject_matches(&filter, &e.subject));
                futures::future::ready(keep)
            })
            .boxed())
    }

    async fn watch_gaps(&self, filter: &str) -> Result<BoxStream<'static, Watched>, BusError> {
        let filter = filter.to_owned();
        // The receiver exists once `subscribe` returns: nothing published later is missed,
        // except by a reader so slow that the channel overwrote what it had not read.
        Ok(BroadcastStream::new(self.live.subscribe())
            .filter_map(move |e| {
                let item = match e {
                    Ok(e) if subject_matches(&filter, &e.subject) => Some(Watched::Event(e)),
                    Ok(_) => None,
                    Err(BroadcastStreamRecvError::Lagged(_)) => Some(Watched::Gap),
                };
                futures::future::ready(item)
            })
            .boxed())
    }

    async fn ping(&self) -> Result<(), BusError> {
        Ok(())
    }
}
