//! The rhythm of the work: recording visits (with `visit_recorded` in the same
//! transaction), the districts' cadence rules, the cadence view rolled up the tree, the
//! per-unit rhythm other services read, and closing ended periods into misses (with
//! `cadence_missed`), which the scheduler drives.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::TransactionTrait;
use tongxin_platform::auth::Principal;
use tongxin_platform::db::classify;
use tongxin_platform::events::outbox;
use tongxin_platform::geo::Coordinates;
use uuid::Uuid;

use super::venue::actor_scope;
use super::{DEFAULT_PAGE, MAX_PAGE, Venues};
use crate::domain::DomainError;
use crate::domain::org::{OrgUnitId, UnitKind, covers};
use crate::domain::rhythm::{
    self, CadencePeriod, CadenceRules, LevelTally, Outcome, PeriodKind, RulesInput, Streaks,
    VisitId,
};
use crate::error::VenuesError;
use crate::events;
use crate::store::org_units::{self, OrgUnit};
use crate::store::rhythm::{self as store, Counted, StoredRules, misses, visits};

/// A visit as a caller gives it, before parsing.
#[derive(Debug, Clone)]
pub struct NewVisit {
    /// The unit visited (text id).
    pub unit_id: String,
    /// When.
    pub visited_at: DateTime<Utc>,
    /// Households reached.
    pub households_reached: i64,
    /// The household area's point, if the visitor gives one.
    pub point: Option<(f64, f64)>,
    /// Notes.
    pub notes: Option<String>,
    /// Needs heard.
    pub needs_heard: Vec<String>,
}

/// The personal parts of a visit, for those who may see them.
#[derive(Debug, Clone, PartialEq)]
pub struct VisitDetails {
    /// The household area's point.
    pub point: Option<Coordinates>,
    /// The visitor's notes.
    pub notes: Option<String>,
    /// The needs heard.
    pub needs: Vec<String>,
}

/// A visit as one caller may see it: `details` only when their scope covers the unit (or
/// they recorded it).
#[derive(Debug, Clone, PartialEq)]
pub struct VisitView {
    /// Id.
    pub id: VisitId,
    /// The unit visited.
    pub unit_id: OrgUnitId,
    /// When.
    pub visited_at: DateTime<Utc>,
    /// Households reached.
    pub households_reached: u32,
    /// How many needs were heard.
    pub needs_count: u32,
    /// Who recorded it.
    pub recorder: String,
    /// The personal parts, or `None` when masked for this caller.
    pub details: Option<VisitDetails>,
}

/// A page of visits and whether more follow.
pub type VisitPage = (Vec<VisitView>, bool);

/// A district's rules with where they come from.
#[derive(Debug, Clone, PartialEq)]
pub struct DistrictRules {
    /// The district's center.
    pub district: OrgUnit,
    /// The rules in force.
    pub rules: CadenceRules,
    /// Who set them and when; `None` while the defaults apply.
    pub set: Option<(String, DateTime<Utc>)>,
}

/// One unit's cadence over the periods asked for.
#[derive(Debug, Clone)]
pub struct UnitCadence {
    /// The unit.
    pub unit: OrgUnit,
    /// What its rule asks per period.
    pub required: u32,
    /// One per period.
    pub outcomes: Vec<Outcome>,
    /// Its current runs.
    pub streaks: Streaks,
}

/// The cadence view: a unit and every unit below it under a rule, per period, with totals
/// per level.
#[derive(Debug, Clone)]
pub struct CadenceView {
    /// The unit asked about.
    pub unit: OrgUnit,
    /// Weeks (visits) or months (activities).
    pub kind: PeriodKind,
    /// The periods, oldest first.
    pub periods: Vec<CadencePeriod>,
    /// Units under a rule, ordered by path.
    pub units: Vec<UnitCadence>,
    /// Per level (courtyard first), one tally per period.
    pub levels: Vec<(UnitKind, Vec<LevelTally>)>,
}

