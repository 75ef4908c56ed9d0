//! Self-service and status: a volunteer corrects their own record and asks for deletion;
//! staff in scope correct any record (the ID-card number only by staff), erase the
//! personal data of a volunteer who asked for it, and set the status.
//!
//! Every change is one conditional UPDATE (on the `updated_at` the caller read, or on the
//! state it expects) plus its event in the same transaction, so of two concurrent changes
//! exactly one wins and the other gets CONFLICT; nothing is half-written.

use chrono::{Datelike, NaiveDate, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, TransactionTrait};
use tongxin_platform::auth::Principal;
use tongxin_platform::db::{DbError, classify};
use tongxin_platform::events::outbox;
use tongxin_platform::geo::Coordinates;
use tongxin_platform::pii::Phone;

use super::{Caller, GUARDIAN_CONSENT_UNDER, VolunteerView, Volunteers, skills_text};
use crate::domain::availability::{Availability, CHINA_STANDARD_TIME, local_today};
use crate::domain::id_card::IdCardNumber;
use crate::domain::matching::VolunteerStatus;
use crate::domain::scope::{PhoneView, UnitPath};
use crate::domain::{DomainError, VolunteerId};
use crate::error::VolunteersError;
use crate::events;
use crate::store::volunteers::{self, ActiveModel, Column, Entity, Model};

/// What shows in place of an erased name.
pub const ERASED_NAME: &str = "（已删除）";

/// A correction: only the fields given change.
#[derive(Debug, Clone, Default)]
pub struct Correction {
    /// New name.
    pub name: Option<String>,
    /// New mobile phone.
    pub phone: Option<String>,
    /// New home location (lat, lon).
    pub location: Option<(f64, f64)>,
    /// New skill set (replaces the old one).
    pub skills: Option<Vec<String>>,
    /// New weekly availability.
    pub availability: Option<String>,
    /// New ID-card number: staff only.
    pub id_card_number: Option<String>,
}

/// The view of an erased record: nothing personal is left to show.
pub(super) fn erased_view(row: Model) -> VolunteerView {
    VolunteerView {
        in_full: false,
        name: row.name.clone(),
        phone: PhoneView::Masked(String::new()),
        id_card_masked: String::new(),
        skills: Vec::new(),
        row,
    }
}

impl Volunteers {
    /// The volunteer corrects their own record (found by token subject). The ID-card number
    /// is not theirs to change: FORBIDDEN.
    #[tracing::instrument(skip_all, fields(actor = %actor.subject))]
    pub async fn correct_my_record(
        &self,
        actor: &Principal,
        correction: Correction,
    ) -> Result<VolunteerView, VolunteersError> {
        if correction.id_card_number.is_some() {
            return Err(VolunteersError::Forbidden(
                "only staff may correct the ID-card number".to_owned(),
            ));
        }
        let row = volunteers::by_subject(&self.db, &actor.subject)
            .await?
            .ok_or_else(|| VolunteersError::NotFound("you have no volunteer record".to_owned()))?;
        self.apply_correction(actor, row, correction).await
    }

    /// Staff whose scope covers the home unit correct a record, the ID-card number included.
    #[tracing::instrument(skip_all, fields(actor = %actor.subject, volunteer_id = %id))]
    pub async fn correct_record(
        &self,
        actor: &Principal,
        id: VolunteerId,
        correction: Correction,
    ) -> Result<VolunteerView, VolunteersError> {
        let row = self.in_staff_scope(actor, id).await?;
        self.apply_correction(actor, row, correction).await
    }

