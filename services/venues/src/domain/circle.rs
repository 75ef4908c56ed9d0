//! The 15-minute circle: which venues a point reaches on foot within N minutes, and which
//! courtyard's circle covers a point (how the orders service routes a citizen's order).
//!
//! The index is a uniform latitude/longitude grid kept in one array sorted by cell, so a query
//! reads a handful of contiguous slices (one per grid row it touches) instead of chasing
//! pointers. Candidates are tested with the squared chord between unit vectors, which is exact
//! (it grows strictly with great-circle distance) and needs no trigonometry; only the points
//! that pass get the haversine distance that decides and is reported. A query costs a few
//! microseconds at district scale, so it is rebuilt in memory from the store rather than kept
//! in the database.

use std::ops::ControlFlow;

use tongxin_platform::geo::{
    BoundingBox, Coordinates, EARTH_RADIUS_M, METRES_PER_DEGREE, WalkingModel, distance_m,
};

/// Grid cell edge used by [`VenueIndex::new`]: about the 15-minute reach, so a 15-minute query
/// reads at most 3 × 3 cells.
pub const DEFAULT_CELL_M: f64 = 1_000.0;

/// Slack added to a search radius before the cheap tests (grid window, chord). Far larger than
/// any rounding error and far smaller than anything that matters on foot; the exact haversine
/// test afterwards removes what the slack let in.
const SEARCH_SLACK_M: f64 = 0.01;

/// One venue as the index sees it: a key the caller understands, where it is, and whether it
/// is a courtyard (only courtyards take orders, so routing filters on it).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct IndexedVenue<K> {
    /// The caller's identifier, e.g. a `VenueId`.
    pub key: K,
    /// The venue's location.
    pub at: Coordinates,
    /// Whether it is a courtyard venue (小院讲堂) rather than another kind of venue.
    pub courtyard: bool,
}

/// A venue within walking reach of a point.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Reachable<K> {
    /// The venue's key.
    pub key: K,
    /// Great-circle distance in metres.
    pub distance_m: f64,
    /// Walking time in minutes under the district's [`WalkingModel`].
    pub minutes: f64,
}

/// An immutable spatial index over venue locations.
///
/// Built once from the venues of a district (or the whole deployment), then queried with any
/// number of minutes and any walking model. It assumes nothing about the region: queries near
/// the poles or across the antimeridian are answered correctly, only more slowly.
#[derive(Debug, Clone)]
pub struct VenueIndex<K> {
    venues: Vec<IndexedVenue<K>>,
    grid: PointGrid,
}

impl<K: Copy + Ord> VenueIndex<K> {
    /// Indexes the venues with [`DEFAULT_CELL_M`] cells. Duplicate keys are kept as given.
    pub fn new(venues: impl IntoIterator<Item = IndexedVenue<K>>) -> Self {
        Self::with_cell_size(venues, DEFAULT_CELL_M)
    }

    /// Indexes the venues with cells of about `cell_m` metres: pick roughly the reach of the
    /// most common query. Non-positive or non-finite sizes fall back to [`DEFAULT_CELL_M`].
    pub fn with_cell_size(venues: impl IntoIterator<Item = IndexedVenue<K>>, cell_m: f64) -> Self {
        let venues: Vec<_> = venues.into_iter().collect();
        let points: Vec<_> = venues.iter().map(|v| v.at).collect();
        Self {
            grid: PointGrid::build(&points, cell_m),
            venues,
        }
    }

    /// Number of indexed venues.
    pub fn len(&self) -> usize {
        self.venues.len()
    }

    /// Whether no venue is indexed.
    pub fn is_empty(&self) -> bool {
        self.venues.is_empty()
    }

    /// The indexed venues in the order they were given.
    pub fn venues(&self) -> &[IndexedVenue<K>] {
        &self.venues
    }

    /// Every venue reachable from `point` within `minutes` on foot, nearest first; equal
    /// walking times are ordered by key so the answer is deterministic. Negative or NaN
    /// minutes reach nothing.
    pub fn within(
        &self,
        point: Coordinates,
        minutes: f64,
        model: &WalkingModel,
    ) -> Vec<Reachable<K>> {
        let mut found = Vec::new();
        let _ = self.for_each_within(point, minutes, model, |reachable| {
            found.push(reachable);
            ControlFlow::<()>::Continue(())
        });
        found.sort_by(|a, b| a.minutes.total_cmp(&b.minutes).then(a.key.cmp(&b.key)));
        found
    }

