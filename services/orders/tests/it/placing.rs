//! Placing: routing to each level, idempotency (sequential and concurrent), bad input,
//! venues down, likely duplicates, the phone at rest and in responses.

use serde_json::json;
use tongxin_venues::demo;

use crate::{CAIJIABA_POINT, TestApp, Venues, error_code, paths};

#[tokio::test]
async fn routes_to_the_category_level_along_the_courtyard_chain() {
    let app = TestApp::spawn().await;
    for (category, path, level) in [
        ("elder_visit", paths::CAIJIABA, "COURTYARD"),
        ("legal_consult", paths::HONGQIAO, "STATION"),
        ("health_lecture", paths::CHANGYUAN, "INSTITUTE"),
        ("major_event", paths::CENTER, "CENTER"),
    ] {
        let form = match category {
            "elder_visit" => json!([{"key": "people", "value": "2"}]),
            "legal_consult" => json!([{"key": "matter", "value": "劳动争议"}]),
            "health_lecture" => json!([{"key": "audience", "value": "30"}]),
            _ => {
                json!([{"key": "participants", "value": "300"}, {"key": "date", "value": "2026-12-20"}])
            }
        };
        let r = app
            .place("alice", category, form, CAIJIABA_POINT, category)
            .await;
        let order = &r["data"]["placeOrder"];
        assert_eq!(order["holdingUnitPath"], path, "{category}: {r}");
        assert_eq!(order["holdingLevel"], level);
        assert_eq!(order["state"], "PLACED");
        assert_eq!(
            order["courtyard"]["id"],
            demo::unit_id(paths::CAIJIABA).0.to_string()
        );
        assert_eq!(
            order["holdingUnit"]["id"],
            demo::unit_id(path).0.to_string()
        );
        assert_eq!(order["routingNote"], "");
        // The citizen sees their own phone in full.
        assert_eq!(order["contactPhone"], "13812345678");
    }
    app.stop().await;
}

#[tokio::test]
async fn the_same_key_gives_the_same_order_sequentially_and_concurrently() {
    let app = TestApp::spawn().await;
    let first = app.place_ok("alice", "elder_visit", "k-1").await;
    let again = app.place_ok("alice", "elder_visit", "k-1").await;
    assert_eq!(first, again);
    // Another citizen's same key is another order.
    let bob = app.place_ok("bob", "elder_visit", "k-1").await;
    assert_ne!(first, bob);
    assert_eq!(app.order_count().await, 2);

    let racers = (0..8).map(|_| app.place_ok("carol", "elder_visit", "k-race"));
    let ids = futures::future::join_all(racers).await;
    assert!(ids.iter().all(|id| id == &ids[0]), "{ids:?}");
    assert_eq!(app.order_count().await, 3);
    assert_eq!(app.timeline_events(&ids[0]).await, vec!["placed"]);

    // A retry that would no longer pass (the category has left the menu since) still gets
    // the order it placed; a new key with the same input is refused.
    use sea_orm::ConnectionTrait;
    app.db
        .execute_unprepared("UPDATE categories SET active = false WHERE code = 'elder_visit'")
        .await
        .expect("deactivate");
    assert_eq!(app.place_ok("alice", "elder_visit", "k-1").await, first);
    let r = app
        .place(
            "alice",
            "elder_visit",
            json!([{"key": "people", "value": "1"}]),
            CAIJIABA_POINT,
            "k-2",
        )
        .await;
    assert_eq!(error_code(&r), Some("BAD_USER_INPUT"), "{r}");
    assert_eq!(app.order_count().await, 3);
    app.stop().await;
}

