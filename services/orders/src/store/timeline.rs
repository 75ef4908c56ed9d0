//! `order_timeline`: one append-only row per move (actor, role, level, unit, time, note).
//! Nothing updates or deletes it.

use chrono::{DateTime, Utc};
use sea_orm::entity::prelude::*;
use sea_orm::{ConnectionTrait, QueryOrder, QuerySelect};
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
    /// The order's version after the move (a notice: the version it was raised at).
    pub version: i64,
    /// On an arrival at `unit_id` (placed there, escalated there): its place among that
    /// unit's arrivals, from [`super::arrivals::next`].
    pub arrival: Option<i64>,
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

/// The rows of one order after version `after`, in order (a version's notices follow the
/// move that made it).
pub async fn of_order_after<C: ConnectionTrait>(
    conn: &C,
    order: Uuid,
    after: i64,
) -> Result<Vec<Model>, DbError> {
    Entity::find()
        .filter(Column::OrderId.eq(order))
        .filter(Column::Version.gt(after))
        .order_by_asc(Column::Version)
        .order_by_asc(Column::Id)
        .all(conn)
        .await
        .map_err(classify)
}

/// The latest version of an order on its timeline (0: no such order).
pub async fn latest_version<C: ConnectionTrait>(conn: &C, order: Uuid) -> Result<i64, DbError> {
    Ok(Entity::find()
        .filter(Column::OrderId.eq(order))
        .order_by_desc(Column::Version)
        .one(conn)
        .await
        .map_err(classify)?
        .map_or(0, |row| row.version))
}

/// At most `limit` arrivals at `unit` after place `after`, in order.
pub async fn arrivals_after<C: ConnectionTrait>(
    conn: &C,
    unit: Uuid,
    after: i64,
    limit: u64,
) -> Result<Vec<Model>, DbError> {
    Entity::find()
        .filter(Column::UnitId.eq(unit))
        .filter(Column::Arrival.gt(after))
        .order_by_asc(Column::Arrival)
        .limit(limit)
        .all(conn)
        .await
        .map_err(classify)
}

/// The arrivals at `unit` of the given orders (their latest at it, if several).
pub async fn arrivals_of<C: ConnectionTrait>(
    conn: &C,
    unit: Uuid,
    orders: &[Uuid],
) -> Result<Vec<Model>, DbError> {
    Entity::find()
        .filter(Column::UnitId.eq(unit))
        .filter(Column::OrderId.is_in(orders.iter().copied()))
        .filter(Column::Arrival.is_not_null())
        .order_by_asc(Column::Arrival)
        .all(conn)
        .await
        .map_err(classify)
}
