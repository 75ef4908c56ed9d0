//! The `visits`, `cadence_rules` and `cadence_misses` tables, and the counts the cadence is
//! judged on. A visit's point, notes and needs are stored sealed (the service seals them
//! with its PII cipher before they reach here, and opens them after).

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::entity::prelude::*;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveValue::Set, Condition, QueryOrder, QuerySelect};
use tongxin_platform::db::{DbError, classify};

use crate::domain::activity::ActivityStatus;
use crate::domain::org::OrgUnitId;
use crate::domain::rhythm::{CadenceRules, PeriodKind, Requirement, VisitId};
use crate::store::activities;
use crate::store::venues::in_subtree;

/// One visit (走访).
pub mod visits {
    use sea_orm::entity::prelude::*;

    /// A visit row; the personal parts sealed.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "visits")]
    pub struct Model {
        /// Id.
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        /// The unit visited.
        pub unit_id: Uuid,
        /// When.
        pub visited_at: ChronoDateTimeUtc,
        /// Households reached, 0 to 500.
        pub households_reached: i32,
        /// How many needs were heard (the count is not personal; the texts are).
        pub needs_count: i32,
        /// The household area's point, `lat,lon`, sealed.
        pub point_cipher: Option<Vec<u8>>,
        /// The visitor's notes, sealed.
        pub notes_cipher: Option<Vec<u8>>,
        /// The needs heard, one per line, sealed.
        pub needs_cipher: Option<Vec<u8>>,
        /// The principal subject who recorded it.
        pub recorder: String,
        /// When recorded.
        pub created_at: ChronoDateTimeUtc,
    }

    /// No declared relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// A district's cadence rules, on its center.
pub mod rules {
    use sea_orm::entity::prelude::*;

    /// The rules row.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "cadence_rules")]
    pub struct Model {
        /// The district's root unit (its center).
        #[sea_orm(primary_key, auto_increment = false)]
        pub district_unit_id: Uuid,
        /// Courtyards' visits per week.
        pub courtyard_visits: i32,
        /// Courtyards' activities per month.
        pub courtyard_activities: i32,
        /// Stations' visits per week; null is no rule.
        pub station_visits: Option<i32>,
        /// Stations' activities per month.
        pub station_activities: Option<i32>,
        /// Institutes' visits per week.
        pub institute_visits: Option<i32>,
        /// Institutes' activities per month.
        pub institute_activities: Option<i32>,
        /// Who set them.
        pub set_by: String,
        /// When.
        pub set_at: ChronoDateTimeUtc,
    }

    /// No declared relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// Periods a unit missed, closed by the scheduler.
pub mod misses {
    use sea_orm::entity::prelude::*;

    /// One miss: unique per (unit, kind, period start).
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "cadence_misses")]
    pub struct Model {
        /// Id.
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        /// The unit.
        pub unit_id: Uuid,
        /// `visits` (a week) or `activities` (a month).
        pub kind: String,
        /// The period's first local date.
        pub period_start: Date,
        /// The day after its last.
        pub period_end: Date,
        /// What the rule asked for.
        pub required: i32,
        /// What was recorded.
        pub done: i32,
        /// Consecutive missed periods, this one included.
        pub streak: i32,
        /// When the scheduler closed it.
        pub closed_at: ChronoDateTimeUtc,
    }

    /// No declared relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// Inserts a visit row.
pub async fn insert_visit<C: ConnectionTrait>(conn: &C, row: visits::Model) -> Result<(), DbError> {
    visits::Entity::insert(visits::ActiveModel::from(row))
        .exec_without_returning(conn)
        .await
        .map_err(classify)?;
    Ok(())
}

/// Inserts many visit rows (the demo), in chunks that stay under SQLite's variable limit.
pub async fn insert_visits<C: ConnectionTrait>(
    conn: &C,
    rows: Vec<visits::Model>,
) -> Result<(), DbError> {
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<visits::ActiveModel> = rows
            .by_ref()
            .take(500)
            .map(visits::ActiveModel::from)
            .collect();
        visits::Entity::insert_many(chunk)
            .exec_without_returning(conn)
            .await
            .map_err(classify)?;
    }
    Ok(())
}

/// One visit.
pub async fn visit<C: ConnectionTrait>(
    conn: &C,
    id: VisitId,
) -> Result<Option<visits::Model>, DbError> {
    visits::Entity::find_by_id(id.0)
        .one(conn)
        .await
        .map_err(classify)
}

