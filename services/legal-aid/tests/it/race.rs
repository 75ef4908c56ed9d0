//! Never two appointments of one provider overlapping, under any concurrency: the
//! database refuses them (PostgreSQL exclusion constraint, SQLite triggers), not only the
//! check in code.

use std::sync::Arc;

use chrono::Duration;
use sea_orm::{ActiveValue::Set, EntityTrait};
use tongxin_legal_aid::domain::LegalService;
use tongxin_legal_aid::domain::StationId;
use tongxin_legal_aid::service::Booking;
use tongxin_legal_aid::store::appointments::appointment;
use tongxin_platform::auth::Principal;

use super::*;

/// A station whose single lawyer sits 09:00-17:00 every weekday in 30-minute slots.
async fn busy_station(app: &TestApp) -> (String, String) {
    let (station, _notary, lawyer1, _) = app.park_station().await;
    for day in ["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY"] {
        app.rule(&station, day, "09:00", "17:00", "CONSULTATION", &[&lawyer1])
            .await;
    }
    (station, lawyer1)
}

#[tokio::test]
async fn fifty_clients_booking_one_slot_at_once_get_exactly_one_appointment_every_round() {
    const CLIENTS: usize = 50;
    const ROUNDS: usize = 40;
    let app = TestApp::spawn().await;
    let (station, _) = busy_station(&app).await;
    let station = StationId(Uuid::parse_str(&station).expect("id"));
    let slots = app
        .legal_aid
        .available_slots(
            station,
            LegalService::Consultation,
            monday_morning(),
            monday_morning() + Duration::days(10),
        )
        .await
        .expect("slots");
    assert!(slots.len() >= ROUNDS, "{} slots", slots.len());
    let legal_aid = Arc::new(app.legal_aid.clone());
    for (round, slot) in slots.iter().take(ROUNDS).enumerate() {
        let barrier = Arc::new(tokio::sync::Barrier::new(CLIENTS));
        let mut tasks = Vec::new();
        for client in 0..CLIENTS {
            let (legal_aid, barrier, start) = (legal_aid.clone(), barrier.clone(), slot.starts_at);
            tasks.push(tokio::spawn(async move {
                let principal = Principal {
                    subject: format!("citizen-{round}-{client}"),
                    roles: vec![Role::Citizen],
                    unit: None,
                    district: Some("rc".to_owned()),
                    credential: None,
                };
                let caller = legal_aid.caller(Some(&principal)).await.expect("caller");
                barrier.wait().await;
                // Fifty at once can outwait the connection pool on a busy machine; that
                // client is told UNAVAILABLE and, as a real one would, tries again (a few
                // times). The race is on the slot: every answer but one must be CONFLICT.
                let mut tries = 0;
                loop {
                    let answer = legal_aid
                        .book(
                            &caller,
                            Booking {
                                station,
                                service: LegalService::Consultation,
                                starts_at: start,
                                provider: None,
                                topic: "同一时段".to_owned(),
                                parties: vec![],
                                phone: None,
                                idempotency_key: None,
                                order: None,
                            },
                        )
                        .await;
                    tries += 1;
                    match answer {
                        Err(e) if tries < 5 && format!("{e:?}").contains("pool timed out") => {}
                        answer => break answer,
                    }
                }
            }));
        }
        let mut ok = 0;
        for task in tasks {
            match task.await.expect("task") {
                Ok(_) => ok += 1,
                Err(e) => {
                    let cause = format!("{e:?}");
                    let api = tongxin_platform::ApiError::from(e);
                    assert_eq!(
                        api.code,
                        tongxin_platform::error::ErrorCode::Conflict,
                        "{cause}"
                    );
                }
            }
        }
        assert_eq!(
            ok, 1,
            "round {round}: {ok} of {CLIENTS} bookings of one slot succeeded"
        );
    }
    assert_eq!(app.appointment_count().await, ROUNDS as u64);
}

/// Two overlapping rows of one provider written straight into the table, past the service's
/// own checks: the database refuses the second.
async fn the_database_refuses_an_overlap(store: Store) {
    let app = TestApp::spawn_on(store).await;
    let (station, lawyer) = busy_station(&app).await;
    let row = |start: &str, minutes: i64, status: &str| {
        let starts_at = at(start);
        appointment::ActiveModel {
            id: Set(Uuid::now_v7()),
            station_id: Set(Uuid::parse_str(&station).expect("id")),
            org_unit_id: Set(unit_id(units::STATION)),
            provider_id: Set(Some(Uuid::parse_str(&lawyer).expect("id"))),
            service: Set("consultation".to_owned()),
            starts_at: Set(starts_at),
            ends_at: Set(starts_at + Duration::minutes(minutes)),
            status: Set(status.to_owned()),
            citizen: Set("x".to_owned()),
            topic_cipher: Set(vec![]),
            parties_cipher: Set(vec![]),
            phone_cipher: Set(None),
            idempotency_key: Set(None),
            walk_in: Set(false),
            order_id: Set(None),
            version: Set(1),
            created_at: Set(monday_morning()),
            updated_at: Set(monday_morning()),
        }
    };
    let db = app.legal_aid.db();
    appointment::Entity::insert(row("2026-09-30T01:00:00Z", 30, "booked"))
        .exec_without_returning(db)
        .await
        .expect("first");
    // Overlapping by ten minutes, not sharing the start: refused.
    let err = appointment::Entity::insert(row("2026-09-30T01:20:00Z", 30, "booked"))
        .exec_without_returning(db)
        .await
        .expect_err("an overlap must be refused by the database");
    assert!(
        tongxin_legal_aid::store::appointments::is_overlap(&err),
        "{err}"
    );
    // Touching is not overlapping; a cancelled row occupies nothing.
    appointment::Entity::insert(row("2026-09-30T01:30:00Z", 30, "booked"))
        .exec_without_returning(db)
        .await
        .expect("adjacent");
    appointment::Entity::insert(row("2026-09-30T01:00:00Z", 60, "cancelled"))
        .exec_without_returning(db)
        .await
        .expect("cancelled");
    // Turning a cancelled row active again over a taken range is refused too.
    let revived = appointment::Entity::insert(row("2026-09-30T02:00:00Z", 30, "cancelled"))
        .exec_with_returning(db)
        .await
        .expect("cancelled row");
    let mut active: appointment::ActiveModel = revived.into();
    active.starts_at = Set(at("2026-09-30T01:10:00Z"));
    active.status = Set("booked".to_owned());
    let err = appointment::Entity::update(active)
        .exec(db)
        .await
        .expect_err("an update into an overlap must be refused");
    assert!(
        tongxin_legal_aid::store::appointments::is_overlap(&err),
        "{err}"
    );
}

#[tokio::test]
async fn postgres_refuses_overlapping_rows_whoever_writes_them() {
    the_database_refuses_an_overlap(Store::Postgres).await;
}

#[tokio::test]
async fn sqlite_refuses_overlapping_rows_whoever_writes_them() {
    the_database_refuses_an_overlap(Store::Sqlite).await;
}
