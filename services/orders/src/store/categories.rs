//! `categories`: the service menu. Skills, form fields and SLA are JSON text, so one row is
//! one category on both PostgreSQL and SQLite.

use chrono::{DateTime, Utc};
use sea_orm::entity::prelude::*;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ConnectionTrait, QueryOrder};
use tongxin_platform::db::{DbError, classify};

use crate::domain::menu::{Category, Handling, Sla};
use crate::domain::{DomainError, Level};

/// One category as stored.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "categories")]
pub struct Model {
    /// Code.
    #[sea_orm(primary_key, auto_increment = false)]
    pub code: String,
    /// Name.
    pub name: String,
    /// Theme or group.
    pub group_name: String,
    /// Default handling level (typed: a stored name that is not a level fails the read).
    pub default_level: Level,
    /// JSON array of skill codes.
    pub skills: String,
    /// JSON array of form fields.
    pub fields: String,
    /// JSON SLA minutes per level.
    pub sla: String,
    /// Orderable now.
    pub active: bool,
    /// Last change.
    pub updated_at: DateTime<Utc>,
    /// Who made it.
    pub updated_by: String,
    /// The district whose menu it is (its center staff manage it); empty on rows from
    /// before menus had owners: the deployment's default district.
    pub district: String,
    /// Who handles its orders: `volunteers` or `legal_aid`.
    pub handled_by: String,
    /// The legal service a `legal_aid` category asks for.
    pub legal_service: Option<String>,
}

/// No relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

impl Model {
    /// The domain category.
    pub fn category(&self) -> Result<Category, DomainError> {
        let bad = |what: &str| DomainError::config("categories", format!("{}: {what}", self.code));
        Ok(Category {
            code: self.code.clone(),
            name: self.name.clone(),
            group: self.group_name.clone(),
            default_level: self.default_level,
            skills: serde_json::from_str(&self.skills).map_err(|_| bad("skills"))?,
            fields: serde_json::from_str(&self.fields).map_err(|_| bad("fields"))?,
            sla: serde_json::from_str::<Sla>(&self.sla).map_err(|_| bad("sla"))?,
            active: self.active,
            handling: Handling::parse(&self.handled_by, self.legal_service.as_deref())
                .map_err(|_| bad("handled_by"))?,
        })
    }

    /// The row of a category on `district`'s menu.
    pub fn from_category(c: &Category, actor: &str, district: &str) -> Self {
        Self {
            code: c.code.clone(),
            name: c.name.clone(),
            group_name: c.group.clone(),
            default_level: c.default_level,
            skills: serde_json::to_string(&c.skills).unwrap_or_else(|_| "[]".into()),
            fields: serde_json::to_string(&c.fields).unwrap_or_else(|_| "[]".into()),
            sla: serde_json::to_string(&c.sla).unwrap_or_else(|_| "{}".into()),
            active: c.active,
            updated_at: Utc::now(),
            updated_by: actor.to_owned(),
            district: district.to_owned(),
            handled_by: c.handling.code().to_owned(),
            legal_service: c.handling.legal_service().map(str::to_owned),
        }
    }
}

/// Inserts; an existing code is [`DbError::Conflict`].
pub async fn insert<C: ConnectionTrait>(conn: &C, row: Model) -> Result<(), DbError> {
    Entity::insert(ActiveModel::from(row).reset_all())
        .exec_without_returning(conn)
        .await
        .map_err(classify)?;
    Ok(())
}

/// Inserts unless the code exists (seeding).
pub async fn insert_if_absent<C: ConnectionTrait>(conn: &C, row: Model) -> Result<(), DbError> {
    Entity::insert(ActiveModel::from(row).reset_all())
        .on_conflict(OnConflict::column(Column::Code).do_nothing().to_owned())
        .exec_without_returning(conn)
        .await
        .map_err(classify)?;
    Ok(())
}

/// Replaces an existing row; `false` if there was none.
pub async fn update<C: ConnectionTrait>(conn: &C, row: Model) -> Result<bool, DbError> {
    let result = Entity::update_many()
        .set(ActiveModel::from(row.clone()).reset_all())
        .filter(Column::Code.eq(row.code))
        .exec(conn)
        .await
        .map_err(classify)?;
    Ok(result.rows_affected == 1)
}

/// One by code.
pub async fn get<C: ConnectionTrait>(conn: &C, code: &str) -> Result<Option<Model>, DbError> {
    Entity::find_by_id(code.to_owned())
        .one(conn)
        .await
        .map_err(classify)
}

/// All, by code.
pub async fn all<C: ConnectionTrait>(conn: &C) -> Result<Vec<Model>, DbError> {
    Entity::find()
        .order_by_asc(Column::Code)
        .all(conn)
        .await
        .map_err(classify)
}
