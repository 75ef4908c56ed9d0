//! Activity operations: create, record held (with the `activity_held` event), cancel, and
//! the queries (by filter, near a point, theme counts rolled up the tree).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::TransactionTrait;
use tongxin_platform::auth::Principal;
use tongxin_platform::db::classify;
use tongxin_platform::events::outbox;
use tongxin_platform::geo::{Coordinates, METRES_PER_DEGREE, distance_m};
use uuid::Uuid;

use super::venue::{actor_scope, existing_unit_in};
use super::{DEFAULT_PAGE, MAX_PAGE, Venues};
use crate::domain::DomainError;
use crate::domain::activity::{
    self, ActivityId, ActivityStatus, RolledUp, ServedHours, Theme, TimeWindow,
};
use crate::domain::org::OrgUnitId;
use crate::domain::venue::{self as venue_rules, Capacity, VenueId, VenueStatus};
use crate::error::VenuesError;
use crate::events;
use crate::store::activities::{self, Activity, ActivityFilter};
use crate::store::org_units::OrgUnit;
use crate::store::venues;

/// Input for a new activity, before parsing.
#[derive(Debug, Clone)]
pub struct NewActivity {
    /// Theme.
    pub theme: Theme,
    /// Label for holiday and custom themes.
    pub theme_label: Option<String>,
    /// Title.
    pub title: String,
    /// Venue id (text).
    pub venue_id: String,
    /// Organising unit id (text).
    pub org_unit_id: String,
    /// Start.
    pub starts_at: DateTime<Utc>,
    /// End.
    pub ends_at: DateTime<Utc>,
    /// People it takes.
    pub capacity: i64,
    /// Speakers' names.
    pub speakers: Vec<String>,
    /// Volunteer ids (text).
    pub volunteer_ids: Vec<String>,
}

/// Which activities [`Venues::activities_page`] lists; `None` means any.
#[derive(Debug, Clone, Copy, Default)]
pub struct ActivitiesWanted {
    /// Only this theme.
    pub theme: Option<Theme>,
    /// Only those organised in this unit's subtree.
    pub unit: Option<OrgUnitId>,
    /// Only those starting at or after this.
    pub from: Option<DateTime<Utc>>,
    /// Only those starting before this.
    pub to: Option<DateTime<Utc>>,
    /// Only this status.
    pub status: Option<ActivityStatus>,
}

/// A page of activities and whether more follow.
pub type ActivityPage = (Vec<Activity>, bool);

/// Theme counts for a unit's subtree and its children's.
#[derive(Debug, Clone)]
pub struct ThemeCounts {
    /// The unit asked about.
    pub unit: OrgUnit,
    /// Its children, ordered by path.
    pub children: Vec<OrgUnitId>,
    /// The children's paths, in the same order.
    pub child_paths: Vec<String>,
    /// The counts.
    pub counts: RolledUp,
}

/// The most [`Venues::upcoming_near`] returns.
pub const MAX_NEAR: u64 = 100;
/// The widest radius [`Venues::upcoming_near`] accepts, in km.
pub const MAX_RADIUS_KM: f64 = 50.0;

fn not_found(id: ActivityId) -> VenuesError {
    VenuesError::NotFound(format!("activity {id} does not exist"))
}

