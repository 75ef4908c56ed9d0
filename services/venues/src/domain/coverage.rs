//! Coverage of the 15-minute circle: which share of the residents reach a venue on foot, where
//! the uncovered ones live, and where new venues would cover the most of them.
//!
//! Residents are weighted points (households, or population grid cells with a head count).
//! Everything here is pure computation over slices, so it can run for a whole district or for
//! the residents of one org unit: pass that unit's residents, and an index holding the venues
//! of the unit *and its neighbours* (a resident near a border may well walk to the next
//! unit's courtyard).

use std::borrow::Cow;
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};
use std::ops::ControlFlow;

use tongxin_platform::geo::{BoundingBox, Coordinates, METRES_PER_DEGREE, WalkingModel};

use super::circle::{PointGrid, VenueIndex};

/// A place where people live and how many: a household (weight = people in it) or a population
/// grid cell (weight = its head count).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ResidentPoint {
    /// Where the residents live.
    pub at: Coordinates,
    /// How many residents the point stands for; 0 is allowed and counts for nothing.
    pub weight: u32,
}

/// The answer of [`coverage`]: totals, and for each resident whether a venue is in reach.
#[derive(Debug, Clone, PartialEq)]
pub struct CoverageReport {
    minutes: f64,
    total_weight: u64,
    covered_weight: u64,
    covered_residents: usize,
    covered: Vec<bool>,
}

impl CoverageReport {
    /// The walking time the report was computed for.
    pub fn minutes(&self) -> f64 {
        self.minutes
    }

    /// Sum of all residents' weights.
    pub fn total_weight(&self) -> u64 {
        self.total_weight
    }

    /// Sum of the weights of residents with a venue in reach.
    pub fn covered_weight(&self) -> u64 {
        self.covered_weight
    }

    /// Sum of the weights of residents without a venue in reach.
    pub fn uncovered_weight(&self) -> u64 {
        self.total_weight - self.covered_weight
    }

    /// Covered weight ÷ total weight, in 0..=1; `None` when there is nobody to cover (an org
    /// unit without resident data), which a frontend must not show as 0 % or 100 %.
    pub fn share(&self) -> Option<f64> {
        share(self.covered_weight, self.total_weight)
    }

    /// Number of resident points.
    pub fn residents(&self) -> usize {
        self.covered.len()
    }

    /// Number of resident points with a venue in reach.
    pub fn covered_residents(&self) -> usize {
        self.covered_residents
    }

    /// One flag per resident point, in the order they were given.
    pub fn covered(&self) -> &[bool] {
        &self.covered
    }

    /// Whether resident `index` has a venue in reach (`false` for an index out of range).
    pub fn is_covered(&self, index: usize) -> bool {
        self.covered.get(index).copied().unwrap_or(false)
    }

    /// Indexes of the residents without a venue in reach, ascending.
    pub fn uncovered_indexes(&self) -> impl Iterator<Item = usize> + '_ {
        self.covered
            .iter()
            .enumerate()
            .filter_map(|(i, &covered)| (!covered).then_some(i))
    }

    /// The uncovered residents out of `residents`, which must be the slice the report was
    /// computed from: the input of [`uncovered_clusters`] and [`suggest_sites`].
    pub fn uncovered_residents(&self, residents: &[ResidentPoint]) -> Vec<ResidentPoint> {
        residents
            .iter()
            .enumerate()
            .filter(|&(i, _)| !self.is_covered(i))
            .map(|(_, r)| *r)
            .collect()
    }
}

// Weights are head counts, far below 2^52, so the conversion to f64 is exact.
#[allow(clippy::cast_precision_loss)]
fn share(part: u64, total: u64) -> Option<f64> {
    (total > 0).then(|| (part as f64 / total as f64).clamp(0.0, 1.0))
}

/// Which residents reach at least one venue of `venues` within `minutes` on foot.
///
/// Each resident looks only at the grid cells around it and stops at the first venue in
/// reach, so a district of 670 000 resident points against 600 venues takes a fraction of a
/// second on one core. Negative or NaN minutes cover nobody.
pub fn coverage<K: Copy + Ord>(
    residents: &[ResidentPoint],
    venues: &VenueIndex<K>,
    minutes: f64,
    model: &WalkingModel,
) -> CoverageReport {
    let mut report = CoverageReport {
        minutes,
        total_weight: 0,
        covered_weight: 0,
        covered_residents: 0,
        covered: Vec::with_capacity(residents.len()),
    };
    for resident in residents {
        let covered = venues.covers(resident.at, minutes, model);
        report.total_weight += u64::from(resident.weight);
        if covered {
            report.covered_weight += u64::from(resident.weight);
            report.covered_residents += 1;
        }
        report.covered.push(covered);
    }
    report
}

/// A group of uncovered residents living close together: a gap in the circle.
#[derive(Debug, Clone, PartialEq)]
pub struct UncoveredCluster {
    /// Weighted centre of the cluster's residents (unweighted when all weights are 0).
    pub centroid: Coordinates,
    /// Sum of the residents' weights.
    pub weight: u64,
    /// Number of resident points.
    pub residents: usize,
    /// Number of grid cells (half the walking reach square) the cluster spans: a rough
    /// measure of its area.
    pub cells: usize,
    /// The box holding all its residents.
    pub bounds: BoundingBox,
}

