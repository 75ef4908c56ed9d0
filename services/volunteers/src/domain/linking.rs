//! Account linking: the rules that tie a signed-in account (a token subject) to a volunteer
//! record, so that a volunteer registered by staff or imported from a spreadsheet can act.
//!
//! Three ways make a link: self-registration (the account registers its own record), an
//! invite (staff in scope issue a one-time code that the account redeems), and a claim (the
//! account proves the ID-card number and phone on file). One account has at most one record
//! and one record at most one account.
//!
//! The invite code is the 12-character code of [`RecordCode`] (60 random bits, no
//! characters that read alike), valid for [`INVITE_TTL`], used once; only its keyed hash is
//! stored. Guessing is bounded per account: after [`MAX_FAILURES_PER_ACCOUNT`] failed
//! redeems or claims in [`ATTEMPT_WINDOW`] the account may not try again until the window
//! has passed; a record whose claim failed [`MAX_FAILED_CLAIMS_PER_RECORD`] times in the
//! window takes no claims (any account) until then, so spreading guesses over many accounts
//! does not help either. An invite still works for it.

use std::fmt;

use chrono::{DateTime, Duration, Utc};

use super::DomainError;
use super::record_code::RecordCode;

/// How long an invite code stays valid.
pub const INVITE_TTL: Duration = Duration::hours(72);
/// The window over which failed attempts are counted.
pub const ATTEMPT_WINDOW: Duration = Duration::hours(24);
/// Failed redeems and claims one account may make in [`ATTEMPT_WINDOW`].
pub const MAX_FAILURES_PER_ACCOUNT: u64 = 5;
/// Failed claims one record takes in [`ATTEMPT_WINDOW`] before it takes no more claims.
pub const MAX_FAILED_CLAIMS_PER_RECORD: u64 = 10;

/// A one-time invite code, as issued or as a person typed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InviteCode(RecordCode);

impl InviteCode {
    /// A fresh random code.
    pub fn generate() -> Self {
        Self(RecordCode::generate())
    }

    /// A code as typed: case, spaces and dashes do not matter; anything else malformed is
    /// BAD_USER_INPUT naming `code`.
    pub fn parse(input: &str) -> Result<Self, DomainError> {
        RecordCode::parse(input).map(Self)
    }

    /// The canonical form (12 characters), the input of the stored keyed hash.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

/// Printed in groups of four, e.g. `7KQ4-M2ZX-9HTP`.
impl fmt::Display for InviteCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// When an invite issued at `issued_at` stops being valid.
pub fn invite_expires_at(issued_at: DateTime<Utc>) -> DateTime<Utc> {
    issued_at + INVITE_TTL
}

/// Where the failure count of an account (or a record) starts at `now`.
pub fn attempt_window_start(now: DateTime<Utc>) -> DateTime<Utc> {
    now - ATTEMPT_WINDOW
}

/// Whether an account with `failures` failed attempts in the window may try again.
pub fn account_may_try(failures: u64) -> bool {
    failures < MAX_FAILURES_PER_ACCOUNT
}

/// Whether a record with `failed_claims` in the window still takes claims.
pub fn record_takes_claims(failed_claims: u64) -> bool {
    failed_claims < MAX_FAILED_CLAIMS_PER_RECORD
}

/// The state of a stored invite at `now`: only [`InviteState::Open`] may be redeemed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InviteState {
    /// Not used, not replaced, not expired.
    Open,
    /// Redeemed already.
    Used,
    /// Replaced by a newer invite for the same record.
    Revoked,
    /// Past its expiry.
    Expired,
}

impl InviteState {
    /// The state of an invite with these stored facts at `now`.
    pub fn at(
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
        used: bool,
        revoked: bool,
    ) -> InviteState {
        if used {
            InviteState::Used
        } else if revoked {
            InviteState::Revoked
        } else if now >= expires_at {
            InviteState::Expired
        } else {
            InviteState::Open
        }
    }
}

