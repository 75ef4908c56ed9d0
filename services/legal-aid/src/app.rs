//! The legal-aid service's entry in the service registry ([`tongxin_platform::registry`]):
//! its settings (the PII key), migrations, state, subgraph, gRPC routes, the known-units
//! consumer, the consumer of the orders dispatched to a station, and the reminder scheduler. It starts after venues when both run in one process (staff scopes are venues'
//! units). Connecting, the outbox relay, serving, health and draining are the platform's.

use anyhow::Context as _;
use async_trait::async_trait;
use tongxin_platform::pii::{PiiCipher, SealedColumns};
use tongxin_platform::registry::{Context, Grpc, Hook, Parts, Placement, Service, Task};

use crate::migration::Migrator;
use crate::service::LegalAid;
use crate::service::clock::Clock;
use crate::settings::LegalAidSettings;

/// The service's name: on the command line, in the registry, its settings section
/// (`legal_aid` in tongxin.toml, since TOML keys and environment names cannot hold a dash).
pub const NAME: &str = "legal-aid";

/// The columns holding sealed personal data (each appointment's topic, party names and phone), for `tongxin reseal`.
pub const SEALED: &[SealedColumns] = &[SealedColumns {
    table: "appointments",
    columns: &["topic_cipher", "parties_cipher", "phone_cipher"],
}];

/// The legal-aid service as a registry module; its state is [`LegalAid`].
pub struct LegalAidModule {
    settings: LegalAidSettings,
    clock: Clock,
}

impl LegalAidModule {
    /// The module configured by the `[legal_aid]` section, reading the system clock.
    pub fn new(settings: LegalAidSettings) -> Self {
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
impl Service for LegalAidModule {
    const NAME: &'static str = NAME;
    const DEPS: &'static [&'static str] = &["venues"];
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
        let legal_aid = LegalAid::new(ctx.db.clone(), ctx.outbox.clone(), cipher)
            .with_clock(self.clock.clone());
        let schema = crate::graphql::schema(legal_aid.clone());
        let http = tongxin_platform::graphql::router(schema, ctx.verifier.clone())
            .merge(crate::http::routes(legal_aid.clone(), ctx.verifier.clone()));
        let grpc = Grpc {
            routes: tonic::service::Routes::new(crate::grpc::legal_aid_service(legal_aid.clone())),
            descriptor: tongxin_proto::FILE_DESCRIPTOR_SET,
            service_names: crate::grpc::SERVICE_NAMES,
        };
        let units = ctx.consumer_spec(crate::events::UNITS_CONSUMER, crate::events::UNITS_FILTER);
        let interval = std::time::Duration::from_millis(self.settings.reminder_interval_ms);
        let reminders = legal_aid.clone();
        let legal_aid_for_orders = legal_aid.clone();
        Ok(Parts::new(legal_aid, http, grpc)
            .task(Task::consumer(
                ctx,
                units,
                tongxin_platform::org::consumer::KnownUnitsConsumer::new(()),
            ))
            .task(Task::consumer(
                ctx,
                ctx.consumer_spec(
                    crate::events::consumers::orders::CONSUMER,
                    crate::events::consumers::orders::FILTER,
                ),
                crate::events::consumers::orders::OrderRequests(legal_aid_for_orders),
            ))
            .task(Task::new("reminders", move |stop| async move {
                reminders.run_reminders(interval, 200, stop).await;
                Ok(())
            })))
    }
}

/// A start hook seeding the demo stations, providers and roster (`tongxin run`, tests).
pub fn seed_demo() -> Hook {
    Hook::after(NAME, |started| async move {
        let legal_aid: &LegalAid = started.state(NAME).context("legal-aid is not running")?;
        crate::demo::seed(legal_aid)
            .await
            .map_err(|e| anyhow::anyhow!("seeding legal aid: {e:?}"))?;
        Ok(())
    })
}
