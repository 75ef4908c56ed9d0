//! The account-linking events. Like every volunteers event they carry ids, the public
//! number and the home unit, never a name, phone or ID-card number; the invite carries its
//! one-time code for the delivery channel (see `AccountInviteIssued` in
//! proto/tongxin/events/v1/volunteers.proto for how the channel finds the address).

use chrono::{DateTime, SecondsFormat, Utc};
use prost::Message;
use tongxin_proto::events as pb_events;
use uuid::Uuid;

use crate::domain::linking::{InviteCode, LinkMethod};
use crate::store::volunteers::Model;

/// Staff issued an invite code for a volunteer record.
pub const ACCOUNT_INVITE_ISSUED: &str = "tongxin.volunteers.account_invite_issued";
/// An account was linked to a volunteer record.
pub const ACCOUNT_LINKED: &str = "tongxin.volunteers.account_linked";
/// Staff removed the link between a volunteer record and its account.
pub const ACCOUNT_UNLINKED: &str = "tongxin.volunteers.account_unlinked";

/// The body of `account_invite_issued`.
pub fn account_invite_issued(
    row: &Model,
    invite_id: Uuid,
    code: &InviteCode,
    expires_at: DateTime<Utc>,
    actor: &str,
) -> Vec<u8> {
    pb_events::AccountInviteIssued {
        invite_id: invite_id.to_string(),
        volunteer_id: row.id.to_string(),
        volunteer_no: row.volunteer_no.clone(),
        home_unit_id: row.home_unit_id.to_string(),
        home_unit_path: row.home_unit_path.clone(),
        code: code.to_string(),
        expires_at: expires_at.to_rfc3339_opts(SecondsFormat::Secs, true),
        actor: actor.to_owned(),
    }
    .encode_to_vec()
}

/// The body of `account_linked`.
pub fn account_linked(row: &Model, method: LinkMethod, actor: &str) -> Vec<u8> {
    pb_events::AccountLinked {
        volunteer_id: row.id.to_string(),
        volunteer_no: row.volunteer_no.clone(),
        home_unit_path: row.home_unit_path.clone(),
        method: method.as_str().to_owned(),
        actor: actor.to_owned(),
    }
    .encode_to_vec()
}

/// The body of `account_unlinked`.
pub fn account_unlinked(row: &Model, actor: &str) -> Vec<u8> {
    pb_events::AccountUnlinked {
        volunteer_id: row.id.to_string(),
        volunteer_no: row.volunteer_no.clone(),
        home_unit_path: row.home_unit_path.clone(),
        actor: actor.to_owned(),
    }
    .encode_to_vec()
}
