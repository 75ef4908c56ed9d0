//! Each volunteer's current load and ratings (`volunteer_load`), and the per-order
//! assignments behind them (`order_assignments`), kept by the order-events consumer.
//!
//! Every change is a conditional statement on one row, so two replicas applying events for
//! the same volunteer at once cannot lose an update, and applying a state that is already
//! there (an order accepted twice) changes nothing.

use chrono::{DateTime, Utc};
use sea_orm::entity::prelude::*;
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{ActiveValue::Set, ConnectionTrait, QuerySelect};
use tongxin_platform::db::{DbError, classify};

/// `volunteer_load`: one row per volunteer that has ever been assigned or rated.
pub mod volunteer_load {
    use sea_orm::entity::prelude::*;

    /// Open assignments and the rating sum/count of one volunteer.
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "volunteer_load")]
    pub struct Model {
        /// The volunteer.
        #[sea_orm(primary_key, auto_increment = false)]
        pub volunteer_id: Uuid,
        /// Orders accepted and not yet completed or cancelled.
        pub open_assignments: i32,
        /// Sum of the stars of every rating.
        pub rating_sum: i64,
        /// Number of ratings.
        pub rating_count: i32,
        /// When it last changed; replicas refresh their index by it.
        pub updated_at: ChronoDateTimeUtc,
    }

    /// No relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// `order_assignments`: whether a volunteer's assignment on an order is open, and whether
/// its rating was counted.
pub mod order_assignments {
    use sea_orm::entity::prelude::*;

    /// One volunteer on one order.
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "order_assignments")]
    pub struct Model {
        /// The order (owned by the orders service).
        #[sea_orm(primary_key, auto_increment = false)]
        pub order_id: Uuid,
        /// The volunteer.
        #[sea_orm(primary_key, auto_increment = false)]
        pub volunteer_id: Uuid,
        /// Accepted and not yet completed, cancelled or given back.
        pub open: bool,
        /// The order's rating was added to the volunteer's ratings.
        pub rated: bool,
    }

    /// No relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

use order_assignments as oa;
use volunteer_load as vl;

