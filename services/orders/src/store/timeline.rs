//! `order_timeline`: one append-only row per move (actor, role, level, unit, time, note).
//! Nothing updates or deletes it.

use chrono::{DateTime, Utc};
use sea_orm::entity::prelude::*;
use sea_orm::{ConnectionTrait, QueryOrder};
use tongxin_platform::db::{DbError, classify};

use super::columns::State;
use crate::domain::Level;

/// One move.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "order_timeline")]
pub struct Model {
    /// UUIDv7: ordered by time.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The order.
    pub order_id: Uuid,
    /// State before; none for the placement.
    pub from_state: Option<State>,
    /// State after.
    pub to_state: State,
    /// The move (`placed`, `received`, …, `reminder`, `overdue_alert`).
    pub event: String,
    /// Principal subject or `scheduler`.
    pub actor: String,
    /// citizen, staff, volunteer, scheduler.
    pub role: String,
    /// The unit holding the order after the move.
    pub unit_id: Uuid,
    /// Its path.
    pub unit_path: String,
    /// Its level.
    pub level: Level,
    /// Reason or note.
    pub note: String,
    /// When.
    pub at: DateTime<Utc>,
}

/// No relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// Appends a row.
pub async fn append<C: ConnectionTrait>(conn: &C, row: Model) -> Result<(), DbError> {
    Entity::insert(ActiveModel::from(row).reset_all())
        .exec_without_returning(conn)
        .await
        .map_err(classify)?;
    Ok(())
}

/// The rows of one order, oldest first.
pub async fn of_order<C: ConnectionTrait>(conn: &C, order: Uuid) -> Result<Vec<Model>, DbError> {
    Entity::find()
        .filter(Column::OrderId.eq(order))
        .order_by_asc(Column::Id)
        .all(conn)
        .await
        .map_err(classify)
}
