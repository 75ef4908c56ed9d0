//! Service-hours ledger values: how many hours, where they came from, and the approval
//! state of an entry.
//!
//! Hours are counted in **quarter hours** (0.25 h = 15 minutes). Volunteer records are
//! kept by the quarter hour in practice, and quarters are exact in binary floating point,
//! so totals summed as `f64` (for star thresholds, rankings) never drift: 400 entries of
//! 0.25 h make exactly 100.0 h and reach the first star, which 0.1-hour steps would not.
//! Input that is not a whole number of quarters is rejected rather than rounded, because a
//! service record must be true: the recorder fixes it, the system does not guess.

use std::fmt;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::DomainError;

const FIELD: &str = "hours";
/// 24 hours, the most one day can hold.
const MAX_QUARTERS: u8 = 96;

/// Hours credited by one ledger entry for one day: a positive whole number of quarter hours,
/// at most 24 hours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "f64", into = "f64")]
pub struct Hours {
    quarters: u8,
}

impl Hours {
    /// Parses hours as entered: `1`, `1.5`, `0.25`, `2.75`.
    pub fn parse(hours: f64) -> Result<Self, DomainError> {
        if !hours.is_finite() {
            return Err(DomainError::invalid(FIELD, "must be a number"));
        }
        if hours <= 0.0 {
            return Err(DomainError::invalid(
                FIELD,
                format!("must be more than 0, got {hours}"),
            ));
        }
        if hours > 24.0 {
            return Err(DomainError::invalid(
                FIELD,
                format!("one day holds at most 24 hours, got {hours}"),
            ));
        }
        let quarters = hours * 4.0;
        let rounded = quarters.round();
        // Tolerate the last-bit noise of a decimal typed into a float (e.g. 0.1 * 3 * ...),
        // not a real fraction of a quarter.
        if (quarters - rounded).abs() > 1e-9 {
            return Err(DomainError::invalid(
                FIELD,
                format!("must be in quarter hours (.0, .25, .5, .75), got {hours}"),
            ));
        }
        // In 1..=96 by the range checks above.
        Self::from_quarters(rounded as u8)
    }

    /// From a count of quarter hours (1..=96), the form the store keeps.
    pub fn from_quarters(quarters: u8) -> Result<Self, DomainError> {
        if quarters == 0 || quarters > MAX_QUARTERS {
            return Err(DomainError::invalid(
                FIELD,
                format!("must be 1 to {MAX_QUARTERS} quarter hours, got {quarters}"),
            ));
        }
        Ok(Self { quarters })
    }

    /// From a measured duration in minutes (e.g. an order's accepted-to-completed time),
    /// rounded to the nearest quarter hour (half up: 7 min → 0, 8 min → 0.25 h).
    ///
    /// Durations that round to nothing are an error rather than a free quarter hour.
    pub fn from_minutes_rounded(minutes: u32) -> Result<Self, DomainError> {
        let quarters = minutes.saturating_add(7) / 15;
        if quarters == 0 {
            return Err(DomainError::invalid(
                FIELD,
                format!("{minutes} minutes is less than half a quarter hour"),
            ));
        }
        let quarters = u8::try_from(quarters).unwrap_or(u8::MAX);
        Self::from_quarters(quarters).map_err(|_| {
            DomainError::invalid(
                FIELD,
                format!("one day holds at most 24 hours, got {minutes} minutes"),
            )
        })
    }

    /// Hours as a number, exact (quarters are exact in binary).
    pub fn as_f64(self) -> f64 {
        f64::from(self.quarters) / 4.0
    }

    /// Whole quarter hours, 1..=96.
    pub fn quarters(self) -> u8 {
        self.quarters
    }

    /// Minutes, 15..=1440.
    pub fn minutes(self) -> u32 {
        u32::from(self.quarters) * 15
    }

    /// Adds another entry for the **same volunteer and day**; fails when the day would
    /// hold more than 24 hours. The service folds this over a day's existing entries before
    /// appending a new one.
    pub fn add_within_day(self, other: Hours) -> Result<Hours, DomainError> {
        let total = self.quarters + other.quarters; // at most 192, fits in u8
        if total > MAX_QUARTERS {
            return Err(DomainError::invalid(
                FIELD,
                format!(
                    "the day would hold {} hours; one day holds at most 24",
                    f64::from(total) / 4.0
                ),
            ));
        }
        Ok(Hours { quarters: total })
    }
}

impl fmt::Display for Hours {
    /// Shortest exact decimal: `1`, `1.5`, `1.25`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.as_f64())
    }
}

impl TryFrom<f64> for Hours {
    type Error = DomainError;
    fn try_from(v: f64) -> Result<Self, Self::Error> {
        Self::parse(v)
    }
}

impl From<Hours> for f64 {
    fn from(h: Hours) -> Self {
        h.as_f64()
    }
}

/// The date service was given. Not in the future: hours are recorded for work done.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ServiceDate(NaiveDate);

