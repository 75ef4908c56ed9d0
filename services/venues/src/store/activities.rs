//! The `activities` and `activity_served_hours` tables and their queries.

use chrono::{DateTime, Utc};
use sea_orm::entity::prelude::*;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ActiveValue::Set, Condition, QueryOrder, QuerySelect};
use tongxin_platform::db::{DbError, classify};

use crate::domain::activity::{ActivityId, ActivityStatus, CountRow, ServedHours, Theme};
use crate::domain::org::OrgUnitId;
use crate::domain::venue::VenueId;
use crate::store::venues::{in_subtree, split_list};

/// One activity.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "activities")]
pub struct Model {
    /// Id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Title.
    pub title: String,
    /// Stored [`Theme`].
    pub theme: String,
    /// Label of a holiday or custom theme.
    pub theme_label: Option<String>,
    /// Where.
    pub venue_id: Uuid,
    /// Organising unit.
    pub org_unit_id: Uuid,
    /// Start.
    pub starts_at: ChronoDateTimeUtc,
    /// End.
    pub ends_at: ChronoDateTimeUtc,
    /// People it takes.
    pub capacity: i32,
    /// Newline-separated speakers.
    pub speakers: String,
    /// Newline-separated volunteer ids planned to serve.
    pub volunteer_ids: String,
    /// Stored [`ActivityStatus`].
    pub status: String,
    /// Why it was cancelled.
    pub cancel_reason: Option<String>,
    /// How many attended, once held.
    pub attendance: Option<i32>,
    /// When it was recorded held or cancelled.
    pub closed_at: Option<ChronoDateTimeUtc>,
    /// Who recorded it held or cancelled.
    pub closed_by: Option<String>,
    /// When created.
    pub created_at: ChronoDateTimeUtc,
    /// Who created it.
    pub created_by: String,
}

/// No declared relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// The `activity_served_hours` table: one row per volunteer who served at a held activity.
pub mod served {
    use sea_orm::entity::prelude::*;

    /// Hours one volunteer served at one activity.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "activity_served_hours")]
    pub struct Model {
        /// The activity.
        #[sea_orm(primary_key, auto_increment = false)]
        pub activity_id: Uuid,
        /// The volunteer (volunteers service id).
        #[sea_orm(primary_key, auto_increment = false)]
        pub volunteer_id: Uuid,
        /// Quarter hours served, 1 to 96.
        pub quarter_hours: i16,
    }

    /// No declared relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// An activity as the rest of the service sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Activity {
    /// Id.
    pub id: ActivityId,
    /// Title.
    pub title: String,
    /// Theme.
    pub theme: Theme,
    /// Label for holiday and custom themes.
    pub theme_label: Option<String>,
    /// Where.
    pub venue_id: VenueId,
    /// Organising unit.
    pub org_unit_id: OrgUnitId,
    /// Start.
    pub starts_at: DateTime<Utc>,
    /// End.
    pub ends_at: DateTime<Utc>,
    /// People it takes.
    pub capacity: u32,
    /// Speakers' names.
    pub speakers: Vec<String>,
    /// Volunteers planned to serve.
    pub volunteer_ids: Vec<Uuid>,
    /// Lifecycle state.
    pub status: ActivityStatus,
    /// Why it was cancelled.
    pub cancel_reason: Option<String>,
    /// How many attended, once held.
    pub attendance: Option<u32>,
}

impl TryFrom<Model> for Activity {
    type Error = DbError;
    fn try_from(row: Model) -> Result<Self, DbError> {
        let bad = |what: String| DbError::Other(format!("activities {}: {what}", row.id));
        Ok(Self {
            id: ActivityId(row.id),
            theme: Theme::parse_stored(&row.theme)
                .ok_or_else(|| bad(format!("unknown theme {:?}", row.theme)))?,
            status: ActivityStatus::parse_stored(&row.status)
                .ok_or_else(|| bad(format!("unknown status {:?}", row.status)))?,
            volunteer_ids: split_list(&row.volunteer_ids)
                .iter()
                .map(|v| Uuid::parse_str(v).map_err(|_| bad(format!("bad volunteer id {v:?}"))))
                .collect::<Result<_, _>>()?,
            title: row.title,
            theme_label: row.theme_label,
            venue_id: VenueId(row.venue_id),
            org_unit_id: OrgUnitId(row.org_unit_id),
            starts_at: row.starts_at,
            ends_at: row.ends_at,
            capacity: u32::try_from(row.capacity)
                .map_err(|_| bad(format!("negative capacity {}", row.capacity)))?,
            speakers: split_list(&row.speakers),
            cancel_reason: row.cancel_reason,
            attendance: row.attendance.and_then(|a| u32::try_from(a).ok()),
        })
    }
}

