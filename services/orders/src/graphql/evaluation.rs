//! The quarterly evaluation in GraphQL (每季一次评比): `evaluationSettings`, `evaluation`,
//! `evaluationRanking`, `evaluationAwards`, and for the district center
//! `setEvaluationSettings` and `publishEvaluation` (rules in
//! [`crate::domain::evaluation`], who may do what in [`crate::service::Orders`]).

use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use tongxin_platform::ApiError;
use uuid::Uuid;

use super::Page;
use super::order::{LevelGql, OrgUnit, caller};
use crate::domain::Level;
use crate::domain::evaluation::{AwardRules, Criterion, Evaluation, Weights};
use crate::error::OrdersError;
use crate::service::{EvaluationRanking, UnitEvaluation};
use crate::store::evaluations::Settings;

/// What the quarterly evaluation counts.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(name = "EvaluationCriterion", remote = "Criterion")]
pub enum CriterionGql {
    /// Orders received within the unit's deadline: 1 − overdue ÷ received.
    OnTime,
    /// Orders the unit kept: 1 − escalated ÷ received.
    Escalation,
    /// Orders completed of those that stayed with the unit.
    Completion,
    /// Citizens' satisfaction: (mean rating − 1) ÷ 4.
    Rating,
    /// Weekly visit and monthly activity rules met over the unit's subtree.
    Cadence,
    /// Activities held in the subtree, relative to the most of the level.
    Activities,
    /// Their attendance, relative to the most of the level.
    Attendance,
    /// Approved hours of volunteers living in the subtree, relative to the most of the level.
    VolunteerHours,
}

/// One line of a score: what was counted, what it earned.
#[derive(SimpleObject, Clone)]
pub struct EvaluationLine {
    /// The criterion.
    pub criterion: CriterionGql,
    /// The figure in words, e.g. `14 of 16 periods met (…)`; says `no data, half marks` when
    /// there was nothing to judge.
    pub detail: String,
    /// The share earned, 0 to 1; null when there was no data (half the weight is given).
    pub share: Option<f64>,
    /// The district's weight for the criterion, in percent.
    pub weight: i32,
    /// Points earned: weight × share, two decimals.
    pub points: f64,
}

/// A unit's quarterly evaluation, explained line by line.
#[derive(SimpleObject, Clone)]
#[graphql(name = "UnitEvaluation")]
pub struct UnitEvaluationGql {
    /// The unit.
    pub unit: OrgUnit,
    /// Its path when evaluated.
    pub unit_path: String,
    /// Its level.
    pub level: Option<LevelGql>,
    /// The quarter, `2026Q4`.
    pub quarter: String,
    /// 0 to 100, one decimal: the sum of the lines' points.
    pub score: f64,
    /// Rank among the units of its level in the district; 1 is best.
    pub rank: i32,
    /// Orders that reached the unit in the quarter (the first tie-breaker).
    pub orders_received: i32,
    /// How the score was made, one line per criterion.
    pub lines: Vec<EvaluationLine>,
    /// Whether this is the published (frozen) evaluation; false while it is computed live.
    pub published: bool,
    /// The published version read (1, then 2, 3 … for corrections); null when live.
    pub version: Option<i32>,
    /// When that version was published.
    pub published_at: Option<DateTime<Utc>>,
    /// Why that version corrects an earlier one.
    pub correction_reason: Option<String>,
}

fn count(n: u32) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

impl UnitEvaluationGql {
    fn new(e: Evaluation, quarter: &str, published: Option<&crate::service::Published>) -> Self {
        Self {
            unit: OrgUnit {
                id: ID(e.unit_id.to_string()),
            },
            level: Level::parse(&e.level).ok().map(Into::into),
            quarter: quarter.to_owned(),
            score: e.score,
            rank: count(e.rank),
            orders_received: count(e.orders_received),
            lines: e
                .lines
                .into_iter()
                .map(|l| EvaluationLine {
                    criterion: l.criterion.into(),
                    detail: l.detail,
                    share: l.share,
                    weight: i32::from(l.weight),
                    points: l.points,
                })
                .collect(),
            published: published.is_some(),
            version: published.map(|p| p.version),
            published_at: published.map(|p| p.published_at),
            correction_reason: published.and_then(|p| p.reason.clone()),
            unit_path: e.unit_path,
        }
    }
}

impl From<UnitEvaluation> for UnitEvaluationGql {
    fn from(u: UnitEvaluation) -> Self {
        Self::new(u.evaluation, &u.quarter, u.published.as_ref())
    }
}

