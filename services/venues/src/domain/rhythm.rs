//! The rhythm of the work (每周一次走访、每月一次活动): visits (走访), the districts' cadence
//! rules, and the arithmetic that says, per unit and period, whether a rule was met. No I/O.
//!
//! Periods are read on the district's wall clock (China Standard Time, UTC+8): a week runs
//! Monday 00:00 to the next Monday 00:00 local time, a month from the 1st 00:00 local to the
//! next 1st. A visit at Sunday 23:30 local (15:30 UTC) belongs to that week, one at Monday
//! 00:30 local (Sunday 16:30 UTC) to the next.
//!
//! Which rule a period kind counts: weeks count visits (visits per week), months count
//! activities held (activities per month). A unit's own record counts, not its subtree's: a
//! station's rule is about what the station itself did, a courtyard's visits do not meet it.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, Duration, FixedOffset, Months, NaiveDate, NaiveTime, Utc};
use tongxin_platform::auth::{Principal, Role};
use uuid::Uuid;

use super::DomainError;
use super::org::{UnitKind, covers};

/// The districts' wall clock.
pub const LOCAL: FixedOffset = tongxin_platform::org::CHINA_STANDARD_TIME;

/// A typed visit id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct VisitId(pub Uuid);

impl VisitId {
    /// Parses the textual form, naming `field` on failure.
    pub fn parse(text: &str, field: &str) -> Result<Self, DomainError> {
        Uuid::parse_str(text.trim())
            .map(Self)
            .map_err(|_| DomainError::invalid(field, "must be a UUID"))
    }
}

impl std::fmt::Display for VisitId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

// ---------------------------------------------------------------- visits

/// The most households one visit may claim to have reached.
pub const MAX_HOUSEHOLDS: u32 = 500;
/// The longest notes, in characters.
pub const MAX_NOTES: usize = 2000;
/// The most needs one visit records.
pub const MAX_NEEDS: usize = 20;
/// The longest need, in characters.
pub const MAX_NEED_CHARS: usize = 500;
/// How far in the future a visit may be dated: phones' clocks drift.
pub const CLOCK_SKEW_MINUTES: i64 = 5;
/// How far back a visit may be recorded.
pub const MAX_AGE_DAYS: i64 = 365;

/// When a visit took place: not after `now` (beyond clock skew), not more than a year ago.
pub fn check_visited_at(at: DateTime<Utc>, now: DateTime<Utc>) -> Result<(), DomainError> {
    if at > now + Duration::minutes(CLOCK_SKEW_MINUTES) {
        return Err(DomainError::invalid(
            "visitedAt",
            "must not be in the future",
        ));
    }
    if at < now - Duration::days(MAX_AGE_DAYS) {
        return Err(DomainError::invalid(
            "visitedAt",
            format!("must be within the last {MAX_AGE_DAYS} days"),
        ));
    }
    Ok(())
}

/// Households reached: 0 to [`MAX_HOUSEHOLDS`].
pub fn parse_households(n: i64) -> Result<u32, DomainError> {
    u32::try_from(n)
        .ok()
        .filter(|n| *n <= MAX_HOUSEHOLDS)
        .ok_or_else(|| {
            DomainError::invalid(
                "householdsReached",
                format!("must be 0 to {MAX_HOUSEHOLDS}"),
            )
        })
}

