//! The service-hours ledger (`hours_entries`), each volunteer's running totals
//! (`volunteer_stats`: approved and pending quarter hours, star level, points), the points
//! ledger (`points_entries`) and the per-district rules (`district_rules`).
//!
//! Totals are kept in `volunteer_stats` and changed by relative updates (`x = x + n`)
//! inside the transaction that appends or decides an entry. Its row is also the
//! per-volunteer lock: every write path touches it first, so two recordings for one
//! volunteer take turns and the 24-hours-a-day rule cannot be beaten by a race.
//! Statements are plain SQL that PostgreSQL and SQLite (`tongxin run`) both accept.

use chrono::{NaiveDate, Utc};
use sea_orm::entity::prelude::*;
use sea_orm::sea_query::OnConflict;
use sea_orm::{Condition, ConnectionTrait, QueryOrder, QuerySelect, Statement};
use tongxin_platform::db::{DbError, classify};

/// `hours_entries`: one append-only ledger entry. Its source kind and status are typed
/// columns: a stored name that is neither fails the read instead of becoming a default.
pub mod entries {
    use chrono::{DateTime, NaiveDate, Utc};
    use sea_orm::entity::prelude::*;

    use crate::domain::hours::{EntryStatus, LedgerSource};

    /// The stored kind of a [`LedgerSource`].
    #[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
    #[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
    pub enum Source {
        /// A completed order.
        #[sea_orm(string_value = "order")]
        Order,
        /// Attendance at an activity.
        #[sea_orm(string_value = "activity")]
        Activity,
        /// Entered by staff.
        #[sea_orm(string_value = "manual")]
        Manual,
    }

    impl From<&LedgerSource> for Source {
        fn from(s: &LedgerSource) -> Self {
            match s {
                LedgerSource::Order(_) => Self::Order,
                LedgerSource::Activity(_) => Self::Activity,
                LedgerSource::Manual => Self::Manual,
            }
        }
    }

    /// The stored names of [`EntryStatus`] (the domain enum stays free of sea-orm).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
    #[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
    pub enum Status {
        /// See [`EntryStatus::Pending`].
        #[sea_orm(string_value = "pending")]
        Pending,
        /// See [`EntryStatus::Approved`].
        #[sea_orm(string_value = "approved")]
        Approved,
        /// See [`EntryStatus::Declined`].
        #[sea_orm(string_value = "declined")]
        Declined,
    }

    impl From<EntryStatus> for Status {
        fn from(s: EntryStatus) -> Self {
            match s {
                EntryStatus::Pending => Self::Pending,
                EntryStatus::Approved => Self::Approved,
                EntryStatus::Declined => Self::Declined,
            }
        }
    }

    impl From<Status> for EntryStatus {
        fn from(s: Status) -> Self {
            match s {
                Status::Pending => Self::Pending,
                Status::Approved => Self::Approved,
                Status::Declined => Self::Declined,
            }
        }
    }

    /// One entry as stored.
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "hours_entries")]
    pub struct Model {
        /// Entry id (UUIDv7, so ids sort by recording time).
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        /// Whose hours.
        pub volunteer_id: Uuid,
        /// `order`, `activity` or `manual`.
        pub source: Source,
        /// The order or activity id (none for manual entries).
        pub source_id: Option<Uuid>,
        /// Hours in quarter hours, 1..=96.
        pub quarters: i16,
        /// Local date of the service.
        pub service_date: NaiveDate,
        /// Where.
        pub place: String,
        /// What was done.
        pub content: String,
        /// How it went (the recorder's or the citizen's words).
        pub evaluation: Option<String>,
        /// Principal subject of whoever recorded it (or the publishing service).
        pub recorder: String,
        /// When recorded.
        pub recorded_at: DateTime<Utc>,
        /// `pending`, `approved`, `declined`.
        pub status: Status,
        /// Who approved or declined it.
        pub decided_by: Option<String>,
        /// When.
        pub decided_at: Option<DateTime<Utc>>,
        /// Why it was declined.
        pub decline_reason: Option<String>,
    }

    /// No relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// `volunteer_stats`: a volunteer's running totals.
pub mod stats {
    use sea_orm::entity::prelude::*;

