//! Staff contacts per unit.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveIden)]
enum UnitContacts {
    Table,
    Id,
    UnitId,
    Name,
    Title,
    Phone,
    CreatedAt,
}

#[derive(DeriveIden)]
enum OrgUnits {
    Table,
    Id,
}

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261128_000011_unit_contacts"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(UnitContacts::Table)
                    .if_not_exists()
                    .col(pk_uuid(UnitContacts::Id))
                    .col(uuid(UnitContacts::UnitId))
                    .col(string_len(UnitContacts::Name, 100))
                    .col(string_len(UnitContacts::Title, 100))
                    .col(string_len(UnitContacts::Phone, 20))
                    .col(timestamp_with_time_zone(UnitContacts::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("unit_contacts_unit")
                            .from(UnitContacts::Table, UnitContacts::UnitId)
                            .to(OrgUnits::Table, OrgUnits::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("unit_contacts_unit")
                    .table(UnitContacts::Table)
                    .col(UnitContacts::UnitId)
                    .if_not_exists()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(UnitContacts::Table).to_owned())
            .await
    }
}
