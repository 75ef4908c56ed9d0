//! Account linking as stored: the link itself is the volunteer row's unique `subject`
//! (see [`crate::store::volunteers`]); `account_invites` holds the invites staff issued (the
//! code only as its keyed hash); `account_link_audit` is the append-only history of every
//! invite, link, unlink and failed attempt. Rows of the audit are only ever inserted.

use chrono::{DateTime, Utc};
use sea_orm::entity::prelude::*;
use sea_orm::sea_query::Expr;
use sea_orm::{ConnectionTrait, PaginatorTrait, QueryOrder, QuerySelect};
use tongxin_platform::db::{DbError, classify};

use crate::store::volunteers;

/// `account_invites`: one row per issued invite.
pub mod invites {
    use chrono::{DateTime, Utc};
    use sea_orm::entity::prelude::*;

    /// One invite as stored.
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "account_invites")]
    pub struct Model {
        /// Invite id (UUIDv7).
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        /// The record the code links to.
        pub volunteer_id: Uuid,
        /// HMAC-SHA256 of the canonical code under the PII hash key; unique. The code
        /// itself is never stored.
        #[sea_orm(unique)]
        pub code_hash: Vec<u8>,
        /// When issued.
        pub issued_at: DateTime<Utc>,
        /// Who issued it (staff subject).
        pub issued_by: String,
        /// When it stops being valid.
        pub expires_at: DateTime<Utc>,
        /// When it was redeemed.
        pub used_at: Option<DateTime<Utc>>,
        /// The account that redeemed it.
        pub used_by: Option<String>,
        /// When a newer invite for the same record replaced it.
        pub revoked_at: Option<DateTime<Utc>>,
    }

    /// No relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// `account_link_audit`: the history of links, append-only.
pub mod audit {
    use chrono::{DateTime, Utc};
    use sea_orm::entity::prelude::*;

    use crate::domain::linking::{LinkAction, LinkMethod};

    /// The stored names of [`LinkAction`] (the domain enum stays free of sea-orm).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
    #[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
    pub enum Action {
        /// See [`LinkAction::Invited`].
        #[sea_orm(string_value = "invited")]
        Invited,
        /// See [`LinkAction::Linked`].
        #[sea_orm(string_value = "linked")]
        Linked,
        /// See [`LinkAction::Unlinked`].
        #[sea_orm(string_value = "unlinked")]
        Unlinked,
        /// See [`LinkAction::RedeemFailed`].
        #[sea_orm(string_value = "redeem_failed")]
        RedeemFailed,
        /// See [`LinkAction::ClaimFailed`].
        #[sea_orm(string_value = "claim_failed")]
        ClaimFailed,
        #[sea_orm(string_value = "delivery_looked_up")]
        DeliveryLookedUp,
    }

    impl From<LinkAction> for Action {
        fn from(a: LinkAction) -> Self {
            match a {
                LinkAction::Invited => Self::Invited,
                LinkAction::Linked => Self::Linked,
                LinkAction::Unlinked => Self::Unlinked,
                LinkAction::RedeemFailed => Self::RedeemFailed,
                LinkAction::ClaimFailed => Self::ClaimFailed,
                LinkAction::DeliveryLookedUp => Self::DeliveryLookedUp,
            }
        }
    }

    impl From<Action> for LinkAction {
        fn from(a: Action) -> Self {
            match a {
                Action::Invited => Self::Invited,
                Action::Linked => Self::Linked,
                Action::Unlinked => Self::Unlinked,
                Action::RedeemFailed => Self::RedeemFailed,
                Action::ClaimFailed => Self::ClaimFailed,
                Action::DeliveryLookedUp => Self::DeliveryLookedUp,
            }
        }
    }

    /// The stored names of [`LinkMethod`].
    #[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
    #[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
    pub enum Method {
        /// See [`LinkMethod::SelfRegistration`].
        #[sea_orm(string_value = "self_registration")]
        SelfRegistration,
        /// See [`LinkMethod::Invite`].
        #[sea_orm(string_value = "invite")]
        Invite,
        /// See [`LinkMethod::Claim`].
        #[sea_orm(string_value = "claim")]
        Claim,
        /// See [`LinkMethod::Staff`].
        #[sea_orm(string_value = "staff")]
        Staff,
    }

