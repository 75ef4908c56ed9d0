//! The outbox relay: nothing lost, nothing doubled, across a NATS crash.
//!
//! "Nothing doubled" is counted on the wire (a core NATS subscription, [`PublishTap`]), not
//! in the stream: JetStream drops a repeated `Nats-Msg-Id` within its duplicate window, so
//! the stream would hold each event once even if a relay published everything twice.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_nats::jetstream::{self, consumer::pull};
use async_trait::async_trait;
use futures::StreamExt;
use futures::stream::BoxStream;
use sea_orm::TransactionTrait;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tongxin_platform::events::outbox::{self, OutboxRelay, RelayError};
use tongxin_platform::events::{
    BusError, ConsumerSpec, Delivery, Event, EventBus, SharedBus, headers,
};
use tongxin_testing::{TestDb, TestNats, wait_until};

use super::{database, nats_bus};

const SUBJECT: &str = "tongxin.test.thing_changed";

async fn commit_changes(db: &sea_orm::DatabaseConnection, n: usize) -> HashSet<String> {
    let mut ids = HashSet::new();
    for i in 0..n {
        let txn = db.begin().await.expect("begin");
        let event = outbox::enqueue(
            &txn,
            SUBJECT,
            "tongxin/test",
            format!("change {i}").into_bytes(),
        )
        .await
        .expect("enqueue");
        txn.commit().await.expect("commit");
        ids.insert(event.id.to_string());
    }
    ids
}

/// Every message in the stream: (Nats-Msg-Id, count of messages).
async fn stream_ids(nats: &TestNats) -> (Vec<String>, u64) {
    let js = jetstream::new(nats.client().await);
    let mut stream = js.get_stream("TONGXIN").await.expect("stream");
    let total = stream.info().await.expect("info").state.messages;
    let consumer = stream
        .create_consumer(pull::OrderedConfig {
            filter_subject: SUBJECT.to_owned(),
            ..Default::default()
        })
        .await
        .expect("ordered consumer");
    let mut messages = consumer
        .messages()
        .await
        .expect("messages")
        .take(total as usize);
    let mut ids = Vec::new();
    while let Ok(Some(message)) =
        tokio::time::timeout(Duration::from_secs(5), messages.next()).await
    {
        let message = message.expect("message");
        let id = message
            .headers
            .as_ref()
            .and_then(|h| h.get(headers::MSG_ID))
            .map(|v| v.to_string());
        ids.push(id.expect("every event carries Nats-Msg-Id"));
    }
    (ids, total)
}

/// Matches the events' subject and the sentinel's, on one subscription so they stay in order.
const TAP: &str = "*.test.>";
/// Outside the stream's `tongxin.>`: marks "everything published before now has arrived".
const SENTINEL: &str = "sentinel.test.end";

/// Every publish that reaches the server, seen by a core NATS subscriber before JetStream
/// de-duplicates anything.
struct PublishTap {
    client: async_nats::Client,
    messages: async_nats::Subscriber,
}

impl PublishTap {
    async fn start(nats: &TestNats) -> Self {
        let client = nats.client().await;
        let messages = client.subscribe(TAP).await.expect("tap subscription");
        // The SUB is registered on the server once a PING round trip has returned.
        client.flush().await.expect("flush");
        Self { client, messages }
    }

    /// How often each event id was published so far. Call it once the relays have marked
    /// their rows: a row is marked only after JetStream acked its publish, and the server
    /// has queued that publish to this subscriber by then, so everything published so far
    /// arrives before the sentinel sent now. Nothing is timed: the sentinel is the signal.
    async fn counts(mut self) -> HashMap<String, usize> {
        self.client
            .publish(SENTINEL, bytes::Bytes::new())
            .await
            .expect("sentinel");
        self.client.flush().await.expect("flush");
        let mut counts = HashMap::new();
        loop {
            let message = tokio::time::timeout(Duration::from_secs(10), self.messages.next())
                .await
                .expect("the sentinel comes back")
                .expect("tap open");
            if message.subject.as_str() == SENTINEL {
                return counts;
            }
            let id = message
                .headers
                .as_ref()
                .and_then(|h| h.get(headers::MSG_ID))
                .map(|v| v.to_string())
                .expect("every event carries Nats-Msg-Id");
            *counts.entry(id).or_insert(0) += 1;
        }
    }
}

/// Asserts that `counts` holds exactly the `committed` ids, each published once.
fn assert_published_once_each(counts: &HashMap<String, usize>, committed: &HashSet<String>) {
    let doubled: Vec<_> = counts.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        doubled.is_empty(),
        "{} events published more than once (before de-duplication), e.g. {:?}",
        doubled.len(),
        doubled.iter().take(3).collect::<Vec<_>>()
    );
    let published: HashSet<String> = counts.keys().cloned().collect();
    assert_eq!(
        &published, committed,
        "exactly the committed events were published"
    );
}

