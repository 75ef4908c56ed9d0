//! The service-hours ledger, stars and points.
//!
//! Who may do what:
//! - **record** a manual (or order/activity) entry, **approve**, **decline**: staff whose
//!   scope covers the volunteer's home unit. Entries start pending.
//! - **credit** approved hours: the `activity_held` and `order_completed` consumers (sources
//!   already approved upstream), idempotently by (source, source id, volunteer).
//! - **read** entries, totals, points: the volunteer themself or staff in scope.
//! - **set district rules** (star thresholds, points rules): center staff, i.e. staff whose
//!   scope is the district's root unit.
//!
//! Every change to an entry, the volunteer's totals, their star level (and its
//! `star_reached` events) and their points happens in one transaction.

use chrono::{NaiveDate, Utc};
use sea_orm::{ConnectionTrait, TransactionTrait};
use tongxin_platform::auth::Principal;
use tongxin_platform::db::{DbError, classify};
use tongxin_platform::events::outbox;
use uuid::Uuid;

use super::{Caller, Volunteers};
use crate::domain::DomainError;
use crate::domain::availability::{CHINA_STANDARD_TIME, local_today};
use crate::domain::crediting::{self, CreditDecision, Part};
use crate::domain::hours::{EntryStatus, Hours, LedgerSource, ServiceDate};
use crate::domain::points::{PointsRules, Quarter};
use crate::domain::scope::UnitPath;
use crate::domain::stars::StarThresholds;
use crate::error::VolunteersError;
use crate::events::ledger as ledger_events;
use crate::store::ledger::{self, EntryFilter, Ranked, RankingMeasure, RankingScope, entries};
use crate::store::{known_units, teams, volunteers};

/// A ledger entry as entered by staff (or another service over gRPC), before parsing.
#[derive(Debug, Clone)]
pub struct NewHours {
    /// Whose hours.
    pub volunteer_id: Uuid,
    /// `order`, `activity` or `manual`.
    pub source: String,
    /// The order or activity id; none for manual entries.
    pub source_id: Option<Uuid>,
    /// Hours, in quarter hours.
    pub hours: f64,
    /// Local date of the service.
    pub service_date: NaiveDate,
    /// Where.
    pub place: String,
    /// What was done.
    pub content: String,
    /// How it went.
    pub evaluation: Option<String>,
}

/// A volunteer's totals.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Totals {
    /// Approved hours.
    pub approved: f64,
    /// Hours waiting for a decision.
    pub pending: f64,
    /// Star level reached.
    pub star_level: u8,
    /// Points balance.
    pub points: f64,
}

impl From<&ledger::stats::Model> for Totals {
    fn from(s: &ledger::stats::Model) -> Self {
        Self {
            approved: s.approved_quarters as f64 / 4.0,
            pending: s.pending_quarters as f64 / 4.0,
            star_level: u8::try_from(s.star_level).unwrap_or(0),
            points: s.points,
        }
    }
}

/// A district's rules as they apply now.
#[derive(Debug, Clone, PartialEq)]
pub struct DistrictRules {
    /// District code.
    pub district: String,
    /// Star thresholds in hours.
    pub thresholds: StarThresholds,
    /// Points rules.
    pub points: PointsRules,
}

/// Everything a service-record proof shows.
#[derive(Debug, Clone)]
pub struct RecordProof {
    /// The volunteer (ciphertexts are not used).
    pub volunteer: volunteers::Model,
    /// Approved entries in the period, by date.
    pub entries: Vec<entries::Model>,
    /// First day of the period.
    pub from: NaiveDate,
    /// Last day of the period.
    pub to: NaiveDate,
    /// Approved hours in the period.
    pub period_hours: f64,
    /// All approved hours and the star level.
    pub totals: Totals,
    /// The issuing unit's path (the volunteer's home unit).
    pub issuing_unit: String,
    /// The date of issue (local).
    pub issued_on: NaiveDate,
}

/// How long a text field may be, in characters.
fn text(
    field: &'static str,
    value: &str,
    max: usize,
    required: bool,
) -> Result<String, DomainError> {
    let value = value.trim();
    if required && value.is_empty() {
        return Err(DomainError::invalid(field, "must not be empty"));
    }
    if value.chars().count() > max {
        return Err(DomainError::invalid(
            field,
            format!("at most {max} characters"),
        ));
    }
    if value.chars().any(|c| c.is_control() && c != '\n') {
        return Err(DomainError::invalid(
            field,
            "may not contain control characters",
        ));
    }
    Ok(value.to_owned())
}

