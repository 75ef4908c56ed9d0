//! Evaluation and ranking (效果评价, 每季一次评比): pure functions over timeline rows and
//! order rows, no I/O.
//!
//! **Whose orders.** A unit is judged on the orders it *held*, not on its subtree: an order
//! counts for a unit when it reached it (placed there by routing, or escalated to it) within
//! the period. A station is therefore not credited with what its courtyards did, and an
//! order that climbs from a courtyard to the center counts once at every level it reached,
//! each judged on its own part (the courtyard on receiving and passing up in time, the
//! center on finishing it). Ranking units of one level against each other stays fair: no
//! unit's figures include another's.
//!
//! **Which period.** Arrival time decides the period; what happened to those orders
//! afterwards (receipt, completion, rating) counts whenever it happened up to `now`.
//!
//! Per unit and period:
//! - `received`: orders that reached the unit (its intake);
//! - `median_receive`: arrival → the unit's staff received it (orders it received);
//! - `median_complete`: arrival → completed, for the orders completed while the unit held them;
//! - `escalation_rate`: share of the intake passed up from the unit (by staff or by the
//!   scheduler when the receive deadline passed);
//! - `overdue`: orders the unit did not receive within its deadline: escalated by the
//!   scheduler, an overdue alert while the unit (the center) held them, or still waiting at
//!   the unit with the deadline passed;
//! - `completion_rate`: completed ÷ (intake − passed up − cancelled by the citizen): of what
//!   stayed with the unit, how much it finished;
//! - `mean_rating`: citizens' ratings of the orders the unit completed.
//!
//! The composite score of the quarterly ranking (0–100, higher is better):
//!
//! ```text
//! score = 100 × ( 0.30 × completion_rate
//!               + 0.25 × receive_speed        (1 − median_receive / 24 h, at least 0)
//!               + 0.20 × (1 − escalation_rate)
//!               + 0.15 × satisfaction         ((mean_rating − 1) / 4; 0.5 when unrated)
//!               + 0.10 × (1 − overdue / received) )
//! ```
//!
//! A missing rate (nothing stayed, nothing received) scores 0 on its term. Ties go to the
//! unit with more intake, then by path. Volunteers are ranked by completed orders, then
//! hours, then mean rating.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Datelike, Duration, FixedOffset, NaiveDate, TimeZone, Utc};
use uuid::Uuid;

use super::intake::Channel;
use super::{DomainError, OrderState};

/// Quarters follow the district's wall clock (China Standard Time, UTC+8): 2026Q4 starts at
/// local midnight on 1 October.
const LOCAL: FixedOffset = tongxin_platform::org::CHINA_STANDARD_TIME;

/// The most entries a ranking returns.
pub const MAX_RANKING: usize = 1_000;

/// A half-open time range `[from, to)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    /// Start, inclusive.
    pub from: DateTime<Utc>,
    /// End, exclusive.
    pub to: DateTime<Utc>,
}

