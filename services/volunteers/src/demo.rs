//! Synthetic volunteers: the demo register for `tongxin run`, and the data the benchmarks
//! and tests generate. Deterministic (the same people on every machine), labelled 合成
//! (synthetic) in their names, with ID-card numbers of Rongchang's region code whose
//! check characters are valid, and placed around the courtyards they belong to.

pub mod district;

use chrono::Utc;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use uuid::Uuid;

use crate::domain::availability::Availability;
use crate::domain::matching::VolunteerStatus;
use crate::error::VolunteersError;
use crate::import::Quiet;
use crate::service::{Volunteers, skills_text};
use crate::store::volunteers::{self, Model};

/// `created_by` of the demo rows: seeding happens once per database.
pub const DEMO_ACTOR: &str = "demo-seed";
/// The account the demo volunteer signs in with (`tongxin run` prints its token).
pub const DEMO_VOLUNTEER_SUBJECT: &str = "demo-volunteer";
/// How many volunteers `tongxin run` seeds.
pub const DEMO_VOLUNTEERS: usize = 3000;

/// A unit volunteers can belong to.
#[derive(Debug, Clone)]
pub struct HomeUnit {
    /// Unit id.
    pub id: Uuid,
    /// Unit path.
    pub path: String,
    /// Latitude.
    pub lat: f64,
    /// Longitude.
    pub lon: f64,
}

/// One synthetic person, as a district's register would list them.
#[derive(Debug, Clone)]
pub struct Person {
    /// Name, ending in （合成）.
    pub name: String,
    /// A valid 18-character ID-card number.
    pub id_card_number: String,
    /// An 11-digit mobile number.
    pub phone: String,
    /// Index into the units given.
    pub unit: usize,
    /// Skill codes, comma-separated.
    pub skills: String,
    /// Weekly availability text.
    pub availability: &'static str,
    /// Latitude.
    pub lat: f64,
    /// Longitude.
    pub lon: f64,
}

const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭",
    "何", "罗", "高", "林", "唐", "蒋", "曾", "彭",
];
const GIVEN: &[&str] = &[
    "伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明",
    "超", "秀英", "华", "建国", "桂兰", "玉兰", "志强", "海燕",
];
const SKILLS: &[&str] = &[
    "legal",
    "medical",
    "elder_care",
    "tutoring",
    "repair",
    "agriculture",
    "performance",
    "publicity",
];
const AVAILABILITY: &[&str] = &[
    "Mon-Fri 18:00-21:00; Sat-Sun 08:00-18:00",
    "Mon-Sun 08:00-12:00",
    "Sat-Sun 09:00-17:00",
    "Mon-Fri 08:00-17:00",
    "Mon-Sun 08:00-20:00",
];

