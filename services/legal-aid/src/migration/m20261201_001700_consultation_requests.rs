//! Consultation requests: an order of a legal category (the orders service's menu) that
//! staff dispatched to a station, waiting for its citizen to book a slot. One per order
//! (the order id is the key, which makes the consumer of the order events idempotent).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveIden)]
enum ConsultationRequests {
    Table,
    OrderId,
    StationId,
    Service,
    CategoryCode,
    OrderNo,
    Citizen,
    Status,
    AppointmentId,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Stations {
    Table,
    Id,
}

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261201_001700_consultation_requests"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ConsultationRequests::Table)
                    .if_not_exists()
                    .col(pk_uuid(ConsultationRequests::OrderId))
                    .col(uuid(ConsultationRequests::StationId))
                    .col(string_len(ConsultationRequests::Service, 32))
                    .col(string_len(ConsultationRequests::CategoryCode, 40))
                    .col(string_len(ConsultationRequests::OrderNo, 40))
                    .col(string_len(ConsultationRequests::Citizen, 200))
                    .col(string_len(ConsultationRequests::Status, 16))
                    .col(uuid_null(ConsultationRequests::AppointmentId))
                    .col(timestamp_with_time_zone(ConsultationRequests::CreatedAt))
                    .col(timestamp_with_time_zone(ConsultationRequests::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("consultation_requests_station")
                            .from(ConsultationRequests::Table, ConsultationRequests::StationId)
                            .to(Stations::Table, Stations::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("consultation_requests_station_status")
                    .table(ConsultationRequests::Table)
                    .col(ConsultationRequests::StationId)
                    .col(ConsultationRequests::Status)
                    .col(ConsultationRequests::OrderId)
                    .if_not_exists()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(ConsultationRequests::Table).to_owned())
            .await
    }
}