/// Free text of at most `max` characters; line breaks and tabs allowed, other control
/// characters not. Empty after trimming is `None`.
fn free_text(text: &str, field: &str, max: usize) -> Result<Option<String>, DomainError> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Ok(None);
    }
    // Count lazily so a huge input costs no more than max + 1 characters of work.
    if trimmed.chars().nth(max).is_some() {
        return Err(DomainError::invalid(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    if trimmed
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err(DomainError::invalid(
            field,
            "must not contain control characters",
        ));
    }
    Ok(Some(trimmed.to_owned()))
}

/// The visitor's notes: at most [`MAX_NOTES`] characters; blank is none.
pub fn parse_notes(text: Option<&str>) -> Result<Option<String>, DomainError> {
    match text {
        Some(t) => free_text(t, "notes", MAX_NOTES),
        None => Ok(None),
    }
}

/// Needs heard: at most [`MAX_NEEDS`], each 1 to [`MAX_NEED_CHARS`] characters.
pub fn parse_needs(items: &[String]) -> Result<Vec<String>, DomainError> {
    if items.len() > MAX_NEEDS {
        return Err(DomainError::invalid(
            "needsHeard",
            format!("at most {MAX_NEEDS} needs"),
        ));
    }
    items
        .iter()
        .enumerate()
        .map(|(i, text)| {
            let field = format!("needsHeard[{i}]");
            free_text(text, &field, MAX_NEED_CHARS)?
                .ok_or_else(|| DomainError::invalid(&field, "must not be empty"))
        })
        .collect()
}

/// May `actor` (scope unit path `scope`) record a visit to the unit at `unit_path`: staff,
/// an administrator or a volunteer whose scope covers it.
pub fn may_record_visit(
    actor: &Principal,
    scope: Option<&str>,
    unit_path: &str,
) -> Result<(), DomainError> {
    if !(actor.is_staff() || actor.has_role(Role::Volunteer)) {
        return Err(DomainError::Forbidden(
            "only staff and volunteers record visits".to_owned(),
        ));
    }
    match scope {
        Some(scope) if covers(scope, unit_path) => Ok(()),
        _ => Err(DomainError::Forbidden(
            "the unit is outside your scope".to_owned(),
        )),
    }
}

/// May `actor` list visits and cadence of a unit of `district` at all (details may still be
/// masked): staff, administrators and volunteers, of that district when their token names
/// one.
pub fn may_read_visits(actor: &Principal, district: &str) -> Result<(), DomainError> {
    if !(actor.is_staff() || actor.has_role(Role::Volunteer)) {
        return Err(DomainError::Forbidden(
            "only staff and volunteers see visits".to_owned(),
        ));
    }
    match actor.district.as_deref() {
        Some(d) if d != district => Err(DomainError::Forbidden(
            "the unit is in another district".to_owned(),
        )),
        _ => Ok(()),
    }
}

/// Whether `viewer` sees a visit's personal data (the household point, the notes, the needs):
/// the visitor who recorded it, or staff and volunteers whose scope covers the unit visited.
pub fn sees_visit_details(
    viewer: &Principal,
    scope: Option<&str>,
    unit_path: &str,
    recorder: &str,
) -> bool {
    if viewer.subject == recorder && !viewer.is_service() {
        return true;
    }
    (viewer.is_staff() || viewer.has_role(Role::Volunteer))
        && scope.is_some_and(|s| covers(s, unit_path))
}

/// May `actor` (scope unit path `scope`) see the cadence of the unit at `unit_path`: staff
/// (or an administrator) whose scope covers it.
pub fn may_see_cadence(
    actor: &Principal,
    scope: Option<&str>,
    unit_path: &str,
) -> Result<(), DomainError> {
    if !actor.is_staff() {
        return Err(DomainError::Forbidden(
            "only staff see the cadence".to_owned(),
        ));
    }
    match scope {
        Some(scope) if covers(scope, unit_path) => Ok(()),
        _ => Err(DomainError::Forbidden(
            "the unit is outside your scope".to_owned(),
        )),
    }
}

// ---------------------------------------------------------------- periods

/// What a cadence period is: a week (visits are counted) or a month (activities are).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PeriodKind {
    /// Monday to Sunday, local time; counts visits.
    Week,
    /// A calendar month, local time; counts activities held.
    Month,
}

impl PeriodKind {
    /// Both kinds.
    pub const ALL: [PeriodKind; 2] = [Self::Week, Self::Month];

    /// Stored form (and what the rule counts: `visits` or `activities`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Week => "visits",
            Self::Month => "activities",
        }
    }

    /// From the stored form.
    pub fn parse_stored(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == text)
    }

    /// The most periods one cadence view spans: a year.
    pub fn max_periods(self) -> usize {
        match self {
            Self::Week => 53,
            Self::Month => 12,
        }
    }
}

/// One week or month: local dates `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CadencePeriod {
    /// Week or month.
    pub kind: PeriodKind,
    /// Its first day (a Monday, or the 1st).
    pub start: NaiveDate,
    /// The day after its last.
    pub end: NaiveDate,
}

/// The local date of an instant.
pub fn local_date(at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&LOCAL).date_naive()
}

/// The instant local midnight starts `day`.
pub fn local_midnight(day: NaiveDate) -> DateTime<Utc> {
    (day.and_time(NaiveTime::MIN) - Duration::seconds(i64::from(LOCAL.local_minus_utc()))).and_utc()
}

fn add_month(day: NaiveDate) -> NaiveDate {
    // Only ever called on a 1st, which always has a successor month in chrono's range here.
    day.checked_add_months(Months::new(1))
        .unwrap_or(NaiveDate::MAX)
}

impl CadencePeriod {
    /// The period of `kind` holding the local date `day`.
    pub fn containing(kind: PeriodKind, day: NaiveDate) -> Self {
        let start = match kind {
            PeriodKind::Week => {
                day - Duration::days(i64::from(day.weekday().num_days_from_monday()))
            }
            PeriodKind::Month => day.with_day(1).unwrap_or(day),
        };
        Self::starting(kind, start)
    }

    /// The period of `kind` holding the instant `at` (local clock).
    pub fn at(kind: PeriodKind, at: DateTime<Utc>) -> Self {
        Self::containing(kind, local_date(at))
    }

    fn starting(kind: PeriodKind, start: NaiveDate) -> Self {
        let end = match kind {
            PeriodKind::Week => start + Duration::days(7),
            PeriodKind::Month => add_month(start),
        };
        Self { kind, start, end }
    }

    /// The period that starts on `start`; `None` when no period of `kind` starts that day.
    pub fn from_start(kind: PeriodKind, start: NaiveDate) -> Option<Self> {
        let p = Self::containing(kind, start);
        (p.start == start).then_some(p)
    }