/// Groups uncovered residents into clusters, each a gap that one new venue could roughly
/// close; sorted by weight, heaviest first, so the worst gaps lead.
///
/// Residents are bucketed into square cells of half `reach_m` (pass the walking reach,
/// `model.reach_m(minutes)`). The heaviest unassigned cell seeds a cluster, which grows
/// through touching cells (sides or corners) but only to cells within `reach_m` of the seed;
/// then the next heaviest unassigned cell seeds the next one. Plain connected components would
/// melt a large uncovered area into one cluster whose centre says nothing; this way a large
/// area shows up as several circle-sized clusters.
pub fn uncovered_clusters(uncovered: &[ResidentPoint], reach_m: f64) -> Vec<UncoveredCluster> {
    /// Cells from the seed a cluster may reach: `reach_m` ÷ (`reach_m` ÷ 2).
    const RADIUS_CELLS: i64 = 2;
    let cells = bucket(uncovered, reach_m / 2.0);
    let keys: Vec<(i64, i64)> = cells.keys().copied().collect();
    let position: BTreeMap<(i64, i64), usize> =
        keys.iter().enumerate().map(|(i, &key)| (key, i)).collect();
    let sums: Vec<&CellSum> = cells.values().collect();
    let mut seeds: Vec<usize> = (0..keys.len()).collect();
    seeds.sort_by(|&a, &b| {
        sums[b]
            .weight
            .cmp(&sums[a].weight)
            .then(sums[b].count.cmp(&sums[a].count))
            .then(keys[a].cmp(&keys[b]))
    });
    let mut assigned = vec![false; keys.len()];
    let mut clusters = Vec::new();
    for seed in seeds {
        if assigned[seed] {
            continue;
        }
        assigned[seed] = true;
        let (seed_row, seed_col) = keys[seed];
        let mut stack = vec![seed];
        let mut merged = CellSum::default();
        let mut span = 0;
        while let Some(current) = stack.pop() {
            merged.absorb(sums[current]);
            span += 1;
            let (row, col) = keys[current];
            for (next_row, next_col) in neighbours(row, col) {
                let (dr, dc) = (next_row - seed_row, next_col - seed_col);
                if dr * dr + dc * dc > RADIUS_CELLS * RADIUS_CELLS {
                    continue;
                }
                if let Some(&next) = position.get(&(next_row, next_col))
                    && !assigned[next]
                {
                    assigned[next] = true;
                    stack.push(next);
                }
            }
        }
        if let (Some(centroid), Some(bounds)) = (merged.centroid(), merged.bounds) {
            clusters.push(UncoveredCluster {
                centroid,
                weight: merged.weight,
                residents: merged.count,
                cells: span,
                bounds,
            });
        }
    }
    clusters.sort_by(|a, b| {
        b.weight
            .cmp(&a.weight)
            .then(b.residents.cmp(&a.residents))
            .then(a.centroid.lat().total_cmp(&b.centroid.lat()))
            .then(a.centroid.lon().total_cmp(&b.centroid.lon()))
    });
    clusters
}

/// The eight cells touching cell (row, col).
fn neighbours(row: i64, col: i64) -> impl Iterator<Item = (i64, i64)> {
    (-1..=1)
        .flat_map(move |dr| (-1..=1).map(move |dc| (dr, dc)))
        .filter(|&step| step != (0, 0))
        .map(move |(dr, dc)| (row + dr, col + dc))
}

/// Candidate sites for new venues: the weighted centre of the uncovered residents in each
/// square cell of about `cell_m` metres. Half the walking reach is a good cell: every
/// uncovered resident is then near some candidate. Deterministic order (by cell).
pub fn candidate_sites(uncovered: &[ResidentPoint], cell_m: f64) -> Vec<Coordinates> {
    bucket(uncovered, cell_m)
        .values()
        .filter_map(CellSum::centroid)
        .collect()
}

/// One suggested site for a new venue, in the order the greedy search picked them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Suggestion {
    /// Where to put the venue.
    pub at: Coordinates,
    /// Weight of the residents this site covers that neither the existing venues nor the
    /// earlier suggestions cover.
    pub newly_covered_weight: u64,
    /// Number of those resident points.
    pub newly_covered_residents: usize,
    /// Covered weight once this and all earlier suggestions are built.
    pub cumulative_covered_weight: u64,
    /// That weight as a share of all residents, in 0..=1.
    pub cumulative_share: f64,
}

