//! Cases: the matters a consultation opens, their status flow and append-only timeline.
//!
//! A case opens in the transaction that logs its consultation (with `case_opened` in the
//! outbox); each later move is a conditional update on the version the caller saw, so of
//! two concurrent moves exactly one wins and the other is a CONFLICT that wrote nothing.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    TransactionTrait,
};
use tongxin_platform::db::classify;
use tongxin_platform::events::outbox;
use uuid::Uuid;

use super::consultations::Outcome;
use super::{Caller, LegalAid};
use crate::domain::appointment::Appointment;
use crate::domain::case::{self as rules, CaseKind, CaseResult, CaseStatus};
use crate::domain::{AppointmentId, CaseId, DomainError, ProviderId, StationId};
use crate::error::LegalAidError;
use crate::events;

/// The `legal_cases` table.
pub mod legal_case {
    use sea_orm::entity::prelude::*;

    /// A stored case.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "legal_cases")]
    pub struct Model {
        /// Its id.
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        /// The consultation that opened it.
        pub consultation_id: Uuid,
        /// That consultation's appointment.
        pub appointment_id: Uuid,
        /// The station.
        pub station_id: Uuid,
        /// The provider who took it.
        pub provider_id: Option<Uuid>,
        /// Kind code.
        pub kind: String,
        /// Status code.
        pub status: String,
        /// Result code, once closed.
        pub result: Option<String>,
        /// Bumped by every move.
        pub version: i32,
        /// Opened.
        pub opened_at: ChronoDateTimeUtc,
        /// Last moved.
        pub updated_at: ChronoDateTimeUtc,
        /// Closed.
        pub closed_at: Option<ChronoDateTimeUtc>,
        /// JSON list of the open cases it conflicts with.
        pub conflicts: String,
    }

    /// No relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// The `legal_case_timeline` table (insert only).
pub mod timeline {
    use sea_orm::entity::prelude::*;

    /// One step of a case.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "legal_case_timeline")]
    pub struct Model {
        /// Its id.
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        /// The case.
        pub case_id: Uuid,
        /// The case version this step made.
        pub version: i32,
        /// Status after the step.
        pub status: String,
        /// Result, when the step closed the case.
        pub result: Option<String>,
        /// Who.
        pub actor: String,
        /// When.
        pub at: ChronoDateTimeUtc,
    }

    /// No relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// A case as the front doors see it.
#[derive(Debug, Clone, PartialEq)]
pub struct Case {
    /// Its id.
    pub id: CaseId,
    /// The appointment whose consultation opened it.
    pub appointment: AppointmentId,
    /// The station.
    pub station: StationId,
    /// The provider who took it.
    pub provider: Option<ProviderId>,
    /// Kind.
    pub kind: CaseKind,
    /// Where it stands.
    pub status: CaseStatus,
    /// How it ended.
    pub result: Option<CaseResult>,
    /// Version (what a move must name).
    pub version: i32,
    /// Opened.
    pub opened_at: DateTime<Utc>,
    /// Closed.
    pub closed_at: Option<DateTime<Utc>>,
    /// Open matters at the station, when this one was opened, naming one of its parties on
    /// the other side (the conflict check; staff see it as a flag).
    pub conflicts: Vec<CaseId>,
}

/// One step of a case's timeline.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// The version it made.
    pub version: i32,
    /// Status after it.
    pub status: CaseStatus,
    /// Result, when it closed the case.
    pub result: Option<CaseResult>,
    /// Who (subject).
    pub actor: String,
    /// When.
    pub at: DateTime<Utc>,
}

/// The kind of matter `outcome` opens, if any.
pub fn kind_of(outcome: Outcome) -> Option<CaseKind> {
    match outcome {
        Outcome::MediationOpened => Some(CaseKind::Mediation),
        Outcome::CaseTaken => Some(CaseKind::LegalAidCase),
        Outcome::NotarizationTaken => Some(CaseKind::Notarization),
        Outcome::HealthCheckScheduled => Some(CaseKind::HealthCheck),
        Outcome::Answered | Outcome::Referred => None,
    }
}

fn parse(row: &legal_case::Model) -> Result<Case, LegalAidError> {
    let corrupt = || crate::store::corrupt("case");
    Ok(Case {
        id: CaseId(row.id),
        appointment: AppointmentId(row.appointment_id),
        station: StationId(row.station_id),
        provider: row.provider_id.map(ProviderId),
        kind: CaseKind::from_code(&row.kind).ok_or_else(corrupt)?,
        status: CaseStatus::from_code(&row.status).ok_or_else(corrupt)?,
        result: row
            .result
            .as_deref()
            .map(|r| CaseResult::from_code(r).ok_or_else(corrupt))
            .transpose()?,
        version: row.version,
        opened_at: row.opened_at,
        closed_at: row.closed_at,
        conflicts: serde_json::from_str::<Vec<Uuid>>(&row.conflicts)
            .map_err(|_| corrupt())?
            .into_iter()
            .map(CaseId)
            .collect(),
    })
}

/// A party name as the conflict check compares it: no whitespace, case-folded.
fn party_key(name: &str) -> String {
    name.chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_lowercase)
        .collect()
}

