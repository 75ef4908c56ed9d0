//! The volunteers registry over real PostgreSQL and NATS: GraphQL at the subgraph, gRPC,
//! the registered event, encryption at rest.

mod callers;
mod embedded;
mod entities;
mod failures;
mod import;
mod ledger;
mod linking;
mod matching;
mod paging;
mod proof;
mod registry;
mod self_service;
mod teams;
mod vsupport;

use std::net::SocketAddr;

use serde_json::{Value, json};
use tongxin_platform::auth::{Credential, Principal, Role};
use tongxin_testing::dbproxy::DbProxy;
use tongxin_testing::{Spawned, TestNats};
use tongxin_volunteers::service::Volunteers;
use tongxin_volunteers::{PiiSettings, VolunteersModule, VolunteersSettings};
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
    pub volunteers: Volunteers,
    spawned: Spawned,
    pub nats: TestNats,
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_opts(false).await
    }

    /// Reaching its database through a [`DbProxy`] the test can break, and waiting at most
    /// a second for a connection.
    pub async fn spawn_behind_proxy() -> Self {
        Self::spawn_opts(true).await
    }

    async fn spawn_opts(behind_proxy: bool) -> Self {
        let module = VolunteersModule::new(VolunteersSettings {
            pii: PiiSettings::generate(),
            ..tongxin_volunteers::default_settings()
        });
        let mut spawn = tongxin_testing::spawn().service(module).after(
            tongxin_volunteers::NAME,
            |started| async move {
                let volunteers: &Volunteers =
                    started.state(tongxin_volunteers::NAME).expect("volunteers");
                for path in [units::CHANGYUAN, units::HONGQIAO, units::FENGGAO] {
                    volunteers
                        .remember_unit(units::id(path), path)
                        .await
                        .expect("unit");
                }
                Ok(())
            },
        );
        if behind_proxy {
            spawn = spawn.behind_proxy(tongxin_volunteers::NAME);
        }
        let mut spawned = spawn.start().await;
        let nats = spawned.take_nats().expect("NATS");
        let service = spawned.service(tongxin_volunteers::NAME);
        Self {
            http: service.http_addr(),
            grpc: service.grpc_addr(),
            db: service.db().clone(),
            volunteers: spawned
                .state::<Volunteers>(tongxin_volunteers::NAME)
                .clone(),
            spawned,
            nats,
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
        self.spawned.proxy(tongxin_volunteers::NAME)
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
        self.spawned.sign(&subject, roles, unit, Some("rc"))
    }

    pub async fn graphql(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        let url = format!("http://{}/graphql", self.http);
        tongxin_testing::graphql(&url, token, query, variables).await
    }

    /// A connection straight to the test database, past any proxy.
    pub async fn direct_db(&self) -> sea_orm::DatabaseConnection {
        self.spawned.direct_db(tongxin_volunteers::NAME).await
    }

    pub async fn volunteer_count(&self) -> u64 {
        use sea_orm::{EntityTrait, PaginatorTrait};
        tongxin_volunteers::store::volunteers::Entity::find()
            .count(&self.db)
            .await
            .expect("count")
    }

    pub async fn stop(self) {
        self.spawned.stop().await;
    }
}

pub use tongxin_testing::error_code;

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
