//! The rhythm of the work in GraphQL: `Visit`, `visit`, `visits`, `recordVisit`,
//! `cadenceRules`, `setCadenceRules` and `cadence`.

use async_graphql::connection::{Connection, CursorType, Edge, EmptyFields, OpaqueCursor};
use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, NaiveDate, Utc};
use tongxin_platform::ApiError;
use tongxin_platform::graphql::ContextExt;
use uuid::Uuid;

use super::org::{Location, LocationInput, OrgUnitNode, UnitKindGql};
use super::venue::{load_unit_node, page_size, unit_id};
use crate::domain::rhythm::{
    CadencePeriod, LevelTally, Outcome, PeriodKind, RulesInput, Standing, VisitId, local_date,
};
use crate::error::VenuesError;
use crate::service::Venues;
use crate::service::rhythm::{CadenceView, DistrictRules, NewVisit, UnitCadence, VisitView};

/// A visit (走访) to a courtyard or a household area. The point, notes and needs heard are
/// personal data: only the visitor and staff or volunteers whose scope covers the unit see
/// them; everyone else sees them withheld (`masked` true).
pub struct VisitNode(pub VisitView);

/// A visit (走访) to a courtyard or a household area. The point, notes and needs heard are
/// personal data: only the visitor and staff or volunteers whose scope covers the unit see
/// them; everyone else sees them withheld (`masked` true).
#[Object(name = "Visit")]
impl VisitNode {
    /// Unique id (UUID).
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    /// The unit visited (a courtyard, or the unit whose area it was).
    async fn unit(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<OrgUnitNode>> {
        load_unit_node(ctx, self.0.unit_id).await
    }

    /// When it took place (UTC).
    async fn visited_at(&self) -> DateTime<Utc> {
        self.0.visited_at
    }

    /// The district's local date it took place on.
    async fn visited_on(&self) -> NaiveDate {
        local_date(self.0.visited_at)
    }

    /// Principal subject of the visitor who recorded it.
    async fn recorder(&self) -> &str {
        &self.0.recorder
    }

    /// Households reached, 0 to 500.
    async fn households_reached(&self) -> u32 {
        self.0.households_reached
    }

    /// How many needs were heard (shown to everyone; the texts are personal).
    async fn needs_heard_count(&self) -> u32 {
        self.0.needs_count
    }

    /// Whether the point, notes and needs are withheld from you.
    async fn masked(&self) -> bool {
        self.0.details.is_none()
    }

    /// The household area's point; null when none was given or when masked.
    async fn point(&self) -> Option<Location> {
        let p = self.0.details.as_ref()?.point?;
        Some(Location {
            lat: p.lat(),
            lon: p.lon(),
        })
    }

    /// The visitor's notes; null when none were written or when masked.
    async fn notes(&self) -> Option<&str> {
        self.0.details.as_ref()?.notes.as_deref()
    }

    /// The needs heard (they may name residents); empty when masked.
    async fn needs_heard(&self) -> Vec<String> {
        self.0
            .details
            .as_ref()
            .map(|d| d.needs.clone())
            .unwrap_or_default()
    }
}

/// A new visit.
#[derive(InputObject)]
pub struct RecordVisitInput {
    /// The unit visited, in your scope: a courtyard, or any unit for its area.
    pub unit_id: ID,
    /// When it took place: not in the future (5 minutes of clock skew allowed), at most a
    /// year ago.
    pub visited_at: DateTime<Utc>,
    /// Households reached, 0 to 500.
    pub households_reached: i32,
    /// The household area visited, if any (personal data: sealed, and masked outside the
    /// unit's scope).
    pub point: Option<LocationInput>,
    /// Notes, at most 2000 characters (sealed at rest).
    pub notes: Option<String>,
    /// Needs heard, at most 20, each 1 to 500 characters (sealed at rest; they may name
    /// residents).
    #[graphql(default)]
    pub needs_heard: Vec<String>,
}

/// What a cadence period counts: weeks count visits, months count activities held.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(name = "CadencePeriodKind", remote = "PeriodKind")]
pub enum PeriodKindGql {
    /// Monday to Sunday on the district's clock (UTC+8); counts visits against the
    /// visits-per-week rule.
    Week,
    /// A calendar month on the district's clock; counts activities held against the
    /// activities-per-month rule.
    Month,
}

/// Where a unit stands in one period.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(name = "CadenceStanding", remote = "Standing")]
pub enum StandingGql {
    /// Did at least what the rule asks.
    Met,
    /// The period ended short of it.
    Missed,
    /// The period has not ended and the rule is not met yet.
    Open,
}

/// A range of weeks or months.
#[derive(InputObject)]
pub struct CadencePeriodInput {
    /// Weeks (visits) or months (activities).
    pub kind: PeriodKindGql,
    /// A day in the first period (the district's local date).
    pub from: NaiveDate,
    /// A day in the last period; at most 53 weeks or 12 months after the first.
    pub to: NaiveDate,
}

/// A district's cadence rules (每周一次走访、每月一次活动): how many visits per week and
/// activities per month each level must record. A null or 0 is no rule.
pub struct CadenceRulesNode(DistrictRules);

/// A district's cadence rules (每周一次走访、每月一次活动): how many visits per week and
/// activities per month each level must record. A null or 0 is no rule.
#[Object(name = "CadenceRules")]
impl CadenceRulesNode {
    /// The district's center, where the rules hang.
    async fn district(&self) -> OrgUnitNode {
        OrgUnitNode(self.0.district.clone())
    }