impl Venues {
    /// Schedules an activity at an active venue, organised by a unit in the actor's scope on
    /// the venue's line of the tree (see [`activity::may_organise_at`]).
    #[tracing::instrument(skip(self, actor, input), fields(actor = %actor.subject, venue_id = %input.venue_id))]
    pub async fn create_activity(
        &self,
        actor: &Principal,
        input: NewActivity,
    ) -> Result<Activity, VenuesError> {
        // Parse everything before touching the database: bad input stores nothing.
        let title = activity::parse_title(&input.title)?;
        let theme_label = activity::parse_theme(input.theme, input.theme_label.as_deref())?;
        let venue_id = VenueId::parse(&input.venue_id, "venueId")?;
        let unit_id = OrgUnitId::parse(&input.org_unit_id, "orgUnitId")?;
        let window = TimeWindow::parse(input.starts_at, input.ends_at)?;
        let capacity = Capacity::parse(input.capacity, "capacity")?;
        let speakers = activity::parse_speakers(&input.speakers)?;
        let volunteer_ids = activity::parse_volunteers(&input.volunteer_ids)?;

        let txn = self.db.begin().await.map_err(classify)?;
        let unit = existing_unit_in(&txn, unit_id, "orgUnitId").await?;
        let scope = actor_scope(&txn, actor).await?;
        venue_rules::may_manage(actor, scope.as_deref(), &unit.path, "activity")?;
        // Locked, so a concurrent archive cannot slip between the check and the insert.
        let venue = venues::get_for_update(&txn, venue_id)
            .await?
            .ok_or_else(|| {
                DomainError::invalid("venueId", format!("venue {venue_id} does not exist"))
            })?;
        if venue.status == VenueStatus::Archived {
            return Err(VenuesError::Conflict(format!(
                "venue {venue_id} is archived; it takes no new activities"
            )));
        }
        let venue_unit = existing_unit_in(&txn, venue.org_unit_id, "venueId").await?;
        activity::may_organise_at(&unit.path, &venue_unit.path)?;
        if capacity.get() > venue.capacity {
            return Err(DomainError::invalid(
                "capacity",
                format!("must be at most the venue's capacity ({})", venue.capacity),
            )
            .into());
        }
        let created = Activity {
            id: ActivityId(Uuid::now_v7()),
            title,
            theme: input.theme,
            theme_label,
            venue_id,
            org_unit_id: unit.id,
            starts_at: window.starts_at(),
            ends_at: window.ends_at(),
            capacity: capacity.get(),
            speakers,
            volunteer_ids,
            status: ActivityStatus::Planned,
            cancel_reason: None,
            attendance: None,
        };
        activities::insert(&txn, &created, &actor.subject).await?;
        txn.commit().await.map_err(classify)?;
        tracing::info!(activity_id = %created.id, "activity created");
        Ok(created)
    }

    /// Records a planned activity as held, with attendance and the hours each volunteer
    /// served, and publishes `tongxin.venues.activity_held` in the same transaction. Of two
    /// concurrent calls exactly one wins; the other gets CONFLICT.
    #[tracing::instrument(skip(self, actor, served), fields(actor = %actor.subject, activity_id = %id))]
    pub async fn record_held(
        &self,
        actor: &Principal,
        id: ActivityId,
        attendance: i64,
        served: &[(String, f64)],
    ) -> Result<(Activity, Vec<ServedHours>), VenuesError> {
        let served = activity::parse_served(served)?;

        let txn = self.db.begin().await.map_err(classify)?;
        let current = activities::get(&txn, id)
            .await?
            .ok_or_else(|| not_found(id))?;
        let unit = existing_unit_in(&txn, current.org_unit_id, "id").await?;
        let scope = actor_scope(&txn, actor).await?;
        venue_rules::may_manage(actor, scope.as_deref(), &unit.path, "activity")?;
        activity::check_move(current.status, ActivityStatus::Held)
            .map_err(|refused| VenuesError::Conflict(refused.message()))?;
        activity::may_record_held(current.starts_at, Utc::now())?;
        let attendance = activity::parse_attendance(attendance, current.capacity)?;
        if !activities::mark_held(&txn, id, attendance, &actor.subject).await? {
            // Someone else moved it since we read it; report the state they left.
            let now = activities::get(&txn, id)
                .await?
                .ok_or_else(|| not_found(id))?;
            let refused = activity::check_move(now.status, ActivityStatus::Held)
                .err()
                .unwrap_or(activity::MoveRefused {
                    current: now.status,
                    wanted: ActivityStatus::Held,
                });
            return Err(VenuesError::Conflict(refused.message()));
        }
        activities::insert_served(&txn, id, &served).await?;
        let held = Activity {
            status: ActivityStatus::Held,
            attendance: Some(attendance),
            ..current
        };
        outbox::enqueue(
            &txn,
            events::ACTIVITY_HELD,
            events::SOURCE,
            events::activity_held(
                &held,
                &unit.path,
                attendance,
                &served,
                &events::Recorder {
                    subject: &actor.subject,
                    unit_path: scope.as_deref(),
                },
            ),
        )
        .await?;
        txn.commit().await.map_err(classify)?;
        self.waker.wake();
        tracing::info!(attendance, volunteers = served.len(), "activity held");
        Ok((held, served))
    }

