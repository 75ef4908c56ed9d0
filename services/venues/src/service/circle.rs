//! The 15-minute circle as a service: which places a point reaches on foot, which
//! courtyard covers a point (order routing), coverage of residents per unit, and what its map
//! shows (drawn in [`crate::graphql::coverage_map`]). Resident files are read in
//! [`crate::import`].
//!
//! The spatial index lives in memory (building it from a district's few hundred places takes
//! well under a millisecond, a query microseconds) and is rebuilt when it is older than
//! [`MAX_AGE`] or a write in this process marked it stale, so other replicas' writes show up
//! within seconds without any cross-process signalling.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use sea_orm::{DatabaseConnection, TransactionTrait};
use tokio::sync::RwLock;
use tongxin_platform::auth::Principal;
use tongxin_platform::db::classify;
use tongxin_platform::geo::{Coordinates, WalkingModel};

use crate::domain::DomainError;
use crate::domain::circle::{IndexedVenue, Reachable, VenueIndex};
use crate::domain::coverage::{self, ResidentPoint, Suggestion, UncoveredCluster};
use crate::domain::org::{self, UnitKind};
use crate::domain::venue::VenueKind;
use crate::error::VenuesError;
use crate::import::parse_residents_csv;
use crate::store::circle::{self as store, NewResident};
use crate::store::org_units::{self, OrgUnit};
use crate::store::venues::{self as venue_store, VenuePoint};
use uuid::Uuid;

/// How stale the index may get before a query rebuilds it.
pub const MAX_AGE: Duration = Duration::from_secs(10);
/// The circle's size when the caller gives none.
pub const DEFAULT_MINUTES: f64 = 15.0;
/// The most minutes a caller may ask for.
pub const MAX_MINUTES: f64 = 120.0;

/// A place in the circle: an active venue, or a courtyard unit that has no courtyard venue
/// recorded yet (every courtyard is a place people walk to, registered or not).
#[derive(Debug, Clone)]
pub enum Place {
    /// A courtyard unit of the org tree without a venue row.
    Courtyard(OrgUnit),
    /// A venue, with the org unit it belongs to.
    Venue(VenuePoint, OrgUnit),
}

impl Place {
    /// Where it is.
    pub fn at(&self) -> Coordinates {
        match self {
            Place::Courtyard(unit) => unit.location,
            Place::Venue(venue, _) => venue.at,
        }
    }

    /// Its name.
    pub fn name(&self) -> &str {
        match self {
            Place::Courtyard(unit) => &unit.name,
            Place::Venue(venue, _) => &venue.name,
        }
    }

    /// The org unit it belongs to.
    pub fn unit(&self) -> &OrgUnit {
        match self {
            Place::Courtyard(unit) | Place::Venue(_, unit) => unit,
        }
    }

    /// Its kind as a venue (a bare courtyard unit counts as a courtyard venue).
    pub fn kind(&self) -> VenueKind {
        match self {
            Place::Courtyard(_) => VenueKind::Courtyard,
            Place::Venue(venue, _) => venue.kind,
        }
    }

    /// Whether it takes orders: a courtyard's venue, held by a courtyard unit.
    pub fn is_courtyard(&self) -> bool {
        self.kind().is_courtyard() && self.unit().kind == UnitKind::Courtyard
    }
}

/// One consistent view of every place, indexed.
pub struct Snapshot {
    index: VenueIndex<usize>,
    places: Vec<Place>,
    /// The walking model when the deployment holds one district (else the default).
    model: WalkingModel,
}

/// A place within reach.
#[derive(Debug, Clone)]
pub struct Reached {
    /// The place.
    pub place: Place,
    /// Walking minutes.
    pub minutes: f64,
    /// Straight-line metres.
    pub distance_m: f64,
}

/// Coverage of one unit's residents.
#[derive(Debug, Clone)]
pub struct Coverage {
    /// The minutes the circle was drawn with.
    pub minutes: f64,
    /// Residents in the unit (sum of weights).
    pub total: u64,
    /// Residents with a place in reach.
    pub covered: u64,
    /// covered ÷ total (None without residents).
    pub share: Option<f64>,
    /// Uncovered clusters, heaviest first.
    pub clusters: Vec<UncoveredCluster>,
    /// Suggested new sites, best first.
    pub suggestions: Vec<Suggestion>,
}

/// What a coverage map shows (drawing it is the presentation layer's work).
#[derive(Debug, Clone)]
pub struct CoverageMap {
    /// The unit's name, for the title.
    pub unit_name: String,
    /// Its coverage, with the suggested sites.
    pub coverage: Coverage,
    /// The resident points under the unit.
    pub residents: Vec<ResidentPoint>,
    /// One flag per resident: whether a place is in reach.
    pub covered: Vec<bool>,
    /// The places the unit holds, each drawn with its circle.
    pub places: Vec<Place>,
    /// Straight-line walking reach in metres of the circle's minutes.
    pub reach_m: f64,
}