    async fn apply_correction(
        &self,
        actor: &Principal,
        row: Model,
        c: Correction,
    ) -> Result<VolunteerView, VolunteersError> {
        if row.erased_at.is_some() {
            return Err(VolunteersError::Conflict(
                "this record was erased on request".to_owned(),
            ));
        }
        // Parse everything first: bad input stores nothing.
        let mut changed: Vec<&'static str> = Vec::new();
        let mut new = row.clone();
        let mut active = ActiveModel {
            id: Set(row.id),
            ..Default::default()
        };
        if let Some(name) = &c.name {
            let name = name.trim();
            if name.is_empty() || name.chars().count() > 50 {
                return Err(DomainError::invalid("name", "must have 1 to 50 characters").into());
            }
            new.name = name.to_owned();
            active.name = Set(new.name.clone());
            changed.push("name");
        }
        if let Some(phone) = &c.phone {
            let phone = Phone::parse(phone)?;
            new.phone_cipher = self.cipher.encrypt(phone.expose())?;
            active.phone_cipher = Set(new.phone_cipher.clone());
            changed.push("phone");
        }
        if let Some((lat, lon)) = c.location {
            let at = Coordinates::parse(lat, lon)
                .map_err(|e| DomainError::invalid("location", e.to_string()))?;
            new.lat = at.lat();
            new.lon = at.lon();
            active.lat = Set(new.lat);
            active.lon = Set(new.lon);
            changed.push("location");
        }
        if let Some(skills) = &c.skills {
            let set = self.catalog.parse_set(skills)?;
            new.skills = skills_text(&self.catalog.codes(set));
            active.skills = Set(new.skills.clone());
            changed.push("skills");
        }
        if let Some(text) = &c.availability {
            new.availability = Availability::parse(text)?.to_string();
            active.availability = Set(new.availability.clone());
            changed.push("availability");
        }
        if let Some(number) = &c.id_card_number {
            let today = local_today(CHINA_STANDARD_TIME);
            let id_card = IdCardNumber::parse_on(number, today)?;
            if id_card.age_on(today) < GUARDIAN_CONSENT_UNDER && row.guardian_consent.is_none() {
                return Err(DomainError::invalid(
                    "guardian_consent",
                    format!("required for a volunteer under {GUARDIAN_CONSENT_UNDER}"),
                )
                .into());
            }
            new.id_card_cipher = self.cipher.encrypt(id_card.expose())?;
            new.id_card_hash = self.cipher.keyed_hash(id_card.expose()).to_vec();
            new.gender = id_card.gender().as_str().to_owned();
            new.birth_date = id_card.birth_date();
            active.id_card_cipher = Set(new.id_card_cipher.clone());
            active.id_card_hash = Set(new.id_card_hash.clone());
            active.gender = Set(new.gender.clone());
            active.birth_date = Set(new.birth_date);
            changed.push("id_card_number");
        }
        if changed.is_empty() {
            return Err(DomainError::invalid("input", "give at least one field to correct").into());
        }
        new.updated_at = Some(now_micros());
        active.updated_at = Set(new.updated_at);

        let txn = self.db.begin().await.map_err(classify)?;
        let done = Entity::update_many()
            .set(active)
            .filter(Column::Id.eq(row.id))
            .filter(same_version(&row))
            .filter(Column::ErasedAt.is_null())
            .exec(&txn)
            .await
            .map_err(|e| duplicate_id_card(classify(e)))?;
        if done.rows_affected == 0 {
            return Err(VolunteersError::Conflict(
                "the record changed meanwhile; read it again and retry".to_owned(),
            ));
        }
        outbox::enqueue(
            &txn,
            events::VOLUNTEER_UPDATED,
            events::SOURCE,
            events::volunteer_updated(&new, &changed, &actor.subject),
        )
        .await?;
        txn.commit()
            .await
            .map_err(|e| duplicate_id_card(classify(e)))?;
        self.waker.wake();
        self.matcher.apply(&new);
        tracing::info!(volunteer_id = %new.id, fields = ?changed, "volunteer record corrected");
        let caller = self.caller(Some(actor)).await?;
        self.view(&caller, new)
    }

    /// The volunteer asks for their personal data to be deleted. Recorded, not yet done:
    /// staff in scope carry it out with [`Volunteers::process_deletion`]. CONFLICT when a
    /// request is already open.
    #[tracing::instrument(skip_all, fields(actor = %actor.subject))]
    pub async fn request_deletion(
        &self,
        actor: &Principal,
        reason: Option<String>,
    ) -> Result<VolunteerView, VolunteersError> {
        let reason = reason
            .map(|r| r.trim().to_owned())
            .filter(|r| !r.is_empty());
        if reason.as_ref().is_some_and(|r| r.chars().count() > 500) {
            return Err(DomainError::invalid("reason", "at most 500 characters").into());
        }
        let row = volunteers::by_subject(&self.db, &actor.subject)
            .await?
            .ok_or_else(|| VolunteersError::NotFound("you have no volunteer record".to_owned()))?;
        let now = now_micros();
        let txn = self.db.begin().await.map_err(classify)?;
        let done = Entity::update_many()
            .col_expr(Column::DeletionRequestedAt, Expr::value(Some(now)))
            .col_expr(Column::DeletionReason, Expr::value(reason.clone()))
            .col_expr(Column::UpdatedAt, Expr::value(Some(now)))
            .filter(Column::Id.eq(row.id))
            .filter(Column::DeletionRequestedAt.is_null())
            .filter(Column::ErasedAt.is_null())
            .exec(&txn)
            .await
            .map_err(classify)?;
        if done.rows_affected == 0 {
            return Err(VolunteersError::Conflict(
                "a deletion request is already on record".to_owned(),
            ));
        }
        let new = Model {
            deletion_requested_at: Some(now),
            deletion_reason: reason,
            updated_at: Some(now),
            ..row
        };
        outbox::enqueue(
            &txn,
            events::VOLUNTEER_UPDATED,
            events::SOURCE,
            events::volunteer_updated(&new, &["deletion_requested"], &actor.subject),
        )
        .await?;
        txn.commit().await.map_err(classify)?;
        self.waker.wake();
        tracing::info!(volunteer_id = %new.id, "deletion requested");
        let caller = self.caller(Some(actor)).await?;
        self.view(&caller, new)
    }

