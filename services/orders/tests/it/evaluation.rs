//! The quarterly evaluation (每季一次评比) over real PostgreSQL and NATS, with venues (the
//! demo tree, the rhythm) and volunteers (hours, the points ledger) running: the metrics
//! test's hand-checked set of orders scored with weights set by the center, published once
//! the quarter is over, frozen against later data, corrected as a new version with a reason,
//! and its awards credited to the awarded unit's team members exactly once.

use std::time::Duration as StdDuration;

use chrono::Duration;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};
use tongxin_platform::events::consumer::processed;
use tongxin_platform::events::outbox::entity as outbox;
use tongxin_venues::demo;
use tongxin_volunteers::store::ledger::points;
use uuid::Uuid;

use crate::metrics::{hand_checked_set, set_start};
use crate::{RECEIVE, TestApp, error_code, paths};

const SET: &str = "mutation($w: EvaluationWeightsInput!, $a: [EvaluationAwardRuleInput!]!) { setEvaluationSettings(weights: $w, awards: $a) { district weights { onTime escalation completion rating cadence activities attendance volunteerHours } awards { level points } setBy } }";
const SETTINGS: &str =
    "{ evaluationSettings { district weights { onTime cadence } awards { level points } setBy } }";
const EVALUATION: &str = "query($unit: ID!, $q: String!) { evaluation(unitId: $unit, quarter: $q) { unitPath level quarter score rank ordersReceived published version correctionReason lines { criterion detail share weight points } } }";
const RANKING: &str = "query($q: String!, $level: OrderLevel!, $v: Int, $after: String) { evaluationRanking(quarter: $q, level: $level, version: $v, first: 500, after: $after) { edges { cursor node { unitPath rank score published version } } pageInfo { hasNextPage } } }";
const PUBLISH: &str = "mutation($q: String!, $reason: String) { publishEvaluation(quarter: $q, reason: $reason) { id quarter version reason } }";
const AWARDS: &str = "query($q: String!) { evaluationAwards(quarter: $q) { edges { node { unit { id } level rank points } } } }";

const QUARTER: &str = "2026Q4";

/// Orders only, a quarter each: the rhythm and hours criteria weigh nothing, so the scores
/// are checked by hand from the metrics test's figures.
fn orders_only() -> Value {
    json!({"onTime": 25, "escalation": 25, "completion": 25, "rating": 25,
           "cadence": 0, "activities": 0, "attendance": 0, "volunteerHours": 0})
}

fn data<'a>(r: &'a Value, field: &str) -> &'a Value {
    assert!(r["errors"].is_null(), "{field}: {r}");
    &r["data"][field]
}

fn line<'a>(e: &'a Value, criterion: &str) -> &'a Value {
    e["lines"]
        .as_array()
        .and_then(|l| l.iter().find(|l| l["criterion"] == criterion))
        .unwrap_or_else(|| panic!("no {criterion} line: {e}"))
}

/// The evaluation points credited in the volunteers ledger: (volunteer, points).
async fn award_points(app: &TestApp) -> Vec<(Uuid, f64)> {
    let db = app.spawned.direct_db(tongxin_volunteers::NAME).await;
    let mut rows: Vec<(Uuid, f64)> = points::Entity::find()
        .filter(points::Column::Source.eq("evaluation"))
        .all(&db)
        .await
        .expect("points")
        .into_iter()
        .map(|p| (p.volunteer_id, p.points))
        .collect();
    rows.sort_by_key(|r| r.0);
    rows
}

