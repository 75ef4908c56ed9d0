//! The service on SQLite with the in-process bus, as `tongxin run` runs it: placing (venues
//! down → the center), moves, and the scheduler without row locks.

use std::sync::Arc;
use std::time::Duration;

use tongxin_orders::scheduler::Scheduler;
use tongxin_orders::service::{Move, NewOrder};
use tongxin_platform::auth::{DevKeys, Principal, Role, Verifier};
use tongxin_platform::config::{CommonSettings, DatabaseSettings, EventsBackend, EventsSettings};
use tongxin_platform::events::memory::MemoryBus;
use tongxin_venues::demo;

use crate::paths;

#[tokio::test]
async fn sqlite_and_the_memory_bus_run_the_loop() {
    let dir = tempfile::tempdir().expect("tempdir");
    let keys = DevKeys::load_or_generate(dir.path()).expect("keys");
    let verifier =
        Arc::new(Verifier::from_jwks_json(keys.jwks_json(), "tongxin", "tongxin").expect("v"));
    let common = CommonSettings {
        events: EventsSettings {
            backend: EventsBackend::Memory,
            ..EventsSettings::default()
        },
        ..CommonSettings::default()
    };
    let mut settings = tongxin_orders::OrdersSettings {
        http_addr: "127.0.0.1:0".parse().expect("addr"),
        grpc_addr: "127.0.0.1:0".parse().expect("addr"),
        database: DatabaseSettings::new(&format!(
            "sqlite://{}",
            dir.path().join("orders.db").display()
        )),
        pii_key: tongxin_platform::pii::PiiCipher::generate_key_base64().into(),
        venues_url: format!("http://127.0.0.1:{}", tongxin_testing::free_port()),
        ..tongxin_orders::default_settings()
    };
    settings.scheduler.enabled = false;
    settings.districts[0].center_unit_id = Some(demo::unit_id(paths::CENTER).0);
    let app = tongxin_orders::App::build(
        &settings,
        &common,
        tongxin_orders::Shared {
            bus: Arc::new(MemoryBus::new()),
            verifier,
        },
    )
    .await
    .expect("build");
    let orders = app.orders().clone();
    orders
        .remember_unit(
            demo::unit_id(paths::CENTER).0,
            paths::CENTER,
            tongxin_orders::domain::Level::Center,
        )
        .await
        .expect("unit");
    tongxin_orders::demo::seed_menu(&orders)
        .await
        .expect("menu");
    let citizen = orders
        .caller(Some(&Principal {
            subject: "alice".into(),
            roles: vec![Role::Citizen],
            unit: None,
            district: None,
        }))
        .await
        .expect("caller");
    let placed = orders
        .place(
            &citizen,
            NewOrder {
                category: "elder_visit".into(),
                description: "x".into(),
                form: [("people".to_owned(), "1".to_owned())].into(),
                lat: 29.40,
                lon: 105.59,
                phone: "13812345678".into(),
                idempotency_key: "k".into(),
                ..Default::default()
            },
        )
        .await
        .expect("placed");
    assert_eq!(placed.row.holding_unit_path, "/rc");
    let staff = orders
        .caller(Some(&Principal {
            subject: "center".into(),
            roles: vec![Role::Staff],
            unit: Some(demo::unit_id(paths::CENTER).0),
            district: Some("rc".into()),
        }))
        .await
        .expect("caller");
    let id = tongxin_orders::domain::OrderId(placed.row.id);
    // Overdue at the center: one alert, on SQLite without row locks.
    let scheduler = Scheduler::new(orders.clone(), Duration::from_millis(10), 10);
    let late = chrono::Utc::now() + chrono::Duration::days(2);
    assert_eq!(scheduler.round(late).await.expect("round").alerted, 1);
    assert_eq!(scheduler.round(late).await.expect("round").alerted, 0);
    let moved = orders
        .make_move(
            &staff,
            id,
            Move::Receive {
                note: String::new(),
            },
        )
        .await
        .expect("receive");
    assert_eq!(moved.row.state, "received");
}
