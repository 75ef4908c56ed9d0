//! The org tree in GraphQL: `OrgUnit` (an entity keyed by `id`), `orgUnit`,
//! `createOrgUnit`, `orgUnitCreated`.

use std::collections::HashMap;

use async_graphql::connection::{Connection, Edge, EmptyFields, OpaqueCursor};
use async_graphql::dataloader::{DataLoader, Loader};
use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject, Subscription};
use futures::{Stream, StreamExt};
use prost::Message;
use tongxin_platform::ApiError;
use tongxin_platform::events::SharedBus;
use tongxin_platform::graphql::ContextExt;
use uuid::Uuid;

use crate::domain::org::{OrgUnitId, UnitKind};
use crate::error::VenuesError;
use crate::service::{NewUnit, Venues};
use crate::store::org_units::{self, OrgUnit};

/// The four levels of the practice network.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(name = "UnitKind", remote = "UnitKind")]
pub enum UnitKindGql {
    /// 新时代文明实践中心: the district center, top of the tree.
    Center,
    /// 实践所: a town or street.
    Institute,
    /// 实践站: a village or community.
    Station,
    /// 小院: a courtyard, the level nearest to residents.
    Courtyard,
}

/// A point on the map (WGS-84 degrees).
#[derive(SimpleObject, Clone, Copy)]
pub struct Location {
    /// Latitude, -90 to 90.
    pub lat: f64,
    /// Longitude, -180 to 180.
    pub lon: f64,
}

/// A point given by a client.
#[derive(InputObject)]
pub struct LocationInput {
    /// Latitude, -90 to 90.
    pub lat: f64,
    /// Longitude, -180 to 180.
    pub lon: f64,
}

/// A unit of the org tree: the district center, an institute, a station or a courtyard.
pub struct OrgUnitNode(pub OrgUnit);

/// Loads units by id in one query per batch.
pub struct UnitLoader(pub Venues);

impl Loader<Uuid> for UnitLoader {
    type Value = OrgUnit;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, OrgUnit>, Self::Error> {
        self.0.count_unit_loader_batch();
        let ids: Vec<OrgUnitId> = keys.iter().copied().map(OrgUnitId).collect();
        let units = org_units::get_many(self.0.db(), &ids)
            .await
            .map_err(ApiError::from)?;
        Ok(units.into_iter().map(|u| (u.id.0, u)).collect())
    }
}

fn parse_id(id: &ID, field: &'static str) -> Result<OrgUnitId, VenuesError> {
    Ok(OrgUnitId::parse(id.as_str(), field)?)
}

async fn load_unit(ctx: &Context<'_>, id: OrgUnitId) -> async_graphql::Result<Option<OrgUnitNode>> {
    let loader = ctx.data::<DataLoader<UnitLoader>>()?;
    Ok(loader.load_one(id.0).await?.map(OrgUnitNode))
}

/// A unit of the org tree: the district center, an institute, a station or a courtyard.
/// Other subgraphs reference it by `id`.
#[Object(name = "OrgUnit")]
impl OrgUnitNode {
    /// Unique id (UUID).
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    /// The level of this unit.
    async fn kind(&self) -> UnitKindGql {
        self.0.kind.into()
    }

    /// Display name, e.g. 夜合湾小院.
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// Path segment, e.g. `yehewan`.
    async fn code(&self) -> &str {
        &self.0.code
    }

    /// Full path from the district, e.g. `/rc/zhisheng/rongsheng/yehewan`.
    async fn path(&self) -> &str {
        &self.0.path
    }

    /// District code: the path's first segment.
    async fn district(&self) -> &str {
        &self.0.district
    }

    /// Where the unit is.
    async fn location(&self) -> Location {
        Location {
            lat: self.0.location.lat(),
            lon: self.0.location.lon(),
        }
    }

