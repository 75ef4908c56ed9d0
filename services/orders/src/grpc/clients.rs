//! gRPC clients of the services orders asks: venues (routing, units), volunteers
//! (candidate matching) and legal aid (the station a legal order is dispatched to). Channels connect lazily, so the service starts while they are down;
//! every call has a deadline, and "down" is told apart from "said no".
//!
//! Routing lookups at venues are orders' own business (the same for every caller), so they
//! carry orders' service credential; calls to volunteers are made for the person acting
//! and forward their own token, which volunteers verifies again.

use std::sync::Arc;
use std::time::Duration;

use tongxin_platform::auth::{Principal, ServiceTokens};
use tongxin_platform::grpc::request_as;
use tongxin_platform::ttl_cache::TtlCache;
use tongxin_proto::legalaid as legalaid_pb;
use tongxin_proto::legalaid::legal_aid_service_client::LegalAidServiceClient;
use tongxin_proto::venues as venues_pb;
use tongxin_proto::venues::org_service_client::OrgServiceClient;
use tongxin_proto::venues::rhythm_service_client::RhythmServiceClient;
use tongxin_proto::venues::venue_service_client::VenueServiceClient;
use tongxin_proto::volunteers as volunteers_pb;
use tongxin_proto::volunteers::volunteer_service_client::VolunteerServiceClient;
use tonic::transport::{Channel, Endpoint};

use crate::domain::Level;

/// A failed call, sorted by what the caller does about it.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// Unreachable, timed out, or not implemented yet.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// The other service refused the request.
    #[error("refused: {0}")]
    Refused(tonic::Status),
}

impl From<tonic::Status> for CallError {
    fn from(status: tonic::Status) -> Self {
        use tonic::Code;
        match status.code() {
            Code::Unavailable
            | Code::DeadlineExceeded
            | Code::Unimplemented
            | Code::Unknown
            | Code::Cancelled
            | Code::ResourceExhausted => {
                Self::Unavailable(format!("{:?}: {}", status.code(), status.message()))
            }
            _ => Self::Refused(status),
        }
    }
}

pub(crate) fn channel(url: &str, timeout: Duration) -> anyhow::Result<Channel> {
    Ok(Endpoint::from_shared(url.to_owned())?
        .connect_timeout(timeout)
        .timeout(timeout)
        .connect_lazy())
}

/// `message` carrying orders' own service `credential`.
pub(crate) fn as_service<T>(
    message: T,
    credential: &ServiceTokens,
) -> Result<tonic::Request<T>, CallError> {
    let credential = credential.credential().map_err(|e| {
        // The key was loaded at start, so signing cannot fail short of a bug.
        CallError::Unavailable(format!("signing the service token: {e}"))
    })?;
    Ok(request_as(message, Some(&credential)))
}

/// The most units one evaluation call to venues or volunteers names (both servers' limit).
pub(crate) const EVALUATION_BATCH: usize = 1000;
/// How many times the per-call timeout the evaluation's questions get. They are batch reads
/// of a whole district's quarter (venues computes the rhythm of every unit at once), not the
/// lookups on a citizen's path the timeout is set for: on SQLite or a busy replica one can
/// take several seconds, and then it should finish rather than fail the publication.
pub(crate) const EVALUATION_TIMEOUT_FACTOR: u32 = 10;
/// The most units a district may have for the quarterly evaluation's walk down the tree (a
/// bound on a misbehaving tree).
const MAX_DISTRICT_UNITS: usize = 20_000;

/// A unit as routing needs it.
#[derive(Debug, Clone)]
pub struct Unit {
    /// Id.
    pub id: uuid::Uuid,
    /// Path.
    pub path: String,
    /// Level.
    pub level: Level,
}

fn unit_from(pb: &venues_pb::OrgUnit) -> Option<Unit> {
    let level = tongxin_platform::org::consumer::level_of(pb.kind)?;
    Some(Unit {
        id: uuid::Uuid::parse_str(&pb.id).ok()?,
        path: pb.path.clone(),
        level,
    })
}

