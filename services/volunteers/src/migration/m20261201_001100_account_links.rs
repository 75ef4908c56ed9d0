//! Account linking: the invites staff issue (only the code's keyed hash is kept) and the
//! append-only audit of every invite, link, unlink and failed attempt. The link itself is
//! the volunteer row's `subject` (unique), so one account has at most one record and one
//! record at most one account.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveIden)]
enum AccountInvites {
    Table,
    Id,
    VolunteerId,
    CodeHash,
    IssuedAt,
    IssuedBy,
    ExpiresAt,
    UsedAt,
    UsedBy,
    RevokedAt,
}

#[derive(DeriveIden)]
enum AccountLinkAudit {
    Table,
    Id,
    VolunteerId,
    Account,
    Action,
    Method,
    Actor,
    At,
}

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261201_001100_account_links"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(AccountInvites::Table)
                    .if_not_exists()
                    .col(pk_uuid(AccountInvites::Id))
                    .col(uuid(AccountInvites::VolunteerId))
                    // A redeem finds its invite by the hash alone.
                    .col(blob_uniq(AccountInvites::CodeHash))
                    .col(timestamp_with_time_zone(AccountInvites::IssuedAt))
                    .col(string_len(AccountInvites::IssuedBy, 200))
                    .col(timestamp_with_time_zone(AccountInvites::ExpiresAt))
                    .col(timestamp_with_time_zone_null(AccountInvites::UsedAt))
                    .col(string_len_null(AccountInvites::UsedBy, 200))
                    .col(timestamp_with_time_zone_null(AccountInvites::RevokedAt))
                    .to_owned(),
            )
            .await?;
        // A new invite revokes the open ones of the same record.
        manager
            .create_index(
                Index::create()
                    .name("account_invites_volunteer")
                    .table(AccountInvites::Table)
                    .col(AccountInvites::VolunteerId)
                    .if_not_exists()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(AccountLinkAudit::Table)
                    .if_not_exists()
                    .col(pk_uuid(AccountLinkAudit::Id))
                    // None for a failed attempt that matched no record.
                    .col(uuid_null(AccountLinkAudit::VolunteerId))
                    .col(string_len_null(AccountLinkAudit::Account, 200))
                    .col(string_len(AccountLinkAudit::Action, 20))
                    .col(string_len_null(AccountLinkAudit::Method, 20))
                    .col(string_len(AccountLinkAudit::Actor, 200))
                    .col(timestamp_with_time_zone(AccountLinkAudit::At))
                    .to_owned(),
            )
            .await?;
        // Staff read a record's history; the attempt limits count by account and by record.
        manager
            .create_index(
                Index::create()
                    .name("account_link_audit_volunteer")
                    .table(AccountLinkAudit::Table)
                    .col(AccountLinkAudit::VolunteerId)
                    .col(AccountLinkAudit::At)
                    .if_not_exists()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("account_link_audit_account")
                    .table(AccountLinkAudit::Table)
                    .col(AccountLinkAudit::Account)
                    .col(AccountLinkAudit::At)
                    .if_not_exists()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(AccountLinkAudit::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(AccountInvites::Table).to_owned())
            .await
    }
}
