//! `verifyServiceRecord`: the public check of a printed service-record proof by the code
//! on the paper. No token needed: the holder is usually an employer or a school.

use async_graphql::{Context, Object, SimpleObject};
use chrono::NaiveDate;

use crate::service::{ServiceRecordCheck, Volunteers};

/// What an issued service-record proof showed, as far as a holder of the paper may see it.
#[derive(SimpleObject)]
pub struct ServiceRecordVerification {
    /// The public volunteer number.
    pub volunteer_no: String,
    /// The name with all but its first character hidden, e.g. 张**.
    pub name_masked: String,
    /// First day of the period.
    pub period_from: NaiveDate,
    /// Last day of the period.
    pub period_to: NaiveDate,
    /// Approved service hours in the period when the proof was issued.
    pub hours: f64,
    /// Star level when the proof was issued.
    pub star_level: u8,
    /// Path of the issuing unit, e.g. `/rc/changyuan/hongqiao`.
    pub issuing_unit_path: String,
    /// Name of the issuing unit, when known.
    pub issuing_unit_name: Option<String>,
    /// Date of issue.
    pub issued_on: NaiveDate,
}

impl From<ServiceRecordCheck> for ServiceRecordVerification {
    fn from(c: ServiceRecordCheck) -> Self {
        Self {
            volunteer_no: c.volunteer_no,
            name_masked: c.name_masked,
            period_from: c.from,
            period_to: c.to,
            hours: c.period_hours,
            star_level: c.star_level,
            issuing_unit_path: c.issuing_unit_path,
            issuing_unit_name: c.issuing_unit_name,
            issued_on: c.issued_on,
        }
    }
}

/// The proof check's part of the root query.
#[derive(Default)]
pub struct ProofQuery;

#[Object]
impl ProofQuery {
    /// Checks a printed service-record proof by its verification code (anyone, no token):
    /// what the proof showed when it was issued, or null when no proof has that code. A
    /// code that cannot be one is BAD_USER_INPUT.
    async fn verify_service_record(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "The code printed on the proof, e.g. `7KQ4-M2ZX-9HTP` (case, spaces and dashes do not matter)."
        )]
        code: String,
    ) -> async_graphql::Result<Option<ServiceRecordVerification>> {
        let volunteers = ctx.data::<Volunteers>()?;
        Ok(volunteers
            .verify_service_record(&code)
            .await?
            .map(Into::into))
    }
}
