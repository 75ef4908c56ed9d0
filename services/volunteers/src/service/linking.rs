//! Account linking: who a signed-in account acts as.
//!
//! A record registered by staff or imported from a spreadsheet has no account, so nobody can
//! act as that volunteer (orders asks `GetVolunteerBySubject`). Three ways link one:
//! - **self-registration** ([`Volunteers::register`] by the person): linked at birth;
//! - **invite**: staff whose scope covers the record issue a one-time code
//!   ([`Volunteers::invite_account`]); it reaches the volunteer through the district's
//!   SMS/WeChat channel (the `account_invite_issued` event) or by hand; a signed-in account
//!   redeems it ([`Volunteers::redeem_invite`]);
//! - **claim**: a signed-in account proves the ID-card number and phone on file
//!   ([`Volunteers::claim_record`]), compared through the keyed hash of the ID-card number and
//!   the decrypted phone of the one record it finds.
//!
//! The link is the row's unique `subject`: one account ↔ at most one record. Staff in scope
//! remove it ([`Volunteers::unlink_account`]); from that moment `GetVolunteerBySubject` finds
//! nothing for the account. Every invite, link, unlink and failed attempt is an audit row
//! ([`Volunteers::account_links`]). A wrong, used, expired or replaced code is one error, a
//! failed proof another, neither saying whether a record exists; failures are bounded per
//! account and per record (see [`crate::domain::linking`]).

use chrono::{DateTime, Utc};
use sea_orm::{DatabaseTransaction, TransactionTrait};
use tongxin_platform::auth::{Principal, Role};
use tongxin_platform::db::{DbError, classify};
use tongxin_platform::events::outbox;
use tongxin_platform::pii::Phone;
use uuid::Uuid;

use super::self_service::now_micros;
use super::{Caller, VolunteerView, Volunteers};
use crate::domain::availability::{CHINA_STANDARD_TIME, local_today};
use crate::domain::id_card::IdCardNumber;
use crate::domain::linking::{
    InviteCode, InviteState, LinkAction, LinkMethod, account_may_try, attempt_window_start,
    invite_expires_at, record_takes_claims,
};
use crate::domain::{DomainError, VolunteerId};
use crate::error::VolunteersError;
use crate::events;
use crate::store::account_links::{self, audit, invites};
use crate::store::volunteers::{self, Model};

/// What staff get back from an invite: the code in clear, this once (to hand it over in
/// person; the channel gets it through the event). Only its keyed hash is stored.
#[derive(Debug, Clone)]
pub struct IssuedInvite {
    /// The record the code links to.
    pub volunteer_id: VolunteerId,
    /// The code.
    pub code: InviteCode,
    /// When it stops being valid.
    pub expires_at: DateTime<Utc>,
}

/// Where an open invite goes: for the delivery channel only (see
/// [`Volunteers::invite_delivery`]).
#[derive(Debug, Clone)]
pub struct InviteDelivery {
    /// The invite.
    pub invite_id: Uuid,
    /// Its record.
    pub volunteer_id: VolunteerId,
    /// The phone on file, in full.
    pub phone: String,
    /// When the invite stops being valid.
    pub expires_at: DateTime<Utc>,
}

/// One row of a record's link history.
#[derive(Debug, Clone)]
pub struct LinkEntry {
    /// Row id.
    pub id: Uuid,
    /// What happened.
    pub action: LinkAction,
    /// How, for invites, links and unlinks.
    pub method: Option<LinkMethod>,
    /// The account linked, unlinked or attempting.
    pub account: Option<String>,
    /// Who did it.
    pub actor: String,
    /// When.
    pub at: DateTime<Utc>,
}

impl From<audit::Model> for LinkEntry {
    fn from(r: audit::Model) -> Self {
        Self {
            id: r.id,
            action: r.action.into(),
            method: r.method.map(Into::into),
            account: r.account,
            actor: r.actor,
            at: r.at,
        }
    }
}

