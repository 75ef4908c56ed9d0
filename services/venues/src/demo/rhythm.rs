//! A year of the rhythm of the work for `tongxin run`: weekly visits (走访) and monthly
//! courtyard activities for every demo courtyard, with realistic gaps, and the misses they
//! leave in `cadence_misses`.
//!
//! Deterministic: ids are UUIDv5 of fixed names and every choice comes from a fixed-seed
//! sequence, laid out backwards from the day of seeding. Most courtyards visit nearly every
//! week and hold an activity most months; 峰高示例小院二 stopped visiting ten weeks ago and
//! 示例小院007 has held no activity for five months (long streaks of misses). Notes and needs
//! are labelled 合成 and sealed like real ones.
//!
//! Like the rest of the demo, no events: the misses are closed through the scheduler's own
//! code path ([`Venues::close_periods`]) with announcing off, so the first run does not send
//! other departments a year of `cadence_missed`.

use chrono::{DateTime, Duration, Utc};
use sea_orm::TransactionTrait;
use tongxin_platform::db::classify;
use tongxin_platform::geo::Coordinates;
use uuid::Uuid;

use crate::domain::activity::{ActivityId, ActivityStatus, Theme};
use crate::domain::org::UnitKind;
use crate::domain::rhythm::{CadencePeriod, PeriodKind};
use crate::service::Venues;
use crate::store::activities::{self, Activity};
use crate::store::org_units::{self, OrgUnit};
use crate::store::rhythm::{self as store, visits};
use crate::store::venues as venue_store;

/// Namespace for demo visit and courtyard-activity ids.
const NAMESPACE: Uuid = Uuid::from_u128(0x3f1c_7d20_91ab_4e6f_a4c2_5b8e_0d17_c902);

/// How many weeks of visits (a year).
pub const WEEKS: u32 = 52;
/// How many months of courtyard activities.
pub const MONTHS: u32 = 12;

/// The courtyard that stopped visiting ten weeks ago.
pub const LAPSED_VISITS: &str = "/rc/fenggao/s01/c02";
/// The courtyard that has held no activity for five months: the synthetic 示例小院007 (its
/// path ends in this code).
pub const LAPSED_ACTIVITIES: &str = "/y007";

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

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

const NOTES: &[&str] = &[
    "入户走访,了解老人近况(合成)",
    "走访院坝,宣传小院活动安排(合成)",
    "回访上次反映的问题,已解决(合成)",
    "走访留守儿童家庭(合成)",
];

const NEEDS: &[&str] = &[
    "院坝路灯不亮,希望维修(合成)",
    "希望增加健康讲座(合成)",
    "老人需要代办医保手续(合成)",
    "希望开设周末儿童托管(合成)",
];

const THEMES: [Theme; 7] = Theme::SEVEN;

/// What [`seed`] added.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Seeded {
    /// Visits.
    pub visits: usize,
    /// Courtyard activities.
    pub activities: usize,
    /// Misses closed.
    pub misses: usize,
}

/// [`seed`] at the present moment (what `tongxin run` and `tongxin seed` call).
pub async fn seed_now(venues: &Venues) -> anyhow::Result<Seeded> {
    seed(venues, Utc::now()).await
}

