//! One bus watch per process for every live feed.
//!
//! Order events travel on type subjects (`tongxin.orders.order_received`, …), not per-order
//! ones, so a feed that watched the bus itself would receive and decode every move of every
//! order to find the few of its own: with 10,000 citizens watching and 200 moves a second
//! that is two million messages a second into this process, and 10,000 NATS subscriptions.
//! The hub holds the one watch, decodes each event once and hands it to the feeds that
//! asked for its order (or, for an arrival, its unit). A feed costs a map entry and a short
//! queue; the bus sees one subscriber however many watch.
//!
//! The guarantees the feeds build on stay: a subscription is active when
//! [`LiveHub::subscribe`] returns (the watch passed the bus's own barrier before the first
//! one, and the hub routes every event it receives after the entry is in the map), and a
//! possible loss is said as [`Live::Gap`]: the bus reconnected, or a feed's queue was full
//! because its client reads slowly. Either way the feed re-reads the timeline.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};

use futures::StreamExt;
use futures::stream::BoxStream;
use tokio::sync::{Notify, mpsc};
use tongxin_platform::events::{SharedBus, Watched};
use uuid::Uuid;

use super::{ORDER_EVENTS, Progress};
use crate::error::OrdersError;

/// How many items wait for a slow feed before it is told it may have missed some (it then
/// re-reads the timeline, so nothing is lost; the queue only bounds memory).
const QUEUE: usize = 16;

/// What a feed follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Key {
    /// Every move of one order.
    Order(Uuid),
    /// The arrivals at one unit.
    Unit(Uuid),
}

/// What the hub hands a feed.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Live {
    /// A move or notice of what the feed follows.
    Progress(Progress),
    /// Something may have been lost: re-read.
    Gap,
}

/// The process's one watch of order events, shared by every live feed (cheap to clone).
#[derive(Clone)]
pub struct LiveHub {
    inner: Arc<Inner>,
}

struct Inner {
    bus: SharedBus,
    routes: Mutex<Routes>,
    /// One caller at a time starts the watch.
    starting: tokio::sync::Mutex<()>,
}

#[derive(Default)]
struct Routes {
    /// Whether the watch is running (it stops when the bus ends it; the next feed restarts it).
    watching: bool,
    next_id: u64,
    feeds: HashMap<Key, Vec<Slot>>,
}

/// One feed's end of the hub.
struct Slot {
    id: u64,
    queue: mpsc::Sender<Live>,
    signal: Arc<Overflow>,
}

/// Set when a feed's queue was full, so it re-reads instead of silently missing an item.
#[derive(Default)]
struct Overflow {
    lost: AtomicBool,
    wake: Notify,
}

impl Slot {
    fn offer(&self, item: Live) {
        if let Err(mpsc::error::TrySendError::Full(_)) = self.queue.try_send(item) {
            self.signal.lost.store(true, Ordering::Release);
            self.signal.wake.notify_one();
        }
    }
}

impl LiveHub {
    /// A hub over `bus`; it watches only once the first feed subscribes.
    pub fn new(bus: SharedBus) -> Self {
        Self {
            inner: Arc::new(Inner {
                bus,
                routes: Mutex::new(Routes::default()),
                starting: tokio::sync::Mutex::new(()),
            }),
        }
    }

    /// Follows `key`: active when this returns, so whatever commits after it arrives.
    pub(crate) async fn subscribe(&self, key: Key) -> Result<Subscription, OrdersError> {
        self.ensure_watching().await?;
        let (queue, receiver) = mpsc::channel(QUEUE);
        let signal = Arc::new(Overflow::default());
        let mut routes = lock(&self.inner.routes);
        let id = routes.next_id;
        routes.next_id += 1;
        routes.feeds.entry(key).or_default().push(Slot {
            id,
            queue,
            signal: signal.clone(),
        });
        Ok(Subscription {
            receiver,
            signal,
            _entry: Entry {
                hub: Arc::downgrade(&self.inner),
                key,
                id,
            },
        })
    }

    /// How many feeds follow something now (for tests and metrics).
    pub fn feeds(&self) -> usize {
        lock(&self.inner.routes).feeds.values().map(Vec::len).sum()
    }

