//! The hours ledger, stars, points and rankings in GraphQL: `HoursEntry`, `recordHours`,
//! `approveHours`, `declineHours`, `hoursEntries`, `pointsBalance`, `pointsEntries`,
//! `rankings`, `districtRules`, `setStarThresholds`, `setPointsRules`, and the
//! `Volunteer.hours` / `starLevel` / `recordProofUrl` fields.

use std::collections::HashMap;

use async_graphql::connection::{Connection, Edge, EmptyFields, OpaqueCursor};
use async_graphql::dataloader::{DataLoader, Loader};
use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use chrono::NaiveDate;
use tongxin_platform::ApiError;
use tongxin_platform::graphql::ContextExt;
use uuid::Uuid;

use super::paging;
use super::volunteer::{VolunteerNode, caller, load, volunteer_id};
use crate::domain::VolunteerId;
use crate::domain::hours::EntryStatus;
use crate::service::ledger::{DistrictRules, NewHours, RankingTarget, Totals};
use crate::service::{VolunteerView, Volunteers};
use crate::store::ledger::{EntryFilter, RankingMeasure, entries, points};

/// Approved and pending service hours.
#[derive(SimpleObject, Clone, Copy, Default, Debug, PartialEq)]
pub struct HoursTotals {
    /// Approved hours: they count for stars, points and rankings.
    pub approved: f64,
    /// Hours recorded and waiting for a decision.
    pub pending: f64,
}

/// Where a ledger entry's hours come from.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "entries::Source")]
pub enum HoursSource {
    /// A completed order.
    Order,
    /// Attendance at an activity.
    Activity,
    /// Entered by staff.
    Manual,
}

impl HoursSource {
    fn as_str(self) -> &'static str {
        match self {
            Self::Order => "order",
            Self::Activity => "activity",
            Self::Manual => "manual",
        }
    }
}

/// Approval state of a ledger entry.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "EntryStatus")]
pub enum HoursStatus {
    /// Waiting for staff in scope.
    Pending,
    /// Counts towards totals, stars and points.
    Approved,
    /// Kept in the record, counts for nothing.
    Declined,
}

/// One entry of a volunteer's service-hours ledger. Entries are never changed except by
/// the one decision that moves them out of pending; declined entries stay visible.
pub struct HoursEntryNode(pub entries::Model);

/// One entry of a volunteer's service-hours ledger: pending, approved or declined. Entries
/// are append-only except for the one decision that moves them out of pending.
#[Object(name = "HoursEntry")]
impl HoursEntryNode {
    /// Entry id (UUID).
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    /// Whose hours.
    async fn volunteer(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<VolunteerNode>> {
        load(ctx, VolunteerId(self.0.volunteer_id)).await
    }

    /// Where the hours come from.
    async fn source(&self) -> HoursSource {
        self.0.source.into()
    }

    /// The order or activity id; null for manual entries.
    async fn source_id(&self) -> Option<ID> {
        self.0.source_id.map(|s| ID(s.to_string()))
    }

    /// Hours, in quarter hours.
    async fn hours(&self) -> f64 {
        f64::from(self.0.quarters) / 4.0
    }

    /// Local date of the service.
    async fn service_date(&self) -> NaiveDate {
        self.0.service_date
    }

    /// Where the service took place.
    async fn place(&self) -> &str {
        &self.0.place
    }

    /// What was done.
    async fn content(&self) -> &str {
        &self.0.content
    }

    /// How it went.
    async fn evaluation(&self) -> Option<&str> {
        self.0.evaluation.as_deref()
    }

    /// Approval state.
    async fn status(&self) -> HoursStatus {
        EntryStatus::from(self.0.status).into()
    }

    /// Who recorded it (principal subject, or the upstream service).
    async fn recorder(&self) -> &str {
        &self.0.recorder
    }

    /// When it was recorded (RFC 3339).
    async fn recorded_at(&self) -> String {
        self.0.recorded_at.to_rfc3339()
    }

    /// Who approved or declined it.
    async fn decided_by(&self) -> Option<&str> {
        self.0.decided_by.as_deref()
    }

    /// When it was approved or declined (RFC 3339).
    async fn decided_at(&self) -> Option<String> {
        self.0.decided_at.map(|t| t.to_rfc3339())
    }

    /// Why it was declined.
    async fn decline_reason(&self) -> Option<&str> {
        self.0.decline_reason.as_deref()
    }
}

/// One credit in a volunteer's points ledger.
pub struct PointsEntryNode(pub points::Model);

/// One credit in a volunteer's incentive-points ledger.
#[Object(name = "PointsEntry")]
impl PointsEntryNode {
    /// Entry id (UUID).
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    /// `hours` (an approved hours entry), `rating` (a rated order) or `evaluation` (an
    /// award of a published quarterly evaluation to the teams of a unit).
    async fn source(&self) -> &str {
        &self.0.source
    }