/// Seeds a year of visits and monthly courtyard activities, then closes the year's periods
/// (without events), when the database holds no visits. Run after the demo tree and venues.
pub async fn seed(venues: &Venues, now: DateTime<Utc>) -> anyhow::Result<Seeded> {
    let db = venues.db();
    if store::visit_count(db).await? > 0 {
        return Ok(Seeded::default());
    }
    let courtyards = org_units::all_of_kind(db, UnitKind::Courtyard).await?;
    if courtyards.is_empty() {
        return Ok(Seeded::default());
    }
    let cipher = venues
        .contact_cipher()
        .map_err(|e| anyhow::anyhow!("no PII key for demo visits: {e:?}"))?
        .clone();
    let mut mix = Mix(0x7157_2026_1201_0017);
    let this_week = CadencePeriod::at(PeriodKind::Week, now);
    let this_month = CadencePeriod::at(PeriodKind::Month, now);
    let mut rows: Vec<visits::Model> = Vec::new();
    let mut held: Vec<Activity> = Vec::new();
    for (c, unit) in courtyards.iter().enumerate() {
        // Each courtyard has its own habit: most visit nearly every week.
        let diligence = 80 + mix.below(19);
        let mut week = this_week;
        for back in 0..=WEEKS {
            let lapsed = unit.path == LAPSED_VISITS && back < 10;
            let visits_this_week = if lapsed || mix.below(100) >= diligence {
                0
            } else {
                1 + u64::from(mix.below(5) == 0)
            };
            for n in 0..visits_this_week {
                let at = week.starts_at()
                    + Duration::days(mix.below(7) as i64)
                    + Duration::hours(1 + mix.below(9) as i64)
                    + Duration::minutes(mix.below(60) as i64);
                if at > now || at < now - Duration::days(crate::domain::rhythm::MAX_AGE_DAYS) {
                    continue;
                }
                rows.push(visit_row(&cipher, &mut mix, unit, c, back, n, at)?);
            }
            week = week.previous();
        }
        let mut month = this_month;
        for back in 0..=MONTHS {
            let lapsed = unit.path.ends_with(LAPSED_ACTIVITIES) && (1..=5).contains(&back);
            if !lapsed && mix.below(100) < 88 {
                let starts_at = month.starts_at()
                    + Duration::days(mix.below(27) as i64)
                    + Duration::hours(1 + mix.below(8) as i64);
                if starts_at < now {
                    held.push(courtyard_activity(&mut mix, unit, back, starts_at));
                }
            }
            month = month.previous();
        }
    }
    // Only courtyards whose lecture venue exists get their monthly activity.
    let venue_ids: std::collections::HashSet<Uuid> =
        venue_store::all_ids(db).await?.into_iter().collect();
    held.retain(|a| venue_ids.contains(&a.venue_id.0));

    let txn = db.begin().await.map_err(classify)?;
    let (visit_count, activity_count) = (rows.len(), held.len());
    store::insert_visits(&txn, rows).await?;
    activities::insert_many(&txn, &held, "seed").await?;
    txn.commit().await.map_err(classify)?;
    let misses = venues
        .close_periods(now, WEEKS, MONTHS, false)
        .await
        .map_err(|e| anyhow::anyhow!("closing the demo year: {e:?}"))?;
    Ok(Seeded {
        visits: visit_count,
        activities: activity_count,
        misses,
    })
}

fn visit_row(
    cipher: &tongxin_platform::pii::PiiCipher,
    mix: &mut Mix,
    unit: &OrgUnit,
    c: usize,
    back: u32,
    n: u64,
    at: DateTime<Utc>,
) -> anyhow::Result<visits::Model> {
    let needs: Vec<&str> = (0..mix.below(3))
        .map(|_| NEEDS[mix.below(NEEDS.len() as u64) as usize])
        .collect();
    let point = if mix.below(3) == 0 {
        let lat = unit.location.lat() + (mix.below(200) as f64 - 100.0) / 100_000.0;
        let lon = unit.location.lon() + (mix.below(200) as f64 - 100.0) / 100_000.0;
        Coordinates::parse(lat, lon)
            .ok()
            .map(|p| cipher.encrypt(&format!("{},{}", p.lat(), p.lon())))
            .transpose()?
    } else {
        None
    };
    // About half the visitors write a note (and each one sealed costs start-up time).
    let notes = (mix.below(2) == 0).then(|| NOTES[mix.below(NOTES.len() as u64) as usize]);
    Ok(visits::Model {
        id: Uuid::new_v5(&NAMESPACE, format!("visit:{c}:{back}:{n}").as_bytes()),
        unit_id: unit.id.0,
        visited_at: at,
        households_reached: i32::try_from(2 + mix.below(15)).unwrap_or(2),
        needs_count: i32::try_from(needs.len()).unwrap_or(0),
        point_cipher: point,
        notes_cipher: notes.map(|n| cipher.encrypt(n)).transpose()?,
        needs_cipher: if needs.is_empty() {
            None
        } else {
            Some(cipher.encrypt(&needs.join("\u{1f}"))?)
        },
        recorder: "seed".to_owned(),
        created_at: at,
    })
}

fn courtyard_activity(
    mix: &mut Mix,
    unit: &OrgUnit,
    back: u32,
    starts_at: DateTime<Utc>,
) -> Activity {
    let theme = THEMES[mix.below(THEMES.len() as u64) as usize];
    let capacity = 30;
    Activity {
        id: ActivityId(Uuid::new_v5(
            &NAMESPACE,
            format!("activity:{}:{back}", unit.path).as_bytes(),
        )),
        title: format!("小院{}宣讲(合成)", theme.zh()),
        theme,
        theme_label: None,
        venue_id: super::venues::venue_id(&unit.path),
        org_unit_id: unit.id,
        starts_at,
        ends_at: starts_at + Duration::minutes(90),
        capacity,
        speakers: vec![format!("宣讲员{}号(合成)", 1 + mix.below(60))],
        volunteer_ids: Vec::new(),
        status: ActivityStatus::Held,
        cancel_reason: None,
        attendance: Some(u32::try_from(10 + mix.below(20)).unwrap_or(10)),
    }
}