/// The answer to a person registering themself with an ID-card number already on file
/// (registered by staff or imported): claim that record instead.
pub(super) const ALREADY_ON_FILE: &str = "id_card_number: already registered. If this is \
     your record (registered by your unit or imported), link your account to it with \
     claimVolunteerRecord (your ID-card number and the phone on file), or redeem the \
     invite code your unit's staff give you with redeemAccountInvite";

/// The one answer to a code that cannot be redeemed, whatever the reason.
fn code_not_valid() -> VolunteersError {
    DomainError::invalid(
        "code",
        "not valid: it may be mistyped, used, expired or replaced by a newer one; \
         ask your unit's staff for a new code",
    )
    .into()
}

/// The one answer to a claim that is not proven, whatever the reason.
fn claim_not_proven() -> VolunteersError {
    DomainError::invalid(
        "proof",
        "the ID-card number and phone do not match a record that can be claimed; \
         check both, or ask your unit's staff for an invite code",
    )
    .into()
}

fn account_taken(e: DbError) -> VolunteersError {
    match e {
        DbError::Conflict(_) => VolunteersError::Conflict(
            "this account is already linked to a volunteer record".to_owned(),
        ),
        other => other.into(),
    }
}

fn audit_row(
    volunteer_id: Option<Uuid>,
    account: Option<&str>,
    action: LinkAction,
    method: Option<LinkMethod>,
    actor: &str,
    at: DateTime<Utc>,
) -> audit::Model {
    audit::Model {
        id: Uuid::now_v7(),
        volunteer_id,
        account: account.map(str::to_owned),
        action: action.into(),
        method: method.map(Into::into),
        actor: actor.to_owned(),
        at,
    }
}

/// The audit row and event of a self-registration, in its transaction (see
/// [`Volunteers::register`]).
pub(super) async fn record_self_registration(
    txn: &DatabaseTransaction,
    row: &Model,
    account: &str,
) -> Result<(), VolunteersError> {
    account_links::record(
        txn,
        audit_row(
            Some(row.id),
            Some(account),
            LinkAction::Linked,
            Some(LinkMethod::SelfRegistration),
            account,
            row.created_at,
        ),
    )
    .await?;
    outbox::enqueue(
        txn,
        events::ACCOUNT_LINKED,
        events::SOURCE,
        events::account_linked(row, LinkMethod::SelfRegistration, account),
    )
    .await?;
    Ok(())
}

/// The audit row of the link an erasure cuts, in its transaction (see
/// [`Volunteers::process_deletion`]). The account is not repeated: the person asked for their
/// data to go.
pub(super) async fn record_erasure_unlink(
    txn: &DatabaseTransaction,
    row: &Model,
    actor: &str,
    at: DateTime<Utc>,
) -> Result<(), VolunteersError> {
    account_links::record(
        txn,
        audit_row(
            Some(row.id),
            None,
            LinkAction::Unlinked,
            Some(LinkMethod::Staff),
            actor,
            at,
        ),
    )
    .await?;
    Ok(())
}

impl Volunteers {
    /// Staff whose scope covers the record issue a one-time code for it (revoking any
    /// earlier open one) and publish `account_invite_issued` for the delivery channel.
    /// CONFLICT when the record already has an account or was erased.
    #[tracing::instrument(skip_all, fields(actor = %actor.subject, volunteer_id = %id))]
    pub async fn invite_account(
        &self,
        actor: &Principal,
        id: VolunteerId,
    ) -> Result<IssuedInvite, VolunteersError> {
        let row = self.in_staff_scope(actor, id).await?;
        if row.erased_at.is_some() {
            return Err(VolunteersError::Conflict(
                "this record was erased on request".to_owned(),
            ));
        }
        if row.subject.is_some() {
            return Err(VolunteersError::Conflict(
                "this record is already linked to an account; unlink it first".to_owned(),
            ));
        }
        let code = InviteCode::generate();
        let now = now_micros();
        let invite = invites::Model {
            id: Uuid::now_v7(),
            volunteer_id: row.id,
            code_hash: self.cipher.keyed_hash(code.as_str()).to_vec(),
            issued_at: now,
            issued_by: actor.subject.clone(),
            expires_at: invite_expires_at(now),
            used_at: None,
            used_by: None,
            revoked_at: None,
        };
        let txn = self.db.begin().await.map_err(classify)?;
        account_links::issue(&txn, invite.clone()).await?;
        account_links::record(
            &txn,
            audit_row(
                Some(row.id),
                None,
                LinkAction::Invited,
                Some(LinkMethod::Staff),
                &actor.subject,
                now,
            ),
        )
        .await?;
        outbox::enqueue(
            &txn,
            events::ACCOUNT_INVITE_ISSUED,
            events::SOURCE,
            events::account_invite_issued(
                &row,
                invite.id,
                &code,
                invite.expires_at,
                &actor.subject,
            ),
        )
        .await?;
        txn.commit().await.map_err(classify)?;
        self.waker.wake();
        tracing::info!(invite_id = %invite.id, "account invite issued");
        Ok(IssuedInvite {
            volunteer_id: id,
            code,
            expires_at: invite.expires_at,
        })
    }

