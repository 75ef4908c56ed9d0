//! Demo data for `tongxin run`: the reference district's org tree.
//!
//! Named units come from the district's own account (../shared/seed); their coordinates are
//! approximate. Ids are UUIDv5 of the path, so they are the same on every machine and
//! `tongxin run` can print tokens scoped to them. Everything not named there is marked
//! 合成 (synthetic).

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

/// Seeds the demo tree when the database holds no units. Returns how many were added.
pub async fn seed(db: &DatabaseConnection) -> anyhow::Result<usize> {
    if org_units::count(db).await? > 0 {
        return Ok(0);
    }
    let txn = db.begin().await.map_err(classify)?;
    for &(kind, path, name, lat, lon) in TREE {
        let parent_path = path
            .rsplit_once('/')
            .map(|(p, _)| p)
            .filter(|p| !p.is_empty());
        let code = path.rsplit('/').next().unwrap_or_default();
        let unit = OrgUnit {
            id: unit_id(path),
            kind,
            name: name.to_owned(),
            code: code.to_owned(),
            path: path.to_owned(),
            parent_id: parent_path.map(unit_id),
            district: district_of(path).to_owned(),
            location: Coordinates::parse(lat, lon)?,
        };
        org_units::insert(&txn, &unit, "seed").await?;
    }
    txn.commit().await.map_err(classify)?;
    Ok(TREE.len())
}