/// A district's weights, whole percentages summing to 100.
#[derive(SimpleObject, InputObject, Clone, Copy)]
#[graphql(input_name = "EvaluationWeightsInput")]
pub struct EvaluationWeights {
    /// Orders received on time.
    pub on_time: i32,
    /// Orders kept rather than passed up.
    pub escalation: i32,
    /// Orders completed.
    pub completion: i32,
    /// Citizens' ratings.
    pub rating: i32,
    /// Visit and activity rules met.
    pub cadence: i32,
    /// Activities held.
    pub activities: i32,
    /// Their attendance.
    pub attendance: i32,
    /// Volunteer hours served.
    pub volunteer_hours: i32,
}

impl From<Weights> for EvaluationWeights {
    fn from(w: Weights) -> Self {
        Self {
            on_time: w.on_time.into(),
            escalation: w.escalation.into(),
            completion: w.completion.into(),
            rating: w.rating.into(),
            cadence: w.cadence.into(),
            activities: w.activities.into(),
            attendance: w.attendance.into(),
            volunteer_hours: w.volunteer_hours.into(),
        }
    }
}

impl EvaluationWeights {
    fn parse(self) -> Result<Weights, OrdersError> {
        Ok(Weights::parse(
            [
                self.on_time,
                self.escalation,
                self.completion,
                self.rating,
                self.cadence,
                self.activities,
                self.attendance,
                self.volunteer_hours,
            ]
            .map(i64::from),
        )?)
    }
}

/// Points a published ranking awards to the first ranks of one level, per member of the
/// awarded unit's teams.
#[derive(SimpleObject, InputObject, Clone)]
#[graphql(input_name = "EvaluationAwardRuleInput")]
pub struct EvaluationAwardRule {
    /// The level (institutes, stations or courtyards).
    pub level: LevelGql,
    /// Points by rank: the first to rank 1, the second to rank 2, … (at most 20 ranks,
    /// 0 to 10,000 points each).
    pub points: Vec<i32>,
}

/// A district's evaluation settings.
#[derive(SimpleObject, Clone)]
pub struct EvaluationSettings {
    /// The district code.
    pub district: String,
    /// The weights.
    pub weights: EvaluationWeights,
    /// The award rules, one per awarded level.
    pub awards: Vec<EvaluationAwardRule>,
    /// Who set them; null while the district uses the defaults.
    pub set_by: Option<String>,
    /// When.
    pub set_at: Option<DateTime<Utc>>,
}

impl EvaluationSettings {
    fn new(district: String, s: Settings) -> Self {
        Self {
            district,
            weights: s.weights.into(),
            awards: s
                .awards
                .by_level
                .into_iter()
                .filter_map(|(level, points)| {
                    Some(EvaluationAwardRule {
                        level: Level::parse(&level).ok()?.into(),
                        points: points
                            .into_iter()
                            .map(|p| i32::try_from(p).unwrap_or(i32::MAX))
                            .collect(),
                    })
                })
                .collect(),
            set_by: s.set_by,
            set_at: s.set_at,
        }
    }
}

/// A published version of a district's quarterly evaluation.
#[derive(SimpleObject, Clone)]
pub struct EvaluationPublication {
    /// The publication id.
    pub id: ID,
    /// The quarter.
    pub quarter: String,
    /// 1, then 2, 3 … for corrections.
    pub version: i32,
    /// Why it corrects the previous version (null for version 1).
    pub reason: Option<String>,
    /// When it was published.
    pub published_at: DateTime<Utc>,
}

/// Points a published evaluation awarded to a unit's teams.
#[derive(SimpleObject, Clone)]
pub struct EvaluationAward {
    /// The award id (the key the volunteers ledger credits by).
    pub id: ID,
    /// The unit whose teams' members were credited.
    pub unit: OrgUnit,
    /// Its level.
    pub level: Option<LevelGql>,
    /// Its rank in the version that awarded it.
    pub rank: i32,
    /// Points per member.
    pub points: i32,
    /// The publication that awarded it.
    pub publication_id: ID,
}

fn quarter_arg(quarter: &str) -> String {
    quarter.trim().to_owned()
}

/// Evaluation queries.
#[derive(Default)]
pub struct EvaluationQuery;