    /// Totals of one volunteer.
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "volunteer_stats")]
    pub struct Model {
        /// The volunteer.
        #[sea_orm(primary_key, auto_increment = false)]
        pub volunteer_id: Uuid,
        /// Approved quarter hours.
        pub approved_quarters: i64,
        /// Pending quarter hours.
        pub pending_quarters: i64,
        /// Highest star level reached.
        pub star_level: i16,
        /// Points balance.
        pub points: f64,
    }

    /// No relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// `points_entries`: the append-only points ledger.
pub mod points {
    use chrono::{DateTime, NaiveDate, Utc};
    use sea_orm::entity::prelude::*;

    /// One credit of points.
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "points_entries")]
    pub struct Model {
        /// Entry id (UUIDv7).
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        /// Whose points.
        pub volunteer_id: Uuid,
        /// `hours` (an approved hours entry) or `rating` (a rated order).
        pub source: String,
        /// The hours entry or order id.
        pub source_id: Uuid,
        /// Points credited.
        pub points: f64,
        /// The service date they count for (rankings by quarter).
        pub service_date: NaiveDate,
        /// When credited.
        pub created_at: DateTime<Utc>,
    }

    /// No relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// `district_rules`: star thresholds and points rules of one district.
pub mod rules {
    use chrono::{DateTime, Utc};
    use sea_orm::entity::prelude::*;

    /// A district's rules.
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "district_rules")]
    pub struct Model {
        /// District code (first path segment).
        #[sea_orm(primary_key, auto_increment = false)]
        pub district: String,
        /// Star thresholds in hours, as a JSON array.
        pub star_thresholds: String,
        /// Points per approved hour.
        pub points_per_hour: i32,
        /// Points per rating star.
        pub points_per_rating_star: i32,
        /// When last changed.
        pub updated_at: DateTime<Utc>,
        /// By whom.
        pub updated_by: String,
    }

    /// No relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

fn stmt<C: ConnectionTrait>(conn: &C, sql: &str, values: Vec<sea_orm::Value>) -> Statement {
    Statement::from_sql_and_values(conn.get_database_backend(), sql, values)
}

/// Makes sure the volunteer has a totals row and adds `pending` quarters to it. As the
/// first write of a transaction it also locks the row until commit.
pub async fn lock_and_add_pending<C: ConnectionTrait>(
    conn: &C,
    volunteer_id: Uuid,
    pending: i64,
) -> Result<(), DbError> {
    conn.execute_raw(stmt(
        conn,
        "INSERT INTO volunteer_stats (volunteer_id, approved_quarters, pending_quarters, star_level, points) \
         VALUES ($1, 0, $2, 0, 0) \
         ON CONFLICT (volunteer_id) DO UPDATE SET pending_quarters = volunteer_stats.pending_quarters + excluded.pending_quarters",
        vec![volunteer_id.into(), pending.into()],
    ))
    .await
    .map_err(classify)?;
    Ok(())
}

/// Quarter hours the volunteer already holds on `date` (pending and approved).
pub async fn day_quarters<C: ConnectionTrait>(
    conn: &C,
    volunteer_id: Uuid,
    date: NaiveDate,
) -> Result<i64, DbError> {
    let row = conn
        .query_one_raw(stmt(
            conn,
            "SELECT CAST(COALESCE(SUM(quarters), 0) AS BIGINT) AS q FROM hours_entries \
             WHERE volunteer_id = $1 AND service_date = $2 AND status <> 'declined'",
            vec![volunteer_id.into(), date.into()],
        ))
        .await
        .map_err(classify)?;
    match row {
        Some(r) => r.try_get::<i64>("", "q").map_err(classify),
        None => Ok(0),
    }
}

/// Whether this source has already credited this volunteer.
pub async fn source_credited<C: ConnectionTrait>(
    conn: &C,
    source: &str,
    source_id: Uuid,
    volunteer_id: Uuid,
) -> Result<bool, DbError> {
    Ok(entries::Entity::find()
        .filter(entries::Column::Source.eq(source))
        .filter(entries::Column::SourceId.eq(source_id))
        .filter(entries::Column::VolunteerId.eq(volunteer_id))
        .one(conn)
        .await
        .map_err(classify)?
        .is_some())
}

