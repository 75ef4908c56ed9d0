//! The embedded path (`tongxin run`): SQLite and the in-process bus, with the demo stations.

use serde_json::json;
use tongxin_legal_aid::demo;

use super::*;

#[tokio::test]
async fn the_demo_station_books_and_refuses_a_double_booking_on_sqlite() {
    let app = TestApp::spawn_on(Store::Sqlite).await;
    for (path, level) in [
        (demo::paths::INDUSTRIAL_PARK, Level::Station),
        (demo::paths::RONGSHENG, Level::Station),
    ] {
        app.legal_aid
            .remember_unit(unit_id(path), path, level)
            .await
            .expect("unit");
    }
    // Hongqiao is already known (as units::HONGQIAO): all three demo stations are made.
    assert_eq!(demo::seed(&app.legal_aid).await.expect("seed"), 3);
    assert_eq!(
        demo::seed(&app.legal_aid).await.expect("seed again"),
        0,
        "seeding runs once"
    );
    let citizen = app.citizen("alice");
    let stations = app
        .ok(
            &citizen,
            "query { legalAidStations { edges { node { id unitPath } } } }",
            json!({}),
            "legalAidStations",
        )
        .await;
    let park = stations["edges"]
        .as_array()
        .expect("stations")
        .iter()
        .find(|e| e["node"]["unitPath"] == demo::paths::INDUSTRIAL_PARK)
        .expect("the industrial-park station")["node"]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    // The notary sits on Tuesday (29 September), a lawyer on Wednesday and Friday.
    let roster = app
        .ok(
            &citizen,
            "query($s: ID!) { dutyRoster(stationId: $s, from: \"2026-09-28\", to: \"2026-10-02\") {
               date sittings { service providers { name kind } } } }",
            json!({ "s": park }),
            "dutyRoster",
        )
        .await;
    let kinds: Vec<(String, String)> = roster
        .as_array()
        .expect("days")
        .iter()
        .flat_map(|d| {
            let date = d["date"].as_str().unwrap_or_default().to_owned();
            d["sittings"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .map(move |s| {
                    (
                        date.clone(),
                        s["providers"][0]["kind"]
                            .as_str()
                            .unwrap_or_default()
                            .to_owned(),
                    )
                })
        })
        .collect();
    assert!(
        kinds.contains(&("2026-09-29".to_owned(), "NOTARY".to_owned())),
        "{kinds:?}"
    );
    assert!(
        kinds.contains(&("2026-09-30".to_owned(), "LAWYER".to_owned())),
        "{kinds:?}"
    );
    assert!(
        !kinds.iter().any(|(d, _)| d == "2026-10-02"),
        "National Day holiday: {kinds:?}"
    );
    let input = json!({ "stationId": park, "service": "CONSULTATION", "startsAt": "2026-09-30T02:00:00Z", "topic": "工伤认定" });
    let first = app.book(&citizen, input.clone()).await;
    assert_eq!(
        first["data"]["bookAppointment"]["status"], "BOOKED",
        "{first}"
    );
    let second = app.book(&app.citizen("bob"), input).await;
    assert_eq!(error_code(&second), Some("CONFLICT"), "{second}");
    // The notary's linked account sees nothing of the lawyer's appointment.
    let notary = app.token(demo::accounts::NOTARY, &[Role::LegalAidProvider], None);
    let s = app
        .ok(
            &notary,
            "query { myProviderSchedule { edges { node { id } } } }",
            json!({}),
            "myProviderSchedule",
        )
        .await;
    assert_eq!(s["edges"], json!([]));
}