/// The real bus, counting what it was asked to publish: the rounds (each relay round is one
/// batch), the last round NATS refused, and the events it acknowledged. A test can then wait
/// until a relay has tried, failed and finished that round, instead of sleeping and hoping
/// it did, and tell which relay did the work.
struct CountingBus {
    inner: SharedBus,
    rounds: watch::Sender<usize>,
    last_failed_round: watch::Sender<Option<usize>>,
    acked: AtomicUsize,
}

impl CountingBus {
    fn new(inner: SharedBus) -> Self {
        Self {
            inner,
            rounds: watch::Sender::new(0),
            last_failed_round: watch::Sender::new(None),
            acked: AtomicUsize::new(0),
        }
    }
}

#[async_trait]
impl EventBus for CountingBus {
    async fn publish_batch(&self, events: &[Event]) -> Vec<Result<(), BusError>> {
        let mut round = 0;
        self.rounds.send_modify(|n| {
            *n += 1;
            round = *n;
        });
        let results = self.inner.publish_batch(events).await;
        let acked = results.iter().filter(|r| r.is_ok()).count();
        self.acked.fetch_add(acked, Ordering::SeqCst);
        if acked < results.len() {
            self.last_failed_round.send_replace(Some(round));
        }
        results
    }
    async fn durable(&self, spec: &ConsumerSpec) -> Result<BoxStream<'static, Delivery>, BusError> {
        self.inner.durable(spec).await
    }
    async fn watch(&self, filter: &str) -> Result<BoxStream<'static, Event>, BusError> {
        self.inner.watch(filter).await
    }
    async fn ping(&self) -> Result<(), BusError> {
        self.inner.ping().await
    }
}

#[tokio::test]
async fn thousand_changes_committed_while_relay_stopped_arrive_once_each() {
    let test_db = TestDb::new().await;
    let nats = TestNats::start().await;
    let db = database(&test_db).await;
    let bus: SharedBus = Arc::new(nats_bus(&nats).await);

    let committed = commit_changes(&db, 1000).await;
    let tap = PublishTap::start(&nats).await;
    let relay = OutboxRelay::new(db.clone(), bus, 256, Duration::from_millis(100));
    assert_eq!(
        relay.backlog().await.expect("backlog"),
        1000,
        "nothing leaves before the relay runs"
    );

    let stop = CancellationToken::new();
    let running = tokio::spawn(relay.clone().run(stop.clone()));
    assert!(
        wait_until(Duration::from_secs(30), || async {
            relay.backlog().await.map(|n| n == 0).unwrap_or(false)
        })
        .await,
        "relay did not drain the outbox"
    );
    stop.cancel();
    running.await.expect("relay task");

    assert_published_once_each(&tap.counts().await, &committed);
    let (ids, total) = stream_ids(&nats).await;
    assert_eq!(total, 1000, "each event exactly once in the stream");
    let distinct: HashSet<String> = ids.into_iter().collect();
    assert_eq!(
        distinct, committed,
        "the stream holds exactly the committed events"
    );
}

#[tokio::test]
async fn nats_killed_and_restarted_halfway_loses_nothing() {
    let test_db = TestDb::new().await;
    let mut nats = TestNats::start().await;
    let db = database(&test_db).await;
    let counting = Arc::new(CountingBus::new(Arc::new(nats_bus(&nats).await)));
    let mut failed = counting.last_failed_round.subscribe();
    let mut rounds = counting.rounds.subscribe();
    let bus: SharedBus = counting.clone();

    let committed = commit_changes(&db, 1000).await;
    // Publish the first 300 by hand so the crash lands exactly halfway, not by timing luck.
    let relay = OutboxRelay::new(db.clone(), bus, 100, Duration::from_millis(50));
    for _ in 0..3 {
        assert_eq!(relay.relay_once().await.expect("round"), 100);
    }
    nats.kill();
    assert_eq!(relay.backlog().await.expect("backlog"), 700);
    // The relay keeps trying while NATS is down, then finishes once it is back.
    let stop = CancellationToken::new();
    let running = tokio::spawn(relay.clone().run(stop.clone()));
    // Wait for a round that NATS refused (its acks timed out) to be over: the relay has
    // started the next one, so it has committed whatever it marked in the refused one. Only
    // then does "still 700" say that it marked nothing it was not acked for.
    let refused = tokio::time::timeout(Duration::from_secs(30), failed.wait_for(Option::is_some))
        .await
        .expect("the relay tried while NATS was down")
        .expect("bus alive")
        .unwrap_or_default();
    tokio::time::timeout(Duration::from_secs(30), rounds.wait_for(|n| *n > refused))
        .await
        .expect("the relay tries again")
        .expect("bus alive");
    assert_eq!(
        relay.backlog().await.expect("backlog"),
        700,
        "nothing is marked sent without an ack"
    );
    nats.restart().await;

    let drained = wait_until(Duration::from_secs(60), || async {
        relay.backlog().await.map(|n| n == 0).unwrap_or(false)
    })
    .await;
    if !drained {
        // Say why: one more round by hand shows what the relay keeps running into.
        panic!(
            "relay did not finish after NATS came back: backlog {:?}, a round now gives {:?}",
            relay.backlog().await,
            relay.relay_once().await
        );
    }
    stop.cancel();
    running.await.expect("relay task");

    let (ids, _) = stream_ids(&nats).await;
    let distinct: HashSet<String> = ids.into_iter().collect();
    assert_eq!(distinct.len(), 1000, "still 1,000 distinct events");
    assert_eq!(distinct, committed, "none lost");
}