/// Appends an entry; the same order or activity twice for one volunteer is a conflict.
pub async fn insert_entry<C: ConnectionTrait>(
    conn: &C,
    row: entries::Model,
) -> Result<(), DbError> {
    entries::Entity::insert(entries::ActiveModel::from(row).reset_all())
        .exec_without_returning(conn)
        .await
        .map_err(classify)?;
    Ok(())
}

/// One entry.
pub async fn entry<C: ConnectionTrait>(
    conn: &C,
    id: Uuid,
) -> Result<Option<entries::Model>, DbError> {
    entries::Entity::find_by_id(id)
        .one(conn)
        .await
        .map_err(classify)
}

/// Moves a pending entry to `status`; false when it was no longer pending (someone else
/// decided first). Only one of two concurrent decisions can match `status = 'pending'`.
pub async fn decide<C: ConnectionTrait>(
    conn: &C,
    id: Uuid,
    status: &str,
    by: &str,
    reason: Option<&str>,
) -> Result<bool, DbError> {
    let done = entries::Entity::update_many()
        .col_expr(entries::Column::Status, Expr::value(status))
        .col_expr(entries::Column::DecidedBy, Expr::value(by))
        .col_expr(entries::Column::DecidedAt, Expr::value(Utc::now()))
        .col_expr(
            entries::Column::DeclineReason,
            Expr::value(reason.map(str::to_owned)),
        )
        .filter(entries::Column::Id.eq(id))
        .filter(entries::Column::Status.eq("pending"))
        .exec(conn)
        .await
        .map_err(classify)?;
    Ok(done.rows_affected == 1)
}

/// Adds approved quarters (taking them out of pending when `from_pending`); returns the new
/// approved total and the star level held so far.
pub async fn add_approved<C: ConnectionTrait>(
    conn: &C,
    volunteer_id: Uuid,
    quarters: i64,
    from_pending: bool,
) -> Result<(i64, i16), DbError> {
    let pending = if from_pending { quarters } else { 0 };
    let row = conn
        .query_one_raw(stmt(
            conn,
            "UPDATE volunteer_stats SET approved_quarters = approved_quarters + $2, \
             pending_quarters = pending_quarters - $3 WHERE volunteer_id = $1 \
             RETURNING approved_quarters, star_level",
            vec![volunteer_id.into(), quarters.into(), pending.into()],
        ))
        .await
        .map_err(classify)?
        .ok_or_else(|| DbError::NotFound(format!("volunteer_stats {volunteer_id}")))?;
    Ok((
        row.try_get("", "approved_quarters").map_err(classify)?,
        row.try_get("", "star_level").map_err(classify)?,
    ))
}

/// Takes declined quarters out of pending.
pub async fn remove_pending<C: ConnectionTrait>(
    conn: &C,
    volunteer_id: Uuid,
    quarters: i64,
) -> Result<(), DbError> {
    conn.execute_raw(stmt(
        conn,
        "UPDATE volunteer_stats SET pending_quarters = pending_quarters - $2 WHERE volunteer_id = $1",
        vec![volunteer_id.into(), quarters.into()],
    ))
    .await
    .map_err(classify)?;
    Ok(())
}

/// Raises the stored star level to `level`; false when it was already there or higher, so
/// each level is announced once even if two approvals race past a threshold.
pub async fn raise_star<C: ConnectionTrait>(
    conn: &C,
    volunteer_id: Uuid,
    level: i16,
) -> Result<bool, DbError> {
    let done = stats::Entity::update_many()
        .col_expr(stats::Column::StarLevel, Expr::value(level))
        .filter(stats::Column::VolunteerId.eq(volunteer_id))
        .filter(stats::Column::StarLevel.lt(level))
        .exec(conn)
        .await
        .map_err(classify)?;
    Ok(done.rows_affected == 1)
}

