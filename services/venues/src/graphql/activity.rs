//! Activities in GraphQL: `Activity` (an entity keyed by `id`), `activity`, `activities`,
//! `upcomingActivitiesNear`, `themeCounts`, `createActivity`, `recordActivityHeld`,
//! `cancelActivity`.

use std::collections::{BTreeMap, HashMap};

use async_graphql::connection::{Connection, CursorType, Edge, EmptyFields, OpaqueCursor};
use async_graphql::dataloader::{DataLoader, Loader};
use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use tongxin_platform::ApiError;
use tongxin_platform::graphql::ContextExt;
use uuid::Uuid;

use super::org::OrgUnitNode;
use super::venue::{VenueNode, load_unit_node, load_venue, page_size, unit_id};
use crate::domain::activity::{ActivityId, ActivityStatus, ServedHours, Theme, ThemeTally};
use crate::error::VenuesError;
use crate::service::{ActivitiesWanted, NewActivity, ThemeCounts, Venues};
use crate::store::activities::Activity;

/// The seven themes (七讲) plus holiday and custom themes.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(name = "Theme", remote = "Theme")]
pub enum ThemeGql {
    /// 理论: theory.
    Theory,
    /// 政策: policy.
    Policy,
    /// 法律: law.
    Law,
    /// 科技: science.
    Science,
    /// 健康: health.
    Health,
    /// 典型: role models.
    RoleModels,
    /// 变化: changes.
    Changes,
    /// A holiday (e.g. 重阳节); the activity carries a label.
    Holiday,
    /// Any other theme; the activity carries a label.
    Custom,
}

/// Where an activity is in its lifecycle: planned → held, or planned → cancelled.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(name = "ActivityStatus", remote = "ActivityStatus")]
pub enum ActivityStatusGql {
    /// Scheduled.
    Planned,
    /// Took place; attendance and volunteers' hours recorded. Final.
    Held,
    /// Called off, with a reason. Final.
    Cancelled,
}

/// Loads activities by id in one query per batch.
pub struct ActivityLoader(pub Venues);

impl Loader<Uuid> for ActivityLoader {
    type Value = Activity;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Activity>, Self::Error> {
        let ids: Vec<ActivityId> = keys.iter().copied().map(ActivityId).collect();
        let rows = self.0.activities_by_ids(&ids).await?;
        Ok(rows.into_iter().map(|a| (a.id.0, a)).collect())
    }
}

/// Loads the hours served at activities, one query per batch.
pub struct ServedLoader(pub Venues);

impl Loader<Uuid> for ServedLoader {
    type Value = Vec<ServedHours>;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Vec<ServedHours>>, Self::Error> {
        let ids: Vec<ActivityId> = keys.iter().copied().map(ActivityId).collect();
        let served = self.0.served_at(&ids).await?;
        Ok(served.into_iter().map(|(k, v)| (k.0, v)).collect())
    }
}

fn activity_id(id: &ID, field: &str) -> Result<ActivityId, VenuesError> {
    Ok(ActivityId::parse(id.as_str(), field)?)
}

async fn load_activity(
    ctx: &Context<'_>,
    id: ActivityId,
) -> async_graphql::Result<Option<ActivityNode>> {
    let loader = ctx.data::<DataLoader<ActivityLoader>>()?;
    Ok(loader.load_one(id.0).await?.map(ActivityNode))
}

/// Hours one volunteer served at an activity.
#[derive(SimpleObject)]
#[graphql(name = "ServedHours")]
pub struct ServedHoursGql {
    /// The volunteer's id in the volunteers service.
    pub volunteer_id: ID,
    /// Hours served, in quarter hours (0.25 to 24).
    pub hours: f64,
}

impl From<ServedHours> for ServedHoursGql {
    fn from(s: ServedHours) -> Self {
        Self {
            volunteer_id: ID(s.volunteer_id.to_string()),
            hours: s.hours(),
        }
    }
}

/// An activity held at a venue under one of the themes.
pub struct ActivityNode(pub Activity);

/// An activity (活动) at a venue under one of the seven themes (or a holiday/custom theme),
/// organised by a unit. Other subgraphs reference it by `id`.
#[Object(name = "Activity")]
impl ActivityNode {
    /// Unique id (UUID).
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    /// Title, 1 to 200 characters.
    async fn title(&self) -> &str {
        &self.0.title
    }

    /// Theme.
    async fn theme(&self) -> ThemeGql {
        self.0.theme.into()
    }

