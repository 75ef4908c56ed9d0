//! The quarterly evaluation (每季一次评比): one score per unit and quarter that combines what
//! the district counts, explained line by line, ranked within each level, and the points
//! the published ranking awards. Pure functions, no I/O.
//!
//! **What counts.** Eight criteria, each turned into a share between 0 and 1:
//!
//! | criterion | share |
//! |---|---|
//! | `on_time` | orders received within the unit's deadline: 1 − overdue ÷ received |
//! | `escalation` | orders the unit kept: 1 − escalated ÷ received |
//! | `completion` | completed ÷ what stayed with the unit ([`super::metrics`]) |
//! | `rating` | satisfaction: (mean rating − 1) ÷ 4 |
//! | `cadence` | (unit, week) and (unit, month) periods that met the district's rules, rolled up over the unit's subtree ÷ the periods due |
//! | `activities` | activities held in the subtree ÷ the most any unit of the same level held |
//! | `attendance` | their attendance ÷ the most of the level |
//! | `volunteer_hours` | approved hours served by volunteers living in the subtree ÷ the most of the level |
//!
//! The last three are relative to the best unit of the same level in the same district and
//! quarter: a courtyard is not measured against an institute's numbers.
//!
//! **No data is half marks.** A criterion with nothing to judge (no order reached the unit, no
//! rating, no rule due, nobody of the level held an activity) earns half its weight, so a
//! quiet courtyard is neither rewarded nor punished for what it was never asked to do; its
//! line says so.
//!
//! **Score and rank.** Each line earns `weight × share` points (weights are whole percentages
//! set per district, summing to 100); the score is their sum, 0–100, rounded to one decimal.
//! Within a level, higher scores rank first; ties go to the unit with more orders received,
//! then by path, so a rank is never shared and never depends on input order.
//!
//! **Awards.** A district's incentive rules give, per level, points for the first ranks (for
//! example 100, 60, 30 to the top three courtyards). Each member of the teams attached to an
//! awarded unit is credited those points in the volunteers ledger.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::DomainError;
use super::metrics::UnitMetrics;

/// The criteria, in the order lines are shown.
pub const CRITERIA: [Criterion; 8] = [
    Criterion::OnTime,
    Criterion::Escalation,
    Criterion::Completion,
    Criterion::Rating,
    Criterion::Cadence,
    Criterion::Activities,
    Criterion::Attendance,
    Criterion::VolunteerHours,
];

/// The levels that are ranked (the center has no peers).
pub const RANKED_LEVELS: [&str; 3] = ["institute", "station", "courtyard"];

/// The most ranks a level's award rule may name.
pub const MAX_AWARDED_RANKS: usize = 20;
/// The most points one rank may award.
pub const MAX_AWARD_POINTS: u32 = 10_000;

/// One thing the evaluation counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Criterion {
    /// Orders received within the deadline.
    OnTime,
    /// Orders kept rather than passed up.
    Escalation,
    /// Orders completed of those that stayed.
    Completion,
    /// Citizens' ratings.
    Rating,
    /// Visit and activity rules met.
    Cadence,
    /// Activities held.
    Activities,
    /// Their attendance.
    Attendance,
    /// Volunteer hours served.
    VolunteerHours,
}

impl Criterion {
    /// The name used in GraphQL, CSV and stored explanations.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::OnTime => "on_time",
            Self::Escalation => "escalation",
            Self::Completion => "completion",
            Self::Rating => "rating",
            Self::Cadence => "cadence",
            Self::Activities => "activities",
            Self::Attendance => "attendance",
            Self::VolunteerHours => "volunteer_hours",
        }
    }
}

/// A district's weights, whole percentages that sum to 100.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Weights {
    /// See [`Criterion::OnTime`].
    pub on_time: u8,
    /// See [`Criterion::Escalation`].
    pub escalation: u8,
    /// See [`Criterion::Completion`].
    pub completion: u8,
    /// See [`Criterion::Rating`].
    pub rating: u8,
    /// See [`Criterion::Cadence`].
    pub cadence: u8,
    /// See [`Criterion::Activities`].
    pub activities: u8,
    /// See [`Criterion::Attendance`].
    pub attendance: u8,
    /// See [`Criterion::VolunteerHours`].
    pub volunteer_hours: u8,
}

