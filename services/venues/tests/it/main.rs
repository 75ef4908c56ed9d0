//! The venues service over real PostgreSQL and NATS: GraphQL at the subgraph, gRPC, events.

mod activities;
mod callers;
mod circle;
mod failures;
mod graphql;
mod grpc;
mod rhythm;
mod tree;
mod venues;

use std::net::SocketAddr;

use serde_json::Value;
use tongxin_platform::auth::{Credential, Principal, Role};
use tongxin_testing::Spawned;
use tongxin_testing::dbproxy::DbProxy;
use tongxin_venues::demo;

/// A running venues service with its own database, NATS and keys.
pub struct TestApp {
    pub http: SocketAddr,
    pub grpc: SocketAddr,
    pub db: sea_orm::DatabaseConnection,
    pub venues: tongxin_venues::service::Venues,
    spawned: Spawned,
    pub nats: tongxin_testing::TestNats,
    /// The PII key the service seals with (a second replica needs the same).
    pub pii_key: String,
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with(true).await
    }

    /// `seed`: with the demo district, or an empty database.
    pub async fn spawn_with(seed: bool) -> Self {
        Self::spawn_opts(seed, false).await
    }

    /// With the demo district, reaching its database through a [`DbProxy`] the test can
    /// break, and waiting at most a second for a connection.
    pub async fn spawn_behind_proxy() -> Self {
        Self::spawn_opts(true, true).await
    }

    async fn spawn_opts(seed: bool, behind_proxy: bool) -> Self {
        let pii_key = tongxin_platform::pii::PiiCipher::generate_key_base64();
        let mut settings = tongxin_venues::VenuesSettings {
            pii_key: pii_key.clone().into(),
            ..tongxin_venues::default_settings()
        };
        // The tests drive the cadence scheduler themselves.
        settings.scheduler.enabled = false;
        let module = tongxin_venues::VenuesModule::new(settings);
        let mut spawn = tongxin_testing::spawn().service(module);
        if behind_proxy {
            spawn = spawn.behind_proxy(tongxin_venues::NAME);
        }
        if seed {
            spawn = spawn.hook(tongxin_venues::app::seed_demo_tree());
        }
        let mut spawned = spawn.start().await;
        let nats = spawned.take_nats().expect("NATS");
        let service = spawned.service(tongxin_venues::NAME);
        Self {
            http: service.http_addr(),
            grpc: service.grpc_addr(),
            db: service.db().clone(),
            venues: spawned
                .state::<tongxin_venues::service::Venues>(tongxin_venues::NAME)
                .clone(),
            spawned,
            nats,
            pii_key,
        }
    }

    /// A token for what `principal` claims, to send over gRPC.
    pub fn credential(&self, principal: &Principal) -> Credential {
        self.spawned.credential(principal)
    }

    /// A service credential of orders (the service that calls this one on its own behalf).
    pub fn service_credential(&self) -> Credential {
        self.spawned.service_credential("orders")
    }

    /// Between the service and its database ([`TestApp::spawn_behind_proxy`] only).
    pub fn proxy(&self) -> Option<&DbProxy> {
        self.spawned.proxy(tongxin_venues::NAME)
    }

    /// A token with `roles`, scoped to the demo unit at `unit_path`.
    pub fn token(&self, roles: &[Role], unit_path: Option<&str>) -> String {
        self.spawned.sign(
            "tester",
            roles,
            unit_path.map(|p| demo::unit_id(p).0),
            Some("rc"),
        )
    }

    /// A token for `subject` with `roles`, scoped to the demo unit at `unit_path`.
    pub fn token_as(&self, subject: &str, roles: &[Role], unit_path: Option<&str>) -> String {
        self.spawned.sign(
            subject,
            roles,
            unit_path.map(|p| demo::unit_id(p).0),
            Some("rc"),
        )
    }

    /// A token with `roles` scoped to the unit `unit` (any id).
    pub fn token_for(&self, roles: &[Role], unit: Option<uuid::Uuid>) -> String {
        self.spawned.sign("tester", roles, unit, None)
    }

    pub async fn graphql(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        let url = format!("http://{}/graphql", self.http);
        tongxin_testing::graphql(&url, token, query, variables).await
    }

    /// A connection straight to the test database, past any proxy.
    pub async fn direct_db(&self) -> sea_orm::DatabaseConnection {
        self.spawned.direct_db(tongxin_venues::NAME).await
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

    pub async fn stop(self) {
        self.spawned.stop().await;
    }
}

pub use tongxin_testing::error_code;
