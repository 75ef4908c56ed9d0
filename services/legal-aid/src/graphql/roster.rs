//! The duty roster in GraphQL: rules, exceptions, the holiday calendar, `dutyRoster` and
//! `availableSlots`. The computed lists (`dutyRoster`, `availableSlots`,
//! `holidayCalendar`) are bounded by their date range rather than paged.

use async_graphql::connection::{Connection, EmptyFields, OpaqueCursor};
use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, NaiveDate, Utc, Weekday};

use super::station::{LegalServiceGql, ProviderLoader, ProviderNode};
use super::{caller, page_of, uuid_of};
use crate::domain::calendar::{CalendarDay, DayKind};
use crate::domain::roster::{Rule, Sitting};
use crate::domain::slots::Slot;
use crate::domain::{ProviderId, RuleId, StationId};
use crate::service::roster_input::{ExceptionKindInput, NewException, NewRule, RosterDay};

/// A day of the week.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(name = "Weekday")]
pub enum WeekdayGql {
    /// Monday.
    Monday,
    /// Tuesday.
    Tuesday,
    /// Wednesday.
    Wednesday,
    /// Thursday.
    Thursday,
    /// Friday.
    Friday,
    /// Saturday.
    Saturday,
    /// Sunday.
    Sunday,
}

impl From<WeekdayGql> for Weekday {
    fn from(w: WeekdayGql) -> Self {
        match w {
            WeekdayGql::Monday => Weekday::Mon,
            WeekdayGql::Tuesday => Weekday::Tue,
            WeekdayGql::Wednesday => Weekday::Wed,
            WeekdayGql::Thursday => Weekday::Thu,
            WeekdayGql::Friday => Weekday::Fri,
            WeekdayGql::Saturday => Weekday::Sat,
            WeekdayGql::Sunday => Weekday::Sun,
        }
    }
}

impl From<Weekday> for WeekdayGql {
    fn from(w: Weekday) -> Self {
        match w {
            Weekday::Mon => Self::Monday,
            Weekday::Tue => Self::Tuesday,
            Weekday::Wed => Self::Wednesday,
            Weekday::Thu => Self::Thursday,
            Weekday::Fri => Self::Friday,
            Weekday::Sat => Self::Saturday,
            Weekday::Sun => Self::Sunday,
        }
    }
}

async fn providers(
    ctx: &Context<'_>,
    ids: &[ProviderId],
) -> async_graphql::Result<Vec<ProviderNode>> {
    let loader = ctx.data::<async_graphql::dataloader::DataLoader<ProviderLoader>>()?;
    let found = loader.load_many(ids.iter().map(|p| p.0)).await?;
    Ok(ids
        .iter()
        .filter_map(|p| found.get(&p.0).cloned().map(ProviderNode))
        .collect())
}

/// A weekly duty rule.
pub struct RuleNode(pub Rule);

