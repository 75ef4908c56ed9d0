//! Checking imported rows: each good row becomes a stored volunteer row, each bad one a
//! list of [`RowError`]s naming the column.

use std::collections::HashMap;

use chrono::{NaiveDate, Utc};
use sea_orm::ConnectionTrait;
use tongxin_platform::db::DbError;
use tongxin_platform::geo::Coordinates;
use tongxin_platform::pii::Phone;
use uuid::Uuid;

use super::read::{Column, RawRow};
use super::{Progress, RowError};
use crate::domain::availability::{Availability, CHINA_STANDARD_TIME, local_today};
use crate::domain::id_card::IdCardNumber;
use crate::domain::matching::VolunteerStatus;
use crate::domain::scope::UnitPath;
use crate::error::VolunteersError;
use crate::service::{GUARDIAN_CONSENT_UNDER, Volunteers, skills_text, volunteer_number};
use crate::store::unit_details;
use crate::store::volunteers::Model;

/// A resolved unit.
#[derive(Debug, Clone)]
pub struct UnitRef {
    /// Id.
    pub id: Uuid,
    /// Path.
    pub path: UnitPath,
    /// Location, when known.
    pub location: Option<(f64, f64)>,
}

/// The known units, looked up by id, path, name or last path segment.
pub struct Units {
    by_id: HashMap<Uuid, UnitRef>,
    by_path: HashMap<String, Uuid>,
    // None marks a name two units share: it cannot identify a unit.
    by_name: HashMap<String, Option<Uuid>>,
}

impl Units {
    /// Every unit this service knows.
    pub async fn load<C: ConnectionTrait>(conn: &C) -> Result<Self, DbError> {
        let mut units = Self {
            by_id: HashMap::new(),
            by_path: HashMap::new(),
            by_name: HashMap::new(),
        };
        for u in unit_details::all(conn).await? {
            let Ok(path) = UnitPath::parse(&u.path) else {
                continue;
            };
            let mut names = vec![path.segments().last().unwrap_or_default().to_owned()];
            names.extend(u.name.clone());
            for n in names {
                units
                    .by_name
                    .entry(n)
                    .and_modify(|e| {
                        if *e != Some(u.id) {
                            *e = None;
                        }
                    })
                    .or_insert(Some(u.id));
            }
            units.by_path.insert(path.as_str().to_owned(), u.id);
            units.by_id.insert(
                u.id,
                UnitRef {
                    id: u.id,
                    path,
                    location: u.lat.zip(u.lon),
                },
            );
        }
        Ok(units)
    }

    /// The unit named by `text`: an id, a path such as `/rc/changyuan`, or a unit name
    /// (蔡家坝小院) or path segment (caijiaba) that only one unit has.
    pub fn resolve(&self, text: &str) -> Option<UnitRef> {
        let text = text.trim();
        let id = if let Ok(id) = Uuid::parse_str(text) {
            Some(id)
        } else if text.starts_with('/') {
            UnitPath::parse(text)
                .ok()
                .and_then(|p| self.by_path.get(p.as_str()).copied())
        } else {
            self.by_name.get(text).copied().flatten()
        };
        id.and_then(|id| self.by_id.get(&id).cloned())
    }
}

/// The rows that passed (with their 1-based row numbers) and the errors of the rest.
pub type Validated = (Vec<(usize, Model)>, Vec<RowError>);

