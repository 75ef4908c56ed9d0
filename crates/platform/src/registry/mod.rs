//! The service skeleton: one way to describe a service and one way to start a set of them.
//!
//! Modelled on Grafana Loki's module registry (`pkg/util/modules`): a service crate
//! implements [`Service`] (every `Service` is a [`Module`], the object-safe form a list holds):
//! a name, the services it must start after, its migrator, and an `init` that builds its
//! parts from what the process gives it ([`Context`]: its migrated database, the bus, the
//! token verifier, the outbox waker, the addresses of services already running beside it).
//! [`start`] brings a set of modules up in dependency order and returns [`Running`], which
//! stops them (cancellation, then a bounded drain). Unlike Loki, naming a service does not
//! pull in its dependencies: `tongxin serve orders` runs orders alone (venues and volunteers
//! are their own Deployments); dependencies only order the start when they run together.
//! [`Hook`]s run work between a service's build and its serving (demo data, test setup).
//!
//! A service crate writes only what is its own (in its `app.rs`): its settings section, its
//! migrator, its state, its subgraph and plain HTTP routes, its gRPC routes, its consumers
//! and background jobs. What is the same for every service lives here once: connecting and
//! migrating, the outbox relay, binding and serving HTTP (with `/healthz`, `/readyz`,
//! `/metrics`) and gRPC (with health and reflection), running the tasks, and draining.
//!
//! Callers: `tongxin serve|migrate|run` in services/tongxin, the test `spawn` in
//! crates/testing (every service's tests, tests/e2e, the benches).

mod start;

use std::any::Any;
use std::collections::BTreeMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures::future::BoxFuture;
use sea_orm::DatabaseConnection;
use sea_orm_migration::MigratorTrait;
use tokio_util::sync::CancellationToken;

use crate::auth::{ServiceTokens, Verifier};
use crate::config::{CommonSettings, DatabaseSettings};
use crate::events::consumer::{Handler, run_consumer};
use crate::events::outbox::OutboxWaker;
use crate::events::{ConsumerSpec, SharedBus};
use crate::pii::{PiiCipher, Resealed, SealedColumns};

pub use start::{Handle, Hook, Options, Running, Started, dependency_order, start};

/// One service as a service crate describes it (in its `app.rs`); every `Service` is a
/// [`Module`] the registry can start.
#[async_trait]
pub trait Service: Send + Sync + 'static {
    /// The name used on the command line, in logs and as the settings section.
    const NAME: &'static str;

    /// See [`Module::deps`].
    const DEPS: &'static [&'static str] = &[];

    /// Its migrations, run at every start and by `tongxin migrate`.
    type Migrator: MigratorTrait;

    /// See [`Module::placement`].
    fn placement(&mut self) -> Placement<'_>;

    /// See [`Module::check`].
    fn check(&self) -> anyhow::Result<()> {
        Ok(())
    }

    /// See [`Module::sdl`].
    fn sdl(&self) -> String;

    /// See [`Module::init`].
    async fn init(&self, ctx: &Context) -> anyhow::Result<Parts>;

    /// The service's PII cipher (its configured key ring) and the columns it seals, for
    /// [`Module::reseal`]; `None` for a service that seals nothing.
    fn sealed(&self) -> anyhow::Result<Option<(PiiCipher, &'static [SealedColumns])>> {
        Ok(None)
    }
}

#[async_trait]
impl<S: Service> Module for S {
    fn name(&self) -> &'static str {
        S::NAME
    }

    fn deps(&self) -> &'static [&'static str] {
        S::DEPS
    }

    fn placement(&mut self) -> Placement<'_> {
        Service::placement(self)
    }

    fn check(&self) -> anyhow::Result<()> {
        Service::check(self)
    }

    async fn connect_and_migrate(
        &self,
        database: &DatabaseSettings,
    ) -> anyhow::Result<DatabaseConnection> {
        Ok(crate::db::connect_and_migrate::<S::Migrator>(database).await?)
    }

    async fn init(&self, ctx: &Context) -> anyhow::Result<Parts> {
        Service::init(self, ctx).await
    }

    fn sdl(&self) -> String {
        Service::sdl(self)
    }

    async fn reseal(&self, db: &DatabaseConnection) -> anyhow::Result<Vec<Resealed>> {
        match Service::sealed(self)? {
            None => Ok(Vec::new()),
            Some((cipher, tables)) => crate::pii::reseal(db, &cipher, tables).await,
        }
    }
}