    /// Visits each courtyard must record per week (default 1).
    async fn courtyard_visits_per_week(&self) -> Option<u32> {
        self.0.rules.courtyard.visits_per_week
    }

    /// Activities each courtyard must hold per month (default 1).
    async fn courtyard_activities_per_month(&self) -> Option<u32> {
        self.0.rules.courtyard.activities_per_month
    }

    /// Visits each station must record per week itself; null: no rule (the default).
    async fn station_visits_per_week(&self) -> Option<u32> {
        self.0.rules.station.visits_per_week
    }

    /// Activities each station must organise per month itself; null: no rule.
    async fn station_activities_per_month(&self) -> Option<u32> {
        self.0.rules.station.activities_per_month
    }

    /// Visits each institute must record per week itself; null: no rule.
    async fn institute_visits_per_week(&self) -> Option<u32> {
        self.0.rules.institute.visits_per_week
    }

    /// Activities each institute must organise per month itself; null: no rule.
    async fn institute_activities_per_month(&self) -> Option<u32> {
        self.0.rules.institute.activities_per_month
    }

    /// Whether these are the defaults (nobody has set rules for the district yet).
    async fn is_default(&self) -> bool {
        self.0.set.is_none()
    }

    /// Principal subject of whoever set them; null for the defaults.
    async fn set_by(&self) -> Option<&str> {
        self.0.set.as_ref().map(|(by, _)| by.as_str())
    }

    /// When they were set; null for the defaults.
    async fn set_at(&self) -> Option<DateTime<Utc>> {
        self.0.set.as_ref().map(|(_, at)| *at)
    }
}

/// New cadence rules for a district; every count 0 to 50 visits a week or 0 to 31
/// activities a month (0 is no rule).
#[derive(InputObject)]
pub struct CadenceRulesInput {
    /// Visits each courtyard must record per week.
    pub courtyard_visits_per_week: i32,
    /// Activities each courtyard must hold per month.
    pub courtyard_activities_per_month: i32,
    /// Visits each station must record per week itself; null for no rule.
    pub station_visits_per_week: Option<i32>,
    /// Activities each station must organise per month itself; null for no rule.
    pub station_activities_per_month: Option<i32>,
    /// Visits each institute must record per week itself; null for no rule.
    pub institute_visits_per_week: Option<i32>,
    /// Activities each institute must organise per month itself; null for no rule.
    pub institute_activities_per_month: Option<i32>,
}

/// One week or month.
#[derive(SimpleObject)]
#[graphql(name = "CadencePeriod")]
pub struct CadencePeriodGql {
    /// Its first local date (a Monday, or the 1st).
    pub start: NaiveDate,
    /// Its last local date.
    pub last_day: NaiveDate,
}

impl From<CadencePeriod> for CadencePeriodGql {
    fn from(p: CadencePeriod) -> Self {
        Self {
            start: p.start,
            last_day: p.last_day(),
        }
    }
}

/// One unit in one period.
#[derive(SimpleObject)]
pub struct CadencePeriodOutcome {
    /// The period's first local date.
    pub start: NaiveDate,
    /// What the rule asked for.
    pub required: u32,
    /// What was recorded (visits, or activities held).
    pub done: u32,
    /// Met, missed, or still open.
    pub standing: StandingGql,
}

impl From<&Outcome> for CadencePeriodOutcome {
    fn from(o: &Outcome) -> Self {
        Self {
            start: o.period.start,
            required: o.required,
            done: o.done,
            standing: o.standing.into(),
        }
    }
}

/// One unit under a rule, over the periods asked for.
pub struct UnitCadenceNode(UnitCadence);

/// One unit under a rule, over the periods asked for.
#[Object(name = "UnitCadence")]
impl UnitCadenceNode {
    /// The unit.
    async fn unit(&self) -> OrgUnitNode {
        OrgUnitNode(self.0.unit.clone())
    }

