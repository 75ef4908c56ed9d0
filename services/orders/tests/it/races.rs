//! Races that only the conditional UPDATE on `(id, version)` decides: both moves are allowed
//! by the state they read, so without the version condition both would be written.
//!
//! Every round makes both racers read the same version before either writes:
//! - on PostgreSQL the test holds the order row (`FOR UPDATE`) until both racers wait on it
//!   (seen in `pg_stat_activity`), so neither can commit before the other has read; for the
//!   scheduler, which skips locked rows, the test holds the timeline table instead, so the
//!   scheduler holds the row with its move unwritten while the staff member reads and waits;
//! - on SQLite (`tongxin run`: one connection, no row locks) the pool hands its connection
//!   out in turn, so the racer polled second reads the row between the first one's read and
//!   its write transaction.
//!
//! Each round then checks one winner, a CONFLICT naming the winner's state for the loser,
//! and exactly one move in the row's version, the timeline and the outbox.

use std::time::Duration;

use chrono::Utc;
use prost::Message;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder,
    Statement, TransactionTrait,
};
use tokio::sync::oneshot;
use tongxin_orders::domain::{DomainError, OrderId, OrderState};
use tongxin_orders::error::OrdersError;
use tongxin_orders::service::scheduler::Scheduler;
use tongxin_orders::service::{Caller, Move, NewOrder, OrderView};
use tongxin_orders::store::orders;
use tongxin_platform::events::outbox::entity as outbox;
use uuid::Uuid;

use crate::{CAIJIABA_POINT, Store, TestApp, paths};

/// Rounds per race and store: enough for both orders of polling and both winners, and
/// still a second or two per race.
const ROUNDS: usize = 20;

type Moved = Result<OrderView, OrdersError>;

/// What one order looked like just before the race.
struct Before {
    id: OrderId,
    version: i64,
    timeline: Vec<String>,
    outbox: Vec<String>,
}

/// Subjects of the outbox events about order `id`, in commit order.
async fn outbox_subjects(app: &TestApp, id: OrderId) -> Vec<String> {
    outbox::Entity::find()
        .filter(outbox::Column::Subject.starts_with("tongxin.orders."))
        .order_by_asc(outbox::Column::Seq)
        .all(&app.db)
        .await
        .expect("outbox")
        .into_iter()
        .filter(|e| {
            tongxin_proto::events::OrderChanged::decode(e.payload.as_slice())
                .is_ok_and(|body| body.order_id == id.0.to_string())
        })
        .map(|e| e.subject)
        .collect()
}

async fn row(app: &TestApp, id: OrderId) -> orders::Model {
    orders::get(&app.db, id.0).await.expect("get").expect("row")
}

async fn before(app: &TestApp, id: OrderId) -> Before {
    Before {
        id,
        version: row(app, id).await.version,
        timeline: app.timeline_events(&id.0.to_string()).await,
        outbox: outbox_subjects(app, id).await,
    }
}

/// Exactly one move happened since `before`: one version, one timeline row, one event.
async fn exactly_one_move(app: &TestApp, before: &Before, event: &str, round: usize) {
    let now = row(app, before.id).await;
    assert_eq!(now.version, before.version + 1, "round {round}: one write");
    let mut timeline = before.timeline.clone();
    timeline.push(event.to_owned());
    assert_eq!(
        app.timeline_events(&before.id.0.to_string()).await,
        timeline,
        "round {round}: one timeline row"
    );
    let mut outbox = before.outbox.clone();
    outbox.push(format!("tongxin.orders.order_{event}"));
    assert_eq!(
        outbox_subjects(app, before.id).await,
        outbox,
        "round {round}: one event"
    );
}

/// The loser was told CONFLICT, naming the state the winner left and its own action.
fn lost(result: &Moved, state: OrderState, action: &str, round: usize) {
    match result {
        Err(OrdersError::Domain(DomainError::WrongState {
            state: s,
            action: a,
        })) => {
            assert_eq!((*s, *a), (state.as_str(), action), "round {round}");
        }
        Ok(view) => panic!(
            "round {round}: the {action} should lose with CONFLICT, it moved the order to {}",
            view.order.state.as_str()
        ),
        Err(e) => panic!("round {round}: the {action} should lose with CONFLICT: {e:?}"),
    }
}

/// Backends of this test's database waiting on a lock.
async fn lock_waiters(app: &TestApp) -> i64 {
    let row = app
        .db
        .query_one_raw(Statement::from_string(
            app.db.get_database_backend(),
            "SELECT count(*) AS n FROM pg_stat_activity \
             WHERE datname = current_database() AND wait_event_type = 'Lock'",
        ))
        .await
        .expect("pg_stat_activity")
        .expect("a row");
    row.try_get("", "n").expect("n")
}