impl ServiceDate {
    /// Parses a service date as of `today` in the district's local time
    /// (see [`super::availability::local_today`]).
    pub fn parse(date: NaiveDate, today: NaiveDate) -> Result<Self, DomainError> {
        if date > today {
            return Err(DomainError::invalid(
                "date",
                "service date is in the future",
            ));
        }
        Ok(Self(date))
    }

    /// The date.
    pub fn date(self) -> NaiveDate {
        self.0
    }
}

/// Where a ledger entry's hours come from.
///
/// An order or activity credits a volunteer at most once; the service enforces that with a
/// unique index on (volunteer, [`LedgerSource::kind`], [`LedgerSource::reference`]) for the
/// non-manual kinds, which also makes event redelivery harmless.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LedgerSource {
    /// A completed order (from `tongxin.orders.order_completed`).
    Order(Uuid),
    /// Attendance at an activity (from `tongxin.venues.activity_held`).
    Activity(Uuid),
    /// Entered by staff.
    Manual,
}

impl LedgerSource {
    /// Stable name for storage, APIs and events.
    pub fn kind(&self) -> &'static str {
        match self {
            LedgerSource::Order(_) => "order",
            LedgerSource::Activity(_) => "activity",
            LedgerSource::Manual => "manual",
        }
    }

    /// The order or activity id, if any.
    pub fn reference(&self) -> Option<Uuid> {
        match self {
            LedgerSource::Order(id) | LedgerSource::Activity(id) => Some(*id),
            LedgerSource::Manual => None,
        }
    }

    /// Rebuilds a source from its stored columns; the kind and the presence of a reference
    /// must agree.
    pub fn from_parts(kind: &str, reference: Option<Uuid>) -> Result<Self, DomainError> {
        match (kind, reference) {
            ("order", Some(id)) => Ok(LedgerSource::Order(id)),
            ("activity", Some(id)) => Ok(LedgerSource::Activity(id)),
            ("manual", None) => Ok(LedgerSource::Manual),
            ("order" | "activity", None) => Err(DomainError::invalid(
                "source",
                format!("{kind} needs a reference id"),
            )),
            ("manual", Some(_)) => Err(DomainError::invalid(
                "source",
                "manual entries carry no reference id",
            )),
            _ => Err(DomainError::invalid(
                "source",
                "must be one of order, activity, manual",
            )),
        }
    }
}

/// Approval state of a ledger entry.
///
/// Entries are append-only: a decision is final, and a declined entry stays visible as
/// declined (the record must be complete), so the only moves are out of `Pending`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum EntryStatus {
    /// Waiting for staff in scope.
    #[default]
    Pending,
    /// Counts towards totals, stars and points.
    Approved,
    /// Kept for the record, counts for nothing.
    Declined,
}

impl EntryStatus {
    /// Stable name for storage and APIs.
    pub fn as_str(self) -> &'static str {
        match self {
            EntryStatus::Pending => "pending",
            EntryStatus::Approved => "approved",
            EntryStatus::Declined => "declined",
        }
    }

    /// Parses a stored or requested status name.
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        match s {
            "pending" => Ok(EntryStatus::Pending),
            "approved" => Ok(EntryStatus::Approved),
            "declined" => Ok(EntryStatus::Declined),
            _ => Err(DomainError::invalid(
                "status",
                "must be pending, approved or declined",
            )),
        }
    }

    /// The state after moving to `to`; only pending → approved and pending → declined are
    /// allowed. Anything else (including approving twice) is a CONFLICT, so a double click
    /// or a race between two staff members cannot credit hours twice.
    pub fn transition(self, to: EntryStatus) -> Result<EntryStatus, DomainError> {
        match (self, to) {
            (EntryStatus::Pending, EntryStatus::Approved | EntryStatus::Declined) => Ok(to),
            _ => Err(DomainError::InvalidTransition {
                field: "status",
                from: self.as_str(),
                to: to.as_str(),
            }),
        }
    }

    /// `transition(Approved)`.
    pub fn approve(self) -> Result<EntryStatus, DomainError> {
        self.transition(EntryStatus::Approved)
    }

    /// `transition(Declined)`.
    pub fn decline(self) -> Result<EntryStatus, DomainError> {
        self.transition(EntryStatus::Declined)
    }

    /// Whether an entry in this state adds to totals, stars and points.
    pub fn counts(self) -> bool {
        self == EntryStatus::Approved
    }
}

#[cfg(test)]
mod tests {
    use super::super::ErrorKind;
    use super::*;

    #[test]
    fn parses_quarter_hours() {
        assert_eq!(Hours::parse(1.0).unwrap().quarters(), 4);
        assert_eq!(Hours::parse(0.25).unwrap().minutes(), 15);
        assert_eq!(Hours::parse(2.75).unwrap().as_f64(), 2.75);
        assert_eq!(Hours::parse(24.0).unwrap().quarters(), 96);
        assert_eq!(Hours::parse(1.5).unwrap().to_string(), "1.5");
        assert_eq!(Hours::parse(3.0).unwrap().to_string(), "3");
        // Stored and sent as a plain number of hours.
        assert_eq!(f64::from(Hours::parse(1.75).unwrap()), 1.75);
    }

