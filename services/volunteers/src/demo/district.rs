//! The `district` profile's volunteers data: the register of the reference district
//! (152,000 volunteers at full scale, sealed exactly as the import seals them), its 570
//! teams with their members, and a service-hours ledger with each volunteer's totals.
//! Written in bulk through this service's entities, in transactions, without outbox
//! events (the first start must not announce a year of registrations). Ids and homes follow
//! the profile ([`tongxin_platform::district::District::volunteer_id`] and
//! [`…::volunteer_home`](tongxin_platform::district::District::volunteer_home)), so orders
//! and venues name the same volunteers without asking this service.

use chrono::{DateTime, Duration, Utc};
use sea_orm::{ActiveValue::Set, EntityTrait, Iterable, PaginatorTrait, TransactionTrait};
use tongxin_platform::db::classify;
use tongxin_platform::district::{
    District, Loaded, Mix, Progress, Quiet, TreeUnit, chunk_rows, insert_rows, insert_table,
    learn_tree,
};
use tongxin_platform::org::Level;
use uuid::Uuid;

use super::{HomeUnit, people};
use crate::domain::stars::StarThresholds;
use crate::service::Volunteers;
use crate::store::ledger::{entries, stats};
use crate::store::teams::{self, StoredLevel, members};
use crate::store::volunteers;

/// `created_by` (and recorder) of the rows written here.
pub const ACTOR: &str = "district-seed";

const SERVICE: &str = "volunteers";

/// Loads the district's volunteers into the service's database unless it holds volunteers
/// already, in which case it says so and adds nothing.
pub async fn load(
    service: &Volunteers,
    district: &District,
    progress: &dyn Progress,
) -> anyhow::Result<Loaded> {
    let held = volunteers::Entity::find()
        .count(service.db())
        .await
        .map_err(classify)?;
    if held > 0 {
        progress.note(&format!(
            "volunteers: the database already holds {held} volunteers; nothing added"
        ));
        return Ok(Loaded::already_loaded());
    }
    let tree = tongxin_platform::district::tree::tree();
    let mut loaded = Loaded::default();
    // The tree, as this service keeps it (path, name, place), so staff scopes resolve.
    let units = learn_tree(SERVICE, &tree, progress, |u| async move {
        service
            .remember_unit_details(u.id(), &u.path, &u.name, (u.lat, u.lon))
            .await
    })
    .await?;
    loaded.add("known_units", units);
    let courtyards: Vec<HomeUnit> = tree
        .iter()
        .filter(|u| u.level == Level::Courtyard)
        .map(|u| HomeUnit {
            id: u.id(),
            path: u.path.clone(),
            lat: u.lat,
            lon: u.lon,
        })
        .collect();
    loaded.add(
        "volunteers",
        write_volunteers(service, district, &courtyards, progress).await?,
    );
    let (teams, members) = write_teams(service, district, &tree, progress).await?;
    loaded.add("teams", teams);
    loaded.add("team_members", members);
    let (entries, stats) = write_ledger(service, district, progress).await?;
    loaded.add("hours_entries", entries);
    loaded.add("volunteer_stats", stats);
    Ok(loaded)
}

/// A day within the year before the profile's day.
fn day_in_year(district: &District, mix: &mut Mix) -> DateTime<Utc> {
    district.today - Duration::days(1 + mix.below(365) as i64)
        + Duration::hours(mix.below(12) as i64)
}

