//! Evaluation and ranking in GraphQL (效果评价, 每季一次评比): `unitMetrics`, `rankings`,
//! `volunteerRankings`, for staff in scope (definitions in [`crate::domain::metrics`]).

use async_graphql::connection::{Connection, EmptyFields, OpaqueCursor};
use async_graphql::{Context, ID, Object, SimpleObject};
use chrono::{DateTime, Utc};
use tongxin_platform::ApiError;
use uuid::Uuid;

use super::order::{LevelGql, OrgUnit, Volunteer, caller};
use crate::domain::Level;
use crate::domain::intake::Channel;
use crate::domain::metrics::{MAX_RANKING, Period, RankedUnit, RankedVolunteer, UnitMetrics};

/// A unit's figures for a period. The unit is judged on the orders that reached it (placed
/// there or escalated to it) within the period, not on its subtree; what happened to those
/// orders afterwards counts up to now.
#[derive(SimpleObject, Clone)]
#[graphql(name = "UnitMetrics")]
pub struct UnitMetricsGql {
    /// The unit.
    pub unit: OrgUnit,
    /// Its path.
    pub unit_path: String,
    /// Its level (null if this service has not learnt it).
    pub level: Option<LevelGql>,
    /// Start of the period, inclusive.
    pub from: DateTime<Utc>,
    /// End of the period, exclusive.
    pub to: DateTime<Utc>,
    /// The quarter (`2026Q4`) when the period is exactly one.
    pub quarter: Option<String>,
    /// Orders that reached the unit in the period (its intake).
    pub orders_received: i32,
    /// Of those, received by the unit's staff.
    pub orders_taken: i32,
    /// Median minutes from arrival to receipt by the unit's staff.
    pub median_receive_minutes: Option<f64>,
    /// Orders completed while the unit held them.
    pub orders_completed: i32,
    /// Median minutes from arrival to completion.
    pub median_complete_minutes: Option<f64>,
    /// Orders passed up to the parent (by staff or by the scheduler).
    pub escalated: i32,
    /// escalated ÷ ordersReceived.
    pub escalation_rate: Option<f64>,
    /// Orders not received within the unit's deadline (escalated by the scheduler, alerted
    /// at the center, or still waiting past the deadline).
    pub overdue: i32,
    /// Orders the citizen cancelled while the unit held them.
    pub cancelled: i32,
    /// ordersCompleted ÷ (ordersReceived − escalated − cancelled).
    pub completion_rate: Option<f64>,
    /// Ratings of the orders the unit completed.
    pub ratings: i32,
    /// Their mean, 1 to 5.
    pub mean_rating: Option<f64>,
    /// The composite ranking score, 0 to 100 (weights in the service docs: completion 30,
    /// receive speed 25, not escalating 20, satisfaction 15, on time 10).
    pub score: f64,
    /// `ordersReceived` per channel: where the needs were heard (they sum to it).
    pub received_by_channel: Vec<ChannelCount>,
}

/// How many of a unit's orders came in through one channel.
#[derive(SimpleObject, Clone)]
pub struct ChannelCount {
    /// The channel.
    pub channel: super::inperson::ChannelGql,
    /// Orders received through it.
    pub orders: i32,
}

fn count(n: u32) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

impl UnitMetricsGql {
    fn new(m: UnitMetrics, period: Period) -> Self {
        Self {
            unit: OrgUnit {
                id: ID(m.unit_id.to_string()),
            },
            level: Level::parse(&m.level).ok().map(Into::into),
            from: period.from,
            to: period.to,
            quarter: period.quarter_name(),
            orders_received: count(m.received),
            orders_taken: count(m.taken),
            median_receive_minutes: m.median_receive_minutes,
            orders_completed: count(m.completed),
            median_complete_minutes: m.median_complete_minutes,
            escalated: count(m.escalated),
            escalation_rate: m.escalation_rate,
            overdue: count(m.overdue),
            cancelled: count(m.cancelled),
            completion_rate: m.completion_rate,
            ratings: count(m.ratings),
            mean_rating: m.mean_rating,
            score: m.score(),
            received_by_channel: Channel::ALL
                .iter()
                .map(|c| ChannelCount {
                    channel: (*c).into(),
                    orders: count(m.by_channel.get(*c)),
                })
                .collect(),
            unit_path: m.unit_path,
        }
    }
}