/// How one unit's subtree kept the cadence over a date range (the gRPC `UnitRhythm`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RhythmTotals {
    /// (unit, week) pairs under a visit rule that ended in the range.
    pub visit_periods_due: u32,
    /// Of those, met.
    pub visit_periods_met: u32,
    /// (unit, month) pairs under an activity rule that ended in the range.
    pub activity_periods_due: u32,
    /// Of those, met.
    pub activity_periods_met: u32,
    /// Visits in the range.
    pub visits: u32,
    /// Households they reached.
    pub households_reached: u32,
    /// Activities held in the range.
    pub activities_held: u32,
    /// Their attendance.
    pub attendance: u64,
}

/// The most units one `UnitRhythm` call may ask about.
pub const MAX_RHYTHM_UNITS: usize = 1000;
/// The longest range `UnitRhythm` accepts, in days (two years and some).
pub const MAX_RHYTHM_DAYS: i64 = 800;

/// Needs are stored sealed as one text; the unit separator cannot occur in a need (control
/// characters other than line breaks and tabs are refused).
const NEED_SEPARATOR: char = '\u{1f}';

fn seal_point(p: Coordinates) -> String {
    format!("{},{}", p.lat(), p.lon())
}

fn open_point(text: &str) -> Option<Coordinates> {
    let (lat, lon) = text.split_once(',')?;
    Coordinates::parse(lat.parse().ok()?, lon.parse().ok()?).ok()
}

fn bad_row(id: Uuid, what: &str) -> VenuesError {
    VenuesError::Internal(format!("visit {id}: {what}"))
}

impl Venues {
    /// Records a visit to a unit in the visitor's scope and publishes
    /// `tongxin.venues.visit_recorded` in the same transaction. The point, notes and needs
    /// are sealed at rest.
    #[tracing::instrument(skip(self, actor, input), fields(actor = %actor.subject, unit_id = %input.unit_id))]
    pub async fn record_visit(
        &self,
        actor: &Principal,
        input: NewVisit,
        now: DateTime<Utc>,
    ) -> Result<VisitView, VenuesError> {
        // Parse everything before touching the database: bad input stores nothing.
        let unit_id = OrgUnitId::parse(&input.unit_id, "unitId")?;
        rhythm::check_visited_at(input.visited_at, now)?;
        let households = rhythm::parse_households(input.households_reached)?;
        let point = input
            .point
            .map(|(lat, lon)| Coordinates::parse(lat, lon))
            .transpose()
            .map_err(|e| DomainError::invalid(&format!("point.{}", e.field()), e.to_string()))?;
        let notes = rhythm::parse_notes(input.notes.as_deref())?;
        let needs = rhythm::parse_needs(&input.needs_heard)?;

        // Visits carry personal data like a home location: the same cipher as the
        // contacts' phones.
        let cipher = self.contact_cipher()?;
        let seal = |text: &str| {
            cipher
                .encrypt(text)
                .map_err(|e| VenuesError::Internal(format!("sealing a visit: {e}")))
        };
        let point_cipher = point.map(|p| seal(&seal_point(p))).transpose()?;
        let notes_cipher = notes.as_deref().map(seal).transpose()?;
        let needs_cipher = if needs.is_empty() {
            None
        } else {
            Some(seal(&needs.join(&NEED_SEPARATOR.to_string()))?)
        };

        let txn = self.db.begin().await.map_err(classify)?;
        let unit = org_units::get(&txn, unit_id)
            .await?
            .ok_or_else(|| VenuesError::NotFound(format!("unit {unit_id} does not exist")))?;
        let scope = actor_scope(&txn, actor).await?;
        rhythm::may_record_visit(actor, scope.as_deref(), &unit.path)?;
        let row = visits::Model {
            id: Uuid::now_v7(),
            unit_id: unit.id.0,
            visited_at: input.visited_at,
            households_reached: i32::try_from(households).unwrap_or(i32::MAX),
            needs_count: i32::try_from(needs.len()).unwrap_or(i32::MAX),
            point_cipher,
            notes_cipher,
            needs_cipher,
            recorder: actor.subject.clone(),
            created_at: now,
        };
        store::insert_visit(&txn, row.clone()).await?;
        outbox::enqueue(
            &txn,
            events::VISIT_RECORDED,
            events::SOURCE,
            events::visit_recorded(&row, &unit.path),
        )
        .await?;
        txn.commit().await.map_err(classify)?;
        self.waker.wake();
        tracing::info!(visit_id = %row.id, households, needs = needs.len(), "visit recorded");
        Ok(VisitView {
            id: VisitId(row.id),
            unit_id: unit.id,
            visited_at: row.visited_at,
            households_reached: households,
            needs_count: u32::try_from(needs.len()).unwrap_or(u32::MAX),
            recorder: row.recorder,
            details: Some(VisitDetails {
                point,
                notes,
                needs,
            }),
        })
    }

