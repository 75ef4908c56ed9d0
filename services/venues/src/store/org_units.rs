//! The `org_units` table and its queries.

use chrono::Utc;
use sea_orm::entity::prelude::*;
use sea_orm::{ActiveValue::Set, QueryOrder, QuerySelect};
use tongxin_platform::db::{DbError, classify};
use tongxin_platform::geo::Coordinates;

use crate::domain::org::{OrgUnitId, ParentFacts, UnitKind};

/// One unit of the org tree.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "org_units")]
pub struct Model {
    /// Id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// `center`, `institute`, `station`, `courtyard`.
    pub kind: String,
    /// Display name.
    pub name: String,
    /// Path segment.
    pub code: String,
    /// Full path, unique.
    #[sea_orm(unique)]
    pub path: String,
    /// Parent unit; `None` for a center.
    pub parent_id: Option<Uuid>,
    /// District code (first path segment).
    pub district: String,
    /// Latitude.
    pub lat: f64,
    /// Longitude.
    pub lon: f64,
    /// When created.
    pub created_at: ChronoDateTimeUtc,
    /// Who created it (principal subject, or `seed`).
    pub created_by: String,
}

/// No declared relations: the tree is walked by path and parent id.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// A unit as the rest of the service sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct OrgUnit {
    /// Id.
    pub id: OrgUnitId,
    /// Level.
    pub kind: UnitKind,
    /// Display name.
    pub name: String,
    /// Path segment.
    pub code: String,
    /// Full path.
    pub path: String,
    /// Parent.
    pub parent_id: Option<OrgUnitId>,
    /// District code.
    pub district: String,
    /// Where it is.
    pub location: Coordinates,
}

impl OrgUnit {
    /// The facts a child's rules need.
    pub fn as_parent(&self) -> ParentFacts {
        ParentFacts {
            id: self.id,
            kind: self.kind,
            path: self.path.clone(),
        }
    }
}

impl TryFrom<Model> for OrgUnit {
    type Error = DbError;
    fn try_from(row: Model) -> Result<Self, DbError> {
        let kind = UnitKind::parse_stored(&row.kind).ok_or_else(|| {
            DbError::Other(format!("org_units {}: unknown kind {:?}", row.id, row.kind))
        })?;
        let location = Coordinates::parse(row.lat, row.lon)
            .map_err(|e| DbError::Other(format!("org_units {}: {e}", row.id)))?;
        Ok(Self {
            id: OrgUnitId(row.id),
            kind,
            name: row.name,
            code: row.code,
            path: row.path,
            parent_id: row.parent_id.map(OrgUnitId),
            district: row.district,
            location,
        })
    }
}

/// Inserts `unit` (created by `actor`) on `conn`; a taken path is a conflict.
pub async fn insert<C: ConnectionTrait>(
    conn: &C,
    unit: &OrgUnit,
    actor: &str,
) -> Result<(), DbError> {
    Entity::insert(ActiveModel {
        id: Set(unit.id.0),
        kind: Set(unit.kind.as_str().to_owned()),
        name: Set(unit.name.clone()),
        code: Set(unit.code.clone()),
        path: Set(unit.path.clone()),
        parent_id: Set(unit.parent_id.map(|p| p.0)),
        district: Set(unit.district.clone()),
        lat: Set(unit.location.lat()),
        lon: Set(unit.location.lon()),
        created_at: Set(Utc::now()),
        created_by: Set(actor.to_owned()),
    })
    .exec_without_returning(conn)
    .await
    .map_err(classify)?;
    Ok(())
}

/// One unit by id.
pub async fn get<C: ConnectionTrait>(conn: &C, id: OrgUnitId) -> Result<Option<OrgUnit>, DbError> {
    Entity::find_by_id(id.0)
        .one(conn)
        .await
        .map_err(classify)?
        .map(OrgUnit::try_from)
        .transpose()
}

/// Several units by id in one query (for DataLoader and batch gRPC), in no particular order.
pub async fn get_many<C: ConnectionTrait>(
    conn: &C,
    ids: &[OrgUnitId],
) -> Result<Vec<OrgUnit>, DbError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Entity::find()
        .filter(Column::Id.is_in(ids.iter().map(|i| i.0)))
        .all(conn)
        .await
        .map_err(classify)?
        .into_iter()
        .map(OrgUnit::try_from)
        .collect()
}

/// Children of `parent` ordered by path, after the path `after` (keyset pagination), at
/// most `limit`.
pub async fn children<C: ConnectionTrait>(
    conn: &C,
    parent: OrgUnitId,
    after: Option<&str>,
    limit: u64,
) -> Result<Vec<OrgUnit>, DbError> {
    let mut query = Entity::find().filter(Column::ParentId.eq(parent.0));
    if let Some(after) = after {
        query = query.filter(Column::Path.gt(after));
    }
    query
        .order_by_asc(Column::Path)
        .limit(limit)
        .all(conn)
        .await
        .map_err(classify)?
        .into_iter()
        .map(OrgUnit::try_from)
        .collect()
}

/// How many units exist (to decide whether demo data is needed).
pub async fn count<C: ConnectionTrait>(conn: &C) -> Result<u64, DbError> {
    use sea_orm::PaginatorTrait;
    Entity::find().count(conn).await.map_err(classify)
}
