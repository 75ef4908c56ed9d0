//! Teams in GraphQL: `Team` (an entity keyed by `id`), `team`, `teams`, `createTeam`,
//! `addTeamMember`, `removeTeamMember`, `setTeamLeader`, and `Volunteer.teams`.

use std::collections::HashMap;

use async_graphql::connection::{Connection, EmptyFields, OpaqueCursor};
use async_graphql::dataloader::{DataLoader, Loader};
use async_graphql::{Context, Enum, ID, InputObject, Object};
use tongxin_platform::ApiError;
use tongxin_platform::graphql::ContextExt;
use uuid::Uuid;

use super::ledger::HoursTotals;
use super::paging;
use super::volunteer::{VolunteerNode, load, volunteer_id};
use crate::domain::VolunteerId;
use crate::domain::team::TeamLevel;
use crate::service::Volunteers;
use crate::service::teams::NewTeam;
use crate::store::ledger as ledger_store;
use crate::store::teams::{self, Model, members};

/// The level of a volunteer team.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(name = "TeamLevel", remote = "TeamLevel")]
pub enum TeamLevelGql {
    /// 总队: the district-wide brigade.
    Brigade,
    /// 分队: a detachment, usually per institute (town or street).
    Detachment,
    /// 小队: a squad, usually per station (village or community).
    Squad,
    /// 小院支队: the unit of one courtyard.
    CourtyardUnit,
}

/// A volunteer team attached to an org unit. Other subgraphs reference it by `id` (e.g. an
/// order dispatched to a team).
pub struct TeamNode(pub Model);

/// One member of a team.
pub struct TeamMemberNode(pub members::Model);

/// A team a volunteer belongs to, and their role in it.
pub struct MembershipNode(pub members::Model);

/// A volunteer team (brigade, detachment, squad or courtyard unit) attached to an org unit.
#[Object(name = "Team")]
impl TeamNode {
    /// Team id (UUID).
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    /// Name, unique within its unit.
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// Level: brigade, detachment, squad or courtyard unit.
    async fn level(&self) -> TeamLevelGql {
        TeamLevel::from(self.0.level).into()
    }

    /// Id of the org unit the team is attached to (owned by the venues service).
    async fn unit_id(&self) -> ID {
        ID(self.0.unit_id.to_string())
    }

    /// Path of that unit, e.g. `/rc/changyuan/hongqiao`.
    async fn unit_path(&self) -> &str {
        &self.0.unit_path
    }

