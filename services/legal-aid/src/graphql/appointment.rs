//! Appointments in GraphQL: the `Appointment` entity, `appointment`, `myAppointments`,
//! `myProviderSchedule`, `stationAppointments`, and one mutation per move.

use std::collections::HashMap;

use async_graphql::connection::{Connection, CursorType, Edge, EmptyFields, OpaqueCursor};
use async_graphql::dataloader::{DataLoader, Loader};
use async_graphql::{Context, Enum, ID, InputObject, Object};
use chrono::{DateTime, Utc};
use tongxin_platform::ApiError;
use uuid::Uuid;

use super::station::{LegalServiceGql, ProviderLoader, ProviderNode, StationNode, load_station};
use super::{Order, OrgUnit, caller, uuid_of};
use crate::domain::appointment::{Change, Status};
use crate::domain::{AppointmentId, ProviderId, StationId};
use crate::service::{AppointmentView, Booking, LegalAid, WalkIn};
use crate::store::appointments::{self as store, appointment};

/// Where an appointment stands.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(name = "AppointmentStatus", remote = "Status")]
pub enum StatusGql {
    /// Booked, waiting for the visitor.
    Booked,
    /// The visitor arrived.
    CheckedIn,
    /// Cancelled; the slot is free again.
    Cancelled,
    /// The visitor did not come.
    NoShow,
}

/// An appointment at a legal-aid station (booked, or a walk-in checked in without one).
pub struct AppointmentNode(pub AppointmentView);

/// An appointment at a legal-aid station (booked, or a walk-in checked in without one).
#[Object(name = "Appointment")]
impl AppointmentNode {
    /// The appointment id.
    async fn id(&self) -> ID {
        ID(self.0.appointment.id.to_string())
    }
    /// The station.
    async fn station(&self, ctx: &Context<'_>) -> async_graphql::Result<StationNode> {
        Ok(StationNode(
            load_station(ctx, self.0.appointment.station.0).await?,
        ))
    }
    /// The org unit of the station.
    async fn unit(&self) -> OrgUnit {
        OrgUnit {
            id: ID(self.0.appointment.unit.to_string()),
        }
    }
    /// The provider; null for a walk-in nobody was assigned to.
    async fn provider(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<ProviderNode>> {
        let Some(p) = self.0.appointment.provider else {
            return Ok(None);
        };
        let loader = ctx.data::<DataLoader<ProviderLoader>>()?;
        Ok(loader.load_one(p.0).await?.map(ProviderNode))
    }
    /// The service.
    async fn service(&self) -> LegalServiceGql {
        self.0.appointment.service.into()
    }
    /// Start (UTC).
    async fn starts_at(&self) -> DateTime<Utc> {
        self.0.appointment.starts_at
    }
    /// End (UTC).
    async fn ends_at(&self) -> DateTime<Utc> {
        self.0.appointment.ends_at
    }
    /// Where it stands.
    async fn status(&self) -> StatusGql {
        self.0.appointment.status.into()
    }
    /// What it is about.
    async fn topic(&self) -> &str {
        &self.0.topic
    }
    /// The parties named for the conflict check.
    async fn parties(&self) -> &[String] {
        &self.0.parties
    }
    /// The contact phone: in full for its citizen and staff in scope, masked for the
    /// provider; null when none was given.
    async fn phone(&self) -> Option<&str> {
        self.0.phone.as_deref()
    }
    /// Whether it is a walk-in checked in without a booking.
    async fn walk_in(&self) -> bool {
        self.0.appointment.walk_in
    }
    /// The order it serves, when it came from one.
    async fn order(&self) -> Option<Order> {
        self.0.appointment.order.map(|o| Order {
            id: ID(o.to_string()),
        })
    }
    /// Version, bumped by every change.
    async fn version(&self) -> i32 {
        self.0.appointment.version
    }
}

/// Loads appointment rows by id in one query per batch; visibility is applied per caller
/// after.
pub struct AppointmentLoader(pub LegalAid);

impl Loader<Uuid> for AppointmentLoader {
    type Value = appointment::Model;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, appointment::Model>, Self::Error> {
        let rows = store::get_many(self.0.db(), keys)
            .await
            .map_err(ApiError::from)?;
        Ok(rows.into_iter().map(|r| (r.id, r)).collect())
    }
}

type Cursor = OpaqueCursor<(DateTime<Utc>, Uuid)>;
pub(super) type AppointmentConnection =
    Connection<Cursor, AppointmentNode, EmptyFields, EmptyFields>;

fn cursor(after: Option<String>) -> Result<Option<(DateTime<Utc>, Uuid)>, ApiError> {
    after
        .map(|c| {
            Cursor::decode_cursor(&c)
                .map(|c| c.0)
                .map_err(|_| ApiError::bad_input("after: not a cursor from this field"))
        })
        .transpose()
}

fn connection(after: bool, (views, more): (Vec<AppointmentView>, bool)) -> AppointmentConnection {
    let mut c = Connection::new(after, more);
    c.edges.extend(views.into_iter().map(|v| {
        Edge::new(
            OpaqueCursor((v.appointment.starts_at, v.appointment.id.0)),
            AppointmentNode(v),
        )
    }));
    c
}

/// Appointment queries.
#[derive(Default)]
pub struct AppointmentQuery;

#[Object]
impl AppointmentQuery {
    /// One appointment: its citizen, its provider and staff in the station's scope may see
    /// it; for anyone else it does not exist (NOT_FOUND).
    async fn appointment(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The appointment id.")] id: ID,
    ) -> async_graphql::Result<AppointmentNode> {
        let (legal_aid, caller) = caller(ctx).await?;
        let loader = ctx.data::<DataLoader<AppointmentLoader>>()?;
        let row = loader
            .load_one(uuid_of(&id, "id")?)
            .await?
            .ok_or_else(|| ApiError::not_found("no such appointment"))?;
        let station = load_station(ctx, row.station_id).await?;
        Ok(AppointmentNode(legal_aid.view(&caller, &station, &row)?))
    }

