//! `unit_notices`: what the unit's staff are told besides orders, today the missed cadence
//! periods venues announces (`tongxin.venues.cadence_missed`). One row per (unit, kind,
//! period): the unique index makes a second announcement of the same miss (a redelivery
//! with a new event id, or a second scheduler replica) a no-op.

use chrono::{DateTime, Utc};
use sea_orm::entity::prelude::*;
use sea_orm::sea_query::OnConflict;
use sea_orm::{Condition, ConnectionTrait, QueryOrder, QuerySelect};
use tongxin_platform::db::{DbError, classify};

/// One notice.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "unit_notices")]
pub struct Model {
    /// UUIDv7 (time-ordered: the listing's order and cursor).
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The event that announced it.
    pub event_id: Uuid,
    /// The unit that missed.
    pub unit_id: Uuid,
    /// Its path.
    pub unit_path: String,
    /// `visits` or `activities`.
    pub kind: String,
    /// First day of the period, the district's local date (YYYY-MM-DD).
    pub period_start: String,
    /// The day after its last, exclusive.
    pub period_end: String,
    /// What the rule asked for.
    pub required: i32,
    /// What was recorded.
    pub done: i32,
    /// Consecutive missed periods, this one included.
    pub streak: i32,
    /// When this service learnt it.
    pub received_at: DateTime<Utc>,
}

/// No relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// Stores a notice unless the same (unit, kind, period) is stored; whether it was new.
pub async fn insert_once<C: ConnectionTrait>(conn: &C, row: Model) -> Result<bool, DbError> {
    let inserted = Entity::insert(ActiveModel::from(row).reset_all())
        .on_conflict(
            OnConflict::columns([Column::UnitId, Column::Kind, Column::PeriodStart])
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(conn)
        .await
        .map_err(classify)?;
    Ok(inserted > 0)
}

/// Notices of units at or below `path`, newest first, after the cursor `before` (an id),
/// `limit + 1` rows so the caller knows whether more follow.
pub async fn under<C: ConnectionTrait>(
    conn: &C,
    path: &str,
    before: Option<Uuid>,
    limit: u64,
) -> Result<Vec<Model>, DbError> {
    let mut cond = Condition::all().add(
        Condition::any()
            .add(Column::UnitPath.eq(path))
            .add(Column::UnitPath.starts_with(format!("{path}/"))),
    );
    if let Some(b) = before {
        cond = cond.add(Column::Id.lt(b));
    }
    Entity::find()
        .filter(cond)
        .order_by_desc(Column::Id)
        .limit(limit + 1)
        .all(conn)
        .await
        .map_err(classify)
}
