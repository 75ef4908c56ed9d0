//! Live progress a client can rely on: `orderProgress` and `unitInbox` as ordered feeds with
//! no gap and no duplicate, that a client resumes from the last position it saw.
//!
//! Positions: an order's moves are numbered by its version (1 when placed, one more per
//! move; the conditional UPDATE on the version makes them consecutive); a notice (reminder,
//! overdue alert) changes nothing and belongs to the version it was raised at, after its
//! move. A unit's arrivals (orders placed at it or escalated to it) are numbered by
//! [`arrivals`](crate::store::arrivals), consecutive in commit order. Both positions are on
//! every timeline row and in every event.
//!
//! How a feed starts: watch the bus first (active at the server when the watch returns),
//! THEN read the database. Whatever committed before the read is in it; whatever commits
//! after comes on the bus. An event at or below the position sent is a duplicate and
//! dropped; one more than one past it means the bus lost something (a NATS restart or
//! reconnect, a slow reader), and the feed reads what it missed from the timeline before
//! going on. The bus says so itself after a reconnect ([`Watched::Gap`]), so a loss is
//! filled even when no later event comes.

use std::collections::{HashMap, VecDeque};

use chrono::{DateTime, TimeZone, Utc};
use futures::Stream;
use prost::Message;
use tongxin_platform::events::Event;
use tongxin_proto::events as pb;
use uuid::Uuid;

use super::{Caller, MAX_PAGE, Orders};
use crate::domain::scope::UnitPath;
use crate::domain::{DomainError, Level, OrderId, OrderState};
use crate::error::OrdersError;
use crate::events::{is_notice, state_from_pb};
use crate::store::{arrivals, known_units, orders, timeline};

mod hub;

pub use hub::LiveHub;
use hub::{Key, Live, Subscription};

/// What the hub watches for every feed.
const ORDER_EVENTS: &str = "tongxin.orders.>";

/// One move or notice of an order, as a feed sends it.
#[derive(Debug, Clone, PartialEq)]
pub struct Progress {
    /// The order.
    pub order_id: Uuid,
    /// Its public number.
    pub order_no: String,
    /// `placed`, `received`, … (the timeline's event names).
    pub event: String,
    /// The state after it.
    pub state: OrderState,
    /// The unit holding the order after it.
    pub unit_id: Uuid,
    /// Its path.
    pub unit_path: String,
    /// Its level.
    pub level: Level,
    /// A principal subject or `scheduler`.
    pub actor: String,
    /// The note as events carry it (a citizen's own words stay off: see `moves.rs`).
    pub note: String,
    /// When, to the millisecond (as events carry it).
    pub at: DateTime<Utc>,
    /// The order's version after it.
    pub version: i64,
    /// Its place among the arrivals at `unit_id`, if it is an arrival.
    pub arrival: Option<i64>,
}

fn millis(at: DateTime<Utc>) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(at.timestamp_millis())
        .single()
        .unwrap_or(at)
}

impl Progress {
    fn from_row(row: timeline::Model, order_no: String) -> Self {
        // The event of a citizen's move carries no note (their free text); placement notes
        // are the service's routing words.
        let note = if row.role == "citizen" && row.event != "placed" {
            String::new()
        } else {
            row.note
        };
        Self {
            order_id: row.order_id,
            order_no,
            event: row.event,
            state: row.to_state.into(),
            unit_id: row.unit_id,
            unit_path: row.unit_path,
            level: row.level,
            actor: row.actor,
            note,
            at: millis(row.at),
            version: row.version,
            arrival: row.arrival,
        }
    }

    fn from_event(event: &Event) -> Option<Self> {
        let body = pb::OrderChanged::decode(event.payload.clone()).ok()?;
        let state = pb::OrderState::try_from(body.state)
            .ok()
            .and_then(state_from_pb)?;
        let level = match pb::OrderLevel::try_from(body.holding_level).ok()? {
            pb::OrderLevel::Courtyard => Level::Courtyard,
            pb::OrderLevel::Station => Level::Station,
            pb::OrderLevel::Institute => Level::Institute,
            pb::OrderLevel::Center => Level::Center,
            pb::OrderLevel::Unspecified => return None,
        };
        Some(Self {
            order_id: Uuid::parse_str(&body.order_id).ok()?,
            order_no: body.order_no,
            event: event
                .subject
                .strip_prefix("tongxin.orders.order_")?
                .to_owned(),
            state,
            unit_id: Uuid::parse_str(&body.holding_unit_id).ok()?,
            unit_path: body.holding_unit_path,
            level,
            actor: body.actor,
            note: body.note,
            at: Utc.timestamp_millis_opt(body.occurred_at_ms).single()?,
            version: body.version,
            arrival: body.arrival,
        })
    }
}