#[tokio::test]
async fn bad_input_is_refused_and_stores_nothing() {
    let app = TestApp::spawn().await;
    let people = json!([{"key": "people", "value": "1"}]);
    let cases = [
        (
            "unknown category",
            "no_such_thing",
            people.clone(),
            CAIJIABA_POINT,
            "BAD_USER_INPUT",
        ),
        (
            "missing required field",
            "elder_visit",
            json!([]),
            CAIJIABA_POINT,
            "BAD_USER_INPUT",
        ),
        (
            "wrong type",
            "elder_visit",
            json!([{"key": "people", "value": "two"}]),
            CAIJIABA_POINT,
            "BAD_USER_INPUT",
        ),
        (
            "unknown field",
            "elder_visit",
            json!([{"key": "people", "value": "1"}, {"key": "pets", "value": "1"}]),
            CAIJIABA_POINT,
            "BAD_USER_INPUT",
        ),
        (
            "outside the district",
            "elder_visit",
            people.clone(),
            (39.9, 116.4),
            "BAD_USER_INPUT",
        ),
        (
            "not a point",
            "elder_visit",
            people.clone(),
            (95.0, 105.5),
            "BAD_USER_INPUT",
        ),
    ];
    for (i, (what, category, form, point, code)) in cases.into_iter().enumerate() {
        let r = app
            .place("alice", category, form, point, &format!("bad-{i}"))
            .await;
        assert_eq!(error_code(&r), Some(code), "{what}: {r}");
    }
    let r = app
        .graphql(
            Some(&app.citizen("alice")),
            crate::PLACE,
            json!({"input": {"category": "elder_visit", "description": "x",
                "form": [{"key": "people", "value": "1"}],
                "location": {"lat": CAIJIABA_POINT.0, "lon": CAIJIABA_POINT.1},
                "contactPhone": "12345", "idempotencyKey": "bad-phone"}}),
        )
        .await;
    assert_eq!(error_code(&r), Some("BAD_USER_INPUT"), "{r}");
    // Staff do not place orders; nobody anonymous does.
    let r = app
        .graphql(
            Some(&app.staff(paths::CAIJIABA)),
            crate::PLACE,
            json!({"input": {"category": "elder_visit", "description": "x",
                "form": [{"key": "people", "value": "1"}],
                "location": {"lat": CAIJIABA_POINT.0, "lon": CAIJIABA_POINT.1},
                "contactPhone": "13812345678", "idempotencyKey": "staff"}}),
        )
        .await;
    assert_eq!(error_code(&r), Some("FORBIDDEN"), "{r}");
    let r = app.graphql(None, crate::PLACE, json!({"input": {"category": "elder_visit", "description": "x",
                "location": {"lat": 29.4, "lon": 105.5}, "contactPhone": "13812345678", "idempotencyKey": "anon"}})).await;
    assert_eq!(error_code(&r), Some("UNAUTHENTICATED"), "{r}");
    assert_eq!(app.order_count().await, 0);
    app.stop().await;
}

#[tokio::test]
async fn venues_down_routes_to_the_district_center_with_a_note() {
    let app = TestApp::spawn_with(Venues::Down).await;
    let r = app
        .place(
            "alice",
            "elder_visit",
            json!([{"key": "people", "value": "1"}]),
            CAIJIABA_POINT,
            "k",
        )
        .await;
    let order = &r["data"]["placeOrder"];
    assert_eq!(order["holdingUnitPath"], "/rc", "{r}");
    assert_eq!(order["holdingLevel"], "CENTER");
    assert!(order["courtyard"].is_null());
    let note = order["routingNote"].as_str().unwrap_or_default();
    assert!(note.contains("venues was unreachable"), "{note}");
    assert!(note.contains("district rc"), "{note}");
    // Stored once, with its placement on the timeline.
    assert_eq!(app.order_count().await, 1);
    app.stop().await;
}

#[tokio::test]
async fn likely_duplicates_are_flagged_not_refused() {
    let app = TestApp::spawn().await;
    let people = json!([{"key": "people", "value": "1"}]);
    let first = app
        .place("alice", "elder_visit", people.clone(), CAIJIABA_POINT, "a")
        .await;
    assert_eq!(first["data"]["placeOrder"]["likelyDuplicate"], false);
    // ~50 m away, same category, another citizen.
    let near = (CAIJIABA_POINT.0 + 0.0004, CAIJIABA_POINT.1);
    let second = app
        .place("bob", "elder_visit", people.clone(), near, "b")
        .await;
    assert_eq!(
        second["data"]["placeOrder"]["likelyDuplicate"], true,
        "{second}"
    );
    // Another category at the same spot is not a duplicate.
    let third = app
        .place(
            "bob",
            "legal_consult",
            json!([{"key": "matter", "value": "其他"}]),
            CAIJIABA_POINT,
            "c",
        )
        .await;
    assert_eq!(third["data"]["placeOrder"]["likelyDuplicate"], false);
    app.stop().await;
}

/// `(lat, lon)` of CAIJIABA_POINT moved `north` and `east` metres.
fn moved(north: f64, east: f64) -> (f64, f64) {
    use tongxin_platform::geo::METRES_PER_DEGREE;
    let (lat, lon) = CAIJIABA_POINT;
    (
        lat + north / METRES_PER_DEGREE,
        lon + east / (METRES_PER_DEGREE * lat.to_radians().cos()),
    )
}

fn metres(a: (f64, f64), b: (f64, f64)) -> f64 {
    use tongxin_platform::geo::Coordinates;
    let p = |(lat, lon)| Coordinates::parse(lat, lon).expect("point");
    p(a).distance_m(p(b))
}

