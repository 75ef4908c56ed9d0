//! The candidate index of this process: loaded from the database at start, updated at once
//! by this process's own registry writes, and refreshed from the database for everything
//! else (other replicas' writes, the order-events consumer's load and rating changes).
//!
//! # Why a periodic refresh by `updated_at`
//! Several replicas each hold a full index, and the durable order consumer is shared
//! between them (JetStream hands each event to one replica only), so an event's effect
//! must reach the other replicas some other way. Every write sets `updated_at` on the row
//! it changes (`volunteers`, `volunteer_load`), and each replica re-reads, every
//! [`REFRESH_INTERVAL`], the rows changed since its last look. That needs nothing beyond
//! the database the replica already depends on, works the same on SQLite (`tongxin run`),
//! and a replica that was down or slow simply catches up on its next look, which a
//! non-durable NATS fan-out could not promise. Each look reaches back [`OVERLAP`] before
//! the previous one, so a transaction that committed late with an earlier timestamp, or a
//! replica whose clock runs a little behind, is still seen; re-applying a row is
//! idempotent. The cost is a staleness of about one interval on the other replicas.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use chrono::{DateTime, Utc};
use sea_orm::DatabaseConnection;
use tokio_util::sync::CancellationToken;
use tongxin_platform::db::DbError;
use tongxin_platform::geo::{Coordinates, WalkingModel};

use crate::domain::VolunteerId;
use crate::domain::availability::{Availability, TimeWindow};
use crate::domain::matching::{
    Candidate, CandidateIndex, Match, MatchWeights, RatingSummary, VolunteerStatus,
    match_candidates,
};
use crate::domain::skills::{SkillCatalog, SkillSet};
use crate::store::load::{self, volunteer_load};
use crate::store::match_rows::{self, MatchRow};
use crate::store::volunteers::Model;

/// How often each replica re-reads changed rows.
pub const REFRESH_INTERVAL: Duration = Duration::from_secs(1);
/// How far each look reaches back before the previous one.
pub const OVERLAP: chrono::Duration = chrono::Duration::seconds(10);
/// The most candidates one query may ask for.
pub const MAX_COUNT: usize = 100;

/// The shared, lock-protected index and what scoring needs.
#[derive(Clone)]
pub struct Matcher {
    inner: Arc<Inner>,
}

struct Inner {
    index: RwLock<CandidateIndex>,
    catalog: Arc<SkillCatalog>,
    model: WalkingModel,
    weights: MatchWeights,
    watermark: Mutex<Option<DateTime<Utc>>>,
}

impl Matcher {
    /// An empty index over `catalog`, with the default walking model and weights.
    pub fn new(catalog: Arc<SkillCatalog>) -> Self {
        Self {
            inner: Arc::new(Inner {
                index: RwLock::new(CandidateIndex::new()),
                catalog,
                model: WalkingModel::default(),
                weights: MatchWeights::default(),
                watermark: Mutex::new(None),
            }),
        }
    }

    /// Volunteers held (any status).
    pub fn len(&self) -> usize {
        self.read().len()
    }

    /// Whether the index is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The facts held about one volunteer (tests, diagnostics).
    pub fn get(&self, id: VolunteerId) -> Option<Candidate> {
        self.read().get(id).cloned()
    }

    /// Loads everything (start-up) or, after the first call, the rows changed since the
    /// previous look less [`OVERLAP`]. Returns how many changes the index took.
    pub async fn refresh(&self, db: &DatabaseConnection) -> Result<usize, DbError> {
        let started = Utc::now();
        let since = self
            .inner
            .watermark
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .map(|w| w - OVERLAP);
        let rows = match_rows::changed_since(db, since).await?;
        let mut loads: HashMap<uuid::Uuid, volunteer_load::Model> = load::changed_since(db, since)
            .await?
            .into_iter()
            .map(|l| (l.volunteer_id, l))
            .collect();
        // Rows new to this index need their load even when it did not change lately.
        if since.is_some() {
            let missing: Vec<uuid::Uuid> = {
                let index = self.read();
                rows.iter()
                    .filter(|r| {
                        index.get(VolunteerId(r.id)).is_none() && !loads.contains_key(&r.id)
                    })
                    .map(|r| r.id)
                    .collect()
            };
            for l in load::of(db, &missing).await? {
                loads.insert(l.volunteer_id, l);
            }
        }
        // Work out what differs under the read lock, so queries are not held up while the
        // overlap re-reads rows the index already has (e.g. just after a bulk import).
        let (upserts, removals, load_changes) = {
            let index = self.read();
            let mut upserts = Vec::new();
            let mut removals = Vec::new();
            for row in &rows {
                let id = VolunteerId(row.id);
                let held = index.get(id);
                let facts = held.map(|c| (c.open_assignments, c.rating));
                match self.candidate(row, facts, loads.get(&row.id)) {
                    Some(c) if held != Some(&c) => upserts.push(c),
                    Some(_) => {}
                    None if held.is_some() => removals.push(id),
                    None => {}
                }
            }
            let load_changes: Vec<(VolunteerId, u16, RatingSummary)> = loads
                .values()
                .filter_map(|l| {
                    let id = VolunteerId(l.volunteer_id);
                    let (open, rating) = load_facts(l);
                    let held = index.get(id)?;
                    (held.open_assignments != open || held.rating != rating)
                        .then_some((id, open, rating))
                })
                .collect();
            (upserts, removals, load_changes)
        };
        let applied = upserts.len() + removals.len() + load_changes.len();
        if applied > 0 {
            let mut index = self.write();
            for c in upserts {
                index.upsert(c);
            }
            for id in removals {
                index.remove(id);
            }
            for (id, open, rating) in load_changes {
                index.set_open_assignments(id, open);
                index.set_rating(id, rating);
            }
        }
        *self
            .inner
            .watermark
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = Some(started);
        Ok(applied)
    }