/// Picks up to `k` sites for new venues that together cover the most uncovered resident
/// weight within the baseline's minutes (greedy maximum coverage).
///
/// `uncovered` are the residents `baseline` found uncovered
/// ([`CoverageReport::uncovered_residents`]); `baseline` also supplies the minutes and the
/// totals for the cumulative share. An empty `candidates` slice means "generate them" with
/// [`candidate_sites`] at half the walking reach. Stops early when no candidate adds anything.
///
/// Greedy is the classic (1 − 1/e)-approximation for maximum coverage. It is evaluated
/// lazily: a candidate's gain can only shrink as sites are picked, so stale gains in a max-heap
/// are upper bounds and only the candidate on top needs recomputing. Ties go to the earlier
/// candidate, so the answer is deterministic.
pub fn suggest_sites(
    uncovered: &[ResidentPoint],
    candidates: &[Coordinates],
    k: usize,
    model: &WalkingModel,
    baseline: &CoverageReport,
) -> Vec<Suggestion> {
    let minutes = baseline.minutes();
    let reach_m = model.reach_m(minutes);
    let candidates: Cow<'_, [Coordinates]> = if candidates.is_empty() {
        Cow::Owned(candidate_sites(uncovered, reach_m / 2.0))
    } else {
        Cow::Borrowed(candidates)
    };
    let points: Vec<_> = uncovered.iter().map(|r| r.at).collect();
    let grid = PointGrid::build(&points, reach_m);
    let mut taken = vec![false; uncovered.len()];

    // Calls `visit` for each not-yet-covered resident the site would cover.
    let for_each_gain = |site: Coordinates, taken: &[bool], visit: &mut dyn FnMut(usize)| {
        let _ = grid.for_each_inside(
            site,
            reach_m,
            |distance_m| model.minutes_for_distance(distance_m) <= minutes,
            |i| {
                if !taken[i] {
                    visit(i);
                }
                ControlFlow::<()>::Continue(())
            },
        );
    };
    let gain_of = |site: Coordinates, taken: &[bool]| {
        let mut weight = 0u64;
        for_each_gain(site, taken, &mut |i| {
            weight += u64::from(uncovered[i].weight)
        });
        weight
    };

    // (gain, earlier candidate first, round in which the gain was computed)
    let mut heap: BinaryHeap<(u64, Reverse<usize>, usize)> = candidates
        .iter()
        .enumerate()
        .map(|(i, &site)| (gain_of(site, &taken), Reverse(i), 0))
        .collect();
    let mut covered_weight = baseline.covered_weight();
    let mut picked = Vec::new();
    while picked.len() < k {
        let Some((gain, Reverse(i), round)) = heap.pop() else {
            break;
        };
        if gain == 0 {
            break;
        }
        if round != picked.len() {
            heap.push((gain_of(candidates[i], &taken), Reverse(i), picked.len()));
            continue;
        }
        let mut newly = Vec::new();
        for_each_gain(candidates[i], &taken, &mut |j| newly.push(j));
        let newly_covered_residents = newly.len();
        for j in newly {
            taken[j] = true;
        }
        covered_weight += gain;
        picked.push(Suggestion {
            at: candidates[i],
            newly_covered_weight: gain,
            newly_covered_residents,
            cumulative_covered_weight: covered_weight,
            cumulative_share: share(covered_weight, baseline.total_weight()).unwrap_or(1.0),
        });
    }
    picked
}

/// Running sums for one grid cell or one cluster of cells.
#[derive(Debug, Clone, Default)]
struct CellSum {
    weight: u64,
    count: usize,
    /// Sum of weight × unit vector: the weighted centroid's direction.
    weighted: [f64; 3],
    /// Sum of unit vectors, for cells whose weights are all 0.
    plain: [f64; 3],
    bounds: Option<BoundingBox>,
}

impl CellSum {
    fn add(&mut self, resident: &ResidentPoint) {
        let v = resident.at.unit_vector();
        let w = f64::from(resident.weight);
        for ((weighted, plain), component) in self.weighted.iter_mut().zip(&mut self.plain).zip(v) {
            *weighted += w * component;
            *plain += component;
        }
        self.weight += u64::from(resident.weight);
        self.count += 1;
        self.bounds = Some(match self.bounds {
            Some(bounds) => bounds.including(resident.at),
            None => BoundingBox::from_point(resident.at),
        });
    }

    fn absorb(&mut self, other: &CellSum) {
        for (sum, part) in self.weighted.iter_mut().zip(other.weighted) {
            *sum += part;
        }
        for (sum, part) in self.plain.iter_mut().zip(other.plain) {
            *sum += part;
        }
        self.weight += other.weight;
        self.count += other.count;
        self.bounds = match (self.bounds, other.bounds) {
            (Some(a), Some(b)) => Some(a.union(b)),
            (a, b) => a.or(b),
        };
    }

    fn centroid(&self) -> Option<Coordinates> {
        if self.weight > 0 {
            Coordinates::from_vector(self.weighted)
        } else {
            Coordinates::from_vector(self.plain)
        }
    }
}

/// Buckets residents into square cells of about `cell_m` metres on a local equirectangular
/// plane (longitude scaled by the cosine of the middle latitude), keyed by (row, column).
/// Good for a district or a city; it does not wrap at the antimeridian.
fn bucket(residents: &[ResidentPoint], cell_m: f64) -> BTreeMap<(i64, i64), CellSum> {
    let mut cells: BTreeMap<(i64, i64), CellSum> = BTreeMap::new();
    let Some(bbox) = BoundingBox::from_points(residents.iter().map(|r| r.at)) else {
        return cells;
    };
    let cell_m = if cell_m.is_finite() && cell_m > 0.0 {
        cell_m.max(1.0)
    } else {
        1_000.0
    };
    let lon_scale = bbox.center().lat().to_radians().cos().max(1e-3);
    let cell_lat_deg = cell_m / METRES_PER_DEGREE;
    let cell_lon_deg = cell_lat_deg / lon_scale;
    for resident in residents {
        // Saturating float-to-int conversion is fine: cells this far apart never touch.
        #[allow(clippy::cast_possible_truncation)]
        let key = (
            (resident.at.lat() / cell_lat_deg).floor() as i64,
            (resident.at.lon() / cell_lon_deg).floor() as i64,
        );
        cells.entry(key).or_default().add(resident);
    }
    cells
}

