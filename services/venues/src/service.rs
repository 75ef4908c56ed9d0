//! The venues operations, shared by the GraphQL and gRPC front doors.

use sea_orm::{DatabaseConnection, TransactionTrait};
use tongxin_platform::auth::Principal;
use tongxin_platform::db::{DbError, classify};
use tongxin_platform::events::outbox::{self, OutboxWaker};
use tongxin_platform::geo::Coordinates;
use uuid::Uuid;

use crate::domain::org::{self, OrgUnitId, UnitCode, UnitKind, UnitName};
use crate::error::VenuesError;
use crate::events;
use crate::store::org_units::{self, OrgUnit};

mod activity;
mod venue;
pub use activity::{ActivitiesWanted, ActivityPage, NewActivity, ThemeCounts};
pub use venue::{NewVenue, VenuePatch};

/// Input for a new unit, before parsing.
#[derive(Debug, Clone)]
pub struct NewUnit {
    /// Level.
    pub kind: UnitKind,
    /// Display name.
    pub name: String,
    /// Path segment.
    pub code: String,
    /// Parent unit id (text), absent for a center.
    pub parent_id: Option<String>,
    /// Latitude.
    pub lat: f64,
    /// Longitude.
    pub lon: f64,
}

/// The venues service's operations over its database.
#[derive(Clone)]
pub struct Venues {
    db: DatabaseConnection,
    waker: OutboxWaker,
}

/// The page size when the caller gives none, and the most a caller may ask for.
pub const DEFAULT_PAGE: u64 = 100;
/// See [`DEFAULT_PAGE`].
pub const MAX_PAGE: u64 = 1000;

impl Venues {
    /// Operations over `db`, waking the outbox relay through `waker` after each commit.
    pub fn new(db: DatabaseConnection, waker: OutboxWaker) -> Self {
        Self { db, waker }
    }

    /// The database, for loaders.
    pub fn db(&self) -> &DatabaseConnection {
        &self.db
    }

    /// Adds a unit to the tree and publishes `tongxin.venues.unit_created` with it.
    #[tracing::instrument(skip(self, actor, input), fields(actor = %actor.subject, kind = input.kind.as_str()))]
    pub async fn create_unit(
        &self,
        actor: &Principal,
        input: NewUnit,
    ) -> Result<OrgUnit, VenuesError> {
        // Parse everything before touching the database: bad input stores nothing.
        let name = UnitName::parse(&input.name)?;
        let code = UnitCode::parse(&input.code)?;
        let location =
            Coordinates::parse(input.lat, input.lon).map_err(crate::domain::DomainError::from)?;
        let parent_id = input
            .parent_id
            .as_deref()
            .map(|p| OrgUnitId::parse(p, "parentId"))
            .transpose()?;

        let txn = self.db.begin().await.map_err(classify)?;
        let parent = match parent_id {
            Some(id) => Some(org_units::get(&txn, id).await?.ok_or_else(|| {
                VenuesError::NotFound(format!("parent unit {id} does not exist"))
            })?),
            None => None,
        };
        let parent_facts = parent.as_ref().map(OrgUnit::as_parent);
        let actor_scope = match actor.unit {
            Some(unit) => org_units::get(&txn, OrgUnitId(unit)).await?.map(|u| u.path),
            None => None,
        };
        org::may_create(actor, actor_scope.as_deref(), parent_facts.as_ref())?;
        let path = org::place(input.kind, &code, parent_facts.as_ref())?;
        let unit = OrgUnit {
            id: OrgUnitId(Uuid::now_v7()),
            kind: input.kind,
            name: name.as_str().to_owned(),
            code: code.as_str().to_owned(),
            district: org::district_of(&path).to_owned(),
            path,
            parent_id,
            location,
        };
        org_units::insert(&txn, &unit, &actor.subject)
            .await
            .map_err(|e| match e {
                DbError::Conflict(_) => {
                    VenuesError::Conflict(format!("a unit with path {} already exists", unit.path))
                }
                other => other.into(),
            })?;
        outbox::enqueue(
            &txn,
            events::UNIT_CREATED,
            events::SOURCE,
            events::unit_created(&unit, &actor.subject),
        )
        .await?;
        txn.commit().await.map_err(classify)?;
        self.waker.wake();
        tracing::info!(unit_id = %unit.id, path = %unit.path, "unit created");
        Ok(unit)
    }

    /// One unit.
    pub async fn unit(&self, id: OrgUnitId) -> Result<Option<OrgUnit>, VenuesError> {
        Ok(org_units::get(&self.db, id).await?)
    }

    /// A unit that must exist.
    pub async fn existing_unit(&self, id: OrgUnitId) -> Result<OrgUnit, VenuesError> {
        self.unit(id)
            .await?
            .ok_or_else(|| VenuesError::NotFound(format!("unit {id} does not exist")))
    }

    /// A page of children after the path `after`; `first` is clamped to [`MAX_PAGE`].
    /// Returns the page and whether more follow.
    pub async fn children(
        &self,
        parent: OrgUnitId,
        after: Option<&str>,
        first: Option<u64>,
    ) -> Result<(Vec<OrgUnit>, bool), VenuesError> {
        let limit = first.unwrap_or(DEFAULT_PAGE).clamp(1, MAX_PAGE);
        let mut rows = org_units::children(&self.db, parent, after, limit + 1).await?;
        let more = rows.len() as u64 > limit;
        rows.truncate(limit as usize);
        Ok((rows, more))
    }
}
