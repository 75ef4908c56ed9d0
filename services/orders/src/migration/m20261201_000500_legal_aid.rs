//! Orders handled by a legal-aid station: a category says who handles its orders
//! (`handled_by`: `volunteers`, the default and every row from before, or `legal_aid` with
//! the `legal_service` it asks for), and an order dispatched to a station names it
//! (`legal_aid_station_id`, an id in the legal-aid service).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveIden)]
enum Categories {
    Table,
    HandledBy,
    LegalService,
}

#[derive(DeriveIden)]
enum Orders {
    Table,
    LegalAidStationId,
}

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261201_000500_legal_aid"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite alters one column at a time.
        manager
            .alter_table(
                Table::alter()
                    .table(Categories::Table)
                    .add_column(string_len(Categories::HandledBy, 20).default("volunteers"))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Categories::Table)
                    .add_column(string_len_null(Categories::LegalService, 40))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Orders::Table)
                    .add_column(uuid_null(Orders::LegalAidStationId))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Orders::Table)
                    .drop_column(Orders::LegalAidStationId)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Categories::Table)
                    .drop_column(Categories::LegalService)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Categories::Table)
                    .drop_column(Categories::HandledBy)
                    .to_owned(),
            )
            .await
    }
}
