//! Geography shared by the services: parsed coordinates, great-circle distance, the walking
//! model behind the 15-minute circle, and latitude/longitude boxes.
//!
//! Everything is plain arithmetic on a spherical earth with the mean radius. The design defines
//! walking time as great-circle distance × detour factor ÷ walking speed, so a sphere is exactly
//! what the rule asks for; an ellipsoid would change distances by well under 0.5 %, far less
//! than the uncertainty the detour factor already stands for.
//!
//! Values are parsed, not checked: once a [`Coordinates`] or a [`WalkingModel`] exists it is
//! valid, so the functions that take them never need to fail.

use std::f64::consts::PI;
use std::fmt;

/// Mean earth radius (IUGG R1) in metres: the radius the haversine distance uses.
pub const EARTH_RADIUS_M: f64 = 6_371_008.8;

/// Length of one degree of latitude (and of longitude on the equator) on that sphere, in metres.
pub const METRES_PER_DEGREE: f64 = EARTH_RADIUS_M * PI / 180.0;

/// Why a geographic value was refused. The message names the offending field so that an API
/// layer can pass it to the user as a `BAD_USER_INPUT` error unchanged.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum GeoError {
    /// The value is NaN or infinite.
    NotFinite {
        /// Field name as the API spells it (`lat`, `lon`, `speed_kmh`, …).
        field: &'static str,
    },
    /// The value is a number but outside the allowed range.
    OutOfRange {
        /// Field name as the API spells it.
        field: &'static str,
        /// The refused value.
        value: f64,
        /// Smallest allowed value.
        min: f64,
        /// Largest allowed value.
        max: f64,
    },
    /// A walking-model parameter is not usable (not positive, or a detour below 1).
    InvalidWalkingModel {
        /// `speed_kmh` or `detour_factor`.
        field: &'static str,
        /// The refused value.
        value: f64,
        /// What the field must be.
        requirement: &'static str,
    },
    /// A bounding box whose minimum is above its maximum.
    InvertedBox {
        /// `lat` or `lon`.
        axis: &'static str,
    },
}

impl GeoError {
    /// The name of the field the error is about, for structured API errors.
    pub fn field(&self) -> &'static str {
        match self {
            Self::NotFinite { field }
            | Self::OutOfRange { field, .. }
            | Self::InvalidWalkingModel { field, .. } => field,
            Self::InvertedBox { axis } => axis,
        }
    }
}

impl fmt::Display for GeoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotFinite { field } => write!(f, "{field} must be a finite number"),
            Self::OutOfRange {
                field,
                value,
                min,
                max,
            } => write!(f, "{field} must be between {min} and {max}, got {value}"),
            Self::InvalidWalkingModel {
                field,
                value,
                requirement,
            } => write!(f, "{field} must be {requirement}, got {value}"),
            Self::InvertedBox { axis } => {
                write!(f, "bounding box minimum {axis} is above its maximum {axis}")
            }
        }
    }
}

impl std::error::Error for GeoError {}

/// A point on the earth in WGS 84 degrees: latitude in [-90, 90], longitude in [-180, 180].
///
/// Only [`Coordinates::parse`] makes one, so NaN, infinities and out-of-range values never
/// reach the distance and index code, where they would silently produce wrong answers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Coordinates {
    lat: f64,
    lon: f64,
}

impl Coordinates {
    /// Parses a latitude/longitude pair in degrees, refusing NaN, infinities and values out
    /// of range with an error that names the field (`lat` or `lon`).
    ///
    /// # Errors
    /// [`GeoError::NotFinite`] or [`GeoError::OutOfRange`] for the first bad field.
    pub fn parse(lat: f64, lon: f64) -> Result<Self, GeoError> {
        Ok(Self {
            lat: check_range("lat", lat, -90.0, 90.0)?,
            lon: check_range("lon", lon, -180.0, 180.0)?,
        })
    }

    /// Latitude in degrees, north positive.
    pub fn lat(self) -> f64 {
        self.lat
    }

    /// Longitude in degrees, east positive.
    pub fn lon(self) -> f64 {
        self.lon
    }

