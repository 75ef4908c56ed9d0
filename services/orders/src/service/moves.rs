//! Moving an order: parse, ask the state machine, then in ONE transaction a conditional
//! UPDATE on (id, version), the timeline row and the outbox event. Of two racing moves the
//! UPDATE lets exactly one through; the other gets CONFLICT naming the state it lost to.

use chrono::{DateTime, Duration, Utc};
use sea_orm::{ConnectionTrait, TransactionTrait};
use tongxin_platform::auth::Role;
use tongxin_platform::db::classify;
use tongxin_platform::events::outbox;
use uuid::Uuid;

use super::{Caller, OrderView, Orders};
use crate::domain::machine::{self, Actor, Assignee, Command};
use crate::domain::order::{Order, ReceiveDeadline};
use crate::domain::{
    DomainError, Hours, Level, OrderId, Rating, TeamId, VolunteerId, intake, text,
};
use crate::error::OrdersError;
use crate::events;
use crate::store::{arrivals, categories, orders, timeline};

/// A move as a front door receives it, before parsing.
#[derive(Debug, Clone)]
pub enum Move {
    /// Staff take it.
    Receive {
        /// Optional note.
        note: String,
    },
    /// Staff pass it up.
    Escalate {
        /// Required reason.
        reason: String,
    },
    /// Staff send it to volunteers, a team or a legal-aid station (exactly one of the
    /// three).
    Dispatch {
        /// Volunteer ids.
        volunteers: Vec<Uuid>,
        /// Team id.
        team: Option<Uuid>,
        /// Legal-aid station id.
        legal_aid_station: Option<Uuid>,
        /// Optional note.
        note: String,
    },
    /// A dispatched volunteer takes it.
    Accept,
    /// A dispatched volunteer declines.
    Decline {
        /// Required reason.
        reason: String,
    },
    /// Work starts.
    Start,
    /// Work is done.
    Complete {
        /// Hours per volunteer.
        hours: Vec<(Uuid, f64)>,
        /// Optional note.
        note: String,
        /// The reply's outcome text for the resident (结果反馈): at most 1000 characters,
        /// required when the order was filed on behalf of a resident.
        outcome: String,
    },
    /// The owner rates it.
    Rate {
        /// 1..=5.
        rating: i64,
        /// Optional comment.
        comment: String,
    },
    /// The owner cancels it.
    Cancel {
        /// Required reason.
        reason: String,
    },
}

impl Move {
    fn parse(self) -> Result<(Command, String), DomainError> {
        Ok(match self {
            Move::Receive { note } => (Command::Receive, text("note", &note, false, 500)?),
            Move::Escalate { reason } => {
                let reason = text("reason", &reason, true, 500)?;
                (
                    Command::Escalate {
                        reason: reason.clone(),
                    },
                    reason,
                )
            }
            Move::Dispatch {
                volunteers,
                team,
                legal_aid_station,
                note,
            } => {
                let to = match (volunteers.is_empty(), team, legal_aid_station) {
                    (false, None, None) => {
                        if volunteers.len() > 20 {
                            return Err(DomainError::invalid("volunteer_ids", "at most 20"));
                        }
                        let mut ids: Vec<VolunteerId> =
                            volunteers.into_iter().map(VolunteerId).collect();
                        ids.sort();
                        ids.dedup();
                        Assignee::Volunteers(ids)
                    }
                    (true, Some(team), None) => Assignee::Team(TeamId(team)),
                    (true, None, Some(station)) => Assignee::LegalAidStation(station),
                    _ => {
                        return Err(DomainError::invalid(
                            "dispatch",
                            "give one of: volunteer ids, a team id, a legal-aid station id",
                        ));
                    }
                };
                (Command::Dispatch { to }, text("note", &note, false, 500)?)
            }
            Move::Accept => (Command::Accept, String::new()),
            Move::Decline { reason } => {
                let reason = text("reason", &reason, true, 500)?;
                (
                    Command::Decline {
                        reason: reason.clone(),
                    },
                    reason,
                )
            }
            Move::Start => (Command::Start, String::new()),
            Move::Complete { hours, note, .. } => {
                if hours.is_empty() {
                    return Err(DomainError::invalid(
                        "hours",
                        "at least one volunteer's hours",
                    ));
                }
                let hours = hours
                    .into_iter()
                    .map(|(v, h)| Ok((VolunteerId(v), Hours::parse(h)?)))
                    .collect::<Result<Vec<_>, DomainError>>()?;
                (
                    Command::Complete { hours },
                    text("note", &note, false, 500)?,
                )
            }
            Move::Rate { rating, comment } => (
                Command::Rate {
                    rating: Rating::parse(rating)?,
                },
                text("comment", &comment, false, 500)?,
            ),
            Move::Cancel { reason } => {
                let reason = text("reason", &reason, true, 500)?;
                (
                    Command::Cancel {
                        reason: reason.clone(),
                    },
                    reason,
                )
            }
        })
    }
}

