//! Placing an order (群众点单): parse everything, route it, store it with its first timeline
//! row and `order_placed` in one transaction.
//!
//! Routing: venues `CoveringCourtyard` finds the courtyard whose 15-minute circle covers the
//! point, `Ancestors` gives its chain up to the center, and the order is held by the unit at
//! the category's default level on that chain. A point outside the district's box is
//! BAD_USER_INPUT. A point no circle covers, or venues unreachable, still gives an order: it
//! is held by the district center (the district of the citizen's token, else the configured
//! default), with a note saying why. Only when the center itself is unknown is the answer
//! UNAVAILABLE, and nothing is stored.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use sea_orm::TransactionTrait;
use tongxin_platform::auth::Role;
use tongxin_platform::db::{DbError, classify};
use tongxin_platform::events::outbox;
use tongxin_platform::geo::Coordinates;
use tongxin_platform::pii::Phone;
use uuid::Uuid;

use super::{Caller, OrderView, Orders};
use crate::domain::machine::ChainUnit;
use crate::domain::menu::Category;
use crate::domain::order::{Order, Placement, ReceiveDeadline, Route};
use crate::domain::{DomainError, Level, OrderId, UnitId, text};
use crate::error::OrdersError;
use crate::events;
use crate::grpc::clients::CallError;
use crate::store::{arrivals, known_units, orders, timeline};

/// Orders of the same category this close …
pub const DUPLICATE_RADIUS_M: f64 = 100.0;
/// … and this recent are flagged as likely duplicates.
pub const DUPLICATE_WINDOW_HOURS: i64 = 24;

/// An order before parsing.
#[derive(Debug, Clone, Default)]
pub struct NewOrder {
    /// Menu category code.
    pub category: String,
    /// What is needed.
    pub description: String,
    /// Answers to the category's form, by field key.
    pub form: BTreeMap<String, String>,
    /// Where (WGS-84).
    pub lat: f64,
    /// Where.
    pub lon: f64,
    /// When the citizen would like it.
    pub preferred_at: Option<DateTime<Utc>>,
    /// Contact phone.
    pub phone: String,
    /// Photo URLs (http/https), at most 9.
    pub photos: Vec<String>,
    /// The client's idempotency key: the same key again gives the same order.
    pub idempotency_key: String,
}

/// Where routing put an order.
struct Routed {
    route: Route,
    courtyard: Option<UnitId>,
    note: String,
}

fn photos(input: &[String]) -> Result<Vec<String>, DomainError> {
    if input.len() > 9 {
        return Err(DomainError::invalid("photos", "at most 9"));
    }
    input
        .iter()
        .map(|p| {
            let p = p.trim();
            let ok = (p.starts_with("https://") || p.starts_with("http://"))
                && p.len() <= 500
                && !p.contains(char::is_whitespace);
            ok.then(|| p.to_owned())
                .ok_or_else(|| DomainError::invalid("photos", "must be http(s) URLs"))
        })
        .collect()
}

pub(super) fn order_number(district: &str, now: DateTime<Utc>) -> String {
    let n = u64::from_le_bytes(Uuid::new_v4().as_bytes()[..8].try_into().unwrap_or([0; 8]))
        % 1_000_000_000;
    format!("{}{}{n:09}", district.to_uppercase(), now.format("%Y%m%d"))
}

/// The unit of `chain` (deepest first) that handles `level`: the first at that level or above.
pub(super) fn holding_index(chain: &[ChainUnit], level: Level) -> usize {
    chain
        .iter()
        .position(|u| u.level >= level)
        .unwrap_or(chain.len().saturating_sub(1))
}

impl Orders {
    /// Places an order for the calling citizen.
    #[tracing::instrument(skip_all, fields(citizen = %caller.principal.subject, category = %input.category))]
    pub async fn place(&self, caller: &Caller, input: NewOrder) -> Result<OrderView, OrdersError> {
        if !caller.principal.has_role(Role::Citizen) {
            return Err(DomainError::Forbidden("only citizens place orders".to_owned()).into());
        }
        let key = text("idempotency_key", &input.idempotency_key, true, 100)?;
        let citizen = caller.principal.subject.clone();
        match self.place_new(caller, &citizen, &key, input).await {
            Ok(view) => Ok(view),
            // A retry of a request that was accepted gets that order even when it would not
            // pass again (the menu changed, the center became unknown): the key decides. The
            // usual retry does not come here: it passes and meets the key at insert.
            Err(e) => match orders::by_idempotency(&self.db, &citizen, &key).await {
                Ok(Some(existing)) => self.view(caller, orders::parse(existing)?),
                _ => Err(e),
            },
        }
    }

