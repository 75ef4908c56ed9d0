//! The org-tree tracer bullet across the router.

use std::sync::Arc;
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_util::sync::CancellationToken;
use tongxin::router::{RouterOptions, RouterProcess};
use tongxin_platform::auth::{DevKeys, Role, TokenRequest, Verifier};
use tongxin_platform::config::{CommonSettings, DatabaseSettings, EventsSettings, ServiceSettings};
use tongxin_testing::{TestDb, TestNats, free_port};
use tongxin_venues::demo::{self, paths};

struct Platform {
    router: Option<RouterProcess>,
    keys: DevKeys,
    stop: CancellationToken,
    venues: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
    _db: TestDb,
    _nats: TestNats,
    _dir: tempfile::TempDir,
}

impl Platform {
    async fn start() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = TestDb::new().await;
        let nats = TestNats::start().await;
        let keys = DevKeys::load_or_generate(&dir.path().join("keys")).expect("keys");
        let verifier = Arc::new(
            Verifier::from_jwks_json(keys.jwks_json(), "tongxin", "tongxin").expect("verifier"),
        );
        let common = CommonSettings {
            events: EventsSettings {
                nats_url: nats.url(),
                relay_interval_ms: 50,
                ..EventsSettings::default()
            },
            shutdown_timeout_secs: 5,
            ..CommonSettings::default()
        };
        let bus = tongxin_platform::events::connect(&common.events)
            .await
            .expect("bus");
        let settings = ServiceSettings {
            http_addr: "127.0.0.1:0".parse().expect("addr"),
            grpc_addr: "127.0.0.1:0".parse().expect("addr"),
            database: DatabaseSettings::new(db.url()),
        };
        let app = tongxin_venues::App::build(
            &settings,
            &common,
            tongxin_venues::Shared { bus, verifier },
        )
        .await
        .expect("venues");
        demo::seed(app.db()).await.expect("seed");
        let venues_url = format!("http://{}/graphql", app.http_addr());
        let stop = CancellationToken::new();
        let venues = tokio::spawn(app.run_until_stopped(stop.clone()));

        let binary = tongxin::router::find_binary(None).expect("router binary: run `make tools`");
        let router_dir = dir.path().join("router");
        let router = RouterProcess::start(RouterOptions {
            binary: &binary,
            work_dir: &router_dir,
            listen: format!("127.0.0.1:{}", free_port()).parse().expect("addr"),
            jwks: keys.jwks_path(),
            subgraphs: &[("venues", venues_url)],
            log_file: Some(&dir.path().join("router.log")),
        })
        .await
        .expect("router");
        Self {
            router: Some(router),
            keys,
            stop,
            venues: Some(venues),
            _db: db,
            _nats: nats,
            _dir: dir,
        }
    }

    fn url(&self) -> String {
        self.router
            .as_ref()
            .map(|r| r.url().to_owned())
            .unwrap_or_default()
    }

    fn token(&self, roles: &[Role], unit_path: &str) -> String {
        self.keys
            .sign(&TokenRequest {
                subject: "e2e",
                roles,
                unit: Some(demo::unit_id(unit_path).0),
                district: Some("rc"),
                issuer: "tongxin",
                audience: "tongxin",
                ttl: Duration::from_secs(600),
            })
            .expect("sign")
    }

    async fn graphql(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        tongxin_testing::graphql(&self.url(), token, query, variables).await
    }

    async fn stop(mut self) {
        if let Some(router) = self.router.take() {
            router
                .stop(Duration::from_secs(5))
                .await
                .expect("router stops");
        }
        self.stop.cancel();
        if let Some(venues) = self.venues.take() {
            venues.await.expect("join").expect("venues stops cleanly");
        }
    }
}

const CREATE: &str =
    r#"mutation($input: CreateOrgUnitInput!) { createOrgUnit(input: $input) { id path } }"#;

fn new_courtyard(code: &str) -> Value {
    json!({ "input": {
        "kind": "COURTYARD", "name": format!("端到端小院 {code}"), "code": code,
        "parentId": demo::unit_id(paths::HONGQIAO).to_string(),
        "location": { "lat": 29.391, "lon": 105.577 }
    }})
}