    /// Where to deliver open invite `id` (`GetInviteDelivery`): the record and its phone in
    /// full, for a service principal only (the district's SMS/WeChat channel, acting on the
    /// `account_invite_issued` event). NOT_FOUND once the invite is used, replaced or
    /// expired, so the phone is disclosed for a delivery that can still matter and nothing
    /// else; each answered lookup is an audit row of the record.
    #[tracing::instrument(skip_all, fields(actor = %actor.subject, invite_id = %id))]
    pub async fn invite_delivery(
        &self,
        actor: &Principal,
        id: Uuid,
    ) -> Result<InviteDelivery, VolunteersError> {
        if !actor.has_role(Role::Service) {
            return Err(VolunteersError::Forbidden(
                "only the delivery channel's service credential reads an invite's address"
                    .to_owned(),
            ));
        }
        let gone = || VolunteersError::NotFound(format!("no open invite {id}"));
        let invite = account_links::invite(&self.db, id)
            .await?
            .ok_or_else(gone)?;
        let now = now_micros();
        let state = InviteState::at(
            now,
            invite.expires_at,
            invite.used_at.is_some(),
            invite.revoked_at.is_some(),
        );
        if state != InviteState::Open {
            return Err(gone());
        }
        let row = volunteers::get(&self.db, invite.volunteer_id)
            .await?
            .filter(|r| r.erased_at.is_none())
            .ok_or_else(gone)?;
        let phone = Phone::parse(&self.cipher.decrypt(&row.phone_cipher)?)?;
        account_links::record(
            &self.db,
            audit_row(
                Some(row.id),
                None,
                LinkAction::DeliveryLookedUp,
                None,
                &actor.subject,
                now,
            ),
        )
        .await?;
        Ok(InviteDelivery {
            invite_id: invite.id,
            volunteer_id: VolunteerId(row.id),
            phone: phone.expose().to_owned(),
            expires_at: invite.expires_at,
        })
    }

    /// A signed-in account redeems an invite code and is linked to its record.
    #[tracing::instrument(skip_all, fields(actor = %actor.subject))]
    pub async fn redeem_invite(
        &self,
        actor: &Principal,
        code: &str,
    ) -> Result<VolunteerView, VolunteersError> {
        let account = linking_account(actor)?;
        let code = InviteCode::parse(code)?;
        let now = now_micros();
        self.may_try(account, now).await?;
        let invite =
            account_links::invite_by_hash(&self.db, &self.cipher.keyed_hash(code.as_str())).await?;
        let open = invite.as_ref().filter(|i| {
            InviteState::at(
                now,
                i.expires_at,
                i.used_at.is_some(),
                i.revoked_at.is_some(),
            ) == InviteState::Open
        });
        let Some(invite) = open else {
            let record = invite.map(|i| i.volunteer_id);
            self.failed(record, account, LinkAction::RedeemFailed, now)
                .await?;
            return Err(code_not_valid());
        };
        let txn = self.db.begin().await.map_err(classify)?;
        // Of two accounts redeeming one code, exactly one gets past this.
        if !account_links::use_invite(&txn, invite.id, account, now).await? {
            drop(txn);
            self.failed(
                Some(invite.volunteer_id),
                account,
                LinkAction::RedeemFailed,
                now,
            )
            .await?;
            return Err(code_not_valid());
        }
        let row = self
            .link_in(&txn, invite.volunteer_id, account, LinkMethod::Invite, now)
            .await?;
        txn.commit().await.map_err(|e| account_taken(classify(e)))?;
        self.linked(account, row)
    }

