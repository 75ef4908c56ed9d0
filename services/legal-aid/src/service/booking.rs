//! Booking, rescheduling, cancelling, check-in (also for walk-ins), no-shows and reading
//! appointments.
//!
//! Double booking is refused by the database itself (see the appointments migration): the
//! free-slot computation here only picks a provider and explains a refusal; when two
//! bookings race for one provider, the constraint lets one commit and the other is told the
//! slot is taken (or, in a pool, tries the next free provider).

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter,
    TransactionTrait,
};
use tongxin_platform::db::classify;
use tongxin_platform::events::outbox;
use tongxin_platform::pii::Phone;
use uuid::Uuid;

use super::{AppointmentView, Caller, DEFAULT_PAGE, LegalAid, MAX_PAGE, requests};
use crate::domain::appointment::{Appointment, Change, Station, Status};
use crate::domain::roster::local_date;
use crate::domain::slots::{self, Slot};
use crate::domain::{
    AppointmentId, DomainError, LegalService, ProviderId, StationId, optional_text, text,
};
use crate::error::LegalAidError;
use crate::events::{self, Extra};
use crate::store::appointments::{self as store, appointment};
use crate::store::stations::{self as station_store, provider};

/// How often a booking tries again after the database broke a wait cycle.
const MAX_RETRIES: u32 = 3;

/// The most parties one booking may name.
pub const MAX_PARTIES: usize = 10;

/// A booking request.
#[derive(Debug, Clone)]
pub struct Booking {
    /// The station.
    pub station: StationId,
    /// The service.
    pub service: LegalService,
    /// The slot's start.
    pub starts_at: DateTime<Utc>,
    /// A wanted provider; round-robin over the slot's free providers when none.
    pub provider: Option<ProviderId>,
    /// What it is about.
    pub topic: String,
    /// The parties (people or companies) named for the conflict check.
    pub parties: Vec<String>,
    /// A contact phone.
    pub phone: Option<String>,
    /// The same key twice (from the same caller) is the same appointment.
    pub idempotency_key: Option<String>,
    /// The order it serves.
    pub order: Option<Uuid>,
}

/// A walk-in checked in without a booking.
#[derive(Debug, Clone)]
pub struct WalkIn {
    /// The station.
    pub station: StationId,
    /// The service.
    pub service: LegalService,
    /// Who sees them; none when nobody is assigned yet.
    pub provider: Option<ProviderId>,
    /// How long the provider is taken, minutes.
    pub minutes: i64,
    /// What it is about.
    pub topic: String,
    /// The parties named for the conflict check.
    pub parties: Vec<String>,
}

struct Sealed {
    topic: Vec<u8>,
    parties: Vec<u8>,
    phone: Option<Vec<u8>>,
}

fn parties(list: &[String]) -> Result<Vec<String>, DomainError> {
    if list.len() > MAX_PARTIES {
        return Err(DomainError::invalid(
            "parties",
            format!("at most {MAX_PARTIES} parties"),
        ));
    }
    list.iter().map(|p| text(p, "parties", 100)).collect()
}

fn not_found() -> LegalAidError {
    DomainError::NotFound("no such appointment".to_owned()).into()
}

/// What the refusal of a write means for a booking attempt.
enum Refusal {
    /// The provider is taken at that time (the no-overlap guarantee).
    Overlap,
    /// The idempotency key was used by a concurrent booking.
    SameKey,
    /// The database aborted the transaction to break a wait cycle; try again.
    Retry,
    /// Anything else.
    Other(LegalAidError),
}

/// What withdrawing an order did at the station ([`LegalAid::withdraw_order`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Withdrawal {
    /// Nothing was open for it (no request, or closed already: a redelivery).
    Nothing,
    /// Its request closed (no slot was held).
    RequestClosed,
    /// Its request closed and its booked appointment was cancelled.
    AppointmentCancelled(AppointmentId),
    /// Its visit is checked in already: left as it is.
    VisitGoesOn,
}

