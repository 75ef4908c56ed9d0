//! Account linking in GraphQL: staff `inviteVolunteerAccount`, `unlinkVolunteerAccount` and
//! `accountLinks`; a signed-in person `redeemAccountInvite` and `claimVolunteerRecord`.

use async_graphql::connection::{Connection, Edge, EmptyFields, OpaqueCursor};
use async_graphql::{Context, Enum, ID, Object, SimpleObject};
use chrono::{DateTime, Utc};
use tongxin_platform::graphql::ContextExt;
use uuid::Uuid;

use super::paging;
use super::volunteer::{VolunteerNode, volunteer_id as parse_volunteer_id};
use crate::domain::linking::{LinkAction, LinkMethod};
use crate::service::{IssuedInvite, LinkEntry, Volunteers};

/// What happened to a volunteer record's account link.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(name = "AccountLinkAction", remote = "LinkAction")]
pub enum AccountLinkActionGql {
    /// Staff issued an invite code (any earlier open code of the record stops working).
    Invited,
    /// An account was linked to the record.
    Linked,
    /// Staff removed the link.
    Unlinked,
    /// An account presented a code for this record that was used, expired or replaced.
    RedeemFailed,
    /// An account's ID-card number matched this record but the phone did not (or the
    /// record takes no more claims for now).
    ClaimFailed,
    /// The district's delivery channel read the phone to send an open invite to
    /// (`GetInviteDelivery`).
    DeliveryLookedUp,
}

/// How a link was made or undone.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(name = "AccountLinkMethod", remote = "LinkMethod")]
pub enum AccountLinkMethodGql {
    /// The person registered their own record with this account.
    SelfRegistration,
    /// The account redeemed an invite code.
    Invite,
    /// The account proved the ID-card number and phone on file.
    Claim,
    /// Staff acted.
    Staff,
}

/// One row of a volunteer record's account-link history (append-only).
#[derive(SimpleObject)]
pub struct AccountLinkEntry {
    /// Row id.
    pub id: ID,
    /// What happened.
    pub action: AccountLinkActionGql,
    /// How, for invites, links and unlinks.
    pub method: Option<AccountLinkMethodGql>,
    /// The account (token subject) linked, unlinked or attempting.
    pub account: Option<String>,
    /// Who did it (principal subject).
    pub actor: String,
    /// When.
    pub at: DateTime<Utc>,
}

impl From<LinkEntry> for AccountLinkEntry {
    fn from(e: LinkEntry) -> Self {
        Self {
            id: ID(e.id.to_string()),
            action: e.action.into(),
            method: e.method.map(Into::into),
            account: e.account,
            actor: e.actor,
            at: e.at,
        }
    }
}

/// A one-time code that links a signed-in account to a volunteer record.
#[derive(SimpleObject)]
pub struct AccountInvite {
    /// The record it links to.
    pub volunteer_id: ID,
    /// The code, e.g. `7KQ4-M2ZX-9HTP`: shown here once, for handing over in person; the
    /// district's SMS/WeChat channel also sends it (event `account_invite_issued`). Only a
    /// keyed hash is stored: it cannot be shown again; issue a new one instead.
    pub code: String,
    /// When it stops working (72 hours after issue); it works once.
    pub expires_at: DateTime<Utc>,
}

impl From<IssuedInvite> for AccountInvite {
    fn from(i: IssuedInvite) -> Self {
        Self {
            volunteer_id: ID(i.volunteer_id.0.to_string()),
            code: i.code.to_string(),
            expires_at: i.expires_at,
        }
    }
}

/// Staff queries of account linking.
#[derive(Default)]
pub struct LinkingQuery;