    /// The nearest venue accepted by `filter` whose circle of `minutes` covers `point` (ties
    /// by key), or `None` when no such venue is in reach.
    pub fn nearest_covering(
        &self,
        point: Coordinates,
        minutes: f64,
        model: &WalkingModel,
        filter: impl Fn(&IndexedVenue<K>) -> bool,
    ) -> Option<Reachable<K>> {
        let mut best: Option<Reachable<K>> = None;
        let _ = self.for_each_within_where(point, minutes, model, &filter, |candidate| {
            let better = best.is_none_or(|b| {
                candidate
                    .minutes
                    .total_cmp(&b.minutes)
                    .then(candidate.key.cmp(&b.key))
                    .is_lt()
            });
            if better {
                best = Some(candidate);
            }
            ControlFlow::<()>::Continue(())
        });
        best
    }

    /// The courtyard whose circle covers `point`, nearest first: where a citizen's order goes.
    pub fn covering_courtyard(
        &self,
        point: Coordinates,
        minutes: f64,
        model: &WalkingModel,
    ) -> Option<Reachable<K>> {
        self.nearest_covering(point, minutes, model, |v| v.courtyard)
    }

    /// Whether any venue is within `minutes` of `point`; stops at the first one found, which
    /// is what makes coverage of hundreds of thousands of residents cheap.
    pub fn covers(&self, point: Coordinates, minutes: f64, model: &WalkingModel) -> bool {
        if minutes.is_nan() || minutes < 0.0 {
            return false;
        }
        let radius_m = model.reach_m(minutes);
        self.grid
            .for_each_inside(
                point,
                radius_m,
                |distance_m| model.minutes_for_distance(distance_m) <= minutes,
                |_| ControlFlow::Break(()),
            )
            .is_break()
    }

    /// Calls `visit` for every venue within `minutes` of `point`, in no particular order,
    /// until it breaks.
    pub fn for_each_within<B>(
        &self,
        point: Coordinates,
        minutes: f64,
        model: &WalkingModel,
        visit: impl FnMut(Reachable<K>) -> ControlFlow<B>,
    ) -> ControlFlow<B> {
        self.for_each_within_where(point, minutes, model, |_| true, visit)
    }

    fn for_each_within_where<B>(
        &self,
        point: Coordinates,
        minutes: f64,
        model: &WalkingModel,
        filter: impl Fn(&IndexedVenue<K>) -> bool,
        mut visit: impl FnMut(Reachable<K>) -> ControlFlow<B>,
    ) -> ControlFlow<B> {
        if minutes.is_nan() || minutes < 0.0 {
            return ControlFlow::Continue(());
        }
        let radius_m = model.reach_m(minutes);
        self.grid
            .for_each_near(point, radius_m, |item, distance_m| {
                let venue = &self.venues[item];
                let walking = model.minutes_for_distance(distance_m);
                if walking <= minutes && filter(venue) {
                    visit(Reachable {
                        key: venue.key,
                        distance_m,
                        minutes: walking,
                    })
                } else {
                    ControlFlow::Continue(())
                }
            })
    }
}

/// A uniform latitude/longitude grid over a fixed list of points, stored as one array sorted
/// by cell with an offset table (compressed sparse rows).
///
/// Shared by the venue index and by the site search over residents in `coverage`.
#[derive(Debug, Clone)]
pub(crate) struct PointGrid {
    origin_lat: f64,
    origin_lon: f64,
    cell_lat_deg: f64,
    cell_lon_deg: f64,
    rows: usize,
    cols: usize,
    /// `starts[c]..starts[c + 1]` are the slots of cell `c = row × cols + col`.
    starts: Vec<usize>,
    slots: Vec<Slot>,
}

#[derive(Debug, Clone, Copy)]
struct Slot {
    xyz: [f64; 3],
    at: Coordinates,
    item: usize,
}