    /// Great-circle distance to `other` in metres; see [`distance_m`].
    pub fn distance_m(self, other: Coordinates) -> f64 {
        distance_m(self, other)
    }

    /// The point as a unit vector from the earth's centre (x towards 0°E on the equator,
    /// z towards the north pole).
    ///
    /// Spatial indexes use it because the straight-line (chord) distance between two unit
    /// vectors grows strictly with the great-circle distance: comparing squared chords is an
    /// exact, trigonometry-free test of "within r metres", unlike an equirectangular estimate.
    pub fn unit_vector(self) -> [f64; 3] {
        let (sin_lat, cos_lat) = self.lat.to_radians().sin_cos();
        let (sin_lon, cos_lon) = self.lon.to_radians().sin_cos();
        [cos_lat * cos_lon, cos_lat * sin_lon, sin_lat]
    }

    /// The point a (not necessarily unit) vector from the earth's centre points at, or `None`
    /// for a zero or non-finite vector.
    ///
    /// Summing unit vectors and converting back is how weighted centroids are taken without
    /// breaking at the antimeridian, where averaging longitudes would not work.
    pub fn from_vector(v: [f64; 3]) -> Option<Self> {
        let [x, y, z] = v;
        let horizontal = x.hypot(y);
        if !(horizontal.is_finite() && z.is_finite()) || (horizontal == 0.0 && z == 0.0) {
            return None;
        }
        let lat = z.atan2(horizontal).to_degrees().clamp(-90.0, 90.0);
        let lon = if horizontal == 0.0 {
            0.0
        } else {
            y.atan2(x).to_degrees().clamp(-180.0, 180.0)
        };
        Some(Self { lat, lon })
    }
}

impl fmt::Display for Coordinates {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:.6},{:.6}", self.lat, self.lon)
    }
}

fn check_range(field: &'static str, value: f64, min: f64, max: f64) -> Result<f64, GeoError> {
    if !value.is_finite() {
        return Err(GeoError::NotFinite { field });
    }
    if !(min..=max).contains(&value) {
        return Err(GeoError::OutOfRange {
            field,
            value,
            min,
            max,
        });
    }
    Ok(value)
}

/// Great-circle distance between two points in metres (haversine on a sphere of
/// [`EARTH_RADIUS_M`]).
///
/// Haversine rather than the spherical law of cosines because it stays accurate for the short
/// distances (metres to a few kilometres) the 15-minute circle is about.
pub fn distance_m(a: Coordinates, b: Coordinates) -> f64 {
    let lat_a = a.lat.to_radians();
    let lat_b = b.lat.to_radians();
    let half_dlat = (lat_b - lat_a) / 2.0;
    let half_dlon = (b.lon - a.lon).to_radians() / 2.0;
    let h = half_dlat.sin().powi(2) + lat_a.cos() * lat_b.cos() * half_dlon.sin().powi(2);
    2.0 * EARTH_RADIUS_M * h.sqrt().min(1.0).asin()
}

/// How far people walk: speed on foot and how much longer real paths are than the straight
/// line. Per-district configuration, because hilly districts walk slower and further.
///
/// Walking time = great-circle distance × detour factor ÷ speed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WalkingModel {
    speed_kmh: f64,
    detour_factor: f64,
}

impl WalkingModel {
    /// Default walking speed in km/h (an unhurried adult pace).
    pub const DEFAULT_SPEED_KMH: f64 = 4.8;
    /// Default ratio of path length to straight-line distance in a built-up area.
    pub const DEFAULT_DETOUR_FACTOR: f64 = 1.3;

    /// Parses a walking model: the speed must be a positive finite number of km/h and the
    /// detour factor finite and at least 1 (a path is never shorter than the straight line).
    ///
    /// # Errors
    /// [`GeoError::InvalidWalkingModel`] naming `speed_kmh` or `detour_factor`.
    pub fn new(speed_kmh: f64, detour_factor: f64) -> Result<Self, GeoError> {
        if !(speed_kmh.is_finite() && speed_kmh > 0.0) {
            return Err(GeoError::InvalidWalkingModel {
                field: "speed_kmh",
                value: speed_kmh,
                requirement: "a positive, finite speed in km/h",
            });
        }
        if !(detour_factor.is_finite() && detour_factor >= 1.0) {
            return Err(GeoError::InvalidWalkingModel {
                field: "detour_factor",
                value: detour_factor,
                requirement: "a finite number of at least 1.0",
            });
        }
        Ok(Self {
            speed_kmh,
            detour_factor,
        })
    }