/// Checks every row; returns the good ones as rows to store (with their spreadsheet row
/// number) and every problem of the bad ones. The same ID-card number twice in the file is
/// an error on the second row.
pub fn validate(
    volunteers: &Volunteers,
    units: &Units,
    default_unit: Option<UnitRef>,
    rows: Vec<RawRow>,
    actor: &str,
    progress: &dyn Progress,
) -> Result<Validated, VolunteersError> {
    let today = local_today(CHINA_STANDARD_TIME);
    let total = rows.len() as u64;
    let mut good = Vec::with_capacity(rows.len());
    let mut errors = Vec::new();
    let mut seen: HashMap<[u8; 32], usize> = HashMap::with_capacity(rows.len());
    for (i, row) in rows.into_iter().enumerate() {
        let mut problems = row.problems.clone();
        let mut fail = |col: Column, message: String| {
            problems.push(RowError {
                row: row.line,
                field: col.label().to_owned(),
                message,
            })
        };
        let name = row.get(Column::Name).unwrap_or_default().trim().to_owned();
        if name.is_empty() || name.chars().count() > 50 {
            fail(Column::Name, "must have 1 to 50 characters".to_owned());
        }
        // A cell that could not be read is already reported; "is required" would repeat it.
        let unreadable = |col: Column| row.problems.iter().any(|p| p.field == col.label());
        let id_card = match row.get(Column::IdCard) {
            None => {
                if !unreadable(Column::IdCard) {
                    fail(Column::IdCard, "is required".to_owned());
                }
                None
            }
            Some(text) => match IdCardNumber::parse_on(text, today) {
                Ok(id) => Some(id),
                Err(e) => {
                    fail(Column::IdCard, reason(&e));
                    None
                }
            },
        };
        if let Some(id) = &id_card {
            if let Some(g) = row.get(Column::Gender) {
                match gender(g) {
                    Some(g) if g == id.gender().as_str() => {}
                    Some(_) => fail(
                        Column::Gender,
                        "does not match the ID-card number".to_owned(),
                    ),
                    None => fail(Column::Gender, "must be 男/女 (male/female)".to_owned()),
                }
            }
            if let Some(d) = row.get(Column::BirthDate) {
                match birth_date(d) {
                    Some(d) if d == id.birth_date() => {}
                    Some(_) => fail(
                        Column::BirthDate,
                        "does not match the ID-card number".to_owned(),
                    ),
                    None => fail(
                        Column::BirthDate,
                        "must be a date like 1990-03-07".to_owned(),
                    ),
                }
            }
            if id.age_on(today) < GUARDIAN_CONSENT_UNDER {
                fail(
                    Column::IdCard,
                    format!(
                        "under {GUARDIAN_CONSENT_UNDER}: register with a guardian's consent record instead"
                    ),
                );
            }
        }
        let phone = match row.get(Column::Phone).map(Phone::parse) {
            None => {
                if !unreadable(Column::Phone) {
                    fail(Column::Phone, "is required".to_owned());
                }
                None
            }
            Some(Ok(p)) => Some(p),
            Some(Err(e)) => {
                fail(Column::Phone, reason(&e));
                None
            }
        };
        let unit = match row.get(Column::Unit) {
            Some(text) => match units.resolve(text) {
                Some(u) => Some(u),
                None => {
                    fail(Column::Unit, format!("unknown unit {text:?}"));
                    None
                }
            },
            None => match &default_unit {
                Some(u) => Some(u.clone()),
                None => {
                    fail(Column::Unit, "is required (or pass --unit)".to_owned());
                    None
                }
            },
        };
        let skills = row
            .get(Column::Skills)
            .map(|text| {
                volunteers.catalog().parse_set(
                    text.split([',', '，', '、', ';', '；', '/', ' '])
                        .map(str::trim)
                        .filter(|s| !s.is_empty()),
                )
            })
            .transpose()
            .unwrap_or_else(|e| {
                fail(Column::Skills, reason(&e));
                None
            })
            .unwrap_or_default();
        let availability = match row.get(Column::Availability).map(Availability::parse) {
            None => Availability::empty(),
            Some(Ok(a)) => a,
            Some(Err(e)) => {
                fail(Column::Availability, reason(&e));
                Availability::empty()
            }
        };
        let location = match (row.get(Column::Lat), row.get(Column::Lon)) {
            (Some(lat), Some(lon)) => match (lat.trim().parse(), lon.trim().parse()) {
                (Ok(lat), Ok(lon)) => match Coordinates::parse(lat, lon) {
                    Ok(c) => Some((c.lat(), c.lon())),
                    Err(e) => {
                        fail(Column::Lat, e.to_string());
                        None
                    }
                },
                _ => {
                    fail(Column::Lat, "经度/纬度 must be numbers".to_owned());
                    None
                }
            },
            (None, None) => match unit.as_ref().map(|u| u.location) {
                Some(Some(at)) => Some(at),
                Some(None) => {
                    fail(
                        Column::Lat,
                        "no coordinates and the unit's location is unknown".to_owned(),
                    );
                    None
                }
                None => None,
            },
            _ => {
                fail(
                    Column::Lat,
                    "give both 经度 and 纬度, or neither".to_owned(),
                );
                None
            }
        };
        if let Some(id) = &id_card {
            let hash = volunteers.cipher().keyed_hash(id.expose());
            if let Some(first) = seen.get(&hash) {
                fail(
                    Column::IdCard,
                    format!("the same number is already on row {first}"),
                );
            } else {
                seen.insert(hash, row.line);
            }
        }
        if problems.is_empty()
            && let (Some(id), Some(phone), Some(unit), Some((lat, lon))) =
                (id_card, phone, unit, location)
        {
            let now = Utc::now();
            good.push((
                row.line,
                Model {
                    id: Uuid::now_v7(),
                    volunteer_no: volunteer_number(unit.path.district()),
                    subject: None,
                    name,
                    gender: id.gender().as_str().to_owned(),
                    birth_date: id.birth_date(),
                    id_card_cipher: volunteers.cipher().encrypt(id.expose())?,
                    id_card_hash: volunteers.cipher().keyed_hash(id.expose()).to_vec(),
                    phone_cipher: volunteers.cipher().encrypt(phone.expose())?,
                    home_unit_id: unit.id,
                    home_unit_path: unit.path.as_str().to_owned(),
                    lat,
                    lon,
                    skills: skills_text(&volunteers.catalog().codes(skills)),
                    availability: availability.to_string(),
                    status: VolunteerStatus::Active.as_str().to_owned(),
                    // The district's register records volunteers who signed up (and
                    // consented) on paper; the import is that record.
                    consent_at: now,
                    guardian_consent: None,
                    created_at: now,
                    created_by: actor.to_owned(),
                    updated_at: Some(now),
                    deletion_requested_at: None,
                    deletion_reason: None,
                    erased_at: None,
                },
            ));
        } else {
            errors.extend(problems);
        }
        if i % 1000 == 999 {
            progress.update("validating", i as u64 + 1, total);
        }
    }
    progress.update("validating", total, total);
    Ok((good, errors))
}