    /// The hours entry, the order or the evaluation award that earned the points.
    async fn source_id(&self) -> ID {
        ID(self.0.source_id.to_string())
    }

    /// Points credited.
    async fn points(&self) -> f64 {
        self.0.points
    }

    /// The service date they count for.
    async fn service_date(&self) -> NaiveDate {
        self.0.service_date
    }

    /// When credited (RFC 3339).
    async fn created_at(&self) -> String {
        self.0.created_at.to_rfc3339()
    }
}

/// A district's star thresholds and points rules.
pub struct DistrictRulesNode(pub DistrictRules);

/// A district's star thresholds (hours per star level) and points rules (points per
/// approved hour and per rating star).
#[Object(name = "DistrictRules")]
impl DistrictRulesNode {
    /// District code, e.g. `rc`.
    async fn district(&self) -> &str {
        &self.0.district
    }

    /// Approved hours for 1, 2, … stars, strictly increasing.
    async fn star_thresholds(&self) -> &[f64] {
        self.0.thresholds.as_slice()
    }

    /// Points per approved hour.
    async fn points_per_hour(&self) -> u32 {
        self.0.points.per_hour()
    }

    /// Points per star of a citizen's rating of an order.
    async fn points_per_rating_star(&self) -> u32 {
        self.0.points.per_rating_star()
    }
}

/// What a ranking ranks.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum RankingScope {
    /// The members of one team (`id` is a team id).
    Team,
    /// The volunteers of an org unit's subtree (`id` is a unit id).
    Unit,
}

/// What a ranking sums.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum RankingBy {
    /// Approved service hours.
    Hours,
    /// Incentive points.
    Points,
}

/// One place in a ranking.
pub struct RankingRowNode {
    rank: u64,
    volunteer: Uuid,
    total: f64,
}

/// One row of the volunteers' service-hours ranking.
#[Object(name = "RankingRow")]
impl RankingRowNode {
    /// 1 for the best; ties are broken by volunteer id.
    async fn rank(&self) -> u64 {
        self.rank
    }