/// How long a courtyard's chain of ancestors is reused. Every order is routed along one,
/// and the few hundred chains change only when the org tree is reorganised: then every
/// replica forgets its chains on the `unit_updated` event (`crate::events::forget`), so this
/// bound matters only while that event is delayed (a NATS outage).
pub const CHAIN_TTL: Duration = Duration::from_secs(30);

/// Chains fetched lately, by courtyard (a district has a few hundred courtyards).
type Chains = Arc<TtlCache<uuid::Uuid, Vec<Unit>>>;

/// The venues OrgService, and its VenueService and RhythmService for the links of an order
/// filed on behalf and the evaluation (the rhythm on a channel of its own, with the
/// evaluation's longer timeout).
#[derive(Clone)]
pub struct VenuesClient {
    client: OrgServiceClient<Channel>,
    activities: VenueServiceClient<Channel>,
    rhythm: RhythmServiceClient<Channel>,
    chains: Chains,
    credential: ServiceTokens,
}

impl VenuesClient {
    /// A lazy client of `url`, calling with orders' service `credential`.
    pub fn new(url: &str, timeout: Duration, credential: ServiceTokens) -> anyhow::Result<Self> {
        let lookups = channel(url, timeout)?;
        Ok(Self {
            client: OrgServiceClient::new(lookups.clone()),
            activities: VenueServiceClient::new(lookups),
            rhythm: RhythmServiceClient::new(channel(url, timeout * EVALUATION_TIMEOUT_FACTOR)?),
            chains: Arc::new(TtlCache::new(CHAIN_TTL, 10_000)),
            credential,
        })
    }

    /// `message` with orders' own credential.
    fn request<T>(&self, message: T) -> Result<tonic::Request<T>, CallError> {
        as_service(message, &self.credential)
    }

