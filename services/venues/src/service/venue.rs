//! Venue operations: create, update, archive, read.

use sea_orm::{ConnectionTrait, TransactionTrait};
use tongxin_platform::auth::Principal;
use tongxin_platform::db::classify;
use tongxin_platform::geo::Coordinates;
use uuid::Uuid;

use super::{DEFAULT_PAGE, MAX_PAGE, Venues};
use crate::domain::DomainError;
use crate::domain::org::OrgUnitId;
use crate::domain::venue::{self, Capacity, VenueId, VenueKind, VenueStatus};
use crate::error::VenuesError;
use crate::store::org_units::{self, OrgUnit};
use crate::store::venues::{self, Venue, VenueFilter};

/// Input for a new venue, before parsing.
#[derive(Debug, Clone)]
pub struct NewVenue {
    /// Kind.
    pub kind: VenueKind,
    /// Display name.
    pub name: String,
    /// Owning unit id (text).
    pub org_unit_id: String,
    /// Latitude.
    pub lat: f64,
    /// Longitude.
    pub lon: f64,
    /// Postal address.
    pub address: String,
    /// People it holds.
    pub capacity: i64,
    /// Facilities.
    pub facilities: Vec<String>,
    /// Opening hours, free text.
    pub opening_hours: String,
    /// Photo URLs.
    pub photo_urls: Vec<String>,
}

/// A partial change to a venue; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct VenuePatch {
    /// Kind.
    pub kind: Option<VenueKind>,
    /// Display name.
    pub name: Option<String>,
    /// Owning unit id (text).
    pub org_unit_id: Option<String>,
    /// Location (lat, lon).
    pub location: Option<(f64, f64)>,
    /// Postal address.
    pub address: Option<String>,
    /// People it holds.
    pub capacity: Option<i64>,
    /// Facilities (replaces the list).
    pub facilities: Option<Vec<String>>,
    /// Opening hours.
    pub opening_hours: Option<String>,
    /// Photo URLs (replaces the list).
    pub photo_urls: Option<Vec<String>>,
}

fn location(lat: f64, lon: f64) -> Result<Coordinates, DomainError> {
    Ok(Coordinates::parse(lat, lon)?)
}

/// The path of the actor's scope unit, if they have one that exists.
pub(super) async fn actor_scope<C: ConnectionTrait>(
    conn: &C,
    actor: &Principal,
) -> Result<Option<String>, VenuesError> {
    Ok(match actor.unit {
        Some(unit) => org_units::get(conn, OrgUnitId(unit)).await?.map(|u| u.path),
        None => None,
    })
}

pub(super) async fn existing_unit_in<C: ConnectionTrait>(
    conn: &C,
    id: OrgUnitId,
    field: &str,
) -> Result<OrgUnit, VenuesError> {
    org_units::get(conn, id).await?.ok_or_else(|| {
        VenuesError::Domain(DomainError::invalid(
            field,
            format!("unit {id} does not exist"),
        ))
    })
}

impl Venues {
    /// Adds a venue to a unit in the actor's scope.
    #[tracing::instrument(skip(self, actor, input), fields(actor = %actor.subject, kind = input.kind.as_str()))]
    pub async fn create_venue(
        &self,
        actor: &Principal,
        input: NewVenue,
    ) -> Result<Venue, VenuesError> {
        // Parse everything before touching the database: bad input stores nothing.
        let name = venue::parse_name(&input.name)?;
        let unit_id = OrgUnitId::parse(&input.org_unit_id, "orgUnitId")?;
        let location = location(input.lat, input.lon)?;
        let address = venue::parse_address(&input.address)?;
        let capacity = Capacity::parse(input.capacity, "capacity")?;
        let facilities = venue::parse_facilities(&input.facilities)?;
        let opening_hours = venue::parse_opening_hours(&input.opening_hours)?;
        let photo_urls = venue::parse_photo_urls(&input.photo_urls)?;

        let txn = self.db.begin().await.map_err(classify)?;
        let unit = existing_unit_in(&txn, unit_id, "orgUnitId").await?;
        let scope = actor_scope(&txn, actor).await?;
        venue::may_manage(actor, scope.as_deref(), &unit.path, "venue")?;
        let venue = Venue {
            id: VenueId(Uuid::now_v7()),
            org_unit_id: unit.id,
            kind: input.kind,
            name,
            address,
            location,
            capacity: capacity.get(),
            facilities,
            opening_hours,
            photo_urls,
            status: VenueStatus::Active,
        };
        venues::insert_by(&txn, &venue, &actor.subject).await?;
        txn.commit().await.map_err(classify)?;
        // Venues are places of the 15-minute circle.
        self.circle.invalidate();
        tracing::info!(venue_id = %venue.id, unit = %unit.path, "venue created");
        Ok(venue)
    }

