//! Demo data for `tongxin run`: the reference district's org tree.
//!
//! Named units come from the district's own account (../shared/seed); their coordinates are
//! approximate. Ids are UUIDv5 of the path, so they are the same on every machine and
//! `tongxin run` can print tokens scoped to them. Everything not named there is marked
//! 合成 (synthetic). The demo venues and activities on top of the tree are in [`venues`].

pub mod district;
pub mod rhythm;
pub mod venues;

use sea_orm::{DatabaseConnection, TransactionTrait};
use tongxin_platform::db::classify;
use tongxin_platform::geo::Coordinates;

use crate::domain::org::{OrgUnitId, UnitKind, district_of};
use crate::store::org_units::{self, OrgUnit};

/// The district code of the reference district (Rongchang).
pub const DISTRICT: &str = tongxin_platform::district::DISTRICT;

/// The id the demo tree gives the unit at `path` (the platform's, which every service
/// derives the same way).
pub fn unit_id(path: &str) -> OrgUnitId {
    OrgUnitId(tongxin_platform::district::unit_id(path))
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

/// Institutes, stations and courtyards of the generated (synthetic) part of the tree.
pub use tongxin_platform::district::tree::GENERATED;

/// Resident weight the synthetic layer sums to (the reference district's population).
pub const RESIDENTS: u64 = 670_000;

use tongxin_platform::district::tree::{Lcg, clamp_box};

/// The whole demo tree (the platform's [`tongxin_platform::district::tree::tree`]): the
/// named units, then the generated ones.
pub fn tree() -> Vec<(UnitKind, String, String, f64, f64)> {
    tongxin_platform::district::tree::tree()
        .into_iter()
        .map(|u| (u.level, u.path, u.name, u.lat, u.lon))
        .collect()
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
