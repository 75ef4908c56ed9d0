//! The platform's own tables, included in every service's migrator.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

/// The migrations every service runs before its own.
pub fn migrations() -> Vec<Box<dyn MigrationTrait>> {
    vec![Box::new(CreateEventTables)]
}

#[derive(DeriveIden)]
enum OutboxEvents {
    Table,
    Seq,
    EventId,
    Subject,
    Source,
    Payload,
    Traceparent,
    CreatedAt,
    PublishedAt,
}

#[derive(DeriveIden)]
enum ProcessedEvents {
    Table,
    Consumer,
    EventId,
    ProcessedAt,
}

#[derive(DeriveIden)]
enum ParkedEvents {
    Table,
    Id,
    Consumer,
    EventId,
    Subject,
    Payload,
    Reason,
    Attempts,
    ParkedAt,
}

struct CreateEventTables;

impl MigrationName for CreateEventTables {
    fn name(&self) -> &str {
        "m20261128_000001_platform_event_tables"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for CreateEventTables {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(OutboxEvents::Table)
                    .if_not_exists()
                    .col(big_pk_auto(OutboxEvents::Seq))
                    .col(uuid_uniq(OutboxEvents::EventId))
                    .col(string(OutboxEvents::Subject))
                    .col(string(OutboxEvents::Source))
                    .col(blob(OutboxEvents::Payload))
                    .col(text_null(OutboxEvents::Traceparent))
                    .col(timestamp_with_time_zone(OutboxEvents::CreatedAt))
                    .col(timestamp_with_time_zone_null(OutboxEvents::PublishedAt))
                    .to_owned(),
            )
            .await?;
        // The relay's query: unpublished rows in commit order. A partial index stays tiny
        // because published rows leave it.
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE INDEX IF NOT EXISTS outbox_events_unpublished ON outbox_events (seq) WHERE published_at IS NULL",
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ProcessedEvents::Table)
                    .if_not_exists()
                    .col(string(ProcessedEvents::Consumer))
                    .col(uuid(ProcessedEvents::EventId))
                    .col(timestamp_with_time_zone(ProcessedEvents::ProcessedAt))
                    .primary_key(
                        Index::create()
                            .col(ProcessedEvents::Consumer)
                            .col(ProcessedEvents::EventId),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ParkedEvents::Table)
                    .if_not_exists()
                    .col(big_pk_auto(ParkedEvents::Id))
                    .col(string(ParkedEvents::Consumer))
                    .col(uuid(ParkedEvents::EventId))
                    .col(string(ParkedEvents::Subject))
                    .col(blob(ParkedEvents::Payload))
                    .col(text(ParkedEvents::Reason))
                    .col(big_integer(ParkedEvents::Attempts))
                    .col(timestamp_with_time_zone(ParkedEvents::ParkedAt))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            Table::drop().table(ParkedEvents::Table).to_owned(),
            Table::drop().table(ProcessedEvents::Table).to_owned(),
            Table::drop().table(OutboxEvents::Table).to_owned(),
        ] {
            manager.drop_table(table).await?;
        }
        Ok(())
    }
}
