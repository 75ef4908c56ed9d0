//! The `venues` table and its queries.
//!
//! Lists (facilities, photo URLs) are stored as newline-separated text: their parsed values
//! never contain control characters, and plain text works the same on PostgreSQL and SQLite.

use chrono::Utc;
use sea_orm::entity::prelude::*;
use sea_orm::sea_query::Query;
use sea_orm::{ActiveValue::Set, Condition, QueryOrder, QuerySelect};
use tongxin_platform::db::{DbError, classify};
use tongxin_platform::geo::Coordinates;

use crate::domain::org::OrgUnitId;
use crate::domain::venue::{VenueId, VenueKind, VenueStatus};
use crate::store::org_units;

/// One venue.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "venues")]
pub struct Model {
    /// Id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Owning org unit.
    pub org_unit_id: Uuid,
    /// Stored [`VenueKind`].
    pub kind: String,
    /// Display name.
    pub name: String,
    /// Postal address.
    pub address: String,
    /// Latitude.
    pub lat: f64,
    /// Longitude.
    pub lon: f64,
    /// People it holds.
    pub capacity: i32,
    /// Newline-separated facilities.
    pub facilities: String,
    /// Free text.
    pub opening_hours: String,
    /// Newline-separated photo URLs.
    pub photo_urls: String,
    /// Stored [`VenueStatus`].
    pub status: String,
    /// When created.
    pub created_at: ChronoDateTimeUtc,
    /// When last changed.
    pub updated_at: ChronoDateTimeUtc,
    /// Who created it (principal subject, or `seed`).
    pub created_by: String,
}

/// No declared relations: joins go through subqueries on `org_units`.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// A venue as the rest of the service sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Venue {
    /// Id.
    pub id: VenueId,
    /// Owning org unit.
    pub org_unit_id: OrgUnitId,
    /// Kind.
    pub kind: VenueKind,
    /// Display name.
    pub name: String,
    /// Postal address.
    pub address: String,
    /// Where it is.
    pub location: Coordinates,
    /// People it holds, 1 to 100 000.
    pub capacity: u32,
    /// Facilities.
    pub facilities: Vec<String>,
    /// Opening hours, free text.
    pub opening_hours: String,
    /// Photo URLs.
    pub photo_urls: Vec<String>,
    /// Active or archived.
    pub status: VenueStatus,
}

/// A venue's point for the 15-minute circle.
#[derive(Debug, Clone, PartialEq)]
pub struct VenuePoint {
    /// Venue id.
    pub id: Uuid,
    /// Owning org unit.
    pub org_unit_id: Uuid,
    /// Kind.
    pub kind: VenueKind,
    /// Display name.
    pub name: String,
    /// Where it is.
    pub at: Coordinates,
}