#[Object]
impl LinkingQuery {
    /// The account-link history of a volunteer record, oldest first: invites, links (how
    /// and by whom), unlinks and failed attempts. Staff whose scope covers the record
    /// (FORBIDDEN otherwise).
    async fn account_links(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The volunteer record.")] volunteer_id: ID,
        #[graphql(desc = "Page size, 1 to 500 (default 50).")] first: Option<i32>,
        #[graphql(desc = "Cursor of the last edge of the previous page.")] after: Option<String>,
    ) -> async_graphql::Result<Connection<OpaqueCursor<Uuid>, AccountLinkEntry>> {
        let actor = ctx.principal()?.clone();
        let id = parse_volunteer_id(&volunteer_id, "volunteer_id")?;
        let first = paging::first(first)?;
        let after = paging::after::<Uuid>(after)?;
        let volunteers = ctx.data::<Volunteers>()?;
        let (entries, more) = volunteers.account_links(&actor, id, after, first).await?;
        let mut connection =
            Connection::<_, _, EmptyFields, EmptyFields>::new(after.is_some(), more);
        connection.edges.extend(
            entries
                .into_iter()
                .map(|e| Edge::new(OpaqueCursor(e.id), AccountLinkEntry::from(e))),
        );
        Ok(connection)
    }
}

/// Account-linking mutations.
#[derive(Default)]
pub struct LinkingMutation;

#[Object]
impl LinkingMutation {
    /// Staff whose scope covers the volunteer issue a one-time code that links an account
    /// to the record (for volunteers registered by staff or imported). Valid 72 hours, used
    /// once; a new code replaces the previous one. CONFLICT when the record already has an
    /// account.
    async fn invite_volunteer_account(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The volunteer record the code links an account to.")] volunteer_id: ID,
    ) -> async_graphql::Result<AccountInvite> {
        let actor = ctx.principal()?.clone();
        let id = parse_volunteer_id(&volunteer_id, "volunteer_id")?;
        let volunteers = ctx.data::<Volunteers>()?;
        Ok(volunteers.invite_account(&actor, id).await?.into())
    }

    /// The signed-in person (citizen or volunteer account) redeems an invite code and their
    /// account is linked to that volunteer record; the record as they now see it. A wrong,
    /// used, expired or replaced code is BAD_USER_INPUT; after 5 failed attempts in 24 hours
    /// FORBIDDEN; an account already linked CONFLICT.
    async fn redeem_account_invite(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The code, e.g. 7KQ4-M2ZX-9HTP (case, spaces and dashes do not matter).")]
        code: String,
    ) -> async_graphql::Result<VolunteerNode> {
        let actor = ctx.principal()?.clone();
        let volunteers = ctx.data::<Volunteers>()?;
        Ok(VolunteerNode(
            volunteers.redeem_invite(&actor, &code).await?,
        ))
    }

    /// The signed-in person claims the volunteer record registered for them by proving the
    /// ID-card number and the phone on file; their account is linked to it. Any mismatch is
    /// one BAD_USER_INPUT (it does not say which part, or whether a record exists); after 5
    /// failed attempts in 24 hours FORBIDDEN; a record or account already linked CONFLICT.
    async fn claim_volunteer_record(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The ID-card number on file (18 characters).")] id_card_number: String,
        #[graphql(desc = "The mobile number on file (11 digits).")] phone: String,
    ) -> async_graphql::Result<VolunteerNode> {
        let actor = ctx.principal()?.clone();
        let volunteers = ctx.data::<Volunteers>()?;
        Ok(VolunteerNode(
            volunteers
                .claim_record(&actor, &id_card_number, &phone)
                .await?,
        ))
    }

    /// Staff whose scope covers the volunteer remove the link between the record and its
    /// account, at once: the account no longer acts as the volunteer. CONFLICT when the
    /// record has no account.
    async fn unlink_volunteer_account(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The volunteer record whose account link is removed.")] volunteer_id: ID,
    ) -> async_graphql::Result<VolunteerNode> {
        let actor = ctx.principal()?.clone();
        let id = parse_volunteer_id(&volunteer_id, "volunteer_id")?;
        let volunteers = ctx.data::<Volunteers>()?;
        Ok(VolunteerNode(volunteers.unlink_account(&actor, id).await?))
    }
}
