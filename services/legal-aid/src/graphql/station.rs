//! Stations and providers in GraphQL: the `LegalAidStation` entity, `legalAidStation`,
//! `legalAidStations`, `stationProviders`, and the mutations that open a station and
//! register a provider.

use std::collections::HashMap;

use async_graphql::connection::{Connection, EmptyFields, OpaqueCursor};
use async_graphql::dataloader::{DataLoader, Loader};
use async_graphql::{Context, Enum, ID, InputObject, Object};
use tongxin_platform::ApiError;
use uuid::Uuid;

use super::{OrgUnit, caller, page_of, uuid_of};
use crate::domain::appointment::{Provider, Station};
use crate::domain::{LegalService, ProviderId, ProviderKind, StationId};
use crate::service::{LegalAid, NewProvider, NewStation};

/// A legal service a station offers and a provider gives.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(name = "LegalService", remote = "LegalService")]
pub enum LegalServiceGql {
    /// 法律咨询: answering legal questions.
    Consultation,
    /// 人民调解: mediating a dispute.
    Mediation,
    /// 法律援助指引: guiding someone to legal aid.
    LegalAidReferral,
    /// 法律援助承办: handling a legal-aid case.
    LegalAidCase,
    /// 公证: notarization.
    Notarization,
    /// 企业法治体检: a company's legal health check.
    HealthCheck,
    /// 法律需求调查: a legal needs survey.
    NeedsSurvey,
}

/// What kind of professional a provider is.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(name = "LegalAidProviderKind", remote = "ProviderKind")]
pub enum ProviderKindGql {
    /// 律师.
    Lawyer,
    /// 公证员.
    Notary,
    /// 人民调解员.
    Mediator,
    /// 法律援助工作者.
    LegalAidWorker,
}

/// A public legal service station (公共法律服务工作站) on the org tree.
pub struct StationNode(pub Station);

/// A public legal service station (公共法律服务工作站) on the org tree.
#[Object(name = "LegalAidStation")]
impl StationNode {
    /// The station id.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// The org unit the station hangs on.
    async fn unit(&self) -> OrgUnit {
        OrgUnit {
            id: ID(self.0.unit.to_string()),
        }
    }
    /// That unit's path, e.g. `/rc/industrial-park/legal`.
    async fn unit_path(&self) -> &str {
        &self.0.unit_path
    }
    /// The venue the station sits in (owned by venues), if named.
    async fn venue_id(&self) -> Option<ID> {
        self.0.venue.map(|v| ID(v.to_string()))
    }
    /// Name.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// Street address.
    async fn address(&self) -> &str {
        &self.0.address
    }
    /// Opening hours as people read them.
    async fn opening_hours(&self) -> &str {
        &self.0.opening_hours
    }
    /// The station desk's public contact.
    async fn contact(&self) -> &str {
        &self.0.contact
    }
    /// The services the station offers.
    async fn services(&self) -> Vec<LegalServiceGql> {
        self.0.services.iter().map(|s| (*s).into()).collect()
    }
    /// A booking must start at least this many minutes from now.
    async fn min_notice_minutes(&self) -> u32 {
        self.0.policy.min_notice_minutes
    }
    /// A booking must start within this many days from now.
    async fn horizon_days(&self) -> u32 {
        self.0.policy.horizon_days
    }
}

/// A lawyer, notary, mediator or legal-aid worker.
pub struct ProviderNode(pub Provider);

/// A lawyer, notary, mediator or legal-aid worker.
#[Object(name = "LegalAidProvider")]
impl ProviderNode {
    /// The provider id.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// Name.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// Kind.
    async fn kind(&self) -> ProviderKindGql {
        self.0.kind.into()
    }
    /// Office or law firm.
    async fn office(&self) -> &str {
        &self.0.office
    }
    /// Practising licence number (public in the justice bureau's register).
    async fn licence_no(&self) -> &str {
        &self.0.licence_no
    }
    /// The services they give.
    async fn services(&self) -> Vec<LegalServiceGql> {
        self.0.services.iter().map(|s| (*s).into()).collect()
    }
    /// Whether an account is linked (the provider then sees their own schedule).
    async fn linked(&self) -> bool {
        self.0.linked
    }
}

/// Loads stations by id in one query per batch.
pub struct StationLoader(pub LegalAid);

impl Loader<Uuid> for StationLoader {
    type Value = Station;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Station>, Self::Error> {
        let rows = crate::store::stations::stations(self.0.db(), keys)
            .await
            .map_err(ApiError::from)?;
        let mut out = HashMap::new();
        for row in rows {
            let station = crate::store::stations::parse_station(row).map_err(ApiError::from)?;
            out.insert(station.id.0, station);
        }
        Ok(out)
    }
}

/// Loads providers by id in one query per batch.
pub struct ProviderLoader(pub LegalAid);

impl Loader<Uuid> for ProviderLoader {
    type Value = Provider;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Provider>, Self::Error> {
        let ids: Vec<ProviderId> = keys.iter().map(|k| ProviderId(*k)).collect();
        let list = self.0.providers(&ids).await.map_err(ApiError::from)?;
        Ok(list.into_iter().map(|p| (p.id.0, p)).collect())
    }
}

pub(super) async fn load_station(ctx: &Context<'_>, id: Uuid) -> async_graphql::Result<Station> {
    ctx.data::<DataLoader<StationLoader>>()?
        .load_one(id)
        .await?
        .ok_or_else(|| ApiError::not_found("no such station").into())
}