impl PointGrid {
    /// Buckets `points` (their positions in the slice are the items reported back) into cells
    /// of about `cell_m` metres. The cell grows when the points are spread so widely that the
    /// grid would have far more cells than points, so memory stays proportional to the input.
    pub(crate) fn build(points: &[Coordinates], cell_m: f64) -> Self {
        let Some(bbox) = BoundingBox::from_points(points.iter().copied()) else {
            return Self {
                origin_lat: 0.0,
                origin_lon: 0.0,
                cell_lat_deg: 1.0,
                cell_lon_deg: 1.0,
                rows: 0,
                cols: 0,
                starts: vec![0],
                slots: Vec::new(),
            };
        };
        let mut cell_m = if cell_m.is_finite() && cell_m > 0.0 {
            cell_m.max(1.0)
        } else {
            DEFAULT_CELL_M
        };
        // Longitude cells are sized for the latitude where a degree is shortest, so no cell is
        // narrower than `cell_m` anywhere in the grid.
        let widest_lat = bbox.min_lat().abs().max(bbox.max_lat().abs());
        let lon_scale = widest_lat.to_radians().cos().max(1e-3);
        let max_cells = points.len().saturating_mul(4).max(1 << 16);
        let (cell_lat_deg, cell_lon_deg, rows, cols) = loop {
            let cell_lat_deg = cell_m / METRES_PER_DEGREE;
            let cell_lon_deg = cell_lat_deg / lon_scale;
            let rows = cells_spanned(bbox.max_lat() - bbox.min_lat(), cell_lat_deg);
            let cols = cells_spanned(bbox.max_lon() - bbox.min_lon(), cell_lon_deg);
            if rows.saturating_mul(cols) <= max_cells {
                break (cell_lat_deg, cell_lon_deg, rows, cols);
            }
            cell_m *= 2.0;
        };
        let mut grid = Self {
            origin_lat: bbox.min_lat(),
            origin_lon: bbox.min_lon(),
            cell_lat_deg,
            cell_lon_deg,
            rows,
            cols,
            starts: vec![0; rows * cols + 1],
            slots: Vec::with_capacity(points.len()),
        };
        // Counting sort by cell, stable, so equal inputs always give the same layout.
        let cells: Vec<usize> = points
            .iter()
            .map(|p| grid.row_of(p.lat()) * cols + grid.col_of(p.lon()))
            .collect();
        for &cell in &cells {
            grid.starts[cell + 1] += 1;
        }
        for c in 0..rows * cols {
            grid.starts[c + 1] += grid.starts[c];
        }
        let mut next = grid.starts.clone();
        let mut slots = vec![None; points.len()];
        for (item, (&cell, &at)) in cells.iter().zip(points).enumerate() {
            slots[next[cell]] = Some(Slot {
                xyz: at.unit_vector(),
                at,
                item,
            });
            next[cell] += 1;
        }
        grid.slots = slots.into_iter().flatten().collect();
        grid
    }

    /// Calls `visit(item, distance_m)` for every point within `radius_m` metres of `center`,
    /// and possibly for points up to a centimetre further: callers apply their own exact test
    /// (usually in minutes) to the haversine distance they are given.
    pub(crate) fn for_each_near<B>(
        &self,
        center: Coordinates,
        radius_m: f64,
        mut visit: impl FnMut(usize, f64) -> ControlFlow<B>,
    ) -> ControlFlow<B> {
        if radius_m.is_nan() || radius_m < 0.0 {
            return ControlFlow::Continue(());
        }
        self.for_each_candidate(center, radius_m, |slot, _| {
            visit(slot.item, distance_m(center, slot.at))
        })
    }

    /// Calls `visit(item)` for every point whose haversine distance `d` from `center` passes
    /// `accept(d)`, where `accept` must be true for distances up to about `radius_m` and false
    /// beyond (e.g. "walking minutes ≤ N" with `radius_m` the reach of N minutes).
    ///
    /// The chord alone decides points more than a centimetre inside or outside the radius, so
    /// almost no point costs any trigonometry; only the 2 cm band in between is settled by
    /// `accept` on the exact distance. The answers are therefore identical to testing `accept`
    /// on every point, just much cheaper: what bulk coverage and the site search need.
    pub(crate) fn for_each_inside<B>(
        &self,
        center: Coordinates,
        radius_m: f64,
        accept: impl Fn(f64) -> bool,
        mut visit: impl FnMut(usize) -> ControlFlow<B>,
    ) -> ControlFlow<B> {
        if radius_m.is_nan() || radius_m < 0.0 {
            return ControlFlow::Continue(());
        }
        let inner_chord2 = if radius_m > SEARCH_SLACK_M {
            chord2_for(radius_m - SEARCH_SLACK_M)
        } else {
            -1.0
        };
        self.for_each_candidate(center, radius_m, |slot, chord2| {
            if chord2 <= inner_chord2 || accept(distance_m(center, slot.at)) {
                visit(slot.item)
            } else {
                ControlFlow::Continue(())
            }
        })
    }

