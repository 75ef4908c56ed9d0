//! The volunteers service's entry in the service registry
//! ([`tongxin_platform::registry`]): its settings (with the PII keys), migrations, state,
//! subgraph and record-proof routes, gRPC routes, consumers (known units, hours crediting,
//! order load) and the candidate-index refresh. Connecting, the outbox relay, serving,
//! health and draining are the platform's.

use async_trait::async_trait;
use tongxin_platform::pii::{PiiCipher, SealedColumns};
use tongxin_platform::registry::{Context, Grpc, Parts, Placement, Service, Task};

use crate::migration::Migrator;
use crate::service::Volunteers;
use crate::settings::VolunteersSettings;

/// The service's name: on the command line, in the registry, its settings section.
pub const NAME: &str = "volunteers";

/// The columns holding sealed personal data (each volunteer's ID-card number and phone (their keyed hashes stay: the hash key is not rotated)), for `tongxin reseal`.
pub const SEALED: &[SealedColumns] = &[SealedColumns {
    table: "volunteers",
    columns: &["id_card_cipher", "phone_cipher"],
}];

/// The volunteers service as a registry module; its state is [`Volunteers`].
pub struct VolunteersModule {
    settings: VolunteersSettings,
}

impl VolunteersModule {
    /// The module configured by the `[volunteers]` section.
    pub fn new(settings: VolunteersSettings) -> Self {
        Self { settings }
    }
}

#[async_trait]
impl Service for VolunteersModule {
    const NAME: &'static str = NAME;
    type Migrator = Migrator;

    fn placement(&mut self) -> Placement<'_> {
        Placement {
            http_addr: &mut self.settings.http_addr,
            grpc_addr: &mut self.settings.grpc_addr,
            database: &mut self.settings.database,
        }
    }

    fn check(&self) -> anyhow::Result<()> {
        self.settings
            .pii
            .cipher()
            .map(drop)
            .map_err(|e| anyhow::anyhow!("volunteers.{e}"))
    }

    fn sdl(&self) -> String {
        crate::graphql::sdl()
    }

    fn sealed(&self) -> anyhow::Result<Option<(PiiCipher, &'static [SealedColumns])>> {
        let cipher = self
            .settings
            .pii
            .cipher()
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        Ok(Some((cipher.cipher().clone(), SEALED)))
    }

    async fn init(&self, ctx: &Context) -> anyhow::Result<Parts> {
        let cipher = self
            .settings
            .pii
            .cipher()
            .map_err(|e| anyhow::anyhow!("volunteers.{e}"))?;
        let volunteers = Volunteers::new(ctx.db.clone(), ctx.outbox.clone(), cipher);
        let loaded = volunteers.matcher().refresh(&ctx.db).await?;
        tracing::info!(volunteers = loaded, "candidate index loaded");
        let schema = crate::graphql::schema(volunteers.clone());
        let http = tongxin_platform::graphql::router(schema, ctx.verifier.clone()).merge(
            crate::http::proof::routes(volunteers.clone(), ctx.verifier.clone()),
        );
        let grpc = Grpc {
            routes: tonic::service::Routes::new(crate::grpc::volunteer_service(volunteers.clone())),
            descriptor: tongxin_proto::FILE_DESCRIPTOR_SET,
            service_names: crate::grpc::SERVICE_NAMES,
        };
        let units = ctx.consumer_spec(crate::events::UNITS_CONSUMER, crate::events::UNITS_FILTER);
        let orders = ctx.consumer_spec(
            crate::events::consumers::orders::CONSUMER,
            crate::events::consumers::orders::FILTER,
        );
        let (db, bus, waker) = (ctx.db.clone(), ctx.bus.clone(), volunteers.waker().clone());
        let max_deliver = ctx.common.events.max_deliver;
        let crediting = Task::new("hours-crediting", move |stop| async move {
            for consumer in crate::events::consumers::ledger::spawn_consumers(
                &db,
                &bus,
                max_deliver,
                &waker,
                &stop,
            ) {
                if let Ok(Err(e)) = consumer.await {
                    tracing::warn!(error = %e, "hours-crediting consumer stopped with an error");
                }
            }
            Ok(())
        });
        let (matcher, db) = (volunteers.matcher().clone(), ctx.db.clone());
        let refresh = Task::new("candidate-index-refresh", move |stop| async move {
            matcher.run_refresh(db, stop).await;
            Ok(())
        });
        Ok(Parts::new(volunteers, http, grpc)
            .task(Task::consumer(
                ctx,
                units,
                tongxin_platform::org::consumer::KnownUnitsConsumer::new(crate::events::UnitsHook),
            ))
            .task(crediting)
            .task(Task::consumer(
                ctx,
                orders,
                crate::events::consumers::orders::OrderLoadHandler,
            ))
            .task(refresh))
    }
}
