//! The platform the end-to-end tests drive: services in this process, each on its own
//! database, one NATS, local signing keys, and the real Hive Router in front of the
//! subgraphs. Clients talk to the router only.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio_util::sync::CancellationToken;
use tongxin::router::{RouterOptions, RouterProcess};
use tongxin_platform::auth::{DevKeys, Role, TokenRequest, Verifier};
use tongxin_platform::config::{CommonSettings, DatabaseSettings, EventsSettings, ServiceSettings};
use tongxin_platform::events::SharedBus;
use tongxin_testing::{TestDb, TestNats, free_port};
use tongxin_venues::demo;

/// Which subgraphs run behind the router.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subgraphs {
    /// Venues only (the org tree).
    Venues,
    /// Venues, volunteers and orders: the order loop.
    OrderLoop,
}

type Task = tokio::task::JoinHandle<anyhow::Result<()>>;

/// A running platform; [`Platform::stop`] shuts it down cleanly.
pub struct Platform {
    router: Option<RouterProcess>,
    keys: DevKeys,
    stop: CancellationToken,
    tasks: Vec<(&'static str, Task)>,
    /// The NATS server every service uses.
    pub nats: TestNats,
    _dbs: Vec<TestDb>,
    _dir: tempfile::TempDir,
}

fn service_settings(db: &TestDb) -> ServiceSettings {
    ServiceSettings {
        http_addr: "127.0.0.1:0".parse().expect("addr"),
        grpc_addr: "127.0.0.1:0".parse().expect("addr"),
        database: DatabaseSettings::new(db.url()),
    }
}

impl Platform {
    /// Starts `subgraphs` (venues with the demo district) and the router.
    pub async fn start(subgraphs: Subgraphs) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
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
        let bus: SharedBus = tongxin_platform::events::connect(&common.events)
            .await
            .expect("bus");
        let stop = CancellationToken::new();
        let mut tasks = Vec::new();
        let mut dbs = Vec::new();
        let mut routes = Vec::new();

        let venues_db = TestDb::new().await;
        let venues = tongxin_venues::App::build(
            &service_settings(&venues_db),
            &common,
            tongxin_venues::Shared {
                bus: bus.clone(),
                verifier: verifier.clone(),
            },
        )
        .await
        .expect("venues");
        demo::seed(venues.db()).await.expect("seed venues");
        let units = tongxin_venues::store::org_units::all(venues.db())
            .await
            .expect("units");
        routes.push(("venues", format!("http://{}/graphql", venues.http_addr())));
        let venues_grpc = format!("http://{}", venues.grpc_addr());
        tasks.push((
            "venues",
            tokio::spawn(venues.run_until_stopped(stop.clone())),
        ));
        dbs.push(venues_db);

