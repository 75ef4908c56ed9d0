//! Teams (总队 / 分队 / 小队 / 小院支队) and their members.
//!
//! A team hangs on an org unit that this service knows (from the venues unit events); staff
//! whose scope covers that unit create and manage it. A volunteer may be in several teams;
//! leading a team is a role of a membership. Anyone may read a team (its name, level and
//! unit are public); members and totals follow the volunteers' own visibility rules.

use chrono::Utc;
use sea_orm::TransactionTrait;
use tongxin_platform::auth::Principal;
use tongxin_platform::db::{DbError, classify};
use tongxin_platform::events::outbox;
use uuid::Uuid;

use super::{Caller, Volunteers};
use crate::domain::DomainError;
use crate::domain::scope::UnitPath;
use crate::domain::team::{TeamLevel, TeamName};
use crate::error::VolunteersError;
use crate::events::ledger as team_events;
use crate::store::teams::{self, Model};
use crate::store::{known_units, volunteers};

/// A new team before parsing.
#[derive(Debug, Clone)]
pub struct NewTeam {
    /// Name, unique within the unit.
    pub name: String,
    /// Level.
    pub level: TeamLevel,
    /// The org unit it hangs on.
    pub unit_id: Uuid,
    /// The team above, if any.
    pub parent_id: Option<Uuid>,
}

/// A membership change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Change {
    Added,
    Removed,
    Leader,
}

impl Volunteers {
    async fn team_row(&self, id: Uuid) -> Result<Model, VolunteersError> {
        teams::get(self.db(), id)
            .await?
            .ok_or_else(|| VolunteersError::NotFound(format!("team {id} does not exist")))
    }

    fn require_manager(caller: &Caller, team_unit: &str) -> Result<(), VolunteersError> {
        if caller.covers(team_unit) {
            Ok(())
        } else {
            Err(VolunteersError::Forbidden(
                "the team's unit is outside your scope".to_owned(),
            ))
        }
    }

    /// Creates a team on a known unit; staff in scope of the unit. A parent team must be of
    /// a higher level and hang on the same unit or one above it. Publishes `team_created`.
    #[tracing::instrument(skip_all, fields(actor = %actor.subject))]
    pub async fn create_team(
        &self,
        actor: &Principal,
        input: NewTeam,
    ) -> Result<Model, VolunteersError> {
        let name = TeamName::parse(&input.name)?;
        let unit_path = known_units::path_of(self.db(), input.unit_id)
            .await?
            .ok_or_else(|| {
                VolunteersError::from(DomainError::invalid("unit_id", "is not a known org unit"))
            })?;
        let caller = self.caller(Some(actor)).await?;
        Self::require_manager(&caller, &unit_path)?;
        if let Some(parent_id) = input.parent_id {
            let parent = teams::get(self.db(), parent_id).await?.ok_or_else(|| {
                VolunteersError::from(DomainError::invalid("parent_id", "is not a team"))
            })?;
            let parent_level = TeamLevel::from(parent.level);
            if !input.level.may_hang_under(parent_level) {
                return Err(DomainError::invalid(
                    "parent_id",
                    format!(
                        "a {} cannot hang under a {}",
                        input.level.as_str(),
                        parent_level.as_str()
                    ),
                )
                .into());
            }
            let (parent_path, own) = (
                UnitPath::parse(&parent.unit_path)?,
                UnitPath::parse(&unit_path)?,
            );
            if !parent_path.covers(&own) {
                return Err(DomainError::invalid(
                    "parent_id",
                    "the parent team's unit must be this unit or above it",
                )
                .into());
            }
        }
        let row = Model {
            id: Uuid::now_v7(),
            name: name.as_str().to_owned(),
            level: input.level.into(),
            unit_id: input.unit_id,
            unit_path,
            parent_id: input.parent_id,
            created_at: Utc::now(),
            created_by: actor.subject.clone(),
        };
        let txn = self.db().begin().await.map_err(classify)?;
        teams::insert(&txn, row.clone())
            .await
            .map_err(|e| match e {
                DbError::Conflict(_) => {
                    VolunteersError::Conflict("the unit already has a team of this name".to_owned())
                }
                other => other.into(),
            })?;
        outbox::enqueue(
            &txn,
            team_events::TEAM_CREATED,
            crate::events::SOURCE,
            team_events::team_created(&row, &actor.subject),
        )
        .await?;
        txn.commit().await.map_err(classify)?;
        self.waker().wake();
        tracing::info!(team_id = %row.id, "team created");
        Ok(row)
    }

