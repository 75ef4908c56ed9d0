//! Consultation outcomes and the station's counts in GraphQL.

use async_graphql::{Context, Enum, ID, Object, SimpleObject};
use chrono::{DateTime, Utc};

use super::{caller, uuid_of};
use crate::domain::{AppointmentId, StationId};
use crate::service::consultations::{Counts, CountsGroup, Outcome};

/// What a consultation ended with.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(name = "ConsultationOutcome", remote = "Outcome")]
pub enum OutcomeGql {
    /// The question was answered.
    Answered,
    /// A mediation was opened.
    MediationOpened,
    /// Referred to legal aid (指引).
    Referred,
    /// A legal-aid case was taken (承办).
    CaseTaken,
    /// A notarization was taken.
    NotarizationTaken,
    /// A legal health check was scheduled.
    HealthCheckScheduled,
}

/// How `legalAidCounts` groups its rows.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "CountsGroup")]
pub enum LegalAidCountsGroup {
    /// One row for the station (`all`).
    All,
    /// One row per service (its code).
    Service,
    /// One row per provider (their id; `none` for walk-ins nobody was assigned to).
    Provider,
    /// One row per month (`YYYY-MM` in Asia/Shanghai).
    Month,
}

/// A station's figures over a period (one group).
#[derive(SimpleObject)]
pub struct LegalAidCountsRow {
    /// The group: `all`, a service code (`consultation`, …), a provider id or a month.
    pub group: String,
    /// Consultations whose outcome was logged.
    pub consultations: u32,
    /// Referrals to legal aid (指引).
    pub referrals: u32,
    /// Legal-aid cases taken (承办).
    pub legal_aid_cases: u32,
    /// Notarizations taken.
    pub notarizations: u32,
    /// Mediations opened.
    pub mediations: u32,
    /// Legal health checks scheduled.
    pub health_checks: u32,
    /// Booked visitors who did not come.
    pub no_shows: u32,
    /// No-shows among booked visits that came due (checked in or no-show); null when none.
    pub no_show_rate: Option<f64>,
}

impl LegalAidCountsRow {
    fn new(group: String, c: Counts) -> Self {
        Self {
            group,
            consultations: c.consultations,
            referrals: c.referrals,
            legal_aid_cases: c.legal_aid_cases,
            notarizations: c.notarizations,
            mediations: c.mediations,
            health_checks: c.health_checks,
            no_shows: c.no_shows,
            no_show_rate: (c.due > 0).then(|| f64::from(c.no_shows) / f64::from(c.due)),
        }
    }
}

/// Counts queries.
#[derive(Default)]
pub struct CountsQuery;

#[Object]
impl CountsQuery {
    /// A station's figures for visits starting in `[from, to)`: consultations, referrals,
    /// legal-aid cases, notarizations, mediations, health checks and the no-show rate
    /// (staff in scope).
    async fn legal_aid_counts(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The station id.")] station_id: ID,
        #[graphql(desc = "Period start (UTC).")] from: DateTime<Utc>,
        #[graphql(desc = "Period end (UTC, exclusive).")] to: DateTime<Utc>,
        #[graphql(
            desc = "One row, or one per service.",
            default_with = "LegalAidCountsGroup::All"
        )]
        group_by: LegalAidCountsGroup,
    ) -> async_graphql::Result<Vec<LegalAidCountsRow>> {
        let (legal_aid, caller) = caller(ctx).await?;
        let counts = legal_aid
            .counts(
                &caller,
                StationId(uuid_of(&station_id, "stationId")?),
                from,
                to,
                group_by.into(),
            )
            .await?;
        Ok(counts
            .into_iter()
            .map(|(g, c)| LegalAidCountsRow::new(g, c))
            .collect())
    }
}

/// Outcome mutations.
#[derive(Default)]
pub struct CountsMutation;

#[Object]
impl CountsMutation {
    /// Logs the outcome of a checked-in visit, once (staff in scope or its provider).
    async fn log_consultation_outcome(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The appointment id.")] appointment_id: ID,
        #[graphql(desc = "The outcome.")] outcome: OutcomeGql,
    ) -> async_graphql::Result<OutcomeGql> {
        let (legal_aid, caller) = caller(ctx).await?;
        let id = AppointmentId(uuid_of(&appointment_id, "appointmentId")?);
        Ok(legal_aid
            .log_outcome(&caller, id, outcome.into())
            .await?
            .into())
    }
}
