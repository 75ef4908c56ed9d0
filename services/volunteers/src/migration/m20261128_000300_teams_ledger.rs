//! Teams and their members, the service-hours ledger, per-volunteer totals (stars,
//! points), the points ledger, and per-district rules.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveIden)]
enum Teams {
    Table,
    Id,
    Name,
    Level,
    UnitId,
    UnitPath,
    ParentId,
    CreatedAt,
    CreatedBy,
}

#[derive(DeriveIden)]
enum TeamMembers {
    Table,
    TeamId,
    VolunteerId,
    IsLeader,
    JoinedAt,
    AddedBy,
}

#[derive(DeriveIden)]
enum HoursEntries {
    Table,
    Id,
    VolunteerId,
    Source,
    SourceId,
    Quarters,
    ServiceDate,
    Place,
    Content,
    Evaluation,
    Recorder,
    RecordedAt,
    Status,
    DecidedBy,
    DecidedAt,
    DeclineReason,
}

#[derive(DeriveIden)]
enum VolunteerStats {
    Table,
    VolunteerId,
    ApprovedQuarters,
    PendingQuarters,
    StarLevel,
    Points,
}

#[derive(DeriveIden)]
enum PointsEntries {
    Table,
    Id,
    VolunteerId,
    Source,
    SourceId,
    Points,
    ServiceDate,
    CreatedAt,
}

#[derive(DeriveIden)]
enum DistrictRules {
    Table,
    District,
    StarThresholds,
    PointsPerHour,
    PointsPerRatingStar,
    UpdatedAt,
    UpdatedBy,
}

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261128_000300_teams_ledger"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Teams::Table)
                    .if_not_exists()
                    .col(pk_uuid(Teams::Id))
                    .col(string_len(Teams::Name, 100))
                    .col(string_len(Teams::Level, 16))
                    .col(uuid(Teams::UnitId))
                    .col(string_len(Teams::UnitPath, 1000))
                    .col(uuid_null(Teams::ParentId))
                    .col(timestamp_with_time_zone(Teams::CreatedAt))
                    .col(string_len(Teams::CreatedBy, 200))
                    .to_owned(),
            )
            .await?;
        // One name per unit, so two clicks on "create" make one team.
        manager
            .create_index(
                Index::create()
                    .name("teams_unit_name")
                    .table(Teams::Table)
                    .col(Teams::UnitId)
                    .col(Teams::Name)
                    .unique()
                    .if_not_exists()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("teams_unit_path")
                    .table(Teams::Table)
                    .col(Teams::UnitPath)
                    .col(Teams::Id)
                    .if_not_exists()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(TeamMembers::Table)
                    .if_not_exists()
                    .col(uuid(TeamMembers::TeamId))
                    .col(uuid(TeamMembers::VolunteerId))
                    .col(boolean(TeamMembers::IsLeader))
                    .col(timestamp_with_time_zone(TeamMembers::JoinedAt))
                    .col(string_len(TeamMembers::AddedBy, 200))
                    .primary_key(
                        Index::create()
                            .col(TeamMembers::TeamId)
                            .col(TeamMembers::VolunteerId),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("team_members_volunteer")
                    .table(TeamMembers::Table)
                    .col(TeamMembers::VolunteerId)
                    .if_not_exists()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(HoursEntries::Table)
                    .if_not_exists()
                    .col(pk_uuid(HoursEntries::Id))
                    .col(uuid(HoursEntries::VolunteerId))
                    .col(string_len(HoursEntries::Source, 16))
                    .col(uuid_null(HoursEntries::SourceId))
                    .col(small_integer(HoursEntries::Quarters))
                    .col(date(HoursEntries::ServiceDate))
                    .col(string_len(HoursEntries::Place, 200))
                    .col(string_len(HoursEntries::Content, 1000))
                    .col(string_len_null(HoursEntries::Evaluation, 1000))
                    .col(string_len(HoursEntries::Recorder, 200))
                    .col(timestamp_with_time_zone(HoursEntries::RecordedAt))
                    .col(string_len(HoursEntries::Status, 16))
                    .col(string_len_null(HoursEntries::DecidedBy, 200))
                    .col(timestamp_with_time_zone_null(HoursEntries::DecidedAt))
                    .col(string_len_null(HoursEntries::DeclineReason, 500))
                    .to_owned(),
            )
            .await?;
        // An order or activity credits a volunteer once, whatever the event id; manual
        // entries have no source id and NULLs never collide.
        manager
            .create_index(
                Index::create()
                    .name("hours_entries_source")
                    .table(HoursEntries::Table)
                    .col(HoursEntries::Source)
                    .col(HoursEntries::SourceId)
                    .col(HoursEntries::VolunteerId)
                    .unique()
                    .if_not_exists()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("hours_entries_volunteer_date")
                    .table(HoursEntries::Table)
                    .col(HoursEntries::VolunteerId)
                    .col(HoursEntries::ServiceDate)
                    .if_not_exists()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(VolunteerStats::Table)
                    .if_not_exists()
                    .col(pk_uuid(VolunteerStats::VolunteerId))
                    .col(big_integer(VolunteerStats::ApprovedQuarters))
                    .col(big_integer(VolunteerStats::PendingQuarters))
                    .col(small_integer(VolunteerStats::StarLevel))
                    .col(double(VolunteerStats::Points))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(PointsEntries::Table)
                    .if_not_exists()
                    .col(pk_uuid(PointsEntries::Id))
                    .col(uuid(PointsEntries::VolunteerId))
                    .col(string_len(PointsEntries::Source, 16))
                    .col(uuid(PointsEntries::SourceId))
                    .col(double(PointsEntries::Points))
                    .col(date(PointsEntries::ServiceDate))
                    .col(timestamp_with_time_zone(PointsEntries::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("points_entries_source")
                    .table(PointsEntries::Table)
                    .col(PointsEntries::Source)
                    .col(PointsEntries::SourceId)
                    .col(PointsEntries::VolunteerId)
                    .unique()
                    .if_not_exists()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("points_entries_volunteer")
                    .table(PointsEntries::Table)
                    .col(PointsEntries::VolunteerId)
                    .col(PointsEntries::Id)
                    .if_not_exists()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(DistrictRules::Table)
                    .if_not_exists()
                    .col(string_len(DistrictRules::District, 64).primary_key())
                    .col(string_len(DistrictRules::StarThresholds, 4000))
                    .col(integer(DistrictRules::PointsPerHour))
                    .col(integer(DistrictRules::PointsPerRatingStar))
                    .col(timestamp_with_time_zone(DistrictRules::UpdatedAt))
                    .col(string_len(DistrictRules::UpdatedBy, 200))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            DistrictRules::Table.into_iden(),
            PointsEntries::Table.into_iden(),
            VolunteerStats::Table.into_iden(),
            HoursEntries::Table.into_iden(),
            TeamMembers::Table.into_iden(),
            Teams::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
