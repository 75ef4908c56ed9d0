//! Evaluation and ranking over real PostgreSQL: a small hand-checked set of orders driven
//! through the GraphQL API at set instants of orders' clock (so the medians are exact and
//! "now" is the test's), the figures, the rankings, the quarter's edges, scope, and the CSV
//! exports.

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};
use tongxin_venues::demo;
use uuid::Uuid;

use crate::{
    ACCEPT, CANCEL, COMPLETE, DISPATCH, ESCALATE, RATE, RECEIVE, START, TestApp, error_code, paths,
};

const UNIT_METRICS: &str = "query($unit: ID!, $quarter: String, $from: DateTime, $to: DateTime) { unitMetrics(unitId: $unit, quarter: $quarter, from: $from, to: $to) { unit { id } unitPath level quarter ordersReceived ordersTaken medianReceiveMinutes ordersCompleted medianCompleteMinutes escalated escalationRate overdue cancelled completionRate ratings meanRating score } }";
const RANKINGS: &str = "query($level: OrderLevel!, $quarter: String!) { rankings(level: $level, quarter: $quarter, first: 10) { edges { node { rank score metrics { unitPath ordersReceived } } } } }";
const VOLUNTEERS: &str = "query($quarter: String!) { volunteerRankings(quarter: $quarter, first: 10) { edges { node { rank volunteer { id } ordersCompleted hours meanRating } } } }";

/// The quarter the hand-checked set happens in.
const QUARTER: &str = "2026Q4";

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .expect("instant")
        .with_timezone(&Utc)
}

/// 2026Q4 in China Standard Time (UTC+8): from 1 October 00:00 to 1 January 00:00 local.
fn q4_start() -> DateTime<Utc> {
    at("2026-09-30T16:00:00Z")
}

fn q4_end() -> DateTime<Utc> {
    at("2026-12-31T16:00:00Z")
}

/// When the hand-checked set starts: 20:00 local on the quarter's last day.
pub(crate) fn set_start() -> DateTime<Utc> {
    at("2026-12-31T12:00:00Z")
}

fn ok(r: &Value, field: &str) {
    assert!(r["errors"].is_null(), "{field}: {r}");
}

/// With the staff of `staff_path`, counting from when the order reached them: receive after
/// `receive_after` minutes, then dispatch to `v`, accept, start 5 minutes apart, complete
/// at 60 minutes with `hours`, rate `stars` 5 minutes later.
async fn finish(
    app: &TestApp,
    id: &str,
    staff_path: &str,
    (v, hours, stars): (Uuid, f64, i64),
    receive_after: i64,
) {
    let staff = app.staff(staff_path);
    let clock = app.clock();
    clock.advance(Duration::minutes(receive_after));
    ok(&app.act(&staff, RECEIVE, id, json!({})).await, "receive");
    clock.advance(Duration::minutes(5));
    ok(
        &app.act(&staff, DISPATCH, id, json!({"volunteers": [v.to_string()]}))
            .await,
        "dispatch",
    );
    clock.advance(Duration::minutes(5));
    ok(
        &app.act(&app.volunteer(v), ACCEPT, id, json!({})).await,
        "accept",
    );
    clock.advance(Duration::minutes(5));
    ok(
        &app.act(&app.volunteer(v), START, id, json!({})).await,
        "start",
    );
    clock.advance(Duration::minutes(60 - receive_after - 15));
    ok(
        &app.act(
            &app.volunteer(v),
            COMPLETE,
            id,
            json!({"hours": [{"volunteerId": v.to_string(), "hours": hours}]}),
        )
        .await,
        "complete",
    );
    clock.advance(Duration::minutes(5));
    ok(
        &app.act(&app.citizen("alice"), RATE, id, json!({"rating": stars}))
            .await,
        "rate",
    );
}

