//! Needs heard in person (issue 17): staff file an order on behalf of a resident (on the
//! phone, at a briefing = a held policy activity in venues), it climbs the same ladder, and
//! its completion records the reply's outcome and raises `tongxin.orders.reply_due` (ids
//! only), after which a department reads the phone and outcome over gRPC with its own
//! credential. Bad input stores nothing; another unit's staff see the resident masked; the
//! channel counts in the unit metrics. And the cadence misses venues announces become one
//! notice each in the units' staff inbox, however often they are delivered.

use std::time::Duration;

use chrono::{Duration as Span, Utc};
use futures::StreamExt;
use prost::Message;
use serde_json::{Value, json};
use tongxin_platform::auth::{Principal, Role};
use tongxin_platform::events::Event;
use tongxin_platform::events::consumer::Handler;
use tongxin_platform::grpc::request_as;
use tongxin_proto::events as pb;
use tongxin_proto::orders::order_service_client::OrderServiceClient;
use tongxin_venues::demo;
use uuid::Uuid;

use super::{ACCEPT, DISPATCH, ESCALATE, RECEIVE, START, TestApp, error_code, paths};

const FILE: &str = r#"mutation($input: FileOrderOnBehalfInput!) { fileOrderOnBehalf(input: $input) {
  id state channel sourceActivityId sourceVisitId filedOnBehalf residentName contactPhone
  contactPhoneMasked holdingUnitPath holdingLevel consent { recordedBy method recordedAt } outcome } }"#;

const COMPLETE_WITH: &str = r#"mutation($id: ID!, $hours: [OrderHoursInput!]!, $outcome: String!) {
  completeOrder(orderId: $id, hours: $hours, outcome: $outcome) { id state outcome } }"#;

const ORDER: &str = r#"query($id: ID!) { order(id: $id) { id state channel residentName contactPhone
  contactPhoneMasked outcome consent { recordedBy method } holdingUnitPath } }"#;

const METRICS: &str = r#"query($unit: ID!, $from: DateTime, $to: DateTime) { unitMetrics(unitId: $unit, from: $from, to: $to) {
  ordersReceived receivedByChannel { channel orders } } }"#;

const NOTICES: &str = r#"query($unit: ID!) { unitNotices(unitId: $unit) { edges { node {
  event unitPath cadence periodStart periodEnd required done streak } } } }"#;

const RESIDENT: &str = "王秀英";
const PHONE: &str = "13987654321";
const OUTCOME: &str = "已上门修好水管,并告知物业后续维护电话。";

fn data<'a>(r: &'a Value, field: &str) -> &'a Value {
    assert!(r["errors"].is_null(), "{field}: {r}");
    &r["data"][field]
}

/// A filing of `channel` with a consent, the elder-visit category and `extra` fields.
fn filing(channel: &str, key: &str, extra: Value) -> Value {
    let mut input = json!({
        "channel": channel,
        "category": "elder_visit",
        "form": [{"key": "people", "value": "1"}],
        "description": "老人家里水管漏水",
        "residentName": RESIDENT,
        "residentPhone": PHONE,
        "consent": {"recordedBy": "李站长", "method": "VERBAL",
            "recordedAt": (Utc::now() - Span::minutes(5)).to_rfc3339()},
        "idempotencyKey": key,
    });
    if let (Some(i), Some(e)) = (input.as_object_mut(), extra.as_object()) {
        i.extend(e.clone());
    }
    json!({ "input": input })
}