    async fn ensure_watching(&self) -> Result<(), OrdersError> {
        if lock(&self.inner.routes).watching {
            return Ok(());
        }
        let _one = self.inner.starting.lock().await;
        if lock(&self.inner.routes).watching {
            return Ok(());
        }
        // `watch_gaps` returns once the bus has the subscription: from here on every event
        // published reaches the task below.
        let watch = self
            .inner
            .bus
            .watch_gaps(ORDER_EVENTS)
            .await
            .map_err(|e| OrdersError::Unavailable(e.to_string()))?;
        lock(&self.inner.routes).watching = true;
        tokio::spawn(route(Arc::downgrade(&self.inner), watch));
        Ok(())
    }
}

fn lock(routes: &Mutex<Routes>) -> std::sync::MutexGuard<'_, Routes> {
    // A panic while holding the lock leaves the map itself consistent (every change to it is
    // one call), so a poisoned lock is still usable.
    routes
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The watch: each event decoded once, offered to the feeds of its order and (an arrival)
/// of its unit; a gap to every feed. Ends when the hub is dropped or the bus ends the watch;
/// then every feed ends too (its queue closes), as it would have with a watch of its own.
async fn route(hub: Weak<Inner>, mut watch: BoxStream<'static, Watched>) {
    while let Some(watched) = watch.next().await {
        let Some(inner) = hub.upgrade() else { return };
        let routes = lock(&inner.routes);
        match watched {
            Watched::Gap => {
                for slot in routes.feeds.values().flatten() {
                    slot.offer(Live::Gap);
                }
            }
            Watched::Event(event) => {
                let Some(p) = Progress::from_event(&event) else {
                    continue;
                };
                let unit = p.arrival.map(|_| Key::Unit(p.unit_id));
                for key in std::iter::once(Key::Order(p.order_id)).chain(unit) {
                    for slot in routes.feeds.get(&key).into_iter().flatten() {
                        slot.offer(Live::Progress(p.clone()));
                    }
                }
            }
        }
    }
    if let Some(inner) = hub.upgrade() {
        let mut routes = lock(&inner.routes);
        routes.watching = false;
        routes.feeds.clear();
    }
}

/// A feed's subscription: what the hub routed to it, in order.
pub(crate) struct Subscription {
    receiver: mpsc::Receiver<Live>,
    signal: Arc<Overflow>,
    _entry: Entry,
}

impl Subscription {
    /// The next item; `None` once the watch has ended.
    pub(crate) async fn next(&mut self) -> Option<Live> {
        loop {
            if self.signal.lost.swap(false, Ordering::AcqRel) {
                return Some(Live::Gap);
            }
            tokio::select! {
                biased;
                item = self.receiver.recv() => return item,
                () = self.signal.wake.notified() => {}
            }
        }
    }
}

/// Removes the feed from the hub when the subscription ends (the client went away).
struct Entry {
    hub: Weak<Inner>,
    key: Key,
    id: u64,
}