    #[test]
    fn rejects_bad_hours() {
        let err = Hours::parse(-1.0).unwrap_err();
        assert_eq!(err.to_string(), "hours: must be more than 0, got -1");
        assert_eq!(err.kind(), ErrorKind::BadUserInput);
        assert!(Hours::parse(0.0).is_err());
        let err = Hours::parse(24.25).unwrap_err();
        assert_eq!(
            err.to_string(),
            "hours: one day holds at most 24 hours, got 24.25"
        );
        assert!(Hours::parse(25.0).is_err());
        let err = Hours::parse(1.1).unwrap_err();
        assert!(err.to_string().contains("quarter hours"), "{err}");
        assert!(Hours::parse(0.1).is_err());
        assert!(Hours::parse(f64::NAN).is_err());
        assert!(Hours::parse(f64::INFINITY).is_err());
        assert!(Hours::from_quarters(0).is_err());
        assert!(Hours::from_quarters(97).is_err());
    }

    #[test]
    fn rounds_measured_minutes() {
        assert!(Hours::from_minutes_rounded(7).is_err());
        assert_eq!(Hours::from_minutes_rounded(8).unwrap().quarters(), 1);
        assert_eq!(Hours::from_minutes_rounded(97).unwrap().as_f64(), 1.5); // 1h37 → 1.5
        assert_eq!(Hours::from_minutes_rounded(98).unwrap().as_f64(), 1.75);
        assert_eq!(Hours::from_minutes_rounded(1440).unwrap().as_f64(), 24.0);
        assert!(Hours::from_minutes_rounded(1460).is_err());
        assert!(Hours::from_minutes_rounded(u32::MAX - 7).is_err());
    }

    #[test]
    fn quarter_sums_are_exact() {
        let q = Hours::parse(0.25).unwrap().as_f64();
        let total: f64 = (0..400).map(|_| q).sum();
        assert_eq!(total, 100.0);
    }

    #[test]
    fn one_day_holds_at_most_24_hours() {
        let h = |x| Hours::parse(x).unwrap();
        assert_eq!(h(8.0).add_within_day(h(16.0)).unwrap(), h(24.0));
        let err = h(20.0).add_within_day(h(4.25)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "hours: the day would hold 24.25 hours; one day holds at most 24"
        );
        assert!(h(24.0).add_within_day(h(24.0)).is_err());
    }

    #[test]
    fn service_date_is_not_in_the_future() {
        let today = NaiveDate::from_ymd_opt(2025, 6, 1).unwrap();
        assert_eq!(ServiceDate::parse(today, today).unwrap().date(), today);
        let err = ServiceDate::parse(today.succ_opt().unwrap(), today).unwrap_err();
        assert_eq!(err.to_string(), "date: service date is in the future");
    }

    #[test]
    fn sources_round_trip_through_their_columns() {
        let id = Uuid::from_u128(42);
        for s in [
            LedgerSource::Order(id),
            LedgerSource::Activity(id),
            LedgerSource::Manual,
        ] {
            assert_eq!(
                LedgerSource::from_parts(s.kind(), s.reference()).unwrap(),
                s
            );
        }
        // Each mismatch says what is wrong with it, not only that something is.
        let message = |kind, reference| {
            LedgerSource::from_parts(kind, reference)
                .unwrap_err()
                .to_string()
        };
        assert_eq!(message("order", None), "source: order needs a reference id");
        assert_eq!(
            message("activity", None),
            "source: activity needs a reference id"
        );
        assert_eq!(
            message("manual", Some(id)),
            "source: manual entries carry no reference id"
        );
        assert_eq!(
            message("gift", None),
            "source: must be one of order, activity, manual"
        );
    }

    #[test]
    fn only_pending_entries_can_be_decided() {
        use EntryStatus::*;
        assert_eq!(EntryStatus::default(), Pending);
        assert_eq!(Pending.approve().unwrap(), Approved);
        assert_eq!(Pending.decline().unwrap(), Declined);
        for (from, to) in [
            (Approved, Approved),
            (Approved, Declined),
            (Approved, Pending),
            (Declined, Approved),
            (Declined, Declined),
            (Declined, Pending),
            (Pending, Pending),
        ] {
            let err = from.transition(to).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Conflict);
            assert_eq!(
                err.to_string(),
                format!(
                    "status: cannot change from {} to {}",
                    from.as_str(),
                    to.as_str()
                )
            );
        }
        assert!(Approved.counts());
        assert!(!Pending.counts() && !Declined.counts());
        for s in [Pending, Approved, Declined] {
            assert_eq!(EntryStatus::parse(s.as_str()).unwrap(), s);
        }
        assert!(EntryStatus::parse("maybe").is_err());
    }
}
