//! The `unit_contacts` table: who to call at a unit.

use chrono::Utc;
use sea_orm::entity::prelude::*;
use sea_orm::{ActiveValue::Set, QueryOrder};
use tongxin_platform::db::{DbError, classify};

use crate::domain::org::OrgUnitId;

/// A staff contact of a unit.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "unit_contacts")]
pub struct Model {
    /// Id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The unit.
    pub unit_id: Uuid,
    /// Person's name.
    pub name: String,
    /// Their duty, e.g. 站长 or 联络员.
    pub title: String,
    /// Mobile number, 11 digits; masked in responses outside the unit's scope.
    pub phone: String,
    /// When added.
    pub created_at: ChronoDateTimeUtc,
}

/// No declared relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// Adds a contact.
pub async fn insert<C: ConnectionTrait>(
    conn: &C,
    unit: OrgUnitId,
    name: &str,
    title: &str,
    phone: &str,
) -> Result<Model, DbError> {
    let row = Model {
        id: Uuid::now_v7(),
        unit_id: unit.0,
        name: name.to_owned(),
        title: title.to_owned(),
        phone: phone.to_owned(),
        created_at: Utc::now(),
    };
    Entity::insert(ActiveModel {
        id: Set(row.id),
        unit_id: Set(row.unit_id),
        name: Set(row.name.clone()),
        title: Set(row.title.clone()),
        phone: Set(row.phone.clone()),
        created_at: Set(row.created_at),
    })
    .exec_without_returning(conn)
    .await
    .map_err(classify)?;
    Ok(row)
}

/// A unit's contacts in the order they were added.
pub async fn of_unit<C: ConnectionTrait>(conn: &C, unit: OrgUnitId) -> Result<Vec<Model>, DbError> {
    Entity::find()
        .filter(Column::UnitId.eq(unit.0))
        .order_by_asc(Column::CreatedAt)
        .all(conn)
        .await
        .map_err(classify)
}

/// One contact.
pub async fn get<C: ConnectionTrait>(conn: &C, id: Uuid) -> Result<Option<Model>, DbError> {
    Entity::find_by_id(id).one(conn).await.map_err(classify)
}

/// Removes a contact; returns whether it existed.
pub async fn delete<C: ConnectionTrait>(conn: &C, id: Uuid) -> Result<bool, DbError> {
    Ok(Entity::delete_by_id(id)
        .exec(conn)
        .await
        .map_err(classify)?
        .rows_affected
        > 0)
}