#[cfg(test)]
mod tests {
    use super::super::circle::IndexedVenue;
    use super::*;
    use tongxin_platform::geo::{EARTH_RADIUS_M, distance_m};

    fn at(lat: f64, lon: f64) -> Coordinates {
        Coordinates::parse(lat, lon).expect("valid test coordinates")
    }

    /// `metres` due north (negative: south) of `p`; along a meridian the great-circle
    /// distance is exactly that.
    fn north(p: Coordinates, metres: f64) -> Coordinates {
        at(p.lat() + metres / METRES_PER_DEGREE, p.lon())
    }

    /// The point on `p`'s parallel whose great-circle distance from `p` is exactly `metres`
    /// (inverting haversine for equal latitudes: d = 2R·asin(cos φ · sin(Δλ/2))).
    fn east(p: Coordinates, metres: f64) -> Coordinates {
        let half = (metres / (2.0 * EARTH_RADIUS_M)).sin() / p.lat().to_radians().cos();
        at(p.lat(), p.lon() + (2.0 * half.asin()).to_degrees())
    }

    fn resident(at: Coordinates, weight: u32) -> ResidentPoint {
        ResidentPoint { at, weight }
    }

    /// The hand-worked map. Walking model: 4.8 km/h, detour 1.3, 15 minutes →
    /// 4800 m/h × 0.25 h ÷ 1.3 = 923.0769 m of straight line (80 m/min of path, so a resident
    /// d metres away walks d × 1.3 ÷ 80 minutes).
    ///
    /// Venues: A (courtyard) at O = 29.40 N 105.50 E; B (courtyard) 3000 m north of O;
    /// C (park) 3000 m east of O.
    ///
    /// | # | where            | weight | nearest venue        | covered |
    /// |---|------------------|--------|----------------------|---------|
    /// | 0 | O + 100 m N      | 10     | A 100 m (1.63 min)   | yes     |
    /// | 1 | O + 900 m N      | 5      | A 900 m (14.63 min)  | yes     |
    /// | 2 | O + 950 m N      | 7      | A 950 m (15.44 min)  | no      |
    /// | 3 | O + 2100 m N     | 4      | B 900 m (14.63 min)  | yes     |
    /// | 4 | O + 500 m E      | 3      | A 500 m              | yes     |
    /// | 5 | O + 2500 m E     | 6      | C ≈500 m             | yes     |
    /// | 6 | O + 1500 m S     | 8      | A 1500 m (24.4 min)  | no      |
    /// | 7 | O + 1600 m S     | 9      | A 1600 m             | no      |
    /// | 8 | O + 1700 m S     | 2      | A 1700 m             | no      |
    /// | 9 | C + 1500 m N     | 1      | C 1500 m             | no      |
    ///
    /// Total weight 55; covered 10 + 5 + 4 + 3 + 6 = 28; share 28 / 55 = 0.50909.
    struct Map {
        o: Coordinates,
        c: Coordinates,
        venues: VenueIndex<char>,
        residents: Vec<ResidentPoint>,
    }

    fn map() -> Map {
        let o = at(29.40, 105.50);
        let b = north(o, 3000.0);
        let c = east(o, 3000.0);
        let venues = VenueIndex::new([
            IndexedVenue {
                key: 'A',
                at: o,
                courtyard: true,
            },
            IndexedVenue {
                key: 'B',
                at: b,
                courtyard: true,
            },
            IndexedVenue {
                key: 'C',
                at: c,
                courtyard: false,
            },
        ]);
        let residents = vec![
            resident(north(o, 100.0), 10),
            resident(north(o, 900.0), 5),
            resident(north(o, 950.0), 7),
            resident(north(o, 2100.0), 4),
            resident(east(o, 500.0), 3),
            resident(east(o, 2500.0), 6),
            resident(north(o, -1500.0), 8),
            resident(north(o, -1600.0), 9),
            resident(north(o, -1700.0), 2),
            resident(north(c, 1500.0), 1),
        ];
        Map {
            o,
            c,
            venues,
            residents,
        }
    }

    #[test]
    fn coverage_of_the_hand_worked_map() {
        let map = map();
        let model = WalkingModel::default();
        let report = coverage(&map.residents, &map.venues, 15.0, &model);
        assert_eq!(
            report.covered(),
            [
                true, true, false, true, true, true, false, false, false, false
            ]
        );
        assert_eq!(report.total_weight(), 55);
        assert_eq!(report.covered_weight(), 28);
        assert_eq!(report.uncovered_weight(), 27);
        assert_eq!(report.covered_residents(), 5);
        assert_eq!(report.residents(), 10);
        let share = report.share().expect("residents exist");
        assert!((share - 28.0 / 55.0).abs() < 1e-12);
        assert_eq!(
            report.uncovered_indexes().collect::<Vec<_>>(),
            [2, 6, 7, 8, 9]
        );

        // Resident 5 is ≈500 m from C on the same parallel: check the hand value.
        let d = distance_m(map.residents[5].at, map.c);
        assert!((d - 500.0).abs() < 1e-3, "{d}");

        // With 16 minutes (985 m) resident 2 at 950 m joins: 35 / 55.
        let wider = coverage(&map.residents, &map.venues, 16.0, &model);
        assert_eq!(wider.covered_weight(), 35);
    }

