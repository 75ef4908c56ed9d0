//! Consultations: the logged outcome of a visit (one per appointment, never two).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveIden)]
enum Consultations {
    Table,
    Id,
    AppointmentId,
    StationId,
    ProviderId,
    Service,
    Outcome,
    LoggedBy,
    LoggedAt,
}

#[derive(DeriveIden)]
enum Appointments {
    Table,
    Id,
}

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261201_001500_consultations"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Consultations::Table)
                    .if_not_exists()
                    .col(pk_uuid(Consultations::Id))
                    .col(uuid(Consultations::AppointmentId).unique_key())
                    .col(uuid(Consultations::StationId))
                    .col(uuid_null(Consultations::ProviderId))
                    .col(string_len(Consultations::Service, 32))
                    .col(string_len(Consultations::Outcome, 32))
                    .col(string_len(Consultations::LoggedBy, 200))
                    .col(timestamp_with_time_zone(Consultations::LoggedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("consultations_appointment")
                            .from(Consultations::Table, Consultations::AppointmentId)
                            .to(Appointments::Table, Appointments::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("consultations_station_logged")
                    .table(Consultations::Table)
                    .col(Consultations::StationId)
                    .col(Consultations::LoggedAt)
                    .if_not_exists()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Consultations::Table).to_owned())
            .await
    }
}