/// A weekly duty rule.
#[Object(name = "RosterRule")]
impl RuleNode {
    /// The rule id.
    async fn id(&self) -> ID {
        ID(self.0.id.0.to_string())
    }
    /// The weekday (a make-up working day follows the weekday the calendar names).
    async fn weekday(&self) -> WeekdayGql {
        self.0.weekday.into()
    }
    /// Start of the window, `HH:MM` in Asia/Shanghai.
    async fn start(&self) -> String {
        self.0.window.start.format("%H:%M").to_string()
    }
    /// End of the window, `HH:MM` in Asia/Shanghai.
    async fn end(&self) -> String {
        self.0.window.end.format("%H:%M").to_string()
    }
    /// The service offered.
    async fn service(&self) -> LegalServiceGql {
        self.0.service.into()
    }
    /// One provider, or the pool bookings are assigned from round-robin.
    async fn providers(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<ProviderNode>> {
        providers(ctx, &self.0.providers).await
    }
    /// Slot length in minutes.
    async fn slot_minutes(&self) -> u32 {
        self.0.shape.slot_minutes
    }
    /// Minutes between two slots.
    async fn buffer_minutes(&self) -> u32 {
        self.0.shape.buffer_minutes
    }
    /// At most this many appointments of the service at the station on one day.
    async fn daily_limit(&self) -> Option<u32> {
        self.0.daily_limit
    }
}

/// One sitting of the computed roster: who sits when.
pub struct SittingNode(pub Sitting);

/// One sitting of the computed roster: who sits when.
#[Object(name = "RosterSitting")]
impl SittingNode {
    /// Start (UTC).
    async fn starts_at(&self) -> DateTime<Utc> {
        self.0.starts_at
    }
    /// End (UTC).
    async fn ends_at(&self) -> DateTime<Utc> {
        self.0.ends_at
    }
    /// The service offered.
    async fn service(&self) -> LegalServiceGql {
        self.0.service.into()
    }
    /// Who sits (providers away removed).
    async fn providers(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<ProviderNode>> {
        providers(ctx, &self.0.providers).await
    }
    /// Whether it is an extra opening rather than a weekly rule.
    async fn extra(&self) -> bool {
        self.0.rule.is_none()
    }
}

/// A special day of the district-wide holiday calendar.
#[derive(SimpleObject)]
#[graphql(name = "HolidayCalendarDay")]
pub struct CalendarDayNode {
    /// The date (Asia/Shanghai).
    pub date: NaiveDate,
    /// Whether it is a public holiday (no roster).
    pub holiday: bool,
    /// On a make-up working day (调休), the weekday whose roster applies.
    pub follows: Option<WeekdayGql>,
    /// The holiday's name, e.g. 国庆节.
    pub name: String,
}

impl From<CalendarDay> for CalendarDayNode {
    fn from(d: CalendarDay) -> Self {
        let (holiday, follows) = match d.kind {
            DayKind::Holiday => (true, None),
            DayKind::Workday { follows } => (false, Some(follows.into())),
        };
        Self {
            date: d.date,
            holiday,
            follows,
            name: d.name,
        }
    }
}

/// One day of a station's computed roster.
pub struct RosterDayNode(pub RosterDay);

/// One day of a station's computed roster.
#[Object(name = "RosterDay")]
impl RosterDayNode {
    /// The date (Asia/Shanghai).
    async fn date(&self) -> NaiveDate {
        self.0.date
    }
    /// The holiday or make-up working day, when the calendar names one.
    async fn calendar(&self) -> Option<CalendarDayNode> {
        self.0.calendar.clone().map(Into::into)
    }
    /// Whether an exception closed the station that day.
    async fn closed(&self) -> bool {
        self.0.closed
    }
    /// Who sits when, in time order.
    async fn sittings(&self) -> Vec<SittingNode> {
        self.0.sittings.iter().cloned().map(SittingNode).collect()
    }
}

/// A bookable slot.
pub struct SlotNode(pub Slot);

/// A bookable slot.
#[Object(name = "BookableSlot")]
impl SlotNode {
    /// Start (UTC); pass it to `bookAppointment`.
    async fn starts_at(&self) -> DateTime<Utc> {
        self.0.starts_at
    }
    /// End (UTC).
    async fn ends_at(&self) -> DateTime<Utc> {
        self.0.ends_at
    }
    /// The service.
    async fn service(&self) -> LegalServiceGql {
        self.0.service.into()
    }
    /// The providers free for all of it.
    async fn providers(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<ProviderNode>> {
        providers(ctx, &self.0.free).await
    }
}

/// Roster queries; any signed-in caller.
#[derive(Default)]
pub struct RosterQuery;

#[Object]
impl RosterQuery {
    /// A station's weekly rules, by weekday and start.
    async fn roster_rules(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The station id.")] station_id: ID,
        #[graphql(desc = "Cursor of the last rule already seen.")] after: Option<String>,
        #[graphql(desc = "Page size, 1 to 100 (default 50).")] first: Option<i32>,
    ) -> async_graphql::Result<Connection<OpaqueCursor<usize>, RuleNode, EmptyFields, EmptyFields>>
    {
        let (legal_aid, _) = caller(ctx).await?;
        let rules = legal_aid
            .rules(StationId(uuid_of(&station_id, "stationId")?))
            .await?;
        page_of(rules, after, first, RuleNode)
    }