fn day_limit_error(held: i64, adding: Hours) -> VolunteersError {
    DomainError::invalid(
        "hours",
        format!(
            "the day already holds {} hours; adding {} would exceed 24",
            held as f64 / 4.0,
            adding
        ),
    )
    .into()
}

impl Caller {
    /// Whether this caller is staff whose scope covers `home`.
    pub(crate) fn covers(&self, home: &str) -> bool {
        match (&self.staff_scope, UnitPath::parse(home)) {
            (Some(scope), Ok(home)) => scope.covers(&home),
            _ => false,
        }
    }

    /// Whether this caller may read the ledger of `row`: themself or staff in scope.
    pub fn may_read_ledger(&self, row: &volunteers::Model) -> bool {
        (self.subject.is_some() && self.subject == row.subject) || self.covers(&row.home_unit_path)
    }
}

impl Volunteers {
    async fn volunteer_row(&self, id: Uuid) -> Result<volunteers::Model, VolunteersError> {
        volunteers::get(self.db(), id)
            .await?
            .ok_or_else(|| VolunteersError::NotFound(format!("volunteer {id} does not exist")))
    }

    /// Appends a pending entry. Staff in scope of the volunteer's home unit only; the day's
    /// entries together must stay within 24 hours; an order or activity credits a volunteer
    /// once (CONFLICT for a second entry).
    #[tracing::instrument(skip_all, fields(actor = %actor.subject, volunteer_id = %input.volunteer_id))]
    pub async fn record_hours(
        &self,
        actor: &Principal,
        input: NewHours,
    ) -> Result<entries::Model, VolunteersError> {
        let hours = Hours::parse(input.hours)?;
        let date = ServiceDate::parse(input.service_date, local_today(CHINA_STANDARD_TIME))?;
        let source = LedgerSource::from_parts(&input.source, input.source_id)?;
        let place = text("place", &input.place, 200, true)?;
        let content = text("content", &input.content, 1000, true)?;
        let evaluation = input
            .evaluation
            .as_deref()
            .map(|e| text("evaluation", e, 1000, false))
            .transpose()?
            .filter(|e| !e.is_empty());
        let caller = self.caller(Some(actor)).await?;
        let volunteer = self.volunteer_row(input.volunteer_id).await?;
        if !caller.covers(&volunteer.home_unit_path) {
            return Err(VolunteersError::Forbidden(
                "the volunteer's home unit is outside your scope".to_owned(),
            ));
        }
        let row = entries::Model {
            id: Uuid::now_v7(),
            volunteer_id: volunteer.id,
            source: (&source).into(),
            source_id: source.reference(),
            quarters: i16::from(hours.quarters()),
            service_date: date.date(),
            place,
            content,
            evaluation,
            recorder: actor.subject.clone(),
            recorded_at: Utc::now(),
            status: EntryStatus::Pending.into(),
            decided_by: None,
            decided_at: None,
            decline_reason: None,
        };
        let txn = self.db().begin().await.map_err(classify)?;
        // First statement: the volunteer's totals row, which also serialises recordings.
        ledger::lock_and_add_pending(&txn, volunteer.id, i64::from(hours.quarters())).await?;
        let held = ledger::day_quarters(&txn, volunteer.id, date.date()).await?;
        if held + i64::from(hours.quarters()) > 96 {
            txn.rollback().await.map_err(classify)?;
            return Err(day_limit_error(held, hours));
        }
        ledger::insert_entry(&txn, row.clone())
            .await
            .map_err(|e| match e {
                DbError::Conflict(_) => VolunteersError::Conflict(format!(
                    "this {} already credited the volunteer",
                    source.kind()
                )),
                other => other.into(),
            })?;
        txn.commit().await.map_err(classify)?;
        tracing::info!(entry_id = %row.id, hours = %hours, "hours recorded");
        Ok(row)
    }

    /// Approves a pending entry: its hours count, the star level and points follow in the
    /// same transaction. CONFLICT when it was already decided (also for the loser of two
    /// concurrent decisions).
    #[tracing::instrument(skip_all, fields(actor = %actor.subject, %entry_id))]
    pub async fn approve_hours(
        &self,
        actor: &Principal,
        entry_id: Uuid,
    ) -> Result<entries::Model, VolunteersError> {
        self.decide(actor, entry_id, EntryStatus::Approved, None)
            .await
    }