    /// Every unit below `root` (not `root` itself) as (id, path, level), level by level.
    pub async fn subtree(
        &self,
        root: uuid::Uuid,
    ) -> Result<Vec<(uuid::Uuid, String, Level)>, CallError> {
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
                let page = self
                    .client
                    .clone()
                    .list_children(request)
                    .await?
                    .into_inner();
                for unit in page.units {
                    let (Ok(id), Some(level)) = (
                        uuid::Uuid::parse_str(&unit.id),
                        tongxin_platform::org::consumer::level_of(unit.kind),
                    ) else {
                        continue;
                    };
                    if level != Level::Courtyard {
                        parents.push(id);
                    }
                    found.push((id, unit.path, level));
                }
                if found.len() > MAX_DISTRICT_UNITS {
                    return Err(CallError::Unavailable(format!(
                        "the district has more than {MAX_DISTRICT_UNITS} units"
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
    pub async fn unit_rhythm(
        &self,
        units: &[uuid::Uuid],
        from: chrono::NaiveDate,
        to: chrono::NaiveDate,
    ) -> Result<std::collections::HashMap<uuid::Uuid, crate::domain::evaluation::Rhythm>, CallError>
    {
        let mut out = std::collections::HashMap::with_capacity(units.len());
        for chunk in units.chunks(EVALUATION_BATCH) {
            let request = self.request(venues_pb::UnitRhythmRequest {
                unit_ids: chunk.iter().map(ToString::to_string).collect(),
                from_date: from.to_string(),
                to_date: to.to_string(),
            })?;
            let response = self.rhythm.clone().unit_rhythm(request).await?.into_inner();
            for r in response.units {
                let Ok(id) = uuid::Uuid::parse_str(&r.unit_id) else {
                    continue;
                };
                out.insert(
                    id,
                    crate::domain::evaluation::Rhythm {
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

    /// [`Self::ancestors`] of a courtyard, reused for [`CHAIN_TTL`]; the flag says whether
    /// it was fetched just now (and so is worth remembering locally).
    pub async fn chain(&self, courtyard: uuid::Uuid) -> Result<(Vec<Unit>, bool), CallError> {
        if let Some(units) = self.chains.get(&courtyard) {
            return Ok((units, false));
        }
        let units = self.ancestors(courtyard).await?;
        if !units.is_empty() {
            self.chains.put(courtyard, units.clone());
        }
        Ok((units, true))
    }

    /// Forgets every remembered chain (a unit moved).
    pub fn forget_chains(&self) {
        self.chains.clear();
    }

    /// The courtyard whose 15-minute circle covers the point, nearest first.
    pub async fn covering_courtyard(&self, lat: f64, lon: f64) -> Result<Option<Unit>, CallError> {
        let response = self
            .client
            .clone()
            .covering_courtyard(self.request(venues_pb::CoveringCourtyardRequest {
                location: Some(venues_pb::Location { lat, lon }),
                minutes: 0.0,
            })?)
            .await?
            .into_inner();
        Ok(response
            .found
            .then_some(response.courtyard)
            .flatten()
            .as_ref()
            .and_then(unit_from))
    }

    /// The chain from unit `id` up to its center, deepest first.
    pub async fn ancestors(&self, id: uuid::Uuid) -> Result<Vec<Unit>, CallError> {
        let response = self
            .client
            .clone()
            .ancestors(self.request(venues_pb::AncestorsRequest { id: id.to_string() })?)
            .await?
            .into_inner();
        Ok(response.units.iter().filter_map(unit_from).collect())
    }

    /// The chain from unit `id` up to its center (deepest first) and the unit's own location
    /// (latitude, longitude), for an order that starts at that unit.
    pub async fn chain_from(
        &self,
        id: uuid::Uuid,
    ) -> Result<(Vec<Unit>, Option<(f64, f64)>), CallError> {
        let response = self
            .client
            .clone()
            .ancestors(self.request(venues_pb::AncestorsRequest { id: id.to_string() })?)
            .await?
            .into_inner();
        let location = response
            .units
            .first()
            .and_then(|u| u.location.as_ref())
            .map(|l| (l.lat, l.lon));
        Ok((
            response.units.iter().filter_map(unit_from).collect(),
            location,
        ))
    }

    /// One activity, or `None` when there is no such activity (orders' own credential: the
    /// check is orders' business, and activities are not personal data).
    pub async fn activity(&self, id: uuid::Uuid) -> Result<Option<venues_pb::Activity>, CallError> {
        let request = self.request(venues_pb::GetActivityRequest { id: id.to_string() })?;
        match self.activities.clone().get_activity(request).await {
            Ok(response) => Ok(Some(response.into_inner())),
            Err(status) if status.code() == tonic::Code::NotFound => Ok(None),
            Err(status) => Err(status.into()),
        }
    }

    /// One visit (RhythmService), or `None` when there is no such visit.
    pub async fn visit(&self, id: uuid::Uuid) -> Result<Option<venues_pb::Visit>, CallError> {
        let request = self.request(venues_pb::GetVisitRequest { id: id.to_string() })?;
        match self.rhythm.clone().get_visit(request).await {
            Ok(response) => Ok(Some(response.into_inner())),
            Err(status) if status.code() == tonic::Code::NotFound => Ok(None),
            Err(status) => Err(status.into()),
        }
    }

    /// One unit.
    pub async fn unit(&self, id: uuid::Uuid) -> Result<Option<Unit>, CallError> {
        match self
            .client
            .clone()
            .get_unit(self.request(venues_pb::GetUnitRequest { id: id.to_string() })?)
            .await
        {
            Ok(response) => Ok(unit_from(&response.into_inner())),
            Err(status) if status.code() == tonic::Code::NotFound => Ok(None),
            Err(status) => Err(status.into()),
        }
    }
}

/// `message` forwarding `principal`'s own token; a principal made in code has none, and
/// volunteers refuses the call.
fn on_behalf<T>(message: T, principal: &Principal) -> tonic::Request<T> {
    request_as(message, principal.credential.as_ref())
}

/// The volunteers VolunteerService.
#[derive(Clone)]
pub struct VolunteersClient(VolunteerServiceClient<Channel>);

impl VolunteersClient {
    /// A lazy client of `url`.
    pub fn new(url: &str, timeout: Duration) -> anyhow::Result<Self> {
        Ok(Self(VolunteerServiceClient::new(channel(url, timeout)?)))
    }

    /// Ranked candidates for a dispatch, on behalf of `principal`.
    pub async fn match_candidates(
        &self,
        principal: &Principal,
        request: volunteers_pb::MatchCandidatesRequest,
    ) -> Result<Vec<volunteers_pb::Candidate>, CallError> {
        Ok(self
            .0
            .clone()
            .match_candidates(on_behalf(request, principal))
            .await?
            .into_inner()
            .candidates)
    }

    /// The volunteer record linked to `principal`'s account, or `None` when it has none.
    pub async fn volunteer_by_subject(
        &self,
        principal: &Principal,
    ) -> Result<Option<volunteers_pb::Volunteer>, CallError> {
        let request = volunteers_pb::GetVolunteerBySubjectRequest {
            subject: principal.subject.clone(),
        };
        match self
            .0
            .clone()
            .get_volunteer_by_subject(on_behalf(request, principal))
            .await
        {
            Ok(response) => Ok(Some(response.into_inner())),
            Err(status) if status.code() == tonic::Code::NotFound => Ok(None),
            Err(status) => Err(status.into()),
        }
    }

    /// The volunteers among `ids` that exist (unknown ids are left out), in one call.
    pub async fn volunteers_by_id(
        &self,
        principal: &Principal,
        ids: &[uuid::Uuid],
    ) -> Result<Vec<volunteers_pb::Volunteer>, CallError> {
        let request = volunteers_pb::BatchGetVolunteersRequest {
            ids: ids.iter().map(ToString::to_string).collect(),
        };
        Ok(self
            .0
            .clone()
            .batch_get_volunteers(on_behalf(request, principal))
            .await?
            .into_inner()
            .volunteers)
    }

    /// One team, or `None` when there is no such team.
    pub async fn team(
        &self,
        principal: &Principal,
        id: uuid::Uuid,
    ) -> Result<Option<volunteers_pb::Team>, CallError> {
        let request = volunteers_pb::GetTeamRequest { id: id.to_string() };
        match self.0.clone().get_team(on_behalf(request, principal)).await {
            Ok(response) => Ok(Some(response.into_inner())),
            Err(status) if status.code() == tonic::Code::NotFound => Ok(None),
            Err(status) => Err(status.into()),
        }
    }
}

/// The legal-aid LegalAidService: the station a legal order is dispatched to.
#[derive(Clone)]
pub struct LegalAidClient(LegalAidServiceClient<Channel>);

impl LegalAidClient {
    /// A lazy client of `url`.
    pub fn new(url: &str, timeout: Duration) -> anyhow::Result<Self> {
        Ok(Self(LegalAidServiceClient::new(channel(url, timeout)?)))
    }

    /// The codes of the services station `id` offers (`consultation`, `mediation`, …), or
    /// `None` when there is no such station; asked on behalf of `principal` (the staff
    /// member dispatching).
    pub async fn station_services(
        &self,
        principal: &Principal,
        id: uuid::Uuid,
    ) -> Result<Option<Vec<&'static str>>, CallError> {
        let request = legalaid_pb::GetStationRequest { id: id.to_string() };
        match self
            .0
            .clone()
            .get_station(on_behalf(request, principal))
            .await
        {
            Ok(response) => Ok(Some(
                response
                    .into_inner()
                    .services
                    .into_iter()
                    .filter_map(legal_service_code)
                    .collect(),
            )),
            Err(status) if status.code() == tonic::Code::NotFound => Ok(None),
            Err(status) => Err(status.into()),
        }
    }
}

/// The legal-aid service code of a proto `LegalService` (the codes the menu names).
fn legal_service_code(value: i32) -> Option<&'static str> {
    use legalaid_pb::LegalService as S;
    Some(match S::try_from(value).ok()? {
        S::Consultation => "consultation",
        S::Mediation => "mediation",
        S::LegalAidReferral => "legal_aid_referral",
        S::LegalAidCase => "legal_aid_case",
        S::Notarization => "notarization",
        S::HealthCheck => "health_check",
        S::NeedsSurvey => "needs_survey",
        S::Unspecified => return None,
    })
}
