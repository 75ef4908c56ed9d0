//! Building and running the volunteers service: `App::build(settings)` then
//! `run_until_stopped(shutdown)`, like every Tongxin service.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use sea_orm::DatabaseConnection;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tongxin_platform::auth::Verifier;
use tongxin_platform::config::CommonSettings;
use tongxin_platform::events::outbox::OutboxRelay;
use tongxin_platform::events::{ConsumerSpec, SharedBus};
use tongxin_platform::health::{self, Readiness};

use crate::graphql::{self, VolunteersSchema};
use crate::migration::Migrator;
use crate::service::Volunteers;
use crate::settings::VolunteersSettings;

/// What the process shares between its services.
#[derive(Clone)]
pub struct Shared {
    /// The event bus.
    pub bus: SharedBus,
    /// Token verification.
    pub verifier: Arc<Verifier>,
}

/// A built, bound, not yet running volunteers service.
pub struct App {
    http: TcpListener,
    grpc: TcpListener,
    db: DatabaseConnection,
    bus: SharedBus,
    relay: OutboxRelay,
    schema: VolunteersSchema,
    volunteers: Volunteers,
    verifier: Arc<Verifier>,
    drain: Duration,
    units: ConsumerSpec,
    max_deliver: i64,
    orders: ConsumerSpec,
}

impl App {
    /// Checks the PII keys, connects and migrates the database, binds both listeners (port
    /// 0 picks a free one).
    pub async fn build(
        settings: &VolunteersSettings,
        common: &CommonSettings,
        shared: Shared,
    ) -> anyhow::Result<Self> {
        // Before anything else: a service without usable keys must not start.
        let cipher = settings
            .pii
            .cipher()
            .map_err(|e| anyhow::anyhow!("volunteers.{e}"))?;
        let db = tongxin_platform::db::connect_and_migrate::<Migrator>(&settings.database).await?;
        let relay = OutboxRelay::new(
            db.clone(),
            shared.bus.clone(),
            common.events.relay_batch,
            Duration::from_millis(common.events.relay_interval_ms),
        );
        let volunteers = Volunteers::new(db.clone(), relay.waker(), cipher);
        let loaded = volunteers.matcher().refresh(&db).await?;
        tracing::info!(volunteers = loaded, "candidate index loaded");
        let schema = graphql::schema(volunteers.clone());
        Ok(Self {
            http: TcpListener::bind(settings.http_addr).await?,
            grpc: TcpListener::bind(settings.grpc_addr).await?,
            db,
            bus: shared.bus,
            relay,
            schema,
            volunteers,
            verifier: shared.verifier,
            drain: common.shutdown_timeout(),
            units: ConsumerSpec {
                name: crate::events::UNITS_CONSUMER.to_owned(),
                filter: crate::events::UNITS_FILTER.to_owned(),
                max_deliver: common.events.max_deliver,
                ack_wait: Duration::from_secs(30),
            },
            max_deliver: common.events.max_deliver,
            orders: ConsumerSpec {
                name: crate::events::consumers::orders::CONSUMER.to_owned(),
                filter: crate::events::consumers::orders::FILTER.to_owned(),
                max_deliver: common.events.max_deliver,
                ack_wait: Duration::from_secs(30),
            },
        })
    }

    /// Where GraphQL, health and metrics are served.
    pub fn http_addr(&self) -> SocketAddr {
        self.http
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)))
    }

    /// Where gRPC is served.
    pub fn grpc_addr(&self) -> SocketAddr {
        self.grpc
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)))
    }

    /// The service's database (for seeding and tests).
    pub fn db(&self) -> &DatabaseConnection {
        &self.db
    }

    /// The operations (for seeding and tests).
    pub fn volunteers(&self) -> &Volunteers {
        &self.volunteers
    }

    /// Serves HTTP and gRPC and relays the outbox until `shutdown`, then drains.
    pub async fn run_until_stopped(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let http_router = tongxin_platform::graphql::router(self.schema, self.verifier.clone())
            .merge(health::routes(Readiness {
                db: self.db.clone(),
                bus: self.bus.clone(),
            }))
            .merge(crate::http::proof::routes(
                self.volunteers.clone(),
                self.verifier,
            ));
        let routes =
            tonic::service::Routes::new(crate::grpc::volunteer_service(self.volunteers.clone()));
        tracing::info!(http = %self.http.local_addr()?, grpc = %self.grpc.local_addr()?, "volunteers listening");
        let relay = tokio::spawn(self.relay.run(shutdown.clone()));
        let units = tokio::spawn(tongxin_platform::events::consumer::run_consumer(
            self.db.clone(),
            self.bus.clone(),
            self.units,
            Arc::new(tongxin_platform::org::consumer::KnownUnitsConsumer::new(
                crate::events::UnitsHook,
            )),
            shutdown.clone(),
        ));
        let credit = crate::events::consumers::ledger::spawn_consumers(
            &self.db,
            &self.bus,
            self.max_deliver,
            self.volunteers.waker(),
            &shutdown,
        );
        let orders = tokio::spawn(tongxin_platform::events::consumer::run_consumer(
            self.db.clone(),
            self.bus.clone(),
            self.orders,
            Arc::new(crate::events::consumers::orders::OrderLoadHandler),
            shutdown.clone(),
        ));
        let refresh = tokio::spawn(
            self.volunteers
                .matcher()
                .clone()
                .run_refresh(self.db.clone(), shutdown.clone()),
        );
        let (http, grpc) = tokio::join!(
            health::serve_http(http_router, self.http, shutdown.clone(), self.drain),
            tongxin_platform::grpc::serve(
                routes,
                self.grpc,
                tongxin_proto::FILE_DESCRIPTOR_SET,
                crate::grpc::SERVICE_NAMES,
                shutdown.clone(),
                self.drain,
            ),
        );
        shutdown.cancel();
        let _ = relay.await;
        if let Ok(Err(e)) = units.await {
            tracing::warn!(error = %e, "known-units consumer stopped with an error");
        }
        for consumer in credit {
            if let Ok(Err(e)) = consumer.await {
                tracing::warn!(error = %e, "hours-crediting consumer stopped with an error");
            }
        }
        if let Ok(Err(e)) = orders.await {
            tracing::warn!(error = %e, "order-load consumer stopped with an error");
        }
        let _ = refresh.await;
        http?;
        grpc?;
        tracing::info!("volunteers stopped");
        Ok(())
    }
}

/// Brings a database up to date without starting the service (`tongxin migrate`).
pub async fn migrate(settings: &VolunteersSettings) -> anyhow::Result<()> {
    tongxin_platform::db::connect_and_migrate::<Migrator>(&settings.database).await?;
    Ok(())
}