async fn write_volunteers(
    service: &Volunteers,
    district: &District,
    courtyards: &[HomeUnit],
    progress: &dyn Progress,
) -> anyhow::Result<u64> {
    let total = district.counts().volunteers;
    let bar = progress.table(SERVICE, "volunteers", total as u64);
    // Names, ID-card numbers (valid, unique per index), phones and skills as the demo
    // makes them; the home courtyard is the profile's, so orders can name them.
    let mut everyone = people(total, courtyards.len(), courtyards, district.seed);
    let mut mix = district.mix("volunteers/homes");
    for (n, person) in everyone.iter_mut().enumerate() {
        let c = district.volunteer_home(n, courtyards.len());
        let home = &courtyards[c];
        person.unit = c;
        person.lat = (home.lat + mix.signed() * 0.015).clamp(29.25, 29.65);
        person.lon = (home.lon + mix.signed() * 0.015).clamp(105.30, 105.75);
    }
    let per_txn = chunk_rows(volunteers::Column::iter().count()) * 10;
    let mut written = 0usize;
    let mut linked = false;
    for block in everyone.chunks(per_txn) {
        // Sealed by the service's own cipher, as the import seals them.
        let mut rows = service
            .synthetic_rows(block, courtyards, ACTOR)
            .map_err(|e| anyhow::anyhow!("making volunteer rows: {e:?}"))?;
        for (k, row) in rows.iter_mut().enumerate() {
            let n = written + k;
            let registered =
                day_in_year(district, &mut mix) - Duration::days(mix.below(1_500) as i64);
            row.id = district.volunteer_id(n);
            row.volunteer_no = format!("RC8{n:015}");
            row.consent_at = registered;
            row.created_at = registered;
            row.updated_at = Some(registered);
            // The demo volunteer's account (`tongxin run` prints its token) acts as the
            // first active volunteer of the first courtyard, as in the demo.
            if !linked
                && district.volunteer_home(n, courtyards.len()) == 0
                && row.status == crate::domain::matching::VolunteerStatus::Active.as_str()
            {
                row.subject = Some(super::DEMO_VOLUNTEER_SUBJECT.to_owned());
                linked = true;
            }
        }
        let txn = service.db().begin().await.map_err(classify)?;
        insert_rows(&txn, &rows, bar.as_ref())
            .await
            .map_err(classify)?;
        txn.commit().await.map_err(classify)?;
        // The running service's candidate index learns them as an import's rows.
        service.matcher().apply_all(&rows);
        written += rows.len();
    }
    bar.finish();
    Ok(written as u64)
}

/// The team levels in the order teams are made: the brigade at the center, a detachment
/// per institute, a squad per station, then courtyard units (as many as the count allows).
fn team_units(tree: &[TreeUnit]) -> Vec<(&TreeUnit, StoredLevel)> {
    let of = |level: Level, stored: StoredLevel| {
        tree.iter()
            .filter(move |u| u.level == level)
            .map(move |u| (u, stored))
    };
    of(Level::Center, StoredLevel::Brigade)
        .chain(of(Level::Institute, StoredLevel::Detachment))
        .chain(of(Level::Station, StoredLevel::Squad))
        .chain(of(Level::Courtyard, StoredLevel::CourtyardUnit))
        .collect()
}

async fn write_teams(
    service: &Volunteers,
    district: &District,
    tree: &[TreeUnit],
    progress: &dyn Progress,
) -> anyhow::Result<(u64, u64)> {
    let total = district.counts().teams;
    let courtyard_index: std::collections::HashMap<&str, usize> = tree
        .iter()
        .filter(|u| u.level == Level::Courtyard)
        .enumerate()
        .map(|(i, u)| (u.path.as_str(), i))
        .collect();
    let courtyard_paths: Vec<&str> = tree
        .iter()
        .filter(|u| u.level == Level::Courtyard)
        .map(|u| u.path.as_str())
        .collect();
    let courtyards = courtyard_paths.len();
    let per = district.volunteers_per_courtyard(courtyards);
    let mut mix = district.mix("volunteers/teams");
    let mut team_of_unit: std::collections::HashMap<&str, Uuid> = Default::default();
    let mut rows = Vec::new();
    let mut member_rows = Vec::new();
    for (n, (unit, level)) in team_units(tree).into_iter().take(total).enumerate() {
        let id = district.id("team", n as u64);
        let created = day_in_year(district, &mut mix) - Duration::days(365);
        let parent_id = unit
            .parent_path()
            .and_then(|p| team_of_unit.get(p).copied());
        team_of_unit.insert(unit.path.as_str(), id);
        rows.push(teams::Model {
            id,
            name: format!("{}志愿服务队(合成)", unit.name),
            level,
            unit_id: unit.id(),
            unit_path: unit.path.clone(),
            parent_id,
            created_at: created,
            created_by: ACTOR.to_owned(),
        });
        // Members live under the team's unit: a courtyard's own volunteers, or those of
        // courtyards below a station, institute or the center.
        let under: Vec<usize> = courtyard_paths
            .iter()
            .enumerate()
            .filter(|(_, p)| tongxin_platform::org::covers(&unit.path, p))
            .map(|(i, _)| i)
            .collect();
        let size = 8 + mix.pick(25);
        let mut chosen: Vec<usize> = Vec::new();
        for _ in 0..size {
            let c = match courtyard_index.get(unit.path.as_str()) {
                Some(&c) => c,
                None if !under.is_empty() => under[mix.pick(under.len())],
                None => continue,
            };
            if let Some(v) = district.volunteer_at(c, mix.pick(per), courtyards)
                && !chosen.contains(&v)
            {
                chosen.push(v);
            }
        }
        for (k, v) in chosen.into_iter().enumerate() {
            member_rows.push(members::ActiveModel {
                team_id: Set(id),
                volunteer_id: Set(district.volunteer_id(v)),
                is_leader: Set(k == 0),
                joined_at: Set(created + Duration::days(mix.below(300) as i64)),
                added_by: Set(ACTOR.to_owned()),
            });
        }
    }
    let txn = service.db().begin().await.map_err(classify)?;
    let (_, teams) = insert_table(&txn, &rows, SERVICE, "teams", progress)
        .await
        .map_err(classify)?;
    let (_, members) = insert_table(&txn, &member_rows, SERVICE, "team_members", progress)
        .await
        .map_err(classify)?;
    txn.commit().await.map_err(classify)?;
    Ok((teams, members))
}

