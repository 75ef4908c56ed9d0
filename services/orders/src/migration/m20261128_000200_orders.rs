//! The menu, orders, their timeline, and the org units this service has learnt.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveIden)]
enum Categories {
    Table,
    Code,
    Name,
    GroupName,
    DefaultLevel,
    Skills,
    Fields,
    Sla,
    Active,
    UpdatedAt,
    UpdatedBy,
}

#[derive(DeriveIden)]
enum Orders {
    Table,
    Id,
    OrderNo,
    Citizen,
    IdempotencyKey,
    CategoryCode,
    Description,
    Form,
    Lat,
    Lon,
    PreferredAt,
    PhoneCipher,
    Photos,
    State,
    Version,
    District,
    CourtyardId,
    Chain,
    Holding,
    HoldingUnitId,
    HoldingUnitPath,
    HoldingLevel,
    RoutedPath,
    RoutingNote,
    DuplicateOf,
    Dispatched,
    TeamId,
    Accepted,
    Declined,
    Hours,
    Rating,
    RatingComment,
    CancelReason,
    PlacedAt,
    UpdatedAt,
    DeadlineAt,
    RemindAt,
    AlertedAt,
}

#[derive(DeriveIden)]
enum OrderTimeline {
    Table,
    Id,
    OrderId,
    FromState,
    ToState,
    Event,
    Actor,
    Role,
    UnitId,
    UnitPath,
    Level,
    Note,
    At,
}

#[derive(DeriveIden)]
enum KnownUnits {
    Table,
    Id,
    Path,
    Level,
}

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261128_000200_orders"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Categories::Table)
                    .if_not_exists()
                    .col(string_len(Categories::Code, 40).primary_key())
                    .col(string_len(Categories::Name, 200))
                    .col(string_len(Categories::GroupName, 100))
                    .col(string_len(Categories::DefaultLevel, 12))
                    .col(text(Categories::Skills))
                    .col(text(Categories::Fields))
                    .col(text(Categories::Sla))
                    .col(boolean(Categories::Active))
                    .col(timestamp_with_time_zone(Categories::UpdatedAt))
                    .col(string(Categories::UpdatedBy))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Orders::Table)
                    .if_not_exists()
                    .col(pk_uuid(Orders::Id))
                    .col(string_len_uniq(Orders::OrderNo, 40))
                    .col(string_len(Orders::Citizen, 200))
                    .col(string_len(Orders::IdempotencyKey, 100))
                    .col(string_len(Orders::CategoryCode, 40))
                    .col(text(Orders::Description))
                    .col(text(Orders::Form))
                    .col(double(Orders::Lat))
                    .col(double(Orders::Lon))
                    .col(timestamp_with_time_zone_null(Orders::PreferredAt))
                    .col(blob(Orders::PhoneCipher))
                    .col(text(Orders::Photos))
                    .col(string_len(Orders::State, 16))
                    .col(big_integer(Orders::Version))
                    .col(string_len(Orders::District, 40))
                    .col(uuid_null(Orders::CourtyardId))
                    .col(text(Orders::Chain))
                    .col(integer(Orders::Holding))
                    .col(uuid(Orders::HoldingUnitId))
                    .col(string_len(Orders::HoldingUnitPath, 1000))
                    .col(string_len(Orders::HoldingLevel, 12))
                    .col(string_len(Orders::RoutedPath, 1000))
                    .col(text(Orders::RoutingNote))
                    .col(uuid_null(Orders::DuplicateOf))
                    .col(text(Orders::Dispatched))
                    .col(uuid_null(Orders::TeamId))
                    .col(text(Orders::Accepted))
                    .col(text(Orders::Declined))
                    .col(text(Orders::Hours))
                    .col(small_integer_null(Orders::Rating))
                    .col(text_null(Orders::RatingComment))
                    .col(text_null(Orders::CancelReason))
                    .col(timestamp_with_time_zone(Orders::PlacedAt))
                    .col(timestamp_with_time_zone(Orders::UpdatedAt))
                    .col(timestamp_with_time_zone_null(Orders::DeadlineAt))
                    .col(timestamp_with_time_zone_null(Orders::RemindAt))
                    .col(timestamp_with_time_zone_null(Orders::AlertedAt))
                    .to_owned(),
            )
            .await?;
        // The same key from the same citizen is the same order, also when two requests race.
        manager
            .create_index(
                Index::create()
                    .name("orders_idempotency")
                    .table(Orders::Table)
                    .col(Orders::Citizen)
                    .col(Orders::IdempotencyKey)
                    .unique()
                    .if_not_exists()
                    .to_owned(),
            )
            .await?;
        for (name, cols) in [
            (
                "orders_holding_path",
                vec![Orders::HoldingUnitPath, Orders::PlacedAt],
            ),
            (
                "orders_routed_path",
                vec![Orders::RoutedPath, Orders::PlacedAt],
            ),
            ("orders_deadline", vec![Orders::DeadlineAt]),
            ("orders_remind", vec![Orders::RemindAt]),
            (
                "orders_category_placed",
                vec![Orders::CategoryCode, Orders::PlacedAt],
            ),
            ("orders_citizen", vec![Orders::Citizen, Orders::PlacedAt]),
        ] {
            let mut index = Index::create();
            index.name(name).table(Orders::Table).if_not_exists();
            for col in cols {
                index.col(col);
            }
            manager.create_index(index.to_owned()).await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(OrderTimeline::Table)
                    .if_not_exists()
                    .col(pk_uuid(OrderTimeline::Id))
                    .col(uuid(OrderTimeline::OrderId))
                    .col(string_len_null(OrderTimeline::FromState, 16))
                    .col(string_len(OrderTimeline::ToState, 16))
                    .col(string_len(OrderTimeline::Event, 24))
                    .col(string_len(OrderTimeline::Actor, 200))
                    .col(string_len(OrderTimeline::Role, 16))
                    .col(uuid(OrderTimeline::UnitId))
                    .col(string_len(OrderTimeline::UnitPath, 1000))
                    .col(string_len(OrderTimeline::Level, 12))
                    .col(text(OrderTimeline::Note))
                    .col(timestamp_with_time_zone(OrderTimeline::At))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("order_timeline_order")
                    .table(OrderTimeline::Table)
                    .col(OrderTimeline::OrderId)
                    .col(OrderTimeline::Id)
                    .if_not_exists()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(KnownUnits::Table)
                    .if_not_exists()
                    .col(pk_uuid(KnownUnits::Id))
                    .col(string_len(KnownUnits::Path, 1000))
                    .col(string_len(KnownUnits::Level, 12))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            KnownUnits::Table.into_iden(),
            OrderTimeline::Table.into_iden(),
            Orders::Table.into_iden(),
            Categories::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
