//! Helpers for the matching, self-service and import tests.

use std::time::Duration;

use prost::Message;
use serde_json::{Value, json};
use tongxin_platform::auth::{Principal, Role};
use tongxin_platform::config::EventsSettings;
use tongxin_platform::events::{Event, SharedBus};
use tongxin_proto::events::{OrderChanged, OrderState};
use uuid::Uuid;

use crate::{REGISTER, TestApp, id_card, units};

/// The Saturday 2026-12-05, 10:00-11:00 China time, in UTC.
pub const SAT_START: &str = "2026-12-05T02:00:00Z";
pub const SAT_END: &str = "2026-12-05T03:00:00Z";
/// Where the orders in these tests are: near 虹桥.
pub const ORDER_AT: (f64, f64) = (29.40, 105.59);

/// A point `metres` north of [`ORDER_AT`].
pub fn north(metres: f64) -> (f64, f64) {
    (ORDER_AT.0 + metres / 111_195.0, ORDER_AT.1)
}

/// Registers a volunteer at 虹桥 with the given facts (as staff of 昌元); returns the id.
pub async fn register(
    app: &TestApp,
    n: u32,
    at: (f64, f64),
    skills: &[&str],
    availability: &str,
) -> String {
    let staff = app.staff(units::CHANGYUAN);
    let input = json!({
        "name": format!("志愿者{n}"),
        "idCardNumber": id_card(&format!("50015319900307{n:03}")),
        "phone": format!("139{n:08}"),
        "homeUnitId": units::id(units::HONGQIAO).to_string(),
        "homeUnitPath": units::HONGQIAO,
        "location": { "lat": at.0, "lon": at.1 },
        "skills": skills,
        "availability": availability,
        "consent": true,
    });
    let r = app
        .graphql(Some(&staff), REGISTER, json!({ "input": input }))
        .await;
    assert!(r["errors"].is_null(), "{r}");
    r["data"]["registerVolunteer"]["id"]
        .as_str()
        .expect("id")
        .to_owned()
}

/// A staff principal of the unit at `path` (for gRPC and direct service calls).
pub fn staff_principal(path: &str) -> Principal {
    Principal {
        subject: format!("staff-{path}"),
        roles: vec![Role::Staff],
        unit: Some(units::id(path)),
        district: Some("rc".to_owned()),
        credential: None,
    }
}

/// A bus on the test's own NATS, to publish events as another service would.
pub async fn bus(app: &TestApp) -> SharedBus {
    tongxin_platform::events::connect(&EventsSettings {
        nats_url: app.nats.url(),
        ..EventsSettings::default()
    })
    .await
    .expect("bus")
}

/// An `OrderChanged` event on `tongxin.orders.<kind>`.
pub fn order_event(kind: &str, order: Uuid, volunteers: &[&str], rating: Option<u32>) -> Event {
    let state = match kind {
        "order_accepted" => OrderState::Accepted,
        "order_completed" => OrderState::Completed,
        "order_cancelled" => OrderState::Cancelled,
        "order_rated" => OrderState::Rated,
        "order_declined" => OrderState::Dispatched,
        _ => OrderState::Unspecified,
    };
    let body = OrderChanged {
        order_id: order.to_string(),
        order_no: "RC-TEST".to_owned(),
        state: state as i32,
        volunteer_ids: volunteers.iter().map(|v| (*v).to_owned()).collect(),
        rating,
        actor: "test".to_owned(),
        ..Default::default()
    };
    Event {
        id: Uuid::now_v7(),
        subject: format!("tongxin.orders.{kind}"),
        ce_type: format!("tongxin.orders.{kind}"),
        source: "tongxin/orders".to_owned(),
        time: chrono::Utc::now(),
        traceparent: None,
        payload: body.encode_to_vec().into(),
    }
}

pub const MATCH: &str = r#"query($loc: VolunteerLocationInput!, $skills: [String!]!, $s: String!, $e: String!, $first: Int!, $exclude: [ID!]!) {
  matchCandidates(location: $loc, skills: $skills, windowStart: $s, windowEnd: $e, first: $first, exclude: $exclude) {
    edges { node { score walkingMinutes openAssignments ratingAverage ratingCount
      volunteer { id name status }
      explanation { distancePoints loadPoints ratingPoints textEn textZh } } }
  }
}"#;