/// The reason part of a domain error ("field: reason" → "reason"), since the column is
/// named separately.
fn reason(e: &impl std::fmt::Display) -> String {
    let text = e.to_string();
    match text.split_once(": ") {
        Some((_, r)) => r.to_owned(),
        None => text,
    }
}

fn gender(text: &str) -> Option<&'static str> {
    match text.trim().to_ascii_lowercase().as_str() {
        "男" | "male" | "m" => Some("male"),
        "女" | "female" | "f" => Some("female"),
        _ => None,
    }
}

fn birth_date(text: &str) -> Option<NaiveDate> {
    let t = text.trim();
    // A spreadsheet date cell may come with a time of day.
    let t = t.split(['T', ' ']).next().unwrap_or(t);
    ["%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y年%m月%d日", "%Y%m%d"]
        .iter()
        .find_map(|f| NaiveDate::parse_from_str(t, f).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_genders_in_the_usual_spellings() {
        let d = NaiveDate::from_ymd_opt(1990, 3, 7);
        for t in [
            "1990-03-07",
            "1990/3/7",
            "1990年3月7日",
            "19900307",
            "1990-03-07 00:00:00",
        ] {
            assert_eq!(birth_date(t), d, "{t}");
        }
        assert_eq!(birth_date("7 March"), None);
        assert_eq!(gender("女"), Some("female"));
        assert_eq!(gender("Male"), Some("male"));
        assert_eq!(gender("?"), None);
    }
}