/// Credits points once per (source, source id, volunteer); false when already credited.
pub async fn credit_points<C: ConnectionTrait>(
    conn: &C,
    row: points::Model,
) -> Result<bool, DbError> {
    let (volunteer_id, amount) = (row.volunteer_id, row.points);
    let inserted = points::Entity::insert(points::ActiveModel::from(row).reset_all())
        .on_conflict(
            OnConflict::columns([
                points::Column::Source,
                points::Column::SourceId,
                points::Column::VolunteerId,
            ])
            .do_nothing()
            .to_owned(),
        )
        .exec_without_returning(conn)
        .await
        .map_err(classify)?;
    if inserted == 0 {
        return Ok(false);
    }
    // The totals row may not exist yet for a rating that arrives before any hours.
    conn.execute_raw(stmt(
        conn,
        "INSERT INTO volunteer_stats (volunteer_id, approved_quarters, pending_quarters, star_level, points) \
         VALUES ($1, 0, 0, 0, $2) \
         ON CONFLICT (volunteer_id) DO UPDATE SET points = volunteer_stats.points + excluded.points",
        vec![volunteer_id.into(), amount.into()],
    ))
    .await
    .map_err(classify)?;
    Ok(true)
}

/// Totals of many volunteers in one query (volunteers without any entry are left out).
pub async fn stats_of<C: ConnectionTrait>(
    conn: &C,
    volunteer_ids: &[Uuid],
) -> Result<Vec<stats::Model>, DbError> {
    if volunteer_ids.is_empty() {
        return Ok(Vec::new());
    }
    stats::Entity::find()
        .filter(stats::Column::VolunteerId.is_in(volunteer_ids.iter().copied()))
        .all(conn)
        .await
        .map_err(classify)
}

/// Approved and pending quarter hours of the members of each team, in one query.
pub async fn team_totals<C: ConnectionTrait>(
    conn: &C,
    team_ids: &[Uuid],
) -> Result<Vec<(Uuid, i64, i64)>, DbError> {
    if team_ids.is_empty() {
        return Ok(Vec::new());
    }
    let placeholders: Vec<String> = (1..=team_ids.len()).map(|i| format!("${i}")).collect();
    let sql = format!(
        "SELECT m.team_id AS team_id, \
         CAST(COALESCE(SUM(s.approved_quarters), 0) AS BIGINT) AS approved, \
         CAST(COALESCE(SUM(s.pending_quarters), 0) AS BIGINT) AS pending \
         FROM team_members m JOIN volunteer_stats s ON s.volunteer_id = m.volunteer_id \
         WHERE m.team_id IN ({}) GROUP BY m.team_id",
        placeholders.join(", ")
    );
    let rows = conn
        .query_all_raw(stmt(
            conn,
            &sql,
            team_ids.iter().map(|id| (*id).into()).collect(),
        ))
        .await
        .map_err(classify)?;
    rows.into_iter()
        .map(|r| {
            Ok((
                r.try_get("", "team_id").map_err(classify)?,
                r.try_get("", "approved").map_err(classify)?,
                r.try_get("", "pending").map_err(classify)?,
            ))
        })
        .collect()
}

/// What a list of entries asks for.
#[derive(Debug, Clone, Default)]
pub struct EntryFilter {
    /// One volunteer's entries.
    pub volunteer_id: Option<Uuid>,
    /// Only entries of volunteers whose home unit is this path or below.
    pub under: Option<String>,
    /// Only this status.
    pub status: Option<String>,
    /// Service date on or after.
    pub from: Option<NaiveDate>,
    /// Service date on or before.
    pub to: Option<NaiveDate>,
}

/// Escapes `%`, `_` and `\` for a LIKE pattern with `ESCAPE '\'`.
pub fn like_prefix(path: &str) -> String {
    let mut out = String::with_capacity(path.len() + 2);
    for c in path.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push_str("/%");
    out
}

