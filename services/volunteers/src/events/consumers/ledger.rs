//! The two consumers that credit hours from upstream sources: attendance of venues
//! activities (`tongxin.venues.activity_held`) and completed or rated orders
//! (`tongxin.orders.>`). Both go through [`crate::service::ledger`], whose idempotent credit
//! step makes a redelivered event change nothing, and whose scope rule
//! ([`crate::domain::crediting`]) approves only what the vouching scope covers: the
//! activity's recorder's scope, the unit holding the order.

use chrono::{DateTime, NaiveDate, Utc};
use prost::Message;
use sea_orm::DatabaseTransaction;
use tongxin_platform::events::Event;
use tongxin_platform::events::consumer::{Handler, HandlerError};
use tongxin_platform::events::outbox::OutboxWaker;
use tongxin_proto::events as pb_events;
use uuid::Uuid;

use crate::domain::availability::CHINA_STANDARD_TIME;
use crate::domain::crediting::Part;
use crate::domain::hours::{Hours, LedgerSource};
use crate::domain::scope::UnitPath;
use crate::error::VolunteersError;
use crate::service::ledger::{Credit, UpstreamCredit, credit_rating, credit_upstream};
use crate::store::teams;

/// The durable consumer crediting activity attendance.
pub const ACTIVITY_CONSUMER: &str = "volunteers-credit-activities";
/// What it listens to.
pub const ACTIVITY_FILTER: &str = "tongxin.venues.activity_held";
/// The durable consumer crediting completed orders (hours) and rated orders (points).
pub const ORDERS_CONSUMER: &str = "volunteers-credit-orders";
/// What it listens to (other order subjects are acknowledged and ignored).
pub const ORDERS_FILTER: &str = "tongxin.orders.>";
const ORDER_COMPLETED: &str = "tongxin.orders.order_completed";
const ORDER_RATED: &str = "tongxin.orders.order_rated";
const EVALUATION_PUBLISHED: &str = "tongxin.orders.evaluation_published";

fn poison(e: impl std::fmt::Display) -> HandlerError {
    HandlerError::Poison(e.to_string())
}

/// Database trouble is retried; anything else about one event cannot get better.
fn handler_error(e: VolunteersError) -> HandlerError {
    match e {
        VolunteersError::Db(db) => HandlerError::from(db),
        other => HandlerError::Poison(format!("{other:?}")),
    }
}

/// The local (district) date of an instant given in Unix milliseconds.
fn local_date(ms: i64) -> Option<NaiveDate> {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .map(|t| t.with_timezone(&CHINA_STANDARD_TIME).date_naive())
}

/// The vouching scope an event names; an empty or malformed path vouches for nothing.
fn vouching(event: &Event, path: &str) -> Option<UnitPath> {
    if path.is_empty() {
        return None;
    }
    UnitPath::parse(path)
        .inspect_err(|e| tracing::warn!(event_id = %event.id, error = %e, "the vouching path does not parse; credits wait for approval"))
        .ok()
}

/// Credits each listed volunteer; bad or unknown volunteers are logged and skipped so the
/// others are still credited (they are not a reason to park the whole event).
async fn credit_all(
    txn: &DatabaseTransaction,
    event: &Event,
    source: LedgerSource,
    served: Vec<(String, f64, Part)>,
    template: UpstreamCredit,
) -> Result<(), HandlerError> {
    for (volunteer, hours, part) in served {
        let Ok(volunteer_id) = Uuid::parse_str(&volunteer) else {
            tracing::warn!(event_id = %event.id, volunteer, "skipping a credit: volunteer id is not a UUID");
            continue;
        };
        let hours = match Hours::parse(hours) {
            Ok(h) => h,
            Err(e) => {
                tracing::warn!(event_id = %event.id, %volunteer_id, error = %e, "skipping a credit: bad hours");
                continue;
            }
        };
        let credit = UpstreamCredit {
            source,
            volunteer_id,
            hours,
            part,
            ..template.clone()
        };
        match credit_upstream(txn, credit).await.map_err(handler_error)? {
            Credit::Credited => {
                tracing::info!(event_id = %event.id, %volunteer_id, %hours, source = source.kind(), "hours credited")
            }
            Credit::Pending => {
                tracing::info!(event_id = %event.id, %volunteer_id, %hours, source = source.kind(), "hours pending: the volunteer is outside the vouching scope")
            }
            Credit::Refused => {
                tracing::warn!(event_id = %event.id, %volunteer_id, source = source.kind(), "skipping a credit: not a member of the dispatched team")
            }
            Credit::AlreadyCredited => {
                tracing::info!(event_id = %event.id, %volunteer_id, source = source.kind(), "already credited; nothing changed")
            }
            Credit::UnknownVolunteer => {
                tracing::warn!(event_id = %event.id, %volunteer_id, "skipping a credit: no such volunteer here")
            }
            Credit::OverDayLimit => {
                tracing::warn!(event_id = %event.id, %volunteer_id, %hours, "skipping a credit: the day would exceed 24 hours")
            }
        }
    }
    Ok(())
}

