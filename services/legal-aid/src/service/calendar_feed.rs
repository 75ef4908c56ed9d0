//! Each provider's appointments as an iCalendar feed (RFC 5545) their phone's calendar
//! subscribes to, at a secret URL they can rotate. The secret is the only credential a
//! calendar app can present, so it is long and random, and rotating it ends the old URL.
//! The feed shows service and topic (what the provider needs to prepare), never the
//! citizen's phone or party names.

use chrono::Duration;
use icalendar::{Calendar, Component, Event, EventLike};
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use tongxin_platform::db::classify;
use uuid::Uuid;

use super::{Caller, LegalAid};
use crate::domain::DomainError;
use crate::error::LegalAidError;
use crate::store::appointments::{self as store, ACTIVE, appointment};
use crate::store::stations::{self as station_store, provider};

/// The path the feed is served at, under the service's HTTP address.
pub fn feed_path(token: &str) -> String {
    format!("/legal-aid/calendar/{token}.ics")
}

impl LegalAid {
    /// A new secret for the calling provider's feed (the old URL stops working); returns
    /// the feed's path.
    pub async fn rotate_feed(&self, caller: &Caller) -> Result<String, LegalAidError> {
        let provider = caller.provider.ok_or_else(|| {
            DomainError::Forbidden(
                "only an account linked to a provider has a calendar feed".to_owned(),
            )
        })?;
        // Two random UUIDs: 244 random bits, URL-safe.
        let token = format!("{}{}", Uuid::new_v4().simple(), Uuid::new_v4().simple());
        provider::Entity::update(provider::ActiveModel {
            id: Set(provider.0),
            feed_token: Set(Some(token.clone())),
            ..Default::default()
        })
        .exec(&self.db)
        .await
        .map_err(classify)?;
        Ok(feed_path(&token))
    }

    /// The feed behind `token`: the provider's active appointments from 30 days ago to
    /// 180 days ahead; NOT_FOUND for an unknown (or rotated) token.
    pub async fn calendar_feed(&self, token: &str) -> Result<String, LegalAidError> {
        let not_found = || DomainError::NotFound("no such calendar".to_owned());
        if token.len() != 64 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(not_found().into());
        }
        let row = provider::Entity::find()
            .filter(provider::Column::FeedToken.eq(token))
            .one(&self.db)
            .await
            .map_err(classify)?
            .ok_or_else(not_found)?;
        let now = self.now();
        let rows = appointment::Entity::find()
            .filter(appointment::Column::ProviderId.eq(row.id))
            .filter(appointment::Column::Status.is_in(ACTIVE))
            .filter(appointment::Column::StartsAt.gte(now - Duration::days(30)))
            .filter(appointment::Column::StartsAt.lt(now + Duration::days(180)))
            .order_by_asc(appointment::Column::StartsAt)
            .all(&self.db)
            .await
            .map_err(classify)?;
        let mut ids: Vec<Uuid> = rows.iter().map(|r| r.station_id).collect();
        ids.sort();
        ids.dedup();
        let stations = station_store::stations(&self.db, &ids).await?;
        let mut calendar = Calendar::new();
        calendar.name(&format!("{} 值班预约", row.name));
        for r in &rows {
            let a = store::parse(r)?;
            let topic = self.cipher.decrypt(&r.topic_cipher)?;
            let station = stations.iter().find(|s| s.id == r.station_id);
            let mut event = Event::new();
            event
                .uid(&format!("{}@tongxin-legal-aid", a.id))
                .summary(&format!("{}: {}", service_label(a.service), topic))
                .starts(a.starts_at)
                .ends(a.ends_at);
            if let Some(s) = station {
                event.location(&format!("{} {}", s.name, s.address));
            }
            calendar.push(event.done());
        }
        Ok(calendar.done().to_string())
    }
}

fn service_label(service: crate::domain::LegalService) -> &'static str {
    use crate::domain::LegalService::*;
    match service {
        Consultation => "法律咨询",
        Mediation => "人民调解",
        LegalAidReferral => "法律援助指引",
        LegalAidCase => "法律援助承办",
        Notarization => "公证",
        HealthCheck => "法治体检",
        NeedsSurvey => "需求调查",
    }
}
