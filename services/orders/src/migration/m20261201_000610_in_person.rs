//! Needs heard in person (issue 17): how an order came in (`channel`, with `mini_program`
//! for every order from before, and the link back to a visit or an activity), the resident
//! an order was filed for (name sealed like the phone) with their recorded consent, the
//! reply's outcome text; and the notices of missed cadence (`cadence_missed` from venues)
//! shown to a unit's staff.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveIden)]
enum Orders {
    Table,
    Channel,
    SourceVisitId,
    SourceActivityId,
    ResidentNameCipher,
    ConsentRecordedBy,
    ConsentMethod,
    ConsentRecordedAt,
    FiledBy,
    Outcome,
}

#[derive(DeriveIden)]
enum UnitNotices {
    Table,
    Id,
    EventId,
    UnitId,
    UnitPath,
    Kind,
    PeriodStart,
    PeriodEnd,
    Required,
    Done,
    Streak,
    ReceivedAt,
}

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261201_000610_in_person"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite alters one column at a time.
        let columns = [
            string_len(Orders::Channel, 16)
                .default("mini_program")
                .to_owned(),
            uuid_null(Orders::SourceVisitId),
            uuid_null(Orders::SourceActivityId),
            blob_null(Orders::ResidentNameCipher),
            string_len_null(Orders::ConsentRecordedBy, 100),
            string_len_null(Orders::ConsentMethod, 12),
            timestamp_with_time_zone_null(Orders::ConsentRecordedAt),
            string_len_null(Orders::FiledBy, 200),
            text_null(Orders::Outcome),
        ];
        for mut column in columns {
            manager
                .alter_table(
                    Table::alter()
                        .table(Orders::Table)
                        .add_column(&mut column)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(UnitNotices::Table)
                    .if_not_exists()
                    .col(pk_uuid(UnitNotices::Id))
                    .col(uuid(UnitNotices::EventId))
                    .col(uuid(UnitNotices::UnitId))
                    .col(string_len(UnitNotices::UnitPath, 1000))
                    .col(string_len(UnitNotices::Kind, 24))
                    .col(string_len(UnitNotices::PeriodStart, 10))
                    .col(string_len(UnitNotices::PeriodEnd, 10))
                    .col(integer(UnitNotices::Required))
                    .col(integer(UnitNotices::Done))
                    .col(integer(UnitNotices::Streak))
                    .col(timestamp_with_time_zone(UnitNotices::ReceivedAt))
                    .to_owned(),
            )
            .await?;
        // One notice per (unit, kind, period), whichever event (or replica) announced it.
        manager
            .create_index(
                Index::create()
                    .name("unit_notices_period")
                    .table(UnitNotices::Table)
                    .col(UnitNotices::UnitId)
                    .col(UnitNotices::Kind)
                    .col(UnitNotices::PeriodStart)
                    .unique()
                    .if_not_exists()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("unit_notices_path")
                    .table(UnitNotices::Table)
                    .col(UnitNotices::UnitPath)
                    .col(UnitNotices::Id)
                    .if_not_exists()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(UnitNotices::Table).to_owned())
            .await?;
        for column in [
            Orders::Outcome,
            Orders::FiledBy,
            Orders::ConsentRecordedAt,
            Orders::ConsentMethod,
            Orders::ConsentRecordedBy,
            Orders::ResidentNameCipher,
            Orders::SourceActivityId,
            Orders::SourceVisitId,
            Orders::Channel,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Orders::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