/// Opens a graphql-transport-ws subscription through the router.
async fn subscribe(
    url: &str,
    token: &str,
    query: &str,
) -> tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>> {
    let mut request = url
        .replace("http://", "ws://")
        .into_client_request()
        .expect("request");
    request.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        "graphql-transport-ws".parse().expect("header"),
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(request)
        .await
        .expect("websocket");
    let init = json!({ "type": "connection_init", "payload": { "Authorization": format!("Bearer {token}") } });
    socket
        .send(Message::text(init.to_string()))
        .await
        .expect("init");
    let ack = next_json(&mut socket).await;
    assert_eq!(ack["type"], "connection_ack", "{ack}");
    let subscribe = json!({ "id": "1", "type": "subscribe", "payload": { "query": query } });
    socket
        .send(Message::text(subscribe.to_string()))
        .await
        .expect("subscribe");
    socket
}

async fn next_json<S>(socket: &mut S) -> Value
where
    S: futures::Stream<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin,
{
    loop {
        let message = tokio::time::timeout(Duration::from_secs(15), socket.next())
            .await
            .expect("message in time")
            .expect("open")
            .expect("frame");
        if let Message::Text(text) = message {
            let value: Value = serde_json::from_str(&text).expect("json");
            if value["type"] != "ping" && value["type"] != "pong" {
                return value;
            }
        }
    }
}

#[tokio::test]
async fn create_read_and_subscribe_through_the_router() {
    let platform = Platform::start().await;
    let token = platform.token(&[Role::Staff], paths::CHANGYUAN);

    let mut socket = subscribe(
        &platform.url(),
        &token,
        "subscription { orgUnitCreated { name path kind } }",
    )
    .await;

    // The router opens its own WebSocket to the subgraph after our subscribe; a unit created
    // before that link is up is (correctly) not replayed. So create until one arrives, and
    // check that what arrives is what was created.
    let mut created_paths = Vec::new();
    let mut received = None;
    for attempt in 0..10 {
        let code = format!("e2e-{attempt}");
        let created = platform
            .graphql(Some(&token), CREATE, new_courtyard(&code))
            .await;
        assert!(created["errors"].is_null(), "{created}");
        let path = created["data"]["createOrgUnit"]["path"]
            .as_str()
            .expect("path")
            .to_owned();
        assert_eq!(path, format!("/rc/changyuan/hongqiao/{code}"));
        created_paths.push(path);
        if let Ok(next) =
            tokio::time::timeout(Duration::from_millis(1500), next_json(&mut socket)).await
        {
            received = Some(next);
            break;
        }
    }
    let next = received.expect("a created unit arrives on the subscription through the router");
    assert_eq!(next["type"], "next", "{next}");
    let pushed = next["payload"]["data"]["orgUnitCreated"]["path"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(created_paths.contains(&pushed), "{next}");
    assert_eq!(
        next["payload"]["data"]["orgUnitCreated"]["kind"],
        "COURTYARD"
    );

    let read = platform
        .graphql(
            None,
            r#"query($id: ID!) { orgUnit(id: $id) { name children { edges { node { path } } } } }"#,
            json!({ "id": demo::unit_id(paths::HONGQIAO).to_string() }),
        )
        .await;
    let paths_read: Vec<&str> = read["data"]["orgUnit"]["children"]["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .filter_map(|e| e["node"]["path"].as_str())
        .collect();
    for path in &created_paths {
        assert!(
            paths_read.contains(&path.as_str()),
            "{path} read back: {read}"
        );
    }
    drop(socket);
    platform.stop().await;
}

#[tokio::test]
async fn writes_without_or_with_a_bad_token_are_refused_through_the_router() {
    let platform = Platform::start().await;

    let anonymous = platform
        .graphql(None, CREATE, new_courtyard("e2e-anon"))
        .await;
    assert_eq!(
        anonymous["errors"][0]["extensions"]["code"], "UNAUTHENTICATED",
        "{anonymous}"
    );

    let forged = platform
        .graphql(
            Some("eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln"),
            CREATE,
            new_courtyard("e2e-bad"),
        )
        .await;
    assert!(
        forged["data"].is_null() || forged["data"]["createOrgUnit"].is_null(),
        "{forged}"
    );
    assert!(
        forged["errors"][0]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("UNAUTHENTICATED"),
        "{forged}"
    );

    // Neither attempt stored anything.
    let read = platform
        .graphql(
            None,
            r#"query($id: ID!) { orgUnit(id: $id) { children { edges { node { code } } } } }"#,
            json!({ "id": demo::unit_id(paths::HONGQIAO).to_string() }),
        )
        .await;
    let codes: Vec<&str> = read["data"]["orgUnit"]["children"]["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .filter_map(|e| e["node"]["code"].as_str())
        .collect();
    assert_eq!(codes, vec!["caijiaba"], "{read}");
    platform.stop().await;
}