    /// Changes the given fields of an active venue in the actor's scope (and, when it moves to
    /// another unit, that unit must be in scope too).
    #[tracing::instrument(skip(self, actor, patch), fields(actor = %actor.subject, venue_id = %id))]
    pub async fn update_venue(
        &self,
        actor: &Principal,
        id: VenueId,
        patch: VenuePatch,
    ) -> Result<Venue, VenuesError> {
        let name = patch.name.as_deref().map(venue::parse_name).transpose()?;
        let unit_id = patch
            .org_unit_id
            .as_deref()
            .map(|u| OrgUnitId::parse(u, "orgUnitId"))
            .transpose()?;
        let location = patch
            .location
            .map(|(lat, lon)| location(lat, lon))
            .transpose()?;
        let address = patch
            .address
            .as_deref()
            .map(venue::parse_address)
            .transpose()?;
        let capacity = patch
            .capacity
            .map(|c| Capacity::parse(c, "capacity"))
            .transpose()?;
        let facilities = patch
            .facilities
            .as_deref()
            .map(venue::parse_facilities)
            .transpose()?;
        let opening_hours = patch
            .opening_hours
            .as_deref()
            .map(venue::parse_opening_hours)
            .transpose()?;
        let photo_urls = patch
            .photo_urls
            .as_deref()
            .map(venue::parse_photo_urls)
            .transpose()?;

        let txn = self.db.begin().await.map_err(classify)?;
        let mut current = venues::get_for_update(&txn, id)
            .await?
            .ok_or_else(|| VenuesError::NotFound(format!("venue {id} does not exist")))?;
        let scope = actor_scope(&txn, actor).await?;
        let owner = existing_unit_in(&txn, current.org_unit_id, "id").await?;
        venue::may_manage(actor, scope.as_deref(), &owner.path, "venue")?;
        if current.status == VenueStatus::Archived {
            return Err(VenuesError::Conflict(format!(
                "venue {id} is archived; it cannot be changed"
            )));
        }
        if let Some(unit_id) = unit_id {
            let unit = existing_unit_in(&txn, unit_id, "orgUnitId").await?;
            venue::may_manage(actor, scope.as_deref(), &unit.path, "venue")?;
            current.org_unit_id = unit.id;
        }
        if let Some(kind) = patch.kind {
            current.kind = kind;
        }
        if let Some(v) = name {
            current.name = v;
        }
        if let Some(v) = location {
            current.location = v;
        }
        if let Some(v) = address {
            current.address = v;
        }
        if let Some(v) = capacity {
            current.capacity = v.get();
        }
        if let Some(v) = facilities {
            current.facilities = v;
        }
        if let Some(v) = opening_hours {
            current.opening_hours = v;
        }
        if let Some(v) = photo_urls {
            current.photo_urls = v;
        }
        venues::update(&txn, &current).await?;
        txn.commit().await.map_err(classify)?;
        // Venues are places of the 15-minute circle.
        self.circle.invalidate();
        tracing::info!("venue updated");
        Ok(current)
    }

    /// Archives a venue: it stays for the activities that reference it but takes no new
    /// ones. Archiving an archived venue changes nothing.
    #[tracing::instrument(skip(self, actor), fields(actor = %actor.subject, venue_id = %id))]
    pub async fn archive_venue(
        &self,
        actor: &Principal,
        id: VenueId,
    ) -> Result<Venue, VenuesError> {
        let txn = self.db.begin().await.map_err(classify)?;
        let mut current = venues::get_for_update(&txn, id)
            .await?
            .ok_or_else(|| VenuesError::NotFound(format!("venue {id} does not exist")))?;
        let scope = actor_scope(&txn, actor).await?;
        let owner = existing_unit_in(&txn, current.org_unit_id, "id").await?;
        venue::may_manage(actor, scope.as_deref(), &owner.path, "venue")?;
        if current.status == VenueStatus::Active {
            current.status = VenueStatus::Archived;
            venues::update(&txn, &current).await?;
        }
        txn.commit().await.map_err(classify)?;
        // Venues are places of the 15-minute circle.
        self.circle.invalidate();
        tracing::info!("venue archived");
        Ok(current)
    }

    /// One venue.
    pub async fn venue(&self, id: VenueId) -> Result<Option<Venue>, VenuesError> {
        Ok(venues::get(&self.db, id).await?)
    }

    /// Several venues in one query.
    pub async fn venues_by_ids(&self, ids: &[VenueId]) -> Result<Vec<Venue>, VenuesError> {
        Ok(venues::get_many(&self.db, ids).await?)
    }

    /// A page of venues in the subtree of `unit` (all when `None`), after the id `after`.
    /// Returns the page and whether more follow.
    pub async fn venues_page(
        &self,
        unit: Option<OrgUnitId>,
        kind: Option<VenueKind>,
        include_archived: bool,
        after: Option<Uuid>,
        first: Option<u64>,
    ) -> Result<(Vec<Venue>, bool), VenuesError> {
        let unit_path = match unit {
            Some(id) => Some(self.existing_unit(id).await?.path),
            None => None,
        };
        let limit = first.unwrap_or(DEFAULT_PAGE).clamp(1, MAX_PAGE);
        let filter = VenueFilter {
            unit_path,
            kind,
            include_archived,
        };
        let mut rows = venues::page(&self.db, &filter, after, limit + 1).await?;
        let more = rows.len() as u64 > limit;
        rows.truncate(limit as usize);
        Ok((rows, more))
    }
}