#[tokio::test]
async fn a_quarter_is_scored_published_frozen_corrected_and_awarded_once() {
    let app = TestApp::spawn_at(set_start()).await;
    let (v1, _) = hand_checked_set(&app).await;
    let center = app.staff(paths::CENTER);
    let courtyard = app.staff(paths::CAIJIABA);
    let caijiaba = demo::unit_id(paths::CAIJIABA).0.to_string();
    let hongqiao = demo::unit_id(paths::HONGQIAO).0.to_string();

    // 蔡家坝's team: v1 and a second member get its awards.
    let team = app
        .volunteers
        .create_team(
            &app.staff_principal(paths::CAIJIABA),
            tongxin_volunteers::service::teams::NewTeam {
                name: "蔡家坝小院支队".into(),
                level: tongxin_volunteers::domain::team::TeamLevel::CourtyardUnit,
                unit_id: demo::unit_id(paths::CAIJIABA).0,
                parent_id: None,
            },
        )
        .await
        .unwrap_or_else(|e| panic!("team: {e:?}"))
        .id;
    let member = app.new_volunteer().await;
    for v in [v1, member] {
        app.volunteers
            .add_team_member(&app.staff_principal(paths::CAIJIABA), team, v, false)
            .await
            .unwrap_or_else(|e| panic!("member: {e:?}"));
    }

    // Settings: the defaults until the center sets them; only the center may; the weights
    // must sum to 100 and a refused change leaves them as they were.
    let s = app.graphql(Some(&courtyard), SETTINGS, json!({})).await;
    let s = data(&s, "evaluationSettings");
    assert_eq!(
        (s["district"].clone(), s["weights"]["onTime"].clone()),
        (json!("rc"), json!(15))
    );
    assert!(s["setBy"].is_null(), "{s}");
    let awards =
        json!([{"level": "COURTYARD", "points": [100, 60]}, {"level": "STATION", "points": [50]}]);
    let r = app
        .graphql(
            Some(&courtyard),
            SET,
            json!({"w": orders_only(), "a": awards}),
        )
        .await;
    assert_eq!(error_code(&r), Some("FORBIDDEN"), "{r}");
    let mut over = orders_only();
    over["rating"] = json!(26);
    let r = app
        .graphql(Some(&center), SET, json!({"w": over, "a": awards}))
        .await;
    assert_eq!(error_code(&r), Some("BAD_USER_INPUT"), "{r}");
    assert!(
        r["errors"][0]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("101"),
        "{r}"
    );
    let r = app
        .graphql(
            Some(&center),
            SET,
            json!({"w": orders_only(), "a": [{"level": "CENTER", "points": [1]}]}),
        )
        .await;
    assert_eq!(error_code(&r), Some("BAD_USER_INPUT"), "{r}");
    let s = app.graphql(Some(&center), SETTINGS, json!({})).await;
    assert_eq!(
        data(&s, "evaluationSettings")["weights"]["cadence"],
        15,
        "unchanged: {s}"
    );
    let r = app
        .graphql(Some(&center), SET, json!({"w": orders_only(), "a": awards}))
        .await;
    assert_eq!(data(&r, "setEvaluationSettings")["weights"]["onTime"], 25);

    // The quarter is not over (the clock stands at 22:35 local on 31 December).
    let r = app
        .graphql(Some(&center), PUBLISH, json!({"q": QUARTER}))
        .await;
    assert_eq!(error_code(&r), Some("BAD_USER_INPUT"), "{r}");

    // New year's morning. 蔡家坝 received 4 (A–D); D waited past its deadline (overdue);
    // B was passed up; A completed of A and D; A rated 4:
    //   on time 3/4 × 25 = 18.75, kept 3/4 × 25 = 18.75, completed 1/2 × 25 = 12.5,
    //   rating (4 − 1)/4 × 25 = 18.75 → 68.75 → 68.8.
    app.clock().set(set_start() + Duration::hours(13));
    let e = app
        .graphql(
            Some(&courtyard),
            EVALUATION,
            json!({"unit": caijiaba, "q": QUARTER}),
        )
        .await;
    let e = data(&e, "evaluation").clone();
    assert_eq!(e["score"], 68.8, "{e}");
    assert_eq!(
        (e["rank"].clone(), e["published"].clone()),
        (json!(1), json!(false))
    );
    assert_eq!(
        line(&e, "ON_TIME")["detail"],
        "3 of 4 orders received on time"
    );
    assert_eq!(line(&e, "ON_TIME")["points"], 18.75);
    assert_eq!(line(&e, "COMPLETION")["share"], 0.5);
    assert_eq!(line(&e, "CADENCE")["weight"], 0);
    assert_eq!(line(&e, "CADENCE")["points"], 0.0);
    // The station had B only: all on time, kept, completed; rated 2 → 25 × 3 + 6.25.
    let s = app
        .graphql(
            Some(&center),
            EVALUATION,
            json!({"unit": hongqiao, "q": QUARTER}),
        )
        .await;
    assert_eq!(data(&s, "evaluation")["score"], 81.3, "{s}");
    // Outside its scope: the courtyard's staff may not read the station.
    let r = app
        .graphql(
            Some(&courtyard),
            EVALUATION,
            json!({"unit": hongqiao, "q": QUARTER}),
        )
        .await;
    assert_eq!(error_code(&r), Some("FORBIDDEN"), "{r}");

    // Only the center publishes; two center staff at once: exactly one version 1.
    let r = app
        .graphql(Some(&courtyard), PUBLISH, json!({"q": QUARTER}))
        .await;
    assert_eq!(error_code(&r), Some("FORBIDDEN"), "{r}");
    let (a, b) = tokio::join!(
        app.graphql(Some(&center), PUBLISH, json!({"q": QUARTER})),
        app.graphql(Some(&center), PUBLISH, json!({"q": QUARTER})),
    );
    let won: Vec<&Value> = [&a, &b]
        .into_iter()
        .filter(|r| r["errors"].is_null())
        .collect();
    assert_eq!(won.len(), 1, "exactly one publication: {a} {b}");
    assert_eq!(won[0]["data"]["publishEvaluation"]["version"], 1);
    let lost = if a["errors"].is_null() { &b } else { &a };
    // The loser either lost the insert (CONFLICT) or came second and, as a correction
    // without a reason, was refused.
    assert!(
        matches!(error_code(lost), Some("CONFLICT" | "BAD_USER_INPUT")),
        "{lost}"
    );

    // Later data: D is received after the quarter. Live, that would make D on time; the
    // published evaluation does not move.
    let d = {
        let db = app.db.clone();
        use tongxin_orders::store::orders::Entity as Orders;
        let mut all = Orders::find().all(&db).await.expect("orders");
        all.sort_by_key(|o| o.placed_at);
        all.last().expect("d").id.to_string()
    };
    let r = app.act(&courtyard, RECEIVE, &d, json!({})).await;
    assert!(r["errors"].is_null(), "{r}");
    let frozen = app
        .graphql(
            Some(&courtyard),
            EVALUATION,
            json!({"unit": caijiaba, "q": QUARTER}),
        )
        .await;
    let frozen = data(&frozen, "evaluation").clone();
    assert_eq!(frozen["score"], 68.8, "{frozen}");
    assert_eq!(
        (frozen["published"].clone(), frozen["version"].clone()),
        (json!(true), json!(1))
    );
    assert_eq!(frozen["lines"], e["lines"], "line by line as published");

    // A correction needs a reason; with one it is version 2, scored on today's figures
    // (D on time: 25 + 18.75 + 12.5 + 18.75 = 75), and version 1 stays readable.
    let r = app
        .graphql(Some(&center), PUBLISH, json!({"q": QUARTER}))
        .await;
    assert_eq!(error_code(&r), Some("BAD_USER_INPUT"), "{r}");
    let r = app
        .graphql(
            Some(&center),
            PUBLISH,
            json!({"q": QUARTER, "reason": "D 单补录接单时间"}),
        )
        .await;
    assert_eq!(data(&r, "publishEvaluation")["version"], 2, "{r}");
    let now = app
        .graphql(
            Some(&courtyard),
            EVALUATION,
            json!({"unit": caijiaba, "q": QUARTER}),
        )
        .await;
    let now = data(&now, "evaluation");
    assert_eq!(
        (now["score"].clone(), now["version"].clone()),
        (json!(75.0), json!(2))
    );
    assert_eq!(now["correctionReason"], "D 单补录接单时间");
    let v1_ranking = app
        .graphql(
            Some(&center),
            RANKING,
            json!({"q": QUARTER, "level": "COURTYARD", "v": 1}),
        )
        .await;
    let first = &data(&v1_ranking, "evaluationRanking")["edges"][0]["node"];
    assert_eq!(
        (
            first["unitPath"].clone(),
            first["score"].clone(),
            first["version"].clone()
        ),
        (json!(paths::CAIJIABA), json!(68.8), json!(1))
    );
    let r = app
        .graphql(
            Some(&center),
            RANKING,
            json!({"q": QUARTER, "level": "COURTYARD", "v": 9}),
        )
        .await;
    assert_eq!(error_code(&r), Some("NOT_FOUND"), "{r}");

    // Awards: 蔡家坝 first of the courtyards (100 to each member), once, though two versions
    // ranked it first; the station 虹桥 got 50 (no team there, so nobody was credited).
    let r = app
        .graphql(Some(&center), AWARDS, json!({"q": QUARTER}))
        .await;
    let edges = data(&r, "evaluationAwards")["edges"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let caijiaba_awards: Vec<&Value> = edges
        .iter()
        .filter(|e| e["node"]["unit"]["id"] == caijiaba.as_str())
        .collect();
    assert_eq!(caijiaba_awards.len(), 1, "{r}");
    assert_eq!(caijiaba_awards[0]["node"]["points"], 100);
    assert!(
        edges
            .iter()
            .any(|e| e["node"]["unit"]["id"] == hongqiao.as_str() && e["node"]["points"] == 50),
        "{r}"
    );
    let mut expected = vec![(v1, 100.0), (member, 100.0)];
    expected.sort_by_key(|r| r.0);
    // Both versions' events reached the volunteers ledger consumer (it records every event
    // it applied): only then does "credited once" mean something.
    let published: Vec<Uuid> = outbox::Entity::find()
        .filter(outbox::Column::Subject.eq("tongxin.orders.evaluation_published"))
        .all(&app.db)
        .await
        .expect("outbox")
        .into_iter()
        .map(|e| e.event_id)
        .collect();
    assert_eq!(published.len(), 2, "one event per version");
    let volunteers_db = app.spawned.direct_db(tongxin_volunteers::NAME).await;
    let handled = tongxin_testing::wait_until(StdDuration::from_secs(20), || async {
        processed::Entity::find()
            .filter(
                processed::Column::Consumer
                    .eq(tongxin_volunteers::events::consumers::ledger::ORDERS_CONSUMER),
            )
            .filter(processed::Column::EventId.is_in(published.clone()))
            .all(&volunteers_db)
            .await
            .expect("processed")
            .len()
            == 2
    })
    .await;
    assert!(
        handled,
        "the ledger consumer did not handle both publications"
    );
    assert_eq!(
        award_points(&app).await,
        expected,
        "100 to each member, once"
    );
}

/// Every edge of a ranking, page by page.
async fn all_edges(app: &TestApp, token: &str, vars: Value) -> Vec<Value> {
    let mut edges: Vec<Value> = Vec::new();
    loop {
        let mut v = vars.clone();
        if let Some(last) = edges.last() {
            v["after"] = last["cursor"].clone();
        }
        let r = app.graphql(Some(token), RANKING, v).await;
        let page = data(&r, "evaluationRanking").clone();
        edges.extend(page["edges"].as_array().cloned().unwrap_or_default());
        if page["pageInfo"]["hasNextPage"] != true {
            return edges;
        }
    }
}

#[tokio::test]
async fn a_live_ranking_covers_every_unit_of_the_level_including_quiet_ones() {
    let app = TestApp::spawn_at(set_start()).await;
    hand_checked_set(&app).await;
    let center = app.staff(paths::CENTER);
    let edges = all_edges(&app, &center, json!({"q": QUARTER, "level": "COURTYARD"})).await;
    // Every courtyard of the demo tree is ranked, those no order reached too.
    let courtyards = tongxin_venues::demo::tree()
        .iter()
        .filter(|(kind, ..)| *kind == tongxin_venues::domain::org::UnitKind::Courtyard)
        .count();
    assert_eq!(edges.len(), courtyards);
    let ranks: Vec<i64> = edges
        .iter()
        .map(|e| e["node"]["rank"].as_i64().unwrap_or(0))
        .collect();
    assert_eq!(ranks, (1..=courtyards as i64).collect::<Vec<_>>());
    assert!(edges.iter().all(|e| e["node"]["published"] == false));
    // The station's staff see their own courtyards only, with district-wide ranks.
    let mine = all_edges(
        &app,
        &app.staff(paths::HONGQIAO),
        json!({"q": QUARTER, "level": "COURTYARD"}),
    )
    .await;
    assert!(!mine.is_empty() && mine.len() < edges.len(), "{mine:?}");
    assert!(mine.iter().all(|e| {
        e["node"]["unitPath"]
            .as_str()
            .is_some_and(|p| p.starts_with(paths::HONGQIAO))
    }));
    // A quarter not begun, a center, a citizen: refused.
    let r = app
        .graphql(
            Some(&center),
            RANKING,
            json!({"q": "2027Q2", "level": "COURTYARD"}),
        )
        .await;
    assert_eq!(error_code(&r), Some("BAD_USER_INPUT"), "{r}");
    let r = app
        .graphql(
            Some(&center),
            RANKING,
            json!({"q": QUARTER, "level": "CENTER"}),
        )
        .await;
    assert_eq!(error_code(&r), Some("BAD_USER_INPUT"), "{r}");
    let r = app
        .graphql(
            Some(&app.citizen("alice")),
            RANKING,
            json!({"q": QUARTER, "level": "COURTYARD"}),
        )
        .await;
    assert_eq!(error_code(&r), Some("FORBIDDEN"), "{r}");
    // The CSV export: a header and one row per courtyard.
    let csv = reqwest::Client::new()
        .get(format!(
            "http://{}/orders/evaluation.csv?level=courtyard&quarter={QUARTER}",
            app.http
        ))
        .bearer_auth(&center)
        .send()
        .await
        .expect("csv");
    assert_eq!(csv.status(), 200);
    let body = csv.text().await.expect("body");
    let mut lines = body.lines();
    assert!(
        lines.next().is_some_and(|h| h.starts_with(
            "rank,score,unit_id,unit_path,level,quarter,version,orders_received,on_time_points"
        )),
        "{body}"
    );
    assert_eq!(lines.count(), courtyards, "{body}");
}

#[tokio::test]
async fn on_sqlite_as_tongxin_run_a_past_quarter_is_published_and_read_back_frozen() {
    let app = TestApp::spawn_embedded().await;
    let center = app.staff(paths::CENTER);
    let caijiaba = demo::unit_id(paths::CAIJIABA).0.to_string();
    // The last ended quarter by the real clock (the embedded services read it).
    let quarter = tongxin_orders::demo::previous_quarter(chrono::Utc::now());
    let r = app
        .graphql(Some(&center), PUBLISH, json!({"q": quarter}))
        .await;
    assert_eq!(data(&r, "publishEvaluation")["version"], 1, "{r}");
    let e = app
        .graphql(
            Some(&center),
            EVALUATION,
            json!({"unit": caijiaba, "q": quarter}),
        )
        .await;
    let e = data(&e, "evaluation");
    assert_eq!(
        (e["published"].clone(), e["version"].clone()),
        (json!(true), json!(1))
    );
    assert_eq!(e["lines"].as_array().map(Vec::len), Some(8), "{e}");
    let r = app
        .graphql(Some(&center), AWARDS, json!({"q": quarter}))
        .await;
    assert_eq!(
        data(&r, "evaluationAwards")["edges"]
            .as_array()
            .map(Vec::len),
        Some(9),
        "100, 60, 30 to the first three of each level: {r}"
    );
}