/// A built snapshot with when it was built and the generation it saw.
type Cached = Option<(Instant, u64, Arc<Snapshot>)>;

/// The circle service.
#[derive(Clone)]
pub struct Circle {
    db: DatabaseConnection,
    cache: Arc<RwLock<Cached>>,
    generation: Arc<AtomicU64>,
}

fn parse_minutes(minutes: Option<f64>) -> Result<f64, VenuesError> {
    let minutes = minutes.unwrap_or(DEFAULT_MINUTES);
    if !minutes.is_finite() || minutes <= 0.0 || minutes > MAX_MINUTES {
        return Err(DomainError::invalid(
            "minutes",
            format!("must be more than 0 and at most {MAX_MINUTES}"),
        )
        .into());
    }
    Ok(minutes)
}

impl Circle {
    /// The service over `db`.
    pub fn new(db: DatabaseConnection) -> Self {
        Self {
            db,
            cache: Arc::new(RwLock::new(None)),
            generation: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Marks the index stale (after a write that moves or adds places).
    pub fn invalidate(&self) {
        self.generation.fetch_add(1, Ordering::Relaxed);
    }

    /// The current snapshot, rebuilt when stale.
    pub async fn snapshot(&self) -> Result<Arc<Snapshot>, VenuesError> {
        let generation = self.generation.load(Ordering::Relaxed);
        if let Some((built, seen, snapshot)) = self.cache.read().await.as_ref()
            && *seen == generation
            && built.elapsed() < MAX_AGE
        {
            return Ok(snapshot.clone());
        }
        let snapshot = Arc::new(self.build().await?);
        *self.cache.write().await = Some((Instant::now(), generation, snapshot.clone()));
        Ok(snapshot)
    }

    async fn build(&self) -> Result<Snapshot, VenuesError> {
        let venues = venue_store::active_points(&self.db).await?;
        let unit_ids: Vec<org::OrgUnitId> = venues
            .iter()
            .map(|v| org::OrgUnitId(v.org_unit_id))
            .collect();
        let owners: HashMap<Uuid, OrgUnit> = org_units::get_many(&self.db, &unit_ids)
            .await?
            .into_iter()
            .map(|u| (u.id.0, u))
            .collect();
        let with_venue: HashSet<Uuid> = venues
            .iter()
            .filter(|v| v.kind.is_courtyard())
            .map(|v| v.org_unit_id)
            .collect();
        let courtyards = org_units::all_of_kind(&self.db, UnitKind::Courtyard).await?;
        let mut districts: Vec<&str> = courtyards.iter().map(|c| c.district.as_str()).collect();
        districts.sort_unstable();
        districts.dedup();
        let model = match districts.as_slice() {
            [only] => store::walking_model(&self.db, only).await?,
            _ => WalkingModel::default(),
        };
        let mut places: Vec<Place> = venues
            .into_iter()
            .filter_map(|v| {
                owners
                    .get(&v.org_unit_id)
                    .cloned()
                    .map(|unit| Place::Venue(v, unit))
            })
            .collect();
        places.extend(
            courtyards
                .into_iter()
                .filter(|c| !with_venue.contains(&c.id.0))
                .map(Place::Courtyard),
        );
        let index = VenueIndex::new(places.iter().enumerate().map(|(key, place)| IndexedVenue {
            key,
            at: place.at(),
            courtyard: place.is_courtyard(),
        }));
        Ok(Snapshot {
            index,
            places,
            model,
        })
    }

    /// Places within `minutes` walk of `point`, nearest first.
    pub async fn within(
        &self,
        point: Coordinates,
        minutes: Option<f64>,
    ) -> Result<Vec<Reached>, VenuesError> {
        let minutes = parse_minutes(minutes)?;
        let snapshot = self.snapshot().await?;
        Ok(snapshot
            .index
            .within(point, minutes, &snapshot.model)
            .into_iter()
            .map(|r| reached(&snapshot, r))
            .collect())
    }

    /// The courtyard whose circle covers `point`, nearest first.
    pub async fn covering_courtyard(
        &self,
        point: Coordinates,
        minutes: Option<f64>,
    ) -> Result<Option<Reached>, VenuesError> {
        let minutes = parse_minutes(minutes)?;
        let snapshot = self.snapshot().await?;
        Ok(snapshot
            .index
            .covering_courtyard(point, minutes, &snapshot.model)
            .map(|r| reached(&snapshot, r)))
    }

    /// The walking model of `district`.
    pub async fn walking_model(&self, district: &str) -> Result<WalkingModel, VenuesError> {
        Ok(store::walking_model(&self.db, district).await?)
    }

    /// Sets `district`'s walking speed and detour factor (hilly districts walk slower).
    pub async fn set_walking_model(
        &self,
        actor: &Principal,
        district: &str,
        speed_kmh: f64,
        detour_factor: f64,
    ) -> Result<WalkingModel, VenuesError> {
        let model = WalkingModel::new(speed_kmh, detour_factor)
            .map_err(|e| DomainError::invalid(e.field(), e.to_string()))?;
        let root = format!("/{district}");
        let scope = match actor.unit {
            Some(unit) => org_units::get(&self.db, org::OrgUnitId(unit))
                .await?
                .map(|u| u.path),
            None => None,
        };
        org::may_manage(actor, scope.as_deref(), &root)?;
        store::set_walking_model(&self.db, district, model).await?;
        self.invalidate();
        Ok(model)
    }

    /// Coverage of `unit`'s residents: totals, uncovered clusters, `suggestions` new sites.
    pub async fn coverage(
        &self,
        unit: &OrgUnit,
        minutes: Option<f64>,
        suggestions: usize,
    ) -> Result<(Coverage, Vec<ResidentPoint>, Vec<bool>), VenuesError> {
        let minutes = parse_minutes(minutes)?;
        if suggestions > 50 {
            return Err(DomainError::invalid("suggestions", "must be at most 50").into());
        }
        let snapshot = self.snapshot().await?;
        let model = store::walking_model(&self.db, &unit.district).await?;
        let residents = store::residents_under(&self.db, &unit.path).await?;
        // Every place counts, not only the unit's own: people near a border walk next door.
        let report = coverage::coverage(&residents, &snapshot.index, minutes, &model);
        let uncovered = report.uncovered_residents(&residents);
        let clusters = coverage::uncovered_clusters(&uncovered, model.reach_m(minutes));
        let suggested = if suggestions > 0 {
            coverage::suggest_sites(&uncovered, &[], suggestions, &model, &report)
        } else {
            Vec::new()
        };
        let result = Coverage {
            minutes,
            total: report.total_weight(),
            covered: report.covered_weight(),
            share: report.share(),
            clusters,
            suggestions: suggested,
        };
        Ok((result, residents, report.covered().to_vec()))
    }

    /// What the coverage map of `unit` shows: its coverage, residents, the places it holds
    /// and their reach. Drawn by [`crate::graphql::coverage_map::draw`].
    pub async fn coverage_map(
        &self,
        unit: &OrgUnit,
        minutes: Option<f64>,
        suggestions: usize,
    ) -> Result<CoverageMap, VenuesError> {
        let (coverage, residents, covered) = self.coverage(unit, minutes, suggestions).await?;
        let snapshot = self.snapshot().await?;
        let model = store::walking_model(&self.db, &unit.district).await?;
        // Draw the unit's own places and those within reach of its residents' area.
        let places: Vec<Place> = snapshot
            .places
            .iter()
            .filter(|p| org::covers(&unit.path, &p.unit().path))
            .cloned()
            .collect();
        Ok(CoverageMap {
            unit_name: unit.name.clone(),
            reach_m: model.reach_m(coverage.minutes),
            coverage,
            residents,
            covered,
            places,
        })
    }

    /// Replaces `district`'s resident layer from CSV text with the header
    /// `lat,lon,weight[,unit_path]`. A point without a unit path belongs to the nearest
    /// courtyard. Any broken row rejects the whole file, reporting every broken row number.
    pub async fn import_residents(&self, district: &str, csv: &str) -> Result<usize, VenuesError> {
        let rows = parse_residents_csv(csv)?;
        let snapshot = self.snapshot().await?;
        let root = format!("/{district}");
        let points: Vec<NewResident> = rows
            .into_iter()
            .map(|(at, weight, unit_path)| {
                let unit_path = unit_path.unwrap_or_else(|| {
                    snapshot
                        .index
                        .covering_courtyard(at, MAX_MINUTES, &snapshot.model)
                        .map(|r| snapshot.places[r.key].unit())
                        .filter(|c| c.district == district)
                        .map(|c| c.path.clone())
                        .unwrap_or_else(|| root.clone())
                });
                NewResident {
                    district: district.to_owned(),
                    unit_path,
                    at,
                    weight,
                }
            })
            .collect();
        let txn = self.db.begin().await.map_err(classify)?;
        store::replace_residents(&txn, district, &points).await?;
        txn.commit().await.map_err(classify)?;
        Ok(points.len())
    }
}

fn reached(snapshot: &Snapshot, r: Reachable<usize>) -> Reached {
    Reached {
        place: snapshot.places[r.key].clone(),
        minutes: r.minutes,
        distance_m: r.distance_m,
    }
}
