//! Building and running the orders service: `App::build(settings)` then
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

use crate::graphql::{self, OrdersSchema};
use crate::migration::Migrator;
use crate::service::Orders;
use crate::service::clock::Clock;
use crate::service::scheduler::Scheduler;
use crate::settings::OrdersSettings;

/// What the process shares between its services.
#[derive(Clone)]
pub struct Shared {
    /// The event bus.
    pub bus: SharedBus,
    /// Token verification.
    pub verifier: Arc<Verifier>,
}

/// A built, bound, not yet running orders service.
pub struct App {
    http: TcpListener,
    grpc: TcpListener,
    db: DatabaseConnection,
    bus: SharedBus,
    relay: OutboxRelay,
    schema: OrdersSchema,
    orders: Orders,
    scheduler: Option<Scheduler>,
    verifier: Arc<Verifier>,
    drain: Duration,
    units: ConsumerSpec,
}

impl App {
    /// Checks the PII key, connects and migrates the database, binds both listeners.
    pub async fn build(
        settings: &OrdersSettings,
        common: &CommonSettings,
        shared: Shared,
    ) -> anyhow::Result<Self> {
        Self::build_with_clock(settings, common, shared, Clock::system()).await
    }

    /// [`App::build`] with the service reading the time from `clock` (tests).
    pub async fn build_with_clock(
        settings: &OrdersSettings,
        common: &CommonSettings,
        shared: Shared,
        clock: Clock,
    ) -> anyhow::Result<Self> {
        let cipher = settings.cipher()?;
        let db = tongxin_platform::db::connect_and_migrate::<Migrator>(&settings.database).await?;
        let relay = OutboxRelay::new(
            db.clone(),
            shared.bus.clone(),
            common.events.relay_batch,
            Duration::from_millis(common.events.relay_interval_ms),
        );
        let orders = Orders::new(db.clone(), relay.waker(), cipher, settings)?.with_clock(clock);
        let schema = graphql::schema(orders.clone(), shared.bus.clone());
        let scheduler = settings.scheduler.enabled.then(|| {
            Scheduler::new(
                orders.clone(),
                Duration::from_millis(settings.scheduler.interval_ms),
                settings.scheduler.batch,
            )
        });
        Ok(Self {
            http: TcpListener::bind(settings.http_addr).await?,
            grpc: TcpListener::bind(settings.grpc_addr).await?,
            db,
            bus: shared.bus,
            relay,
            schema,
            orders,
            scheduler,
            verifier: shared.verifier,
            drain: common.shutdown_timeout(),
            units: ConsumerSpec {
                name: crate::events::UNITS_CONSUMER.to_owned(),
                filter: crate::events::UNITS_FILTER.to_owned(),
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

    /// The service's database (seeding, tests).
    pub fn db(&self) -> &DatabaseConnection {
        &self.db
    }

    /// The operations (seeding, tests).
    pub fn orders(&self) -> &Orders {
        &self.orders
    }

    /// Serves HTTP and gRPC, relays the outbox, follows the venues unit events and runs the
    /// deadline scheduler until `shutdown`, then drains.
    pub async fn run_until_stopped(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let csv = crate::http::metrics_csv::routes(self.orders.clone(), self.verifier.clone());
        let http_router = tongxin_platform::graphql::router(self.schema, self.verifier).merge(
            health::routes(Readiness {
                db: self.db.clone(),
                bus: self.bus.clone(),
            }),
        );
        let http_router = http_router.merge(csv);
        let routes = tonic::service::Routes::new(crate::grpc::order_service(self.orders.clone()));
        tracing::info!(http = %self.http.local_addr()?, grpc = %self.grpc.local_addr()?, "orders listening");
        let relay = tokio::spawn(self.relay.run(shutdown.clone()));
        let units = tokio::spawn(tongxin_platform::events::consumer::run_consumer(
            self.db.clone(),
            self.bus.clone(),
            self.units,
            Arc::new(
                tongxin_platform::org::consumer::KnownUnitsConsumer::new(()).level_required(),
            ),
            shutdown.clone(),
        ));
        let scheduler = self
            .scheduler
            .map(|s| tokio::spawn(s.run(shutdown.clone())));
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
        if let Some(s) = scheduler {
            let _ = s.await;
        }
        if let Ok(Err(e)) = units.await {
            tracing::warn!(error = %e, "known-units consumer stopped with an error");
        }
        http?;
        grpc?;
        tracing::info!("orders stopped");
        Ok(())
    }
}

/// Brings a database up to date without starting the service (`tongxin migrate`).
pub async fn migrate(settings: &OrdersSettings) -> anyhow::Result<()> {
    tongxin_platform::db::connect_and_migrate::<Migrator>(&settings.database).await?;
    Ok(())
}
