//! The quarterly evaluation's tables (see the migration `m20261202_000700_evaluations`):
//! settings per district, published rankings, their entries and the awards. Weights,
//! award rules and each entry's explanation are JSON text, so a row reads the same on
//! PostgreSQL and SQLite; a row that does not parse is an error, never a default.

use chrono::{DateTime, Utc};
use sea_orm::entity::prelude::*;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ConnectionTrait, QueryOrder};
use tongxin_platform::db::{DbError, classify};

use crate::domain::DomainError;
use crate::domain::evaluation::{AwardRules, Evaluation, Weights};

/// `evaluation_settings`: one district's weights and award rules.
pub mod settings {
    use chrono::{DateTime, Utc};
    use sea_orm::entity::prelude::*;

    /// A district's settings.
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "evaluation_settings")]
    pub struct Model {
        /// District code (the first path segment).
        #[sea_orm(primary_key, auto_increment = false)]
        pub district: String,
        /// JSON [`crate::domain::evaluation::Weights`].
        pub weights: String,
        /// JSON [`crate::domain::evaluation::AwardRules`].
        pub awards: String,
        /// Who set them.
        pub set_by: String,
        /// When.
        pub set_at: DateTime<Utc>,
    }

    /// No relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// `evaluation_publications`: a published ranking, frozen.
pub mod publications {
    use chrono::{DateTime, Utc};
    use sea_orm::entity::prelude::*;

    /// One published version of a district's quarter.
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "evaluation_publications")]
    pub struct Model {
        /// Publication id (UUIDv7).
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        /// District code.
        pub district: String,
        /// `2026Q4`.
        pub quarter: String,
        /// 1, then 2, 3 … for corrections.
        pub version: i32,
        /// Why a correction was published (none for version 1).
        pub reason: Option<String>,
        /// JSON weights it was scored with.
        pub weights: String,
        /// Who published it.
        pub published_by: String,
        /// When.
        pub published_at: DateTime<Utc>,
    }

    /// No relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// `evaluation_entries`: one unit's line in a published ranking.
pub mod entries {
    use sea_orm::entity::prelude::*;

    /// A unit's frozen evaluation.
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "evaluation_entries")]
    pub struct Model {
        /// The publication.
        #[sea_orm(primary_key, auto_increment = false)]
        pub publication_id: Uuid,
        /// The unit.
        #[sea_orm(primary_key, auto_increment = false)]
        pub unit_id: Uuid,
        /// Its path then.
        pub unit_path: String,
        /// Its level.
        pub level: String,
        /// Its rank within the level.
        pub rank: i32,
        /// Its score.
        pub score: f64,
        /// JSON [`crate::domain::evaluation::Evaluation`] (with the lines).
        pub body: String,
    }

    /// No relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// `evaluation_awards`: points a published ranking gave a unit's teams.
pub mod awards {
    use sea_orm::entity::prelude::*;

    /// One award.
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "evaluation_awards")]
    pub struct Model {
        /// Award id (UUIDv7): the key the volunteers ledger credits by.
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        /// District code.
        pub district: String,
        /// `2026Q4`.
        pub quarter: String,
        /// The unit.
        pub unit_id: Uuid,
        /// The publication that gave it.
        pub publication_id: Uuid,
        /// The unit's level.
        pub level: String,
        /// Its rank then.
        pub rank: i32,
        /// Points per member of its teams.
        pub points: i32,
    }

    /// No relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

fn corrupt(table: &'static str, what: &str) -> DomainError {
    DomainError::config(table, format!("a stored {what} does not parse"))
}

/// A district's settings, parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// Weights.
    pub weights: Weights,
    /// Award rules.
    pub awards: AwardRules,
    /// Who set them (none: the defaults).
    pub set_by: Option<String>,
    /// When.
    pub set_at: Option<DateTime<Utc>>,
}

impl Settings {
    /// What a district that set nothing uses.
    pub fn defaults() -> Self {
        Self {
            weights: Weights::default(),
            awards: AwardRules::standard(),
            set_by: None,
            set_at: None,
        }
    }
}

/// `district`'s settings, or the defaults.
pub async fn settings_of<C: ConnectionTrait>(
    conn: &C,
    district: &str,
) -> Result<Result<Settings, DomainError>, DbError> {
    let Some(row) = settings::Entity::find_by_id(district.to_owned())
        .one(conn)
        .await
        .map_err(classify)?
    else {
        return Ok(Ok(Settings::defaults()));
    };
    Ok((|| {
        Ok(Settings {
            weights: serde_json::from_str(&row.weights)
                .map_err(|_| corrupt("evaluation_settings", "weights"))?,
            awards: serde_json::from_str(&row.awards)
                .map_err(|_| corrupt("evaluation_settings", "award rules"))?,
            set_by: Some(row.set_by),
            set_at: Some(row.set_at),
        })
    })())
}