impl Period {
    /// A range; `from` must be before `to` and the range at most about two years.
    pub fn new(from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Self, DomainError> {
        if from >= to {
            return Err(DomainError::invalid("to", "must be after from"));
        }
        if to - from > Duration::days(800) {
            return Err(DomainError::invalid(
                "to",
                "a period spans at most 800 days",
            ));
        }
        Ok(Self { from, to })
    }

    /// Parses a quarter such as `2026Q4` (local time, see [`LOCAL`]).
    pub fn quarter(text: &str) -> Result<Self, DomainError> {
        let bad = || DomainError::invalid("quarter", "must look like 2026Q4 (quarters 1 to 4)");
        let t = text.trim().to_ascii_uppercase();
        let (year, q) = t.split_once('Q').ok_or_else(bad)?;
        let year: i32 = year.parse().map_err(|_| bad())?;
        let q: u32 = q.parse().map_err(|_| bad())?;
        if !(1..=4).contains(&q) || !(2000..=2999).contains(&year) {
            return Err(bad());
        }
        let start = |y: i32, m: u32| -> Result<DateTime<Utc>, DomainError> {
            let day = NaiveDate::from_ymd_opt(y, m, 1)
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .ok_or_else(bad)?;
            LOCAL
                .from_local_datetime(&day)
                .single()
                .map(|d| d.with_timezone(&Utc))
                .ok_or_else(bad)
        };
        let from = start(year, 3 * q - 2)?;
        let to = if q == 4 {
            start(year + 1, 1)?
        } else {
            start(year, 3 * q + 1)?
        };
        Ok(Self { from, to })
    }

    /// The quarter's name (`2026Q4`) when this period is exactly one.
    pub fn quarter_name(&self) -> Option<String> {
        let local = self.from.with_timezone(&LOCAL);
        let name = format!("{}Q{}", local.year(), local.month0() / 3 + 1);
        (Self::quarter(&name).ok()? == *self).then_some(name)
    }

    /// The period a caller asked for: a quarter, or `from` and `to`; not both, not neither.
    pub fn requested(
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
        quarter: Option<&str>,
    ) -> Result<Self, DomainError> {
        match (from, to, quarter) {
            (None, None, Some(q)) => Self::quarter(q),
            (Some(from), Some(to), None) => Self::new(from, to),
            _ => Err(DomainError::invalid(
                "period",
                "give either a quarter or both from and to",
            )),
        }
    }

    fn contains(&self, at: DateTime<Utc>) -> bool {
        self.from <= at && at < self.to
    }
}

/// One timeline row, as the evaluation needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct Move {
    /// The order.
    pub order_id: Uuid,
    /// `placed`, `received`, `escalated`, …, `reminder`, `overdue_alert`.
    pub event: String,
    /// `scheduler` for automatic moves.
    pub role: String,
    /// The unit holding the order after the move.
    pub unit_id: Uuid,
    /// Its path.
    pub unit_path: String,
    /// Its level.
    pub level: String,
    /// When.
    pub at: DateTime<Utc>,
}

/// The current facts of an order the evaluation needs.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderNow {
    /// Current state.
    pub state: OrderState,
    /// Current holding unit.
    pub holding_unit_id: Uuid,
    /// The receive deadline while it awaits receipt.
    pub deadline_at: Option<DateTime<Utc>>,
    /// The citizen's rating.
    pub rating: Option<i16>,
    /// Where the need was heard.
    pub channel: Channel,
}

/// Orders received per channel (issue 17: needs heard in person count as much as orders
/// placed in the mini-program, and the district wants to see which way they came).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ChannelCounts {
    /// Heard at a visit.
    pub visit: u32,
    /// Heard at a courtyard briefing.
    pub briefing: u32,
    /// Taken on the phone.
    pub phone: u32,
    /// Placed in the mini-program.
    pub mini_program: u32,
}

impl ChannelCounts {
    /// One more order of `channel`.
    pub fn add(&mut self, channel: Channel) {
        let n = match channel {
            Channel::Visit => &mut self.visit,
            Channel::Briefing => &mut self.briefing,
            Channel::Phone => &mut self.phone,
            Channel::MiniProgram => &mut self.mini_program,
        };
        *n += 1;
    }

    /// The count of `channel`.
    pub fn get(&self, channel: Channel) -> u32 {
        match channel {
            Channel::Visit => self.visit,
            Channel::Briefing => self.briefing,
            Channel::Phone => self.phone,
            Channel::MiniProgram => self.mini_program,
        }
    }
}

/// A unit's figures for a period.
#[derive(Debug, Clone, PartialEq)]
pub struct UnitMetrics {
    /// The unit.
    pub unit_id: Uuid,
    /// Its path.
    pub unit_path: String,
    /// Its level.
    pub level: String,
    /// Orders that reached it.
    pub received: u32,
    /// Of those, received by its staff.
    pub taken: u32,
    /// Median minutes from arrival to receipt.
    pub median_receive_minutes: Option<f64>,
    /// Orders completed while it held them.
    pub completed: u32,
    /// Median minutes from arrival to completion.
    pub median_complete_minutes: Option<f64>,
    /// Orders it passed up.
    pub escalated: u32,
    /// `escalated / received`.
    pub escalation_rate: Option<f64>,
    /// Orders not received within its deadline.
    pub overdue: u32,
    /// Orders the citizen cancelled while it held them.
    pub cancelled: u32,
    /// `completed / (received − escalated − cancelled)`.
    pub completion_rate: Option<f64>,
    /// Ratings of the orders it completed.
    pub ratings: u32,
    /// Their mean.
    pub mean_rating: Option<f64>,
    /// `received`, per channel.
    pub by_channel: ChannelCounts,
}

