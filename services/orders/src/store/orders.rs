//! The `orders` table. The contact phone is AES-GCM ciphertext; lists (chain, dispatched,
//! accepted, declined volunteers, hours, photos, form answers) are JSON text so one row is
//! one order on both PostgreSQL and SQLite.
//!
//! Every change after placement is [`update_if_version`]: a conditional UPDATE on
//! `(id, version)`, so of two racing moves exactly one changes the row.

use chrono::{DateTime, Utc};
use sea_orm::entity::prelude::*;
use sea_orm::sea_query::{Expr, ExprTrait, LockBehavior, LockType};
use sea_orm::{Condition, ConnectionTrait, DbBackend, QueryOrder, QuerySelect};
use tongxin_platform::db::{DbError, classify};
use tongxin_platform::geo::{BoundingBox, Coordinates, METRES_PER_DEGREE};

/// One order as stored.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "orders")]
pub struct Model {
    /// UUIDv7.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Public number shown to the citizen.
    #[sea_orm(unique)]
    pub order_no: String,
    /// The placing citizen's subject.
    pub citizen: String,
    /// The citizen's idempotency key; (citizen, key) is unique.
    pub idempotency_key: String,
    /// Menu category.
    pub category_code: String,
    /// What the citizen needs.
    pub description: String,
    /// JSON object of form answers.
    pub form: String,
    /// Latitude of the service location.
    pub lat: f64,
    /// Longitude.
    pub lon: f64,
    /// When the citizen would like it.
    pub preferred_at: Option<DateTime<Utc>>,
    /// AES-GCM ciphertext of the contact phone.
    pub phone_cipher: Vec<u8>,
    /// JSON array of photo URLs.
    pub photos: String,
    /// Current state.
    pub state: String,
    /// Bumped by every move; the condition of every UPDATE.
    pub version: i64,
    /// District code.
    pub district: String,
    /// The courtyard routing found, if any.
    pub courtyard_id: Option<Uuid>,
    /// JSON array of the chain from the routed unit up to the center.
    pub chain: String,
    /// Index of the holding unit in `chain`.
    pub holding: i32,
    /// Holding unit id (denormalised from `chain` for queries).
    pub holding_unit_id: Uuid,
    /// Holding unit path.
    pub holding_unit_path: String,
    /// Holding level.
    pub holding_level: String,
    /// Path of the first unit of the chain (where the order was routed).
    pub routed_path: String,
    /// Why routing did what it did, when not the usual.
    pub routing_note: String,
    /// An earlier order of the same category within 100 m and 24 h.
    pub duplicate_of: Option<Uuid>,
    /// JSON array of volunteer ids still dispatched.
    pub dispatched: String,
    /// Dispatched team.
    pub team_id: Option<Uuid>,
    /// JSON array of volunteer ids who accepted.
    pub accepted: String,
    /// JSON array of volunteer ids who declined.
    pub declined: String,
    /// JSON array of `{volunteer_id, hours}`.
    pub hours: String,
    /// 1..=5 once rated.
    pub rating: Option<i16>,
    /// The rating's comment.
    pub rating_comment: Option<String>,
    /// Why the citizen cancelled.
    pub cancel_reason: Option<String>,
    /// When placed.
    pub placed_at: DateTime<Utc>,
    /// Last move.
    pub updated_at: DateTime<Utc>,
    /// The holding level's receive deadline while it awaits receipt.
    pub deadline_at: Option<DateTime<Utc>>,
    /// When to remind the holding unit (once), while it awaits receipt.
    pub remind_at: Option<DateTime<Utc>>,
    /// When the overdue alert went out at the center (once).
    pub alerted_at: Option<DateTime<Utc>>,
}

/// No relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// Inserts a new order; a repeated (citizen, idempotency key) is [`DbError::Conflict`].
pub async fn insert<C: ConnectionTrait>(conn: &C, row: Model) -> Result<(), DbError> {
    Entity::insert(ActiveModel::from(row).reset_all())
        .exec_without_returning(conn)
        .await
        .map_err(classify)?;
    Ok(())
}

/// One order.
pub async fn get<C: ConnectionTrait>(conn: &C, id: Uuid) -> Result<Option<Model>, DbError> {
    Entity::find_by_id(id).one(conn).await.map_err(classify)
}

/// Orders by id, one query.
pub async fn get_many<C: ConnectionTrait>(conn: &C, ids: &[Uuid]) -> Result<Vec<Model>, DbError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Entity::find()
        .filter(Column::Id.is_in(ids.iter().copied()))
        .all(conn)
        .await
        .map_err(classify)
}

/// The citizen's order placed with `key`.
pub async fn by_idempotency<C: ConnectionTrait>(
    conn: &C,
    citizen: &str,
    key: &str,
) -> Result<Option<Model>, DbError> {
    Entity::find()
        .filter(Column::Citizen.eq(citizen))
        .filter(Column::IdempotencyKey.eq(key))
        .one(conn)
        .await
        .map_err(classify)
}

/// Writes `row` if the stored version is still `expected`; `false` when another move got
/// there first (nothing changed).
pub async fn update_if_version<C: ConnectionTrait>(
    conn: &C,
    row: &Model,
    expected: i64,
) -> Result<bool, DbError> {
    let result = Entity::update_many()
        .set(ActiveModel::from(row.clone()).reset_all())
        .filter(Column::Id.eq(row.id))
        .filter(Column::Version.eq(expected))
        .exec(conn)
        .await
        .map_err(classify)?;
    Ok(result.rows_affected == 1)
}

