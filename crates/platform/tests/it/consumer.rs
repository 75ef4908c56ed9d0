//! Durable consumers: a redelivered event is applied once; failing events are parked after
//! a bounded number of deliveries, never looping.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use futures::StreamExt;
use futures::stream::BoxStream;
use sea_orm::{ConnectionTrait, DatabaseTransaction, EntityTrait, PaginatorTrait};
use tongxin_platform::events::consumer::{
    Handler, HandlerError, Outcome, parked, process, processed,
};
use tongxin_platform::events::{
    Acker, BusError, ConsumerSpec, Delivery, Event, EventBus, SharedBus,
};
use tongxin_testing::{TestDb, TestNats, wait_until};
use uuid::Uuid;

use super::{database, nats_bus};

/// Adds 1 to a counter row per applied event: the effect we count.
struct CountingHandler {
    calls: AtomicUsize,
    fail_with: Option<fn() -> HandlerError>,
}

#[async_trait]
impl Handler for CountingHandler {
    async fn handle(&self, txn: &DatabaseTransaction, _event: &Event) -> Result<(), HandlerError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        if let Some(fail) = self.fail_with {
            return Err(fail());
        }
        txn.execute_unprepared("UPDATE effects SET n = n + 1 WHERE id = 1")
            .await
            .map_err(|e| HandlerError::Retry(e.to_string()))?;
        Ok(())
    }
}

async fn effect_count(db: &sea_orm::DatabaseConnection) -> i64 {
    use sea_orm::{FromQueryResult, Statement};
    #[derive(FromQueryResult)]
    struct Row {
        n: i64,
    }
    Row::find_by_statement(Statement::from_string(
        db.get_database_backend(),
        "SELECT n FROM effects WHERE id = 1",
    ))
    .one(db)
    .await
    .expect("query")
    .expect("row")
    .n
}

/// An ack that never reaches the server: the process "crashed" right after commit.
struct LostAck;

#[async_trait]
impl Acker for LostAck {
    async fn ack(&self) -> Result<(), BusError> {
        Ok(())
    }
    async fn nak(&self, _: Duration) -> Result<(), BusError> {
        Ok(())
    }
    async fn term(&self) -> Result<(), BusError> {
        Ok(())
    }
}

/// The stream `NatsBus` creates by default.
const STREAM: &str = "TONGXIN";

/// Waits until the server holds nothing for consumer `name` to deliver and nothing awaiting
/// its ack: from then on it can deliver nothing more, so "nothing more arrives" is read off
/// the server instead of waited out. Returns the consumer's info at that point.
async fn settled(nats: &TestNats, name: &str) -> async_nats::jetstream::consumer::Info {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let info = nats.consumer_info(STREAM, name).await;
        if let Some(info) = info.as_ref()
            && info.num_pending == 0
            && info.num_ack_pending == 0
        {
            return info.clone();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "consumer {name} did not settle: {info:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The real bus, but the ack of every first delivery is lost (the consumer "crashed"
/// right after its commit), so JetStream redelivers each event after `ack_wait` while
/// the consumer runs. Records the attempts each event was delivered with.
struct FirstAckLostBus {
    inner: SharedBus,
    attempts: Arc<Mutex<HashMap<Uuid, Vec<i64>>>>,
}

#[async_trait]
impl EventBus for FirstAckLostBus {
    async fn publish_batch(&self, events: &[Event]) -> Vec<Result<(), BusError>> {
        self.inner.publish_batch(events).await
    }
    async fn durable(&self, spec: &ConsumerSpec) -> Result<BoxStream<'static, Delivery>, BusError> {
        let attempts = self.attempts.clone();
        Ok(self
            .inner
            .durable(spec)
            .await?
            .map(move |delivery| {
                if let Ok(mut seen) = attempts.lock() {
                    seen.entry(delivery.event.id)
                        .or_default()
                        .push(delivery.attempt);
                }
                if delivery.attempt == 1 {
                    Delivery {
                        acker: Box::new(LostAck),
                        ..delivery
                    }
                } else {
                    delivery
                }
            })
            .boxed())
    }
    async fn watch(&self, filter: &str) -> Result<BoxStream<'static, Event>, BusError> {
        self.inner.watch(filter).await
    }
    async fn ping(&self) -> Result<(), BusError> {
        self.inner.ping().await
    }
}

fn event(subject: &str) -> Event {
    Event {
        id: Uuid::now_v7(),
        subject: subject.to_owned(),
        ce_type: subject.to_owned(),
        source: "tongxin/test".to_owned(),
        time: chrono::Utc::now(),
        traceparent: None,
        payload: bytes::Bytes::from_static(b"x"),
    }
}