    /// Checks, routes and stores a new order under `key`; a key already used gives the order
    /// stored with it. The unique index on (citizen, key) is the only check, so a first
    /// request (nearly every request) does not read before it writes.
    async fn place_new(
        &self,
        caller: &Caller,
        citizen: &str,
        key: &str,
        input: NewOrder,
    ) -> Result<OrderView, OrdersError> {
        // Parse everything before any call or write: bad input stores nothing.
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
        let point = Coordinates::parse(input.lat, input.lon)
            .map_err(|e| DomainError::invalid("location", e.to_string()))?;
        let phone = Phone::parse(&input.phone)?;
        let photos = photos(&input.photos)?;
        let district_code = caller
            .principal
            .district
            .clone()
            .unwrap_or_else(|| self.settings.default_district.clone());
        let district = self.settings.district(&district_code).ok_or_else(|| {
            DomainError::invalid(
                "district",
                format!("district {district_code} is not served"),
            )
        })?;
        if !district.contains(point.lat(), point.lon()) {
            return Err(DomainError::invalid(
                "location",
                format!("the point is outside district {district_code}"),
            )
            .into());
        }

        let route = self
            .route(&district_code, district.center_unit_id, point, &category)
            .await?;
        let now = self.now();
        let sla = i64::from(category.sla.minutes(route.route.holding_unit().level));
        let duplicate_of = self.likely_duplicate(&category.code, point, now).await?;
        let mut order = Order::place(Placement {
            id: OrderId(Uuid::now_v7()),
            number: order_number(&district_code, now),
            citizen: citizen.to_owned(),
            idempotency_key: key.to_owned(),
            category: category.code.clone(),
            description,
            form,
            location: point,
            preferred_at: input.preferred_at,
            phone_cipher: self.cipher.encrypt(phone.expose())?,
            photos,
            district: district_code.clone(),
            courtyard: route.courtyard,
            route: route.route,
            routing_note: route.note.clone(),
            duplicate_of: duplicate_of.map(OrderId),
            deadline: ReceiveDeadline {
                at: now + Duration::minutes(sla),
                remind_at: self.remind_at(now, sla),
            },
            at: now,
        });

        for _ in 0..3 {
            if self.store_placed(&order, &route.note).await? {
                self.waker.wake();
                tracing::info!(order_id = %order.id, holding = %order.holding_unit().path, "order placed");
                return self.view(caller, order);
            }
            match orders::by_idempotency(&self.db, citizen, key).await? {
                // The same key raced in from another request (or this is a retry): that
                // order is this one.
                Some(existing) => return self.view(caller, orders::parse(existing)?),
                // Not the key: the random order number was taken. Draw another.
                None => order.number = order_number(&order.district, now),
            }
        }
        Err(DbError::Other("no free order number after 3 draws".into()).into())
    }

    /// Writes a new order, its first timeline row and `order_placed` in one transaction;
    /// `false` (nothing written) when a unique key (the citizen's idempotency key or the order
    /// number) is taken.
    async fn store_placed(&self, order: &Order, note: &str) -> Result<bool, OrdersError> {
        self.store_placed_as(order, note, "citizen").await
    }

