//! Appointments, and the database's own guarantee that a provider is never booked twice at
//! once.
//!
//! PostgreSQL: an exclusion constraint (btree_gist) over the provider and the time range
//! `[starts_at, ends_at)` of every active (booked or checked-in) appointment: two
//! overlapping ranges of one provider cannot both commit, whatever the concurrency.
//!
//! SQLite (`tongxin run`): SQLite has no exclusion constraints; triggers before insert and
//! before update refuse a row whose active range overlaps another active range of the same
//! provider (compared as `julianday`, so the text format of the timestamps does not matter).
//! SQLite runs one writer at a time, so the trigger's check and the write are atomic: the
//! same guarantee as PostgreSQL's, for every overlap, not only for equal slot starts.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveIden)]
enum Appointments {
    Table,
    Id,
    StationId,
    OrgUnitId,
    ProviderId,
    Service,
    StartsAt,
    EndsAt,
    Status,
    Citizen,
    TopicCipher,
    PartiesCipher,
    PhoneCipher,
    IdempotencyKey,
    WalkIn,
    OrderId,
    Version,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Stations {
    Table,
    Id,
}

/// The constraint (PostgreSQL) or trigger message (SQLite) the service recognises.
pub const NO_OVERLAP: &str = "appointments_no_overlap";

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261201_001200_appointments"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Appointments::Table)
                    .if_not_exists()
                    .col(pk_uuid(Appointments::Id))
                    .col(uuid(Appointments::StationId))
                    .col(uuid(Appointments::OrgUnitId))
                    .col(uuid_null(Appointments::ProviderId))
                    .col(string_len(Appointments::Service, 32))
                    .col(timestamp_with_time_zone(Appointments::StartsAt))
                    .col(timestamp_with_time_zone(Appointments::EndsAt))
                    .col(string_len(Appointments::Status, 16))
                    .col(string_len(Appointments::Citizen, 200))
                    .col(blob(Appointments::TopicCipher))
                    .col(blob(Appointments::PartiesCipher))
                    .col(blob_null(Appointments::PhoneCipher))
                    .col(string_len_null(Appointments::IdempotencyKey, 100))
                    .col(boolean(Appointments::WalkIn))
                    .col(uuid_null(Appointments::OrderId))
                    .col(integer(Appointments::Version))
                    .col(timestamp_with_time_zone(Appointments::CreatedAt))
                    .col(timestamp_with_time_zone(Appointments::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("appointments_station")
                            .from(Appointments::Table, Appointments::StationId)
                            .to(Stations::Table, Stations::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("appointments_idempotency")
                    .table(Appointments::Table)
                    .col(Appointments::Citizen)
                    .col(Appointments::IdempotencyKey)
                    .unique()
                    .if_not_exists()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("appointments_station_starts")
                    .table(Appointments::Table)
                    .col(Appointments::StationId)
                    .col(Appointments::StartsAt)
                    .if_not_exists()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("appointments_provider_starts")
                    .table(Appointments::Table)
                    .col(Appointments::ProviderId)
                    .col(Appointments::StartsAt)
                    .if_not_exists()
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        match manager.get_database_backend() {
            DbBackend::Postgres => {
                db.execute_unprepared("CREATE EXTENSION IF NOT EXISTS btree_gist")
                    .await?;
                db.execute_unprepared(&format!(
                    "ALTER TABLE appointments ADD CONSTRAINT {NO_OVERLAP} EXCLUDE USING gist \
                     (provider_id WITH =, tstzrange(starts_at, ends_at, '[)') WITH &&) \
                     WHERE (status IN ('booked', 'checked_in'))"
                ))
                .await?;
            }
            DbBackend::Sqlite => {
                for (name, event) in [
                    ("appointments_no_overlap_insert", "INSERT"),
                    ("appointments_no_overlap_update", "UPDATE"),
                ] {
                    db.execute_unprepared(&format!(
                        "CREATE TRIGGER IF NOT EXISTS {name} BEFORE {event} ON appointments \
                         WHEN NEW.provider_id IS NOT NULL AND NEW.status IN ('booked', 'checked_in') \
                         AND EXISTS (SELECT 1 FROM appointments a WHERE a.provider_id = NEW.provider_id \
                         AND a.id <> NEW.id AND a.status IN ('booked', 'checked_in') \
                         AND julianday(a.starts_at) < julianday(NEW.ends_at) \
                         AND julianday(NEW.starts_at) < julianday(a.ends_at)) \
                         BEGIN SELECT RAISE(ABORT, '{NO_OVERLAP}'); END"
                    ))
                    .await?;
                }
            }
            other => {
                return Err(DbErr::Migration(format!(
                    "the no-overlap guarantee is not written for {other:?}"
                )));
            }
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Appointments::Table).to_owned())
            .await
    }
}