    /// Adds a volunteer to a team (optionally as a leader). CONFLICT when already a member.
    pub async fn add_team_member(
        &self,
        actor: &Principal,
        team_id: Uuid,
        volunteer_id: Uuid,
        leader: bool,
    ) -> Result<Model, VolunteersError> {
        let team = self.team_row(team_id).await?;
        let caller = self.caller(Some(actor)).await?;
        Self::require_manager(&caller, &team.unit_path)?;
        if volunteers::get(self.db(), volunteer_id).await?.is_none() {
            return Err(VolunteersError::NotFound(format!(
                "volunteer {volunteer_id} does not exist"
            )));
        }
        let txn = self.db().begin().await.map_err(classify)?;
        teams::add_member(&txn, team_id, volunteer_id, leader, &actor.subject)
            .await
            .map_err(|e| match e {
                DbError::Conflict(_) => VolunteersError::Conflict(
                    "the volunteer is already a member of this team".to_owned(),
                ),
                other => other.into(),
            })?;
        self.membership_event(&txn, Change::Added, team_id, volunteer_id, leader, actor)
            .await?;
        txn.commit().await.map_err(classify)?;
        self.waker().wake();
        Ok(team)
    }

    /// Removes a volunteer from a team. NOT_FOUND when they were not a member.
    pub async fn remove_team_member(
        &self,
        actor: &Principal,
        team_id: Uuid,
        volunteer_id: Uuid,
    ) -> Result<Model, VolunteersError> {
        let team = self.team_row(team_id).await?;
        let caller = self.caller(Some(actor)).await?;
        Self::require_manager(&caller, &team.unit_path)?;
        let txn = self.db().begin().await.map_err(classify)?;
        if !teams::remove_member(&txn, team_id, volunteer_id).await? {
            txn.rollback().await.map_err(classify)?;
            return Err(VolunteersError::NotFound(
                "the volunteer is not a member of this team".to_owned(),
            ));
        }
        self.membership_event(&txn, Change::Removed, team_id, volunteer_id, false, actor)
            .await?;
        txn.commit().await.map_err(classify)?;
        self.waker().wake();
        Ok(team)
    }

    /// Makes a member a leader of the team (or not). NOT_FOUND when not a member.
    pub async fn set_team_leader(
        &self,
        actor: &Principal,
        team_id: Uuid,
        volunteer_id: Uuid,
        leader: bool,
    ) -> Result<Model, VolunteersError> {
        let team = self.team_row(team_id).await?;
        let caller = self.caller(Some(actor)).await?;
        Self::require_manager(&caller, &team.unit_path)?;
        let txn = self.db().begin().await.map_err(classify)?;
        if !teams::set_leader(&txn, team_id, volunteer_id, leader).await? {
            txn.rollback().await.map_err(classify)?;
            return Err(VolunteersError::NotFound(
                "the volunteer is not a member of this team".to_owned(),
            ));
        }
        self.membership_event(&txn, Change::Leader, team_id, volunteer_id, leader, actor)
            .await?;
        txn.commit().await.map_err(classify)?;
        self.waker().wake();
        Ok(team)
    }

    async fn membership_event(
        &self,
        txn: &sea_orm::DatabaseTransaction,
        change: Change,
        team_id: Uuid,
        volunteer_id: Uuid,
        leader: bool,
        actor: &Principal,
    ) -> Result<(), VolunteersError> {
        let subject = match change {
            Change::Added => team_events::TEAM_MEMBER_ADDED,
            Change::Removed => team_events::TEAM_MEMBER_REMOVED,
            Change::Leader => team_events::TEAM_LEADER_CHANGED,
        };
        outbox::enqueue(
            txn,
            subject,
            crate::events::SOURCE,
            team_events::membership_changed(team_id, volunteer_id, leader, &actor.subject),
        )
        .await?;
        Ok(())
    }

    /// One team (public).
    pub async fn team(&self, id: Uuid) -> Result<Option<Model>, VolunteersError> {
        Ok(teams::get(self.db(), id).await?)
    }

    /// Teams of a unit and its subtree (public), optionally of one level, by id.
    pub async fn teams(
        &self,
        unit_id: Uuid,
        level: Option<TeamLevel>,
        after: Option<Uuid>,
        first: u64,
    ) -> Result<(Vec<Model>, bool), VolunteersError> {
        let path = known_units::path_of(self.db(), unit_id)
            .await?
            .ok_or_else(|| VolunteersError::NotFound(format!("unit {unit_id} is not known")))?;
        let mut rows =
            teams::list(self.db(), &path, level.map(Into::into), after, first + 1).await?;
        let more = rows.len() as u64 > first;
        rows.truncate(first as usize);
        Ok((rows, more))
    }
}