/// Waits until `n` backends wait on a lock; fails if they never do (a racer that did not
/// reach its write, or one that was not blocked).
async fn until_waiting(app: &TestApp, n: i64) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while lock_waiters(app).await < n {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{n} racers never waited on the lock together"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// Holds order `id`'s row until released (PostgreSQL).
async fn hold_row(app: &TestApp, id: OrderId) -> DatabaseTransaction {
    let gate = app.db.begin().await.expect("begin");
    gate.execute_raw(Statement::from_sql_and_values(
        gate.get_database_backend(),
        "SELECT id FROM orders WHERE id = $1 FOR UPDATE",
        [id.0.into()],
    ))
    .await
    .expect("lock the row");
    gate
}

/// Runs `a` and `b` on order `id` so that both read the same version before either writes.
/// On SQLite the racer polled first is `a` when `a_first`, else `b`. Results as (a, b).
async fn race(
    app: &TestApp,
    id: OrderId,
    a: (&Caller, Move),
    b: (&Caller, Move),
    a_first: bool,
) -> (Moved, Moved) {
    let ma = app.orders.make_move(a.0, id, a.1);
    let mb = app.orders.make_move(b.0, id, b.1);
    match app.store {
        Store::Postgres => {
            let gate = hold_row(app, id).await;
            let release = async {
                until_waiting(app, 2).await;
                gate.commit().await.expect("release");
            };
            let (ra, rb, ()) = tokio::join!(ma, mb, release);
            (ra, rb)
        }
        Store::Sqlite if a_first => tokio::join!(ma, mb),
        Store::Sqlite => {
            let (rb, ra) = tokio::join!(mb, ma);
            (ra, rb)
        }
    }
}

/// The people of a race.
struct Cast {
    citizen: Caller,
    courtyard: Caller,
    station: Caller,
    institute: Caller,
}

async fn cast(app: &TestApp) -> Cast {
    Cast {
        citizen: app.caller(&app.citizen_principal("alice")).await,
        courtyard: app.caller(&app.staff_principal(paths::CAIJIABA)).await,
        station: app.caller(&app.staff_principal(paths::HONGQIAO)).await,
        institute: app.caller(&app.staff_principal(paths::CHANGYUAN)).await,
    }
}

/// An elder visit held by 蔡家坝 (the courtyard), placed by the cast's citizen.
async fn placed(app: &TestApp, cast: &Cast, key: &str) -> OrderId {
    let view = app
        .orders
        .place(
            &cast.citizen,
            NewOrder {
                category: "elder_visit".into(),
                description: "请帮忙".into(),
                form: [("people".to_owned(), "1".to_owned())].into(),
                lat: CAIJIABA_POINT.0,
                lon: CAIJIABA_POINT.1,
                phone: "13812345678".into(),
                idempotency_key: key.into(),
                ..Default::default()
            },
        )
        .await
        .unwrap_or_else(|e| panic!("place: {e:?}"));
    assert_eq!(view.order.holding_unit().path, paths::CAIJIABA);
    view.order.id
}

async fn step(app: &TestApp, who: &Caller, id: OrderId, mv: Move, to: OrderState) {
    let view = app
        .orders
        .make_move(who, id, mv.clone())
        .await
        .unwrap_or_else(|e| panic!("{mv:?}: {e:?}"));
    assert_eq!(view.state(), to, "{mv:?}");
}

fn receive() -> Move {
    Move::Receive {
        note: String::new(),
    }
}

fn escalate() -> Move {
    Move::Escalate {
        reason: "本级无法办理".into(),
    }
}

/// Placed, received by the courtyard and dispatched to `volunteers`.
async fn dispatched(app: &TestApp, cast: &Cast, key: &str, volunteers: &[Uuid]) -> OrderId {
    let id = placed(app, cast, key).await;
    step(app, &cast.courtyard, id, receive(), OrderState::Received).await;
    let dispatch = Move::Dispatch {
        volunteers: volunteers.to_vec(),
        team: None,
        legal_aid_station: None,
        note: String::new(),
    };
    step(app, &cast.courtyard, id, dispatch, OrderState::Dispatched).await;
    id
}

async fn cancel_and_accept_race(app: &TestApp) {
    let cast = cast(app).await;
    let v = app.new_volunteer().await;
    let volunteer = app.caller(&app.volunteer_principal(v)).await;
    let mut wins = [0; 2];
    for round in 0..ROUNDS {
        let id = dispatched(app, &cast, &format!("cancel-accept-{round}"), &[v]).await;
        let before = before(app, id).await;
        let cancel = Move::Cancel {
            reason: "不需要了".into(),
        };
        let (cancelled, accepted) = race(
            app,
            id,
            (&cast.citizen, cancel),
            (&volunteer, Move::Accept),
            round % 2 == 0,
        )
        .await;
        if let Ok(view) = &cancelled {
            assert_eq!(view.state(), OrderState::Cancelled, "round {round}");
            lost(&accepted, OrderState::Cancelled, "accept", round);
            exactly_one_move(app, &before, "cancelled", round).await;
            assert_eq!(
                row(app, id).await.accepted.to_string(),
                "[]",
                "round {round}"
            );
            wins[0] += 1;
        } else {
            let view = accepted
                .as_ref()
                .unwrap_or_else(|e| panic!("round {round}: neither won: {cancelled:?} / {e:?}"));
            assert_eq!(view.state(), OrderState::Accepted, "round {round}");
            lost(&cancelled, OrderState::Accepted, "cancel", round);
            exactly_one_move(app, &before, "accepted", round).await;
            assert_eq!(row(app, id).await.cancel_reason, None, "round {round}");
            wins[1] += 1;
        }
    }
    assert_eq!(wins.iter().sum::<usize>(), ROUNDS);
}

async fn two_escalations_race(app: &TestApp) {
    let cast = cast(app).await;
    for round in 0..ROUNDS {
        let id = placed(app, &cast, &format!("escalate-{round}")).await;
        step(app, &cast.courtyard, id, receive(), OrderState::Received).await;
        let before = before(app, id).await;
        // Both cover the courtyard now and the station after the move, so either may win
        // and the loser can only lose on the state.
        let (a, b) = race(
            app,
            id,
            (&cast.station, escalate()),
            (&cast.institute, escalate()),
            round % 2 == 0,
        )
        .await;
        let (won, loser) = match (&a, &b) {
            (Ok(won), _) => (won, &b),
            (_, Ok(won)) => (won, &a),
            _ => panic!("round {round}: neither won: {a:?} / {b:?}"),
        };
        assert_eq!(won.state(), OrderState::Escalated, "round {round}");
        assert_eq!(
            won.order.holding_unit().path,
            paths::HONGQIAO,
            "round {round}"
        );
        lost(loser, OrderState::Escalated, "escalate", round);
        exactly_one_move(app, &before, "escalated", round).await;
    }
}

async fn decline_and_accept_race(app: &TestApp) {
    let cast = cast(app).await;
    let (v1, v2) = (app.new_volunteer().await, app.new_volunteer().await);
    let (first, second) = (
        app.caller(&app.volunteer_principal(v1)).await,
        app.caller(&app.volunteer_principal(v2)).await,
    );
    let mut wins = [0; 2];
    for round in 0..ROUNDS {
        let id = dispatched(app, &cast, &format!("decline-accept-{round}"), &[v1, v2]).await;
        let before = before(app, id).await;
        // One after the other both would succeed; at the same version one must lose, or
        // the accept (written from the version before the decline) would put the declining
        // volunteer back on the order.
        let decline = Move::Decline {
            reason: "没空".into(),
        };
        let (declined, accepted) = race(
            app,
            id,
            (&first, decline),
            (&second, Move::Accept),
            round % 2 == 0,
        )
        .await;
        let stored = |ids: &[Uuid]| serde_json::to_string(ids).expect("json");
        if let Ok(view) = &declined {
            assert_eq!(view.state(), OrderState::Dispatched, "round {round}");
            lost(&accepted, OrderState::Dispatched, "accept", round);
            exactly_one_move(app, &before, "declined", round).await;
            let now = row(app, id).await;
            assert_eq!(
                // The stored JSON text, exactly.
                (
                    now.dispatched.to_string(),
                    now.declined.to_string(),
                    now.accepted.to_string()
                ),
                (stored(&[v2]), stored(&[v1]), stored(&[])),
                "round {round}"
            );
            wins[0] += 1;
        } else {
            let view = accepted
                .as_ref()
                .unwrap_or_else(|e| panic!("round {round}: neither won: {declined:?} / {e:?}"));
            assert_eq!(view.state(), OrderState::Accepted, "round {round}");
            lost(&declined, OrderState::Accepted, "decline", round);
            exactly_one_move(app, &before, "accepted", round).await;
            let now = row(app, id).await;
            assert_eq!(
                (now.declined.to_string(), now.accepted.to_string()),
                (stored(&[]), stored(&[v2])),
                "round {round}"
            );
            wins[1] += 1;
        }
    }
    assert_eq!(wins.iter().sum::<usize>(), ROUNDS);
}

/// Courtyard staff receive an overdue order while the scheduler escalates it. When the
/// scheduler has claimed the row first, the staff member's receive was allowed by what they
/// read and must lose at the write; when the staff member's write holds the row, the
/// scheduler skips it (PostgreSQL) and the receive stands.
async fn receive_and_auto_escalation_race(app: &TestApp) {
    crate::scheduler::short_courtyard_deadline(app).await;
    let cast = cast(app).await;
    let scheduler = Scheduler::new(app.orders.clone(), Duration::from_millis(10), 10);
    // Past the courtyard's minute, well within the station's hours.
    let late = Utc::now() + chrono::Duration::minutes(2);
    let mut wins = [0; 2];
    for round in 0..ROUNDS {
        let id = placed(app, &cast, &format!("overdue-{round}")).await;
        let before = before(app, id).await;
        let scheduler_first = round % 2 == 0;
        let receive = app.orders.make_move(&cast.courtyard, id, receive());
        let (escalated, received) = match app.store {
            Store::Postgres => {
                // Holding the timeline table stops whichever move writes first between its
                // row UPDATE and its timeline row, with the row still held.
                let gate = app.db.begin().await.expect("begin");
                gate.execute_unprepared("LOCK TABLE order_timeline IN SHARE MODE")
                    .await
                    .expect("lock the timeline");
                let (go, ready) = oneshot::channel::<()>();
                if scheduler_first {
                    let round_then_release = async {
                        let round = scheduler.round(late);
                        let release = async {
                            until_waiting(app, 1).await;
                            let _ = go.send(());
                            until_waiting(app, 2).await;
                            gate.commit().await.expect("release");
                        };
                        tokio::join!(round, release).0
                    };
                    let receive_later = async {
                        ready.await.expect("go");
                        receive.await
                    };
                    tokio::join!(round_then_release, receive_later)
                } else {
                    let receive_then_release = async {
                        let release = async {
                            until_waiting(app, 1).await;
                            let _ = go.send(());
                        };
                        tokio::join!(receive, release).0
                    };
                    let round_then_release = async {
                        ready.await.expect("go");
                        let r = scheduler.round(late).await;
                        gate.commit().await.expect("release");
                        r
                    };
                    let (received, escalated) =
                        tokio::join!(receive_then_release, round_then_release);
                    (escalated, received)
                }
            }
            Store::Sqlite if scheduler_first => {
                let (received, escalated) = tokio::join!(receive, scheduler.round(late));
                (escalated, received)
            }
            Store::Sqlite => tokio::join!(scheduler.round(late), receive),
        };
        let escalated = escalated.unwrap_or_else(|e| panic!("round {round}: {e:?}"));
        assert_eq!(escalated.alerted + escalated.reminded, 0, "round {round}");
        match (escalated.escalated, &received) {
            (1, _) => {
                if app.store == Store::Sqlite && !scheduler_first {
                    // The scheduler's transaction ran before the staff member read: the
                    // order is at the station now, out of the courtyard's scope.
                    assert!(
                        matches!(
                            received,
                            Err(OrdersError::Domain(DomainError::Forbidden(_)))
                        ),
                        "round {round}: {received:?}"
                    );
                } else {
                    lost(&received, OrderState::Escalated, "receive", round);
                }
                exactly_one_move(app, &before, "escalated", round).await;
                assert_eq!(
                    row(app, id).await.holding_unit_path,
                    paths::HONGQIAO,
                    "round {round}"
                );
                wins[0] += 1;
            }
            (0, Ok(view)) => {
                assert_eq!(view.state(), OrderState::Received, "round {round}");
                exactly_one_move(app, &before, "received", round).await;
                wins[1] += 1;
            }
            other => panic!("round {round}: {other:?}"),
        }
    }
    assert_eq!(wins.iter().sum::<usize>(), ROUNDS);
    if app.store == Store::Postgres {
        // Each order of arrival was played: the scheduler won when it held the row first.
        assert_eq!(wins, [ROUNDS / 2, ROUNDS / 2]);
    }
}

async fn every_race_has_one_winner(store: Store) {
    let app = TestApp::spawn_on(store, crate::Venues::Up).await;
    cancel_and_accept_race(&app).await;
    two_escalations_race(&app).await;
    decline_and_accept_race(&app).await;
    // Last: it shortens the courtyard deadline, and every earlier order has left `placed`.
    receive_and_auto_escalation_race(&app).await;
    app.stop().await;
}

/// Cancel vs accept on a dispatched order, two escalations, a decline vs another volunteer's
/// accept, and a receive vs the automatic escalation: one winner and one move each round.
#[tokio::test]
async fn moves_at_one_version_have_one_winner_and_one_move() {
    every_race_has_one_winner(Store::Postgres).await;
}

/// The same races on SQLite, which has no row locks (`tongxin run`).
#[tokio::test]
async fn moves_at_one_version_have_one_winner_and_one_move_on_sqlite() {
    every_race_has_one_winner(Store::Sqlite).await;
}