    /// The team above this one, if any.
    async fn parent(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<TeamNode>> {
        let Some(parent) = self.0.parent_id else {
            return Ok(None);
        };
        let loader = ctx.data::<DataLoader<TeamLoader>>()?;
        Ok(loader.load_one(parent).await?.map(TeamNode))
    }

    /// When the team was created (RFC 3339).
    async fn created_at(&self) -> String {
        self.0.created_at.to_rfc3339()
    }

    /// Members by volunteer id, leaders marked: for staff whose scope covers the team's unit
    /// (those who manage it), null for anyone else, so who belongs to a team is not public.
    /// Each member's personal data is still masked by the caller's scope over that member.
    async fn members(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Page size, 1 to 500 (default 50).")] first: Option<i32>,
        #[graphql(desc = "Cursor of the last edge of the previous page.")] after: Option<String>,
    ) -> async_graphql::Result<
        Option<Connection<OpaqueCursor<Uuid>, TeamMemberNode, EmptyFields, EmptyFields>>,
    > {
        let (volunteers, caller) = super::volunteer::caller(ctx).await?;
        if !caller.covers(&self.0.unit_path) {
            return Ok(None);
        }
        let first = paging::first(first)?;
        let after = paging::after::<Uuid>(after)?;
        let mut rows = teams::members_of(volunteers.db(), self.0.id, after, first + 1)
            .await
            .map_err(ApiError::from)?;
        let more = rows.len() as u64 > first;
        rows.truncate(first as usize);
        let mut connection = Connection::new(after.is_some(), more);
        connection.edges.extend(rows.into_iter().map(|m| {
            async_graphql::connection::Edge::new(OpaqueCursor(m.volunteer_id), TeamMemberNode(m))
        }));
        Ok(Some(connection))
    }

    /// Approved and pending hours of the current members (all their hours, batched).
    async fn hours(&self, ctx: &Context<'_>) -> async_graphql::Result<HoursTotals> {
        let loader = ctx.data::<DataLoader<TeamHoursLoader>>()?;
        Ok(loader.load_one(self.0.id).await?.unwrap_or_default())
    }
}

/// One member of a team, and whether they lead it.
#[Object(name = "TeamMember")]
impl TeamMemberNode {
    /// The volunteer (personal data masked by the caller's scope).
    async fn volunteer(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<VolunteerNode>> {
        load(ctx, VolunteerId(self.0.volunteer_id)).await
    }

    /// Whether they lead the team.
    async fn is_leader(&self) -> bool {
        self.0.is_leader
    }

    /// When they joined (RFC 3339).
    async fn joined_at(&self) -> String {
        self.0.joined_at.to_rfc3339()
    }
}

/// A team a volunteer belongs to, and their role in it.
#[Object(name = "TeamMembership")]
impl MembershipNode {
    /// The team.
    async fn team(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<TeamNode>> {
        let loader = ctx.data::<DataLoader<TeamLoader>>()?;
        Ok(loader.load_one(self.0.team_id).await?.map(TeamNode))
    }

    /// Whether the volunteer leads it.
    async fn is_leader(&self) -> bool {
        self.0.is_leader
    }

    /// When they joined (RFC 3339).
    async fn joined_at(&self) -> String {
        self.0.joined_at.to_rfc3339()
    }
}

/// `Volunteer.teams`: the teams of one volunteer (batched across a list of volunteers).
pub async fn volunteer_teams(
    ctx: &Context<'_>,
    volunteer: Uuid,
) -> async_graphql::Result<Connection<OpaqueCursor<Uuid>, MembershipNode, EmptyFields, EmptyFields>>
{
    let loader = ctx.data::<DataLoader<MembershipLoader>>()?;
    let mut rows = loader.load_one(volunteer).await?.unwrap_or_default();
    rows.sort_by_key(|m| m.team_id);
    let mut connection = Connection::new(false, false);
    connection.edges.extend(
        rows.into_iter().map(|m| {
            async_graphql::connection::Edge::new(OpaqueCursor(m.team_id), MembershipNode(m))
        }),
    );
    Ok(connection)
}

/// Teams by id, one query per batch.
pub struct TeamLoader(pub Volunteers);

impl Loader<Uuid> for TeamLoader {
    type Value = Model;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Model>, Self::Error> {
        let rows = teams::get_many(self.0.db(), keys)
            .await
            .map_err(ApiError::from)?;
        Ok(rows.into_iter().map(|r| (r.id, r)).collect())
    }
}

/// Memberships by volunteer id, one query per batch.
pub struct MembershipLoader(pub Volunteers);

impl Loader<Uuid> for MembershipLoader {
    type Value = Vec<members::Model>;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        let rows = teams::memberships_of(self.0.db(), keys)
            .await
            .map_err(ApiError::from)?;
        let mut by_volunteer: HashMap<Uuid, Self::Value> = HashMap::new();
        for row in rows {
            by_volunteer.entry(row.volunteer_id).or_default().push(row);
        }
        Ok(by_volunteer)
    }
}

/// Team totals by team id, one aggregate query per batch.
pub struct TeamHoursLoader(pub Volunteers);

impl Loader<Uuid> for TeamHoursLoader {
    type Value = HoursTotals;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, HoursTotals>, Self::Error> {
        let rows = ledger_store::team_totals(self.0.db(), keys)
            .await
            .map_err(ApiError::from)?;
        Ok(rows
            .into_iter()
            .map(|(team, approved, pending)| {
                (
                    team,
                    HoursTotals {
                        approved: approved as f64 / 4.0,
                        pending: pending as f64 / 4.0,
                    },
                )
            })
            .collect())
    }
}

fn team_id(id: &ID, field: &'static str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(id.as_str()).map_err(|_| ApiError::bad_input(format!("{field}: not a team id")))
}

fn unit_id(id: &ID, field: &'static str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(id.as_str()).map_err(|_| ApiError::bad_input(format!("{field}: not a unit id")))
}

/// Team queries.
#[derive(Default)]
pub struct TeamQuery;

#[Object]
impl TeamQuery {
    /// One team; anyone may ask.
    async fn team(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The team id.")] id: ID,
    ) -> async_graphql::Result<Option<TeamNode>> {
        let loader = ctx.data::<DataLoader<TeamLoader>>()?;
        Ok(loader.load_one(team_id(&id, "id")?).await?.map(TeamNode))
    }

