//! The reference district's org tree (荣昌区): the units named in the district's own account,
//! then generated institutes, stations and courtyards up to the district's shape (about
//! 21 / 150 / 520). Every service that seeds data on this tree (the demo, the `district`
//! profile) derives it here, so all of them agree on ids without reading each other.
//!
//! Ids are UUIDv5 of the path, so they are the same on every machine and `tongxin run` can
//! print tokens scoped to them. Coordinates of named units are approximate; everything not
//! named in the account is marked 合成 (synthetic).

use uuid::Uuid;

use crate::org::Level;

/// The district code of the reference district (Rongchang).
pub const DISTRICT: &str = "rc";

/// Namespace of unit ids (the demo's since the first release: do not change).
const NAMESPACE: Uuid = Uuid::from_u128(0x6d3c_2a4e_8f1b_4c7a_9e55_1f0a_7b3d_c201);

/// The id the tree gives the unit at `path`.
pub fn unit_id(path: &str) -> Uuid {
    Uuid::new_v5(&NAMESPACE, path.as_bytes())
}

/// One unit of the tree.
#[derive(Debug, Clone, PartialEq)]
pub struct TreeUnit {
    /// Its level.
    pub level: Level,
    /// Full path, e.g. `/rc/changyuan/hongqiao`.
    pub path: String,
    /// Display name.
    pub name: String,
    /// Latitude.
    pub lat: f64,
    /// Longitude.
    pub lon: f64,
}

impl TreeUnit {
    /// Its id ([`unit_id`] of the path).
    pub fn id(&self) -> Uuid {
        unit_id(&self.path)
    }

    /// The parent's path; `None` for the center.
    pub fn parent_path(&self) -> Option<&str> {
        self.path
            .rsplit_once('/')
            .map(|(p, _)| p)
            .filter(|p| !p.is_empty())
    }
}

// (level, path, name, lat, lon)
const NAMED: &[(Level, &str, &str, f64, f64)] = &[
    (
        Level::Center,
        "/rc",
        "荣昌区新时代文明实践中心",
        29.4048,
        105.5945,
    ),
    (
        Level::Institute,
        "/rc/changyuan",
        "昌元街道新时代文明实践所",
        29.4010,
        105.5890,
    ),
    (
        Level::Station,
        "/rc/changyuan/hongqiao",
        "虹桥社区新时代文明实践站",
        29.3921,
        105.5782,
    ),
    (
        Level::Courtyard,
        "/rc/changyuan/hongqiao/caijiaba",
        "蔡家坝小院(田园综合体)",
        29.3868,
        105.5701,
    ),
    (
        Level::Station,
        "/rc/changyuan/huangjinpo",
        "黄金坡社区新时代文明实践站",
        29.4105,
        105.6012,
    ),
    (
        Level::Courtyard,
        "/rc/changyuan/huangjinpo/chongchengmeian",
        "崇城美岸小院讲堂",
        29.4131,
        105.6050,
    ),
    (
        Level::Institute,
        "/rc/fenggao",
        "峰高街道新时代文明实践所",
        29.4392,
        105.6488,
    ),
    (
        Level::Station,
        "/rc/fenggao/s01",
        "峰高街道示例实践站(合成)",
        29.4420,
        105.6530,
    ),
    (
        Level::Courtyard,
        "/rc/fenggao/s01/c01",
        "峰高示例小院一(合成)",
        29.4451,
        105.6562,
    ),
    (
        Level::Courtyard,
        "/rc/fenggao/s01/c02",
        "峰高示例小院二(合成)",
        29.4378,
        105.6601,
    ),
    (
        Level::Institute,
        "/rc/zhisheng",
        "直升镇新时代文明实践所",
        29.5140,
        105.5310,
    ),
    (
        Level::Station,
        "/rc/zhisheng/rongsheng",
        "荣升社区新时代文明实践站",
        29.5185,
        105.5262,
    ),
    (
        Level::Courtyard,
        "/rc/zhisheng/rongsheng/yehewan",
        "夜合湾小院",
        29.5231,
        105.5198,
    ),
    (
        Level::Institute,
        "/rc/industrial-park",
        "重庆电子电路产业园实践所(合成)",
        29.3705,
        105.6205,
    ),
    (
        Level::Station,
        "/rc/industrial-park/legal",
        "产业园公共法律服务工作站",
        29.3712,
        105.6231,
    ),
];

