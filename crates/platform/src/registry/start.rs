//! Starting a set of [`Module`]s in dependency order, serving each, and stopping them.
//!
//! Per module, in this order: check its keys, connect and migrate its database, build its
//! parts, bind its two listeners, run the start hooks (seeding, tests), then serve until its
//! token is cancelled: HTTP and gRPC, the outbox relay, its consumers and jobs. A stop
//! drains within `shutdown_timeout_secs`. If a service ends with an error, the whole set is
//! stopped (as one process would be); a failed start stops what had started.

use std::any::Any;
use std::collections::BTreeMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, bail};
use futures::future::BoxFuture;
use sea_orm::DatabaseConnection;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::{Context, Module, Parts};
use crate::auth::{ServiceTokens, SigningKey, Verifier};
use crate::config::CommonSettings;
use crate::events::SharedBus;
use crate::events::outbox::OutboxRelay;
use crate::health::{self, Readiness};

/// What every started module shares.
pub struct Options {
    /// The shared settings sections (relay pace, delivery limit, drain time).
    pub common: CommonSettings,
    /// The bus every module publishes to and consumes from.
    pub bus: SharedBus,
    /// Token verification.
    pub verifier: Arc<Verifier>,
    /// Wire each module to the in-process gRPC addresses of its dependencies started beside
    /// it (`tongxin run`, tests) rather than to the URLs in its settings (`tongxin serve`).
    pub local_peers: bool,
    /// Run after a module is built and bound, before it serves.
    pub hooks: Vec<Hook>,
}

type HookFn = Box<dyn FnOnce(Started) -> BoxFuture<'static, anyhow::Result<()>> + Send>;

/// Work to do once the named module is built, before it serves: seeding demo data, teaching
/// a test's service the units it needs. It sees every module started so far, itself last.
pub struct Hook {
    service: String,
    run: HookFn,
}

impl Hook {
    /// Runs `run` after `service` is built.
    pub fn after<F, Fut>(service: &str, run: F) -> Self
    where
        F: FnOnce(Started) -> Fut + Send + 'static,
        Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
    {
        Self {
            service: service.to_owned(),
            run: Box::new(move |started| Box::pin(run(started))),
        }
    }
}

/// A started module: where it listens, its database and its operations handle.
#[derive(Clone)]
pub struct Handle {
    name: &'static str,
    http: SocketAddr,
    grpc: SocketAddr,
    db: DatabaseConnection,
    state: Arc<dyn Any + Send + Sync>,
}

impl Handle {
    /// The module's name.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Where GraphQL, health and metrics are served.
    pub fn http_addr(&self) -> SocketAddr {
        self.http
    }

    /// Where gRPC is served.
    pub fn grpc_addr(&self) -> SocketAddr {
        self.grpc
    }

    /// `http://<http addr>/graphql`.
    pub fn graphql_url(&self) -> String {
        format!("http://{}/graphql", self.http)
    }

    /// `http://<grpc addr>`, what a gRPC client connects to.
    pub fn grpc_url(&self) -> String {
        format!("http://{}", self.grpc)
    }

    /// The module's database.
    pub fn db(&self) -> &DatabaseConnection {
        &self.db
    }

    /// The state the module registered in [`Parts::new`], if it is a `T`.
    pub fn state<T: Any>(&self) -> Option<&T> {
        self.state.downcast_ref()
    }
}

/// The modules started so far, in start order.
#[derive(Clone, Default)]
pub struct Started(Vec<Handle>);

impl Started {
    /// The module named `name`.
    pub fn get(&self, name: &str) -> Option<&Handle> {
        self.0.iter().find(|h| h.name == name)
    }

    /// The state of the module named `name`, if it runs and its state is a `T`.
    pub fn state<T: Any>(&self, name: &str) -> Option<&T> {
        self.get(name).and_then(Handle::state)
    }

    /// All of them, in start order.
    pub fn iter(&self) -> impl Iterator<Item = &Handle> {
        self.0.iter()
    }
}

/// A running set of modules.
pub struct Running {
    started: Started,
    services: Vec<Service>,
    shutdown: CancellationToken,
}

struct Service {
    name: &'static str,
    stop: CancellationToken,
    task: Option<JoinHandle<anyhow::Result<()>>>,
}

