//! Unit contacts' phones sealed at rest: a `phone_cipher` column. Existing rows keep their
//! clear `phone` until the service, which alone holds the key, seals them at start-up
//! ([`crate::store::contacts::seal_clear_phones`]) and empties the clear column.

use sea_orm_migration::prelude::*;

#[derive(DeriveIden)]
enum UnitContacts {
    Table,
    PhoneCipher,
}

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261201_000040_sealed_contact_phones"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(UnitContacts::Table)
                    .add_column(ColumnDef::new(UnitContacts::PhoneCipher).blob().null())
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(UnitContacts::Table)
                    .drop_column(UnitContacts::PhoneCipher)
                    .to_owned(),
            )
            .await
    }
}
