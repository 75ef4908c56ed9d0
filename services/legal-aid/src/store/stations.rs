//! Stations, providers and which stations each provider serves.

use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};
use tongxin_platform::db::{DbError, classify};
use uuid::Uuid;

/// The `stations` table.
pub mod station {
    use sea_orm::entity::prelude::*;

    /// One station.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "stations")]
    pub struct Model {
        /// Its id.
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        /// The org unit it hangs on.
        pub org_unit_id: Uuid,
        /// That unit's path (scope checks).
        pub org_unit_path: String,
        /// The venue it sits in, if named.
        pub venue_id: Option<Uuid>,
        /// Name.
        pub name: String,
        /// Address.
        pub address: String,
        /// Opening hours, as people read them.
        pub opening_hours: String,
        /// Public contact (the station's desk, not a person's).
        pub contact: String,
        /// JSON list of service codes.
        pub services: String,
        /// Booking policy: minimum notice.
        pub min_notice_minutes: i32,
        /// Booking policy: horizon.
        pub horizon_days: i32,
        /// Created.
        pub created_at: ChronoDateTimeUtc,
        /// By whom.
        pub created_by: String,
    }

    /// No relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// The `providers` table.
pub mod provider {
    use sea_orm::entity::prelude::*;

    /// One provider.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "providers")]
    pub struct Model {
        /// Its id.
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        /// Name.
        pub name: String,
        /// Kind code.
        pub kind: String,
        /// Office or firm.
        pub office: String,
        /// Licence number.
        pub licence_no: String,
        /// JSON list of service codes.
        pub services: String,
        /// The linked account's subject.
        pub account_subject: Option<String>,
        /// When a booking last assigned them (round-robin).
        pub last_booked_at: Option<ChronoDateTimeUtc>,
        /// Created.
        pub created_at: ChronoDateTimeUtc,
        /// The secret of their calendar feed.
        pub feed_token: Option<String>,
    }

    /// No relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// The `provider_stations` table.
pub mod provider_station {
    use sea_orm::entity::prelude::*;

    /// A provider serves a station.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "provider_stations")]
    pub struct Model {
        /// The provider.
        #[sea_orm(primary_key, auto_increment = false)]
        pub provider_id: Uuid,
        /// The station.
        #[sea_orm(primary_key, auto_increment = false)]
        pub station_id: Uuid,
    }

    /// No relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// Stations by id, one query.
pub async fn stations<C: ConnectionTrait>(
    conn: &C,
    ids: &[Uuid],
) -> Result<Vec<station::Model>, DbError> {
    station::Entity::find()
        .filter(station::Column::Id.is_in(ids.iter().copied()))
        .all(conn)
        .await
        .map_err(classify)
}

/// Every station, by name (a district has tens).
pub async fn all_stations<C: ConnectionTrait>(conn: &C) -> Result<Vec<station::Model>, DbError> {
    station::Entity::find()
        .order_by_asc(station::Column::Name)
        .order_by_asc(station::Column::Id)
        .all(conn)
        .await
        .map_err(classify)
}

/// Providers by id, one query.
pub async fn providers<C: ConnectionTrait>(
    conn: &C,
    ids: &[Uuid],
) -> Result<Vec<provider::Model>, DbError> {
    provider::Entity::find()
        .filter(provider::Column::Id.is_in(ids.iter().copied()))
        .all(conn)
        .await
        .map_err(classify)
}

/// The provider linked to account `subject`.
pub async fn provider_by_subject<C: ConnectionTrait>(
    conn: &C,
    subject: &str,
) -> Result<Option<provider::Model>, DbError> {
    provider::Entity::find()
        .filter(provider::Column::AccountSubject.eq(subject))
        .one(conn)
        .await
        .map_err(classify)
}

/// The ids of the providers serving `station`.
pub async fn provider_ids_of<C: ConnectionTrait>(
    conn: &C,
    station: Uuid,
) -> Result<Vec<Uuid>, DbError> {
    Ok(provider_station::Entity::find()
        .filter(provider_station::Column::StationId.eq(station))
        .all(conn)
        .await
        .map_err(classify)?
        .into_iter()
        .map(|r| r.provider_id)
        .collect())
}

/// The ids of the stations `provider` serves.
pub async fn station_ids_of<C: ConnectionTrait>(
    conn: &C,
    provider: Uuid,
) -> Result<Vec<Uuid>, DbError> {
    Ok(provider_station::Entity::find()
        .filter(provider_station::Column::ProviderId.eq(provider))
        .all(conn)
        .await
        .map_err(classify)?
        .into_iter()
        .map(|r| r.station_id)
        .collect())
}

/// A stored station, parsed.
pub fn parse_station(
    m: station::Model,
) -> Result<crate::domain::appointment::Station, crate::error::LegalAidError> {
    use crate::domain::slots::Policy;
    Ok(crate::domain::appointment::Station {
        id: crate::domain::StationId(m.id),
        unit: m.org_unit_id,
        unit_path: m.org_unit_path,
        venue: m.venue_id,
        name: m.name,
        address: m.address,
        opening_hours: m.opening_hours,
        contact: m.contact,
        services: crate::domain::services_from_json(&m.services)
            .ok_or_else(|| super::corrupt("station services"))?,
        policy: Policy::parse(i64::from(m.min_notice_minutes), i64::from(m.horizon_days))
            .map_err(|_| super::corrupt("booking policy"))?,
    })
}

/// A stored provider, parsed.
pub fn parse_provider(
    m: provider::Model,
) -> Result<crate::domain::appointment::Provider, crate::error::LegalAidError> {
    Ok(crate::domain::appointment::Provider {
        id: crate::domain::ProviderId(m.id),
        name: m.name,
        kind: crate::domain::ProviderKind::from_code(&m.kind)
            .ok_or_else(|| super::corrupt("provider kind"))?,
        office: m.office,
        licence_no: m.licence_no,
        services: crate::domain::services_from_json(&m.services)
            .ok_or_else(|| super::corrupt("provider services"))?,
        linked: m.account_subject.is_some(),
    })
}