impl Running {
    /// What runs, with addresses, databases and states.
    pub fn started(&self) -> &Started {
        &self.started
    }

    /// The module named `name`.
    pub fn get(&self, name: &str) -> Option<&Handle> {
        self.started.get(name)
    }

    /// Stops one module and waits for its drain; the others keep running.
    pub async fn stop_service(&mut self, name: &str) -> anyhow::Result<()> {
        for service in self.services.iter_mut().filter(|s| s.name == name) {
            service.stop.cancel();
            if let Some(task) = service.task.take() {
                task.await.with_context(|| format!("{name} panicked"))??;
            }
        }
        Ok(())
    }

    /// Waits until every module has stopped (after the start token is cancelled, or a
    /// module failed); the first error, after all have stopped.
    pub async fn wait(mut self) -> anyhow::Result<()> {
        let mut first = Ok(());
        for service in &mut self.services {
            if let Some(task) = service.task.take() {
                let result = match task.await {
                    Ok(result) => result,
                    Err(e) => Err(anyhow::anyhow!("{} panicked: {e}", service.name)),
                };
                if let Err(e) = result
                    && first.is_ok()
                {
                    first = Err(e.context(format!("{} stopped with an error", service.name)));
                }
            }
        }
        first
    }

    /// Cancels every module and waits for their drain.
    pub async fn stop(self) -> anyhow::Result<()> {
        self.shutdown.cancel();
        self.wait().await
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        // A test that panics must not leave servers running behind it.
        if self.services.iter().any(|s| s.task.is_some()) {
            self.shutdown.cancel();
        }
    }
}

/// The order to start `modules` in: each after the dependencies it names that are in the
/// set, otherwise in the given order. A repeated name or a cycle is an error.
pub fn dependency_order(modules: &[Box<dyn Module>]) -> anyhow::Result<Vec<usize>> {
    let names: Vec<&str> = modules.iter().map(|m| m.name()).collect();
    for (i, name) in names.iter().enumerate() {
        if names[..i].contains(name) {
            bail!("service {name} is listed twice");
        }
    }
    let mut order: Vec<usize> = Vec::with_capacity(modules.len());
    while order.len() < modules.len() {
        let ready = (0..modules.len()).find(|&i| {
            !order.contains(&i)
                && modules[i]
                    .deps()
                    .iter()
                    .all(|dep| !names.contains(dep) || order.iter().any(|&j| names[j] == *dep))
        });
        match ready {
            Some(i) => order.push(i),
            None => {
                let stuck: Vec<&str> = (0..modules.len())
                    .filter(|i| !order.contains(i))
                    .map(|i| names[i])
                    .collect();
                bail!(
                    "services depend on each other in a cycle: {}",
                    stuck.join(", ")
                );
            }
        }
    }
    Ok(order)
}

/// Starts `modules` in dependency order; each serves until `shutdown` (or its own
/// [`Running::stop_service`]). On a failed start, the ones already started are stopped.
pub async fn start(
    modules: Vec<Box<dyn Module>>,
    mut options: Options,
    shutdown: CancellationToken,
) -> anyhow::Result<Running> {
    let order = dependency_order(&modules)?;
    let service_key = match &options.common.auth.service_key_path {
        Some(path) => Some(Arc::new(SigningKey::from_pem_file(path).with_context(
            || "auth.service_key_path must name a PKCS#8 PEM P-256 private key".to_owned(),
        )?)),
        None => None,
    };
    let mut slots: Vec<Option<Box<dyn Module>>> = modules.into_iter().map(Some).collect();
    let mut running = Running {
        started: Started::default(),
        services: Vec::new(),
        shutdown,
    };
    for i in order {
        let Some(module) = slots[i].take() else {
            continue;
        };
        let name = module.name();
        match start_one(module, &mut options, service_key.clone(), &running).await {
            Ok((handle, service)) => {
                running.started.0.push(handle);
                running.services.push(service);
            }
            Err(e) => {
                if let Err(stop) = running.stop().await {
                    tracing::warn!(error = %stop, "a service stopped with an error");
                }
                return Err(e.context(format!("starting {name}")));
            }
        }
    }
    Ok(running)
}

