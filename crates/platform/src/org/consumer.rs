//! The one consumer that keeps [`known_units`](super::known_units) current from the venues
//! org-tree events `tongxin.venues.unit_created` and `unit_updated`.
//!
//! Every service that resolves staff scopes runs it under its own durable name. What a
//! service does beyond the table (volunteers records the unit's name and location, and moves
//! its volunteers and teams along with a moved unit) is a [`KnownUnitsHook`]; orders needs
//! none and passes `()`. Idempotent by the platform's processed-events table (and the
//! writes are upserts anyway).

use async_trait::async_trait;
use prost::Message;
use sea_orm::DatabaseTransaction;
use tongxin_proto::events as pb;
use tongxin_proto::venues::UnitKind;
use uuid::Uuid;

use super::{Level, UnitPath, known_units};
use crate::db::DbError;
use crate::events::Event;
use crate::events::consumer::{Handler, HandlerError};

/// What the consumer listens to (other venues subjects are acknowledged and ignored).
pub const UNIT_EVENTS: &str = "tongxin.venues.>";
const UNIT_CREATED: &str = "tongxin.venues.unit_created";
const UNIT_UPDATED: &str = "tongxin.venues.unit_updated";

/// A unit as an event announced it, parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct AnnouncedUnit {
    /// Its id.
    pub id: Uuid,
    /// Its (new) path.
    pub path: UnitPath,
    /// Its level; `None` when the event names no known kind (only accepted by a consumer
    /// that does not [require levels](KnownUnitsConsumer::level_required)).
    pub level: Option<Level>,
    /// Its display name.
    pub name: String,
    /// Its location (lat, lon), when venues knows it.
    pub location: Option<(f64, f64)>,
}

/// A service's own steps on a unit event, run in the consumer's transaction after
/// `known_units` was written.
#[async_trait]
pub trait KnownUnitsHook: Send + Sync + 'static {
    /// A unit was created or updated (renamed or moved).
    async fn announced(
        &self,
        _txn: &DatabaseTransaction,
        _unit: &AnnouncedUnit,
    ) -> Result<(), DbError> {
        Ok(())
    }

    /// The unit at `old` (and its subtree) now lies at `new`.
    async fn moved(
        &self,
        _txn: &DatabaseTransaction,
        _old: &str,
        _new: &UnitPath,
    ) -> Result<(), DbError> {
        Ok(())
    }
}

/// No steps beyond the table.
impl KnownUnitsHook for () {}

/// The consumer's handler: applies unit events to `known_units`, then the hook.
pub struct KnownUnitsConsumer<H = ()> {
    hook: H,
    level_required: bool,
}

impl<H: KnownUnitsHook> KnownUnitsConsumer<H> {
    /// A handler running `hook` after each write. An event without a known unit kind is
    /// applied without a level.
    pub fn new(hook: H) -> Self {
        Self {
            hook,
            level_required: false,
        }
    }

    /// Parks an event without a known unit kind instead (orders routes by level, and its
    /// table requires one).
    pub fn level_required(mut self) -> Self {
        self.level_required = true;
        self
    }
}

/// The level of a proto unit kind; `None` for an unspecified or unknown kind.
pub fn level_of(kind: i32) -> Option<Level> {
    match UnitKind::try_from(kind).ok()? {
        UnitKind::Center => Some(Level::Center),
        UnitKind::Institute => Some(Level::Institute),
        UnitKind::Station => Some(Level::Station),
        UnitKind::Courtyard => Some(Level::Courtyard),
        UnitKind::Unspecified => None,
    }
}

/// The unit an event announces and the path it had before a move; `None` for other subjects.
fn decode(event: &Event) -> Result<Option<(AnnouncedUnit, Option<String>)>, HandlerError> {
    let poison = |e: prost::DecodeError| HandlerError::Poison(e.to_string());
    let (unit, old_path) = match event.subject.as_str() {
        UNIT_CREATED => (
            pb::UnitCreated::decode(event.payload.clone())
                .map_err(poison)?
                .unit,
            None,
        ),
        UNIT_UPDATED => {
            let body = pb::UnitUpdated::decode(event.payload.clone()).map_err(poison)?;
            (body.unit, Some(body.old_path).filter(|p| !p.is_empty()))
        }
        _ => return Ok(None),
    };
    let unit = unit.ok_or_else(|| HandlerError::Poison("event without a unit".to_owned()))?;
    let announced = AnnouncedUnit {
        id: Uuid::parse_str(&unit.id)
            .map_err(|_| HandlerError::Poison("unit id is not a UUID".to_owned()))?,
        path: UnitPath::parse(&unit.path).map_err(|e| HandlerError::Poison(e.to_string()))?,
        level: level_of(unit.kind),
        name: unit.name,
        location: unit.location.map(|l| (l.lat, l.lon)),
    };
    Ok(Some((announced, old_path)))
}

