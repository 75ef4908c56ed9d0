//! [`spawn`]: services for one test, started through the platform registry exactly as
//! `tongxin serve` and `tongxin run` start them.
//!
//! The test names the services (their registry modules, with whatever settings or clock it
//! needs) and the store; `spawn` gives every service its own database (a fresh PostgreSQL
//! database, or a SQLite file), loopback ports, one bus (a NATS server of its own, or the
//! in-process bus on SQLite), a local key pair, and wires services started together to each
//! other's in-process gRPC addresses. Work to do before a service serves (seeding, teaching
//! it units) is a [`Hook`](tongxin_platform::registry::Hook) given with [`Spawn::after`].

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tongxin_platform::auth::{
    Claims, Credential, DevKeys, Principal, Role, ServiceTokens, TokenRequest, Verifier,
};
use tongxin_platform::config::{
    AuthSettings, CommonSettings, DatabaseSettings, EventsBackend, EventsSettings,
};
use tongxin_platform::events::SharedBus;
use tongxin_platform::registry::{self, Handle, Hook, Module, Running, Started};

use crate::dbproxy::DbProxy;
use crate::{TestDb, TestNats};

/// Where the services keep their data and send their events.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Store {
    /// A fresh PostgreSQL database each, one NATS server.
    Postgres,
    /// A SQLite file each and the in-process bus (`tongxin run`).
    Sqlite,
}

/// What to start; see [`spawn`].
pub struct Spawn {
    modules: Vec<Box<dyn Module>>,
    store: Store,
    hooks: Vec<Hook>,
    behind_proxy: Vec<String>,
    pools: Vec<(String, u32)>,
    relay_interval_ms: u64,
    in_process_bus: bool,
}

/// Starts building a test's services: add them with [`Spawn::service`], then
/// [`Spawn::start`].
pub fn spawn() -> Spawn {
    Spawn {
        modules: Vec::new(),
        store: Store::Postgres,
        hooks: Vec::new(),
        behind_proxy: Vec::new(),
        pools: Vec::new(),
        // Tests wait for events; a quick fallback poll keeps them short.
        relay_interval_ms: 50,
        in_process_bus: false,
    }
}

impl Spawn {
    /// Runs `module` (its listen addresses and database are replaced).
    pub fn service(mut self, module: impl Module) -> Self {
        self.modules.push(Box::new(module));
        self
    }

    /// On PostgreSQL and NATS (the default) or SQLite and the in-process bus.
    pub fn store(mut self, store: Store) -> Self {
        self.store = store;
        self
    }

    /// Runs `hook` once `service` is built, before it serves.
    pub fn after<F, Fut>(mut self, service: &str, hook: F) -> Self
    where
        F: FnOnce(Started) -> Fut + Send + 'static,
        Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
    {
        self.hooks.push(Hook::after(service, hook));
        self
    }

    /// Runs a ready-made `hook` (such as the ones `tongxin run` uses).
    pub fn hook(mut self, hook: Hook) -> Self {
        self.hooks.push(hook);
        self
    }

    /// `service` reaches its (PostgreSQL) database through a [`DbProxy`] the test can
    /// break, and waits at most a second for a connection.
    pub fn behind_proxy(mut self, service: &str) -> Self {
        self.behind_proxy.push(service.to_owned());
        self
    }

    /// The in-process bus even on PostgreSQL (no NATS server; benches).
    pub fn in_process_bus(mut self) -> Self {
        self.in_process_bus = true;
        self
    }

    /// `service`'s database pool holds `connections` (benches under load).
    pub fn pool_size(mut self, service: &str, connections: u32) -> Self {
        self.pools.push((service.to_owned(), connections));
        self
    }

    /// How often the outbox relays poll when nobody woke them (default 50 ms).
    pub fn relay_interval_ms(mut self, ms: u64) -> Self {
        self.relay_interval_ms = ms;
        self
    }

