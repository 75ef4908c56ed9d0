//! Matching: the order on a small hand-checked set, over GraphQL and gRPC; open
//! assignments and ratings kept from order events, idempotently.

use sea_orm::EntityTrait;
use serde_json::json;
use tongxin_platform::events::consumer::{Handler, Outcome, process};
use tongxin_platform::events::{Acker, BusError, Delivery};
use tongxin_platform::grpc::request_as;
use tongxin_proto::volunteers as pb;
use tongxin_proto::volunteers::volunteer_service_client::VolunteerServiceClient;
use tongxin_volunteers::events::consumers::orders::{CONSUMER, OrderLoadHandler};
use tongxin_volunteers::store::load::volunteer_load;
use uuid::Uuid;

use crate::vsupport::*;
use crate::{TestApp, error_code, units};

const SAT_MORNING: &str = "Sat 09:00-12:00";

/// Six volunteers near the order, three of whom must never be proposed:
/// A 300 m, B 1 km, F 600 m: legal, free on Saturday morning, active;
/// C 100 m paused, D 150 m free only on Sunday, E 200 m without the legal skill.
struct Set {
    a: String,
    b: String,
    c: String,
    d: String,
    e: String,
    f: String,
}

async fn hand_checked_set(app: &TestApp) -> Set {
    let set = Set {
        a: register(app, 1, north(300.0), &["legal"], SAT_MORNING).await,
        b: register(app, 2, north(1000.0), &["legal", "medical"], SAT_MORNING).await,
        c: register(app, 3, north(100.0), &["legal"], SAT_MORNING).await,
        d: register(app, 4, north(150.0), &["legal"], "Sun 09:00-12:00").await,
        e: register(app, 5, north(200.0), &["medical"], SAT_MORNING).await,
        f: register(app, 6, north(600.0), &["法律"], "Mon-Sun 08:00-20:00").await,
    };
    let r = app
        .graphql(
            Some(&app.staff(units::HONGQIAO)),
            r#"mutation($id: ID!) { setVolunteerStatus(id: $id, status: PAUSED) { status } }"#,
            json!({ "id": set.c }),
        )
        .await;
    assert_eq!(r["data"]["setVolunteerStatus"]["status"], "PAUSED", "{r}");
    set
}

#[tokio::test]
async fn matching_order_on_a_hand_checked_set() {
    let app = TestApp::spawn().await;
    let set = hand_checked_set(&app).await;
    let staff = app.staff(units::FENGGAO);

    let r = match_legal(&app, &staff, &[]).await;
    assert!(r["errors"].is_null(), "{r}");
    assert_eq!(ids(&r), vec![set.a.clone(), set.f.clone(), set.b.clone()]);
    for never in [&set.c, &set.d, &set.e] {
        assert!(!ids(&r).contains(never));
    }
    let best = &r["data"]["matchCandidates"]["edges"][0]["node"];
    let text_en = best["explanation"]["textEn"].as_str().expect("english");
    let text_zh = best["explanation"]["textZh"].as_str().expect("chinese");
    assert!(
        text_en.starts_with("Score ") && text_en.contains("no open assignments"),
        "{text_en}"
    );
    assert!(text_zh.starts_with("综合得分"), "{text_zh}");
    let parts = ["distancePoints", "loadPoints", "ratingPoints"]
        .iter()
        .map(|p| best["explanation"][p].as_f64().expect("points"))
        .sum::<f64>();
    assert!((parts - best["score"].as_f64().expect("score")).abs() < 1e-9);
    // The candidates live in 虹桥, outside 峰高's scope: their names are masked.
    assert_eq!(best["volunteer"]["name"], "志***");

    // Excluding A (who declined, say) moves F up; count limits the answer.
    let r = match_legal(&app, &staff, &[&set.a]).await;
    assert_eq!(ids(&r), vec![set.f.clone(), set.b.clone()]);

    // Resuming C puts them first: the index follows status changes at once.
    let r = app
        .graphql(
            Some(&app.staff(units::CHANGYUAN)),
            r#"mutation($id: ID!) { setVolunteerStatus(id: $id, status: ACTIVE) { status } }"#,
            json!({ "id": set.c }),
        )
        .await;
    assert!(r["errors"].is_null(), "{r}");
    assert_eq!(ids(&match_legal(&app, &staff, &[]).await)[0], set.c);

    // Bad input and callers who may not ask.
    let bad = |skills: serde_json::Value, s: &str, e: &str, first: i32| {
        json!({ "loc": { "lat": ORDER_AT.0, "lon": ORDER_AT.1 }, "skills": skills,
                "s": s, "e": e, "first": first, "exclude": [] })
    };
    for vars in [
        bad(json!(["juggling"]), SAT_START, SAT_END, 5),
        bad(json!([]), SAT_END, SAT_START, 5),
        bad(json!([]), SAT_START, SAT_END, 0),
        bad(json!([]), "Saturday", SAT_END, 5),
    ] {
        let r = app.graphql(Some(&staff), MATCH, vars.clone()).await;
        assert_eq!(error_code(&r), Some("BAD_USER_INPUT"), "{vars}: {r}");
    }
    let citizen = app.citizen("wechat:someone");
    assert_eq!(
        error_code(&match_legal(&app, &citizen, &[]).await),
        Some("FORBIDDEN")
    );
    let r = app
        .graphql(None, MATCH, bad(json!([]), SAT_START, SAT_END, 5))
        .await;
    assert_eq!(error_code(&r), Some("UNAUTHENTICATED"), "{r}");
    app.stop().await;
}