#[tokio::test]
async fn the_duplicate_radius_is_a_circle_of_100_m() {
    let app = TestApp::spawn().await;
    let people = json!([{"key": "people", "value": "1"}]);
    let a = CAIJIABA_POINT;
    let north = moved(105.0, 0.0);
    // A corner of the 100 m box around `a`, but 120 m away from it.
    let corner = moved(-85.0, -85.0);
    let east = moved(0.0, 95.0);
    assert!((metres(a, north) - 105.0).abs() < 0.5);
    assert!((metres(a, corner) - 120.2).abs() < 0.5);
    assert!((metres(a, east) - 95.0).abs() < 0.5);
    // Only `a` can make any of the others a duplicate.
    for (p, q) in [(north, corner), (north, east), (corner, east)] {
        assert!(metres(p, q) > 130.0);
    }
    for (key, point, duplicate) in [
        ("a", a, false),
        ("north", north, false),
        ("corner", corner, false),
        ("east", east, true),
    ] {
        let r = app
            .place("alice", "elder_visit", people.clone(), point, key)
            .await;
        assert_eq!(
            r["data"]["placeOrder"]["likelyDuplicate"], duplicate,
            "{key}: {r}"
        );
    }
    app.stop().await;
}

#[tokio::test]
async fn the_phone_is_encrypted_at_rest_and_masked_outside_scope() {
    let app = TestApp::spawn().await;
    let id = app.place_ok("alice", "elder_visit", "k").await;
    let row = tongxin_orders::store::orders::get(&app.db, id.parse().expect("uuid"))
        .await
        .expect("get")
        .expect("row");
    assert!(!row.phone_cipher.windows(11).any(|w| w == b"13812345678"));
    // The courtyard's staff (holding unit) see it in full.
    let r = app
        .graphql(
            Some(&app.staff(paths::CAIJIABA)),
            crate::ORDER,
            json!({"id": id}),
        )
        .await;
    assert_eq!(r["data"]["order"]["contactPhone"], "13812345678", "{r}");
    // Staff of another institute: no such order for them.
    let r = app
        .graphql(
            Some(&app.staff(paths::FENGGAO)),
            crate::ORDER,
            json!({"id": id}),
        )
        .await;
    assert_eq!(error_code(&r), Some("NOT_FOUND"), "{r}");
    // Another citizen: not found either.
    let r = app
        .graphql(
            Some(&app.citizen("mallory")),
            crate::ORDER,
            json!({"id": id}),
        )
        .await;
    assert_eq!(error_code(&r), Some("NOT_FOUND"), "{r}");
    // Once escalated, the courtyard keeps sight of it but sees the phone masked.
    let r = app
        .act(&app.staff(paths::CAIJIABA), crate::RECEIVE, &id, json!({}))
        .await;
    assert_eq!(r["data"]["receiveOrder"]["state"], "RECEIVED", "{r}");
    let r = app
        .act(
            &app.staff(paths::CAIJIABA),
            crate::ESCALATE,
            &id,
            json!({"reason": "需要法律志愿者"}),
        )
        .await;
    assert_eq!(
        r["data"]["escalateOrder"]["holdingUnitPath"],
        paths::HONGQIAO,
        "{r}"
    );
    let r = app
        .graphql(
            Some(&app.staff(paths::CAIJIABA)),
            crate::ORDER,
            json!({"id": id}),
        )
        .await;
    assert_eq!(r["data"]["order"]["contactPhone"], "138****5678", "{r}");
    assert_eq!(r["data"]["order"]["contactPhoneMasked"], true);
    app.stop().await;
}

/// A courtyard that moves to another station takes its new orders there at once: every
/// replica forgets the chains it keeps for routing when venues announces the move, instead of
/// climbing the old chain until the cache times out (30 s).
#[tokio::test]
async fn a_moved_courtyard_routes_up_its_new_chain_at_once() {
    let app = TestApp::spawn().await;
    let legal = json!([{"key": "matter", "value": "邻里纠纷"}]);
    let r = app
        .place(
            "wx-move",
            "legal_consult",
            legal.clone(),
            CAIJIABA_POINT,
            "move-0",
        )
        .await;
    assert_eq!(
        r["data"]["placeOrder"]["holdingUnitPath"],
        paths::HONGQIAO,
        "{r}"
    );

    // 蔡家坝 moves under 荣升 (another station, another institute).
    let rongsheng = "/rc/zhisheng/rongsheng";
    app.venues
        .as_ref()
        .expect("venues runs")
        .move_unit(
            &app.staff_principal(paths::CENTER),
            demo::unit_id(paths::CAIJIABA),
            demo::unit_id(rongsheng),
        )
        .await
        .expect("moved");

    // Well within the cache's 30 s, a station-level order from the same point lands at the
    // new station.
    let n = std::sync::atomic::AtomicU32::new(1);
    let landed = tongxin_testing::wait_until(std::time::Duration::from_secs(10), || async {
        let key = format!(
            "move-{}",
            n.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
        );
        let r = app
            .place(
                "wx-move",
                "legal_consult",
                legal.clone(),
                CAIJIABA_POINT,
                &key,
            )
            .await;
        r["data"]["placeOrder"]["holdingUnitPath"] == rongsheng
    })
    .await;
    assert!(landed, "orders kept routing up the old chain");
}
