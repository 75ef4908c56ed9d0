//! The `district` profile's venues data: the reference district's tree, its venues (one
//! courtyard hall per courtyard, the park, the rest near institutes and stations), a year of
//! activities with the hours volunteers served at them, and one resident point per
//! resident. Written in bulk through this service's entities, in transactions, without
//! outbox events (like the demo: the first start must not announce a year of history).
//! Everything follows from the profile's seed (see [`tongxin_platform::district`]).

use chrono::Duration;
use sea_orm::{ActiveValue::Set, DatabaseConnection, EntityTrait, TransactionTrait};
use tongxin_platform::db::classify;
use tongxin_platform::district::{
    District, Loaded, Mix, Progress, TreeUnit, chunk_rows, tree::clamp_box,
};
use tongxin_platform::geo::Coordinates;
use uuid::Uuid;

use super::venues::{FACILITIES, OTHER_KINDS, short, title};
use crate::domain::activity::{ActivityId, ActivityStatus, Theme};
use crate::domain::org::{OrgUnitId, UnitKind, district_of};
use crate::domain::venue::{VenueId, VenueKind, VenueStatus};
use crate::store::activities::{self, Activity};
use crate::store::circle::resident;
use crate::store::org_units::{self, OrgUnit};
use crate::store::venues::{self, Venue};

/// `created_by` of the rows written here.
pub const ACTOR: &str = "district-seed";

/// The service name progress is reported under.
const SERVICE: &str = "venues";

/// Loads the district into `db` (migrated) unless it holds org units already, in which
/// case it says so and adds nothing.
pub async fn load(
    db: &DatabaseConnection,
    district: &District,
    progress: &dyn Progress,
) -> anyhow::Result<Loaded> {
    if org_units::count(db).await? > 0 {
        progress.note("venues: the database already holds an org tree; nothing added");
        return Ok(Loaded::already_loaded());
    }
    let tree = tongxin_platform::district::tree::tree();
    let mut loaded = Loaded::default();
    loaded.add("org_units", write_tree(db, &tree, progress).await?);
    let all = district_venues(district, &tree)?;
    loaded.add("venues", write_venues(db, &all, progress).await?);
    let (activities, served) = write_activities(db, district, &tree, &all, progress).await?;
    loaded.add("activities", activities);
    loaded.add("activity_served_hours", served);
    loaded.add(
        "resident_points",
        write_residents(db, district, &tree, progress).await?,
    );
    Ok(loaded)
}

async fn write_tree(
    db: &DatabaseConnection,
    tree: &[TreeUnit],
    progress: &dyn Progress,
) -> anyhow::Result<u64> {
    let bar = progress.table(SERVICE, "org_units", tree.len() as u64);
    let txn = db.begin().await.map_err(classify)?;
    for u in tree {
        let unit = OrgUnit {
            id: OrgUnitId(u.id()),
            kind: u.level,
            name: u.name.clone(),
            code: u.path.rsplit('/').next().unwrap_or_default().to_owned(),
            path: u.path.clone(),
            parent_id: u
                .parent_path()
                .map(|p| OrgUnitId(tongxin_platform::district::unit_id(p))),
            district: district_of(&u.path).to_owned(),
            location: Coordinates::parse(u.lat, u.lon)?,
        };
        org_units::insert(&txn, &unit, ACTOR).await?;
        bar.inc(1);
    }
    txn.commit().await.map_err(classify)?;
    bar.finish();
    Ok(tree.len() as u64)
}

fn near(mix: &mut Mix, lat: f64, lon: f64, spread: f64) -> anyhow::Result<Coordinates> {
    let (lat, lon) = clamp_box(lat + mix.signed() * spread, lon + mix.signed() * spread);
    Ok(Coordinates::parse(lat, lon)?)
}

