//! The order state machine: which move is allowed from which state, by whom.
//!
//! ```text
//! placed ─receive→ received ─dispatch→ dispatched ─accept→ accepted ─start→ in_progress
//!   │  ▲              │ ▲                 │                                     │
//!   │  │ (scheduler)  │ └──decline (last)─┘                                  complete
//!   │  └─escalate─────┤                                                         ▼
//!   └─escalate(sch.)→ escalated ─receive→ received            completed ─rate→ rated
//! cancel (citizen owner): placed | received | escalated | dispatched → cancelled,
//!                         and accepted → cancelled at a legal-aid station
//! unbook (the station): accepted → dispatched
//! ```
//!
//! Rules decided here, once:
//! - **Who**: a citizen acts only on their own orders (place, cancel, rate); a citizen who
//!   does not own the order is told it does not exist (NOT_FOUND). Staff act on orders held
//!   by a unit in their scope (their unit or below), anyone else with a staff role gets
//!   FORBIDDEN. A volunteer acts (accept, decline, start, complete) only on orders dispatched
//!   to them: a volunteer signs in with their own account, and the volunteers service links
//!   that account to their volunteer record (`GetVolunteerBySubject`, see
//!   `service::identity`); the machine sees only the linked volunteer id. A team dispatch is
//!   accepted by staff in scope on the team's behalf (team membership lives in volunteers),
//!   never by a volunteer.
//! - **Escalate**: staff escalate what they have received (每级必接: a level receives first,
//!   then passes up with a reason); the scheduler escalates what nobody received in time.
//!   Either way the parent becomes the holding unit and must receive it. The center is the
//!   top: nothing escalates from there.
//! - **Decline** takes the volunteer off the dispatch; when nobody dispatched is left the
//!   order returns to `received` at the same unit for a new dispatch.
//! - **A legal-aid station**: an order of a legal category is dispatched to a station (see
//!   `menu::Handling`), and from then on only that station moves it, through the legal-aid
//!   service's events: a booked slot accepts it, the check-in starts it, the logged outcome
//!   completes it ([`Actor::LegalAid`]). Neither a volunteer nor staff make those moves.
//!   A cancelled appointment gives the slot up: the order goes back to `dispatched`
//!   ([`Command::Unbook`]) and its citizen books again or withdraws it. Since a booking is
//!   not yet a visit, the citizen may cancel such an order while it is accepted (the station
//!   then cancels the appointment); once checked in (`in_progress`) it runs its course. An
//!   order a volunteer (or a team) accepted stays uncancellable: people are on their way.
//! - Checks run in this order: existence for citizens, then role and scope (FORBIDDEN), then
//!   the state (CONFLICT naming the current state).

use super::{DomainError, Hours, Level, OrderState, Rating, TeamId, UnitId, VolunteerId};

/// One unit of the chain an order climbs, from where it was routed up to the center.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ChainUnit {
    /// Unit id.
    pub id: UnitId,
    /// Unit path.
    pub path: String,
    /// Its level.
    pub level: Level,
}

/// Who a dispatch went to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Assignee {
    /// One or more volunteers.
    Volunteers(Vec<VolunteerId>),
    /// A team.
    Team(TeamId),
    /// A legal-aid station (its id in the legal-aid service).
    LegalAidStation(uuid::Uuid),
}

/// What the machine needs to know about an order.
#[derive(Debug, Clone)]
pub struct Facts<'a> {
    /// Current state.
    pub state: OrderState,
    /// The placing citizen's subject.
    pub citizen: &'a str,
    /// From the routed unit up to the center.
    pub chain: &'a [ChainUnit],
    /// Index of the holding unit in `chain`.
    pub holding: usize,
    /// Volunteers the order is dispatched to (still in the running).
    pub dispatched: &'a [VolunteerId],
    /// The team it is dispatched to, if any.
    pub team: Option<TeamId>,
    /// The volunteers who accepted.
    pub accepted: &'a [VolunteerId],
    /// The legal-aid station it is dispatched to, if any.
    pub legal_aid_station: Option<uuid::Uuid>,
}

impl Facts<'_> {
    /// The unit holding the order now.
    pub fn holding_unit(&self) -> Option<&ChainUnit> {
        self.chain.get(self.holding)
    }
}