/// The role a caller acts in for `command`: a principal may hold several roles; the one
/// the move is meant for wins. Acting as a volunteer needs to know which one: UNAVAILABLE
/// when volunteers could not say.
fn actor_for<'a>(caller: &'a Caller, command: &Command) -> Result<Actor<'a>, OrdersError> {
    let p = &caller.principal;
    let staff = || Actor::Staff {
        subject: &p.subject,
        scope: caller.scope.as_ref().map(|s| s.as_str()),
    };
    let volunteer = || -> Result<Actor<'a>, OrdersError> {
        Ok(Actor::Volunteer {
            id: caller.volunteer.for_move()?,
        })
    };
    let citizen = || Actor::Citizen {
        subject: &p.subject,
    };
    let prefer: [Role; 3] = match command {
        Command::Receive
        | Command::Escalate { .. }
        | Command::AutoEscalate
        | Command::Dispatch { .. } => [Role::Staff, Role::Volunteer, Role::Citizen],
        Command::Accept
        | Command::Decline { .. }
        | Command::Start
        | Command::Unbook
        | Command::Complete { .. } => [Role::Volunteer, Role::Staff, Role::Citizen],
        Command::Rate { .. } | Command::Cancel { .. } => {
            [Role::Citizen, Role::Staff, Role::Volunteer]
        }
    };
    for role in prefer {
        match role {
            Role::Staff if p.is_staff() => return Ok(staff()),
            Role::Volunteer if p.has_role(Role::Volunteer) => return volunteer(),
            Role::Citizen if p.has_role(Role::Citizen) => return Ok(citizen()),
            _ => {}
        }
    }
    Ok(citizen())
}

/// Who made a move, for the timeline and the event.
pub(crate) struct MoveActor<'a> {
    pub actor: Actor<'a>,
    pub subject: &'a str,
}

impl Orders {
    /// Makes `mv` on order `id` as `caller`.
    #[tracing::instrument(skip_all, fields(order_id = %id, actor = %caller.principal.subject))]
    pub async fn make_move(
        &self,
        caller: &Caller,
        id: OrderId,
        mv: Move,
    ) -> Result<OrderView, OrdersError> {
        let outcome_text = match &mv {
            Move::Complete { outcome, .. } => Some(outcome.clone()),
            _ => None,
        };
        let (command, note) = mv.parse()?;
        let row = orders::get(&self.db, id.0)
            .await?
            .ok_or_else(|| DomainError::NotFound("no such order".to_owned()))?;
        let order = orders::parse(row)?;
        // NOT_FOUND for anyone who may not see the order, before the rules of the move say
        // FORBIDDEN (which would tell them it exists).
        Self::sight(caller, &order)?;
        // The reply is checked with the rest of the input, before anything is written.
        let outcome = match &outcome_text {
            Some(text) => intake::outcome(text, order.intake.on_behalf())?,
            None => None,
        };
        let actor = MoveActor {
            actor: actor_for(caller, &command)?,
            subject: &caller.principal.subject,
        };
        if let Command::Dispatch { to } = &command {
            // Refuse a move that is not allowed before asking volunteers about its targets
            // (and without revealing to someone out of scope which ids exist).
            machine::decide(&order.facts(), &actor.actor, &command)?;
            let handling = match categories::get(&self.db, &order.category).await? {
                Some(row) => row.category()?.handling,
                None => crate::domain::menu::Handling::Volunteers,
            };
            self.check_assignee(&caller.principal, to, &handling)
                .await?;
        }
        let txn = self.db.begin().await.map_err(classify)?;
        let moved = self
            .apply_with(&txn, &order, &actor, &command, &note, self.now(), outcome)
            .await?;
        let Some(moved) = moved else {
            drop(txn);
            // The state the move lost to; a row that no longer parses is INTERNAL.
            let state = match orders::get(&self.db, id.0).await? {
                Some(row) => orders::parse(row)?.state.as_str(),
                None => "gone",
            };
            return Err(DomainError::WrongState {
                state,
                action: command.action(),
            }
            .into());
        };
        txn.commit().await.map_err(classify)?;
        self.waker.wake();
        tracing::info!(state = moved.state.as_str(), "order moved");
        self.view(caller, moved)
    }