/// Up to `limit` entries matching `filter`, newest recorded first, before id `before`.
pub async fn list_entries<C: ConnectionTrait>(
    conn: &C,
    filter: &EntryFilter,
    before: Option<Uuid>,
    limit: u64,
) -> Result<Vec<entries::Model>, DbError> {
    use sea_orm::sea_query::{Alias, ExprTrait, LikeExpr, Query};
    let mut cond = Condition::all();
    if let Some(id) = filter.volunteer_id {
        cond = cond.add(entries::Column::VolunteerId.eq(id));
    }
    if let Some(path) = &filter.under {
        let home = Expr::col((Alias::new("volunteers"), Alias::new("home_unit_path")));
        let mut inner = Query::select();
        inner
            .column((Alias::new("volunteers"), Alias::new("id")))
            .from(Alias::new("volunteers"))
            .cond_where(
                Condition::any()
                    .add(home.clone().eq(path.as_str()))
                    .add(home.like(LikeExpr::new(like_prefix(path)).escape('\\'))),
            );
        cond = cond.add(entries::Column::VolunteerId.in_subquery(inner));
    }
    if let Some(status) = &filter.status {
        cond = cond.add(entries::Column::Status.eq(status.as_str()));
    }
    if let Some(from) = filter.from {
        cond = cond.add(entries::Column::ServiceDate.gte(from));
    }
    if let Some(to) = filter.to {
        cond = cond.add(entries::Column::ServiceDate.lte(to));
    }
    if let Some(before) = before {
        cond = cond.add(entries::Column::Id.lt(before));
    }
    entries::Entity::find()
        .filter(cond)
        .order_by_desc(entries::Column::Id)
        .limit(limit)
        .all(conn)
        .await
        .map_err(classify)
}

/// All approved entries of a volunteer from `from` to `to` (inclusive), by date; for the
/// service-record proof, at most `limit`.
pub async fn approved_between<C: ConnectionTrait>(
    conn: &C,
    volunteer_id: Uuid,
    from: NaiveDate,
    to: NaiveDate,
    limit: u64,
) -> Result<Vec<entries::Model>, DbError> {
    entries::Entity::find()
        .filter(entries::Column::VolunteerId.eq(volunteer_id))
        .filter(entries::Column::Status.eq("approved"))
        .filter(entries::Column::ServiceDate.gte(from))
        .filter(entries::Column::ServiceDate.lte(to))
        .order_by_asc(entries::Column::ServiceDate)
        .order_by_asc(entries::Column::Id)
        .limit(limit)
        .all(conn)
        .await
        .map_err(classify)
}

/// Up to `limit` points entries of a volunteer, newest first, before id `before`.
pub async fn list_points<C: ConnectionTrait>(
    conn: &C,
    volunteer_id: Uuid,
    before: Option<Uuid>,
    limit: u64,
) -> Result<Vec<points::Model>, DbError> {
    let mut query = points::Entity::find().filter(points::Column::VolunteerId.eq(volunteer_id));
    if let Some(before) = before {
        query = query.filter(points::Column::Id.lt(before));
    }
    query
        .order_by_desc(points::Column::Id)
        .limit(limit)
        .all(conn)
        .await
        .map_err(classify)
}

/// A district's rules, if set.
pub async fn rules_of<C: ConnectionTrait>(
    conn: &C,
    district: &str,
) -> Result<Option<rules::Model>, DbError> {
    rules::Entity::find_by_id(district.to_owned())
        .one(conn)
        .await
        .map_err(classify)
}

/// Writes a district's rules.
pub async fn save_rules<C: ConnectionTrait>(conn: &C, row: rules::Model) -> Result<(), DbError> {
    rules::Entity::insert(rules::ActiveModel::from(row).reset_all())
        .on_conflict(
            OnConflict::column(rules::Column::District)
                .update_columns([
                    rules::Column::StarThresholds,
                    rules::Column::PointsPerHour,
                    rules::Column::PointsPerRatingStar,
                    rules::Column::UpdatedAt,
                    rules::Column::UpdatedBy,
                ])
                .to_owned(),
        )
        .exec_without_returning(conn)
        .await
        .map_err(classify)?;
    Ok(())
}

/// Whose volunteers a ranking counts.
#[derive(Debug, Clone)]
pub enum RankingScope {
    /// Members of one team.
    Team(Uuid),
    /// Volunteers whose home unit is this path or below.
    Unit(String),
}

/// What a ranking sums.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RankingMeasure {
    /// Approved hours (summed as quarter hours).
    Hours,
    /// Points.
    Points,
}