    /// Re-reads changed rows every [`REFRESH_INTERVAL`] until `shutdown`.
    pub async fn run_refresh(self, db: DatabaseConnection, shutdown: CancellationToken) {
        let mut tick = tokio::time::interval(REFRESH_INTERVAL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tick.tick() => {}
            }
            if let Err(e) = self.refresh(&db).await {
                tracing::warn!(error = %e, "candidate index refresh failed; retrying");
            }
        }
    }

    /// Applies a row this process just wrote (register, correction, status, erasure), so
    /// its own next query sees it without waiting for the refresh.
    pub fn apply(&self, row: &Model) {
        let row = MatchRow {
            id: row.id,
            lat: row.lat,
            lon: row.lon,
            skills: row.skills.clone(),
            availability: row.availability.clone(),
            status: row.status.clone(),
            erased_at: row.erased_at,
            updated_at: row.updated_at,
        };
        let mut index = self.write();
        let held = index
            .get(VolunteerId(row.id))
            .map(|c| (c.open_assignments, c.rating));
        match self.candidate(&row, held, None) {
            Some(c) => {
                index.upsert(c);
            }
            None => {
                index.remove(VolunteerId(row.id));
            }
        }
    }

    /// Applies many fresh rows at once (import, demo seeding); they have no load yet.
    pub fn apply_all<'a>(&self, rows: impl IntoIterator<Item = &'a Model>) {
        for row in rows {
            self.apply(row);
        }
    }

    /// The best `count` candidates, leaving out `exclude` (e.g. who declined this order).
    ///
    /// Exact: the index is asked for `count + |exclude|`, which holds at least `count`
    /// candidates that are not excluded whenever that many exist.
    pub fn find(
        &self,
        location: Coordinates,
        required: SkillSet,
        window: &TimeWindow,
        count: usize,
        exclude: &HashSet<VolunteerId>,
    ) -> Vec<Match> {
        let index = self.read();
        let mut found = match_candidates(
            &index,
            location,
            required,
            window,
            count + exclude.len(),
            &self.inner.model,
            &self.inner.weights,
        );
        drop(index);
        found.retain(|m| !exclude.contains(&m.volunteer_id));
        found.truncate(count);
        found
    }

    fn candidate(
        &self,
        row: &MatchRow,
        held: Option<(u16, RatingSummary)>,
        stored: Option<&volunteer_load::Model>,
    ) -> Option<Candidate> {
        if row.erased_at.is_some() {
            return None;
        }
        let parsed = self.parse(row);
        let Some((location, skills, availability, status)) = parsed else {
            // Stored data is parsed on the way in, so this is a bug or a manual edit.
            tracing::error!(volunteer_id = %row.id, "stored volunteer row does not parse; not matched");
            return None;
        };
        let (open_assignments, rating) = match (stored, held) {
            (Some(l), _) => load_facts(l),
            (None, Some(h)) => h,
            (None, None) => (0, RatingSummary::none()),
        };
        Some(Candidate {
            id: VolunteerId(row.id),
            location,
            skills,
            availability,
            status,
            open_assignments,
            rating,
        })
    }

    fn parse(
        &self,
        row: &MatchRow,
    ) -> Option<(Coordinates, SkillSet, Availability, VolunteerStatus)> {
        let location = Coordinates::parse(row.lat, row.lon).ok()?;
        let skills = self
            .inner
            .catalog
            .parse_set(row.skills.split(',').filter(|s| !s.is_empty()))
            .ok()?;
        let availability = Availability::parse(&row.availability).ok()?;
        let status = VolunteerStatus::parse(&row.status).ok()?;
        Some((location, skills, availability, status))
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, CandidateIndex> {
        self.inner.index.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, CandidateIndex> {
        self.inner.index.write().unwrap_or_else(|e| e.into_inner())
    }
}

fn load_facts(l: &volunteer_load::Model) -> (u16, RatingSummary) {
    let open = u16::try_from(l.open_assignments.max(0)).unwrap_or(u16::MAX);
    let count = u32::try_from(l.rating_count.max(0)).unwrap_or(0);
    let rating = if count == 0 {
        RatingSummary::none()
    } else {
        RatingSummary::new(l.rating_sum as f64 / f64::from(count), count)
            .unwrap_or(RatingSummary::none())
    };
    (open, rating)
}