    /// Decides and writes one move inside `txn`. `Ok(None)`: the row changed since it was
    /// read (a racing move won); nothing was written.
    pub(crate) async fn apply<C: ConnectionTrait>(
        &self,
        txn: &C,
        order: &Order,
        who: &MoveActor<'_>,
        command: &Command,
        note: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Order>, OrdersError> {
        self.apply_with(txn, order, who, command, note, now, None)
            .await
    }

    /// [`Self::apply`] with the reply's outcome text for a completion (checked by the
    /// caller). Completing an order filed on behalf of a resident also raises
    /// `tongxin.orders.reply_due` (ids only) in the same transaction.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn apply_with<C: ConnectionTrait>(
        &self,
        txn: &C,
        order: &Order,
        who: &MoveActor<'_>,
        command: &Command,
        note: &str,
        now: DateTime<Utc>,
        reply: Option<String>,
    ) -> Result<Option<Order>, OrdersError> {
        let outcome = machine::decide(&order.facts(), &who.actor, command)?;
        let restarted = match order.route.chain().get(outcome.holding) {
            Some(unit) if outcome.restart_deadline => {
                let sla = self.sla_minutes(txn, &order.category, unit.level).await?;
                Some(ReceiveDeadline {
                    at: now + Duration::minutes(sla),
                    remind_at: self.remind_at(now, sla),
                })
            }
            _ => None,
        };
        let next = order
            .apply(&who.actor, command, outcome, note, now, restarted)?
            .with_outcome(reply);

        if !orders::update_if_version(txn, &orders::Model::from(&next), order.version).await? {
            return Ok(None);
        }
        let holding = next.holding_unit();
        let arrival = if events::is_arrival(command.event()) {
            Some(arrivals::next(txn, holding.id.0).await?)
        } else {
            None
        };
        timeline::append(
            txn,
            timeline::Model {
                id: Uuid::now_v7(),
                order_id: next.id.0,
                from_state: Some(order.state.into()),
                to_state: next.state.into(),
                event: command.event().to_owned(),
                actor: who.subject.to_owned(),
                role: who.actor.role().to_owned(),
                unit_id: holding.id.0,
                unit_path: holding.path.clone(),
                level: holding.level,
                note: note.to_owned(),
                at: now,
                version: next.version,
                arrival,
            },
        )
        .await?;
        // A citizen's own words (a rating comment, a reason to cancel) stay in the timeline,
        // which the service shows by scope; events carry no personal data, and free text
        // may hold any.
        let event_note = match who.actor {
            Actor::Citizen { .. } => "",
            _ => note,
        };
        let mut body = events::order_changed_pb(
            &next,
            Some(order.state),
            who.subject,
            event_note,
            now,
            arrival,
        );
        if matches!(
            command,
            Command::Dispatch {
                to: Assignee::LegalAidStation(_),
            } | Command::Unbook
        ) {
            // The station learns which service to book from the dispatch (and from the
            // `order_dispatched` of a slot given up, which must read like one).
            body.legal_service = match categories::get(txn, &order.category).await? {
                Some(row) => row.category()?.handling.legal_service().map(str::to_owned),
                None => None,
            };
        }
        outbox::enqueue(
            txn,
            &events::subject(command.event()),
            events::SOURCE,
            prost::Message::encode_to_vec(&body),
        )
        .await?;
        if matches!(command, Command::Complete { .. }) && next.intake.on_behalf() {
            outbox::enqueue(
                txn,
                events::REPLY_DUE,
                events::SOURCE,
                events::reply_due(&next, now),
            )
            .await?;
        }
        Ok(Some(next))
    }

    async fn sla_minutes<C: ConnectionTrait>(
        &self,
        conn: &C,
        category: &str,
        level: Level,
    ) -> Result<i64, OrdersError> {
        let sla = match categories::get(conn, category).await? {
            Some(m) => m.category()?.sla,
            None => crate::domain::menu::Sla::default(),
        };
        Ok(i64::from(sla.minutes(level)))
    }
}