/// Stores `district`'s settings, replacing what was there.
pub async fn save_settings<C: ConnectionTrait>(
    conn: &C,
    district: &str,
    weights: &Weights,
    awards: &AwardRules,
    by: &str,
    at: DateTime<Utc>,
) -> Result<(), DbError> {
    let row = settings::Model {
        district: district.to_owned(),
        weights: serde_json::to_string(weights).map_err(|e| DbError::Other(e.to_string()))?,
        awards: serde_json::to_string(awards).map_err(|e| DbError::Other(e.to_string()))?,
        set_by: by.to_owned(),
        set_at: at,
    };
    settings::Entity::insert(settings::ActiveModel::from(row).reset_all())
        .on_conflict(
            OnConflict::column(settings::Column::District)
                .update_columns([
                    settings::Column::Weights,
                    settings::Column::Awards,
                    settings::Column::SetBy,
                    settings::Column::SetAt,
                ])
                .to_owned(),
        )
        .exec_without_returning(conn)
        .await
        .map_err(classify)?;
    Ok(())
}

/// The newest published version of `district`'s `quarter`, if any; `version` picks one.
pub async fn publication<C: ConnectionTrait>(
    conn: &C,
    district: &str,
    quarter: &str,
    version: Option<i32>,
) -> Result<Option<publications::Model>, DbError> {
    let mut q = publications::Entity::find()
        .filter(publications::Column::District.eq(district))
        .filter(publications::Column::Quarter.eq(quarter));
    if let Some(v) = version {
        q = q.filter(publications::Column::Version.eq(v));
    }
    q.order_by_desc(publications::Column::Version)
        .one(conn)
        .await
        .map_err(classify)
}

/// Writes a publication and its entries. A version someone else wrote first is a conflict.
pub async fn insert_publication<C: ConnectionTrait>(
    conn: &C,
    publication: publications::Model,
    ranked: &[Evaluation],
) -> Result<(), DbError> {
    let id = publication.id;
    publications::Entity::insert(publications::ActiveModel::from(publication).reset_all())
        .exec_without_returning(conn)
        .await
        .map_err(classify)?;
    // In chunks: a district has a few hundred units, and SQLite binds at most 32k values.
    for chunk in ranked.chunks(500) {
        let rows = chunk
            .iter()
            .map(|e| {
                Ok(entries::ActiveModel::from(entries::Model {
                    publication_id: id,
                    unit_id: e.unit_id,
                    unit_path: e.unit_path.clone(),
                    level: e.level.clone(),
                    rank: i32::try_from(e.rank).unwrap_or(i32::MAX),
                    score: e.score,
                    body: serde_json::to_string(e).map_err(|e| DbError::Other(e.to_string()))?,
                })
                .reset_all())
            })
            .collect::<Result<Vec<_>, DbError>>()?;
        entries::Entity::insert_many(rows)
            .exec_without_returning(conn)
            .await
            .map_err(classify)?;
    }
    Ok(())
}

/// The entries of a publication: of one level under `under` (a path) best first, or one unit.
pub async fn entries_of<C: ConnectionTrait>(
    conn: &C,
    publication: Uuid,
    level: Option<&str>,
    under: &str,
    unit: Option<Uuid>,
) -> Result<Result<Vec<Evaluation>, DomainError>, DbError> {
    let mut q = entries::Entity::find().filter(entries::Column::PublicationId.eq(publication));
    if let Some(level) = level {
        q = q.filter(entries::Column::Level.eq(level));
    }
    if let Some(unit) = unit {
        q = q.filter(entries::Column::UnitId.eq(unit));
    }
    let rows = q
        .filter(
            sea_orm::Condition::any()
                .add(entries::Column::UnitPath.eq(under))
                .add(entries::Column::UnitPath.starts_with(format!("{under}/"))),
        )
        .order_by_asc(entries::Column::Level)
        .order_by_asc(entries::Column::Rank)
        .all(conn)
        .await
        .map_err(classify)?;
    Ok(rows
        .iter()
        .map(|r| {
            serde_json::from_str::<Evaluation>(&r.body)
                .map_err(|_| corrupt("evaluation_entries", "evaluation"))
        })
        .collect())
}

/// Records an award unless the unit already has one for the quarter; true when recorded.
pub async fn award_once<C: ConnectionTrait>(conn: &C, row: awards::Model) -> Result<bool, DbError> {
    let inserted = awards::Entity::insert(awards::ActiveModel::from(row).reset_all())
        .on_conflict(
            OnConflict::columns([
                awards::Column::District,
                awards::Column::Quarter,
                awards::Column::UnitId,
            ])
            .do_nothing()
            .to_owned(),
        )
        .exec_without_returning(conn)
        .await
        .map_err(classify)?;
    Ok(inserted == 1)
}

/// The awards of a district's quarter.
pub async fn awards_of<C: ConnectionTrait>(
    conn: &C,
    district: &str,
    quarter: &str,
) -> Result<Vec<awards::Model>, DbError> {
    awards::Entity::find()
        .filter(awards::Column::District.eq(district))
        .filter(awards::Column::Quarter.eq(quarter))
        .order_by_asc(awards::Column::Level)
        .order_by_asc(awards::Column::Rank)
        .all(conn)
        .await
        .map_err(classify)
}