    /// Walking speed in km/h.
    pub fn speed_kmh(&self) -> f64 {
        self.speed_kmh
    }

    /// Path length ÷ straight-line distance.
    pub fn detour_factor(&self) -> f64 {
        self.detour_factor
    }

    /// Minutes to walk from `a` to `b`.
    pub fn walking_minutes(&self, a: Coordinates, b: Coordinates) -> f64 {
        self.minutes_for_distance(distance_m(a, b))
    }

    /// Minutes to walk a straight-line (great-circle) distance of `metres`. Indexes that
    /// already know the distance use this so their answers agree with
    /// [`WalkingModel::walking_minutes`] to the last bit.
    pub fn minutes_for_distance(&self, metres: f64) -> f64 {
        metres * self.detour_factor / self.metres_per_minute()
    }

    /// Straight-line radius in metres reachable within `minutes` on foot: the radius of the
    /// circle drawn around a venue. Negative or NaN minutes reach nothing (0 m).
    ///
    /// With the defaults, 15 minutes reach 4800 m/h × 0.25 h ÷ 1.3 ≈ 923.08 m.
    pub fn reach_m(&self, minutes: f64) -> f64 {
        if minutes.is_nan() || minutes <= 0.0 {
            return 0.0;
        }
        minutes * self.metres_per_minute() / self.detour_factor
    }

    fn metres_per_minute(&self) -> f64 {
        self.speed_kmh * 1000.0 / 60.0
    }
}

impl Default for WalkingModel {
    /// 4.8 km/h and a detour factor of 1.3, the design's defaults.
    fn default() -> Self {
        Self {
            speed_kmh: Self::DEFAULT_SPEED_KMH,
            detour_factor: Self::DEFAULT_DETOUR_FACTOR,
        }
    }
}

/// A latitude/longitude rectangle (edges included), e.g. a district's extent or the cells a
/// search must look at.
///
/// It does not wrap around the antimeridian: a region that crosses it is represented by the
/// full longitude range, which is larger than needed but never misses a point.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BoundingBox {
    min_lat: f64,
    min_lon: f64,
    max_lat: f64,
    max_lon: f64,
}

impl BoundingBox {
    /// The box between a south-west and a north-east corner; refuses a box whose minimum is
    /// above its maximum on either axis.
    ///
    /// # Errors
    /// [`GeoError::InvertedBox`] naming the axis.
    pub fn new(south_west: Coordinates, north_east: Coordinates) -> Result<Self, GeoError> {
        if south_west.lat > north_east.lat {
            return Err(GeoError::InvertedBox { axis: "lat" });
        }
        if south_west.lon > north_east.lon {
            return Err(GeoError::InvertedBox { axis: "lon" });
        }
        Ok(Self {
            min_lat: south_west.lat,
            min_lon: south_west.lon,
            max_lat: north_east.lat,
            max_lon: north_east.lon,
        })
    }

    /// The smallest box holding every point, or `None` when there are none.
    pub fn from_points(points: impl IntoIterator<Item = Coordinates>) -> Option<Self> {
        let mut points = points.into_iter();
        let first = points.next()?;
        let mut bbox = Self::from_point(first);
        for p in points {
            bbox = bbox.including(p);
        }
        Some(bbox)
    }

    /// The degenerate box holding one point.
    pub fn from_point(p: Coordinates) -> Self {
        Self {
            min_lat: p.lat,
            min_lon: p.lon,
            max_lat: p.lat,
            max_lon: p.lon,
        }
    }