/// One ranked volunteer.
#[derive(Debug, Clone, PartialEq)]
pub struct Ranked {
    /// The volunteer.
    pub volunteer_id: Uuid,
    /// Approved hours or points in the period.
    pub total: f64,
}

/// The top volunteers of `scope` by `measure` with service dates in `[from, until)` (all
/// time when `None`), best first, ties by id; one aggregate query with a limit.
pub async fn ranking<C: ConnectionTrait>(
    conn: &C,
    scope: &RankingScope,
    measure: RankingMeasure,
    period: Option<(NaiveDate, NaiveDate)>,
    offset: u64,
    limit: u64,
) -> Result<Vec<Ranked>, DbError> {
    let (table, amount) = match measure {
        RankingMeasure::Hours => (
            "hours_entries",
            "CAST(SUM(e.quarters) AS DOUBLE PRECISION) / 4.0",
        ),
        RankingMeasure::Points => ("points_entries", "CAST(SUM(e.points) AS DOUBLE PRECISION)"),
    };
    let mut values: Vec<sea_orm::Value> = Vec::new();
    let mut push = |v: sea_orm::Value| {
        values.push(v);
        format!("${}", values.len())
    };
    let (join, scope_cond) = match scope {
        RankingScope::Team(team) => (
            format!(
                "JOIN team_members m ON m.volunteer_id = e.volunteer_id AND m.team_id = {}",
                push((*team).into())
            ),
            String::new(),
        ),
        RankingScope::Unit(path) => {
            let exact = push(path.clone().into());
            let below = push(like_prefix(path).into());
            (
                "JOIN volunteers v ON v.id = e.volunteer_id".to_owned(),
                format!(
                    " AND (v.home_unit_path = {exact} OR v.home_unit_path LIKE {below} ESCAPE '\\')"
                ),
            )
        }
    };
    let status = if measure == RankingMeasure::Hours {
        " AND e.status = 'approved'"
    } else {
        ""
    };
    let period_cond = match period {
        Some((from, until)) => {
            let f = push(from.into());
            let u = push(until.into());
            format!(" AND e.service_date >= {f} AND e.service_date < {u}")
        }
        None => String::new(),
    };
    let lim = push(i64::try_from(limit).unwrap_or(i64::MAX).into());
    let off = push(i64::try_from(offset).unwrap_or(0).into());
    let sql = format!(
        "SELECT e.volunteer_id AS volunteer_id, {amount} AS total FROM {table} e {join} \
         WHERE 1 = 1{status}{scope_cond}{period_cond} \
         GROUP BY e.volunteer_id ORDER BY total DESC, e.volunteer_id LIMIT {lim} OFFSET {off}"
    );
    // SQLite reads DOUBLE PRECISION as REAL, so one text serves both databases.
    let rows = conn
        .query_all_raw(stmt(conn, &sql, values))
        .await
        .map_err(classify)?;
    rows.into_iter()
        .map(|r| {
            Ok(Ranked {
                volunteer_id: r.try_get("", "volunteer_id").map_err(classify)?,
                total: r.try_get("", "total").map_err(classify)?,
            })
        })
        .collect()
}

/// How many entries one service-record proof may list.
pub const PROOF_MAX_ENTRIES: u64 = 2000;

/// Approved quarter hours served from `from` (inclusive) to `to` (exclusive), summed per
/// volunteer home path: one grouped query, which the caller rolls up over subtrees.
pub async fn approved_quarters_by_home<C: ConnectionTrait>(
    conn: &C,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<(String, i64)>, DbError> {
    let rows = conn
        .query_all_raw(stmt(
            conn,
            "SELECT v.home_unit_path AS path, CAST(COALESCE(SUM(e.quarters), 0) AS BIGINT) AS quarters \
             FROM hours_entries e JOIN volunteers v ON v.id = e.volunteer_id \
             WHERE e.status = 'approved' AND e.service_date >= $1 AND e.service_date < $2 \
             GROUP BY v.home_unit_path",
            vec![from.into(), to.into()],
        ))
        .await
        .map_err(classify)?;
    rows.into_iter()
        .map(|r| {
            Ok((
                r.try_get("", "path").map_err(classify)?,
                r.try_get("", "quarters").map_err(classify)?,
            ))
        })
        .collect()
}
