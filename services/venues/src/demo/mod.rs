//! Demo data for `tongxin run`: the reference district's org tree.
//!
//! Named units come from the district's own account (../shared/seed); their coordinates are
//! approximate. Ids are UUIDv5 of the path, so they are the same on every machine and
//! `tongxin run` can print tokens scoped to them. Everything not named there is marked
//! 合成 (synthetic). The demo venues and activities on top of the tree are in [`venues`].

pub mod rhythm;
pub mod venues;

use sea_orm::{DatabaseConnection, TransactionTrait};
use tongxin_platform::db::classify;
use tongxin_platform::geo::Coordinates;
use uuid::Uuid;

use crate::domain::org::{OrgUnitId, UnitKind, district_of};
use crate::store::org_units::{self, OrgUnit};

/// The district code of the reference district (Rongchang).
pub const DISTRICT: &str = "rc";

/// Namespace for demo ids.
const NAMESPACE: Uuid = Uuid::from_u128(0x6d3c_2a4e_8f1b_4c7a_9e55_1f0a_7b3d_c201);

/// The id the demo tree gives the unit at `path`.
pub fn unit_id(path: &str) -> OrgUnitId {
    OrgUnitId(Uuid::new_v5(&NAMESPACE, path.as_bytes()))
}

/// Paths of well-known demo units, for tokens and tests.
pub mod paths {
    /// 荣昌区新时代文明实践中心.
    pub const CENTER: &str = "/rc";
    /// 昌元街道实践所.
    pub const CHANGYUAN: &str = "/rc/changyuan";
    /// 虹桥社区实践站.
    pub const HONGQIAO: &str = "/rc/changyuan/hongqiao";
    /// 蔡家坝小院 (田园综合体).
    pub const CAIJIABA: &str = "/rc/changyuan/hongqiao/caijiaba";
    /// 夜合湾小院.
    pub const YEHEWAN: &str = "/rc/zhisheng/rongsheng/yehewan";
}

// (kind, path, name, lat, lon)
const TREE: &[(UnitKind, &str, &str, f64, f64)] = &[
    (
        UnitKind::Center,
        "/rc",
        "荣昌区新时代文明实践中心",
        29.4048,
        105.5945,
    ),
    (
        UnitKind::Institute,
        "/rc/changyuan",
        "昌元街道新时代文明实践所",
        29.4010,
        105.5890,
    ),
    (
        UnitKind::Station,
        "/rc/changyuan/hongqiao",
        "虹桥社区新时代文明实践站",
        29.3921,
        105.5782,
    ),
    (
        UnitKind::Courtyard,
        "/rc/changyuan/hongqiao/caijiaba",
        "蔡家坝小院(田园综合体)",
        29.3868,
        105.5701,
    ),
    (
        UnitKind::Station,
        "/rc/changyuan/huangjinpo",
        "黄金坡社区新时代文明实践站",
        29.4105,
        105.6012,
    ),
    (
        UnitKind::Courtyard,
        "/rc/changyuan/huangjinpo/chongchengmeian",
        "崇城美岸小院讲堂",
        29.4131,
        105.6050,
    ),
    (
        UnitKind::Institute,
        "/rc/fenggao",
        "峰高街道新时代文明实践所",
        29.4392,
        105.6488,
    ),
    (
        UnitKind::Station,
        "/rc/fenggao/s01",
        "峰高街道示例实践站(合成)",
        29.4420,
        105.6530,
    ),
    (
        UnitKind::Courtyard,
        "/rc/fenggao/s01/c01",
        "峰高示例小院一(合成)",
        29.4451,
        105.6562,
    ),
    (
        UnitKind::Courtyard,
        "/rc/fenggao/s01/c02",
        "峰高示例小院二(合成)",
        29.4378,
        105.6601,
    ),
    (
        UnitKind::Institute,
        "/rc/zhisheng",
        "直升镇新时代文明实践所",
        29.5140,
        105.5310,
    ),
    (
        UnitKind::Station,
        "/rc/zhisheng/rongsheng",
        "荣升社区新时代文明实践站",
        29.5185,
        105.5262,
    ),
    (
        UnitKind::Courtyard,
        "/rc/zhisheng/rongsheng/yehewan",
        "夜合湾小院",
        29.5231,
        105.5198,
    ),
    (
        UnitKind::Institute,
        "/rc/industrial-park",
        "重庆电子电路产业园实践所(合成)",
        29.3705,
        105.6205,
    ),
    (
        UnitKind::Station,
        "/rc/industrial-park/legal",
        "产业园公共法律服务工作站",
        29.3712,
        105.6231,
    ),
];

