//! Positions for live progress: each timeline row carries the order's version after it (a
//! notice the version it was raised at), and each arrival at a unit (placed at it, escalated
//! to it) its place among that unit's arrivals, counted in `unit_arrivals`. Existing rows are
//! numbered the same way, oldest first.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveIden)]
enum OrderTimeline {
    Table,
    OrderId,
    UnitId,
    Version,
    Arrival,
}

#[derive(DeriveIden)]
enum UnitArrivals {
    Table,
    UnitId,
    Last,
}

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261201_000300_progress_positions"
    }
}

/// Numbering of the rows written before this migration: a row's version is the number of
/// moves (not notices) of its order up to it; an arrival's place is the number of arrivals at
/// its unit up to it. UUIDv7 ids order rows by time on both backends.
const BACKFILL: [&str; 3] = [
    "UPDATE order_timeline SET version = (SELECT COUNT(*) FROM order_timeline t \
       WHERE t.order_id = order_timeline.order_id AND t.id <= order_timeline.id \
       AND t.event NOT IN ('reminder', 'overdue_alert'))",
    "UPDATE order_timeline SET arrival = (SELECT COUNT(*) FROM order_timeline t \
       WHERE t.unit_id = order_timeline.unit_id AND t.id <= order_timeline.id \
       AND t.event IN ('placed', 'escalated')) \
     WHERE event IN ('placed', 'escalated')",
    "INSERT INTO unit_arrivals (unit_id, last) \
       SELECT unit_id, MAX(arrival) FROM order_timeline WHERE arrival IS NOT NULL GROUP BY unit_id",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per ALTER: SQLite takes no more.
        manager
            .alter_table(
                Table::alter()
                    .table(OrderTimeline::Table)
                    .add_column(big_integer(OrderTimeline::Version).default(0))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(OrderTimeline::Table)
                    .add_column(big_integer_null(OrderTimeline::Arrival))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(UnitArrivals::Table)
                    .if_not_exists()
                    .col(pk_uuid(UnitArrivals::UnitId))
                    .col(big_integer(UnitArrivals::Last))
                    .to_owned(),
            )
            .await?;
        for sql in BACKFILL {
            manager.get_connection().execute_unprepared(sql).await?;
        }
        manager
            .create_index(
                Index::create()
                    .name("order_timeline_version")
                    .table(OrderTimeline::Table)
                    .col(OrderTimeline::OrderId)
                    .col(OrderTimeline::Version)
                    .to_owned(),
            )
            .await?;
        // Unique: two arrivals at one unit never share a place (NULLs, the other moves, are
        // distinct on both backends).
        manager
            .create_index(
                Index::create()
                    .name("order_timeline_arrival")
                    .table(OrderTimeline::Table)
                    .col(OrderTimeline::UnitId)
                    .col(OrderTimeline::Arrival)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for index in ["order_timeline_arrival", "order_timeline_version"] {
            manager
                .drop_index(
                    Index::drop()
                        .name(index)
                        .table(OrderTimeline::Table)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .drop_table(Table::drop().table(UnitArrivals::Table).to_owned())
            .await?;
        for column in [OrderTimeline::Arrival, OrderTimeline::Version] {
            manager
                .alter_table(
                    Table::alter()
                        .table(OrderTimeline::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