#[tokio::test]
async fn match_candidates_over_grpc() {
    let app = TestApp::spawn().await;
    let set = hand_checked_set(&app).await;
    let mut client = VolunteerServiceClient::connect(format!("http://{}", app.grpc))
        .await
        .expect("connect");
    let start = chrono::DateTime::parse_from_rfc3339(SAT_START)
        .expect("time")
        .timestamp_millis();
    let request = |count: u32, exclude: Vec<String>| pb::MatchCandidatesRequest {
        location: Some(pb::Location {
            lat: ORDER_AT.0,
            lon: ORDER_AT.1,
        }),
        skills: vec!["legal".to_owned()],
        window_start_ms: start,
        window_end_ms: start + 3_600_000,
        count,
        exclude_volunteer_ids: exclude,
    };
    let staff = staff_principal(units::HONGQIAO);
    let answer = client
        .match_candidates(request_as(
            request(2, vec![set.f.clone()]),
            Some(&app.credential(&staff)),
        ))
        .await
        .expect("match")
        .into_inner();
    let got: Vec<&str> = answer
        .candidates
        .iter()
        .map(|c| c.volunteer.as_ref().expect("volunteer").id.as_str())
        .collect();
    assert_eq!(got, vec![set.a.as_str(), set.b.as_str()]);
    let first = &answer.candidates[0];
    let explanation = first.explanation.as_ref().expect("explanation");
    assert!(explanation.text_zh.starts_with("综合得分"));
    assert!(first.score > answer.candidates[1].score);
    // Staff of 虹桥 see the phone in full.
    assert!(!first.volunteer.as_ref().expect("v").phone_masked);
    let _ = (&set.c, &set.d, &set.e);

    let err = client
        .match_candidates(request_as(
            request(0, vec![]),
            Some(&app.credential(&staff)),
        ))
        .await
        .expect_err("count 0");
    assert_eq!(err.code(), tonic::Code::InvalidArgument);
    let err = client
        .match_candidates(request_as(request(5, vec![]), None))
        .await
        .expect_err("no principal");
    assert_eq!(err.code(), tonic::Code::Unauthenticated);
    app.stop().await;
}

struct NoAck;

#[async_trait::async_trait]
impl Acker for NoAck {
    async fn ack(&self) -> Result<(), BusError> {
        Ok(())
    }
    async fn nak(&self, _: std::time::Duration) -> Result<(), BusError> {
        Ok(())
    }
    async fn term(&self) -> Result<(), BusError> {
        Ok(())
    }
}

