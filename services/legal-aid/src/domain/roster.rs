//! The duty roster: weekly rules, date exceptions, and the sittings they give for a range of
//! dates, computed on the district's wall clock (Asia/Shanghai) and held as UTC instants.

use chrono::{DateTime, NaiveDate, NaiveTime, TimeZone, Utc, Weekday};
use chrono_tz::Asia::Shanghai;

use super::calendar::Calendar;
use super::{DomainError, LegalService, ProviderId, RuleId, StationId};

/// The longest slot (a whole working day).
pub const MAX_SLOT_MINUTES: u32 = 480;
/// The longest buffer between two slots.
pub const MAX_BUFFER_MINUTES: u32 = 120;

/// A time window on one day, wall clock; ends after it starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// First minute.
    pub start: NaiveTime,
    /// End (exclusive).
    pub end: NaiveTime,
}

impl Window {
    /// A window from `start` to `end` (`HH:MM`).
    pub fn parse(start: &str, end: &str) -> Result<Self, DomainError> {
        let start = parse_time(start, "start")?;
        let end = parse_time(end, "end")?;
        if end <= start {
            return Err(DomainError::invalid(
                "end",
                "the window must end after it starts",
            ));
        }
        Ok(Self { start, end })
    }

    fn overlaps(&self, other: &Self) -> bool {
        self.start < other.end && other.start < self.end
    }
}

fn parse_time(text: &str, field: &'static str) -> Result<NaiveTime, DomainError> {
    NaiveTime::parse_from_str(text.trim(), "%H:%M")
        .map_err(|_| DomainError::invalid(field, "a time of day as HH:MM"))
}

/// How a window is cut into slots: `slot_minutes` long, `buffer_minutes` apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlotShape {
    /// Length of one slot.
    pub slot_minutes: u32,
    /// Gap after each slot.
    pub buffer_minutes: u32,
}

impl SlotShape {
    /// A shape with a slot of 1 to 480 minutes and a buffer of 0 to 120.
    pub fn parse(slot_minutes: i64, buffer_minutes: i64) -> Result<Self, DomainError> {
        let slot_minutes = u32::try_from(slot_minutes)
            .ok()
            .filter(|m| (1..=MAX_SLOT_MINUTES).contains(m))
            .ok_or_else(|| {
                DomainError::invalid("slotMinutes", format!("1 to {MAX_SLOT_MINUTES} minutes"))
            })?;
        let buffer_minutes = u32::try_from(buffer_minutes)
            .ok()
            .filter(|m| *m <= MAX_BUFFER_MINUTES)
            .ok_or_else(|| {
                DomainError::invalid(
                    "bufferMinutes",
                    format!("0 to {MAX_BUFFER_MINUTES} minutes"),
                )
            })?;
        Ok(Self {
            slot_minutes,
            buffer_minutes,
        })
    }
}

/// Who sits: one provider, or a pool the booking assigns round-robin. Sorted, no repeats,
/// never empty.
pub fn staffing(mut providers: Vec<ProviderId>) -> Result<Vec<ProviderId>, DomainError> {
    providers.sort();
    providers.dedup();
    if providers.is_empty() {
        return Err(DomainError::invalid(
            "providerIds",
            "name one provider or a pool",
        ));
    }
    Ok(providers)
}

/// A weekly rule: on `weekday`, in `window`, `service` by `providers`.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    /// Its id.
    pub id: RuleId,
    /// The station.
    pub station: StationId,
    /// The weekday (a make-up working day follows the weekday the calendar names).
    pub weekday: Weekday,
    /// The window.
    pub window: Window,
    /// The service offered.
    pub service: LegalService,
    /// One provider or a pool.
    pub providers: Vec<ProviderId>,
    /// How the window is cut.
    pub shape: SlotShape,
    /// At most this many appointments of the service at the station on one day.
    pub daily_limit: Option<u32>,
}

impl Rule {
    /// Refuses the rule when one of its providers already sits in an overlapping window on
    /// the same weekday under another rule (at any station: a person sits in one place).
    pub fn check_against(&self, others: &[Rule]) -> Result<(), DomainError> {
        for other in others.iter().filter(|o| o.id != self.id) {
            if other.weekday == self.weekday
                && other.window.overlaps(&self.window)
                && other.providers.iter().any(|p| self.providers.contains(p))
            {
                return Err(DomainError::invalid(
                    "providerIds",
                    "a provider already sits at that time under another rule",
                ));
            }
        }
        Ok(())
    }
}

