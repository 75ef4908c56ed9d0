//! Appointments: the rows, the bookings that occupy providers, the day counts a daily limit
//! reads, and how the database's no-overlap refusal is recognised.

use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};
use tongxin_platform::db::{DbError, classify};
use uuid::Uuid;

use crate::domain::ProviderId;
use crate::domain::slots::Booked;

/// The `appointments` table.
pub mod appointment {
    use sea_orm::entity::prelude::*;

    /// One appointment (booked, or a walk-in checked in without one).
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "appointments")]
    pub struct Model {
        /// Its id.
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        /// The station.
        pub station_id: Uuid,
        /// The station's org unit (scope, federation reference).
        pub org_unit_id: Uuid,
        /// The provider; none for a walk-in nobody was assigned to.
        pub provider_id: Option<Uuid>,
        /// Service code.
        pub service: String,
        /// Start.
        pub starts_at: ChronoDateTimeUtc,
        /// End (exclusive).
        pub ends_at: ChronoDateTimeUtc,
        /// `booked`, `checked_in`, `cancelled` or `no_show`.
        pub status: String,
        /// The citizen's (or company contact's) subject.
        pub citizen: String,
        /// The topic, sealed.
        pub topic_cipher: Vec<u8>,
        /// JSON list of party names, sealed (for the conflict check).
        pub parties_cipher: Vec<u8>,
        /// Contact phone, sealed.
        pub phone_cipher: Option<Vec<u8>>,
        /// The booking's idempotency key (unique per citizen).
        pub idempotency_key: Option<String>,
        /// A walk-in without a booking.
        pub walk_in: bool,
        /// The order it serves.
        pub order_id: Option<Uuid>,
        /// Optimistic version, bumped by every change.
        pub version: i32,
        /// Created.
        pub created_at: ChronoDateTimeUtc,
        /// Last changed.
        pub updated_at: ChronoDateTimeUtc,
    }

    /// No relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// Statuses that occupy the provider (the ones the no-overlap guarantee covers).
pub const ACTIVE: [&str; 2] = ["booked", "checked_in"];

/// Whether `err` is the database refusing an overlapping appointment of one provider (the
/// PostgreSQL exclusion constraint or the SQLite trigger, both named
/// `appointments_no_overlap`).
pub fn is_overlap(err: &DbErr) -> bool {
    err.to_string().contains(crate::migration::NO_OVERLAP)
}

/// Whether `err` is PostgreSQL giving up one of two transactions that wait for each other
/// (`40P01`). Two bookings inserting overlapping ranges at once can each find the other's
/// uncommitted row under the exclusion constraint and wait on it; PostgreSQL then aborts one
/// of them, which should simply try again (it will then see the other's row).
pub fn is_deadlock(err: &DbErr) -> bool {
    use sea_orm::RuntimeErr;
    match err {
        DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e)) => e
            .as_database_error()
            .and_then(|d| d.code())
            .is_some_and(|c| c == "40P01"),
        _ => false,
    }
}

/// Appointments by id, one query.
pub async fn get_many<C: ConnectionTrait>(
    conn: &C,
    ids: &[Uuid],
) -> Result<Vec<appointment::Model>, DbError> {
    appointment::Entity::find()
        .filter(appointment::Column::Id.is_in(ids.iter().copied()))
        .all(conn)
        .await
        .map_err(classify)
}

/// The appointment `citizen` booked with `key`.
pub async fn by_key<C: ConnectionTrait>(
    conn: &C,
    citizen: &str,
    key: &str,
) -> Result<Option<appointment::Model>, DbError> {
    appointment::Entity::find()
        .filter(appointment::Column::Citizen.eq(citizen))
        .filter(appointment::Column::IdempotencyKey.eq(key))
        .one(conn)
        .await
        .map_err(classify)
}