    /// The period after this one.
    pub fn next(self) -> Self {
        Self::starting(self.kind, self.end)
    }

    /// The period before this one.
    pub fn previous(self) -> Self {
        Self::containing(self.kind, self.start - Duration::days(1))
    }

    /// Its last day.
    pub fn last_day(self) -> NaiveDate {
        self.end - Duration::days(1)
    }

    /// When it starts.
    pub fn starts_at(self) -> DateTime<Utc> {
        local_midnight(self.start)
    }

    /// When it ends (exclusive).
    pub fn ends_at(self) -> DateTime<Utc> {
        local_midnight(self.end)
    }

    /// Whether it is over at `now`.
    pub fn ended_by(self, now: DateTime<Utc>) -> bool {
        self.ends_at() <= now
    }

    /// Whether the instant `at` falls in it.
    pub fn contains(self, at: DateTime<Utc>) -> bool {
        self.starts_at() <= at && at < self.ends_at()
    }
}

/// The periods of `kind` from the one holding `from` to the one holding `to` (local dates,
/// both included), at most [`PeriodKind::max_periods`].
pub fn periods_between(
    kind: PeriodKind,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<CadencePeriod>, DomainError> {
    if to < from {
        return Err(DomainError::invalid("period.to", "must not be before from"));
    }
    let last = CadencePeriod::containing(kind, to);
    let mut out = vec![CadencePeriod::containing(kind, from)];
    while let Some(&p) = out.last()
        && p != last
    {
        if out.len() >= kind.max_periods() {
            return Err(DomainError::invalid(
                "period",
                format!("spans at most {} periods of this kind", kind.max_periods()),
            ));
        }
        out.push(p.next());
    }
    Ok(out)
}

/// The periods whose last day lies in the local dates `[from, to)`: a week or month belongs
/// to the range it ends in, so consecutive ranges count each period once.
pub fn periods_ending_in(kind: PeriodKind, from: NaiveDate, to: NaiveDate) -> Vec<CadencePeriod> {
    let mut out = Vec::new();
    if to <= from {
        return out;
    }
    let mut p = CadencePeriod::containing(kind, from);
    while p.last_day() < to {
        if p.last_day() >= from {
            out.push(p);
        }
        p = p.next();
    }
    out
}

/// The periods the scheduler closes at `now`: the `lookback` most recent that have ended,
/// oldest first (a restart after a long stop catches up this far and no further).
pub fn closable(kind: PeriodKind, now: DateTime<Utc>, lookback: u32) -> Vec<CadencePeriod> {
    let mut out = Vec::new();
    let mut p = CadencePeriod::at(kind, now).previous();
    for _ in 0..lookback {
        out.push(p);
        p = p.previous();
    }
    out.reverse();
    out
}

/// How many of `times` fall in each of `periods` (sorted, consecutive), in the same order.
pub fn tally(
    periods: &[CadencePeriod],
    times: impl IntoIterator<Item = DateTime<Utc>>,
) -> Vec<u32> {
    let mut counts = vec![0u32; periods.len()];
    let starts: Vec<DateTime<Utc>> = periods.iter().map(|p| p.starts_at()).collect();
    for at in times {
        // The last period starting at or before `at`, if `at` is inside it.
        let i = starts.partition_point(|s| *s <= at);
        if i > 0 && periods[i - 1].contains(at) {
            counts[i - 1] = counts[i - 1].saturating_add(1);
        }
    }
    counts
}

// ---------------------------------------------------------------- rules

/// The most visits per week a rule may ask for.
pub const MAX_VISITS_PER_WEEK: u32 = 50;
/// The most activities per month a rule may ask for.
pub const MAX_ACTIVITIES_PER_MONTH: u32 = 31;

/// What one level must do: visits per week, activities per month; `None` (or 0) is no rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Requirement {
    /// Visits per week.
    pub visits_per_week: Option<u32>,
    /// Activities held per month.
    pub activities_per_month: Option<u32>,
}

impl Requirement {
    /// What the rule asks for in a period of `kind`; `None` when there is no rule (a rule
    /// of 0 asks nothing, so it is none).
    pub fn per(self, kind: PeriodKind) -> Option<u32> {
        match kind {
            PeriodKind::Week => self.visits_per_week,
            PeriodKind::Month => self.activities_per_month,
        }
        .filter(|n| *n > 0)
    }
}

/// A district's cadence rules: for courtyards (defaults 1 and 1), and optionally for
/// stations and institutes (default: none). The center has none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CadenceRules {
    /// Courtyards.
    pub courtyard: Requirement,
    /// Stations.
    pub station: Requirement,
    /// Institutes.
    pub institute: Requirement,
}

impl Default for CadenceRules {
    fn default() -> Self {
        Self {
            courtyard: Requirement {
                visits_per_week: Some(1),
                activities_per_month: Some(1),
            },
            station: Requirement::default(),
            institute: Requirement::default(),
        }
    }
}