/// What changes on one date at one station.
#[derive(Debug, Clone, PartialEq)]
pub enum ExceptionKind {
    /// Closed all day.
    Closed,
    /// Open beyond the rules (also on a holiday).
    ExtraOpening {
        /// The window.
        window: Window,
        /// The service offered.
        service: LegalService,
        /// Who sits.
        providers: Vec<ProviderId>,
        /// How the window is cut.
        shape: SlotShape,
    },
    /// A provider is away that day.
    ProviderAway {
        /// Who.
        provider: ProviderId,
    },
}

/// An exception on `date`.
#[derive(Debug, Clone, PartialEq)]
pub struct Exception {
    /// The date on the wall clock.
    pub date: NaiveDate,
    /// What changes.
    pub kind: ExceptionKind,
}

/// One sitting of the computed roster.
#[derive(Debug, Clone, PartialEq)]
pub struct Sitting {
    /// The date on the wall clock.
    pub date: NaiveDate,
    /// Start, UTC.
    pub starts_at: DateTime<Utc>,
    /// End, UTC.
    pub ends_at: DateTime<Utc>,
    /// The service offered.
    pub service: LegalService,
    /// Who sits (providers away removed).
    pub providers: Vec<ProviderId>,
    /// How it is cut into slots.
    pub shape: SlotShape,
    /// The day's limit of appointments of the service.
    pub daily_limit: Option<u32>,
    /// The rule it comes from; `None` for an extra opening.
    pub rule: Option<RuleId>,
}

/// The instant of `time` on `date` in Asia/Shanghai.
pub fn instant(date: NaiveDate, time: NaiveTime) -> DateTime<Utc> {
    let local = date.and_time(time);
    // Asia/Shanghai has had no daylight saving since 1991, so every wall time exists once.
    match Shanghai.from_local_datetime(&local).earliest() {
        Some(t) => t.with_timezone(&Utc),
        None => Utc.from_utc_datetime(&(local - chrono::Duration::hours(8))),
    }
}

/// The wall-clock date of `at` in Asia/Shanghai.
pub fn local_date(at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&Shanghai).date_naive()
}

/// The roster of one station from `from` to `to` (dates, inclusive), in time order.
///
/// A closed exception removes the day; a public holiday removes the rules' sittings (extra
/// openings still apply); a make-up working day follows the rules of the weekday the
/// calendar names; a provider away leaves their sittings (a sitting nobody is left for
/// disappears).
pub fn sittings(
    rules: &[Rule],
    exceptions: &[Exception],
    calendar: &Calendar,
    from: NaiveDate,
    to: NaiveDate,
) -> Vec<Sitting> {
    let mut out = Vec::new();
    let mut date = from;
    while date <= to {
        let today: Vec<&Exception> = exceptions.iter().filter(|e| e.date == date).collect();
        let closed = today.iter().any(|e| e.kind == ExceptionKind::Closed);
        if !closed {
            let away: Vec<ProviderId> = today
                .iter()
                .filter_map(|e| match e.kind {
                    ExceptionKind::ProviderAway { provider } => Some(provider),
                    _ => None,
                })
                .collect();
            let mut day = Vec::new();
            if let Some(weekday) = calendar.roster_weekday(date) {
                for rule in rules.iter().filter(|r| r.weekday == weekday) {
                    day.push(Sitting {
                        date,
                        starts_at: instant(date, rule.window.start),
                        ends_at: instant(date, rule.window.end),
                        service: rule.service,
                        providers: rule.providers.clone(),
                        shape: rule.shape,
                        daily_limit: rule.daily_limit,
                        rule: Some(rule.id),
                    });
                }
            }
            for e in &today {
                if let ExceptionKind::ExtraOpening {
                    window,
                    service,
                    providers,
                    shape,
                } = &e.kind
                {
                    day.push(Sitting {
                        date,
                        starts_at: instant(date, window.start),
                        ends_at: instant(date, window.end),
                        service: *service,
                        providers: providers.clone(),
                        shape: *shape,
                        daily_limit: None,
                        rule: None,
                    });
                }
            }
            for mut sitting in day {
                sitting.providers.retain(|p| !away.contains(p));
                if !sitting.providers.is_empty() {
                    out.push(sitting);
                }
            }
        }
        match date.succ_opt() {
            Some(next) => date = next,
            None => break,
        }
    }
    out.sort_by_key(|s| (s.starts_at, s.service));
    out
}