    /// The caller's own appointments, by start.
    async fn my_appointments(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Cursor of the last appointment already seen.")] after: Option<String>,
        #[graphql(desc = "Page size, 1 to 100 (default 50).")] first: Option<i32>,
    ) -> async_graphql::Result<AppointmentConnection> {
        let (legal_aid, caller) = caller(ctx).await?;
        let after = cursor(after)?;
        let filter = store::Filter {
            citizen: Some(caller.principal.subject.clone()),
            ..Default::default()
        };
        let page = legal_aid
            .appointments(&caller, &filter, after, super::first(first)?)
            .await?;
        Ok(connection(after.is_some(), page))
    }

    /// A provider's own schedule (an account linked to a provider), by start, from `from`
    /// (default: now) to `to`.
    async fn my_provider_schedule(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Earliest start (UTC); default now.")] from: Option<DateTime<Utc>>,
        #[graphql(desc = "Latest start (UTC, exclusive).")] to: Option<DateTime<Utc>>,
        #[graphql(desc = "Cursor of the last appointment already seen.")] after: Option<String>,
        #[graphql(desc = "Page size, 1 to 100 (default 50).")] first: Option<i32>,
    ) -> async_graphql::Result<AppointmentConnection> {
        let (legal_aid, caller) = caller(ctx).await?;
        let provider = caller.provider.ok_or_else(|| {
            ApiError::forbidden("only an account linked to a provider has a schedule")
        })?;
        let after = cursor(after)?;
        let filter = store::Filter {
            provider: Some(provider.0),
            from: Some(from.unwrap_or_else(|| legal_aid.now())),
            to,
            ..Default::default()
        };
        let page = legal_aid
            .appointments(&caller, &filter, after, super::first(first)?)
            .await?;
        Ok(connection(after.is_some(), page))
    }

