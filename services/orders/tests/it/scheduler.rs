//! The deadline scheduler: two instances on one database escalate an overdue order once;
//! at the center an overdue order raises one alert; reminders go out once.

use std::time::Duration;

use chrono::Utc;
use sea_orm::ActiveValue::Set;
use sea_orm::{ActiveModelTrait, EntityTrait};
use tongxin_orders::service::Orders;
use tongxin_orders::service::scheduler::Scheduler;
use tongxin_orders::store::categories;

use crate::{TestApp, paths};

/// A second, independent `Orders` (own pool) over the same database, like another replica.
async fn replica(app: &TestApp) -> Orders {
    let db = tongxin_platform::db::connect(&app.settings.database)
        .await
        .expect("connect");
    Orders::new(
        db,
        Default::default(),
        app.settings.cipher().expect("cipher"),
        &app.settings,
        app.service_tokens(),
    )
    .expect("orders")
}

/// Shortens the elder-visit courtyard SLA to one minute (other levels stay hours).
pub async fn short_courtyard_deadline(app: &TestApp) {
    let row = categories::Entity::find_by_id("elder_visit".to_owned())
        .one(&app.db)
        .await
        .expect("get")
        .expect("row");
    let mut sla: serde_json::Value = serde_json::from_str(&row.sla).expect("sla");
    sla["courtyard"] = 1.into();
    let mut active: categories::ActiveModel = row.into();
    active.sla = Set(sla.to_string());
    active.update(&app.db).await.expect("update");
}

#[tokio::test]
async fn two_schedulers_escalate_an_overdue_order_once() {
    let app = TestApp::spawn().await;
    short_courtyard_deadline(&app).await;
    let id = app.place_ok("alice", "elder_visit", "late").await;
    let (a, b) = (
        Scheduler::new(replica(&app).await, Duration::from_millis(10), 10),
        Scheduler::new(replica(&app).await, Duration::from_millis(10), 10),
    );
    // Past the courtyard's minute, well within the station's hours.
    let now = Utc::now() + chrono::Duration::minutes(2);
    let rounds = (0..10).flat_map(|_| [a.round(now), b.round(now)]);
    let results = futures::future::join_all(rounds).await;
    let escalated: usize = results
        .iter()
        .map(|r| r.as_ref().expect("round").escalated)
        .sum();
    assert_eq!(escalated, 1);
    let events = app.timeline_events(&id).await;
    assert_eq!(
        events.iter().filter(|e| *e == "escalated").count(),
        1,
        "{events:?}"
    );
    let row = tongxin_orders::store::orders::get(&app.db, id.parse().expect("uuid"))
        .await
        .expect("get")
        .expect("row");
    assert_eq!(row.holding_unit_path, paths::HONGQIAO);
    assert_eq!(row.state, tongxin_orders::store::columns::State::Escalated);
    let timeline = tongxin_orders::store::timeline::of_order(&app.db, row.id)
        .await
        .expect("timeline");
    let step = timeline
        .iter()
        .find(|t| t.event == "escalated")
        .expect("row");
    assert_eq!(
        (step.actor.as_str(), step.role.as_str()),
        ("scheduler", "scheduler")
    );
    // The station must now receive it: its staff can.
    let r = app
        .act(
            &app.staff(paths::HONGQIAO),
            crate::RECEIVE,
            &id,
            serde_json::json!({}),
        )
        .await;
    assert_eq!(r["data"]["receiveOrder"]["state"], "RECEIVED", "{r}");
    app.stop().await;
}

#[tokio::test]
async fn overdue_at_the_center_alerts_once_and_reminders_go_out_once() {
    let app = TestApp::spawn().await;
    let nats = app.nats().client().await;
    let mut alerts = nats
        .subscribe("tongxin.orders.order_overdue_alert")
        .await
        .expect("subscribe");
    let id = app.place_ok("alice", "major_event", "center").await;
    let scheduler = Scheduler::new(app.orders.clone(), Duration::from_millis(10), 10);
    // Half the center's day: one reminder, no escalation.
    let half = Utc::now() + chrono::Duration::hours(13);
    let r = scheduler.round(half).await.expect("round");
    assert_eq!((r.reminded, r.escalated, r.alerted), (1, 0, 0));
    let r = scheduler.round(half).await.expect("round");
    assert_eq!((r.reminded, r.escalated, r.alerted), (0, 0, 0));
    // Past the day: one alert, the order stays at the center.
    let late = Utc::now() + chrono::Duration::hours(25);
    let r = scheduler.round(late).await.expect("round");
    assert_eq!((r.alerted, r.escalated), (1, 0));
    let r = scheduler.round(late).await.expect("round");
    assert_eq!((r.alerted, r.escalated), (0, 0));
    assert_eq!(
        app.timeline_events(&id).await,
        vec!["placed", "reminder", "overdue_alert"]
    );
    use futures::StreamExt;
    let msg = tokio::time::timeout(Duration::from_secs(10), alerts.next())
        .await
        .expect("alert published")
        .expect("open");
    use prost::Message;
    let body = tongxin_proto::events::OrderChanged::decode(msg.payload).expect("body");
    assert_eq!(body.order_id, id);
    // The center can still receive it.
    let r = app
        .act(
            &app.staff(paths::CENTER),
            crate::RECEIVE,
            &id,
            serde_json::json!({}),
        )
        .await;
    assert_eq!(r["data"]["receiveOrder"]["state"], "RECEIVED", "{r}");
    app.stop().await;
}