async fn start_one(
    mut module: Box<dyn Module>,
    options: &mut Options,
    service_key: Option<Arc<SigningKey>>,
    running: &Running,
) -> anyhow::Result<(Handle, Service)> {
    let name = module.name();
    // Before anything else: a service without usable keys must not start.
    module.check()?;
    let placement = module.placement();
    let (http_addr, grpc_addr) = (*placement.http_addr, *placement.grpc_addr);
    let database = placement.database.clone();
    let db = module.connect_and_migrate(&database).await?;
    let common = options.common.clone();
    let relay = OutboxRelay::new(
        db.clone(),
        options.bus.clone(),
        common.events.relay_batch,
        Duration::from_millis(common.events.relay_interval_ms),
    );
    let peers: BTreeMap<&'static str, SocketAddr> = match options.local_peers {
        true => running.started.iter().map(|h| (h.name, h.grpc)).collect(),
        false => BTreeMap::new(),
    };
    let ctx = Context {
        db: db.clone(),
        bus: options.bus.clone(),
        verifier: options.verifier.clone(),
        common,
        outbox: relay.waker(),
        peers,
        // Signed for what the receivers' verifier (the same settings) expects.
        service_tokens: service_key.map(|key| {
            let verifier = &options.verifier;
            ServiceTokens::new(key, name, verifier.issuer(), verifier.audience())
        }),
    };
    let parts = module.init(&ctx).await?;
    let http = TcpListener::bind(http_addr)
        .await
        .with_context(|| format!("binding {http_addr}"))?;
    let grpc = TcpListener::bind(grpc_addr)
        .await
        .with_context(|| format!("binding {grpc_addr}"))?;
    let handle = Handle {
        name,
        http: http.local_addr()?,
        grpc: grpc.local_addr()?,
        db,
        state: parts.state.clone(),
    };
    let mut started = running.started.clone();
    started.0.push(handle.clone());
    let (mine, others): (Vec<Hook>, Vec<Hook>) = std::mem::take(&mut options.hooks)
        .into_iter()
        .partition(|h| h.service == name);
    options.hooks = others;
    for hook in mine {
        (hook.run)(started.clone()).await?;
    }
    let stop = running.shutdown.child_token();
    let everything = running.shutdown.clone();
    let served = serve(name, parts, http, grpc, ctx, relay, stop.clone());
    let task = tokio::spawn(async move {
        let result = served.await;
        // One service failing stops the process, as it did when all shared one token.
        if result.is_err() {
            everything.cancel();
        }
        result
    });
    Ok((
        handle,
        Service {
            name,
            stop,
            task: Some(task),
        },
    ))
}

/// Serves one module until `shutdown`, then drains: the same for every service.
async fn serve(
    name: &'static str,
    parts: Parts,
    http: TcpListener,
    grpc: TcpListener,
    ctx: Context,
    relay: OutboxRelay,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let drain = ctx.common.shutdown_timeout();
    let router = parts.http.merge(health::routes(Readiness {
        db: ctx.db.clone(),
        bus: ctx.bus.clone(),
    }));
    tracing::info!(http = %http.local_addr()?, grpc = %grpc.local_addr()?, "{name} listening");
    let relay = tokio::spawn(relay.run(shutdown.clone()));
    let tasks: Vec<(String, JoinHandle<anyhow::Result<()>>)> = parts
        .tasks
        .into_iter()
        .map(|task| (task.name, tokio::spawn((task.run)(shutdown.clone()))))
        .collect();
    let (http, grpc) = tokio::join!(
        health::serve_http(router, http, shutdown.clone(), drain),
        crate::grpc::serve(
            parts.grpc.routes,
            grpc,
            parts.grpc.descriptor,
            parts.grpc.service_names,
            ctx.verifier.clone(),
            shutdown.clone(),
            drain,
        ),
    );
    // Whichever server ended first (an error), stop the rest too.
    shutdown.cancel();
    let _ = relay.await;
    for (task, handle) in tasks {
        if let Ok(Err(e)) = handle.await {
            tracing::warn!(service = name, task = %task, error = %e, "task stopped with an error");
        }
    }
    http?;
    grpc?;
    tracing::info!("{name} stopped");
    Ok(())
}