pub(crate) fn split_list(text: &str) -> Vec<String> {
    text.split('\n')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

impl TryFrom<Model> for Venue {
    type Error = DbError;
    fn try_from(row: Model) -> Result<Self, DbError> {
        let bad = |what: String| DbError::Other(format!("venues {}: {what}", row.id));
        let kind = VenueKind::parse_stored(&row.kind)
            .ok_or_else(|| bad(format!("unknown kind {:?}", row.kind)))?;
        let status = VenueStatus::parse_stored(&row.status)
            .ok_or_else(|| bad(format!("unknown status {:?}", row.status)))?;
        let location = Coordinates::parse(row.lat, row.lon).map_err(|e| bad(e.to_string()))?;
        Ok(Self {
            id: VenueId(row.id),
            org_unit_id: OrgUnitId(row.org_unit_id),
            kind,
            name: row.name,
            address: row.address,
            location,
            capacity: u32::try_from(row.capacity)
                .map_err(|_| bad(format!("negative capacity {}", row.capacity)))?,
            facilities: split_list(&row.facilities),
            opening_hours: row.opening_hours,
            photo_urls: split_list(&row.photo_urls),
            status,
        })
    }
}

fn active_model(venue: &Venue) -> ActiveModel {
    let now = Utc::now();
    ActiveModel {
        id: Set(venue.id.0),
        org_unit_id: Set(venue.org_unit_id.0),
        kind: Set(venue.kind.as_str().to_owned()),
        name: Set(venue.name.clone()),
        address: Set(venue.address.clone()),
        lat: Set(venue.location.lat()),
        lon: Set(venue.location.lon()),
        capacity: Set(i32::try_from(venue.capacity).unwrap_or(i32::MAX)),
        facilities: Set(venue.facilities.join("\n")),
        opening_hours: Set(venue.opening_hours.clone()),
        photo_urls: Set(venue.photo_urls.join("\n")),
        status: Set(venue.status.as_str().to_owned()),
        created_at: Set(now),
        updated_at: Set(now),
        created_by: Set("seed".to_owned()),
    }
}

/// Inserts `venue` on `conn` (created by `seed`; see [`insert_by`]).
pub async fn insert<C: ConnectionTrait>(conn: &C, venue: &Venue) -> Result<(), DbError> {
    insert_by(conn, venue, "seed").await
}

/// Inserts `venue`, created by `actor`.
pub async fn insert_by<C: ConnectionTrait>(
    conn: &C,
    venue: &Venue,
    actor: &str,
) -> Result<(), DbError> {
    let mut row = active_model(venue);
    row.created_by = Set(actor.to_owned());
    Entity::insert(row)
        .exec_without_returning(conn)
        .await
        .map_err(classify)?;
    Ok(())
}

/// Writes every changeable field of `venue` (not its id, creation or owner).
pub async fn update<C: ConnectionTrait>(conn: &C, venue: &Venue) -> Result<(), DbError> {
    let mut row = active_model(venue);
    row.created_at = sea_orm::ActiveValue::NotSet;
    row.created_by = sea_orm::ActiveValue::NotSet;
    Entity::update(row).exec(conn).await.map_err(classify)?;
    Ok(())
}

/// One venue by id.
pub async fn get<C: ConnectionTrait>(conn: &C, id: VenueId) -> Result<Option<Venue>, DbError> {
    Entity::find_by_id(id.0)
        .one(conn)
        .await
        .map_err(classify)?
        .map(Venue::try_from)
        .transpose()
}

/// One venue by id, locked for the rest of the transaction (PostgreSQL; SQLite locks the
/// whole database on write anyway).
pub async fn get_for_update<C: ConnectionTrait>(
    conn: &C,
    id: VenueId,
) -> Result<Option<Venue>, DbError> {
    let mut query = Entity::find_by_id(id.0);
    if conn.get_database_backend() == sea_orm::DbBackend::Postgres {
        query = query.lock_exclusive();
    }
    query
        .one(conn)
        .await
        .map_err(classify)?
        .map(Venue::try_from)
        .transpose()
}

/// Several venues by id in one query, in no particular order.
pub async fn get_many<C: ConnectionTrait>(
    conn: &C,
    ids: &[VenueId],
) -> Result<Vec<Venue>, DbError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Entity::find()
        .filter(Column::Id.is_in(ids.iter().map(|i| i.0)))
        .all(conn)
        .await
        .map_err(classify)?
        .into_iter()
        .map(Venue::try_from)
        .collect()
}

/// The condition "`column` is the id of the unit at `path` or of one of its descendants".
pub(crate) fn in_subtree(column: impl sea_orm::ColumnTrait, path: &str) -> Condition {
    // Paths are made of a-z, 0-9, '-' and '/', so LIKE needs no escaping.
    Condition::all().add(
        column.in_subquery(
            Query::select()
                .column(org_units::Column::Id)
                .from(org_units::Entity)
                .cond_where(
                    Condition::any()
                        .add(org_units::Column::Path.eq(path))
                        .add(org_units::Column::Path.like(format!("{path}/%"))),
                )
                .to_owned(),
        ),
    )
}

