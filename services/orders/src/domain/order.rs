//! The order aggregate: one citizen's order with every field typed, as it travels between
//! the store, the service and the front doors (GraphQL, gRPC, events).
//!
//! Only two things make or change an [`Order`]: [`Order::place`] builds a new one, and
//! [`Order::apply`] writes what the state machine ([`super::machine::decide`]) decided. The
//! store turns a row into an `Order` with `TryFrom` and refuses a row that does not parse,
//! so once an `Order` exists its state, chain and lists are valid.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use tongxin_platform::geo::Coordinates;

use super::intake::Intake;
use super::machine::{Actor, ChainUnit, Command, Facts, Outcome};
use super::{DomainError, Hours, OrderId, OrderState, Rating, TeamId, UnitId, VolunteerId};

/// The chain an order climbs (from the unit it was routed to up to the center) and which
/// unit of it holds the order now. Never empty, and the holding index is always inside it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    chain: Vec<ChainUnit>,
    holding: usize,
}

impl Route {
    /// A route held by `chain[holding]`; an empty chain or an index outside it is refused.
    pub fn new(chain: Vec<ChainUnit>, holding: usize) -> Result<Self, DomainError> {
        if holding >= chain.len() {
            return Err(DomainError::invalid(
                "chain",
                "the holding index is outside the chain",
            ));
        }
        Ok(Self { chain, holding })
    }

    /// From the routed unit up to the center.
    pub fn chain(&self) -> &[ChainUnit] {
        &self.chain
    }

    /// Index of the holding unit in [`Route::chain`].
    pub fn holding(&self) -> usize {
        self.holding
    }

    /// The unit holding the order now.
    pub fn holding_unit(&self) -> &ChainUnit {
        // `new` and `held_by` keep the index inside the chain.
        &self.chain[self.holding]
    }

    /// The unit the order was routed to (the first of the chain).
    pub fn routed_unit(&self) -> &ChainUnit {
        &self.chain[0]
    }

    /// Whether the holding unit is the top of the chain (nothing to escalate to).
    pub fn at_top(&self) -> bool {
        self.holding + 1 >= self.chain.len()
    }

    /// The same chain held by `chain[holding]`.
    /// An index outside the chain here is our bug (the machine decided it), not the caller's.
    fn held_by(&self, holding: usize) -> Result<Self, DomainError> {
        Self::new(self.chain.clone(), holding)
            .map_err(|_| DomainError::config("chain", "the holding index is outside the chain"))
    }
}

/// Hours one volunteer served on an order.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ServedHours {
    /// Who.
    pub volunteer: VolunteerId,
    /// How long.
    pub hours: Hours,
}

/// The holding level's receive deadline, set while an order awaits receipt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReceiveDeadline {
    /// When the holding unit must have received it.
    pub at: DateTime<Utc>,
    /// When to remind the holding unit (once), if reminders are on.
    pub remind_at: Option<DateTime<Utc>>,
}

/// A citizen's order.
#[derive(Debug, Clone, PartialEq)]
pub struct Order {
    /// Internal id (UUIDv7).
    pub id: OrderId,
    /// Public number shown to the citizen.
    pub number: String,
    /// The placing citizen's subject.
    pub citizen: String,
    /// The citizen's idempotency key.
    pub idempotency_key: String,
    /// Menu category code.
    pub category: String,
    /// What the citizen needs.
    pub description: String,
    /// Answers to the category's form, by field key.
    pub form: BTreeMap<String, String>,
    /// Where the service is needed.
    pub location: Coordinates,
    /// When the citizen would like it.
    pub preferred_at: Option<DateTime<Utc>>,
    /// The contact phone, sealed (AES-GCM ciphertext); only the service opens it.
    pub phone_cipher: Vec<u8>,
    /// Photo URLs.
    pub photos: Vec<String>,
    /// Where it stands.
    pub state: OrderState,
    /// Bumped by every move; the condition of every stored write.
    pub version: i64,
    /// District code.
    pub district: String,
    /// The courtyard routing found, if any.
    pub courtyard: Option<UnitId>,
    /// The chain and its holding unit.
    pub route: Route,
    /// Why routing did what it did, when not the usual.
    pub routing_note: String,
    /// An earlier order of the same category close by.
    pub duplicate_of: Option<OrderId>,
    /// Volunteers still dispatched.
    pub dispatched: Vec<VolunteerId>,
    /// The dispatched team.
    pub team: Option<TeamId>,
    /// The legal-aid station it is dispatched to (a legal category).
    pub legal_aid_station: Option<uuid::Uuid>,
    /// Volunteers who accepted.
    pub accepted: Vec<VolunteerId>,
    /// Volunteers who declined.
    pub declined: Vec<VolunteerId>,
    /// Hours per volunteer, once completed.
    pub hours: Vec<ServedHours>,
    /// The citizen's rating, once rated.
    pub rating: Option<Rating>,
    /// The rating's comment.
    pub rating_comment: Option<String>,
    /// Why the citizen cancelled.
    pub cancel_reason: Option<String>,
    /// When placed.
    pub placed_at: DateTime<Utc>,
    /// Last move.
    pub updated_at: DateTime<Utc>,
    /// The receive deadline while the order awaits receipt.
    pub deadline: Option<ReceiveDeadline>,
    /// When the overdue alert went out at the center (once).
    pub alerted_at: Option<DateTime<Utc>>,
    /// How it came in: the channel, the link back, the resident it was filed for.
    pub intake: Intake,
    /// The reply's outcome text for the resident (结果反馈), once completed.
    pub outcome: Option<String>,
}