/// Visits to the subtree at `path` in `[from, to)`, newest first, after the key `after`
/// (exclusive), at most `limit`.
pub async fn visits_page<C: ConnectionTrait>(
    conn: &C,
    path: &str,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    after: Option<(DateTime<Utc>, Uuid)>,
    limit: u64,
) -> Result<Vec<visits::Model>, DbError> {
    let mut query = visits::Entity::find().filter(in_subtree(visits::Column::UnitId, path));
    if let Some(from) = from {
        query = query.filter(visits::Column::VisitedAt.gte(from));
    }
    if let Some(to) = to {
        query = query.filter(visits::Column::VisitedAt.lt(to));
    }
    if let Some((at, id)) = after {
        query = query.filter(
            Condition::any().add(visits::Column::VisitedAt.lt(at)).add(
                Condition::all()
                    .add(visits::Column::VisitedAt.eq(at))
                    .add(visits::Column::Id.lt(id)),
            ),
        );
    }
    query
        .order_by_desc(visits::Column::VisitedAt)
        .order_by_desc(visits::Column::Id)
        .limit(limit)
        .all(conn)
        .await
        .map_err(classify)
}

/// One recorded thing a cadence counts: the unit, when, and its size (households reached
/// for a visit, attendance for an activity).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counted {
    /// The unit it counts for (visited, or organising).
    pub unit: OrgUnitId,
    /// When (visited, or started).
    pub at: DateTime<Utc>,
    /// Households reached, or attendance.
    pub size: u64,
}

