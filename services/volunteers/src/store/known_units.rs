//! `known_units`: org units (owned by venues) this service has learnt, id → path. Staff
//! scopes are resolved against it.
//!
//! It learns units from the venues events `unit_created` / `unit_updated` (the
//! `volunteers-known-units` consumer) and through [`remember`] (seeding, `tongxin run`).

use sea_orm::entity::prelude::*;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveValue::Set, ConnectionTrait};
use tongxin_platform::db::{DbError, classify};

/// One known unit.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "known_units")]
pub struct Model {
    /// The unit id (as venues issued it).
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Its path, e.g. `/rc/changyuan/hongqiao`.
    pub path: String,
}

/// No relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// Records (or updates) the path of unit `id`.
pub async fn remember<C: ConnectionTrait>(conn: &C, id: Uuid, path: &str) -> Result<(), DbError> {
    Entity::insert(ActiveModel {
        id: Set(id),
        path: Set(path.to_owned()),
    })
    .on_conflict(
        OnConflict::column(Column::Id)
            .update_column(Column::Path)
            .to_owned(),
    )
    .exec_without_returning(conn)
    .await
    .map_err(classify)?;
    Ok(())
}

/// The path of unit `id`, if known.
pub async fn path_of<C: ConnectionTrait>(conn: &C, id: Uuid) -> Result<Option<String>, DbError> {
    Ok(Entity::find_by_id(id)
        .one(conn)
        .await
        .map_err(classify)?
        .map(|m| m.path))
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
        let Some(rest) = unit.path.strip_prefix(old) else {
            continue;
        };
        remember(conn, unit.id, &format!("{new}{rest}")).await?;
    }
    Ok(())
}

/// Moves what hangs on the unit at `old` and below it to lie at `new`: the volunteers' home
/// unit paths and the teams' unit paths, which staff scopes are checked against. Issued
/// proofs keep the path they were issued under (a record of the past).
pub async fn move_members<C: ConnectionTrait>(
    conn: &C,
    old: &str,
    new: &str,
) -> Result<(), DbError> {
    for (table, column) in [("volunteers", "home_unit_path"), ("teams", "unit_path")] {
        // Keep the part below the moved unit: SUBSTR from the character after `old`.
        let sql = format!(
            "UPDATE {table} SET {column} = $1 || SUBSTR({column}, $2) \
             WHERE {column} = $3 OR {column} LIKE $4 ESCAPE '\\'"
        );
        let after_old = i32::try_from(old.chars().count() + 1)
            .map_err(|_| DbError::Other("unit path too long".to_owned()))?;
        conn.execute_raw(sea_orm::Statement::from_sql_and_values(
            conn.get_database_backend(),
            sql,
            [
                new.into(),
                after_old.into(),
                old.into(),
                super::ledger::like_prefix(old).into(),
            ],
        ))
        .await
        .map_err(classify)?;
    }
    Ok(())
}