/// What to do with an item.
#[derive(Debug, PartialEq, Eq)]
enum Admit {
    Send,
    Skip,
    /// Something before it is missing.
    Gap,
}

/// Where a feed stands.
enum Cursor {
    /// One order: the last version sent and the notices sent at it.
    Order {
        id: Uuid,
        version: i64,
        notices: Vec<String>,
    },
    /// One unit's arrivals: the last place sent.
    Inbox { unit: Uuid, last: i64 },
}

impl Cursor {
    /// Decides on `p` and, if it is to be sent, moves past it.
    fn admit(&mut self, p: &Progress) -> Admit {
        match self {
            Cursor::Order {
                id,
                version,
                notices,
            } => {
                if p.order_id != *id {
                    return Admit::Skip;
                }
                let next = if is_notice(&p.event) {
                    *version
                } else {
                    *version + 1
                };
                match p.version.cmp(&next) {
                    std::cmp::Ordering::Less => Admit::Skip,
                    std::cmp::Ordering::Greater => Admit::Gap,
                    std::cmp::Ordering::Equal if is_notice(&p.event) => {
                        if notices.contains(&p.event) {
                            Admit::Skip
                        } else {
                            notices.push(p.event.clone());
                            Admit::Send
                        }
                    }
                    std::cmp::Ordering::Equal => {
                        *version = p.version;
                        notices.clear();
                        Admit::Send
                    }
                }
            }
            Cursor::Inbox { unit, last } => {
                let Some(place) = p.arrival.filter(|_| p.unit_id == *unit) else {
                    return Admit::Skip;
                };
                match place.cmp(&(*last + 1)) {
                    std::cmp::Ordering::Less => Admit::Skip,
                    std::cmp::Ordering::Greater => Admit::Gap,
                    std::cmp::Ordering::Equal => {
                        *last = place;
                        Admit::Send
                    }
                }
            }
        }
    }
}

/// A feed: what the hub routes to it, where it stands, and what is ready to send.
struct Feed {
    orders: Orders,
    bus: Subscription,
    cursor: Cursor,
    ready: VecDeque<Progress>,
}

impl Feed {
    async fn next(&mut self) -> Option<Progress> {
        loop {
            if let Some(p) = self.ready.pop_front() {
                return Some(p);
            }
            match self.bus.next().await? {
                Live::Gap => self.catch_up().await,
                Live::Progress(p) => {
                    match self.cursor.admit(&p) {
                        Admit::Send => self.ready.push_back(p),
                        Admit::Skip => {}
                        Admit::Gap => {
                            self.catch_up().await;
                            // Committed before it was published, so normally in what was
                            // just read; if the read failed it stays a gap, and the next
                            // event tries again.
                            if self.cursor.admit(&p) == Admit::Send {
                                self.ready.push_back(p);
                            }
                        }
                    }
                }
            }
        }
    }

    /// Reads from the timeline everything after the cursor and queues what it admits
    /// (an inbox page by page: a console back after a long absence has much to read).
    async fn catch_up(&mut self) {
        loop {
            let items = match read_after(&self.orders, &self.cursor).await {
                Ok(items) => items,
                Err(e) => {
                    tracing::warn!(error = ?e, "live feed could not read what it missed");
                    return;
                }
            };
            let full = items.len() as u64 == MAX_PAGE;
            for p in items {
                if self.cursor.admit(&p) == Admit::Send {
                    self.ready.push_back(p);
                }
            }
            if !(full && matches!(self.cursor, Cursor::Inbox { .. })) {
                return;
            }
        }
    }

    fn into_stream(self) -> impl Stream<Item = Progress> + Send + 'static {
        futures::stream::unfold(self, |mut feed| async move {
            let p = feed.next().await?;
            Some((p, feed))
        })
    }
}