    /// Label of a holiday or custom theme (e.g. 重阳节); null for the seven themes.
    async fn theme_label(&self) -> Option<&str> {
        self.0.theme_label.as_deref()
    }

    /// Where it takes place.
    async fn venue(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<VenueNode>> {
        load_venue(ctx, self.0.venue_id).await
    }

    /// The organising unit: the venue's unit, an ancestor or a descendant of it.
    async fn org_unit(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<OrgUnitNode>> {
        load_unit_node(ctx, self.0.org_unit_id).await
    }

    /// Start (UTC).
    async fn starts_at(&self) -> DateTime<Utc> {
        self.0.starts_at
    }

    /// End (UTC), after the start and at most 7 days later.
    async fn ends_at(&self) -> DateTime<Utc> {
        self.0.ends_at
    }

    /// How many people it takes.
    async fn capacity(&self) -> u32 {
        self.0.capacity
    }

    /// Speakers' names.
    async fn speakers(&self) -> &[String] {
        &self.0.speakers
    }

    /// Volunteers planned to serve (ids in the volunteers service).
    async fn volunteer_ids(&self) -> Vec<ID> {
        self.0
            .volunteer_ids
            .iter()
            .map(|v| ID(v.to_string()))
            .collect()
    }

    /// Lifecycle state.
    async fn status(&self) -> ActivityStatusGql {
        self.0.status.into()
    }

    /// Why it was cancelled; null unless cancelled.
    async fn cancel_reason(&self) -> Option<&str> {
        self.0.cancel_reason.as_deref()
    }

    /// How many attended; null until held.
    async fn attendance(&self) -> Option<u32> {
        self.0.attendance
    }

    /// The volunteers who served and their hours; empty until held.
    async fn served(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<ServedHoursGql>> {
        if self.0.status != ActivityStatus::Held {
            return Ok(Vec::new());
        }
        let loader = ctx.data::<DataLoader<ServedLoader>>()?;
        Ok(loader
            .load_one(self.0.id.0)
            .await?
            .unwrap_or_default()
            .into_iter()
            .map(Into::into)
            .collect())
    }
}

/// An upcoming activity and how far its venue is from the point asked about.
#[derive(SimpleObject)]
pub struct NearbyActivity {
    /// The activity.
    pub activity: ActivityNode,
    /// Great-circle distance from the point to the venue, in metres.
    pub distance_m: f64,
}

/// Activities of one theme.
#[derive(SimpleObject)]
pub struct ThemeCount {
    /// The theme.
    pub theme: ThemeGql,
    /// Planned or held activities (cancelled ones are not counted).
    pub activities: u64,
    /// Held activities.
    pub held: u64,
    /// Total attendance of the held ones.
    pub attendance: u64,
}

fn theme_list(tallies: Option<&BTreeMap<Theme, ThemeTally>>) -> Vec<ThemeCount> {
    Theme::ALL
        .into_iter()
        .map(|theme| {
            let t = tallies
                .and_then(|m| m.get(&theme))
                .copied()
                .unwrap_or_default();
            ThemeCount {
                theme: theme.into(),
                activities: t.activities,
                held: t.held,
                attendance: t.attendance,
            }
        })
        .collect()
}

/// Theme counts of one child unit's subtree.
pub struct UnitThemeCounts {
    unit: crate::domain::org::OrgUnitId,
    themes: Vec<ThemeCount>,
}

/// Theme counts of one child unit's subtree.
#[Object]
impl UnitThemeCounts {
    /// The child unit.
    async fn unit(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<OrgUnitNode>> {
        load_unit_node(ctx, self.unit).await
    }

    /// Planned or held activities in its subtree, all themes together.
    async fn activities(&self) -> u64 {
        self.themes.iter().map(|t| t.activities).sum()
    }

    /// One entry per theme (every theme, zeros included), in the order of the `Theme` enum.
    async fn themes(&self) -> &[ThemeCount] {
        &self.themes
    }
}

/// Activities per theme for a unit's subtree, and for each child's subtree, so a console can
/// roll up center → institutes → stations → courtyards one level at a time.
pub struct ThemeCountsNode(ThemeCounts);

/// Activities per theme for a unit's subtree, and for each child's subtree, so a console can
/// roll up center → institutes → stations → courtyards one level at a time.
#[Object(name = "ThemeCounts")]
impl ThemeCountsNode {
    /// The unit asked about.
    async fn unit(&self) -> OrgUnitNode {
        OrgUnitNode(self.0.unit.clone())
    }

    /// Planned or held activities in the whole subtree, all themes together.
    async fn activities(&self) -> u64 {
        self.0.counts.total.values().map(|t| t.activities).sum()
    }

    /// The whole subtree (the unit's own activities included), one entry per theme.
    async fn themes(&self) -> Vec<ThemeCount> {
        theme_list(Some(&self.0.counts.total))
    }

    /// Each child unit's subtree (every child, zeros included), ordered by path.
    async fn children(&self) -> Vec<UnitThemeCounts> {
        self.0
            .children
            .iter()
            .zip(&self.0.child_paths)
            .map(|(id, path)| UnitThemeCounts {
                unit: *id,
                themes: theme_list(self.0.counts.per_child.get(path)),
            })
            .collect()
    }
}

/// Activity queries.
#[derive(Default)]
pub struct ActivityQuery;

#[Object]
impl ActivityQuery {
    /// One activity by id; null when there is none.
    async fn activity(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The activity id.")] id: ID,
    ) -> async_graphql::Result<Option<ActivityNode>> {
        load_activity(ctx, activity_id(&id, "id")?).await
    }

    /// Activities ordered by start time, filtered by theme, organising unit's subtree,
    /// period and status.
    #[allow(clippy::too_many_arguments)]
    async fn activities(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only this theme.")] theme: Option<ThemeGql>,
        #[graphql(desc = "Only activities organised by this unit or the units below it.")]
        unit_id: Option<ID>,
        #[graphql(desc = "Only those starting at or after this time.")] from: Option<DateTime<Utc>>,
        #[graphql(desc = "Only those starting before this time.")] to: Option<DateTime<Utc>>,
        #[graphql(desc = "Only this status.")] status: Option<ActivityStatusGql>,
        #[graphql(desc = "Page size, 1 to 1000 (default 100).")] first: Option<i32>,
        #[graphql(desc = "Cursor of the last edge of the previous page.")] after: Option<String>,
    ) -> async_graphql::Result<
        Connection<OpaqueCursor<(DateTime<Utc>, Uuid)>, ActivityNode, EmptyFields, EmptyFields>,
    > {
        let venues = ctx.data::<Venues>()?;
        let unit = unit_id
            .as_ref()
            .map(|u| self::unit_id(u, "unitId"))
            .transpose()?;
        let after = match after {
            Some(cursor) => Some(
                OpaqueCursor::<(DateTime<Utc>, Uuid)>::decode_cursor(&cursor)
                    .map_err(|_| ApiError::bad_input("after: not a cursor from this field"))?
                    .0,
            ),
            None => None,
        };
        let (rows, more) = venues
            .activities_page(
                ActivitiesWanted {
                    theme: theme.map(Into::into),
                    unit,
                    from,
                    to,
                    status: status.map(Into::into),
                },
                after,
                page_size(first, crate::service::MAX_PAGE)?,
            )
            .await?;
        let mut connection = Connection::new(after.is_some(), more);
        connection.edges.extend(
            rows.into_iter()
                .map(|a| Edge::new(OpaqueCursor((a.starts_at, a.id.0)), ActivityNode(a))),
        );
        Ok(connection)
    }

    /// Planned activities starting from now at venues within `radiusKm` of a point, nearest
    /// venue first, then earliest start. A ranked top list, at most 100.
    async fn upcoming_activities_near(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Latitude of the point, -90 to 90.")] lat: f64,
        #[graphql(desc = "Longitude of the point, -180 to 180.")] lon: f64,
        #[graphql(desc = "Search radius in km, more than 0 and at most 50 (default 5).")]
        radius_km: Option<f64>,
        #[graphql(desc = "How many, 1 to 100 (default 20).")] first: Option<i32>,
    ) -> async_graphql::Result<Vec<NearbyActivity>> {
        let venues = ctx.data::<Venues>()?;
        let found = venues
            .upcoming_near(
                lat,
                lon,
                radius_km.unwrap_or(5.0),
                page_size(first, crate::service::MAX_NEAR)?,
                Utc::now(),
            )
            .await?;
        Ok(found
            .into_iter()
            .map(|(a, d)| NearbyActivity {
                activity: ActivityNode(a),
                distance_m: d,
            })
            .collect())
    }

    /// Activities per theme organised in a unit's subtree and starting in `[from, to)`, in
    /// total and per child unit.
    async fn theme_counts(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The unit whose subtree is counted.")] unit_id: ID,
        #[graphql(desc = "Only activities starting at or after this time.")] from: Option<
            DateTime<Utc>,
        >,
        #[graphql(desc = "Only activities starting before this time.")] to: Option<DateTime<Utc>>,
    ) -> async_graphql::Result<ThemeCountsNode> {
        let venues = ctx.data::<Venues>()?;
        let counts = venues
            .theme_counts(self::unit_id(&unit_id, "unitId")?, from, to)
            .await?;
        Ok(ThemeCountsNode(counts))
    }

    /// Federation: resolves `Activity` references from other subgraphs (batched).
    #[graphql(entity)]
    async fn find_activity_by_id(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<Option<ActivityNode>> {
        load_activity(ctx, activity_id(&id, "id")?).await
    }
}

/// A new activity.
#[derive(InputObject)]
pub struct CreateActivityInput {
    /// Theme.
    pub theme: ThemeGql,
    /// Label, required for HOLIDAY and CUSTOM themes (1 to 40 characters), absent otherwise.
    pub theme_label: Option<String>,
    /// Title, 1 to 200 characters.
    pub title: String,
    /// An active venue.
    pub venue_id: ID,
    /// The organising unit, in your scope: the venue's unit, an ancestor or a descendant.
    pub org_unit_id: ID,
    /// Start.
    pub starts_at: DateTime<Utc>,
    /// End: after the start, at most 7 days later.
    pub ends_at: DateTime<Utc>,
    /// How many people it takes, 1 to the venue's capacity.
    pub capacity: i32,
    /// Speakers' names, at most 20.
    #[graphql(default)]
    pub speakers: Vec<String>,
    /// Volunteers planned to serve (volunteer ids), at most 200.
    #[graphql(default)]
    pub volunteer_ids: Vec<ID>,
}

/// Hours one volunteer served.
#[derive(InputObject)]
pub struct ServedHoursInput {
    /// The volunteer's id.
    pub volunteer_id: ID,
    /// Hours, more than 0 and at most 24, in quarter hours (e.g. 1.5, 2.25).
    pub hours: f64,
}

/// What happened at a held activity.
#[derive(InputObject)]
pub struct RecordActivityHeldInput {
    /// How many attended, 0 to twice the capacity.
    pub attendance: i32,
    /// The volunteers who served, each once with their hours; at most 200.
    #[graphql(default)]
    pub served: Vec<ServedHoursInput>,
}

/// Activity changes. Need a staff token whose unit covers the organising unit.
#[derive(Default)]
pub struct ActivityMutation;

#[Object]
impl ActivityMutation {
    /// Schedules an activity at an active venue.
    async fn create_activity(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "The activity: theme, title, venue, organising unit, schedule and capacity."
        )]
        input: CreateActivityInput,
    ) -> async_graphql::Result<ActivityNode> {
        let actor = ctx.principal()?;
        let venues = ctx.data::<Venues>()?;
        let created = venues
            .create_activity(
                actor,
                NewActivity {
                    theme: input.theme.into(),
                    theme_label: input.theme_label,
                    title: input.title,
                    venue_id: input.venue_id.0,
                    org_unit_id: input.org_unit_id.0,
                    starts_at: input.starts_at,
                    ends_at: input.ends_at,
                    capacity: i64::from(input.capacity),
                    speakers: input.speakers,
                    volunteer_ids: input.volunteer_ids.into_iter().map(|v| v.0).collect(),
                },
            )
            .await?;
        Ok(ActivityNode(created))
    }

    /// Records a planned activity that has started as held, with attendance and the hours
    /// volunteers served; publishes `tongxin.venues.activity_held`.
    async fn record_activity_held(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The planned activity that was held.")] id: ID,
        #[graphql(desc = "Attendance and the hours each volunteer served.")]
        input: RecordActivityHeldInput,
    ) -> async_graphql::Result<ActivityNode> {
        let actor = ctx.principal()?;
        let venues = ctx.data::<Venues>()?;
        let served: Vec<(String, f64)> = input
            .served
            .into_iter()
            .map(|s| (s.volunteer_id.0, s.hours))
            .collect();
        let (held, _) = venues
            .record_held(
                actor,
                activity_id(&id, "id")?,
                i64::from(input.attendance),
                &served,
            )
            .await?;
        Ok(ActivityNode(held))
    }

    /// Cancels a planned activity.
    async fn cancel_activity(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The planned activity to cancel.")] id: ID,
        #[graphql(desc = "Why, 1 to 500 characters.")] reason: String,
    ) -> async_graphql::Result<ActivityNode> {
        let actor = ctx.principal()?;
        let venues = ctx.data::<Venues>()?;
        let cancelled = venues
            .cancel_activity(actor, activity_id(&id, "id")?, &reason)
            .await?;
        Ok(ActivityNode(cancelled))
    }
}
