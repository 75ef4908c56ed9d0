//! The rows behind evaluation and ranking: timeline rows and current facts of the orders
//! that reached some units within a period, and the orders completed within a period.
//!
//! Two statements per question, both plain SQL that PostgreSQL and SQLite run alike (no
//! window functions, no JSON operators): the order ids come from a sub-select on the
//! timeline (`event IN ('placed','escalated')` = arrivals), the figures are computed in
//! [`crate::domain::metrics`].

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Query, SelectStatement};
use sea_orm::{ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};
use tongxin_platform::db::{DbError, classify};
use uuid::Uuid;

use super::columns::{HoursList, State};
use super::{orders, timeline};
use crate::domain::intake::Channel;
use crate::domain::metrics::{Completion, Move, OrderNow, Period};

/// Which arrivals a question is about.
#[derive(Debug, Clone)]
pub enum Units<'a> {
    /// One unit.
    One(Uuid),
    /// Every unit of `level` at or below `under` (a path).
    Level {
        /// `courtyard`, `station`, `institute`, `center`.
        level: &'a str,
        /// The scope path.
        under: &'a str,
    },
}

fn under(column: timeline::Column, path: &str) -> Condition {
    Condition::any()
        .add(column.eq(path))
        .add(column.starts_with(format!("{path}/")))
}

/// `SELECT DISTINCT order_id FROM order_timeline WHERE <arrival at units> AND at IN period`.
fn arrivals(units: &Units<'_>, period: Period) -> SelectStatement {
    let mut cond = Condition::all()
        .add(timeline::Column::Event.is_in(["placed", "escalated"]))
        .add(timeline::Column::At.gte(period.from))
        .add(timeline::Column::At.lt(period.to));
    cond = match units {
        Units::One(id) => cond.add(timeline::Column::UnitId.eq(*id)),
        Units::Level { level, under: path } => cond
            .add(timeline::Column::Level.eq(*level))
            .add(under(timeline::Column::UnitPath, path)),
    };
    Query::select()
        .distinct()
        .column(timeline::Column::OrderId)
        .from(timeline::Entity)
        .cond_where(cond)
        .to_owned()
}

/// The timeline rows and current facts of every order that reached `units` in `period`.
pub async fn arrived<C: ConnectionTrait>(
    conn: &C,
    units: &Units<'_>,
    period: Period,
) -> Result<(Vec<Move>, Vec<(Uuid, OrderNow)>), DbError> {
    type MoveRow = (Uuid, String, String, Uuid, String, String, DateTime<Utc>);
    let moves: Vec<MoveRow> = timeline::Entity::find()
        .select_only()
        .columns([
            timeline::Column::OrderId,
            timeline::Column::Event,
            timeline::Column::Role,
            timeline::Column::UnitId,
            timeline::Column::UnitPath,
            timeline::Column::Level,
            timeline::Column::At,
        ])
        .filter(timeline::Column::OrderId.in_subquery(arrivals(units, period)))
        .into_tuple()
        .all(conn)
        .await
        .map_err(classify)?;
    type OrderRow = (
        Uuid,
        State,
        Uuid,
        Option<DateTime<Utc>>,
        Option<i16>,
        String,
    );
    let orders: Vec<OrderRow> = orders::Entity::find()
        .select_only()
        .columns([
            orders::Column::Id,
            orders::Column::State,
            orders::Column::HoldingUnitId,
            orders::Column::DeadlineAt,
            orders::Column::Rating,
            orders::Column::Channel,
        ])
        .filter(orders::Column::Id.in_subquery(arrivals(units, period)))
        .into_tuple()
        .all(conn)
        .await
        .map_err(classify)?;
    let orders = orders
        .into_iter()
        .map(
            |(id, state, holding_unit_id, deadline_at, rating, channel)| {
                // A channel that does not parse fails the read, never counts as a default.
                let channel = Channel::parse(&channel).map_err(|_| {
                    tracing::error!(order_id = %id, "stored order channel does not parse");
                    DbError::Other("stored order does not parse".to_owned())
                })?;
                Ok((
                    id,
                    OrderNow {
                        state: state.into(),
                        holding_unit_id,
                        deadline_at,
                        rating,
                        channel,
                    },
                ))
            },
        )
        .collect::<Result<Vec<_>, DbError>>()?;
    Ok((
        moves
            .into_iter()
            .map(
                |(order_id, event, role, unit_id, unit_path, level, at)| Move {
                    order_id,
                    event,
                    role,
                    unit_id,
                    unit_path,
                    level,
                    at,
                },
            )
            .collect(),
        orders,
    ))
}

/// The orders completed in `period` at a unit at or below `under`: hours per volunteer and
/// the rating.
pub async fn completed<C: ConnectionTrait>(
    conn: &C,
    under_path: &str,
    period: Period,
) -> Result<Vec<Completion>, DbError> {
    let ids = Query::select()
        .distinct()
        .column(timeline::Column::OrderId)
        .from(timeline::Entity)
        .cond_where(
            Condition::all()
                .add(timeline::Column::Event.eq("completed"))
                .add(timeline::Column::At.gte(period.from))
                .add(timeline::Column::At.lt(period.to))
                .add(under(timeline::Column::UnitPath, under_path)),
        )
        .to_owned();
    let rows: Vec<(HoursList, Option<i16>)> = orders::Entity::find()
        .select_only()
        .columns([orders::Column::Hours, orders::Column::Rating])
        .filter(orders::Column::Id.in_subquery(ids))
        .into_tuple()
        .all(conn)
        .await
        .map_err(classify)?;
    Ok(rows
        .into_iter()
        .map(|(hours, rating)| Completion {
            hours: hours
                .0
                .into_iter()
                .map(|h| (h.volunteer_id, h.hours))
                .collect(),
            rating,
        })
        .collect())
}