/// Four orders at 蔡家坝小院 from [`set_start`], in an app spawned at it:
/// A: the courtyard receives it after 10 min and completes it at 60 min (v1, 2 h), rated 4;
/// B: the courtyard receives it after 20 min and escalates it 5 min later to 虹桥社区站,
///    which receives it after 10 min and completes it at 60 min (v2, 1 h), rated 2;
/// C: the citizen cancels it before anyone receives it;
/// D: still waiting, placed at 14:35Z (22:35 local), its two-hour deadline at 16:35Z.
pub(crate) async fn hand_checked_set(app: &TestApp) -> (Uuid, Uuid) {
    let clock = app.clock();
    clock.set(set_start());
    let (v1, v2) = (app.new_volunteer().await, app.new_volunteer().await);
    let a = app.place_ok("alice", "elder_visit", "m-a").await;
    finish(app, &a, paths::CAIJIABA, (v1, 2.0, 4), 10).await;
    let b = app.place_ok("alice", "elder_visit", "m-b").await;
    let courtyard = app.staff(paths::CAIJIABA);
    clock.advance(Duration::minutes(20));
    ok(
        &app.act(&courtyard, RECEIVE, &b, json!({})).await,
        "receive b",
    );
    clock.advance(Duration::minutes(5));
    ok(
        &app.act(&courtyard, ESCALATE, &b, json!({"reason": "需要社区协调"}))
            .await,
        "escalate b",
    );
    finish(app, &b, paths::HONGQIAO, (v2, 1.0, 2), 10).await;
    let c = app.place_ok("alice", "elder_visit", "m-c").await;
    ok(
        &app.act(&app.citizen("alice"), CANCEL, &c, json!({})).await,
        "cancel c",
    );
    app.place_ok("alice", "elder_visit", "m-d").await;
    // A from 12:00Z to 13:05Z, B from 13:05Z to 14:35Z; C and D then.
    assert_eq!(clock_now(app), at("2026-12-31T14:35:00Z"));
    (v1, v2)
}

fn clock_now(app: &TestApp) -> DateTime<Utc> {
    app.orders.now()
}

