//! `teams` and `team_members`. A team's level is a typed column ([`StoredLevel`]): a stored name
//! that is not a level fails the read instead of becoming a default.

use chrono::{DateTime, Utc};
use sea_orm::entity::prelude::*;
use sea_orm::{ActiveValue::Set, Condition, ConnectionTrait, QueryOrder, QuerySelect};
use tongxin_platform::db::{DbError, classify};

use crate::domain::team::TeamLevel;

/// The stored names of [`TeamLevel`]. The domain enum stays free of sea-orm; the two
/// conversions below are checked by the compiler for every variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum StoredLevel {
    /// See [`TeamLevel::Brigade`].
    #[sea_orm(string_value = "brigade")]
    Brigade,
    /// See [`TeamLevel::Detachment`].
    #[sea_orm(string_value = "detachment")]
    Detachment,
    /// See [`TeamLevel::Squad`].
    #[sea_orm(string_value = "squad")]
    Squad,
    /// See [`TeamLevel::CourtyardUnit`].
    #[sea_orm(string_value = "courtyard_unit")]
    CourtyardUnit,
}

impl From<TeamLevel> for StoredLevel {
    fn from(l: TeamLevel) -> Self {
        match l {
            TeamLevel::Brigade => Self::Brigade,
            TeamLevel::Detachment => Self::Detachment,
            TeamLevel::Squad => Self::Squad,
            TeamLevel::CourtyardUnit => Self::CourtyardUnit,
        }
    }
}

impl From<StoredLevel> for TeamLevel {
    fn from(l: StoredLevel) -> Self {
        match l {
            StoredLevel::Brigade => Self::Brigade,
            StoredLevel::Detachment => Self::Detachment,
            StoredLevel::Squad => Self::Squad,
            StoredLevel::CourtyardUnit => Self::CourtyardUnit,
        }
    }
}

/// One team as stored.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "teams")]
pub struct Model {
    /// Team id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Name, unique within its unit.
    pub name: String,
    /// `brigade`, `detachment`, `squad`, `courtyard_unit`.
    pub level: StoredLevel,
    /// The org unit it is attached to.
    pub unit_id: Uuid,
    /// That unit's path (rewritten when the unit moves in the org tree).
    pub unit_path: String,
    /// The team above, if any.
    pub parent_id: Option<Uuid>,
    /// When created.
    pub created_at: DateTime<Utc>,
    /// Who created it.
    pub created_by: String,
}

/// No relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// `team_members`: who is in which team, and whether they lead it.
pub mod members {
    use chrono::{DateTime, Utc};
    use sea_orm::entity::prelude::*;

    /// One membership.
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "team_members")]
    pub struct Model {
        /// The team.
        #[sea_orm(primary_key, auto_increment = false)]
        pub team_id: Uuid,
        /// The volunteer.
        #[sea_orm(primary_key, auto_increment = false)]
        pub volunteer_id: Uuid,
        /// Whether they lead the team.
        pub is_leader: bool,
        /// When they joined.
        pub joined_at: DateTime<Utc>,
        /// Who added them.
        pub added_by: String,
    }

    /// No relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// Inserts a team; a second team of the same name in the unit is a conflict.
pub async fn insert<C: ConnectionTrait>(conn: &C, row: Model) -> Result<(), DbError> {
    Entity::insert(ActiveModel::from(row).reset_all())
        .exec_without_returning(conn)
        .await
        .map_err(classify)?;
    Ok(())
}

/// One team.
pub async fn get<C: ConnectionTrait>(conn: &C, id: Uuid) -> Result<Option<Model>, DbError> {
    Entity::find_by_id(id).one(conn).await.map_err(classify)
}

/// Teams by id in one query.
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

