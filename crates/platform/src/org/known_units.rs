//! `known_units`: the org units (owned by venues) a service has learnt, id → path and level.
//! Staff scopes are resolved against it.
//!
//! A service learns units from the venues org-tree events ([`super::consumer`]), and may also
//! remember them itself (orders from every routing chain and from venues `GetUnit` on a
//! miss; volunteers and orders when seeding). Each service creates the table in its own
//! migrations; this entity reads the columns both have (volunteers adds `name`, `lat`, `lon`,
//! which its own entity reads).

use sea_orm::entity::prelude::*;
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{ActiveValue::Set, ConnectionTrait};

use super::Level;
use crate::db::{DbError, classify};

/// One known unit.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "known_units")]
pub struct Model {
    /// The unit id, as venues issued it.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Its path, e.g. `/rc/changyuan/hongqiao`.
    pub path: String,
    /// Its level; `None` for a unit remembered by path alone (volunteers' seeding) and not
    /// yet announced by venues.
    pub level: Option<Level>,
}

/// No relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// Records (or updates) unit `id`. A `None` level leaves a known level as it is.
pub async fn remember<C: ConnectionTrait>(
    conn: &C,
    id: Uuid,
    path: &str,
    level: Option<Level>,
) -> Result<(), DbError> {
    let updated: &[Column] = match level {
        Some(_) => &[Column::Path, Column::Level],
        None => &[Column::Path],
    };
    Entity::insert(ActiveModel {
        id: Set(id),
        path: Set(path.to_owned()),
        level: Set(level),
    })
    .on_conflict(
        OnConflict::column(Column::Id)
            .update_columns(updated.iter().copied())
            .to_owned(),
    )
    .exec_without_returning(conn)
    .await
    .map_err(classify)?;
    Ok(())
}

/// Records the units of a routing chain, writing only those that are new or changed.
///
/// Every order's routing returns the same few chains, so almost always all are known as
/// they are; one read then replaces one upsert-and-commit per unit on the order path.
pub async fn remember_chain<C: ConnectionTrait>(
    conn: &C,
    units: &[(Uuid, &str, Level)],
) -> Result<(), DbError> {
    let ids: Vec<Uuid> = units.iter().map(|(id, _, _)| *id).collect();
    let known = Entity::find()
        .filter(Column::Id.is_in(ids))
        .all(conn)
        .await
        .map_err(classify)?;
    for &(id, path, level) in units {
        let same = known
            .iter()
            .any(|k| k.id == id && k.path == path && k.level == Some(level));
        if !same {
            remember(conn, id, path, Some(level)).await?;
        }
    }
    Ok(())
}

/// Unit `id`, if known.
pub async fn get<C: ConnectionTrait>(conn: &C, id: Uuid) -> Result<Option<Model>, DbError> {
    Entity::find_by_id(id).one(conn).await.map_err(classify)
}

/// The path of unit `id`, if known.
pub async fn path_of<C: ConnectionTrait>(conn: &C, id: Uuid) -> Result<Option<String>, DbError> {
    Ok(get(conn, id).await?.map(|m| m.path))
}

/// The unit at `path`, if known.
pub async fn by_path<C: ConnectionTrait>(conn: &C, path: &str) -> Result<Option<Model>, DbError> {
    Entity::find()
        .filter(Column::Path.eq(path))
        .one(conn)
        .await
        .map_err(classify)
}

/// Rewrites the known paths below `old` to lie below `new` (a unit was moved); levels stay.
pub async fn move_subtree<C: ConnectionTrait>(
    conn: &C,
    old: &str,
    new: &str,
) -> Result<(), DbError> {
    let below = Entity::find()
        .filter(Column::Path.starts_with(format!("{old}/")))
        .all(conn)
        .await
        .map_err(classify)?;
    for unit in below {
        let Some(rest) = unit.path.strip_prefix(old) else {
            continue;
        };
        Entity::update_many()
            .col_expr(Column::Path, Expr::value(format!("{new}{rest}")))
            .filter(Column::Id.eq(unit.id))
            .exec(conn)
            .await
            .map_err(classify)?;
    }
    Ok(())
}