/// The client queues at most 2,048 requests while disconnected.
const CLIENT_QUEUE: usize = 2048;

#[tokio::test]
async fn a_round_against_a_dead_nats_fails_within_a_few_timeouts_even_past_the_client_queue() {
    let test_db = TestDb::new().await;
    let mut nats = TestNats::start().await;
    let db = database(&test_db).await;
    let bus: SharedBus = Arc::new(nats_bus(&nats).await);
    // More events than the client can queue: the sends past the queue each wait out the
    // publish timeout (5 s) unless the round gives up on the rest after the first of them.
    let n = CLIENT_QUEUE + 52;
    commit_changes(&db, n).await;
    let relay = OutboxRelay::new(db.clone(), bus, n as u64, Duration::from_millis(50));
    nats.kill();

    // One timeout for the sends, one for the acks awaited together; one per event would be
    // minutes (52 × 5 s for the sends, 2,048 × 5 s for the acks).
    let round = tokio::time::timeout(Duration::from_secs(20), relay.relay_once())
        .await
        .expect("a round against a dead NATS ends within a few timeouts");
    match round {
        Err(RelayError::Bus {
            claimed, failed, ..
        }) => assert_eq!((claimed, failed), (n, n)),
        other => panic!("expected every publish to fail, got {other:?}"),
    }
    assert_eq!(
        relay.backlog().await.expect("backlog"),
        n as u64,
        "nothing marked"
    );
}

#[tokio::test]
async fn rolled_back_change_publishes_nothing() {
    let test_db = TestDb::new().await;
    let nats = TestNats::start().await;
    let db = database(&test_db).await;
    let bus: SharedBus = Arc::new(nats_bus(&nats).await);

    let txn = db.begin().await.expect("begin");
    outbox::enqueue(&txn, SUBJECT, "tongxin/test", b"never".to_vec())
        .await
        .expect("enqueue");
    txn.rollback().await.expect("rollback");

    let relay = OutboxRelay::new(db.clone(), bus, 10, Duration::from_millis(50));
    assert_eq!(relay.relay_once().await.expect("round"), 0);
    let (_, total) = stream_ids(&nats).await;
    assert_eq!(total, 0);
}

// Two worker threads, so the relays' rounds really overlap.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_relays_on_one_database_publish_each_event_once() {
    let test_db = TestDb::new().await;
    let nats = TestNats::start().await;
    let db = database(&test_db).await;
    let committed = commit_changes(&db, 1000).await;
    let tap = PublishTap::start(&nats).await;

    let mut buses = Vec::new();
    let mut relays = Vec::new();
    for _ in 0..2 {
        let bus = Arc::new(CountingBus::new(Arc::new(nats_bus(&nats).await)));
        relays.push(OutboxRelay::new(
            db.clone(),
            bus.clone(),
            10,
            Duration::from_millis(20),
        ));
        buses.push(bus);
    }
    // Both start together, each with its own connection, claiming small batches: a hundred
    // rounds in which both go for the oldest unpublished rows.
    let stop = CancellationToken::new();
    let tasks: Vec<_> = relays
        .iter()
        .map(|relay| tokio::spawn(relay.clone().run(stop.clone())))
        .collect();
    assert!(
        wait_until(Duration::from_secs(30), || async {
            relays[0].backlog().await.map(|n| n == 0).unwrap_or(false)
        })
        .await,
        "relays did not drain"
    );
    stop.cancel();
    for task in tasks {
        task.await.expect("relay");
    }
    // SKIP LOCKED: no event published by both relays. Counted on the wire; the stream
    // alone would hide a doubled publish behind its duplicate window.
    assert_published_once_each(&tap.counts().await, &committed);
    // And it was a race: both relays published a share.
    let shares: Vec<usize> = buses
        .iter()
        .map(|b| b.acked.load(Ordering::SeqCst))
        .collect();
    assert!(
        shares.iter().all(|n| *n > 0),
        "both relays worked: {shares:?}"
    );
    assert_eq!(shares.iter().sum::<usize>(), 1000, "{shares:?}");
    let (ids, total) = stream_ids(&nats).await;
    assert_eq!(total, 1000);
    assert_eq!(ids.into_iter().collect::<HashSet<_>>(), committed);
}
