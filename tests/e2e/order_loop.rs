//! The closed order loop across venues, volunteers and orders, through the router only:
//! 群众点单 → the courtyard receives and passes it up → the station dispatches to a
//! registered volunteer → the volunteer accepts, starts and completes it → 群众评单, watched
//! live on `orderProgress`, and the hours credited by the volunteers service from
//! `tongxin.orders.order_completed`.

use std::time::Duration;

use futures::StreamExt;
use serde_json::{Value, json};
use tongxin_platform::auth::Role;
use tongxin_venues::demo::{self, paths};

use crate::platform::{Platform, Socket, Subgraphs, next_json, subscribe};

/// 蔡家坝小院's own location: its 15-minute circle covers it.
const CAIJIABA_POINT: (f64, f64) = (29.3868, 105.5701);
const HOURS: f64 = 2.5;
const VOLUNTEER_ACCOUNT: &str = "wx-e2e-volunteer";

/// `data.<field>`, or a panic showing the whole response.
fn data<'a>(r: &'a Value, field: &str) -> &'a Value {
    assert!(r["errors"].is_null(), "{field}: {r}");
    &r["data"][field]
}

async fn hours(platform: &Platform, token: &str, id: &str) -> (f64, f64) {
    let r = platform
        .graphql(
            Some(token),
            "query($id: ID!) { volunteer(id: $id) { hours { approved pending } } }",
            json!({ "id": id }),
        )
        .await;
    let h = &data(&r, "volunteer")["hours"];
    (
        h["approved"].as_f64().unwrap_or(-1.0),
        h["pending"].as_f64().unwrap_or(-1.0),
    )
}

/// The next `orderProgress` item as (event, state, holding unit path, actor).
async fn progress(socket: &mut Socket) -> (String, String, String, String) {
    let msg = next_json(socket).await;
    assert_eq!(msg["type"], "next", "{msg}");
    let p = &msg["payload"]["data"]["orderProgress"];
    let text = |k: &str| {
        p[k].as_str()
            .unwrap_or_else(|| panic!("{k}: {msg}"))
            .to_owned()
    };
    (
        text("event"),
        text("state"),
        text("holdingUnitPath"),
        text("actor"),
    )
}

async fn mv(platform: &Platform, token: &str, mutation: &str, field: &str, vars: Value) -> Value {
    let r = platform.graphql(Some(token), mutation, vars).await;
    data(&r, field).clone()
}