impl UnitMetrics {
    /// The figures of `unit` (id, path, level) when no order reached it.
    pub fn empty(unit: (Uuid, &str, &str)) -> Self {
        Self {
            unit_id: unit.0,
            unit_path: unit.1.to_owned(),
            level: unit.2.to_owned(),
            received: 0,
            taken: 0,
            median_receive_minutes: None,
            completed: 0,
            median_complete_minutes: None,
            escalated: 0,
            escalation_rate: None,
            overdue: 0,
            cancelled: 0,
            completion_rate: None,
            ratings: 0,
            mean_rating: None,
            by_channel: ChannelCounts::default(),
        }
    }

    /// The composite score of the quarterly ranking (module docs).
    pub fn score(&self) -> f64 {
        let speed = self
            .median_receive_minutes
            .map_or(0.0, |m| (1.0 - m / (24.0 * 60.0)).max(0.0));
        let satisfaction = self.mean_rating.map_or(0.5, |r| (r - 1.0) / 4.0);
        let on_time = if self.received == 0 {
            0.0
        } else {
            1.0 - f64::from(self.overdue) / f64::from(self.received)
        };
        let s = 0.30 * self.completion_rate.unwrap_or(0.0)
            + 0.25 * speed
            + 0.20 * self.escalation_rate.map_or(0.0, |e| 1.0 - e)
            + 0.15 * satisfaction
            + 0.10 * on_time;
        (s * 1000.0).round() / 10.0
    }
}

/// One order's stay at one unit, walked from its timeline.
#[derive(Default)]
struct Stay {
    arrived: Option<DateTime<Utc>>,
    received: Option<DateTime<Utc>>,
    completed: Option<DateTime<Utc>>,
    escalated: bool,
    overdue: bool,
    cancelled: bool,
}

#[derive(Default)]
struct Tally {
    path: String,
    level: String,
    received: u32,
    receive: Vec<f64>,
    complete: Vec<f64>,
    escalated: u32,
    overdue: u32,
    cancelled: u32,
    ratings: Vec<f64>,
    by_channel: ChannelCounts,
}