/// Up to `limit` teams of the unit at `under` and below, optionally of one level, by id.
pub async fn list<C: ConnectionTrait>(
    conn: &C,
    under: &str,
    level: Option<StoredLevel>,
    after: Option<Uuid>,
    limit: u64,
) -> Result<Vec<Model>, DbError> {
    let mut cond = Condition::all().add(
        Condition::any()
            .add(Column::UnitPath.eq(under))
            .add(Column::UnitPath.starts_with(format!("{under}/"))),
    );
    if let Some(level) = level {
        cond = cond.add(Column::Level.eq(level));
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

/// Adds a member; already being a member is a conflict.
pub async fn add_member<C: ConnectionTrait>(
    conn: &C,
    team_id: Uuid,
    volunteer_id: Uuid,
    is_leader: bool,
    added_by: &str,
) -> Result<(), DbError> {
    members::Entity::insert(members::ActiveModel {
        team_id: Set(team_id),
        volunteer_id: Set(volunteer_id),
        is_leader: Set(is_leader),
        joined_at: Set(Utc::now()),
        added_by: Set(added_by.to_owned()),
    })
    .exec_without_returning(conn)
    .await
    .map_err(classify)?;
    Ok(())
}

/// Removes a member; returns whether there was one.
pub async fn remove_member<C: ConnectionTrait>(
    conn: &C,
    team_id: Uuid,
    volunteer_id: Uuid,
) -> Result<bool, DbError> {
    let done = members::Entity::delete_many()
        .filter(members::Column::TeamId.eq(team_id))
        .filter(members::Column::VolunteerId.eq(volunteer_id))
        .exec(conn)
        .await
        .map_err(classify)?;
    Ok(done.rows_affected > 0)
}

/// Sets or clears the leader role of a member; returns whether the member exists.
pub async fn set_leader<C: ConnectionTrait>(
    conn: &C,
    team_id: Uuid,
    volunteer_id: Uuid,
    leader: bool,
) -> Result<bool, DbError> {
    let done = members::Entity::update_many()
        .col_expr(members::Column::IsLeader, Expr::value(leader))
        .filter(members::Column::TeamId.eq(team_id))
        .filter(members::Column::VolunteerId.eq(volunteer_id))
        .exec(conn)
        .await
        .map_err(classify)?;
    Ok(done.rows_affected > 0)
}

/// Memberships of a team by volunteer id, after `after`; at most `limit`.
pub async fn members_of<C: ConnectionTrait>(
    conn: &C,
    team_id: Uuid,
    after: Option<Uuid>,
    limit: u64,
) -> Result<Vec<members::Model>, DbError> {
    let mut query = members::Entity::find().filter(members::Column::TeamId.eq(team_id));
    if let Some(after) = after {
        query = query.filter(members::Column::VolunteerId.gt(after));
    }
    query
        .order_by_asc(members::Column::VolunteerId)
        .limit(limit)
        .all(conn)
        .await
        .map_err(classify)
}

/// Memberships of many volunteers in one query.
pub async fn memberships_of<C: ConnectionTrait>(
    conn: &C,
    volunteer_ids: &[Uuid],
) -> Result<Vec<members::Model>, DbError> {
    if volunteer_ids.is_empty() {
        return Ok(Vec::new());
    }
    members::Entity::find()
        .filter(members::Column::VolunteerId.is_in(volunteer_ids.iter().copied()))
        .all(conn)
        .await
        .map_err(classify)
}

/// The volunteers in any team attached to `unit_id`, each once.
pub async fn members_at_unit<C: ConnectionTrait>(
    conn: &C,
    unit_id: Uuid,
) -> Result<Vec<Uuid>, DbError> {
    let team_ids: Vec<Uuid> = Entity::find()
        .filter(Column::UnitId.eq(unit_id))
        .all(conn)
        .await
        .map_err(classify)?
        .into_iter()
        .map(|t| t.id)
        .collect();
    if team_ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut ids: Vec<Uuid> = members::Entity::find()
        .filter(members::Column::TeamId.is_in(team_ids))
        .all(conn)
        .await
        .map_err(classify)?
        .into_iter()
        .map(|m| m.volunteer_id)
        .collect();
    ids.sort_unstable();
    ids.dedup();
    Ok(ids)
}