    /// The unit one level up; null for a district center.
    async fn parent(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<OrgUnitNode>> {
        match self.0.parent_id {
            Some(id) => load_unit(ctx, id).await,
            None => Ok(None),
        }
    }

    /// The units one level down, ordered by path.
    async fn children(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Page size, 1 to 1000 (default 100).")] first: Option<i32>,
        #[graphql(desc = "Cursor of the last edge of the previous page.")] after: Option<String>,
    ) -> async_graphql::Result<
        Connection<OpaqueCursor<String>, OrgUnitNode, EmptyFields, EmptyFields>,
    > {
        let venues = ctx.data::<Venues>()?;
        let after = decode_after(after)?;
        let first = super::venue::page_size(first, crate::service::MAX_PAGE)?;
        let (units, more) = venues.children(self.0.id, after.as_deref(), first).await?;
        Ok(unit_connection(units, after.is_some(), more))
    }

    /// Every unit below this one at any depth, ordered by path; only one level when `kind`
    /// is given (e.g. all courtyards of an institute).
    async fn subtree(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only units of this kind (default: every kind).")] kind: Option<
            UnitKindGql,
        >,
        #[graphql(desc = "Page size, 1 to 1000 (default 100).")] first: Option<i32>,
        #[graphql(desc = "Cursor of the last edge of the previous page.")] after: Option<String>,
    ) -> async_graphql::Result<
        Connection<OpaqueCursor<String>, OrgUnitNode, EmptyFields, EmptyFields>,
    > {
        let venues = ctx.data::<Venues>()?;
        let after = decode_after(after)?;
        let first = super::venue::page_size(first, crate::service::MAX_PAGE)?;
        let (units, more) = venues
            .subtree(self.0.id, kind.map(Into::into), after.as_deref(), first)
            .await?;
        Ok(unit_connection(units, after.is_some(), more))
    }

    /// The chain from this unit's parent up to the district center, nearest first: the way
    /// an order climbs (每级必接).
    async fn ancestors(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<OrgUnitNode>> {
        let venues = ctx.data::<Venues>()?;
        Ok(venues
            .ancestors(self.0.id)
            .await?
            .into_iter()
            .skip(1)
            .map(OrgUnitNode)
            .collect())
    }

    /// Staff contacts of this unit.
    async fn contacts(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<UnitContact>> {
        let venues = ctx.data::<Venues>()?;
        let rows = venues.contacts(ctx.maybe_principal(), &self.0).await?;
        Ok(rows
            .into_iter()
            .map(|c| UnitContact {
                id: ID(c.id.to_string()),
                name: c.name,
                title: c.title,
                phone: c.phone,
            })
            .collect())
    }
}

use async_graphql::connection::CursorType;

/// Decodes an `after` cursor of an org-unit connection.
pub(crate) fn decode_after(after: Option<String>) -> Result<Option<String>, ApiError> {
    after
        .map(|cursor| {
            OpaqueCursor::<String>::decode_cursor(&cursor)
                .map(|c| c.0)
                .map_err(|_| ApiError::bad_input("after: not a cursor from this field"))
        })
        .transpose()
}

/// Turns a page of units into a connection.
pub(crate) fn unit_connection(
    units: Vec<OrgUnit>,
    has_previous: bool,
    more: bool,
) -> Connection<OpaqueCursor<String>, OrgUnitNode, EmptyFields, EmptyFields> {
    let mut connection = Connection::new(has_previous, more);
    connection.edges.extend(
        units
            .into_iter()
            .map(|u| Edge::new(OpaqueCursor(u.path.clone()), OrgUnitNode(u))),
    );
    connection
}

/// Someone to call at a unit. The phone is masked (138****1234) unless you are staff whose
/// scope covers the unit.
#[derive(SimpleObject)]
pub struct UnitContact {
    /// Id.
    pub id: ID,
    /// Name.
    pub name: String,
    /// Duty, e.g. 站长.
    pub title: String,
    /// Mobile number, masked outside scope.
    pub phone: String,
}

/// Org-tree queries.
#[derive(Default)]
pub struct OrgQuery;

#[Object]
impl OrgQuery {
    /// One unit by id; null when there is none.
    async fn org_unit(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The unit id.")] id: ID,
    ) -> async_graphql::Result<Option<OrgUnitNode>> {
        load_unit(ctx, parse_id(&id, "id")?).await
    }

    /// Federation: resolves `OrgUnit` references from other subgraphs (batched).
    #[graphql(entity)]
    async fn find_org_unit_by_id(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<Option<OrgUnitNode>> {
        load_unit(ctx, parse_id(&id, "id")?).await
    }
}

/// A new unit.
#[derive(InputObject)]
pub struct CreateOrgUnitInput {
    /// Its level; must be one below the parent's.
    pub kind: UnitKindGql,
    /// Display name, 1 to 100 characters.
    pub name: String,
    /// Path segment: 1-40 of a-z, 0-9, '-'.
    pub code: String,
    /// The parent unit; omit only for a district center.
    pub parent_id: Option<ID>,
    /// Where it is.
    pub location: LocationInput,
}

/// Org-tree changes. Need a staff token whose unit covers the parent.
#[derive(Default)]
pub struct OrgMutation;

#[Object]
impl OrgMutation {
    /// Adds a unit under a parent one level up; publishes `tongxin.venues.unit_created`.
    async fn create_org_unit(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The new unit: kind, name, code, parent and location.")]
        input: CreateOrgUnitInput,
    ) -> async_graphql::Result<OrgUnitNode> {
        let actor = ctx.principal()?;
        let venues = ctx.data::<Venues>()?;
        let unit = venues
            .create_unit(
                actor,
                NewUnit {
                    kind: input.kind.into(),
                    name: input.name,
                    code: input.code,
                    parent_id: input.parent_id.map(|p| p.0),
                    lat: input.location.lat,
                    lon: input.location.lon,
                },
            )
            .await?;
        Ok(OrgUnitNode(unit))
    }

    /// Renames a unit; publishes `tongxin.venues.unit_updated`.
    async fn rename_org_unit(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The unit to rename.")] id: ID,
        #[graphql(desc = "The new display name, 1 to 100 characters.")] name: String,
    ) -> async_graphql::Result<OrgUnitNode> {
        let actor = ctx.principal()?;
        let unit = ctx
            .data::<Venues>()?
            .rename_unit(actor, parse_id(&id, "id")?, &name)
            .await?;
        Ok(OrgUnitNode(unit))
    }

    /// Moves a unit, with everything below it, under another parent one level up (same
    /// district); publishes `tongxin.venues.unit_updated`.
    async fn move_org_unit(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The unit to move (its whole subtree moves with it).")] id: ID,
        #[graphql(desc = "The new parent: one level up, same district.")] new_parent_id: ID,
    ) -> async_graphql::Result<OrgUnitNode> {
        let actor = ctx.principal()?;
        let venues = ctx.data::<Venues>()?;
        let unit = venues
            .move_unit(
                actor,
                parse_id(&id, "id")?,
                parse_id(&new_parent_id, "newParentId")?,
            )
            .await?;
        Ok(OrgUnitNode(unit))
    }

    /// Adds a staff contact to a unit.
    async fn add_unit_contact(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The unit the contact works for.")] unit_id: ID,
        #[graphql(desc = "The contact person's name.")] name: String,
        #[graphql(desc = "Duty, e.g. 站长 or 联络员.")] title: String,
        #[graphql(desc = "11-digit mobile number.")] phone: String,
    ) -> async_graphql::Result<UnitContact> {
        let actor = ctx.principal()?;
        let venues = ctx.data::<Venues>()?;
        let c = venues
            .add_contact(actor, parse_id(&unit_id, "unitId")?, &name, &title, &phone)
            .await?;
        // The adder's scope covers the unit: the view holds the phone in full.
        Ok(UnitContact {
            id: ID(c.id.to_string()),
            name: c.name,
            title: c.title,
            phone: c.phone,
        })
    }

    /// Removes a staff contact; true when done.
    async fn remove_unit_contact(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The contact to remove.")] id: ID,
    ) -> async_graphql::Result<bool> {
        let actor = ctx.principal()?;
        let id =
            Uuid::parse_str(id.as_str()).map_err(|_| ApiError::bad_input("id: must be a UUID"))?;
        ctx.data::<Venues>()?.remove_contact(actor, id).await?;
        Ok(true)
    }
}

/// Live org-tree changes, fed from the event bus.
#[derive(Default)]
pub struct OrgSubscription;

#[Subscription]
impl OrgSubscription {
    /// Units as they are created; only those under `parentId` when given.
    async fn org_unit_created(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only units created directly under this one (default: all).")]
        parent_id: Option<ID>,
    ) -> async_graphql::Result<impl Stream<Item = OrgUnitNode> + use<>> {
        let parent = parent_id
            .as_ref()
            .map(|p| parse_id(p, "parentId"))
            .transpose()?;
        let bus = ctx.data::<SharedBus>()?;
        let feed = bus
            .watch(crate::events::UNIT_CREATED)
            .await
            .map_err(|e| ApiError::unavailable(&e))?;
        Ok(feed.filter_map(move |event| {
            let unit = tongxin_proto::events::UnitCreated::decode(event.payload)
                .ok()
                .and_then(|m| m.unit)
                .and_then(crate::events::from_proto)
                .filter(|u| parent.is_none() || u.parent_id == parent);
            futures::future::ready(unit.map(OrgUnitNode))
        }))
    }
}
