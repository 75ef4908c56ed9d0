//! Activities and the hours volunteers served at them.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveIden)]
enum Activities {
    Table,
    Id,
    Title,
    Theme,
    ThemeLabel,
    VenueId,
    OrgUnitId,
    StartsAt,
    EndsAt,
    Capacity,
    Speakers,
    VolunteerIds,
    Status,
    CancelReason,
    Attendance,
    ClosedAt,
    ClosedBy,
    CreatedAt,
    CreatedBy,
}

#[derive(DeriveIden)]
enum ActivityServedHours {
    Table,
    ActivityId,
    VolunteerId,
    QuarterHours,
}

#[derive(DeriveIden)]
enum OrgUnits {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Venues {
    Table,
    Id,
}

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261128_000030_activities"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Activities::Table)
                    .if_not_exists()
                    .col(pk_uuid(Activities::Id))
                    .col(string_len(Activities::Title, 800))
                    .col(string_len(Activities::Theme, 32))
                    .col(string_len_null(Activities::ThemeLabel, 160))
                    .col(uuid(Activities::VenueId))
                    .col(uuid(Activities::OrgUnitId))
                    .col(timestamp_with_time_zone(Activities::StartsAt))
                    .col(timestamp_with_time_zone(Activities::EndsAt))
                    .col(integer(Activities::Capacity))
                    .col(text(Activities::Speakers))
                    .col(text(Activities::VolunteerIds))
                    .col(string_len(Activities::Status, 16))
                    .col(text_null(Activities::CancelReason))
                    .col(integer_null(Activities::Attendance))
                    .col(timestamp_with_time_zone_null(Activities::ClosedAt))
                    .col(string_null(Activities::ClosedBy))
                    .col(timestamp_with_time_zone(Activities::CreatedAt))
                    .col(string(Activities::CreatedBy))
                    .foreign_key(
                        ForeignKey::create()
                            .name("activities_venue")
                            .from(Activities::Table, Activities::VenueId)
                            .to(Venues::Table, Venues::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("activities_org_unit")
                            .from(Activities::Table, Activities::OrgUnitId)
                            .to(OrgUnits::Table, OrgUnits::Id),
                    )
                    .to_owned(),
            )
            .await?;
        for (name, cols) in [
            (
                "activities_starts_at",
                vec![Activities::StartsAt, Activities::Id],
            ),
            (
                "activities_org_unit_starts_at",
                vec![Activities::OrgUnitId, Activities::StartsAt],
            ),
            (
                "activities_venue_status",
                vec![Activities::VenueId, Activities::Status],
            ),
        ] {
            let mut index = Index::create();
            index.name(name).table(Activities::Table).if_not_exists();
            for col in cols {
                index.col(col);
            }
            manager.create_index(index.to_owned()).await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(ActivityServedHours::Table)
                    .if_not_exists()
                    .col(uuid(ActivityServedHours::ActivityId))
                    .col(uuid(ActivityServedHours::VolunteerId))
                    .col(small_integer(ActivityServedHours::QuarterHours))
                    .primary_key(
                        Index::create()
                            .col(ActivityServedHours::ActivityId)
                            .col(ActivityServedHours::VolunteerId),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("activity_served_hours_activity")
                            .from(ActivityServedHours::Table, ActivityServedHours::ActivityId)
                            .to(Activities::Table, Activities::Id),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(ActivityServedHours::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Activities::Table).to_owned())
            .await
    }
}
