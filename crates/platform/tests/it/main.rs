//! Platform integration tests against real PostgreSQL and NATS (one database and one NATS
//! server per test).

mod consumer;
mod outbox;
mod stream;

use sea_orm::DatabaseConnection;
use sea_orm_migration::{MigrationTrait, MigratorTrait};
use tongxin_platform::config::{DatabaseSettings, EventsSettings};
use tongxin_platform::events::nats::NatsBus;
use tongxin_testing::{TestDb, TestNats};

struct PlatformMigrator;

impl MigratorTrait for PlatformMigrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        tongxin_platform::events::migration::migrations()
    }
}

/// A fresh database with the platform tables.
async fn database(test_db: &TestDb) -> DatabaseConnection {
    tongxin_platform::db::connect_and_migrate::<PlatformMigrator>(&DatabaseSettings::new(
        test_db.url(),
    ))
    .await
    .expect("migrate")
}

fn events_settings(nats: &TestNats) -> EventsSettings {
    EventsSettings {
        nats_url: nats.url(),
        ..EventsSettings::default()
    }
}

async fn nats_bus(nats: &TestNats) -> NatsBus {
    NatsBus::connect(&events_settings(nats))
        .await
        .expect("connect bus")
}
