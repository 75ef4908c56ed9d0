//! The orders service over real PostgreSQL and NATS, with the venues service (routing over
//! the demo district's org tree) and the volunteers service (who a volunteer is, dispatch
//! targets, matching) running in-process, each on its own database. [`Store::Sqlite`] runs
//! the same three on SQLite files with the in-process bus, as `tongxin run` does.

mod batching;
mod callers;
mod crediting;
mod embedded;
mod evaluation;
mod identity;
mod inperson;
mod legal;
mod linking;
mod live;
mod menu;
mod metrics;
mod moves;
mod paging;
mod placing;
mod progress;
mod races;
mod rules;
mod scheduler;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use tongxin_orders::OrdersSettings;
use tongxin_orders::service::clock::{Clock, ClockHand};
use tongxin_orders::service::{Caller, Orders};
use tongxin_platform::auth::{Claims, Credential, Principal, Role, ServiceTokens};
use tongxin_platform::events::SharedBus;
pub use tongxin_testing::Store;
use tongxin_testing::{Spawned, TestNats};
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
    pub settings: OrdersSettings,
    pub db: sea_orm::DatabaseConnection,
    /// Which store the services run on.
    pub store: Store,
    /// The bus the services share (NATS, or the in-process bus on SQLite).
    pub bus: SharedBus,
    hand: Option<ClockHand>,
    legal_hand: Option<ClockHand>,
    spawned: Spawned,
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

    /// The services (PostgreSQL), with orders' and volunteers' databases behind a
    /// [`DbProxy`](tongxin_testing::dbproxy::DbProxy) that logs every statement
    /// ([`TestApp::proxy`]).
    pub async fn spawn_behind_proxies() -> Self {
        Self::spawn_proxied(Store::Postgres, Venues::Up, None, true).await
    }

    async fn spawn_full(store: Store, venues: Venues, at: Option<DateTime<Utc>>) -> Self {
        Self::spawn_proxied(store, venues, at, false).await
    }

    /// Venues, volunteers and orders as usual, and the legal-aid service beside them (the
    /// station a legal order is dispatched to), knowing the demo units.
    pub async fn spawn_with_legal_aid() -> Self {
        Self::spawn_inner(Store::Postgres, Venues::Up, None, false, true).await
    }

    /// [`TestApp::spawn_with_legal_aid`] on `store`, with legal aid reading the time from a
    /// clock standing at `at` ([`TestApp::legal_aid_clock`] moves it: a check-in is on the
    /// appointment's day).
    pub async fn spawn_with_legal_aid_at(store: Store, at: DateTime<Utc>) -> Self {
        let (clock, hand) = Clock::manual(at);
        let mut app = Self::spawn_legal(store, Some(clock)).await;
        app.legal_hand = Some(hand);
        app
    }

    async fn spawn_legal(store: Store, legal_clock: Option<Clock>) -> Self {
        Self::spawn_all(store, Venues::Up, None, false, Some(legal_clock)).await
    }

    async fn spawn_proxied(
        store: Store,
        venues: Venues,
        at: Option<DateTime<Utc>>,
        proxied: bool,
    ) -> Self {
        Self::spawn_inner(store, venues, at, proxied, false).await
    }

    async fn spawn_inner(
        store: Store,
        venues: Venues,
        at: Option<DateTime<Utc>>,
        proxied: bool,
        legal_aid: bool,
    ) -> Self {
        Self::spawn_all(store, venues, at, proxied, legal_aid.then_some(None)).await
    }

    /// `legal_aid`: legal aid runs too, on the system clock or the one given.
    async fn spawn_all(
        store: Store,
        venues: Venues,
        at: Option<DateTime<Utc>>,
        proxied: bool,
        legal_aid: Option<Option<Clock>>,
    ) -> Self {
        let mut settings = OrdersSettings {
            pii_key: tongxin_platform::pii::PiiCipher::generate_key_base64().into(),
            ..tongxin_orders::default_settings()
        };
        settings.rpc_timeout_ms = 2_000;
        // The tests drive the scheduler themselves.
        settings.scheduler.enabled = false;
        if venues == Venues::Down {
            // Venues is not running: its address is a closed port.
            settings.venues_url = format!("http://127.0.0.1:{}", tongxin_testing::free_port());
            settings.districts[0].center_unit_id = Some(demo::unit_id(paths::CENTER).0);
        }
        let (clock, hand) = match at {
            Some(at) => {
                let (clock, hand) = Clock::manual(at);
                (clock, Some(hand))
            }
            None => (Clock::system(), None),
        };
        // Volunteers: who a volunteer token acts as, and what a dispatch may name.
        let mut spawn = tongxin_testing::spawn()
            .store(store)
            .service(tongxin_volunteers::VolunteersModule::new(
                tongxin_volunteers::VolunteersSettings {
                    pii: tongxin_volunteers::PiiSettings::generate(),
                    ..tongxin_volunteers::default_settings()
                },
            ))
            .after(tongxin_volunteers::NAME, |started| async move {
                let volunteers: &tongxin_volunteers::service::Volunteers =
                    started.state(tongxin_volunteers::NAME).expect("volunteers");
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
                Ok(())
            });
        if venues == Venues::Up {
            spawn = spawn
                .service(tongxin_venues::VenuesModule::new(
                    tongxin_venues::VenuesSettings {
                        pii_key: tongxin_platform::pii::PiiCipher::generate_key_base64().into(),
                        ..tongxin_venues::default_settings()
                    },
                ))
                .hook(tongxin_venues::app::seed_demo_tree());
        }
        if proxied {
            spawn = spawn
                .behind_proxy(tongxin_orders::NAME)
                .behind_proxy(tongxin_volunteers::NAME);
        }
        if let Some(legal_clock) = legal_aid {
            let module =
                tongxin_legal_aid::LegalAidModule::new(tongxin_legal_aid::LegalAidSettings {
                    pii_key: tongxin_platform::pii::PiiCipher::generate_key_base64().into(),
                    ..tongxin_legal_aid::default_settings()
                });
            let module = match legal_clock {
                Some(clock) => module.with_clock(clock),
                None => module,
            };
            spawn = spawn
                .service(module)
                .after(tongxin_legal_aid::NAME, |started| async move {
                    let legal_aid: &tongxin_legal_aid::service::LegalAid =
                        started.state(tongxin_legal_aid::NAME).expect("legal aid");
                    for (path, level) in [
                        (paths::CENTER, tongxin_platform::org::Level::Center),
                        (paths::CHANGYUAN, tongxin_platform::org::Level::Institute),
                        (paths::HONGQIAO, tongxin_platform::org::Level::Station),
                    ] {
                        legal_aid
                            .remember_unit(demo::unit_id(path).0, path, level)
                            .await
                            .expect("unit");
                    }
                    Ok(())
                });
        }
        let spawned = spawn
            .service(tongxin_orders::OrdersModule::new(settings.clone()).with_clock(clock))
            .hook(tongxin_orders::app::seed_menu())
            .start()
            .await;
        let service = spawned.service(tongxin_orders::NAME);
        // The settings as the running service has them (tests build a second `Orders`).
        settings.http_addr = service.http_addr();
        settings.grpc_addr = service.grpc_addr();
        settings.database = spawned.database(tongxin_orders::NAME).clone();
        settings.volunteers_url = spawned.service(tongxin_volunteers::NAME).grpc_url();
        if let Some(venues) = spawned.started().get(tongxin_venues::NAME) {
            settings.venues_url = venues.grpc_url();
        }
        if let Some(legal_aid) = spawned.started().get(tongxin_legal_aid::NAME) {
            settings.legal_aid_url = legal_aid.grpc_url();
        }
        Self {
            http: service.http_addr(),
            grpc: service.grpc_addr(),
            db: service.db().clone(),
            orders: spawned.state::<Orders>(tongxin_orders::NAME).clone(),
            volunteers: spawned
                .state::<tongxin_volunteers::service::Volunteers>(tongxin_volunteers::NAME)
                .clone(),
            venues: spawned
                .started()
                .state::<tongxin_venues::service::Venues>(tongxin_venues::NAME)
                .cloned(),
            accounts: Mutex::default(),
            registered: AtomicU32::new(0),
            settings,
            store,
            bus: spawned.bus.clone(),
            hand,
            legal_hand: None,
            spawned,
        }
    }

    /// The hand of orders' clock ([`TestApp::spawn_at`] only).
    /// The legal-aid service (spawned with [`TestApp::spawn_with_legal_aid`]).
    pub fn legal_aid(&self) -> &tongxin_legal_aid::service::LegalAid {
        self.spawned.state(tongxin_legal_aid::NAME)
    }

    /// The hand of legal aid's clock ([`TestApp::spawn_with_legal_aid_at`] only).
    pub fn legal_aid_clock(&self) -> &ClockHand {
        self.legal_hand
            .as_ref()
            .expect("legal aid reads the system clock: spawn with TestApp::spawn_with_legal_aid_at")
    }

    /// A GraphQL request to the legal-aid subgraph (spawned with legal aid).
    pub async fn legal_aid_graphql(
        &self,
        token: Option<&str>,
        query: &str,
        variables: Value,
    ) -> Value {
        let url = format!(
            "http://{}/graphql",
            self.spawned.service(tongxin_legal_aid::NAME).http_addr()
        );
        tongxin_testing::graphql(&url, token, query, variables).await
    }

    pub fn clock(&self) -> &ClockHand {
        self.hand
            .as_ref()
            .expect("orders reads the system clock: spawn with TestApp::spawn_at")
    }

    /// Hands the NATS server to the test (to kill and restart it); keep it alive until
    /// after [`TestApp::stop`].
    pub fn take_nats(&mut self) -> TestNats {
        self.spawned
            .take_nats()
            .expect("NATS runs only with Store::Postgres")
    }

    /// The NATS server (PostgreSQL store only: SQLite runs on the in-process bus).
    pub fn nats(&self) -> &TestNats {
        self.spawned.nats()
    }

    fn sign(&self, subject: &str, roles: &[Role], unit: Option<Uuid>) -> String {
        self.spawned.sign(subject, roles, unit, Some("rc"))
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
            credential: None,
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
        let id = view.id().0;
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

    /// A citizen principal, with its token (orders forwards it to volunteers).
    pub fn citizen_principal(&self, subject: &str) -> Principal {
        self.spawned.signed(&Principal {
            subject: subject.to_owned(),
            roles: vec![Role::Citizen],
            unit: None,
            district: Some("rc".into()),
            credential: None,
        })
    }

    /// The principal of [`TestApp::staff`], with its token.
    pub fn staff_principal(&self, path: &str) -> Principal {
        self.spawned.signed(&Principal {
            subject: format!("staff{path}"),
            roles: vec![Role::Staff],
            unit: Some(demo::unit_id(path).0),
            district: Some("rc".into()),
            credential: None,
        })
    }

    /// `principal` with a token signed for what it claims.
    pub fn signed(&self, principal: &Principal) -> Principal {
        self.spawned.signed(principal)
    }

    /// A token for what `principal` claims, to send over gRPC.
    pub fn credential(&self, principal: &Principal) -> Credential {
        self.spawned.credential(principal)
    }

    /// Orders' own service credential (what it sends venues for routing lookups).
    pub fn service_credential(&self) -> Credential {
        self.spawned.service_credential(tongxin_orders::NAME)
    }

    /// A token whose claims `edit` shapes (see [`Spawned::token_with`]).
    pub fn token_with(&self, edit: impl FnOnce(&mut Claims)) -> String {
        self.spawned.token_with(edit)
    }

    /// Orders' own service tokens (a second `Orders` built by a test).
    pub fn service_tokens(&self) -> ServiceTokens {
        self.spawned.service_tokens(tongxin_orders::NAME)
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
        self.spawned.signed(&Principal {
            subject,
            roles: vec![Role::Volunteer],
            unit: None,
            district: Some("rc".into()),
            credential: None,
        })
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

    /// The proxy in front of `service`'s database ([`TestApp::spawn_behind_proxies`]).
    pub fn proxy(&self, service: &str) -> &tongxin_testing::dbproxy::DbProxy {
        self.spawned
            .proxy(service)
            .unwrap_or_else(|| panic!("{service} is not behind a proxy"))
    }

    /// Stops the volunteers service (orders keeps running and finds it unreachable).
    pub async fn stop_volunteers(&mut self) {
        self.spawned.stop_service(tongxin_volunteers::NAME).await;
    }

    pub async fn graphql(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        let url = format!("http://{}/graphql", self.http);
        tongxin_testing::graphql(&url, token, query, variables).await
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

    pub async fn stop(self) {
        self.spawned.stop().await;
    }
}

pub use tongxin_testing::error_code;

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