/// The venues: a hall per courtyard (its 15-minute circle is the courtyard's), the park
/// named in the district's account, and the rest near institutes and stations.
fn district_venues(district: &District, tree: &[TreeUnit]) -> anyhow::Result<Vec<Venue>> {
    let mut mix = district.mix("venues/venues");
    let target = district.counts().venues;
    let mut all = Vec::with_capacity(target.max(tree.len()));
    for u in tree.iter().filter(|u| u.level == UnitKind::Courtyard) {
        let name = if u.name.ends_with("讲堂") {
            u.name.clone()
        } else {
            format!("{}讲堂", u.name)
        };
        all.push(Venue {
            id: VenueId(district.id("venue", all.len() as u64)),
            org_unit_id: OrgUnitId(u.id()),
            kind: VenueKind::Courtyard,
            name,
            address: String::new(),
            location: near(&mut mix, u.lat, u.lon, 0.0008)?,
            capacity: 30 + (mix.below(10) as u32) * 10,
            facilities: vec![FACILITIES[0].to_owned(), FACILITIES[5].to_owned()],
            opening_hours: "周二至周日 9:00-17:00".to_owned(),
            photo_urls: Vec::new(),
            status: VenueStatus::Active,
        });
    }
    all.push(super::venues::yudaihe_park(
        VenueId(district.id("venue", all.len() as u64)),
        OrgUnitId(tongxin_platform::district::unit_id("/rc")),
    )?);
    let anchors: Vec<&TreeUnit> = tree
        .iter()
        .filter(|u| matches!(u.level, UnitKind::Institute | UnitKind::Station))
        .collect();
    let mut i = 0;
    while all.len() < target {
        let anchor = anchors[mix.pick(anchors.len())];
        let (kind, word) = OTHER_KINDS[mix.pick(OTHER_KINDS.len())];
        let capacity = match kind {
            VenueKind::Park => 300 + mix.below(8) as u32 * 100,
            VenueKind::PatrioticBase => 100 + mix.below(5) as u32 * 50,
            _ => 30 + mix.below(8) as u32 * 10,
        };
        let first = mix.pick(FACILITIES.len());
        let facility_count = 1 + mix.pick(4);
        i += 1;
        all.push(Venue {
            id: VenueId(district.id("venue", all.len() as u64)),
            org_unit_id: OrgUnitId(anchor.id()),
            kind,
            name: format!("{}{}{}号(合成)", short(&anchor.name), word, i),
            address: String::new(),
            location: near(&mut mix, anchor.lat, anchor.lon, 0.012)?,
            capacity,
            facilities: (0..facility_count)
                .map(|k| FACILITIES[(first + k) % FACILITIES.len()].to_owned())
                .collect(),
            opening_hours: "周一至周五 9:00-18:00".to_owned(),
            photo_urls: Vec::new(),
            status: VenueStatus::Active,
        });
    }
    Ok(all)
}

async fn write_venues(
    db: &DatabaseConnection,
    all: &[Venue],
    progress: &dyn Progress,
) -> anyhow::Result<u64> {
    let bar = progress.table(SERVICE, "venues", all.len() as u64);
    let txn = db.begin().await.map_err(classify)?;
    for venue in all {
        venues::insert_by(&txn, venue, ACTOR).await?;
        bar.inc(1);
    }
    txn.commit().await.map_err(classify)?;
    bar.finish();
    Ok(all.len() as u64)
}