    /// A signed-in account proves the ID-card number and phone on file and is linked to
    /// that record. Anything unproven is one BAD_USER_INPUT that does not say whether the
    /// number is registered.
    #[tracing::instrument(skip_all, fields(actor = %actor.subject))]
    pub async fn claim_record(
        &self,
        actor: &Principal,
        id_card_number: &str,
        phone: &str,
    ) -> Result<VolunteerView, VolunteersError> {
        let account = linking_account(actor)?;
        let id_card = IdCardNumber::parse_on(id_card_number, local_today(CHINA_STANDARD_TIME))?;
        let phone = Phone::parse(phone)?;
        let now = now_micros();
        self.may_try(account, now).await?;
        let row =
            account_links::by_id_card_hash(&self.db, &self.cipher.keyed_hash(id_card.expose()))
                .await?;
        let Some(row) = row.filter(|r| r.erased_at.is_none()) else {
            self.failed(None, account, LinkAction::ClaimFailed, now)
                .await?;
            return Err(claim_not_proven());
        };
        let on_file = Phone::parse(&self.cipher.decrypt(&row.phone_cipher)?)?;
        let failed_claims =
            account_links::failed_claims_of_record(&self.db, row.id, attempt_window_start(now))
                .await?;
        if on_file.expose() != phone.expose() || !record_takes_claims(failed_claims) {
            self.failed(Some(row.id), account, LinkAction::ClaimFailed, now)
                .await?;
            return Err(claim_not_proven());
        }
        let txn = self.db.begin().await.map_err(classify)?;
        let row = self
            .link_in(&txn, row.id, account, LinkMethod::Claim, now)
            .await?;
        txn.commit().await.map_err(|e| account_taken(classify(e)))?;
        self.linked(account, row)
    }

    /// Staff whose scope covers the record remove its link; the account no longer acts as
    /// the volunteer. CONFLICT when the record has no account.
    #[tracing::instrument(skip_all, fields(actor = %actor.subject, volunteer_id = %id))]
    pub async fn unlink_account(
        &self,
        actor: &Principal,
        id: VolunteerId,
    ) -> Result<VolunteerView, VolunteersError> {
        let row = self.in_staff_scope(actor, id).await?;
        let Some(account) = row.subject.clone() else {
            return Err(VolunteersError::Conflict(
                "this record is not linked to an account".to_owned(),
            ));
        };
        let now = now_micros();
        let txn = self.db.begin().await.map_err(classify)?;
        if !account_links::unlink(&txn, row.id, &account, now).await? {
            return Err(VolunteersError::Conflict(
                "the link changed meanwhile; read the record again".to_owned(),
            ));
        }
        account_links::record(
            &txn,
            audit_row(
                Some(row.id),
                Some(&account),
                LinkAction::Unlinked,
                Some(LinkMethod::Staff),
                &actor.subject,
                now,
            ),
        )
        .await?;
        outbox::enqueue(
            &txn,
            events::ACCOUNT_UNLINKED,
            events::SOURCE,
            events::account_unlinked(&row, &actor.subject),
        )
        .await?;
        txn.commit().await.map_err(classify)?;
        self.waker.wake();
        tracing::info!("account unlinked");
        let row = Model {
            subject: None,
            updated_at: Some(now),
            ..row
        };
        self.matcher.apply(&row);
        let caller = self.caller(Some(actor)).await?;
        self.view(&caller, row)
    }

