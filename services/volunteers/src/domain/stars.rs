//! Star levels (星级) by approved service hours.
//!
//! Thresholds are per-district configuration (they hang on the district's root unit), so
//! they are parsed once at load and a bad list stops start-up with a message naming the
//! setting, instead of silently awarding the wrong stars.

use serde::{Deserialize, Serialize};

use super::DomainError;

const FIELD: &str = "star_thresholds";

/// Ascending hour thresholds; reaching the n-th (1-based) earns n stars.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "Vec<f64>", into = "Vec<f64>")]
pub struct StarThresholds(Vec<f64>);

impl Default for StarThresholds {
    /// 100 / 300 / 600 / 1000 / 1500 hours for 1-5 stars: the usual national scheme.
    fn default() -> Self {
        Self(vec![100.0, 300.0, 600.0, 1000.0, 1500.0])
    }
}

impl StarThresholds {
    /// Parses a threshold list: non-empty, every value finite and positive, strictly
    /// increasing, and at most 255 levels (a level is a `u8`).
    pub fn parse(hours: Vec<f64>) -> Result<Self, DomainError> {
        if hours.is_empty() {
            return Err(DomainError::invalid(
                FIELD,
                "must list at least one threshold",
            ));
        }
        if hours.len() > usize::from(u8::MAX) {
            return Err(DomainError::invalid(
                FIELD,
                "may list at most 255 thresholds",
            ));
        }
        for (i, &h) in hours.iter().enumerate() {
            if !h.is_finite() || h <= 0.0 {
                return Err(DomainError::invalid(
                    FIELD,
                    format!(
                        "threshold {} must be a positive number of hours, got {h}",
                        i + 1
                    ),
                ));
            }
            if i > 0 && h <= hours[i - 1] {
                return Err(DomainError::invalid(
                    FIELD,
                    format!(
                        "must be strictly increasing: threshold {} ({h}) is not above threshold {} ({})",
                        i + 1,
                        i,
                        hours[i - 1]
                    ),
                ));
            }
        }
        Ok(Self(hours))
    }

    /// Parses whole-hour thresholds (the usual way they are written in a config file).
    pub fn parse_whole_hours(hours: &[u32]) -> Result<Self, DomainError> {
        Self::parse(hours.iter().map(|&h| f64::from(h)).collect())
    }

    /// The thresholds in hours.
    pub fn as_slice(&self) -> &[f64] {
        &self.0
    }

    /// Highest level there is.
    pub fn max_level(&self) -> u8 {
        // Bounded by `parse`.
        u8::try_from(self.0.len()).unwrap_or(u8::MAX)
    }

    /// The star level for a total of approved hours: how many thresholds it has reached
    /// (reaching exactly 100 hours is one star). 0 means no star yet.
    pub fn level_for(&self, hours: f64) -> u8 {
        let reached = self.0.partition_point(|&t| t <= hours);
        u8::try_from(reached).unwrap_or(u8::MAX)
    }

    /// The level newly reached when a volunteer's approved total goes from `before` to
    /// `after`, or `None` when the level is unchanged.
    ///
    /// One entry can skip levels (a large manual entry from 90 to 350 hours); the result is
    /// the highest level reached (2 here), so the service emits exactly one
    /// `star_reached` event per entry, carrying the level the volunteer now holds. Because
    /// totals only grow (the ledger is append-only and only approvals add hours), applying
    /// each approved entry once emits each level at most once.
    pub fn crossed(&self, before: f64, after: f64) -> Option<u8> {
        let (old, new) = (self.level_for(before), self.level_for(after));
        (new > old).then_some(new)
    }

    /// Hours still missing to the next level, or `None` at the top.
    pub fn hours_to_next(&self, hours: f64) -> Option<f64> {
        self.0.iter().find(|&&t| t > hours).map(|&t| t - hours)
    }
}

impl TryFrom<Vec<f64>> for StarThresholds {
    type Error = DomainError;
    fn try_from(v: Vec<f64>) -> Result<Self, Self::Error> {
        Self::parse(v)
    }
}

impl From<StarThresholds> for Vec<f64> {
    fn from(t: StarThresholds) -> Self {
        t.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_levels() {
        let t = StarThresholds::default();
        assert_eq!(t.max_level(), 5);
        assert_eq!(t.level_for(0.0), 0);
        assert_eq!(t.level_for(99.75), 0);
        assert_eq!(t.level_for(100.0), 1);
        assert_eq!(t.level_for(299.0), 1);
        assert_eq!(t.level_for(300.0), 2);
        assert_eq!(t.level_for(1000.0), 4);
        assert_eq!(t.level_for(1499.75), 4);
        assert_eq!(t.level_for(1500.0), 5);
        assert_eq!(t.level_for(100_000.0), 5);
        assert_eq!(t.hours_to_next(250.0), Some(50.0));
        assert_eq!(t.hours_to_next(2000.0), None);
    }

    #[test]
    fn crossed_reports_each_level_once() {
        let t = StarThresholds::default();
        assert_eq!(t.crossed(99.75, 100.0), Some(1));
        assert_eq!(t.crossed(100.0, 101.0), None);
        assert_eq!(t.crossed(50.0, 60.0), None);
        // Skipping a level reports the highest one reached.
        assert_eq!(t.crossed(90.0, 350.0), Some(2));
        assert_eq!(t.crossed(1400.0, 2000.0), Some(5));
        assert_eq!(t.crossed(2000.0, 2500.0), None);
        // Never backwards.
        assert_eq!(t.crossed(350.0, 90.0), None);

        // Replaying a sequence of entries emits 1..=5 exactly once each.
        let mut total = 0.0;
        let mut emitted = Vec::new();
        for _ in 0..(1600 * 4) {
            let after = total + 0.25;
            emitted.extend(t.crossed(total, after));
            total = after;
        }
        assert_eq!(emitted, vec![1, 2, 3, 4, 5]);
    }

    #[test]
    fn rejects_bad_lists_with_clear_errors() {
        let err = StarThresholds::parse(vec![]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "star_thresholds: must list at least one threshold"
        );
        let err = StarThresholds::parse(vec![100.0, 300.0, 300.0]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "star_thresholds: must be strictly increasing: threshold 3 (300) is not above threshold 2 (300)"
        );
        assert!(StarThresholds::parse(vec![300.0, 100.0]).is_err());
        let err = StarThresholds::parse(vec![0.0, 100.0]).unwrap_err();
        assert!(err.to_string().contains("threshold 1 must be a positive"));
        assert!(StarThresholds::parse(vec![-5.0]).is_err());
        assert!(StarThresholds::parse(vec![f64::NAN]).is_err());
        assert!(StarThresholds::parse(vec![10.0, f64::INFINITY]).is_err());
        assert!(StarThresholds::parse(vec![1.0; 256]).is_err());
        assert!(StarThresholds::parse_whole_hours(&[50, 150, 400]).is_ok());
        assert!(StarThresholds::parse_whole_hours(&[50, 50]).is_err());
    }

    #[test]
    fn custom_levels() {
        let t = StarThresholds::parse(vec![10.5, 20.0]).unwrap();
        assert_eq!(t.level_for(10.25), 0);
        assert_eq!(t.level_for(10.5), 1);
        assert_eq!(t.level_for(25.0), 2);
        assert_eq!(t.max_level(), 2);
    }
}
