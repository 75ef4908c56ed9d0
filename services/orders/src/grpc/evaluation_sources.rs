//! What the quarterly evaluation asks volunteers: `UnitHours` (approved hours served per
//! unit), with orders' own service credential (aggregates for the whole district, the same
//! whoever asks), in batches. Its questions to venues (the district's units and their
//! rhythm) are on [`super::clients::VenuesClient`].

use std::time::Duration;

use chrono::NaiveDate;
use tongxin_platform::auth::ServiceTokens;
use tongxin_proto::volunteers as volunteers_pb;
use tongxin_proto::volunteers::volunteer_service_client::VolunteerServiceClient;
use tonic::transport::Channel;

use super::clients::{CallError, EVALUATION_BATCH, EVALUATION_TIMEOUT_FACTOR, as_service, channel};

/// The volunteers client of the evaluation.
#[derive(Clone)]
pub struct EvaluationSources {
    volunteers: VolunteerServiceClient<Channel>,
    credential: ServiceTokens,
}

impl EvaluationSources {
    /// A lazy client of volunteers at `volunteers_url`, calling with orders' `credential`.
    pub fn new(
        volunteers_url: &str,
        timeout: Duration,
        credential: ServiceTokens,
    ) -> anyhow::Result<Self> {
        Ok(Self {
            volunteers: VolunteerServiceClient::new(channel(
                volunteers_url,
                timeout * EVALUATION_TIMEOUT_FACTOR,
            )?),
            credential,
        })
    }

    /// Approved volunteer hours per path (in order) from `from` to `to` (exclusive).
    pub async fn hours(
        &self,
        paths: &[String],
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<f64>, CallError> {
        let mut out = Vec::with_capacity(paths.len());
        for chunk in paths.chunks(EVALUATION_BATCH) {
            let request = as_service(
                volunteers_pb::UnitHoursRequest {
                    unit_paths: chunk.to_vec(),
                    from_date: from.to_string(),
                    to_date: to.to_string(),
                },
                &self.credential,
            )?;
            let response = self
                .volunteers
                .clone()
                .unit_hours(request)
                .await?
                .into_inner();
            if response.hours.len() != chunk.len() {
                return Err(CallError::Unavailable(
                    "volunteers UnitHours answered a different number of units".to_owned(),
                ));
            }
            out.extend(response.hours);
        }
        Ok(out)
    }
}