/// Marks the assignment open; true when it was not open before (the load grows by one).
pub async fn open<C: ConnectionTrait>(
    conn: &C,
    order: Uuid,
    volunteer: Uuid,
) -> Result<bool, DbError> {
    let inserted = oa::Entity::insert(oa::ActiveModel {
        order_id: Set(order),
        volunteer_id: Set(volunteer),
        open: Set(true),
        rated: Set(false),
    })
    .on_conflict(
        OnConflict::columns([oa::Column::OrderId, oa::Column::VolunteerId])
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(conn)
    .await
    .map_err(classify)?;
    if inserted > 0 {
        return Ok(true);
    }
    let reopened = oa::Entity::update_many()
        .col_expr(oa::Column::Open, Expr::value(true))
        .filter(oa::Column::OrderId.eq(order))
        .filter(oa::Column::VolunteerId.eq(volunteer))
        .filter(oa::Column::Open.eq(false))
        .exec(conn)
        .await
        .map_err(classify)?;
    Ok(reopened.rows_affected > 0)
}

/// Marks the assignment closed; true when it was open (the load shrinks by one).
pub async fn close<C: ConnectionTrait>(
    conn: &C,
    order: Uuid,
    volunteer: Uuid,
) -> Result<bool, DbError> {
    let closed = oa::Entity::update_many()
        .col_expr(oa::Column::Open, Expr::value(false))
        .filter(oa::Column::OrderId.eq(order))
        .filter(oa::Column::VolunteerId.eq(volunteer))
        .filter(oa::Column::Open.eq(true))
        .exec(conn)
        .await
        .map_err(classify)?;
    Ok(closed.rows_affected > 0)
}

/// Marks the order's rating as counted for the volunteer; true the first time.
pub async fn mark_rated<C: ConnectionTrait>(
    conn: &C,
    order: Uuid,
    volunteer: Uuid,
) -> Result<bool, DbError> {
    let inserted = oa::Entity::insert(oa::ActiveModel {
        order_id: Set(order),
        volunteer_id: Set(volunteer),
        open: Set(false),
        rated: Set(true),
    })
    .on_conflict(
        OnConflict::columns([oa::Column::OrderId, oa::Column::VolunteerId])
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(conn)
    .await
    .map_err(classify)?;
    if inserted > 0 {
        return Ok(true);
    }
    let marked = oa::Entity::update_many()
        .col_expr(oa::Column::Rated, Expr::value(true))
        .filter(oa::Column::OrderId.eq(order))
        .filter(oa::Column::VolunteerId.eq(volunteer))
        .filter(oa::Column::Rated.eq(false))
        .exec(conn)
        .await
        .map_err(classify)?;
    Ok(marked.rows_affected > 0)
}

/// Volunteers on `order` with an open assignment.
pub async fn open_on<C: ConnectionTrait>(conn: &C, order: Uuid) -> Result<Vec<Uuid>, DbError> {
    oa::Entity::find()
        .select_only()
        .column(oa::Column::VolunteerId)
        .filter(oa::Column::OrderId.eq(order))
        .filter(oa::Column::Open.eq(true))
        .into_tuple::<Uuid>()
        .all(conn)
        .await
        .map_err(classify)
}

/// Every volunteer ever on `order`.
pub async fn all_on<C: ConnectionTrait>(conn: &C, order: Uuid) -> Result<Vec<Uuid>, DbError> {
    oa::Entity::find()
        .select_only()
        .column(oa::Column::VolunteerId)
        .filter(oa::Column::OrderId.eq(order))
        .into_tuple::<Uuid>()
        .all(conn)
        .await
        .map_err(classify)
}

/// Adds `open_delta` to the open assignments (never below 0) and one rating of `stars`, in
/// one atomic statement on the row.
pub async fn bump<C: ConnectionTrait>(
    conn: &C,
    volunteer: Uuid,
    open_delta: i32,
    stars: Option<u8>,
    now: DateTime<Utc>,
) -> Result<(), DbError> {
    vl::Entity::insert(vl::ActiveModel {
        volunteer_id: Set(volunteer),
        open_assignments: Set(0),
        rating_sum: Set(0),
        rating_count: Set(0),
        updated_at: Set(now),
    })
    .on_conflict(
        OnConflict::column(vl::Column::VolunteerId)
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(conn)
    .await
    .map_err(classify)?;
    // The deltas are integers we computed, not caller text.
    let open = format!(
        "CASE WHEN open_assignments + ({open_delta}) < 0 THEN 0 ELSE open_assignments + ({open_delta}) END"
    );
    let (sum, count) = match stars {
        Some(s) => (i64::from(s), 1),
        None => (0, 0),
    };
    vl::Entity::update_many()
        .col_expr(vl::Column::OpenAssignments, Expr::cust(open))
        .col_expr(
            vl::Column::RatingSum,
            Expr::col(vl::Column::RatingSum).add(sum),
        )
        .col_expr(
            vl::Column::RatingCount,
            Expr::col(vl::Column::RatingCount).add(count),
        )
        .col_expr(vl::Column::UpdatedAt, Expr::value(now))
        .filter(vl::Column::VolunteerId.eq(volunteer))
        .exec(conn)
        .await
        .map_err(classify)?;
    Ok(())
}

/// One volunteer's load, if any.
pub async fn get<C: ConnectionTrait>(
    conn: &C,
    volunteer: Uuid,
) -> Result<Option<vl::Model>, DbError> {
    vl::Entity::find_by_id(volunteer)
        .one(conn)
        .await
        .map_err(classify)
}

/// Loads changed at or after `since` (every load without it).
pub async fn changed_since<C: ConnectionTrait>(
    conn: &C,
    since: Option<DateTime<Utc>>,
) -> Result<Vec<vl::Model>, DbError> {
    let mut q = vl::Entity::find();
    if let Some(since) = since {
        q = q.filter(vl::Column::UpdatedAt.gte(since));
    }
    q.all(conn).await.map_err(classify)
}

/// Loads of the given volunteers.
pub async fn of<C: ConnectionTrait>(conn: &C, ids: &[Uuid]) -> Result<Vec<vl::Model>, DbError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    vl::Entity::find()
        .filter(vl::Column::VolunteerId.is_in(ids.iter().copied()))
        .all(conn)
        .await
        .map_err(classify)
}
