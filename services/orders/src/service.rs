//! The orders operations, shared by the GraphQL and gRPC front doors and the scheduler.
//!
//! Who sees what (decided here, once; who may *move* an order is [`crate::domain::machine`]):
//! - the citizen who placed an order sees it with the phone in full;
//! - staff see orders held by a unit in their scope or routed from a unit in their scope
//!   (the courtyard keeps sight of what it passed up); the phone is in full when their scope
//!   covers the holding unit, masked otherwise;
//! - a volunteer sees orders dispatched to them or accepted by them; the phone only once
//!   they accepted (a volunteer who declined keeps a masked view);
//! - anyone else is told the order does not exist.
//!
//! A staff scope is the path of the principal's `unit`, looked up in `known_units`; on a miss
//! venues `GetUnit` is asked and the answer remembered. A volunteer is the record the
//! volunteers service links to the principal's account (see [`identity`]).

mod assignees;
mod behalf;
pub mod clock;
mod evaluation;
mod identity;
mod live;
mod menu;
mod metrics;
mod moves;
mod notices;
mod place;
mod read;
pub mod scheduler;

use std::sync::Arc;

use sea_orm::DatabaseConnection;
use tongxin_platform::auth::{Principal, ServiceTokens};
use tongxin_platform::events::outbox::OutboxWaker;
use tongxin_platform::pii::{Phone, PiiCipher};

use crate::domain::order::Order;
use crate::domain::scope::UnitPath;
use crate::domain::{DomainError, OrderState, VolunteerId};
use crate::error::OrdersError;
use crate::grpc::clients::{LegalAidClient, VenuesClient, VolunteersClient};
use crate::grpc::evaluation_sources::EvaluationSources;
use crate::service::clock::Clock;
use crate::settings::OrdersSettings;
use crate::store::known_units;

pub use behalf::{ON_BEHALF_PREFIX, OnBehalfOrder, REPLY_WINDOW_HOURS, ResidentReply};
pub use evaluation::{EvaluationRanking, Published, UnitEvaluation};
pub use identity::VolunteerLink;
pub use live::{LiveHub, Progress};
pub use moves::Move;
pub(crate) use moves::MoveActor;
pub use place::NewOrder;
pub use read::{OrderFilter, TimelineEntry};

/// The page size when the caller gives none, and the most a caller may ask for.
pub const DEFAULT_PAGE: u64 = 50;
/// See [`DEFAULT_PAGE`].
pub const MAX_PAGE: u64 = 500;

/// Who is asking, resolved once per request.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The principal.
    pub principal: Principal,
    /// The staff scope path, when staff and their unit is known.
    pub scope: Option<UnitPath>,
    /// The volunteer the principal acts as.
    pub volunteer: VolunteerLink,
}

impl Caller {
    /// The volunteer id a volunteer principal acts as (the record linked to their account).
    pub fn volunteer_id(&self) -> Option<VolunteerId> {
        self.volunteer.id()
    }

    fn is_staff(&self) -> bool {
        self.principal.is_staff()
    }
}

/// An order as one caller may see it.
#[derive(Debug, Clone)]
pub struct OrderView {
    /// The order (its phone ciphertext is never shown).
    pub order: Order,
    /// The contact phone, full or masked for this caller.
    pub phone: String,
    /// Whether `phone` is masked.
    pub phone_masked: bool,
    /// The name of the resident the order was filed for, full or masked as `phone`.
    pub resident_name: Option<String>,
}

impl OrderView {
    /// Where it stands.
    pub fn state(&self) -> OrderState {
        self.order.state
    }
}

#[derive(Clone)]
struct Deps {
    venues: VenuesClient,
    volunteers: VolunteersClient,
    legal_aid: LegalAidClient,
    evaluation: EvaluationSources,
}

/// The orders operations over their database.
#[derive(Clone)]
pub struct Orders {
    db: DatabaseConnection,
    waker: OutboxWaker,
    cipher: Arc<PiiCipher>,
    settings: Arc<OrdersSettings>,
    deps: Deps,
    links: Arc<identity::LinkCache>,
    clock: Clock,
    /// The one watch of the bus behind every live feed (none: subscriptions are unavailable).
    live: Option<LiveHub>,
}

impl Orders {
    /// Operations over `db`, calling venues and volunteers as `settings` says; `service` is
    /// orders' own credential for the routing lookups.
    pub fn new(
        db: DatabaseConnection,
        waker: OutboxWaker,
        cipher: PiiCipher,
        settings: &OrdersSettings,
        service: ServiceTokens,
    ) -> anyhow::Result<Self> {
        let timeout = std::time::Duration::from_millis(settings.rpc_timeout_ms);
        Ok(Self {
            db,
            waker,
            cipher: Arc::new(cipher),
            settings: Arc::new(settings.clone()),
            deps: Deps {
                evaluation: EvaluationSources::new(
                    &settings.volunteers_url,
                    timeout,
                    service.clone(),
                )?,
                venues: VenuesClient::new(&settings.venues_url, timeout, service)?,
                volunteers: VolunteersClient::new(&settings.volunteers_url, timeout)?,
                legal_aid: LegalAidClient::new(&settings.legal_aid_url, timeout)?,
            },
            links: Arc::new(identity::link_cache()),
            clock: Clock::system(),
            live: None,
        })
    }