    /// Calls `visit(slot, squared chord)` for every point within `radius_m` plus the slack.
    fn for_each_candidate<B>(
        &self,
        center: Coordinates,
        radius_m: f64,
        mut visit: impl FnMut(&Slot, f64) -> ControlFlow<B>,
    ) -> ControlFlow<B> {
        if self.slots.is_empty() {
            return ControlFlow::Continue(());
        }
        let search_m = radius_m + SEARCH_SLACK_M;
        let window = BoundingBox::around(center, search_m);
        let Some((row_lo, row_hi)) = cell_range(
            window.min_lat(),
            window.max_lat(),
            self.origin_lat,
            self.cell_lat_deg,
            self.rows,
        ) else {
            return ControlFlow::Continue(());
        };
        let Some((col_lo, col_hi)) = cell_range(
            window.min_lon(),
            window.max_lon(),
            self.origin_lon,
            self.cell_lon_deg,
            self.cols,
        ) else {
            return ControlFlow::Continue(());
        };
        let max_chord2 = chord2_for(search_m);
        let [cx, cy, cz] = center.unit_vector();
        for row in row_lo..=row_hi {
            let first = self.starts[row * self.cols + col_lo];
            let last = self.starts[row * self.cols + col_hi + 1];
            for slot in &self.slots[first..last] {
                let [x, y, z] = slot.xyz;
                let chord2 = (x - cx).powi(2) + (y - cy).powi(2) + (z - cz).powi(2);
                if chord2 <= max_chord2 {
                    visit(slot, chord2)?;
                }
            }
        }
        ControlFlow::Continue(())
    }

    fn row_of(&self, lat: f64) -> usize {
        cell_index(lat, self.origin_lat, self.cell_lat_deg, self.rows)
    }

    fn col_of(&self, lon: f64) -> usize {
        cell_index(lon, self.origin_lon, self.cell_lon_deg, self.cols)
    }
}

/// Squared chord between two unit vectors `metres` apart on the great circle; it grows
/// strictly with the distance up to the antipode, where it is 4.
fn chord2_for(metres: f64) -> f64 {
    let half_angle = (metres / EARTH_RADIUS_M).min(std::f64::consts::PI) / 2.0;
    (2.0 * half_angle.sin()).powi(2)
}

/// Number of cells of `cell` degrees needed to cover `extent` degrees from the origin
/// (saturating, so a huge count simply fails the size check and the cell grows).
fn cells_spanned(extent: f64, cell: f64) -> usize {
    // Saturating float-to-int conversion is the intent here.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let spanned = (extent / cell).floor() as usize;
    spanned.saturating_add(1)
}

/// The cell holding `value`, clamped to the grid. The same monotone formula is used for
/// points and for window edges, so a point inside a window always lands in a cell of it.
fn cell_index(value: f64, origin: f64, cell: f64, count: usize) -> usize {
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let index = ((value - origin) / cell).floor().max(0.0) as usize;
    index.min(count.saturating_sub(1))
}