/// Institutes, stations and courtyards of the generated (synthetic) part of the tree, so the
/// whole tree has the reference district's shape: about 21 / 150 / 520.
pub const GENERATED: (usize, usize, usize) = (17, 142, 510);

/// The district's bounding box: latitudes, then longitudes.
pub const BOX: ((f64, f64), (f64, f64)) = ((29.26, 29.64), (105.31, 105.74));

/// A tiny deterministic generator (64-bit LCG): the same tree (and demo) on every machine.
pub struct Lcg(pub u64);

impl Lcg {
    /// The next value in `[0, 1)`.
    pub fn next_f64(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }

    /// A value in `[lo, hi)`.
    pub fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.next_f64()
    }
}

/// Keeps a point inside the district's box.
pub fn clamp_box(lat: f64, lon: f64) -> (f64, f64) {
    let ((lat0, lat1), (lon0, lon1)) = BOX;
    (lat.clamp(lat0, lat1), lon.clamp(lon0, lon1))
}

/// The whole tree, parents before children: the named units, then the generated ones.
pub fn tree() -> Vec<TreeUnit> {
    let unit = |level, path: String, name: String, lat, lon| TreeUnit {
        level,
        path,
        name,
        lat,
        lon,
    };
    let mut units: Vec<TreeUnit> = NAMED
        .iter()
        .map(|&(l, p, n, lat, lon)| unit(l, p.to_owned(), n.to_owned(), lat, lon))
        .collect();
    let mut rng = Lcg(20_261_128);
    let (institutes, stations, courtyards) = GENERATED;
    let mut station_sites = Vec::new();
    for i in 0..institutes {
        let (lat, lon) = clamp_box(rng.range(29.28, 29.62), rng.range(105.33, 105.72));
        let path = format!("/rc/town{:02}", i + 1);
        units.push(unit(
            Level::Institute,
            path.clone(),
            format!("示例镇街实践所{:02}(合成)", i + 1),
            lat,
            lon,
        ));
        // Spread the stations over the institutes round-robin.
        for s in (i..stations).step_by(institutes) {
            let (slat, slon) =
                clamp_box(lat + rng.range(-0.03, 0.03), lon + rng.range(-0.03, 0.03));
            let spath = format!("{path}/v{:03}", s + 1);
            units.push(unit(
                Level::Station,
                spath.clone(),
                format!("示例村社区实践站{:03}(合成)", s + 1),
                slat,
                slon,
            ));
            station_sites.push((spath, slat, slon));
        }
    }
    for c in 0..courtyards {
        let (spath, slat, slon) = &station_sites[c % station_sites.len()];
        let (lat, lon) = clamp_box(
            slat + rng.range(-0.012, 0.012),
            slon + rng.range(-0.012, 0.012),
        );
        units.push(unit(
            Level::Courtyard,
            format!("{spath}/y{:03}", c + 1),
            format!("示例小院{:03}(合成)", c + 1),
            lat,
            lon,
        ));
    }
    units
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tree_has_the_districts_shape_and_parents_first() {
        let units = tree();
        let count = |l| units.iter().filter(|u| u.level == l).count();
        assert_eq!(count(Level::Center), 1);
        assert_eq!(count(Level::Institute), 21);
        assert_eq!(count(Level::Station), 147);
        assert_eq!(count(Level::Courtyard), 515);
        let mut seen = std::collections::HashSet::new();
        for u in &units {
            if let Some(parent) = u.parent_path() {
                assert!(seen.contains(parent), "{} before its parent", u.path);
            }
            assert!(seen.insert(u.path.as_str()), "{} twice", u.path);
        }
        assert_eq!(
            unit_id("/rc").to_string(),
            Uuid::new_v5(&NAMESPACE, b"/rc").to_string()
        );
    }
}
