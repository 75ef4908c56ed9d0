//! Consultations: the outcome of a visit, logged once per checked-in appointment, and the
//! station's counts over a period.
//!
//! A matter-opening outcome opens its case ([`super::cases`]) in the same transaction, with
//! the `consultation_logged` event (which completes the order the visit served, if any).
//!
//! The counts cover one station or a unit's subtree, with cases and the mediation
//! agreement rate.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, TransactionTrait};
use tongxin_platform::db::classify;
use uuid::Uuid;

use super::{Caller, LegalAid, cases, requests};
use crate::domain::appointment::Status;
use crate::domain::case::CaseResult;
use crate::domain::roster::local_date;
use crate::domain::{AppointmentId, DomainError, StationId};
use crate::error::LegalAidError;
use crate::events;
use crate::store::appointments::{self as store, appointment};
use tongxin_platform::events::outbox;

/// What a consultation ended with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Outcome {
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

impl Outcome {
    /// Every outcome.
    pub const ALL: [Self; 6] = [
        Self::Answered,
        Self::MediationOpened,
        Self::Referred,
        Self::CaseTaken,
        Self::NotarizationTaken,
        Self::HealthCheckScheduled,
    ];

    /// The stored code.
    pub fn code(self) -> &'static str {
        match self {
            Self::Answered => "answered",
            Self::MediationOpened => "mediation_opened",
            Self::Referred => "referred",
            Self::CaseTaken => "case_taken",
            Self::NotarizationTaken => "notarization_taken",
            Self::HealthCheckScheduled => "health_check_scheduled",
        }
    }

    /// The outcome with stored `code`.
    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|o| o.code() == code)
    }
}

/// The `consultations` table.
pub mod consultation {
    use sea_orm::entity::prelude::*;

    /// A logged consultation.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "consultations")]
    pub struct Model {
        /// Its id.
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        /// The appointment (one consultation each).
        pub appointment_id: Uuid,
        /// The station.
        pub station_id: Uuid,
        /// The provider.
        pub provider_id: Option<Uuid>,
        /// Service code.
        pub service: String,
        /// Outcome code.
        pub outcome: String,
        /// Who logged it.
        pub logged_by: String,
        /// When.
        pub logged_at: ChronoDateTimeUtc,
    }

    /// No relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// How the counts are grouped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CountsGroup {
    /// One group, `all`.
    All,
    /// By service code.
    Service,
    /// By provider id (`none` for walk-ins nobody was assigned to).
    Provider,
    /// By month (`YYYY-MM`, Asia/Shanghai).
    Month,
}

/// A station's figures over a period.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counts {
    /// Consultations logged.
    pub consultations: u32,
    /// Referred to legal aid (指引).
    pub referrals: u32,
    /// Legal-aid cases taken (承办).
    pub legal_aid_cases: u32,
    /// Notarizations taken.
    pub notarizations: u32,
    /// Mediations opened.
    pub mediations: u32,
    /// Legal health checks scheduled.
    pub health_checks: u32,
    /// Booked appointments whose visitor did not come.
    pub no_shows: u32,
    /// Booked appointments that came due (checked in or no-show).
    pub due: u32,
    /// Cases opened by these consultations (every kind).
    pub cases: u32,
    /// Their mediations closed with or without agreement (withdrawn ones are not counted).
    pub mediations_decided: u32,
    /// Those that ended in agreement.
    pub mediation_agreements: u32,
}

/// Whose figures: one station, or every station under an org unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CountsScope {
    /// One station.
    Station(StationId),
    /// Every station whose unit is the unit or under it.
    Unit(Uuid),
}