/// Deterministic pseudo-random numbers (a 64-bit LCG; no crate for this much).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }
    fn unit(&mut self) -> f64 {
        self.next() as f64 / (1u64 << 31) as f64
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Appends the check character to the first 17 digits of an ID-card number (GB 11643).
pub fn with_check_character(first17: &str) -> String {
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    const CHECK: &[u8; 11] = b"10X98765432";
    let sum: u32 = first17
        .chars()
        .zip(WEIGHTS)
        .map(|(c, w)| c.to_digit(10).unwrap_or(0) * w)
        .sum();
    format!("{first17}{}", char::from(CHECK[(sum % 11) as usize]))
}

/// `n` synthetic people spread over `units` (at least one), within about 1.5 km of their
/// unit. Person `i` is the same for every call with the same `seed`. ID-card numbers are
/// unique for `i` below 10 million per seed.
pub fn people(n: usize, unit_count: usize, units: &[HomeUnit], seed: u64) -> Vec<Person> {
    let mut rng = Lcg(seed);
    let unit_count = unit_count.min(units.len()).max(1);
    (0..n)
        .map(|i| {
            let unit = rng.below(unit_count);
            let home = &units[unit.min(units.len().saturating_sub(1))];
            let year = 1950 + rng.below(55);
            let month = 1 + rng.below(12);
            let day = 1 + rng.below(28);
            // Sequence digits carry `i`, so numbers never repeat; the 17th digit's parity
            // is the gender.
            let seq = i % 1000;
            let block = (i / 1000) % 10_000;
            let first17 = format!(
                "5001{:02}{year:04}{month:02}{day:02}{seq:03}",
                (53 + block) % 100
            );
            let first17 = if block >= 47 {
                // Beyond the first region codes, vary the county digits too.
                format!("5{:03}{}", 100 + block % 900, &first17[4..])
            } else {
                first17
            };
            let mut skills: Vec<&str> = Vec::new();
            for s in SKILLS {
                if rng.unit() < 0.22 {
                    skills.push(s);
                }
            }
            let name = format!(
                "{}{}（合成）",
                SURNAMES[rng.below(SURNAMES.len())],
                GIVEN[rng.below(GIVEN.len())]
            );
            Person {
                name,
                id_card_number: with_check_character(&first17),
                phone: format!(
                    "1{}{:08}",
                    ["38", "39", "50", "58", "77", "86"][rng.below(6)],
                    rng.next() % 100_000_000
                ),
                unit,
                skills: skills.join(","),
                availability: AVAILABILITY[rng.below(AVAILABILITY.len())],
                lat: (home.lat + (rng.unit() - 0.5) * 0.03).clamp(29.25, 29.65),
                lon: (home.lon + (rng.unit() - 0.5) * 0.03).clamp(105.30, 105.75),
            }
        })
        .collect()
}

impl Volunteers {
    /// Stored rows for synthetic people (numbers `RC9…` + index, so they are stable too).
    pub fn synthetic_rows(
        &self,
        people: &[Person],
        units: &[HomeUnit],
        actor: &str,
    ) -> Result<Vec<Model>, VolunteersError> {
        let now = Utc::now();
        people
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let unit = &units[p.unit];
                let id = crate::domain::id_card::IdCardNumber::parse(&p.id_card_number)?;
                let skills = self
                    .catalog()
                    .parse_set(p.skills.split(',').filter(|s| !s.is_empty()))?;
                let district = unit.path.split('/').nth(1).unwrap_or("rc").to_uppercase();
                Ok(Model {
                    id: Uuid::new_v5(&Uuid::NAMESPACE_OID, format!("{actor}/{i}").as_bytes()),
                    volunteer_no: format!("{district}9{:015}", i),
                    subject: None,
                    name: p.name.clone(),
                    gender: id.gender().as_str().to_owned(),
                    birth_date: id.birth_date(),
                    id_card_cipher: self.cipher().encrypt(id.expose())?,
                    id_card_hash: self.cipher().keyed_hash(id.expose()).to_vec(),
                    phone_cipher: self.cipher().encrypt(&p.phone)?,
                    home_unit_id: unit.id,
                    home_unit_path: unit.path.clone(),
                    lat: p.lat,
                    lon: p.lon,
                    skills: skills_text(&self.catalog().codes(skills)),
                    availability: Availability::parse(p.availability)?.to_string(),
                    status: if i % 17 == 0 {
                        VolunteerStatus::Paused
                    } else {
                        VolunteerStatus::Active
                    }
                    .as_str()
                    .to_owned(),
                    consent_at: now,
                    guardian_consent: None,
                    created_at: now,
                    created_by: actor.to_owned(),
                    updated_at: Some(now),
                    deletion_requested_at: None,
                    deletion_reason: None,
                    erased_at: None,
                })
            })
            .collect()
    }

    /// Seeds [`DEMO_VOLUNTEERS`] synthetic volunteers over `courtyards` once (nothing when
    /// the demo rows exist already). Returns how many were stored.
    pub async fn seed_demo(&self, courtyards: &[HomeUnit]) -> Result<usize, VolunteersError> {
        if courtyards.is_empty() {
            return Ok(0);
        }
        let existing = volunteers::Entity::find()
            .filter(volunteers::Column::CreatedBy.eq(DEMO_ACTOR))
            .count(self.db())
            .await
            .map_err(tongxin_platform::db::classify)?;
        if existing > 0 {
            return Ok(0);
        }
        let people = people(DEMO_VOLUNTEERS, courtyards.len(), courtyards, 2026);
        let mut rows = self.synthetic_rows(&people, courtyards, DEMO_ACTOR)?;
        // The demo volunteer's account acts as the first active synthetic volunteer.
        if let Some(row) = rows
            .iter_mut()
            .find(|r| r.status == VolunteerStatus::Active.as_str())
        {
            row.subject = Some(DEMO_VOLUNTEER_SUBJECT.to_owned());
        }
        self.insert_batch(&rows, DEMO_ACTOR, &Quiet).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::id_card::IdCardNumber;

    #[test]
    fn people_are_valid_unique_and_deterministic() {
        let units = vec![HomeUnit {
            id: Uuid::nil(),
            path: "/rc/x".to_owned(),
            lat: 29.4,
            lon: 105.59,
        }];
        let a = people(20_000, 1, &units, 7);
        let b = people(20_000, 1, &units, 7);
        let mut seen = std::collections::HashSet::new();
        for (p, q) in a.iter().zip(&b) {
            assert_eq!(p.id_card_number, q.id_card_number);
            IdCardNumber::parse(&p.id_card_number).expect("valid number");
            tongxin_platform::pii::Phone::parse(&p.phone).expect("valid phone");
            assert!(p.name.ends_with("（合成）"));
            assert!(seen.insert(p.id_card_number.clone()), "unique");
        }
    }
}