/// The inclusive range of cells that `lo..=hi` touches, or `None` when it misses the grid.
fn cell_range(lo: f64, hi: f64, origin: f64, cell: f64, count: usize) -> Option<(usize, usize)> {
    let first = ((lo - origin) / cell).floor();
    let last = ((hi - origin) / cell).floor();
    #[allow(clippy::cast_precision_loss)]
    let beyond = count as f64;
    if last < 0.0 || first >= beyond {
        return None;
    }
    Some((
        cell_index(lo, origin, cell, count),
        cell_index(hi, origin, cell, count),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(lat: f64, lon: f64) -> Coordinates {
        Coordinates::parse(lat, lon).expect("valid test coordinates")
    }

    fn venue(key: u32, lat: f64, lon: f64, courtyard: bool) -> IndexedVenue<u32> {
        IndexedVenue {
            key,
            at: at(lat, lon),
            courtyard,
        }
    }

    /// One degree of latitude on the sphere: 6 371 008.8 m × π / 180 = 111 195.0797 m.
    const M_PER_DEG: f64 = 111_195.079_7;

    #[test]
    fn within_ranks_by_walking_time_against_hand_computed_distances() {
        let origin = at(29.40, 105.50);
        let index = VenueIndex::new([
            // 0.01° north: 1111.9508 m; × 1.3 ÷ 80 m/min = 18.0692 min.
            venue(3, 29.41, 105.50, true),
            // 0.005° south: 555.9754 m → 9.0346 min.
            venue(2, 29.395, 105.50, false),
            // 0.002° north: 222.3902 m → 3.6138 min.
            venue(1, 29.402, 105.50, true),
            // 0.02° north: 2223.9016 m → 36.1384 min, beyond 20 minutes.
            venue(4, 29.42, 105.50, true),
        ]);
        let model = WalkingModel::default();
        let found = index.within(origin, 20.0, &model);
        let keys: Vec<_> = found.iter().map(|r| r.key).collect();
        assert_eq!(keys, [1, 2, 3]);
        let expected = [
            (0.002 * M_PER_DEG, 3.613_840),
            (0.005 * M_PER_DEG, 9.034_600),
            (0.01 * M_PER_DEG, 18.069_201),
        ];
        for (r, (metres, minutes)) in found.iter().zip(expected) {
            assert!((r.distance_m - metres).abs() < 1e-3, "{r:?}");
            assert!((r.minutes - minutes).abs() < 1e-5, "{r:?}");
        }
        // At 18 minutes the venue 1111.95 m away (18.07 min) drops out.
        assert_eq!(index.within(origin, 18.0, &model).len(), 2);
        // A slower, hillier district reaches less: 3.6 km/h and 1.5 → 60 m/min ÷ 1.5 = 40 m of
        // straight line per minute, so 10 minutes reach 400 m: only the 222 m venue.
        let hilly = WalkingModel::new(3.6, 1.5).expect("valid model");
        let keys: Vec<_> = index
            .within(origin, 10.0, &hilly)
            .iter()
            .map(|r| r.key)
            .collect();
        assert_eq!(keys, [1]);
    }

    #[test]
    fn equal_walking_times_are_ordered_by_key() {
        let index = VenueIndex::new([
            venue(9, 29.401, 105.5, true),
            venue(4, 29.399, 105.5, true),
            venue(7, 29.401, 105.5, false),
        ]);
        let found = index.within(at(29.40, 105.5), 15.0, &WalkingModel::default());
        let keys: Vec<_> = found.iter().map(|r| r.key).collect();
        assert_eq!(keys, [4, 7, 9]);
    }

    #[test]
    fn covering_courtyard_skips_closer_non_courtyards_and_respects_the_circle() {
        let model = WalkingModel::default();
        let index = VenueIndex::new([
            venue(1, 29.4005, 105.5, false), // park, 55.6 m
            venue(2, 29.4030, 105.5, true),  // courtyard, 333.6 m
            venue(3, 29.3950, 105.5, true),  // courtyard, 556.0 m
        ]);
        let point = at(29.40, 105.5);
        let nearest_any = index
            .nearest_covering(point, 15.0, &model, |_| true)
            .expect("a venue in reach");
        assert_eq!(nearest_any.key, 1);
        let courtyard = index
            .covering_courtyard(point, 15.0, &model)
            .expect("a courtyard in reach");
        assert_eq!(courtyard.key, 2);
        assert!((courtyard.distance_m - 0.003 * M_PER_DEG).abs() < 1e-3);
        // 5 minutes reach 307.7 m: the park still, but no courtyard.
        assert!(index.covering_courtyard(point, 5.0, &model).is_none());
        assert!(index.covers(point, 5.0, &model));
        assert!(!index.covers(at(29.5, 105.5), 15.0, &model));
    }

    #[test]
    fn nonsense_minutes_reach_nothing_and_empty_index_answers_empty() {
        let model = WalkingModel::default();
        let index = VenueIndex::new([venue(1, 29.4, 105.5, true)]);
        let point = at(29.4, 105.5);
        assert!(index.within(point, -1.0, &model).is_empty());
        assert!(index.within(point, f64::NAN, &model).is_empty());
        // Zero minutes still reach a venue standing exactly on the point.
        assert_eq!(index.within(point, 0.0, &model).len(), 1);
        assert_eq!(
            index.within(at(-29.4, -74.5), f64::INFINITY, &model).len(),
            1
        );
        let empty: VenueIndex<u32> = VenueIndex::new([]);
        assert!(empty.is_empty());
        assert!(empty.within(point, 15.0, &model).is_empty());
        assert!(empty.covering_courtyard(point, 15.0, &model).is_none());
    }

    /// A small deterministic generator, so the tests need no external crate.
    struct Lcg(u64);

    impl Lcg {
        fn unit(&mut self) -> f64 {
            self.0 = self
                .0
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            #[allow(clippy::cast_precision_loss)]
            let top = (self.0 >> 11) as f64;
            top / (1u64 << 53) as f64
        }

        fn between(&mut self, lo: f64, hi: f64) -> f64 {
            lo + (hi - lo) * self.unit()
        }
    }

    fn brute_force(
        venues: &[IndexedVenue<u32>],
        point: Coordinates,
        minutes: f64,
        model: &WalkingModel,
    ) -> Vec<u32> {
        let mut found: Vec<_> = venues
            .iter()
            .map(|v| (model.walking_minutes(point, v.at), v.key))
            .filter(|(m, _)| *m <= minutes)
            .collect();
        found.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        found.into_iter().map(|(_, key)| key).collect()
    }

    #[test]
    fn grid_answers_match_brute_force_anywhere_on_earth() {
        let model = WalkingModel::default();
        let mut rng = Lcg(7);
        // A district, a polar region, and a region straddling the antimeridian.
        let regions = [
            (29.25, 29.65, 105.30, 105.75),
            (88.5, 90.0, -180.0, 180.0),
            (-17.5, -16.5, 179.4, 180.0),
        ];
        for (lat_lo, lat_hi, lon_lo, lon_hi) in regions {
            let mut venues: Vec<_> = (0..300)
                .map(|key| {
                    venue(
                        key,
                        rng.between(lat_lo, lat_hi),
                        rng.between(lon_lo, lon_hi),
                        key % 3 == 0,
                    )
                })
                .collect();
            let straddles = lon_hi == 180.0 && lon_lo > 0.0;
            if straddles {
                // Mirror half of them to the other side of the antimeridian.
                for v in venues.iter_mut().step_by(2) {
                    v.at = at(v.at.lat(), -v.at.lon());
                }
            }
            for cell_m in [250.0, DEFAULT_CELL_M, 5_000.0] {
                let index = VenueIndex::with_cell_size(venues.clone(), cell_m);
                for _ in 0..200 {
                    let lon = rng.between(lon_lo, lon_hi);
                    let flip = straddles && rng.unit() < 0.5;
                    let point = at(rng.between(lat_lo, lat_hi), if flip { -lon } else { lon });
                    for minutes in [0.5, 15.0, 45.0, 600.0] {
                        let keys: Vec<_> = index
                            .within(point, minutes, &model)
                            .iter()
                            .map(|r| r.key)
                            .collect();
                        let expected = brute_force(&venues, point, minutes, &model);
                        assert_eq!(index.covers(point, minutes, &model), !expected.is_empty());
                        assert_eq!(keys, expected);
                        let courtyard = index.covering_courtyard(point, minutes, &model);
                        let expected = brute_force(&venues, point, minutes, &model)
                            .into_iter()
                            .find(|k| k % 3 == 0);
                        assert_eq!(courtyard.map(|r| r.key), expected);
                    }
                }
            }
        }
    }

    #[test]
    fn widely_spread_points_keep_the_grid_small() {
        let points = [at(-60.0, -170.0), at(70.0, 170.0), at(0.0, 0.0)];
        let grid = PointGrid::build(&points, 1.0);
        assert!(grid.rows * grid.cols <= 1 << 16);
        let mut seen = Vec::new();
        let _ = grid.for_each_near(at(0.0, 0.0), 1.0, |item, d| {
            seen.push((item, d));
            ControlFlow::<()>::Continue(())
        });
        assert_eq!(seen, [(2, 0.0)]);
    }

    #[test]
    fn the_index_keeps_every_venue_in_the_order_given() {
        let venues = [
            venue(5, 29.41, 105.5, true),
            venue(2, 29.40, 105.5, false),
            venue(5, 29.39, 105.5, false),
        ];
        let index = VenueIndex::new(venues);
        assert_eq!(index.len(), 3);
        assert!(!index.is_empty());
        // Duplicate keys are kept, and nothing is reordered by the grid.
        assert_eq!(index.venues(), venues);
        let empty: VenueIndex<u32> = VenueIndex::new([]);
        assert_eq!(empty.len(), 0);
        assert!(empty.venues().is_empty());
    }

    #[test]
    fn zero_minutes_cover_only_a_venue_standing_on_the_point() {
        let model = WalkingModel::default();
        let point = at(29.40, 105.50);
        let on_the_point = VenueIndex::new([venue(1, 29.40, 105.50, true)]);
        assert!(on_the_point.covers(point, 0.0, &model));
        // 5 mm north: inside the centimetre of search slack, but 0 minutes walk no distance.
        let five_mm = VenueIndex::new([venue(1, 29.40 + 0.005 / M_PER_DEG, 105.50, true)]);
        assert!(!five_mm.covers(point, 0.0, &model));
        assert!(five_mm.within(point, 0.0, &model).is_empty());
        // A thousandth of a minute reaches 6 cm.
        assert!(five_mm.covers(point, 0.001, &model));
    }

    #[test]
    fn the_circle_edge_is_settled_by_walking_minutes_to_the_last_bit() {
        let model = WalkingModel::default();
        let point = at(29.40, 105.50);
        let courtyard = at(29.408, 105.50); // 889.56 m north: 14.455 minutes
        let index = VenueIndex::new([IndexedVenue {
            key: 1,
            at: courtyard,
            courtyard: true,
        }]);
        let exact = model.walking_minutes(point, courtyard);
        assert!((exact - 14.455_361).abs() < 1e-5, "{exact}");
        // Exactly the walking time: covered, by every query.
        assert!(index.covers(point, exact, &model));
        assert_eq!(index.within(point, exact, &model).len(), 1);
        assert_eq!(
            index
                .covering_courtyard(point, exact, &model)
                .map(|r| r.key),
            Some(1)
        );
        // A nanosecond-scale fraction of a minute short (0.06 µm of reach): not covered.
        let short = exact - 1e-9;
        assert!(!index.covers(point, short, &model));
        assert!(index.within(point, short, &model).is_empty());
        assert!(index.covering_courtyard(point, short, &model).is_none());
    }

    #[test]
    fn inside_answers_match_accept_at_the_edge_and_the_chord_decides_the_rest() {
        let center = at(29.40, 105.50);
        let north = |metres: f64| at(29.40 + metres / M_PER_DEG, 105.50);
        let points = [
            north(400.0),     // 0: deep inside
            north(999.995),   // 1: 5 mm inside the radius
            north(1_000.005), // 2: 5 mm outside
            north(1_000.03),  // 3: 3 cm outside, beyond the slack
            north(3_000.0),   // 4: far outside
            center,           // 5: on the centre
        ];
        let d = |i: usize| distance_m(center, points[i]);
        let radius = d(1) + 0.005;
        assert!(d(2) > radius && d(2) < radius + SEARCH_SLACK_M);
        assert!(d(3) > radius + SEARCH_SLACK_M);
        let grid = PointGrid::build(&points, DEFAULT_CELL_M);
        let asked = std::cell::RefCell::new(Vec::new());
        let mut inside = Vec::new();
        let _ = grid.for_each_inside(
            center,
            radius,
            |distance| {
                asked.borrow_mut().push(distance);
                distance <= radius
            },
            |item| {
                inside.push(item);
                ControlFlow::<()>::Continue(())
            },
        );
        inside.sort_unstable();
        // The same answer as testing `accept` on every point…
        assert_eq!(inside, [0, 1, 5]);
        // …but only the two points within a centimetre of the edge needed the haversine.
        let mut asked = asked.into_inner();
        asked.sort_by(f64::total_cmp);
        assert_eq!(asked, [d(1), d(2)]);

        // A zero radius holds the centre only, not a point 5 mm away inside the slack.
        let points = [north(0.005), center];
        let grid = PointGrid::build(&points, DEFAULT_CELL_M);
        let mut inside = Vec::new();
        let _ = grid.for_each_inside(
            center,
            0.0,
            |distance| distance <= 0.0,
            |item| {
                inside.push(item);
                ControlFlow::<()>::Continue(())
            },
        );
        assert_eq!(inside, [1]);
    }

    #[test]
    fn a_negative_or_nan_radius_reaches_nothing_not_even_the_centre() {
        let center = at(29.40, 105.50);
        let grid = PointGrid::build(&[center], DEFAULT_CELL_M);
        for radius in [-1.0, f64::NAN] {
            let mut seen = 0;
            let _ = grid.for_each_near(center, radius, |_, _| {
                seen += 1;
                ControlFlow::<()>::Continue(())
            });
            let _ = grid.for_each_inside(
                center,
                radius,
                |_| true,
                |_| {
                    seen += 1;
                    ControlFlow::<()>::Continue(())
                },
            );
            assert_eq!(seen, 0, "radius {radius}");
        }
    }

    #[test]
    fn the_grid_uses_the_asked_cell_or_the_default_and_no_cell_is_narrower() {
        // A district of 0.2° × 0.2° (22 km × 19 km) around 29.5°N.
        let district = [at(29.4, 105.4), at(29.6, 105.6), at(29.5, 105.5)];
        let widest = 29.6_f64.to_radians().cos();
        for (asked, used) in [
            (250.0, 250.0),
            (DEFAULT_CELL_M, DEFAULT_CELL_M),
            (2_500.0, 2_500.0),
            (0.0, DEFAULT_CELL_M),
            (-5.0, DEFAULT_CELL_M),
            (f64::NAN, DEFAULT_CELL_M),
            (f64::INFINITY, DEFAULT_CELL_M),
            (f64::NEG_INFINITY, DEFAULT_CELL_M),
        ] {
            let grid = PointGrid::build(&district, asked);
            let north_south = grid.cell_lat_deg * METRES_PER_DEGREE;
            // Measured along the district's northern edge, where a degree of longitude is
            // shortest: exactly the cell, so nowhere narrower.
            let east_west = grid.cell_lon_deg * METRES_PER_DEGREE * widest;
            assert!((north_south - used).abs() < 1e-6, "{asked}: {north_south}");
            assert!((east_west - used).abs() < 1e-6, "{asked}: {east_west}");
            let rows = (0.2 * METRES_PER_DEGREE / used).floor() as usize + 1;
            let cols = (0.2 * METRES_PER_DEGREE * widest / used).floor() as usize + 1;
            assert_eq!((grid.rows, grid.cols), (rows, cols), "{asked}");
        }
    }

    #[test]
    fn a_widely_spread_grid_doubles_its_cell_until_it_fits() {
        let points = [at(-60.0, -170.0), at(70.0, 170.0), at(0.0, 0.0)];
        let grid = PointGrid::build(&points, 1.0);
        // 1 m doubled 16 times: at 32 768 m the grid would need 442 × 395 = 174 590 cells,
        // more than 2^16; at 65 536 m it needs 221 × 198 = 43 758.
        let cell_m = grid.cell_lat_deg * METRES_PER_DEGREE;
        assert!((cell_m - 65_536.0).abs() < 1e-6, "{cell_m}");
        assert_eq!((grid.rows, grid.cols), (221, 198));
    }

    #[test]
    fn cells_are_counted_from_the_origin_and_clamped_to_the_grid() {
        // Cells of 0.5 from origin 1.0, ten of them: [1.0, 1.5), [1.5, 2.0), …
        assert_eq!(cell_index(2.7, 1.0, 0.5, 10), 3);
        assert_eq!(cell_index(1.0, 1.0, 0.5, 10), 0);
        assert_eq!(cell_index(0.2, 1.0, 0.5, 10), 0);
        assert_eq!(cell_index(9.0, 1.0, 0.5, 10), 9);
        // Four cells of 0.5 from origin 0: the window's cells, or none when it misses.
        assert_eq!(cell_range(0.7, 1.2, 0.0, 0.5, 4), Some((1, 2)));
        assert_eq!(cell_range(-1.0, 0.7, 0.0, 0.5, 4), Some((0, 1)));
        assert_eq!(cell_range(1.2, 9.0, 0.0, 0.5, 4), Some((2, 3)));
        assert_eq!(cell_range(-2.0, -1.0, 0.0, 0.5, 4), None);
        assert_eq!(cell_range(-2.0, -0.1, 0.0, 0.5, 4), None);
        assert_eq!(cell_range(2.0, 3.0, 0.0, 0.5, 4), None);
    }
}
