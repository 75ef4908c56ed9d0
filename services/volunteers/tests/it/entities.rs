//! Federation: `_entities` with N volunteer references costs one batched load.

use serde_json::json;

use crate::TestApp;
use crate::vsupport::register;

#[tokio::test]
async fn entity_references_are_loaded_in_one_batch() {
    let app = TestApp::spawn().await;
    let mut ids = Vec::new();
    for n in 1..=5 {
        ids.push(register(&app, n, (29.4, 105.59), &["legal"], "").await);
    }
    let representations: Vec<_> = ids
        .iter()
        .map(|id| json!({ "__typename": "Volunteer", "id": id }))
        .collect();
    let before = app.volunteers.loader_batches();
    let r = app
        .graphql(
            None,
            r#"query($r: [_Any!]!) { _entities(representations: $r) { ... on Volunteer { id volunteerNo phone } } }"#,
            json!({ "r": representations }),
        )
        .await;
    assert!(r["errors"].is_null(), "{r}");
    let got: Vec<&str> = r["data"]["_entities"]
        .as_array()
        .expect("entities")
        .iter()
        .map(|v| v["id"].as_str().expect("id"))
        .collect();
    assert_eq!(got, ids.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(
        r["data"]["_entities"][0]["phone"]
            .as_str()
            .expect("phone")
            .contains("****")
    );
    assert_eq!(
        app.volunteers.loader_batches() - before,
        1,
        "one batch for five references"
    );
    app.stop().await;
}
