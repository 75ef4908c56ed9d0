//! The orders service's entry in the service registry ([`tongxin_platform::registry`]):
//! its settings (phone key, venues/volunteers gRPC URLs, districts, scheduler), migrations,
//! state, subgraph and CSV export routes, gRPC routes, the known-units consumer and the
//! deadline scheduler. It depends on venues (routing) and volunteers (dispatch): started
//! beside them, it calls their in-process addresses. Connecting, the outbox relay, serving,
//! health and draining are the platform's.

use std::time::Duration;

use anyhow::Context as _;
use async_trait::async_trait;
use tongxin_platform::pii::{PiiCipher, SealedColumns};
use tongxin_platform::registry::{Context, Grpc, Hook, Parts, Placement, Service, Task};

use crate::migration::Migrator;
use crate::service::Orders;
use crate::service::clock::Clock;
use crate::service::scheduler::Scheduler;
use crate::settings::OrdersSettings;

/// The service's name: on the command line, in the registry, its settings section.
pub const NAME: &str = "orders";

/// The columns holding sealed personal data (the contact phone of each order, the name of a
/// resident an order was filed for), for `tongxin reseal`.
pub const SEALED: &[SealedColumns] = &[SealedColumns {
    table: "orders",
    columns: &["phone_cipher", "resident_name_cipher"],
}];

/// The orders service as a registry module; its state is [`Orders`].
pub struct OrdersModule {
    settings: OrdersSettings,
    clock: Clock,
}

impl OrdersModule {
    /// The module configured by the `[orders]` section, reading the system clock.
    pub fn new(settings: OrdersSettings) -> Self {
        Self {
            settings,
            clock: Clock::system(),
        }
    }

    /// The service reads the time from `clock` (tests).
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }
}

#[async_trait]
impl Service for OrdersModule {
    const NAME: &'static str = NAME;
    type Migrator = Migrator;

    /// Legal aid first, so that in one process orders calls its in-process address (the
    /// station of a legal order); legal aid never calls orders (it learns what it needs from
    /// the order events), so there is no cycle.
    const DEPS: &'static [&'static str] = &["venues", "volunteers", "legal-aid"];

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
        let mut settings = self.settings.clone();
        if let Some(url) = ctx.peer_grpc_url("venues") {
            settings.venues_url = url;
        }
        if let Some(url) = ctx.peer_grpc_url("volunteers") {
            settings.volunteers_url = url;
        }
        if let Some(url) = ctx.peer_grpc_url("legal-aid") {
            settings.legal_aid_url = url;
        }
        let cipher = settings.cipher()?;
        let orders = Orders::new(
            ctx.db.clone(),
            ctx.outbox.clone(),
            cipher,
            &settings,
            ctx.service_tokens()?,
        )?
        .with_clock(self.clock.clone())
        .with_live(ctx.bus.clone());
        let schema = crate::graphql::schema(orders.clone());
        let http = tongxin_platform::graphql::router(schema, ctx.verifier.clone()).merge(
            crate::http::metrics_csv::routes(orders.clone(), ctx.verifier.clone()).merge(
                crate::http::evaluation_csv::routes(orders.clone(), ctx.verifier.clone()),
            ),
        );
        let grpc = Grpc {
            routes: tonic::service::Routes::new(crate::grpc::order_service(orders.clone())),
            descriptor: tongxin_proto::FILE_DESCRIPTOR_SET,
            service_names: crate::grpc::SERVICE_NAMES,
        };
        let units = ctx.consumer_spec(crate::events::UNITS_CONSUMER, crate::events::UNITS_FILTER);
        let mut parts = Parts::new(orders.clone(), http, grpc).task(Task::consumer(
            ctx,
            units,
            tongxin_platform::org::consumer::KnownUnitsConsumer::new(()).level_required(),
        ));
        use crate::events::consumers::legal_aid;
        let visits = ctx.consumer_spec(legal_aid::CONSUMER, legal_aid::FILTER);
        parts = parts.task(Task::consumer(
            ctx,
            visits,
            legal_aid::LegalAidVisits(orders.clone()),
        ));
        use crate::events::consumers::cadence;
        let misses = ctx.consumer_spec(cadence::CONSUMER, cadence::FILTER);
        parts = parts.task(Task::consumer(
            ctx,
            misses,
            cadence::CadenceMisses(orders.clone()),
        ));
        use crate::events::forget::{CHANGES_A_CHAIN, ENDS_A_LINK, forget_on};
        let (watcher, bus) = (orders.clone(), ctx.bus.clone());
        parts = parts.task(Task::new("volunteer-unlink-watch", move |stop| {
            forget_on(ENDS_A_LINK, move || watcher.forget_links(), bus, stop)
        }));
        let (watcher, bus) = (orders.clone(), ctx.bus.clone());
        parts = parts.task(Task::new("unit-move-watch", move |stop| {
            forget_on(CHANGES_A_CHAIN, move || watcher.forget_chains(), bus, stop)
        }));
        if settings.scheduler.enabled {
            let scheduler = Scheduler::new(
                orders,
                Duration::from_millis(settings.scheduler.interval_ms),
                settings.scheduler.batch,
            );
            parts = parts.task(Task::new("deadline-scheduler", move |stop| async move {
                scheduler.run(stop).await;
                Ok(())
            }));
        }
        Ok(parts)
    }
}

/// A start hook giving the orders service the demo service menu (the tests, tests/e2e, the
/// benches).
pub fn seed_menu() -> Hook {
    Hook::after(NAME, |started| async move {
        let orders: &Orders = started.state(NAME).context("orders is not running")?;
        crate::demo::seed_menu(orders)
            .await
            .map_err(|e| anyhow::anyhow!("seeding the service menu: {e:?}"))?;
        Ok(())
    })
}
