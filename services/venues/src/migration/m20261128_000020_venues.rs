//! Venues (阵地).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveIden)]
enum Venues {
    Table,
    Id,
    OrgUnitId,
    Kind,
    Name,
    Address,
    Lat,
    Lon,
    Capacity,
    Facilities,
    OpeningHours,
    PhotoUrls,
    Status,
    CreatedAt,
    UpdatedAt,
    CreatedBy,
}

#[derive(DeriveIden)]
enum OrgUnits {
    Table,
    Id,
}

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261128_000020_venues"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Venues::Table)
                    .if_not_exists()
                    .col(pk_uuid(Venues::Id))
                    .col(uuid(Venues::OrgUnitId))
                    .col(string_len(Venues::Kind, 32))
                    .col(string_len(Venues::Name, 400))
                    .col(string_len(Venues::Address, 800))
                    .col(double(Venues::Lat))
                    .col(double(Venues::Lon))
                    .col(integer(Venues::Capacity))
                    .col(text(Venues::Facilities))
                    .col(string_len(Venues::OpeningHours, 800))
                    .col(text(Venues::PhotoUrls))
                    .col(string_len(Venues::Status, 16))
                    .col(timestamp_with_time_zone(Venues::CreatedAt))
                    .col(timestamp_with_time_zone(Venues::UpdatedAt))
                    .col(string(Venues::CreatedBy))
                    .foreign_key(
                        ForeignKey::create()
                            .name("venues_org_unit")
                            .from(Venues::Table, Venues::OrgUnitId)
                            .to(OrgUnits::Table, OrgUnits::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("venues_org_unit_status")
                    .table(Venues::Table)
                    .col(Venues::OrgUnitId)
                    .col(Venues::Status)
                    .if_not_exists()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Venues::Table).to_owned())
            .await
    }
}