impl Default for Weights {
    /// Orders 60 % (on time 15, kept 10, completed 20, rated 15), the rhythm 30 % (cadence
    /// 15, activities 10, attendance 5), volunteers 10 %.
    fn default() -> Self {
        Self {
            on_time: 15,
            escalation: 10,
            completion: 20,
            rating: 15,
            cadence: 15,
            activities: 10,
            attendance: 5,
            volunteer_hours: 10,
        }
    }
}

impl Weights {
    /// Weights from whole percentages; each 0–100 and all summing to exactly 100.
    pub fn parse(values: [i64; 8]) -> Result<Self, DomainError> {
        let mut parsed = [0u8; 8];
        for (slot, (value, criterion)) in parsed.iter_mut().zip(values.iter().zip(CRITERIA)) {
            *slot = u8::try_from(*value)
                .ok()
                .filter(|v| *v <= 100)
                .ok_or_else(|| {
                    DomainError::invalid(
                        criterion.as_str(),
                        "a weight is a whole percentage from 0 to 100",
                    )
                })?;
        }
        let sum: i64 = values.iter().sum();
        if sum != 100 {
            return Err(DomainError::invalid(
                "weights",
                format!("the weights must sum to 100 %, not {sum} %"),
            ));
        }
        let [
            on_time,
            escalation,
            completion,
            rating,
            cadence,
            activities,
            attendance,
            volunteer_hours,
        ] = parsed;
        Ok(Self {
            on_time,
            escalation,
            completion,
            rating,
            cadence,
            activities,
            attendance,
            volunteer_hours,
        })
    }

    /// The weight of one criterion.
    pub fn of(&self, criterion: Criterion) -> u8 {
        match criterion {
            Criterion::OnTime => self.on_time,
            Criterion::Escalation => self.escalation,
            Criterion::Completion => self.completion,
            Criterion::Rating => self.rating,
            Criterion::Cadence => self.cadence,
            Criterion::Activities => self.activities,
            Criterion::Attendance => self.attendance,
            Criterion::VolunteerHours => self.volunteer_hours,
        }
    }
}

/// Points a published ranking awards per level: `points[i]` to rank `i + 1`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AwardRules {
    /// Level name (`institute`, `station`, `courtyard`) → points by rank.
    pub by_level: Vec<(String, Vec<u32>)>,
}

impl AwardRules {
    /// The district's default: 100, 60 and 30 points to the first three of every level.
    pub fn standard() -> Self {
        Self {
            by_level: RANKED_LEVELS
                .iter()
                .map(|l| ((*l).to_owned(), vec![100, 60, 30]))
                .collect(),
        }
    }

    /// Rules from (level, points by rank); each level once, at most [`MAX_AWARDED_RANKS`]
    /// ranks of at most [`MAX_AWARD_POINTS`] each.
    pub fn parse(rules: Vec<(String, Vec<i64>)>) -> Result<Self, DomainError> {
        let mut by_level: Vec<(String, Vec<u32>)> = Vec::new();
        for (level, points) in rules {
            if !RANKED_LEVELS.contains(&level.as_str()) {
                return Err(DomainError::invalid(
                    "awards.level",
                    "awards go to institutes, stations or courtyards",
                ));
            }
            if by_level.iter().any(|(l, _)| *l == level) {
                return Err(DomainError::invalid(
                    "awards.level",
                    "each level may appear once",
                ));
            }
            if points.len() > MAX_AWARDED_RANKS {
                return Err(DomainError::invalid(
                    "awards.points",
                    format!("at most {MAX_AWARDED_RANKS} ranks are awarded"),
                ));
            }
            let points = points
                .into_iter()
                .map(|p| {
                    u32::try_from(p)
                        .ok()
                        .filter(|p| *p <= MAX_AWARD_POINTS)
                        .ok_or_else(|| {
                            DomainError::invalid(
                                "awards.points",
                                format!("points per rank are 0 to {MAX_AWARD_POINTS}"),
                            )
                        })
                })
                .collect::<Result<Vec<_>, _>>()?;
            by_level.push((level, points));
        }
        Ok(Self { by_level })
    }

    /// Points for `rank` (1-based) at `level`; 0 when the rules give none.
    pub fn points(&self, level: &str, rank: u32) -> u32 {
        self.by_level
            .iter()
            .find(|(l, _)| l == level)
            .and_then(|(_, points)| points.get(rank.checked_sub(1)? as usize))
            .copied()
            .unwrap_or(0)
    }
}

