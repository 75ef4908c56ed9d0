//! The venues service's entry in the service registry
//! ([`tongxin_platform::registry`]): its settings, migrations, state, subgraph and gRPC
//! routes. Connecting, the outbox relay, serving, health and draining are the platform's.

use async_trait::async_trait;
use sea_orm::DatabaseConnection;
use tongxin_platform::config::{DatabaseSettings, ServiceSettings};
use tongxin_platform::registry::{Context, Grpc, Module, Parts, Placement};

use crate::migration::Migrator;
use crate::service::Venues;

/// The service's name: on the command line, in the registry, its settings section.
pub const NAME: &str = "venues";

/// The venues service as a registry module; its state is [`Venues`].
pub struct VenuesModule {
    settings: ServiceSettings,
}

impl VenuesModule {
    /// The module configured by the `[venues]` section.
    pub fn new(settings: ServiceSettings) -> Self {
        Self { settings }
    }
}

#[async_trait]
impl Module for VenuesModule {
    fn name(&self) -> &'static str {
        NAME
    }

    fn placement(&mut self) -> Placement<'_> {
        Placement {
            http_addr: &mut self.settings.http_addr,
            grpc_addr: &mut self.settings.grpc_addr,
            database: &mut self.settings.database,
        }
    }

    async fn connect_and_migrate(
        &self,
        database: &DatabaseSettings,
    ) -> anyhow::Result<DatabaseConnection> {
        Ok(tongxin_platform::db::connect_and_migrate::<Migrator>(database).await?)
    }

    fn sdl(&self) -> String {
        crate::graphql::sdl()
    }

    async fn init(&self, ctx: &Context) -> anyhow::Result<Parts> {
        let venues = Venues::new(ctx.db.clone(), ctx.outbox.clone());
        let schema = crate::graphql::schema(venues.clone(), ctx.bus.clone());
        let http = tongxin_platform::graphql::router(schema, ctx.verifier.clone());
        let routes = tonic::service::Routes::new(crate::grpc::org_service(venues.clone()))
            .add_service(crate::grpc::venue_service(venues.clone()));
        let grpc = Grpc {
            routes,
            descriptor: tongxin_proto::FILE_DESCRIPTOR_SET,
            service_names: crate::grpc::SERVICE_NAMES,
        };
        Ok(Parts::new(venues, http, grpc))
    }
}
