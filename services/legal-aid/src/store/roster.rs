//! Roster rules, exceptions and the holiday calendar, with their parsing into the domain.

use chrono::{NaiveDate, Weekday};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};
use tongxin_platform::db::{DbError, classify};
use uuid::Uuid;

use crate::domain::calendar::{CalendarDay, DayKind};
use crate::domain::roster::{Exception, ExceptionKind, Rule, SlotShape, Window};
use crate::domain::{LegalService, ProviderId, RuleId, StationId};
use crate::error::LegalAidError;

use super::corrupt;

/// The `roster_rules` table.
pub mod rule {
    use sea_orm::entity::prelude::*;

    /// One weekly rule.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "roster_rules")]
    pub struct Model {
        /// Its id.
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        /// The station.
        pub station_id: Uuid,
        /// 1 = Monday … 7 = Sunday.
        pub weekday: i16,
        /// `HH:MM`.
        pub start_time: String,
        /// `HH:MM`.
        pub end_time: String,
        /// Service code.
        pub service: String,
        /// JSON list of provider ids.
        pub provider_ids: String,
        /// Slot length.
        pub slot_minutes: i32,
        /// Buffer after a slot.
        pub buffer_minutes: i32,
        /// Daily limit.
        pub daily_limit: Option<i32>,
        /// Created.
        pub created_at: ChronoDateTimeUtc,
    }

    /// No relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// The `roster_exceptions` table.
pub mod exception {
    use sea_orm::entity::prelude::*;

    /// One date exception.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "roster_exceptions")]
    pub struct Model {
        /// Its id.
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        /// The station.
        pub station_id: Uuid,
        /// The date.
        pub date: Date,
        /// `closed`, `extra_opening` or `provider_away`.
        pub kind: String,
        /// Extra opening: `HH:MM`.
        pub start_time: Option<String>,
        /// Extra opening: `HH:MM`.
        pub end_time: Option<String>,
        /// Extra opening: service code.
        pub service: Option<String>,
        /// JSON list of provider ids (extra opening: who sits; away: who is away).
        pub provider_ids: String,
        /// Extra opening: slot length.
        pub slot_minutes: Option<i32>,
        /// Extra opening: buffer.
        pub buffer_minutes: Option<i32>,
        /// Why.
        pub note: String,
        /// Created.
        pub created_at: ChronoDateTimeUtc,
    }

    /// No relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// The `calendar_days` table.
pub mod calendar_day {
    use sea_orm::entity::prelude::*;

    /// A holiday or make-up working day.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "calendar_days")]
    pub struct Model {
        /// The date.
        #[sea_orm(primary_key, auto_increment = false)]
        pub date: Date,
        /// `holiday` or `workday`.
        pub kind: String,
        /// Workday: the weekday followed, 1 = Monday.
        pub follows: Option<i16>,
        /// Name.
        pub name: String,
    }

