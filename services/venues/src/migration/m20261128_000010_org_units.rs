//! The org tree.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveIden)]
enum OrgUnits {
    Table,
    Id,
    Kind,
    Name,
    Code,
    Path,
    ParentId,
    District,
    Lat,
    Lon,
    CreatedAt,
    CreatedBy,
}

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261128_000010_org_units"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(OrgUnits::Table)
                    .if_not_exists()
                    .col(pk_uuid(OrgUnits::Id))
                    .col(string_len(OrgUnits::Kind, 16))
                    .col(string_len(OrgUnits::Name, 400))
                    .col(string_len(OrgUnits::Code, 40))
                    .col(string_len_uniq(OrgUnits::Path, 1000))
                    .col(uuid_null(OrgUnits::ParentId))
                    .col(string_len(OrgUnits::District, 40))
                    .col(double(OrgUnits::Lat))
                    .col(double(OrgUnits::Lon))
                    .col(timestamp_with_time_zone(OrgUnits::CreatedAt))
                    .col(string(OrgUnits::CreatedBy))
                    .foreign_key(
                        ForeignKey::create()
                            .name("org_units_parent")
                            .from(OrgUnits::Table, OrgUnits::ParentId)
                            .to(OrgUnits::Table, OrgUnits::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("org_units_parent_path")
                    .table(OrgUnits::Table)
                    .col(OrgUnits::ParentId)
                    .col(OrgUnits::Path)
                    .if_not_exists()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(OrgUnits::Table).to_owned())
            .await
    }
}