/// The row for `activity`, created by `actor`.
fn row(activity: &Activity, actor: &str) -> ActiveModel {
    let closed = activity.status != ActivityStatus::Planned;
    ActiveModel {
        id: Set(activity.id.0),
        title: Set(activity.title.clone()),
        theme: Set(activity.theme.as_str().to_owned()),
        theme_label: Set(activity.theme_label.clone()),
        venue_id: Set(activity.venue_id.0),
        org_unit_id: Set(activity.org_unit_id.0),
        starts_at: Set(activity.starts_at),
        ends_at: Set(activity.ends_at),
        capacity: Set(i32::try_from(activity.capacity).unwrap_or(i32::MAX)),
        speakers: Set(activity.speakers.join("\n")),
        volunteer_ids: Set(activity
            .volunteer_ids
            .iter()
            .map(Uuid::to_string)
            .collect::<Vec<_>>()
            .join("\n")),
        status: Set(activity.status.as_str().to_owned()),
        cancel_reason: Set(activity.cancel_reason.clone()),
        attendance: Set(activity.attendance.and_then(|a| i32::try_from(a).ok())),
        closed_at: Set(closed.then(Utc::now)),
        closed_by: Set(closed.then(|| actor.to_owned())),
        created_at: Set(Utc::now()),
        created_by: Set(actor.to_owned()),
    }
}

/// Inserts `activity`, created by `actor`, as it is (any status: seeding inserts held ones).
pub async fn insert<C: ConnectionTrait>(
    conn: &C,
    activity: &Activity,
    actor: &str,
) -> Result<(), DbError> {
    Entity::insert(row(activity, actor))
        .exec_without_returning(conn)
        .await
        .map_err(classify)?;
    Ok(())
}

/// Inserts many activities (demo seeding), in chunks that stay under SQLite's limit on
/// statement variables.
pub async fn insert_many<C: ConnectionTrait>(
    conn: &C,
    activities: &[Activity],
    actor: &str,
) -> Result<(), DbError> {
    for chunk in activities.chunks(400) {
        Entity::insert_many(chunk.iter().map(|a| row(a, actor)))
            .exec_without_returning(conn)
            .await
            .map_err(classify)?;
    }
    Ok(())
}

/// One activity by id.
pub async fn get<C: ConnectionTrait>(
    conn: &C,
    id: ActivityId,
) -> Result<Option<Activity>, DbError> {
    Entity::find_by_id(id.0)
        .one(conn)
        .await
        .map_err(classify)?
        .map(Activity::try_from)
        .transpose()
}

/// Several activities by id in one query, in no particular order.
pub async fn get_many<C: ConnectionTrait>(
    conn: &C,
    ids: &[ActivityId],
) -> Result<Vec<Activity>, DbError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Entity::find()
        .filter(Column::Id.is_in(ids.iter().map(|i| i.0)))
        .all(conn)
        .await
        .map_err(classify)?
        .into_iter()
        .map(Activity::try_from)
        .collect()
}

/// Moves a planned activity to held with its attendance. Conditional on the row still being
/// planned, so of two concurrent calls exactly one changes a row; returns whether this one did.
pub async fn mark_held<C: ConnectionTrait>(
    conn: &C,
    id: ActivityId,
    attendance: u32,
    actor: &str,
) -> Result<bool, DbError> {
    let result = Entity::update_many()
        .col_expr(Column::Status, Expr::value(ActivityStatus::Held.as_str()))
        .col_expr(
            Column::Attendance,
            Expr::value(i32::try_from(attendance).unwrap_or(i32::MAX)),
        )
        .col_expr(Column::ClosedAt, Expr::value(Utc::now()))
        .col_expr(Column::ClosedBy, Expr::value(actor))
        .filter(Column::Id.eq(id.0))
        .filter(Column::Status.eq(ActivityStatus::Planned.as_str()))
        .exec(conn)
        .await
        .map_err(classify)?;
    Ok(result.rows_affected == 1)
}