    /// The appointments at one station (or every station in the caller's scope), by start;
    /// staff.
    async fn station_appointments(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The station; every station in scope when null.")] station_id: Option<ID>,
        #[graphql(desc = "Earliest start (UTC).")] from: Option<DateTime<Utc>>,
        #[graphql(desc = "Latest start (UTC, exclusive).")] to: Option<DateTime<Utc>>,
        #[graphql(desc = "Cursor of the last appointment already seen.")] after: Option<String>,
        #[graphql(desc = "Page size, 1 to 100 (default 50).")] first: Option<i32>,
    ) -> async_graphql::Result<AppointmentConnection> {
        let (legal_aid, caller) = caller(ctx).await?;
        if !caller.principal.is_staff() {
            return Err(ApiError::forbidden("only staff list a station's appointments").into());
        }
        let station = station_id
            .as_ref()
            .map(|s| uuid_of(s, "stationId").map(StationId))
            .transpose()?;
        let stations = legal_aid.managed_stations(&caller, station).await?;
        let after = cursor(after)?;
        let filter = store::Filter {
            stations: Some(stations),
            from,
            to,
            ..Default::default()
        };
        let page = legal_aid
            .appointments(&caller, &filter, after, super::first(first)?)
            .await?;
        Ok(connection(after.is_some(), page))
    }

    /// Federation: resolves `Appointment` references from other subgraphs (batched); null
    /// when the caller may not see it.
    #[graphql(entity)]
    async fn find_appointment_by_id(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The appointment id.")] id: ID,
    ) -> async_graphql::Result<Option<AppointmentNode>> {
        let (legal_aid, caller) = caller(ctx).await?;
        let loader = ctx.data::<DataLoader<AppointmentLoader>>()?;
        let Some(row) = loader.load_one(uuid_of(&id, "id")?).await? else {
            return Ok(None);
        };
        let station = load_station(ctx, row.station_id).await?;
        Ok(legal_aid
            .view(&caller, &station, &row)
            .ok()
            .map(AppointmentNode))
    }
}

/// A booking.
#[derive(InputObject)]
pub struct BookAppointmentInput {
    /// The station.
    pub station_id: ID,
    /// The service wanted.
    pub service: LegalServiceGql,
    /// The slot's start, as `availableSlots` gave it.
    pub starts_at: DateTime<Utc>,
    /// A wanted provider; otherwise the slot's free providers take turns.
    pub provider_id: Option<ID>,
    /// What it is about, 1 to 500 characters.
    pub topic: String,
    /// The people or companies involved (at most 10), for the conflict check.
    #[graphql(default)]
    pub parties: Vec<String>,
    /// A contact phone (mainland mobile).
    pub phone: Option<String>,
    /// The same key twice (from the same caller) is the same appointment.
    pub idempotency_key: Option<String>,
    /// The order this booking is for: an order of a legal category that staff dispatched
    /// to this station (its consultation request). Only the citizen who placed the order
    /// may book for it, once, with the service it asks for.
    pub order_id: Option<ID>,
}

/// A walk-in to check in without a booking.
#[derive(InputObject)]
pub struct WalkInInput {
    /// The station.
    pub station_id: ID,
    /// The service.
    pub service: LegalServiceGql,
    /// Who sees them (default: the calling provider; none for staff).
    pub provider_id: Option<ID>,
    /// How long the provider is taken, 1 to 480 minutes (default 30).
    #[graphql(default = 30)]
    pub minutes: i64,
    /// What it is about.
    #[graphql(default)]
    pub topic: String,
    /// The people or companies involved, for the conflict check.
    #[graphql(default)]
    pub parties: Vec<String>,
}

/// Appointment mutations.
#[derive(Default)]
pub struct AppointmentMutation;

fn appointment_id(id: &ID) -> Result<AppointmentId, ApiError> {
    uuid_of(id, "id").map(AppointmentId)
}

#[Object]
impl AppointmentMutation {
    /// Books a slot for the caller (a citizen or a company contact).
    async fn book_appointment(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The booking.")] input: BookAppointmentInput,
    ) -> async_graphql::Result<AppointmentNode> {
        let (legal_aid, caller) = caller(ctx).await?;
        let booking = Booking {
            station: StationId(uuid_of(&input.station_id, "stationId")?),
            service: input.service.into(),
            starts_at: input.starts_at,
            provider: input
                .provider_id
                .as_ref()
                .map(|p| uuid_of(p, "providerId").map(ProviderId))
                .transpose()?,
            topic: input.topic,
            parties: input.parties,
            phone: input.phone,
            idempotency_key: input.idempotency_key,
            order: input
                .order_id
                .as_ref()
                .map(|o| uuid_of(o, "orderId"))
                .transpose()?,
        };
        Ok(AppointmentNode(legal_aid.book(&caller, booking).await?))
    }