    /// The smallest latitude/longitude box holding every point within `radius_m` metres
    /// (great-circle) of `center`. Negative or NaN radii count as 0.
    ///
    /// Exact for a sphere (the longitude half-width is asin(sin δ ÷ cos φ), not δ ÷ cos φ), so
    /// a grid scan of this box never misses a point. When the circle contains a pole or
    /// crosses the antimeridian the box spans all longitudes.
    pub fn around(center: Coordinates, radius_m: f64) -> Self {
        let radius_m = if radius_m.is_nan() {
            0.0
        } else {
            radius_m.max(0.0)
        };
        let delta = radius_m / EARTH_RADIUS_M;
        if delta >= PI {
            return Self::WORLD;
        }
        // Latitude bounds are computed in degrees so that a zero radius gives back the centre
        // exactly (a radians round trip can lose the last bit and exclude the centre).
        let half_height = delta.to_degrees();
        let min_lat = center.lat - half_height;
        let max_lat = center.lat + half_height;
        if min_lat <= -90.0 || max_lat >= 90.0 {
            return Self {
                min_lat: min_lat.max(-90.0),
                min_lon: -180.0,
                max_lat: max_lat.min(90.0),
                max_lon: 180.0,
            };
        }
        // Here δ < π/2 - |φ|, so sin δ < cos φ and the asin is defined.
        let half_width = (delta.sin() / center.lat.to_radians().cos())
            .min(1.0)
            .asin()
            .to_degrees();
        let (min_lon, max_lon) = (center.lon - half_width, center.lon + half_width);
        let (min_lon, max_lon) = if min_lon < -180.0 || max_lon > 180.0 {
            (-180.0, 180.0)
        } else {
            (min_lon, max_lon)
        };
        Self {
            min_lat,
            min_lon,
            max_lat,
            max_lon,
        }
    }

    /// The whole earth.
    pub const WORLD: Self = Self {
        min_lat: -90.0,
        min_lon: -180.0,
        max_lat: 90.0,
        max_lon: 180.0,
    };

    /// Whether `p` lies inside the box or on its edge.
    pub fn contains(&self, p: Coordinates) -> bool {
        (self.min_lat..=self.max_lat).contains(&p.lat)
            && (self.min_lon..=self.max_lon).contains(&p.lon)
    }

    /// Whether the two boxes share at least one point.
    pub fn intersects(&self, other: &BoundingBox) -> bool {
        self.min_lat <= other.max_lat
            && other.min_lat <= self.max_lat
            && self.min_lon <= other.max_lon
            && other.min_lon <= self.max_lon
    }

    /// The smallest box holding this box and `p`.
    pub fn including(self, p: Coordinates) -> Self {
        Self {
            min_lat: self.min_lat.min(p.lat),
            min_lon: self.min_lon.min(p.lon),
            max_lat: self.max_lat.max(p.lat),
            max_lon: self.max_lon.max(p.lon),
        }
    }

    /// The smallest box holding both boxes.
    pub fn union(self, other: BoundingBox) -> Self {
        Self {
            min_lat: self.min_lat.min(other.min_lat),
            min_lon: self.min_lon.min(other.min_lon),
            max_lat: self.max_lat.max(other.max_lat),
            max_lon: self.max_lon.max(other.max_lon),
        }
    }

    /// Southern edge in degrees.
    pub fn min_lat(&self) -> f64 {
        self.min_lat
    }

    /// Western edge in degrees.
    pub fn min_lon(&self) -> f64 {
        self.min_lon
    }

    /// Northern edge in degrees.
    pub fn max_lat(&self) -> f64 {
        self.max_lat
    }

    /// Eastern edge in degrees.
    pub fn max_lon(&self) -> f64 {
        self.max_lon
    }

    /// The south-west corner.
    pub fn south_west(&self) -> Coordinates {
        Coordinates {
            lat: self.min_lat,
            lon: self.min_lon,
        }
    }

    /// The north-east corner.
    pub fn north_east(&self) -> Coordinates {
        Coordinates {
            lat: self.max_lat,
            lon: self.max_lon,
        }
    }