    fn view(&self, row: visits::Model, visible: bool) -> Result<VisitView, VenuesError> {
        let details = if visible {
            let cipher = self.contact_cipher()?;
            let open = |blob: &[u8]| {
                cipher
                    .decrypt(blob)
                    .map_err(|e| bad_row(row.id, &format!("does not open: {e}")))
            };
            let point = match row.point_cipher.as_deref() {
                Some(blob) => {
                    Some(open_point(&open(blob)?).ok_or_else(|| bad_row(row.id, "bad point"))?)
                }
                None => None,
            };
            let notes = row.notes_cipher.as_deref().map(open).transpose()?;
            let needs = match row.needs_cipher.as_deref() {
                Some(blob) => open(blob)?
                    .split(NEED_SEPARATOR)
                    .map(str::to_owned)
                    .collect(),
                None => Vec::new(),
            };
            Some(VisitDetails {
                point,
                notes,
                needs,
            })
        } else {
            None
        };
        Ok(VisitView {
            id: VisitId(row.id),
            unit_id: OrgUnitId(row.unit_id),
            visited_at: row.visited_at,
            households_reached: u32::try_from(row.households_reached)
                .map_err(|_| bad_row(row.id, "negative households"))?,
            needs_count: u32::try_from(row.needs_count)
                .map_err(|_| bad_row(row.id, "negative needs count"))?,
            recorder: row.recorder,
            details,
        })
    }

    /// One visit as `viewer` may see it; `None` when there is none.
    pub async fn visit(
        &self,
        viewer: &Principal,
        id: VisitId,
    ) -> Result<Option<VisitView>, VenuesError> {
        let Some(row) = store::visit(&self.db, id).await? else {
            return Ok(None);
        };
        let unit = self.existing_unit(OrgUnitId(row.unit_id)).await?;
        rhythm::may_read_visits(viewer, &unit.district)?;
        let scope = actor_scope(&self.db, viewer).await?;
        let visible =
            rhythm::sees_visit_details(viewer, scope.as_deref(), &unit.path, &row.recorder);
        self.view(row, visible).map(Some)
    }

    /// One visit for another service: counts only (no personal data leaves).
    pub async fn visit_counts(&self, id: VisitId) -> Result<Option<VisitView>, VenuesError> {
        match store::visit(&self.db, id).await? {
            Some(row) => self.view(row, false).map(Some),
            None => Ok(None),
        }
    }