/// Figures for every unit that `wanted` accepts and that some order reached within
/// `period`. `moves` are the timeline rows of the orders concerned (any order), `orders`
/// their current facts, `now` decides what is overdue while still waiting.
pub fn evaluate(
    moves: &[Move],
    orders: &HashMap<Uuid, OrderNow>,
    period: Period,
    now: DateTime<Utc>,
    wanted: impl Fn(Uuid, &str, &str) -> bool,
) -> Vec<UnitMetrics> {
    let mut by_order: BTreeMap<Uuid, Vec<&Move>> = BTreeMap::new();
    for m in moves {
        by_order.entry(m.order_id).or_default().push(m);
    }
    let mut tallies: BTreeMap<Uuid, Tally> = BTreeMap::new();
    for (order_id, mut rows) in by_order {
        rows.sort_by_key(|m| m.at);
        let current = orders.get(&order_id);
        // Each stay: (unit, path, level, what happened there).
        let mut stays: Vec<(Uuid, &str, &str, Stay)> = Vec::new();
        for m in rows {
            let arriving = matches!(m.event.as_str(), "placed" | "escalated");
            if arriving {
                if m.event == "escalated"
                    && let Some((_, _, _, stay)) = stays.last_mut()
                {
                    stay.escalated = true;
                    stay.overdue |= m.role == "scheduler";
                }
                stays.push((
                    m.unit_id,
                    &m.unit_path,
                    &m.level,
                    Stay {
                        arrived: Some(m.at),
                        ..Stay::default()
                    },
                ));
                continue;
            }
            let Some((_, _, _, stay)) = stays.last_mut() else {
                continue;
            };
            match m.event.as_str() {
                "received" => {
                    stay.received.get_or_insert(m.at);
                }
                "completed" => stay.completed = Some(m.at),
                "cancelled" => stay.cancelled = true,
                "overdue_alert" => stay.overdue = true,
                _ => {}
            }
        }
        // Still waiting at its last unit with the deadline passed.
        if let (Some(now_facts), Some((unit, _, _, stay))) = (current, stays.last_mut()) {
            let waiting = now_facts.state.awaits_receipt();
            if waiting
                && now_facts.holding_unit_id == *unit
                && now_facts.deadline_at.is_some_and(|d| d <= now)
            {
                stay.overdue = true;
            }
        }
        for (unit, path, level, stay) in stays {
            let Some(arrived) = stay.arrived.filter(|a| period.contains(*a)) else {
                continue;
            };
            if !wanted(unit, path, level) {
                continue;
            }
            let t = tallies.entry(unit).or_insert_with(|| Tally {
                path: path.to_owned(),
                level: level.to_owned(),
                ..Tally::default()
            });
            t.received += 1;
            if let Some(o) = current {
                t.by_channel.add(o.channel);
            }
            let minutes = |at: DateTime<Utc>| (at - arrived).num_seconds() as f64 / 60.0;
            if let Some(r) = stay.received {
                t.receive.push(minutes(r));
            }
            if let Some(c) = stay.completed {
                t.complete.push(minutes(c));
                if let Some(r) = current.and_then(|o| o.rating) {
                    t.ratings.push(f64::from(r));
                }
            }
            t.escalated += u32::from(stay.escalated);
            t.overdue += u32::from(stay.overdue);
            t.cancelled += u32::from(stay.cancelled);
        }
    }
    tallies
        .into_iter()
        .map(|(unit_id, t)| {
            let stayed = t.received.saturating_sub(t.escalated + t.cancelled);
            let completed = t.complete.len() as u32;
            UnitMetrics {
                unit_id,
                unit_path: t.path,
                level: t.level,
                received: t.received,
                taken: t.receive.len() as u32,
                median_receive_minutes: median(t.receive),
                completed,
                median_complete_minutes: median(t.complete),
                escalated: t.escalated,
                escalation_rate: ratio(t.escalated, t.received),
                overdue: t.overdue,
                cancelled: t.cancelled,
                completion_rate: ratio(completed, stayed),
                ratings: t.ratings.len() as u32,
                mean_rating: mean(&t.ratings),
                by_channel: t.by_channel,
            }
        })
        .collect()
}

/// Figures for one unit (zeros when nothing reached it).
pub fn evaluate_unit(
    moves: &[Move],
    orders: &HashMap<Uuid, OrderNow>,
    period: Period,
    now: DateTime<Utc>,
    unit: (Uuid, &str, &str),
) -> UnitMetrics {
    evaluate(moves, orders, period, now, |id, _, _| id == unit.0)
        .into_iter()
        .next()
        .unwrap_or_else(|| UnitMetrics::empty(unit))
}

/// A unit's place in a ranking.
#[derive(Debug, Clone, PartialEq)]
pub struct RankedUnit {
    /// 1-based; equal scores still get distinct ranks (ties broken as documented).
    pub rank: u32,
    /// The composite score.
    pub score: f64,
    /// The figures behind it.
    pub metrics: UnitMetrics,
}

/// Ranks units by [`UnitMetrics::score`], best first.
pub fn rank_units(metrics: Vec<UnitMetrics>) -> Vec<RankedUnit> {
    let mut scored: Vec<(f64, UnitMetrics)> = metrics.into_iter().map(|m| (m.score(), m)).collect();
    scored.sort_by(|(sa, a), (sb, b)| {
        sb.total_cmp(sa)
            .then(b.received.cmp(&a.received))
            .then(a.unit_path.cmp(&b.unit_path))
    });
    scored
        .into_iter()
        .enumerate()
        .map(|(i, (score, metrics))| RankedUnit {
            rank: i as u32 + 1,
            score,
            metrics,
        })
        .collect()
}

/// One completed order as the volunteer ranking needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct Completion {
    /// Hours per volunteer on it.
    pub hours: Vec<(Uuid, f64)>,
    /// The citizen's rating, if rated.
    pub rating: Option<i16>,
}