    /// Declines a pending entry with a reason; it stays in the ledger, visible as declined.
    #[tracing::instrument(skip_all, fields(actor = %actor.subject, %entry_id))]
    pub async fn decline_hours(
        &self,
        actor: &Principal,
        entry_id: Uuid,
        reason: &str,
    ) -> Result<entries::Model, VolunteersError> {
        let reason = text("reason", reason, 500, true)?;
        self.decide(actor, entry_id, EntryStatus::Declined, Some(reason))
            .await
    }

    async fn decide(
        &self,
        actor: &Principal,
        entry_id: Uuid,
        to: EntryStatus,
        reason: Option<String>,
    ) -> Result<entries::Model, VolunteersError> {
        let entry = ledger::entry(self.db(), entry_id).await?.ok_or_else(|| {
            VolunteersError::NotFound(format!("hours entry {entry_id} does not exist"))
        })?;
        let volunteer = self.volunteer_row(entry.volunteer_id).await?;
        let caller = self.caller(Some(actor)).await?;
        if !caller.covers(&volunteer.home_unit_path) {
            return Err(VolunteersError::Forbidden(
                "the volunteer's home unit is outside your scope".to_owned(),
            ));
        }
        let from = EntryStatus::from(entry.status);
        from.transition(to)?;
        let txn = self.db().begin().await.map_err(classify)?;
        if !ledger::decide(
            &txn,
            entry.id,
            to.as_str(),
            &actor.subject,
            reason.as_deref(),
        )
        .await?
        {
            txn.rollback().await.map_err(classify)?;
            return Err(VolunteersError::Conflict(
                "the entry was decided by someone else in the meantime".to_owned(),
            ));
        }
        let quarters = i64::from(entry.quarters);
        match to {
            EntryStatus::Approved => {
                apply_approved(&txn, &volunteer, &entry, true).await?;
            }
            _ => ledger::remove_pending(&txn, volunteer.id, quarters).await?,
        }
        txn.commit().await.map_err(classify)?;
        self.waker().wake();
        tracing::info!(status = to.as_str(), "hours entry decided");
        ledger::entry(self.db(), entry_id).await?.ok_or_else(|| {
            VolunteersError::NotFound(format!("hours entry {entry_id} does not exist"))
        })
    }

    /// One volunteer's entries (or, without a volunteer, the entries of everyone in the
    /// caller's staff scope), newest first. Returns the page and whether more follow.
    pub async fn hours_entries(
        &self,
        caller: &Caller,
        mut filter: EntryFilter,
        before: Option<Uuid>,
        first: u64,
    ) -> Result<(Vec<entries::Model>, bool), VolunteersError> {
        match filter.volunteer_id {
            Some(id) => {
                let volunteer = self.volunteer_row(id).await?;
                if !caller.may_read_ledger(&volunteer) {
                    return Err(VolunteersError::Forbidden(
                        "only the volunteer and staff in scope see their ledger".to_owned(),
                    ));
                }
            }
            None => {
                let Some(scope) = caller.staff_scope() else {
                    return Err(VolunteersError::Forbidden(
                        "listing entries without a volunteer needs a staff scope".to_owned(),
                    ));
                };
                filter.under = Some(scope.as_str().to_owned());
            }
        }
        if let (Some(from), Some(to)) = (filter.from, filter.to)
            && from > to
        {
            return Err(DomainError::invalid("from", "must not be after to").into());
        }
        let mut rows = ledger::list_entries(self.db(), &filter, before, first + 1).await?;
        let more = rows.len() as u64 > first;
        rows.truncate(first as usize);
        Ok((rows, more))
    }

    /// Totals of many volunteers by id in one query (zeros for those without entries).
    pub async fn totals_of(&self, ids: &[Uuid]) -> Result<Vec<(Uuid, Totals)>, VolunteersError> {
        let stats = ledger::stats_of(self.db(), ids).await?;
        Ok(stats
            .iter()
            .map(|s| (s.volunteer_id, Totals::from(s)))
            .collect())
    }