    /// Teams attached to a unit or below it, by id; anyone may ask.
    async fn teams(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The org unit whose subtree's teams to list.")] unit_id: ID,
        #[graphql(desc = "Only teams of this level.")] level: Option<TeamLevelGql>,
        #[graphql(desc = "Page size, 1 to 500 (default 50).")] first: Option<i32>,
        #[graphql(desc = "Cursor of the last edge of the previous page.")] after: Option<String>,
    ) -> async_graphql::Result<Connection<OpaqueCursor<Uuid>, TeamNode, EmptyFields, EmptyFields>>
    {
        let volunteers = ctx.data::<Volunteers>()?;
        let unit = self::unit_id(&unit_id, "unit_id")?;
        let first = paging::first(first)?;
        let after = paging::after::<Uuid>(after)?;
        let (rows, more) = volunteers
            .teams(unit, level.map(Into::into), after, first)
            .await?;
        let mut connection = Connection::new(after.is_some(), more);
        connection.edges.extend(
            rows.into_iter()
                .map(|t| async_graphql::connection::Edge::new(OpaqueCursor(t.id), TeamNode(t))),
        );
        Ok(connection)
    }

    /// Federation: resolves `Team` references from other subgraphs (batched).
    #[graphql(entity)]
    async fn find_team_by_id(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<Option<TeamNode>> {
        let loader = ctx.data::<DataLoader<TeamLoader>>()?;
        Ok(loader.load_one(team_id(&id, "id")?).await?.map(TeamNode))
    }
}

/// A new team.
#[derive(InputObject)]
pub struct CreateTeamInput {
    /// Name, 1 to 50 characters, unique within the unit.
    pub name: String,
    /// Level.
    pub level: TeamLevelGql,
    /// The org unit it is attached to (must be known and in your scope).
    pub unit_id: ID,
    /// The team above (of a higher level, on this unit or above).
    pub parent_id: Option<ID>,
}

/// Team mutations.
#[derive(Default)]
pub struct TeamMutation;

#[Object]
impl TeamMutation {
    /// Creates a team; staff whose scope covers the unit. Same name twice in one unit is a
    /// CONFLICT.
    async fn create_team(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The team: name, level, unit and parent team.")] input: CreateTeamInput,
    ) -> async_graphql::Result<TeamNode> {
        let actor = ctx.principal()?.clone();
        let volunteers = ctx.data::<Volunteers>()?;
        let row = volunteers
            .create_team(
                &actor,
                NewTeam {
                    name: input.name,
                    level: input.level.into(),
                    unit_id: unit_id(&input.unit_id, "unit_id")?,
                    parent_id: input
                        .parent_id
                        .as_ref()
                        .map(|p| team_id(p, "parent_id"))
                        .transpose()?,
                },
            )
            .await?;
        Ok(TeamNode(row))
    }

    /// Adds a volunteer to a team; staff in scope of the team's unit. CONFLICT if already a
    /// member.
    async fn add_team_member(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The team.")] team_id: ID,
        #[graphql(desc = "The volunteer to add.")] volunteer_id: ID,
        #[graphql(desc = "Whether the new member leads the team (default false).")] leader: Option<
            bool,
        >,
    ) -> async_graphql::Result<TeamNode> {
        let actor = ctx.principal()?.clone();
        let volunteers = ctx.data::<Volunteers>()?;
        let row = volunteers
            .add_team_member(
                &actor,
                self::team_id(&team_id, "team_id")?,
                volunteer_id_arg(&volunteer_id)?,
                leader.unwrap_or(false),
            )
            .await?;
        Ok(TeamNode(row))
    }

    /// Removes a volunteer from a team; staff in scope. NOT_FOUND if not a member.
    async fn remove_team_member(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The team.")] team_id: ID,
        #[graphql(desc = "The member to remove.")] volunteer_id: ID,
    ) -> async_graphql::Result<TeamNode> {
        let actor = ctx.principal()?.clone();
        let volunteers = ctx.data::<Volunteers>()?;
        let row = volunteers
            .remove_team_member(
                &actor,
                self::team_id(&team_id, "team_id")?,
                volunteer_id_arg(&volunteer_id)?,
            )
            .await?;
        Ok(TeamNode(row))
    }

    /// Makes a member a leader of the team (or, with `leader: false`, not); staff in scope.
    async fn set_team_leader(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The team.")] team_id: ID,
        #[graphql(desc = "The member whose role changes.")] volunteer_id: ID,
        #[graphql(desc = "Leader or not (default true).")] leader: Option<bool>,
    ) -> async_graphql::Result<TeamNode> {
        let actor = ctx.principal()?.clone();
        let volunteers = ctx.data::<Volunteers>()?;
        let row = volunteers
            .set_team_leader(
                &actor,
                self::team_id(&team_id, "team_id")?,
                volunteer_id_arg(&volunteer_id)?,
                leader.unwrap_or(true),
            )
            .await?;
        Ok(TeamNode(row))
    }
}

fn volunteer_id_arg(id: &ID) -> Result<Uuid, ApiError> {
    volunteer_id(id, "volunteer_id").map(|v| v.0)
}