fn refusal(err: DbErr) -> Refusal {
    if store::is_overlap(&err) {
        return Refusal::Overlap;
    }
    if store::is_deadlock(&err) {
        return Refusal::Retry;
    }
    match err.sql_err() {
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => Refusal::SameKey,
        _ => Refusal::Other(classify(err).into()),
    }
}

impl LegalAid {
    fn seal(
        &self,
        topic: &str,
        parties: &[String],
        phone: Option<&Phone>,
    ) -> Result<Sealed, LegalAidError> {
        let parties =
            serde_json::to_string(parties).map_err(|e| LegalAidError::Internal(e.to_string()))?;
        Ok(Sealed {
            topic: self.cipher.encrypt(topic)?,
            parties: self.cipher.encrypt(&parties)?,
            phone: phone.map(|p| self.cipher.encrypt(p.expose())).transpose()?,
        })
    }

    /// The free providers of `slot` in booking order: the wanted one, or the least recently
    /// booked first (never booked before anyone), ties by id.
    async fn candidates(
        &self,
        slot: &Slot,
        wanted: Option<ProviderId>,
        sitting_providers: &[ProviderId],
    ) -> Result<Vec<ProviderId>, LegalAidError> {
        if let Some(p) = wanted {
            if slot.free.contains(&p) {
                return Ok(vec![p]);
            }
            if sitting_providers.contains(&p) {
                return Err(DomainError::Conflict(
                    "the provider is booked at that time".to_owned(),
                )
                .into());
            }
            return Err(DomainError::invalid("providerId", "does not sit in that slot").into());
        }
        let ids: Vec<Uuid> = slot.free.iter().map(|p| p.0).collect();
        let mut rows = station_store::providers(&self.db, &ids).await?;
        rows.sort_by(|a, b| {
            a.last_booked_at
                .cmp(&b.last_booked_at)
                .then(a.id.cmp(&b.id))
        });
        Ok(rows.into_iter().map(|r| ProviderId(r.id)).collect())
    }