/// Moves a planned activity to cancelled with `reason`; conditional like [`mark_held`].
pub async fn mark_cancelled<C: ConnectionTrait>(
    conn: &C,
    id: ActivityId,
    reason: &str,
    actor: &str,
) -> Result<bool, DbError> {
    let result = Entity::update_many()
        .col_expr(
            Column::Status,
            Expr::value(ActivityStatus::Cancelled.as_str()),
        )
        .col_expr(Column::CancelReason, Expr::value(reason))
        .col_expr(Column::ClosedAt, Expr::value(Utc::now()))
        .col_expr(Column::ClosedBy, Expr::value(actor))
        .filter(Column::Id.eq(id.0))
        .filter(Column::Status.eq(ActivityStatus::Planned.as_str()))
        .exec(conn)
        .await
        .map_err(classify)?;
    Ok(result.rows_affected == 1)
}

/// Records the volunteers who served at `activity`.
pub async fn insert_served<C: ConnectionTrait>(
    conn: &C,
    activity: ActivityId,
    served: &[ServedHours],
) -> Result<(), DbError> {
    if served.is_empty() {
        return Ok(());
    }
    served::Entity::insert_many(served.iter().map(|s| served::ActiveModel {
        activity_id: Set(activity.0),
        volunteer_id: Set(s.volunteer_id),
        quarter_hours: Set(i16::from(s.quarter_hours)),
    }))
    .exec_without_returning(conn)
    .await
    .map_err(classify)?;
    Ok(())
}

/// The volunteers who served at each of `activities`, in one query.
pub async fn served_for<C: ConnectionTrait>(
    conn: &C,
    activities: &[ActivityId],
) -> Result<Vec<(ActivityId, ServedHours)>, DbError> {
    if activities.is_empty() {
        return Ok(Vec::new());
    }
    served::Entity::find()
        .filter(served::Column::ActivityId.is_in(activities.iter().map(|a| a.0)))
        .order_by_asc(served::Column::ActivityId)
        .order_by_asc(served::Column::VolunteerId)
        .all(conn)
        .await
        .map_err(classify)?
        .into_iter()
        .map(|row| {
            // A stored count that does not fit is our data's fault, never "no hours".
            let quarter_hours = u8::try_from(row.quarter_hours).map_err(|_| {
                DbError::Other(format!(
                    "activity_served_hours {}: quarter hours {} out of range",
                    row.activity_id, row.quarter_hours
                ))
            })?;
            Ok((
                ActivityId(row.activity_id),
                ServedHours {
                    volunteer_id: row.volunteer_id,
                    quarter_hours,
                },
            ))
        })
        .collect()
}

/// What [`page`] lists.
#[derive(Debug, Clone, Default)]
pub struct ActivityFilter {
    /// Only this theme.
    pub theme: Option<Theme>,
    /// Only activities organised by units under (and at) this path.
    pub unit_path: Option<String>,
    /// Only those starting at or after this.
    pub from: Option<DateTime<Utc>>,
    /// Only those starting before this.
    pub to: Option<DateTime<Utc>>,
    /// Only this status.
    pub status: Option<ActivityStatus>,
}

fn filtered(filter: &ActivityFilter) -> Select<Entity> {
    let mut query = Entity::find();
    if let Some(theme) = filter.theme {
        query = query.filter(Column::Theme.eq(theme.as_str()));
    }
    if let Some(path) = &filter.unit_path {
        query = query.filter(in_subtree(Column::OrgUnitId, path));
    }
    if let Some(from) = filter.from {
        query = query.filter(Column::StartsAt.gte(from));
    }
    if let Some(to) = filter.to {
        query = query.filter(Column::StartsAt.lt(to));
    }
    if let Some(status) = filter.status {
        query = query.filter(Column::Status.eq(status.as_str()));
    }
    query
}

/// Activities matching `filter` ordered by start then id, after the key `after`, at most
/// `limit`.
pub async fn page<C: ConnectionTrait>(
    conn: &C,
    filter: &ActivityFilter,
    after: Option<(DateTime<Utc>, Uuid)>,
    limit: u64,
) -> Result<Vec<Activity>, DbError> {
    let mut query = filtered(filter);
    if let Some((at, id)) = after {
        query = query.filter(
            Condition::any().add(Column::StartsAt.gt(at)).add(
                Condition::all()
                    .add(Column::StartsAt.eq(at))
                    .add(Column::Id.gt(id)),
            ),
        );
    }
    query
        .order_by_asc(Column::StartsAt)
        .order_by_asc(Column::Id)
        .limit(limit)
        .all(conn)
        .await
        .map_err(classify)?
        .into_iter()
        .map(Activity::try_from)
        .collect()
}