/// The sides of a matter from its appointment's parties: the first named is the
/// applicant's side, the rest the other side.
fn sides(parties: &[String]) -> (Vec<String>, Vec<String>) {
    let mut keys = parties.iter().map(|p| party_key(p));
    let applicant = keys.next().into_iter().collect();
    (applicant, keys.collect())
}

/// Whether two matters name one party on opposite sides.
pub fn in_conflict(new: &[String], open: &[String]) -> bool {
    let ((a1, o1), (a2, o2)) = (sides(new), sides(open));
    a1.iter().any(|p| o2.contains(p)) || a2.iter().any(|p| o1.contains(p))
}

fn not_found() -> LegalAidError {
    DomainError::NotFound("no such case".to_owned()).into()
}

/// Writes a new case for `consultation` of `a`, its first step and `case_opened`, inside
/// the caller's transaction.
pub(crate) async fn open(
    txn: &impl ConnectionTrait,
    consultation: Uuid,
    a: &Appointment,
    kind: CaseKind,
    conflicts: Vec<CaseId>,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<Case, LegalAidError> {
    let case = Case {
        id: CaseId(Uuid::now_v7()),
        appointment: a.id,
        station: a.station,
        provider: a.provider,
        kind,
        status: CaseStatus::Opened,
        result: None,
        version: 1,
        opened_at: now,
        closed_at: None,
        conflicts,
    };
    legal_case::Entity::insert(legal_case::ActiveModel {
        id: Set(case.id.0),
        consultation_id: Set(consultation),
        appointment_id: Set(a.id.0),
        station_id: Set(a.station.0),
        provider_id: Set(a.provider.map(|p| p.0)),
        kind: Set(kind.code().to_owned()),
        status: Set(case.status.code().to_owned()),
        result: Set(None),
        version: Set(case.version),
        opened_at: Set(now),
        updated_at: Set(now),
        closed_at: Set(None),
        conflicts: Set(serde_json::to_string(
            &case.conflicts.iter().map(|c| c.0).collect::<Vec<_>>(),
        )
        .map_err(|e| LegalAidError::Internal(e.to_string()))?),
    })
    .exec_without_returning(txn)
    .await
    .map_err(classify)?;
    append(txn, &case, actor, now).await?;
    outbox::enqueue(
        txn,
        &events::case_subject("opened"),
        events::SOURCE,
        events::case_changed(&case, actor, now),
    )
    .await?;
    Ok(case)
}

/// Appends the step that made `case` as it stands.
async fn append(
    txn: &impl ConnectionTrait,
    case: &Case,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<(), LegalAidError> {
    timeline::Entity::insert(timeline::ActiveModel {
        id: Set(Uuid::now_v7()),
        case_id: Set(case.id.0),
        version: Set(case.version),
        status: Set(case.status.code().to_owned()),
        result: Set(case.result.map(|r| r.code().to_owned())),
        actor: Set(actor.to_owned()),
        at: Set(now),
    })
    .exec_without_returning(txn)
    .await
    .map_err(classify)?;
    Ok(())
}

impl LegalAid {
    /// The open cases at `station` whose parties stand against `parties` (see
    /// [`in_conflict`]); party names are opened from their sealed rows here, never stored
    /// in the clear. Two matters opened at the same instant do not see each other.
    pub(crate) async fn conflicts(
        &self,
        station: StationId,
        parties: &[String],
    ) -> Result<Vec<CaseId>, LegalAidError> {
        use crate::store::appointments::appointment;
        let open = legal_case::Entity::find()
            .filter(legal_case::Column::StationId.eq(station.0))
            .filter(legal_case::Column::Status.ne(CaseStatus::Closed.code()))
            .all(&self.db)
            .await
            .map_err(classify)?;
        let mut found = Vec::new();
        for case in open {
            let Some(row) = appointment::Entity::find_by_id(case.appointment_id)
                .one(&self.db)
                .await
                .map_err(classify)?
            else {
                continue;
            };
            let theirs: Vec<String> =
                serde_json::from_str(&self.cipher.decrypt(&row.parties_cipher)?)
                    .map_err(|_| crate::store::corrupt("appointment parties"))?;
            if in_conflict(parties, &theirs) {
                found.push(CaseId(case.id));
            }
        }
        found.sort();
        Ok(found)
    }

    /// A case: staff whose scope covers its station, or its provider; anyone else is told
    /// it does not exist.
    pub async fn case(&self, caller: &Caller, id: CaseId) -> Result<Case, LegalAidError> {
        let row = legal_case::Entity::find_by_id(id.0)
            .one(&self.db)
            .await
            .map_err(classify)?
            .ok_or_else(not_found)?;
        let case = parse(&row)?;
        let station = self.station(case.station).await?;
        let own = caller.provider.is_some() && caller.provider == case.provider;
        if !(caller.manages(&station.unit_path) || own) {
            return Err(not_found());
        }
        Ok(case)
    }

    /// The cases of `station`, newest first, optionally in one status (staff in scope).
    pub async fn cases(
        &self,
        caller: &Caller,
        station: StationId,
        status: Option<CaseStatus>,
    ) -> Result<Vec<Case>, LegalAidError> {
        let station = self.station(station).await?;
        caller.must_manage(&station)?;
        let mut q =
            legal_case::Entity::find().filter(legal_case::Column::StationId.eq(station.id.0));
        if let Some(s) = status {
            q = q.filter(legal_case::Column::Status.eq(s.code()));
        }
        q.order_by_desc(legal_case::Column::OpenedAt)
            .order_by_desc(legal_case::Column::Id)
            .all(&self.db)
            .await
            .map_err(classify)?
            .iter()
            .map(parse)
            .collect()
    }

    /// The timeline of a case the caller may see, oldest step first.
    pub async fn timeline(&self, caller: &Caller, id: CaseId) -> Result<Vec<Step>, LegalAidError> {
        self.case(caller, id).await?;
        let corrupt = || crate::store::corrupt("case step");
        timeline::Entity::find()
            .filter(timeline::Column::CaseId.eq(id.0))
            .order_by_asc(timeline::Column::Version)
            .all(&self.db)
            .await
            .map_err(classify)?
            .into_iter()
            .map(|r| {
                Ok(Step {
                    version: r.version,
                    status: CaseStatus::from_code(&r.status).ok_or_else(corrupt)?,
                    result: r
                        .result
                        .as_deref()
                        .map(|c| CaseResult::from_code(c).ok_or_else(corrupt))
                        .transpose()?,
                    actor: r.actor,
                    at: r.at,
                })
            })
            .collect()
    }

    /// Moves a case on (opened → in progress) if it still stands at `expected` version.
    pub async fn move_case(
        &self,
        caller: &Caller,
        id: CaseId,
        to: CaseStatus,
        expected: i32,
    ) -> Result<Case, LegalAidError> {
        let case = self.case(caller, id).await?;
        let status = case.status.move_to(to)?;
        self.write_move(caller, case, status, None, expected).await
    }

    /// Closes a case with `result` if it still stands at `expected` version; publishes
    /// `case_closed`.
    pub async fn close_case(
        &self,
        caller: &Caller,
        id: CaseId,
        result: CaseResult,
        expected: i32,
    ) -> Result<Case, LegalAidError> {
        let case = self.case(caller, id).await?;
        rules::close(case.kind, case.status, result)?;
        self.write_move(caller, case, CaseStatus::Closed, Some(result), expected)
            .await
    }

    async fn write_move(
        &self,
        caller: &Caller,
        case: Case,
        status: CaseStatus,
        result: Option<CaseResult>,
        expected: i32,
    ) -> Result<Case, LegalAidError> {
        let stale = || -> LegalAidError {
            DomainError::Conflict(format!(
                "the case changed since version {expected}; reload it"
            ))
            .into()
        };
        if case.version != expected {
            return Err(stale());
        }
        let now = self.now();
        let actor = caller.principal.subject.as_str();
        let txn = self.db.begin().await.map_err(classify)?;
        // The version check that decides a race: only the update that still finds the
        // version it was given changes the row.
        let done = legal_case::Entity::update_many()
            .col_expr(legal_case::Column::Status, Expr::value(status.code()))
            .col_expr(
                legal_case::Column::Result,
                Expr::value(result.map(|r| r.code().to_owned())),
            )
            .col_expr(legal_case::Column::Version, Expr::value(expected + 1))
            .col_expr(legal_case::Column::UpdatedAt, Expr::value(now))
            .col_expr(
                legal_case::Column::ClosedAt,
                Expr::value((status == CaseStatus::Closed).then_some(now)),
            )
            .filter(legal_case::Column::Id.eq(case.id.0))
            .filter(legal_case::Column::Version.eq(expected))
            .exec(&txn)
            .await
            .map_err(classify)?;
        if done.rows_affected != 1 {
            return Err(stale());
        }
        let case = Case {
            status,
            result,
            version: expected + 1,
            closed_at: (status == CaseStatus::Closed).then_some(now),
            ..case
        };
        append(&txn, &case, actor, now).await?;
        if status == CaseStatus::Closed {
            outbox::enqueue(
                &txn,
                &events::case_subject("closed"),
                events::SOURCE,
                events::case_changed(&case, actor, now),
            )
            .await?;
        }
        txn.commit().await.map_err(classify)?;
        self.wake();
        Ok(case)
    }
}