impl Drop for Entry {
    fn drop(&mut self) {
        let Some(inner) = self.hub.upgrade() else {
            return;
        };
        let mut routes = lock(&inner.routes);
        if let Some(slots) = routes.feeds.get_mut(&self.key) {
            slots.retain(|s| s.id != self.id);
            if slots.is_empty() {
                routes.feeds.remove(&self.key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use chrono::Utc;
    use prost::Message;
    use tongxin_platform::events::Event;
    use tongxin_platform::events::memory::MemoryBus;
    use tongxin_proto::events as pb;

    use super::*;

    fn moved(order: Uuid, unit: Uuid, version: i64, arrival: Option<i64>) -> Event {
        let body = pb::OrderChanged {
            order_id: order.to_string(),
            state: pb::OrderState::Placed as i32,
            holding_unit_id: unit.to_string(),
            holding_level: pb::OrderLevel::Courtyard as i32,
            occurred_at_ms: Utc::now().timestamp_millis(),
            version,
            arrival,
            ..Default::default()
        };
        Event {
            id: Uuid::now_v7(),
            subject: "tongxin.orders.order_placed".to_owned(),
            ce_type: "tongxin.orders.order_placed".to_owned(),
            source: "tongxin/orders".to_owned(),
            time: Utc::now(),
            traceparent: None,
            payload: body.encode_to_vec().into(),
        }
    }

    async fn next(sub: &mut Subscription) -> Live {
        tokio::time::timeout(Duration::from_secs(5), sub.next())
            .await
            .expect("an item within 5 s")
            .expect("the watch is on")
    }

    fn version(item: Live) -> i64 {
        match item {
            Live::Progress(p) => p.version,
            Live::Gap => panic!("a gap where a move was due"),
        }
    }

    #[tokio::test]
    async fn each_feed_gets_its_own_orders_moves_and_its_units_arrivals() {
        let bus: SharedBus = Arc::new(MemoryBus::new());
        let hub = LiveHub::new(bus.clone());
        let (a, b, unit) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        let mut of_a = hub.subscribe(Key::Order(a)).await.unwrap();
        let mut of_b = hub.subscribe(Key::Order(b)).await.unwrap();
        let mut inbox = hub.subscribe(Key::Unit(unit)).await.unwrap();
        bus.publish_batch(&[
            moved(a, unit, 1, Some(7)),
            moved(b, Uuid::now_v7(), 1, Some(1)),
            moved(a, unit, 2, None),
            moved(b, unit, 2, Some(8)),
        ])
        .await;
        assert_eq!(version(next(&mut of_a).await), 1);
        assert_eq!(version(next(&mut of_a).await), 2, "b's moves are not a's");
        assert_eq!(version(next(&mut of_b).await), 1);
        assert_eq!(version(next(&mut of_b).await), 2);
        // The unit's arrivals only: a's placement and b's escalation to it, not a's move
        // within it nor b's placement elsewhere.
        let Live::Progress(first) = next(&mut inbox).await else {
            panic!("an arrival")
        };
        assert_eq!((first.order_id, first.arrival), (a, Some(7)));
        let Live::Progress(second) = next(&mut inbox).await else {
            panic!("an arrival")
        };
        assert_eq!((second.order_id, second.arrival), (b, Some(8)));
    }

    #[tokio::test]
    async fn a_feed_that_falls_behind_is_told_of_a_gap_and_goes_on() {
        let bus: SharedBus = Arc::new(MemoryBus::new());
        let hub = LiveHub::new(bus.clone());
        let (order, unit) = (Uuid::now_v7(), Uuid::now_v7());
        let mut slow = hub.subscribe(Key::Order(order)).await.unwrap();
        let events: Vec<Event> = (1..=QUEUE as i64 + 5)
            .map(|v| moved(order, unit, v, None))
            .collect();
        bus.publish_batch(&events).await;
        // More than the queue holds came while the feed read nothing: it is told so (and
        // would re-read the timeline) instead of silently missing the overflow.
        let mut versions = Vec::new();
        while let Live::Progress(p) = next(&mut slow).await {
            versions.push(p.version);
        }
        // Then it goes on: what was queued, and what comes later, in order.
        bus.publish_batch(&[moved(order, unit, 99, None)]).await;
        while versions.last() != Some(&99) {
            if let Live::Progress(p) = next(&mut slow).await {
                versions.push(p.version);
            }
        }
        assert!(
            versions.len() <= QUEUE + 1,
            "the queue is bounded: {versions:?}"
        );
        assert!(versions.is_sorted(), "in order: {versions:?}");
    }

    #[tokio::test]
    async fn a_bus_gap_reaches_every_feed_and_a_closed_feed_leaves() {
        let bus: SharedBus = Arc::new(MemoryBus::new());
        let hub = LiveHub::new(bus.clone());
        let order = Uuid::now_v7();
        let mut one = hub.subscribe(Key::Order(order)).await.unwrap();
        let two = hub.subscribe(Key::Order(order)).await.unwrap();
        let mut other = hub.subscribe(Key::Unit(Uuid::now_v7())).await.unwrap();
        assert_eq!(hub.feeds(), 3);
        drop(two);
        assert_eq!(hub.feeds(), 2, "a feed whose client went away is forgotten");
        // The in-process bus says Gap when its buffer overwrote what the hub had not read.
        let flood: Vec<Event> = (0..5_000)
            .map(|v| moved(Uuid::now_v7(), Uuid::now_v7(), v, None))
            .collect();
        bus.publish_batch(&flood).await;
        assert_eq!(next(&mut one).await, Live::Gap);
        assert_eq!(next(&mut other).await, Live::Gap);
    }
}
