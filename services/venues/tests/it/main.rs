//! The venues service over real PostgreSQL and NATS: GraphQL at the subgraph, gRPC, events.

mod activities;
mod circle;
mod dbproxy;
mod failures;
mod graphql;
mod grpc;
mod tree;
mod venues;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio_util::sync::CancellationToken;
use tongxin_platform::auth::{DevKeys, Role, TokenRequest, Verifier};
use tongxin_platform::config::{CommonSettings, DatabaseSettings, EventsSettings, ServiceSettings};
use tongxin_testing::{TestDb, TestNats};
use tongxin_venues::demo;

/// A running venues service with its own database, NATS and keys.
pub struct TestApp {
    pub http: SocketAddr,
    pub grpc: SocketAddr,
    pub db: sea_orm::DatabaseConnection,
    pub nats: TestNats,
    pub venues: tongxin_venues::service::Venues,
    /// Between the service and its database, when spawned with [`TestApp::spawn_behind_proxy`].
    pub proxy: Option<dbproxy::DbProxy>,
    keys: DevKeys,
    stop: CancellationToken,
    task: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
    _test_db: TestDb,
    _key_dir: tempfile::TempDir,
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with(true).await
    }

    /// `seed`: with the demo district, or an empty database.
    pub async fn spawn_with(seed: bool) -> Self {
        Self::spawn_opts(seed, false).await
    }

    /// With the demo district, reaching its database through a [`dbproxy::DbProxy`] the test
    /// can break, and waiting at most a second for a connection.
    pub async fn spawn_behind_proxy() -> Self {
        Self::spawn_opts(true, true).await
    }

    async fn spawn_opts(seed: bool, behind_proxy: bool) -> Self {
        let test_db = TestDb::new().await;
        let proxy = match behind_proxy {
            true => Some(dbproxy::DbProxy::start(test_db.url()).await),
            false => None,
        };
        let database = match &proxy {
            Some(proxy) => DatabaseSettings {
                connect_timeout_secs: 1,
                ..DatabaseSettings::new(&proxy.url(test_db.url()))
            },
            None => DatabaseSettings::new(test_db.url()),
        };
        let nats = TestNats::start().await;
        let key_dir = tempfile::tempdir().expect("tempdir");
        let keys = DevKeys::load_or_generate(key_dir.path()).expect("keys");
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
            database,
        };
        let app = tongxin_venues::App::build(
            &settings,
            &common,
            tongxin_venues::Shared { bus, verifier },
        )
        .await
        .expect("build");
        if seed {
            demo::seed(app.db()).await.expect("seed");
        }
        let (http, grpc, db) = (app.http_addr(), app.grpc_addr(), app.db().clone());
        let venues = app.venues().clone();
        let stop = CancellationToken::new();
        let task = tokio::spawn(app.run_until_stopped(stop.clone()));
        Self {
            http,
            grpc,
            db,
            nats,
            venues,
            proxy,
            keys,
            stop,
            task: Some(task),
            _test_db: test_db,
            _key_dir: key_dir,
        }
    }

    /// A token with `roles`, scoped to the demo unit at `unit_path`.
    pub fn token(&self, roles: &[Role], unit_path: Option<&str>) -> String {
        self.keys
            .sign(&TokenRequest {
                subject: "tester",
                roles,
                unit: unit_path.map(|p| demo::unit_id(p).0),
                district: Some("rc"),
                issuer: "tongxin",
                audience: "tongxin",
                ttl: Duration::from_secs(600),
            })
            .expect("sign")
    }

    /// A token with `roles` scoped to the unit `unit` (any id).
    pub fn token_for(&self, roles: &[Role], unit: Option<uuid::Uuid>) -> String {
        self.keys
            .sign(&TokenRequest {
                subject: "tester",
                roles,
                unit,
                district: None,
                issuer: "tongxin",
                audience: "tongxin",
                ttl: Duration::from_secs(600),
            })
            .expect("sign")
    }

    pub async fn graphql(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        tongxin_testing::graphql(
            &format!("http://{}/graphql", self.http),
            token,
            query,
            variables,
        )
        .await
    }

    /// A connection straight to the test database, past any proxy.
    pub async fn direct_db(&self) -> sea_orm::DatabaseConnection {
        sea_orm::Database::connect(self._test_db.url())
            .await
            .expect("direct connection")
    }

    pub async fn unit_count(&self) -> u64 {
        use sea_orm::{EntityTrait, PaginatorTrait};
        tongxin_venues::store::org_units::Entity::find()
            .count(&self.db)
            .await
            .expect("count")
    }

    pub async fn outbox_count(&self) -> u64 {
        use sea_orm::{EntityTrait, PaginatorTrait};
        tongxin_platform::events::outbox::entity::Entity::find()
            .count(&self.db)
            .await
            .expect("count")
    }

    pub async fn stop(mut self) {
        self.stop.cancel();
        if let Some(task) = self.task.take() {
            task.await.expect("join").expect("clean stop");
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// The first error's `extensions.code`.
pub fn error_code(response: &Value) -> Option<&str> {
    response["errors"][0]["extensions"]["code"].as_str()
}
