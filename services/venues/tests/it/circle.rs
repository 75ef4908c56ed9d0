//! The 15-minute circle on a small map whose answers are worked out by hand.
//!
//! Walking model 4.8 km/h (80 m/min) × detour 1.3. Courtyard c1 at (30.000, 105), c2 at
//! (30.010, 105): 0.01° of latitude = 1111.95 m, so from c1's spot c2 is
//! 1111.95 × 1.3 ÷ 80 = 18.07 minutes away.

use serde_json::{Value, json};
use tongxin_platform::auth::Role;
use tongxin_platform::grpc::request_as;
use tongxin_proto::venues as pb;
use tongxin_proto::venues::org_service_client::OrgServiceClient;

use super::{TestApp, error_code};

const CREATE: &str = r#"mutation($i: CreateOrgUnitInput!) { createOrgUnit(input: $i) { id } }"#;

async fn create(
    app: &TestApp,
    token: &str,
    kind: &str,
    code: &str,
    parent: Option<&str>,
    lat: f64,
) -> String {
    let response = app
        .graphql(
            Some(token),
            CREATE,
            json!({ "i": { "kind": kind, "name": format!("测试 {code}"), "code": code, "parentId": parent,
                "location": { "lat": lat, "lon": 105.0 } } }),
        )
        .await;
    response["data"]["createOrgUnit"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{response}"))
        .to_owned()
}

/// Center /t, institute /t/i, station /t/i/s, courtyards /t/i/s/c1 and /t/i/s/c2.
async fn small_map(app: &TestApp) -> String {
    let admin = app.token_for(&[Role::Admin], None);
    let center = create(app, &admin, "CENTER", "t", None, 30.0).await;
    let staff = app.token_for(&[Role::Staff], Some(center.parse().expect("uuid")));
    let institute = create(app, &staff, "INSTITUTE", "i", Some(&center), 30.0).await;
    let station = create(app, &staff, "STATION", "s", Some(&institute), 30.0).await;
    create(app, &staff, "COURTYARD", "c1", Some(&station), 30.0).await;
    create(app, &staff, "COURTYARD", "c2", Some(&station), 30.01).await;
    staff
}

fn names(value: &Value) -> Vec<(String, f64)> {
    value
        .as_array()
        .expect("array")
        .iter()
        .map(|v| {
            (
                v["orgUnit"]["path"].as_str().unwrap_or_default().to_owned(),
                v["walkingMinutes"].as_f64().unwrap_or(-1.0),
            )
        })
        .collect()
}

const WITHIN: &str = r#"query($lat: Float!, $m: Float) { venuesWithin(lat: $lat, lon: 105.0, minutes: $m) { walkingMinutes orgUnit { path } } }"#;

#[tokio::test]
async fn walking_time_ranking_matches_hand_computed_distances() {
    let app = TestApp::spawn_with(false).await;
    let staff = small_map(&app).await;

    let r15 = app
        .graphql(None, WITHIN, json!({ "lat": 30.0, "m": 15.0 }))
        .await;
    assert_eq!(
        names(&r15["data"]["venuesWithin"]),
        vec![("/t/i/s/c1".to_owned(), 0.0)],
        "{r15}"
    );

    let r20 = app
        .graphql(None, WITHIN, json!({ "lat": 30.0, "m": 20.0 }))
        .await;
    let found = names(&r20["data"]["venuesWithin"]);
    assert_eq!(found.len(), 2, "{r20}");
    assert_eq!(found[1].0, "/t/i/s/c2");
    assert!(
        (found[1].1 - 1111.95 * 1.3 / 80.0).abs() < 0.01,
        "c2 at {} min",
        found[1].1
    );

    // A point 0.004° north: c1 444.78 m (7.23 min), c2 667.17 m (10.84 min) → c1 covers it.
    let covering = app
        .graphql(
            None,
            r#"{ coveringCourtyard(lat: 30.004, lon: 105.0) { walkingMinutes orgUnit { path } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(
        covering["data"]["coveringCourtyard"]["orgUnit"]["path"], "/t/i/s/c1",
        "{covering}"
    );
    assert!(
        (covering["data"]["coveringCourtyard"]["walkingMinutes"]
            .as_f64()
            .expect("minutes")
            - 7.228)
            .abs()
            < 0.01
    );
    let nobody = app
        .graphql(
            None,
            r#"{ coveringCourtyard(lat: 30.1, lon: 105.0) { walkingMinutes } }"#,
            json!({}),
        )
        .await;
    assert!(nobody["data"]["coveringCourtyard"].is_null(), "{nobody}");

    // A registered park 0.002° north (222.39 m → 3.61 min) joins the circle, as a venue.
    let c1 = app
        .graphql(
            None,
            r#"{ coveringCourtyard(lat: 30.0, lon: 105.0) { orgUnit { id } } }"#,
            json!({}),
        )
        .await["data"]["coveringCourtyard"]["orgUnit"]["id"]
        .as_str()
        .expect("c1 id")
        .to_owned();
    let park = app
        .graphql(
            Some(&staff),
            r#"mutation($u: ID!) { createVenue(input: { kind: PARK, name: "测试公园", orgUnitId: $u,
                location: { lat: 30.002, lon: 105.0 }, capacity: 300 }) { id } }"#,
            json!({ "u": c1 }),
        )
        .await;
    assert!(park["errors"].is_null(), "{park}");
    let with_park = app
        .graphql(None, r#"{ venuesWithin(lat: 30.0, lon: 105.0, minutes: 15) { kind walkingMinutes venue { name } } }"#, json!({}))
        .await;
    let places = with_park["data"]["venuesWithin"].as_array().expect("list");
    assert_eq!(places.len(), 2, "{with_park}");
    assert_eq!(places[1]["kind"], "PARK");
    assert_eq!(places[1]["venue"]["name"], "测试公园");
    assert!(
        (places[1]["walkingMinutes"].as_f64().expect("minutes") - 222.39 * 1.3 / 80.0).abs() < 0.01
    );

    // A hilly district: 3.6 km/h (60 m/min) × 1.5 puts c2 at 27.8 minutes.
    let set = app
        .graphql(Some(&staff), r#"mutation { setWalkingSettings(district: "t", speedKmh: 3.6, detourFactor: 1.5) { speedKmh } }"#, json!({}))
        .await;
    assert_eq!(set["data"]["setWalkingSettings"]["speedKmh"], 3.6, "{set}");
    let hilly = app
        .graphql(None, WITHIN, json!({ "lat": 30.0, "m": 20.0 }))
        .await;
    let hilly = names(&hilly["data"]["venuesWithin"]);
    assert_eq!(
        hilly.len(),
        2,
        "c1 and the park (5.56 min), not c2: {hilly:?}"
    );
    assert!(hilly.iter().all(|(path, _)| path == "/t/i/s/c1"));
    let bad = app
        .graphql(Some(&staff), r#"mutation { setWalkingSettings(district: "t", speedKmh: -1, detourFactor: 1.5) { speedKmh } }"#, json!({}))
        .await;
    assert_eq!(error_code(&bad), Some("BAD_USER_INPUT"));

    for (lat, minutes) in [(91.0, 15.0), (30.0, 0.0), (30.0, 10_000.0)] {
        let response = app
            .graphql(None, WITHIN, json!({ "lat": lat, "m": minutes }))
            .await;
        assert_eq!(
            error_code(&response),
            Some("BAD_USER_INPUT"),
            "{lat} {minutes}: {response}"
        );
    }

    let mut client = OrgServiceClient::connect(format!("http://{}", app.grpc))
        .await
        .expect("connect");
    let routed = client
        .covering_courtyard(request_as(
            pb::CoveringCourtyardRequest {
                location: Some(pb::Location {
                    lat: 30.009,
                    lon: 105.0,
                }),
                minutes: 0.0,
            },
            Some(&app.service_credential()),
        ))
        .await
        .expect("grpc")
        .into_inner();
    assert!(routed.found);
    assert_eq!(routed.courtyard.expect("courtyard").path, "/t/i/s/c2");
    app.stop().await;
}

const COVERAGE: &str = r#"query($u: ID) { coverage(unitId: $u, suggestions: 1) {
    residents covered share uncoveredClusters { residents } suggestedSites { newlyCovered cumulativeShare location { lat } } } }"#;