    /// The midpoint of the box in degrees (not the spherical centroid; fine for map framing).
    pub fn center(&self) -> Coordinates {
        Coordinates {
            lat: self.min_lat.midpoint(self.max_lat),
            lon: self.min_lon.midpoint(self.max_lon),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(lat: f64, lon: f64) -> Coordinates {
        Coordinates::parse(lat, lon).expect("valid test coordinates")
    }

    #[test]
    fn parse_accepts_edges_and_refuses_bad_values_naming_the_field() {
        assert!(Coordinates::parse(90.0, 180.0).is_ok());
        assert!(Coordinates::parse(-90.0, -180.0).is_ok());

        let err = Coordinates::parse(f64::NAN, 105.0).expect_err("NaN latitude");
        assert_eq!(err, GeoError::NotFinite { field: "lat" });
        assert_eq!(err.to_string(), "lat must be a finite number");

        let err = Coordinates::parse(29.4, f64::INFINITY).expect_err("infinite longitude");
        assert_eq!(err.field(), "lon");

        let err = Coordinates::parse(90.5, 105.0).expect_err("latitude above 90");
        assert_eq!(err.to_string(), "lat must be between -90 and 90, got 90.5");

        let err = Coordinates::parse(29.4, -180.01).expect_err("longitude below -180");
        assert_eq!(err.field(), "lon");
        assert!(err.to_string().contains("-180.01"));
    }

    #[test]
    fn distance_along_a_meridian_is_radius_times_angle() {
        // 0.01° = 1.745329e-4 rad; × 6 371 008.8 m = 1111.9508 m.
        let d = distance_m(at(29.40, 105.5), at(29.41, 105.5));
        assert!((d - 1_111.950_797).abs() < 1e-3, "{d}");
        // Along the equator longitude degrees are as long as latitude degrees.
        let d = distance_m(at(0.0, 10.0), at(0.0, 11.0));
        assert!((d - METRES_PER_DEGREE).abs() < 1e-6, "{d}");
        assert_eq!(distance_m(at(29.4, 105.5), at(29.4, 105.5)), 0.0);
    }

    #[test]
    fn distance_is_symmetric_and_wraps_the_antimeridian() {
        let a = at(10.0, 179.9);
        let b = at(10.0, -179.9);
        let d = distance_m(a, b);
        assert!((d - distance_m(b, a)).abs() < 1e-9);
        // 0.2° of longitude at 10°N: 2R·asin(cos 10° · sin 0.1°) ≈ 21 900.6 m.
        let expected =
            2.0 * EARTH_RADIUS_M * (10f64.to_radians().cos() * 0.1f64.to_radians().sin()).asin();
        assert!((d - expected).abs() < 1e-6, "{d} vs {expected}");
        // Antipodes: half the circumference.
        let d = distance_m(at(0.0, 0.0), at(0.0, 180.0));
        assert!((d - PI * EARTH_RADIUS_M).abs() < 1e-6);
    }

    #[test]
    fn walking_model_defaults_and_fifteen_minute_reach() {
        let model = WalkingModel::default();
        assert_eq!(model.speed_kmh(), 4.8);
        assert_eq!(model.detour_factor(), 1.3);
        // 4800 m/h × 0.25 h = 1200 m of path; ÷ 1.3 = 923.0769… m straight line.
        let reach = model.reach_m(15.0);
        assert!((reach - 1200.0 / 1.3).abs() < 1e-9, "{reach}");
        assert!((model.minutes_for_distance(reach) - 15.0).abs() < 1e-9);
        // 0.01° of latitude = 1111.9508 m; × 1.3 ÷ 80 m/min = 18.0692 min.
        let minutes = model.walking_minutes(at(29.40, 105.5), at(29.41, 105.5));
        assert!((minutes - 18.069_20).abs() < 1e-4, "{minutes}");
        assert_eq!(model.reach_m(-1.0), 0.0);
        assert_eq!(model.reach_m(f64::NAN), 0.0);
    }

    #[test]
    fn walking_model_refuses_unusable_parameters() {
        assert!(WalkingModel::new(3.5, 1.6).is_ok());
        assert!(WalkingModel::new(4.0, 1.0).is_ok());
        for (speed, detour, field) in [
            (0.0, 1.3, "speed_kmh"),
            (-4.8, 1.3, "speed_kmh"),
            (f64::NAN, 1.3, "speed_kmh"),
            (f64::INFINITY, 1.3, "speed_kmh"),
            (4.8, 0.99, "detour_factor"),
            (4.8, f64::NAN, "detour_factor"),
            (4.8, f64::INFINITY, "detour_factor"),
        ] {
            let err = WalkingModel::new(speed, detour).expect_err("invalid model");
            assert_eq!(err.field(), field, "{speed} {detour}");
            assert!(err.to_string().starts_with(field));
        }
    }

    #[test]
    fn bounding_box_contains_and_refuses_inverted_corners() {
        let bbox = BoundingBox::new(at(29.25, 105.30), at(29.65, 105.75)).expect("valid box");
        assert!(bbox.contains(at(29.4, 105.5)));
        assert!(bbox.contains(at(29.25, 105.75)));
        assert!(!bbox.contains(at(29.66, 105.5)));
        assert!(!bbox.contains(at(29.4, 105.29)));
        assert_eq!(
            BoundingBox::new(at(29.65, 105.30), at(29.25, 105.75)),
            Err(GeoError::InvertedBox { axis: "lat" })
        );
        let from_points =
            BoundingBox::from_points([at(29.3, 105.7), at(29.5, 105.4)]).expect("two points");
        assert_eq!(from_points.south_west(), at(29.3, 105.4));
        assert_eq!(from_points.north_east(), at(29.5, 105.7));
        assert!(BoundingBox::from_points([]).is_none());
    }

    #[test]
    fn box_around_a_point_holds_the_whole_circle() {
        let center = at(60.0, 10.0);
        let radius = 5_000.0;
        let bbox = BoundingBox::around(center, radius);
        // Walk the circle's edge: every point on it must be inside the box, and the box must
        // be tight (the extreme points touch it).
        let mut touches_lon = false;
        for step in 0..3600 {
            let bearing = f64::from(step).to_radians() / 10.0;
            // A millimetre inside the edge, so rounding cannot put it a hair outside.
            let p = destination(center, bearing, radius - 0.001);
            assert!(bbox.contains(p), "{p} outside {bbox:?}");
            touches_lon |= (p.lon() - bbox.max_lon()).abs() < 1e-6;
        }
        assert!(touches_lon);

        let polar = BoundingBox::around(at(89.99, 0.0), 5_000.0);
        assert_eq!(
            (polar.min_lon(), polar.max_lon(), polar.max_lat()),
            (-180.0, 180.0, 90.0)
        );
        let dateline = BoundingBox::around(at(0.0, 179.99), 5_000.0);
        assert_eq!((dateline.min_lon(), dateline.max_lon()), (-180.0, 180.0));
        assert_eq!(
            BoundingBox::around(center, f64::INFINITY),
            BoundingBox::WORLD
        );
        assert_eq!(
            BoundingBox::around(center, f64::NAN),
            BoundingBox::from_point(center)
        );
    }

    #[test]
    fn vectors_round_trip_and_centroids_cross_the_antimeridian() {
        let p = at(29.4, 105.5);
        let back = Coordinates::from_vector(p.unit_vector()).expect("unit vector");
        assert!(distance_m(p, back) < 1e-6);
        let [ax, ay, az] = at(0.0, 179.0).unit_vector();
        let [bx, by, bz] = at(0.0, -179.0).unit_vector();
        let mid = Coordinates::from_vector([ax + bx, ay + by, az + bz]).expect("non-zero sum");
        assert!((mid.lon().abs() - 180.0).abs() < 1e-9, "{mid}");
        assert!(Coordinates::from_vector([0.0, 0.0, 0.0]).is_none());
        assert!(Coordinates::from_vector([f64::NAN, 0.0, 1.0]).is_none());
    }

    /// The point `distance_m` away from `start` on the initial `bearing` (radians from north).
    fn destination(start: Coordinates, bearing: f64, distance_m: f64) -> Coordinates {
        let delta = distance_m / EARTH_RADIUS_M;
        let lat1 = start.lat().to_radians();
        let lon1 = start.lon().to_radians();
        let lat2 = (lat1.sin() * delta.cos() + lat1.cos() * delta.sin() * bearing.cos()).asin();
        let lon2 = lon1
            + (bearing.sin() * delta.sin() * lat1.cos())
                .atan2(delta.cos() - lat1.sin() * lat2.sin());
        at(lat2.to_degrees(), lon2.to_degrees())
    }
}
