//! Incentive points rules and the calendar quarters rankings are kept by.

use chrono::NaiveDate;

use super::DomainError;
use super::hours::Hours;

/// Per-district points rules: points per approved hour and per rating star.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PointsRules {
    per_hour: u32,
    per_rating_star: u32,
}

impl Default for PointsRules {
    /// 10 points per approved hour, 2 per star of a citizen's rating.
    fn default() -> Self {
        Self {
            per_hour: 10,
            per_rating_star: 2,
        }
    }
}

/// The most points one hour or one star may be worth; bounds a typo in a rule.
const MAX_RATE: i64 = 1000;

impl PointsRules {
    /// Parses rules as entered: each 0 to 1000.
    pub fn parse(per_hour: i64, per_rating_star: i64) -> Result<Self, DomainError> {
        let check = |field: &'static str, v: i64| {
            u32::try_from(v)
                .ok()
                .filter(|v| i64::from(*v) <= MAX_RATE)
                .ok_or_else(|| DomainError::invalid(field, format!("must be 0 to {MAX_RATE}")))
        };
        Ok(Self {
            per_hour: check("points_per_hour", per_hour)?,
            per_rating_star: check("points_per_rating_star", per_rating_star)?,
        })
    }

    /// Points per approved hour.
    pub fn per_hour(self) -> u32 {
        self.per_hour
    }

    /// Points per rating star.
    pub fn per_rating_star(self) -> u32 {
        self.per_rating_star
    }

    /// Points for approved hours; exact, since hours are whole quarters (10 per hour gives
    /// 2.5 for a quarter hour).
    pub fn for_hours(self, hours: Hours) -> f64 {
        f64::from(hours.quarters()) * f64::from(self.per_hour) / 4.0
    }

    /// Points for a rating of `stars` (1-5).
    pub fn for_rating(self, stars: u32) -> f64 {
        f64::from(stars.min(5) * self.per_rating_star)
    }
}

/// A calendar quarter, e.g. `2026Q4` (1 October to 31 December 2026).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quarter {
    year: i32,
    q: u32,
}

impl Quarter {
    /// Parses `YYYYQn`.
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        let bad = || DomainError::invalid("quarter", "must look like 2026Q4");
        let (year, q) = s.trim().split_once(['Q', 'q']).ok_or_else(bad)?;
        let year: i32 = year.parse().map_err(|_| bad())?;
        let q: u32 = q.parse().map_err(|_| bad())?;
        if !(2000..=2100).contains(&year) || !(1..=4).contains(&q) {
            return Err(bad());
        }
        Ok(Self { year, q })
    }

    /// First day of the quarter.
    pub fn first_day(self) -> NaiveDate {
        NaiveDate::from_ymd_opt(self.year, (self.q - 1) * 3 + 1, 1).unwrap_or(NaiveDate::MIN)
    }

    /// First day after the quarter.
    pub fn end_exclusive(self) -> NaiveDate {
        if self.q == 4 {
            NaiveDate::from_ymd_opt(self.year + 1, 1, 1)
        } else {
            NaiveDate::from_ymd_opt(self.year, self.q * 3 + 1, 1)
        }
        .unwrap_or(NaiveDate::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_for_hours_are_exact() {
        let r = PointsRules::default();
        assert_eq!(r.for_hours(Hours::parse(0.25).unwrap()), 2.5);
        assert_eq!(r.for_hours(Hours::parse(3.0).unwrap()), 30.0);
        assert_eq!(r.for_rating(5), 10.0);
        assert!(PointsRules::parse(-1, 2).is_err());
        assert!(PointsRules::parse(10, 1001).is_err());
        assert_eq!(PointsRules::parse(0, 0).unwrap().for_rating(4), 0.0);
    }

    #[test]
    fn quarters() {
        let q = Quarter::parse("2026Q4").unwrap();
        assert_eq!(q.first_day(), NaiveDate::from_ymd_opt(2026, 10, 1).unwrap());
        assert_eq!(
            q.end_exclusive(),
            NaiveDate::from_ymd_opt(2027, 1, 1).unwrap()
        );
        let q = Quarter::parse("2026q1").unwrap();
        assert_eq!(
            q.end_exclusive(),
            NaiveDate::from_ymd_opt(2026, 4, 1).unwrap()
        );
        for bad in ["2026", "2026Q5", "2026Q0", "Q3", "26Q1x"] {
            assert!(Quarter::parse(bad).is_err(), "{bad}");
        }
    }
}