#[tokio::test]
async fn coverage_clusters_and_suggestions_on_a_hand_checked_map() {
    let app = TestApp::spawn_with(false).await;
    let staff = small_map(&app).await;
    // 10 residents at c1, 5 at 222 m from c2 (covered), 20 at 30.05 (4.4 km from c2: not).
    let csv =
        "lat,lon,weight,unit_path\n30.0,105.0,10,/t/i/s/c1\n30.012,105.0,5,\n30.05,105.0,20,\n";
    const IMPORT: &str =
        r#"mutation($csv: String!) { importResidentPoints(district: "t", csv: $csv) }"#;
    let imported = app
        .graphql(Some(&staff), IMPORT, json!({ "csv": csv }))
        .await;
    assert_eq!(imported["data"]["importResidentPoints"], 3, "{imported}");

    let whole = app.graphql(None, COVERAGE, json!({})).await;
    let report = &whole["data"]["coverage"];
    assert_eq!(report["residents"], 35, "{whole}");
    assert_eq!(report["covered"], 15);
    assert!((report["share"].as_f64().expect("share") - 15.0 / 35.0).abs() < 1e-9);
    assert_eq!(report["uncoveredClusters"][0]["residents"], 20);
    let site = &report["suggestedSites"][0];
    assert_eq!(site["newlyCovered"], 20);
    assert!((site["cumulativeShare"].as_f64().expect("share") - 1.0).abs() < 1e-9);
    assert!(
        (site["location"]["lat"].as_f64().expect("lat") - 30.05).abs() < 0.01,
        "the site lands on the gap"
    );

    let broken = "lat,lon,weight\n30.0,105.0,1\n95,105.0,1\n30.0,x,1\n";
    let refused = app
        .graphql(Some(&staff), IMPORT, json!({ "csv": broken }))
        .await;
    assert_eq!(error_code(&refused), Some("BAD_USER_INPUT"), "{refused}");
    let message = refused["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("line 3") && message.contains("line 4") && !message.contains("line 2"),
        "{message}"
    );
    let still = app.graphql(None, COVERAGE, json!({})).await;
    assert_eq!(
        still["data"]["coverage"]["residents"], 35,
        "a broken file imports nothing"
    );

    let anonymous = app.graphql(None, IMPORT, json!({ "csv": csv })).await;
    assert_eq!(error_code(&anonymous), Some("UNAUTHENTICATED"));

    let map = app
        .graphql(None, r#"{ coverageMap(suggestions: 1) }"#, json!({}))
        .await;
    let svg = map["data"]["coverageMap"]
        .as_str()
        .unwrap_or_else(|| panic!("{map}"));
    assert!(
        svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"),
        "an SVG document"
    );
    // The same answer as `coverage`, drawn: the share of residents covered (15 of 35 by
    // weight) in the title, one marker per courtyard of the district with its name, one dot
    // per resident point (c1's and the one near c2 covered, the far one not) and the one
    // suggested site, numbered 1.
    assert_eq!(
        between(svg, "<title>", "</title>").first().copied(),
        Some("测试 t — 15 分钟文明实践圈 覆盖 42.9%"),
        "the map's title"
    );
    assert_eq!(
        between(svg, r#"<circle class="venue courtyard""#, "</circle>")
            .iter()
            .map(|marker| between(marker, "<title>", "</title>").concat())
            .collect::<Vec<_>>(),
        ["测试 c1", "测试 c2"],
        "one marker per courtyard"
    );
    assert_eq!(svg.matches(r#"class="venue other""#).count(), 0);
    assert_eq!(svg.matches(r#"class="resident covered""#).count(), 2);
    assert_eq!(svg.matches(r#"class="resident uncovered""#).count(), 1);
    assert_eq!(svg.matches(r#"class="site""#).count(), 1);
    assert_eq!(
        between(svg, r#"<text class="site-label""#, "</text>")
            .iter()
            .map(|label| label.rsplit('>').next().unwrap_or_default())
            .collect::<Vec<_>>(),
        ["1"]
    );
    app.stop().await;
}

/// The pieces of `text` that start right after each `open` and end before the next `close`.
fn between<'t>(text: &'t str, open: &str, close: &str) -> Vec<&'t str> {
    text.split(open)
        .skip(1)
        .map(|piece| piece.split(close).next().unwrap_or_default())
        .collect()
}
