//! What the quarterly evaluation asks the other services, with orders' own service
//! credential (the figures are aggregates for the whole district, the same whoever asks):
//! the district's units (venues `OrgService.ListChildren`, level by level: venues owns the
//! tree, and a courtyard no order ever reached is evaluated too), venues
//! `RhythmService.UnitRhythm` (cadence kept, activities held, attendance) and volunteers
//! `UnitHours` (hours served). Both in batches of at most 1000 units.

use std::collections::HashMap;
use std::time::Duration;

use chrono::NaiveDate;
use tongxin_platform::auth::ServiceTokens;
use tongxin_platform::grpc::request_as;
use tongxin_proto::venues as venues_pb;
use tongxin_proto::venues::org_service_client::OrgServiceClient;
use tongxin_proto::venues::rhythm_service_client::RhythmServiceClient;
use tongxin_proto::volunteers as volunteers_pb;
use tongxin_proto::volunteers::volunteer_service_client::VolunteerServiceClient;
use tonic::transport::Channel;
use uuid::Uuid;

use super::clients::{CallError, channel};
use crate::domain::Level;
use crate::domain::evaluation::Rhythm;

/// The most units a district may have for the walk (a bound on a misbehaving tree).
const MAX_UNITS: usize = 20_000;

/// The most units one call names (both servers' limit).
const BATCH: usize = 1000;

/// The venues and volunteers clients of the evaluation.
#[derive(Clone)]
pub struct EvaluationSources {
    org: OrgServiceClient<Channel>,
    rhythm: RhythmServiceClient<Channel>,
    volunteers: VolunteerServiceClient<Channel>,
    credential: ServiceTokens,
}

impl EvaluationSources {
    /// Lazy clients of venues at `venues_url` and volunteers at `volunteers_url`.
    pub fn new(
        venues_url: &str,
        volunteers_url: &str,
        timeout: Duration,
        credential: ServiceTokens,
    ) -> anyhow::Result<Self> {
        let venues = channel(venues_url, timeout)?;
        Ok(Self {
            org: OrgServiceClient::new(venues.clone()),
            rhythm: RhythmServiceClient::new(venues),
            volunteers: VolunteerServiceClient::new(channel(volunteers_url, timeout)?),
            credential,
        })
    }

    fn request<T>(&self, message: T) -> Result<tonic::Request<T>, CallError> {
        let credential = self
            .credential
            .credential()
            .map_err(|e| CallError::Unavailable(format!("signing the service token: {e}")))?;
        Ok(request_as(message, Some(&credential)))
    }

    /// Every unit below `root` (not `root` itself) as (id, path, level), level by level.
    pub async fn subtree(&self, root: Uuid) -> Result<Vec<(Uuid, String, Level)>, CallError> {
        let mut found = Vec::new();
        let mut parents = vec![root];
        while let Some(parent) = parents.pop() {
            let mut page_token = String::new();
            loop {
                let request = self.request(venues_pb::ListChildrenRequest {
                    parent_id: parent.to_string(),
                    page_size: 1000,
                    page_token,
                })?;
                let page = self.org.clone().list_children(request).await?.into_inner();
                for unit in page.units {
                    let (Ok(id), Some(level)) = (
                        Uuid::parse_str(&unit.id),
                        tongxin_platform::org::consumer::level_of(unit.kind),
                    ) else {
                        continue;
                    };
                    if level != Level::Courtyard {
                        parents.push(id);
                    }
                    found.push((id, unit.path, level));
                }
                if found.len() > MAX_UNITS {
                    return Err(CallError::Unavailable(format!(
                        "the district has more than {MAX_UNITS} units"
                    )));
                }
                if page.next_page_token.is_empty() {
                    break;
                }
                page_token = page.next_page_token;
            }
        }
        Ok(found)
    }

    /// Each unit's rhythm from `from` to `to` (exclusive, the district's local dates);
    /// units venues does not know are left out.
    pub async fn rhythm(
        &self,
        units: &[Uuid],
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<HashMap<Uuid, Rhythm>, CallError> {
        let mut out = HashMap::with_capacity(units.len());
        for chunk in units.chunks(BATCH) {
            let request = self.request(venues_pb::UnitRhythmRequest {
                unit_ids: chunk.iter().map(ToString::to_string).collect(),
                from_date: from.to_string(),
                to_date: to.to_string(),
            })?;
            let response = self.rhythm.clone().unit_rhythm(request).await?.into_inner();
            for r in response.units {
                let Ok(id) = Uuid::parse_str(&r.unit_id) else {
                    continue;
                };
                out.insert(
                    id,
                    Rhythm {
                        visit_periods_due: r.visit_periods_due,
                        visit_periods_met: r.visit_periods_met,
                        activity_periods_due: r.activity_periods_due,
                        activity_periods_met: r.activity_periods_met,
                        activities_held: r.activities_held,
                        attendance: r.attendance,
                    },
                );
            }
        }
        Ok(out)
    }

    /// Approved volunteer hours per path (in order) from `from` to `to` (exclusive).
    pub async fn hours(
        &self,
        paths: &[String],
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<f64>, CallError> {
        let mut out = Vec::with_capacity(paths.len());
        for chunk in paths.chunks(BATCH) {
            let request = self.request(volunteers_pb::UnitHoursRequest {
                unit_paths: chunk.to_vec(),
                from_date: from.to_string(),
                to_date: to.to_string(),
            })?;
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
