//! Filing an order on behalf of a resident (issue 17): a need heard at a visit, at a
//! courtyard briefing (小院发布会) or on the phone becomes an order that runs the same ladder
//! as one placed in the mini-program.
//!
//! Order of work, so that bad input stores nothing and tells the caller why: parse every
//! field (the channel and its link, the consent, name and phone, the category); then ask
//! venues about the link (the visit through `RhythmService.GetVisit`, the activity through
//! `VenueService.GetActivity`: it must exist and be held, and a briefing is an activity of
//! the policy theme); then find the unit where the need was heard (the visit's unit, the
//! activity's organising unit, for a phone call the covering courtyard of the given point or
//! else the caller's own unit) and check that the caller's scope covers it; then route from
//! there up to the center and store the order, its first timeline row and `order_placed`
//! in one transaction, exactly as `placeOrder` does.
//!
//! Who the order belongs to: its `citizen` is `on-behalf:<staff subject>`, a subject no
//! token carries, so nobody acts on it as its citizen (no one rates or cancels it as the
//! resident); staff see it by scope as any order. The staff member's idempotency key makes
//! a retry give the same order.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use tongxin_platform::db::DbError;
use tongxin_platform::geo::Coordinates;
use tongxin_platform::pii::Phone;
use tongxin_proto::venues as venues_pb;
use uuid::Uuid;

use super::{Caller, OrderView, Orders};
use crate::domain::intake::{self, Channel, Consent, ConsentMethod, Intake, Resident, Source};
use crate::domain::machine::ChainUnit;
use crate::domain::menu::Category;
use crate::domain::order::{Order, Placement, ReceiveDeadline, Route};
use crate::domain::{DomainError, OrderId, UnitId, text};
use crate::error::OrdersError;
use crate::grpc::clients::CallError;
use crate::store::{known_units, orders};

/// The prefix of the `citizen` of an order filed on behalf (see the module docs).
pub const ON_BEHALF_PREFIX: &str = "on-behalf:";

/// An order filed on behalf of a resident, before parsing.
#[derive(Debug, Clone)]
pub struct OnBehalfOrder {
    /// Where the need was heard.
    pub channel: Channel,
    /// The visit it was heard at.
    pub visit: Option<Uuid>,
    /// The activity it was heard at.
    pub activity: Option<Uuid>,
    /// Menu category code.
    pub category: String,
    /// What the resident needs.
    pub description: String,
    /// Answers to the category's form.
    pub form: BTreeMap<String, String>,
    /// Where the service is needed; for a phone call also where it is routed from.
    pub location: Option<(f64, f64)>,
    /// When the resident would like it.
    pub preferred_at: Option<DateTime<Utc>>,
    /// The resident's name.
    pub resident_name: String,
    /// The resident's phone.
    pub resident_phone: String,
    /// The consent, if any was recorded: who recorded it, how, when.
    pub consent: Option<(String, ConsentMethod, DateTime<Utc>)>,
    /// The staff member's idempotency key.
    pub idempotency_key: String,
}

/// What the link names, as venues answered.
struct Heard {
    unit: Uuid,
}