/// Visits to the subtree at `path` in `[from, to)`, counts only.
pub async fn visit_times<C: ConnectionTrait>(
    conn: &C,
    path: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<Counted>, DbError> {
    let rows: Vec<(Uuid, DateTime<Utc>, i32)> = visits::Entity::find()
        .select_only()
        .column(visits::Column::UnitId)
        .column(visits::Column::VisitedAt)
        .column(visits::Column::HouseholdsReached)
        .filter(in_subtree(visits::Column::UnitId, path))
        .filter(visits::Column::VisitedAt.gte(from))
        .filter(visits::Column::VisitedAt.lt(to))
        .into_tuple()
        .all(conn)
        .await
        .map_err(classify)?;
    Ok(rows
        .into_iter()
        .map(|(unit, at, n)| Counted {
            unit: OrgUnitId(unit),
            at,
            size: u64::try_from(n).unwrap_or(0),
        })
        .collect())
}

/// Activities held, organised in the subtree at `path`, starting in `[from, to)`.
pub async fn held_times<C: ConnectionTrait>(
    conn: &C,
    path: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<Counted>, DbError> {
    use activities::Column;
    let rows: Vec<(Uuid, DateTime<Utc>, Option<i32>)> = activities::Entity::find()
        .select_only()
        .column(Column::OrgUnitId)
        .column(Column::StartsAt)
        .column(Column::Attendance)
        .filter(in_subtree(Column::OrgUnitId, path))
        .filter(Column::Status.eq(ActivityStatus::Held.as_str()))
        .filter(Column::StartsAt.gte(from))
        .filter(Column::StartsAt.lt(to))
        .into_tuple()
        .all(conn)
        .await
        .map_err(classify)?;
    Ok(rows
        .into_iter()
        .map(|(unit, at, n)| Counted {
            unit: OrgUnitId(unit),
            at,
            size: n.and_then(|n| u64::try_from(n).ok()).unwrap_or(0),
        })
        .collect())
}

/// A district's rules as stored, with who set them and when.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredRules {
    /// The rules.
    pub rules: CadenceRules,
    /// Who set them.
    pub set_by: String,
    /// When.
    pub set_at: DateTime<Utc>,
}

fn count(value: i32, what: &str) -> Result<u32, DbError> {
    u32::try_from(value).map_err(|_| DbError::Other(format!("cadence_rules: negative {what}")))
}

fn opt(value: Option<i32>, what: &str) -> Result<Option<u32>, DbError> {
    value.map(|v| count(v, what)).transpose()
}

impl TryFrom<rules::Model> for StoredRules {
    type Error = DbError;
    fn try_from(row: rules::Model) -> Result<Self, DbError> {
        Ok(Self {
            rules: CadenceRules {
                courtyard: Requirement {
                    visits_per_week: Some(count(row.courtyard_visits, "courtyard visits")?),
                    activities_per_month: Some(count(
                        row.courtyard_activities,
                        "courtyard activities",
                    )?),
                },
                station: Requirement {
                    visits_per_week: opt(row.station_visits, "station visits")?,
                    activities_per_month: opt(row.station_activities, "station activities")?,
                },
                institute: Requirement {
                    visits_per_week: opt(row.institute_visits, "institute visits")?,
                    activities_per_month: opt(row.institute_activities, "institute activities")?,
                },
            },
            set_by: row.set_by,
            set_at: row.set_at,
        })
    }
}

/// The rules stored for the districts whose centers are `districts`, keyed by center.
pub async fn rules_of<C: ConnectionTrait>(
    conn: &C,
    districts: &[OrgUnitId],
) -> Result<Vec<(OrgUnitId, StoredRules)>, DbError> {
    if districts.is_empty() {
        return Ok(Vec::new());
    }
    rules::Entity::find()
        .filter(rules::Column::DistrictUnitId.is_in(districts.iter().map(|d| d.0)))
        .all(conn)
        .await
        .map_err(classify)?
        .into_iter()
        .map(|row| Ok((OrgUnitId(row.district_unit_id), StoredRules::try_from(row)?)))
        .collect()
}

fn stored(n: Option<u32>) -> Option<i32> {
    n.map(|n| i32::try_from(n).unwrap_or(i32::MAX))
}

/// Sets (inserts or replaces) the rules of the district whose center is `district`.
pub async fn set_rules<C: ConnectionTrait>(
    conn: &C,
    district: OrgUnitId,
    rules: &CadenceRules,
    actor: &str,
    at: DateTime<Utc>,
) -> Result<(), DbError> {
    use rules::Column;
    let row = rules::ActiveModel {
        district_unit_id: Set(district.0),
        courtyard_visits: Set(stored(rules.courtyard.visits_per_week).unwrap_or(0)),
        courtyard_activities: Set(stored(rules.courtyard.activities_per_month).unwrap_or(0)),
        station_visits: Set(stored(rules.station.visits_per_week)),
        station_activities: Set(stored(rules.station.activities_per_month)),
        institute_visits: Set(stored(rules.institute.visits_per_week)),
        institute_activities: Set(stored(rules.institute.activities_per_month)),
        set_by: Set(actor.to_owned()),
        set_at: Set(at),
    };
    rules::Entity::insert(row)
        .on_conflict(
            OnConflict::column(Column::DistrictUnitId)
                .update_columns([
                    Column::CourtyardVisits,
                    Column::CourtyardActivities,
                    Column::StationVisits,
                    Column::StationActivities,
                    Column::InstituteVisits,
                    Column::InstituteActivities,
                    Column::SetBy,
                    Column::SetAt,
                ])
                .to_owned(),
        )
        .exec_without_returning(conn)
        .await
        .map_err(classify)?;
    Ok(())
}

/// The misses of `kind` already closed for `units` in periods starting in
/// `[first_start, last_start]`: (unit, period start, streak).
pub async fn misses_in<C: ConnectionTrait>(
    conn: &C,
    kind: PeriodKind,
    first_start: NaiveDate,
    last_start: NaiveDate,
) -> Result<Vec<(OrgUnitId, NaiveDate, u32)>, DbError> {
    let rows: Vec<(Uuid, NaiveDate, i32)> = misses::Entity::find()
        .select_only()
        .column(misses::Column::UnitId)
        .column(misses::Column::PeriodStart)
        .column(misses::Column::Streak)
        .filter(misses::Column::Kind.eq(kind.as_str()))
        .filter(misses::Column::PeriodStart.gte(first_start))
        .filter(misses::Column::PeriodStart.lte(last_start))
        .into_tuple()
        .all(conn)
        .await
        .map_err(classify)?;
    Ok(rows
        .into_iter()
        .map(|(u, s, n)| (OrgUnitId(u), s, u32::try_from(n).unwrap_or(0)))
        .collect())
}

/// Inserts a miss unless one exists for its (unit, kind, period start); whether this insert
/// went through. Of two transactions inserting the same miss at once, the second waits for
/// the first and then inserts nothing.
pub async fn insert_miss<C: ConnectionTrait>(
    conn: &C,
    row: misses::Model,
) -> Result<bool, DbError> {
    use misses::Column;
    let inserted = misses::Entity::insert(misses::ActiveModel::from(row))
        .on_conflict(
            OnConflict::columns([Column::UnitId, Column::Kind, Column::PeriodStart])
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(conn)
        .await
        .map_err(classify)?;
    Ok(inserted == 1)
}

/// How many misses are stored.
pub async fn miss_count<C: ConnectionTrait>(conn: &C) -> Result<u64, DbError> {
    use sea_orm::PaginatorTrait;
    misses::Entity::find().count(conn).await.map_err(classify)
}

/// How many visits are stored.
pub async fn visit_count<C: ConnectionTrait>(conn: &C) -> Result<u64, DbError> {
    use sea_orm::PaginatorTrait;
    visits::Entity::find().count(conn).await.map_err(classify)
}

/// The unit at `path` and every unit below it, ordered by path.
pub async fn units_at_and_under<C: ConnectionTrait>(
    conn: &C,
    path: &str,
) -> Result<Vec<crate::store::org_units::OrgUnit>, DbError> {
    use crate::store::org_units::{Column, Entity, OrgUnit};
    // Paths hold only a-z, 0-9, '-' and '/', so LIKE needs no escaping.
    Entity::find()
        .filter(
            Condition::any()
                .add(Column::Path.eq(path))
                .add(Column::Path.like(format!("{path}/%"))),
        )
        .order_by_asc(Column::Path)
        .all(conn)
        .await
        .map_err(classify)?
        .into_iter()
        .map(OrgUnit::try_from)
        .collect()
}