    /// Staff in scope erase the personal data of a volunteer who asked for it: name,
    /// ID-card number and phone are replaced (the ID-card hash by one that cannot match a
    /// real number, so the person may register again), the account link is cut, the birth
    /// date is kept to the year and the home location to about a kilometre (for statistics),
    /// and the status becomes `left`. The volunteer number and the service record stay, as
    /// the volunteer-record rules require. CONFLICT without an open request.
    #[tracing::instrument(skip_all, fields(actor = %actor.subject, volunteer_id = %id))]
    pub async fn process_deletion(
        &self,
        actor: &Principal,
        id: VolunteerId,
    ) -> Result<VolunteerView, VolunteersError> {
        let row = self.in_staff_scope(actor, id).await?;
        if row.erased_at.is_some() {
            return Err(VolunteersError::Conflict("already erased".to_owned()));
        }
        if row.deletion_requested_at.is_none() {
            return Err(VolunteersError::Conflict(
                "the volunteer has not asked for deletion".to_owned(),
            ));
        }
        let now = now_micros();
        let new = Model {
            subject: None,
            name: ERASED_NAME.to_owned(),
            id_card_cipher: Vec::new(),
            id_card_hash: self
                .cipher
                .keyed_hash(&format!("erased:{}", row.id))
                .to_vec(),
            phone_cipher: Vec::new(),
            birth_date: NaiveDate::from_ymd_opt(row.birth_date.year(), 1, 1)
                .unwrap_or(row.birth_date),
            lat: (row.lat * 100.0).round() / 100.0,
            lon: (row.lon * 100.0).round() / 100.0,
            status: VolunteerStatus::Left.as_str().to_owned(),
            erased_at: Some(now),
            updated_at: Some(now),
            ..row.clone()
        };
        let active = ActiveModel {
            subject: Set(None),
            name: Set(new.name.clone()),
            id_card_cipher: Set(Vec::new()),
            id_card_hash: Set(new.id_card_hash.clone()),
            phone_cipher: Set(Vec::new()),
            birth_date: Set(new.birth_date),
            lat: Set(new.lat),
            lon: Set(new.lon),
            status: Set(new.status.clone()),
            erased_at: Set(new.erased_at),
            updated_at: Set(new.updated_at),
            ..Default::default()
        };
        let txn = self.db.begin().await.map_err(classify)?;
        let done = Entity::update_many()
            .set(active)
            .filter(Column::Id.eq(row.id))
            .filter(Column::ErasedAt.is_null())
            .filter(Column::DeletionRequestedAt.is_not_null())
            .exec(&txn)
            .await
            .map_err(classify)?;
        if done.rows_affected == 0 {
            return Err(VolunteersError::Conflict("already erased".to_owned()));
        }
        if row.subject.is_some() {
            super::linking::record_erasure_unlink(&txn, &row, &actor.subject, now).await?;
        }
        outbox::enqueue(
            &txn,
            events::VOLUNTEER_ERASED,
            events::SOURCE,
            events::volunteer_erased(&new, &actor.subject),
        )
        .await?;
        if row.status != new.status {
            outbox::enqueue(
                &txn,
                events::VOLUNTEER_STATUS_CHANGED,
                events::SOURCE,
                events::volunteer_status_changed(&new, &row.status, &actor.subject),
            )
            .await?;
        }
        txn.commit().await.map_err(classify)?;
        self.waker.wake();
        self.matcher.apply(&new);
        tracing::info!(volunteer_id = %new.id, "personal data erased on request");
        Ok(erased_view(new))
    }