    #[test]
    fn coverage_of_a_subset_and_of_nothing() {
        let map = map();
        let model = WalkingModel::default();
        let subset = &map.residents[5..8];
        let report = coverage(subset, &map.venues, 15.0, &model);
        assert_eq!(report.covered(), [true, false, false]);
        assert_eq!((report.covered_weight(), report.total_weight()), (6, 23));

        let none = coverage(&[], &map.venues, 15.0, &model);
        assert_eq!(none.share(), None);
        assert_eq!(none.residents(), 0);
        let no_venues: VenueIndex<char> = VenueIndex::new([]);
        let report = coverage(&map.residents, &no_venues, 15.0, &model);
        assert_eq!(report.share(), Some(0.0));
        let report = coverage(&map.residents, &map.venues, f64::NAN, &model);
        assert_eq!(report.covered_weight(), 0);
    }

    #[test]
    fn uncovered_clusters_of_the_hand_worked_map() {
        let map = map();
        let model = WalkingModel::default();
        let report = coverage(&map.residents, &map.venues, 15.0, &model);
        let uncovered = report.uncovered_residents(&map.residents);
        assert_eq!(uncovered.len(), 5);
        // Cells of half the 15-minute reach (461.5 m). Residents 6-8 lie within 200 m of
        // each other, so in one cell or two touching ones; resident 2 is 2450 m north of them
        // and resident 9 3000 m east of resident 2, far beyond one reach: three clusters.
        let clusters = uncovered_clusters(&uncovered, model.reach_m(15.0));
        let summary: Vec<_> = clusters.iter().map(|c| (c.weight, c.residents)).collect();
        assert_eq!(summary, [(19, 3), (7, 1), (1, 1)]);
        // Weighted centre of the southern cluster: (8 × 1500 + 9 × 1600 + 2 × 1700) ÷ 19
        // = 29 800 ÷ 19 = 1568.42 m south of O.
        let expected = north(map.o, -29_800.0 / 19.0);
        assert!(distance_m(clusters[0].centroid, expected) < 0.01);
        assert!(clusters[0].bounds.contains(map.residents[6].at));
        assert!(clusters[0].bounds.contains(map.residents[8].at));
        assert!(distance_m(clusters[1].centroid, map.residents[2].at) < 0.01);
        assert!(distance_m(clusters[2].centroid, map.residents[9].at) < 0.01);

        assert!(uncovered_clusters(&[], 1000.0).is_empty());
    }

    #[test]
    fn a_long_gap_splits_into_circle_sized_clusters() {
        let model = WalkingModel::default();
        let reach = model.reach_m(15.0);
        // 51 residents every 100 m along 5 km of meridian, weight heaviest in the middle.
        let start = at(29.30, 105.40);
        let line: Vec<_> = (0..=50u32)
            .map(|i| resident(north(start, f64::from(i) * 100.0), 1 + 25 - i.abs_diff(25)))
            .collect();
        let clusters = uncovered_clusters(&line, reach);
        assert!(clusters.len() >= 3, "{}", clusters.len());
        let residents: usize = clusters.iter().map(|c| c.residents).sum();
        assert_eq!(residents, line.len());
        let weight: u64 = clusters.iter().map(|c| c.weight).sum();
        assert_eq!(
            weight,
            line.iter().map(|r| u64::from(r.weight)).sum::<u64>()
        );
        for cluster in &clusters {
            let extent = (cluster.bounds.max_lat() - cluster.bounds.min_lat()) * METRES_PER_DEGREE;
            // At most the seed cell plus two cells either side: 5 × 461.5 m.
            assert!(extent <= 2.5 * reach, "{extent}");
        }
        // The heaviest cluster is the one around the middle of the line (2500 m).
        let middle = north(start, 2500.0);
        assert!(distance_m(clusters[0].centroid, middle) < reach);
        assert!(clusters.windows(2).all(|w| w[0].weight >= w[1].weight));
    }

    #[test]
    fn greedy_picks_the_two_sites_worked_out_by_hand() {
        let map = map();
        let model = WalkingModel::default();
        let report = coverage(&map.residents, &map.venues, 15.0, &model);
        let uncovered = report.uncovered_residents(&map.residents);
        // Candidates and what each would newly cover (reach 923.08 m):
        // P3 700 m S of O: residents 6 (800 m) and 7 (900 m), not 8 (1000 m) → 8 + 9 = 17;
        // P2 1200 m N of O: resident 2 (250 m) → 7 (residents 1 and 3 are covered already);
        // P1 1600 m S of O: residents 6, 7, 8 (100, 0, 100 m) → 19;
        // P4 1000 m N of C: resident 9 (500 m) → 1.
        // Greedy: P1 (19); then P3 adds 0, P2 adds 7 → P2 (total 28 + 19 + 7 = 54 of 55).
        let p3 = north(map.o, -700.0);
        let p2 = north(map.o, 1200.0);
        let p1 = north(map.o, -1600.0);
        let p4 = north(map.c, 1000.0);
        let candidates = [p3, p2, p1, p4];
        let picks = suggest_sites(&uncovered, &candidates, 2, &model, &report);
        let summary: Vec<_> = picks
            .iter()
            .map(|s| (s.at, s.newly_covered_weight, s.cumulative_covered_weight))
            .collect();
        assert_eq!(summary, [(p1, 19, 47), (p2, 7, 54)]);
        assert_eq!(picks[0].newly_covered_residents, 3);
        assert!((picks[0].cumulative_share - 47.0 / 55.0).abs() < 1e-12);
        assert!((picks[1].cumulative_share - 54.0 / 55.0).abs() < 1e-12);

        // Asking for more stops once nothing is gained: P4 adds 1, P3 adds nothing.
        let picks = suggest_sites(&uncovered, &candidates, 10, &model, &report);
        let sites: Vec<_> = picks.iter().map(|s| s.at).collect();
        assert_eq!(sites, [p1, p2, p4]);
        assert!((picks[2].cumulative_share - 1.0).abs() < 1e-12);
        assert!(suggest_sites(&uncovered, &candidates, 0, &model, &report).is_empty());
    }

