//! The volunteers registry over real PostgreSQL and NATS: GraphQL at the subgraph, gRPC,
//! the registered event, encryption at rest.

#[path = "../../../venues/tests/it/dbproxy.rs"]
mod dbproxy;
mod embedded;
mod entities;
mod failures;
mod import;
mod ledger;
mod matching;
mod proof;
mod registry;
mod self_service;
mod teams;
mod vsupport;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;
use tongxin_platform::auth::{DevKeys, Role, TokenRequest, Verifier};
use tongxin_platform::config::{CommonSettings, DatabaseSettings, EventsSettings};
use tongxin_testing::{TestDb, TestNats};
use tongxin_volunteers::service::Volunteers;
use tongxin_volunteers::{PiiSettings, VolunteersSettings};
use uuid::Uuid;

/// Org units the tests know (the volunteers service learns them through `remember_unit`).
pub mod units {
    use uuid::Uuid;
    pub const CHANGYUAN: &str = "/rc/changyuan";
    pub const HONGQIAO: &str = "/rc/changyuan/hongqiao";
    pub const FENGGAO: &str = "/rc/fenggao";
    pub fn id(path: &str) -> Uuid {
        Uuid::new_v5(&Uuid::NAMESPACE_URL, path.as_bytes())
    }
}

/// A running volunteers service with its own database, NATS and keys.
pub struct TestApp {
    pub http: SocketAddr,
    pub grpc: SocketAddr,
    pub db: sea_orm::DatabaseConnection,
    pub nats: TestNats,
    pub volunteers: Volunteers,
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
        Self::spawn_opts(false).await
    }

    /// Reaching its database through a [`dbproxy::DbProxy`] the test can break, and waiting
    /// at most a second for a connection.
    pub async fn spawn_behind_proxy() -> Self {
        Self::spawn_opts(true).await
    }

    async fn spawn_opts(behind_proxy: bool) -> Self {
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
        let settings = VolunteersSettings {
            http_addr: "127.0.0.1:0".parse().expect("addr"),
            grpc_addr: "127.0.0.1:0".parse().expect("addr"),
            database,
            pii: PiiSettings::generate(),
        };
        let app = tongxin_volunteers::App::build(
            &settings,
            &common,
            tongxin_volunteers::Shared { bus, verifier },
        )
        .await
        .expect("build");
        let volunteers = app.volunteers().clone();
        for path in [units::CHANGYUAN, units::HONGQIAO, units::FENGGAO] {
            volunteers
                .remember_unit(units::id(path), path)
                .await
                .expect("unit");
        }
        let (http, grpc, db) = (app.http_addr(), app.grpc_addr(), app.db().clone());
        let stop = CancellationToken::new();
        let task = tokio::spawn(app.run_until_stopped(stop.clone()));
        Self {
            http,
            grpc,
            db,
            nats,
            volunteers,
            proxy,
            keys,
            stop,
            task: Some(task),
            _test_db: test_db,
            _key_dir: key_dir,
        }
    }

    /// A staff token scoped to the unit at `path`.
    pub fn staff(&self, path: &str) -> String {
        self.sign(
            "staff-".to_owned() + path,
            &[Role::Staff],
            Some(units::id(path)),
        )
    }

    /// A staff token scoped to any unit id.
    pub fn sign_staff_of(&self, unit: Uuid) -> String {
        self.sign(format!("staff-{unit}"), &[Role::Staff], Some(unit))
    }

    /// A citizen token for `subject`.
    pub fn citizen(&self, subject: &str) -> String {
        self.sign(subject.to_owned(), &[Role::Citizen], None)
    }

    /// A volunteer-role token for `subject`.
    pub fn sign_volunteer(&self, subject: &str) -> String {
        self.sign(subject.to_owned(), &[Role::Volunteer], None)
    }

    fn sign(&self, subject: String, roles: &[Role], unit: Option<Uuid>) -> String {
        self.keys
            .sign(&TokenRequest {
                subject: &subject,
                roles,
                unit,
                district: Some("rc"),
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

    pub async fn volunteer_count(&self) -> u64 {
        use sea_orm::{EntityTrait, PaginatorTrait};
        tongxin_volunteers::store::volunteers::Entity::find()
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

/// A valid ID-card number from its first 17 digits (appends the check character).
pub fn id_card(first17: &str) -> String {
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    const CHECK: &[u8; 11] = b"10X98765432";
    let sum: u32 = first17
        .chars()
        .zip(WEIGHTS)
        .map(|(c, w)| c.to_digit(10).expect("digit") * w)
        .sum();
    format!("{first17}{}", char::from(CHECK[(sum % 11) as usize]))
}

pub const REGISTER: &str = r#"mutation($input: RegisterVolunteerInput!) {
  registerVolunteer(input: $input) { id volunteerNo name phone phoneMasked idCardNumberMasked homeUnitPath skills status gender }
}"#;

/// Registration input at `path` with `id` and `phone`.
pub fn input(id: &str, phone: &str, path: &str) -> Value {
    json!({
        "name": "张三",
        "idCardNumber": id,
        "phone": phone,
        "homeUnitId": units::id(path).to_string(),
        "homeUnitPath": path,
        "location": { "lat": 29.40, "lon": 105.59 },
        "skills": ["legal", "助老"],
        "availability": "Sat,Sun 09:00-12:00",
        "consent": true,
    })
}
