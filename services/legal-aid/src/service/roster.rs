//! Roster rules, exceptions, the holiday calendar, the computed roster and the free slots.

use chrono::{DateTime, Duration, NaiveDate, Utc, Weekday};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveValue::Set, EntityTrait, ModelTrait};
use tongxin_platform::auth::Role;
use tongxin_platform::db::classify;
use uuid::Uuid;

use super::{Caller, LegalAid};
use crate::domain::appointment::Station;
use crate::domain::calendar::{Calendar, CalendarDay, DayKind};
use crate::domain::roster::{
    self as rules, Exception, ExceptionKind, Rule, Sitting, SlotShape, Window, local_date, staffing,
};
use crate::domain::slots::{self, DayCounts, Occupancy, Slot};
use crate::domain::{DomainError, LegalService, ProviderId, RuleId, StationId, optional_text};
use crate::error::LegalAidError;
use crate::store::roster::{
    self as store, calendar_day, exception, ids_to_json, parse_day, parse_exception, parse_rule,
    rule, weekday_number,
};
use crate::store::{appointments, stations as station_store};

/// The longest range `dutyRoster` computes.
pub const MAX_ROSTER_DAYS: i64 = 62;
/// The longest range `availableSlots` computes.
pub const MAX_SLOT_DAYS: i64 = 31;

/// A weekly rule to add.
#[derive(Debug, Clone)]
pub struct NewRule {
    /// The weekday.
    pub weekday: Weekday,
    /// `HH:MM`.
    pub start: String,
    /// `HH:MM`.
    pub end: String,
    /// The service.
    pub service: LegalService,
    /// One provider or a pool.
    pub providers: Vec<ProviderId>,
    /// Slot length.
    pub slot_minutes: i64,
    /// Buffer after each slot.
    pub buffer_minutes: i64,
    /// Daily limit of appointments of the service.
    pub daily_limit: Option<i64>,
}

/// A date exception to add.
#[derive(Debug, Clone)]
pub struct NewException {
    /// The date.
    pub date: NaiveDate,
    /// What changes (an extra opening's rule fields come from `opening`).
    pub kind: ExceptionKindInput,
    /// Why.
    pub note: String,
}

/// What an exception does, as given.
#[derive(Debug, Clone)]
pub enum ExceptionKindInput {
    /// Closed all day.
    Closed,
    /// Open beyond the rules.
    ExtraOpening(NewRule),
    /// A provider away.
    ProviderAway(ProviderId),
}

/// One day of the computed roster.
#[derive(Debug, Clone)]
pub struct RosterDay {
    /// The date.
    pub date: NaiveDate,
    /// The holiday or make-up working day, when the calendar names one.
    pub calendar: Option<CalendarDay>,
    /// Whether an exception closed the station.
    pub closed: bool,
    /// Who sits when.
    pub sittings: Vec<Sitting>,
}

/// What computing a station's roster over some dates needs.
pub(crate) struct RosterInputs {
    pub(crate) rules: Vec<Rule>,
    pub(crate) exceptions: Vec<Exception>,
    pub(crate) calendar: Calendar,
}

impl RosterInputs {
    pub(crate) fn sittings(&self, from: NaiveDate, to: NaiveDate) -> Vec<Sitting> {
        rules::sittings(&self.rules, &self.exceptions, &self.calendar, from, to)
    }
}

fn date_range(from: NaiveDate, to: NaiveDate, max: i64) -> Result<(), DomainError> {
    if to < from {
        return Err(DomainError::invalid("to", "must not be before from"));
    }
    if (to - from).num_days() >= max {
        return Err(DomainError::invalid("to", format!("at most {max} days")));
    }
    Ok(())
}