    /// A volunteer's points entries, newest first, for themself or staff in scope.
    pub async fn points_entries(
        &self,
        caller: &Caller,
        volunteer_id: Uuid,
        before: Option<Uuid>,
        first: u64,
    ) -> Result<(Vec<ledger::points::Model>, bool), VolunteersError> {
        let volunteer = self.volunteer_row(volunteer_id).await?;
        if !caller.may_read_ledger(&volunteer) {
            return Err(VolunteersError::Forbidden(
                "only the volunteer and staff in scope see their points".to_owned(),
            ));
        }
        let mut rows = ledger::list_points(self.db(), volunteer_id, before, first + 1).await?;
        let more = rows.len() as u64 > first;
        rows.truncate(first as usize);
        Ok((rows, more))
    }

    /// A volunteer's points balance, for themself or staff in scope.
    pub async fn points_balance(
        &self,
        caller: &Caller,
        volunteer_id: Uuid,
    ) -> Result<f64, VolunteersError> {
        let volunteer = self.volunteer_row(volunteer_id).await?;
        if !caller.may_read_ledger(&volunteer) {
            return Err(VolunteersError::Forbidden(
                "only the volunteer and staff in scope see their points".to_owned(),
            ));
        }
        Ok(self
            .totals_of(&[volunteer_id])
            .await?
            .first()
            .map(|(_, t)| t.points)
            .unwrap_or(0.0))
    }

    /// The rules of `district` (defaults when none were set).
    pub async fn district_rules(&self, district: &str) -> Result<DistrictRules, VolunteersError> {
        rules_for(self.db(), district).await
    }

    /// Sets a district's star thresholds and points rules; center staff of that district
    /// only. A threshold list that is not strictly increasing is BAD_USER_INPUT. Levels
    /// already reached are kept; new levels count from the next approval.
    #[tracing::instrument(skip_all, fields(actor = %actor.subject, district))]
    pub async fn set_district_rules(
        &self,
        actor: &Principal,
        district: &str,
        thresholds: Option<Vec<f64>>,
        points_per_hour: Option<i64>,
        points_per_rating_star: Option<i64>,
    ) -> Result<DistrictRules, VolunteersError> {
        let current = self.district_rules(district).await?;
        let thresholds = match thresholds {
            Some(t) => StarThresholds::parse(t)?,
            None => current.thresholds,
        };
        let points = PointsRules::parse(
            points_per_hour.unwrap_or(i64::from(current.points.per_hour())),
            points_per_rating_star.unwrap_or(i64::from(current.points.per_rating_star())),
        )?;
        let caller = self.caller(Some(actor)).await?;
        let is_center = caller
            .staff_scope()
            .is_some_and(|s| s.depth() == 1 && s.district() == district);
        if !is_center {
            return Err(VolunteersError::Forbidden(
                "only staff of the district center may change its rules".to_owned(),
            ));
        }
        let json = serde_json::to_string(thresholds.as_slice()).map_err(|e| {
            VolunteersError::Domain(DomainError::config("star_thresholds", e.to_string()))
        })?;
        ledger::save_rules(
            self.db(),
            ledger::rules::Model {
                district: district.to_owned(),
                star_thresholds: json,
                points_per_hour: i32::try_from(points.per_hour()).unwrap_or(i32::MAX),
                points_per_rating_star: i32::try_from(points.per_rating_star()).unwrap_or(i32::MAX),
                updated_at: Utc::now(),
                updated_by: actor.subject.clone(),
            },
        )
        .await?;
        Ok(DistrictRules {
            district: district.to_owned(),
            thresholds,
            points,
        })
    }

    /// The top volunteers of a team or unit subtree by approved hours or points, optionally
    /// in one quarter; staff whose scope covers the team's unit or the unit.
    pub async fn ranking(
        &self,
        caller: &Caller,
        scope: RankingTarget,
        measure: RankingMeasure,
        quarter: Option<&str>,
        offset: u64,
        first: u64,
    ) -> Result<(Vec<Ranked>, bool), VolunteersError> {
        let period = quarter
            .map(Quarter::parse)
            .transpose()?
            .map(|q| (q.first_day(), q.end_exclusive()));
        let (scope, path) = match scope {
            RankingTarget::Team(id) => {
                let team = teams::get(self.db(), id).await?.ok_or_else(|| {
                    VolunteersError::NotFound(format!("team {id} does not exist"))
                })?;
                (RankingScope::Team(id), team.unit_path)
            }
            RankingTarget::Unit(id) => {
                let path = known_units::path_of(self.db(), id)
                    .await?
                    .ok_or_else(|| VolunteersError::NotFound(format!("unit {id} is not known")))?;
                (RankingScope::Unit(path.clone()), path)
            }
        };
        if !caller.covers(&path) {
            return Err(VolunteersError::Forbidden(
                "rankings are for staff whose scope covers the team or unit".to_owned(),
            ));
        }
        let mut rows =
            ledger::ranking(self.db(), &scope, measure, period, offset, first + 1).await?;
        let more = rows.len() as u64 > first;
        rows.truncate(first as usize);
        Ok((rows, more))
    }