    /// The volunteer.
    async fn volunteer(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<VolunteerNode>> {
        load(ctx, VolunteerId(self.volunteer)).await
    }

    /// Approved hours or points in the period.
    async fn total(&self) -> f64 {
        self.total
    }
}

/// Totals by volunteer id, one query per batch.
pub struct TotalsLoader(pub Volunteers);

impl Loader<Uuid> for TotalsLoader {
    type Value = Totals;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Totals>, Self::Error> {
        Ok(self.0.totals_of(keys).await?.into_iter().collect())
    }
}

async fn totals(ctx: &Context<'_>, id: Uuid) -> async_graphql::Result<Totals> {
    let loader = ctx.data::<DataLoader<TotalsLoader>>()?;
    Ok(loader.load_one(id).await?.unwrap_or_default())
}

/// `Volunteer.hours`: for the volunteer themself and staff in scope, otherwise null.
pub async fn volunteer_hours(
    ctx: &Context<'_>,
    view: &VolunteerView,
) -> async_graphql::Result<Option<HoursTotals>> {
    if !view.in_full() {
        return Ok(None);
    }
    let t = totals(ctx, view.id().0).await?;
    Ok(Some(HoursTotals {
        approved: t.approved,
        pending: t.pending,
    }))
}

/// `Volunteer.starLevel`: public, like a badge.
pub async fn star_level(ctx: &Context<'_>, id: Uuid) -> async_graphql::Result<u8> {
    Ok(totals(ctx, id).await?.star_level)
}

/// `Volunteer.recordProofUrl`: the path of the printable record on this service.
pub fn record_proof_url(id: Uuid, from: NaiveDate, to: NaiveDate) -> Result<String, ApiError> {
    if from > to {
        return Err(ApiError::bad_input("from: must not be after to"));
    }
    Ok(crate::http::proof::url(id, from, to))
}

/// Ledger queries.
#[derive(Default)]
pub struct LedgerQuery;

#[Object]
impl LedgerQuery {
    /// Ledger entries, newest recorded first: one volunteer's (for themself or staff in
    /// scope) or, without `volunteerId`, those of everyone in the caller's staff scope (the
    /// approval queue with `status: PENDING`).
    #[allow(clippy::too_many_arguments)]
    async fn hours_entries(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "One volunteer's entries.")] volunteer_id: Option<ID>,
        #[graphql(desc = "Only entries in this state.")] status: Option<HoursStatus>,
        #[graphql(desc = "Service date on or after.")] from: Option<NaiveDate>,
        #[graphql(desc = "Service date on or before.")] to: Option<NaiveDate>,
        #[graphql(desc = "Page size, 1 to 500 (default 50).")] first: Option<i32>,
        #[graphql(desc = "Cursor of the last edge of the previous page.")] after: Option<String>,
    ) -> async_graphql::Result<
        Connection<OpaqueCursor<Uuid>, HoursEntryNode, EmptyFields, EmptyFields>,
    > {
        ctx.principal()?;
        let (volunteers, caller) = caller(ctx).await?;
        let first = paging::first(first)?;
        let before = paging::after::<Uuid>(after)?;
        let filter = EntryFilter {
            volunteer_id: volunteer_id.as_ref().map(volunteer_id_arg).transpose()?,
            under: None,
            status: status.map(|s| EntryStatus::from(s).as_str().to_owned()),
            from,
            to,
        };
        let (rows, more) = volunteers
            .hours_entries(&caller, filter, before, first)
            .await?;
        let mut connection = Connection::new(before.is_some(), more);
        connection.edges.extend(
            rows.into_iter()
                .map(|e| Edge::new(OpaqueCursor(e.id), HoursEntryNode(e))),
        );
        Ok(connection)
    }

    /// A volunteer's points balance; for themself or staff in scope.
    async fn points_balance(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The volunteer.")] volunteer_id: ID,
    ) -> async_graphql::Result<f64> {
        ctx.principal()?;
        let (volunteers, caller) = caller(ctx).await?;
        Ok(volunteers
            .points_balance(&caller, volunteer_id_arg(&volunteer_id)?)
            .await?)
    }

    /// A volunteer's points ledger, newest first; for themself or staff in scope.
    async fn points_entries(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The volunteer.")] volunteer_id: ID,
        #[graphql(desc = "Page size, 1 to 500 (default 50).")] first: Option<i32>,
        #[graphql(desc = "Cursor of the last edge of the previous page.")] after: Option<String>,
    ) -> async_graphql::Result<
        Connection<OpaqueCursor<Uuid>, PointsEntryNode, EmptyFields, EmptyFields>,
    > {
        ctx.principal()?;
        let (volunteers, caller) = caller(ctx).await?;
        let first = paging::first(first)?;
        let before = paging::after::<Uuid>(after)?;
        let (rows, more) = volunteers
            .points_entries(&caller, volunteer_id_arg(&volunteer_id)?, before, first)
            .await?;
        let mut connection = Connection::new(before.is_some(), more);
        connection.edges.extend(
            rows.into_iter()
                .map(|p| Edge::new(OpaqueCursor(p.id), PointsEntryNode(p))),
        );
        Ok(connection)
    }

    /// The top volunteers of a team or an org unit's subtree by approved hours or points,
    /// optionally within one quarter; staff whose scope covers the team's unit or the unit.
    #[allow(clippy::too_many_arguments)]
    async fn service_rankings(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Rank a team's members or a unit subtree's volunteers.")]
        scope: RankingScope,
        #[graphql(desc = "The team id or the unit id.")] id: ID,
        #[graphql(desc = "A calendar quarter such as `2026Q4`; all time when absent.")]
        quarter: Option<String>,
        #[graphql(desc = "What to sum (default HOURS).")] by: Option<RankingBy>,
        #[graphql(desc = "How many places, 1 to 500 (default 50).")] first: Option<i32>,
        #[graphql(desc = "Cursor of the last edge of the previous page.")] after: Option<String>,
    ) -> async_graphql::Result<
        Connection<OpaqueCursor<u64>, RankingRowNode, EmptyFields, EmptyFields>,
    > {
        ctx.principal()?;
        let (volunteers, caller) = caller(ctx).await?;
        let first = paging::first(first)?;
        let offset = paging::after::<u64>(after)?.unwrap_or(0);
        let target_id =
            Uuid::parse_str(id.as_str()).map_err(|_| ApiError::bad_input("id: not a UUID"))?;
        let target = match scope {
            RankingScope::Team => RankingTarget::Team(target_id),
            RankingScope::Unit => RankingTarget::Unit(target_id),
        };
        let measure = match by.unwrap_or(RankingBy::Hours) {
            RankingBy::Hours => RankingMeasure::Hours,
            RankingBy::Points => RankingMeasure::Points,
        };
        let (rows, more) = volunteers
            .ranking(&caller, target, measure, quarter.as_deref(), offset, first)
            .await?;
        let mut connection = Connection::new(offset > 0, more);
        connection
            .edges
            .extend(rows.into_iter().enumerate().map(|(i, r)| {
                let rank = offset + i as u64 + 1;
                Edge::new(
                    OpaqueCursor(rank),
                    RankingRowNode {
                        rank,
                        volunteer: r.volunteer_id,
                        total: r.total,
                    },
                )
            }));
        Ok(connection)
    }

    /// A district's star thresholds and points rules (defaults until center staff set them).
    async fn district_rules(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "District code, e.g. `rc`.")] district: String,
    ) -> async_graphql::Result<DistrictRulesNode> {
        let volunteers = ctx.data::<Volunteers>()?;
        Ok(DistrictRulesNode(
            volunteers.district_rules(&district).await?,
        ))
    }
}