async fn setup() -> (TestDb, TestNats, sea_orm::DatabaseConnection) {
    let test_db = TestDb::new().await;
    let nats = TestNats::start().await;
    let db = database(&test_db).await;
    db.execute_unprepared("CREATE TABLE effects (id int primary key, n bigint not null); INSERT INTO effects VALUES (1, 0)")
        .await
        .expect("effects table");
    (test_db, nats, db)
}

#[tokio::test]
async fn event_delivered_twice_is_applied_once() {
    let (_test_db, nats, db) = setup().await;
    let bus = nats_bus(&nats).await;
    let subject = "tongxin.test.credited";
    assert!(
        bus.publish_batch(&[event(subject)])
            .await
            .iter()
            .all(Result::is_ok)
    );

    let spec = ConsumerSpec {
        name: "test-credit".to_owned(),
        filter: subject.to_owned(),
        max_deliver: 5,
        ack_wait: Duration::from_secs(1),
    };
    let handler = CountingHandler {
        calls: AtomicUsize::new(0),
        fail_with: None,
    };
    let mut deliveries = bus.durable(&spec).await.expect("durable");

    // First delivery: applied and committed, but the ack is lost.
    let first = deliveries.next().await.expect("first delivery");
    assert_eq!(first.attempt, 1);
    let first = Delivery {
        acker: Box::new(LostAck),
        ..first
    };
    assert_eq!(
        process(&db, &spec.name, spec.max_deliver, &handler, first)
            .await
            .expect("process"),
        Outcome::Applied
    );

    // NATS redelivers after ack_wait: the same event again.
    let second = tokio::time::timeout(Duration::from_secs(10), deliveries.next())
        .await
        .expect("redelivery within ack_wait")
        .expect("second delivery");
    assert_eq!(second.attempt, 2);
    assert_eq!(
        process(&db, &spec.name, spec.max_deliver, &handler, second)
            .await
            .expect("process"),
        Outcome::Duplicate
    );

    assert_eq!(effect_count(&db).await, 1, "the effect is applied once");
    assert_eq!(
        handler.calls.load(Ordering::SeqCst),
        1,
        "the handler is not even called the second time"
    );
    assert_eq!(
        processed::Entity::find().count(&db).await.expect("count"),
        1
    );
    // Acked for real the second time: the server holds nothing more for this consumer,
    // and it delivered exactly the two we saw.
    let info = settled(&nats, &spec.name).await;
    assert_eq!(info.delivered.consumer_sequence, 2, "{info:?}");
}

#[tokio::test]
async fn failing_event_is_parked_after_bounded_redelivery() {
    let (_test_db, nats, db) = setup().await;
    let bus = nats_bus(&nats).await;
    let subject = "tongxin.test.flaky";
    let sent = event(subject);
    assert!(
        bus.publish_batch(std::slice::from_ref(&sent))
            .await
            .iter()
            .all(Result::is_ok)
    );

    let spec = ConsumerSpec {
        name: "test-flaky".to_owned(),
        filter: subject.to_owned(),
        max_deliver: 3,
        ack_wait: Duration::from_secs(30),
    };
    let handler = CountingHandler {
        calls: AtomicUsize::new(0),
        fail_with: Some(|| HandlerError::Retry("dependency down".to_owned())),
    };
    let mut deliveries = bus.durable(&spec).await.expect("durable");
    let mut outcomes = Vec::new();
    for _ in 0..spec.max_deliver {
        let delivery = tokio::time::timeout(Duration::from_secs(10), deliveries.next())
            .await
            .expect("redelivered after the nak's backoff")
            .expect("delivery");
        outcomes.push(
            process(&db, &spec.name, spec.max_deliver, &handler, delivery)
                .await
                .expect("process"),
        );
    }
    assert_eq!(
        outcomes,
        vec![Outcome::Retrying, Outcome::Retrying, Outcome::Parked]
    );
    // Bounded: terminated after the third, the server holds nothing more to deliver.
    let info = settled(&nats, &spec.name).await;
    assert_eq!(info.delivered.consumer_sequence, 3, "{info:?}");
    assert_eq!(handler.calls.load(Ordering::SeqCst), 3);
    assert_eq!(
        effect_count(&db).await,
        0,
        "a failed attempt leaves nothing behind"
    );
    let parked = parked::Entity::find().all(&db).await.expect("parked");
    assert_eq!(parked.len(), 1);
    assert_eq!(parked[0].event_id, sent.id);
    assert_eq!(parked[0].attempts, 3);
    assert_eq!(
        processed::Entity::find().count(&db).await.expect("count"),
        0,
        "a parked event is not marked processed"
    );
}

