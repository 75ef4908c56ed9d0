//! Consultation outcomes and the station's counts in GraphQL.

use async_graphql::{Context, Enum, ID, Object, SimpleObject};
use chrono::{DateTime, Utc};

use super::{caller, uuid_of};
use crate::domain::{AppointmentId, StationId};
use crate::service::consultations::{Counts, CountsGroup, CountsScope, Outcome};
use tongxin_platform::ApiError;

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
    /// Cases these consultations opened (every kind).
    pub cases: u32,
    /// Their mediations closed with or without agreement (withdrawn ones not counted).
    pub mediations_decided: u32,
    /// Those that ended in agreement.
    pub mediation_agreements: u32,
    /// Agreements among decided mediations; null when none was decided.
    pub mediation_agreement_rate: Option<f64>,
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
            cases: c.cases,
            mediations_decided: c.mediations_decided,
            mediation_agreements: c.mediation_agreements,
            mediation_agreement_rate: (c.mediations_decided > 0)
                .then(|| f64::from(c.mediation_agreements) / f64::from(c.mediations_decided)),
        }
    }
}

/// Counts queries.
#[derive(Default)]
pub struct CountsQuery;

#[Object]
impl CountsQuery {
    /// The figures of one station, or of every station under an org unit, for visits
    /// starting in `[from, to)`: consultations, referrals, legal-aid cases, notarizations,
    /// mediations and their agreement rate, health checks, cases opened and the no-show rate
    /// (staff whose scope covers it). Name exactly one of `stationId` and `unitId`.
    async fn legal_aid_counts(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The station id (or give unitId).")] station_id: Option<ID>,
        #[graphql(desc = "An org unit id: every station under it (or give stationId).")]
        unit_id: Option<ID>,
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
                match (station_id, unit_id) {
                    (Some(s), None) => CountsScope::Station(StationId(uuid_of(&s, "stationId")?)),
                    (None, Some(u)) => CountsScope::Unit(uuid_of(&u, "unitId")?),
                    _ => {
                        return Err(ApiError::bad_input(
                            "stationId: give exactly one of stationId and unitId",
                        )
                        .into());
                    }
                },
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