    /// No relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// 1 = Monday … 7 = Sunday.
pub fn weekday_number(day: Weekday) -> i16 {
    i16::try_from(day.number_from_monday()).unwrap_or(1)
}

/// The weekday of a stored number.
pub fn weekday_of(n: i16) -> Option<Weekday> {
    match n {
        1 => Some(Weekday::Mon),
        2 => Some(Weekday::Tue),
        3 => Some(Weekday::Wed),
        4 => Some(Weekday::Thu),
        5 => Some(Weekday::Fri),
        6 => Some(Weekday::Sat),
        7 => Some(Weekday::Sun),
        _ => None,
    }
}

/// Provider ids as stored.
pub fn ids_to_json(ids: &[ProviderId]) -> String {
    let ids: Vec<String> = ids.iter().map(ToString::to_string).collect();
    serde_json::to_string(&ids).unwrap_or_else(|_| "[]".to_owned())
}

fn ids_from_json(json: &str) -> Option<Vec<ProviderId>> {
    let ids: Vec<Uuid> = serde_json::from_str(json).ok()?;
    Some(ids.into_iter().map(ProviderId).collect())
}

fn shape(slot: i32, buffer: i32) -> Result<SlotShape, LegalAidError> {
    SlotShape::parse(i64::from(slot), i64::from(buffer)).map_err(|_| corrupt("slot shape"))
}

/// A stored rule, parsed.
pub fn parse_rule(m: rule::Model) -> Result<Rule, LegalAidError> {
    Ok(Rule {
        id: RuleId(m.id),
        station: StationId(m.station_id),
        weekday: weekday_of(m.weekday).ok_or_else(|| corrupt("weekday"))?,
        window: Window::parse(&m.start_time, &m.end_time).map_err(|_| corrupt("window"))?,
        service: LegalService::from_code(&m.service).ok_or_else(|| corrupt("service"))?,
        providers: ids_from_json(&m.provider_ids).ok_or_else(|| corrupt("provider ids"))?,
        shape: shape(m.slot_minutes, m.buffer_minutes)?,
        daily_limit: m
            .daily_limit
            .map(|l| u32::try_from(l).map_err(|_| corrupt("daily limit")))
            .transpose()?,
    })
}

/// A stored exception, parsed.
pub fn parse_exception(m: exception::Model) -> Result<Exception, LegalAidError> {
    let ids = ids_from_json(&m.provider_ids).ok_or_else(|| corrupt("provider ids"))?;
    let kind = match m.kind.as_str() {
        "closed" => ExceptionKind::Closed,
        "provider_away" => ExceptionKind::ProviderAway {
            provider: *ids.first().ok_or_else(|| corrupt("away provider"))?,
        },
        "extra_opening" => ExceptionKind::ExtraOpening {
            window: Window::parse(
                m.start_time.as_deref().unwrap_or_default(),
                m.end_time.as_deref().unwrap_or_default(),
            )
            .map_err(|_| corrupt("window"))?,
            service: m
                .service
                .as_deref()
                .and_then(LegalService::from_code)
                .ok_or_else(|| corrupt("service"))?,
            providers: ids,
            shape: shape(
                m.slot_minutes.unwrap_or_default(),
                m.buffer_minutes.unwrap_or_default(),
            )?,
        },
        _ => return Err(corrupt("exception kind")),
    };
    Ok(Exception { date: m.date, kind })
}

/// A stored calendar day, parsed.
pub fn parse_day(m: calendar_day::Model) -> Result<CalendarDay, LegalAidError> {
    let kind = match (m.kind.as_str(), m.follows) {
        ("holiday", _) => DayKind::Holiday,
        ("workday", Some(n)) => DayKind::Workday {
            follows: weekday_of(n).ok_or_else(|| corrupt("weekday"))?,
        },
        _ => return Err(corrupt("calendar day")),
    };
    Ok(CalendarDay {
        date: m.date,
        kind,
        name: m.name,
    })
}

/// The rules of `station`.
pub async fn rules_of<C: ConnectionTrait>(
    conn: &C,
    station: Uuid,
) -> Result<Vec<rule::Model>, DbError> {
    rule::Entity::find()
        .filter(rule::Column::StationId.eq(station))
        .order_by_asc(rule::Column::Weekday)
        .order_by_asc(rule::Column::StartTime)
        .all(conn)
        .await
        .map_err(classify)
}

/// Every rule on `weekday` (a provider's overlaps are checked across stations).
pub async fn rules_on<C: ConnectionTrait>(
    conn: &C,
    weekday: Weekday,
) -> Result<Vec<rule::Model>, DbError> {
    rule::Entity::find()
        .filter(rule::Column::Weekday.eq(weekday_number(weekday)))
        .all(conn)
        .await
        .map_err(classify)
}

/// The exceptions of `station` from `from` to `to` (inclusive).
pub async fn exceptions_of<C: ConnectionTrait>(
    conn: &C,
    station: Uuid,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<exception::Model>, DbError> {
    exception::Entity::find()
        .filter(exception::Column::StationId.eq(station))
        .filter(exception::Column::Date.between(from, to))
        .order_by_asc(exception::Column::Date)
        .all(conn)
        .await
        .map_err(classify)
}

/// The calendar days from `from` to `to` (inclusive).
pub async fn calendar_between<C: ConnectionTrait>(
    conn: &C,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<calendar_day::Model>, DbError> {
    calendar_day::Entity::find()
        .filter(calendar_day::Column::Date.between(from, to))
        .order_by_asc(calendar_day::Column::Date)
        .all(conn)
        .await
        .map_err(classify)
}