impl LegalAid {
    pub(crate) async fn roster_inputs(
        &self,
        station: StationId,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<RosterInputs, LegalAidError> {
        let rules = store::rules_of(&self.db, station.0)
            .await?
            .into_iter()
            .map(parse_rule)
            .collect::<Result<_, _>>()?;
        let exceptions = store::exceptions_of(&self.db, station.0, from, to)
            .await?
            .into_iter()
            .map(parse_exception)
            .collect::<Result<_, _>>()?;
        let days: Vec<CalendarDay> = store::calendar_between(&self.db, from, to)
            .await?
            .into_iter()
            .map(parse_day)
            .collect::<Result<_, _>>()?;
        Ok(RosterInputs {
            rules,
            exceptions,
            calendar: Calendar::new(days),
        })
    }

    async fn check_providers(
        &self,
        station: &Station,
        providers: &[ProviderId],
        service: LegalService,
    ) -> Result<(), LegalAidError> {
        let serving = station_store::provider_ids_of(&self.db, station.id.0).await?;
        for p in self.providers(providers).await? {
            if !p.services.contains(&service) {
                return Err(DomainError::invalid(
                    "providerIds",
                    "a provider does not give that service",
                )
                .into());
            }
        }
        if providers.iter().any(|p| !serving.contains(&p.0)) {
            return Err(
                DomainError::NotFound("no such provider at this station".to_owned()).into(),
            );
        }
        if !station.services.contains(&service) {
            return Err(
                DomainError::invalid("service", "the station does not offer that service").into(),
            );
        }
        Ok(())
    }

    fn parse_rule_input(
        station: StationId,
        id: RuleId,
        new: &NewRule,
    ) -> Result<Rule, DomainError> {
        let daily_limit = match new.daily_limit {
            None => None,
            Some(l) => Some(
                u32::try_from(l)
                    .ok()
                    .filter(|l| *l >= 1)
                    .ok_or_else(|| DomainError::invalid("dailyLimit", "at least 1"))?,
            ),
        };
        Ok(Rule {
            id,
            station,
            weekday: new.weekday,
            window: Window::parse(&new.start, &new.end)?,
            service: new.service,
            providers: staffing(new.providers.clone())?,
            shape: SlotShape::parse(new.slot_minutes, new.buffer_minutes)?,
            daily_limit,
        })
    }

    /// Adds a weekly rule to a station the caller manages.
    #[tracing::instrument(skip_all, fields(station = %station))]
    pub async fn add_rule(
        &self,
        caller: &Caller,
        station: StationId,
        new: NewRule,
    ) -> Result<Rule, LegalAidError> {
        let station = self.station(station).await?;
        caller.must_manage(&station)?;
        let rule = Self::parse_rule_input(station.id, RuleId(Uuid::now_v7()), &new)?;
        self.check_providers(&station, &rule.providers, rule.service)
            .await?;
        let same_day: Vec<Rule> = store::rules_on(&self.db, rule.weekday)
            .await?
            .into_iter()
            .map(parse_rule)
            .collect::<Result<_, _>>()?;
        rule.check_against(&same_day)?;
        rule::Entity::insert(rule::ActiveModel {
            id: Set(rule.id.0),
            station_id: Set(station.id.0),
            weekday: Set(weekday_number(rule.weekday)),
            start_time: Set(rule.window.start.format("%H:%M").to_string()),
            end_time: Set(rule.window.end.format("%H:%M").to_string()),
            service: Set(rule.service.code().to_owned()),
            provider_ids: Set(ids_to_json(&rule.providers)),
            slot_minutes: Set(i32::try_from(rule.shape.slot_minutes).unwrap_or(1)),
            buffer_minutes: Set(i32::try_from(rule.shape.buffer_minutes).unwrap_or(0)),
            daily_limit: Set(rule.daily_limit.and_then(|l| i32::try_from(l).ok())),
            created_at: Set(self.now()),
        })
        .exec_without_returning(&self.db)
        .await
        .map_err(classify)?;
        Ok(rule)
    }

    /// Removes a weekly rule (appointments already booked stay).
    pub async fn remove_rule(&self, caller: &Caller, id: RuleId) -> Result<(), LegalAidError> {
        let row = rule::Entity::find_by_id(id.0)
            .one(&self.db)
            .await
            .map_err(classify)?
            .ok_or_else(|| DomainError::NotFound("no such roster rule".to_owned()))?;
        caller.must_manage(&self.station(StationId(row.station_id)).await?)?;
        row.delete(&self.db).await.map_err(classify)?;
        Ok(())
    }

    /// The weekly rules of a station.
    pub async fn rules(&self, station: StationId) -> Result<Vec<Rule>, LegalAidError> {
        self.station(station).await?;
        store::rules_of(&self.db, station.0)
            .await?
            .into_iter()
            .map(parse_rule)
            .collect()
    }

    /// Adds a date exception to a station the caller manages.
    #[tracing::instrument(skip_all, fields(station = %station))]
    pub async fn add_exception(
        &self,
        caller: &Caller,
        station: StationId,
        new: NewException,
    ) -> Result<Exception, LegalAidError> {
        let station = self.station(station).await?;
        caller.must_manage(&station)?;
        let note = optional_text(&new.note, "note", 200)?;
        let mut row = exception::ActiveModel {
            id: Set(Uuid::now_v7()),
            station_id: Set(station.id.0),
            date: Set(new.date),
            kind: Set(String::new()),
            start_time: Set(None),
            end_time: Set(None),
            service: Set(None),
            provider_ids: Set("[]".to_owned()),
            slot_minutes: Set(None),
            buffer_minutes: Set(None),
            note: Set(note),
            created_at: Set(self.now()),
        };
        let kind = match &new.kind {
            ExceptionKindInput::Closed => {
                row.kind = Set("closed".to_owned());
                ExceptionKind::Closed
            }
            ExceptionKindInput::ProviderAway(p) => {
                let serving = station_store::provider_ids_of(&self.db, station.id.0).await?;
                if !serving.contains(&p.0) {
                    return Err(DomainError::NotFound(
                        "no such provider at this station".to_owned(),
                    )
                    .into());
                }
                row.kind = Set("provider_away".to_owned());
                row.provider_ids = Set(ids_to_json(&[*p]));
                ExceptionKind::ProviderAway { provider: *p }
            }
            ExceptionKindInput::ExtraOpening(opening) => {
                let r = Self::parse_rule_input(station.id, RuleId(Uuid::nil()), opening)?;
                self.check_providers(&station, &r.providers, r.service)
                    .await?;
                row.kind = Set("extra_opening".to_owned());
                row.start_time = Set(Some(r.window.start.format("%H:%M").to_string()));
                row.end_time = Set(Some(r.window.end.format("%H:%M").to_string()));
                row.service = Set(Some(r.service.code().to_owned()));
                row.provider_ids = Set(ids_to_json(&r.providers));
                row.slot_minutes = Set(i32::try_from(r.shape.slot_minutes).ok());
                row.buffer_minutes = Set(i32::try_from(r.shape.buffer_minutes).ok());
                ExceptionKind::ExtraOpening {
                    window: r.window,
                    service: r.service,
                    providers: r.providers,
                    shape: r.shape,
                }
            }
        };
        exception::Entity::insert(row)
            .exec_without_returning(&self.db)
            .await
            .map_err(classify)?;
        Ok(Exception {
            date: new.date,
            kind,
        })
    }

    /// Sets (or replaces) a day of the district-wide holiday calendar; admins only.
    pub async fn set_calendar_day(
        &self,
        caller: &Caller,
        day: CalendarDay,
    ) -> Result<CalendarDay, LegalAidError> {
        if !caller.principal.has_role(Role::Admin) {
            return Err(DomainError::Forbidden(
                "only admins maintain the holiday calendar".to_owned(),
            )
            .into());
        }
        let (kind, follows) = match day.kind {
            DayKind::Holiday => ("holiday", None),
            DayKind::Workday { follows } => ("workday", Some(weekday_number(follows))),
        };
        calendar_day::Entity::insert(calendar_day::ActiveModel {
            date: Set(day.date),
            kind: Set(kind.to_owned()),
            follows: Set(follows),
            name: Set(day.name.clone()),
        })
        .on_conflict(
            OnConflict::column(calendar_day::Column::Date)
                .update_columns([
                    calendar_day::Column::Kind,
                    calendar_day::Column::Follows,
                    calendar_day::Column::Name,
                ])
                .to_owned(),
        )
        .exec_without_returning(&self.db)
        .await
        .map_err(classify)?;
        Ok(day)
    }

    /// Removes a day from the calendar (it becomes a plain day); admins only.
    pub async fn remove_calendar_day(
        &self,
        caller: &Caller,
        date: NaiveDate,
    ) -> Result<bool, LegalAidError> {
        if !caller.principal.has_role(Role::Admin) {
            return Err(DomainError::Forbidden(
                "only admins maintain the holiday calendar".to_owned(),
            )
            .into());
        }
        let done = calendar_day::Entity::delete_by_id(date)
            .exec(&self.db)
            .await
            .map_err(classify)?;
        Ok(done.rows_affected > 0)
    }

    /// The calendar's special days from `from` to `to`.
    pub async fn calendar(
        &self,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<CalendarDay>, LegalAidError> {
        date_range(from, to, 800)?;
        store::calendar_between(&self.db, from, to)
            .await?
            .into_iter()
            .map(parse_day)
            .collect()
    }

    /// Who sits when at `station` from `from` to `to` (wall-clock dates, at most 62 days).
    #[tracing::instrument(skip_all, fields(station = %station))]
    pub async fn duty_roster(
        &self,
        station: StationId,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<RosterDay>, LegalAidError> {
        date_range(from, to, MAX_ROSTER_DAYS)?;
        self.station(station).await?;
        let inputs = self.roster_inputs(station, from, to).await?;
        let sittings = inputs.sittings(from, to);
        let mut days = Vec::new();
        let mut date = from;
        while date <= to {
            days.push(RosterDay {
                date,
                calendar: inputs.calendar.day(date).cloned(),
                closed: inputs
                    .exceptions
                    .iter()
                    .any(|e| e.date == date && e.kind == ExceptionKind::Closed),
                sittings: sittings
                    .iter()
                    .filter(|s| s.date == date)
                    .cloned()
                    .collect(),
            });
            match date.succ_opt() {
                Some(d) => date = d,
                None => break,
            }
        }
        Ok(days)
    }

    /// The free slots of `service` at `station` starting in `[from, to)` (at most 31 days).
    #[tracing::instrument(skip_all, fields(station = %station))]
    pub async fn available_slots(
        &self,
        station: StationId,
        service: LegalService,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<Slot>, LegalAidError> {
        if to <= from {
            return Err(DomainError::invalid("to", "must be after from").into());
        }
        if to - from > Duration::days(MAX_SLOT_DAYS) {
            return Err(DomainError::invalid("to", format!("at most {MAX_SLOT_DAYS} days")).into());
        }
        let station = self.station(station).await?;
        if !station.services.contains(&service) {
            return Err(
                DomainError::invalid("service", "the station does not offer that service").into(),
            );
        }
        let (first, last) = (local_date(from), local_date(to));
        let inputs = self.roster_inputs(station.id, first, last).await?;
        let sittings = inputs.sittings(first, last);
        let (occupancy, counts) = self.occupancy(&station, &sittings).await?;
        Ok(slots::open_slots(
            &sittings,
            service,
            &occupancy,
            &counts,
            station.policy,
            self.now(),
        )
        .into_iter()
        .filter(|s| s.starts_at >= from && s.starts_at < to)
        .collect())
    }

    /// Who is booked during `sittings`, and the day counts of the station's services.
    pub(crate) async fn occupancy(
        &self,
        station: &Station,
        sittings: &[Sitting],
    ) -> Result<(Occupancy, DayCounts), LegalAidError> {
        self.occupancy_on(&self.db, station, sittings, None).await
    }

    /// [`Self::occupancy`] on `conn`, leaving out appointment `except` (a reschedule).
    pub(crate) async fn occupancy_on<C: sea_orm::ConnectionTrait>(
        &self,
        conn: &C,
        station: &Station,
        sittings: &[Sitting],
        except: Option<(ProviderId, DateTime<Utc>)>,
    ) -> Result<(Occupancy, DayCounts), LegalAidError> {
        let (Some(first), Some(last)) = (
            sittings.iter().map(|s| s.starts_at).min(),
            sittings.iter().map(|s| s.ends_at).max(),
        ) else {
            return Ok((Occupancy::default(), DayCounts::new()));
        };
        let mut providers: Vec<ProviderId> =
            sittings.iter().flat_map(|s| s.providers.clone()).collect();
        providers.sort();
        providers.dedup();
        let booked = appointments::booked(conn, &providers, first, last)
            .await?
            .into_iter()
            .filter(|b| except != Some((b.provider, b.starts_at)));
        let mut counts = DayCounts::new();
        for (service, start) in
            appointments::station_starts(conn, station.id.0, first, last).await?
        {
            if except.is_some_and(|(_, s)| s == start) {
                continue;
            }
            if let Some(service) = LegalService::from_code(&service) {
                *counts.entry((local_date(start), service)).or_default() += 1;
            }
        }
        Ok((Occupancy::new(booked), counts))
    }
}
