//! Consultation requests: orders of a legal category (法律咨询, 劳动纠纷调解 on the orders
//! menu) that staff dispatched to a station. The orders events bring them
//! ([`crate::events::consumers::orders`]); the order's own citizen books a slot for one
//! (`bookAppointment` with the order id, see [`super::booking`]), and the visit's outcome
//! ends it.
//!
//! Status flow: `requested` → `booked` (a slot is booked for it; cancelling that appointment
//! makes it `requested` again, and orders takes the order back to dispatched) → `done` (the
//! outcome was logged); `cancelled` when the citizen withdrew the order before that (a
//! booked slot is cancelled with it, see [`super::LegalAid::withdraw_order`]). Every change is a conditional update on the
//! status it leaves, so of two concurrent bookings for one request exactly one wins.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
};
use tongxin_platform::db::classify;
use uuid::Uuid;

use super::{Caller, LegalAid};
use crate::domain::{DomainError, LegalService, StationId};
use crate::error::LegalAidError;

/// The `consultation_requests` table.
pub mod request {
    use sea_orm::entity::prelude::*;

    /// An order waiting at a station.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "consultation_requests")]
    pub struct Model {
        /// The order (orders' id); one request per order.
        #[sea_orm(primary_key, auto_increment = false)]
        pub order_id: Uuid,
        /// The station it was dispatched to.
        pub station_id: Uuid,
        /// The legal service asked for (a code of `LegalService`).
        pub service: String,
        /// The order's menu category code.
        pub category_code: String,
        /// The order's public number.
        pub order_no: String,
        /// The placing citizen's account subject: only they book for it.
        pub citizen: String,
        /// `requested`, `booked`, `done` or `cancelled`.
        pub status: String,
        /// The appointment booked for it.
        pub appointment_id: Option<Uuid>,
        /// When it arrived.
        pub created_at: ChronoDateTimeUtc,
        /// Last change.
        pub updated_at: ChronoDateTimeUtc,
    }

    /// No relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// Waiting for a booking.
pub const REQUESTED: &str = "requested";
/// A slot is booked for it.
pub const BOOKED: &str = "booked";
/// The visit's outcome was logged.
pub const DONE: &str = "done";
/// The citizen withdrew the order.
pub const CANCELLED: &str = "cancelled";

/// A request as the front doors show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsultationRequest {
    /// The order.
    pub order: Uuid,
    /// The order's public number.
    pub order_no: String,
    /// The station.
    pub station: StationId,
    /// The service asked for.
    pub service: LegalService,
    /// The order's category.
    pub category: String,
    /// Its status code.
    pub status: String,
    /// The appointment booked for it.
    pub appointment: Option<Uuid>,
    /// When it arrived.
    pub created_at: DateTime<Utc>,
}

fn parse(row: request::Model) -> Result<ConsultationRequest, LegalAidError> {
    Ok(ConsultationRequest {
        order: row.order_id,
        order_no: row.order_no,
        station: StationId(row.station_id),
        service: LegalService::from_code(&row.service)
            .ok_or_else(|| crate::store::corrupt("consultation_requests.service"))?,
        category: row.category_code,
        status: row.status,
        appointment: row.appointment_id,
        created_at: row.created_at,
    })
}

/// A new request from an order dispatched to a station.
#[derive(Debug, Clone)]
pub struct NewRequest {
    /// The order.
    pub order: Uuid,
    /// Its public number.
    pub order_no: String,
    /// The station.
    pub station: Uuid,
    /// The service asked for.
    pub service: LegalService,
    /// The menu category.
    pub category: String,
    /// The placing citizen's subject.
    pub citizen: String,
}

/// Stores `new` unless a request for the order exists (a redelivered event changes nothing).
pub async fn open<C: ConnectionTrait>(
    conn: &C,
    new: NewRequest,
    now: DateTime<Utc>,
) -> Result<(), LegalAidError> {
    request::Entity::insert(request::ActiveModel {
        order_id: Set(new.order),
        station_id: Set(new.station),
        service: Set(new.service.code().to_owned()),
        category_code: Set(new.category),
        order_no: Set(new.order_no),
        citizen: Set(new.citizen),
        status: Set(REQUESTED.to_owned()),
        appointment_id: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    })
    .on_conflict(
        OnConflict::column(request::Column::OrderId)
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(conn)
    .await
    .map_err(classify)?;
    Ok(())
}

/// Moves the order's request from one of `from` to `to` (with `appointment` when given);
/// whether a row changed.
pub async fn move_status<C: ConnectionTrait>(
    conn: &C,
    order: Uuid,
    from: &[&str],
    to: &str,
    appointment: Option<Option<Uuid>>,
    now: DateTime<Utc>,
) -> Result<bool, LegalAidError> {
    let mut update = request::Entity::update_many()
        .col_expr(request::Column::Status, Expr::value(to))
        .col_expr(request::Column::UpdatedAt, Expr::value(now));
    if let Some(appointment) = appointment {
        update = update.col_expr(request::Column::AppointmentId, Expr::value(appointment));
    }
    let result = update
        .filter(request::Column::OrderId.eq(order))
        .filter(request::Column::Status.is_in(from.iter().copied()))
        .exec(conn)
        .await
        .map_err(classify)?;
    Ok(result.rows_affected == 1)
}

/// The request of `order`, if any.
pub async fn get<C: ConnectionTrait>(
    conn: &C,
    order: Uuid,
) -> Result<Option<request::Model>, LegalAidError> {
    request::Entity::find_by_id(order)
        .one(conn)
        .await
        .map_err(|e| classify(e).into())
}

/// Checks that `caller` may book a slot of `service` at `station` for `order`: the order
/// was dispatched to this station, the caller is the citizen who placed it (anyone else is
/// told there is no such request), its request waits for a booking (CONFLICT otherwise),
/// and the service is the one it asks for.
pub fn check_booking(
    caller: &Caller,
    row: Option<&request::Model>,
    station: StationId,
    service: LegalService,
) -> Result<(), DomainError> {
    let not_found = || DomainError::NotFound("no consultation request for that order".to_owned());
    let row = row.ok_or_else(not_found)?;
    if row.citizen != caller.principal.subject || row.station_id != station.0 {
        return Err(not_found());
    }
    if row.status != REQUESTED {
        return Err(DomainError::Conflict(format!(
            "the consultation request is {}: a slot is booked for it only once",
            row.status
        )));
    }
    if row.service != service.code() {
        return Err(DomainError::invalid(
            "service",
            format!("the order asks for {}", row.service),
        ));
    }
    Ok(())
}

impl LegalAid {
    /// The station's open requests (requested or booked), oldest first; staff whose scope
    /// covers the station, or a provider serving it.
    pub async fn consultation_requests(
        &self,
        caller: &Caller,
        station: StationId,
    ) -> Result<Vec<ConsultationRequest>, LegalAidError> {
        let s = self.station(station).await?;
        let serving = match caller.provider {
            Some(p) => crate::store::stations::provider_ids_of(&self.db, station.0)
                .await?
                .contains(&p.0),
            None => false,
        };
        if !(caller.manages(&s.unit_path) || serving) {
            return Err(DomainError::Forbidden(
                "only staff whose scope covers the station, or its providers, see its requests"
                    .to_owned(),
            )
            .into());
        }
        let rows = request::Entity::find()
            .filter(request::Column::StationId.eq(station.0))
            .filter(request::Column::Status.is_in([REQUESTED, BOOKED]))
            .order_by_asc(request::Column::OrderId)
            .all(&self.db)
            .await
            .map_err(classify)?;
        rows.into_iter().map(parse).collect()
    }
}
