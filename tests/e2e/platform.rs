//! The platform the end-to-end tests drive: services in this process, each on its own
//! database, one NATS, local signing keys, and the real Hive Router in front of the
//! subgraphs. Clients talk to the router only.

use std::time::Duration;

use serde_json::Value;
use tongxin::router::{RouterOptions, RouterProcess};
use tongxin_platform::auth::Role;
use tongxin_platform::config::EventsSettings;
use tongxin_platform::registry::Hook;
use tongxin_testing::{Spawned, TestNats, free_port};
use tongxin_venues::demo;

/// Which subgraphs run behind the router.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subgraphs {
    /// Venues only (the org tree).
    Venues,
    /// Venues, volunteers, orders and legal aid: the order loop.
    OrderLoop,
}

/// What [`Platform::start_with`] changes from the defaults.
#[derive(Default)]
pub struct Options {
    /// Run right after the demo tree is seeded, before the other services learn the tree
    /// (more units, another district).
    pub hooks: Vec<Hook>,
    /// More environment for the router (its OTLP switches).
    pub router_env: Vec<(&'static str, String)>,
    /// The guard's limits.
    pub guard: tongxin_guard::GuardSettings,
    /// Registered documents only (production mode).
    pub persisted_only: bool,
    /// The clock the legal-aid service reads (a test that walks to an appointment's day).
    pub legal_aid_clock: Option<tongxin_platform::clock::Clock>,
}

/// A running platform; [`Platform::stop`] shuts it down cleanly.
pub struct Platform {
    router: Option<RouterProcess>,
    spawned: Option<Spawned>,
    /// The NATS server every service uses.
    pub nats: TestNats,
    _dir: tempfile::TempDir,
}

impl Platform {
    /// Starts `subgraphs` (venues with the demo district) and the router behind its guard
    /// with the default limits.
    pub async fn start(subgraphs: Subgraphs) -> Self {
        Self::start_with(subgraphs, Options::default()).await
    }

    /// As [`Platform::start`], with `options`.
    pub async fn start_with(
        subgraphs: Subgraphs,
        Options {
            hooks,
            router_env,
            guard,
            persisted_only,
            legal_aid_clock,
        }: Options,
    ) -> Self {
        // Every line the services and the guard log lands where the tests read it.
        crate::telemetry::global();
        let dir = tempfile::tempdir().expect("tempdir");
        let mut venues = tongxin_venues::VenuesSettings {
            pii_key: tongxin_platform::pii::PiiCipher::generate_key_base64().into(),
            ..tongxin_venues::default_settings()
        };
        // No cadence misses (a year of a demo tree without visits) while a test runs.
        venues.scheduler.enabled = false;
        let mut spawn = tongxin_testing::spawn()
            .service(tongxin_venues::VenuesModule::new(venues))
            .hook(tongxin_venues::app::seed_demo_tree());
        for hook in hooks {
            spawn = spawn.hook(hook);
        }
        if subgraphs == Subgraphs::OrderLoop {
            let mut orders = tongxin_orders::OrdersSettings {
                pii_key: tongxin_platform::pii::PiiCipher::generate_key_base64().into(),
                ..tongxin_orders::default_settings()
            };
            // No deadline moves or reminders while a test walks the loop by hand.
            orders.scheduler.enabled = false;
            spawn = spawn
                .service(tongxin_volunteers::VolunteersModule::new(
                    tongxin_volunteers::VolunteersSettings {
                        pii: tongxin_volunteers::PiiSettings::generate(),
                        ..tongxin_volunteers::default_settings()
                    },
                ))
                // As under `tongxin run`: volunteers learns the org tree directly here
                // (staff scopes, home units); a deployment follows the venues unit events.
                .hook(tongxin::embedded::volunteers_learn_units())
                .service(tongxin_orders::OrdersModule::new(orders))
                .hook(tongxin_orders::app::seed_menu())
                .service({
                    let module = tongxin_legal_aid::LegalAidModule::new(
                        tongxin_legal_aid::LegalAidSettings {
                            pii_key: tongxin_platform::pii::PiiCipher::generate_key_base64().into(),
                            ..tongxin_legal_aid::default_settings()
                        },
                    );
                    match legal_aid_clock {
                        Some(clock) => module.with_clock(clock),
                        None => module,
                    }
                })
                .hook(tongxin::embedded::legal_aid_learns_units());
        }
        let mut spawned = spawn.start().await;
        let nats = spawned.take_nats().expect("NATS");
        let routes: Vec<(&str, String)> = spawned
            .started()
            .iter()
            .map(|service| (service.name(), service.graphql_url()))
            .collect();
        let binary = tongxin::router::find_binary(None).expect("router binary: run `make tools`");
        let router = RouterProcess::start(RouterOptions {
            binary: &binary,
            work_dir: &dir.path().join("router"),
            listen: format!("127.0.0.1:{}", free_port()).parse().expect("addr"),
            jwks: spawned.keys().jwks_path(),
            subgraphs: &routes,
            log_file: Some(&dir.path().join("router.log")),
            env: &router_env,
            persisted_only,
            guard,
        })
        .await
        .expect("router");
        Self {
            router: Some(router),
            spawned: Some(spawned),
            nats,
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

    /// The router's own GraphQL URL, behind the guard.
    pub fn router_url(&self) -> String {
        self.router
            .as_ref()
            .map(|r| r.router_url().to_owned())
            .unwrap_or_default()
    }

    /// Everything the router has logged so far.
    pub fn router_log(&self) -> String {
        std::fs::read_to_string(self._dir.path().join("router.log")).unwrap_or_default()
    }

    /// A token for `subject` with `roles`, scoped to the demo unit at `unit_path` if any.
    pub fn sign(&self, subject: &str, roles: &[Role], unit_path: Option<&str>) -> String {
        self.spawned().sign(
            subject,
            roles,
            unit_path.map(|p| demo::unit_id(p).0),
            Some("rc"),
        )
    }

    /// A token for `subject` with `roles` at the unit `unit` of `district`.
    pub fn sign_in(
        &self,
        subject: &str,
        roles: &[Role],
        unit: uuid::Uuid,
        district: &str,
    ) -> String {
        self.spawned()
            .sign(subject, roles, Some(unit), Some(district))
    }

    /// A token whose claims `edit` shapes (expired, another audience or issuer).
    pub fn token_with(&self, edit: impl FnOnce(&mut tongxin_platform::auth::Claims)) -> String {
        self.spawned().token_with(edit)
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

    fn spawned(&self) -> &Spawned {
        self.spawned.as_ref().expect("the services run until stop")
    }

    /// Stops the router, then every service; each must stop cleanly. Then no log line of
    /// the run so far may hold personal data (`telemetry::assert_no_personal_data_logged`).
    pub async fn stop(mut self) {
        if let Some(router) = self.router.take() {
            router
                .stop(Duration::from_secs(5))
                .await
                .expect("router stops");
        }
        if let Some(spawned) = self.spawned.take() {
            spawned.stop().await;
        }
        crate::telemetry::assert_no_personal_data_logged(&self.router_log());
    }
}

pub use tongxin_testing::ws::{Socket, next_json, subscribe};
