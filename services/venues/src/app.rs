//! The venues service's entry in the service registry
//! ([`tongxin_platform::registry`]): its settings, migrations, state, subgraph and gRPC
//! routes. Connecting, the outbox relay, serving, health and draining are the platform's.

use anyhow::Context as _;
use async_trait::async_trait;
use std::time::Duration;
use tongxin_platform::pii::{PiiCipher, SealedColumns};

use tongxin_platform::registry::{Context, Grpc, Hook, Parts, Placement, Service, Task};

use crate::migration::Migrator;
use crate::service::Venues;
use crate::settings::VenuesSettings;

/// The service's name: on the command line, in the registry, its settings section.
pub const NAME: &str = "venues";

/// The columns holding sealed personal data (the unit contacts' phones; visits' points,
/// notes and needs heard), for `tongxin reseal`.
pub const SEALED: &[SealedColumns] = &[
    SealedColumns {
        table: "unit_contacts",
        columns: &["phone_cipher"],
    },
    SealedColumns {
        table: "visits",
        columns: &["point_cipher", "notes_cipher", "needs_cipher"],
    },
];

/// The venues service as a registry module; its state is [`Venues`].
pub struct VenuesModule {
    settings: VenuesSettings,
}

impl VenuesModule {
    /// The module configured by the `[venues]` section.
    pub fn new(settings: VenuesSettings) -> Self {
        Self { settings }
    }
}

#[async_trait]
impl Service for VenuesModule {
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
        self.settings.cipher().map(drop)
    }

    fn sdl(&self) -> String {
        crate::graphql::sdl()
    }

    fn sealed(&self) -> anyhow::Result<Option<(PiiCipher, &'static [SealedColumns])>> {
        Ok(Some((self.settings.cipher()?, SEALED)))
    }

    async fn init(&self, ctx: &Context) -> anyhow::Result<Parts> {
        let cipher = self.settings.cipher()?;
        // Contacts stored before phones were sealed are sealed now, before anyone reads them.
        let sealed = crate::store::contacts::seal_clear_phones(&ctx.db, &cipher)
            .await
            .context("sealing unit contacts' phones")?;
        if sealed > 0 {
            tracing::info!(sealed, "unit contacts' phones sealed at rest");
        }
        let venues = Venues::new(ctx.db.clone(), ctx.outbox.clone()).with_contact_cipher(cipher);
        let schema = crate::graphql::schema(venues.clone(), ctx.bus.clone());
        let http = tongxin_platform::graphql::router(schema, ctx.verifier.clone());
        let routes = tonic::service::Routes::new(crate::grpc::org_service(venues.clone()))
            .add_service(crate::grpc::venue_service(venues.clone()))
            .add_service(crate::grpc::rhythm::rhythm_service(venues.clone()));
        let grpc = Grpc {
            routes,
            descriptor: tongxin_proto::FILE_DESCRIPTOR_SET,
            service_names: crate::grpc::SERVICE_NAMES,
        };
        let mut parts = Parts::new(venues.clone(), http, grpc);
        let settings = &self.settings.scheduler;
        if settings.enabled {
            let scheduler = crate::service::scheduler::Scheduler::new(
                venues,
                Duration::from_millis(settings.interval_ms),
                settings.lookback_weeks,
                settings.lookback_months,
            );
            parts = parts.task(Task::new("cadence-scheduler", move |stop| async move {
                scheduler.run(stop).await;
                Ok(())
            }));
        }
        Ok(parts)
    }
}

/// A start hook seeding the demo district's org tree (the tests, tests/e2e, the benches).
pub fn seed_demo_tree() -> Hook {
    Hook::after(NAME, |started| async move {
        let venues = started.get(NAME).context("venues is not running")?;
        crate::demo::seed(venues.db()).await?;
        Ok(())
    })
}