/// What one audit row records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkAction {
    /// Staff issued an invite code (revoking any earlier open one).
    Invited,
    /// An account was linked to the record.
    Linked,
    /// Staff removed the link.
    Unlinked,
    /// An account presented an invite code that is wrong, used, revoked or expired.
    RedeemFailed,
    /// An account's proof (ID-card number and phone) did not match, or the record took no
    /// more claims.
    ClaimFailed,
    /// The delivery channel (a service) read the phone to send an open invite to.
    DeliveryLookedUp,
}

impl LinkAction {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            LinkAction::Invited => "invited",
            LinkAction::Linked => "linked",
            LinkAction::Unlinked => "unlinked",
            LinkAction::RedeemFailed => "redeem_failed",
            LinkAction::ClaimFailed => "claim_failed",
            LinkAction::DeliveryLookedUp => "delivery_looked_up",
        }
    }

    /// Whether this is a failed attempt (counted against the attempt limits).
    pub fn is_failure(self) -> bool {
        matches!(self, LinkAction::RedeemFailed | LinkAction::ClaimFailed)
    }
}

/// How a link was made or undone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkMethod {
    /// The account registered its own record.
    SelfRegistration,
    /// The account redeemed an invite code staff issued.
    Invite,
    /// The account proved the ID-card number and phone on file.
    Claim,
    /// Staff acted (issued an invite, removed a link).
    Staff,
}

impl LinkMethod {
    /// The stored name (also the `method` of the link events).
    pub fn as_str(self) -> &'static str {
        match self {
            LinkMethod::SelfRegistration => "self_registration",
            LinkMethod::Invite => "invite",
            LinkMethod::Claim => "claim",
            LinkMethod::Staff => "staff",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invite_codes_are_record_codes_that_read_back() {
        let code = InviteCode::generate();
        assert_eq!(code.as_str().len(), 12);
        assert_eq!(InviteCode::parse(&code.to_string()), Ok(code.clone()));
        assert_eq!(
            InviteCode::parse(&code.to_string().to_lowercase()),
            Ok(code.clone())
        );
        assert_ne!(InviteCode::generate(), code);
        assert!(InviteCode::parse("12345").is_err());
        assert!(InviteCode::parse("ABCD-EFGH-JKL0").is_err());
    }

    #[test]
    fn invites_expire_after_72_hours_and_are_used_once() {
        let issued = DateTime::parse_from_rfc3339("2026-12-01T08:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let expires = invite_expires_at(issued);
        assert_eq!(expires - issued, Duration::hours(72));
        let just_before = expires - Duration::seconds(1);
        assert_eq!(
            InviteState::at(just_before, expires, false, false),
            InviteState::Open
        );
        assert_eq!(
            InviteState::at(expires, expires, false, false),
            InviteState::Expired
        );
        assert_eq!(
            InviteState::at(issued, expires, true, false),
            InviteState::Used
        );
        assert_eq!(
            InviteState::at(issued, expires, false, true),
            InviteState::Revoked
        );
    }

    #[test]
    fn attempts_are_bounded_per_account_and_per_record() {
        assert!(account_may_try(0));
        assert!(account_may_try(MAX_FAILURES_PER_ACCOUNT - 1));
        assert!(!account_may_try(MAX_FAILURES_PER_ACCOUNT));
        assert!(record_takes_claims(MAX_FAILED_CLAIMS_PER_RECORD - 1));
        assert!(!record_takes_claims(MAX_FAILED_CLAIMS_PER_RECORD));
        let now = Utc::now();
        assert_eq!(now - attempt_window_start(now), Duration::hours(24));
    }

    #[test]
    fn only_failed_attempts_count_against_the_limits() {
        assert!(LinkAction::RedeemFailed.is_failure());
        assert!(LinkAction::ClaimFailed.is_failure());
        for a in [
            LinkAction::Invited,
            LinkAction::Linked,
            LinkAction::Unlinked,
        ] {
            assert!(!a.is_failure(), "{}", a.as_str());
        }
        assert_eq!(LinkMethod::SelfRegistration.as_str(), "self_registration");
    }
}