    /// Who sits when at a station from `from` to `to` (dates in Asia/Shanghai, inclusive, at
    /// most 62 days), with the holidays and make-up working days of the calendar.
    async fn duty_roster(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The station id.")] station_id: ID,
        #[graphql(desc = "First date.")] from: NaiveDate,
        #[graphql(desc = "Last date (inclusive).")] to: NaiveDate,
    ) -> async_graphql::Result<Vec<RosterDayNode>> {
        let (legal_aid, _) = caller(ctx).await?;
        let days = legal_aid
            .duty_roster(StationId(uuid_of(&station_id, "stationId")?), from, to)
            .await?;
        Ok(days.into_iter().map(RosterDayNode).collect())
    }

    /// The free slots of a service at a station starting in `[from, to)` (at most 31 days),
    /// within the station's minimum notice and horizon, in time order.
    async fn available_slots(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The station id.")] station_id: ID,
        #[graphql(desc = "The service wanted.")] service: LegalServiceGql,
        #[graphql(desc = "Earliest start (UTC).")] from: DateTime<Utc>,
        #[graphql(desc = "Latest start (UTC, exclusive).")] to: DateTime<Utc>,
    ) -> async_graphql::Result<Vec<SlotNode>> {
        let (legal_aid, _) = caller(ctx).await?;
        let slots = legal_aid
            .available_slots(
                StationId(uuid_of(&station_id, "stationId")?),
                service.into(),
                from,
                to,
            )
            .await?;
        Ok(slots.into_iter().map(SlotNode).collect())
    }

    /// The holidays and make-up working days from `from` to `to` (inclusive).
    async fn holiday_calendar(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "First date.")] from: NaiveDate,
        #[graphql(desc = "Last date (inclusive).")] to: NaiveDate,
    ) -> async_graphql::Result<Vec<CalendarDayNode>> {
        let (legal_aid, _) = caller(ctx).await?;
        let days = legal_aid.calendar(from, to).await?;
        Ok(days.into_iter().map(Into::into).collect())
    }
}

/// A weekly rule (or an extra opening's sitting).
#[derive(InputObject)]
pub struct RosterRuleInput {
    /// The weekday (ignored for an extra opening, which has its date).
    #[graphql(default_with = "WeekdayGql::Monday")]
    pub weekday: WeekdayGql,
    /// Start, `HH:MM` in Asia/Shanghai.
    pub start: String,
    /// End, `HH:MM` in Asia/Shanghai; after the start.
    pub end: String,
    /// The service offered.
    pub service: LegalServiceGql,
    /// One provider, or a pool assigned round-robin.
    pub provider_ids: Vec<ID>,
    /// Slot length, 1 to 480 minutes.
    pub slot_minutes: i64,
    /// Minutes between two slots, 0 to 120.
    #[graphql(default)]
    pub buffer_minutes: i64,
    /// At most this many appointments of the service at the station on one day.
    pub daily_limit: Option<i64>,
}

impl RosterRuleInput {
    fn parse(self) -> async_graphql::Result<NewRule> {
        Ok(NewRule {
            weekday: self.weekday.into(),
            start: self.start,
            end: self.end,
            service: self.service.into(),
            providers: self
                .provider_ids
                .iter()
                .map(|p| uuid_of(p, "providerIds").map(ProviderId))
                .collect::<Result<_, _>>()?,
            slot_minutes: self.slot_minutes,
            buffer_minutes: self.buffer_minutes,
            daily_limit: self.daily_limit,
        })
    }
}

/// What a date exception does.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum RosterExceptionKind {
    /// Closed all day.
    Closed,
    /// Open beyond the rules (also on a holiday); `opening` says how.
    ExtraOpening,
    /// A provider is away that day; `providerId` says who.
    ProviderAway,
}

/// A date exception of one station.
#[derive(InputObject)]
pub struct RosterExceptionInput {
    /// The date (Asia/Shanghai).
    pub date: NaiveDate,
    /// What it does.
    pub kind: RosterExceptionKind,
    /// EXTRA_OPENING: the sitting.
    pub opening: Option<RosterRuleInput>,
    /// PROVIDER_AWAY: who.
    pub provider_id: Option<ID>,
    /// Why.
    #[graphql(default)]
    pub note: String,
}