#[tokio::test]
async fn poison_event_is_parked_at_once() {
    let (_test_db, nats, db) = setup().await;
    let bus = nats_bus(&nats).await;
    let subject = "tongxin.test.poison";
    assert!(
        bus.publish_batch(&[event(subject)])
            .await
            .iter()
            .all(Result::is_ok)
    );

    let spec = ConsumerSpec {
        name: "test-poison".to_owned(),
        filter: subject.to_owned(),
        max_deliver: 5,
        ack_wait: Duration::from_secs(1),
    };
    let handler = CountingHandler {
        calls: AtomicUsize::new(0),
        fail_with: Some(|| HandlerError::Poison("undecodable body".to_owned())),
    };
    let mut deliveries = bus.durable(&spec).await.expect("durable");
    let delivery = deliveries.next().await.expect("delivery");
    assert_eq!(
        process(&db, &spec.name, spec.max_deliver, &handler, delivery)
            .await
            .expect("process"),
        Outcome::Parked
    );
    // Terminated: nothing awaits an ack, so nothing is redelivered after ack_wait; one
    // delivery in all.
    let info = settled(&nats, &spec.name).await;
    assert_eq!(info.delivered.consumer_sequence, 1, "{info:?}");
    assert_eq!(handler.calls.load(Ordering::SeqCst), 1);
    assert_eq!(parked::Entity::find().count(&db).await.expect("count"), 1);
}

#[tokio::test]
async fn run_consumer_applies_redelivered_events_once_while_running() {
    let (_test_db, nats, db) = setup().await;
    let attempts = Arc::new(Mutex::new(HashMap::new()));
    let bus: SharedBus = Arc::new(FirstAckLostBus {
        inner: Arc::new(nats_bus(&nats).await),
        attempts: attempts.clone(),
    });
    let subject = "tongxin.test.applied";
    let batch: Vec<Event> = (0..20).map(|_| event(subject)).collect();
    assert!(bus.publish_batch(&batch).await.iter().all(Result::is_ok));
    // (Publishing the batch again would prove nothing here: JetStream's duplicate window
    // drops it before any consumer sees it. The redeliveries come from lost acks.)

    let spec = ConsumerSpec {
        name: "test-run".to_owned(),
        filter: subject.to_owned(),
        max_deliver: 5,
        // Long enough to handle all 20 redeliveries before any of them is due again.
        ack_wait: Duration::from_secs(2),
    };
    let handler = Arc::new(CountingHandler {
        calls: AtomicUsize::new(0),
        fail_with: None,
    });
    let stop = tokio_util::sync::CancellationToken::new();
    let task = tokio::spawn(tongxin_platform::events::consumer::run_consumer(
        db.clone(),
        bus.clone(),
        spec.clone(),
        handler.clone(),
        stop.clone(),
    ));

    // Every event delivered again after its lost ack, and the server holding nothing more:
    // the consumer has handled every delivery it will ever get, and is still running.
    let redelivered_all = || {
        let seen = attempts.lock().expect("attempts");
        seen.len() == batch.len() && seen.values().all(|a| a.iter().any(|n| *n >= 2))
    };
    assert!(
        wait_until(Duration::from_secs(20), || async { redelivered_all() }).await,
        "every event redelivered after its lost ack: {:?}",
        attempts.lock().map(|a| a.clone())
    );
    let info = settled(&nats, &spec.name).await;
    assert!(!task.is_finished(), "the consumer is still running");
    assert_eq!(
        effect_count(&db).await,
        20,
        "each event applied once, not more"
    );
    assert_eq!(
        handler.calls.load(Ordering::SeqCst),
        20,
        "the handler is not called for a redelivery"
    );
    assert_eq!(
        processed::Entity::find().count(&db).await.expect("count"),
        20
    );
    // The redelivery was acked: each event came exactly twice, the second time a duplicate.
    let seen = attempts.lock().expect("attempts").clone();
    assert!(
        seen.values().all(|a| a == &[1, 2]),
        "each event delivered twice, then acked: {seen:?}"
    );
    assert_eq!(info.delivered.consumer_sequence, 40, "{info:?}");

    stop.cancel();
    task.await.expect("task").expect("consumer");
}