    /// The same operations reading the time from `clock`.
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// The same operations with live feeds (`orderProgress`, `unitInbox`) from `bus`.
    pub fn with_live(mut self, bus: tongxin_platform::events::SharedBus) -> Self {
        self.live = Some(LiveHub::new(bus));
        self
    }

    /// The watch behind the live feeds, if there are any (tests count its feeds).
    pub fn live(&self) -> Option<&LiveHub> {
        self.live.as_ref()
    }

    /// Now, by the service's clock.
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.clock.now()
    }

    /// Wakes the outbox relay after a commit made outside these operations (scheduler).
    pub fn wake_relay(&self) {
        self.waker.wake();
    }

    /// The PII cipher contact phones are sealed with (the district loader seals as
    /// placement does).
    pub(crate) fn cipher(&self) -> &PiiCipher {
        &self.cipher
    }

    /// The database (loaders, tests).
    pub fn db(&self) -> &DatabaseConnection {
        &self.db
    }

    /// Records a unit (seeding, tests; otherwise learnt from routing and events).
    pub async fn remember_unit(
        &self,
        id: uuid::Uuid,
        path: &str,
        level: crate::domain::Level,
    ) -> Result<(), OrdersError> {
        let path = UnitPath::parse(path)?;
        known_units::remember(&self.db, id, path.as_str(), Some(level)).await?;
        Ok(())
    }

    /// Resolves a principal into what the rules need.
    pub async fn caller(&self, principal: Option<&Principal>) -> Result<Caller, OrdersError> {
        let principal = principal.ok_or(OrdersError::Unauthenticated)?.clone();
        let scope = match (principal.is_staff(), principal.unit) {
            (true, Some(unit)) => self.unit_path(unit).await?,
            _ => None,
        };
        let volunteer = self.volunteer_link(&principal).await;
        Ok(Caller {
            principal,
            scope,
            volunteer,
        })
    }

    async fn unit_path(&self, unit: uuid::Uuid) -> Result<Option<UnitPath>, OrdersError> {
        if let Some(known) = known_units::get(&self.db, unit).await? {
            return Ok(UnitPath::parse(&known.path).ok());
        }
        match self.deps.venues.unit(unit).await {
            Ok(Some(u)) => {
                known_units::remember(&self.db, u.id, &u.path, Some(u.level)).await?;
                Ok(UnitPath::parse(&u.path).ok())
            }
            Ok(None) => Ok(None),
            Err(e) => {
                tracing::warn!(error = %e, %unit, "cannot resolve a staff unit: no scope");
                Ok(None)
            }
        }
    }

    /// The view of an order for `caller`, or NOT_FOUND if they may not see it.
    pub fn view(&self, caller: &Caller, order: Order) -> Result<OrderView, OrdersError> {
        let sight = Self::sight(caller, &order)?;
        let phone = Phone::parse(&self.cipher.decrypt(&order.phone_cipher)?)?;
        let full = sight == Sight::Full;
        let resident_name = match &order.intake.resident {
            Some(r) => {
                let name = self.cipher.decrypt(&r.name_cipher)?;
                Some(if full {
                    name
                } else {
                    crate::domain::intake::mask_name(&name)
                })
            }
            None => None,
        };
        Ok(OrderView {
            resident_name,
            phone: if full {
                phone.expose().to_owned()
            } else {
                phone.masked()
            },
            phone_masked: !full,
            order,
        })
    }

    /// How much of `order` the caller sees; NOT_FOUND when nothing. Every path that names
    /// an order by id asks this first, moves included: someone who may not see an order
    /// learns nothing about it, not even that it exists, whatever they try to do with it.
    pub(crate) fn sight(caller: &Caller, order: &Order) -> Result<Sight, OrdersError> {
        let owner = caller.principal.subject == order.citizen;
        let holding_in_scope = caller
            .scope
            .as_ref()
            .is_some_and(|s| caller.is_staff() && s.covers(&order.holding_unit().path));
        let routed_in_scope = caller
            .scope
            .as_ref()
            .is_some_and(|s| caller.is_staff() && s.covers(&order.route.routed_unit().path));
        let volunteer = caller.volunteer_id();
        let accepted = volunteer.is_some_and(|v| order.accepted.contains(&v));
        // Who declined keeps sight of the order (masked), so the decline's answer is theirs.
        let dispatched =
            volunteer.is_some_and(|v| order.dispatched.contains(&v) || order.declined.contains(&v));
        if owner || holding_in_scope || accepted {
            return Ok(Sight::Full);
        }
        if routed_in_scope || dispatched {
            return Ok(Sight::Masked);
        }
        // Not knowing who the volunteer is must not read as "no such order".
        if let VolunteerLink::Unknown(cause) = &caller.volunteer {
            return Err(OrdersError::Unavailable(format!(
                "volunteers GetVolunteerBySubject: {cause}"
            )));
        }
        Err(DomainError::NotFound("no such order".to_owned()).into())
    }
}

/// How much of an order a caller sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sight {
    /// Everything: the citizen who placed it, staff whose scope covers the unit holding it,
    /// the volunteers who accepted it.
    Full,
    /// With the contact phone masked: staff of the courtyard it was routed to (after it
    /// moved up), volunteers it was dispatched to (or who declined it).
    Masked,
}

/// A move actor for callers outside a request (the scheduler).
pub(crate) fn moves_actor<'a>(
    actor: crate::domain::machine::Actor<'a>,
    subject: &'a str,
) -> MoveActor<'a> {
    MoveActor { actor, subject }
}