impl Orders {
    /// Files an order on behalf of a resident (staff whose scope covers the unit where the
    /// need was heard).
    #[tracing::instrument(skip_all, fields(actor = %caller.principal.subject, channel = input.channel.as_str(), category = %input.category))]
    pub async fn file_on_behalf(
        &self,
        caller: &Caller,
        input: OnBehalfOrder,
    ) -> Result<OrderView, OrdersError> {
        if !caller.is_staff() {
            return Err(DomainError::Forbidden(
                "only staff file orders on behalf of a resident".to_owned(),
            )
            .into());
        }
        let Some(scope) = caller.scope.clone() else {
            return Err(DomainError::Forbidden(
                "your token names no unit this service knows".to_owned(),
            )
            .into());
        };
        let key = text("idempotency_key", &input.idempotency_key, true, 100)?;
        let citizen = format!("{ON_BEHALF_PREFIX}{}", caller.principal.subject);
        if let Some(existing) = orders::by_idempotency(&self.db, &citizen, &key).await? {
            return self.view(caller, orders::parse(existing)?);
        }

        // Parse everything before any call or write: bad input stores nothing.
        let now = self.now();
        let (by, method, at) = input.consent.clone().ok_or_else(|| {
            DomainError::invalid(
                "consent",
                "the resident's consent is required: who recorded it, verbal or written, and when",
            )
        })?;
        let consent = Consent::parse(&by, method, at, now)?;
        let source = intake::on_behalf_source(input.channel, input.visit, input.activity)?;
        let name = intake::resident_name(&input.resident_name)?;
        let phone = Phone::parse(&input.resident_phone)?;
        let category: Category = match self.category(&input.category).await? {
            Some(c) if c.active => c,
            _ => {
                return Err(
                    DomainError::invalid("category", "no such category on the menu").into(),
                );
            }
        };
        let form = category.check_answers(&input.form)?;
        let description = text("description", &input.description, true, 1000)?;
        let point = input
            .location
            .map(|(lat, lon)| {
                Coordinates::parse(lat, lon)
                    .map_err(|e| DomainError::invalid("location", e.to_string()))
            })
            .transpose()?;

        // Where it was heard: the link's unit, else (a phone call) the point's courtyard or
        // the caller's own unit.
        let heard = match source {
            Source::Visit(id) => self.heard_at_visit(id).await?,
            Source::Activity(id) => self.heard_at_activity(id, input.channel).await?,
            Source::None => self.heard_on_phone(caller, point).await?,
        };
        let (units, unit_location) =
            self.deps
                .venues
                .chain_from(heard.unit)
                .await
                .map_err(|e| match e {
                    CallError::Refused(s) if s.code() == tonic::Code::NotFound => {
                        OrdersError::from(DomainError::invalid(
                            "source",
                            "the unit where the need was heard is unknown",
                        ))
                    }
                    e => OrdersError::Unavailable(format!("venues Ancestors: {e}")),
                })?;
        let chain: Vec<ChainUnit> = units
            .into_iter()
            .map(|u| ChainUnit {
                id: UnitId(u.id),
                path: u.path,
                level: u.level,
            })
            .collect();
        let Some(first) = chain.first() else {
            return Err(DomainError::invalid(
                "source",
                "the unit where the need was heard is unknown",
            )
            .into());
        };
        if !scope.covers(&first.path) {
            return Err(DomainError::Forbidden(format!(
                "the need was heard at {}, outside your scope",
                first.path
            ))
            .into());
        }
        let district_code = first
            .path
            .trim_start_matches('/')
            .split('/')
            .next()
            .unwrap_or_default()
            .to_owned();
        let district = self.settings.district(&district_code).ok_or_else(|| {
            DomainError::invalid(
                "district",
                format!("district {district_code} is not served"),
            )
        })?;
        let location = match (point, unit_location) {
            (Some(p), _) => p,
            (None, Some((lat, lon))) => Coordinates::parse(lat, lon).map_err(|e| {
                OrdersError::Unavailable(format!("venues gave a unit without a location: {e}"))
            })?,
            (None, None) => {
                return Err(DomainError::invalid(
                    "location",
                    "give where the service is needed (the unit has no location)",
                )
                .into());
            }
        };
        if !district.contains(location.lat(), location.lon()) {
            return Err(DomainError::invalid(
                "location",
                format!("the point is outside district {district_code}"),
            )
            .into());
        }
        let courtyard = chain
            .iter()
            .find(|u| u.level == crate::domain::Level::Courtyard)
            .map(|u| u.id);
        let remembered: Vec<(Uuid, &str, crate::domain::Level)> = chain
            .iter()
            .map(|u| (u.id.0, u.path.as_str(), u.level))
            .collect();
        known_units::remember_chain(&self.db, &remembered).await?;
        let holding = super::place::holding_index(&chain, category.default_level);
        let route = Route::new(chain, holding)?;
        let sla = i64::from(category.sla.minutes(route.holding_unit().level));
        let note = format!("filed on behalf of a resident ({})", input.channel.as_str());
        let intake = Intake {
            channel: input.channel,
            source,
            resident: Some(Resident {
                name_cipher: self.cipher.encrypt(&name)?,
                consent,
            }),
            filed_by: Some(caller.principal.subject.clone()),
        };
        let mut order = Order::file_on_behalf(
            Placement {
                id: OrderId(Uuid::now_v7()),
                number: super::place::order_number(&district_code, now),
                citizen: citizen.clone(),
                idempotency_key: key.clone(),
                category: category.code.clone(),
                description,
                form,
                location,
                preferred_at: input.preferred_at,
                phone_cipher: self.cipher.encrypt(phone.expose())?,
                photos: Vec::new(),
                district: district_code.clone(),
                courtyard,
                route,
                routing_note: String::new(),
                duplicate_of: None,
                deadline: ReceiveDeadline {
                    at: now + Duration::minutes(sla),
                    remind_at: self.remind_at(now, sla),
                },
                at: now,
            },
            intake,
        );
        for _ in 0..3 {
            if self.store_placed_as(&order, &note, "staff").await? {
                self.waker.wake();
                tracing::info!(order_id = %order.id, holding = %order.holding_unit().path, "order filed on behalf");
                return self.view(caller, order);
            }
            match orders::by_idempotency(&self.db, &citizen, &key).await? {
                Some(existing) => return self.view(caller, orders::parse(existing)?),
                None => order.number = super::place::order_number(&order.district, now),
            }
        }
        Err(DbError::Other("no free order number after 3 draws".into()).into())
    }

    async fn heard_at_visit(&self, id: Uuid) -> Result<Heard, OrdersError> {
        let visit = match self.deps.venues.visit(id).await {
            Ok(Some(v)) => v,
            Ok(None) => {
                return Err(DomainError::invalid("visitId", "no such visit").into());
            }
            Err(CallError::Refused(s)) if s.code() == tonic::Code::InvalidArgument => {
                return Err(DomainError::invalid("visitId", "not a visit id").into());
            }
            Err(e) => {
                return Err(OrdersError::Unavailable(format!("venues GetVisit: {e}")));
            }
        };
        let unit = Uuid::parse_str(&visit.unit_id)
            .map_err(|_| OrdersError::Unavailable("venues gave a visit without a unit".into()))?;
        Ok(Heard { unit })
    }

