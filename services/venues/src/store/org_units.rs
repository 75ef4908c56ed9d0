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
        let kind = UnitKind::parse(&row.kind).map_err(|_| {
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
    page(
        conn,
        Entity::find().filter(Column::ParentId.eq(parent.0)),
        after,
        limit,
    )
    .await
}

/// How many units exist (to decide whether demo data is needed).
pub async fn count<C: ConnectionTrait>(conn: &C) -> Result<u64, DbError> {
    use sea_orm::PaginatorTrait;
    Entity::find().count(conn).await.map_err(classify)
}

/// The units at `paths`, in no particular order (for ancestor chains: one query).
pub async fn by_paths<C: ConnectionTrait>(
    conn: &C,
    paths: &[String],
) -> Result<Vec<OrgUnit>, DbError> {
    if paths.is_empty() {
        return Ok(Vec::new());
    }
    Entity::find()
        .filter(Column::Path.is_in(paths.iter().cloned()))
        .all(conn)
        .await
        .map_err(classify)?
        .into_iter()
        .map(OrgUnit::try_from)
        .collect()
}

/// The unit at `path`.
pub async fn by_path<C: ConnectionTrait>(conn: &C, path: &str) -> Result<Option<OrgUnit>, DbError> {
    Entity::find()
        .filter(Column::Path.eq(path))
        .one(conn)
        .await
        .map_err(classify)?
        .map(OrgUnit::try_from)
        .transpose()
}

/// Descendants of the unit at `path` (not itself), optionally of one kind, ordered by path,
/// after the path `after`, at most `limit`.
pub async fn descendants<C: ConnectionTrait>(
    conn: &C,
    path: &str,
    kind: Option<UnitKind>,
    after: Option<&str>,
    limit: u64,
) -> Result<Vec<OrgUnit>, DbError> {
    // Codes hold only a-z, 0-9 and '-', so the path needs no LIKE escaping.
    let mut query = Entity::find().filter(Column::Path.like(format!("{path}/%")));
    if let Some(kind) = kind {
        query = query.filter(Column::Kind.eq(kind.as_str()));
    }
    page(conn, query, after, limit).await
}

/// Keyset pagination by path: the rows of `query` after the path `after`, at most `limit`.
async fn page<C: ConnectionTrait>(
    conn: &C,
    mut query: sea_orm::Select<Entity>,
    after: Option<&str>,
    limit: u64,
) -> Result<Vec<OrgUnit>, DbError> {
    if let Some(after) = after {
        query = query.filter(Column::Path.gt(after));
    }
    to_units(
        query
            .order_by_asc(Column::Path)
            .limit(limit)
            .all(conn)
            .await,
    )
}

/// Rows to units, classifying a database error.
fn to_units(rows: Result<Vec<Model>, sea_orm::DbErr>) -> Result<Vec<OrgUnit>, DbError> {
    rows.map_err(classify)?
        .into_iter()
        .map(OrgUnit::try_from)
        .collect()
}

/// Every unit of `kind` (for the circle index: courtyards).
pub async fn all_of_kind<C: ConnectionTrait>(
    conn: &C,
    kind: UnitKind,
) -> Result<Vec<OrgUnit>, DbError> {
    Entity::find()
        .filter(Column::Kind.eq(kind.as_str()))
        .order_by_asc(Column::Path)
        .all(conn)
        .await
        .map_err(classify)?
        .into_iter()
        .map(OrgUnit::try_from)
        .collect()
}

/// Renames a unit.
pub async fn set_name<C: ConnectionTrait>(
    conn: &C,
    id: OrgUnitId,
    name: &str,
) -> Result<(), DbError> {
    Entity::update_many()
        .col_expr(Column::Name, name.into())
        .filter(Column::Id.eq(id.0))
        .exec(conn)
        .await
        .map_err(classify)?;
    Ok(())
}

/// Moves the unit at `old_path` (and its whole subtree) to `new_path` under `new_parent`.
pub async fn move_subtree<C: ConnectionTrait>(
    conn: &C,
    id: OrgUnitId,
    new_parent: OrgUnitId,
    old_path: &str,
    new_path: &str,
) -> Result<u64, DbError> {
    use sea_orm::{Statement, Value};
    Entity::update_many()
        .col_expr(Column::ParentId, Some(new_parent.0).into())
        .filter(Column::Id.eq(id.0))
        .exec(conn)
        .await
        .map_err(classify)?;
    // Rewrite the prefix of every path in the subtree; `||` and substr are the same in
    // PostgreSQL and SQLite.
    let sql = match conn.get_database_backend() {
        sea_orm::DbBackend::Postgres => {
            "UPDATE org_units SET path = $1 || substr(path, $2) WHERE path = $3 OR path LIKE $4"
        }
        _ => "UPDATE org_units SET path = ?1 || substr(path, ?2) WHERE path = ?3 OR path LIKE ?4",
    };
    let values: Vec<Value> = vec![
        new_path.into(),
        i32::try_from(old_path.chars().count() + 1)
            .unwrap_or(i32::MAX)
            .into(),
        old_path.into(),
        format!("{old_path}/%").into(),
    ];
    let result = conn
        .execute_raw(Statement::from_sql_and_values(
            conn.get_database_backend(),
            sql,
            values,
        ))
        .await
        .map_err(classify)?;
    Ok(result.rows_affected())
}

/// Every unit, ordered by path (demo seeding and tools; a district has a few hundred).
pub async fn all<C: ConnectionTrait>(conn: &C) -> Result<Vec<OrgUnit>, DbError> {
    Entity::find()
        .order_by_asc(Column::Path)
        .all(conn)
        .await
        .map_err(classify)?
        .into_iter()
        .map(OrgUnit::try_from)
        .collect()
}
