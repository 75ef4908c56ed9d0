//! The columns of `volunteers` that matching needs, without the ciphertexts: a full load
//! of 152,000 volunteers at start-up reads a fraction of the table.

use chrono::{DateTime, Utc};
use sea_orm::entity::prelude::*;
use sea_orm::{ConnectionTrait, FromQueryResult, QuerySelect};
use tongxin_platform::db::{DbError, classify};

use super::volunteers::{Column, Entity};

/// A volunteer's matching facts as stored.
#[derive(Debug, Clone, FromQueryResult)]
pub struct MatchRow {
    /// Id.
    pub id: Uuid,
    /// Home latitude.
    pub lat: f64,
    /// Home longitude.
    pub lon: f64,
    /// `,code,code,`.
    pub skills: String,
    /// Canonical availability text.
    pub availability: String,
    /// `active`, `paused`, `left`.
    pub status: String,
    /// Erased records are never matched.
    pub erased_at: Option<DateTime<Utc>>,
    /// Last change.
    pub updated_at: Option<DateTime<Utc>>,
}

/// Rows changed at or after `since`; every row without it.
pub async fn changed_since<C: ConnectionTrait>(
    conn: &C,
    since: Option<DateTime<Utc>>,
) -> Result<Vec<MatchRow>, DbError> {
    let mut q = Entity::find().select_only().columns([
        Column::Id,
        Column::Lat,
        Column::Lon,
        Column::Skills,
        Column::Availability,
        Column::Status,
        Column::ErasedAt,
        Column::UpdatedAt,
    ]);
    if let Some(since) = since {
        q = q.filter(Column::UpdatedAt.gte(since));
    }
    q.into_model::<MatchRow>().all(conn).await.map_err(classify)
}