const PLACES: &[&str] = &[
    "小院讲堂",
    "村社区实践站",
    "镇街实践所",
    "玉带河公园",
    "敬老院",
];
const CONTENT: &[&str] = &[
    "理论宣讲志愿服务",
    "助老探访",
    "义诊协助",
    "文明劝导",
    "环境整治",
    "政策解读",
];

/// Hours over the past year: most volunteers served a few times (activities, some
/// entered by staff), most entries approved, the latest few still pending; each
/// volunteer's totals and star level match their entries.
async fn write_ledger(
    service: &Volunteers,
    district: &District,
    progress: &dyn Progress,
) -> anyhow::Result<(u64, u64)> {
    let total = district.counts().volunteers;
    let activities = district.counts().activities as u64;
    let stars = StarThresholds::default();
    let mut mix = district.mix("volunteers/ledger");
    let bar = progress.table(SERVICE, "hours_entries", total as u64);
    let (mut entry_count, mut stat_count) = (0u64, 0u64);
    let per_txn = 2_000;
    let mut n = 0usize;
    while n < total {
        let end = (n + per_txn).min(total);
        let mut entry_rows = Vec::new();
        let mut stat_rows = Vec::new();
        for v in n..end {
            let volunteer_id = district.volunteer_id(v);
            let count = mix.below(6);
            if count == 0 {
                continue;
            }
            let (mut approved, mut pending) = (0i64, 0i64);
            // One entry per activity and volunteer (the ledger's unique source).
            let mut attended: Vec<u64> = Vec::new();
            for _ in 0..count {
                let at = day_in_year(district, &mut mix);
                let quarters = 4 + mix.below(21) as i16;
                let activity = mix.below(activities);
                let from_activity = mix.below(4) != 0 && !attended.contains(&activity);
                if from_activity {
                    attended.push(activity);
                }
                let is_pending = at > district.today - Duration::days(14) && mix.below(2) == 0;
                if is_pending {
                    pending += i64::from(quarters);
                } else {
                    approved += i64::from(quarters);
                }
                entry_rows.push(entries::ActiveModel {
                    id: Set(mix.uuid_v7(at)),
                    volunteer_id: Set(volunteer_id),
                    source: Set(if from_activity {
                        entries::Source::Activity
                    } else {
                        entries::Source::Manual
                    }),
                    source_id: Set(from_activity.then(|| district.id("activity", activity))),
                    quarters: Set(quarters),
                    service_date: Set((at + Duration::hours(8)).date_naive()),
                    place: Set(PLACES[mix.pick(PLACES.len())].to_owned()),
                    content: Set(CONTENT[mix.pick(CONTENT.len())].to_owned()),
                    evaluation: Set(None),
                    recorder: Set(ACTOR.to_owned()),
                    recorded_at: Set(at),
                    status: Set(if is_pending {
                        entries::Status::Pending
                    } else {
                        entries::Status::Approved
                    }),
                    decided_by: Set((!is_pending).then(|| ACTOR.to_owned())),
                    decided_at: Set((!is_pending).then_some(at + Duration::days(2))),
                    decline_reason: Set(None),
                });
            }
            stat_rows.push(stats::ActiveModel {
                volunteer_id: Set(volunteer_id),
                approved_quarters: Set(approved),
                pending_quarters: Set(pending),
                star_level: Set(i16::from(stars.level_for(approved as f64 / 4.0))),
                points: Set(0.0),
            });
        }
        let txn = service.db().begin().await.map_err(classify)?;
        insert_rows(&txn, &entry_rows, &Quiet)
            .await
            .map_err(classify)?;
        insert_rows(&txn, &stat_rows, &Quiet)
            .await
            .map_err(classify)?;
        txn.commit().await.map_err(classify)?;
        entry_count += entry_rows.len() as u64;
        stat_count += stat_rows.len() as u64;
        bar.inc((end - n) as u64);
        n = end;
    }
    bar.finish();
    Ok((entry_count, stat_count))
}