/// `matchCandidates` for a legal task at [`ORDER_AT`] on the Saturday morning.
pub async fn match_legal(app: &TestApp, token: &str, exclude: &[&str]) -> Value {
    app.graphql(
        Some(token),
        MATCH,
        json!({
            "loc": { "lat": ORDER_AT.0, "lon": ORDER_AT.1 },
            "skills": ["legal"],
            "s": SAT_START, "e": SAT_END, "first": 10, "exclude": exclude,
        }),
    )
    .await
}

/// The candidate ids of a `matchCandidates` answer, best first.
pub fn ids(r: &Value) -> Vec<String> {
    r["data"]["matchCandidates"]["edges"]
        .as_array()
        .unwrap_or_else(|| panic!("no candidates: {r}"))
        .iter()
        .map(|e| {
            e["node"]["volunteer"]["id"]
                .as_str()
                .expect("id")
                .to_owned()
        })
        .collect()
}

/// Waits for `check` for up to 15 s.
pub async fn eventually<F, Fut>(check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    tongxin_testing::wait_until(Duration::from_secs(15), check).await
}

/// How a consumer settled some events: (applied, parked). A redelivery of an applied event
/// leaves no trace of its own, so "applied" is the processed-events rows for these ids.
pub async fn settled(app: &TestApp, consumer: &str, ids: &[Uuid]) -> (usize, usize) {
    use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
    use tongxin_platform::events::consumer::{parked, processed};
    let applied = processed::Entity::find()
        .filter(processed::Column::Consumer.eq(consumer))
        .filter(processed::Column::EventId.is_in(ids.iter().copied()))
        .count(&app.db)
        .await
        .expect("processed");
    let parked = parked::Entity::find()
        .filter(parked::Column::Consumer.eq(consumer))
        .filter(parked::Column::EventId.is_in(ids.iter().copied()))
        .count(&app.db)
        .await
        .expect("parked");
    (applied as usize, parked as usize)
}

/// Waits (up to 15 s) until `consumer` has applied or parked every one of `ids`; returns
/// how they settled, (applied, parked).
pub async fn wait_settled(app: &TestApp, consumer: &str, ids: &[Uuid]) -> (usize, usize) {
    let done = eventually(|| async {
        let (applied, parked) = settled(app, consumer, ids).await;
        applied + parked == ids.len()
    })
    .await;
    let outcome = settled(app, consumer, ids).await;
    assert!(
        done,
        "{consumer} did not settle {ids:?} in time: {outcome:?}"
    );
    outcome
}

/// A JetStream API call over plain NATS (the test's own server); the JSON answer.
pub async fn jetstream_api(app: &TestApp, api: &str, body: &Value) -> Value {
    let client = app.nats.client().await;
    let reply = client
        .request(
            format!("$JS.API.{api}"),
            serde_json::to_vec(body).expect("json").into(),
        )
        .await
        .expect("jetstream api");
    let answer: Value = serde_json::from_slice(&reply.payload).expect("json answer");
    assert!(answer["error"].is_null(), "{api}: {answer}");
    answer
}

/// Shrinks the stream's duplicate window to 100 ms (the least JetStream takes), so a test can deliver the same message
/// (same `Nats-Msg-Id`, so the same event id) a second time: within the window JetStream
/// drops the repeat before any consumer sees it, which would hide what a consumer does
/// with a redelivery.
pub async fn shrink_duplicate_window(app: &TestApp) {
    let mut info = jetstream_api(app, "STREAM.INFO.TONGXIN", &json!({})).await;
    let mut config = info["config"].take();
    config["duplicate_window"] = json!(100_000_000);
    let updated = jetstream_api(app, "STREAM.UPDATE.TONGXIN", &config).await;
    assert_eq!(
        updated["config"]["duplicate_window"], 100_000_000,
        "{updated}"
    );
}

/// The highest stream sequence below which durable `consumer` has acknowledged everything.
pub async fn ack_floor(app: &TestApp, consumer: &str) -> u64 {
    let info = jetstream_api(
        app,
        &format!("CONSUMER.INFO.TONGXIN.{consumer}"),
        &json!({}),
    )
    .await;
    info["ack_floor"]["stream_seq"].as_u64().unwrap_or(0)
}