impl LegalAid {
    /// Logs the outcome of a checked-in appointment (staff in scope or its provider); a
    /// second outcome for one consultation is a CONFLICT and stores nothing.
    pub async fn log_outcome(
        &self,
        caller: &Caller,
        id: AppointmentId,
        outcome: Outcome,
    ) -> Result<Outcome, LegalAidError> {
        let view = self.appointment(caller, id).await?;
        let parties = view.parties;
        let a = view.appointment;
        let station = self.station(a.station).await?;
        let own = caller.provider.is_some() && caller.provider == a.provider;
        if !(caller.manages(&station.unit_path) || own) {
            return Err(DomainError::Forbidden(
                "only staff in scope or the provider log an outcome".to_owned(),
            )
            .into());
        }
        if a.status != Status::CheckedIn {
            return Err(DomainError::Conflict(
                "an outcome is logged for a checked-in visit".to_owned(),
            )
            .into());
        }
        let now = self.now();
        let consultation_id = Uuid::now_v7();
        let row = consultation::ActiveModel {
            id: Set(consultation_id),
            appointment_id: Set(a.id.0),
            station_id: Set(a.station.0),
            provider_id: Set(a.provider.map(|p| p.0)),
            service: Set(a.service.code().to_owned()),
            outcome: Set(outcome.code().to_owned()),
            logged_by: Set(caller.principal.subject.clone()),
            logged_at: Set(now),
        };
        let kind = cases::kind_of(outcome);
        let conflicts = match kind {
            Some(_) => self.conflicts(a.station, &parties).await?,
            None => Vec::new(),
        };
        // The consultation and the case it opens (with `case_opened`) commit together.
        let txn = self.db.begin().await.map_err(classify)?;
        match consultation::Entity::insert(row)
            .exec_without_returning(&txn)
            .await
        {
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.sql_err(),
                    Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
                ) =>
            {
                return Err(DomainError::Conflict(
                    "this consultation already has its outcome".to_owned(),
                )
                .into());
            }
            Err(e) => return Err(classify(e).into()),
        }
        let case = match kind {
            Some(kind) => Some(
                cases::open(
                    &txn,
                    consultation_id,
                    &a,
                    kind,
                    conflicts,
                    &caller.principal.subject,
                    now,
                )
                .await?,
            ),
            None => None,
        };
        if let Some(order) = a.order {
            // The order's request is done; orders completes the order on the event.
            requests::move_status(
                &txn,
                order,
                &[requests::REQUESTED, requests::BOOKED],
                requests::DONE,
                None,
                now,
            )
            .await?;
        }
        outbox::enqueue(
            &txn,
            events::CONSULTATION_LOGGED,
            events::SOURCE,
            events::consultation_logged(
                consultation_id,
                &a,
                outcome.code(),
                case.map(|c| c.id.0),
                &caller.principal.subject,
                now,
            ),
        )
        .await?;
        txn.commit().await.map_err(classify)?;
        self.wake();
        Ok(outcome)
    }

    /// The figures of a station or of every station under a unit, for visits starting in
    /// `[from, to)`, grouped by `group`; staff whose scope covers it.
    pub async fn counts(
        &self,
        caller: &Caller,
        scope: CountsScope,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        group: CountsGroup,
    ) -> Result<BTreeMap<String, Counts>, LegalAidError> {
        if to <= from {
            return Err(DomainError::invalid("to", "must be after from").into());
        }
        let stations: Vec<Uuid> = match scope {
            CountsScope::Station(id) => {
                let station = self.station(id).await?;
                caller.must_manage(&station)?;
                vec![station.id.0]
            }
            CountsScope::Unit(unit) => {
                let path = crate::store::known_units::path_of(&self.db, unit)
                    .await?
                    .ok_or_else(|| DomainError::NotFound("no such unit".to_owned()))?;
                if !caller.manages(&path) {
                    return Err(DomainError::Forbidden(
                        "only staff whose scope covers the unit may see its counts".to_owned(),
                    )
                    .into());
                }
                crate::store::stations::all_stations(&self.db)
                    .await?
                    .into_iter()
                    .filter(|s| tongxin_platform::org::covers(&path, &s.org_unit_path))
                    .map(|s| s.id)
                    .collect()
            }
        };
        let key = |a: &crate::domain::appointment::Appointment| match group {
            CountsGroup::All => "all".to_owned(),
            CountsGroup::Service => a.service.code().to_owned(),
            CountsGroup::Provider => a
                .provider
                .map(|p| p.to_string())
                .unwrap_or_else(|| "none".to_owned()),
            // The month on the district's wall clock.
            CountsGroup::Month => local_date(a.starts_at).format("%Y-%m").to_string(),
        };
        let mut keys: std::collections::HashMap<Uuid, String> = std::collections::HashMap::new();
        let mut out: BTreeMap<String, Counts> = BTreeMap::new();
        let visits = appointment::Entity::find()
            .filter(appointment::Column::StationId.is_in(stations))
            .filter(appointment::Column::StartsAt.gte(from))
            .filter(appointment::Column::StartsAt.lt(to))
            .all(&self.db)
            .await
            .map_err(classify)?;
        let mut ids = Vec::new();
        for v in &visits {
            let a = store::parse(v)?;
            let k = key(&a);
            keys.insert(v.id, k.clone());
            let c = out.entry(k).or_default();
            match a.status {
                Status::NoShow => {
                    c.no_shows += 1;
                    c.due += 1;
                }
                Status::CheckedIn if !a.walk_in => c.due += 1,
                _ => {}
            }
            ids.push(v.id);
        }
        let logged = consultation::Entity::find()
            .filter(consultation::Column::AppointmentId.is_in(ids.clone()))
            .all(&self.db)
            .await
            .map_err(classify)?;
        for l in logged {
            let Some(k) = keys.get(&l.appointment_id) else {
                continue;
            };
            let c = out.entry(k.clone()).or_default();
            c.consultations += 1;
            match Outcome::from_code(&l.outcome) {
                Some(Outcome::Referred) => c.referrals += 1,
                Some(Outcome::CaseTaken) => c.legal_aid_cases += 1,
                Some(Outcome::NotarizationTaken) => c.notarizations += 1,
                Some(Outcome::MediationOpened) => c.mediations += 1,
                Some(Outcome::HealthCheckScheduled) => c.health_checks += 1,
                Some(Outcome::Answered) => {}
                None => return Err(crate::store::corrupt("consultation outcome")),
            }
        }
        let opened = cases::legal_case::Entity::find()
            .filter(cases::legal_case::Column::AppointmentId.is_in(ids))
            .all(&self.db)
            .await
            .map_err(classify)?;
        for row in opened {
            let Some(k) = keys.get(&row.appointment_id) else {
                continue;
            };
            let c = out.entry(k.clone()).or_default();
            c.cases += 1;
            match row.result.as_deref().map(CaseResult::from_code) {
                Some(Some(CaseResult::Agreement)) => {
                    c.mediations_decided += 1;
                    c.mediation_agreements += 1;
                }
                Some(Some(CaseResult::NoAgreement)) => c.mediations_decided += 1,
                Some(None) => return Err(crate::store::corrupt("case result")),
                _ => {}
            }
        }
        Ok(out)
    }
}
