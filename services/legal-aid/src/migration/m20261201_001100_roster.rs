//! The duty roster: weekly rules, date exceptions, and the district-wide holiday calendar
//! (seeded with the official days, see [`crate::domain::calendar::official_days`]).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use crate::domain::calendar::{DayKind, official_days};

#[derive(DeriveIden)]
enum RosterRules {
    Table,
    Id,
    StationId,
    Weekday,
    StartTime,
    EndTime,
    Service,
    ProviderIds,
    SlotMinutes,
    BufferMinutes,
    DailyLimit,
    CreatedAt,
}

#[derive(DeriveIden)]
enum RosterExceptions {
    Table,
    Id,
    StationId,
    Date,
    Kind,
    StartTime,
    EndTime,
    Service,
    ProviderIds,
    SlotMinutes,
    BufferMinutes,
    Note,
    CreatedAt,
}

#[derive(DeriveIden)]
enum CalendarDays {
    Table,
    Date,
    Kind,
    Follows,
    Name,
}

#[derive(DeriveIden)]
enum Stations {
    Table,
    Id,
}

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261201_001100_roster"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(RosterRules::Table)
                    .if_not_exists()
                    .col(pk_uuid(RosterRules::Id))
                    .col(uuid(RosterRules::StationId))
                    .col(small_integer(RosterRules::Weekday))
                    .col(string_len(RosterRules::StartTime, 5))
                    .col(string_len(RosterRules::EndTime, 5))
                    .col(string_len(RosterRules::Service, 32))
                    .col(text(RosterRules::ProviderIds))
                    .col(integer(RosterRules::SlotMinutes))
                    .col(integer(RosterRules::BufferMinutes))
                    .col(integer_null(RosterRules::DailyLimit))
                    .col(timestamp_with_time_zone(RosterRules::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("roster_rules_station")
                            .from(RosterRules::Table, RosterRules::StationId)
                            .to(Stations::Table, Stations::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(RosterExceptions::Table)
                    .if_not_exists()
                    .col(pk_uuid(RosterExceptions::Id))
                    .col(uuid(RosterExceptions::StationId))
                    .col(date(RosterExceptions::Date))
                    .col(string_len(RosterExceptions::Kind, 16))
                    .col(string_len_null(RosterExceptions::StartTime, 5))
                    .col(string_len_null(RosterExceptions::EndTime, 5))
                    .col(string_len_null(RosterExceptions::Service, 32))
                    .col(text(RosterExceptions::ProviderIds))
                    .col(integer_null(RosterExceptions::SlotMinutes))
                    .col(integer_null(RosterExceptions::BufferMinutes))
                    .col(string_len(RosterExceptions::Note, 200))
                    .col(timestamp_with_time_zone(RosterExceptions::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("roster_exceptions_station")
                            .from(RosterExceptions::Table, RosterExceptions::StationId)
                            .to(Stations::Table, Stations::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("roster_exceptions_station_date")
                    .table(RosterExceptions::Table)
                    .col(RosterExceptions::StationId)
                    .col(RosterExceptions::Date)
                    .if_not_exists()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(CalendarDays::Table)
                    .if_not_exists()
                    .col(date(CalendarDays::Date).primary_key())
                    .col(string_len(CalendarDays::Kind, 16))
                    .col(small_integer_null(CalendarDays::Follows))
                    .col(string_len(CalendarDays::Name, 40))
                    .to_owned(),
            )
            .await?;
        let mut insert = Query::insert();
        insert.into_table(CalendarDays::Table).columns([
            CalendarDays::Date,
            CalendarDays::Kind,
            CalendarDays::Follows,
            CalendarDays::Name,
        ]);
        for day in official_days() {
            let (kind, follows) = match day.kind {
                DayKind::Holiday => ("holiday", None),
                DayKind::Workday { follows } => (
                    "workday",
                    Some(
                        <i16 as TryFrom<u32>>::try_from(follows.number_from_monday()).unwrap_or(1),
                    ),
                ),
            };
            insert.values_panic([
                day.date.into(),
                kind.into(),
                follows.into(),
                day.name.into(),
            ]);
        }
        manager.exec_stmt(insert).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            CalendarDays::Table.into_iden(),
            RosterExceptions::Table.into_iden(),
            RosterRules::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
