//! The venues operations, shared by the GraphQL and gRPC front doors.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use sea_orm::{DatabaseConnection, TransactionTrait};
use tongxin_platform::auth::Principal;
use tongxin_platform::db::{DbError, classify};
use tongxin_platform::events::outbox::{self, OutboxWaker};
use tongxin_platform::geo::Coordinates;
use tongxin_platform::pii::PiiCipher;
use uuid::Uuid;

use crate::domain::org::{self, ContactPhone, OrgUnitId, UnitCode, UnitKind, UnitName};
use crate::error::VenuesError;
use crate::events;
use crate::service::circle::Circle;
use crate::store::contacts;
use crate::store::org_units::{self, OrgUnit};

mod activity;
pub mod circle;
pub mod rhythm;
pub mod scheduler;
mod venue;
pub use activity::{ActivitiesWanted, ActivityPage, MAX_NEAR, NewActivity, ThemeCounts};
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
    circle: Circle,
    /// Batched org-unit loads so far (one per DataLoader batch); tests assert on it.
    unit_loader_batches: Arc<AtomicU64>,
    /// Seals and opens unit contacts' phones; the service module always sets it (tools that
    /// open the database for the circle alone need none).
    contact_cipher: Option<PiiCipher>,
}

/// A unit contact as one caller may see it: the phone in full for staff whose scope
/// covers the unit, otherwise masked (138****1234).
#[derive(Debug, Clone)]
pub struct ContactView {
    /// Id.
    pub id: Uuid,
    /// Person's name.
    pub name: String,
    /// Their duty.
    pub title: String,
    /// The phone, full or masked.
    pub phone: String,
}

/// The page size when the caller gives none, and the most a caller may ask for.
pub const DEFAULT_PAGE: u64 = 100;
/// See [`DEFAULT_PAGE`].
pub const MAX_PAGE: u64 = 1000;

impl Venues {
    /// Operations over `db`, waking the outbox relay through `waker` after each commit.
    pub fn new(db: DatabaseConnection, waker: OutboxWaker) -> Self {
        Self {
            circle: Circle::new(db.clone()),
            db,
            waker,
            unit_loader_batches: Arc::default(),
            contact_cipher: None,
        }
    }

    /// Seals unit contacts' phones with `cipher`.
    pub fn with_contact_cipher(mut self, cipher: PiiCipher) -> Self {
        self.contact_cipher = Some(cipher);
        self
    }

    pub(crate) fn contact_cipher(&self) -> Result<&PiiCipher, VenuesError> {
        self.contact_cipher
            .as_ref()
            .ok_or_else(|| VenuesError::Internal("no key for contact phones".to_owned()))
    }

    /// Counts one batched org-unit load (the unit DataLoader calls it per batch).
    pub fn count_unit_loader_batch(&self) {
        self.unit_loader_batches.fetch_add(1, Ordering::Relaxed);
    }

    /// Batched org-unit loads so far: a list of N references must cost one.
    pub fn unit_loader_batches(&self) -> u64 {
        self.unit_loader_batches.load(Ordering::Relaxed)
    }