    /// Staff in scope set the status. The same status again changes nothing (no event);
    /// an erased record stays `left` (CONFLICT); a concurrent change wins over this one
    /// (CONFLICT).
    #[tracing::instrument(skip_all, fields(actor = %actor.subject, volunteer_id = %id))]
    pub async fn set_status(
        &self,
        actor: &Principal,
        id: VolunteerId,
        status: VolunteerStatus,
    ) -> Result<VolunteerView, VolunteersError> {
        let row = self.in_staff_scope(actor, id).await?;
        let caller = self.caller(Some(actor)).await?;
        if row.status == status.as_str() {
            return self.view(&caller, row);
        }
        if row.erased_at.is_some() {
            return Err(VolunteersError::Conflict(
                "an erased record cannot be reactivated".to_owned(),
            ));
        }
        let now = now_micros();
        let txn = self.db.begin().await.map_err(classify)?;
        let done = Entity::update_many()
            .col_expr(Column::Status, Expr::value(status.as_str()))
            .col_expr(Column::UpdatedAt, Expr::value(Some(now)))
            .filter(Column::Id.eq(row.id))
            .filter(Column::Status.eq(row.status.as_str()))
            .filter(Column::ErasedAt.is_null())
            .exec(&txn)
            .await
            .map_err(classify)?;
        if done.rows_affected == 0 {
            return Err(VolunteersError::Conflict(
                "the status changed meanwhile; read it again and retry".to_owned(),
            ));
        }
        let new = Model {
            status: status.as_str().to_owned(),
            updated_at: Some(now),
            ..row.clone()
        };
        outbox::enqueue(
            &txn,
            events::VOLUNTEER_STATUS_CHANGED,
            events::SOURCE,
            events::volunteer_status_changed(&new, &row.status, &actor.subject),
        )
        .await?;
        txn.commit().await.map_err(classify)?;
        self.waker.wake();
        self.matcher.apply(&new);
        tracing::info!(volunteer_id = %new.id, from = %row.status, to = %new.status, "volunteer status changed");
        self.view(&caller, new)
    }

    /// Volunteers in the caller's scope (or in `unit_path`, which must lie inside it) who
    /// asked for deletion and are not erased yet, oldest request first: the work list for
    /// [`Volunteers::process_deletion`]. Staff only. Returns the page and whether more
    /// follow; `after` is the (requested at, id) of the last row of the previous page.
    pub async fn deletion_requests(
        &self,
        caller: &Caller,
        unit_path: Option<&str>,
        after: Option<(chrono::DateTime<Utc>, uuid::Uuid)>,
        first: u64,
    ) -> Result<(Vec<VolunteerView>, bool), VolunteersError> {
        let Some(scope) = caller.staff_scope() else {
            return Err(VolunteersError::Forbidden(
                "deletion requests are for staff, within their scope".to_owned(),
            ));
        };
        let under = match unit_path {
            Some(p) => {
                UnitPath::parse(p).map_err(|e| super::rename_field(e.into(), "unit_path"))?
            }
            None => scope.clone(),
        };
        if !scope.covers(&under) {
            return Err(VolunteersError::Forbidden(
                "unit_path is outside your scope".to_owned(),
            ));
        }
        let rows =
            volunteers::deletion_requests(&self.db, under.as_str(), after, first + 1).await?;
        self.page_under(caller, &under, rows, first)
    }

    /// The row of `id` when `actor` is staff whose scope covers its home unit.
    pub(super) async fn in_staff_scope(
        &self,
        actor: &Principal,
        id: VolunteerId,
    ) -> Result<Model, VolunteersError> {
        let caller: Caller = self.caller(Some(actor)).await?;
        let Some(scope) = caller.staff_scope() else {
            return Err(VolunteersError::Forbidden(
                "only staff may do this, within their scope".to_owned(),
            ));
        };
        let row = volunteers::get(&self.db, id.0)
            .await?
            .ok_or_else(|| VolunteersError::NotFound(format!("volunteer {id} does not exist")))?;
        let home = UnitPath::parse(&row.home_unit_path)?;
        if !scope.covers(&home) {
            return Err(VolunteersError::Forbidden(
                "the volunteer is outside your scope".to_owned(),
            ));
        }
        Ok(row)
    }
}

/// Now, to the microsecond: what PostgreSQL keeps, so the value held in memory equals the
/// stored one and the optimistic check in [`same_version`] can compare them.
pub(crate) fn now_micros() -> chrono::DateTime<Utc> {
    let now = Utc::now();
    chrono::DurationRound::duration_trunc(now, chrono::Duration::microseconds(1)).unwrap_or(now)
}

/// The row is still the version that was read.
fn same_version(row: &Model) -> sea_orm::Condition {
    let c = sea_orm::Condition::all();
    match row.updated_at {
        Some(at) => c.add(Column::UpdatedAt.eq(at)),
        None => c.add(Column::UpdatedAt.is_null()),
    }
}

fn duplicate_id_card(e: DbError) -> VolunteersError {
    match e {
        DbError::Conflict(_) => DomainError::Duplicate {
            field: "id_card_number",
        }
        .into(),
        other => other.into(),
    }
}