    /// Its level.
    async fn level(&self) -> UnitKindGql {
        self.0.unit.kind.into()
    }

    /// What its rule asks per period.
    async fn required(&self) -> u32 {
        self.0.required
    }

    /// One entry per period, oldest first.
    async fn periods(&self) -> Vec<CadencePeriodOutcome> {
        self.0.outcomes.iter().map(Into::into).collect()
    }

    /// Consecutive met periods up to the latest decided one in the range (open periods at
    /// the end skipped); 0 when the latest was missed.
    async fn met_streak(&self) -> u32 {
        self.0.streaks.met
    }

    /// Consecutive missed periods up to the latest decided one in the range; 0 when the
    /// latest was met.
    async fn missed_streak(&self) -> u32 {
        self.0.streaks.missed
    }
}

/// How many units of one level met the rule in one period.
#[derive(SimpleObject)]
pub struct LevelPeriodTally {
    /// The period's first local date.
    pub start: NaiveDate,
    /// Units that met it.
    pub met: u32,
    /// Units that missed it.
    pub missed: u32,
    /// Units whose period is still open.
    pub open: u32,
}

/// Totals for one level (e.g. how many courtyards met the rule in each week).
#[derive(SimpleObject)]
pub struct LevelCadence {
    /// The level.
    pub level: UnitKindGql,
    /// Units of this level under a rule in the subtree.
    pub units: u32,
    /// One entry per period, oldest first.
    pub periods: Vec<LevelPeriodTally>,
}

/// The cadence of a unit and every unit below it under a rule: per period, what was
/// required and done, met or missed; each unit's streaks; totals per level.
pub struct CadenceNode(CadenceView);

/// The cadence of a unit and every unit below it under a rule: per period, what was
/// required and done, met or missed; each unit's streaks; totals per level.
#[Object(name = "Cadence")]
impl CadenceNode {
    /// The unit asked about.
    async fn unit(&self) -> OrgUnitNode {
        OrgUnitNode(self.0.unit.clone())
    }

    /// Weeks (visits) or months (activities).
    async fn kind(&self) -> PeriodKindGql {
        self.0.kind.into()
    }

    /// The periods, oldest first.
    async fn periods(&self) -> Vec<CadencePeriodGql> {
        self.0.periods.iter().copied().map(Into::into).collect()
    }

    /// The unit and the units below it that have a rule, ordered by path.
    async fn units(&self) -> Vec<UnitCadenceNode> {
        self.0.units.iter().cloned().map(UnitCadenceNode).collect()
    }

    /// Totals per level, courtyards first.
    async fn levels(&self) -> Vec<LevelCadence> {
        self.0
            .levels
            .iter()
            .map(|(level, tallies)| LevelCadence {
                level: (*level).into(),
                units: u32::try_from(
                    self.0
                        .units
                        .iter()
                        .filter(|u| u.unit.kind == *level)
                        .count(),
                )
                .unwrap_or(u32::MAX),
                periods: self
                    .0
                    .periods
                    .iter()
                    .zip(tallies)
                    .map(|(p, t): (&CadencePeriod, &LevelTally)| LevelPeriodTally {
                        start: p.start,
                        met: t.met,
                        missed: t.missed,
                        open: t.open,
                    })
                    .collect(),
            })
            .collect()
    }
}

fn visit_id(id: &ID) -> Result<VisitId, VenuesError> {
    Ok(VisitId::parse(id.as_str(), "id")?)
}

/// Visit and cadence queries.
#[derive(Default)]
pub struct RhythmQuery;

#[Object]
impl RhythmQuery {
    /// One visit; null when there is none. Staff and volunteers; the personal parts are
    /// masked outside your scope.
    async fn visit(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The visit id.")] id: ID,
    ) -> async_graphql::Result<Option<VisitNode>> {
        let viewer = ctx.principal()?;
        let venues = ctx.data::<Venues>()?;
        Ok(venues.visit(viewer, visit_id(&id)?).await?.map(VisitNode))
    }