/// Who acts.
#[derive(Debug, Clone)]
pub enum Actor<'a> {
    /// A resident.
    Citizen {
        /// Token subject.
        subject: &'a str,
    },
    /// Staff with their scope path, if their unit is known.
    Staff {
        /// Token subject.
        subject: &'a str,
        /// Their unit's path.
        scope: Option<&'a str>,
    },
    /// A volunteer, as the volunteer record their account is linked to.
    Volunteer {
        /// The linked volunteer id; `None` when the account has no volunteer record.
        id: Option<VolunteerId>,
    },
    /// The deadline scheduler.
    Scheduler,
    /// A legal-aid station, as its events tell (booked, checked in, outcome logged).
    LegalAid {
        /// The station whose event it is.
        station: uuid::Uuid,
    },
}

impl Actor<'_> {
    /// The role name for the timeline.
    pub fn role(&self) -> &'static str {
        match self {
            Self::Citizen { .. } => "citizen",
            Self::Staff { .. } => "staff",
            Self::Volunteer { .. } => "volunteer",
            Self::Scheduler => "scheduler",
            Self::LegalAid { .. } => "legal_aid",
        }
    }
}

/// A requested move with its parsed arguments.
#[derive(Debug, Clone)]
pub enum Command {
    /// Staff take it at the holding level.
    Receive,
    /// Staff pass it up, with a reason.
    Escalate {
        /// Why.
        reason: String,
    },
    /// The receive deadline passed (scheduler only).
    AutoEscalate,
    /// Staff send it to volunteers or a team.
    Dispatch {
        /// To whom.
        to: Assignee,
    },
    /// A dispatched volunteer (or staff for a team) takes it.
    Accept,
    /// A dispatched volunteer declines, with a reason.
    Decline {
        /// Why.
        reason: String,
    },
    /// Work starts.
    Start,
    /// The station's booking for the order was cancelled: it waits for a new one (the
    /// station only).
    Unbook,
    /// Work is done, hours per volunteer.
    Complete {
        /// Hours of each volunteer who served.
        hours: Vec<(VolunteerId, Hours)>,
    },
    /// The owner rates it.
    Rate {
        /// Stars.
        rating: Rating,
    },
    /// The owner withdraws it before acceptance (at a legal-aid station: before the visit).
    Cancel {
        /// Why.
        reason: String,
    },
}

impl Command {
    /// The verb, for messages.
    pub fn action(&self) -> &'static str {
        match self {
            Self::Receive => "receive",
            Self::Escalate { .. } | Self::AutoEscalate => "escalate",
            Self::Dispatch { .. } => "dispatch",
            Self::Accept => "accept",
            Self::Decline { .. } => "decline",
            Self::Start => "start",
            Self::Unbook => "unbook",
            Self::Complete { .. } => "complete",
            Self::Rate { .. } => "rate",
            Self::Cancel { .. } => "cancel",
        }
    }

    /// The event name: `tongxin.orders.order_<event>`.
    pub fn event(&self) -> &'static str {
        match self {
            Self::Receive => "received",
            Self::Escalate { .. } | Self::AutoEscalate => "escalated",
            Self::Dispatch { .. } => "dispatched",
            Self::Accept => "accepted",
            Self::Decline { .. } => "declined",
            Self::Start => "started",
            // The order stands dispatched to its station again (no event of its own: the
            // catalog's `order_dispatched`, with `previous_state` accepted).
            Self::Unbook => "dispatched",
            Self::Complete { .. } => "completed",
            Self::Rate { .. } => "rated",
            Self::Cancel { .. } => "cancelled",
        }
    }
}

/// What a permitted move changes.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// The state after the move.
    pub to: OrderState,
    /// The holding unit's index after the move.
    pub holding: usize,
    /// Whether the holding level's receive deadline starts afresh.
    pub restart_deadline: bool,
    /// Volunteers still dispatched after the move.
    pub dispatched: Vec<VolunteerId>,
    /// Team after the move.
    pub team: Option<TeamId>,
    /// Volunteers who accepted after the move.
    pub accepted: Vec<VolunteerId>,
    /// The legal-aid station after the move.
    pub legal_aid_station: Option<uuid::Uuid>,
}

fn not_found() -> DomainError {
    DomainError::NotFound("no such order".to_owned())
}

const STAFF_MOVE: &str = "only staff whose scope covers the unit holding the order may do this";
const TEAM_MOVE: &str =
    "a team dispatch is accepted by staff whose scope covers the unit holding the order";
const VOLUNTEER_MOVE: &str = "only a volunteer the order is dispatched to may accept or decline it";
const OWNER_MOVE: &str = "only the citizen who placed the order may cancel or rate it";
const STATION_MOVE: &str = "an order dispatched to a legal-aid station moves on with the station's visit: the booking accepts it, the check-in starts it, the logged outcome completes it";
const UNBOOK_MOVE: &str = "only the legal-aid station an order is dispatched to gives its slot up";