#[Object]
impl EvaluationQuery {
    /// The caller's district's evaluation weights and award rules (the defaults until the
    /// center sets them). Staff only.
    async fn evaluation_settings(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<EvaluationSettings> {
        let (orders, caller) = caller(ctx).await?;
        let (district, settings) = orders.evaluation_settings(&caller).await?;
        Ok(EvaluationSettings::new(district, settings))
    }

    /// A unit's quarterly evaluation (每季一次评比), explained line by line: the published
    /// one once the quarter is published (frozen; the newest version), computed from the
    /// figures as they stand before. Staff whose scope covers the unit.
    async fn evaluation(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The unit (an institute, station or courtyard).")] unit_id: ID,
        #[graphql(desc = "The quarter, e.g. `2026Q4` (China Standard Time).")] quarter: String,
    ) -> async_graphql::Result<UnitEvaluationGql> {
        let (orders, caller) = caller(ctx).await?;
        let unit = Uuid::parse_str(unit_id.as_str())
            .map_err(|_| ApiError::bad_input("unitId: not a unit id"))?;
        let e = orders
            .unit_evaluation(&caller, unit, &quarter_arg(&quarter))
            .await?;
        Ok(e.into())
    }

    /// The ranking of one level in the caller's district for a quarter, best first: the
    /// units at or below the caller's unit, with their district-wide ranks. Published
    /// versions are frozen; `version` reads an earlier one. Staff only.
    async fn evaluation_ranking(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The quarter, e.g. `2026Q4` (China Standard Time).")] quarter: String,
        #[graphql(desc = "The level ranked: institute, station or courtyard.")] level: LevelGql,
        #[graphql(desc = "A published version; the newest (or the live ranking) when absent.")]
        version: Option<i32>,
        #[graphql(desc = "Page size, 1 to 500 (default 100).")] first: Option<i32>,
        #[graphql(desc = "Cursor of the last edge of the previous page.")] after: Option<String>,
    ) -> async_graphql::Result<Page<UnitEvaluationGql>> {
        let (orders, caller) = caller(ctx).await?;
        let EvaluationRanking {
            quarter,
            entries,
            published,
            ..
        } = orders
            .evaluation_ranking(&caller, &quarter_arg(&quarter), level.into(), version)
            .await?;
        super::page_of(entries, after, first, |e| {
            UnitEvaluationGql::new(e, &quarter, published.as_ref())
        })
    }

    /// The points the caller's district's published evaluations of a quarter awarded, by
    /// level and rank. Staff only.
    async fn evaluation_awards(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The quarter, e.g. `2026Q4`.")] quarter: String,
        #[graphql(desc = "Page size, 1 to 500 (default 100).")] first: Option<i32>,
        #[graphql(desc = "Cursor of the last edge of the previous page.")] after: Option<String>,
    ) -> async_graphql::Result<Page<EvaluationAward>> {
        let (orders, caller) = caller(ctx).await?;
        let awards = orders
            .evaluation_awards(&caller, &quarter_arg(&quarter))
            .await?;
        super::page_of(awards, after, first, |a| EvaluationAward {
            id: ID(a.id.to_string()),
            unit: OrgUnit {
                id: ID(a.unit_id.to_string()),
            },
            level: Level::parse(&a.level).ok().map(Into::into),
            rank: a.rank,
            points: a.points,
            publication_id: ID(a.publication_id.to_string()),
        })
    }
}

/// Evaluation mutations (the district center's staff).
#[derive(Default)]
pub struct EvaluationMutation;

#[Object]
impl EvaluationMutation {
    /// Sets the caller's district's weights (whole percentages summing to 100) and award
    /// rules. Only the district center's staff. Applies to quarters published from now on;
    /// published ones keep the weights they were scored with.
    async fn set_evaluation_settings(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The weights, summing to 100.")] weights: EvaluationWeights,
        #[graphql(desc = "Points by rank per level; an empty list awards nothing.")] awards: Vec<
            EvaluationAwardRule,
        >,
    ) -> async_graphql::Result<EvaluationSettings> {
        let (orders, caller) = caller(ctx).await?;
        let weights = weights.parse()?;
        let awards = AwardRules::parse(
            awards
                .into_iter()
                .map(|a| {
                    (
                        Level::from(a.level).as_str().to_owned(),
                        a.points.into_iter().map(i64::from).collect(),
                    )
                })
                .collect(),
        )
        .map_err(OrdersError::from)?;
        let (district, settings) = orders
            .set_evaluation_settings(&caller, weights, awards)
            .await?;
        Ok(EvaluationSettings::new(district, settings))
    }

    /// Publishes the caller's district's evaluation of an ended quarter: freezes the ranking
    /// of every level, awards points by the district's rules (once per unit and quarter) and
    /// announces `tongxin.orders.evaluation_published`. Publishing again makes a correction:
    /// a new version, which needs a `reason`. Only the district center's staff.
    async fn publish_evaluation(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The quarter, e.g. `2026Q3`; it must have ended.")] quarter: String,
        #[graphql(
            desc = "Why a correction is published (required from version 2; at most 500 characters)."
        )]
        reason: Option<String>,
    ) -> async_graphql::Result<EvaluationPublication> {
        let (orders, caller) = caller(ctx).await?;
        let q = quarter_arg(&quarter);
        let p = orders.publish_evaluation(&caller, &q, reason).await?;
        Ok(EvaluationPublication {
            id: ID(p.id.to_string()),
            quarter: rules_quarter(&q),
            version: p.version,
            reason: p.reason,
            published_at: p.published_at,
        })
    }
}

/// The canonical quarter name (`2026q4` → `2026Q4`); the service already checked it.
fn rules_quarter(q: &str) -> String {
    q.to_ascii_uppercase()
}