    /// Starts everything; panics (it is a test) when anything fails to start.
    pub async fn start(self) -> Spawned {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut dbs = HashMap::new();
        let mut proxies = HashMap::new();
        let mut databases = HashMap::new();
        let mut modules = self.modules;
        for module in &mut modules {
            let name = module.name();
            let database = match self.store {
                Store::Postgres => {
                    let db = TestDb::new().await;
                    let database = if self.behind_proxy.iter().any(|s| s == name) {
                        let proxy = DbProxy::start(db.url()).await;
                        let url = proxy.url(db.url());
                        proxies.insert(name, proxy);
                        DatabaseSettings {
                            connect_timeout_secs: 1,
                            ..DatabaseSettings::new(&url)
                        }
                    } else {
                        DatabaseSettings::new(db.url())
                    };
                    dbs.insert(name, db);
                    database
                }
                Store::Sqlite => DatabaseSettings::new(&format!(
                    "sqlite://{}",
                    dir.path().join(format!("{name}.db")).display()
                )),
            };
            let mut database = database;
            if let Some((_, n)) = self.pools.iter().find(|(s, _)| s == name) {
                database.max_connections = *n;
            }
            databases.insert(name, database.clone());
            registry::on_loopback(module.as_mut(), database);
        }
        let nats = match self.store {
            Store::Postgres if !self.in_process_bus => Some(TestNats::start().await),
            _ => None,
        };
        let keys = DevKeys::load_or_generate(&dir.path().join("keys")).expect("keys");
        let verifier = Arc::new(
            Verifier::from_jwks_json(keys.jwks_json(), "tongxin", "tongxin").expect("verifier"),
        );
        let events = match &nats {
            Some(nats) => EventsSettings {
                nats_url: nats.url(),
                relay_interval_ms: self.relay_interval_ms,
                ..EventsSettings::default()
            },
            None => EventsSettings {
                backend: EventsBackend::Memory,
                relay_interval_ms: self.relay_interval_ms,
                ..EventsSettings::default()
            },
        };
        let common = CommonSettings {
            events,
            shutdown_timeout_secs: 5,
            // Service tokens are signed with the test's key, as in `tongxin run`.
            auth: AuthSettings {
                service_key_path: Some(keys.key_path().to_owned()),
                ..AuthSettings::default()
            },
            ..CommonSettings::default()
        };
        let bus = tongxin_platform::events::connect(&common.events)
            .await
            .expect("bus");
        let options = registry::Options {
            common,
            bus: bus.clone(),
            verifier: verifier.clone(),
            local_peers: true,
            hooks: self.hooks,
        };
        let running = registry::start(modules, options, CancellationToken::new())
            .await
            .unwrap_or_else(|e| panic!("services start: {e:?}"));
        Spawned {
            running,
            keys,
            verifier,
            bus,
            nats,
            store: self.store,
            proxies,
            databases,
            dbs,
            _dir: dir,
        }
    }
}

/// Services running for one test. Dropping it cancels them; [`Spawned::stop`] also checks
/// that each stopped cleanly.
pub struct Spawned {
    running: Running,
    keys: DevKeys,
    /// The verifier every service uses.
    pub verifier: Arc<Verifier>,
    /// The bus every service uses.
    pub bus: SharedBus,
    nats: Option<TestNats>,
    /// Which store the services run on.
    pub store: Store,
    proxies: HashMap<&'static str, DbProxy>,
    databases: HashMap<&'static str, DatabaseSettings>,
    dbs: HashMap<&'static str, TestDb>,
    _dir: tempfile::TempDir,
}

impl Spawned {
    /// The running service `name`; panics when it was not spawned.
    pub fn service(&self, name: &str) -> &Handle {
        self.running
            .get(name)
            .unwrap_or_else(|| panic!("{name} was not spawned"))
    }

    /// The state (operations handle) of service `name`.
    pub fn state<T: std::any::Any>(&self, name: &str) -> &T {
        self.service(name)
            .state()
            .unwrap_or_else(|| panic!("{name}'s state is not a {}", std::any::type_name::<T>()))
    }

    /// Every running service.
    pub fn started(&self) -> &Started {
        self.running.started()
    }

    /// The NATS server (PostgreSQL store only: SQLite runs on the in-process bus).
    pub fn nats(&self) -> &TestNats {
        self.nats
            .as_ref()
            .expect("NATS runs only with Store::Postgres")
    }