    /// Cancels a planned activity with a reason.
    #[tracing::instrument(skip(self, actor, reason), fields(actor = %actor.subject, activity_id = %id))]
    pub async fn cancel_activity(
        &self,
        actor: &Principal,
        id: ActivityId,
        reason: &str,
    ) -> Result<Activity, VenuesError> {
        let reason = activity::parse_cancel_reason(reason)?;
        let txn = self.db.begin().await.map_err(classify)?;
        let current = activities::get(&txn, id)
            .await?
            .ok_or_else(|| not_found(id))?;
        let unit = existing_unit_in(&txn, current.org_unit_id, "id").await?;
        let scope = actor_scope(&txn, actor).await?;
        venue_rules::may_manage(actor, scope.as_deref(), &unit.path, "activity")?;
        activity::check_move(current.status, ActivityStatus::Cancelled)
            .map_err(|refused| VenuesError::Conflict(refused.message()))?;
        if !activities::mark_cancelled(&txn, id, &reason, &actor.subject).await? {
            let now = activities::get(&txn, id)
                .await?
                .ok_or_else(|| not_found(id))?;
            return Err(VenuesError::Conflict(
                activity::MoveRefused {
                    current: now.status,
                    wanted: ActivityStatus::Cancelled,
                }
                .message(),
            ));
        }
        txn.commit().await.map_err(classify)?;
        tracing::info!("activity cancelled");
        Ok(Activity {
            status: ActivityStatus::Cancelled,
            cancel_reason: Some(reason),
            ..current
        })
    }

    /// One activity.
    pub async fn activity(&self, id: ActivityId) -> Result<Option<Activity>, VenuesError> {
        Ok(activities::get(&self.db, id).await?)
    }

    /// Several activities in one query.
    pub async fn activities_by_ids(
        &self,
        ids: &[ActivityId],
    ) -> Result<Vec<Activity>, VenuesError> {
        Ok(activities::get_many(&self.db, ids).await?)
    }

    /// The hours served at each of `ids`, in one query.
    pub async fn served_at(
        &self,
        ids: &[ActivityId],
    ) -> Result<HashMap<ActivityId, Vec<ServedHours>>, VenuesError> {
        let mut out: HashMap<ActivityId, Vec<ServedHours>> = HashMap::new();
        for (id, served) in activities::served_for(&self.db, ids).await? {
            out.entry(id).or_default().push(served);
        }
        Ok(out)
    }

    /// A page of activities ordered by start, after the key `after`.
    pub async fn activities_page(
        &self,
        wanted: ActivitiesWanted,
        after: Option<(DateTime<Utc>, Uuid)>,
        first: Option<u64>,
    ) -> Result<ActivityPage, VenuesError> {
        let ActivitiesWanted {
            theme,
            unit,
            from,
            to,
            status,
        } = wanted;
        if let (Some(from), Some(to)) = (from, to)
            && to <= from
        {
            return Err(DomainError::invalid("to", "must be after from").into());
        }
        let unit_path = match unit {
            Some(id) => Some(self.existing_unit(id).await?.path),
            None => None,
        };
        let limit = first.unwrap_or(DEFAULT_PAGE).clamp(1, MAX_PAGE);
        let filter = ActivityFilter {
            theme,
            unit_path,
            from,
            to,
            status,
        };
        let mut rows = activities::page(&self.db, &filter, after, limit + 1).await?;
        let more = rows.len() as u64 > limit;
        rows.truncate(limit as usize);
        Ok((rows, more))
    }