/// Credits hours from `tongxin.venues.activity_held`: approved for volunteers the
/// recorder's scope (`actor_unit_path`) covers, pending for anyone else.
pub struct ActivityHeldHandler(pub OutboxWaker);

#[async_trait::async_trait]
impl Handler for ActivityHeldHandler {
    async fn handle(&self, txn: &DatabaseTransaction, event: &Event) -> Result<(), HandlerError> {
        if event.subject != ACTIVITY_FILTER {
            return Ok(());
        }
        let body = pb_events::ActivityHeld::decode(event.payload.clone()).map_err(poison)?;
        let activity =
            Uuid::parse_str(&body.activity_id).map_err(|_| poison("activity id is not a UUID"))?;
        let date = local_date(body.starts_at_ms).ok_or_else(|| poison("bad starts_at_ms"))?;
        let template = UpstreamCredit {
            source: LedgerSource::Activity(activity),
            volunteer_id: Uuid::nil(),
            hours: Hours::from_quarters(1).map_err(poison)?,
            service_date: date,
            place: format!("venue {}", body.venue_id),
            content: body.title.clone(),
            evaluation: None,
            recorder: if body.actor.is_empty() {
                event.source.clone()
            } else {
                body.actor.clone()
            },
            part: Part::Served,
            vouching: vouching(event, &body.actor_unit_path),
        };
        // Listed as served by the recorder: venues knows no more, and neither do we.
        let served = body
            .served
            .into_iter()
            .map(|s| (s.volunteer_id, s.hours, Part::Served))
            .collect();
        credit_all(
            txn,
            event,
            LedgerSource::Activity(activity),
            served,
            template,
        )
        .await?;
        // Star events may have been enqueued; the relay publishes them after commit.
        self.0.wake();
        Ok(())
    }
}

/// Credits hours from `tongxin.orders.order_completed` (for a team dispatch, to the team's
/// members only), approved for volunteers the holding unit covers and pending for anyone
/// else, and rating points from `tongxin.orders.order_rated`.
///
/// The holding unit vouches: every staff move on the order needed a scope covering it, so
/// it is the narrowest scope of whoever dispatched and completed the order (a volunteer
/// completing their own order has none of their own).
pub struct OrdersHandler(pub OutboxWaker);