impl CadenceRules {
    /// What a unit of `level` must do in a period of `kind`; `None` when no rule applies.
    pub fn required(&self, level: UnitKind, kind: PeriodKind) -> Option<u32> {
        match level {
            UnitKind::Courtyard => self.courtyard.per(kind),
            UnitKind::Station => self.station.per(kind),
            UnitKind::Institute => self.institute.per(kind),
            UnitKind::Center => None,
        }
    }
}

/// Rules as a caller gives them, before parsing.
#[derive(Debug, Clone, Copy, Default)]
pub struct RulesInput {
    /// Courtyards' visits per week.
    pub courtyard_visits_per_week: i64,
    /// Courtyards' activities per month.
    pub courtyard_activities_per_month: i64,
    /// Stations' visits per week, if any.
    pub station_visits_per_week: Option<i64>,
    /// Stations' activities per month, if any.
    pub station_activities_per_month: Option<i64>,
    /// Institutes' visits per week, if any.
    pub institute_visits_per_week: Option<i64>,
    /// Institutes' activities per month, if any.
    pub institute_activities_per_month: Option<i64>,
}

fn count_in(value: i64, max: u32, field: &str) -> Result<u32, DomainError> {
    u32::try_from(value)
        .ok()
        .filter(|n| *n <= max)
        .ok_or_else(|| DomainError::invalid(field, format!("must be 0 to {max}")))
}

/// Parses rules: every count 0 to [`MAX_VISITS_PER_WEEK`] visits or
/// [`MAX_ACTIVITIES_PER_MONTH`] activities.
pub fn parse_rules(input: RulesInput) -> Result<CadenceRules, DomainError> {
    let visits = |v: i64, f: &str| count_in(v, MAX_VISITS_PER_WEEK, f);
    let acts = |v: i64, f: &str| count_in(v, MAX_ACTIVITIES_PER_MONTH, f);
    Ok(CadenceRules {
        courtyard: Requirement {
            visits_per_week: Some(visits(
                input.courtyard_visits_per_week,
                "courtyardVisitsPerWeek",
            )?),
            activities_per_month: Some(acts(
                input.courtyard_activities_per_month,
                "courtyardActivitiesPerMonth",
            )?),
        },
        station: Requirement {
            visits_per_week: input
                .station_visits_per_week
                .map(|v| visits(v, "stationVisitsPerWeek"))
                .transpose()?,
            activities_per_month: input
                .station_activities_per_month
                .map(|v| acts(v, "stationActivitiesPerMonth"))
                .transpose()?,
        },
        institute: Requirement {
            visits_per_week: input
                .institute_visits_per_week
                .map(|v| visits(v, "instituteVisitsPerWeek"))
                .transpose()?,
            activities_per_month: input
                .institute_activities_per_month
                .map(|v| acts(v, "instituteActivitiesPerMonth"))
                .transpose()?,
        },
    })
}

/// May `actor` (scope unit path `scope`) set the rules of the district whose center is at
/// `center_path`: staff (or an administrator) of that center.
pub fn may_set_rules(
    actor: &Principal,
    scope: Option<&str>,
    center_path: &str,
) -> Result<(), DomainError> {
    if !actor.is_staff() {
        return Err(DomainError::Forbidden(
            "only center staff set cadence rules".to_owned(),
        ));
    }
    match scope {
        Some(scope) if covers(scope, center_path) => Ok(()),
        _ => Err(DomainError::Forbidden(
            "only the district center's staff set its cadence rules".to_owned(),
        )),
    }
}

// ---------------------------------------------------------------- outcomes

/// Where a unit stands in one period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Standing {
    /// Done at least what was required.
    Met,
    /// Ended short of it.
    Missed,
    /// Not over yet and not met yet.
    Open,
}

/// One unit in one period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    /// The period.
    pub period: CadencePeriod,
    /// What the rule asked for.
    pub required: u32,
    /// What was recorded.
    pub done: u32,
    /// Met, missed, or still open at the time of asking.
    pub standing: Standing,
}

/// The outcome of `done` against `required` in `period`, at `now`: met as soon as enough is
/// done, missed only once the period has ended.
pub fn judge(period: CadencePeriod, required: u32, done: u32, now: DateTime<Utc>) -> Outcome {
    let standing = if done >= required {
        Standing::Met
    } else if period.ended_by(now) {
        Standing::Missed
    } else {
        Standing::Open
    };
    Outcome {
        period,
        required,
        done,
        standing,
    }
}

/// A unit's current runs: consecutive met and consecutive missed periods at the end of
/// `outcomes` (chronological), open periods at the end skipped. One of them is 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Streaks {
    /// Consecutive met periods up to the latest decided one.
    pub met: u32,
    /// Consecutive missed periods up to the latest decided one.
    pub missed: u32,
}

