//! `unit_arrivals`: per unit, how many orders have arrived at it (placed at it or escalated
//! to it). Taking the next place locks the unit's row until the transaction ends, so places
//! are handed out in commit order with no gap: a console that saw place N and then N+2
//! knows it missed one, and a console resuming after N misses nothing committed later.

use sea_orm::sea_query::{Expr, ExprTrait, OnConflict, Query};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use tongxin_platform::db::{DbError, classify};
use uuid::Uuid;

mod entity {
    use sea_orm::entity::prelude::*;

    /// One unit's count.
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "unit_arrivals")]
    pub struct Model {
        /// The unit.
        #[sea_orm(primary_key, auto_increment = false)]
        pub unit_id: Uuid,
        /// The last place handed out.
        pub last: i64,
    }

    /// No relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

use entity::{Column, Entity};

/// The next place at `unit` (1 for its first arrival), inside the caller's transaction.
pub async fn next<C: ConnectionTrait>(conn: &C, unit: Uuid) -> Result<i64, DbError> {
    let upsert = Query::insert()
        .into_table(Entity)
        .columns([Column::UnitId, Column::Last])
        .values_panic([unit.into(), 1i64.into()])
        .on_conflict(
            OnConflict::column(Column::UnitId)
                .value(Column::Last, Expr::col((Entity, Column::Last)).add(1))
                .to_owned(),
        )
        .returning_col(Column::Last)
        .to_owned();
    let row = conn
        .query_one(&upsert)
        .await
        .map_err(classify)?
        .ok_or_else(|| DbError::Other("unit_arrivals upsert returned no row".into()))?;
    row.try_get::<i64>("", "last").map_err(classify)
}

/// Sets the last place handed out at `unit` (bulk loading a history, whose timeline
/// numbered its arrivals itself).
pub async fn set_last<C: ConnectionTrait>(conn: &C, unit: Uuid, last: i64) -> Result<(), DbError> {
    let upsert = Query::insert()
        .into_table(Entity)
        .columns([Column::UnitId, Column::Last])
        .values_panic([unit.into(), last.into()])
        .on_conflict(
            OnConflict::column(Column::UnitId)
                .update_column(Column::Last)
                .to_owned(),
        )
        .to_owned();
    conn.execute(&upsert).await.map_err(classify)?;
    Ok(())
}

/// The last place handed out at `unit` (0: none yet).
pub async fn last<C: ConnectionTrait>(conn: &C, unit: Uuid) -> Result<i64, DbError> {
    Ok(Entity::find()
        .filter(Column::UnitId.eq(unit))
        .one(conn)
        .await
        .map_err(classify)?
        .map_or(0, |row| row.last))
}