/// A ledger entry to record.
#[derive(InputObject)]
pub struct RecordHoursInput {
    /// Whose hours.
    pub volunteer_id: ID,
    /// Where they come from (default: entered by staff).
    #[graphql(default_with = "HoursSource::Manual")]
    pub source: HoursSource,
    /// The order or activity id; required for those, absent for manual entries.
    pub source_id: Option<ID>,
    /// Hours in quarter hours, more than 0 and at most 24; the day's entries together may
    /// not exceed 24.
    pub hours: f64,
    /// Local date of the service; not in the future.
    pub service_date: NaiveDate,
    /// Where, 1 to 200 characters.
    pub place: String,
    /// What was done, 1 to 1000 characters.
    pub content: String,
    /// How it went, at most 1000 characters.
    pub evaluation: Option<String>,
}

/// Ledger mutations.
#[derive(Default)]
pub struct LedgerMutation;

#[Object]
impl LedgerMutation {
    /// Records a pending entry; staff whose scope covers the volunteer's home unit.
    async fn record_hours(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Whose hours, how many, when and for what.")] input: RecordHoursInput,
    ) -> async_graphql::Result<HoursEntryNode> {
        let actor = ctx.principal()?.clone();
        let volunteers = ctx.data::<Volunteers>()?;
        let source_id = input
            .source_id
            .as_ref()
            .map(|s| Uuid::parse_str(s.as_str()))
            .transpose()
            .map_err(|_| ApiError::bad_input("source_id: not a UUID"))?;
        let row = volunteers
            .record_hours(
                &actor,
                NewHours {
                    volunteer_id: volunteer_id_arg(&input.volunteer_id)?,
                    source: input.source.as_str().to_owned(),
                    source_id,
                    hours: input.hours,
                    service_date: input.service_date,
                    place: input.place,
                    content: input.content,
                    evaluation: input.evaluation,
                },
            )
            .await?;
        Ok(HoursEntryNode(row))
    }