/// See [`Streaks`].
pub fn streaks(outcomes: &[Outcome]) -> Streaks {
    let mut decided = outcomes
        .iter()
        .rev()
        .skip_while(|o| o.standing == Standing::Open)
        .map(|o| o.standing);
    let Some(last) = decided.next() else {
        return Streaks::default();
    };
    let run = 1 + decided.take_while(|s| *s == last).count();
    let run = u32::try_from(run).unwrap_or(u32::MAX);
    match last {
        Standing::Met => Streaks {
            met: run,
            missed: 0,
        },
        _ => Streaks {
            met: 0,
            missed: run,
        },
    }
}

/// The streak a newly closed miss carries: one more than the previous period's miss, or 1.
pub fn miss_streak(previous: Option<u32>) -> u32 {
    previous.map_or(1, |p| p.saturating_add(1))
}

/// Per level and period: how many units under a rule met it, missed it, or are still open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LevelTally {
    /// Met.
    pub met: u32,
    /// Missed.
    pub missed: u32,
    /// Still open.
    pub open: u32,
}

/// Totals per level: for each level present, one tally per period (same order as each
/// unit's outcomes, which must all cover the same periods).
pub fn level_totals(units: &[(UnitKind, Vec<Outcome>)]) -> BTreeMap<UnitKind, Vec<LevelTally>> {
    let mut out: BTreeMap<UnitKind, Vec<LevelTally>> = BTreeMap::new();
    for (level, outcomes) in units {
        let tallies = out
            .entry(*level)
            .or_insert_with(|| vec![LevelTally::default(); outcomes.len()]);
        for (t, o) in tallies.iter_mut().zip(outcomes) {
            match o.standing {
                Standing::Met => t.met += 1,
                Standing::Missed => t.missed += 1,
                Standing::Open => t.open += 1,
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).expect("date")
    }

    fn utc(y: i32, m: u32, day: u32, h: u32, min: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, day, h, min, 0)
            .single()
            .expect("time")
    }

    fn principal(roles: &[Role], subject: &str) -> Principal {
        Principal {
            subject: subject.to_owned(),
            roles: roles.to_vec(),
            unit: None,
            district: Some("rc".to_owned()),
            credential: None,
        }
    }

    #[test]
    fn weeks_run_monday_to_sunday_on_the_local_clock() {
        // 2026-11-29 is a Sunday; 2026-11-30 a Monday.
        let week = CadencePeriod::containing(PeriodKind::Week, d(2026, 11, 29));
        assert_eq!(week.start, d(2026, 11, 23));
        assert_eq!(week.end, d(2026, 11, 30));
        assert_eq!(week.last_day(), d(2026, 11, 29));
        // Sunday 23:30 local is 15:30 UTC: this week. Monday 00:30 local is 16:30 UTC
        // on Sunday: the next.
        assert!(week.contains(utc(2026, 11, 29, 15, 30)));
        assert!(!week.contains(utc(2026, 11, 29, 16, 30)));
        assert_eq!(
            CadencePeriod::at(PeriodKind::Week, utc(2026, 11, 29, 16, 30)),
            week.next()
        );
        // The boundary itself belongs to the next week.
        assert_eq!(week.ends_at(), utc(2026, 11, 29, 16, 0));
        assert!(!week.contains(utc(2026, 11, 29, 16, 0)));
        assert!(week.next().contains(utc(2026, 11, 29, 16, 0)));
        assert_eq!(week.starts_at(), utc(2026, 11, 22, 16, 0));
        assert!(week.contains(utc(2026, 11, 22, 16, 0)));
        assert!(!week.contains(utc(2026, 11, 22, 15, 59)));
        // A Monday is its own week's start.
        assert_eq!(
            CadencePeriod::containing(PeriodKind::Week, d(2026, 11, 30)).start,
            d(2026, 11, 30)
        );
    }

    #[test]
    fn months_are_calendar_months_on_the_local_clock() {
        let oct = CadencePeriod::containing(PeriodKind::Month, d(2026, 10, 31));
        assert_eq!((oct.start, oct.end), (d(2026, 10, 1), d(2026, 11, 1)));
        // 31 Oct 23:00 local = 15:00 UTC: October. 1 Nov 01:00 local = 31 Oct 17:00 UTC:
        // November.
        assert!(oct.contains(utc(2026, 10, 31, 15, 0)));
        assert!(!oct.contains(utc(2026, 10, 31, 17, 0)));
        assert_eq!(
            CadencePeriod::at(PeriodKind::Month, utc(2026, 10, 31, 17, 0)).start,
            d(2026, 11, 1)
        );
        let dec = CadencePeriod::containing(PeriodKind::Month, d(2026, 12, 5));
        assert_eq!(dec.next().start, d(2027, 1, 1));
        assert_eq!(dec.previous().start, d(2026, 11, 1));
        let feb = CadencePeriod::containing(PeriodKind::Month, d(2028, 2, 29));
        assert_eq!(feb.end, d(2028, 3, 1));
        assert_eq!(feb.last_day(), d(2028, 2, 29));
        assert_eq!(
            CadencePeriod::from_start(PeriodKind::Month, d(2026, 10, 1)),
            Some(oct)
        );
        assert_eq!(
            CadencePeriod::from_start(PeriodKind::Month, d(2026, 10, 2)),
            None
        );
        assert_eq!(
            CadencePeriod::from_start(PeriodKind::Week, d(2026, 11, 24)),
            None
        );
    }

    #[test]
    fn ranges_are_bounded_and_inclusive() {
        let weeks =
            periods_between(PeriodKind::Week, d(2026, 11, 4), d(2026, 11, 29)).expect("weeks");
        assert_eq!(weeks.len(), 4);
        assert_eq!(weeks[0].start, d(2026, 11, 2));
        assert_eq!(weeks[3].start, d(2026, 11, 23));
        let one = periods_between(PeriodKind::Month, d(2026, 3, 3), d(2026, 3, 3)).expect("1");
        assert_eq!(one.len(), 1);
        let year =
            periods_between(PeriodKind::Month, d(2026, 1, 1), d(2026, 12, 31)).expect("year");
        assert_eq!(year.len(), 12);
        assert!(periods_between(PeriodKind::Month, d(2026, 1, 1), d(2027, 1, 1)).is_err());
        let weeks53 =
            periods_between(PeriodKind::Week, d(2026, 1, 1), d(2026, 12, 31)).expect("53");
        assert_eq!(weeks53.len(), 53);
        assert!(periods_between(PeriodKind::Week, d(2026, 1, 1), d(2027, 1, 5)).is_err());
        assert!(periods_between(PeriodKind::Week, d(2026, 2, 1), d(2026, 1, 1)).is_err());
    }

    #[test]
    fn a_period_belongs_to_the_range_it_ends_in() {
        // Q4 2026: the week of 28 Sep–4 Oct ends in it, the week of 28 Dec–3 Jan does not.
        let weeks = periods_ending_in(PeriodKind::Week, d(2026, 10, 1), d(2027, 1, 1));
        assert_eq!(weeks.first().map(|w| w.start), Some(d(2026, 9, 28)));
        assert_eq!(weeks.last().map(|w| w.start), Some(d(2026, 12, 21)));
        assert_eq!(weeks.len(), 13);
        let months = periods_ending_in(PeriodKind::Month, d(2026, 10, 1), d(2027, 1, 1));
        assert_eq!(months.len(), 3);
        // The range ends on the last day of a month (exclusive end): that month is out.
        assert_eq!(
            periods_ending_in(PeriodKind::Month, d(2026, 10, 1), d(2026, 10, 31)).len(),
            0
        );
        assert_eq!(
            periods_ending_in(PeriodKind::Month, d(2026, 10, 31), d(2026, 11, 1)).len(),
            1
        );
        assert!(periods_ending_in(PeriodKind::Week, d(2026, 10, 1), d(2026, 10, 1)).is_empty());
    }

    #[test]
    fn the_scheduler_closes_only_ended_periods_within_the_lookback() {
        // Monday 30 Nov 00:10 local: the week of 23–29 Nov has just ended.
        let now = utc(2026, 11, 29, 16, 10);
        let weeks = closable(PeriodKind::Week, now, 3);
        assert_eq!(
            weeks.iter().map(|w| w.start).collect::<Vec<_>>(),
            vec![d(2026, 11, 9), d(2026, 11, 16), d(2026, 11, 23)]
        );
        assert!(weeks.iter().all(|w| w.ended_by(now)));
        // Sunday 23:50 local: that week is still running.
        let before = utc(2026, 11, 29, 15, 50);
        assert_eq!(
            closable(PeriodKind::Week, before, 1)[0].start,
            d(2026, 11, 16)
        );
        let months = closable(PeriodKind::Month, utc(2026, 11, 30, 16, 0), 2);
        assert_eq!(
            months.iter().map(|m| m.start).collect::<Vec<_>>(),
            vec![d(2026, 10, 1), d(2026, 11, 1)]
        );
        assert!(closable(PeriodKind::Month, now, 0).is_empty());
    }

    #[test]
    fn tally_counts_each_instant_in_its_period() {
        let weeks = periods_between(PeriodKind::Week, d(2026, 11, 16), d(2026, 11, 29)).expect("w");
        let counts = tally(
            &weeks,
            [
                utc(2026, 11, 29, 15, 30), // Sun 23:30 local: 2nd week
                utc(2026, 11, 29, 16, 30), // Mon 00:30 local: outside
                utc(2026, 11, 15, 16, 0),  // Mon 16 Nov 00:00 local: 1st week
                utc(2026, 11, 15, 15, 59), // Sun 15 Nov: outside
                utc(2026, 11, 22, 15, 59), // Sun 22 Nov 23:59 local: 1st week
            ],
        );
        assert_eq!(counts, vec![2, 1]);
    }

    #[test]
    fn judging_and_streaks() {
        let weeks = periods_between(PeriodKind::Week, d(2026, 10, 5), d(2026, 11, 29)).expect("w");
        let now = utc(2026, 11, 25, 0, 0); // in the last week
        let done = [1, 0, 2, 1, 1, 0, 0, 0];
        let outcomes: Vec<Outcome> = weeks
            .iter()
            .zip(done)
            .map(|(w, n)| judge(*w, 1, n, now))
            .collect();
        assert_eq!(outcomes[0].standing, Standing::Met);
        assert_eq!(outcomes[1].standing, Standing::Missed);
        assert_eq!(outcomes[2].standing, Standing::Met);
        assert_eq!(outcomes[7].standing, Standing::Open);
        // Open last week skipped: two missed before it.
        assert_eq!(streaks(&outcomes), Streaks { met: 0, missed: 2 });
        assert_eq!(
            streaks(&outcomes[..5]),
            Streaks { met: 3, missed: 0 },
            "weeks 3 to 5 met"
        );
        assert_eq!(streaks(&outcomes[..2]), Streaks { met: 0, missed: 1 });
        assert_eq!(streaks(&[]), Streaks::default());
        assert_eq!(streaks(&outcomes[7..]), Streaks::default());
        // Met early, before the period ends.
        assert_eq!(judge(weeks[7], 2, 2, now).standing, Standing::Met);
        assert_eq!(judge(weeks[7], 2, 1, now).standing, Standing::Open);
        // Exactly at the end it has ended.
        assert_eq!(
            judge(weeks[7], 1, 0, weeks[7].ends_at()).standing,
            Standing::Missed
        );
        assert_eq!(miss_streak(None), 1);
        assert_eq!(miss_streak(Some(4)), 5);
    }

    #[test]
    fn level_totals_count_per_period() {
        let weeks = periods_between(PeriodKind::Week, d(2026, 11, 16), d(2026, 11, 29)).expect("w");
        let now = utc(2026, 12, 10, 0, 0);
        let unit = |a: u32, b: u32| -> Vec<Outcome> {
            vec![judge(weeks[0], 1, a, now), judge(weeks[1], 1, b, now)]
        };
        let totals = level_totals(&[
            (UnitKind::Courtyard, unit(1, 0)),
            (UnitKind::Courtyard, unit(1, 1)),
            (UnitKind::Station, unit(0, 0)),
        ]);
        let c = &totals[&UnitKind::Courtyard];
        assert_eq!(
            c[0],
            LevelTally {
                met: 2,
                missed: 0,
                open: 0
            }
        );
        assert_eq!(
            c[1],
            LevelTally {
                met: 1,
                missed: 1,
                open: 0
            }
        );
        assert_eq!(totals[&UnitKind::Station][1].missed, 1);
        assert!(!totals.contains_key(&UnitKind::Institute));
    }

    #[test]
    fn rules_default_parse_and_apply_per_level() {
        let rules = CadenceRules::default();
        assert_eq!(
            rules.required(UnitKind::Courtyard, PeriodKind::Week),
            Some(1)
        );
        assert_eq!(
            rules.required(UnitKind::Courtyard, PeriodKind::Month),
            Some(1)
        );
        assert_eq!(rules.required(UnitKind::Station, PeriodKind::Week), None);
        assert_eq!(rules.required(UnitKind::Center, PeriodKind::Month), None);
        let parsed = parse_rules(RulesInput {
            courtyard_visits_per_week: 50,
            courtyard_activities_per_month: 0,
            station_visits_per_week: Some(2),
            station_activities_per_month: None,
            institute_visits_per_week: None,
            institute_activities_per_month: Some(31),
        })
        .expect("rules");
        assert_eq!(
            parsed.required(UnitKind::Courtyard, PeriodKind::Week),
            Some(50)
        );
        // A rule of 0 asks nothing.
        assert_eq!(
            parsed.required(UnitKind::Courtyard, PeriodKind::Month),
            None
        );
        assert_eq!(
            parsed.required(UnitKind::Station, PeriodKind::Week),
            Some(2)
        );
        assert_eq!(parsed.required(UnitKind::Station, PeriodKind::Month), None);
        assert_eq!(
            parsed.required(UnitKind::Institute, PeriodKind::Month),
            Some(31)
        );
        assert_eq!(parsed.required(UnitKind::Institute, PeriodKind::Week), None);
        let base = RulesInput {
            courtyard_visits_per_week: 1,
            courtyard_activities_per_month: 1,
            ..RulesInput::default()
        };
        for (bad, field) in [
            (
                RulesInput {
                    courtyard_visits_per_week: 51,
                    ..base
                },
                "courtyardVisitsPerWeek",
            ),
            (
                RulesInput {
                    courtyard_visits_per_week: -1,
                    ..base
                },
                "courtyardVisitsPerWeek",
            ),
            (
                RulesInput {
                    courtyard_activities_per_month: 32,
                    ..base
                },
                "courtyardActivitiesPerMonth",
            ),
            (
                RulesInput {
                    station_visits_per_week: Some(51),
                    ..base
                },
                "stationVisitsPerWeek",
            ),
            (
                RulesInput {
                    station_activities_per_month: Some(-1),
                    ..base
                },
                "stationActivitiesPerMonth",
            ),
            (
                RulesInput {
                    institute_visits_per_week: Some(i64::MAX),
                    ..base
                },
                "instituteVisitsPerWeek",
            ),
            (
                RulesInput {
                    institute_activities_per_month: Some(32),
                    ..base
                },
                "instituteActivitiesPerMonth",
            ),
        ] {
            match parse_rules(bad) {
                Err(DomainError::Invalid { field: f, .. }) => assert_eq!(f, field),
                other => panic!("{field}: {other:?}"),
            }
        }
        assert!(
            parse_rules(RulesInput {
                station_activities_per_month: Some(31),
                institute_visits_per_week: Some(50),
                ..base
            })
            .is_ok()
        );
    }

    #[test]
    fn visit_values_are_parsed() {
        let now = utc(2026, 12, 1, 0, 0);
        assert!(check_visited_at(now + Duration::minutes(4), now).is_ok());
        assert!(check_visited_at(now + Duration::minutes(6), now).is_err());
        assert!(check_visited_at(now - Duration::days(365), now).is_ok());
        assert!(check_visited_at(now - Duration::days(366), now).is_err());
        assert_eq!(parse_households(0).expect("0"), 0);
        assert_eq!(parse_households(500).expect("500"), 500);
        assert!(parse_households(501).is_err());
        assert!(parse_households(-1).is_err());
        assert_eq!(parse_notes(Some("  ")).expect("blank"), None);
        assert_eq!(parse_notes(None).expect("none"), None);
        assert_eq!(
            parse_notes(Some(" 第一行\n第二行 "))
                .expect("lines")
                .as_deref(),
            Some("第一行\n第二行")
        );
        assert!(parse_notes(Some(&"记".repeat(2000))).is_ok());
        assert!(parse_notes(Some(&"记".repeat(2001))).is_err());
        assert!(parse_notes(Some("a\u{0}b")).is_err());
        assert_eq!(
            parse_needs(&[" 修路灯 ".into()]).expect("needs"),
            vec!["修路灯"]
        );
        assert!(parse_needs(&vec!["x".to_owned(); 20]).is_ok());
        assert!(parse_needs(&vec!["x".to_owned(); 21]).is_err());
        assert!(parse_needs(&["需".repeat(500)]).is_ok());
        match parse_needs(&["ok".into(), "需".repeat(501)]) {
            Err(DomainError::Invalid { field, .. }) => assert_eq!(field, "needsHeard[1]"),
            other => panic!("{other:?}"),
        }
        assert!(parse_needs(&[" ".into()]).is_err());
    }

    #[test]
    fn who_records_and_who_sees_visits() {
        let staff = principal(&[Role::Staff], "s");
        let volunteer = principal(&[Role::Volunteer], "v");
        let citizen = principal(&[Role::Citizen], "c");
        let at = "/rc/changyuan/hongqiao/caijiaba";
        assert!(may_record_visit(&staff, Some("/rc/changyuan"), at).is_ok());
        assert!(may_record_visit(&volunteer, Some("/rc/changyuan/hongqiao"), at).is_ok());
        assert!(may_record_visit(&staff, Some("/rc/fenggao"), at).is_err());
        assert!(may_record_visit(&volunteer, None, at).is_err());
        assert!(may_record_visit(&citizen, Some("/rc"), at).is_err());

        assert!(may_read_visits(&staff, "rc").is_ok());
        assert!(may_read_visits(&staff, "yc").is_err());
        assert!(may_read_visits(&citizen, "rc").is_err());
        let no_district = Principal {
            district: None,
            ..volunteer.clone()
        };
        assert!(may_read_visits(&no_district, "rc").is_ok());

        assert!(sees_visit_details(
            &staff,
            Some("/rc/changyuan"),
            at,
            "other"
        ));
        assert!(!sees_visit_details(
            &staff,
            Some("/rc/fenggao"),
            at,
            "other"
        ));
        assert!(!sees_visit_details(&staff, None, at, "other"));
        assert!(
            sees_visit_details(&volunteer, None, at, "v"),
            "their own visit"
        );
        assert!(!sees_visit_details(&citizen, Some("/rc"), at, "other"));
    }

    #[test]
    fn only_the_centers_staff_set_rules() {
        let staff = principal(&[Role::Staff], "s");
        assert!(may_set_rules(&staff, Some("/rc"), "/rc").is_ok());
        assert!(may_set_rules(&staff, Some("/rc/changyuan"), "/rc").is_err());
        assert!(may_set_rules(&staff, Some("/yc"), "/rc").is_err());
        assert!(may_set_rules(&staff, None, "/rc").is_err());
        let volunteer = principal(&[Role::Volunteer], "v");
        assert!(may_set_rules(&volunteer, Some("/rc"), "/rc").is_err());
        assert!(PeriodKind::parse_stored("visits") == Some(PeriodKind::Week));
        assert!(PeriodKind::parse_stored("activities") == Some(PeriodKind::Month));
        assert!(PeriodKind::parse_stored("weeks").is_none());
    }
}
