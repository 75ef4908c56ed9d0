//! The durable consumer of `tongxin.orders.>` that turns an order of a legal category,
//! dispatched to a station, into a consultation request there
//! ([`crate::service::requests`]):
//!
//! - `order_dispatched` naming a `legal_aid_station_id`: the request opens (`requested`),
//!   with the order's citizen (only they may book for it) and the category's service;
//! - `order_cancelled` (the citizen withdrew the order, before or after booking a slot):
//!
//! | request | appointment | what happens, in the consumer's transaction |
//! |---|---|---|
//! | `requested` | none | the request is `cancelled` |
//! | `booked` | booked | the appointment is cancelled like any cancellation (the slot is free again, `appointment_cancelled` goes out through the outbox with the withdrawing citizen as its actor; orders notes it on the order's timeline as withdrawn), and the request is `cancelled` |
//! | `booked` | checked in | nothing: the visit goes on (orders lets nobody cancel an order in progress; this is a race with the check-in, which the check-in won) |
//! | `booked` | no-show | the request is `cancelled` |
//! | `done`, `cancelled` | | nothing (a redelivery) |
//!
//! Idempotent twice over: the platform's processed-events table drops a redelivered event,
//! and the request is keyed by the order id (a second `order_dispatched` inserts nothing, so
//! neither does the `order_dispatched` of an order whose slot was given up), its status
//! changes conditional on the status it leaves.
//!
//! Which legal service an order asks for is the orders menu's business: the dispatch event
//! names it (`legal_service`).

use prost::Message;
use sea_orm::DatabaseTransaction;
use tongxin_platform::events::Event;
use tongxin_platform::events::consumer::{Handler, HandlerError, uuid_field as uuid};
use tongxin_proto::events::OrderChanged;

use crate::domain::LegalService;
use crate::error::LegalAidError;
use crate::service::LegalAid;
use crate::service::requests::{self, NewRequest};
use crate::store::stations as station_store;

/// Durable consumer name.
pub const CONSUMER: &str = "legal-aid-orders";
/// What it listens to.
pub const FILTER: &str = "tongxin.orders.>";

/// Opens and cancels consultation requests from the order events.
pub struct OrderRequests(pub LegalAid);

fn handler_error(e: LegalAidError) -> HandlerError {
    match e {
        LegalAidError::Db(db) => db.into(),
        other => HandlerError::Retry(format!("{other:?}")),
    }
}

#[async_trait::async_trait]
impl Handler for OrderRequests {
    async fn handle(&self, txn: &DatabaseTransaction, event: &Event) -> Result<(), HandlerError> {
        let kind = match event.subject.as_str() {
            "tongxin.orders.order_dispatched" => "dispatched",
            "tongxin.orders.order_cancelled" => "cancelled",
            _ => return Ok(()),
        };
        let body = OrderChanged::decode(event.payload.clone())
            .map_err(|e| HandlerError::Poison(e.to_string()))?;
        let order = uuid(&body.order_id, "order_id")?;
        if kind == "cancelled" {
            self.0
                .withdraw_order(txn, order, &body.actor)
                .await
                .map_err(handler_error)?;
            return Ok(());
        }
        let now = self.0.now();
        let Some(station) = body.legal_aid_station_id.as_deref() else {
            return Ok(());
        };
        let station = uuid(station, "legal_aid_station_id")?;
        let Some(citizen) = body.citizen.filter(|c| !c.is_empty()) else {
            return Err(HandlerError::Poison(
                "an order dispatched to a station names its citizen".to_owned(),
            ));
        };
        let service = body
            .legal_service
            .as_deref()
            .and_then(LegalService::from_code)
            .ok_or_else(|| {
                HandlerError::Poison(
                    "an order dispatched to a station names a known legal service".to_owned(),
                )
            })?;
        // Orders checked the station before dispatching; one that is gone since is parked.
        if station_store::stations(txn, &[station]).await?.is_empty() {
            return Err(HandlerError::Poison(format!(
                "legal-aid station {station} does not exist"
            )));
        }
        requests::open(
            txn,
            NewRequest {
                order,
                order_no: body.order_no,
                station,
                service,
                category: body.category_code,
                citizen,
            },
            now,
        )
        .await
        .map_err(handler_error)?;
        Ok(())
    }
}