    /// Books a slot for the caller (a citizen or a company contact).
    #[tracing::instrument(skip_all, fields(station = %b.station, service = b.service.code()))]
    pub async fn book(
        &self,
        caller: &Caller,
        b: Booking,
    ) -> Result<AppointmentView, LegalAidError> {
        let station = self.station(b.station).await?;
        if !station.services.contains(&b.service) {
            return Err(
                DomainError::invalid("service", "the station does not offer that service").into(),
            );
        }
        let topic = text(&b.topic, "topic", 500)?;
        let party_list = parties(&b.parties)?;
        let phone = match b.phone.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(p) => Some(Phone::parse(p)?),
        };
        let key = match b.idempotency_key.as_deref() {
            None => None,
            Some(k) => Some(text(k, "idempotencyKey", 100)?),
        };
        let citizen = caller.principal.subject.clone();
        if let Some(key) = &key
            && let Some(row) = store::by_key(&self.db, &citizen, key).await?
        {
            return self.same_booking(caller, &station, &row, &b);
        }
        if let Some(order) = b.order {
            // Never a claim of the input: the request came from the orders events and names
            // the citizen who placed the order.
            let request = requests::get(&self.db, order).await?;
            requests::check_booking(caller, request.as_ref(), station.id, b.service)?;
        }
        if let Some(p) = b.provider {
            let serving = station_store::provider_ids_of(&self.db, station.id.0).await?;
            if !serving.contains(&p.0) {
                return Err(
                    DomainError::NotFound("no such provider at this station".to_owned()).into(),
                );
            }
        }
        let date = local_date(b.starts_at);
        let sittings = self
            .roster_inputs(station.id, date, date)
            .await?
            .sittings(date, date);
        let (occupancy, counts) = self.occupancy(&station, &sittings).await?;
        let now = self.now();
        let slot = slots::bookable(
            &sittings,
            b.service,
            b.starts_at,
            &occupancy,
            &counts,
            station.policy,
            now,
        )?;
        let sitting_providers: Vec<ProviderId> = sittings
            .iter()
            .filter(|s| {
                s.service == b.service && s.starts_at <= slot.starts_at && slot.ends_at <= s.ends_at
            })
            .flat_map(|s| s.providers.clone())
            .collect();
        let candidates = self
            .candidates(&slot, b.provider, &sitting_providers)
            .await?;
        let sealed = self.seal(&topic, &party_list, phone.as_ref())?;
        let mut queue: std::collections::VecDeque<(ProviderId, u32)> =
            candidates.into_iter().map(|p| (p, 0)).collect();
        while let Some((provider, tries)) = queue.pop_front() {
            let appointment = Appointment {
                id: AppointmentId(Uuid::now_v7()),
                station: station.id,
                unit: station.unit,
                provider: Some(provider),
                service: b.service,
                starts_at: slot.starts_at,
                ends_at: slot.ends_at,
                status: Status::Booked,
                citizen: citizen.clone(),
                walk_in: false,
                order: b.order,
                version: 1,
            };
            match self
                .insert(&appointment, &sealed, key.clone(), &citizen, now)
                .await
            {
                Ok(()) => {
                    self.wake();
                    return Ok(AppointmentView {
                        appointment,
                        topic,
                        parties: party_list,
                        phone: phone.map(|p| p.expose().to_owned()),
                    });
                }
                Err(Refusal::Overlap) => continue,
                Err(Refusal::Retry) if tries < MAX_RETRIES => {
                    queue.push_front((provider, tries + 1));
                }
                Err(Refusal::Retry) => {
                    return Err(DomainError::Conflict(
                        "the slot is contended; try again".to_owned(),
                    )
                    .into());
                }
                Err(Refusal::SameKey) => {
                    if let Some(key) = &key
                        && let Some(row) = store::by_key(&self.db, &citizen, key).await?
                    {
                        return self.same_booking(caller, &station, &row, &b);
                    }
                    return Err(DomainError::Conflict("the booking collided".to_owned()).into());
                }
                Err(Refusal::Other(e)) => return Err(e),
            }
        }
        Err(DomainError::Conflict("the slot is taken".to_owned()).into())
    }

    /// The appointment an idempotency key already made, when the request is the same one.
    fn same_booking(
        &self,
        caller: &Caller,
        station: &Station,
        row: &appointment::Model,
        b: &Booking,
    ) -> Result<AppointmentView, LegalAidError> {
        if row.station_id != b.station.0
            || row.service != b.service.code()
            || row.starts_at != b.starts_at
        {
            return Err(DomainError::Conflict(
                "that idempotency key was used for another booking".to_owned(),
            )
            .into());
        }
        self.view(caller, station, row)
    }

    /// Writes a new appointment, the provider's turn and the event in one transaction.
    async fn insert(
        &self,
        a: &Appointment,
        sealed: &Sealed,
        key: Option<String>,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<(), Refusal> {
        let txn = self
            .db
            .begin()
            .await
            .map_err(|e| Refusal::Other(classify(e).into()))?;
        appointment::Entity::insert(appointment::ActiveModel {
            id: Set(a.id.0),
            station_id: Set(a.station.0),
            org_unit_id: Set(a.unit),
            provider_id: Set(a.provider.map(|p| p.0)),
            service: Set(a.service.code().to_owned()),
            starts_at: Set(a.starts_at),
            ends_at: Set(a.ends_at),
            status: Set(a.status.code().to_owned()),
            citizen: Set(a.citizen.clone()),
            topic_cipher: Set(sealed.topic.clone()),
            parties_cipher: Set(sealed.parties.clone()),
            phone_cipher: Set(sealed.phone.clone()),
            idempotency_key: Set(key),
            walk_in: Set(a.walk_in),
            order_id: Set(a.order),
            version: Set(a.version),
            created_at: Set(now),
            updated_at: Set(now),
        })
        .exec_without_returning(&txn)
        .await
        .map_err(refusal)?;
        if let Some(order) = a.order
            && !a.walk_in
        {
            // The request is booked once: of two concurrent bookings for one order the
            // conditional update lets one through; the other writes nothing.
            let claimed = requests::move_status(
                &txn,
                order,
                &[requests::REQUESTED],
                requests::BOOKED,
                Some(Some(a.id.0)),
                now,
            )
            .await
            .map_err(Refusal::Other)?;
            if !claimed {
                return Err(Refusal::Other(
                    DomainError::Conflict("a slot is already booked for that order".to_owned())
                        .into(),
                ));
            }
        }
        if let Some(p) = a.provider {
            // Round-robin order: the real time of the booking (a test clock may stand still).
            provider::Entity::update_many()
                .col_expr(provider::Column::LastBookedAt, Expr::value(Utc::now()))
                .filter(provider::Column::Id.eq(p.0))
                .exec(&txn)
                .await
                .map_err(refusal)?;
        }
        let change = if a.walk_in {
            Change::CheckedIn
        } else {
            Change::Booked
        };
        outbox::enqueue(
            &txn,
            &events::subject(change.event()),
            events::SOURCE,
            events::appointment_changed(a, actor, now, Extra::default()),
        )
        .await
        .map_err(|e| Refusal::Other(e.into()))?;
        txn.commit().await.map_err(refusal)
    }

    async fn load(
        &self,
        caller: &Caller,
        id: AppointmentId,
    ) -> Result<(Station, appointment::Model, AppointmentView), LegalAidError> {
        let row = store::get_many(&self.db, &[id.0])
            .await?
            .into_iter()
            .next()
            .ok_or_else(not_found)?;
        let station = self.station(StationId(row.station_id)).await?;
        let view = self.view(caller, &station, &row)?;
        Ok((station, row, view))
    }

    /// One appointment the caller may see; NOT_FOUND otherwise.
    pub async fn appointment(
        &self,
        caller: &Caller,
        id: AppointmentId,
    ) -> Result<AppointmentView, LegalAidError> {
        Ok(self.load(caller, id).await?.2)
    }

    /// Moves a booked appointment to another slot; its citizen or staff in scope.
    #[tracing::instrument(skip_all, fields(appointment = %id))]
    pub async fn reschedule(
        &self,
        caller: &Caller,
        id: AppointmentId,
        starts_at: DateTime<Utc>,
    ) -> Result<AppointmentView, LegalAidError> {
        let (station, row, view) = self.load(caller, id).await?;
        let old = view.appointment.clone();
        if !(caller.principal.subject == old.citizen || caller.manages(&station.unit_path)) {
            return Err(DomainError::Forbidden(
                "only its citizen or staff in scope may reschedule an appointment".to_owned(),
            )
            .into());
        }
        let now = self.now();
        old.after(Change::Rescheduled, now)?;
        let date = local_date(starts_at);
        let sittings = self
            .roster_inputs(station.id, date, date)
            .await?
            .sittings(date, date);
        let except = old.provider.map(|p| (p, old.starts_at));
        let (occupancy, counts) = self
            .occupancy_on(&self.db, &station, &sittings, except)
            .await?;
        let slot = slots::bookable(
            &sittings,
            old.service,
            starts_at,
            &occupancy,
            &counts,
            station.policy,
            now,
        )?;
        // The same provider when they are free then, else the pool's turn.
        let mut candidates = self.candidates(&slot, None, &[]).await?;
        if let Some(p) = old.provider
            && let Some(i) = candidates.iter().position(|c| *c == p)
        {
            candidates.remove(i);
            candidates.insert(0, p);
        }
        let mut queue: std::collections::VecDeque<(ProviderId, u32)> =
            candidates.into_iter().map(|p| (p, 0)).collect();
        while let Some((provider, tries)) = queue.pop_front() {
            let mut moved = old.clone();
            moved.provider = Some(provider);
            moved.starts_at = slot.starts_at;
            moved.ends_at = slot.ends_at;
            moved.version = old.version + 1;
            match self
                .update(
                    &moved,
                    row.version,
                    Change::Rescheduled,
                    caller,
                    now,
                    Extra {
                        previous_start: Some(old.starts_at),
                        reminder_hours: None,
                    },
                )
                .await
            {
                Ok(()) => {
                    self.wake();
                    return Ok(AppointmentView {
                        appointment: moved,
                        ..view
                    });
                }
                Err(Refusal::Overlap) => continue,
                Err(Refusal::Retry) if tries < MAX_RETRIES => {
                    queue.push_front((provider, tries + 1));
                }
                Err(Refusal::SameKey | Refusal::Retry) => {
                    return Err(DomainError::Conflict("the slot is taken".to_owned()).into());
                }
                Err(Refusal::Other(e)) => return Err(e),
            }
        }
        Err(DomainError::Conflict("the slot is taken".to_owned()).into())
    }

    /// Writes a changed appointment and its event in one transaction, if nobody changed it
    /// since `version`.
    async fn update(
        &self,
        a: &Appointment,
        version: i32,
        change: Change,
        caller: &Caller,
        now: DateTime<Utc>,
        extra: Extra,
    ) -> Result<(), Refusal> {
        let txn = self
            .db
            .begin()
            .await
            .map_err(|e| Refusal::Other(classify(e).into()))?;
        let done = appointment::Entity::update_many()
            .col_expr(
                appointment::Column::ProviderId,
                Expr::value(a.provider.map(|p| p.0)),
            )
            .col_expr(appointment::Column::StartsAt, Expr::value(a.starts_at))
            .col_expr(appointment::Column::EndsAt, Expr::value(a.ends_at))
            .col_expr(appointment::Column::Status, Expr::value(a.status.code()))
            .col_expr(appointment::Column::Version, Expr::value(a.version))
            .col_expr(appointment::Column::UpdatedAt, Expr::value(now))
            .filter(appointment::Column::Id.eq(a.id.0))
            .filter(appointment::Column::Version.eq(version))
            .exec(&txn)
            .await
            .map_err(refusal)?;
        if done.rows_affected == 0 {
            return Err(Refusal::Other(
                DomainError::Conflict(
                    "the appointment changed meanwhile; read it again".to_owned(),
                )
                .into(),
            ));
        }
        if let (Change::Cancelled, Some(order)) = (change, a.order) {
            // The order waits for a new booking.
            requests::move_status(
                &txn,
                order,
                &[requests::BOOKED],
                requests::REQUESTED,
                Some(None),
                now,
            )
            .await
            .map_err(Refusal::Other)?;
        }
        outbox::enqueue(
            &txn,
            &events::subject(change.event()),
            events::SOURCE,
            events::appointment_changed(a, &caller.principal.subject, now, extra),
        )
        .await
        .map_err(|e| Refusal::Other(e.into()))?;
        txn.commit().await.map_err(refusal)
    }

    /// The citizen withdrew `order` (its `order_cancelled`), inside the consumer's `txn`: an
    /// open request closes; a booked one closes with its appointment, which is cancelled
    /// like any cancellation (the slot is free again, `appointment_cancelled` goes out
    /// through the outbox, `actor` being who withdrew the order). A visit already checked in
    /// goes on (the order cannot be withdrawn then; a race with the check-in loses here).
    /// A second call changes nothing. `Err` with CONFLICT when the appointment changed
    /// meanwhile: the caller tries again.
    pub(crate) async fn withdraw_order<C: ConnectionTrait>(
        &self,
        txn: &C,
        order: Uuid,
        actor: &str,
    ) -> Result<Withdrawal, LegalAidError> {
        let now = self.now();
        let open = [requests::REQUESTED];
        if requests::move_status(txn, order, &open, requests::CANCELLED, None, now).await? {
            return Ok(Withdrawal::RequestClosed);
        }
        let Some(request) = requests::get(txn, order).await? else {
            return Ok(Withdrawal::Nothing);
        };
        if request.status != requests::BOOKED {
            return Ok(Withdrawal::Nothing);
        }
        let row = match request.appointment_id {
            Some(id) => store::get_many(txn, &[id]).await?.into_iter().next(),
            None => None,
        };
        let appointment = row.as_ref().map(store::parse).transpose()?;
        let cancelled = match appointment {
            Some(a) if a.status == Status::CheckedIn => return Ok(Withdrawal::VisitGoesOn),
            Some(a) if a.status == Status::Booked => {
                let mut next = a.clone();
                next.status = a.after(Change::Cancelled, now)?;
                next.version = a.version + 1;
                let done = appointment::Entity::update_many()
                    .col_expr(appointment::Column::Status, Expr::value(next.status.code()))
                    .col_expr(appointment::Column::Version, Expr::value(next.version))
                    .col_expr(appointment::Column::UpdatedAt, Expr::value(now))
                    .filter(appointment::Column::Id.eq(a.id.0))
                    .filter(appointment::Column::Version.eq(a.version))
                    .exec(txn)
                    .await
                    .map_err(classify)?;
                if done.rows_affected == 0 {
                    return Err(DomainError::Conflict(
                        "the appointment changed meanwhile; read it again".to_owned(),
                    )
                    .into());
                }
                outbox::enqueue(
                    txn,
                    &events::subject(Change::Cancelled.event()),
                    events::SOURCE,
                    events::appointment_changed(&next, actor, now, Extra::default()),
                )
                .await?;
                Some(next.id)
            }
            // A no-show (or an appointment already cancelled) holds no slot.
            _ => None,
        };
        let booked = [requests::BOOKED];
        if !requests::move_status(txn, order, &booked, requests::CANCELLED, None, now).await? {
            return Err(DomainError::Conflict(
                "the consultation request changed meanwhile".to_owned(),
            )
            .into());
        }
        // Why the slot came free, for whoever reads the log (ids only).
        tracing::info!(order_id = %order, appointment_id = ?cancelled.map(|a| a.0),
            reason = "order withdrawn", "the order's appointment is cancelled");
        self.wake();
        Ok(match cancelled {
            Some(id) => Withdrawal::AppointmentCancelled(id),
            None => Withdrawal::RequestClosed,
        })
    }

    /// Cancels, checks in or marks a no-show.
    #[tracing::instrument(skip_all, fields(appointment = %id, change = change.event()))]
    pub async fn change(
        &self,
        caller: &Caller,
        id: AppointmentId,
        change: Change,
    ) -> Result<AppointmentView, LegalAidError> {
        let (station, row, view) = self.load(caller, id).await?;
        let a = view.appointment.clone();
        let staff = caller.manages(&station.unit_path);
        let own_provider = caller.provider.is_some() && caller.provider == a.provider;
        let allowed = match change {
            Change::Cancelled => staff || caller.principal.subject == a.citizen,
            Change::CheckedIn | Change::NoShow => staff || own_provider,
            Change::Booked | Change::Rescheduled => false,
        };
        if !allowed {
            return Err(DomainError::Forbidden(format!(
                "you may not mark this appointment {}",
                change.event().replace('_', " ")
            ))
            .into());
        }
        let now = self.now();
        let mut next = a.clone();
        next.status = a.after(change, now)?;
        next.version = a.version + 1;
        match self
            .update(&next, row.version, change, caller, now, Extra::default())
            .await
        {
            Ok(()) => {
                self.wake();
                Ok(AppointmentView {
                    appointment: next,
                    ..view
                })
            }
            Err(Refusal::Overlap | Refusal::SameKey | Refusal::Retry) => {
                Err(DomainError::Conflict("the provider is booked at that time".to_owned()).into())
            }
            Err(Refusal::Other(e)) => Err(e),
        }
    }

    /// Checks in a visitor who came without a booking; staff in scope or a provider of the
    /// station (who then sees them, unless another provider is named).
    #[tracing::instrument(skip_all, fields(station = %w.station))]
    pub async fn walk_in(
        &self,
        caller: &Caller,
        w: WalkIn,
    ) -> Result<AppointmentView, LegalAidError> {
        let station = self.station(w.station).await?;
        let serving = station_store::provider_ids_of(&self.db, station.id.0).await?;
        let caller_serves = caller.provider.is_some_and(|p| serving.contains(&p.0));
        if !(caller.manages(&station.unit_path) || caller_serves) {
            return Err(DomainError::Forbidden(
                "only the station's staff and providers check walk-ins in".to_owned(),
            )
            .into());
        }
        if !station.services.contains(&w.service) {
            return Err(
                DomainError::invalid("service", "the station does not offer that service").into(),
            );
        }
        let provider = w.provider.or(caller.provider.filter(|_| caller_serves));
        if let Some(p) = provider
            && !serving.contains(&p.0)
        {
            return Err(
                DomainError::NotFound("no such provider at this station".to_owned()).into(),
            );
        }
        let minutes = u32::try_from(w.minutes)
            .ok()
            .filter(|m| (1..=crate::domain::roster::MAX_SLOT_MINUTES).contains(m))
            .ok_or_else(|| DomainError::invalid("minutes", "1 to 480 minutes"))?;
        let topic = optional_text(&w.topic, "topic", 500)?;
        let party_list = parties(&w.parties)?;
        let now = self.now();
        let id = AppointmentId(Uuid::now_v7());
        let appointment = Appointment {
            id,
            station: station.id,
            unit: station.unit,
            provider,
            service: w.service,
            starts_at: now,
            ends_at: now + Duration::minutes(i64::from(minutes)),
            status: Status::CheckedIn,
            // A walk-in has no account: nobody's subject matches it.
            citizen: format!("walk-in:{id}"),
            walk_in: true,
            order: None,
            version: 1,
        };
        let sealed = self.seal(&topic, &party_list, None)?;
        match self
            .insert(&appointment, &sealed, None, &caller.principal.subject, now)
            .await
        {
            Ok(()) => {
                self.wake();
                Ok(AppointmentView {
                    appointment,
                    topic,
                    parties: party_list,
                    phone: None,
                })
            }
            Err(Refusal::Overlap | Refusal::SameKey | Refusal::Retry) => Err(
                DomainError::Conflict("the provider is with another visitor now".to_owned()).into(),
            ),
            Err(Refusal::Other(e)) => Err(e),
        }
    }

    /// A page of appointments matching `filter` that the caller may see.
    pub async fn appointments(
        &self,
        caller: &Caller,
        filter: &store::Filter,
        after: Option<(DateTime<Utc>, Uuid)>,
        first: Option<u64>,
    ) -> Result<(Vec<AppointmentView>, bool), LegalAidError> {
        let limit = first.unwrap_or(DEFAULT_PAGE).clamp(1, MAX_PAGE);
        let mut rows = store::list(&self.db, filter, after, limit).await?;
        let more = rows.len() as u64 > limit;
        rows.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        let mut ids: Vec<Uuid> = rows.iter().map(|r| r.station_id).collect();
        ids.sort();
        ids.dedup();
        let stations: HashMap<Uuid, Station> = station_store::stations(&self.db, &ids)
            .await?
            .into_iter()
            .map(|m| station_store::parse_station(m).map(|s| (s.id.0, s)))
            .collect::<Result<_, _>>()?;
        let mut views = Vec::with_capacity(rows.len());
        for row in &rows {
            let Some(station) = stations.get(&row.station_id) else {
                continue;
            };
            match self.view(caller, station, row) {
                Ok(v) => views.push(v),
                Err(LegalAidError::Domain(DomainError::NotFound(_))) => {}
                Err(e) => return Err(e),
            }
        }
        Ok((views, more))
    }

    /// The stations whose appointments the caller manages, among `station` (or all).
    pub async fn managed_stations(
        &self,
        caller: &Caller,
        station: Option<StationId>,
    ) -> Result<Vec<Uuid>, LegalAidError> {
        match station {
            Some(id) => {
                let station = self.station(id).await?;
                caller.must_manage(&station)?;
                Ok(vec![station.id.0])
            }
            None => Ok(self
                .stations()
                .await?
                .into_iter()
                .filter(|s| caller.manages(&s.unit_path))
                .map(|s| s.id.0)
                .collect()),
        }
    }
}