/// Everything on the timeline after `cursor`. (Not a method: `&Feed` is not `Send`, the bus
/// stream in it is not `Sync`.)
async fn read_after(orders: &Orders, cursor: &Cursor) -> Result<Vec<Progress>, OrdersError> {
    let db = orders.db();
    let rows = match cursor {
        Cursor::Order { id, version, .. } => {
            // Rows at the version already sent too: a notice there may be new.
            timeline::of_order_after(db, *id, *version - 1).await?
        }
        Cursor::Inbox { unit, last } => {
            timeline::arrivals_after(db, *unit, *last, MAX_PAGE).await?
        }
    };
    orders.with_numbers(rows).await
}

impl Orders {
    /// The timeline rows as progress items, with their order numbers (one query).
    async fn with_numbers(&self, rows: Vec<timeline::Model>) -> Result<Vec<Progress>, OrdersError> {
        let mut ids: Vec<Uuid> = rows.iter().map(|r| r.order_id).collect();
        ids.sort();
        ids.dedup();
        let numbers: HashMap<Uuid, String> = orders::get_many(self.db(), &ids)
            .await?
            .into_iter()
            .map(|o| (o.id, o.order_no))
            .collect();
        Ok(rows
            .into_iter()
            .map(|row| {
                let number = numbers.get(&row.order_id).cloned().unwrap_or_default();
                Progress::from_row(row, number)
            })
            .collect())
    }

    /// Every move of one order the caller may see: first the timeline after `after_version`
    /// (without it: the move that made the current version, and the notices since), then
    /// each later move live, in order, none twice. NOT_FOUND for an order the caller may
    /// not see; BAD_USER_INPUT for a version the order has not reached.
    pub async fn order_progress(
        &self,
        caller: &Caller,
        id: OrderId,
        after_version: Option<i64>,
    ) -> Result<impl Stream<Item = Progress> + Send + use<>, OrdersError> {
        self.order(caller, id).await?;
        // Watch first, then read: nothing committed in between can fall through.
        let watch = self.live_hub()?.subscribe(Key::Order(id.0)).await?;
        let latest = timeline::latest_version(self.db(), id.0).await?;
        let start = match after_version {
            None => latest - 1,
            Some(v) if (0..=latest).contains(&v) => v,
            Some(_) => {
                return Err(DomainError::invalid(
                    "afterVersion",
                    format!("must be 0 to {latest}, the order's version"),
                )
                .into());
            }
        };
        let mut feed = Feed {
            orders: self.clone(),
            bus: watch,
            // Rows at `start` are read again by the first catch-up; its notices count as
            // sent, so a client resuming at a version gets none it saw.
            cursor: Cursor::Order {
                id: id.0,
                version: start,
                notices: vec!["reminder".into(), "overdue_alert".into()],
            },
            ready: VecDeque::new(),
        };
        feed.catch_up().await;
        Ok(feed.into_stream())
    }

    /// Orders arriving at one unit (placed at it, escalated to it), for staff whose scope
    /// covers it. Without `after`: first the orders it holds and has not received yet, in
    /// the order they arrived; with `after` (the `arrival` of the last item seen): every
    /// arrival after it. Then each new arrival live, in order, none twice.
    pub async fn unit_inbox(
        &self,
        caller: &Caller,
        unit: Uuid,
        after: Option<i64>,
    ) -> Result<impl Stream<Item = Progress> + Send + use<>, OrdersError> {
        self.inbox_in_scope(caller, unit).await?;
        let watch = self.live_hub()?.subscribe(Key::Unit(unit)).await?;
        // The count before the waiting orders: an order arriving in between is in both,
        // and the cursor ends past it.
        let last = arrivals::last(self.db(), unit).await?;
        let mut feed = Feed {
            orders: self.clone(),
            bus: watch,
            cursor: Cursor::Inbox { unit, last },
            ready: VecDeque::new(),
        };
        match after {
            Some(after) if (0..=last).contains(&after) => {
                feed.cursor = Cursor::Inbox { unit, last: after };
                feed.catch_up().await;
            }
            Some(_) => {
                return Err(DomainError::invalid(
                    "after",
                    format!("must be 0 to {last}, the unit's last arrival"),
                )
                .into());
            }
            None => {
                let waiting = self.waiting_at(unit).await?;
                if let Some(end) = waiting.iter().filter_map(|p| p.arrival).max() {
                    feed.cursor = Cursor::Inbox {
                        unit,
                        last: last.max(end),
                    };
                }
                feed.ready.extend(waiting);
            }
        }
        Ok(feed.into_stream())
    }

