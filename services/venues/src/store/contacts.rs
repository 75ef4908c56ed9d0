//! The `unit_contacts` table: who to call at a unit. The phone is sealed at rest
//! (AES-256-GCM, `phone_cipher`); the old clear `phone` column is kept empty.

use chrono::Utc;
use sea_orm::entity::prelude::*;
use sea_orm::{ActiveValue::Set, QueryOrder, TransactionTrait};
use tongxin_platform::db::{DbError, classify};
use tongxin_platform::pii::PiiCipher;

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
    /// Empty: the clear column of rows from before phones were sealed, emptied by
    /// [`seal_clear_phones`].
    pub phone: String,
    /// The sealed mobile number (see [`tongxin_platform::pii::PiiCipher`]); null only on a
    /// row not sealed yet.
    pub phone_cipher: Option<Vec<u8>>,
    /// When added.
    pub created_at: ChronoDateTimeUtc,
}

/// No declared relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// Adds a contact whose phone `cipher` has sealed.
pub async fn insert<C: ConnectionTrait>(
    conn: &C,
    unit: OrgUnitId,
    name: &str,
    title: &str,
    phone_cipher: Vec<u8>,
) -> Result<Model, DbError> {
    let row = Model {
        id: Uuid::now_v7(),
        unit_id: unit.0,
        name: name.to_owned(),
        title: title.to_owned(),
        phone: String::new(),
        phone_cipher: Some(phone_cipher),
        created_at: Utc::now(),
    };
    Entity::insert(ActiveModel {
        id: Set(row.id),
        unit_id: Set(row.unit_id),
        name: Set(row.name.clone()),
        title: Set(row.title.clone()),
        phone: Set(row.phone.clone()),
        phone_cipher: Set(row.phone_cipher.clone()),
        created_at: Set(row.created_at),
    })
    .exec_without_returning(conn)
    .await
    .map_err(classify)?;
    Ok(row)
}

/// Seals every phone still stored in clear (rows from before phones were sealed) and empties
/// the clear column, in one transaction; how many rows it sealed. The service runs it at
/// start-up, after the migrations, because only it holds the key.
pub async fn seal_clear_phones(
    conn: &DatabaseConnection,
    cipher: &PiiCipher,
) -> anyhow::Result<u64> {
    let txn = conn.begin().await.map_err(classify)?;
    let clear = Entity::find()
        .filter(Column::PhoneCipher.is_null())
        .all(&txn)
        .await
        .map_err(classify)?;
    let mut sealed = 0;
    for row in clear {
        let cipher_text = cipher
            .encrypt(&row.phone)
            .map_err(|e| anyhow::anyhow!("sealing contact {}: {e}", row.id))?;
        Entity::update(ActiveModel {
            id: Set(row.id),
            phone: Set(String::new()),
            phone_cipher: Set(Some(cipher_text)),
            ..Default::default()
        })
        .exec(&txn)
        .await
        .map_err(classify)?;
        sealed += 1;
    }
    txn.commit().await.map_err(classify)?;
    Ok(sealed)
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
