//! The `district_settings` and `resident_points` tables.

use chrono::Utc;
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect,
};
use tongxin_platform::db::{DbError, classify};
use tongxin_platform::geo::{Coordinates, WalkingModel};

use crate::domain::coverage::ResidentPoint;

/// Per-district walking settings, on the district's root unit.
pub mod district {
    use sea_orm::entity::prelude::*;

    /// One district's settings.
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "district_settings")]
    pub struct Model {
        /// District code.
        #[sea_orm(primary_key, auto_increment = false)]
        pub district: String,
        /// Walking speed.
        pub walking_speed_kmh: f64,
        /// Street distance ÷ straight-line distance.
        pub detour_factor: f64,
        /// Last change.
        pub updated_at: ChronoDateTimeUtc,
    }

    /// No relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// Resident points: households or population-grid cells with weights.
pub mod resident {
    use sea_orm::entity::prelude::*;

    /// One point.
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "resident_points")]
    pub struct Model {
        /// Row id.
        #[sea_orm(primary_key)]
        pub id: i64,
        /// District code.
        pub district: String,
        /// The org unit the point belongs to (its courtyard, usually).
        pub unit_path: String,
        /// Latitude.
        pub lat: f64,
        /// Longitude.
        pub lon: f64,
        /// Residents it stands for.
        pub weight: i32,
    }

    /// No relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// The walking model of `district` (defaults when never set).
pub async fn walking_model<C: ConnectionTrait>(
    conn: &C,
    district: &str,
) -> Result<WalkingModel, DbError> {
    let row = district::Entity::find_by_id(district.to_owned())
        .one(conn)
        .await
        .map_err(classify)?;
    Ok(row
        .and_then(|r| WalkingModel::new(r.walking_speed_kmh, r.detour_factor).ok())
        .unwrap_or_default())
}

/// Stores `district`'s walking model.
pub async fn set_walking_model<C: ConnectionTrait>(
    conn: &C,
    district: &str,
    model: WalkingModel,
) -> Result<(), DbError> {
    district::Entity::insert(district::ActiveModel {
        district: Set(district.to_owned()),
        walking_speed_kmh: Set(model.speed_kmh()),
        detour_factor: Set(model.detour_factor()),
        updated_at: Set(Utc::now()),
    })
    .on_conflict(
        OnConflict::column(district::Column::District)
            .update_columns([
                district::Column::WalkingSpeedKmh,
                district::Column::DetourFactor,
                district::Column::UpdatedAt,
            ])
            .to_owned(),
    )
    .exec_without_returning(conn)
    .await
    .map_err(classify)?;
    Ok(())
}

/// A resident point ready to store.
#[derive(Debug, Clone)]
pub struct NewResident {
    /// District code.
    pub district: String,
    /// Owning unit path.
    pub unit_path: String,
    /// Where.
    pub at: Coordinates,
    /// How many residents.
    pub weight: u32,
}

/// Replaces `district`'s layer with `points` on `conn` (the caller's transaction), in batches.
pub async fn replace_residents<C: ConnectionTrait>(
    conn: &C,
    district: &str,
    points: &[NewResident],
) -> Result<(), DbError> {
    resident::Entity::delete_many()
        .filter(resident::Column::District.eq(district))
        .exec(conn)
        .await
        .map_err(classify)?;
    // 5 bound values per row; 2,000 rows stay under SQLite's and PostgreSQL's limits.
    for chunk in points.chunks(2_000) {
        let rows = chunk.iter().map(|p| resident::ActiveModel {
            district: Set(p.district.clone()),
            unit_path: Set(p.unit_path.clone()),
            lat: Set(p.at.lat()),
            lon: Set(p.at.lon()),
            weight: Set(i32::try_from(p.weight).unwrap_or(i32::MAX)),
            ..Default::default()
        });
        resident::Entity::insert_many(rows)
            .exec_without_returning(conn)
            .await
            .map_err(classify)?;
    }
    Ok(())
}

/// The residents under the unit at `path` (the whole subtree).
pub async fn residents_under<C: ConnectionTrait>(
    conn: &C,
    path: &str,
) -> Result<Vec<ResidentPoint>, DbError> {
    let rows: Vec<(f64, f64, i32)> = resident::Entity::find()
        .select_only()
        .column(resident::Column::Lat)
        .column(resident::Column::Lon)
        .column(resident::Column::Weight)
        .filter(
            sea_orm::Condition::any()
                .add(resident::Column::UnitPath.eq(path))
                .add(resident::Column::UnitPath.like(format!("{path}/%"))),
        )
        .into_tuple()
        .all(conn)
        .await
        .map_err(classify)?;
    Ok(rows
        .into_iter()
        .filter_map(|(lat, lon, weight)| {
            Some(ResidentPoint {
                at: Coordinates::parse(lat, lon).ok()?,
                weight: u32::try_from(weight).unwrap_or(0),
            })
        })
        .collect())
}