/// Institutes, stations and courtyards of the generated (synthetic) part of the tree, so the
/// whole tree has the reference district's shape: about 21 / 150 / 520.
pub const GENERATED: (usize, usize, usize) = (17, 142, 510);

/// Resident weight the synthetic layer sums to (the reference district's population).
pub const RESIDENTS: u64 = 670_000;

/// A tiny deterministic generator (64-bit LCG): the same demo on every machine.
struct Lcg(u64);

impl Lcg {
    fn next_f64(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }

    /// A value in `[lo, hi)`.
    fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.next_f64()
    }
}

/// Keeps generated points inside the district's box.
fn clamp_box(lat: f64, lon: f64) -> (f64, f64) {
    (lat.clamp(29.26, 29.64), lon.clamp(105.31, 105.74))
}

/// The whole demo tree: the named units, then the generated ones.
pub fn tree() -> Vec<(UnitKind, String, String, f64, f64)> {
    let mut units: Vec<(UnitKind, String, String, f64, f64)> = TREE
        .iter()
        .map(|&(k, p, n, lat, lon)| (k, p.to_owned(), n.to_owned(), lat, lon))
        .collect();
    let mut rng = Lcg(20_261_128);
    let (institutes, stations, courtyards) = GENERATED;
    let mut station_sites = Vec::new();
    for i in 0..institutes {
        let (lat, lon) = clamp_box(rng.range(29.28, 29.62), rng.range(105.33, 105.72));
        let path = format!("/rc/town{:02}", i + 1);
        units.push((
            UnitKind::Institute,
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
            units.push((
                UnitKind::Station,
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
        units.push((
            UnitKind::Courtyard,
            format!("{spath}/y{:03}", c + 1),
            format!("示例小院{:03}(合成)", c + 1),
            lat,
            lon,
        ));
    }
    units
}

/// Seeds the demo tree when the database holds no units. Returns how many were added.
pub async fn seed(db: &DatabaseConnection) -> anyhow::Result<usize> {
    if org_units::count(db).await? > 0 {
        return Ok(0);
    }
    let units = tree();
    let txn = db.begin().await.map_err(classify)?;
    for (kind, path, name, lat, lon) in &units {
        let parent_path = path
            .rsplit_once('/')
            .map(|(p, _)| p)
            .filter(|p| !p.is_empty());
        let code = path.rsplit('/').next().unwrap_or_default();
        let unit = OrgUnit {
            id: unit_id(path),
            kind: *kind,
            name: name.clone(),
            code: code.to_owned(),
            path: path.clone(),
            parent_id: parent_path.map(unit_id),
            district: district_of(path).to_owned(),
            location: Coordinates::parse(*lat, *lon)?,
        };
        org_units::insert(&txn, &unit, "seed").await?;
    }
    // The synthetic resident layer: households clustered around courtyards (most people
    // live near one), plus a scattered rural share that the circle does not reach.
    let courtyards: Vec<_> = units
        .iter()
        .filter(|u| u.0 == UnitKind::Courtyard)
        .collect();
    let mut rng = Lcg(670_000);
    let mut residents = Vec::new();
    let mut remaining = RESIDENTS;
    while remaining > 0 {
        let weight = (rng.range(5.0, 50.0) as u64).min(remaining);
        remaining -= weight;
        let (path, lat, lon) = if rng.next_f64() < 0.8 {
            let c =
                courtyards[(rng.next_f64() * courtyards.len() as f64) as usize % courtyards.len()];
            let (lat, lon) = clamp_box(
                c.3 + rng.range(-0.015, 0.015),
                c.4 + rng.range(-0.015, 0.015),
            );
            (c.1.clone(), lat, lon)
        } else {
            let (lat, lon) = clamp_box(rng.range(29.26, 29.64), rng.range(105.31, 105.74));
            (format!("/{DISTRICT}"), lat, lon)
        };
        residents.push(crate::store::circle::NewResident {
            district: DISTRICT.to_owned(),
            unit_path: path,
            at: Coordinates::parse(lat, lon)?,
            weight: u32::try_from(weight).unwrap_or(u32::MAX),
        });
    }
    crate::store::circle::replace_residents(&txn, DISTRICT, &residents).await?;
    txn.commit().await.map_err(classify)?;
    Ok(units.len())
}
