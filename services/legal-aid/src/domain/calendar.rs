//! The district-wide holiday calendar: public holidays (no roster) and make-up working days
//! (调休: a weekend day that works, following the roster of a named weekday).
//!
//! Admins maintain it; [`official_days`] is what a fresh database is seeded with.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate, Weekday};

use super::DomainError;

/// What a calendar day is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DayKind {
    /// A public holiday: stations are closed, no roster.
    Holiday,
    /// A make-up working day: the roster of `follows` applies.
    Workday {
        /// The weekday whose roster the day follows.
        follows: Weekday,
    },
}

/// One day of the calendar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalendarDay {
    /// The date, on the district's wall clock.
    pub date: NaiveDate,
    /// Holiday or make-up working day.
    pub kind: DayKind,
    /// The holiday's name, e.g. 春节.
    pub name: String,
}

impl CalendarDay {
    /// A day checked: a make-up working day must not follow a weekend day (it would open
    /// nothing) and the name must be given.
    pub fn parse(date: NaiveDate, kind: DayKind, name: &str) -> Result<Self, DomainError> {
        if let DayKind::Workday { follows } = kind
            && matches!(follows, Weekday::Sat | Weekday::Sun)
        {
            return Err(DomainError::invalid(
                "follows",
                "a make-up working day follows a weekday (Monday to Friday)",
            ));
        }
        Ok(Self {
            date,
            kind,
            name: super::text(name, "name", 40)?,
        })
    }
}

/// The calendar of the days that differ from the plain week.
#[derive(Debug, Clone, Default)]
pub struct Calendar(BTreeMap<NaiveDate, CalendarDay>);

impl Calendar {
    /// A calendar of `days`.
    pub fn new(days: impl IntoIterator<Item = CalendarDay>) -> Self {
        Self(days.into_iter().map(|d| (d.date, d)).collect())
    }

    /// The weekday whose roster `date` follows: `None` on a public holiday, the named
    /// weekday on a make-up working day, its own weekday otherwise.
    pub fn roster_weekday(&self, date: NaiveDate) -> Option<Weekday> {
        match self.0.get(&date).map(|d| &d.kind) {
            Some(DayKind::Holiday) => None,
            Some(DayKind::Workday { follows }) => Some(*follows),
            None => Some(date.weekday()),
        }
    }

    /// The special day at `date`, if any.
    pub fn day(&self, date: NaiveDate) -> Option<&CalendarDay> {
        self.0.get(&date)
    }
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    // The table below only holds real dates; a typo fails the unit test.
    NaiveDate::from_ymd_opt(y, m, d).unwrap_or(NaiveDate::MIN)
}

/// Public holidays and make-up working days seeded into a fresh database.
///
/// 2026: the State Council's arrangement (国务院办公厅关于2026年部分节假日安排的通知); a make-up
/// day follows the weekday it was swapped with. 2027: the statutory days of the holiday
/// regulation (全国年节及纪念日放假办法, 2025 revision) only, named 待公布 until the State
/// Council publishes the 2027 arrangement and an admin enters its bridge days and make-up days.
pub fn official_days() -> Vec<CalendarDay> {
    use Weekday::*;
    let off = |y, m, d, name: &str| CalendarDay {
        date: date(y, m, d),
        kind: DayKind::Holiday,
        name: name.to_owned(),
    };
    let work = |y, m, d, follows, name: &str| CalendarDay {
        date: date(y, m, d),
        kind: DayKind::Workday { follows },
        name: name.to_owned(),
    };
    let mut days = Vec::new();
    // 2026
    for d in 1..=3 {
        days.push(off(2026, 1, d, "元旦"));
    }
    days.push(work(2026, 1, 4, Fri, "元旦调休"));
    days.push(work(2026, 2, 14, Fri, "春节调休"));
    for d in 15..=23 {
        days.push(off(2026, 2, d, "春节"));
    }
    days.push(work(2026, 2, 28, Mon, "春节调休"));
    for d in 4..=6 {
        days.push(off(2026, 4, d, "清明节"));
    }
    for d in 1..=5 {
        days.push(off(2026, 5, d, "劳动节"));
    }
    days.push(work(2026, 5, 9, Tue, "劳动节调休"));
    for d in 19..=21 {
        days.push(off(2026, 6, d, "端午节"));
    }
    days.push(work(2026, 9, 20, Tue, "国庆节调休"));
    for d in 25..=27 {
        days.push(off(2026, 9, d, "中秋节"));
    }
    for d in 1..=7 {
        days.push(off(2026, 10, d, "国庆节"));
    }
    days.push(work(2026, 10, 10, Wed, "国庆节调休"));
    // 2027: statutory days only, until the arrangement is published.
    days.push(off(2027, 1, 1, "元旦(调休待公布)"));
    for d in 5..=8 {
        days.push(off(2027, 2, d, "春节(调休待公布)"));
    }
    days.push(off(2027, 4, 5, "清明节(调休待公布)"));
    for d in 1..=2 {
        days.push(off(2027, 5, d, "劳动节(调休待公布)"));
    }
    days.push(off(2027, 6, 9, "端午节(调休待公布)"));
    days.push(off(2027, 9, 15, "中秋节(调休待公布)"));
    for d in 1..=3 {
        days.push(off(2027, 10, d, "国庆节(调休待公布)"));
    }
    days
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seed_holds_real_dates_and_make_up_days_fall_on_weekends() {
        let days = official_days();
        assert!(days.iter().all(|d| d.date != NaiveDate::MIN));
        for d in &days {
            if let DayKind::Workday { follows } = d.kind {
                assert!(
                    matches!(d.date.weekday(), Weekday::Sat | Weekday::Sun),
                    "{} is a make-up day on a weekday",
                    d.date
                );
                assert!(!matches!(follows, Weekday::Sat | Weekday::Sun));
            }
        }
        let calendar = Calendar::new(days);
        // 2026-10-01 is a holiday, 2026-10-10 (Saturday) works as a Wednesday.
        assert_eq!(calendar.roster_weekday(date(2026, 10, 1)), None);
        assert_eq!(
            calendar.roster_weekday(date(2026, 10, 10)),
            Some(Weekday::Wed)
        );
        assert_eq!(
            calendar.roster_weekday(date(2026, 10, 13)),
            Some(Weekday::Tue)
        );
    }

    #[test]
    fn a_make_up_day_cannot_follow_a_weekend() {
        let err = CalendarDay::parse(
            date(2026, 10, 10),
            DayKind::Workday {
                follows: Weekday::Sun,
            },
            "x",
        )
        .expect_err("weekend");
        assert!(matches!(
            err,
            DomainError::Invalid {
                field: "follows",
                ..
            }
        ));
    }
}