/// One service, as the registry sees it (object-safe, so a list can hold every service).
/// Service crates implement [`Service`], which provides this.
#[async_trait]
pub trait Module: Send + Sync + 'static {
    /// The name used on the command line, in logs and as the settings section.
    fn name(&self) -> &'static str;

    /// Services that, when they run in the same process, must be started first (their
    /// addresses are then in [`Context::peer_grpc_url`]). A dependency outside the started
    /// set is not pulled in: in a deployment it runs as its own process.
    fn deps(&self) -> &'static [&'static str] {
        &[]
    }

    /// Where it listens and keeps its data; the test spawn and `tongxin run` rewrite these.
    fn placement(&mut self) -> Placement<'_>;

    /// Checks what must hold before anything is touched (keys present and valid).
    fn check(&self) -> anyhow::Result<()> {
        Ok(())
    }

    /// Connects to `database` and brings it up to date with the service's migrations.
    async fn connect_and_migrate(
        &self,
        database: &DatabaseSettings,
    ) -> anyhow::Result<DatabaseConnection>;

    /// Builds the service's state and everything it serves and runs.
    async fn init(&self, ctx: &Context) -> anyhow::Result<Parts>;

    /// Its subgraph's SDL (`tongxin schema`, schema/<name>.graphql).
    fn sdl(&self) -> String;

    /// Re-seals its stored personal data under the sealing key of its configured key ring
    /// (`tongxin reseal`, after a PII key rotation).
    async fn reseal(&self, _db: &DatabaseConnection) -> anyhow::Result<Vec<Resealed>> {
        Ok(Vec::new())
    }
}

/// Moves `module` onto loopback ports picked by the system and onto `database`: how
/// `tongxin run` and the tests place every service.
pub fn on_loopback(module: &mut dyn Module, database: DatabaseSettings) {
    let placement = module.placement();
    *placement.http_addr = SocketAddr::from(([127, 0, 0, 1], 0));
    *placement.grpc_addr = SocketAddr::from(([127, 0, 0, 1], 0));
    *placement.database = database;
}

/// Mutable views of a module's listen addresses and database, wherever its settings keep them.
pub struct Placement<'a> {
    /// GraphQL, health and metrics.
    pub http_addr: &'a mut SocketAddr,
    /// gRPC for the other services.
    pub grpc_addr: &'a mut SocketAddr,
    /// The service's own database.
    pub database: &'a mut DatabaseSettings,
}

/// What the process gives a module's `init`.
pub struct Context {
    /// The service's own database, migrated.
    pub db: DatabaseConnection,
    /// The event bus.
    pub bus: SharedBus,
    /// Token verification (for the subgraph and plain routes).
    pub verifier: Arc<Verifier>,
    /// The shared settings sections.
    pub common: CommonSettings,
    /// Wakes the outbox relay after a commit.
    pub outbox: OutboxWaker,
    peers: BTreeMap<&'static str, SocketAddr>,
    service_tokens: Option<ServiceTokens>,
}

impl Context {
    /// `http://<grpc addr>` of `service` when it runs in this process and the start
    /// [`Options::local_peers`] asked for in-process wiring; `None` otherwise (the module
    /// then uses the URL from its settings).
    pub fn peer_grpc_url(&self, service: &str) -> Option<String> {
        self.peers.get(service).map(|addr| format!("http://{addr}"))
    }

    /// The service's own credential for calls it makes on its own behalf, signed with the
    /// key `auth.service_key_path` names; an error saying so when none is configured (a
    /// service that needs one must not start without it).
    pub fn service_tokens(&self) -> anyhow::Result<ServiceTokens> {
        self.service_tokens.clone().ok_or_else(|| {
            anyhow::anyhow!(
                "auth.service_key_path (TONGXIN_AUTH__SERVICE_KEY_PATH) must name this \
                 service's private key (PEM) whose public key is in the JWKS: it calls other \
                 services on its own behalf"
            )
        })
    }

    /// A durable consumer named `name` on `filter`, with the configured delivery limit.
    pub fn consumer_spec(&self, name: &str, filter: &str) -> ConsumerSpec {
        ConsumerSpec {
            name: name.to_owned(),
            filter: filter.to_owned(),
            max_deliver: self.common.events.max_deliver,
            ack_wait: Duration::from_secs(30),
        }
    }
}

/// What a service serves and runs, built by [`Module::init`].
pub struct Parts {
    pub(crate) state: Arc<dyn Any + Send + Sync>,
    pub(crate) http: axum::Router,
    pub(crate) grpc: Grpc,
    pub(crate) tasks: Vec<Task>,
}

/// A service's gRPC side; the registry adds the health and reflection services.
pub struct Grpc {
    /// Its tonic services.
    pub routes: tonic::service::Routes,
    /// The encoded descriptor set reflection serves (`tongxin_proto::FILE_DESCRIPTOR_SET`).
    pub descriptor: &'static [u8],
    /// Full names of its services, reported SERVING by the health service.
    pub service_names: &'static [&'static str],
}

impl Parts {
    /// `state` is the service's operations handle, reachable through [`Handle::state`]
    /// (seeding, tests); `http` its subgraph and plain routes (health and metrics are added
    /// here); `grpc` its gRPC side.
    pub fn new<S: Any + Send + Sync>(state: S, http: axum::Router, grpc: Grpc) -> Self {
        Self {
            state: Arc::new(state),
            http,
            grpc,
            tasks: Vec::new(),
        }
    }

