//! Self-service, matching and import: when a row last changed (replicas refresh their candidate
//! index by it), deletion requests and erasure, each volunteer's open assignments and
//! ratings (kept by the order-events consumer), and the per-order assignments that make
//! that consumer idempotent per order and volunteer.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveIden)]
enum Volunteers {
    Table,
    UpdatedAt,
    DeletionRequestedAt,
    DeletionReason,
    ErasedAt,
}

#[derive(DeriveIden)]
enum KnownUnits {
    Table,
    Name,
    Lat,
    Lon,
}

#[derive(DeriveIden)]
enum VolunteerLoad {
    Table,
    VolunteerId,
    OpenAssignments,
    RatingSum,
    RatingCount,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum OrderAssignments {
    Table,
    OrderId,
    VolunteerId,
    Open,
    Rated,
}

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261128_000500_matching_and_self_service"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per ALTER: SQLite (`tongxin run`) takes one change per statement.
        for column in [
            timestamp_with_time_zone_null(Volunteers::UpdatedAt),
            timestamp_with_time_zone_null(Volunteers::DeletionRequestedAt),
            string_len_null(Volunteers::DeletionReason, 500),
            timestamp_with_time_zone_null(Volunteers::ErasedAt),
        ] {
            let mut column = column;
            manager
                .alter_table(
                    Table::alter()
                        .table(Volunteers::Table)
                        .add_column(&mut column)
                        .to_owned(),
                )
                .await?;
        }
        // Unit names and locations: the import resolves 所属单位 by name and places a
        // volunteer without coordinates at their unit.
        for column in [
            string_len_null(KnownUnits::Name, 200),
            double_null(KnownUnits::Lat),
            double_null(KnownUnits::Lon),
        ] {
            let mut column = column;
            manager
                .alter_table(
                    Table::alter()
                        .table(KnownUnits::Table)
                        .add_column(&mut column)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .create_index(
                Index::create()
                    .name("volunteers_updated_at")
                    .table(Volunteers::Table)
                    .col(Volunteers::UpdatedAt)
                    .if_not_exists()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(VolunteerLoad::Table)
                    .if_not_exists()
                    .col(pk_uuid(VolunteerLoad::VolunteerId))
                    .col(integer(VolunteerLoad::OpenAssignments).default(0))
                    .col(big_integer(VolunteerLoad::RatingSum).default(0))
                    .col(integer(VolunteerLoad::RatingCount).default(0))
                    .col(timestamp_with_time_zone(VolunteerLoad::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("volunteer_load_updated_at")
                    .table(VolunteerLoad::Table)
                    .col(VolunteerLoad::UpdatedAt)
                    .if_not_exists()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(OrderAssignments::Table)
                    .if_not_exists()
                    .col(uuid(OrderAssignments::OrderId))
                    .col(uuid(OrderAssignments::VolunteerId))
                    .col(boolean(OrderAssignments::Open))
                    .col(boolean(OrderAssignments::Rated))
                    .primary_key(
                        Index::create()
                            .col(OrderAssignments::OrderId)
                            .col(OrderAssignments::VolunteerId),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(OrderAssignments::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(VolunteerLoad::Table).to_owned())
            .await?;
        for column in [KnownUnits::Name, KnownUnits::Lat, KnownUnits::Lon] {
            manager
                .alter_table(
                    Table::alter()
                        .table(KnownUnits::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        for column in [
            Volunteers::UpdatedAt,
            Volunteers::DeletionRequestedAt,
            Volunteers::DeletionReason,
            Volunteers::ErasedAt,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Volunteers::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