/// Station and provider queries.
#[derive(Default)]
pub struct StationQuery;

#[Object]
impl StationQuery {
    /// One station; any signed-in caller.
    async fn legal_aid_station(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The station id.")] id: ID,
    ) -> async_graphql::Result<StationNode> {
        caller(ctx).await?;
        Ok(StationNode(load_station(ctx, uuid_of(&id, "id")?).await?))
    }

    /// Every station, by name.
    async fn legal_aid_stations(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Cursor of the last station already seen.")] after: Option<String>,
        #[graphql(desc = "Page size, 1 to 100 (default 50).")] first: Option<i32>,
    ) -> async_graphql::Result<Connection<OpaqueCursor<usize>, StationNode, EmptyFields, EmptyFields>>
    {
        let (legal_aid, _) = caller(ctx).await?;
        let all = legal_aid.stations().await?;
        page_of(all, after, first, StationNode)
    }

    /// The providers serving a station, by name.
    async fn station_providers(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The station id.")] station_id: ID,
        #[graphql(desc = "Cursor of the last provider already seen.")] after: Option<String>,
        #[graphql(desc = "Page size, 1 to 100 (default 50).")] first: Option<i32>,
    ) -> async_graphql::Result<
        Connection<OpaqueCursor<usize>, ProviderNode, EmptyFields, EmptyFields>,
    > {
        let (legal_aid, _) = caller(ctx).await?;
        let id = StationId(uuid_of(&station_id, "stationId")?);
        let all = legal_aid.providers_of(id).await?;
        page_of(all, after, first, ProviderNode)
    }

    /// Federation: resolves `LegalAidStation` references from other subgraphs (batched).
    #[graphql(entity)]
    async fn find_legal_aid_station_by_id(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The station id.")] id: ID,
    ) -> async_graphql::Result<Option<StationNode>> {
        let loader = ctx.data::<DataLoader<StationLoader>>()?;
        Ok(loader.load_one(uuid_of(&id, "id")?).await?.map(StationNode))
    }
}

/// A station to open.
#[derive(InputObject)]
pub struct CreateLegalAidStationInput {
    /// The org unit (from venues) the station hangs on; in the caller's scope.
    pub unit_id: ID,
    /// The venue it sits in, if any.
    pub venue_id: Option<ID>,
    /// Name, 1 to 200 characters.
    pub name: String,
    /// Street address.
    pub address: String,
    /// Opening hours as people read them, e.g. 工作日 9:00-17:00.
    #[graphql(default)]
    pub opening_hours: String,
    /// The station desk's public contact.
    #[graphql(default)]
    pub contact: String,
    /// The services it offers (at least one).
    pub services: Vec<LegalServiceGql>,
    /// A booking must start at least this many minutes from now (0 to 10080; default 120).
    #[graphql(default = 120)]
    pub min_notice_minutes: i64,
    /// A booking must start within this many days (1 to 365; default 30).
    #[graphql(default = 30)]
    pub horizon_days: i64,
}

/// A provider to register.
#[derive(InputObject)]
pub struct AddLegalAidProviderInput {
    /// Name.
    pub name: String,
    /// Kind.
    pub kind: ProviderKindGql,
    /// Office or law firm.
    #[graphql(default)]
    pub office: String,
    /// Practising licence number.
    #[graphql(default)]
    pub licence_no: String,
    /// The services they give (at least one).
    pub services: Vec<LegalServiceGql>,
    /// The stations they serve (each in the caller's scope).
    pub station_ids: Vec<ID>,
    /// The subject of their account, whose token carries `legal_aid_provider`.
    pub account_subject: Option<String>,
}

/// Station and provider mutations.
#[derive(Default)]
pub struct StationMutation;

#[Object]
impl StationMutation {
    /// Opens a station on a unit in the caller's scope (staff).
    async fn create_legal_aid_station(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The station.")] input: CreateLegalAidStationInput,
    ) -> async_graphql::Result<StationNode> {
        let (legal_aid, caller) = caller(ctx).await?;
        let station = legal_aid
            .create_station(
                &caller,
                NewStation {
                    unit: uuid_of(&input.unit_id, "unitId")?,
                    venue: input
                        .venue_id
                        .as_ref()
                        .map(|v| uuid_of(v, "venueId"))
                        .transpose()?,
                    name: input.name,
                    address: input.address,
                    opening_hours: input.opening_hours,
                    contact: input.contact,
                    services: input.services.into_iter().map(Into::into).collect(),
                    min_notice_minutes: input.min_notice_minutes,
                    horizon_days: input.horizon_days,
                },
            )
            .await?;
        Ok(StationNode(station))
    }

    /// Registers a provider serving stations in the caller's scope (staff).
    async fn add_legal_aid_provider(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The provider.")] input: AddLegalAidProviderInput,
    ) -> async_graphql::Result<ProviderNode> {
        let (legal_aid, caller) = caller(ctx).await?;
        let stations = input
            .station_ids
            .iter()
            .map(|s| uuid_of(s, "stationIds").map(StationId))
            .collect::<Result<Vec<_>, _>>()?;
        let provider = legal_aid
            .add_provider(
                &caller,
                NewProvider {
                    name: input.name,
                    kind: input.kind.into(),
                    office: input.office,
                    licence_no: input.licence_no,
                    services: input.services.into_iter().map(Into::into).collect(),
                    stations,
                    account_subject: input.account_subject,
                },
            )
            .await?;
        Ok(ProviderNode(provider))
    }
}
