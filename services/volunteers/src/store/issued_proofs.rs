//! `issued_proofs`: one row per issued service-record proof page, found by its public
//! code. Rows are never changed: they say what a page showed on the day it was issued,
//! whatever the ledger holds later.

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::entity::prelude::*;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveModelTrait, ConnectionTrait};
use tongxin_platform::db::{DbError, classify};

/// One issued proof.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "issued_proofs")]
pub struct Model {
    /// Row id (UUIDv7).
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The public code, 12 characters (see [`crate::domain::record_code`]); unique.
    #[sea_orm(unique)]
    pub code: String,
    /// Whose record.
    pub volunteer_id: Uuid,
    /// Their public volunteer number at issue.
    pub volunteer_no: String,
    /// First day of the period.
    pub period_from: NaiveDate,
    /// Last day of the period.
    pub period_to: NaiveDate,
    /// Local date of issue.
    pub issued_on: NaiveDate,
    /// The issuing unit's path.
    pub issuing_unit_path: String,
    /// Approved quarter hours in the period at issue.
    pub period_quarters: i64,
    /// Star level at issue.
    pub star_level: i16,
    /// HMAC-SHA256 of the page's canonical content (see [`crate::http::proof::canonical`]).
    pub content_digest: Vec<u8>,
    /// When issued.
    pub issued_at: DateTime<Utc>,
    /// Who asked for the page (principal subject).
    pub issued_by: String,
}

/// No relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// Stores `row` unless the same page (volunteer, period, day and content digest) was
/// issued already; either way returns the stored row. A repeated random code (about one
/// in 2^60) comes back as [`DbError::Conflict`].
pub async fn issue<C: ConnectionTrait>(conn: &C, row: Model) -> Result<Model, DbError> {
    let active = ActiveModel::from(row.clone()).reset_all();
    Entity::insert(active)
        .on_conflict(
            OnConflict::columns([
                Column::VolunteerId,
                Column::PeriodFrom,
                Column::PeriodTo,
                Column::IssuedOn,
                Column::ContentDigest,
            ])
            .do_nothing()
            .to_owned(),
        )
        .exec_without_returning(conn)
        .await
        .map_err(classify)?;
    Entity::find()
        .filter(Column::VolunteerId.eq(row.volunteer_id))
        .filter(Column::PeriodFrom.eq(row.period_from))
        .filter(Column::PeriodTo.eq(row.period_to))
        .filter(Column::IssuedOn.eq(row.issued_on))
        .filter(Column::ContentDigest.eq(row.content_digest.clone()))
        .one(conn)
        .await
        .map_err(classify)?
        .ok_or_else(|| DbError::Other("issued proof vanished after its insert".to_owned()))
}

/// The proof issued under `code`, if any.
pub async fn by_code<C: ConnectionTrait>(conn: &C, code: &str) -> Result<Option<Model>, DbError> {
    Entity::find()
        .filter(Column::Code.eq(code))
        .one(conn)
        .await
        .map_err(classify)
}
