//! The gateway as a door (issue 14): what an attacker or a confused client sends is answered
//! or refused within a bounded time, with a code and a reason, and the gateway keeps serving
//! everyone else. Each test drives the real router behind its guard.

use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tongxin_platform::auth::Role;
use tongxin_testing::error_code;
use tongxin_venues::demo::paths;

use crate::platform::{Options, Platform, Subgraphs};

/// A query every anonymous caller may run.
const SMALL: &str = "{ orgUnit(id: \"00000000-0000-0000-0000-000000000000\") { id } }";

/// The body of issue 14: about 31 kB, nested 16,000 levels in `where`.
fn nested_body(place: &str) -> String {
    let depth = 16_000;
    let value = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
    match place {
        "variables" => format!(r#"{{"query":"{{ __typename }}","variables":{{"x":{value}}}}}"#),
        _ => format!(r#"{{"query":"{{ __typename }}","extensions":{{"x":{value}}}}}"#),
    }
}

async fn post(url: &str, token: Option<&str>, body: String) -> (u16, Value, Duration) {
    let started = Instant::now();
    let mut request = reqwest::Client::new()
        .post(url)
        .header("content-type", "application/json")
        .header("accept", "application/graphql-response+json")
        .timeout(Duration::from_secs(10))
        .body(body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect("an answer within 10 s");
    let status = response.status().as_u16();
    let body = response.json().await.unwrap_or(Value::Null);
    (status, body, started.elapsed())
}

fn graphql_body(query: &str, variables: Value) -> String {
    json!({ "query": query, "variables": variables }).to_string()
}

#[tokio::test]
async fn a_deeply_nested_body_is_refused_at_once_while_other_clients_are_served() {
    let platform = Platform::start(Subgraphs::Venues).await;
    let url = platform.url();
    // Two attacks at once (the issue: two such requests stopped the gateway for minutes),
    // and an ordinary client beside them.
    let attacks = futures::future::join_all(
        ["extensions", "variables", "extensions", "variables"]
            .map(|place| post(&url, None, nested_body(place))),
    );
    let ordinary = post(&url, None, graphql_body(SMALL, Value::Null));
    let (attacks, ordinary) = tokio::join!(attacks, ordinary);
    for (status, body, took) in attacks {
        assert_eq!(status, 400, "{body}");
        assert_eq!(error_code(&body), Some("MAX_JSON_DEPTH_EXCEEDED"), "{body}");
        assert!(
            body["errors"][0]["message"]
                .as_str()
                .is_some_and(|m| m.contains("max_json_depth")),
            "the message names the limit: {body}"
        );
        assert!(
            took < Duration::from_secs(2),
            "refused within 2 s, took {took:?}"
        );
    }
    let (status, body, _) = ordinary;
    assert_eq!(status, 200, "{body}");
    assert!(
        body["data"]["orgUnit"].is_null() && body.get("errors").is_none(),
        "{body}"
    );

    // The same class in the document itself: selection sets nested 8,000 deep.
    let deep_query = format!("{}{}", "{ a ".repeat(8_000), "}".repeat(8_000));
    let (status, body, took) = post(&url, None, graphql_body(&deep_query, Value::Null)).await;
    assert_eq!(
        (status, error_code(&body)),
        (400, Some("MAX_DEPTH_EXCEEDED")),
        "{body}"
    );
    assert!(took < Duration::from_secs(2), "{took:?}");

    // And after all that, the gateway still answers at once.
    let (status, body, took) = post(&url, None, graphql_body(SMALL, Value::Null)).await;
    assert_eq!(status, 200, "{body}");
    assert!(took < Duration::from_secs(2), "{took:?}");
    platform.stop().await;
}

/// The graphql-transport-ws handshake with `payload`; returns the socket after the server's
/// answer to `connection_init` (an ack, or a close).
async fn ws_connect(url: &str) -> crate::platform::Socket {
    let mut request = url
        .replacen("http://", "ws://", 1)
        .into_client_request()
        .expect("request");
    request.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        "graphql-transport-ws".parse().expect("header"),
    );
    let (socket, _) = tokio_tungstenite::connect_async(request)
        .await
        .expect("websocket");
    socket
}

/// The close frame the server ends with (code, reason), ignoring other messages.
async fn closed_with(socket: &mut crate::platform::Socket) -> (u16, String) {
    loop {
        let message = tokio::time::timeout(Duration::from_secs(10), socket.next())
            .await
            .expect("closed within 10 s");
        match message {
            Some(Ok(Message::Close(Some(frame)))) => {
                return (frame.code.into(), frame.reason.as_str().to_owned());
            }
            Some(Ok(_)) => {}
            other => panic!("expected a close frame, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn each_bad_token_gets_unauthenticated_and_its_reason_over_http_sse_and_websocket() {
    let platform = Platform::start(Subgraphs::Venues).await;
    let url = platform.url();
    let good = platform.sign("e2e", &[Role::Citizen], None);
    let tampered = {
        // Another payload under the same signature.
        let mut parts: Vec<String> = good.split('.').map(str::to_owned).collect();
        let other = platform.sign("someone-else", &[Role::Staff], None);
        parts[1] = other.split('.').nth(1).expect("payload").to_owned();
        parts.join(".")
    };
    let cases = [
        (
            "expired",
            platform.token_with(|c| c.exp = c.iat - 3600),
            "expired",
        ),
        ("tampered", tampered, "bad signature"),
        (
            "wrong audience",
            platform.token_with(|c| c.aud = "another-app".to_owned()),
            "wrong audience",
        ),
        (
            "wrong issuer",
            platform.token_with(|c| c.iss = "someone".to_owned()),
            "wrong issuer",
        ),
        ("not a JWT", "not-a-token".to_owned(), "malformed"),
    ];
    for (case, token, reason) in &cases {
        // HTTP: 401, UNAUTHENTICATED, the reason.
        let (status, body, _) = post(&url, Some(token), graphql_body(SMALL, Value::Null)).await;
        assert_eq!(status, 401, "{case}: {body}");
        assert_eq!(error_code(&body), Some("UNAUTHENTICATED"), "{case}: {body}");
        let message = body["errors"][0]["message"].as_str().unwrap_or_default();
        assert!(message.contains(reason), "{case}: {message}");

        // SSE: the same answer before any stream starts.
        let response = reqwest::Client::new()
            .post(&url)
            .bearer_auth(token)
            .header("accept", "text/event-stream")
            .json(&json!({ "query": "subscription { __typename }" }))
            .send()
            .await
            .expect("send");
        assert_eq!(response.status().as_u16(), 401, "{case} over SSE");
        let body: Value = response.json().await.expect("json");
        assert_eq!(
            error_code(&body),
            Some("UNAUTHENTICATED"),
            "{case} over SSE: {body}"
        );
        assert!(
            body["errors"][0]["message"]
                .as_str()
                .is_some_and(|m| m.contains(reason)),
            "{case} over SSE: {body}"
        );

        // WebSocket: connection_init refused with 4403 and the same words.
        let mut socket = ws_connect(&url).await;
        let init = json!({ "type": "connection_init", "payload": { "Authorization": format!("Bearer {token}") } });
        socket
            .send(Message::text(init.to_string()))
            .await
            .expect("init");
        let (code, why) = closed_with(&mut socket).await;
        assert_eq!(code, 4403, "{case} over WebSocket: {why}");
        assert!(
            why.starts_with("UNAUTHENTICATED: ") && why.contains(reason),
            "{case} over WebSocket: {why}"
        );
    }

    // A good token passes on every transport.
    let (status, body, _) = post(&url, Some(&good), graphql_body(SMALL, Value::Null)).await;
    assert_eq!(status, 200, "{body}");
    let mut socket = ws_connect(&url).await;
    let init = json!({ "type": "connection_init", "payload": { "Authorization": format!("Bearer {good}") } });
    socket
        .send(Message::text(init.to_string()))
        .await
        .expect("init");
    let ack = crate::platform::next_json(&mut socket).await;
    assert_eq!(ack["type"], "connection_ack", "{ack}");
    platform.stop().await;
}

#[tokio::test]
async fn two_operations_without_an_operation_name_are_a_request_error() {
    let platform = Platform::start(Subgraphs::Venues).await;
    let url = platform.url();
    let document = format!("query A {SMALL} query B {{ __typename }}");
    let (status, body, _) = post(&url, None, graphql_body(&document, Value::Null)).await;
    assert_eq!(status, 400, "{document}: {body}");
    assert_eq!(
        error_code(&body),
        Some("OPERATION_RESOLUTION_FAILURE"),
        "{body}"
    );
    assert!(
        body.get("data").is_none(),
        "a request error has no data: {body}"
    );

    let named = json!({ "query": document, "operationName": "B" }).to_string();
    let (status, body, _) = post(&url, None, named).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["__typename"], "Query", "{body}");
    platform.stop().await;
}

/// Four rounds of `children(first: 1000) { … parent { … } }`: the issue's 3–4 s, 1 GB query.
fn four_rounds(first: u32) -> String {
    let mut query = String::from("{ orgUnit(id: $id) { id ");
    for _ in 0..4 {
        query.push_str(&format!(
            "children(first: {first}) {{ nodes {{ id parent {{ id "
        ));
    }
    query.push_str(&"} } } ".repeat(4));
    query.push_str("} }");
    query.replacen(
        "{ orgUnit(id: $id)",
        "query Four($id: ID!) { orgUnit(id: $id)",
        1,
    )
}

#[tokio::test]
async fn every_query_has_a_price_and_each_limit_refuses_with_its_code() {
    let platform = Platform::start(Subgraphs::Venues).await;
    let url = platform.url();
    let staff = platform.sign("staff", &[Role::Staff], Some(paths::CAIJIABA));
    let id = json!({ "id": tongxin_venues::demo::unit_id(paths::CAIJIABA).0 });

    // The issue's query: refused for everyone, before any subgraph works on it.
    for token in [None, Some(staff.as_str())] {
        let (status, body, took) =
            post(&url, token, graphql_body(&four_rounds(1000), id.clone())).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(
            error_code(&body),
            Some("COST_ESTIMATED_TOO_EXPENSIVE"),
            "{body}"
        );
        let message = body["errors"][0]["message"].as_str().unwrap_or_default();
        let limit = if token.is_some() {
            "(max_cost)"
        } else {
            "(max_anonymous_cost)"
        };
        assert!(message.contains(limit), "{message}");
        assert!(took < Duration::from_secs(2), "{took:?}");
    }
    // A mid-sized query: too dear without a token, fine with one.
    let mid = four_rounds(10);
    let (status, body, _) = post(&url, None, graphql_body(&mid, id.clone())).await;
    assert_eq!(
        (status, error_code(&body)),
        (400, Some("COST_ESTIMATED_TOO_EXPENSIVE")),
        "{body}"
    );
    let (status, body, _) = post(&url, Some(&staff), graphql_body(&mid, id.clone())).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["data"]["orgUnit"]["id"].is_string(), "{body}");
    // The page size may come in a variable: it counts all the same.
    let by_variable = "query V($id: ID!, $n: Int) { orgUnit(id: $id) { children(first: $n) { nodes { children(first: $n) { nodes { children(first: $n) { nodes { id } } } } } } } }";
    let (status, body, _) = post(
        &url,
        None,
        graphql_body(by_variable, json!({ "id": id["id"], "n": 100 })),
    )
    .await;
    assert_eq!(
        (status, error_code(&body)),
        (400, Some("COST_ESTIMATED_TOO_EXPENSIVE")),
        "{body}"
    );

    // The router's own limits, named by their codes.
    let aliases: String = (0..31).map(|i| format!("a{i}: __typename ")).collect();
    let (status, body, _) = post(
        &url,
        None,
        graphql_body(&format!("{{ {aliases} }}"), Value::Null),
    )
    .await;
    assert_eq!(
        (status, error_code(&body)),
        (400, Some("MAX_ALIASES_EXCEEDED")),
        "{body}"
    );
    let directives = "@skip(if: false) ".repeat(51);
    let (status, body, _) = post(
        &url,
        None,
        graphql_body(&format!("{{ __typename {directives} }}"), Value::Null),
    )
    .await;
    assert_eq!(
        (status, error_code(&body)),
        (400, Some("MAX_DIRECTIVES_EXCEEDED")),
        "{body}"
    );
    let deep = format!(
        "{{ orgUnit(id: \"x\") {{ {} id {} }} }}",
        "parent { ".repeat(15),
        "} ".repeat(15)
    );
    let (status, body, _) = post(&url, None, graphql_body(&deep, Value::Null)).await;
    assert_eq!(
        (status, error_code(&body)),
        (400, Some("MAX_DEPTH_EXCEEDED")),
        "{body}"
    );
    // (Signed in: 5,001 fields would pass the anonymous cost limit first.)
    let tokens = format!("{{ __typename {} }}", "__typename ".repeat(5_000));
    let (status, body, _) = post(&url, Some(&staff), graphql_body(&tokens, Value::Null)).await;
    assert_eq!(status, 400, "{body}");
    assert!(
        error_code(&body).is_some_and(|c| c.contains("TOKEN")),
        "{body}"
    );
    // A body over the size limit never reaches a parser.
    let huge = graphql_body(SMALL, json!({ "pad": "x".repeat(1_100_000) }));
    let (status, body, _) = post(&url, None, huge).await;
    assert_eq!(
        (status, error_code(&body)),
        (413, Some("REQUEST_TOO_LARGE")),
        "{body}"
    );
    platform.stop().await;
}

#[tokio::test]
async fn a_client_over_its_rate_is_told_to_wait_and_others_are_not() {
    let platform = Platform::start_with(
        Subgraphs::Venues,
        Options {
            guard: tongxin_guard::GuardSettings {
                rate_per_second: 1,
                rate_burst: 3,
                ..tongxin_guard::GuardSettings::default()
            },
            ..Options::default()
        },
    )
    .await;
    let url = platform.url();
    for _ in 0..3 {
        let (status, body, _) = post(&url, None, graphql_body(SMALL, Value::Null)).await;
        assert_eq!(status, 200, "{body}");
    }
    let (status, body, _) = post(&url, None, graphql_body(SMALL, Value::Null)).await;
    assert_eq!(
        (status, error_code(&body)),
        (429, Some("RATE_LIMITED")),
        "{body}"
    );
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("rate_per_second")),
        "{body}"
    );
    // A signed-in client is counted by its subject, not by the address it shares.
    let token = platform.sign("another-client", &[Role::Citizen], None);
    let (status, body, _) = post(&url, Some(&token), graphql_body(SMALL, Value::Null)).await;
    assert_eq!(status, 200, "{body}");
    platform.stop().await;
}

#[tokio::test]
async fn over_websocket_a_subscribe_over_its_price_or_its_rate_or_ambiguous_is_refused_and_the_connection_serves_on()
 {
    let platform = Platform::start_with(
        Subgraphs::Venues,
        Options {
            guard: tongxin_guard::GuardSettings {
                rate_per_second: 1,
                rate_burst: 3,
                ..tongxin_guard::GuardSettings::default()
            },
            ..Options::default()
        },
    )
    .await;
    let mut socket = ws_connect(&platform.url()).await;
    let send = |message: Value| Message::text(message.to_string());
    socket
        .send(send(json!({ "type": "connection_init", "payload": {} })))
        .await
        .expect("init");
    let ack = crate::platform::next_json(&mut socket).await;
    assert_eq!(ack["type"], "connection_ack", "{ack}");
    let id = json!({ "id": tongxin_venues::demo::unit_id(paths::CAIJIABA).0 });
    let refused = [
        (
            "dear",
            json!({ "query": four_rounds(1000), "variables": id }),
            "COST_ESTIMATED_TOO_EXPENSIVE",
            "(max_anonymous_cost)",
        ),
        (
            "two",
            json!({ "query": "query A { __typename } query B { __typename }" }),
            "OPERATION_RESOLUTION_FAILURE",
            "operationName",
        ),
    ];
    for (name, payload, code, words) in refused {
        let subscribe = json!({ "id": name, "type": "subscribe", "payload": payload });
        socket.send(send(subscribe)).await.expect("subscribe");
        let answer = crate::platform::next_json(&mut socket).await;
        assert_eq!(
            (&answer["id"], &answer["type"]),
            (&json!(name), &json!("error")),
            "{answer}"
        );
        assert_eq!(answer["payload"][0]["extensions"]["code"], code, "{answer}");
        let message = answer["payload"][0]["message"].as_str().unwrap_or_default();
        assert!(message.contains(words), "{message}");
    }
    // The refusals closed nothing: the same connection still runs an admitted operation.
    let fine = json!({ "id": "fine", "type": "subscribe", "payload": { "query": SMALL } });
    socket.send(send(fine)).await.expect("subscribe");
    let answer = crate::platform::next_json(&mut socket).await;
    assert_eq!(
        (&answer["id"], &answer["type"]),
        (&json!("fine"), &json!("next")),
        "{answer}"
    );
    // The burst of three is spent (two refused, one run) and one comes back per second:
    // of four more sent at once, some wait their turn.
    for n in 0..4 {
        let more =
            json!({ "id": format!("more{n}"), "type": "subscribe", "payload": { "query": SMALL } });
        socket.send(send(more)).await.expect("subscribe");
    }
    let mut limited = 0;
    let mut answered = std::collections::BTreeSet::new();
    while answered.len() < 4 {
        let answer = crate::platform::next_json(&mut socket).await;
        let Some(id) = answer["id"].as_str().filter(|id| id.starts_with("more")) else {
            continue;
        };
        if answer["type"] == "error" {
            assert_eq!(
                answer["payload"][0]["extensions"]["code"], "RATE_LIMITED",
                "{answer}"
            );
            limited += 1;
        }
        if matches!(answer["type"].as_str(), Some("error" | "complete")) {
            answered.insert(id.to_owned());
        }
    }
    assert!(
        limited >= 1,
        "four subscribes at once over a rate of one per second"
    );
    platform.stop().await;
}

#[tokio::test]
async fn forwarded_addresses_count_only_from_a_trusted_proxy() {
    // One anonymous request per second and client, no burst beyond it.
    let limits = tongxin_guard::GuardSettings {
        rate_per_second: 1,
        rate_burst: 1,
        ..tongxin_guard::GuardSettings::default()
    };
    let from = |url: String, client: &'static str| async move {
        let response = reqwest::Client::new()
            .post(url)
            .header("content-type", "application/json")
            .header("x-forwarded-for", client)
            .body(graphql_body(SMALL, Value::Null))
            .send()
            .await
            .expect("answer");
        response.status().as_u16()
    };

    // Nobody trusted: whatever a client forwards, the connection's address is the client,
    // so two "different" clients on one address share one bucket.
    let platform = Platform::start_with(
        Subgraphs::Venues,
        Options {
            guard: limits.clone(),
            ..Options::default()
        },
    )
    .await;
    assert_eq!(from(platform.url(), "198.51.100.1").await, 200);
    assert_eq!(from(platform.url(), "198.51.100.2").await, 429);
    platform.stop().await;

    // Loopback is the trusted proxy (as an Ingress controller's addresses would be): the
    // address it forwards is the client, and each client has a bucket of its own.
    let platform = Platform::start_with(
        Subgraphs::Venues,
        Options {
            guard: tongxin_guard::GuardSettings {
                trusted_proxies: vec!["127.0.0.0/8".to_owned()],
                ..limits
            },
            ..Options::default()
        },
    )
    .await;
    assert_eq!(from(platform.url(), "198.51.100.1").await, 200);
    assert_eq!(from(platform.url(), "198.51.100.2").await, 200);
    assert_eq!(from(platform.url(), "198.51.100.1").await, 429);
    // A client that writes its own header gains nothing: the proxy appends what it saw,
    // and the guard reads from the right.
    assert_eq!(
        from(platform.url(), "203.0.113.50, 198.51.100.2").await,
        429
    );
    platform.stop().await;
}

