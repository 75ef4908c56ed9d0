//! The 15-minute circle: per-district walking settings and the resident-points layer.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveIden)]
enum DistrictSettings {
    Table,
    District,
    WalkingSpeedKmh,
    DetourFactor,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum ResidentPoints {
    Table,
    Id,
    District,
    UnitPath,
    Lat,
    Lon,
    Weight,
}

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261128_000012_circle"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(DistrictSettings::Table)
                    .if_not_exists()
                    .col(string_len(DistrictSettings::District, 40).primary_key())
                    .col(double(DistrictSettings::WalkingSpeedKmh))
                    .col(double(DistrictSettings::DetourFactor))
                    .col(timestamp_with_time_zone(DistrictSettings::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ResidentPoints::Table)
                    .if_not_exists()
                    .col(big_pk_auto(ResidentPoints::Id))
                    .col(string_len(ResidentPoints::District, 40))
                    .col(string_len(ResidentPoints::UnitPath, 1000))
                    .col(double(ResidentPoints::Lat))
                    .col(double(ResidentPoints::Lon))
                    .col(integer(ResidentPoints::Weight))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("resident_points_unit_path")
                    .table(ResidentPoints::Table)
                    .col(ResidentPoints::UnitPath)
                    .if_not_exists()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(ResidentPoints::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(DistrictSettings::Table).to_owned())
            .await
    }
}