/// A unit's place in the quarterly ranking of its level.
#[derive(SimpleObject, Clone)]
pub struct UnitRanking {
    /// 1 is best.
    pub rank: i32,
    /// The composite score, 0 to 100.
    pub score: f64,
    /// The figures behind it.
    pub metrics: UnitMetricsGql,
}

/// A volunteer's place in the quarterly ranking.
#[derive(SimpleObject, Clone)]
pub struct VolunteerRanking {
    /// 1 is best (most completed orders, then hours, then mean rating).
    pub rank: i32,
    /// The volunteer.
    pub volunteer: Volunteer,
    /// Orders completed in the quarter with hours credited to them.
    pub orders_completed: i32,
    /// Hours credited on those orders.
    pub hours: f64,
    /// Mean citizen rating of those orders that were rated.
    pub mean_rating: Option<f64>,
}

impl From<RankedVolunteer> for VolunteerRanking {
    fn from(v: RankedVolunteer) -> Self {
        Self {
            rank: count(v.rank),
            volunteer: Volunteer {
                id: ID(v.volunteer_id.to_string()),
            },
            orders_completed: count(v.completed),
            hours: v.hours,
            mean_rating: v.mean_rating,
        }
    }
}

type Ranking<N> = Connection<OpaqueCursor<usize>, N, EmptyFields, EmptyFields>;

/// Evaluation and ranking queries.
#[derive(Default)]
pub struct MetricsQuery;

#[Object]
impl MetricsQuery {
    /// A unit's figures for a period: give `quarter` (`2026Q4`, China Standard Time) or
    /// `from` and `to`. Staff whose scope covers the unit.
    async fn unit_metrics(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The unit (from the venues subgraph).")] unit_id: ID,
        #[graphql(desc = "Start of the period, inclusive (RFC 3339); with `to`.")] from: Option<
            DateTime<Utc>,
        >,
        #[graphql(desc = "End of the period, exclusive (RFC 3339); with `from`.")] to: Option<
            DateTime<Utc>,
        >,
        #[graphql(
            desc = "A quarter such as `2026Q4` (China Standard Time), instead of `from`/`to`."
        )]
        quarter: Option<String>,
    ) -> async_graphql::Result<UnitMetricsGql> {
        let (orders, caller) = caller(ctx).await?;
        let unit = Uuid::parse_str(unit_id.as_str())
            .map_err(|_| ApiError::bad_input("unitId: not a unit id"))?;
        let period = Period::requested(from, to, quarter.as_deref())
            .map_err(crate::error::OrdersError::from)?;
        let m = orders.unit_metrics(&caller, unit, period).await?;
        Ok(UnitMetricsGql::new(m, period))
    }

    /// The quarterly ranking (每季一次评比) of the units of one level at or below the
    /// caller's unit that orders reached in the quarter, best first. Staff only.
    async fn rankings(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The level whose units are ranked.")] level: LevelGql,
        #[graphql(desc = "The quarter, e.g. `2026Q4` (China Standard Time).")] quarter: String,
        #[graphql(desc = "Page size, 1 to 500 (default 50).")] first: Option<i32>,
        #[graphql(desc = "Cursor of the last edge of the previous page.")] after: Option<String>,
    ) -> async_graphql::Result<Ranking<UnitRanking>> {
        let (orders, caller) = caller(ctx).await?;
        let period = Period::quarter(&quarter).map_err(crate::error::OrdersError::from)?;
        let all = orders
            .rankings(&caller, level.into(), period, MAX_RANKING)
            .await?;
        super::page_of(all, after, first, |r: RankedUnit| UnitRanking {
            rank: count(r.rank),
            score: r.score,
            metrics: UnitMetricsGql::new(r.metrics, period),
        })
    }

    /// The quarterly ranking of volunteers by the orders they completed at units at or
    /// below the caller's unit, best first. Staff only.
    async fn volunteer_rankings(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The quarter, e.g. `2026Q4` (China Standard Time).")] quarter: String,
        #[graphql(desc = "Page size, 1 to 500 (default 50).")] first: Option<i32>,
        #[graphql(desc = "Cursor of the last edge of the previous page.")] after: Option<String>,
    ) -> async_graphql::Result<Ranking<VolunteerRanking>> {
        let (orders, caller) = caller(ctx).await?;
        let period = Period::quarter(&quarter).map_err(crate::error::OrdersError::from)?;
        let all = orders
            .volunteer_rankings(&caller, period, MAX_RANKING)
            .await?;
        super::page_of(all, after, first, VolunteerRanking::from)
    }
}
