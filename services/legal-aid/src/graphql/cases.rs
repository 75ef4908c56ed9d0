//! Cases in GraphQL: `legalAidCase`, `legalAidCases` (a station's, for staff in scope) and
//! the version-checked moves `moveLegalAidCase` and `closeLegalAidCase`.

use async_graphql::connection::{Connection, EmptyFields, OpaqueCursor};
use async_graphql::{Context, Enum, ID, Object, SimpleObject};
use chrono::{DateTime, Utc};

use super::station::{StationNode, load_station};
use super::{caller, page_of, uuid_of};
use crate::domain::case::{CaseKind, CaseResult, CaseStatus};
use crate::domain::{CaseId, StationId};
use crate::service::cases::{Case, Step};

/// What kind of matter a case is.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(name = "LegalAidCaseKind", remote = "CaseKind")]
pub enum KindGql {
    /// A mediation (人民调解).
    Mediation,
    /// A legal-aid case (法律援助承办).
    LegalAidCase,
    /// A notarization (公证).
    Notarization,
    /// A legal health check (企业法治体检).
    HealthCheck,
}

/// Where a case stands.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(name = "LegalAidCaseStatus", remote = "CaseStatus")]
pub enum StatusGql {
    /// Opened by its consultation; not worked on yet.
    Opened,
    /// Being worked on.
    InProgress,
    /// Closed with a result.
    Closed,
}

/// How a case ended.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(name = "LegalAidCaseResult", remote = "CaseResult")]
pub enum ResultGql {
    /// A mediation ended with the parties agreeing.
    Agreement,
    /// A mediation ended without agreement.
    NoAgreement,
    /// Any other matter was done.
    Completed,
    /// The applicant withdrew (any kind).
    Withdrawn,
}

/// One step of a case's timeline (append-only).
#[derive(SimpleObject)]
#[graphql(name = "LegalAidCaseStep")]
pub struct StepGql {
    /// The case version this step made (1 = opened).
    pub version: i32,
    /// Status after the step.
    pub status: StatusGql,
    /// The result, when the step closed the case.
    pub result: Option<ResultGql>,
    /// Who made it (the principal's subject).
    pub actor: String,
    /// When.
    pub at: DateTime<Utc>,
}

impl From<Step> for StepGql {
    fn from(s: Step) -> Self {
        Self {
            version: s.version,
            status: s.status.into(),
            result: s.result.map(Into::into),
            actor: s.actor,
            at: s.at,
        }
    }
}

/// A matter a consultation opened (a mediation, a legal-aid case, a notarization or a
/// legal health check), with its status flow and timeline.
pub struct CaseNode(pub Case);

/// A matter a consultation opened (a mediation, a legal-aid case, a notarization or a
/// legal health check), with its status flow and timeline.
#[Object(name = "LegalAidCase")]
impl CaseNode {
    /// The case id.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// The station.
    async fn station(&self, ctx: &Context<'_>) -> async_graphql::Result<StationNode> {
        Ok(StationNode(load_station(ctx, self.0.station.0).await?))
    }
    /// The appointment whose consultation opened it.
    async fn appointment_id(&self) -> ID {
        ID(self.0.appointment.to_string())
    }
    /// The provider who took it; null when nobody was assigned.
    async fn provider_id(&self) -> Option<ID> {
        self.0.provider.map(|p| ID(p.to_string()))
    }
    /// What kind of matter it is.
    async fn kind(&self) -> KindGql {
        self.0.kind.into()
    }
    /// Where it stands.
    async fn status(&self) -> StatusGql {
        self.0.status.into()
    }
    /// How it ended; null until closed.
    async fn result(&self) -> Option<ResultGql> {
        self.0.result.map(Into::into)
    }
    /// Its version: a move names the version it saw, and loses if the case moved since.
    async fn version(&self) -> i32 {
        self.0.version
    }
    /// When it was opened.
    async fn opened_at(&self) -> DateTime<Utc> {
        self.0.opened_at
    }
    /// When it was closed; null while open.
    async fn closed_at(&self) -> Option<DateTime<Utc>> {
        self.0.closed_at
    }
    /// True when, as it was opened, another open matter at the station named one of its
    /// parties on the other side (the conflict check: the first party named at booking is
    /// the applicant's side, the rest the other side).
    async fn conflict_flagged(&self) -> bool {
        !self.0.conflicts.is_empty()
    }
    /// The open cases it conflicted with when opened.
    async fn conflicts_with(&self) -> Vec<ID> {
        self.0.conflicts.iter().map(|c| ID(c.to_string())).collect()
    }
    /// Every step so far, oldest first.
    async fn timeline(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<StepGql>> {
        let (legal_aid, caller) = caller(ctx).await?;
        Ok(legal_aid
            .timeline(&caller, self.0.id)
            .await?
            .into_iter()
            .map(Into::into)
            .collect())
    }
}

/// Case queries.
#[derive(Default)]
pub struct CaseQuery;

#[Object]
impl CaseQuery {
    /// A case (staff whose scope covers its station, or its provider).
    async fn legal_aid_case(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The case id.")] id: ID,
    ) -> async_graphql::Result<CaseNode> {
        let (legal_aid, caller) = caller(ctx).await?;
        let id = CaseId(uuid_of(&id, "id")?);
        Ok(CaseNode(legal_aid.case(&caller, id).await?))
    }

    /// A station's cases, newest first (staff in scope).
    async fn legal_aid_cases(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The station id.")] station_id: ID,
        #[graphql(desc = "Only cases in this status.")] status: Option<StatusGql>,
        #[graphql(desc = "Page size, 1 to 100 (default 50).")] first: Option<i32>,
        #[graphql(desc = "The cursor of the last case already seen.")] after: Option<String>,
    ) -> async_graphql::Result<Connection<OpaqueCursor<usize>, CaseNode, EmptyFields, EmptyFields>>
    {
        let (legal_aid, caller) = caller(ctx).await?;
        let station = StationId(uuid_of(&station_id, "stationId")?);
        let cases = legal_aid
            .cases(&caller, station, status.map(Into::into))
            .await?;
        page_of(cases, after, first, CaseNode)
    }
}

/// Case moves.
#[derive(Default)]
pub struct CaseMutation;

#[Object]
impl CaseMutation {
    /// Starts work on an opened case; CONFLICT when the case moved since `expectedVersion`.
    async fn move_legal_aid_case(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The case id.")] id: ID,
        #[graphql(desc = "The status to move to (IN_PROGRESS; closing is closeLegalAidCase).")]
        status: StatusGql,
        #[graphql(desc = "The case version the caller saw.")] expected_version: i32,
    ) -> async_graphql::Result<CaseNode> {
        let (legal_aid, caller) = caller(ctx).await?;
        let id = CaseId(uuid_of(&id, "id")?);
        Ok(CaseNode(
            legal_aid
                .move_case(&caller, id, status.into(), expected_version)
                .await?,
        ))
    }

    /// Closes a case with its result (a mediation: AGREEMENT or NO_AGREEMENT; others:
    /// COMPLETED; any: WITHDRAWN); CONFLICT when the case moved since `expectedVersion`.
    async fn close_legal_aid_case(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The case id.")] id: ID,
        #[graphql(desc = "How it ended.")] result: ResultGql,
        #[graphql(desc = "The case version the caller saw.")] expected_version: i32,
    ) -> async_graphql::Result<CaseNode> {
        let (legal_aid, caller) = caller(ctx).await?;
        let id = CaseId(uuid_of(&id, "id")?);
        Ok(CaseNode(
            legal_aid
                .close_case(&caller, id, result.into(), expected_version)
                .await?,
        ))
    }
}