    /// [`Self::store_placed`] with the placing actor's `role` (`citizen`, or `staff` for an
    /// order filed on behalf, whose actor is the staff member who filed it).
    pub(super) async fn store_placed_as(
        &self,
        order: &Order,
        note: &str,
        role: &str,
    ) -> Result<bool, OrdersError> {
        let actor = order.intake.filed_by.as_deref().unwrap_or(&order.citizen);
        let txn = self.db.begin().await.map_err(classify)?;
        match orders::insert(&txn, orders::Model::from(order)).await {
            Ok(()) => {}
            Err(DbError::Conflict(_)) => return Ok(false),
            Err(e) => return Err(e.into()),
        }
        let holding = order.holding_unit();
        let arrival = arrivals::next(&txn, holding.id.0).await?;
        timeline::append(
            &txn,
            timeline::Model {
                id: Uuid::now_v7(),
                order_id: order.id.0,
                from_state: None,
                to_state: order.state.into(),
                event: "placed".into(),
                actor: actor.to_owned(),
                role: role.to_owned(),
                unit_id: holding.id.0,
                unit_path: holding.path.clone(),
                level: holding.level,
                note: note.to_owned(),
                at: order.placed_at,
                version: order.version,
                arrival: Some(arrival),
            },
        )
        .await?;
        outbox::enqueue(
            &txn,
            &events::subject("placed"),
            events::SOURCE,
            events::order_changed(order, None, actor, note, order.placed_at, Some(arrival)),
        )
        .await?;
        match txn.commit().await.map_err(classify) {
            Ok(()) => Ok(true),
            Err(DbError::Conflict(_)) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// When to remind the holding unit, `reminder_percent` into an SLA of `sla` minutes.
    pub(crate) fn remind_at(&self, from: DateTime<Utc>, sla_minutes: i64) -> Option<DateTime<Utc>> {
        let percent = i64::from(self.settings.scheduler.reminder_percent);
        (percent > 0).then(|| from + Duration::seconds(sla_minutes * 60 * percent / 100))
    }

    async fn likely_duplicate(
        &self,
        category: &str,
        point: Coordinates,
        now: DateTime<Utc>,
    ) -> Result<Option<Uuid>, OrdersError> {
        let since = now - Duration::hours(DUPLICATE_WINDOW_HOURS);
        Ok(orders::earliest_nearby(&self.db, category, since, point, DUPLICATE_RADIUS_M).await?)
    }

    async fn route(
        &self,
        district: &str,
        configured_center: Option<Uuid>,
        point: Coordinates,
        category: &Category,
    ) -> Result<Routed, OrdersError> {
        let venues = &self.deps.venues;
        let found = venues.covering_courtyard(point.lat(), point.lon()).await;
        let note = match found {
            Ok(Some(courtyard)) => match venues.chain(courtyard.id).await {
                Ok((units, fetched)) if !units.is_empty() => {
                    let chain: Vec<ChainUnit> = units
                        .into_iter()
                        .map(|u| ChainUnit {
                            id: UnitId(u.id),
                            path: u.path,
                            level: u.level,
                        })
                        .collect();
                    let units: Vec<(Uuid, &str, Level)> = chain
                        .iter()
                        .map(|u| (u.id.0, u.path.as_str(), u.level))
                        .collect();
                    if fetched {
                        known_units::remember_chain(&self.db, &units).await?;
                    }
                    let holding = holding_index(&chain, category.default_level);
                    return Ok(Routed {
                        route: Route::new(chain, holding)?,
                        courtyard: Some(UnitId(courtyard.id)),
                        note: String::new(),
                    });
                }
                Ok(_) => "venues gave no chain for the courtyard".to_owned(),
                Err(e) => unreachable_note(&e),
            },
            Ok(None) => "no courtyard's 15-minute circle covers the location".to_owned(),
            Err(CallError::Refused(status)) if status.code() == tonic::Code::InvalidArgument => {
                return Err(DomainError::invalid("location", status.message().to_owned()).into());
            }
            Err(e) => unreachable_note(&e),
        };
        let center_path = format!("/{district}");
        let center = match known_units::by_path(&self.db, &center_path).await? {
            Some(known) => Some(known.id),
            None => configured_center,
        };
        let Some(center) = center else {
            return Err(OrdersError::Unavailable(format!(
                "cannot route ({note}) and the center of district {district} is unknown"
            )));
        };
        tracing::warn!(%district, %note, "order routed to the district center");
        let chain = vec![ChainUnit {
            id: UnitId(center),
            path: center_path,
            level: Level::Center,
        }];
        Ok(Routed {
            route: Route::new(chain, 0)?,
            courtyard: None,
            note: format!("{note}: routed to the center of district {district}"),
        })
    }
}

fn unreachable_note(e: &CallError) -> String {
    tracing::warn!(error = %e, "venues did not answer routing");
    "venues was unreachable".to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holding_is_the_first_unit_at_or_above_the_level() {
        let unit = |path: &str, level| ChainUnit {
            id: UnitId(Uuid::nil()),
            path: path.into(),
            level,
        };
        let full = vec![
            unit("/rc/a/b/c", Level::Courtyard),
            unit("/rc/a/b", Level::Station),
            unit("/rc/a", Level::Institute),
            unit("/rc", Level::Center),
        ];
        assert_eq!(holding_index(&full, Level::Courtyard), 0);
        assert_eq!(holding_index(&full, Level::Station), 1);
        assert_eq!(holding_index(&full, Level::Center), 3);
        let gap = vec![
            unit("/rc/a/c", Level::Courtyard),
            unit("/rc", Level::Center),
        ];
        assert_eq!(holding_index(&gap, Level::Institute), 1);
    }

    #[test]
    fn photos_are_urls() {
        assert!(photos(&["https://x/y.jpg".into()]).is_ok());
        assert!(photos(&["ftp://x".into()]).is_err());
        assert!(photos(&vec!["https://x".into(); 10]).is_err());
        assert!(order_number("rc", Utc::now()).starts_with("RC"));
    }
}
