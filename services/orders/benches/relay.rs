//! `make bench` for the outbox relay (issue 18): events per second from committed outbox rows
//! to JetStream acknowledgements, against raw async-nats JetStream publish-with-ack of the
//! same events in the same run.
//!
//! The orders database (its migrations, so its outbox table and indexes) on PostgreSQL and a
//! NATS server of this bench's own, with the TONGXIN stream as the services create it. Each
//! repetition commits N `order_placed` rows in bulk (not timed), starts the platform's
//! [`OutboxRelay`] with the configured batch, and times until no row is left unpublished
//! (a row is marked only after its ack). The baseline publishes the same N events (same
//! subject, headers and body size) straight to JetStream from one client, in windows of the
//! relay's batch size: all publishes of a window sent, then its acks awaited, which is what
//! the relay does with a round. Repetitions alternate the two; figures are medians.
//! Goal: the relay ≥ 0.5× the raw publisher.
//!
//! `BENCH_SECONDS` (default 10) scales N (2,000 events per second of it), `BENCH_REPS`
//! (default 3) the repetitions.

use std::time::{Duration, Instant};

use async_nats::HeaderMap;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement};
use sea_orm_migration::MigratorTrait;
use tokio_util::sync::CancellationToken;
use tongxin_platform::config::EventsSettings;
use tongxin_platform::events::headers;
use tongxin_platform::events::outbox::OutboxRelay;
use tongxin_testing::bench::{self, Figure, Goal, Scenario, median};
use tongxin_testing::profile::Profiler;
use tongxin_testing::{TestDb, TestNats};
use uuid::Uuid;

/// The size of an `order_placed` body, near enough: ids and codes only.
const BODY_BYTES: usize = 300;

fn subject() -> String {
    tongxin_orders::events::subject("placed")
}

/// Commits `n` unpublished outbox rows in one statement.
async fn commit_rows(db: &DatabaseConnection, n: usize) -> anyhow::Result<()> {
    db.execute_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "INSERT INTO outbox_events (event_id, subject, source, payload, traceparent, created_at) \
         SELECT gen_random_uuid(), $1, $2, $3, NULL, now() FROM generate_series(1, $4)",
        [
            subject().into(),
            tongxin_orders::events::SOURCE.into(),
            body().into(),
            i64::try_from(n)?.into(),
        ],
    ))
    .await?;
    Ok(())
}

fn body() -> Vec<u8> {
    (0..BODY_BYTES).map(|i| (i * 31 % 251) as u8).collect()
}

async fn backlog(db: &DatabaseConnection) -> anyhow::Result<i64> {
    let row = db
        .query_one_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT count(*) AS n FROM outbox_events WHERE published_at IS NULL",
        ))
        .await?
        .ok_or_else(|| anyhow::anyhow!("count returned no row"))?;
    Ok(row.try_get("", "n")?)
}

/// The relay draining `n` committed rows: events per second.
async fn relay_run(
    db: &DatabaseConnection,
    settings: &EventsSettings,
    n: usize,
) -> anyhow::Result<f64> {
    commit_rows(db, n).await?;
    let bus = tongxin_platform::events::connect(settings).await?;
    let relay = OutboxRelay::new(
        db.clone(),
        bus,
        settings.relay_batch,
        Duration::from_millis(settings.relay_interval_ms),
    );
    let stop = CancellationToken::new();
    let started = Instant::now();
    let running = tokio::spawn(relay.run(stop.clone()));
    // Bounded: a relay that cannot drain within a minute per 10,000 events is a failure.
    let deadline = started + Duration::from_secs(60 * (1 + n as u64 / 10_000));
    let elapsed = loop {
        if backlog(db).await? == 0 {
            break started.elapsed();
        }
        anyhow::ensure!(Instant::now() < deadline, "the relay left rows unpublished");
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    stop.cancel();
    let _ = running.await;
    Ok(n as f64 / elapsed.as_secs_f64())
}

/// The headers the relay sends with an event (`nats.rs` `to_headers`), for the raw publisher.
fn event_headers(id: Uuid) -> HeaderMap {
    let mut map = HeaderMap::new();
    let id = id.to_string();
    map.insert(headers::MSG_ID, id.as_str());
    map.insert(headers::CE_ID, id.as_str());
    map.insert(headers::CE_TYPE, subject().as_str());
    map.insert(headers::CE_SOURCE, tongxin_orders::events::SOURCE);
    map.insert(headers::CE_TIME, chrono::Utc::now().to_rfc3339().as_str());
    map.insert(headers::CE_SPECVERSION, "1.0");
    map.insert(
        headers::CONTENT_TYPE,
        "application/protobuf; proto=tongxin.events.v1.OrderChanged",
    );
    map
}

/// Raw JetStream publish-with-ack of `n` events in windows of `window`: events per second.
async fn raw_run(
    js: &async_nats::jetstream::Context,
    n: usize,
    window: usize,
) -> anyhow::Result<f64> {
    let payload = bytes::Bytes::from(body());
    let subject = subject();
    let started = Instant::now();
    let mut sent = 0;
    while sent < n {
        let mut acks = Vec::with_capacity(window);
        for _ in 0..window.min(n - sent) {
            acks.push(
                js.publish_with_headers(
                    subject.clone(),
                    event_headers(Uuid::now_v7()),
                    payload.clone(),
                )
                .await?,
            );
        }
        sent += acks.len();
        for ack in
            futures::future::join_all(acks.into_iter().map(std::future::IntoFuture::into_future))
                .await
        {
            ack?;
        }
    }
    Ok(n as f64 / started.elapsed().as_secs_f64())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let n = 2_000 * bench::seconds(10) as usize;
    let reps = std::env::var("BENCH_REPS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3usize)
        .max(1);
    let pg = TestDb::new().await;
    let db = sea_orm::Database::connect(pg.url()).await?;
    tongxin_orders::migration::Migrator::up(&db, None).await?;
    let nats = TestNats::start().await;
    let settings = EventsSettings {
        nats_url: nats.url(),
        ..EventsSettings::default()
    };
    // Creates the stream as the services do.
    let _ = tongxin_platform::events::connect(&settings).await?;
    let mut js = async_nats::jetstream::new(nats.client().await);
    js.set_timeout(Duration::from_secs(5));
    let window = usize::try_from(settings.relay_batch)?;

    // Warm-up: connections, the stream's files, the table's pages.
    relay_run(&db, &settings, 2_000).await?;
    raw_run(&js, 2_000, window).await?;
    let (mut relayed, mut raw) = (Vec::new(), Vec::new());
    for rep in 0..reps {
        // `make profile SCENARIO=relay` samples this process during the first relay run.
        let profiler = Profiler::start(
            if rep == 0 { "bench" } else { "" },
            Profiler::this_process(),
        );
        relayed.push(relay_run(&db, &settings, n).await?);
        profiler.stop().await;
        raw.push(raw_run(&js, n, window).await?);
    }
    let baseline = format!("raw JetStream publish-with-ack, window {window}");
    let mut s = Scenario::new("platform/outbox relay");
    s.add(
        Figure::new(format!("raw publish, {n} events"), median(&raw), "events/s")
            .note(format!("one client, {window} in flight, median of {reps}")),
    );
    s.add(
        Figure::new(
            format!("relay, {n} committed rows → acks"),
            median(&relayed),
            "events/s",
        )
        .baseline(baseline, median(&raw))
        .goal(Goal::RatioAtLeast(0.5))
        .note(format!(
            "batch {window}, {BODY_BYTES}-byte bodies; until no row is unpublished; median of {reps}"
        )),
    );
    s.save()?;
    Ok(())
}