/// Planned activities at any of `venues` starting after `after`.
pub async fn planned_at_venues<C: ConnectionTrait>(
    conn: &C,
    venues: &[Uuid],
    after: DateTime<Utc>,
) -> Result<Vec<Activity>, DbError> {
    if venues.is_empty() {
        return Ok(Vec::new());
    }
    Entity::find()
        .filter(Column::VenueId.is_in(venues.iter().copied()))
        .filter(Column::Status.eq(ActivityStatus::Planned.as_str()))
        .filter(Column::StartsAt.gt(after))
        .all(conn)
        .await
        .map_err(classify)?
        .into_iter()
        .map(Activity::try_from)
        .collect()
}

/// Counts per organising unit, theme and status for the subtree at `unit_path`, of activities
/// starting in `[from, to)`, with the units' paths.
pub async fn theme_counts<C: ConnectionTrait>(
    conn: &C,
    unit_path: &str,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
) -> Result<Vec<(OrgUnitId, String, String, i64, Option<i64>)>, DbError> {
    let query = filtered(&ActivityFilter {
        unit_path: Some(unit_path.to_owned()),
        from,
        to,
        ..ActivityFilter::default()
    });
    query
        .select_only()
        .column(Column::OrgUnitId)
        .column(Column::Theme)
        .column(Column::Status)
        .column_as(Expr::col(Column::Id).count(), "n")
        .column_as(Expr::col(Column::Attendance).sum(), "attendance")
        .group_by(Column::OrgUnitId)
        .group_by(Column::Theme)
        .group_by(Column::Status)
        .into_tuple::<(Uuid, String, String, i64, Option<i64>)>()
        .all(conn)
        .await
        .map_err(classify)
        .map(|rows| {
            rows.into_iter()
                .map(|(u, t, s, n, a)| (OrgUnitId(u), t, s, n, a))
                .collect()
        })
}

/// Turns [`theme_counts`] rows into domain rows, given each unit's path.
pub fn count_rows(
    rows: Vec<(OrgUnitId, String, String, i64, Option<i64>)>,
    path_of: impl Fn(OrgUnitId) -> Option<String>,
) -> Result<Vec<CountRow>, DbError> {
    rows.into_iter()
        .filter_map(|(unit, theme, status, n, attendance)| {
            let unit_path = path_of(unit)?;
            Some((unit_path, theme, status, n, attendance))
        })
        .map(|(unit_path, theme, status, n, attendance)| {
            Ok(CountRow {
                unit_path,
                theme: Theme::parse_stored(&theme)
                    .ok_or_else(|| DbError::Other(format!("unknown theme {theme:?}")))?,
                status: ActivityStatus::parse_stored(&status)
                    .ok_or_else(|| DbError::Other(format!("unknown status {status:?}")))?,
                count: u64::try_from(n).unwrap_or(0),
                attendance: attendance.and_then(|a| u64::try_from(a).ok()).unwrap_or(0),
            })
        })
        .collect()
}

/// How many activities exist.
pub async fn count<C: ConnectionTrait>(conn: &C) -> Result<u64, DbError> {
    use sea_orm::PaginatorTrait;
    Entity::find().count(conn).await.map_err(classify)
}

/// Id, path and parent of every unit at and under `path` (for rolling counts up).
pub async fn units_under<C: ConnectionTrait>(
    conn: &C,
    path: &str,
) -> Result<Vec<(OrgUnitId, String, Option<OrgUnitId>)>, DbError> {
    use crate::store::org_units;
    let rows: Vec<(Uuid, String, Option<Uuid>)> = org_units::Entity::find()
        .select_only()
        .column(org_units::Column::Id)
        .column(org_units::Column::Path)
        .column(org_units::Column::ParentId)
        .filter(
            Condition::any()
                .add(org_units::Column::Path.eq(path))
                .add(org_units::Column::Path.like(format!("{path}/%"))),
        )
        .into_tuple()
        .all(conn)
        .await
        .map_err(classify)?;
    Ok(rows
        .into_iter()
        .map(|(id, p, parent)| (OrgUnitId(id), p, parent.map(OrgUnitId)))
        .collect())
}