#[tokio::test]
async fn unit_figures_and_rankings_on_a_hand_checked_set() {
    let app = TestApp::spawn_at(set_start()).await;
    let (v1, v2) = hand_checked_set(&app).await;
    let quarter = QUARTER;
    let center = app.staff(paths::CENTER);
    let caijiaba = demo::unit_id(paths::CAIJIABA).0.to_string();

    let r = app
        .graphql(
            Some(&center),
            UNIT_METRICS,
            json!({"unit": caijiaba, "quarter": quarter}),
        )
        .await;
    let m = &r["data"]["unitMetrics"];
    assert_eq!(m["unit"]["id"], caijiaba.as_str(), "{r}");
    assert_eq!(m["unitPath"], paths::CAIJIABA);
    assert_eq!(m["level"], "COURTYARD");
    assert_eq!(m["quarter"], quarter);
    assert_eq!(m["ordersReceived"], 4, "A, B, C, D reached it");
    assert_eq!(m["ordersTaken"], 2, "A and B were received");
    assert_eq!(m["medianReceiveMinutes"], 15.0, "A after 10, B after 20");
    assert_eq!(m["ordersCompleted"], 1, "A");
    assert_eq!(m["medianCompleteMinutes"], 60.0, "A");
    assert_eq!(m["escalated"], 1, "B");
    assert_eq!(m["escalationRate"], 0.25);
    assert_eq!(m["overdue"], 0);
    assert_eq!(m["cancelled"], 1, "C");
    assert_eq!(
        m["completionRate"], 0.5,
        "A of A and D (B went up, C was cancelled)"
    );
    assert_eq!(
        (m["ratings"].clone(), m["meanRating"].clone()),
        (json!(1), json!(4.0))
    );
    // 100 × (0.30×0.5 + 0.25×(1 − 15/1440) + 0.20×0.75 + 0.15×0.75 + 0.10×1) = 75.99
    assert_eq!(m["score"], 76.0);

    // The station is judged on B only.
    let hongqiao = demo::unit_id(paths::HONGQIAO).0.to_string();
    let r = app
        .graphql(
            Some(&center),
            UNIT_METRICS,
            json!({"unit": hongqiao, "from": set_start().to_rfc3339(), "to": (set_start() + Duration::hours(3)).to_rfc3339()}),
        )
        .await;
    let m = &r["data"]["unitMetrics"];
    assert_eq!(m["ordersReceived"], 1, "{r}");
    assert_eq!(
        (&m["medianReceiveMinutes"], &m["medianCompleteMinutes"]),
        (&json!(10.0), &json!(60.0)),
        "B reached it at 13:30Z, received at 13:40Z, completed at 14:30Z"
    );
    assert_eq!(m["ordersCompleted"], 1);
    assert_eq!(m["completionRate"], 1.0);
    assert_eq!(m["meanRating"], 2.0);
    assert_eq!(m["escalated"], 0);
    assert!(m["quarter"].is_null());

    // Rankings: one courtyard and one station had orders.
    let r = app
        .graphql(
            Some(&center),
            RANKINGS,
            json!({"level": "COURTYARD", "quarter": quarter}),
        )
        .await;
    let edges = r["data"]["rankings"]["edges"].as_array().expect("edges");
    assert_eq!(edges.len(), 1, "{r}");
    assert_eq!(edges[0]["node"]["rank"], 1);
    assert_eq!(edges[0]["node"]["metrics"]["unitPath"], paths::CAIJIABA);
    let r = app
        .graphql(
            Some(&center),
            RANKINGS,
            json!({"level": "STATION", "quarter": quarter}),
        )
        .await;
    assert_eq!(
        r["data"]["rankings"]["edges"][0]["node"]["metrics"]["unitPath"],
        paths::HONGQIAO,
        "{r}"
    );

    // Volunteers: one order each; v1's 2 h beat v2's 1 h.
    let r = app
        .graphql(Some(&center), VOLUNTEERS, json!({"quarter": quarter}))
        .await;
    let edges = r["data"]["volunteerRankings"]["edges"]
        .as_array()
        .expect("edges");
    let got: Vec<(String, i64, f64, f64)> = edges
        .iter()
        .map(|e| {
            let n = &e["node"];
            (
                n["volunteer"]["id"].as_str().unwrap_or_default().to_owned(),
                n["ordersCompleted"].as_i64().unwrap_or_default(),
                n["hours"].as_f64().unwrap_or_default(),
                n["meanRating"].as_f64().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![(v1.to_string(), 1, 2.0, 4.0), (v2.to_string(), 1, 1.0, 2.0)],
        "{r}"
    );
    // The courtyard's own staff see only what was completed in their scope: v1.
    let r = app
        .graphql(
            Some(&app.staff(paths::CAIJIABA)),
            VOLUNTEERS,
            json!({"quarter": quarter}),
        )
        .await;
    assert_eq!(
        r["data"]["volunteerRankings"]["edges"]
            .as_array()
            .map(Vec::len),
        Some(1),
        "{r}"
    );

    // "Now" is orders' clock: a minute past D's deadline, D is overdue (by the wall clock,
    // a month earlier, it would not be).
    app.clock().set(at("2026-12-31T16:36:00Z"));
    let r = app
        .graphql(
            Some(&center),
            UNIT_METRICS,
            json!({"unit": caijiaba, "quarter": quarter}),
        )
        .await;
    let m = &r["data"]["unitMetrics"];
    assert_eq!(m["overdue"], 1, "D: {r}");
    // The last term is now 0.10 × (1 − 1/4): 73.49.
    assert_eq!(m["score"], 73.5);
    app.stop().await;
}

#[tokio::test]
async fn an_order_counts_in_the_quarter_it_arrived_in_to_the_microsecond() {
    let app = TestApp::spawn_at(q4_start()).await;
    let tick = Duration::microseconds(1);
    // Placed at the last microsecond of 2026Q3, the first and last of 2026Q4, the first of
    // 2027Q1 (China Standard Time).
    for (key, when) in [
        ("q3-last", q4_start() - tick),
        ("q4-first", q4_start()),
        ("q4-last", q4_end() - tick),
        ("q1-first", q4_end()),
    ] {
        app.clock().set(when);
        app.place_ok("alice", "elder_visit", key).await;
    }
    let center = app.staff(paths::CENTER);
    let caijiaba = demo::unit_id(paths::CAIJIABA).0.to_string();
    for (quarter, received) in [("2026Q3", 1), ("2026Q4", 2), ("2027Q1", 1)] {
        let r = app
            .graphql(
                Some(&center),
                UNIT_METRICS,
                json!({"unit": caijiaba, "quarter": quarter}),
            )
            .await;
        let m = &r["data"]["unitMetrics"];
        assert_eq!(
            (&m["quarter"], &m["ordersReceived"]),
            (&json!(quarter), &json!(received)),
            "{r}"
        );
    }
    // The same edges by explicit instants: `to` is exclusive.
    let r = app
        .graphql(
            Some(&center),
            UNIT_METRICS,
            json!({"unit": caijiaba, "from": q4_start().to_rfc3339(), "to": q4_end().to_rfc3339()}),
        )
        .await;
    let m = &r["data"]["unitMetrics"];
    assert_eq!(
        (&m["quarter"], &m["ordersReceived"]),
        (&json!("2026Q4"), &json!(2)),
        "{r}"
    );
    app.stop().await;
}

#[tokio::test]
async fn figures_are_for_staff_in_scope_only() {
    let app = TestApp::spawn_at(set_start()).await;
    app.place_ok("alice", "elder_visit", "s-1").await;
    let quarter = QUARTER;
    let hongqiao = demo::unit_id(paths::HONGQIAO).0.to_string();
    let vars = json!({"unit": hongqiao, "quarter": quarter});
    // Below the unit, another institute, a citizen, a volunteer: FORBIDDEN.
    for (token, staff) in [
        (app.staff(paths::CAIJIABA), true),
        (app.staff(paths::FENGGAO), true),
        (app.citizen("alice"), false),
        (app.volunteer(Uuid::now_v7()), false),
    ] {
        let r = app.graphql(Some(&token), UNIT_METRICS, vars.clone()).await;
        assert_eq!(error_code(&r), Some("FORBIDDEN"), "{r}");
        let r = app
            .graphql(
                Some(&token),
                RANKINGS,
                json!({"level": "COURTYARD", "quarter": quarter}),
            )
            .await;
        // Staff may rank what is below them; nobody else ranks anything.
        if !staff {
            assert_eq!(error_code(&r), Some("FORBIDDEN"), "{r}");
        }
    }
    let r = app.graphql(None, UNIT_METRICS, vars.clone()).await;
    assert_eq!(error_code(&r), Some("UNAUTHENTICATED"), "{r}");
    // Above it: allowed.
    let r = app
        .graphql(Some(&app.staff(paths::CHANGYUAN)), UNIT_METRICS, vars)
        .await;
    assert_eq!(r["data"]["unitMetrics"]["ordersReceived"], 0, "{r}");
    // Bad periods.
    let center = app.staff(paths::CENTER);
    for bad in [
        json!({"unit": hongqiao, "quarter": "2026Q5"}),
        json!({"unit": hongqiao}),
        json!({"unit": hongqiao, "quarter": quarter, "from": set_start().to_rfc3339(), "to": q4_end().to_rfc3339()}),
        json!({"unit": hongqiao, "from": set_start().to_rfc3339(), "to": (set_start() - Duration::hours(1)).to_rfc3339()}),
        json!({"unit": "not-a-unit", "quarter": quarter}),
    ] {
        let r = app.graphql(Some(&center), UNIT_METRICS, bad.clone()).await;
        assert_eq!(error_code(&r), Some("BAD_USER_INPUT"), "{bad}: {r}");
    }
    let r = app
        .graphql(
            Some(&center),
            UNIT_METRICS,
            json!({"unit": Uuid::now_v7().to_string(), "quarter": quarter}),
        )
        .await;
    assert_eq!(error_code(&r), Some("NOT_FOUND"), "{r}");
    app.stop().await;
}

async fn get_csv(app: &TestApp, path: &str, token: Option<&str>) -> (u16, String) {
    let mut req = reqwest::Client::new().get(format!("http://{}{path}", app.http));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await.expect("get");
    let status = resp.status().as_u16();
    (status, resp.text().await.expect("body"))
}

fn records(body: &str) -> Vec<std::collections::HashMap<String, String>> {
    let mut reader = csv::Reader::from_reader(body.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .expect("header")
        .iter()
        .map(str::to_owned)
        .collect();
    reader
        .records()
        .map(|r| {
            let r = r.expect("record");
            header
                .iter()
                .cloned()
                .zip(r.iter().map(str::to_owned))
                .collect()
        })
        .collect()
}

#[tokio::test]
async fn csv_exports_carry_the_same_figures() {
    let app = TestApp::spawn_at(set_start()).await;
    let (v1, _) = hand_checked_set(&app).await;
    let quarter = QUARTER;
    let center = app.staff(paths::CENTER);
    let caijiaba = demo::unit_id(paths::CAIJIABA).0;

    let (status, body) = get_csv(
        &app,
        &format!("/orders/metrics.csv?unitId={caijiaba}&quarter={quarter}"),
        Some(&center),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let rows = records(&body);
    assert_eq!(rows.len(), 1, "{body}");
    let row = &rows[0];
    assert_eq!(row["unit_id"], caijiaba.to_string());
    assert_eq!(row["unit_path"], paths::CAIJIABA);
    assert_eq!(row["level"], "courtyard");
    assert_eq!(row["quarter"], quarter);
    assert_eq!(
        [
            &row["orders_received"],
            &row["orders_taken"],
            &row["orders_completed"],
            &row["escalated"],
            &row["escalation_rate"],
            &row["overdue"],
            &row["cancelled"],
            &row["completion_rate"],
            &row["ratings"],
            &row["mean_rating"],
        ],
        ["4", "2", "1", "1", "0.25", "0", "1", "0.50", "1", "4.00"]
    );

    let (status, body) = get_csv(
        &app,
        &format!("/orders/rankings.csv?level=station&quarter={quarter}"),
        Some(&center),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let rows = records(&body);
    assert_eq!(rows.len(), 1, "{body}");
    assert_eq!(
        (rows[0]["rank"].as_str(), rows[0]["unit_path"].as_str()),
        ("1", paths::HONGQIAO)
    );

    let (status, body) = get_csv(
        &app,
        &format!("/orders/volunteer-rankings.csv?quarter={quarter}"),
        Some(&center),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let rows = records(&body);
    assert_eq!(rows.len(), 2, "{body}");
    assert_eq!(rows[0]["volunteer_id"], v1.to_string());
    assert_eq!(
        (
            rows[0]["orders_completed"].as_str(),
            rows[0]["hours"].as_str(),
            rows[0]["mean_rating"].as_str()
        ),
        ("1", "2.00", "4.00")
    );

    // No token, a bad token, out of scope, bad input.
    let url = format!("/orders/metrics.csv?unitId={caijiaba}&quarter={quarter}");
    assert_eq!(get_csv(&app, &url, None).await.0, 401);
    assert_eq!(get_csv(&app, &url, Some("nonsense")).await.0, 401);
    let (status, body) = get_csv(&app, &url, Some(&app.staff(paths::FENGGAO))).await;
    assert_eq!(status, 403, "{body}");
    assert!(body.starts_with("FORBIDDEN"), "{body}");
    let (status, body) = get_csv(
        &app,
        &format!("/orders/metrics.csv?unitId={caijiaba}&quarter=2026Q9"),
        Some(&center),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    let (status, _) = get_csv(
        &app,
        &format!("/orders/rankings.csv?level=planet&quarter={quarter}"),
        Some(&center),
    )
    .await;
    assert_eq!(status, 400);
    app.stop().await;
}