    /// Hands the NATS server to the caller, who then keeps it alive as long as the
    /// services (declare it after the [`Spawned`], so the services stop first).
    pub fn take_nats(&mut self) -> Option<TestNats> {
        self.nats.take()
    }

    /// The proxy in front of `service`'s database ([`Spawn::behind_proxy`]).
    pub fn proxy(&self, service: &str) -> Option<&DbProxy> {
        self.proxies.get(service)
    }

    /// The database settings `service` was started with.
    pub fn database(&self, service: &str) -> &DatabaseSettings {
        self.databases
            .get(service)
            .unwrap_or_else(|| panic!("{service} was not spawned"))
    }

    /// The URL of `service`'s PostgreSQL database, past any proxy.
    pub fn database_url(&self, service: &str) -> &str {
        self.dbs
            .get(service)
            .map(TestDb::url)
            .unwrap_or_else(|| panic!("{service} has no PostgreSQL database"))
    }

    /// A connection straight to `service`'s PostgreSQL database, past any proxy.
    pub async fn direct_db(&self, service: &str) -> sea_orm::DatabaseConnection {
        sea_orm::Database::connect(self.database_url(service))
            .await
            .expect("direct connection")
    }

    /// The local key pair tokens are signed with.
    pub fn keys(&self) -> &DevKeys {
        &self.keys
    }

    /// A ten-minute token for `subject` with `roles`, scoped to `unit`, in `district`.
    pub fn sign(
        &self,
        subject: &str,
        roles: &[Role],
        unit: Option<uuid::Uuid>,
        district: Option<&str>,
    ) -> String {
        self.keys
            .sign(&TokenRequest {
                subject,
                roles,
                unit,
                district,
                issuer: "tongxin",
                audience: "tongxin",
                ttl: Duration::from_secs(600),
            })
            .expect("sign")
    }

    /// `principal` carrying a fresh ten-minute token for what it claims: what a test sends
    /// over gRPC, or hands to a service call that forwards it.
    pub fn signed(&self, principal: &Principal) -> Principal {
        let mut principal = principal.clone();
        self.keys
            .signing_key()
            .sign_principal(
                &mut principal,
                "tongxin",
                "tongxin",
                Duration::from_secs(600),
            )
            .expect("sign");
        principal
    }

    /// The credential of a ten-minute token for what `principal` claims.
    pub fn credential(&self, principal: &Principal) -> Credential {
        self.signed(principal)
            .credential
            .expect("signed principals carry their token")
    }

    /// A service credential of `service` (`sub` `service:<service>`), as the services
    /// started here sign their own.
    pub fn service_credential(&self, service: &str) -> Credential {
        self.service_tokens(service).credential().expect("sign")
    }

    /// The service tokens of `service`, as the services started here make their own.
    pub fn service_tokens(&self, service: &str) -> ServiceTokens {
        ServiceTokens::new(self.keys.signing_key(), service, "tongxin", "tongxin")
    }

    /// A token whose claims `edit` shapes, starting from a ten-minute citizen token of
    /// `tester` (expired tokens, foreign audiences, odd claims).
    pub fn token_with(&self, edit: impl FnOnce(&mut Claims)) -> String {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("clock")
            .as_secs();
        let mut claims = Claims {
            sub: "tester".to_owned(),
            roles: vec!["citizen".to_owned()],
            unit: None,
            district: Some("rc".to_owned()),
            iss: "tongxin".to_owned(),
            aud: "tongxin".to_owned(),
            exp: now + 600,
            iat: now,
        };
        edit(&mut claims);
        self.keys.signing_key().sign_claims(&claims).expect("sign")
    }

    /// Stops service `name` (the others keep running); it must stop cleanly.
    pub async fn stop_service(&mut self, name: &str) {
        self.running
            .stop_service(name)
            .await
            .unwrap_or_else(|e| panic!("{name} stops cleanly: {e:?}"));
    }

    /// Stops every service; each must stop cleanly.
    pub async fn stop(self) {
        self.running.stop().await.expect("clean stop");
    }
}