    async fn heard_at_activity(&self, id: Uuid, channel: Channel) -> Result<Heard, OrdersError> {
        let activity = match self.deps.venues.activity(id).await {
            Ok(Some(a)) => a,
            Ok(None) => {
                return Err(DomainError::invalid("activityId", "no such activity").into());
            }
            Err(CallError::Refused(s)) if s.code() == tonic::Code::InvalidArgument => {
                return Err(DomainError::invalid("activityId", "not an activity id").into());
            }
            Err(e) => {
                return Err(OrdersError::Unavailable(format!("venues GetActivity: {e}")));
            }
        };
        if activity.status != venues_pb::ActivityStatus::Held as i32 {
            return Err(DomainError::invalid(
                "activityId",
                "the activity has not been held: a need is heard at a held activity",
            )
            .into());
        }
        if channel == Channel::Briefing && activity.theme != venues_pb::Theme::Policy as i32 {
            return Err(DomainError::invalid(
                "activityId",
                "a briefing (小院发布会) is an activity of the policy theme",
            )
            .into());
        }
        let unit = Uuid::parse_str(&activity.org_unit_id).map_err(|_| {
            OrdersError::Unavailable("venues gave an activity without a unit".into())
        })?;
        Ok(Heard { unit })
    }

    async fn heard_on_phone(
        &self,
        caller: &Caller,
        point: Option<Coordinates>,
    ) -> Result<Heard, OrdersError> {
        if let Some(point) = point {
            match self
                .deps
                .venues
                .covering_courtyard(point.lat(), point.lon())
                .await
            {
                Ok(Some(courtyard)) => return Ok(Heard { unit: courtyard.id }),
                // No circle covers it: the call was taken at the caller's unit.
                Ok(None) => {}
                Err(CallError::Refused(s)) if s.code() == tonic::Code::InvalidArgument => {
                    return Err(DomainError::invalid("location", s.message().to_owned()).into());
                }
                Err(e) => {
                    return Err(OrdersError::Unavailable(format!(
                        "venues CoveringCourtyard: {e}"
                    )));
                }
            }
        }
        let unit = caller
            .principal
            .unit
            .ok_or_else(|| DomainError::Forbidden("your token names no unit".to_owned()))?;
        Ok(Heard { unit })
    }
}

/// How long after completion a service credential may read a resident's reply.
pub const REPLY_WINDOW_HOURS: i64 = 72;

/// The reply owed to a resident, for the department that sends it.
#[derive(Debug, Clone)]
pub struct ResidentReply {
    /// The order.
    pub order: Order,
    /// The resident's phone, in full.
    pub phone: String,
    /// The resident's name, in full.
    pub name: String,
}

impl Orders {
    /// The reply owed to the resident order `id` was filed for: staff whose scope covers the
    /// holding unit at any time after completion, a service credential (a department acting
    /// on `reply_due`) within [`REPLY_WINDOW_HOURS`] of it. Logged with the order id and the
    /// caller, never the phone.
    #[tracing::instrument(skip_all, fields(order_id = %id, caller = %caller.principal.subject))]
    pub async fn resident_reply(
        &self,
        caller: &Caller,
        id: OrderId,
    ) -> Result<ResidentReply, OrdersError> {
        let order = match orders::get(&self.db, id.0).await? {
            Some(row) => orders::parse(row)?,
            None => return Err(DomainError::NotFound("no such order".to_owned()).into()),
        };
        let service = caller.principal.is_service();
        if !service {
            // Staff (or anyone else) first need sight of it, as for any read.
            if Self::sight(caller, &order)? != super::Sight::Full || !caller.is_staff() {
                return Err(DomainError::Forbidden(
                    "out_of_scope: only staff whose scope covers the holding unit, or a department's service credential, read a resident's reply".to_owned(),
                )
                .into());
            }
        }
        let Some(resident) = &order.intake.resident else {
            return Err(DomainError::WrongState {
                state: "not_on_behalf",
                action: "read a resident's reply (the citizen placed it)",
            }
            .into());
        };
        if order.state != crate::domain::OrderState::Completed
            && order.state != crate::domain::OrderState::Rated
        {
            return Err(DomainError::WrongState {
                state: order.state.as_str(),
                action: "read a resident's reply before completion",
            }
            .into());
        }
        if service && self.now() - order.updated_at > Duration::hours(REPLY_WINDOW_HOURS) {
            return Err(DomainError::Forbidden(format!(
                "reply_window_closed: a service credential reads a reply within {REPLY_WINDOW_HOURS} hours of completion"
            ))
            .into());
        }
        let phone = self.cipher.decrypt(&order.phone_cipher)?;
        let name = self.cipher.decrypt(&resident.name_cipher)?;
        tracing::info!("resident reply read");
        Ok(ResidentReply { order, phone, name })
    }
}
