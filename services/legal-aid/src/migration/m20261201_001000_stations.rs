//! Stations, providers and the stations each provider serves; the known units staff scopes
//! resolve against.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveIden)]
enum Stations {
    Table,
    Id,
    OrgUnitId,
    OrgUnitPath,
    VenueId,
    Name,
    Address,
    OpeningHours,
    Contact,
    Services,
    MinNoticeMinutes,
    HorizonDays,
    CreatedAt,
    CreatedBy,
}

#[derive(DeriveIden)]
enum Providers {
    Table,
    Id,
    Name,
    Kind,
    Office,
    LicenceNo,
    Services,
    AccountSubject,
    LastBookedAt,
    CreatedAt,
}

#[derive(DeriveIden)]
enum ProviderStations {
    Table,
    ProviderId,
    StationId,
}

#[derive(DeriveIden)]
enum KnownUnits {
    Table,
    Id,
    Path,
    Level,
}

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261201_001000_stations"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(KnownUnits::Table)
                    .if_not_exists()
                    .col(pk_uuid(KnownUnits::Id))
                    .col(string_len(KnownUnits::Path, 1000))
                    .col(string_len_null(KnownUnits::Level, 12))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Stations::Table)
                    .if_not_exists()
                    .col(pk_uuid(Stations::Id))
                    .col(uuid(Stations::OrgUnitId))
                    .col(string_len(Stations::OrgUnitPath, 1000))
                    .col(uuid_null(Stations::VenueId))
                    .col(string_len(Stations::Name, 200))
                    .col(string_len(Stations::Address, 400))
                    .col(string_len(Stations::OpeningHours, 200))
                    .col(string_len(Stations::Contact, 200))
                    .col(text(Stations::Services))
                    .col(integer(Stations::MinNoticeMinutes))
                    .col(integer(Stations::HorizonDays))
                    .col(timestamp_with_time_zone(Stations::CreatedAt))
                    .col(string(Stations::CreatedBy))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("stations_org_unit_path")
                    .table(Stations::Table)
                    .col(Stations::OrgUnitPath)
                    .if_not_exists()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Providers::Table)
                    .if_not_exists()
                    .col(pk_uuid(Providers::Id))
                    .col(string_len(Providers::Name, 100))
                    .col(string_len(Providers::Kind, 32))
                    .col(string_len(Providers::Office, 200))
                    .col(string_len(Providers::LicenceNo, 64))
                    .col(text(Providers::Services))
                    .col(string_len_null(Providers::AccountSubject, 200).unique_key())
                    .col(timestamp_with_time_zone_null(Providers::LastBookedAt))
                    .col(timestamp_with_time_zone(Providers::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ProviderStations::Table)
                    .if_not_exists()
                    .col(uuid(ProviderStations::ProviderId))
                    .col(uuid(ProviderStations::StationId))
                    .primary_key(
                        Index::create()
                            .col(ProviderStations::ProviderId)
                            .col(ProviderStations::StationId),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("provider_stations_provider")
                            .from(ProviderStations::Table, ProviderStations::ProviderId)
                            .to(Providers::Table, Providers::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("provider_stations_station")
                            .from(ProviderStations::Table, ProviderStations::StationId)
                            .to(Stations::Table, Stations::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("provider_stations_station")
                    .table(ProviderStations::Table)
                    .col(ProviderStations::StationId)
                    .if_not_exists()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            ProviderStations::Table.into_iden(),
            Providers::Table.into_iden(),
            Stations::Table.into_iden(),
            KnownUnits::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