#[tokio::test]
async fn a_refused_input_leaves_no_variable_value_in_the_gateway_logs() {
    let platform = Platform::start(Subgraphs::Venues).await;
    let url = platform.url();
    // A phone and an ID number where the schema wants something else: the router refuses
    // the variables, and used to log them in clear while doing so.
    let phone = "13912345678";
    let id_number = "50022619900101123X";
    let query = "query Q($id: ID!, $lat: Float!) { orgUnit(id: $id) { id } coveringCourtyard(lat: $lat, lon: 105.5) { name } }";
    let variables = json!({ "id": { "phone": phone, "idCard": id_number }, "lat": phone });
    let (status, body, _) = post(&url, None, graphql_body(query, variables)).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(error_code(&body), Some("BAD_USER_INPUT"), "{body}");
    // Let the router's non-blocking writer flush.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let log = platform.router_log();
    assert!(!log.is_empty(), "the router logs to its file");
    for (n, line) in log.lines().enumerate() {
        assert!(
            !line.contains(phone) && !line.contains(id_number),
            "router log line {n} holds a variable value: {line}"
        );
    }
    platform.stop().await;
}

#[tokio::test]
async fn in_production_mode_only_registered_documents_run() {
    let platform = Platform::start_with(
        Subgraphs::Venues,
        Options {
            persisted_only: true,
            ..Options::default()
        },
    )
    .await;
    let url = platform.url();
    let manifest: serde_json::Map<String, Value> =
        serde_json::from_str(tongxin::router::PERSISTED_DOCUMENTS).expect("manifest");
    let (id, _) = manifest
        .iter()
        .find(|(_, body)| {
            body.as_str()
                .is_some_and(|b| b.starts_with("query OrgUnitChildren"))
        })
        .expect("the staff console's OrgUnitChildren document is registered");
    let unit = tongxin_venues::demo::unit_id(paths::CAIJIABA).0;

    // A registered document, by id.
    let registered = json!({ "documentId": id, "variables": { "id": unit } }).to_string();
    let (status, body, _) = post(&url, None, registered).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["data"]["orgUnit"]["id"],
        json!(unit.to_string()),
        "{body}"
    );

    // An unknown id, and a free query: refused before any subgraph is called.
    let unknown = json!({ "documentId": "0".repeat(64), "variables": { "id": unit } }).to_string();
    let (status, body, _) = post(&url, None, unknown).await;
    assert_eq!(
        (status, error_code(&body)),
        (400, Some("PERSISTED_DOCUMENT_NOT_FOUND")),
        "{body}"
    );
    let (status, body, _) = post(&url, None, graphql_body(SMALL, Value::Null)).await;
    assert_eq!(
        (status, error_code(&body)),
        (400, Some("PERSISTED_DOCUMENT_ID_REQUIRED")),
        "{body}"
    );
    platform.stop().await;
}