/// A volunteer's place in a ranking.
#[derive(Debug, Clone, PartialEq)]
pub struct RankedVolunteer {
    /// 1-based.
    pub rank: u32,
    /// The volunteer.
    pub volunteer_id: Uuid,
    /// Orders completed with hours credited to them.
    pub completed: u32,
    /// Hours credited.
    pub hours: f64,
    /// Mean rating of those orders that were rated.
    pub mean_rating: Option<f64>,
}

/// Ranks volunteers by completed orders, then hours, then mean rating, then id.
pub fn rank_volunteers(completions: &[Completion]) -> Vec<RankedVolunteer> {
    let mut by: BTreeMap<Uuid, (u32, f64, Vec<f64>)> = BTreeMap::new();
    for c in completions {
        for (v, h) in &c.hours {
            let e = by.entry(*v).or_default();
            e.0 += 1;
            e.1 += h;
            e.2.extend(c.rating.map(f64::from));
        }
    }
    let mut list: Vec<RankedVolunteer> = by
        .into_iter()
        .map(
            |(volunteer_id, (completed, hours, ratings))| RankedVolunteer {
                rank: 0,
                volunteer_id,
                completed,
                hours,
                mean_rating: mean(&ratings),
            },
        )
        .collect();
    list.sort_by(|a, b| {
        b.completed
            .cmp(&a.completed)
            .then(b.hours.total_cmp(&a.hours))
            .then(
                b.mean_rating
                    .unwrap_or(0.0)
                    .total_cmp(&a.mean_rating.unwrap_or(0.0)),
            )
            .then(a.volunteer_id.cmp(&b.volunteer_id))
    });
    for (i, v) in list.iter_mut().enumerate() {
        v.rank = i as u32 + 1;
    }
    list
}

fn ratio(part: u32, whole: u32) -> Option<f64> {
    (whole > 0).then(|| f64::from(part) / f64::from(whole))
}