/// The `n`th activity: a year back from the profile's day to a month ahead, at a venue,
/// served by volunteers of the venue's courtyard (any volunteer elsewhere).
fn activity(
    district: &District,
    mix: &mut Mix,
    n: u64,
    all: &[Venue],
    courtyard_of: &std::collections::HashMap<Uuid, usize>,
    courtyards: usize,
) -> (Activity, Vec<crate::domain::activity::ServedHours>) {
    let venue = &all[mix.pick(all.len())];
    let theme = if n % 25 == 24 {
        Theme::Holiday
    } else {
        Theme::SEVEN[(n % 7) as usize]
    };
    let theme_label = (theme == Theme::Holiday)
        .then(|| ["中秋节", "重阳节", "春节"][(n / 25 % 3) as usize].to_owned());
    let day = mix.below(395) as i64 - 365;
    let starts_at = district.today
        + Duration::days(day)
        + Duration::hours(1 + mix.below(9) as i64)
        + Duration::minutes(30 * mix.below(2) as i64);
    let ends_at = starts_at + Duration::minutes(60 + 30 * mix.below(4) as i64);
    let capacity = venue.capacity.min(20 + mix.below(10) as u32 * 10);
    let roll = mix.below(100);
    let status = if day < 0 {
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
    let per = district.volunteers_per_courtyard(courtyards);
    let mut volunteers: Vec<Uuid> = Vec::new();
    for _ in 0..1 + mix.below(4) {
        let n = match courtyard_of.get(&venue.org_unit_id.0) {
            Some(&c) => district.volunteer_at(c, mix.pick(per), courtyards),
            None => Some(mix.pick(district.counts().volunteers)),
        };
        if let Some(id) = n.map(|n| district.volunteer_id(n))
            && !volunteers.contains(&id)
        {
            volunteers.push(id);
        }
    }
    let served = if status == ActivityStatus::Held {
        volunteers
            .iter()
            .map(|&volunteer_id| crate::domain::activity::ServedHours {
                volunteer_id,
                quarter_hours: 4 + mix.below(13) as u8,
            })
            .collect()
    } else {
        Vec::new()
    };
    let attendance = (status == ActivityStatus::Held)
        .then(|| (u64::from(capacity) * (40 + mix.below(71)) / 100) as u32);
    let activity = Activity {
        id: ActivityId(district.id("activity", n)),
        title: format!("{}(合成)", title(theme, n / 7)),
        theme,
        theme_label,
        venue_id: venue.id,
        org_unit_id: venue.org_unit_id,
        starts_at,
        ends_at,
        capacity,
        speakers: vec![format!("宣讲员{}号(合成)", 1 + mix.below(200))],
        volunteer_ids: volunteers,
        status,
        cancel_reason: (status == ActivityStatus::Cancelled)
            .then(|| "天气原因改期(合成)".to_owned()),
        attendance,
    };
    (activity, served)
}

async fn write_activities(
    db: &DatabaseConnection,
    district: &District,
    tree: &[TreeUnit],
    all: &[Venue],
    progress: &dyn Progress,
) -> anyhow::Result<(u64, u64)> {
    let courtyard_of: std::collections::HashMap<Uuid, usize> = tree
        .iter()
        .filter(|u| u.level == UnitKind::Courtyard)
        .enumerate()
        .map(|(i, u)| (u.id(), i))
        .collect();
    let courtyards = courtyard_of.len();
    let total = district.counts().activities;
    let bar = progress.table(SERVICE, "activities", total as u64);
    let mut mix = district.mix("venues/activities");
    let batch = chunk_rows(18);
    let (mut written, mut served_rows) = (0u64, 0u64);
    let mut n = 0u64;
    while (n as usize) < total {
        let mut chunk = Vec::with_capacity(batch);
        let mut served = Vec::new();
        while chunk.len() < batch && (n as usize) < total {
            let (a, s) = activity(district, &mut mix, n, all, &courtyard_of, courtyards);
            served.extend(s.into_iter().map(|s| activities::served::ActiveModel {
                activity_id: Set(a.id.0),
                volunteer_id: Set(s.volunteer_id),
                quarter_hours: Set(i16::from(s.quarter_hours)),
            }));
            chunk.push(a);
            n += 1;
        }
        let txn = db.begin().await.map_err(classify)?;
        activities::insert_many(&txn, &chunk, ACTOR).await?;
        served_rows += served.len() as u64;
        for rows in served.chunks(chunk_rows(3)) {
            activities::served::Entity::insert_many(rows.to_vec())
                .exec_without_returning(&txn)
                .await
                .map_err(classify)?;
        }
        txn.commit().await.map_err(classify)?;
        written += chunk.len() as u64;
        bar.inc(chunk.len() as u64);
    }
    bar.finish();
    Ok((written, served_rows))
}

/// One point per resident: most near a courtyard (counted to it), a scattered rural share
/// counted to the district that no circle reaches.
async fn write_residents(
    db: &DatabaseConnection,
    district: &District,
    tree: &[TreeUnit],
    progress: &dyn Progress,
) -> anyhow::Result<u64> {
    let courtyards: Vec<&TreeUnit> = tree
        .iter()
        .filter(|u| u.level == UnitKind::Courtyard)
        .collect();
    let total = district.counts().residents;
    let bar = progress.table(SERVICE, "resident_points", total as u64);
    let mut mix = district.mix("venues/residents");
    let ((lat0, lat1), (lon0, lon1)) = tongxin_platform::district::tree::BOX;
    let district_path = format!("/{}", tongxin_platform::district::DISTRICT);
    let per_statement = chunk_rows(5);
    // Several statements per transaction: fewer commits (each one an fsync on SQLite).
    let per_txn = per_statement * 20;
    let mut written = 0usize;
    while written < total {
        let txn = db.begin().await.map_err(classify)?;
        let end = (written + per_txn).min(total);
        while written < end {
            let rows: Vec<resident::ActiveModel> = (written..(written + per_statement).min(end))
                .map(|_| {
                    let (path, lat, lon) = if mix.unit() < 0.8 {
                        let c = courtyards[mix.pick(courtyards.len())];
                        let (lat, lon) =
                            clamp_box(c.lat + mix.signed() * 0.015, c.lon + mix.signed() * 0.015);
                        (c.path.clone(), lat, lon)
                    } else {
                        (
                            district_path.clone(),
                            lat0 + (lat1 - lat0) * mix.unit(),
                            lon0 + (lon1 - lon0) * mix.unit(),
                        )
                    };
                    resident::ActiveModel {
                        district: Set(tongxin_platform::district::DISTRICT.to_owned()),
                        unit_path: Set(path),
                        lat: Set(lat),
                        lon: Set(lon),
                        weight: Set(1),
                        ..Default::default()
                    }
                })
                .collect();
            let n = rows.len();
            resident::Entity::insert_many(rows)
                .exec_without_returning(&txn)
                .await
                .map_err(classify)?;
            written += n;
            bar.inc(n as u64);
        }
        txn.commit().await.map_err(classify)?;
    }
    bar.finish();
    Ok(total as u64)
}