async fn load_of(app: &TestApp, id: &str) -> Option<volunteer_load::Model> {
    volunteer_load::Entity::find_by_id(Uuid::parse_str(id).expect("uuid"))
        .one(&app.db)
        .await
        .expect("load")
}

#[tokio::test]
async fn open_assignments_follow_order_events_idempotently() {
    let app = TestApp::spawn().await;
    let a = register(&app, 1, north(300.0), &["legal"], SAT_MORNING).await;
    let b = register(&app, 2, north(2000.0), &["legal"], SAT_MORNING).await;
    let bus = bus(&app).await;
    let (o1, o2, o3) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());

    // Every move is announced twice (two events for the same move, as a retrying producer
    // would), and a decline before acceptance changes nothing.
    let mut events = Vec::new();
    for _ in 0..2 {
        events.push(order_event("order_accepted", o1, &[&a], None));
        events.push(order_event("order_accepted", o2, &[&a, &b], None));
        events.push(order_event("order_declined", o3, &[], None));
    }
    for r in bus.publish_batch(&events).await {
        r.expect("published");
    }
    // Read the counts once every event is handled, not at the first moment they look right
    // (that moment comes before the repeats are handled, and would hide a double count).
    let ids: Vec<Uuid> = events.iter().map(|e| e.id).collect();
    assert_eq!(wait_settled(&app, CONSUMER, &ids).await, (ids.len(), 0));
    let (la, lb) = (load_of(&app, &a).await, load_of(&app, &b).await);
    assert_eq!(
        (
            la.map(|l| l.open_assignments),
            lb.map(|l| l.open_assignments)
        ),
        (Some(2), Some(1))
    );
    // The index of the running service catches up through its refresh.
    let staff = app.staff(units::HONGQIAO);
    assert!(
        eventually(|| async {
            let r = match_legal(&app, &staff, &[]).await;
            r["data"]["matchCandidates"]["edges"][0]["node"]["openAssignments"] == 2
        })
        .await
    );

    // Completing o1 and rating it 5, each twice; B gives o2 back (declined after
    // accepting: the order lists only A now).
    let mut events = Vec::new();
    for _ in 0..2 {
        events.push(order_event("order_completed", o1, &[&a], None));
        events.push(order_event("order_rated", o1, &[&a], Some(5)));
        events.push(order_event("order_declined", o2, &[&a], None));
    }
    for r in bus.publish_batch(&events).await {
        r.expect("published");
    }
    let ids: Vec<Uuid> = events.iter().map(|e| e.id).collect();
    assert_eq!(wait_settled(&app, CONSUMER, &ids).await, (ids.len(), 0));
    let (la, lb) = (
        load_of(&app, &a).await.expect("a"),
        load_of(&app, &b).await.expect("b"),
    );
    assert_eq!(
        (la.open_assignments, la.rating_count, la.rating_sum),
        (1, 1, 5)
    );
    assert_eq!(lb.open_assignments, 0);
    assert!(
        eventually(|| async {
            let r = match_legal(&app, &staff, &[]).await;
            let node = &r["data"]["matchCandidates"]["edges"][0]["node"];
            node["openAssignments"] == 1 && node["ratingCount"] == 1 && node["ratingAverage"] == 5.0
        })
        .await
    );

    // The very same event delivered twice: the second delivery is a duplicate.
    let cancel = order_event("order_cancelled", o2, &[&a], None);
    for expected in [Outcome::Applied, Outcome::Duplicate] {
        let outcome = process(
            &app.db,
            tongxin_volunteers::events::consumers::orders::CONSUMER,
            5,
            &OrderLoadHandler as &dyn Handler,
            Delivery {
                event: cancel.clone(),
                attempt: 1,
                acker: Box::new(NoAck),
            },
        )
        .await
        .expect("process");
        assert_eq!(outcome, expected);
    }
    let la = load_of(&app, &a).await.expect("a");
    assert_eq!((la.open_assignments, la.rating_count), (0, 1));
    app.stop().await;
}
