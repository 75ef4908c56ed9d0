//! Stations and providers.

use sea_orm::{ActiveValue::Set, EntityTrait, TransactionTrait};
use tongxin_platform::db::classify;
use uuid::Uuid;

use super::{Caller, LegalAid};
use crate::domain::appointment::{Provider, Station};
use crate::domain::slots::Policy;
use crate::domain::{
    DomainError, LegalService, ProviderId, ProviderKind, StationId, optional_text, service_set,
    services_to_json, text,
};
use crate::error::LegalAidError;
use crate::store::known_units;
use crate::store::stations::{self as store, provider, provider_station, station};

/// A station to open.
#[derive(Debug, Clone)]
pub struct NewStation {
    /// The org unit it hangs on (known from venues).
    pub unit: Uuid,
    /// The venue it sits in.
    pub venue: Option<Uuid>,
    /// Name.
    pub name: String,
    /// Address.
    pub address: String,
    /// Opening hours as people read them.
    pub opening_hours: String,
    /// Public contact.
    pub contact: String,
    /// What it offers.
    pub services: Vec<LegalService>,
    /// Minimum notice for a booking, minutes.
    pub min_notice_minutes: i64,
    /// How far ahead one may book, days.
    pub horizon_days: i64,
}

/// A provider to register.
#[derive(Debug, Clone)]
pub struct NewProvider {
    /// Name.
    pub name: String,
    /// Kind.
    pub kind: ProviderKind,
    /// Office or firm.
    pub office: String,
    /// Licence number.
    pub licence_no: String,
    /// What they give.
    pub services: Vec<LegalService>,
    /// The stations they serve (each must be managed by the caller).
    pub stations: Vec<StationId>,
    /// The subject of the account to link (its token carries `legal_aid_provider`).
    pub account_subject: Option<String>,
}

impl LegalAid {
    /// Opens a station on a unit in the caller's scope.
    #[tracing::instrument(skip_all, fields(unit = %new.unit))]
    pub async fn create_station(
        &self,
        caller: &Caller,
        new: NewStation,
    ) -> Result<Station, LegalAidError> {
        let unit = known_units::get(&self.db, new.unit)
            .await?
            .ok_or_else(|| DomainError::NotFound("no such org unit".to_owned()))?;
        if !caller.manages(&unit.path) {
            return Err(DomainError::Forbidden(
                "only staff whose scope covers the unit may open a station there".to_owned(),
            )
            .into());
        }
        let policy = Policy::parse(new.min_notice_minutes, new.horizon_days)?;
        let services = service_set(new.services, "services")?;
        let row = station::ActiveModel {
            id: Set(Uuid::now_v7()),
            org_unit_id: Set(unit.id),
            org_unit_path: Set(unit.path.clone()),
            venue_id: Set(new.venue),
            name: Set(text(&new.name, "name", 200)?),
            address: Set(text(&new.address, "address", 400)?),
            opening_hours: Set(optional_text(&new.opening_hours, "openingHours", 200)?),
            contact: Set(optional_text(&new.contact, "contact", 200)?),
            services: Set(services_to_json(&services)),
            min_notice_minutes: Set(i32::try_from(policy.min_notice_minutes).unwrap_or(0)),
            horizon_days: Set(i32::try_from(policy.horizon_days).unwrap_or(1)),
            created_at: Set(self.now()),
            created_by: Set(caller.principal.subject.clone()),
        };
        let model = station::Entity::insert(row)
            .exec_with_returning(&self.db)
            .await
            .map_err(classify)?;
        store::parse_station(model)
    }

    /// Registers a provider serving stations the caller manages.
    #[tracing::instrument(skip_all)]
    pub async fn add_provider(
        &self,
        caller: &Caller,
        new: NewProvider,
    ) -> Result<Provider, LegalAidError> {
        if new.stations.is_empty() {
            return Err(DomainError::invalid("stationIds", "name at least one station").into());
        }
        for id in &new.stations {
            caller.must_manage(&self.station(*id).await?)?;
        }
        let services = service_set(new.services, "services")?;
        let subject = match new.account_subject.as_deref().map(str::trim) {
            Some("") | None => None,
            Some(s) => Some(text(s, "accountSubject", 200)?),
        };
        let id = Uuid::now_v7();
        let row = provider::ActiveModel {
            id: Set(id),
            name: Set(text(&new.name, "name", 100)?),
            kind: Set(new.kind.code().to_owned()),
            office: Set(optional_text(&new.office, "office", 200)?),
            licence_no: Set(optional_text(&new.licence_no, "licenceNo", 64)?),
            services: Set(services_to_json(&services)),
            account_subject: Set(subject),
            last_booked_at: Set(None),
            created_at: Set(self.now()),
            feed_token: Set(None),
        };
        let txn = self.db.begin().await.map_err(classify)?;
        let model = match provider::Entity::insert(row)
            .exec_with_returning(&txn)
            .await
        {
            Ok(m) => m,
            Err(e) if matches!(classify_ref(&e), Some(true)) => {
                return Err(DomainError::Conflict(
                    "that account is already linked to a provider".to_owned(),
                )
                .into());
            }
            Err(e) => return Err(classify(e).into()),
        };
        let mut stations = new.stations.clone();
        stations.sort();
        stations.dedup();
        for station in stations {
            provider_station::Entity::insert(provider_station::ActiveModel {
                provider_id: Set(id),
                station_id: Set(station.0),
            })
            .exec_without_returning(&txn)
            .await
            .map_err(classify)?;
        }
        txn.commit().await.map_err(classify)?;
        store::parse_provider(model)
    }

    /// Every station (a district has tens), by name.
    pub async fn stations(&self) -> Result<Vec<Station>, LegalAidError> {
        store::all_stations(&self.db)
            .await?
            .into_iter()
            .map(store::parse_station)
            .collect()
    }

    /// The providers serving `station`, by name.
    pub async fn providers_of(&self, station: StationId) -> Result<Vec<Provider>, LegalAidError> {
        self.station(station).await?;
        let ids = store::provider_ids_of(&self.db, station.0).await?;
        let mut list: Vec<Provider> = store::providers(&self.db, &ids)
            .await?
            .into_iter()
            .map(store::parse_provider)
            .collect::<Result<_, _>>()?;
        list.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id)));
        Ok(list)
    }

    /// Providers by id (loaders).
    pub async fn providers(&self, ids: &[ProviderId]) -> Result<Vec<Provider>, LegalAidError> {
        let ids: Vec<Uuid> = ids.iter().map(|p| p.0).collect();
        store::providers(&self.db, &ids)
            .await?
            .into_iter()
            .map(store::parse_provider)
            .collect()
    }
}

/// `Some(true)` when `err` is a unique violation (a linked account used twice).
fn classify_ref(err: &sea_orm::DbErr) -> Option<bool> {
    err.sql_err()
        .map(|e| matches!(e, sea_orm::SqlErr::UniqueConstraintViolation(_)))
}