/// A special day of the holiday calendar.
#[derive(InputObject)]
pub struct CalendarDayInput {
    /// The date (Asia/Shanghai).
    pub date: NaiveDate,
    /// Null for a public holiday; for a make-up working day (调休) the weekday whose roster
    /// applies (Monday to Friday).
    pub follows: Option<WeekdayGql>,
    /// The holiday's name, e.g. 国庆节.
    pub name: String,
}

/// Roster mutations: staff in the station's scope; the calendar: admins.
#[derive(Default)]
pub struct RosterMutation;

#[Object]
impl RosterMutation {
    /// Adds a weekly rule to a station.
    async fn add_roster_rule(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The station id.")] station_id: ID,
        #[graphql(desc = "The rule.")] input: RosterRuleInput,
    ) -> async_graphql::Result<RuleNode> {
        let (legal_aid, caller) = caller(ctx).await?;
        let rule = legal_aid
            .add_rule(
                &caller,
                StationId(uuid_of(&station_id, "stationId")?),
                input.parse()?,
            )
            .await?;
        Ok(RuleNode(rule))
    }

    /// Removes a weekly rule (booked appointments stay); true when done.
    async fn remove_roster_rule(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The rule id.")] id: ID,
    ) -> async_graphql::Result<bool> {
        let (legal_aid, caller) = caller(ctx).await?;
        legal_aid
            .remove_rule(&caller, RuleId(uuid_of(&id, "id")?))
            .await?;
        Ok(true)
    }

    /// Adds a date exception to a station; answers the day's roster after it.
    async fn add_roster_exception(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The station id.")] station_id: ID,
        #[graphql(desc = "The exception.")] input: RosterExceptionInput,
    ) -> async_graphql::Result<RosterDayNode> {
        let (legal_aid, caller) = caller(ctx).await?;
        let station = StationId(uuid_of(&station_id, "stationId")?);
        let kind = match input.kind {
            RosterExceptionKind::Closed => ExceptionKindInput::Closed,
            RosterExceptionKind::ProviderAway => {
                let id = input.provider_id.as_ref().ok_or_else(|| {
                    tongxin_platform::ApiError::bad_input("providerId: required for PROVIDER_AWAY")
                })?;
                ExceptionKindInput::ProviderAway(ProviderId(uuid_of(id, "providerId")?))
            }
            RosterExceptionKind::ExtraOpening => ExceptionKindInput::ExtraOpening(
                input
                    .opening
                    .ok_or_else(|| {
                        tongxin_platform::ApiError::bad_input("opening: required for EXTRA_OPENING")
                    })?
                    .parse()?,
            ),
        };
        legal_aid
            .add_exception(
                &caller,
                station,
                NewException {
                    date: input.date,
                    kind,
                    note: input.note,
                },
            )
            .await?;
        let mut days = legal_aid
            .duty_roster(station, input.date, input.date)
            .await?;
        let day = days
            .pop()
            .ok_or_else(|| tongxin_platform::ApiError::internal(&"empty roster day"))?;
        Ok(RosterDayNode(day))
    }

    /// Sets a day of the district-wide holiday calendar (admins).
    async fn set_calendar_day(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The day.")] input: CalendarDayInput,
    ) -> async_graphql::Result<CalendarDayNode> {
        let (legal_aid, caller) = caller(ctx).await?;
        let kind = match input.follows {
            None => DayKind::Holiday,
            Some(w) => DayKind::Workday { follows: w.into() },
        };
        let day = CalendarDay::parse(input.date, kind, &input.name)
            .map_err(crate::error::LegalAidError::from)?;
        Ok(legal_aid.set_calendar_day(&caller, day).await?.into())
    }

    /// Removes a day from the holiday calendar (admins); true when there was one.
    async fn remove_calendar_day(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The date.")] date: NaiveDate,
    ) -> async_graphql::Result<bool> {
        let (legal_aid, caller) = caller(ctx).await?;
        Ok(legal_aid.remove_calendar_day(&caller, date).await?)
    }
}
