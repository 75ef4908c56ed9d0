//! Demo venues and activities for `tongxin run`, on top of the demo org tree.
//!
//! Deterministic: ids are UUIDv5 of fixed names and every choice comes from a fixed-seed
//! splitmix64 sequence, so two runs on the same day produce the same data (activity times
//! are laid out around the day of seeding: the last six months and the next month). One
//! courtyard venue (小院讲堂) per courtyard unit, the park named in the district's own account
//! (玉带河生态文化公园), and about 80 synthetic venues near institutes and stations, labelled
//! 合成. No events are emitted for seed data.

use chrono::{DateTime, Duration, DurationRound, Utc};
use sea_orm::{DatabaseConnection, TransactionTrait};
use tongxin_platform::db::classify;
use tongxin_platform::geo::Coordinates;
use uuid::Uuid;

use crate::domain::activity::{ActivityId, ActivityStatus, ServedHours, Theme};
use crate::domain::org::{OrgUnitId, UnitKind};
use crate::domain::venue::{VenueId, VenueKind, VenueStatus};
use crate::store::activities::{self, Activity};
use crate::store::org_units::OrgUnit;
use crate::store::venues::{self, Venue};

/// Namespace for demo venue, activity and volunteer ids.
const NAMESPACE: Uuid = Uuid::from_u128(0x1b7e_93c4_52aa_4d0e_8c61_0f2d_9a47_e310);

/// The district's bounding box (lat, lon).
const LAT: (f64, f64) = (29.25, 29.65);
const LON: (f64, f64) = (105.30, 105.75);

/// How many synthetic non-courtyard venues (besides the named park).
const OTHER_VENUES: usize = 80;
/// How many activities.
const ACTIVITIES: usize = 360;

/// The id the demo data gives a venue named by `key`.
pub fn venue_id(key: &str) -> VenueId {
    VenueId(Uuid::new_v5(&NAMESPACE, format!("venue:{key}").as_bytes()))
}

/// The id of the `n`th demo volunteer (as the volunteers service's demo data would use).
pub fn volunteer_id(n: u64) -> Uuid {
    Uuid::new_v5(&NAMESPACE, format!("volunteer:{n}").as_bytes())
}

/// A fixed-seed splitmix64 sequence.
struct Mix(u64);