    impl From<LinkMethod> for Method {
        fn from(m: LinkMethod) -> Self {
            match m {
                LinkMethod::SelfRegistration => Self::SelfRegistration,
                LinkMethod::Invite => Self::Invite,
                LinkMethod::Claim => Self::Claim,
                LinkMethod::Staff => Self::Staff,
            }
        }
    }

    impl From<Method> for LinkMethod {
        fn from(m: Method) -> Self {
            match m {
                Method::SelfRegistration => Self::SelfRegistration,
                Method::Invite => Self::Invite,
                Method::Claim => Self::Claim,
                Method::Staff => Self::Staff,
            }
        }
    }

    /// One audit row.
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "account_link_audit")]
    pub struct Model {
        /// Row id (UUIDv7, so ids sort by time).
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        /// The record concerned; none for a failed attempt that matched no record.
        pub volunteer_id: Option<Uuid>,
        /// The account linked, unlinked or attempting; none for an invite.
        pub account: Option<String>,
        /// What happened.
        pub action: Action,
        /// How (for links, unlinks and invites).
        pub method: Option<Method>,
        /// Who did it (principal subject).
        pub actor: String,
        /// When.
        pub at: DateTime<Utc>,
    }

    /// No relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// Appends an audit row.
pub async fn record<C: ConnectionTrait>(conn: &C, row: audit::Model) -> Result<(), DbError> {
    let active = audit::ActiveModel::from(row).reset_all();
    audit::Entity::insert(active)
        .exec_without_returning(conn)
        .await
        .map_err(classify)?;
    Ok(())
}

/// Failed attempts (redeems and claims) of `account` since `since`.
pub async fn failures_of_account<C: ConnectionTrait>(
    conn: &C,
    account: &str,
    since: DateTime<Utc>,
) -> Result<u64, DbError> {
    audit::Entity::find()
        .filter(audit::Column::Account.eq(account))
        .filter(audit::Column::At.gt(since))
        .filter(
            audit::Column::Action.is_in([audit::Action::RedeemFailed, audit::Action::ClaimFailed]),
        )
        .count(conn)
        .await
        .map_err(classify)
}

/// Failed claims on the record `volunteer_id` since `since`.
pub async fn failed_claims_of_record<C: ConnectionTrait>(
    conn: &C,
    volunteer_id: Uuid,
    since: DateTime<Utc>,
) -> Result<u64, DbError> {
    audit::Entity::find()
        .filter(audit::Column::VolunteerId.eq(volunteer_id))
        .filter(audit::Column::At.gt(since))
        .filter(audit::Column::Action.eq(audit::Action::ClaimFailed))
        .count(conn)
        .await
        .map_err(classify)
}

/// Up to `limit` audit rows of a record, oldest first, after row `after`.
pub async fn history<C: ConnectionTrait>(
    conn: &C,
    volunteer_id: Uuid,
    after: Option<Uuid>,
    limit: u64,
) -> Result<Vec<audit::Model>, DbError> {
    let mut query = audit::Entity::find().filter(audit::Column::VolunteerId.eq(volunteer_id));
    if let Some(after) = after {
        query = query.filter(audit::Column::Id.gt(after));
    }
    query
        .order_by_asc(audit::Column::Id)
        .limit(limit)
        .all(conn)
        .await
        .map_err(classify)
}

/// Stores a new invite after revoking the open ones of the same record (one open invite
/// per record: a new one replaces the old).
pub async fn issue<C: ConnectionTrait>(conn: &C, row: invites::Model) -> Result<(), DbError> {
    invites::Entity::update_many()
        .col_expr(invites::Column::RevokedAt, Expr::value(Some(row.issued_at)))
        .filter(invites::Column::VolunteerId.eq(row.volunteer_id))
        .filter(invites::Column::UsedAt.is_null())
        .filter(invites::Column::RevokedAt.is_null())
        .exec(conn)
        .await
        .map_err(classify)?;
    invites::Entity::insert(invites::ActiveModel::from(row).reset_all())
        .exec_without_returning(conn)
        .await
        .map_err(classify)?;
    Ok(())
}

