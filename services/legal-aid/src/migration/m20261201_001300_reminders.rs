//! Reminders sent: one row per appointment and lead time, so a reminder goes out once
//! whatever the number of replicas and restarts.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveIden)]
enum AppointmentReminders {
    Table,
    AppointmentId,
    Hours,
    SentAt,
}

#[derive(DeriveIden)]
enum Appointments {
    Table,
    Id,
}

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261201_001300_reminders"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(AppointmentReminders::Table)
                    .if_not_exists()
                    .col(uuid(AppointmentReminders::AppointmentId))
                    .col(small_integer(AppointmentReminders::Hours))
                    .col(timestamp_with_time_zone(AppointmentReminders::SentAt))
                    .primary_key(
                        Index::create()
                            .col(AppointmentReminders::AppointmentId)
                            .col(AppointmentReminders::Hours),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("appointment_reminders_appointment")
                            .from(
                                AppointmentReminders::Table,
                                AppointmentReminders::AppointmentId,
                            )
                            .to(Appointments::Table, Appointments::Id),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(AppointmentReminders::Table).to_owned())
            .await
    }
}