    /// Approves a pending entry (staff in scope); totals, star level and points follow.
    /// CONFLICT if it was already decided.
    async fn approve_hours(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The pending entry.")] id: ID,
    ) -> async_graphql::Result<HoursEntryNode> {
        let actor = ctx.principal()?.clone();
        let volunteers = ctx.data::<Volunteers>()?;
        let row = volunteers.approve_hours(&actor, entry_id(&id)?).await?;
        Ok(HoursEntryNode(row))
    }

    /// Declines a pending entry with a reason (staff in scope); it stays visible as
    /// declined. CONFLICT if it was already decided.
    async fn decline_hours(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The pending entry.")] id: ID,
        #[graphql(desc = "Why, 1 to 500 characters.")] reason: String,
    ) -> async_graphql::Result<HoursEntryNode> {
        let actor = ctx.principal()?.clone();
        let volunteers = ctx.data::<Volunteers>()?;
        let row = volunteers
            .decline_hours(&actor, entry_id(&id)?, &reason)
            .await?;
        Ok(HoursEntryNode(row))
    }

    /// Sets a district's star thresholds (hours for 1, 2, … stars; strictly increasing,
    /// else BAD_USER_INPUT); staff of the district center only.
    async fn set_star_thresholds(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "District code, e.g. `rc`.")] district: String,
        #[graphql(desc = "Hours needed for 1, 2, … stars, strictly increasing.")] thresholds: Vec<
            f64,
        >,
    ) -> async_graphql::Result<DistrictRulesNode> {
        let actor = ctx.principal()?.clone();
        let volunteers = ctx.data::<Volunteers>()?;
        Ok(DistrictRulesNode(
            volunteers
                .set_district_rules(&actor, &district, Some(thresholds), None, None)
                .await?,
        ))
    }

    /// Sets a district's points rules (each 0 to 1000); staff of the district center only.
    async fn set_points_rules(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "District code, e.g. `rc`.")] district: String,
        #[graphql(desc = "Points per approved service hour, 0 to 1000.")] points_per_hour: i64,
        #[graphql(desc = "Points per rating star of a completed order, 0 to 1000.")]
        points_per_rating_star: i64,
    ) -> async_graphql::Result<DistrictRulesNode> {
        let actor = ctx.principal()?.clone();
        let volunteers = ctx.data::<Volunteers>()?;
        Ok(DistrictRulesNode(
            volunteers
                .set_district_rules(
                    &actor,
                    &district,
                    None,
                    Some(points_per_hour),
                    Some(points_per_rating_star),
                )
                .await?,
        ))
    }
}

fn volunteer_id_arg(id: &ID) -> Result<Uuid, ApiError> {
    volunteer_id(id, "volunteer_id").map(|v| v.0)
}

fn entry_id(id: &ID) -> Result<Uuid, ApiError> {
    Uuid::parse_str(id.as_str()).map_err(|_| ApiError::bad_input("id: not an hours entry id"))
}