/// What the venues service reports of a unit's rhythm over the quarter (rolled up over its
/// subtree).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Rhythm {
    /// (unit, week) pairs under a visit rule.
    pub visit_periods_due: u32,
    /// Of those, met.
    pub visit_periods_met: u32,
    /// (unit, month) pairs under an activity rule.
    pub activity_periods_due: u32,
    /// Of those, met.
    pub activity_periods_met: u32,
    /// Activities held.
    pub activities_held: u32,
    /// Their attendance.
    pub attendance: u64,
}

/// Everything one unit is judged on.
#[derive(Debug, Clone, PartialEq)]
pub struct Inputs {
    /// Its order figures ([`super::metrics::evaluate_unit`]).
    pub orders: UnitMetrics,
    /// Its rhythm.
    pub rhythm: Rhythm,
    /// Approved volunteer hours served in its subtree.
    pub volunteer_hours: f64,
}

/// One line of a score's explanation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Line {
    /// What it counts.
    pub criterion: Criterion,
    /// The figure in words (`12 of 13 periods met`), or why there is none.
    pub detail: String,
    /// The share earned, 0–1; `None` when there was no data (half marks).
    pub share: Option<f64>,
    /// The weight, in percent.
    pub weight: u8,
    /// Points earned: weight × share (half the weight without data), to two decimals.
    pub points: f64,
}

/// A unit's evaluation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    /// The unit.
    pub unit_id: Uuid,
    /// Its path.
    pub unit_path: String,
    /// Its level.
    pub level: String,
    /// 0–100, one decimal.
    pub score: f64,
    /// Rank within its level in the district, 1-based (0 until ranked).
    pub rank: u32,
    /// Orders received (the first tie-breaker).
    pub orders_received: u32,
    /// How the score was made, one line per criterion.
    pub lines: Vec<Line>,
}

/// The best figures of a level, for the relative criteria.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct LevelBest {
    /// Most activities held.
    pub activities: u32,
    /// Most attendance.
    pub attendance: u64,
    /// Most volunteer hours.
    pub volunteer_hours: f64,
}

impl LevelBest {
    /// The best of `inputs` (all of one level).
    pub fn of<'a>(inputs: impl IntoIterator<Item = &'a Inputs>) -> Self {
        inputs.into_iter().fold(Self::default(), |best, i| Self {
            activities: best.activities.max(i.rhythm.activities_held),
            attendance: best.attendance.max(i.rhythm.attendance),
            volunteer_hours: best.volunteer_hours.max(i.volunteer_hours),
        })
    }
}

fn share_of(part: f64, whole: f64) -> Option<f64> {
    (whole > 0.0).then(|| (part / whole).clamp(0.0, 1.0))
}

fn round_to(value: f64, decimals: i32) -> f64 {
    let f = 10f64.powi(decimals);
    (value * f).round() / f
}

/// A figure for one criterion: the share and the words that explain it.
fn figure(c: Criterion, i: &Inputs, best: &LevelBest) -> (Option<f64>, String) {
    let o = &i.orders;
    let received = f64::from(o.received);
    match c {
        Criterion::OnTime => (
            share_of(received - f64::from(o.overdue), received),
            format!(
                "{} of {} orders received on time",
                o.received.saturating_sub(o.overdue),
                o.received
            ),
        ),
        Criterion::Escalation => (
            o.escalation_rate.map(|e| 1.0 - e),
            format!("{} of {} orders passed up", o.escalated, o.received),
        ),
        Criterion::Completion => (
            o.completion_rate,
            format!(
                "{} completed of {} that stayed",
                o.completed,
                o.received.saturating_sub(o.escalated + o.cancelled)
            ),
        ),
        Criterion::Rating => (
            o.mean_rating.map(|r| ((r - 1.0) / 4.0).clamp(0.0, 1.0)),
            match o.mean_rating {
                Some(r) => format!("mean rating {r:.2} of 5 over {} ratings", o.ratings),
                None => "no ratings".to_owned(),
            },
        ),
        Criterion::Cadence => {
            let r = &i.rhythm;
            let due = r.visit_periods_due + r.activity_periods_due;
            let met = r.visit_periods_met + r.activity_periods_met;
            (
                share_of(f64::from(met), f64::from(due)),
                format!(
                    "{met} of {due} periods met ({} of {} visit weeks, {} of {} activity months)",
                    r.visit_periods_met,
                    r.visit_periods_due,
                    r.activity_periods_met,
                    r.activity_periods_due
                ),
            )
        }
        Criterion::Activities => (
            share_of(
                f64::from(i.rhythm.activities_held),
                f64::from(best.activities),
            ),
            format!(
                "{} activities held; the most at this level {}",
                i.rhythm.activities_held, best.activities
            ),
        ),
        Criterion::Attendance => (
            share_of(i.rhythm.attendance as f64, best.attendance as f64),
            format!(
                "attendance {}; the most at this level {}",
                i.rhythm.attendance, best.attendance
            ),
        ),
        Criterion::VolunteerHours => (
            share_of(i.volunteer_hours, best.volunteer_hours),
            format!(
                "{:.2} volunteer hours; the most at this level {:.2}",
                i.volunteer_hours, best.volunteer_hours
            ),
        ),
    }
}