/// A held activity of `theme` organised by the unit at `path` (a venue of its own); its id.
async fn activity(
    app: &TestApp,
    path: &str,
    theme: tongxin_venues::domain::activity::Theme,
    held: bool,
) -> Uuid {
    let venues = app.venues.as_ref().expect("venues runs");
    let staff = Principal {
        subject: format!("venue-staff{path}"),
        roles: vec![Role::Staff],
        unit: Some(demo::unit_id(path).0),
        district: Some("rc".into()),
        credential: None,
    };
    let venue = venues
        .create_venue(
            &staff,
            tongxin_venues::service::NewVenue {
                kind: tongxin_venues::domain::venue::VenueKind::Courtyard,
                name: "蔡家坝小院讲堂".into(),
                org_unit_id: demo::unit_id(path).to_string(),
                lat: super::CAIJIABA_POINT.0,
                lon: super::CAIJIABA_POINT.1,
                address: "蔡家坝田园综合体".into(),
                capacity: 60,
                facilities: vec![],
                opening_hours: "9:00-17:00".into(),
                photo_urls: vec![],
            },
        )
        .await
        .unwrap_or_else(|e| panic!("venue: {e:?}"));
    let starts_at = Utc::now() - Span::hours(2);
    let created = venues
        .create_activity(
            &staff,
            tongxin_venues::service::NewActivity {
                theme,
                theme_label: None,
                title: "小院发布会:养老政策".into(),
                venue_id: venue.id.to_string(),
                org_unit_id: demo::unit_id(path).to_string(),
                starts_at,
                ends_at: starts_at + Span::hours(1),
                capacity: 40,
                speakers: vec!["街道干部".into()],
                volunteer_ids: vec![],
            },
        )
        .await
        .unwrap_or_else(|e| panic!("activity: {e:?}"));
    if held {
        venues
            .record_held(&staff, created.id, 35, &[])
            .await
            .unwrap_or_else(|e| panic!("held: {e:?}"));
    }
    created.id.0
}

/// Dispatches `id` (held at `path`) to a new volunteer who accepts and starts; the
/// volunteer's id.
async fn dispatch_and_accept(app: &TestApp, path: &str, id: &str) -> Uuid {
    let v = app.new_volunteer().await;
    let r = app
        .act(
            &app.staff(path),
            DISPATCH,
            id,
            json!({"volunteers": [v.to_string()]}),
        )
        .await;
    assert_eq!(data(&r, "dispatchOrder")["state"], "DISPATCHED");
    let r = app.act(&app.volunteer(v), ACCEPT, id, json!({})).await;
    assert_eq!(data(&r, "acceptOrder")["state"], "ACCEPTED");
    let r = app.act(&app.volunteer(v), START, id, json!({})).await;
    assert_eq!(data(&r, "startOrder")["state"], "IN_PROGRESS");
    v
}

async fn complete(app: &TestApp, v: Uuid, id: &str, outcome: &str) -> Value {
    app.act(
        &app.volunteer(v),
        COMPLETE_WITH,
        id,
        json!({"hours": [{"volunteerId": v.to_string(), "hours": 1.5}], "outcome": outcome}),
    )
    .await
}

async fn received_by_channel(app: &TestApp, path: &str) -> Value {
    let r = app
        .graphql(
            Some(&app.staff(paths::CENTER)),
            METRICS,
            json!({"unit": demo::unit_id(path).to_string(),
                "from": (Utc::now() - Span::hours(1)).to_rfc3339(),
                "to": (Utc::now() + Span::hours(1)).to_rfc3339()}),
        )
        .await;
    data(&r, "unitMetrics").clone()
}

fn count_of(metrics: &Value, channel: &str) -> i64 {
    metrics["receivedByChannel"]
        .as_array()
        .and_then(|a| a.iter().find(|c| c["channel"] == channel))
        .and_then(|c| c["orders"].as_i64())
        .unwrap_or(-1)
}

/// The next `tongxin.orders.reply_due`, decoded from proto/ alone as an outside consumer
/// would, with the raw bytes to search for personal data.
async fn next_reply_due(sub: &mut async_nats::Subscriber) -> (pb::ReplyDue, Vec<u8>) {
    let msg = tokio::time::timeout(Duration::from_secs(15), sub.next())
        .await
        .expect("reply_due in time")
        .expect("message");
    let content_type = msg
        .headers
        .as_ref()
        .and_then(|h| h.get("content-type"))
        .map(|v| v.as_str().to_owned())
        .unwrap_or_default();
    assert!(
        content_type.ends_with("proto=tongxin.events.v1.ReplyDue"),
        "{content_type}"
    );
    let bytes = msg.payload.to_vec();
    (pb::ReplyDue::decode(msg.payload).expect("ReplyDue"), bytes)
}

