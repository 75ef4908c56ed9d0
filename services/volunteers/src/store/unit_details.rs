//! Names and locations of the known org units (the `known_units` table seen with all its
//! columns): the import resolves a unit by name and places a volunteer without coordinates
//! at their unit. Filled from the venues unit events and by `tongxin run`.

use sea_orm::entity::prelude::*;
use sea_orm::sea_query::Expr;
use sea_orm::{ConnectionTrait, QueryOrder};
use tongxin_platform::db::{DbError, classify};

/// One known unit with its details.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "known_units")]
pub struct Model {
    /// The unit id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Its path.
    pub path: String,
    /// Its name, e.g. 蔡家坝小院.
    pub name: Option<String>,
    /// Its latitude.
    pub lat: Option<f64>,
    /// Its longitude.
    pub lon: Option<f64>,
}

/// No relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// Records the name and location of a unit already remembered by id.
pub async fn describe<C: ConnectionTrait>(
    conn: &C,
    id: Uuid,
    name: &str,
    location: Option<(f64, f64)>,
) -> Result<(), DbError> {
    Entity::update_many()
        .col_expr(Column::Name, Expr::value(Some(name.to_owned())))
        .col_expr(Column::Lat, Expr::value(location.map(|l| l.0)))
        .col_expr(Column::Lon, Expr::value(location.map(|l| l.1)))
        .filter(Column::Id.eq(id))
        .exec(conn)
        .await
        .map_err(classify)?;
    Ok(())
}

/// Every known unit, by path.
pub async fn all<C: ConnectionTrait>(conn: &C) -> Result<Vec<Model>, DbError> {
    Entity::find()
        .order_by_asc(Column::Path)
        .all(conn)
        .await
        .map_err(classify)
}

/// The unit at `path`, if known.
pub async fn by_path<C: ConnectionTrait>(conn: &C, path: &str) -> Result<Option<Model>, DbError> {
    Entity::find()
        .filter(Column::Path.eq(path))
        .one(conn)
        .await
        .map_err(classify)
}
