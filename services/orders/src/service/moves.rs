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
use crate::domain::machine::{self, Actor, Assignee, Command, Facts};
use crate::domain::{
    DomainError, Hours, Level, OrderId, OrderState, Rating, TeamId, VolunteerId, text,
};
use crate::error::OrdersError;
use crate::events::{self, StoredHours};
use crate::store::{categories, orders, timeline};

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
    /// Staff send it to volunteers or a team (exactly one of the two).
    Dispatch {
        /// Volunteer ids.
        volunteers: Vec<Uuid>,
        /// Team id.
        team: Option<Uuid>,
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
                note,
            } => {
                let to = match (volunteers.is_empty(), team) {
                    (false, None) => {
                        if volunteers.len() > 20 {
                            return Err(DomainError::invalid("volunteer_ids", "at most 20"));
                        }
                        let mut ids: Vec<VolunteerId> =
                            volunteers.into_iter().map(VolunteerId).collect();
                        ids.sort();
                        ids.dedup();
                        Assignee::Volunteers(ids)
                    }
                    (true, Some(team)) => Assignee::Team(TeamId(team)),
                    _ => {
                        return Err(DomainError::invalid(
                            "dispatch",
                            "give either volunteer ids or a team id",
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
            Move::Complete { hours, note } => {
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
        Command::Accept | Command::Decline { .. } | Command::Start | Command::Complete { .. } => {
            [Role::Volunteer, Role::Staff, Role::Citizen]
        }
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

fn ids(text: &str) -> Vec<VolunteerId> {
    serde_json::from_str::<Vec<Uuid>>(text)
        .unwrap_or_default()
        .into_iter()
        .map(VolunteerId)
        .collect()
}

fn ids_text(ids: &[VolunteerId]) -> String {
    serde_json::to_string(&ids.iter().map(|v| v.0).collect::<Vec<_>>())
        .unwrap_or_else(|_| "[]".into())
}

/// The parts of a stored row the state machine reads, parsed.
struct Stored {
    chain: Vec<machine::ChainUnit>,
    dispatched: Vec<VolunteerId>,
    accepted: Vec<VolunteerId>,
}

impl Stored {
    fn of(row: &orders::Model) -> Self {
        Self {
            chain: events::chain_of(row),
            dispatched: ids(&row.dispatched),
            accepted: ids(&row.accepted),
        }
    }

    fn facts<'a>(&'a self, row: &'a orders::Model) -> Result<Facts<'a>, DomainError> {
        Ok(Facts {
            state: OrderState::parse(&row.state)?,
            citizen: &row.citizen,
            chain: &self.chain,
            holding: usize::try_from(row.holding).unwrap_or(usize::MAX),
            dispatched: &self.dispatched,
            team: row.team_id.map(TeamId),
            accepted: &self.accepted,
        })
    }
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
        let (command, note) = mv.parse()?;
        let row = orders::get(&self.db, id.0)
            .await?
            .ok_or_else(|| DomainError::NotFound("no such order".to_owned()))?;
        let actor = MoveActor {
            actor: actor_for(caller, &command)?,
            subject: &caller.principal.subject,
        };
        if let Command::Dispatch { to } = &command {
            // Refuse a move that is not allowed before asking volunteers about its targets
            // (and without revealing to someone out of scope which ids exist).
            machine::decide(&Stored::of(&row).facts(&row)?, &actor.actor, &command)?;
            self.check_assignee(&caller.principal, to).await?;
        }
        let txn = self.db.begin().await.map_err(classify)?;
        let moved = self
            .apply(&txn, &row, &actor, &command, &note, self.now())
            .await?;
        let Some(moved) = moved else {
            drop(txn);
            let now = orders::get(&self.db, id.0).await?.map(|r| r.state);
            let state = now
                .as_deref()
                .and_then(|s| OrderState::parse(s).ok())
                .map(OrderState::as_str)
                .unwrap_or("gone");
            return Err(DomainError::WrongState {
                state,
                action: command.action(),
            }
            .into());
        };
        txn.commit().await.map_err(classify)?;
        self.waker.wake();
        tracing::info!(state = %moved.state, "order moved");
        self.view(caller, moved)
    }

    /// Decides and writes one move inside `txn`. `Ok(None)`: the row changed since it was
    /// read (a racing move won); nothing was written.
    pub(crate) async fn apply<C: ConnectionTrait>(
        &self,
        txn: &C,
        row: &orders::Model,
        who: &MoveActor<'_>,
        command: &Command,
        note: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<orders::Model>, OrdersError> {
        let stored = Stored::of(row);
        let facts = stored.facts(row)?;
        let state = facts.state;
        let outcome = machine::decide(&facts, &who.actor, command)?;
        let chain = &stored.chain;
        let holding = &chain[outcome.holding];

        let mut next = row.clone();
        next.state = outcome.to.as_str().to_owned();
        next.version = row.version + 1;
        next.updated_at = now;
        next.holding = outcome.holding as i32;
        next.holding_unit_id = holding.id.0;
        next.holding_unit_path = holding.path.clone();
        next.holding_level = holding.level.as_str().to_owned();
        next.dispatched = ids_text(&outcome.dispatched);
        next.team_id = outcome.team.map(|t| t.0);
        next.accepted = ids_text(&outcome.accepted);
        if outcome.restart_deadline {
            let sla = self
                .sla_minutes(txn, &row.category_code, holding.level)
                .await?;
            next.deadline_at = Some(now + Duration::minutes(sla));
            next.remind_at = self.remind_at(now, sla);
            next.alerted_at = None;
        } else if !outcome.to.awaits_receipt() {
            next.deadline_at = None;
            next.remind_at = None;
        }
        match command {
            Command::Decline { .. } => {
                let mut declined = ids(&row.declined);
                declined.extend(caller_volunteer(&who.actor));
                next.declined = ids_text(&declined);
            }
            Command::Complete { hours } => {
                let stored: Vec<StoredHours> = hours
                    .iter()
                    .map(|(v, h)| StoredHours {
                        volunteer_id: v.0,
                        hours: h.get(),
                    })
                    .collect();
                next.hours = serde_json::to_string(&stored).unwrap_or_else(|_| "[]".into());
            }
            Command::Rate { rating } => {
                next.rating = Some(i16::from(rating.get()));
                next.rating_comment = Some(note.to_owned()).filter(|c| !c.is_empty());
            }
            Command::Cancel { reason } => next.cancel_reason = Some(reason.clone()),
            _ => {}
        }

        if !orders::update_if_version(txn, &next, row.version).await? {
            return Ok(None);
        }
        timeline::append(
            txn,
            timeline::Model {
                id: Uuid::now_v7(),
                order_id: row.id,
                from_state: Some(row.state.clone()),
                to_state: next.state.clone(),
                event: command.event().to_owned(),
                actor: who.subject.to_owned(),
                role: who.actor.role().to_owned(),
                unit_id: next.holding_unit_id,
                unit_path: next.holding_unit_path.clone(),
                level: next.holding_level.clone(),
                note: note.to_owned(),
                at: now,
            },
        )
        .await?;
        outbox::enqueue(
            txn,
            &events::subject(command.event()),
            events::SOURCE,
            events::order_changed(&next, Some(state), who.subject, note),
        )
        .await?;
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

fn caller_volunteer(actor: &Actor<'_>) -> Option<VolunteerId> {
    match actor {
        Actor::Volunteer { id } => *id,
        _ => None,
    }
}
