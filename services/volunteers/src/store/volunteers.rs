//! The `volunteers` table. ID-card numbers and phones are stored only as AES-GCM
//! ciphertext; the ID-card number's keyed hash (unique index) decides duplicates.

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::entity::prelude::*;
use sea_orm::{ActiveModelTrait, Condition, ConnectionTrait, QueryOrder, QuerySelect};
use tongxin_platform::db::{DbError, classify};

/// One registered volunteer as stored.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "volunteers")]
pub struct Model {
    /// Internal id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The public volunteer number.
    #[sea_orm(unique)]
    pub volunteer_no: String,
    /// The account (token subject) that registered itself, if self-registered.
    #[sea_orm(unique)]
    pub subject: Option<String>,
    /// Name.
    pub name: String,
    /// `male` / `female` (from the ID-card number).
    pub gender: String,
    /// Birth date (from the ID-card number).
    pub birth_date: NaiveDate,
    /// AES-GCM ciphertext of the ID-card number.
    pub id_card_cipher: Vec<u8>,
    /// HMAC-SHA256 of the ID-card number under the hash key; unique.
    pub id_card_hash: Vec<u8>,
    /// AES-GCM ciphertext of the phone.
    pub phone_cipher: Vec<u8>,
    /// Home org unit id.
    pub home_unit_id: Uuid,
    /// Home org unit path.
    pub home_unit_path: String,
    /// Home latitude.
    pub lat: f64,
    /// Home longitude.
    pub lon: f64,
    /// Skill codes as `,code,code,` (so one skill is a LIKE `%,code,%`).
    pub skills: String,
    /// Canonical weekly availability text.
    pub availability: String,
    /// `active`, `paused`, `left`.
    pub status: String,
    /// When the volunteer consented to the registration.
    pub consent_at: DateTime<Utc>,
    /// The guardian's consent record (required under 14).
    pub guardian_consent: Option<String>,
    /// When registered.
    pub created_at: DateTime<Utc>,
    /// Who registered (principal subject).
    pub created_by: String,
    /// When the row last changed; replicas refresh their candidate index by it. `None` only
    /// for rows from before the column existed.
    pub updated_at: Option<DateTime<Utc>>,
    /// When the volunteer asked for their personal data to be deleted.
    pub deletion_requested_at: Option<DateTime<Utc>>,
    /// The reason they gave, if any.
    pub deletion_reason: Option<String>,
    /// When staff erased the personal data (name, ID-card number, phone).
    pub erased_at: Option<DateTime<Utc>>,
}

/// No relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// Inserts a new row; a unique violation comes back as [`DbError::Conflict`].
pub async fn insert<C: ConnectionTrait>(conn: &C, row: Model) -> Result<(), DbError> {
    // Every column as Set, so the insert names them all.
    let active = ActiveModel::from(row).reset_all();
    Entity::insert(active)
        .exec_without_returning(conn)
        .await
        .map_err(classify)?;
    Ok(())
}

/// One row by id.
pub async fn get<C: ConnectionTrait>(conn: &C, id: Uuid) -> Result<Option<Model>, DbError> {
    Entity::find_by_id(id).one(conn).await.map_err(classify)
}

/// One row by the account that registered itself.
pub async fn by_subject<C: ConnectionTrait>(
    conn: &C,
    subject: &str,
) -> Result<Option<Model>, DbError> {
    Entity::find()
        .filter(Column::Subject.eq(subject))
        .one(conn)
        .await
        .map_err(classify)
}

/// Rows by id, in one query.
pub async fn get_many<C: ConnectionTrait>(conn: &C, ids: &[Uuid]) -> Result<Vec<Model>, DbError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Entity::find()
        .filter(Column::Id.is_in(ids.iter().copied()))
        .all(conn)
        .await
        .map_err(classify)
}

/// What a list asks for.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Only volunteers whose home unit is this path or below it.
    pub under: Option<String>,
    /// Only volunteers with this skill code.
    pub skill: Option<String>,
    /// Only this status.
    pub status: Option<String>,
}

/// Up to `limit` rows matching `filter`, ordered by id, after id `after`.
pub async fn list<C: ConnectionTrait>(
    conn: &C,
    filter: &Filter,
    after: Option<Uuid>,
    limit: u64,
) -> Result<Vec<Model>, DbError> {
    let mut cond = Condition::all();
    if let Some(path) = &filter.under {
        // Whole segments only: `/rc/chang` does not cover `/rc/changyuan`.
        cond = cond.add(
            Condition::any()
                .add(Column::HomeUnitPath.eq(path.as_str()))
                .add(Column::HomeUnitPath.starts_with(format!("{path}/"))),
        );
    }
    if let Some(skill) = &filter.skill {
        cond = cond.add(Column::Skills.contains(format!(",{skill},")));
    }
    if let Some(status) = &filter.status {
        cond = cond.add(Column::Status.eq(status.as_str()));
    }
    if let Some(after) = after {
        cond = cond.add(Column::Id.gt(after));
    }
    Entity::find()
        .filter(cond)
        .order_by_asc(Column::Id)
        .limit(limit)
        .all(conn)
        .await
        .map_err(classify)
}

/// Up to `limit` volunteers under `under` (the path or below) who asked for deletion and
/// are not erased yet, oldest request first, after the (requested at, id) `after`.
pub async fn deletion_requests<C: ConnectionTrait>(
    conn: &C,
    under: &str,
    after: Option<(DateTime<Utc>, Uuid)>,
    limit: u64,
) -> Result<Vec<Model>, DbError> {
    let mut cond = Condition::all()
        .add(Column::DeletionRequestedAt.is_not_null())
        .add(Column::ErasedAt.is_null())
        .add(
            Condition::any()
                .add(Column::HomeUnitPath.eq(under))
                .add(Column::HomeUnitPath.starts_with(format!("{under}/"))),
        );
    if let Some((at, id)) = after {
        cond = cond.add(
            Condition::any()
                .add(Column::DeletionRequestedAt.gt(at))
                .add(
                    Condition::all()
                        .add(Column::DeletionRequestedAt.eq(at))
                        .add(Column::Id.gt(id)),
                ),
        );
    }
    Entity::find()
        .filter(cond)
        .order_by_asc(Column::DeletionRequestedAt)
        .order_by_asc(Column::Id)
        .limit(limit)
        .all(conn)
        .await
        .map_err(classify)
}