    fn live_hub(&self) -> Result<&LiveHub, OrdersError> {
        self.live()
            .ok_or_else(|| OrdersError::Unavailable("live progress is not running".to_owned()))
    }

    /// The arrivals of the orders `unit` holds and has not received, oldest first.
    async fn waiting_at(&self, unit: Uuid) -> Result<Vec<Progress>, OrdersError> {
        let ids = orders::waiting_at(self.db(), unit, MAX_PAGE).await?;
        let rows = timeline::arrivals_of(self.db(), unit, &ids).await?;
        // An order's latest arrival at the unit is the one that brought it there now.
        let mut latest: HashMap<Uuid, timeline::Model> = HashMap::new();
        for row in rows {
            latest.insert(row.order_id, row);
        }
        let mut rows: Vec<timeline::Model> = latest.into_values().collect();
        rows.sort_by_key(|r| r.arrival);
        self.with_numbers(rows).await
    }

    async fn inbox_in_scope(&self, caller: &Caller, unit: Uuid) -> Result<(), OrdersError> {
        let path = known_units::get(self.db(), unit)
            .await?
            .map(|u| UnitPath::parse(&u.path))
            .transpose()?;
        let in_scope = caller.principal.is_staff()
            && match (&caller.scope, &path) {
                (Some(scope), Some(path)) => scope.covers(path.as_str()),
                (Some(_), None) => caller.principal.unit == Some(unit),
                _ => false,
            };
        if in_scope {
            Ok(())
        } else {
            Err(DomainError::Forbidden("the unit is outside your scope".to_owned()).into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(event: &str, version: i64, arrival: Option<i64>) -> Progress {
        Progress {
            order_id: Uuid::nil(),
            order_no: String::new(),
            event: event.to_owned(),
            state: OrderState::Placed,
            unit_id: Uuid::nil(),
            unit_path: String::new(),
            level: Level::Courtyard,
            actor: String::new(),
            note: String::new(),
            at: Utc::now(),
            version,
            arrival,
        }
    }

    #[test]
    fn an_order_cursor_sends_each_move_once_and_sees_gaps() {
        let mut c = Cursor::Order {
            id: Uuid::nil(),
            version: 1,
            notices: Vec::new(),
        };
        assert_eq!(c.admit(&item("placed", 1, Some(1))), Admit::Skip);
        assert_eq!(c.admit(&item("reminder", 1, None)), Admit::Send);
        assert_eq!(c.admit(&item("reminder", 1, None)), Admit::Skip);
        assert_eq!(c.admit(&item("dispatched", 3, None)), Admit::Gap);
        assert_eq!(c.admit(&item("received", 2, None)), Admit::Send);
        assert_eq!(c.admit(&item("reminder", 1, None)), Admit::Skip);
        assert_eq!(c.admit(&item("overdue_alert", 3, None)), Admit::Gap);
        assert_eq!(c.admit(&item("dispatched", 3, None)), Admit::Send);
        assert_eq!(c.admit(&item("overdue_alert", 3, None)), Admit::Send);
    }

    #[test]
    fn an_inbox_cursor_counts_arrivals_at_its_unit_only() {
        let mut c = Cursor::Inbox {
            unit: Uuid::nil(),
            last: 4,
        };
        assert_eq!(c.admit(&item("received", 2, None)), Admit::Skip);
        assert_eq!(c.admit(&item("placed", 1, Some(4))), Admit::Skip);
        assert_eq!(c.admit(&item("placed", 1, Some(6))), Admit::Gap);
        assert_eq!(c.admit(&item("escalated", 3, Some(5))), Admit::Send);
        assert_eq!(c.admit(&item("placed", 1, Some(6))), Admit::Send);
        let mut elsewhere = item("placed", 1, Some(7));
        elsewhere.unit_id = Uuid::now_v7();
        assert_eq!(c.admit(&elsewhere), Admit::Skip);
    }
}