fn forbidden(message: &str) -> DomainError {
    DomainError::Forbidden(message.to_owned())
}

/// Decides `command` by `actor` on the order described by `facts`.
pub fn decide(
    facts: &Facts<'_>,
    actor: &Actor<'_>,
    command: &Command,
) -> Result<Outcome, DomainError> {
    use OrderState as S;
    let holding = facts
        .holding_unit()
        .ok_or_else(|| DomainError::config("chain", "holding index outside the chain"))?;
    let staff_in_scope = matches!(actor, Actor::Staff { scope: Some(scope), .. }
        if super::scope::UnitPath::parse(scope).is_ok_and(|s| s.covers(&holding.path)));
    let owner = matches!(actor, Actor::Citizen { subject } if *subject == facts.citizen);
    let volunteer = match actor {
        Actor::Volunteer { id: Some(id) } => Some(*id),
        _ => None,
    };
    let the_station = matches!(actor, Actor::LegalAid { station }
        if facts.legal_aid_station == Some(*station));
    let at_station = facts.legal_aid_station.is_some();

    // Who may make the move at all.
    let permitted = match command {
        Command::Receive | Command::Escalate { .. } | Command::Dispatch { .. } => staff_in_scope,
        Command::AutoEscalate => matches!(actor, Actor::Scheduler),
        Command::Accept | Command::Start | Command::Complete { .. } if at_station => the_station,
        Command::Unbook => the_station,
        Command::Accept => match facts.team {
            Some(_) => staff_in_scope,
            None => volunteer.is_some_and(|v| facts.dispatched.contains(&v)),
        },
        Command::Decline { .. } => volunteer.is_some_and(|v| facts.dispatched.contains(&v)),
        Command::Start | Command::Complete { .. } => {
            staff_in_scope || volunteer.is_some_and(|v| facts.accepted.contains(&v))
        }
        Command::Rate { .. } | Command::Cancel { .. } => owner,
    };
    if !permitted {
        // A citizen never learns that someone else's order exists.
        if matches!(actor, Actor::Citizen { .. }) && !owner {
            return Err(not_found());
        }
        // Otherwise say who may make this move.
        return Err(forbidden(match command {
            Command::Receive | Command::Escalate { .. } | Command::Dispatch { .. } => STAFF_MOVE,
            Command::AutoEscalate => "only the scheduler escalates overdue orders",
            Command::Unbook => UNBOOK_MOVE,
            Command::Accept | Command::Start | Command::Complete { .. } if at_station => {
                STATION_MOVE
            }
            Command::Accept if facts.team.is_some() => TEAM_MOVE,
            Command::Accept | Command::Decline { .. } => VOLUNTEER_MOVE,
            Command::Start | Command::Complete { .. } => {
                "only a volunteer who accepted the order, or staff whose scope covers the unit holding it, may do this"
            }
            Command::Rate { .. } | Command::Cancel { .. } => OWNER_MOVE,
        }));
    }

    let wrong = || DomainError::WrongState {
        state: facts.state.as_str(),
        action: command.action(),
    };
    let mut out = Outcome {
        to: facts.state,
        holding: facts.holding,
        restart_deadline: false,
        dispatched: facts.dispatched.to_vec(),
        team: facts.team,
        accepted: facts.accepted.to_vec(),
        legal_aid_station: facts.legal_aid_station,
    };
    match command {
        Command::Receive => {
            if !facts.state.awaits_receipt() {
                return Err(wrong());
            }
            out.to = S::Received;
        }
        Command::Escalate { .. } | Command::AutoEscalate => {
            let allowed = match command {
                Command::AutoEscalate => facts.state.awaits_receipt(),
                _ => facts.state == S::Received,
            };
            if !allowed {
                return Err(wrong());
            }
            if facts.holding + 1 >= facts.chain.len() {
                return Err(DomainError::invalid(
                    "order",
                    "the center is the top level: it handles the order, nothing is above it",
                ));
            }
            out.to = S::Escalated;
            out.holding = facts.holding + 1;
            out.restart_deadline = true;
        }
        Command::Dispatch { to } => {
            if facts.state != S::Received {
                return Err(wrong());
            }
            out.to = S::Dispatched;
            match to {
                Assignee::Volunteers(ids) => {
                    out.dispatched = ids.clone();
                    out.team = None;
                    out.legal_aid_station = None;
                }
                Assignee::Team(team) => {
                    out.dispatched = Vec::new();
                    out.team = Some(*team);
                    out.legal_aid_station = None;
                }
                Assignee::LegalAidStation(station) => {
                    out.dispatched = Vec::new();
                    out.team = None;
                    out.legal_aid_station = Some(*station);
                }
            }
        }
        Command::Accept => {
            if facts.state != S::Dispatched {
                return Err(wrong());
            }
            out.to = S::Accepted;
            out.accepted = volunteer.into_iter().collect();
        }
        Command::Decline { .. } => {
            if facts.state != S::Dispatched {
                return Err(wrong());
            }
            out.dispatched.retain(|v| Some(*v) != volunteer);
            if out.dispatched.is_empty() {
                out.to = S::Received;
            }
        }
        Command::Start => {
            if facts.state != S::Accepted {
                return Err(wrong());
            }
            out.to = S::InProgress;
        }
        Command::Unbook => {
            if facts.state != S::Accepted {
                return Err(wrong());
            }
            out.to = S::Dispatched;
        }
        Command::Complete { hours } => {
            if facts.state != S::InProgress {
                return Err(wrong());
            }
            let served: Vec<VolunteerId> = facts
                .accepted
                .iter()
                .chain(facts.dispatched.iter())
                .copied()
                .collect();
            for (v, _) in hours {
                // A team's members are not known here; for a volunteer dispatch only those
                // dispatched may be credited.
                if facts.team.is_none() && !served.contains(v) {
                    return Err(DomainError::invalid(
                        "hours",
                        format!("volunteer {v} was not dispatched to this order"),
                    ));
                }
            }
            let mut seen = std::collections::HashSet::new();
            if !hours.iter().all(|(v, _)| seen.insert(*v)) {
                return Err(DomainError::invalid("hours", "one entry per volunteer"));
            }
            out.to = S::Completed;
        }
        Command::Rate { .. } => {
            if facts.state != S::Completed {
                return Err(wrong());
            }
            out.to = S::Rated;
        }
        Command::Cancel { .. } => {
            let before_acceptance = matches!(
                facts.state,
                S::Placed | S::Received | S::Escalated | S::Dispatched
            );
            // A station's booking is only a slot: the order may still be withdrawn (the
            // station cancels the appointment when it hears of it).
            let booked_at_station = facts.state == S::Accepted && at_station;
            if !(before_acceptance || booked_at_station) {
                return Err(wrong());
            }
            out.to = S::Cancelled;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn chain() -> Vec<ChainUnit> {
        [
            ("/rc/a/b/c", Level::Courtyard),
            ("/rc/a/b", Level::Station),
            ("/rc/a", Level::Institute),
            ("/rc", Level::Center),
        ]
        .iter()
        .map(|(p, l)| ChainUnit {
            id: UnitId(Uuid::new_v5(&Uuid::NAMESPACE_URL, p.as_bytes())),
            path: (*p).to_owned(),
            level: *l,
        })
        .collect()
    }

    fn facts<'a>(state: OrderState, chain: &'a [ChainUnit], holding: usize) -> Facts<'a> {
        Facts {
            state,
            citizen: "alice",
            chain,
            holding,
            dispatched: &[],
            team: None,
            accepted: &[],
            legal_aid_station: None,
        }
    }

    fn staff(scope: &str) -> Actor<'_> {
        Actor::Staff {
            subject: "s",
            scope: Some(scope),
        }
    }

    const ALICE: Actor<'static> = Actor::Citizen { subject: "alice" };
    const BOB: Actor<'static> = Actor::Citizen { subject: "bob" };

    #[test]
    fn the_whole_loop() {
        let chain = chain();
        let v = VolunteerId(Uuid::now_v7());
        let f = facts(OrderState::Placed, &chain, 0);
        let o = decide(&f, &staff("/rc/a/b/c"), &Command::Receive).expect("receive");
        assert_eq!(o.to, OrderState::Received);
        let f = facts(OrderState::Received, &chain, 0);
        let o = decide(
            &f,
            &staff("/rc/a/b/c"),
            &Command::Dispatch {
                to: Assignee::Volunteers(vec![v]),
            },
        )
        .expect("dispatch");
        assert_eq!(o.dispatched, vec![v]);
        let dispatched = [v];
        let mut f = facts(OrderState::Dispatched, &chain, 0);
        f.dispatched = &dispatched;
        let o = decide(&f, &Actor::Volunteer { id: Some(v) }, &Command::Accept).expect("accept");
        assert_eq!((o.to, o.accepted.clone()), (OrderState::Accepted, vec![v]));
        f.state = OrderState::Accepted;
        f.accepted = &dispatched;
        let o = decide(&f, &Actor::Volunteer { id: Some(v) }, &Command::Start).expect("start");
        assert_eq!(o.to, OrderState::InProgress);
        f.state = OrderState::InProgress;
        let hours = vec![(v, Hours::parse(1.5).expect("h"))];
        let o = decide(
            &f,
            &Actor::Volunteer { id: Some(v) },
            &Command::Complete { hours },
        )
        .expect("complete");
        assert_eq!(o.to, OrderState::Completed);
        f.state = OrderState::Completed;
        let rating = Rating::parse(5).expect("r");
        assert_eq!(
            decide(&f, &ALICE, &Command::Rate { rating }).map(|o| o.to),
            Ok(OrderState::Rated)
        );
        f.state = OrderState::Rated;
        assert_eq!(
            decide(&f, &ALICE, &Command::Rate { rating }),
            Err(DomainError::WrongState {
                state: "rated",
                action: "rate"
            })
        );
    }

    #[test]
    fn escalation_climbs_to_the_center_and_stops() {
        let chain = chain();
        for holding in 0..3 {
            let f = facts(OrderState::Received, &chain, holding);
            let o = decide(
                &f,
                &staff(&chain[holding].path),
                &Command::Escalate { reason: "x".into() },
            )
            .expect("escalate");
            assert_eq!((o.to, o.holding), (OrderState::Escalated, holding + 1));
            assert!(o.restart_deadline);
            // The scheduler escalates what nobody received.
            let f = facts(OrderState::Escalated, &chain, holding);
            let o = decide(&f, &Actor::Scheduler, &Command::AutoEscalate).expect("auto");
            assert_eq!(o.holding, holding + 1);
        }
        let f = facts(OrderState::Received, &chain, 3);
        let top = Err(DomainError::invalid(
            "order",
            "the center is the top level: it handles the order, nothing is above it",
        ));
        assert_eq!(
            decide(&f, &staff("/rc"), &Command::Escalate { reason: "x".into() }),
            top
        );
        let f = facts(OrderState::Escalated, &chain, 3);
        assert_eq!(decide(&f, &Actor::Scheduler, &Command::AutoEscalate), top);
        // Staff must receive before passing up.
        let f = facts(OrderState::Placed, &chain, 0);
        assert_eq!(
            decide(
                &f,
                &staff("/rc/a/b/c"),
                &Command::Escalate { reason: "x".into() }
            ),
            Err(DomainError::WrongState {
                state: "placed",
                action: "escalate"
            })
        );
    }

    #[test]
    fn scope_and_ownership() {
        let chain = chain();
        let f = facts(OrderState::Placed, &chain, 1);
        // The courtyard below the holding station is out of scope; an ancestor is in.
        assert_eq!(
            decide(&f, &staff("/rc/a/b/c"), &Command::Receive),
            Err(forbidden(STAFF_MOVE))
        );
        assert_eq!(
            decide(&f, &staff("/rc"), &Command::Receive).map(|o| o.to),
            Ok(OrderState::Received)
        );
        assert_eq!(
            decide(&f, &staff("/rc/a/bb"), &Command::Receive),
            Err(forbidden(STAFF_MOVE))
        );
        assert_eq!(
            decide(
                &f,
                &Actor::Staff {
                    subject: "s",
                    scope: None
                },
                &Command::Receive
            ),
            Err(forbidden(STAFF_MOVE))
        );
        // Someone else's order does not exist for a citizen; the owner cannot receive.
        let cancel = Command::Cancel { reason: "x".into() };
        assert_eq!(decide(&f, &BOB, &cancel), Err(not_found()));
        assert_eq!(
            decide(&f, &ALICE, &Command::Receive),
            Err(forbidden(STAFF_MOVE))
        );
        assert_eq!(
            decide(&f, &ALICE, &cancel).map(|o| o.to),
            Ok(OrderState::Cancelled)
        );
        // A volunteer not dispatched cannot accept.
        let f = facts(OrderState::Dispatched, &chain, 0);
        assert_eq!(
            decide(
                &f,
                &Actor::Volunteer {
                    id: Some(VolunteerId(Uuid::now_v7()))
                },
                &Command::Accept
            ),
            Err(forbidden(VOLUNTEER_MOVE))
        );
    }

    #[test]
    fn skipped_steps_conflict() {
        let chain = chain();
        let f = facts(OrderState::Placed, &chain, 0);
        let s = staff("/rc");
        for command in [
            Command::Dispatch {
                to: Assignee::Team(TeamId(Uuid::now_v7())),
            },
            Command::Start,
            Command::Complete { hours: vec![] },
        ] {
            assert_eq!(
                decide(&f, &s, &command),
                Err(DomainError::WrongState {
                    state: "placed",
                    action: command.action(),
                }),
                "{command:?}"
            );
        }
        let rating = Rating::parse(3).expect("r");
        assert_eq!(
            decide(&f, &ALICE, &Command::Rate { rating }),
            Err(DomainError::WrongState {
                state: "placed",
                action: "rate"
            })
        );
    }

    /// The owner cancels before acceptance; at a legal-aid station also while only a slot
    /// is booked (accepted), never once the visit began. Volunteer and team orders keep the
    /// old rule: accepted means people are on their way.
    #[test]
    fn the_owner_cancels_before_acceptance_only() {
        let chain = chain();
        let cancel = Command::Cancel { reason: "x".into() };
        let v = [VolunteerId(Uuid::now_v7())];
        let team = TeamId(Uuid::now_v7());
        let station = Uuid::now_v7();
        for state in OrderState::ALL {
            for handled_by in ["volunteer", "team", "station"] {
                let mut f = facts(state, &chain, 0);
                match handled_by {
                    "volunteer" => {
                        f.dispatched = &v;
                        f.accepted = &v;
                    }
                    "team" => f.team = Some(team),
                    _ => f.legal_aid_station = Some(station),
                }
                let expected = match (state, handled_by) {
                    (
                        OrderState::Placed
                        | OrderState::Received
                        | OrderState::Escalated
                        | OrderState::Dispatched,
                        _,
                    )
                    | (OrderState::Accepted, "station") => Ok(OrderState::Cancelled),
                    _ => Err(DomainError::WrongState {
                        state: state.as_str(),
                        action: "cancel",
                    }),
                };
                assert_eq!(
                    decide(&f, &ALICE, &cancel).map(|o| o.to),
                    expected,
                    "{state:?} {handled_by}"
                );
                // Nobody but the owner cancels, in any state: not the station either.
                assert_eq!(decide(&f, &BOB, &cancel), Err(not_found()), "{state:?}");
                for actor in [staff("/rc"), Actor::LegalAid { station }] {
                    assert_eq!(
                        decide(&f, &actor, &cancel),
                        Err(forbidden(OWNER_MOVE)),
                        "{state:?} {handled_by} {actor:?}"
                    );
                }
            }
        }
    }

    /// A cancelled appointment takes an accepted station order back to dispatched: only the
    /// station it is dispatched to, only from accepted.
    #[test]
    fn only_the_station_gives_the_slot_up_and_only_while_accepted() {
        let chain = chain();
        let station = Uuid::now_v7();
        let by_station = Actor::LegalAid { station };
        for state in OrderState::ALL {
            let mut f = facts(state, &chain, 1);
            f.legal_aid_station = Some(station);
            let expected = match state {
                OrderState::Accepted => Ok((OrderState::Dispatched, Some(station))),
                _ => Err(DomainError::WrongState {
                    state: state.as_str(),
                    action: "unbook",
                }),
            };
            assert_eq!(
                decide(&f, &by_station, &Command::Unbook).map(|o| (o.to, o.legal_aid_station)),
                expected,
                "{state:?}"
            );
        }
        let mut f = facts(OrderState::Accepted, &chain, 1);
        f.legal_aid_station = Some(station);
        for actor in [
            Actor::LegalAid {
                station: Uuid::now_v7(),
            },
            staff("/rc"),
            Actor::Volunteer {
                id: Some(VolunteerId(Uuid::now_v7())),
            },
        ] {
            assert_eq!(
                decide(&f, &actor, &Command::Unbook),
                Err(forbidden(UNBOOK_MOVE)),
                "{actor:?}"
            );
        }
        assert_eq!(
            decide(&f, &ALICE, &Command::Unbook),
            Err(forbidden(UNBOOK_MOVE))
        );
        assert_eq!(decide(&f, &BOB, &Command::Unbook), Err(not_found()));
        // A volunteer's accepted order is not the station's to give up.
        let one = [VolunteerId(Uuid::now_v7())];
        let mut g = facts(OrderState::Accepted, &chain, 1);
        g.accepted = &one;
        assert_eq!(
            decide(&g, &by_station, &Command::Unbook),
            Err(forbidden(UNBOOK_MOVE))
        );
    }

    #[test]
    fn staff_in_scope_accept_a_team_dispatch_for_the_team() {
        let chain = chain();
        let team = TeamId(Uuid::now_v7());
        let v = VolunteerId(Uuid::now_v7());
        let mut f = facts(OrderState::Dispatched, &chain, 1);
        f.team = Some(team);
        for scope in ["/rc/a/b", "/rc"] {
            let o = decide(&f, &staff(scope), &Command::Accept).expect("staff accept");
            assert_eq!(o.to, OrderState::Accepted, "{scope}");
            assert_eq!(o.team, Some(team), "{scope}");
            // Nobody in particular accepted: the team did.
            assert!(o.accepted.is_empty(), "{scope}");
        }
        // Below the holding station, beside it, and without a unit: out of scope.
        for scope in ["/rc/a/b/c", "/rc/a/bb"] {
            assert_eq!(
                decide(&f, &staff(scope), &Command::Accept),
                Err(forbidden(TEAM_MOVE)),
                "{scope}"
            );
        }
        // A volunteer (even one who is a member, which the machine cannot know) does not
        // accept for the team.
        assert_eq!(
            decide(&f, &Actor::Volunteer { id: Some(v) }, &Command::Accept),
            Err(forbidden(TEAM_MOVE))
        );
        // Staff accept only a team dispatch: a volunteer dispatch is the volunteer's.
        let only = [v];
        let mut g = facts(OrderState::Dispatched, &chain, 1);
        g.dispatched = &only;
        assert_eq!(
            decide(&g, &staff("/rc"), &Command::Accept),
            Err(forbidden(VOLUNTEER_MOVE))
        );
        // A team's hours are not checked against a dispatch list (members live in volunteers).
        f.state = OrderState::InProgress;
        let h = Hours::parse(2.0).expect("h");
        let o = decide(
            &f,
            &staff("/rc/a/b"),
            &Command::Complete {
                hours: vec![(v, h)],
            },
        )
        .expect("complete");
        assert_eq!((o.to, o.team), (OrderState::Completed, Some(team)));
    }

    #[test]
    fn only_the_station_moves_an_order_dispatched_to_it() {
        let chain = chain();
        let station = Uuid::now_v7();
        let f = facts(OrderState::Received, &chain, 1);
        let o = decide(
            &f,
            &staff("/rc/a/b"),
            &Command::Dispatch {
                to: Assignee::LegalAidStation(station),
            },
        )
        .expect("dispatch");
        assert_eq!(
            (o.to, o.legal_aid_station, o.team, o.dispatched.len()),
            (OrderState::Dispatched, Some(station), None, 0)
        );
        let by_station = Actor::LegalAid { station };
        let other_station = Actor::LegalAid {
            station: Uuid::now_v7(),
        };
        let v = VolunteerId(Uuid::now_v7());
        let steps = [
            (
                OrderState::Dispatched,
                Command::Accept,
                OrderState::Accepted,
            ),
            (OrderState::Accepted, Command::Start, OrderState::InProgress),
            (
                OrderState::InProgress,
                Command::Complete { hours: vec![] },
                OrderState::Completed,
            ),
        ];
        for (state, command, to) in steps {
            let mut f = facts(state, &chain, 1);
            f.legal_aid_station = Some(station);
            assert_eq!(
                decide(&f, &by_station, &command).map(|o| o.to),
                Ok(to),
                "{command:?}"
            );
            // Nobody else: not another station, not staff in scope, not a volunteer.
            for actor in [
                other_station.clone(),
                staff("/rc"),
                Actor::Volunteer { id: Some(v) },
            ] {
                assert_eq!(
                    decide(&f, &actor, &command),
                    Err(forbidden(STATION_MOVE)),
                    "{command:?} by {actor:?}"
                );
            }
        }
        // A station's event does not move a volunteer order.
        let mut f = facts(OrderState::Dispatched, &chain, 1);
        let one = [v];
        f.dispatched = &one;
        assert_eq!(
            decide(&f, &by_station, &Command::Accept),
            Err(forbidden(VOLUNTEER_MOVE))
        );
        // Nobody served in person: a station's order completes without hours.
        let mut f = facts(OrderState::InProgress, &chain, 1);
        f.legal_aid_station = Some(station);
        let h = Hours::parse(1.0).expect("h");
        assert!(
            decide(
                &f,
                &by_station,
                &Command::Complete {
                    hours: vec![(v, h)]
                }
            )
            .is_err()
        );
        // Redispatching to volunteers clears the station (and the other way round).
        let mut f = facts(OrderState::Received, &chain, 1);
        f.legal_aid_station = Some(station);
        let o = decide(
            &f,
            &staff("/rc"),
            &Command::Dispatch {
                to: Assignee::Volunteers(vec![v]),
            },
        )
        .expect("dispatch");
        assert_eq!(o.legal_aid_station, None);
    }

    #[test]
    fn the_last_decline_returns_the_order() {
        let chain = chain();
        let (a, b) = (VolunteerId(Uuid::now_v7()), VolunteerId(Uuid::now_v7()));
        let both = [a, b];
        let mut f = facts(OrderState::Dispatched, &chain, 0);
        f.dispatched = &both;
        let decline = Command::Decline {
            reason: "busy".into(),
        };
        let o = decide(&f, &Actor::Volunteer { id: Some(a) }, &decline).expect("decline");
        assert_eq!(
            (o.to, o.dispatched.clone()),
            (OrderState::Dispatched, vec![b])
        );
        let only = [b];
        f.dispatched = &only;
        let o = decide(&f, &Actor::Volunteer { id: Some(b) }, &decline).expect("decline");
        assert_eq!(o.to, OrderState::Received);
        assert!(o.dispatched.is_empty());
    }

    #[test]
    fn hours_only_for_those_dispatched() {
        let chain = chain();
        let v = VolunteerId(Uuid::now_v7());
        let one = [v];
        let mut f = facts(OrderState::InProgress, &chain, 0);
        f.accepted = &one;
        let stranger = VolunteerId(Uuid::now_v7());
        let h = Hours::parse(1.0).expect("h");
        assert_eq!(
            decide(
                &f,
                &staff("/rc"),
                &Command::Complete {
                    hours: vec![(stranger, h)]
                }
            ),
            Err(DomainError::invalid(
                "hours",
                format!("volunteer {stranger} was not dispatched to this order")
            ))
        );
        assert_eq!(
            decide(
                &f,
                &staff("/rc"),
                &Command::Complete {
                    hours: vec![(v, h), (v, h)]
                }
            ),
            Err(DomainError::invalid("hours", "one entry per volunteer"))
        );
        assert_eq!(
            decide(
                &f,
                &staff("/rc"),
                &Command::Complete {
                    hours: vec![(v, h)]
                }
            )
            .map(|o| o.to),
            Ok(OrderState::Completed)
        );
    }

    /// The verbs and event names are contract: the event subject is
    /// `tongxin.orders.order_<event>`, the timeline records the actor's role, and a
    /// CONFLICT names the action. Each is spelled out here once, so a renamed or blank
    /// one fails before a consumer in another department does.
    #[test]
    fn actions_events_and_roles_are_the_published_names() {
        let v = VolunteerId(Uuid::nil());
        let cases = [
            (Command::Receive, "receive", "received"),
            (
                Command::Escalate {
                    reason: "r".to_owned(),
                },
                "escalate",
                "escalated",
            ),
            (Command::AutoEscalate, "escalate", "escalated"),
            (
                Command::Dispatch {
                    to: Assignee::Volunteers(vec![v]),
                },
                "dispatch",
                "dispatched",
            ),
            (Command::Accept, "accept", "accepted"),
            (
                Command::Decline {
                    reason: "r".to_owned(),
                },
                "decline",
                "declined",
            ),
            (Command::Start, "start", "started"),
            (Command::Unbook, "unbook", "dispatched"),
            (Command::Complete { hours: vec![] }, "complete", "completed"),
            (
                Command::Rate {
                    rating: Rating::parse(4).expect("rating"),
                },
                "rate",
                "rated",
            ),
            (
                Command::Cancel {
                    reason: "r".to_owned(),
                },
                "cancel",
                "cancelled",
            ),
        ];
        for (command, action, event) in cases {
            assert_eq!((command.action(), command.event()), (action, event));
        }
        let roles = [
            (ALICE, "citizen"),
            (staff("/rc"), "staff"),
            (Actor::Volunteer { id: Some(v) }, "volunteer"),
            (Actor::Scheduler, "scheduler"),
            (
                Actor::LegalAid {
                    station: Uuid::nil(),
                },
                "legal_aid",
            ),
        ];
        for (actor, role) in roles {
            assert_eq!(actor.role(), role);
        }
    }
}