/// Invite `id`, whatever its state.
pub async fn invite<C: ConnectionTrait>(
    conn: &C,
    id: Uuid,
) -> Result<Option<invites::Model>, DbError> {
    invites::Entity::find_by_id(id)
        .one(conn)
        .await
        .map_err(classify)
}

/// The invite whose code hashes to `code_hash`, whatever its state.
pub async fn invite_by_hash<C: ConnectionTrait>(
    conn: &C,
    code_hash: &[u8],
) -> Result<Option<invites::Model>, DbError> {
    invites::Entity::find()
        .filter(invites::Column::CodeHash.eq(code_hash.to_vec()))
        .one(conn)
        .await
        .map_err(classify)
}

/// Marks invite `id` used by `account` if it is still open at `now`; whether it was (of two
/// concurrent redeems exactly one sees `true`).
pub async fn use_invite<C: ConnectionTrait>(
    conn: &C,
    id: Uuid,
    account: &str,
    now: DateTime<Utc>,
) -> Result<bool, DbError> {
    let done = invites::Entity::update_many()
        .col_expr(invites::Column::UsedAt, Expr::value(Some(now)))
        .col_expr(
            invites::Column::UsedBy,
            Expr::value(Some(account.to_owned())),
        )
        .filter(invites::Column::Id.eq(id))
        .filter(invites::Column::UsedAt.is_null())
        .filter(invites::Column::RevokedAt.is_null())
        .filter(invites::Column::ExpiresAt.gt(now))
        .exec(conn)
        .await
        .map_err(classify)?;
    Ok(done.rows_affected == 1)
}

/// The record whose ID-card number hashes to `id_card_hash`.
pub async fn by_id_card_hash<C: ConnectionTrait>(
    conn: &C,
    id_card_hash: &[u8],
) -> Result<Option<volunteers::Model>, DbError> {
    volunteers::Entity::find()
        .filter(volunteers::Column::IdCardHash.eq(id_card_hash.to_vec()))
        .one(conn)
        .await
        .map_err(classify)
}

/// Links `account` to record `id` if the record has no account and is not erased; whether
/// it did. An account linked elsewhere already is [`DbError::Conflict`] (the unique index on
/// `subject`).
pub async fn link<C: ConnectionTrait>(
    conn: &C,
    id: Uuid,
    account: &str,
    now: DateTime<Utc>,
) -> Result<bool, DbError> {
    let done = volunteers::Entity::update_many()
        .col_expr(
            volunteers::Column::Subject,
            Expr::value(Some(account.to_owned())),
        )
        .col_expr(volunteers::Column::UpdatedAt, Expr::value(Some(now)))
        .filter(volunteers::Column::Id.eq(id))
        .filter(volunteers::Column::Subject.is_null())
        .filter(volunteers::Column::ErasedAt.is_null())
        .exec(conn)
        .await
        .map_err(classify)?;
    Ok(done.rows_affected == 1)
}

/// Removes the link of record `id` if it is still to `account`; whether it did.
pub async fn unlink<C: ConnectionTrait>(
    conn: &C,
    id: Uuid,
    account: &str,
    now: DateTime<Utc>,
) -> Result<bool, DbError> {
    let done = volunteers::Entity::update_many()
        .col_expr(
            volunteers::Column::Subject,
            Expr::value(Option::<String>::None),
        )
        .col_expr(volunteers::Column::UpdatedAt, Expr::value(Some(now)))
        .filter(volunteers::Column::Id.eq(id))
        .filter(volunteers::Column::Subject.eq(account))
        .exec(conn)
        .await
        .map_err(classify)?;
    Ok(done.rows_affected == 1)
}