/// The earliest order of `category` placed since `since` within `radius_m` of `point` and
/// not cancelled. This runs on every placement, so it reads one id and stops at the first
/// match.
///
/// The distance is the flat-earth (equirectangular) one, plain arithmetic so the same filter
/// runs on PostgreSQL and SQLite. Over 100 m it differs from the great-circle distance by
/// about a millimetre at most, which is nothing next to a "likely duplicate" hint.
pub async fn earliest_nearby<C: ConnectionTrait>(
    conn: &C,
    category: &str,
    since: DateTime<Utc>,
    point: Coordinates,
    radius_m: f64,
) -> Result<Option<Uuid>, DbError> {
    // The box lets an index on the coordinates narrow the search; the circle decides.
    let b = BoundingBox::around(point, radius_m);
    let lon_scale = point.lat().to_radians().cos();
    let dlat = Expr::col(Column::Lat).sub(point.lat());
    let dlon = Expr::col(Column::Lon).sub(point.lon()).mul(lon_scale);
    let radius_deg = radius_m / METRES_PER_DEGREE;
    Entity::find()
        .select_only()
        .column(Column::Id)
        .filter(Column::CategoryCode.eq(category))
        .filter(Column::PlacedAt.gte(since))
        .filter(Column::Lat.between(b.min_lat(), b.max_lat()))
        .filter(Column::Lon.between(b.min_lon(), b.max_lon()))
        .filter(
            dlat.clone()
                .mul(dlat)
                .add(dlon.clone().mul(dlon))
                .lte(radius_deg * radius_deg),
        )
        .filter(Column::State.ne("cancelled"))
        .order_by_asc(Column::PlacedAt)
        .into_tuple::<Uuid>()
        .one(conn)
        .await
        .map_err(classify)
}

/// What a unit list asks for.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Held by this unit or below, or routed from below it.
    pub under: Option<String>,
    /// Placed by this citizen.
    pub citizen: Option<String>,
    /// Only these states (empty: all).
    pub states: Vec<String>,
    /// Only this category.
    pub category: Option<String>,
    /// Only orders whose receive deadline has passed at `now`.
    pub overdue_at: Option<DateTime<Utc>>,
    /// Placed at or after.
    pub from: Option<DateTime<Utc>>,
    /// Placed before.
    pub to: Option<DateTime<Utc>>,
}

/// Up to `limit` orders matching `filter`, newest first, after id `after` (ids are UUIDv7,
/// so they sort by placement time).
pub async fn list<C: ConnectionTrait>(
    conn: &C,
    filter: &Filter,
    after: Option<Uuid>,
    limit: u64,
) -> Result<Vec<Model>, DbError> {
    let mut cond = Condition::all();
    if let Some(path) = &filter.under {
        let below = format!("{path}/");
        cond = cond.add(
            Condition::any()
                .add(Column::HoldingUnitPath.eq(path.as_str()))
                .add(Column::HoldingUnitPath.starts_with(&below))
                .add(Column::RoutedPath.eq(path.as_str()))
                .add(Column::RoutedPath.starts_with(&below)),
        );
    }
    if let Some(citizen) = &filter.citizen {
        cond = cond.add(Column::Citizen.eq(citizen.as_str()));
    }
    if !filter.states.is_empty() {
        cond = cond.add(Column::State.is_in(filter.states.iter().cloned()));
    }
    if let Some(category) = &filter.category {
        cond = cond.add(Column::CategoryCode.eq(category.as_str()));
    }
    if let Some(now) = filter.overdue_at {
        cond = cond.add(Column::DeadlineAt.lte(now));
    }
    if let Some(from) = filter.from {
        cond = cond.add(Column::PlacedAt.gte(from));
    }
    if let Some(to) = filter.to {
        cond = cond.add(Column::PlacedAt.lt(to));
    }
    if let Some(after) = after {
        cond = cond.add(Column::Id.lt(after));
    }
    Entity::find()
        .filter(cond)
        .order_by_desc(Column::Id)
        .limit(limit)
        .all(conn)
        .await
        .map_err(classify)
}

/// Claims up to `limit` orders whose receive deadline passed at `now` and that still need
/// the scheduler (not at the center with its alert already sent). On PostgreSQL the rows
/// stay locked by the caller's transaction and rows another replica holds are skipped
/// (`FOR UPDATE SKIP LOCKED`), so each overdue order is handled by one replica.
pub async fn claim_overdue<C: ConnectionTrait>(
    conn: &C,
    now: DateTime<Utc>,
    limit: u64,
) -> Result<Vec<Model>, DbError> {
    let mut query = Entity::find()
        .filter(Column::State.is_in(["placed", "escalated"]))
        .filter(Column::DeadlineAt.lte(now))
        .filter(
            Condition::any()
                .add(Column::HoldingLevel.ne("center"))
                .add(Column::AlertedAt.is_null()),
        )
        .order_by_asc(Column::DeadlineAt)
        .limit(limit);
    if conn.get_database_backend() == DbBackend::Postgres {
        query = query.lock_with_behavior(LockType::Update, LockBehavior::SkipLocked);
    }
    query.all(conn).await.map_err(classify)
}

/// Claims up to `limit` orders whose reminder is due (same locking as [`claim_overdue`]).
pub async fn claim_reminders<C: ConnectionTrait>(
    conn: &C,
    now: DateTime<Utc>,
    limit: u64,
) -> Result<Vec<Model>, DbError> {
    let mut query = Entity::find()
        .filter(Column::State.is_in(["placed", "escalated"]))
        .filter(Column::RemindAt.lte(now))
        .order_by_asc(Column::RemindAt)
        .limit(limit);
    if conn.get_database_backend() == DbBackend::Postgres {
        query = query.lock_with_behavior(LockType::Update, LockBehavior::SkipLocked);
    }
    query.all(conn).await.map_err(classify)
}
