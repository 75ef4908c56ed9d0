//! The orders service over real PostgreSQL and NATS, with the venues service (routing over
//! the demo district's org tree) and the volunteers service (who a volunteer is, dispatch
//! targets, matching) running in-process, each on its own database. [`Store::Sqlite`] runs
//! the same three on SQLite files with the in-process bus, as `tongxin run` does.

mod embedded;
mod identity;
mod live;
mod metrics;
mod moves;
mod placing;
mod races;
mod rules;
mod scheduler;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;
use tongxin_orders::OrdersSettings;
use tongxin_orders::service::clock::{Clock, ClockHand};
use tongxin_orders::service::{Caller, Orders};
use tongxin_platform::auth::{DevKeys, Principal, Role, TokenRequest, Verifier};
use tongxin_platform::config::{
    CommonSettings, DatabaseSettings, EventsBackend, EventsSettings, ServiceSettings,
};
use tongxin_platform::events::SharedBus;
use tongxin_platform::events::memory::MemoryBus;
use tongxin_testing::{TestDb, TestNats};
use tongxin_venues::demo;
use uuid::Uuid;

/// Demo paths the tests use.
pub mod paths {
    pub use tongxin_venues::demo::paths::{CAIJIABA, CENTER, CHANGYUAN, HONGQIAO};
    /// Another institute (out of 昌元's scope).
    pub const FENGGAO: &str = "/rc/fenggao";
}

/// 蔡家坝小院's own location: routing finds it (nearest wins).
pub const CAIJIABA_POINT: (f64, f64) = (29.3868, 105.5701);

/// How a test wants the service.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Venues {
    /// Venues runs (demo tree) and orders routes through it.
    Up,
    /// Venues is not running: orders' venues address is a closed port.
    Down,
}

/// Where the services keep their data and send their events.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Store {
    /// A fresh PostgreSQL database each, one NATS server.
    Postgres,
    /// A SQLite file each and the in-process bus (`tongxin run`).
    Sqlite,
}