/// What [`page`] lists.
#[derive(Debug, Clone, Default)]
pub struct VenueFilter {
    /// Only venues of units under (and at) this path.
    pub unit_path: Option<String>,
    /// Only this kind.
    pub kind: Option<VenueKind>,
    /// Archived ones too.
    pub include_archived: bool,
}

/// Venues matching `filter`, ordered by id (creation order), after the id `after`, at most
/// `limit`.
pub async fn page<C: ConnectionTrait>(
    conn: &C,
    filter: &VenueFilter,
    after: Option<Uuid>,
    limit: u64,
) -> Result<Vec<Venue>, DbError> {
    let mut query = Entity::find();
    if let Some(path) = &filter.unit_path {
        query = query.filter(in_subtree(Column::OrgUnitId, path));
    }
    if let Some(kind) = filter.kind {
        query = query.filter(Column::Kind.eq(kind.as_str()));
    }
    if !filter.include_archived {
        query = query.filter(Column::Status.eq(VenueStatus::Active.as_str()));
    }
    if let Some(after) = after {
        query = query.filter(Column::Id.gt(after));
    }
    query
        .order_by_asc(Column::Id)
        .limit(limit)
        .all(conn)
        .await
        .map_err(classify)?
        .into_iter()
        .map(Venue::try_from)
        .collect()
}

/// Every active venue's point, for the 15-minute circle's index.
pub async fn active_points<C: ConnectionTrait>(conn: &C) -> Result<Vec<VenuePoint>, DbError> {
    let rows: Vec<(Uuid, Uuid, String, String, f64, f64)> = Entity::find()
        .select_only()
        .column(Column::Id)
        .column(Column::OrgUnitId)
        .column(Column::Kind)
        .column(Column::Name)
        .column(Column::Lat)
        .column(Column::Lon)
        .filter(Column::Status.eq(VenueStatus::Active.as_str()))
        .order_by_asc(Column::Id)
        .into_tuple()
        .all(conn)
        .await
        .map_err(classify)?;
    rows.into_iter()
        .map(|(id, org_unit_id, kind, name, lat, lon)| {
            let bad = |what: String| DbError::Other(format!("venues {id}: {what}"));
            Ok(VenuePoint {
                id,
                org_unit_id,
                kind: VenueKind::parse_stored(&kind)
                    .ok_or_else(|| bad(format!("unknown kind {kind:?}")))?,
                name,
                at: Coordinates::parse(lat, lon).map_err(|e| bad(e.to_string()))?,
            })
        })
        .collect()
}

/// Ids of active venues inside a latitude/longitude box, with their locations.
pub async fn active_in_box<C: ConnectionTrait>(
    conn: &C,
    (min_lat, max_lat): (f64, f64),
    (min_lon, max_lon): (f64, f64),
) -> Result<Vec<(Uuid, f64, f64)>, DbError> {
    Entity::find()
        .select_only()
        .column(Column::Id)
        .column(Column::Lat)
        .column(Column::Lon)
        .filter(Column::Status.eq(VenueStatus::Active.as_str()))
        .filter(Column::Lat.between(min_lat, max_lat))
        .filter(Column::Lon.between(min_lon, max_lon))
        .into_tuple()
        .all(conn)
        .await
        .map_err(classify)
}

/// How many venues exist.
pub async fn count<C: ConnectionTrait>(conn: &C) -> Result<u64, DbError> {
    use sea_orm::PaginatorTrait;
    Entity::find().count(conn).await.map_err(classify)
}

/// Every venue's id (demo seeding: which courtyard halls exist).
pub async fn all_ids<C: ConnectionTrait>(conn: &C) -> Result<Vec<Uuid>, DbError> {
    Entity::find()
        .select_only()
        .column(Column::Id)
        .into_tuple()
        .all(conn)
        .await
        .map_err(classify)
}