    /// Visits to a unit and the units below it, newest first. Staff and volunteers; the
    /// personal parts are masked outside your scope.
    async fn visits(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The unit whose subtree's visits are listed.")] unit_id: ID,
        #[graphql(desc = "Only visits at or after this time.")] from: Option<DateTime<Utc>>,
        #[graphql(desc = "Only visits before this time.")] to: Option<DateTime<Utc>>,
        #[graphql(desc = "Page size, 1 to 1000 (default 100).")] first: Option<i32>,
        #[graphql(desc = "Cursor of the last edge of the previous page.")] after: Option<String>,
    ) -> async_graphql::Result<
        Connection<OpaqueCursor<(DateTime<Utc>, Uuid)>, VisitNode, EmptyFields, EmptyFields>,
    > {
        let viewer = ctx.principal()?;
        let venues = ctx.data::<Venues>()?;
        let unit = self::unit_id(&unit_id, "unitId")?;
        let after = match after {
            Some(cursor) => Some(
                OpaqueCursor::<(DateTime<Utc>, Uuid)>::decode_cursor(&cursor)
                    .map_err(|_| ApiError::bad_input("after: not a cursor from this field"))?
                    .0,
            ),
            None => None,
        };
        let (rows, more) = venues
            .visits_page(
                viewer,
                unit,
                (from, to),
                after,
                page_size(first, crate::service::MAX_PAGE)?,
            )
            .await?;
        let mut connection = Connection::new(after.is_some(), more);
        connection.edges.extend(
            rows.into_iter()
                .map(|v| Edge::new(OpaqueCursor((v.visited_at, v.id.0)), VisitNode(v))),
        );
        Ok(connection)
    }

    /// A district's cadence rules (the defaults until its center's staff set some).
    /// Anyone signed in.
    async fn cadence_rules(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The district's center.")] district_id: ID,
    ) -> async_graphql::Result<CadenceRulesNode> {
        ctx.principal()?;
        let venues = ctx.data::<Venues>()?;
        let rules = venues
            .cadence_rules(self::unit_id(&district_id, "districtId")?)
            .await?;
        Ok(CadenceRulesNode(rules))
    }

    /// How a unit and every unit below it under a rule kept the cadence, week by week
    /// (visits) or month by month (activities), with streaks and totals per level. Staff
    /// whose scope covers the unit.
    async fn cadence(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The unit at the top of the view.")] unit_id: ID,
        #[graphql(desc = "Weeks or months, and the range.")] period: CadencePeriodInput,
    ) -> async_graphql::Result<CadenceNode> {
        let viewer = ctx.principal()?;
        let venues = ctx.data::<Venues>()?;
        let view = venues
            .cadence(
                viewer,
                self::unit_id(&unit_id, "unitId")?,
                period.kind.into(),
                (period.from, period.to),
                Utc::now(),
            )
            .await?;
        Ok(CadenceNode(view))
    }
}

/// Visit and cadence changes.
#[derive(Default)]
pub struct RhythmMutation;

#[Object]
impl RhythmMutation {
    /// Records a visit (走访) to a unit in your scope (staff, or a volunteer whose scope
    /// covers it); publishes `tongxin.venues.visit_recorded` (counts only).
    async fn record_visit(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The visit: unit, time, households reached, notes and needs heard.")]
        input: RecordVisitInput,
    ) -> async_graphql::Result<VisitNode> {
        let actor = ctx.principal()?;
        let venues = ctx.data::<Venues>()?;
        let visit = venues
            .record_visit(
                actor,
                NewVisit {
                    unit_id: input.unit_id.0,
                    visited_at: input.visited_at,
                    households_reached: i64::from(input.households_reached),
                    point: input.point.map(|p| (p.lat, p.lon)),
                    notes: input.notes,
                    needs_heard: input.needs_heard,
                },
                Utc::now(),
            )
            .await?;
        Ok(VisitNode(visit))
    }

    /// Sets a district's cadence rules; staff of its center.
    async fn set_cadence_rules(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The district's center.")] district_id: ID,
        #[graphql(desc = "The rules.")] input: CadenceRulesInput,
    ) -> async_graphql::Result<CadenceRulesNode> {
        let actor = ctx.principal()?;
        let venues = ctx.data::<Venues>()?;
        let rules = venues
            .set_cadence_rules(
                actor,
                self::unit_id(&district_id, "districtId")?,
                RulesInput {
                    courtyard_visits_per_week: i64::from(input.courtyard_visits_per_week),
                    courtyard_activities_per_month: i64::from(input.courtyard_activities_per_month),
                    station_visits_per_week: input.station_visits_per_week.map(i64::from),
                    station_activities_per_month: input.station_activities_per_month.map(i64::from),
                    institute_visits_per_week: input.institute_visits_per_week.map(i64::from),
                    institute_activities_per_month: input
                        .institute_activities_per_month
                        .map(i64::from),
                },
                Utc::now(),
            )
            .await?;
        Ok(CadenceRulesNode(rules))
    }
}