    /// The data of a service-record proof for `from`..=`to`: the volunteer themself or staff
    /// in scope.
    pub async fn record_proof(
        &self,
        caller: &Caller,
        volunteer_id: Uuid,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<RecordProof, VolunteersError> {
        if from > to {
            return Err(DomainError::invalid("from", "must not be after to").into());
        }
        let volunteer = self.volunteer_row(volunteer_id).await?;
        if !caller.may_read_ledger(&volunteer) {
            return Err(VolunteersError::Forbidden(
                "only the volunteer and staff in scope may print their record".to_owned(),
            ));
        }
        let entries =
            ledger::approved_between(self.db(), volunteer_id, from, to, ledger::PROOF_MAX_ENTRIES)
                .await?;
        let period_hours = entries.iter().map(|e| f64::from(e.quarters)).sum::<f64>() / 4.0;
        let totals = self
            .totals_of(&[volunteer_id])
            .await?
            .first()
            .map(|(_, t)| *t)
            .unwrap_or_default();
        let issuing_unit = known_units::path_of(self.db(), volunteer.home_unit_id)
            .await?
            .unwrap_or_else(|| volunteer.home_unit_path.clone());
        Ok(RecordProof {
            volunteer,
            entries,
            from,
            to,
            period_hours,
            totals,
            issuing_unit,
            issued_on: local_today(CHINA_STANDARD_TIME),
        })
    }

    /// The content check of a proof: its digest ([`Volunteers::proof_digest`]) shown as 20
    /// hex digits in groups of four. Nobody without the service's key can forge one; the
    /// full digest is kept in the register of issued proofs, which is what a holder of the
    /// paper checks through its public code.
    pub fn proof_code(&self, canonical: &str) -> String {
        let mac = self.proof_digest(canonical);
        let hex: String = mac[..10].iter().map(|b| format!("{b:02X}")).collect();
        hex.as_bytes()
            .chunks(4)
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect::<Vec<_>>()
            .join("-")
    }
}

/// What a ranking ranks.
#[derive(Debug, Clone, Copy)]
pub enum RankingTarget {
    /// A team's members.
    Team(Uuid),
    /// Volunteers of a unit's subtree.
    Unit(Uuid),
}

/// The rules of `district`, defaults when none were set.
pub async fn rules_for<C: ConnectionTrait>(
    conn: &C,
    district: &str,
) -> Result<DistrictRules, VolunteersError> {
    match ledger::rules_of(conn, district).await? {
        None => Ok(DistrictRules {
            district: district.to_owned(),
            thresholds: StarThresholds::default(),
            points: PointsRules::default(),
        }),
        Some(row) => {
            let list: Vec<f64> = serde_json::from_str(&row.star_thresholds).map_err(|_| {
                DomainError::config("star_thresholds", "stored list is not a JSON array")
            })?;
            Ok(DistrictRules {
                district: district.to_owned(),
                thresholds: StarThresholds::parse(list)?,
                points: PointsRules::parse(
                    i64::from(row.points_per_hour),
                    i64::from(row.points_per_rating_star),
                )?,
            })
        }
    }
}

fn district_of(volunteer: &volunteers::Model) -> String {
    UnitPath::parse(&volunteer.home_unit_path)
        .map(|p| p.district().to_owned())
        .unwrap_or_default()
}

/// Counts an approved entry: totals, star level (one `star_reached` per level newly
/// reached, guarded by a conditional update) and points, all within `txn`.
async fn apply_approved<C: ConnectionTrait>(
    txn: &C,
    volunteer: &volunteers::Model,
    entry: &entries::Model,
    from_pending: bool,
) -> Result<(), VolunteersError> {
    let quarters = i64::from(entry.quarters);
    let (approved, held) = ledger::add_approved(txn, volunteer.id, quarters, from_pending).await?;
    let rules = rules_for(txn, &district_of(volunteer)).await?;
    let total = approved as f64 / 4.0;
    let level = i16::from(rules.thresholds.level_for(total));
    if level > held && ledger::raise_star(txn, volunteer.id, level).await? {
        for reached in (held + 1)..=level {
            outbox::enqueue(
                txn,
                ledger_events::STAR_REACHED,
                crate::events::SOURCE,
                ledger_events::star_reached(volunteer, reached, total, entry.id),
            )
            .await?;
            tracing::info!(volunteer_id = %volunteer.id, level = reached, "star level reached");
        }
    }
    let hours = Hours::from_quarters(u8::try_from(entry.quarters).unwrap_or(0))?;
    let points = rules.points.for_hours(hours);
    if points > 0.0 {
        ledger::credit_points(
            txn,
            ledger::points::Model {
                id: Uuid::now_v7(),
                volunteer_id: volunteer.id,
                source: "hours".to_owned(),
                source_id: entry.id,
                points,
                service_date: entry.service_date,
                created_at: Utc::now(),
            },
        )
        .await?;
    }
    Ok(())
}

/// What crediting one volunteer from an upstream event did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credit {
    /// Approved hours (or rating points) were appended.
    Credited,
    /// Hours were appended pending: the vouching scope does not cover the volunteer.
    Pending,
    /// The volunteer did not serve (not a member of the dispatched team); nothing appended.
    Refused,
    /// This source had already credited the volunteer (redelivery or a second event).
    AlreadyCredited,
    /// No such volunteer here.
    UnknownVolunteer,
    /// The day would hold more than 24 hours; nothing appended.
    OverDayLimit,
}

