//! The register of issued service-record proofs and its public check.
//!
//! A proof page shows lifetime totals that keep growing, so its content cannot be
//! recomputed later. Instead every issued page leaves one row in `issued_proofs` with a
//! short random public code printed on the page; whoever holds the paper (usually an
//! employer or a school, without an account) types the code into `verifyServiceRecord`
//! and sees what the page showed when it was issued: the volunteer number, the name with
//! all but its first character hidden, the period, its hours, the star level at issue,
//! the issuing unit and the date. Nothing else personal is answered, and an unknown code
//! is just null, so the check tells a guesser nothing.

use chrono::{NaiveDate, Utc};
use tongxin_platform::db::DbError;
use uuid::Uuid;

use super::Volunteers;
use super::ledger::RecordProof;
use super::self_service::ERASED_NAME;
use crate::domain::record_code::{RecordCode, mask_name};
use crate::error::VolunteersError;
use crate::store::{issued_proofs, unit_details, volunteers};

/// Fresh codes to try when one is already taken (about one chance in 2^60 each).
const CODE_ATTEMPTS: usize = 3;

/// What a verification shows about an issued proof.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceRecordCheck {
    /// The public volunteer number.
    pub volunteer_no: String,
    /// The name with all but its first character hidden (张**); the erased placeholder
    /// when the volunteer's personal data was deleted since.
    pub name_masked: String,
    /// First day of the period.
    pub from: NaiveDate,
    /// Last day of the period.
    pub to: NaiveDate,
    /// Approved hours in the period, as printed.
    pub period_hours: f64,
    /// Star level at issue.
    pub star_level: u8,
    /// The issuing unit's path.
    pub issuing_unit_path: String,
    /// Its name, when known.
    pub issuing_unit_name: Option<String>,
    /// Date of issue.
    pub issued_on: NaiveDate,
}

impl Volunteers {
    /// HMAC-SHA256 of a proof's canonical content under the service's hash key.
    pub fn proof_digest(&self, canonical: &str) -> [u8; 32] {
        self.cipher()
            .keyed_hash(&format!("tongxin-service-record-v1\n{canonical}"))
    }

    /// Registers an issued proof page and returns its public code. The same page (same
    /// volunteer, period, day and content, hence digest) issued again keeps its first
    /// code, so printing twice does not fill the register; a page whose content changed
    /// meanwhile (an approval in between) gets a code of its own.
    #[tracing::instrument(skip_all, fields(volunteer_id = %proof.volunteer.id))]
    pub async fn issue_proof(
        &self,
        issued_by: &str,
        proof: &RecordProof,
        digest: [u8; 32],
    ) -> Result<RecordCode, VolunteersError> {
        let quarters = entries_quarters(proof);
        let mut last = None;
        for _ in 0..CODE_ATTEMPTS {
            let code = RecordCode::generate();
            let row = issued_proofs::Model {
                id: Uuid::now_v7(),
                code: code.as_str().to_owned(),
                volunteer_id: proof.volunteer.id,
                volunteer_no: proof.volunteer.volunteer_no.clone(),
                period_from: proof.from,
                period_to: proof.to,
                issued_on: proof.issued_on,
                issuing_unit_path: proof.issuing_unit.clone(),
                period_quarters: quarters,
                star_level: i16::from(proof.totals.star_level),
                content_digest: digest.to_vec(),
                issued_at: Utc::now(),
                issued_by: issued_by.chars().take(200).collect(),
            };
            match issued_proofs::issue(self.db(), row).await {
                Ok(stored) => {
                    // The code itself stays out of the logs: it is what opens the check.
                    if stored.code == code.as_str() {
                        tracing::info!(proof_id = %stored.id, "service-record proof issued");
                    }
                    return Ok(RecordCode::parse(&stored.code)?);
                }
                // Only the code's own unique index can refuse: the same page is absorbed
                // by the insert's ON CONFLICT. Draw again.
                Err(DbError::Conflict(detail)) => last = Some(DbError::Conflict(detail)),
                Err(other) => return Err(other.into()),
            }
        }
        Err(last
            .unwrap_or_else(|| DbError::Other("no proof code could be drawn".to_owned()))
            .into())
    }

    /// What the proof issued under `code` showed; `None` for a code never issued. A code
    /// that cannot be one (wrong length or characters) is BAD_USER_INPUT. Anyone may ask.
    #[tracing::instrument(skip_all)]
    pub async fn verify_service_record(
        &self,
        code: &str,
    ) -> Result<Option<ServiceRecordCheck>, VolunteersError> {
        let code = RecordCode::parse(code)?;
        let Some(issued) = issued_proofs::by_code(self.db(), code.as_str()).await? else {
            return Ok(None);
        };
        // The name is read now, not kept in the register: once the volunteer's personal
        // data is erased on request, the check shows no trace of it either.
        let name_masked = match volunteers::get(self.db(), issued.volunteer_id).await? {
            Some(v) if v.erased_at.is_none() => mask_name(&v.name),
            _ => ERASED_NAME.to_owned(),
        };
        let issuing_unit_name = unit_details::by_path(self.db(), &issued.issuing_unit_path)
            .await?
            .and_then(|u| u.name);
        Ok(Some(ServiceRecordCheck {
            volunteer_no: issued.volunteer_no,
            name_masked,
            from: issued.period_from,
            to: issued.period_to,
            period_hours: issued.period_quarters as f64 / 4.0,
            star_level: u8::try_from(issued.star_level).unwrap_or(0),
            issuing_unit_path: issued.issuing_unit_path,
            issuing_unit_name,
            issued_on: issued.issued_on,
        }))
    }
}

/// The period's approved quarter hours, summed exactly (the page shows them as hours).
fn entries_quarters(proof: &RecordProof) -> i64 {
    proof.entries.iter().map(|e| i64::from(e.quarters)).sum()
}