/// Scores one unit against its level's best.
pub fn score(inputs: &Inputs, best: &LevelBest, weights: &Weights) -> Evaluation {
    let mut total = 0.0;
    let lines: Vec<Line> = CRITERIA
        .iter()
        .map(|&criterion| {
            let (share, detail) = figure(criterion, inputs, best);
            let weight = weights.of(criterion);
            let earned = share.unwrap_or(0.5) * f64::from(weight);
            // The score sums what was earned, not the rounded points shown per line.
            total += earned;
            Line {
                criterion,
                detail: if share.is_some() {
                    detail
                } else {
                    format!("{detail}: no data, half marks")
                },
                share: share.map(|s| round_to(s, 4)),
                weight,
                points: round_to(earned, 2),
            }
        })
        .collect();
    Evaluation {
        unit_id: inputs.orders.unit_id,
        unit_path: inputs.orders.unit_path.clone(),
        level: inputs.orders.level.clone(),
        score: round_to(total, 1),
        rank: 0,
        orders_received: inputs.orders.received,
        lines,
    }
}

/// Scores and ranks every unit, level by level (each level against its own best).
pub fn evaluate_district(inputs: &[Inputs], weights: &Weights) -> Vec<Evaluation> {
    let mut by_level: HashMap<&str, Vec<&Inputs>> = HashMap::new();
    for i in inputs {
        by_level.entry(i.orders.level.as_str()).or_default().push(i);
    }
    let mut all = Vec::with_capacity(inputs.len());
    for level in RANKED_LEVELS {
        let Some(units) = by_level.get(level) else {
            continue;
        };
        let best = LevelBest::of(units.iter().copied());
        let mut scored: Vec<Evaluation> = units.iter().map(|i| score(i, &best, weights)).collect();
        rank(&mut scored);
        all.extend(scored);
    }
    all
}

/// Orders one level's evaluations best first and numbers them.
pub fn rank(level: &mut [Evaluation]) {
    level.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then(b.orders_received.cmp(&a.orders_received))
            .then(a.unit_path.cmp(&b.unit_path))
    });
    for (i, e) in level.iter_mut().enumerate() {
        e.rank = i as u32 + 1;
    }
}

/// One unit's award from a published ranking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Award {
    /// The unit.
    pub unit_id: Uuid,
    /// Its level.
    pub level: String,
    /// Its rank.
    pub rank: u32,
    /// Points per member of its teams.
    pub points: u32,
}