#[async_trait::async_trait]
impl Handler for OrdersHandler {
    async fn handle(&self, txn: &DatabaseTransaction, event: &Event) -> Result<(), HandlerError> {
        if event.subject == EVALUATION_PUBLISHED {
            return credit_awards(txn, event).await;
        }
        if event.subject != ORDER_COMPLETED && event.subject != ORDER_RATED {
            return Ok(());
        }
        let body = pb_events::OrderChanged::decode(event.payload.clone()).map_err(poison)?;
        let order =
            Uuid::parse_str(&body.order_id).map_err(|_| poison("order id is not a UUID"))?;
        let date = local_date(body.occurred_at_ms).ok_or_else(|| poison("bad occurred_at_ms"))?;
        if event.subject == ORDER_RATED {
            let Some(stars) = body.rating.filter(|r| (1..=5).contains(r)) else {
                return Err(poison("order_rated without a rating of 1 to 5"));
            };
            for volunteer in &body.volunteer_ids {
                let Ok(volunteer_id) = Uuid::parse_str(volunteer) else {
                    tracing::warn!(event_id = %event.id, volunteer, "skipping rating points: volunteer id is not a UUID");
                    continue;
                };
                let outcome = credit_rating(txn, order, volunteer_id, stars, date)
                    .await
                    .map_err(handler_error)?;
                tracing::info!(event_id = %event.id, %volunteer_id, ?outcome, "rating points");
            }
            return Ok(());
        }
        let template = UpstreamCredit {
            source: LedgerSource::Order(order),
            volunteer_id: Uuid::nil(),
            hours: Hours::from_quarters(1).map_err(poison)?,
            service_date: date,
            place: body.holding_unit_path.clone(),
            content: format!("order {} ({})", body.order_no, body.category_code),
            evaluation: body.rating.map(|r| format!("rated {r}/5")),
            recorder: if body.actor.is_empty() {
                event.source.clone()
            } else {
                body.actor.clone()
            },
            part: Part::Served,
            vouching: vouching(event, &body.holding_unit_path),
        };
        let mut served: Vec<(String, f64, Part)> = body
            .hours
            .into_iter()
            .map(|h| (h.volunteer_id, h.hours, Part::Served))
            .collect();
        if let Some(team) = body.team_id.as_deref().filter(|t| !t.is_empty()) {
            // A team dispatch: orders does not know the team's members (for a volunteer
            // dispatch it refuses hours for anyone not dispatched), so only the team's
            // members are credited here.
            let team = Uuid::parse_str(team).map_err(|_| poison("team id is not a UUID"))?;
            let listed: Vec<Uuid> = served
                .iter()
                .filter_map(|(v, _, _)| Uuid::parse_str(v).ok())
                .collect();
            let members: Vec<Uuid> = teams::memberships_of(txn, &listed)
                .await?
                .into_iter()
                .filter(|m| m.team_id == team)
                .map(|m| m.volunteer_id)
                .collect();
            for (volunteer, _, part) in &mut served {
                if !Uuid::parse_str(volunteer).is_ok_and(|v| members.contains(&v)) {
                    *part = Part::NotInTheTeam;
                }
            }
        }
        credit_all(txn, event, LedgerSource::Order(order), served, template).await?;
        self.0.wake();
        Ok(())
    }
}

/// Credits the points a published quarterly evaluation awards: each member of the teams
/// attached to an awarded unit, once per award (the points ledger is unique per source id
/// and volunteer, so a redelivery, or a volunteer in two of the unit's teams, counts once).
async fn credit_awards(txn: &DatabaseTransaction, event: &Event) -> Result<(), HandlerError> {
    let body = pb_events::EvaluationPublished::decode(event.payload.clone()).map_err(poison)?;
    let date = local_date(body.published_at_ms).ok_or_else(|| poison("bad published_at_ms"))?;
    for award in &body.awards {
        let (Ok(award_id), Ok(unit)) = (
            Uuid::parse_str(&award.award_id),
            Uuid::parse_str(&award.unit_id),
        ) else {
            return Err(poison("an award's ids are not UUIDs"));
        };
        let mut credited = 0usize;
        for volunteer_id in teams::members_at_unit(txn, unit).await? {
            let fresh = crate::store::ledger::credit_points(
                txn,
                crate::store::ledger::points::Model {
                    id: Uuid::now_v7(),
                    volunteer_id,
                    source: "evaluation".to_owned(),
                    source_id: award_id,
                    points: f64::from(award.points),
                    service_date: date,
                    created_at: Utc::now(),
                },
            )
            .await?;
            credited += usize::from(fresh);
        }
        tracing::info!(event_id = %event.id, %award_id, %unit, points = award.points, credited, "evaluation award credited");
    }
    Ok(())
}

/// Starts the two crediting consumers (activities, orders) until `shutdown`.
pub fn spawn_consumers(
    db: &sea_orm::DatabaseConnection,
    bus: &tongxin_platform::events::SharedBus,
    max_deliver: i64,
    waker: &OutboxWaker,
    shutdown: &tokio_util::sync::CancellationToken,
) -> Vec<tokio::task::JoinHandle<Result<(), tongxin_platform::events::BusError>>> {
    use std::sync::Arc;
    use std::time::Duration;
    use tongxin_platform::events::ConsumerSpec;
    use tongxin_platform::events::consumer::run_consumer;
    let spec = |name: &str, filter: &str| ConsumerSpec {
        name: name.to_owned(),
        filter: filter.to_owned(),
        max_deliver,
        ack_wait: Duration::from_secs(30),
    };
    vec![
        tokio::spawn(run_consumer(
            db.clone(),
            bus.clone(),
            spec(ACTIVITY_CONSUMER, ACTIVITY_FILTER),
            Arc::new(ActivityHeldHandler(waker.clone())),
            shutdown.clone(),
        )),
        tokio::spawn(run_consumer(
            db.clone(),
            bus.clone(),
            spec(ORDERS_CONSUMER, ORDERS_FILTER),
            Arc::new(OrdersHandler(waker.clone())),
            shutdown.clone(),
        )),
    ]
}