        if subgraphs == Subgraphs::OrderLoop {
            let volunteers_db = TestDb::new().await;
            let volunteers = tongxin_volunteers::App::build(
                &tongxin_volunteers::VolunteersSettings {
                    http_addr: "127.0.0.1:0".parse().expect("addr"),
                    grpc_addr: "127.0.0.1:0".parse().expect("addr"),
                    database: DatabaseSettings::new(volunteers_db.url()),
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
            // As under `tongxin run`: volunteers learns the org tree directly here (staff
            // scopes, home units); a deployment follows the venues unit events.
            for unit in &units {
                volunteers
                    .volunteers()
                    .remember_unit_details(
                        unit.id.0,
                        &unit.path,
                        &unit.name,
                        (unit.location.lat(), unit.location.lon()),
                    )
                    .await
                    .expect("unit");
            }
            routes.push((
                "volunteers",
                format!("http://{}/graphql", volunteers.http_addr()),
            ));
            let volunteers_grpc = format!("http://{}", volunteers.grpc_addr());
            tasks.push((
                "volunteers",
                tokio::spawn(volunteers.run_until_stopped(stop.clone())),
            ));
            dbs.push(volunteers_db);

            let orders_db = TestDb::new().await;
            let mut settings = tongxin_orders::OrdersSettings {
                http_addr: "127.0.0.1:0".parse().expect("addr"),
                grpc_addr: "127.0.0.1:0".parse().expect("addr"),
                database: DatabaseSettings::new(orders_db.url()),
                pii_key: tongxin_platform::pii::PiiCipher::generate_key_base64().into(),
                venues_url: venues_grpc,
                volunteers_url: volunteers_grpc,
                ..tongxin_orders::default_settings()
            };
            // No deadline moves or reminders while a test walks the loop by hand.
            settings.scheduler.enabled = false;
            let orders = tongxin_orders::App::build(
                &settings,
                &common,
                tongxin_orders::Shared {
                    bus: bus.clone(),
                    verifier: verifier.clone(),
                },
            )
            .await
            .expect("orders");
            tongxin_orders::demo::seed_menu(orders.orders())
                .await
                .expect("menu");
            routes.push(("orders", format!("http://{}/graphql", orders.http_addr())));
            tasks.push((
                "orders",
                tokio::spawn(orders.run_until_stopped(stop.clone())),
            ));
            dbs.push(orders_db);
        }

        let binary = tongxin::router::find_binary(None).expect("router binary: run `make tools`");
        let router = RouterProcess::start(RouterOptions {
            binary: &binary,
            work_dir: &dir.path().join("router"),
            listen: format!("127.0.0.1:{}", free_port()).parse().expect("addr"),
            jwks: keys.jwks_path(),
            subgraphs: &routes,
            log_file: Some(&dir.path().join("router.log")),
        })
        .await
        .expect("router");
        Self {
            router: Some(router),
            keys,
            stop,
            tasks,
            nats,
            _dbs: dbs,
            _dir: dir,
        }
    }

    /// The router's GraphQL URL.
    pub fn url(&self) -> String {
        self.router
            .as_ref()
            .map(|r| r.url().to_owned())
            .unwrap_or_default()
    }

    /// A token for `subject` with `roles`, scoped to the demo unit at `unit_path` if any.
    pub fn sign(&self, subject: &str, roles: &[Role], unit_path: Option<&str>) -> String {
        self.keys
            .sign(&TokenRequest {
                subject,
                roles,
                unit: unit_path.map(|p| demo::unit_id(p).0),
                district: Some("rc"),
                issuer: "tongxin",
                audience: "tongxin",
                ttl: Duration::from_secs(600),
            })
            .expect("sign")
    }

    /// A token for subject `e2e` scoped to the demo unit at `unit_path`.
    pub fn token(&self, roles: &[Role], unit_path: &str) -> String {
        self.sign("e2e", roles, Some(unit_path))
    }

    /// A GraphQL request through the router.
    pub async fn graphql(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        tongxin_testing::graphql(&self.url(), token, query, variables).await
    }

    /// Waits until the stream holds `count` events on `subject` and every durable consumer
    /// has delivered and settled everything in it. Consumers ack after their commit, so from
    /// then on every effect of those events is in its service's database: a test reads the
    /// final value instead of stopping at the first one that looks right.
    pub async fn wait_until_consumed(&self, subject: &str, count: usize) {
        let stream = EventsSettings::default().stream;
        let nats = &self.nats;
        let (stream, subject) = (&stream, subject);
        let consumed = tongxin_testing::wait_until(Duration::from_secs(30), || async move {
            // In this order: an event in the stream before the check counts as pending.
            nats.messages_on(stream, subject).await == count && nats.consumers_idle(stream).await
        })
        .await;
        assert!(
            consumed,
            "{count} × {subject} in the stream ({} now) and every consumer idle",
            nats.messages_on(stream, subject).await
        );
    }

    /// Stops the router, then every service; each must stop cleanly.
    pub async fn stop(mut self) {
        if let Some(router) = self.router.take() {
            router
                .stop(Duration::from_secs(5))
                .await
                .expect("router stops");
        }
        self.stop.cancel();
        for (name, task) in self.tasks.drain(..) {
            task.await
                .expect("join")
                .unwrap_or_else(|e| panic!("{name} stops cleanly: {e:?}"));
        }
    }
}

impl Drop for Platform {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

pub use tongxin_testing::ws::{Socket, next_json, subscribe};