    /// Moves a booked appointment to another slot (its citizen or staff in scope); the old
    /// slot is free again.
    async fn reschedule_appointment(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The appointment id.")] id: ID,
        #[graphql(desc = "The new slot's start.")] starts_at: DateTime<Utc>,
    ) -> async_graphql::Result<AppointmentNode> {
        let (legal_aid, caller) = caller(ctx).await?;
        Ok(AppointmentNode(
            legal_aid
                .reschedule(&caller, appointment_id(&id)?, starts_at)
                .await?,
        ))
    }

    /// Cancels a booked appointment (its citizen or staff in scope).
    async fn cancel_appointment(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The appointment id.")] id: ID,
    ) -> async_graphql::Result<AppointmentNode> {
        let (legal_aid, caller) = caller(ctx).await?;
        Ok(AppointmentNode(
            legal_aid
                .change(&caller, appointment_id(&id)?, Change::Cancelled)
                .await?,
        ))
    }

    /// Checks a booked visitor in on the appointment's day (staff in scope or its provider).
    async fn check_in(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The appointment id.")] id: ID,
    ) -> async_graphql::Result<AppointmentNode> {
        let (legal_aid, caller) = caller(ctx).await?;
        Ok(AppointmentNode(
            legal_aid
                .change(&caller, appointment_id(&id)?, Change::CheckedIn)
                .await?,
        ))
    }

    /// Checks in a walk-in without a booking (staff in scope or a provider of the station).
    async fn check_in_walk_in(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The walk-in.")] input: WalkInInput,
    ) -> async_graphql::Result<AppointmentNode> {
        let (legal_aid, caller) = caller(ctx).await?;
        let walk_in = WalkIn {
            station: StationId(uuid_of(&input.station_id, "stationId")?),
            service: input.service.into(),
            provider: input
                .provider_id
                .as_ref()
                .map(|p| uuid_of(p, "providerId").map(ProviderId))
                .transpose()?,
            minutes: input.minutes,
            topic: input.topic,
            parties: input.parties,
        };
        Ok(AppointmentNode(legal_aid.walk_in(&caller, walk_in).await?))
    }

    /// A new secret URL (path under the legal-aid service) for the calling provider's
    /// iCalendar feed; the previous URL stops working.
    async fn rotate_my_calendar_feed(&self, ctx: &Context<'_>) -> async_graphql::Result<String> {
        let (legal_aid, caller) = caller(ctx).await?;
        Ok(legal_aid.rotate_feed(&caller).await?)
    }

    /// Marks that a booked visitor did not come, once the appointment began (staff in scope
    /// or its provider).
    async fn mark_no_show(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The appointment id.")] id: ID,
    ) -> async_graphql::Result<AppointmentNode> {
        let (legal_aid, caller) = caller(ctx).await?;
        Ok(AppointmentNode(
            legal_aid
                .change(&caller, appointment_id(&id)?, Change::NoShow)
                .await?,
        ))
    }
}
