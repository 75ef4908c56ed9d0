//! The registry, and the org units it has learnt (id → path), which scopes staff.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveIden)]
enum Volunteers {
    Table,
    Id,
    VolunteerNo,
    Subject,
    Name,
    Gender,
    BirthDate,
    IdCardCipher,
    IdCardHash,
    PhoneCipher,
    HomeUnitId,
    HomeUnitPath,
    Lat,
    Lon,
    Skills,
    Availability,
    Status,
    ConsentAt,
    GuardianConsent,
    CreatedAt,
    CreatedBy,
}

#[derive(DeriveIden)]
enum KnownUnits {
    Table,
    Id,
    Path,
}

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261128_000100_volunteers"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Volunteers::Table)
                    .if_not_exists()
                    .col(pk_uuid(Volunteers::Id))
                    .col(string_len_uniq(Volunteers::VolunteerNo, 40))
                    .col(string_len_null(Volunteers::Subject, 200).unique_key())
                    .col(string_len(Volunteers::Name, 100))
                    .col(string_len(Volunteers::Gender, 8))
                    .col(date(Volunteers::BirthDate))
                    .col(blob(Volunteers::IdCardCipher))
                    .col(blob(Volunteers::IdCardHash))
                    .col(blob(Volunteers::PhoneCipher))
                    .col(uuid(Volunteers::HomeUnitId))
                    .col(string_len(Volunteers::HomeUnitPath, 1000))
                    .col(double(Volunteers::Lat))
                    .col(double(Volunteers::Lon))
                    .col(string_len(Volunteers::Skills, 2000))
                    .col(string_len(Volunteers::Availability, 2000))
                    .col(string_len(Volunteers::Status, 8))
                    .col(timestamp_with_time_zone(Volunteers::ConsentAt))
                    .col(string_len_null(Volunteers::GuardianConsent, 400))
                    .col(timestamp_with_time_zone(Volunteers::CreatedAt))
                    .col(string(Volunteers::CreatedBy))
                    .to_owned(),
            )
            .await?;
        // The keyed hash decides uniqueness, also between two concurrent registrations.
        manager
            .create_index(
                Index::create()
                    .name("volunteers_id_card_hash")
                    .table(Volunteers::Table)
                    .col(Volunteers::IdCardHash)
                    .unique()
                    .if_not_exists()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("volunteers_home_unit_path")
                    .table(Volunteers::Table)
                    .col(Volunteers::HomeUnitPath)
                    .col(Volunteers::Id)
                    .if_not_exists()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(KnownUnits::Table)
                    .if_not_exists()
                    .col(pk_uuid(KnownUnits::Id))
                    .col(string_len(KnownUnits::Path, 1000))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(KnownUnits::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Volunteers::Table).to_owned())
            .await
    }
}