/// The active appointments of `providers` overlapping `[from, to)`.
pub async fn booked<C: ConnectionTrait>(
    conn: &C,
    providers: &[ProviderId],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<Booked>, DbError> {
    let rows: Vec<(Option<Uuid>, DateTime<Utc>, DateTime<Utc>)> = appointment::Entity::find()
        .select_only()
        .column(appointment::Column::ProviderId)
        .column(appointment::Column::StartsAt)
        .column(appointment::Column::EndsAt)
        .filter(appointment::Column::ProviderId.is_in(providers.iter().map(|p| p.0)))
        .filter(appointment::Column::Status.is_in(ACTIVE))
        .filter(appointment::Column::StartsAt.lt(to))
        .filter(appointment::Column::EndsAt.gt(from))
        .into_tuple()
        .all(conn)
        .await
        .map_err(classify)?;
    Ok(rows
        .into_iter()
        .filter_map(|(p, s, e)| {
            p.map(|p| Booked {
                provider: ProviderId(p),
                starts_at: s,
                ends_at: e,
            })
        })
        .collect())
}

/// (service, start) of the active appointments at `station` starting in `[from, to)`: what
/// the daily limits count.
pub async fn station_starts<C: ConnectionTrait>(
    conn: &C,
    station: Uuid,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<(String, DateTime<Utc>)>, DbError> {
    appointment::Entity::find()
        .select_only()
        .column(appointment::Column::Service)
        .column(appointment::Column::StartsAt)
        .filter(appointment::Column::StationId.eq(station))
        .filter(appointment::Column::Status.is_in(ACTIVE))
        .filter(appointment::Column::StartsAt.gte(from))
        .filter(appointment::Column::StartsAt.lt(to))
        .into_tuple()
        .all(conn)
        .await
        .map_err(classify)
}

/// Which appointments a list shows.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Of this citizen.
    pub citizen: Option<String>,
    /// Of this provider.
    pub provider: Option<Uuid>,
    /// At these stations.
    pub stations: Option<Vec<Uuid>>,
    /// Starting at or after.
    pub from: Option<DateTime<Utc>>,
    /// Starting before.
    pub to: Option<DateTime<Utc>>,
}

/// Appointments matching `filter` by start then id, after the cursor `(start, id)`, at most
/// `limit + 1` (the extra one says whether there is more).
pub async fn list<C: ConnectionTrait>(
    conn: &C,
    filter: &Filter,
    after: Option<(DateTime<Utc>, Uuid)>,
    limit: u64,
) -> Result<Vec<appointment::Model>, DbError> {
    use appointment::Column as C;
    let mut q = appointment::Entity::find();
    if let Some(c) = &filter.citizen {
        q = q.filter(C::Citizen.eq(c.clone()));
    }
    if let Some(p) = filter.provider {
        q = q.filter(C::ProviderId.eq(p));
    }
    if let Some(s) = &filter.stations {
        q = q.filter(C::StationId.is_in(s.iter().copied()));
    }
    if let Some(f) = filter.from {
        q = q.filter(C::StartsAt.gte(f));
    }
    if let Some(t) = filter.to {
        q = q.filter(C::StartsAt.lt(t));
    }
    if let Some((start, id)) = after {
        q = q.filter(
            Condition::any().add(C::StartsAt.gt(start)).add(
                Condition::all()
                    .add(C::StartsAt.eq(start))
                    .add(C::Id.gt(id)),
            ),
        );
    }
    q.order_by_asc(C::StartsAt)
        .order_by_asc(C::Id)
        .limit(limit + 1)
        .all(conn)
        .await
        .map_err(classify)
}

/// A stored appointment, parsed (without its sealed fields).
pub fn parse(
    m: &appointment::Model,
) -> Result<crate::domain::appointment::Appointment, crate::error::LegalAidError> {
    use crate::domain::appointment::{Appointment, Status};
    use crate::domain::{AppointmentId, LegalService, StationId};
    Ok(Appointment {
        id: AppointmentId(m.id),
        station: StationId(m.station_id),
        unit: m.org_unit_id,
        provider: m.provider_id.map(ProviderId),
        service: LegalService::from_code(&m.service)
            .ok_or_else(|| super::corrupt("appointment service"))?,
        starts_at: m.starts_at,
        ends_at: m.ends_at,
        status: Status::from_code(&m.status).ok_or_else(|| super::corrupt("appointment status"))?,
        citizen: m.citizen.clone(),
        walk_in: m.walk_in,
        order: m.order_id,
        version: m.version,
    })
}