    /// The 15-minute circle over the same database; writes that add or move places mark it
    /// stale.
    pub fn circle(&self) -> &Circle {
        &self.circle
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
        self.circle.invalidate();
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

    /// The chain from `id` up to its district center, the unit itself first.
    pub async fn ancestors(&self, id: OrgUnitId) -> Result<Vec<OrgUnit>, VenuesError> {
        let unit = self.existing_unit(id).await?;
        let mut chain = org_units::by_paths(&self.db, &org::ancestor_paths(&unit.path)).await?;
        // Deepest first: the order a request climbs.
        chain.sort_by_key(|u| std::cmp::Reverse(u.path.len()));
        chain.insert(0, unit);
        Ok(chain)
    }

    /// A page of the units below `id` (any depth), optionally of one kind.
    pub async fn subtree(
        &self,
        id: OrgUnitId,
        kind: Option<UnitKind>,
        after: Option<&str>,
        first: Option<u64>,
    ) -> Result<(Vec<OrgUnit>, bool), VenuesError> {
        let unit = self.existing_unit(id).await?;
        let limit = first.unwrap_or(DEFAULT_PAGE).clamp(1, MAX_PAGE);
        let mut rows = org_units::descendants(&self.db, &unit.path, kind, after, limit + 1).await?;
        let more = rows.len() as u64 > limit;
        rows.truncate(limit as usize);
        Ok((rows, more))
    }

    async fn scope_of<C: sea_orm::ConnectionTrait>(
        conn: &C,
        actor: &Principal,
    ) -> Result<Option<String>, VenuesError> {
        Ok(match actor.unit {
            Some(unit) => org_units::get(conn, OrgUnitId(unit)).await?.map(|u| u.path),
            None => None,
        })
    }

    /// Renames a unit; publishes `tongxin.venues.unit_updated`.
    #[tracing::instrument(skip(self, actor, name), fields(actor = %actor.subject, unit_id = %id))]
    pub async fn rename_unit(
        &self,
        actor: &Principal,
        id: OrgUnitId,
        name: &str,
    ) -> Result<OrgUnit, VenuesError> {
        let name = UnitName::parse(name)?;
        let txn = self.db.begin().await.map_err(classify)?;
        let mut unit = org_units::get(&txn, id)
            .await?
            .ok_or_else(|| VenuesError::NotFound(format!("unit {id} does not exist")))?;
        org::may_manage(
            actor,
            Self::scope_of(&txn, actor).await?.as_deref(),
            &unit.path,
        )?;
        org_units::set_name(&txn, id, name.as_str()).await?;
        unit.name = name.as_str().to_owned();
        let path = unit.path.clone();
        outbox::enqueue(
            &txn,
            events::UNIT_UPDATED,
            events::SOURCE,
            events::unit_updated(&unit, &actor.subject, "renamed", &path),
        )
        .await?;
        txn.commit().await.map_err(classify)?;
        self.waker.wake();
        Ok(unit)
    }

    /// Moves a unit and its subtree under another parent of the level above; publishes
    /// `tongxin.venues.unit_updated`.
    #[tracing::instrument(skip(self, actor), fields(actor = %actor.subject, unit_id = %id, new_parent = %new_parent))]
    pub async fn move_unit(
        &self,
        actor: &Principal,
        id: OrgUnitId,
        new_parent: OrgUnitId,
    ) -> Result<OrgUnit, VenuesError> {
        let txn = self.db.begin().await.map_err(classify)?;
        let mut unit = org_units::get(&txn, id)
            .await?
            .ok_or_else(|| VenuesError::NotFound(format!("unit {id} does not exist")))?;
        let parent = org_units::get(&txn, new_parent).await?.ok_or_else(|| {
            VenuesError::NotFound(format!("parent unit {new_parent} does not exist"))
        })?;
        let scope = Self::scope_of(&txn, actor).await?;
        // The mover must hold both ends: where the unit is and where it goes.
        org::may_manage(actor, scope.as_deref(), &unit.path)?;
        org::may_manage(actor, scope.as_deref(), &parent.path)?;
        let new_path = org::plan_move(unit.kind, &unit.path, &unit.code, &parent.as_parent())?;
        if org_units::by_path(&txn, &new_path).await?.is_some() {
            return Err(VenuesError::Conflict(format!(
                "a unit with path {new_path} already exists"
            )));
        }
        let old_path = std::mem::replace(&mut unit.path, new_path.clone());
        org_units::move_subtree(&txn, id, new_parent, &old_path, &new_path).await?;
        unit.parent_id = Some(new_parent);
        outbox::enqueue(
            &txn,
            events::UNIT_UPDATED,
            events::SOURCE,
            events::unit_updated(&unit, &actor.subject, "moved", &old_path),
        )
        .await?;
        txn.commit().await.map_err(classify)?;
        self.waker.wake();
        self.circle.invalidate();
        tracing::info!(%old_path, %new_path, "unit moved");
        Ok(unit)
    }

    /// Adds a staff contact to a unit.
    pub async fn add_contact(
        &self,
        actor: &Principal,
        unit: OrgUnitId,
        name: &str,
        title: &str,
        phone: &str,
    ) -> Result<ContactView, VenuesError> {
        let name = UnitName::parse(name)
            .map_err(|_| crate::domain::DomainError::invalid("name", "must be 1-100 characters"))?;
        let title = title.trim();
        if title.chars().count() > 100 {
            return Err(crate::domain::DomainError::invalid(
                "title",
                "must be at most 100 characters",
            )
            .into());
        }
        let phone = ContactPhone::parse(phone)?;
        let target = self.existing_unit(unit).await?;
        org::may_manage(
            actor,
            Self::scope_of(&self.db, actor).await?.as_deref(),
            &target.path,
        )?;
        let sealed = self
            .contact_cipher()?
            .encrypt(phone.as_str())
            .map_err(|e| VenuesError::Internal(format!("sealing a contact phone: {e}")))?;
        let row = contacts::insert(&self.db, unit, name.as_str(), title, sealed).await?;
        // The adder manages the unit, so its scope covers it: the phone in full.
        Ok(ContactView {
            id: row.id,
            name: row.name,
            title: row.title,
            phone: phone.as_str().to_owned(),
        })
    }

    /// Removes a staff contact.
    pub async fn remove_contact(&self, actor: &Principal, id: Uuid) -> Result<(), VenuesError> {
        let contact = contacts::get(&self.db, id)
            .await?
            .ok_or_else(|| VenuesError::NotFound(format!("contact {id} does not exist")))?;
        let unit = self.existing_unit(OrgUnitId(contact.unit_id)).await?;
        org::may_manage(
            actor,
            Self::scope_of(&self.db, actor).await?.as_deref(),
            &unit.path,
        )?;
        contacts::delete(&self.db, id).await?;
        Ok(())
    }

    /// A unit's contacts with phones in full only for staff whose scope covers the unit.
    pub async fn contacts(
        &self,
        viewer: Option<&Principal>,
        unit: &OrgUnit,
    ) -> Result<Vec<ContactView>, VenuesError> {
        let rows = contacts::of_unit(&self.db, unit.id).await?;
        let full = match viewer {
            Some(p) if p.is_staff() => Self::scope_of(&self.db, p)
                .await?
                .is_some_and(|s| org::covers(&s, &unit.path)),
            _ => false,
        };
        let cipher = self.contact_cipher()?;
        rows.into_iter()
            .map(|row| {
                let sealed = row.phone_cipher.as_deref().ok_or_else(|| {
                    VenuesError::Internal(format!("contact {} has no sealed phone", row.id))
                })?;
                let phone = cipher.decrypt(sealed).map_err(|e| {
                    VenuesError::Internal(format!("opening the phone of contact {}: {e}", row.id))
                })?;
                Ok(ContactView {
                    id: row.id,
                    name: row.name,
                    title: row.title,
                    phone: if full { phone } else { org::mask_phone(&phone) },
                })
            })
            .collect()
    }
}
