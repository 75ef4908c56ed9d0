//! `known_units.level`: the platform's known-units table (shared with orders) keeps each
//! unit's level. Nullable: units learnt before, or remembered by path alone (seeding), have
//! none until venues announces them again.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveIden)]
enum KnownUnits {
    Table,
    Level,
}

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261130_000900_known_unit_levels"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(KnownUnits::Table)
                    .add_column(string_len_null(KnownUnits::Level, 12))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(KnownUnits::Table)
                    .drop_column(KnownUnits::Level)
                    .to_owned(),
            )
            .await
    }
}