#[async_trait]
impl<H: KnownUnitsHook> Handler for KnownUnitsConsumer<H> {
    async fn handle(&self, txn: &DatabaseTransaction, event: &Event) -> Result<(), HandlerError> {
        let Some((unit, old_path)) = decode(event)? else {
            return Ok(());
        };
        if self.level_required && unit.level.is_none() {
            return Err(HandlerError::Poison("unknown unit kind".to_owned()));
        }
        known_units::remember(txn, unit.id, unit.path.as_str(), unit.level).await?;
        self.hook.announced(txn, &unit).await?;
        if let Some(old) = old_path
            && old != unit.path.as_str()
        {
            // Staff scopes below a moved unit follow it. What was recorded under the old
            // path (an order's routing chain, an issued proof) keeps it: a record of the past.
            known_units::move_subtree(txn, &old, unit.path.as_str()).await?;
            self.hook.moved(txn, &old, &unit.path).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use tongxin_proto::venues::{Location, OrgUnit};

    use super::*;

    fn event(subject: &str, payload: Vec<u8>) -> Event {
        Event {
            id: Uuid::now_v7(),
            subject: subject.to_owned(),
            ce_type: subject.to_owned(),
            source: "tongxin/venues".to_owned(),
            time: chrono::Utc::now(),
            traceparent: None,
            payload: payload.into(),
        }
    }

    fn unit(path: &str, kind: UnitKind) -> OrgUnit {
        OrgUnit {
            id: Uuid::nil().to_string(),
            kind: kind as i32,
            name: "虹桥社区".to_owned(),
            path: path.to_owned(),
            location: Some(Location {
                lat: 29.4,
                lon: 105.6,
            }),
            ..Default::default()
        }
    }

    fn poison(result: Result<Option<(AnnouncedUnit, Option<String>)>, HandlerError>) -> String {
        match result {
            Err(HandlerError::Poison(why)) => why,
            other => panic!("expected a poison event, got {other:?}"),
        }
    }

    #[test]
    fn decodes_created_and_moved_units() {
        let created = pb::UnitCreated {
            unit: Some(unit("/rc/changyuan/hongqiao", UnitKind::Station)),
            actor: "venues".to_owned(),
        };
        let (announced, old) = decode(&event(UNIT_CREATED, created.encode_to_vec()))
            .expect("decodes")
            .expect("a unit event");
        assert_eq!(
            announced,
            AnnouncedUnit {
                id: Uuid::nil(),
                path: UnitPath::parse("/rc/changyuan/hongqiao").expect("path"),
                level: Some(Level::Station),
                name: "虹桥社区".to_owned(),
                location: Some((29.4, 105.6)),
            }
        );
        assert_eq!(old, None);

        let moved = pb::UnitUpdated {
            unit: Some(unit("/rc/fenggao/hongqiao", UnitKind::Unspecified)),
            change: "moved".to_owned(),
            old_path: "/rc/changyuan/hongqiao".to_owned(),
            ..Default::default()
        };
        let (announced, old) = decode(&event(UNIT_UPDATED, moved.encode_to_vec()))
            .expect("decodes")
            .expect("a unit event");
        assert_eq!(announced.level, None, "no kind: no level");
        assert_eq!(old.as_deref(), Some("/rc/changyuan/hongqiao"));
    }

    #[test]
    fn other_subjects_are_ignored_and_broken_units_parked() {
        let other = event("tongxin.venues.activity_held", vec![1, 2, 3]);
        assert!(decode(&other).expect("ignored").is_none());
        assert!(!poison(decode(&event(UNIT_CREATED, vec![0xff]))).is_empty());
        let without_unit = pb::UnitCreated::default().encode_to_vec();
        assert_eq!(
            poison(decode(&event(UNIT_CREATED, without_unit))),
            "event without a unit"
        );
        let bad_path = pb::UnitCreated {
            unit: Some(unit("/rc/昌元", UnitKind::Institute)),
            ..Default::default()
        };
        assert!(
            poison(decode(&event(UNIT_CREATED, bad_path.encode_to_vec())))
                .starts_with("unit_path: ")
        );
        let mut bad_id = unit("/rc", UnitKind::Center);
        bad_id.id = "rc".to_owned();
        let bad_id = pb::UnitCreated {
            unit: Some(bad_id),
            ..Default::default()
        };
        assert_eq!(
            poison(decode(&event(UNIT_CREATED, bad_id.encode_to_vec()))),
            "unit id is not a UUID"
        );
    }

    #[test]
    fn kinds_map_to_levels() {
        assert_eq!(level_of(UnitKind::Courtyard as i32), Some(Level::Courtyard));
        assert_eq!(level_of(UnitKind::Center as i32), Some(Level::Center));
        assert_eq!(level_of(UnitKind::Unspecified as i32), None);
        assert_eq!(level_of(99), None);
    }
}