    #[test]
    fn generated_candidates_cover_every_gap() {
        let map = map();
        let model = WalkingModel::default();
        let report = coverage(&map.residents, &map.venues, 15.0, &model);
        let uncovered = report.uncovered_residents(&map.residents);
        let generated = candidate_sites(&uncovered, model.reach_m(15.0) / 2.0);
        assert!((3..=5).contains(&generated.len()), "{generated:?}");
        let picks = suggest_sites(&uncovered, &[], 3, &model, &report);
        let gains: Vec<_> = picks.iter().map(|s| s.newly_covered_weight).collect();
        assert_eq!(gains, [19, 7, 1]);
        assert_eq!(picks[2].cumulative_covered_weight, 55);
    }

    #[test]
    fn ties_go_to_the_earlier_candidate() {
        let map = map();
        let model = WalkingModel::default();
        let report = coverage(&map.residents, &map.venues, 15.0, &model);
        let uncovered = report.uncovered_residents(&map.residents);
        // Both cover residents 6-8 entirely (at most 200 m away).
        let first = north(map.o, -1550.0);
        let second = north(map.o, -1650.0);
        let picks = suggest_sites(&uncovered, &[second, first], 1, &model, &report);
        assert_eq!(picks[0].at, second);
        let picks = suggest_sites(&uncovered, &[first, second], 1, &model, &report);
        assert_eq!(picks[0].at, first);
    }

    #[test]
    fn coverage_matches_brute_force_on_random_points() {
        let model = WalkingModel::default();
        let mut seed = 42u64;
        let mut unit = move || {
            seed = seed
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            #[allow(clippy::cast_precision_loss)]
            let top = (seed >> 11) as f64;
            top / (1u64 << 53) as f64
        };
        let mut point = || at(29.25 + 0.4 * unit(), 105.30 + 0.45 * unit());
        let venues: Vec<_> = (0..60u32)
            .map(|key| IndexedVenue {
                key,
                at: point(),
                courtyard: true,
            })
            .collect();
        let residents: Vec<_> = (0..3000u32).map(|i| resident(point(), i % 7)).collect();
        let index = VenueIndex::new(venues.clone());
        let report = coverage(&residents, &index, 15.0, &model);
        for (r, &covered) in residents.iter().zip(report.covered()) {
            let expected = venues
                .iter()
                .any(|v| model.walking_minutes(r.at, v.at) <= 15.0);
            assert_eq!(covered, expected);
        }
        let expected_weight: u64 = residents
            .iter()
            .zip(report.covered())
            .filter(|(_, c)| **c)
            .map(|(r, _)| u64::from(r.weight))
            .sum();
        assert_eq!(report.covered_weight(), expected_weight);
    }

    /// The centre of cell (row, col) of the clustering grid for cells of `cell_m` metres
    /// whose residents' middle latitude is `mid_lat` (longitude scaled by its cosine), so a
    /// test can put residents in exactly the cells it means, half a cell from any border.
    fn cell_centre(row: i64, col: i64, cell_m: f64, mid_lat: f64) -> Coordinates {
        let cell_lat_deg = cell_m / METRES_PER_DEGREE;
        let cell_lon_deg = cell_lat_deg / mid_lat.to_radians().cos();
        #[allow(clippy::cast_precision_loss)]
        let (row, col) = (row as f64, col as f64);
        at((row + 0.5) * cell_lat_deg, (col + 0.5) * cell_lon_deg)
    }

    /// A 5 × 5 block of cells of `cell_m` around 29.4 N 105.5 E, one resident in the centre
    /// of each: `weight(dr, dc)` for the cell `dr` rows north and `dc` columns east of the
    /// middle one. Returns the residents and the centre of cell (dr, dc).
    fn block(
        cell_m: f64,
        weight: impl Fn(i64, i64) -> u32,
    ) -> (Vec<ResidentPoint>, impl Fn(i64, i64) -> Coordinates) {
        #[allow(clippy::cast_possible_truncation)]
        let row0 = (29.4 * METRES_PER_DEGREE / cell_m).floor() as i64;
        #[allow(clippy::cast_precision_loss)]
        let mid_lat = (row0 as f64 + 0.5) * cell_m / METRES_PER_DEGREE;
        #[allow(clippy::cast_possible_truncation)]
        let col0 = (105.5 * METRES_PER_DEGREE * mid_lat.to_radians().cos() / cell_m).floor() as i64;
        let centre = move |dr: i64, dc: i64| cell_centre(row0 + dr, col0 + dc, cell_m, mid_lat);
        let mut residents = Vec::new();
        for dr in -2..=2 {
            for dc in -2..=2 {
                residents.push(resident(centre(dr, dc), weight(dr, dc)));
            }
        }
        // Set-up check: 25 residents in 25 distinct cells.
        assert_eq!(bucket(&residents, cell_m).len(), 25);
        (residents, centre)
    }

