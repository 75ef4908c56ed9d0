//! The quarterly evaluation (每季一次评比): each district's weights and award rules
//! (`evaluation_settings`), the published rankings (`evaluation_publications`, one row per
//! district, quarter and version, frozen once written), their entries with the explanation
//! (`evaluation_entries`), and the points awarded (`evaluation_awards`, at most one award per
//! district, quarter and unit whatever the number of versions, so a correction never pays
//! twice).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveIden)]
enum EvaluationSettings {
    Table,
    District,
    Weights,
    Awards,
    SetBy,
    SetAt,
}

#[derive(DeriveIden)]
enum EvaluationPublications {
    Table,
    Id,
    District,
    Quarter,
    Version,
    Reason,
    Weights,
    PublishedBy,
    PublishedAt,
}

#[derive(DeriveIden)]
enum EvaluationEntries {
    Table,
    PublicationId,
    UnitId,
    UnitPath,
    Level,
    Rank,
    Score,
    Body,
}

#[derive(DeriveIden)]
enum EvaluationAwards {
    Table,
    Id,
    District,
    Quarter,
    UnitId,
    PublicationId,
    Level,
    Rank,
    Points,
}

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261202_000700_evaluations"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(EvaluationSettings::Table)
                    .if_not_exists()
                    .col(string_len(EvaluationSettings::District, 40).primary_key())
                    .col(text(EvaluationSettings::Weights))
                    .col(text(EvaluationSettings::Awards))
                    .col(string_len(EvaluationSettings::SetBy, 200))
                    .col(timestamp_with_time_zone(EvaluationSettings::SetAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(EvaluationPublications::Table)
                    .if_not_exists()
                    .col(pk_uuid(EvaluationPublications::Id))
                    .col(string_len(EvaluationPublications::District, 40))
                    .col(string_len(EvaluationPublications::Quarter, 6))
                    .col(integer(EvaluationPublications::Version))
                    .col(text_null(EvaluationPublications::Reason))
                    .col(text(EvaluationPublications::Weights))
                    .col(string_len(EvaluationPublications::PublishedBy, 200))
                    .col(timestamp_with_time_zone(
                        EvaluationPublications::PublishedAt,
                    ))
                    .to_owned(),
            )
            .await?;
        // Two staff publishing the same version at once: the index lets exactly one in.
        manager
            .create_index(
                Index::create()
                    .name("evaluation_publications_version")
                    .table(EvaluationPublications::Table)
                    .col(EvaluationPublications::District)
                    .col(EvaluationPublications::Quarter)
                    .col(EvaluationPublications::Version)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(EvaluationEntries::Table)
                    .if_not_exists()
                    .col(uuid(EvaluationEntries::PublicationId))
                    .col(uuid(EvaluationEntries::UnitId))
                    .col(string_len(EvaluationEntries::UnitPath, 400))
                    .col(string_len(EvaluationEntries::Level, 20))
                    .col(integer(EvaluationEntries::Rank))
                    .col(double(EvaluationEntries::Score))
                    .col(text(EvaluationEntries::Body))
                    .primary_key(
                        Index::create()
                            .col(EvaluationEntries::PublicationId)
                            .col(EvaluationEntries::UnitId),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(EvaluationAwards::Table)
                    .if_not_exists()
                    .col(pk_uuid(EvaluationAwards::Id))
                    .col(string_len(EvaluationAwards::District, 40))
                    .col(string_len(EvaluationAwards::Quarter, 6))
                    .col(uuid(EvaluationAwards::UnitId))
                    .col(uuid(EvaluationAwards::PublicationId))
                    .col(string_len(EvaluationAwards::Level, 20))
                    .col(integer(EvaluationAwards::Rank))
                    .col(integer(EvaluationAwards::Points))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("evaluation_awards_once")
                    .table(EvaluationAwards::Table)
                    .col(EvaluationAwards::District)
                    .col(EvaluationAwards::Quarter)
                    .col(EvaluationAwards::UnitId)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            EvaluationAwards::Table.into_iden(),
            EvaluationEntries::Table.into_iden(),
            EvaluationPublications::Table.into_iden(),
            EvaluationSettings::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
