//! Venues in GraphQL: `Venue` (an entity keyed by `id`), `venue`, `venues`, `createVenue`,
//! `updateVenue`, `archiveVenue`.

use std::collections::HashMap;

use async_graphql::connection::{Connection, CursorType, Edge, EmptyFields, OpaqueCursor};
use async_graphql::dataloader::{DataLoader, Loader};
use async_graphql::{Context, Enum, ID, InputObject, Object};
use tongxin_platform::ApiError;
use tongxin_platform::graphql::ContextExt;
use uuid::Uuid;

use super::org::{Location, LocationInput, OrgUnitNode, UnitLoader};
use crate::domain::org::OrgUnitId;
use crate::domain::venue::{VenueId, VenueKind, VenueStatus};
use crate::error::VenuesError;
use crate::service::{NewVenue, VenuePatch, Venues};
use crate::store::venues::Venue;

/// What kind of place a venue is.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(name = "VenueKind", remote = "VenueKind")]
pub enum VenueKindGql {
    /// 小院讲堂: a courtyard's lecture venue; anchors the 15-minute circle.
    Courtyard,
    /// 公园: a park.
    Park,
    /// 非遗传承工作室: an intangible-heritage workshop.
    HeritageWorkshop,
    /// 文化站点: a culture station.
    CultureStation,
    /// 爱国主义教育基地: a patriotic education base.
    PatrioticBase,
    /// 文明单位: a civilized unit hosting practice.
    CivilizedUnit,
    /// Any other place.
    Other,
}

/// Whether a venue takes new activities.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(name = "VenueStatus", remote = "VenueStatus")]
pub enum VenueStatusGql {
    /// In use.
    Active,
    /// Kept for the activities that reference it; takes no new ones.
    Archived,
}

/// Loads venues by id in one query per batch.
pub struct VenueLoader(pub Venues);

impl Loader<Uuid> for VenueLoader {
    type Value = Venue;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Venue>, Self::Error> {
        let ids: Vec<VenueId> = keys.iter().copied().map(VenueId).collect();
        let venues = self.0.venues_by_ids(&ids).await?;
        Ok(venues.into_iter().map(|v| (v.id.0, v)).collect())
    }
}

pub(super) async fn load_venue(
    ctx: &Context<'_>,
    id: VenueId,
) -> async_graphql::Result<Option<VenueNode>> {
    let loader = ctx.data::<DataLoader<VenueLoader>>()?;
    Ok(loader.load_one(id.0).await?.map(VenueNode))
}

pub(super) async fn load_unit_node(
    ctx: &Context<'_>,
    id: OrgUnitId,
) -> async_graphql::Result<Option<OrgUnitNode>> {
    let loader = ctx.data::<DataLoader<UnitLoader>>()?;
    Ok(loader.load_one(id.0).await?.map(OrgUnitNode))
}

fn venue_id(id: &ID, field: &str) -> Result<VenueId, VenuesError> {
    Ok(VenueId::parse(id.as_str(), field)?)
}

pub(super) fn unit_id(id: &ID, field: &'static str) -> Result<OrgUnitId, VenuesError> {
    Ok(OrgUnitId::parse(id.as_str(), field)?)
}

/// `first` from a client: 1 to `max` (the platform's one page-size rule), or absent.
pub(super) fn page_size(first: Option<i32>, max: u64) -> Result<Option<u64>, ApiError> {
    tongxin_platform::graphql::page_size("first", first, max)
}

/// A place where practice happens: a courtyard lecture hall, a park, a heritage workshop…
pub struct VenueNode(pub Venue);

/// A place where practice happens (阵地): a courtyard lecture hall (小院讲堂), a park, a
/// heritage workshop, a culture station… Other subgraphs reference it by `id`.
#[Object(name = "Venue")]
impl VenueNode {
    /// Unique id (UUID).
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    /// What kind of place it is.
    async fn kind(&self) -> VenueKindGql {
        self.0.kind.into()
    }

    /// Display name, e.g. 蔡家坝小院讲堂.
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// The org unit it belongs to.
    async fn org_unit(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<OrgUnitNode>> {
        load_unit_node(ctx, self.0.org_unit_id).await
    }

    /// Where it is.
    async fn location(&self) -> Location {
        Location {
            lat: self.0.location.lat(),
            lon: self.0.location.lon(),
        }
    }

    /// Postal address (may be empty).
    async fn address(&self) -> &str {
        &self.0.address
    }

    /// How many people it holds.
    async fn capacity(&self) -> u32 {
        self.0.capacity
    }

    /// Facilities, e.g. 投影仪, 无障碍通道.
    async fn facilities(&self) -> &[String] {
        &self.0.facilities
    }

    /// Opening hours as free text, e.g. 周二至周日 9:00-17:00 (may be empty).
    async fn opening_hours(&self) -> &str {
        &self.0.opening_hours
    }

    /// Photos, as http(s) URLs.
    async fn photo_urls(&self) -> &[String] {
        &self.0.photo_urls
    }

    /// Active, or archived (kept for history, no new activities).
    async fn status(&self) -> VenueStatusGql {
        self.0.status.into()
    }
}

/// Venue queries.
#[derive(Default)]
pub struct VenueQuery;

#[Object]
impl VenueQuery {
    /// One venue by id; null when there is none.
    async fn venue(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The venue id.")] id: ID,
    ) -> async_graphql::Result<Option<VenueNode>> {
        load_venue(ctx, venue_id(&id, "id")?).await
    }