/// A credit from an upstream source (an order or activity), before checks.
#[derive(Debug, Clone)]
pub struct UpstreamCredit {
    /// Order or activity.
    pub source: LedgerSource,
    /// The volunteer id as the event gave it.
    pub volunteer_id: Uuid,
    /// Hours.
    pub hours: Hours,
    /// Local date of the service.
    pub service_date: NaiveDate,
    /// Where.
    pub place: String,
    /// What.
    pub content: String,
    /// How it went.
    pub evaluation: Option<String>,
    /// Who recorded it upstream.
    pub recorder: String,
    /// The volunteer's part in the work, as far as the source and this service know.
    pub part: Part,
    /// The scope that vouches for the record (see [`crediting`]), if the source said.
    pub vouching: Option<UnitPath>,
}

/// Appends hours from an upstream source inside the consumer's transaction, at most once
/// per (source, source id, volunteer): approved (with stars and points) when the vouching
/// scope covers the volunteer, pending for staff in the volunteer's scope otherwise, and
/// nothing for someone who did not serve ([`crediting::decide`]).
pub async fn credit_upstream<C: ConnectionTrait>(
    txn: &C,
    credit: UpstreamCredit,
) -> Result<Credit, VolunteersError> {
    let Some(source_id) = credit.source.reference() else {
        return Err(DomainError::invalid("source", "upstream credits need a source id").into());
    };
    let Some(volunteer) = volunteers::get(txn, credit.volunteer_id).await? else {
        return Ok(Credit::UnknownVolunteer);
    };
    let home = UnitPath::parse(&volunteer.home_unit_path).map_err(DomainError::from)?;
    let status = match crediting::decide(credit.part, credit.vouching.as_ref(), &home) {
        CreditDecision::Refuse => return Ok(Credit::Refused),
        CreditDecision::Credit(status) => status,
    };
    // Lock the volunteer's totals first; then the checks below cannot race another credit.
    ledger::lock_and_add_pending(txn, volunteer.id, 0).await?;
    if ledger::source_credited(txn, credit.source.kind(), source_id, volunteer.id).await? {
        return Ok(Credit::AlreadyCredited);
    }
    let held = ledger::day_quarters(txn, volunteer.id, credit.service_date).await?;
    if held + i64::from(credit.hours.quarters()) > 96 {
        return Ok(Credit::OverDayLimit);
    }
    let entry = entries::Model {
        id: Uuid::now_v7(),
        volunteer_id: volunteer.id,
        source: (&credit.source).into(),
        source_id: Some(source_id),
        quarters: i16::from(credit.hours.quarters()),
        service_date: credit.service_date,
        place: truncate(&credit.place, 200),
        content: truncate(&credit.content, 1000),
        evaluation: credit.evaluation.map(|e| truncate(&e, 1000)),
        recorder: truncate(&credit.recorder, 200),
        recorded_at: Utc::now(),
        status: status.into(),
        decided_by: status.counts().then(|| crate::events::SOURCE.to_owned()),
        decided_at: status.counts().then(Utc::now),
        decline_reason: None,
    };
    ledger::insert_entry(txn, entry.clone()).await?;
    if status.counts() {
        apply_approved(txn, &volunteer, &entry, false).await?;
    } else {
        ledger::lock_and_add_pending(txn, volunteer.id, i64::from(credit.hours.quarters())).await?;
    }
    Ok(if status.counts() {
        Credit::Credited
    } else {
        Credit::Pending
    })
}