/// Everything a new order is made of, parsed and routed by the service.
#[derive(Debug, Clone)]
pub struct Placement {
    /// New id.
    pub id: OrderId,
    /// Public number.
    pub number: String,
    /// The citizen's subject.
    pub citizen: String,
    /// The citizen's idempotency key.
    pub idempotency_key: String,
    /// Menu category code.
    pub category: String,
    /// What is needed.
    pub description: String,
    /// Checked form answers.
    pub form: BTreeMap<String, String>,
    /// Where.
    pub location: Coordinates,
    /// When the citizen would like it.
    pub preferred_at: Option<DateTime<Utc>>,
    /// The sealed contact phone.
    pub phone_cipher: Vec<u8>,
    /// Checked photo URLs.
    pub photos: Vec<String>,
    /// District code.
    pub district: String,
    /// The covering courtyard, if routing found one.
    pub courtyard: Option<UnitId>,
    /// Where routing put it.
    pub route: Route,
    /// Why routing did something unusual; empty otherwise.
    pub routing_note: String,
    /// A likely earlier duplicate.
    pub duplicate_of: Option<OrderId>,
    /// The holding level's deadline.
    pub deadline: ReceiveDeadline,
    /// Now.
    pub at: DateTime<Utc>,
}

impl Order {
    /// A new order: placed, version 1, nobody dispatched, the holding level's deadline
    /// running.
    pub fn place(p: Placement) -> Self {
        Self {
            id: p.id,
            number: p.number,
            citizen: p.citizen,
            idempotency_key: p.idempotency_key,
            category: p.category,
            description: p.description,
            form: p.form,
            location: p.location,
            preferred_at: p.preferred_at,
            phone_cipher: p.phone_cipher,
            photos: p.photos,
            state: OrderState::Placed,
            version: 1,
            district: p.district,
            courtyard: p.courtyard,
            route: p.route,
            routing_note: p.routing_note,
            duplicate_of: p.duplicate_of,
            dispatched: Vec::new(),
            team: None,
            legal_aid_station: None,
            accepted: Vec::new(),
            declined: Vec::new(),
            hours: Vec::new(),
            rating: None,
            rating_comment: None,
            cancel_reason: None,
            placed_at: p.at,
            updated_at: p.at,
            deadline: Some(p.deadline),
            alerted_at: None,
            intake: Intake::mini_program(),
            outcome: None,
        }
    }

    /// A new order filed by staff on behalf of a resident: as [`Order::place`], with the
    /// channel, the link back and the resident (whose phone is `p.phone_cipher`).
    pub fn file_on_behalf(p: Placement, intake: Intake) -> Self {
        Self {
            intake,
            ..Self::place(p)
        }
    }

    /// The order completed with `outcome` as the reply's text (checked by
    /// [`super::intake::outcome`]).
    pub fn with_outcome(mut self, outcome: Option<String>) -> Self {
        if self.state == OrderState::Completed {
            self.outcome = outcome;
        }
        self
    }

    /// The unit holding the order now.
    pub fn holding_unit(&self) -> &ChainUnit {
        self.route.holding_unit()
    }