/// The awards `rules` give for a ranked district (units with 0 points get none).
pub fn awards(ranked: &[Evaluation], rules: &AwardRules) -> Vec<Award> {
    ranked
        .iter()
        .filter_map(|e| {
            let points = rules.points(&e.level, e.rank);
            (points > 0).then(|| Award {
                unit_id: e.unit_id,
                level: e.level.clone(),
                rank: e.rank,
                points,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metrics(n: u128, level: &str) -> UnitMetrics {
        UnitMetrics::empty((Uuid::from_u128(n), &format!("/rc/u{n}"), level))
    }

    /// Courtyard A, checked by hand below: 10 orders, 2 overdue, 1 passed up, 1 cancelled,
    /// 6 of the 8 that stayed completed, mean rating 4.5; 12 of 13 visit weeks and 2 of 3
    /// activity months met; 3 activities with 90 attending; 20 volunteer hours.
    fn courtyard_a() -> Inputs {
        Inputs {
            orders: UnitMetrics {
                received: 10,
                overdue: 2,
                escalated: 1,
                escalation_rate: Some(0.1),
                cancelled: 1,
                completed: 6,
                completion_rate: Some(0.75),
                ratings: 4,
                mean_rating: Some(4.5),
                ..metrics(1, "courtyard")
            },
            rhythm: Rhythm {
                visit_periods_due: 13,
                visit_periods_met: 12,
                activity_periods_due: 3,
                activity_periods_met: 2,
                activities_held: 3,
                attendance: 90,
            },
            volunteer_hours: 20.0,
        }
    }

    /// Courtyard B: no orders at all, every rule met, the level's most of everything.
    fn courtyard_b() -> Inputs {
        Inputs {
            orders: metrics(2, "courtyard"),
            rhythm: Rhythm {
                visit_periods_due: 13,
                visit_periods_met: 13,
                activity_periods_due: 3,
                activity_periods_met: 3,
                activities_held: 6,
                attendance: 120,
            },
            volunteer_hours: 40.0,
        }
    }

    fn line(e: &Evaluation, c: Criterion) -> &Line {
        e.lines.iter().find(|l| l.criterion == c).expect("line")
    }

    #[test]
    fn a_courtyard_by_hand() {
        let (a, b) = (courtyard_a(), courtyard_b());
        let best = LevelBest::of([&a, &b]);
        assert_eq!(
            best,
            LevelBest {
                activities: 6,
                attendance: 120,
                volunteer_hours: 40.0
            }
        );
        let e = score(&a, &best, &Weights::default());
        // on time 8/10 × 15 = 12; kept 0.9 × 10 = 9; completed 0.75 × 20 = 15;
        // rating 0.875 × 15 = 13.125; cadence 14/16 × 15 = 13.125; activities 3/6 × 10 = 5;
        // attendance 90/120 × 5 = 3.75; hours 20/40 × 10 = 5. Sum 76.0.
        let points: Vec<f64> = e.lines.iter().map(|l| l.points).collect();
        assert_eq!(points, [12.0, 9.0, 15.0, 13.13, 13.13, 5.0, 3.75, 5.0]);
        assert_eq!(e.score, 76.0);
        assert_eq!(line(&e, Criterion::OnTime).share, Some(0.8));
        assert_eq!(
            line(&e, Criterion::Cadence).detail,
            "14 of 16 periods met (12 of 13 visit weeks, 2 of 3 activity months)"
        );
        assert_eq!(
            line(&e, Criterion::Completion).detail,
            "6 completed of 8 that stayed"
        );
    }

    #[test]
    fn no_data_is_half_marks_and_says_so() {
        let (a, b) = (courtyard_a(), courtyard_b());
        let best = LevelBest::of([&a, &b]);
        let e = score(&b, &best, &Weights::default());
        // Four order criteria without data: half of 15 + 10 + 20 + 15 = 30; the rest full: 40.
        assert_eq!(e.score, 70.0);
        let on_time = line(&e, Criterion::OnTime);
        assert_eq!((on_time.share, on_time.points), (None, 7.5));
        assert!(
            on_time.detail.ends_with("no data, half marks"),
            "{on_time:?}"
        );
        assert_eq!(line(&e, Criterion::Cadence).share, Some(1.0));
    }

    #[test]
    fn a_level_where_nobody_held_anything_is_half_marks_for_everyone() {
        let mut a = courtyard_a();
        a.rhythm.activities_held = 0;
        a.rhythm.attendance = 0;
        let best = LevelBest::of([&a]);
        let e = score(&a, &best, &Weights::default());
        assert_eq!(line(&e, Criterion::Activities).points, 5.0);
        assert_eq!(line(&e, Criterion::Attendance).points, 2.5);
    }

    #[test]
    fn each_level_is_ranked_against_its_own_best() {
        let mut station = courtyard_b();
        station.orders = metrics(3, "station");
        station.rhythm.activities_held = 1;
        station.volunteer_hours = 1.0;
        let all = evaluate_district(
            &[courtyard_a(), courtyard_b(), station],
            &Weights::default(),
        );
        let by: HashMap<Uuid, &Evaluation> = all.iter().map(|e| (e.unit_id, e)).collect();
        // B (70.0) vs A (76.0): A first among courtyards.
        assert_eq!(by[&Uuid::from_u128(1)].rank, 1);
        assert_eq!(by[&Uuid::from_u128(2)].rank, 2);
        // The station alone at its level: its 1 activity is the level's best.
        let s = by[&Uuid::from_u128(3)];
        assert_eq!(s.rank, 1);
        assert_eq!(line(s, Criterion::Activities).share, Some(1.0));
        assert_eq!(line(s, Criterion::VolunteerHours).share, Some(1.0));
    }

    #[test]
    fn ties_go_to_more_orders_then_to_the_path() {
        let e = |n: u128, score: f64, received: u32| Evaluation {
            unit_id: Uuid::from_u128(n),
            unit_path: format!("/rc/u{n}"),
            level: "courtyard".into(),
            score,
            rank: 0,
            orders_received: received,
            lines: vec![],
        };
        let mut level = vec![e(1, 50.0, 3), e(2, 50.0, 5), e(3, 60.0, 0), e(0, 50.0, 3)];
        rank(&mut level);
        let order: Vec<(u128, u32)> = level
            .iter()
            .map(|e| (e.unit_id.as_u128(), e.rank))
            .collect();
        assert_eq!(order, [(3, 1), (2, 2), (0, 3), (1, 4)]);
    }

    #[test]
    fn weights_must_be_percentages_summing_to_100() {
        assert_eq!(
            Weights::parse([15, 10, 20, 15, 15, 10, 5, 10]).expect("default"),
            Weights::default()
        );
        assert!(Weights::parse([100, 0, 0, 0, 0, 0, 0, 0]).is_ok());
        let err = Weights::parse([15, 10, 20, 15, 15, 10, 5, 11]).expect_err("101");
        assert!(err.to_string().contains("101"), "{err}");
        assert!(Weights::parse([15, 10, 20, 15, 15, 10, 5, 9]).is_err());
        assert!(Weights::parse([-10, 20, 20, 15, 15, 10, 20, 10]).is_err());
        assert!(Weights::parse([200, -100, 0, 0, 0, 0, 0, 0]).is_err());
    }

    #[test]
    fn weights_change_the_score() {
        let (a, b) = (courtyard_a(), courtyard_b());
        let best = LevelBest::of([&a, &b]);
        let only_cadence = Weights::parse([0, 0, 0, 0, 100, 0, 0, 0]).expect("w");
        // 14 of 16 periods met.
        assert_eq!(score(&a, &best, &only_cadence).score, 87.5);
        let only_hours = Weights::parse([0, 0, 0, 0, 0, 0, 0, 100]).expect("w");
        assert_eq!(score(&a, &best, &only_hours).score, 50.0);
    }

    #[test]
    fn awards_follow_the_rules_per_level() {
        let rules = AwardRules::parse(vec![("courtyard".into(), vec![100, 60])]).expect("rules");
        assert_eq!(rules.points("courtyard", 1), 100);
        assert_eq!(rules.points("courtyard", 2), 60);
        assert_eq!(rules.points("courtyard", 3), 0);
        assert_eq!(rules.points("courtyard", 0), 0);
        assert_eq!(rules.points("station", 1), 0);
        let all = evaluate_district(&[courtyard_a(), courtyard_b()], &Weights::default());
        let given = awards(&all, &rules);
        assert_eq!(
            given,
            [
                Award {
                    unit_id: Uuid::from_u128(1),
                    level: "courtyard".into(),
                    rank: 1,
                    points: 100
                },
                Award {
                    unit_id: Uuid::from_u128(2),
                    level: "courtyard".into(),
                    rank: 2,
                    points: 60
                }
            ]
        );
    }

    #[test]
    fn award_rules_refuse_nonsense() {
        assert!(AwardRules::parse(vec![("center".into(), vec![1])]).is_err());
        assert!(AwardRules::parse(vec![("courtyard".into(), vec![-1])]).is_err());
        assert!(AwardRules::parse(vec![("courtyard".into(), vec![10_001])]).is_err());
        assert!(AwardRules::parse(vec![("courtyard".into(), vec![1; 21])]).is_err());
        assert!(
            AwardRules::parse(vec![
                ("courtyard".into(), vec![1]),
                ("courtyard".into(), vec![2])
            ])
            .is_err()
        );
        assert_eq!(AwardRules::standard().points("institute", 3), 30);
    }
}