    #[test]
    fn a_cluster_reaches_two_cells_from_its_seed_and_no_further() {
        // Reach 2000 m → cells of 1000 m. The heavy middle cell seeds the first cluster; it
        // grows through sides and corners to every cell within two cells of the seed (centre
        // distance ≤ 2 cells): the 3 × 3 around it plus the four cells two straight steps
        // away, 13 cells. The 12 cells left form four corner groups of three cells, each
        // touching only at a corner ((2, 1) and (1, 2)) or a side, which become four clusters.
        let (residents, centre) = block(1000.0, |dr, dc| if (dr, dc) == (0, 0) { 10 } else { 1 });
        let clusters = uncovered_clusters(&residents, 2000.0);
        let summary: Vec<_> = clusters
            .iter()
            .map(|c| (c.weight, c.residents, c.cells))
            .collect();
        assert_eq!(
            summary,
            [(22, 13, 13), (3, 3, 3), (3, 3, 3), (3, 3, 3), (3, 3, 3)]
        );
        // The first cluster spans the straight steps two cells away, and its weighted centre
        // is the middle cell (the block is symmetric around it).
        let first = &clusters[0];
        for (dr, dc) in [(2, 0), (-2, 0), (0, 2), (0, -2)] {
            assert!(first.bounds.contains(centre(dr, dc)), "({dr}, {dc})");
        }
        assert!(distance_m(first.centroid, centre(0, 0)) < 1.0);
        // Each corner group holds its corner cell and the two beside it, and its weighted
        // centre lies between them: (2, 2), (2, 1), (1, 2) have their centre ⅓ of a cell from
        // (2, 2) towards (1, 1) in each direction.
        let mut corners = [(2, 2), (2, -2), (-2, 2), (-2, -2)].to_vec();
        for cluster in &clusters[1..] {
            let held: Vec<_> = corners
                .iter()
                .copied()
                .filter(|&(dr, dc)| cluster.bounds.contains(centre(dr, dc)))
                .collect();
            assert_eq!(held.len(), 1, "{cluster:?}");
            let (dr, dc) = held[0];
            let inner = centre(dr - dr.signum(), dc - dc.signum());
            assert!(cluster.bounds.contains(centre(dr, dc - dc.signum())));
            assert!(cluster.bounds.contains(centre(dr - dr.signum(), dc)));
            let expected_lat = (2.0 * centre(dr, dc).lat() + inner.lat()) / 3.0;
            let expected_lon = (2.0 * centre(dr, dc).lon() + inner.lon()) / 3.0;
            assert!(distance_m(cluster.centroid, at(expected_lat, expected_lon)) < 1.0);
            corners.retain(|&corner| corner != (dr, dc));
        }
        assert!(corners.is_empty());
    }

    #[test]
    fn a_cluster_of_touching_cells_joins_them_at_sides_and_corners() {
        // The 3 × 3 cells around the heavy middle one, and nothing else: one cluster of nine
        // cells, whatever direction a cell lies in.
        let (residents, _) = block(1000.0, |dr, dc| match (dr.abs(), dc.abs()) {
            (0, 0) => 10,
            (0 | 1, 0 | 1) => 1,
            _ => 0,
        });
        let inner: Vec<_> = residents.into_iter().filter(|r| r.weight > 0).collect();
        let clusters = uncovered_clusters(&inner, 2000.0);
        assert_eq!(clusters.len(), 1, "{clusters:?}");
        assert_eq!((clusters[0].weight, clusters[0].residents), (18, 9));
        assert_eq!(clusters[0].cells, 9);

        // Two single cells touching only at a corner are one gap, two cells apart are two.
        let (_, centre) = block(1000.0, |_, _| 1);
        let pick = |cells: &[(i64, i64)]| -> Vec<ResidentPoint> {
            cells
                .iter()
                .map(|&(dr, dc)| resident(centre(dr, dc), 4))
                .collect()
        };
        for diagonal in [[(0, 0), (1, 1)], [(0, 0), (1, -1)], [(0, 0), (-1, 1)]] {
            let clusters = uncovered_clusters(&pick(&diagonal), 2000.0);
            let summary: Vec<_> = clusters
                .iter()
                .map(|c| (c.weight, c.residents, c.cells))
                .collect();
            assert_eq!(summary, [(8, 2, 2)], "{diagonal:?}");
        }
        let apart = uncovered_clusters(&pick(&[(0, 0), (2, 0)]), 2000.0);
        assert_eq!(apart.len(), 2);
    }