/// Orders, venues and volunteers with their own databases, one NATS (or the in-process bus
/// on SQLite), local keys.
pub struct TestApp {
    pub http: SocketAddr,
    pub grpc: SocketAddr,
    pub orders: Orders,
    /// The in-process volunteers service.
    pub volunteers: tongxin_volunteers::service::Volunteers,
    /// The in-process venues service ([`Venues::Up`]).
    pub venues: Option<tongxin_venues::service::Venues>,
    /// Account subject of each volunteer registered through [`TestApp::new_volunteer`].
    accounts: Mutex<HashMap<Uuid, String>>,
    registered: AtomicU32,
    volunteers_stop: CancellationToken,
    volunteers_task: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
    pub settings: OrdersSettings,
    pub db: sea_orm::DatabaseConnection,
    /// Which store the services run on.
    pub store: Store,
    /// The bus the services share (NATS, or the in-process bus on SQLite).
    pub bus: SharedBus,
    hand: Option<ClockHand>,
    nats: Option<TestNats>,
    keys: DevKeys,
    stop: CancellationToken,
    tasks: Vec<tokio::task::JoinHandle<anyhow::Result<()>>>,
    _dbs: Vec<TestDb>,
    _key_dir: tempfile::TempDir,
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with(Venues::Up).await
    }

    pub async fn spawn_with(venues: Venues) -> Self {
        Self::spawn_on(Store::Postgres, venues).await
    }

    /// The three services on SQLite with the in-process bus, as `tongxin run` runs them.
    pub async fn spawn_embedded() -> Self {
        Self::spawn_on(Store::Sqlite, Venues::Up).await
    }

    /// The services (PostgreSQL) with orders reading the time from a clock standing at `at`;
    /// [`TestApp::clock`] moves it.
    pub async fn spawn_at(at: DateTime<Utc>) -> Self {
        Self::spawn_full(Store::Postgres, Venues::Up, Some(at)).await
    }

    pub async fn spawn_on(store: Store, venues: Venues) -> Self {
        Self::spawn_full(store, venues, None).await
    }

    async fn spawn_full(store: Store, venues: Venues, at: Option<DateTime<Utc>>) -> Self {
        let key_dir = tempfile::tempdir().expect("tempdir");
        let mut dbs = vec![];
        // A database for one service: its own PostgreSQL database, or its own SQLite file.
        let mut database = async |name: &str| match store {
            Store::Postgres => {
                let db = TestDb::new().await;
                let settings = DatabaseSettings::new(db.url());
                dbs.push(db);
                settings
            }
            Store::Sqlite => DatabaseSettings::new(&format!(
                "sqlite://{}",
                key_dir.path().join(format!("{name}.db")).display()
            )),
        };
        let orders_database = database("orders").await;
        let volunteers_database = database("volunteers").await;
        let venues_database = database("venues").await;
        let nats = match store {
            Store::Postgres => Some(TestNats::start().await),
            Store::Sqlite => None,
        };
        let keys = DevKeys::load_or_generate(key_dir.path()).expect("keys");
        let verifier = Arc::new(
            Verifier::from_jwks_json(keys.jwks_json(), "tongxin", "tongxin").expect("verifier"),
        );
        let common = CommonSettings {
            events: match &nats {
                Some(nats) => EventsSettings {
                    nats_url: nats.url(),
                    relay_interval_ms: 50,
                    ..EventsSettings::default()
                },
                None => EventsSettings {
                    backend: EventsBackend::Memory,
                    relay_interval_ms: 50,
                    ..EventsSettings::default()
                },
            },
            shutdown_timeout_secs: 5,
            ..CommonSettings::default()
        };
        let bus: SharedBus = match store {
            Store::Postgres => tongxin_platform::events::connect(&common.events)
                .await
                .expect("bus"),
            Store::Sqlite => Arc::new(MemoryBus::new()),
        };
        let stop = CancellationToken::new();
        let mut tasks = Vec::new();

        // Volunteers: who a volunteer token acts as, and what a dispatch may name.
        let volunteers_app = tongxin_volunteers::App::build(
            &tongxin_volunteers::VolunteersSettings {
                http_addr: "127.0.0.1:0".parse().expect("addr"),
                grpc_addr: "127.0.0.1:0".parse().expect("addr"),
                database: volunteers_database,
                pii: tongxin_volunteers::PiiSettings::generate(),
            },
            &common,
            tongxin_volunteers::Shared {
                bus: bus.clone(),
                verifier: verifier.clone(),
            },
        )
        .await
        .expect("volunteers");
        let volunteers = volunteers_app.volunteers().clone();
        for path in [
            paths::CENTER,
            paths::CHANGYUAN,
            paths::HONGQIAO,
            paths::CAIJIABA,
            paths::FENGGAO,
        ] {
            volunteers
                .remember_unit(demo::unit_id(path).0, path)
                .await
                .expect("unit");
        }
        let volunteers_url = format!("http://{}", volunteers_app.grpc_addr());
        let volunteers_stop = CancellationToken::new();
        let volunteers_task =
            tokio::spawn(volunteers_app.run_until_stopped(volunteers_stop.clone()));

        let mut venues_service = None;
        let venues_url = match venues {
            Venues::Up => {
                let settings = ServiceSettings {
                    http_addr: "127.0.0.1:0".parse().expect("addr"),
                    grpc_addr: "127.0.0.1:0".parse().expect("addr"),
                    database: venues_database,
                };
                let app = tongxin_venues::App::build(
                    &settings,
                    &common,
                    tongxin_venues::Shared {
                        bus: bus.clone(),
                        verifier: verifier.clone(),
                    },
                )
                .await
                .expect("venues");
                demo::seed(app.db()).await.expect("seed venues");
                venues_service = Some(app.venues().clone());
                let url = format!("http://{}", app.grpc_addr());
                tasks.push(tokio::spawn(app.run_until_stopped(stop.clone())));
                url
            }
            Venues::Down => format!("http://127.0.0.1:{}", tongxin_testing::free_port()),
        };

        let mut settings = OrdersSettings {
            http_addr: "127.0.0.1:0".parse().expect("addr"),
            grpc_addr: "127.0.0.1:0".parse().expect("addr"),
            database: orders_database,
            pii_key: tongxin_platform::pii::PiiCipher::generate_key_base64().into(),
            venues_url,
            volunteers_url,
            ..tongxin_orders::default_settings()
        };
        settings.rpc_timeout_ms = 2_000;
        // The tests drive the scheduler themselves.
        settings.scheduler.enabled = false;
        if venues == Venues::Down {
            settings.districts[0].center_unit_id = Some(demo::unit_id(paths::CENTER).0);
        }
        let (clock, hand) = match at {
            Some(at) => {
                let (clock, hand) = Clock::manual(at);
                (clock, Some(hand))
            }
            None => (Clock::system(), None),
        };
        let app = tongxin_orders::App::build_with_clock(
            &settings,
            &common,
            tongxin_orders::Shared {
                bus: bus.clone(),
                verifier,
            },
            clock,
        )
        .await
        .expect("orders");
        tongxin_orders::demo::seed_menu(app.orders())
            .await
            .expect("menu");
        let (http, grpc, db, orders) = (
            app.http_addr(),
            app.grpc_addr(),
            app.db().clone(),
            app.orders().clone(),
        );
        tasks.push(tokio::spawn(app.run_until_stopped(stop.clone())));
        Self {
            http,
            grpc,
            orders,
            volunteers,
            venues: venues_service,
            accounts: Mutex::default(),
            registered: AtomicU32::new(0),
            volunteers_stop,
            volunteers_task: Some(volunteers_task),
            settings,
            db,
            store,
            bus,
            hand,
            nats,
            keys,
            stop,
            tasks,
            _dbs: dbs,
            _key_dir: key_dir,
        }
    }

    /// The hand of orders' clock ([`TestApp::spawn_at`] only).
    pub fn clock(&self) -> &ClockHand {
        self.hand
            .as_ref()
            .expect("orders reads the system clock: spawn with TestApp::spawn_at")
    }

    /// The NATS server (PostgreSQL store only: SQLite runs on the in-process bus).
    pub fn nats(&self) -> &TestNats {
        self.nats
            .as_ref()
            .expect("NATS runs only with Store::Postgres")
    }

    fn sign(&self, subject: &str, roles: &[Role], unit: Option<Uuid>) -> String {
        self.keys
            .sign(&TokenRequest {
                subject,
                roles,
                unit,
                district: Some("rc"),
                issuer: "tongxin",
                audience: "tongxin",
                ttl: Duration::from_secs(600),
            })
            .expect("sign")
    }

    /// A citizen token.
    pub fn citizen(&self, subject: &str) -> String {
        self.sign(subject, &[Role::Citizen], None)
    }

    /// A staff token scoped to the demo unit at `path`.
    pub fn staff(&self, path: &str) -> String {
        self.sign(
            &format!("staff{path}"),
            &[Role::Staff],
            Some(demo::unit_id(path).0),
        )
    }

    /// Registers an active volunteer of 蔡家坝 in the volunteers service, signing up with
    /// their own account (as the mini-program does); their id. [`TestApp::volunteer`] signs
    /// for that account.
    pub async fn new_volunteer(&self) -> Uuid {
        let n = self.registered.fetch_add(1, Ordering::SeqCst);
        let subject = format!("account-{n}-{}", Uuid::now_v7().simple());
        let person = Principal {
            subject: subject.clone(),
            roles: vec![Role::Volunteer],
            unit: None,
            district: Some("rc".into()),
        };
        let view = self
            .volunteers
            .register(
                &person,
                tongxin_volunteers::service::NewVolunteer {
                    name: format!("志愿者{n}"),
                    id_card_number: tongxin_volunteers::demo::with_check_character(&format!(
                        "50015319900101{:03}",
                        n % 1000
                    )),
                    phone: format!("139{:08}", n),
                    home_unit_id: demo::unit_id(paths::CAIJIABA).0,
                    home_unit_path: paths::CAIJIABA.to_owned(),
                    lat: CAIJIABA_POINT.0,
                    lon: CAIJIABA_POINT.1,
                    skills: ["elder_care", "legal", "repair", "medical"]
                        .map(str::to_owned)
                        .to_vec(),
                    availability: "Mon-Sun 00:00-24:00".to_owned(),
                    consent: true,
                    guardian_consent: None,
                },
            )
            .await
            .unwrap_or_else(|e| panic!("register a volunteer: {e:?}"));
        let id = view.row.id;
        self.accounts.lock().expect("accounts").insert(id, subject);
        id
    }

    /// A volunteer token for the account linked to volunteer `id` (see
    /// [`TestApp::new_volunteer`]); for an id registered otherwise, an account with no
    /// volunteer record.
    pub fn volunteer(&self, id: Uuid) -> String {
        let subject = self
            .accounts
            .lock()
            .expect("accounts")
            .get(&id)
            .cloned()
            .unwrap_or_else(|| format!("no-record-{id}"));
        self.sign(&subject, &[Role::Volunteer], None)
    }

    /// A citizen principal.
    pub fn citizen_principal(&self, subject: &str) -> Principal {
        Principal {
            subject: subject.to_owned(),
            roles: vec![Role::Citizen],
            unit: None,
            district: Some("rc".into()),
        }
    }

    /// The principal of [`TestApp::staff`].
    pub fn staff_principal(&self, path: &str) -> Principal {
        Principal {
            subject: format!("staff{path}"),
            roles: vec![Role::Staff],
            unit: Some(demo::unit_id(path).0),
            district: Some("rc".into()),
        }
    }

    /// The principal of [`TestApp::volunteer`].
    pub fn volunteer_principal(&self, id: Uuid) -> Principal {
        let subject = self
            .accounts
            .lock()
            .expect("accounts")
            .get(&id)
            .cloned()
            .unwrap_or_else(|| format!("no-record-{id}"));
        Principal {
            subject,
            roles: vec![Role::Volunteer],
            unit: None,
            district: Some("rc".into()),
        }
    }

    /// `principal` resolved by the service (scope, linked volunteer), as a request would be.
    pub async fn caller(&self, principal: &Principal) -> Caller {
        self.orders
            .caller(Some(principal))
            .await
            .unwrap_or_else(|e| panic!("caller {}: {e:?}", principal.subject))
    }

    /// A volunteer token for an account `subject`.
    pub fn volunteer_account(&self, subject: &str) -> String {
        self.sign(subject, &[Role::Volunteer], None)
    }

    /// Stops the volunteers service (orders keeps running and finds it unreachable).
    pub async fn stop_volunteers(&mut self) {
        self.volunteers_stop.cancel();
        if let Some(task) = self.volunteers_task.take() {
            task.await.expect("join").expect("volunteers stops cleanly");
        }
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

    /// Places an order of `category` at `point` as `citizen` with `key`; the response.
    pub async fn place(
        &self,
        citizen: &str,
        category: &str,
        form: Value,
        point: (f64, f64),
        key: &str,
    ) -> Value {
        self.graphql(
            Some(&self.citizen(citizen)),
            PLACE,
            json!({"input": {
                "category": category,
                "description": "请帮忙",
                "form": form,
                "location": {"lat": point.0, "lon": point.1},
                "contactPhone": "138 1234 5678",
                "photos": ["https://img.example/1.jpg"],
                "idempotencyKey": key,
            }}),
        )
        .await
    }

    /// Places an elder visit at 蔡家坝 (held by the courtyard) and returns its id.
    pub async fn place_ok(&self, citizen: &str, category: &str, key: &str) -> String {
        let form = match category {
            "elder_visit" => json!([{"key": "people", "value": "1"}]),
            "legal_consult" => json!([{"key": "matter", "value": "邻里纠纷"}]),
            "health_lecture" => json!([{"key": "audience", "value": "30"}]),
            "major_event" => {
                json!([{"key": "participants", "value": "300"}, {"key": "date", "value": "2026-12-20"}])
            }
            _ => json!([]),
        };
        let r = self
            .place(citizen, category, form, CAIJIABA_POINT, key)
            .await;
        r["data"]["placeOrder"]["id"]
            .as_str()
            .unwrap_or_else(|| panic!("placed: {r}"))
            .to_owned()
    }

    /// Runs a move mutation `field(orderId: $id, …)` with `token`; the response.
    pub async fn act(&self, token: &str, mutation: &str, id: &str, extra: Value) -> Value {
        let mut vars = json!({"id": id});
        if let (Some(v), Some(e)) = (vars.as_object_mut(), extra.as_object()) {
            v.extend(e.clone());
        }
        self.graphql(Some(token), mutation, vars).await
    }

    pub async fn order_count(&self) -> u64 {
        use sea_orm::{EntityTrait, PaginatorTrait};
        tongxin_orders::store::orders::Entity::find()
            .count(&self.db)
            .await
            .expect("count")
    }

    pub async fn timeline_events(&self, id: &str) -> Vec<String> {
        tongxin_orders::store::timeline::of_order(&self.db, Uuid::parse_str(id).expect("id"))
            .await
            .expect("timeline")
            .into_iter()
            .map(|t| t.event)
            .collect()
    }

    pub async fn stop(mut self) {
        self.stop.cancel();
        self.stop_volunteers().await;
        for task in self.tasks.drain(..) {
            task.await.expect("join").expect("clean stop");
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.stop.cancel();
        self.volunteers_stop.cancel();
    }
}

/// The first error's `extensions.code`.
pub fn error_code(response: &Value) -> Option<&str> {
    response["errors"][0]["extensions"]["code"].as_str()
}

pub const ORDER_FIELDS: &str = "id orderNo state holdingUnitPath holdingLevel routingNote likelyDuplicate contactPhone contactPhoneMasked version courtyard { id } holdingUnit { id } rating";

pub const PLACE: &str = "mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { id orderNo state holdingUnitPath holdingLevel routingNote likelyDuplicate contactPhone contactPhoneMasked version courtyard { id } holdingUnit { id } rating } }";

pub const RECEIVE: &str =
    "mutation($id: ID!) { receiveOrder(orderId: $id) { id state holdingUnitPath version } }";
pub const ESCALATE: &str = "mutation($id: ID!, $reason: String!) { escalateOrder(orderId: $id, reason: $reason) { id state holdingUnitPath holdingLevel } }";
pub const DISPATCH: &str = "mutation($id: ID!, $volunteers: [ID!]!) { dispatchOrder(orderId: $id, volunteerIds: $volunteers) { id state dispatchedVolunteers { id } } }";
pub const ACCEPT: &str = "mutation($id: ID!) { acceptOrder(orderId: $id) { id state acceptedVolunteers { id } contactPhoneMasked } }";
pub const DECLINE: &str = "mutation($id: ID!, $reason: String!) { declineOrder(orderId: $id, reason: $reason) { id state dispatchedVolunteers { id } } }";
pub const START: &str = "mutation($id: ID!) { startOrder(orderId: $id) { id state } }";
pub const COMPLETE: &str = "mutation($id: ID!, $hours: [OrderHoursInput!]!) { completeOrder(orderId: $id, hours: $hours) { id state hours { volunteer { id } hours } } }";
pub const RATE: &str = "mutation($id: ID!, $rating: Int!) { rateOrder(orderId: $id, rating: $rating, comment: \"好\") { id state rating } }";
pub const CANCEL: &str =
    "mutation($id: ID!) { cancelOrder(orderId: $id, reason: \"不需要了\") { id state } }";
pub const ORDER: &str = "query($id: ID!) { order(id: $id) { id state contactPhone contactPhoneMasked holdingUnitPath } }";