    /// Visits to the subtree of `unit` in `[from, to)`, newest first, after the key `after`.
    pub async fn visits_page(
        &self,
        viewer: &Principal,
        unit: OrgUnitId,
        range: (Option<DateTime<Utc>>, Option<DateTime<Utc>>),
        after: Option<(DateTime<Utc>, Uuid)>,
        first: Option<u64>,
    ) -> Result<VisitPage, VenuesError> {
        let (from, to) = range;
        if let (Some(from), Some(to)) = (from, to)
            && to <= from
        {
            return Err(DomainError::invalid("to", "must be after from").into());
        }
        let unit = self.existing_unit(unit).await?;
        rhythm::may_read_visits(viewer, &unit.district)?;
        let scope = actor_scope(&self.db, viewer).await?;
        let limit = first.unwrap_or(DEFAULT_PAGE).clamp(1, MAX_PAGE);
        let mut rows = store::visits_page(&self.db, &unit.path, from, to, after, limit + 1).await?;
        let more = rows.len() as u64 > limit;
        rows.truncate(limit as usize);
        // The units visited, for each row's scope check, in one query.
        let ids: Vec<OrgUnitId> = rows
            .iter()
            .map(|r| OrgUnitId(r.unit_id))
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        let paths: HashMap<OrgUnitId, String> = org_units::get_many(&self.db, &ids)
            .await?
            .into_iter()
            .map(|u| (u.id, u.path))
            .collect();
        let views = rows
            .into_iter()
            .map(|row| {
                let visible = paths.get(&OrgUnitId(row.unit_id)).is_some_and(|path| {
                    rhythm::sees_visit_details(viewer, scope.as_deref(), path, &row.recorder)
                });
                self.view(row, visible)
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok((views, more))
    }

    /// The center of `unit`'s district.
    async fn district_center(&self, unit: &OrgUnit) -> Result<OrgUnit, VenuesError> {
        org_units::by_path(&self.db, &format!("/{}", unit.district))
            .await?
            .ok_or_else(|| {
                VenuesError::Internal(format!("district {} has no center", unit.district))
            })
    }

    async fn rules_for(&self, center: &OrgUnit) -> Result<DistrictRules, VenuesError> {
        let stored = store::rules_of(&self.db, &[center.id]).await?;
        Ok(match stored.into_iter().next() {
            Some((
                _,
                StoredRules {
                    rules,
                    set_by,
                    set_at,
                },
            )) => DistrictRules {
                district: center.clone(),
                rules,
                set: Some((set_by, set_at)),
            },
            None => DistrictRules {
                district: center.clone(),
                rules: CadenceRules::default(),
                set: None,
            },
        })
    }

    fn center_only(unit: OrgUnit) -> Result<OrgUnit, VenuesError> {
        if unit.kind == UnitKind::Center {
            Ok(unit)
        } else {
            Err(DomainError::invalid("districtId", "must be a district center").into())
        }
    }

    /// A district's rules (the defaults until its center's staff set some).
    pub async fn cadence_rules(&self, district: OrgUnitId) -> Result<DistrictRules, VenuesError> {
        let center = Self::center_only(self.existing_unit(district).await?)?;
        self.rules_for(&center).await
    }

    /// Sets a district's rules; its center's staff only.
    #[tracing::instrument(skip(self, actor, input), fields(actor = %actor.subject, district = %district))]
    pub async fn set_cadence_rules(
        &self,
        actor: &Principal,
        district: OrgUnitId,
        input: RulesInput,
        now: DateTime<Utc>,
    ) -> Result<DistrictRules, VenuesError> {
        let rules = rhythm::parse_rules(input)?;
        let txn = self.db.begin().await.map_err(classify)?;
        let center = org_units::get(&txn, district)
            .await?
            .ok_or_else(|| VenuesError::NotFound(format!("unit {district} does not exist")))?;
        let center = Self::center_only(center)?;
        let scope = actor_scope(&txn, actor).await?;
        rhythm::may_set_rules(actor, scope.as_deref(), &center.path)?;
        store::set_rules(&txn, center.id, &rules, &actor.subject, now).await?;
        txn.commit().await.map_err(classify)?;
        tracing::info!(?rules, "cadence rules set");
        Ok(DistrictRules {
            district: center,
            rules,
            set: Some((actor.subject.clone(), now)),
        })
    }

    /// What counts for `kind` in the subtree at `path` in `[from, to)`.
    async fn counted(
        &self,
        kind: PeriodKind,
        path: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<Counted>, VenuesError> {
        Ok(match kind {
            PeriodKind::Week => store::visit_times(&self.db, path, from, to).await?,
            PeriodKind::Month => store::held_times(&self.db, path, from, to).await?,
        })
    }

    /// The cadence of `unit` and every unit below it under a rule, over the periods of
    /// `kind` from the one holding `from` to the one holding `to`, judged at `now`. Staff
    /// whose scope covers the unit.
    pub async fn cadence(
        &self,
        viewer: &Principal,
        unit: OrgUnitId,
        kind: PeriodKind,
        (from, to): (NaiveDate, NaiveDate),
        now: DateTime<Utc>,
    ) -> Result<CadenceView, VenuesError> {
        let periods = rhythm::periods_between(kind, from, to)?;
        let unit = self.existing_unit(unit).await?;
        let scope = actor_scope(&self.db, viewer).await?;
        rhythm::may_see_cadence(viewer, scope.as_deref(), &unit.path)?;
        let center = self.district_center(&unit).await?;
        let rules = self.rules_for(&center).await?.rules;
        let (Some(first), Some(last)) = (periods.first(), periods.last()) else {
            return Err(DomainError::invalid("period", "is empty").into());
        };
        let ruled: Vec<(OrgUnit, u32)> = store::units_at_and_under(&self.db, &unit.path)
            .await?
            .into_iter()
            .filter_map(|u| rules.required(u.kind, kind).map(|r| (u, r)))
            .collect();
        let mut times: HashMap<OrgUnitId, Vec<DateTime<Utc>>> = HashMap::new();
        for c in self
            .counted(kind, &unit.path, first.starts_at(), last.ends_at())
            .await?
        {
            times.entry(c.unit).or_default().push(c.at);
        }
        let units: Vec<UnitCadence> = ruled
            .into_iter()
            .map(|(u, required)| {
                let done = rhythm::tally(&periods, times.remove(&u.id).unwrap_or_default());
                let outcomes: Vec<Outcome> = periods
                    .iter()
                    .zip(done)
                    .map(|(p, n)| rhythm::judge(*p, required, n, now))
                    .collect();
                UnitCadence {
                    streaks: rhythm::streaks(&outcomes),
                    unit: u,
                    required,
                    outcomes,
                }
            })
            .collect();
        let per_level: Vec<(UnitKind, Vec<Outcome>)> = units
            .iter()
            .map(|u| (u.unit.kind, u.outcomes.clone()))
            .collect();
        let levels = rhythm::level_totals(&per_level).into_iter().collect();
        Ok(CadenceView {
            unit,
            kind,
            periods,
            units,
            levels,
        })
    }

    /// For each of `ids`: how its subtree kept the cadence over the local dates
    /// `[from, to)` (periods that ended in the range and by `now`), and what it recorded
    /// there. Unknown ids come back in the second list.
    pub async fn unit_rhythm(
        &self,
        ids: &[OrgUnitId],
        (from, to): (NaiveDate, NaiveDate),
        now: DateTime<Utc>,
    ) -> Result<(Vec<(OrgUnit, RhythmTotals)>, Vec<OrgUnitId>), VenuesError> {
        if ids.len() > MAX_RHYTHM_UNITS {
            return Err(DomainError::invalid(
                "unit_ids",
                format!("at most {MAX_RHYTHM_UNITS} ids"),
            )
            .into());
        }
        if to <= from {
            return Err(DomainError::invalid("to_date", "must be after from_date").into());
        }
        if (to - from).num_days() > MAX_RHYTHM_DAYS {
            return Err(DomainError::invalid(
                "to_date",
                format!("the range spans at most {MAX_RHYTHM_DAYS} days"),
            )
            .into());
        }
        let found = org_units::get_many(&self.db, ids).await?;
        let present: HashSet<OrgUnitId> = found.iter().map(|u| u.id).collect();
        let mut missing: Vec<OrgUnitId> = Vec::new();
        for id in ids {
            if !present.contains(id) && !missing.contains(id) {
                missing.push(*id);
            }
        }
        // Everything is computed once per district and summed per requested subtree.
        let mut by_district: BTreeMap<String, Vec<OrgUnit>> = BTreeMap::new();
        for unit in found {
            by_district
                .entry(unit.district.clone())
                .or_default()
                .push(unit);
        }
        let (range_from, range_to) = (rhythm::local_midnight(from), rhythm::local_midnight(to));
        let mut out = Vec::new();
        for (district, asked) in by_district {
            let root = format!("/{district}");
            let Some(center) = org_units::by_path(&self.db, &root).await? else {
                continue;
            };
            let rules = self.rules_for(&center).await?.rules;
            let units = store::units_at_and_under(&self.db, &root).await?;
            let path_of: HashMap<OrgUnitId, &str> =
                units.iter().map(|u| (u.id, u.path.as_str())).collect();
            // Per unit: (due, met) for visits and activities.
            let mut kept: HashMap<OrgUnitId, [u32; 4]> = HashMap::new();
            let mut recorded: Vec<(PeriodKind, Counted)> = Vec::new();
            for kind in PeriodKind::ALL {
                let periods: Vec<CadencePeriod> = rhythm::periods_ending_in(kind, from, to)
                    .into_iter()
                    .filter(|p| p.ended_by(now))
                    .collect();
                let window_from = periods
                    .first()
                    .map_or(range_from, |p| p.starts_at().min(range_from));
                let window_to = periods
                    .last()
                    .map_or(range_to, |p| p.ends_at().max(range_to));
                let counted = self.counted(kind, &root, window_from, window_to).await?;
                let mut times: HashMap<OrgUnitId, Vec<DateTime<Utc>>> = HashMap::new();
                for c in &counted {
                    times.entry(c.unit).or_default().push(c.at);
                    if range_from <= c.at && c.at < range_to {
                        recorded.push((kind, *c));
                    }
                }
                for unit in &units {
                    let Some(required) = rules.required(unit.kind, kind) else {
                        continue;
                    };
                    let done = rhythm::tally(&periods, times.remove(&unit.id).unwrap_or_default());
                    let met = done.iter().filter(|n| **n >= required).count();
                    let entry = kept.entry(unit.id).or_default();
                    let (due_i, met_i) = match kind {
                        PeriodKind::Week => (0, 1),
                        PeriodKind::Month => (2, 3),
                    };
                    entry[due_i] += u32::try_from(periods.len()).unwrap_or(u32::MAX);
                    entry[met_i] += u32::try_from(met).unwrap_or(u32::MAX);
                }
            }
            for unit in asked {
                let mut totals = RhythmTotals::default();
                for (id, k) in &kept {
                    if path_of.get(id).is_some_and(|p| covers(&unit.path, p)) {
                        totals.visit_periods_due += k[0];
                        totals.visit_periods_met += k[1];
                        totals.activity_periods_due += k[2];
                        totals.activity_periods_met += k[3];
                    }
                }
                for (kind, c) in &recorded {
                    if !path_of.get(&c.unit).is_some_and(|p| covers(&unit.path, p)) {
                        continue;
                    }
                    match kind {
                        PeriodKind::Week => {
                            totals.visits += 1;
                            totals.households_reached = totals
                                .households_reached
                                .saturating_add(u32::try_from(c.size).unwrap_or(u32::MAX));
                        }
                        PeriodKind::Month => {
                            totals.activities_held += 1;
                            totals.attendance += c.size;
                        }
                    }
                }
                out.push((unit, totals));
            }
        }
        Ok((out, missing))
    }

    /// Closes the periods that ended by `now` (the last `lookback_weeks` weeks and
    /// `lookback_months` months): every unit under a rule that did not meet it gets one miss
    /// row and, when `announce`, one `cadence_missed` event, in the same transaction. Safe
    /// to run on several replicas at once: the miss's unique key admits one insert, and only
    /// the insert that went through raises the event. Returns how many misses it closed.
    pub async fn close_periods(
        &self,
        now: DateTime<Utc>,
        lookback_weeks: u32,
        lookback_months: u32,
        announce: bool,
    ) -> Result<usize, VenuesError> {
        let mut closed = 0;
        for center in org_units::all_of_kind(&self.db, UnitKind::Center).await? {
            let rules = self.rules_for(&center).await?.rules;
            let units = store::units_at_and_under(&self.db, &center.path).await?;
            for (kind, lookback) in [
                (PeriodKind::Week, lookback_weeks),
                (PeriodKind::Month, lookback_months),
            ] {
                closed += self
                    .close_kind(&center, &units, &rules, kind, now, lookback, announce)
                    .await?;
            }
        }
        if closed > 0 && announce {
            self.waker.wake();
        }
        Ok(closed)
    }

    #[allow(clippy::too_many_arguments)]
    async fn close_kind(
        &self,
        center: &OrgUnit,
        units: &[OrgUnit],
        rules: &CadenceRules,
        kind: PeriodKind,
        now: DateTime<Utc>,
        lookback: u32,
        announce: bool,
    ) -> Result<usize, VenuesError> {
        let periods = rhythm::closable(kind, now, lookback);
        let (Some(first), Some(last)) = (periods.first().copied(), periods.last().copied()) else {
            return Ok(0);
        };
        let ruled: Vec<(&OrgUnit, u32)> = units
            .iter()
            .filter_map(|u| rules.required(u.kind, kind).map(|r| (u, r)))
            .collect();
        if ruled.is_empty() {
            return Ok(0);
        }
        // The streak reaches one period further back than the window.
        let mut known: HashMap<(OrgUnitId, NaiveDate), u32> =
            store::misses_in(&self.db, kind, first.previous().start, last.start)
                .await?
                .into_iter()
                .map(|(u, s, n)| ((u, s), n))
                .collect();
        let mut times: HashMap<OrgUnitId, Vec<DateTime<Utc>>> = HashMap::new();
        for c in self
            .counted(kind, &center.path, first.starts_at(), last.ends_at())
            .await?
        {
            times.entry(c.unit).or_default().push(c.at);
        }
        let txn = self.db.begin().await.map_err(classify)?;
        let mut closed = 0;
        // Units in path order and periods oldest first, on every replica: two replicas
        // inserting the same misses meet at the first one, never in a cycle.
        for (unit, required) in ruled {
            let done = rhythm::tally(&periods, times.remove(&unit.id).unwrap_or_default());
            for (period, done) in periods.iter().zip(done) {
                if done >= required || known.contains_key(&(unit.id, period.start)) {
                    continue;
                }
                let streak =
                    rhythm::miss_streak(known.get(&(unit.id, period.previous().start)).copied());
                let row = misses::Model {
                    id: Uuid::now_v7(),
                    unit_id: unit.id.0,
                    kind: kind.as_str().to_owned(),
                    period_start: period.start,
                    period_end: period.end,
                    required: i32::try_from(required).unwrap_or(i32::MAX),
                    done: i32::try_from(done).unwrap_or(i32::MAX),
                    streak: i32::try_from(streak).unwrap_or(i32::MAX),
                    closed_at: now,
                };
                if !store::insert_miss(&txn, row.clone()).await? {
                    // Another replica closed it first, with its event.
                    continue;
                }
                known.insert((unit.id, period.start), streak);
                if announce {
                    outbox::enqueue(
                        &txn,
                        events::CADENCE_MISSED,
                        events::SOURCE,
                        events::cadence_missed(&row, &unit.path, kind),
                    )
                    .await?;
                }
                closed += 1;
            }
        }
        txn.commit().await.map_err(classify)?;
        Ok(closed)
    }
}
