//! The register of issued service-record proofs (one row per printed page, found by its
//! public code), and an index for the staff list of pending deletion requests.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveIden)]
enum IssuedProofs {
    Table,
    Id,
    Code,
    VolunteerId,
    VolunteerNo,
    PeriodFrom,
    PeriodTo,
    IssuedOn,
    IssuingUnitPath,
    PeriodQuarters,
    StarLevel,
    ContentDigest,
    IssuedAt,
    IssuedBy,
}

#[derive(DeriveIden)]
enum Volunteers {
    Table,
    Id,
    DeletionRequestedAt,
}

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261128_000700_issued_proofs"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(IssuedProofs::Table)
                    .if_not_exists()
                    .col(pk_uuid(IssuedProofs::Id))
                    .col(string_len_uniq(IssuedProofs::Code, 12))
                    .col(uuid(IssuedProofs::VolunteerId))
                    .col(string_len(IssuedProofs::VolunteerNo, 40))
                    .col(date(IssuedProofs::PeriodFrom))
                    .col(date(IssuedProofs::PeriodTo))
                    .col(date(IssuedProofs::IssuedOn))
                    .col(string_len(IssuedProofs::IssuingUnitPath, 1000))
                    .col(big_integer(IssuedProofs::PeriodQuarters))
                    .col(small_integer(IssuedProofs::StarLevel))
                    .col(blob(IssuedProofs::ContentDigest))
                    .col(timestamp_with_time_zone(IssuedProofs::IssuedAt))
                    .col(string_len(IssuedProofs::IssuedBy, 200))
                    .to_owned(),
            )
            .await?;
        // The same page issued again the same day (same content, so same digest) keeps
        // its first code; two concurrent issues cannot both insert.
        manager
            .create_index(
                Index::create()
                    .name("issued_proofs_same_page")
                    .table(IssuedProofs::Table)
                    .col(IssuedProofs::VolunteerId)
                    .col(IssuedProofs::PeriodFrom)
                    .col(IssuedProofs::PeriodTo)
                    .col(IssuedProofs::IssuedOn)
                    .col(IssuedProofs::ContentDigest)
                    .unique()
                    .if_not_exists()
                    .to_owned(),
            )
            .await?;
        // Pending deletion requests, oldest first: few rows have the column set.
        manager
            .create_index(
                Index::create()
                    .name("volunteers_deletion_requested")
                    .table(Volunteers::Table)
                    .col(Volunteers::DeletionRequestedAt)
                    .col(Volunteers::Id)
                    .if_not_exists()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("volunteers_deletion_requested")
                    .table(Volunteers::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(Table::drop().table(IssuedProofs::Table).to_owned())
            .await
    }
}