    /// Adds a consumer or background job.
    pub fn task(mut self, task: Task) -> Self {
        self.tasks.push(task);
        self
    }
}

type TaskFn = Box<dyn FnOnce(CancellationToken) -> BoxFuture<'static, anyhow::Result<()>> + Send>;

/// A consumer or background job: runs until the token is cancelled. An error is logged when
/// the service stops; it does not fail the stop (the outbox and redelivery absorb it).
pub struct Task {
    pub(crate) name: String,
    pub(crate) run: TaskFn,
}

impl Task {
    /// A job named `name` (for the log) running `run(shutdown)`.
    pub fn new<F, Fut>(name: impl Into<String>, run: F) -> Self
    where
        F: FnOnce(CancellationToken) -> Fut + Send + 'static,
        Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
    {
        Self {
            name: name.into(),
            run: Box::new(move |stop| Box::pin(run(stop))),
        }
    }

    /// The durable consumer `spec` feeding `handler`, on the service's database and bus.
    pub fn consumer<H: Handler>(ctx: &Context, spec: ConsumerSpec, handler: H) -> Self {
        let (db, bus) = (ctx.db.clone(), ctx.bus.clone());
        Self::new(spec.name.clone(), move |stop| async move {
            run_consumer(db, bus, spec, Arc::new(handler), stop).await?;
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Named(
        &'static str,
        &'static [&'static str],
        DatabaseSettings,
        SocketAddr,
        SocketAddr,
    );

    #[async_trait]
    impl Module for Named {
        fn name(&self) -> &'static str {
            self.0
        }
        fn deps(&self) -> &'static [&'static str] {
            self.1
        }
        fn placement(&mut self) -> Placement<'_> {
            Placement {
                http_addr: &mut self.3,
                grpc_addr: &mut self.4,
                database: &mut self.2,
            }
        }
        async fn connect_and_migrate(
            &self,
            _database: &DatabaseSettings,
        ) -> anyhow::Result<DatabaseConnection> {
            anyhow::bail!("not in these tests")
        }
        async fn init(&self, _ctx: &Context) -> anyhow::Result<Parts> {
            anyhow::bail!("not in these tests")
        }
        fn sdl(&self) -> String {
            String::new()
        }
    }

    fn modules(list: &[(&'static str, &'static [&'static str])]) -> Vec<Box<dyn Module>> {
        list.iter()
            .map(|(name, deps)| {
                Box::new(Named(
                    name,
                    deps,
                    DatabaseSettings::new("sqlite::memory:"),
                    SocketAddr::from(([127, 0, 0, 1], 0)),
                    SocketAddr::from(([127, 0, 0, 1], 0)),
                )) as Box<dyn Module>
            })
            .collect()
    }

    fn names(
        list: &[(&'static str, &'static [&'static str])],
    ) -> anyhow::Result<Vec<&'static str>> {
        let order = dependency_order(&modules(list))?;
        Ok(order.into_iter().map(|i| list[i].0).collect())
    }

    #[test]
    fn dependencies_start_first_and_the_rest_keep_their_order() {
        let order = names(&[
            ("orders", &["venues", "volunteers"]),
            ("volunteers", &[]),
            ("venues", &[]),
        ])
        .expect("order");
        assert_eq!(order, ["volunteers", "venues", "orders"]);
        let order = names(&[
            ("venues", &[]),
            ("volunteers", &[]),
            ("orders", &["venues"]),
        ])
        .expect("order");
        assert_eq!(order, ["venues", "volunteers", "orders"]);
    }

    #[test]
    fn a_dependency_outside_the_set_is_not_waited_for() {
        let order = names(&[("orders", &["venues", "volunteers"])]).expect("order");
        assert_eq!(order, ["orders"]);
    }

    #[test]
    fn cycles_and_repeats_are_refused() {
        let err = names(&[("a", &["b"]), ("b", &["a"])]).expect_err("cycle");
        assert!(err.to_string().contains("cycle"), "{err}");
        let err = names(&[("a", &[]), ("a", &[])]).expect_err("twice");
        assert!(err.to_string().contains("twice"), "{err}");
    }

    #[test]
    fn on_loopback_moves_a_module_to_free_loopback_ports_and_its_database() {
        let mut module = Named(
            "x",
            &[],
            DatabaseSettings::new("postgres://db/x"),
            SocketAddr::from(([0, 0, 0, 0], 8081)),
            SocketAddr::from(([0, 0, 0, 0], 9081)),
        );
        on_loopback(&mut module, DatabaseSettings::new("sqlite://x.db"));
        let placement = module.placement();
        assert_eq!(*placement.http_addr, SocketAddr::from(([127, 0, 0, 1], 0)));
        assert!(placement.database.is_sqlite());
    }
}