    /// Planned activities starting after `now` at active venues within `radius_km` of the
    /// point, nearest venue first (then earliest start), at most `first` (1 to
    /// [`MAX_NEAR`]). Distances are great-circle metres.
    pub async fn upcoming_near(
        &self,
        lat: f64,
        lon: f64,
        radius_km: f64,
        first: Option<u64>,
        now: DateTime<Utc>,
    ) -> Result<Vec<(Activity, f64)>, VenuesError> {
        let at = Coordinates::parse(lat, lon).map_err(DomainError::from)?;
        if !(radius_km.is_finite() && radius_km > 0.0 && radius_km <= MAX_RADIUS_KM) {
            return Err(DomainError::invalid(
                "radiusKm",
                format!("must be more than 0 and at most {MAX_RADIUS_KM}"),
            )
            .into());
        }
        let limit = first.unwrap_or(20).clamp(1, MAX_NEAR) as usize;
        let radius_m = radius_km * 1000.0;
        // A box around the circle (a little wider than needed), then the exact distance.
        let dlat = radius_m / METRES_PER_DEGREE * 1.01;
        let dlon = dlat / at.lat().to_radians().cos().max(0.01);
        let candidates = venues::active_in_box(
            &self.db,
            (at.lat() - dlat, at.lat() + dlat),
            (at.lon() - dlon, at.lon() + dlon),
        )
        .await?;
        let distances: HashMap<Uuid, f64> = candidates
            .into_iter()
            .filter_map(|(id, vlat, vlon)| {
                let d = distance_m(at, Coordinates::parse(vlat, vlon).ok()?);
                (d <= radius_m).then_some((id, d))
            })
            .collect();
        let ids: Vec<Uuid> = distances.keys().copied().collect();
        let mut found: Vec<(Activity, f64)> = activities::planned_at_venues(&self.db, &ids, now)
            .await?
            .into_iter()
            .filter_map(|a| Some((distances.get(&a.venue_id.0).copied()?, a)))
            .map(|(d, a)| (a, d))
            .collect();
        found.sort_by(|(a, da), (b, db)| {
            da.total_cmp(db)
                .then(a.starts_at.cmp(&b.starts_at))
                .then(a.id.cmp(&b.id))
        });
        found.truncate(limit);
        Ok(found)
    }

    /// Counts per theme of activities organised in the subtree of `unit` and starting in
    /// `[from, to)`, in total and per child unit (cancelled ones not counted).
    pub async fn theme_counts(
        &self,
        unit: OrgUnitId,
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
    ) -> Result<ThemeCounts, VenuesError> {
        if let (Some(from), Some(to)) = (from, to)
            && to <= from
        {
            return Err(DomainError::invalid("to", "must be after from").into());
        }
        let unit = self.existing_unit(unit).await?;
        let units = activities::units_under(&self.db, &unit.path).await?;
        let paths: HashMap<OrgUnitId, String> =
            units.iter().map(|(id, p, _)| (*id, p.clone())).collect();
        let mut children: Vec<(String, OrgUnitId)> = units
            .iter()
            .filter(|(_, _, parent)| *parent == Some(unit.id))
            .map(|(id, p, _)| (p.clone(), *id))
            .collect();
        children.sort();
        let raw = activities::theme_counts(&self.db, &unit.path, from, to).await?;
        let rows = activities::count_rows(raw, |id| paths.get(&id).cloned())?;
        let child_paths: Vec<String> = children.iter().map(|(p, _)| p.clone()).collect();
        let counts = activity::roll_up(&unit.path, &child_paths, &rows);
        Ok(ThemeCounts {
            unit,
            children: children.into_iter().map(|(_, id)| id).collect(),
            child_paths,
            counts,
        })
    }
}