impl Mix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n`.
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    /// A number in `[-1, 1)`.
    fn signed(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
    }
}

fn near(mix: &mut Mix, at: Coordinates, spread_deg: f64) -> anyhow::Result<Coordinates> {
    let lat = (at.lat() + mix.signed() * spread_deg).clamp(LAT.0 + 0.001, LAT.1 - 0.001);
    let lon = (at.lon() + mix.signed() * spread_deg).clamp(LON.0 + 0.001, LON.1 - 0.001);
    Ok(Coordinates::parse(lat, lon)?)
}

pub(super) fn short(name: &str) -> &str {
    ["新时代文明实践所", "新时代文明实践站", "实践所", "实践站"]
        .iter()
        .find_map(|suffix| name.split_once(suffix).map(|(head, _)| head))
        .unwrap_or(name)
}

pub(super) const FACILITIES: &[&str] = &[
    "投影仪",
    "音响",
    "图书角",
    "无障碍通道",
    "茶水",
    "桌椅",
    "LED屏",
    "休息区",
];

pub(super) const OTHER_KINDS: &[(VenueKind, &str)] = &[
    (VenueKind::Park, "文化公园"),
    (VenueKind::HeritageWorkshop, "非遗传承工作室"),
    (VenueKind::CultureStation, "文化站点"),
    (VenueKind::PatrioticBase, "爱国主义教育基地"),
    (VenueKind::CivilizedUnit, "文明单位实践点"),
];

pub(super) fn title(theme: Theme, n: u64) -> &'static str {
    let options: &[&str] = match theme {
        Theme::Theory => &["党的创新理论宣讲", "理论微宣讲进小院", "学习新思想分享会"],
        Theme::Policy => &["惠民政策解读会", "医保社保政策答疑", "乡村振兴政策宣讲"],
        Theme::Law => &["民法典进小院", "防范电信诈骗讲座", "法律明白人讲堂"],
        Theme::Science => &["智慧农业科普讲座", "草莓种植技术培训", "老年人智能手机课堂"],
        Theme::Health => &["义诊与健康讲座", "慢病防治知识讲座", "中医养生讲堂"],
        Theme::RoleModels => &["身边好人故事会", "道德模范事迹分享", "最美家庭评选分享"],
        Theme::Changes => &["家乡新变化分享会", "老照片里的新变化", "产业发展成就展"],
        Theme::Holiday => &["中秋诗文诵读会", "重阳敬老活动", "春节写春联送祝福"],
        Theme::Custom => &["邻里议事会"],
    };
    options[(n as usize) % options.len()]
}

/// Seeds venues and activities for `units` (the demo tree) when the database holds no
/// venues. Returns how many venues and activities were added.
pub async fn seed_venues_and_activities(
    db: &DatabaseConnection,
    units: &[OrgUnit],
) -> anyhow::Result<(usize, usize)> {
    if venues::count(db).await? > 0 || units.is_empty() {
        return Ok((0, 0));
    }
    let mut mix = Mix(0x5eed_7a11_2026_1128);
    let mut all: Vec<Venue> = Vec::new();

    // One courtyard venue per courtyard unit, named after it.
    let mut courtyards: Vec<&OrgUnit> = units
        .iter()
        .filter(|u| u.kind == UnitKind::Courtyard)
        .collect();
    courtyards.sort_by(|a, b| a.path.cmp(&b.path));
    for unit in courtyards {
        let name = if unit.name.ends_with("讲堂") {
            unit.name.clone()
        } else {
            format!("{}讲堂", unit.name)
        };
        all.push(Venue {
            id: venue_id(&unit.path),
            org_unit_id: unit.id,
            kind: VenueKind::Courtyard,
            name,
            address: String::new(),
            location: near(&mut mix, unit.location, 0.0008)?,
            capacity: 30 + (mix.below(10) as u32) * 10,
            facilities: vec![FACILITIES[0].to_owned(), FACILITIES[5].to_owned()],
            opening_hours: "周二至周日 9:00-17:00".to_owned(),
            photo_urls: Vec::new(),
            status: VenueStatus::Active,
        });
    }

    // Institutes and stations anchor the other venues.
    let mut anchors: Vec<&OrgUnit> = units
        .iter()
        .filter(|u| matches!(u.kind, UnitKind::Institute | UnitKind::Station))
        .collect();
    anchors.sort_by(|a, b| a.path.cmp(&b.path));
    let center = units
        .iter()
        .filter(|u| u.kind == UnitKind::Center)
        .min_by(|a, b| a.path.cmp(&b.path));
    if let Some(center) = center {
        all.push(yudaihe_park(venue_id("yudaihe-park"), center.id)?);
    }
    if !anchors.is_empty() {
        for i in 0..OTHER_VENUES {
            let anchor = anchors[i % anchors.len()];
            let (kind, word) = OTHER_KINDS[(i / anchors.len() + i) % OTHER_KINDS.len()];
            let capacity = match kind {
                VenueKind::Park => 300 + mix.below(8) as u32 * 100,
                VenueKind::PatrioticBase => 100 + mix.below(5) as u32 * 50,
                _ => 30 + mix.below(8) as u32 * 10,
            };
            let facility_count = 1 + mix.below(4) as usize;
            let first = mix.below(FACILITIES.len() as u64) as usize;
            all.push(Venue {
                id: venue_id(&format!("other-{i}")),
                org_unit_id: anchor.id,
                kind,
                name: format!("{}{}{}号(合成)", short(&anchor.name), word, i + 1),
                address: String::new(),
                location: near(&mut mix, anchor.location, 0.012)?,
                capacity,
                facilities: (0..facility_count)
                    .map(|k| FACILITIES[(first + k) % FACILITIES.len()].to_owned())
                    .collect(),
                opening_hours: "周一至周五 9:00-18:00".to_owned(),
                photo_urls: Vec::new(),
                status: VenueStatus::Active,
            });
        }
    }

    // Activities over the last six months and the next month, at the day of seeding.
    let today: DateTime<Utc> = Utc::now()
        .duration_trunc(Duration::days(1))
        .unwrap_or_else(|_| Utc::now());
    let now = Utc::now();
    let parent_of = |id: OrgUnitId| units.iter().find(|u| u.id == id).and_then(|u| u.parent_id);
    let mut planned: Vec<(Activity, Vec<ServedHours>)> = Vec::new();
    if !all.is_empty() {
        for i in 0..ACTIVITIES as u64 {
            let venue = &all[mix.below(all.len() as u64) as usize];
            let theme = if i % 25 == 24 {
                Theme::Holiday
            } else {
                Theme::SEVEN[(i % 7) as usize]
            };
            let theme_label = (theme == Theme::Holiday)
                .then(|| ["中秋节", "重阳节", "春节"][(i / 25 % 3) as usize].to_owned());
            // Mostly the venue's own unit; sometimes the unit above organises.
            let organiser = if mix.below(5) == 0 {
                parent_of(venue.org_unit_id).unwrap_or(venue.org_unit_id)
            } else {
                venue.org_unit_id
            };
            let day = mix.below(210) as i64 - 180;
            let starts_at = today
                + Duration::days(day)
                + Duration::hours(9 + mix.below(9) as i64)
                + Duration::minutes(30 * mix.below(2) as i64);
            let ends_at = starts_at + Duration::minutes(60 + 30 * mix.below(4) as i64);
            let capacity = venue.capacity.min(20 + mix.below(10) as u32 * 10);
            let roll = mix.below(100);
            let status = if starts_at < now {
                match roll {
                    0..=84 => ActivityStatus::Held,
                    85..=94 => ActivityStatus::Cancelled,
                    _ => ActivityStatus::Planned,
                }
            } else if roll < 5 {
                ActivityStatus::Cancelled
            } else {
                ActivityStatus::Planned
            };
            let volunteers: Vec<Uuid> = (0..1 + mix.below(4))
                .map(|_| volunteer_id(mix.below(500)))
                .fold(Vec::new(), |mut v, id| {
                    if !v.contains(&id) {
                        v.push(id);
                    }
                    v
                });
            let served: Vec<ServedHours> = if status == ActivityStatus::Held {
                volunteers
                    .iter()
                    .map(|&volunteer_id| ServedHours {
                        volunteer_id,
                        quarter_hours: 4 + mix.below(13) as u8,
                    })
                    .collect()
            } else {
                Vec::new()
            };
            let attendance = (status == ActivityStatus::Held)
                .then(|| (u64::from(capacity) * (40 + mix.below(71)) / 100) as u32);
            planned.push((
                Activity {
                    id: ActivityId(Uuid::new_v5(&NAMESPACE, format!("activity:{i}").as_bytes())),
                    title: format!("{}(合成)", title(theme, i / 7)),
                    theme,
                    theme_label,
                    venue_id: venue.id,
                    org_unit_id: organiser,
                    starts_at,
                    ends_at,
                    capacity,
                    speakers: vec![format!("宣讲员{}号(合成)", 1 + mix.below(60))],
                    volunteer_ids: volunteers,
                    status,
                    cancel_reason: (status == ActivityStatus::Cancelled)
                        .then(|| "天气原因改期(合成)".to_owned()),
                    attendance,
                },
                served,
            ));
        }
    }

    let txn = db.begin().await.map_err(classify)?;
    for venue in &all {
        venues::insert(&txn, venue).await?;
    }
    for (activity, served) in &planned {
        activities::insert(&txn, activity, "seed").await?;
        activities::insert_served(&txn, activity.id, served).await?;
    }
    txn.commit().await.map_err(classify)?;
    Ok((all.len(), planned.len()))
}

/// 玉带河生态文化公园, the district's open-air venue at the center, named in the district's
/// account (the location is approximate): the demo and the district profile both hold it.
pub(super) fn yudaihe_park(id: VenueId, center: OrgUnitId) -> anyhow::Result<Venue> {
    Ok(Venue {
        id,
        org_unit_id: center,
        kind: VenueKind::Park,
        name: "玉带河生态文化公园".to_owned(),
        address: "荣昌区昌元街道".to_owned(),
        location: Coordinates::parse(29.4062, 105.5978)?,
        capacity: 2000,
        facilities: vec!["露天舞台".to_owned(), "步道".to_owned(), "LED屏".to_owned()],
        opening_hours: "全天开放".to_owned(),
        photo_urls: Vec::new(),
        status: VenueStatus::Active,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mix_is_deterministic_and_bounded() {
        let mut a = Mix(1);
        let mut b = Mix(1);
        for _ in 0..1000 {
            let (x, y) = (a.signed(), b.signed());
            assert_eq!(x, y);
            assert!((-1.0..1.0).contains(&x));
        }
        assert_eq!(short("昌元街道新时代文明实践所"), "昌元街道");
    }
}