    /// Venues of a unit's subtree (all units when `unitId` is omitted), in creation order.
    async fn venues(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only venues of this unit and the units below it.")] unit_id: Option<ID>,
        #[graphql(desc = "Only venues of this kind.")] kind: Option<VenueKindGql>,
        #[graphql(desc = "Include archived venues (default false).")] include_archived: Option<
            bool,
        >,
        #[graphql(desc = "Page size, 1 to 1000 (default 100).")] first: Option<i32>,
        #[graphql(desc = "Cursor of the last edge of the previous page.")] after: Option<String>,
    ) -> async_graphql::Result<Connection<OpaqueCursor<Uuid>, VenueNode, EmptyFields, EmptyFields>>
    {
        let venues = ctx.data::<Venues>()?;
        let unit = unit_id
            .as_ref()
            .map(|u| self::unit_id(u, "unitId"))
            .transpose()?;
        let after = match after {
            Some(cursor) => Some(
                OpaqueCursor::<Uuid>::decode_cursor(&cursor)
                    .map_err(|_| ApiError::bad_input("after: not a cursor from this field"))?
                    .0,
            ),
            None => None,
        };
        let (rows, more) = venues
            .venues_page(
                unit,
                kind.map(Into::into),
                include_archived.unwrap_or(false),
                after,
                page_size(first, crate::service::MAX_PAGE)?,
            )
            .await?;
        let mut connection = Connection::new(after.is_some(), more);
        connection.edges.extend(
            rows.into_iter()
                .map(|v| Edge::new(OpaqueCursor(v.id.0), VenueNode(v))),
        );
        Ok(connection)
    }

    /// Federation: resolves `Venue` references from other subgraphs (batched).
    #[graphql(entity)]
    async fn find_venue_by_id(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<Option<VenueNode>> {
        load_venue(ctx, venue_id(&id, "id")?).await
    }
}

/// A new venue.
#[derive(InputObject)]
pub struct CreateVenueInput {
    /// What kind of place it is.
    pub kind: VenueKindGql,
    /// Display name, 1 to 100 characters.
    pub name: String,
    /// The org unit it belongs to; must be in your scope.
    pub org_unit_id: ID,
    /// Where it is.
    pub location: LocationInput,
    /// Postal address, at most 200 characters.
    #[graphql(default)]
    pub address: String,
    /// How many people it holds, 1 to 100000.
    pub capacity: i32,
    /// Facilities, at most 30, each 1 to 40 characters.
    #[graphql(default)]
    pub facilities: Vec<String>,
    /// Opening hours as free text, at most 200 characters.
    #[graphql(default)]
    pub opening_hours: String,
    /// Photo URLs (http or https), at most 20.
    #[graphql(default)]
    pub photo_urls: Vec<String>,
}

/// Changes to a venue; omitted fields stay as they are, lists are replaced whole.
#[derive(InputObject, Default)]
pub struct UpdateVenueInput {
    /// New kind.
    pub kind: Option<VenueKindGql>,
    /// New name, 1 to 100 characters.
    pub name: Option<String>,
    /// Move it to another unit (also in your scope).
    pub org_unit_id: Option<ID>,
    /// New location.
    pub location: Option<LocationInput>,
    /// New address, at most 200 characters.
    pub address: Option<String>,
    /// New capacity, 1 to 100000.
    pub capacity: Option<i32>,
    /// New facilities.
    pub facilities: Option<Vec<String>>,
    /// New opening hours.
    pub opening_hours: Option<String>,
    /// New photo URLs.
    pub photo_urls: Option<Vec<String>>,
}

/// Venue changes. Need a staff token whose unit covers the venue's unit.
#[derive(Default)]
pub struct VenueMutation;

#[Object]
impl VenueMutation {
    /// Adds a venue to a unit in your scope.
    async fn create_venue(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "The venue: kind, name, unit, location, address, capacity and facilities."
        )]
        input: CreateVenueInput,
    ) -> async_graphql::Result<VenueNode> {
        let actor = ctx.principal()?;
        let venues = ctx.data::<Venues>()?;
        let venue = venues
            .create_venue(
                actor,
                NewVenue {
                    kind: input.kind.into(),
                    name: input.name,
                    org_unit_id: input.org_unit_id.0,
                    lat: input.location.lat,
                    lon: input.location.lon,
                    address: input.address,
                    capacity: i64::from(input.capacity),
                    facilities: input.facilities,
                    opening_hours: input.opening_hours,
                    photo_urls: input.photo_urls,
                },
            )
            .await?;
        Ok(VenueNode(venue))
    }

    /// Changes the given fields of an active venue.
    async fn update_venue(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The venue to change.")] id: ID,
        #[graphql(desc = "The fields to change; absent fields stay as they are.")]
        input: UpdateVenueInput,
    ) -> async_graphql::Result<VenueNode> {
        let actor = ctx.principal()?;
        let venues = ctx.data::<Venues>()?;
        let id = venue_id(&id, "id")?;
        let venue = venues
            .update_venue(
                actor,
                id,
                VenuePatch {
                    kind: input.kind.map(Into::into),
                    name: input.name,
                    org_unit_id: input.org_unit_id.map(|u| u.0),
                    location: input.location.map(|l| (l.lat, l.lon)),
                    address: input.address,
                    capacity: input.capacity.map(i64::from),
                    facilities: input.facilities,
                    opening_hours: input.opening_hours,
                    photo_urls: input.photo_urls,
                },
            )
            .await?;
        Ok(VenueNode(venue))
    }

    /// Archives a venue: never deleted (activities reference it), it takes no new activities.
    async fn archive_venue(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The venue to archive.")] id: ID,
    ) -> async_graphql::Result<VenueNode> {
        let actor = ctx.principal()?;
        let venues = ctx.data::<Venues>()?;
        let venue = venues.archive_venue(actor, venue_id(&id, "id")?).await?;
        Ok(VenueNode(venue))
    }
}