fn mean(values: &[f64]) -> Option<f64> {
    (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
}

fn median(mut values: Vec<f64>) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    Some(if values.len().is_multiple_of(2) {
        (values[mid - 1] + values[mid]) / 2.0
    } else {
        values[mid]
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(minute: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 10, 5, 2, 0, 0)
            .single()
            .expect("t")
            + Duration::minutes(minute)
    }

    fn unit(n: u8) -> (Uuid, &'static str, &'static str) {
        match n {
            0 => (Uuid::from_u128(10), "/rc/a/b/c", "courtyard"),
            1 => (Uuid::from_u128(11), "/rc/a/b", "station"),
            _ => (Uuid::from_u128(12), "/rc/a/b/d", "courtyard"),
        }
    }

    /// A unit of the sample by number.
    #[derive(Clone, Copy)]
    struct U(u8);

    fn mv(order: u128, event: &str, role: &str, at: U, minute: i64) -> Move {
        let (id, path, level) = unit(at.0);
        Move {
            order_id: Uuid::from_u128(order),
            event: event.into(),
            role: role.into(),
            unit_id: id,
            unit_path: path.into(),
            level: level.into(),
            at: t(minute),
        }
    }

    fn now(state: &str, at: U, deadline: Option<i64>, rating: Option<i16>) -> OrderNow {
        OrderNow {
            state: OrderState::parse(state).expect("state"),
            holding_unit_id: unit(at.0).0,
            deadline_at: deadline.map(t),
            rating,
            channel: Channel::MiniProgram,
        }
    }

    /// Five orders at courtyard C (unit 0), its station S (unit 1) and courtyard D (unit 2):
    /// 1: C receives at +10, completes at +100, rated 5.
    /// 2: C receives at +30, escalates to S at +40; S receives at +50, completes at +200, rated 3.
    /// 3: C never receives; the scheduler escalates at +60; S receives at +65, still in progress.
    /// 4: C receives at +20, citizen cancels at +25.
    /// 5: placed at C at +0, deadline +60 passed, still waiting (now = +500).
    /// 6: placed at D: not C's.
    /// 7: placed at C in the previous quarter: outside the period.
    fn sample() -> (Vec<Move>, HashMap<Uuid, OrderNow>) {
        let (c, s, d) = (U(0), U(1), U(2));
        let moves = vec![
            mv(1, "placed", "citizen", c, 0),
            mv(1, "received", "staff", c, 10),
            mv(1, "dispatched", "staff", c, 11),
            mv(1, "accepted", "volunteer", c, 12),
            mv(1, "started", "volunteer", c, 13),
            mv(1, "completed", "volunteer", c, 100),
            mv(1, "rated", "citizen", c, 110),
            mv(2, "placed", "citizen", c, 0),
            mv(2, "received", "staff", c, 30),
            mv(2, "escalated", "staff", s, 40),
            mv(2, "received", "staff", s, 50),
            mv(2, "completed", "staff", s, 200),
            mv(2, "rated", "citizen", s, 210),
            mv(3, "placed", "citizen", c, 0),
            mv(3, "reminder", "scheduler", c, 30),
            mv(3, "escalated", "scheduler", s, 60),
            mv(3, "received", "staff", s, 65),
            mv(4, "placed", "citizen", c, 0),
            mv(4, "received", "staff", c, 20),
            mv(4, "cancelled", "citizen", c, 25),
            mv(5, "placed", "citizen", c, 0),
            mv(6, "placed", "citizen", d, 0),
            mv(7, "placed", "citizen", c, -60 * 24 * 30),
        ];
        let orders = HashMap::from([
            (Uuid::from_u128(1), now("rated", c, None, Some(5))),
            (Uuid::from_u128(2), now("rated", s, None, Some(3))),
            (Uuid::from_u128(3), now("in_progress", s, None, None)),
            (Uuid::from_u128(4), now("cancelled", c, None, None)),
            (Uuid::from_u128(5), now("placed", c, Some(60), None)),
            (Uuid::from_u128(6), now("placed", d, Some(600), None)),
            (Uuid::from_u128(7), now("placed", c, Some(-100), None)),
        ]);
        (moves, orders)
    }

    fn q4() -> Period {
        Period::quarter("2026Q4").expect("q")
    }

    #[test]
    fn a_courtyard_by_hand() {
        let (moves, orders) = sample();
        let m = evaluate_unit(&moves, &orders, q4(), t(500), unit(0));
        assert_eq!(m.received, 5, "orders 1-5");
        assert_eq!(m.taken, 3, "1, 2, 4");
        // Receive minutes 10, 30, 20 → median 20.
        assert_eq!(m.median_receive_minutes, Some(20.0));
        assert_eq!(m.completed, 1);
        assert_eq!(m.median_complete_minutes, Some(100.0));
        assert_eq!(m.escalated, 2, "2 by staff, 3 by the scheduler");
        assert_eq!(m.escalation_rate, Some(0.4));
        assert_eq!(
            m.overdue, 2,
            "3 escalated by the scheduler, 5 still waiting"
        );
        assert_eq!(m.cancelled, 1);
        // Stayed: 5 − 2 escalated − 1 cancelled = 2 (orders 1 and 5); 1 completed.
        assert_eq!(m.completion_rate, Some(0.5));
        assert_eq!((m.ratings, m.mean_rating), (1, Some(5.0)));
        // 100 × (0.30×0.5 + 0.25×(1−20/1440) + 0.20×0.6 + 0.15×1.0 + 0.10×0.6) = 72.65…
        assert_eq!(m.score(), 72.7);
    }

    #[test]
    fn received_orders_by_channel_by_hand() {
        let (moves, mut orders) = sample();
        // 1 heard at a visit, 2 on the phone, 3 at a briefing, 7 (last quarter) at a visit;
        // 4, 5, 6 placed in the mini-program.
        for (order, channel) in [
            (1, Channel::Visit),
            (2, Channel::Phone),
            (3, Channel::Briefing),
            (7, Channel::Visit),
        ] {
            if let Some(o) = orders.get_mut(&Uuid::from_u128(order)) {
                o.channel = channel;
            }
        }
        let c = evaluate_unit(&moves, &orders, q4(), t(500), unit(0));
        assert_eq!(
            c.by_channel,
            ChannelCounts {
                visit: 1,
                briefing: 1,
                phone: 1,
                mini_program: 2,
            },
            "orders 1-5 reached C in the quarter; 7 did before it"
        );
        // Escalated orders count where they arrived too: 2 (phone) and 3 (briefing) at S.
        let s = evaluate_unit(&moves, &orders, q4(), t(500), unit(1));
        assert_eq!(
            s.by_channel,
            ChannelCounts {
                visit: 0,
                briefing: 1,
                phone: 1,
                mini_program: 0,
            }
        );
        let d = evaluate_unit(&moves, &orders, q4(), t(500), unit(2));
        assert_eq!(d.by_channel.get(Channel::MiniProgram), 1);
        for m in [&c, &s, &d] {
            let sum: u32 = Channel::ALL.iter().map(|ch| m.by_channel.get(*ch)).sum();
            assert_eq!(sum, m.received, "{}", m.unit_path);
        }
    }

    #[test]
    fn a_station_counts_what_reached_it_only() {
        let (moves, orders) = sample();
        let m = evaluate_unit(&moves, &orders, q4(), t(500), unit(1));
        assert_eq!(m.received, 2, "orders 2 and 3 were escalated to it");
        // Arrivals at +40 and +60, receipts at +50 and +65 → 10 and 5 minutes.
        assert_eq!(m.median_receive_minutes, Some(7.5));
        assert_eq!(m.completed, 1);
        assert_eq!(m.median_complete_minutes, Some(160.0));
        assert_eq!((m.escalated, m.overdue), (0, 0));
        assert_eq!(m.completion_rate, Some(0.5));
        assert_eq!(m.mean_rating, Some(3.0));
    }

    #[test]
    fn nothing_reached_is_zeros() {
        let (moves, orders) = sample();
        let m = evaluate_unit(
            &moves,
            &orders,
            Period::quarter("2027Q1").expect("q"),
            t(500),
            unit(0),
        );
        assert_eq!(
            (m.received, m.completion_rate, m.mean_rating),
            (0, None, None)
        );
    }

    #[test]
    fn ranking_a_level() {
        let (moves, orders) = sample();
        let all = evaluate(&moves, &orders, q4(), t(500), |_, _, l| l == "courtyard");
        let ranked = rank_units(all);
        let paths: Vec<&str> = ranked
            .iter()
            .map(|r| r.metrics.unit_path.as_str())
            .collect();
        // D: one order waiting within its deadline: 0.20 + 0.075 + 0.10 = 37.5 < C's 72.7.
        assert_eq!(paths, ["/rc/a/b/c", "/rc/a/b/d"]);
        assert_eq!(ranked[1].score, 37.5);
        assert_eq!(ranked[1].rank, 2);
    }

    #[test]
    fn ranking_volunteers() {
        let (a, b) = (Uuid::from_u128(1), Uuid::from_u128(2));
        let ranked = rank_volunteers(&[
            Completion {
                hours: vec![(a, 1.5), (b, 2.0)],
                rating: Some(4),
            },
            Completion {
                hours: vec![(a, 1.0)],
                rating: None,
            },
            Completion {
                hours: vec![(b, 0.5)],
                rating: Some(2),
            },
        ]);
        // Both completed 2 orders for 2.5 hours; a's mean rating (4) beats b's (3).
        assert_eq!(ranked[0].volunteer_id, a, "{ranked:?}");
        assert_eq!((ranked[0].completed, ranked[0].hours), (2, 2.5));
        assert_eq!(ranked[0].mean_rating, Some(4.0));
        assert_eq!(ranked[1].mean_rating, Some(3.0));
        assert_eq!(ranked[1].rank, 2);
    }

    #[test]
    fn quarters_are_local_time() {
        let q = Period::quarter("2026q4").expect("q");
        assert_eq!(q.from.to_rfc3339(), "2026-09-30T16:00:00+00:00");
        assert_eq!(q.to.to_rfc3339(), "2026-12-31T16:00:00+00:00");
        assert_eq!(q.quarter_name().as_deref(), Some("2026Q4"));
        let q1 = Period::quarter("2027Q1").expect("q");
        assert_eq!(q1.from, q.to);
        for bad in ["2026Q5", "2026Q0", "2026", "Q4", "abcdQ1", "2026Q4x"] {
            assert!(Period::quarter(bad).is_err(), "{bad}");
        }
        assert!(Period::new(q.to, q.from).is_err());
    }
}
