//! Evaluation and ranking over real PostgreSQL: a small hand-checked set of orders driven
//! through the GraphQL API, the figures, the rankings, scope, and the CSV exports.

use chrono::{Datelike, Duration, Utc};
use serde_json::{Value, json};
use tongxin_venues::demo;
use uuid::Uuid;

use crate::{
    ACCEPT, CANCEL, COMPLETE, DISPATCH, ESCALATE, RATE, RECEIVE, START, TestApp, error_code, paths,
};

const UNIT_METRICS: &str = "query($unit: ID!, $quarter: String, $from: DateTime, $to: DateTime) { unitMetrics(unitId: $unit, quarter: $quarter, from: $from, to: $to) { unit { id } unitPath level quarter ordersReceived ordersTaken medianReceiveMinutes ordersCompleted medianCompleteMinutes escalated escalationRate overdue cancelled completionRate ratings meanRating score } }";
const RANKINGS: &str = "query($level: OrderLevel!, $quarter: String!) { rankings(level: $level, quarter: $quarter, first: 10) { edges { node { rank score metrics { unitPath ordersReceived } } } } }";
const VOLUNTEERS: &str = "query($quarter: String!) { volunteerRankings(quarter: $quarter, first: 10) { edges { node { rank volunteer { id } ordersCompleted hours meanRating } } } }";

/// The quarter we are in (China Standard Time).
fn this_quarter() -> String {
    let local = Utc::now() + Duration::hours(8);
    format!("{}Q{}", local.year(), local.month0() / 3 + 1)
}

fn ok(r: &Value, field: &str) {
    assert!(r["errors"].is_null(), "{field}: {r}");
}

/// Receive, dispatch to `v`, accept, start, complete with `hours`, rate `stars`, with the
/// staff of `staff_path`.
async fn finish(app: &TestApp, id: &str, staff_path: &str, v: Uuid, hours: f64, stars: i64) {
    let staff = app.staff(staff_path);
    ok(&app.act(&staff, RECEIVE, id, json!({})).await, "receive");
    ok(
        &app.act(&staff, DISPATCH, id, json!({"volunteers": [v.to_string()]}))
            .await,
        "dispatch",
    );
    ok(
        &app.act(&app.volunteer(v), ACCEPT, id, json!({})).await,
        "accept",
    );
    ok(
        &app.act(&app.volunteer(v), START, id, json!({})).await,
        "start",
    );
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
    ok(
        &app.act(&app.citizen("alice"), RATE, id, json!({"rating": stars}))
            .await,
        "rate",
    );
}

/// Four orders at 蔡家坝小院:
/// A: the courtyard receives and completes it (v1, 2 h), rated 4;
/// B: the courtyard receives and escalates it to 虹桥社区站, which completes it (v2, 1 h), rated 2;
/// C: the citizen cancels it before anyone receives it;
/// D: still waiting, within its deadline.
async fn hand_checked_set(app: &TestApp) -> (Uuid, Uuid) {
    let (v1, v2) = (app.new_volunteer().await, app.new_volunteer().await);
    let a = app.place_ok("alice", "elder_visit", "m-a").await;
    finish(app, &a, paths::CAIJIABA, v1, 2.0, 4).await;
    let b = app.place_ok("alice", "elder_visit", "m-b").await;
    let courtyard = app.staff(paths::CAIJIABA);
    ok(
        &app.act(&courtyard, RECEIVE, &b, json!({})).await,
        "receive b",
    );
    ok(
        &app.act(&courtyard, ESCALATE, &b, json!({"reason": "需要社区协调"}))
            .await,
        "escalate b",
    );
    finish(app, &b, paths::HONGQIAO, v2, 1.0, 2).await;
    let c = app.place_ok("alice", "elder_visit", "m-c").await;
    ok(
        &app.act(&app.citizen("alice"), CANCEL, &c, json!({})).await,
        "cancel c",
    );
    app.place_ok("alice", "elder_visit", "m-d").await;
    (v1, v2)
}

#[tokio::test]
async fn unit_figures_and_rankings_on_a_hand_checked_set() {
    let app = TestApp::spawn().await;
    let (v1, v2) = hand_checked_set(&app).await;
    let quarter = this_quarter();
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
    assert_eq!(m["quarter"], quarter.as_str());
    assert_eq!(m["ordersReceived"], 4, "A, B, C, D reached it");
    assert_eq!(m["ordersTaken"], 2, "A and B were received");
    assert!(m["medianReceiveMinutes"].as_f64().is_some_and(|x| x >= 0.0));
    assert_eq!(m["ordersCompleted"], 1, "A");
    assert!(m["medianCompleteMinutes"].as_f64().is_some());
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
    // 100 × (0.30×0.5 + 0.25×(≈1) + 0.20×0.75 + 0.15×0.75 + 0.10×1) ≈ 76.3
    let score = m["score"].as_f64().expect("score");
    assert!((76.0..=76.3).contains(&score), "{score}");

    // The station is judged on B only.
    let hongqiao = demo::unit_id(paths::HONGQIAO).0.to_string();
    let now = Utc::now();
    let r = app
        .graphql(
            Some(&center),
            UNIT_METRICS,
            json!({"unit": hongqiao, "from": (now - Duration::hours(1)).to_rfc3339(), "to": (now + Duration::hours(1)).to_rfc3339()}),
        )
        .await;
    let m = &r["data"]["unitMetrics"];
    assert_eq!(m["ordersReceived"], 1, "{r}");
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
    app.stop().await;
}

#[tokio::test]
async fn figures_are_for_staff_in_scope_only() {
    let app = TestApp::spawn().await;
    app.place_ok("alice", "elder_visit", "s-1").await;
    let quarter = this_quarter();
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
        json!({"unit": hongqiao, "quarter": quarter, "from": Utc::now().to_rfc3339(), "to": Utc::now().to_rfc3339()}),
        json!({"unit": hongqiao, "from": Utc::now().to_rfc3339(), "to": (Utc::now() - Duration::hours(1)).to_rfc3339()}),
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
    let app = TestApp::spawn().await;
    let (v1, _) = hand_checked_set(&app).await;
    let quarter = this_quarter();
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