/// Credits rating points to a volunteer of a rated order, once per (order, volunteer).
pub async fn credit_rating<C: ConnectionTrait>(
    txn: &C,
    order_id: Uuid,
    volunteer_id: Uuid,
    stars: u32,
    service_date: NaiveDate,
) -> Result<Credit, VolunteersError> {
    let Some(volunteer) = volunteers::get(txn, volunteer_id).await? else {
        return Ok(Credit::UnknownVolunteer);
    };
    let rules = rules_for(txn, &district_of(&volunteer)).await?;
    let points = rules.points.for_rating(stars);
    if points <= 0.0 {
        return Ok(Credit::Credited);
    }
    let fresh = ledger::credit_points(
        txn,
        ledger::points::Model {
            id: Uuid::now_v7(),
            volunteer_id,
            source: "rating".to_owned(),
            source_id: order_id,
            points,
            service_date,
            created_at: Utc::now(),
        },
    )
    .await?;
    Ok(if fresh {
        Credit::Credited
    } else {
        Credit::AlreadyCredited
    })
}

fn truncate(s: &str, max: usize) -> String {
    s.chars().filter(|c| !c.is_control()).take(max).collect()
}

/// The most units one [`Volunteers::unit_hours`] call may ask about.
pub const MAX_UNIT_HOURS: usize = 1000;

/// Hours per path in `paths`, each the sum over `by_home` rows whose home path is that path
/// or below it.
pub fn roll_up_hours(paths: &[String], by_home: &[(String, i64)]) -> Vec<f64> {
    paths
        .iter()
        .map(|p| {
            let below = format!("{p}/");
            let quarters: i64 = by_home
                .iter()
                .filter(|(home, _)| home == p || home.starts_with(&below))
                .map(|(_, q)| q)
                .sum();
            quarters as f64 / 4.0
        })
        .collect()
}

impl Volunteers {
    /// Approved hours served per unit (volunteers living in its subtree) from `from` to
    /// `to` (exclusive), for the quarterly evaluation. Aggregates only, so staff and other
    /// services may ask; citizens and volunteers may not.
    #[tracing::instrument(skip_all, fields(units = paths.len()))]
    pub async fn unit_hours(
        &self,
        actor: &Principal,
        paths: &[String],
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<f64>, VolunteersError> {
        if !(actor.is_service() || actor.is_staff()) {
            return Err(VolunteersError::Forbidden(
                "unit hours are for staff and services".to_owned(),
            ));
        }
        if paths.len() > MAX_UNIT_HOURS {
            return Err(DomainError::invalid(
                "unit_paths",
                format!("at most {MAX_UNIT_HOURS} units per call"),
            )
            .into());
        }
        if from >= to {
            return Err(DomainError::invalid("to_date", "must be after from_date").into());
        }
        let paths = paths
            .iter()
            .map(|p| UnitPath::parse(p).map(|p| p.as_str().to_owned()))
            .collect::<Result<Vec<_>, _>>()?;
        let by_home = ledger::approved_quarters_by_home(self.db(), from, to).await?;
        Ok(roll_up_hours(&paths, &by_home))
    }
}

#[cfg(test)]
mod unit_hours_tests {
    use super::roll_up_hours;

    #[test]
    fn hours_roll_up_over_the_subtree_only() {
        let by_home = vec![
            ("/rc/a".to_owned(), 4),
            ("/rc/a/b".to_owned(), 8),
            ("/rc/ab".to_owned(), 100),
            ("/rc/c".to_owned(), 2),
        ];
        let paths = ["/rc/a".to_owned(), "/rc/a/b".to_owned(), "/rc/x".to_owned()];
        // /rc/ab is a sibling with a common prefix, not a child of /rc/a.
        assert_eq!(roll_up_hours(&paths, &by_home), [3.0, 2.0, 0.0]);
    }
}