fn no_pii(bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    for secret in [RESIDENT, PHONE, OUTCOME, "老人家里水管漏水", "李站长"] {
        assert!(!text.contains(secret), "the event carries {secret}");
    }
}

#[tokio::test]
async fn a_need_heard_on_the_phone_climbs_the_ladder_and_the_resident_gets_the_reply() {
    let app = TestApp::spawn().await;
    let nats = app.nats().client().await;
    let mut replies = nats
        .subscribe("tongxin.orders.reply_due")
        .await
        .expect("subscribe");
    let station = app.staff(paths::HONGQIAO);

    // Taken on the phone at 虹桥社区 (no point: it starts at the caller's unit).
    let r = app
        .graphql(Some(&station), FILE, filing("PHONE", "call-1", json!({})))
        .await;
    let filed = data(&r, "fileOrderOnBehalf");
    assert_eq!(filed["channel"], "PHONE");
    assert_eq!(filed["state"], "PLACED");
    assert_eq!(filed["holdingUnitPath"], paths::HONGQIAO);
    assert_eq!(filed["filedOnBehalf"], true);
    assert_eq!(filed["residentName"], RESIDENT);
    assert_eq!(filed["contactPhone"], PHONE);
    assert_eq!(filed["consent"]["method"], "VERBAL");
    assert!(filed["outcome"].is_null());
    let id = filed["id"].as_str().expect("id").to_owned();
    // The same key again is the same order.
    let again = app
        .graphql(Some(&station), FILE, filing("PHONE", "call-1", json!({})))
        .await;
    assert_eq!(data(&again, "fileOrderOnBehalf")["id"], id.as_str());

    // The ladder: received, escalated to 昌元街道, received there, dispatched, accepted.
    let r = app.act(&station, RECEIVE, &id, json!({})).await;
    assert_eq!(data(&r, "receiveOrder")["state"], "RECEIVED");
    let r = app
        .act(
            &station,
            ESCALATE,
            &id,
            json!({"reason": "需要街道协调物业"}),
        )
        .await;
    assert_eq!(
        data(&r, "escalateOrder")["holdingUnitPath"],
        paths::CHANGYUAN
    );
    let institute = app.staff(paths::CHANGYUAN);
    let r = app.act(&institute, RECEIVE, &id, json!({})).await;
    assert_eq!(data(&r, "receiveOrder")["state"], "RECEIVED");

    // Masking: the station passed it up, so its staff now see the resident masked; the
    // institute holding it sees them in full; another institute does not see it at all.
    let r = app.graphql(Some(&station), ORDER, json!({"id": id})).await;
    let seen = data(&r, "order");
    assert_eq!(seen["residentName"], "王**");
    assert_eq!(seen["contactPhoneMasked"], true);
    assert_ne!(seen["contactPhone"], PHONE);
    assert_eq!(seen["consent"]["recordedBy"], "李**");
    let r = app
        .graphql(Some(&institute), ORDER, json!({"id": id}))
        .await;
    assert_eq!(data(&r, "order")["residentName"], RESIDENT);
    let r = app
        .graphql(Some(&app.staff(paths::FENGGAO)), ORDER, json!({"id": id}))
        .await;
    assert_eq!(error_code(&r), Some("NOT_FOUND"), "{r}");

    let v = dispatch_and_accept(&app, paths::CHANGYUAN, &id).await;
    // No reply is owed before completion, even to a department.
    let mut grpc = OrderServiceClient::connect(format!("http://{}", app.grpc))
        .await
        .expect("grpc");
    let service = app.service_credential();
    let ask = |id: &str| tongxin_proto::orders::GetResidentReplyRequest {
        order_id: id.to_owned(),
    };
    let early = grpc
        .get_resident_reply(request_as(ask(&id), Some(&service)))
        .await
        .expect_err("not completed");
    assert_eq!(early.code(), tonic::Code::Aborted, "{early:?}");
    // Completing an order filed on behalf needs the outcome, and at most 1000 characters.
    let r = complete(&app, v, &id, "").await;
    assert_eq!(error_code(&r), Some("BAD_USER_INPUT"), "{r}");
    let r = complete(&app, v, &id, &"字".repeat(1001)).await;
    assert_eq!(error_code(&r), Some("BAD_USER_INPUT"), "{r}");
    let r = app
        .graphql(Some(&institute), ORDER, json!({"id": id}))
        .await;
    assert_eq!(data(&r, "order")["state"], "IN_PROGRESS", "nothing written");
    let r = complete(&app, v, &id, OUTCOME).await;
    let done = data(&r, "completeOrder");
    assert_eq!(done["state"], "COMPLETED");
    assert_eq!(done["outcome"], OUTCOME);

    // The reply is due: ids and codes only.
    let (due, bytes) = next_reply_due(&mut replies).await;
    assert_eq!(due.order_id, id);
    assert_eq!(due.channel, pb::OrderChannel::Phone as i32);
    assert_eq!(due.unit_path, paths::CHANGYUAN);
    assert_eq!(due.district, "rc");
    no_pii(&bytes);

    // The department reads the phone and the outcome with its own service credential.
    let reply = grpc
        .get_resident_reply(request_as(
            tongxin_proto::orders::GetResidentReplyRequest {
                order_id: id.clone(),
            },
            Some(&service),
        ))
        .await
        .expect("reply")
        .into_inner();
    assert_eq!(
        (
            reply.phone.as_str(),
            reply.resident_name.as_str(),
            reply.outcome.as_str()
        ),
        (PHONE, RESIDENT, OUTCOME)
    );
    // The station that passed it up sees it masked, so it may not read the reply.
    let masked = grpc
        .get_resident_reply(request_as(
            ask(&id),
            Some(&app.credential(&app.staff_principal(paths::HONGQIAO))),
        ))
        .await
        .expect_err("masked sight");
    assert_eq!(masked.code(), tonic::Code::PermissionDenied, "{masked:?}");
    // Staff of another institute may not.
    let other = app.credential(&app.staff_principal(paths::FENGGAO));
    let refused = grpc
        .get_resident_reply(request_as(
            tongxin_proto::orders::GetResidentReplyRequest {
                order_id: id.clone(),
            },
            Some(&other),
        ))
        .await
        .expect_err("out of scope");
    assert_eq!(refused.code(), tonic::Code::NotFound, "{refused:?}");
    // The order over gRPC names its channel.
    let order = grpc
        .get_order(request_as(
            tongxin_proto::orders::GetOrderRequest { id: id.clone() },
            Some(&app.credential(&app.staff_principal(paths::CHANGYUAN))),
        ))
        .await
        .expect("order")
        .into_inner();
    assert_eq!(order.channel, pb::OrderChannel::Phone as i32);
    assert_eq!(order.outcome.as_deref(), Some(OUTCOME));

    // In the metrics: one phone order reached 虹桥 and 昌元 each.
    let m = received_by_channel(&app, paths::HONGQIAO).await;
    assert_eq!(
        (count_of(&m, "PHONE"), count_of(&m, "MINI_PROGRAM")),
        (1, 0),
        "{m}"
    );
    let m = received_by_channel(&app, paths::CHANGYUAN).await;
    assert_eq!(count_of(&m, "PHONE"), 1, "{m}");

    // A citizen's own order is MINI_PROGRAM, completes without an outcome, and owes no
    // reply_due (they watch it in the mini-program).
    let own = app.place_ok("alice", "elder_visit", "own").await;
    let courtyard = app.staff(paths::CAIJIABA);
    app.act(&courtyard, RECEIVE, &own, json!({})).await;
    let v2 = dispatch_and_accept(&app, paths::CAIJIABA, &own).await;
    let r = complete(&app, v2, &own, "").await;
    assert_eq!(data(&r, "completeOrder")["state"], "COMPLETED");
    let r = app
        .graphql(Some(&courtyard), ORDER, json!({"id": own}))
        .await;
    assert_eq!(data(&r, "order")["channel"], "MINI_PROGRAM");
    let none = grpc
        .get_resident_reply(request_as(ask(&own), Some(&service)))
        .await
        .expect_err("no resident");
    assert_eq!(none.code(), tonic::Code::Aborted, "{none:?}");
    assert!(
        tokio::time::timeout(Duration::from_secs(2), replies.next())
            .await
            .is_err(),
        "no reply_due for a citizen's own order"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_need_heard_at_a_briefing_links_the_held_policy_activity() {
    let app = TestApp::spawn().await;
    let nats = app.nats().client().await;
    let mut replies = nats
        .subscribe("tongxin.orders.reply_due")
        .await
        .expect("subscribe");
    use tongxin_venues::domain::activity::Theme;
    let briefing = activity(&app, paths::CAIJIABA, Theme::Policy, true).await;
    let courtyard = app.staff(paths::CAIJIABA);
    let r = app
        .graphql(
            Some(&courtyard),
            FILE,
            filing(
                "BRIEFING",
                "briefing-1",
                json!({"activityId": briefing.to_string()}),
            ),
        )
        .await;
    let filed = data(&r, "fileOrderOnBehalf");
    assert_eq!(filed["channel"], "BRIEFING");
    assert_eq!(filed["sourceActivityId"], briefing.to_string());
    assert_eq!(
        filed["holdingUnitPath"],
        paths::CAIJIABA,
        "the organising unit"
    );
    let id = filed["id"].as_str().expect("id").to_owned();

    // The whole ladder: received, escalated to the station, received, dispatched,
    // accepted, completed with the outcome.
    app.act(&courtyard, RECEIVE, &id, json!({})).await;
    let r = app
        .act(&courtyard, ESCALATE, &id, json!({"reason": "需要社区协调"}))
        .await;
    assert_eq!(
        data(&r, "escalateOrder")["holdingUnitPath"],
        paths::HONGQIAO
    );
    let station = app.staff(paths::HONGQIAO);
    app.act(&station, RECEIVE, &id, json!({})).await;
    let v = dispatch_and_accept(&app, paths::HONGQIAO, &id).await;
    let r = complete(&app, v, &id, OUTCOME).await;
    assert_eq!(data(&r, "completeOrder")["outcome"], OUTCOME);
    let (due, bytes) = next_reply_due(&mut replies).await;
    assert_eq!(due.order_id, id);
    assert_eq!(due.channel, pb::OrderChannel::Briefing as i32);
    assert_eq!(
        due.activity_id.as_deref(),
        Some(briefing.to_string().as_str())
    );
    no_pii(&bytes);
    let m = received_by_channel(&app, paths::CAIJIABA).await;
    assert_eq!(
        (count_of(&m, "BRIEFING"), m["ordersReceived"].as_i64()),
        (1, Some(1)),
        "{m}"
    );
    app.stop().await;
}

#[tokio::test]
async fn bad_filings_say_why_and_store_nothing() {
    let app = TestApp::spawn().await;
    use tongxin_venues::domain::activity::Theme;
    let courtyard = app.staff(paths::CAIJIABA);
    let planned = activity(&app, paths::CAIJIABA, Theme::Policy, false).await;
    let law = activity(&app, paths::CAIJIABA, Theme::Law, true).await;
    let held = activity(&app, paths::CAIJIABA, Theme::Policy, true).await;
    let no_consent = {
        let mut f = filing("PHONE", "k1", json!({}));
        f["input"]["consent"] = Value::Null;
        f
    };
    let cases = [
        (
            "no consent",
            &courtyard,
            no_consent,
            "BAD_USER_INPUT",
            "consent",
        ),
        (
            "a briefing without an activity",
            &courtyard,
            filing("BRIEFING", "k2", json!({})),
            "BAD_USER_INPUT",
            "activityId",
        ),
        (
            "an activity that does not exist",
            &courtyard,
            filing(
                "BRIEFING",
                "k3",
                json!({"activityId": Uuid::now_v7().to_string()}),
            ),
            "BAD_USER_INPUT",
            "no such activity",
        ),
        (
            "an activity not held",
            &courtyard,
            filing("BRIEFING", "k4", json!({"activityId": planned.to_string()})),
            "BAD_USER_INPUT",
            "not been held",
        ),
        (
            "a briefing that is not of the policy theme",
            &courtyard,
            filing("BRIEFING", "k5", json!({"activityId": law.to_string()})),
            "BAD_USER_INPUT",
            "policy",
        ),
        (
            "a unit outside the caller's scope",
            &app.staff(paths::FENGGAO),
            filing("BRIEFING", "k6", json!({"activityId": held.to_string()})),
            "FORBIDDEN",
            "outside your scope",
        ),
        (
            "a visit venues does not know",
            &courtyard,
            filing(
                "VISIT",
                "k7",
                json!({"visitId": Uuid::now_v7().to_string()}),
            ),
            "BAD_USER_INPUT",
            "no such visit",
        ),
        (
            "a mini-program channel",
            &courtyard,
            filing("MINI_PROGRAM", "k8", json!({})),
            "BAD_USER_INPUT",
            "channel",
        ),
        (
            "consent recorded in the future",
            &courtyard,
            {
                let mut f = filing("PHONE", "k9", json!({}));
                f["input"]["consent"]["recordedAt"] =
                    json!((Utc::now() + Span::days(1)).to_rfc3339());
                f
            },
            "BAD_USER_INPUT",
            "future",
        ),
        (
            "a citizen",
            &app.citizen("alice"),
            filing("PHONE", "k10", json!({})),
            "FORBIDDEN",
            "staff",
        ),
    ];
    for (what, token, vars, code, words) in cases {
        let r = app.graphql(Some(token), FILE, vars).await;
        assert_eq!(error_code(&r), Some(code), "{what}: {r}");
        let message = r["errors"][0]["message"].as_str().unwrap_or_default();
        assert!(message.contains(words), "{what}: {message}");
        assert!(
            !message.contains(PHONE) && !message.contains(RESIDENT),
            "{what}: {message}"
        );
    }
    assert_eq!(app.order_count().await, 0, "nothing stored");
    app.stop().await;
}

fn missed(unit_path: &str, period_start: &str, id: Uuid) -> Event {
    Event {
        id,
        subject: "tongxin.venues.cadence_missed".to_owned(),
        ce_type: "tongxin.venues.cadence_missed".to_owned(),
        source: "tongxin/venues".to_owned(),
        time: Utc::now(),
        traceparent: None,
        payload: pb::CadenceMissed {
            unit_id: demo::unit_id(unit_path).to_string(),
            unit_path: unit_path.to_owned(),
            kind: pb::CadenceKind::Visits as i32,
            period_start: period_start.to_owned(),
            period_end: "2026-11-30".to_owned(),
            required: 1,
            done: 0,
            streak: 2,
        }
        .encode_to_vec()
        .into(),
    }
}

async fn notices(app: &TestApp, token: &str, unit: &str) -> Value {
    app.graphql(
        Some(token),
        NOTICES,
        json!({"unit": demo::unit_id(unit).to_string()}),
    )
    .await
}

#[tokio::test]
async fn a_cadence_miss_delivered_twice_is_one_notice() {
    let app = TestApp::spawn().await;
    let courtyard = app.staff(paths::CAIJIABA);
    let first = missed(paths::CAIJIABA, "2026-11-23", Uuid::now_v7());
    // Twice through NATS with the same event id, once more under another id (a second
    // scheduler replica announcing the same miss), then a marker: another week's miss.
    for event in [
        first.clone(),
        first.clone(),
        missed(paths::CAIJIABA, "2026-11-23", Uuid::now_v7()),
        missed(paths::CAIJIABA, "2026-11-16", Uuid::now_v7()),
    ] {
        for r in app.bus.publish_batch(&[event]).await {
            r.expect("published");
        }
    }
    let mut seen = Value::Null;
    for _ in 0..75 {
        seen = notices(&app, &courtyard, paths::CAIJIABA).await;
        if seen["data"]["unitNotices"]["edges"]
            .as_array()
            .map(Vec::len)
            == Some(2)
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let edges = data(&seen, "unitNotices")["edges"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(edges.len(), 2, "one notice per week: {seen}");
    let newest = &edges[0]["node"];
    assert_eq!(newest["event"], "cadence_missed");
    assert_eq!(newest["cadence"], "visits");
    assert_eq!(
        (
            newest["required"].as_i64(),
            newest["done"].as_i64(),
            newest["streak"].as_i64()
        ),
        (Some(1), Some(0), Some(2))
    );
    // The handler itself is idempotent too, whatever the processed-events table does.
    let handler = tongxin_orders::events::consumers::cadence::CadenceMisses(app.orders.clone());
    for _ in 0..2 {
        let txn = sea_orm::TransactionTrait::begin(&app.db)
            .await
            .expect("txn");
        handler.handle(&txn, &first).await.expect("handled");
        txn.commit().await.expect("commit");
    }
    let again = notices(&app, &courtyard, paths::CAIJIABA).await;
    assert_eq!(
        data(&again, "unitNotices")["edges"]
            .as_array()
            .map(Vec::len),
        Some(2)
    );
    // The station above sees its courtyard's misses; another institute may not look.
    let station = notices(&app, &app.staff(paths::HONGQIAO), paths::HONGQIAO).await;
    assert_eq!(
        data(&station, "unitNotices")["edges"]
            .as_array()
            .map(Vec::len),
        Some(2)
    );
    let other = notices(&app, &app.staff(paths::FENGGAO), paths::CAIJIABA).await;
    assert_eq!(error_code(&other), Some("FORBIDDEN"), "{other}");
    app.stop().await;
}

#[tokio::test]
async fn a_need_heard_at_a_visit_links_the_visit_and_starts_at_its_unit() {
    let app = TestApp::spawn().await;
    let venues = app.venues.as_ref().expect("venues runs");
    // 虹桥社区's staff visit 蔡家坝 and hear of a leaking pipe.
    let visit = venues
        .record_visit(
            &app.signed(&app.staff_principal(paths::HONGQIAO)),
            tongxin_venues::service::rhythm::NewVisit {
                unit_id: demo::unit_id(paths::CAIJIABA).0.to_string(),
                visited_at: Utc::now() - Span::hours(1),
                households_reached: 12,
                point: None,
                notes: None,
                needs_heard: vec!["水管漏水".to_owned()],
            },
            Utc::now(),
        )
        .await
        .unwrap_or_else(|e| panic!("visit: {e:?}"))
        .id;
    let r = app
        .graphql(
            Some(&app.staff(paths::HONGQIAO)),
            FILE,
            filing("VISIT", "visit-1", json!({"visitId": visit.0.to_string()})),
        )
        .await;
    let filed = data(&r, "fileOrderOnBehalf");
    assert_eq!(filed["channel"], "VISIT");
    assert_eq!(filed["sourceVisitId"], visit.0.to_string());
    assert_eq!(
        filed["holdingUnitPath"],
        paths::CAIJIABA,
        "the visited unit"
    );
    let m = received_by_channel(&app, paths::CAIJIABA).await;
    assert_eq!(count_of(&m, "VISIT"), 1, "{m}");
    // A staff member whose scope does not cover the visited unit cannot file from it.
    let r = app
        .graphql(
            Some(&app.staff(paths::FENGGAO)),
            FILE,
            filing("VISIT", "visit-2", json!({"visitId": visit.0.to_string()})),
        )
        .await;
    assert_eq!(error_code(&r), Some("FORBIDDEN"), "{r}");
    app.stop().await;
}