    /// What the state machine needs to know.
    pub fn facts(&self) -> Facts<'_> {
        Facts {
            state: self.state,
            citizen: &self.citizen,
            chain: self.route.chain(),
            holding: self.route.holding(),
            dispatched: &self.dispatched,
            team: self.team,
            accepted: &self.accepted,
            legal_aid_station: self.legal_aid_station,
        }
    }

    /// The volunteers an event or a client names: those who accepted, else those
    /// dispatched.
    pub fn volunteers(&self) -> &[VolunteerId] {
        if self.accepted.is_empty() {
            &self.dispatched
        } else {
            &self.accepted
        }
    }

    /// The order after `command` by `actor`, as `outcome` (from `decide`) says, at `now`.
    /// `restarted` is the new holding level's deadline when `outcome.restart_deadline`;
    /// `note` is the move's note (the rating's comment for a rating).
    pub fn apply(
        &self,
        actor: &Actor<'_>,
        command: &Command,
        outcome: Outcome,
        note: &str,
        now: DateTime<Utc>,
        restarted: Option<ReceiveDeadline>,
    ) -> Result<Self, DomainError> {
        let mut next = self.clone();
        next.state = outcome.to;
        next.version = self.version + 1;
        next.updated_at = now;
        next.route = self.route.held_by(outcome.holding)?;
        next.dispatched = outcome.dispatched;
        next.team = outcome.team;
        next.legal_aid_station = outcome.legal_aid_station;
        next.accepted = outcome.accepted;
        if outcome.restart_deadline {
            next.deadline = Some(restarted.ok_or_else(|| {
                DomainError::config("deadline", "a restarted deadline was not given")
            })?);
            next.alerted_at = None;
        } else if !outcome.to.awaits_receipt() {
            next.deadline = None;
        }
        match command {
            Command::Decline { .. } => {
                if let Actor::Volunteer { id: Some(v) } = actor {
                    next.declined.push(*v);
                }
            }
            Command::Complete { hours } => {
                next.hours = hours
                    .iter()
                    .map(|(volunteer, hours)| ServedHours {
                        volunteer: *volunteer,
                        hours: *hours,
                    })
                    .collect();
            }
            Command::Rate { rating } => {
                next.rating = Some(*rating);
                next.rating_comment = Some(note.to_owned()).filter(|c| !c.is_empty());
            }
            Command::Cancel { reason } => next.cancel_reason = Some(reason.clone()),
            _ => {}
        }
        Ok(next)
    }

    /// The order once its reminder went out: the reminder is not due again. No version
    /// bump: a notice must not make a concurrent move fail.
    pub fn reminded(&self) -> Self {
        let mut next = self.clone();
        if let Some(d) = &mut next.deadline {
            d.remind_at = None;
        }
        next
    }

    /// The order once the overdue alert went out at `now` (no version bump either).
    pub fn alerted(&self, now: DateTime<Utc>) -> Self {
        let mut next = self.clone();
        next.alerted_at = Some(now);
        next
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Level;
    use crate::domain::machine::decide;
    use uuid::Uuid;

    fn chain() -> Vec<ChainUnit> {
        [("/rc/a/b", Level::Station), ("/rc", Level::Center)]
            .iter()
            .map(|(p, l)| ChainUnit {
                id: UnitId(Uuid::new_v5(&Uuid::NAMESPACE_URL, p.as_bytes())),
                path: (*p).to_owned(),
                level: *l,
            })
            .collect()
    }

    fn placed() -> Order {
        let at = Utc::now();
        Order::place(Placement {
            id: OrderId(Uuid::now_v7()),
            number: "RC1".into(),
            citizen: "alice".into(),
            idempotency_key: "k".into(),
            category: "c".into(),
            description: "d".into(),
            form: BTreeMap::new(),
            location: Coordinates::parse(29.4, 105.5).expect("point"),
            preferred_at: None,
            phone_cipher: vec![1, 2, 3],
            photos: vec![],
            district: "rc".into(),
            courtyard: None,
            route: Route::new(chain(), 0).expect("route"),
            routing_note: String::new(),
            duplicate_of: None,
            deadline: ReceiveDeadline {
                at,
                remind_at: None,
            },
            at,
        })
    }

    #[test]
    fn a_route_keeps_its_holding_unit_inside_the_chain() {
        assert!(Route::new(vec![], 0).is_err());
        assert!(Route::new(chain(), 2).is_err());
        let r = Route::new(chain(), 1).expect("route");
        assert_eq!(r.holding_unit().level, Level::Center);
        assert!(r.at_top());
        assert_eq!(r.routed_unit().path, "/rc/a/b");
    }

    #[test]
    fn escalating_moves_the_holding_unit_and_restarts_the_deadline() {
        let order = placed();
        let staff = Actor::Staff {
            subject: "s",
            scope: Some("/rc/a"),
        };
        let received = order
            .apply(
                &staff,
                &Command::Receive,
                decide(&order.facts(), &staff, &Command::Receive).expect("receive"),
                "",
                order.placed_at,
                None,
            )
            .expect("apply");
        assert_eq!(received.state, OrderState::Received);
        assert_eq!(received.version, 2);
        assert_eq!(received.deadline, None);
        let top = Actor::Staff {
            subject: "s",
            scope: Some("/rc"),
        };
        let escalate = Command::Escalate { reason: "r".into() };
        let outcome = decide(&received.facts(), &top, &escalate).expect("escalate");
        // A restart without its deadline is our bug, not a silent "no deadline".
        assert!(
            received
                .apply(&top, &escalate, outcome.clone(), "r", order.placed_at, None)
                .is_err()
        );
        let deadline = ReceiveDeadline {
            at: order.placed_at,
            remind_at: None,
        };
        let up = received
            .apply(
                &top,
                &escalate,
                outcome,
                "r",
                order.placed_at,
                Some(deadline),
            )
            .expect("apply");
        assert_eq!(up.holding_unit().path, "/rc");
        assert_eq!(up.deadline, Some(deadline));
    }

    #[test]
    fn notices_change_no_version() {
        let order = placed();
        let now = Utc::now();
        assert_eq!(order.alerted(now).version, order.version);
        assert_eq!(order.alerted(now).alerted_at, Some(now));
        assert_eq!(order.reminded().version, order.version);
    }
}
