//! Bookable slots: the roster's sittings cut into slots, minus what is booked, within the
//! booking policy (minimum notice, horizon, daily limit); and why a wanted slot is not
//! bookable.

use std::collections::HashMap;

use chrono::{DateTime, Duration, NaiveDate, Utc};

use super::roster::Sitting;
use super::{DomainError, LegalService, ProviderId, RuleId};

/// A station's booking policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// A slot must start at least this many minutes from now.
    pub min_notice_minutes: u32,
    /// A slot must start within this many days from now.
    pub horizon_days: u32,
}

impl Policy {
    /// A policy with a notice of 0 to 10080 minutes and a horizon of 1 to 365 days.
    pub fn parse(min_notice_minutes: i64, horizon_days: i64) -> Result<Self, DomainError> {
        let min_notice_minutes = u32::try_from(min_notice_minutes)
            .ok()
            .filter(|m| *m <= 7 * 24 * 60)
            .ok_or_else(|| DomainError::invalid("minNoticeMinutes", "0 to 10080 minutes"))?;
        let horizon_days = u32::try_from(horizon_days)
            .ok()
            .filter(|d| (1..=365).contains(d))
            .ok_or_else(|| DomainError::invalid("horizonDays", "1 to 365 days"))?;
        Ok(Self {
            min_notice_minutes,
            horizon_days,
        })
    }
}

/// An active appointment occupying a provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Booked {
    /// The provider.
    pub provider: ProviderId,
    /// Start.
    pub starts_at: DateTime<Utc>,
    /// End (exclusive).
    pub ends_at: DateTime<Utc>,
}

/// A bookable slot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slot {
    /// Start.
    pub starts_at: DateTime<Utc>,
    /// End (exclusive).
    pub ends_at: DateTime<Utc>,
    /// The service.
    pub service: LegalService,
    /// The providers free for all of it (sorted).
    pub free: Vec<ProviderId>,
    /// The rule it comes from.
    pub rule: Option<RuleId>,
}

/// Active appointments per provider, sorted by start: a slot asks about one provider's
/// neighbourhood with a binary search instead of walking a year of bookings.
#[derive(Debug, Default)]
pub struct Occupancy(HashMap<ProviderId, Vec<Span>>);

/// A time range `[start, end)`.
type Span = (DateTime<Utc>, DateTime<Utc>);

impl Occupancy {
    /// The occupancy of `booked`.
    pub fn new(booked: impl IntoIterator<Item = Booked>) -> Self {
        let mut map: HashMap<ProviderId, Vec<Span>> = HashMap::new();
        for b in booked {
            map.entry(b.provider)
                .or_default()
                .push((b.starts_at, b.ends_at));
        }
        for v in map.values_mut() {
            v.sort();
        }
        Self(map)
    }

    /// Whether `provider` is free for all of `[start, end)`.
    pub fn is_free(&self, provider: ProviderId, start: DateTime<Utc>, end: DateTime<Utc>) -> bool {
        let Some(list) = self.0.get(&provider) else {
            return true;
        };
        // Appointments never overlap each other, so those starting before `end` are sorted
        // by end too: only the last of them can reach into the slot.
        let before_end = list.partition_point(|(s, _)| *s < end);
        before_end == 0 || list[before_end - 1].1 <= start
    }
}

/// The slots the sittings of `service` give, in time order.
pub fn cut(sittings: &[Sitting], service: LegalService) -> Vec<Slot> {
    let mut out = Vec::new();
    for s in sittings.iter().filter(|s| s.service == service) {
        let len = Duration::minutes(i64::from(s.shape.slot_minutes));
        let step = len + Duration::minutes(i64::from(s.shape.buffer_minutes));
        let mut t = s.starts_at;
        while t + len <= s.ends_at {
            out.push(Slot {
                starts_at: t,
                ends_at: t + len,
                service,
                free: s.providers.clone(),
                rule: s.rule,
            });
            t += step;
        }
    }
    out.sort_by_key(|s| s.starts_at);
    out
}

/// What a day's limit counts: active appointments of a service at the station on a date.
pub type DayCounts = HashMap<(NaiveDate, LegalService), u32>;

/// The bookable slots: the sittings of `service` cut into slots, with each slot's free
/// providers, inside the policy as of `now`, on days below their limit.
pub fn open_slots(
    sittings: &[Sitting],
    service: LegalService,
    occupancy: &Occupancy,
    counts: &DayCounts,
    policy: Policy,
    now: DateTime<Utc>,
) -> Vec<Slot> {
    let earliest = now + Duration::minutes(i64::from(policy.min_notice_minutes));
    let latest = now + Duration::days(i64::from(policy.horizon_days));
    let full: Vec<NaiveDate> = sittings
        .iter()
        .filter(|s| s.service == service)
        .filter(|s| {
            s.daily_limit
                .is_some_and(|l| counts.get(&(s.date, service)).copied().unwrap_or(0) >= l)
        })
        .map(|s| s.date)
        .collect();
    cut(sittings, service)
        .into_iter()
        .filter(|slot| slot.starts_at >= earliest && slot.starts_at < latest)
        .filter(|slot| !full.contains(&super::roster::local_date(slot.starts_at)))
        .filter_map(|mut slot| {
            slot.free
                .retain(|p| occupancy.is_free(*p, slot.starts_at, slot.ends_at));
            (!slot.free.is_empty()).then_some(slot)
        })
        .collect()
}

/// Why `start` cannot be booked, checked in the order a person would want to hear it; `Ok`
/// with the slot when it can.
pub fn bookable(
    sittings: &[Sitting],
    service: LegalService,
    start: DateTime<Utc>,
    occupancy: &Occupancy,
    counts: &DayCounts,
    policy: Policy,
    now: DateTime<Utc>,
) -> Result<Slot, DomainError> {
    if start <= now {
        return Err(DomainError::invalid("startsAt", "the slot is in the past"));
    }
    if start < now + Duration::minutes(i64::from(policy.min_notice_minutes)) {
        return Err(DomainError::invalid(
            "startsAt",
            format!("book at least {} minutes ahead", policy.min_notice_minutes),
        ));
    }
    if start >= now + Duration::days(i64::from(policy.horizon_days)) {
        return Err(DomainError::invalid(
            "startsAt",
            format!("book at most {} days ahead", policy.horizon_days),
        ));
    }
    let date = super::roster::local_date(start);
    if !sittings.iter().any(|s| s.date == date) {
        return Err(DomainError::invalid(
            "startsAt",
            "the station is closed that day",
        ));
    }
    if !cut(sittings, service).iter().any(|s| s.starts_at == start) {
        return Err(DomainError::invalid(
            "startsAt",
            "not the start of a slot of that service on the roster",
        ));
    }
    let open = open_slots(sittings, service, occupancy, counts, policy, now);
    if let Some(slot) = open.into_iter().find(|s| s.starts_at == start) {
        return Ok(slot);
    }
    if sittings.iter().any(|s| {
        s.date == date
            && s.service == service
            && s.daily_limit
                .is_some_and(|l| counts.get(&(date, service)).copied().unwrap_or(0) >= l)
    }) {
        return Err(DomainError::Conflict(
            "the day's booking limit for that service is reached".to_owned(),
        ));
    }
    Err(DomainError::Conflict("the slot is taken".to_owned()))
}
