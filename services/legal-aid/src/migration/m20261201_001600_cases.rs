//! Cases (the matters a consultation opens) and their append-only timeline.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveIden)]
enum LegalCases {
    Table,
    Id,
    ConsultationId,
    AppointmentId,
    StationId,
    ProviderId,
    Kind,
    Status,
    Result,
    Version,
    OpenedAt,
    UpdatedAt,
    ClosedAt,
    Conflicts,
}

#[derive(DeriveIden)]
enum LegalCaseTimeline {
    Table,
    Id,
    CaseId,
    Version,
    Status,
    Result,
    Actor,
    At,
}

#[derive(DeriveIden)]
enum Consultations {
    Table,
    Id,
}

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261201_001600_cases"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(LegalCases::Table)
                    .if_not_exists()
                    .col(pk_uuid(LegalCases::Id))
                    // One matter per consultation.
                    .col(uuid(LegalCases::ConsultationId).unique_key())
                    .col(uuid(LegalCases::AppointmentId))
                    .col(uuid(LegalCases::StationId))
                    .col(uuid_null(LegalCases::ProviderId))
                    .col(string_len(LegalCases::Kind, 32))
                    .col(string_len(LegalCases::Status, 16))
                    .col(string_len_null(LegalCases::Result, 32))
                    .col(integer(LegalCases::Version))
                    .col(timestamp_with_time_zone(LegalCases::OpenedAt))
                    .col(timestamp_with_time_zone(LegalCases::UpdatedAt))
                    .col(timestamp_with_time_zone_null(LegalCases::ClosedAt))
                    // Ids (JSON list) of the open matters at the station that name one of
                    // this case's parties on the other side, found when it was opened.
                    .col(text(LegalCases::Conflicts).default("[]"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("legal_cases_consultation")
                            .from(LegalCases::Table, LegalCases::ConsultationId)
                            .to(Consultations::Table, Consultations::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("legal_cases_station_opened")
                    .table(LegalCases::Table)
                    .col(LegalCases::StationId)
                    .col(LegalCases::OpenedAt)
                    .if_not_exists()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(LegalCaseTimeline::Table)
                    .if_not_exists()
                    .col(pk_uuid(LegalCaseTimeline::Id))
                    .col(uuid(LegalCaseTimeline::CaseId))
                    // The case's version this entry made: one entry per version, so a lost
                    // race can never append a second one.
                    .col(integer(LegalCaseTimeline::Version))
                    .col(string_len(LegalCaseTimeline::Status, 16))
                    .col(string_len_null(LegalCaseTimeline::Result, 32))
                    .col(string_len(LegalCaseTimeline::Actor, 200))
                    .col(timestamp_with_time_zone(LegalCaseTimeline::At))
                    .foreign_key(
                        ForeignKey::create()
                            .name("legal_case_timeline_case")
                            .from(LegalCaseTimeline::Table, LegalCaseTimeline::CaseId)
                            .to(LegalCases::Table, LegalCases::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("legal_case_timeline_version")
                    .table(LegalCaseTimeline::Table)
                    .col(LegalCaseTimeline::CaseId)
                    .col(LegalCaseTimeline::Version)
                    .unique()
                    .if_not_exists()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(LegalCaseTimeline::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(LegalCases::Table).to_owned())
            .await
    }
}