    #[test]
    fn residents_without_weight_are_placed_but_weigh_nothing() {
        // Points with weight 0 (an empty household) still form a gap of their own, centred
        // on the plain mean of their positions.
        let o = at(29.40, 105.50);
        let zero = [
            resident(o, 0),
            resident(north(o, 100.0), 0),
            resident(east(o, 100.0), 0),
        ];
        let clusters = uncovered_clusters(&zero, 2000.0);
        assert_eq!(clusters.len(), 1, "{clusters:?}");
        assert_eq!((clusters[0].weight, clusters[0].residents), (0, 3));
        let mean = east(north(o, 100.0 / 3.0), 100.0 / 3.0);
        assert!(
            distance_m(clusters[0].centroid, mean) < 0.1,
            "{}",
            distance_m(clusters[0].centroid, mean)
        );
        let sites = candidate_sites(&zero[..1], 1000.0);
        assert_eq!(sites.len(), 1);
        assert!(distance_m(sites[0], o) < 1e-6);

        // Next to a weighted resident, they do not pull the centre.
        let mixed = [resident(o, 0), resident(north(o, 100.0), 5)];
        let clusters = uncovered_clusters(&mixed, 2000.0);
        assert_eq!((clusters[0].weight, clusters[0].residents), (5, 2));
        assert!(distance_m(clusters[0].centroid, mixed[1].at) < 1e-6);
    }

    #[test]
    fn a_suggested_site_covers_exactly_what_a_venue_there_would() {
        // One resident 4 mm inside the 15-minute reach of the site, one 4 mm outside:
        // a venue built there covers the first only, and so must the suggestion.
        let model = WalkingModel::default();
        let reach = model.reach_m(15.0);
        let site = at(29.40, 105.50);
        let residents = [
            resident(north(site, reach - 0.004), 3),
            resident(north(site, -(reach + 0.004)), 5),
        ];
        let built = VenueIndex::new([IndexedVenue {
            key: 'S',
            at: site,
            courtyard: true,
        }]);
        let after = coverage(&residents, &built, 15.0, &model);
        assert_eq!(after.covered(), [true, false]);

        let nothing: VenueIndex<char> = VenueIndex::new([]);
        let baseline = coverage(&residents, &nothing, 15.0, &model);
        let uncovered = baseline.uncovered_residents(&residents);
        let picks = suggest_sites(&uncovered, &[site], 1, &model, &baseline);
        assert_eq!(picks.len(), 1);
        assert_eq!(
            (
                picks[0].newly_covered_weight,
                picks[0].newly_covered_residents
            ),
            (3, 1)
        );
        assert_eq!(picks[0].cumulative_covered_weight, after.covered_weight());
    }

    #[test]
    fn without_candidates_the_sites_come_from_cells_of_half_the_reach() {
        let model = WalkingModel::default();
        let reach = model.reach_m(15.0);
        // 51 uncovered residents every 100 m along 5 km of meridian, heaviest in the middle.
        let start = at(29.30, 105.40);
        let line: Vec<_> = (0..=50u32)
            .map(|i| resident(north(start, f64::from(i) * 100.0), 1 + 25 - i.abs_diff(25)))
            .collect();
        let nothing: VenueIndex<char> = VenueIndex::new([]);
        let baseline = coverage(&line, &nothing, 15.0, &model);
        let generated = candidate_sites(&line, reach / 2.0);
        // 5 km in cells of 461.5 m: 11 or 12 cells.
        assert!((11..=12).contains(&generated.len()), "{}", generated.len());
        let own = suggest_sites(&line, &[], 4, &model, &baseline);
        let given = suggest_sites(&line, &generated, 4, &model, &baseline);
        assert_eq!(own, given);
        assert!(!own.is_empty());
        assert!(own.iter().all(|s| generated.contains(&s.at)));
    }

    #[test]
    fn a_nonsensical_cell_size_falls_back_to_a_kilometre() {
        let start = at(29.30, 105.40);
        let line: Vec<_> = (0..=50u32)
            .map(|i| resident(north(start, f64::from(i) * 100.0), 2))
            .collect();
        let kilometre = candidate_sites(&line, 1000.0);
        // 5 km of residents in 1 km cells: 5 or 6 cells.
        assert!((5..=6).contains(&kilometre.len()), "{}", kilometre.len());
        for cell_m in [
            0.0,
            -0.0,
            -100.0,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
        ] {
            assert_eq!(candidate_sites(&line, cell_m), kilometre, "{cell_m}");
        }
        // A positive size below a metre is a metre: 100 m apart, every resident its own cell.
        assert_eq!(candidate_sites(&line, 0.25).len(), line.len());
    }

    #[test]
    fn candidate_cells_are_square_in_metres() {
        // 20 km of residents every 50 m, once along the meridian and once along the parallel
        // at 29.4 N (where a degree of longitude is only 0.87 of a degree of latitude): in
        // cells of 1 km both lines span 20 or 21 cells.
        let o = at(29.40, 105.50);
        let north_line: Vec<_> = (0..=400u32)
            .map(|i| resident(north(o, f64::from(i) * 50.0), 1))
            .collect();
        let east_line: Vec<_> = (0..=400u32)
            .map(|i| resident(east(o, f64::from(i) * 50.0), 1))
            .collect();
        let along_meridian = candidate_sites(&north_line, 1000.0).len();
        let along_parallel = candidate_sites(&east_line, 1000.0).len();
        assert!((20..=21).contains(&along_meridian), "{along_meridian}");
        assert!((20..=21).contains(&along_parallel), "{along_parallel}");
    }
}