#[tokio::test]
async fn an_order_goes_round_the_whole_loop_through_the_router() {
    let platform = Platform::start(Subgraphs::OrderLoop).await;
    let citizen = platform.sign("wx-e2e-citizen", &[Role::Citizen], None);
    let courtyard = platform.sign("staff-caijiaba", &[Role::Staff], Some(paths::CAIJIABA));
    let station = platform.sign("staff-hongqiao", &[Role::Staff], Some(paths::HONGQIAO));
    let volunteer = platform.sign(VOLUNTEER_ACCOUNT, &[Role::Volunteer], None);

    // A person registers as a volunteer of 蔡家坝 with their own account.
    let registered = platform
        .graphql(
            Some(&volunteer),
            "mutation($input: RegisterVolunteerInput!) { registerVolunteer(input: $input) { id volunteerNo name status } }",
            json!({ "input": {
                "name": "李志愿",
                "idCardNumber": tongxin_volunteers::demo::with_check_character("50015319880712003"),
                "phone": "13900001234",
                "homeUnitId": demo::unit_id(paths::CAIJIABA).0.to_string(),
                "homeUnitPath": paths::CAIJIABA,
                "location": { "lat": 29.3872, "lon": 105.5706 },
                "skills": ["elder_care"],
                "availability": "Mon-Sun 00:00-24:00",
                "consent": true,
            }}),
        )
        .await;
    let me = data(&registered, "registerVolunteer");
    assert_eq!(me["status"], "ACTIVE", "{registered}");
    let volunteer_id = me["id"].as_str().expect("id").to_owned();
    let volunteer_no = me["volunteerNo"].as_str().expect("no").to_owned();
    assert_eq!(
        hours(&platform, &volunteer, &volunteer_id).await,
        (0.0, 0.0)
    );

    // 群众点单 at a point 蔡家坝小院 covers.
    let observer = platform.nats.client().await;
    let mut placements = observer
        .subscribe("tongxin.orders.order_placed")
        .await
        .expect("observe placements");
    let placed = platform
        .graphql(
            Some(&citizen),
            "mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { id orderNo state holdingUnitPath holdingLevel courtyard { id } } }",
            json!({ "input": {
                "category": "elder_visit",
                "description": "独居老人需要探访",
                "form": [{ "key": "people", "value": "1" }],
                "location": { "lat": CAIJIABA_POINT.0, "lon": CAIJIABA_POINT.1 },
                "contactPhone": "138 1234 5678",
                "photos": [],
                "idempotencyKey": "e2e-loop-1",
            }}),
        )
        .await;
    let order = data(&placed, "placeOrder");
    assert_eq!(order["state"], "PLACED", "{placed}");
    assert_eq!(order["holdingUnitPath"], paths::CAIJIABA);
    assert_eq!(order["holdingLevel"], "COURTYARD");
    assert_eq!(
        order["courtyard"]["id"],
        demo::unit_id(paths::CAIJIABA).0.to_string()
    );
    let id = order["id"].as_str().expect("id").to_owned();
    let vars = |extra: Value| {
        let mut v = json!({ "id": id });
        if let (Some(v), Some(e)) = (v.as_object_mut(), extra.as_object()) {
            v.extend(e.clone());
        }
        v
    };

    // The citizen watches it from here on. The first message is where the order stands now
    // (placed); every later move follows it, with nothing to wait for in between.
    tokio::time::timeout(Duration::from_secs(15), placements.next())
        .await
        .expect("order_placed published in time")
        .expect("placement");
    drop(placements);
    let mut socket = subscribe(
        &platform.url(),
        &citizen,
        &format!("subscription {{ orderProgress(orderId: \"{id}\") {{ event state holdingUnitPath actor }} }}"),
    )
    .await;
    let mut seen = vec![progress(&mut socket).await];

    // The courtyard receives it and passes it up to the station, with a reason.
    const RECEIVE: &str =
        "mutation($id: ID!) { receiveOrder(orderId: $id) { state holdingUnitPath } }";
    let r = mv(
        &platform,
        &courtyard,
        RECEIVE,
        "receiveOrder",
        vars(json!({})),
    )
    .await;
    assert_eq!(r["state"], "RECEIVED");
    let r = mv(
        &platform,
        &courtyard,
        "mutation($id: ID!, $reason: String!) { escalateOrder(orderId: $id, reason: $reason) { state holdingUnitPath holdingLevel } }",
        "escalateOrder",
        vars(json!({ "reason": "小院本周无空闲助老志愿者" })),
    )
    .await;
    assert_eq!(r["state"], "ESCALATED");
    assert_eq!(r["holdingUnitPath"], paths::HONGQIAO);
    assert_eq!(r["holdingLevel"], "STATION");

    // The station takes it, asks for candidates and dispatches to the suggested volunteer.
    let r = mv(
        &platform,
        &station,
        RECEIVE,
        "receiveOrder",
        vars(json!({})),
    )
    .await;
    assert_eq!(r["state"], "RECEIVED");
    assert_eq!(r["holdingUnitPath"], paths::HONGQIAO);
    let r = mv(
        &platform,
        &station,
        "query($id: ID!) { suggestCandidates(orderId: $id, count: 5) { edges { node { volunteer { id } name walkingMinutes } } } }",
        "suggestCandidates",
        vars(json!({})),
    )
    .await;
    let suggested = &r["edges"][0]["node"];
    assert_eq!(suggested["volunteer"]["id"], volunteer_id.as_str(), "{r}");
    assert_eq!(suggested["name"], "李志愿");
    assert!(
        suggested["walkingMinutes"].as_f64().unwrap_or(99.0) < 15.0,
        "{r}"
    );
    let r = mv(
        &platform,
        &station,
        "mutation($id: ID!, $v: [ID!]!) { dispatchOrder(orderId: $id, volunteerIds: $v) { state dispatchedVolunteers { id } } }",
        "dispatchOrder",
        vars(json!({ "v": [volunteer_id] })),
    )
    .await;
    assert_eq!(r["state"], "DISPATCHED");
    assert_eq!(r["dispatchedVolunteers"], json!([{ "id": volunteer_id }]));

    // The volunteer, signed in with their account, does the work.
    let r = mv(
        &platform,
        &volunteer,
        "mutation($id: ID!) { acceptOrder(orderId: $id) { state contactPhone contactPhoneMasked } }",
        "acceptOrder",
        vars(json!({})),
    )
    .await;
    assert_eq!(r["state"], "ACCEPTED");
    assert_eq!(r["contactPhoneMasked"], false, "who accepted may call: {r}");
    let r = mv(
        &platform,
        &volunteer,
        "mutation($id: ID!) { startOrder(orderId: $id) { state } }",
        "startOrder",
        vars(json!({})),
    )
    .await;
    assert_eq!(r["state"], "IN_PROGRESS");
    let r = mv(
        &platform,
        &volunteer,
        "mutation($id: ID!, $hours: [OrderHoursInput!]!) { completeOrder(orderId: $id, hours: $hours) { state hours { hours volunteer { id } } } }",
        "completeOrder",
        vars(json!({ "hours": [{ "volunteerId": volunteer_id, "hours": HOURS }] })),
    )
    .await;
    assert_eq!(r["state"], "COMPLETED");
    assert_eq!(
        r["hours"],
        json!([{ "hours": HOURS, "volunteer": { "id": volunteer_id } }])
    );

    // 群众评单.
    let r = mv(
        &platform,
        &citizen,
        "mutation($id: ID!) { rateOrder(orderId: $id, rating: 5, comment: \"来得及时，老人很开心\") { state rating } }",
        "rateOrder",
        vars(json!({})),
    )
    .await;
    assert_eq!(r["state"], "RATED");
    assert_eq!(r["rating"], 5);

    // The subscription saw every move, in order, with where the order was and who moved it.
    for _ in 0..8 {
        seen.push(progress(&mut socket).await);
    }
    let expect = |event: &str, state: &str, path: &str, actor: &str| {
        (
            event.to_owned(),
            state.to_owned(),
            path.to_owned(),
            actor.to_owned(),
        )
    };
    assert_eq!(
        seen,
        vec![
            expect("placed", "PLACED", paths::CAIJIABA, "wx-e2e-citizen"),
            expect("received", "RECEIVED", paths::CAIJIABA, "staff-caijiaba"),
            expect("escalated", "ESCALATED", paths::HONGQIAO, "staff-caijiaba"),
            expect("received", "RECEIVED", paths::HONGQIAO, "staff-hongqiao"),
            expect(
                "dispatched",
                "DISPATCHED",
                paths::HONGQIAO,
                "staff-hongqiao"
            ),
            expect("accepted", "ACCEPTED", paths::HONGQIAO, VOLUNTEER_ACCOUNT),
            expect("started", "IN_PROGRESS", paths::HONGQIAO, VOLUNTEER_ACCOUNT),
            expect("completed", "COMPLETED", paths::HONGQIAO, VOLUNTEER_ACCOUNT),
            expect("rated", "RATED", paths::HONGQIAO, "wx-e2e-citizen"),
        ]
    );
    drop(socket);

    // The volunteers service credits the hours from `order_completed`: once that event is
    // in the stream and every consumer has settled everything, the credit is final. Read it
    // then, so a second credit (a redelivery applied twice) would show.
    platform
        .wait_until_consumed("tongxin.orders.order_completed", 1)
        .await;
    assert_eq!(
        hours(&platform, &volunteer, &volunteer_id).await,
        (HOURS, 0.0),
        "approved once, nothing pending"
    );

    // One query, three subgraphs: the order (orders), its units (venues), its volunteer
    // (volunteers).
    let r = platform
        .graphql(
            Some(&station),
            r#"query($id: ID!) { order(id: $id) {
                orderNo state rating
                holdingUnit { id name path kind }
                courtyard { name path parent { name } }
                acceptedVolunteers { id name volunteerNo homeUnitPath }
                hours { hours volunteer { name } }
            } }"#,
            json!({ "id": id }),
        )
        .await;
    let o = data(&r, "order");
    assert_eq!(o["orderNo"], order["orderNo"]);
    assert_eq!(o["state"], "RATED");
    assert_eq!(o["rating"], 5);
    assert_eq!(
        o["holdingUnit"],
        json!({
            "id": demo::unit_id(paths::HONGQIAO).0.to_string(),
            "name": "虹桥社区新时代文明实践站",
            "path": paths::HONGQIAO,
            "kind": "STATION",
        })
    );
    assert_eq!(
        o["courtyard"],
        json!({
            "name": "蔡家坝小院(田园综合体)",
            "path": paths::CAIJIABA,
            "parent": { "name": "虹桥社区新时代文明实践站" },
        })
    );
    assert_eq!(
        o["acceptedVolunteers"],
        json!([{
            "id": volunteer_id,
            "name": "李志愿",
            "volunteerNo": volunteer_no,
            "homeUnitPath": paths::CAIJIABA,
        }])
    );
    assert_eq!(
        o["hours"],
        json!([{ "hours": HOURS, "volunteer": { "name": "李志愿" } }])
    );

    // Every event of the loop, read as another department would: typed by its own header,
    // decodable from proto/, and free of anything personal that went into the loop.
    let subjects = crate::outside_consumer::decode_every_event(
        &platform,
        &[
            "李志愿",
            "13900001234",
            "1234 5678",
            "12345678",
            "500153198807120",
            "独居老人",
            "来得及时",
        ],
    )
    .await;
    for subject in [
        "tongxin.volunteers.volunteer_registered",
        "tongxin.orders.order_placed",
        "tongxin.orders.order_escalated",
        "tongxin.orders.order_completed",
        "tongxin.orders.order_rated",
    ] {
        assert!(
            subjects.contains(subject),
            "{subject} not seen: {subjects:?}"
        );
    }
    platform.stop().await;
}