    /// A page of a record's link history, oldest first, for staff whose scope covers it;
    /// and whether more follow.
    pub async fn account_links(
        &self,
        actor: &Principal,
        id: VolunteerId,
        after: Option<Uuid>,
        limit: u64,
    ) -> Result<(Vec<LinkEntry>, bool), VolunteersError> {
        self.in_staff_scope(actor, id).await?;
        let mut rows = account_links::history(&self.db, id.0, after, limit + 1).await?;
        let more = rows.len() as u64 > limit;
        rows.truncate(limit as usize);
        Ok((rows.into_iter().map(LinkEntry::from).collect(), more))
    }

    /// FORBIDDEN once `account` used up its failed attempts; CONFLICT when it is linked
    /// already (nothing to redeem or claim).
    async fn may_try(&self, account: &str, now: DateTime<Utc>) -> Result<(), VolunteersError> {
        let failures =
            account_links::failures_of_account(&self.db, account, attempt_window_start(now))
                .await?;
        if !account_may_try(failures) {
            return Err(VolunteersError::Forbidden(
                "too many failed attempts from this account; try again in 24 hours, \
                 or ask your unit's staff for an invite code"
                    .to_owned(),
            ));
        }
        if volunteers::by_subject(&self.db, account).await?.is_some() {
            return Err(VolunteersError::Conflict(
                "this account is already linked to a volunteer record".to_owned(),
            ));
        }
        Ok(())
    }

    /// Records a failed attempt (it counts against the limits).
    async fn failed(
        &self,
        record: Option<Uuid>,
        account: &str,
        action: LinkAction,
        now: DateTime<Utc>,
    ) -> Result<(), VolunteersError> {
        tracing::info!(action = action.as_str(), "account link attempt failed");
        account_links::record(
            &self.db,
            audit_row(record, Some(account), action, None, account, now),
        )
        .await?;
        Ok(())
    }

    /// Links `account` to record `id` inside `txn`, with its audit row and event; the row as
    /// linked. CONFLICT when the record has an account already or was erased, or the
    /// account is linked elsewhere.
    async fn link_in(
        &self,
        txn: &DatabaseTransaction,
        id: Uuid,
        account: &str,
        method: LinkMethod,
        now: DateTime<Utc>,
    ) -> Result<Model, VolunteersError> {
        if !account_links::link(txn, id, account, now)
            .await
            .map_err(account_taken)?
        {
            return Err(VolunteersError::Conflict(
                "this volunteer record is already linked to an account (or was erased); \
                 ask your unit's staff"
                    .to_owned(),
            ));
        }
        let row = volunteers::get(txn, id)
            .await?
            .ok_or_else(|| VolunteersError::NotFound("the volunteer record is gone".to_owned()))?;
        account_links::record(
            txn,
            audit_row(
                Some(id),
                Some(account),
                LinkAction::Linked,
                Some(method),
                account,
                now,
            ),
        )
        .await?;
        outbox::enqueue(
            txn,
            events::ACCOUNT_LINKED,
            events::SOURCE,
            events::account_linked(&row, method, account),
        )
        .await?;
        Ok(row)
    }

    /// After a link's commit: wake the outbox, refresh the index, and show the record to
    /// its account.
    fn linked(&self, account: &str, row: Model) -> Result<VolunteerView, VolunteersError> {
        self.waker.wake();
        self.matcher.apply(&row);
        tracing::info!(volunteer_id = %row.id, "account linked");
        let caller = Caller {
            subject: Some(account.to_owned()),
            staff_scope: None,
        };
        self.view(&caller, row)
    }
}

/// The account of a person who may link themself: a citizen or volunteer token.
fn linking_account(actor: &Principal) -> Result<&str, VolunteersError> {
    if actor.has_role(Role::Citizen) || actor.has_role(Role::Volunteer) {
        Ok(&actor.subject)
    } else {
        Err(VolunteersError::Forbidden(
            "only a citizen or volunteer account links itself to a volunteer record".to_owned(),
        ))
    }
}
