//! The durable consumer of `tongxin.venues.cadence_missed` (issue 17): a unit that did not
//! keep its district's cadence in a week or a month (每周一次走访、每月一次活动) gets a notice
//! its staff see in their inbox (`unitNotices`).
//!
//! Idempotent twice over: the platform's processed-events table drops a redelivered event,
//! and the notice table keeps one row per (unit, kind, period), so the same miss announced
//! again under another event id (a replay, a second scheduler replica) stores nothing new.

use prost::Message;
use sea_orm::DatabaseTransaction;
use tongxin_platform::events::Event;
use tongxin_platform::events::consumer::{Handler, HandlerError, uuid_field as uuid};
use tongxin_platform::org::UnitPath;
use tongxin_proto::events::{CadenceKind, CadenceMissed};
use uuid::Uuid;

use crate::service::Orders;
use crate::store::notices;

/// Durable consumer name.
pub const CONSUMER: &str = "orders-cadence-misses";
/// What it listens to.
pub const FILTER: &str = "tongxin.venues.cadence_missed";

/// Stores a notice per missed cadence period.
pub struct CadenceMisses(pub Orders);

/// The stored name of a cadence kind.
fn kind(value: i32) -> Result<&'static str, HandlerError> {
    match CadenceKind::try_from(value) {
        Ok(CadenceKind::Visits) => Ok("visits"),
        Ok(CadenceKind::Activities) => Ok("activities"),
        _ => Err(HandlerError::Poison(format!(
            "unknown cadence kind {value}"
        ))),
    }
}

/// A YYYY-MM-DD date as the event carries it.
fn date(text: &str, field: &str) -> Result<String, HandlerError> {
    chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map(|d| d.format("%Y-%m-%d").to_string())
        .map_err(|_| HandlerError::Poison(format!("{field}: not a date")))
}

fn count(n: u32) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

#[async_trait::async_trait]
impl Handler for CadenceMisses {
    async fn handle(&self, txn: &DatabaseTransaction, event: &Event) -> Result<(), HandlerError> {
        if event.subject != FILTER {
            return Ok(());
        }
        let body = CadenceMissed::decode(event.payload.clone())
            .map_err(|e| HandlerError::Poison(e.to_string()))?;
        let path = UnitPath::parse(&body.unit_path)
            .map_err(|e| HandlerError::Poison(format!("unit_path: {}", e.reason)))?;
        let row = notices::Model {
            id: Uuid::now_v7(),
            event_id: event.id,
            unit_id: uuid(&body.unit_id, "unit_id")?,
            unit_path: path.as_str().to_owned(),
            kind: kind(body.kind)?.to_owned(),
            period_start: date(&body.period_start, "period_start")?,
            period_end: date(&body.period_end, "period_end")?,
            required: count(body.required),
            done: count(body.done),
            streak: count(body.streak),
            received_at: self.0.now(),
        };
        if notices::insert_once(txn, row).await? {
            tracing::info!(unit_id = %body.unit_id, kind = body.kind, period_start = %body.period_start, "cadence miss noted");
        }
        Ok(())
    }
}
