//! `known_units`: org units (owned by venues) this service has learnt, id → path and level.
//! Staff scopes are resolved against it. It learns units from routing (every `Ancestors`
//! answer), from the venues unit events, and on a miss from venues `GetUnit`.

use sea_orm::entity::prelude::*;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveValue::Set, ConnectionTrait};
use tongxin_platform::db::{DbError, classify};

/// One known unit.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "known_units")]
pub struct Model {
    /// The unit id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Its path.
    pub path: String,
    /// Its level.
    pub level: String,
}

/// No relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// Records (or updates) unit `id`.
pub async fn remember<C: ConnectionTrait>(
    conn: &C,
    id: Uuid,
    path: &str,
    level: &str,
) -> Result<(), DbError> {
    Entity::insert(ActiveModel {
        id: Set(id),
        path: Set(path.to_owned()),
        level: Set(level.to_owned()),
    })
    .on_conflict(
        OnConflict::column(Column::Id)
            .update_columns([Column::Path, Column::Level])
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
    units: &[(Uuid, &str, &str)],
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
            .any(|k| k.id == id && k.path == path && k.level == level);
        if !same {
            remember(conn, id, path, level).await?;
        }
    }
    Ok(())
}

/// Unit `id`, if known.
pub async fn get<C: ConnectionTrait>(conn: &C, id: Uuid) -> Result<Option<Model>, DbError> {
    Entity::find_by_id(id).one(conn).await.map_err(classify)
}

/// The unit at `path`, if known.
pub async fn by_path<C: ConnectionTrait>(conn: &C, path: &str) -> Result<Option<Model>, DbError> {
    Entity::find()
        .filter(Column::Path.eq(path))
        .one(conn)
        .await
        .map_err(classify)
}

/// Rewrites the known paths below `old` to lie below `new` (a unit was moved).
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
        if let Some(rest) = unit.path.strip_prefix(old) {
            remember(conn, unit.id, &format!("{new}{rest}"), &unit.level).await?;
        }
    }
    Ok(())
}
