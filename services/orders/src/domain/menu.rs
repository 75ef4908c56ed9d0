//! The service menu (点单菜单): categories a citizen can order, the level that normally
//! handles each, the skills it needs, the form it asks for, and how long each level has to
//! receive it (SLA).

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::{DomainError, Level};

/// The type of a form field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FieldKind {
    /// Free text.
    Text,
    /// A decimal number.
    Number,
    /// A date, `YYYY-MM-DD`.
    Date,
    /// One of `choices`.
    Choice,
}

/// One question a category asks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FormField {
    /// Key, `a-z0-9_`, unique in the form.
    pub key: String,
    /// What the citizen sees.
    pub label: String,
    /// Type.
    pub kind: FieldKind,
    /// Whether an answer is required.
    pub required: bool,
    /// The allowed answers of a choice.
    #[serde(default)]
    pub choices: Vec<String>,
}

/// Minutes each level has to receive an order of a category.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sla {
    /// 小院.
    pub courtyard: u32,
    /// 站.
    pub station: u32,
    /// 所.
    pub institute: u32,
    /// 中心.
    pub center: u32,
}

impl Sla {
    /// The minutes of `level`.
    pub fn minutes(&self, level: Level) -> u32 {
        match level {
            Level::Courtyard => self.courtyard,
            Level::Station => self.station,
            Level::Institute => self.institute,
            Level::Center => self.center,
        }
    }

    fn parse(self) -> Result<Self, DomainError> {
        for level in Level::ALL {
            let m = self.minutes(level);
            if m == 0 || m > 30 * 24 * 60 {
                return Err(DomainError::invalid(
                    "sla",
                    format!("{}: must be 1 minute to 30 days", level.as_str()),
                ));
            }
        }
        Ok(self)
    }
}

impl Default for Sla {
    /// Two hours at a courtyard, four at a station, eight at an institute, a day at the center.
    fn default() -> Self {
        Self {
            courtyard: 120,
            station: 240,
            institute: 480,
            center: 1440,
        }
    }
}

/// The legal services a legal-aid station gives that an order can ask for (the codes of
/// the legal-aid service's `LegalService`).
pub const LEGAL_SERVICES: [&str; 2] = ["consultation", "mediation"];

/// Who handles the orders of a category once they are received.
///
/// Most of the menu is volunteer work (dispatched to volunteers or a team). A legal
/// category (法律咨询, 劳动纠纷调解) is handled by a legal-aid station: the order is dispatched
/// to a station, where it becomes a consultation request the citizen books a slot for, and
/// the station's visit moves the order on (see `crate::events::consumers::legal_aid`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Handling {
    /// Volunteers or a team (the default).
    #[default]
    Volunteers,
    /// A legal-aid station giving `service` (one of [`LEGAL_SERVICES`]).
    LegalAid {
        /// The legal service code, e.g. `consultation`.
        service: String,
    },
}

impl Handling {
    /// The stored code: `volunteers` or `legal_aid`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Volunteers => "volunteers",
            Self::LegalAid { .. } => "legal_aid",
        }
    }

    /// The legal service, for a legal-aid category.
    pub fn legal_service(&self) -> Option<&str> {
        match self {
            Self::Volunteers => None,
            Self::LegalAid { service } => Some(service),
        }
    }

    /// Parses a stored or typed pair (handling code, legal service).
    pub fn parse(code: &str, service: Option<&str>) -> Result<Self, DomainError> {
        match (code, service) {
            ("volunteers", None) => Ok(Self::Volunteers),
            ("volunteers", Some(_)) => Err(DomainError::invalid(
                "legalService",
                "only a category handled by legal aid names a legal service",
            )),
            ("legal_aid", Some(s)) if LEGAL_SERVICES.contains(&s) => Ok(Self::LegalAid {
                service: s.to_owned(),
            }),
            ("legal_aid", _) => Err(DomainError::invalid(
                "legalService",
                format!(
                    "a category handled by legal aid names its service: one of {}",
                    LEGAL_SERVICES.join(", ")
                ),
            )),
            _ => Err(DomainError::invalid("handledBy", "volunteers or legal_aid")),
        }
    }

    /// Whether a dispatch to `to` fits this handling: a legal order goes to a legal-aid
    /// station and nowhere else; a volunteer order never goes to a station. BAD_USER_INPUT
    /// saying which, so staff know what to pick.
    pub fn admits(&self, to: &super::machine::Assignee) -> Result<(), DomainError> {
        use super::machine::Assignee;
        match (self, to) {
            (Self::Volunteers, Assignee::Volunteers(_) | Assignee::Team(_))
            | (Self::LegalAid { .. }, Assignee::LegalAidStation(_)) => Ok(()),
            (Self::Volunteers, Assignee::LegalAidStation(_)) => Err(DomainError::invalid(
                "legalAidStationId",
                "this category is handled by volunteers: dispatch it to volunteers or a team",
            )),
            (Self::LegalAid { .. }, _) => Err(DomainError::invalid(
                "dispatch",
                "this category is handled by a legal-aid station: dispatch it with legalAidStationId",
            )),
        }
    }
}

/// A menu category, parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct Category {
    /// Code, `a-z0-9_-`, unique.
    pub code: String,
    /// Name shown to citizens.
    pub name: String,
    /// One of the seven themes or another group.
    pub group: String,
    /// The level that normally handles it.
    pub default_level: Level,
    /// Skill codes a volunteer needs (volunteers' catalog).
    pub skills: Vec<String>,
    /// The form.
    pub fields: Vec<FormField>,
    /// Minutes per level to receive.
    pub sla: Sla,
    /// Whether citizens can order it now.
    pub active: bool,
    /// Who handles its orders.
    pub handling: Handling,
}

fn is_code(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 40
        && text
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
}

impl Category {
    /// Checks every part of a category as center staff typed it.
    pub fn parse(mut self) -> Result<Self, DomainError> {
        self.code = self.code.trim().to_owned();
        if !is_code(&self.code) {
            return Err(DomainError::invalid(
                "code",
                "must be 1 to 40 of a-z, 0-9, _ and -",
            ));
        }
        self.name = super::text("name", &self.name, true, 60)?;
        self.group = super::text("group", &self.group, true, 40)?;
        for skill in &self.skills {
            if !is_code(skill) {
                return Err(DomainError::invalid("skills", "skill codes are a-z0-9_-"));
            }
        }
        let mut keys = std::collections::HashSet::new();
        for field in &mut self.fields {
            field.key = field.key.trim().to_owned();
            if !is_code(&field.key) || !keys.insert(field.key.clone()) {
                return Err(DomainError::invalid(
                    "fields",
                    "keys must be unique codes of a-z0-9_-",
                ));
            }
            field.label = super::text("fields", &field.label, true, 60)?;
            match field.kind {
                FieldKind::Choice if field.choices.is_empty() => {
                    return Err(DomainError::invalid(
                        "fields",
                        format!("{}: a choice needs choices", field.key),
                    ));
                }
                FieldKind::Choice => {}
                _ if !field.choices.is_empty() => {
                    return Err(DomainError::invalid(
                        "fields",
                        format!("{}: only a choice has choices", field.key),
                    ));
                }
                _ => {}
            }
        }
        if self.fields.len() > 30 {
            return Err(DomainError::invalid("fields", "at most 30 fields"));
        }
        self.sla = self.sla.parse()?;
        self.handling = Handling::parse(self.handling.code(), self.handling.legal_service())?;
        Ok(self)
    }

    /// Checks a citizen's answers against the form: every required field answered, no
    /// unknown keys, values of the right type. Returns them trimmed, empty answers dropped.
    pub fn check_answers(
        &self,
        answers: &BTreeMap<String, String>,
    ) -> Result<BTreeMap<String, String>, DomainError> {
        for key in answers.keys() {
            if !self.fields.iter().any(|f| &f.key == key) {
                return Err(DomainError::invalid(
                    "form",
                    format!("{key}: not a field of category {}", self.code),
                ));
            }
        }
        let mut out = BTreeMap::new();
        for field in &self.fields {
            let value = answers.get(&field.key).map(|v| v.trim()).unwrap_or("");
            if value.is_empty() {
                if field.required {
                    return Err(DomainError::invalid(
                        "form",
                        format!("{}: is required", field.key),
                    ));
                }
                continue;
            }
            let ok = match field.kind {
                FieldKind::Text => value.chars().count() <= 500,
                FieldKind::Number => value.parse::<f64>().is_ok_and(f64::is_finite),
                FieldKind::Date => NaiveDate::parse_from_str(value, "%Y-%m-%d").is_ok(),
                FieldKind::Choice => field.choices.iter().any(|c| c == value),
            };
            if !ok {
                let want = match field.kind {
                    FieldKind::Text => "text of at most 500 characters".to_owned(),
                    FieldKind::Number => "a number".to_owned(),
                    FieldKind::Date => "a date YYYY-MM-DD".to_owned(),
                    FieldKind::Choice => format!("one of {}", field.choices.join(", ")),
                };
                return Err(DomainError::invalid(
                    "form",
                    format!("{}: must be {want}", field.key),
                ));
            }
            out.insert(field.key.clone(), value.to_owned());
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn category() -> Category {
        Category {
            code: "elder_visit".into(),
            name: "助老探访".into(),
            group: "role_models".into(),
            default_level: Level::Courtyard,
            skills: vec!["elder_care".into()],
            fields: vec![
                FormField {
                    key: "people".into(),
                    label: "人数".into(),
                    kind: FieldKind::Number,
                    required: true,
                    choices: vec![],
                },
                FormField {
                    key: "day".into(),
                    label: "日期".into(),
                    kind: FieldKind::Date,
                    required: false,
                    choices: vec![],
                },
                FormField {
                    key: "kind".into(),
                    label: "类型".into(),
                    kind: FieldKind::Choice,
                    required: false,
                    choices: vec!["聊天".into(), "打扫".into()],
                },
            ],
            sla: Sla::default(),
            active: true,
            handling: Handling::Volunteers,
        }
        .parse()
        .expect("valid")
    }

    fn answers(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn answers_are_checked_by_type() {
        let c = category();
        assert!(c.check_answers(&answers(&[("people", "2")])).is_ok());
        let missing = c.check_answers(&answers(&[])).expect_err("required");
        assert_eq!(missing.to_string(), "form: people: is required");
        assert!(c.check_answers(&answers(&[("people", "two")])).is_err());
        assert!(
            c.check_answers(&answers(&[("people", "2"), ("day", "31/12/2026")]))
                .is_err()
        );
        assert!(
            c.check_answers(&answers(&[("people", "2"), ("kind", "做饭")]))
                .is_err()
        );
        assert!(
            c.check_answers(&answers(&[("people", "2"), ("extra", "x")]))
                .is_err()
        );
        let ok = c
            .check_answers(&answers(&[
                ("people", " 3 "),
                ("kind", "打扫"),
                ("day", ""),
            ]))
            .expect("ok");
        assert_eq!(ok.get("people").map(String::as_str), Some("3"));
        assert!(!ok.contains_key("day"));
    }

    #[test]
    fn categories_are_parsed() {
        let mut c = category();
        c.code = "Bad Code".into();
        assert!(c.parse().is_err());
        let mut c = category();
        c.fields[2].choices.clear();
        assert!(c.parse().is_err());
        let mut c = category();
        c.sla.center = 0;
        assert!(c.parse().is_err());
        let mut c = category();
        c.handling = Handling::LegalAid {
            service: "notarization".into(),
        };
        assert!(
            c.parse().is_err(),
            "orders ask for consultation or mediation only"
        );
    }

    #[test]
    fn legal_orders_go_to_a_station_and_volunteer_orders_never_do() {
        use crate::domain::machine::Assignee;
        use crate::domain::{TeamId, VolunteerId};
        let station = Assignee::LegalAidStation(uuid::Uuid::now_v7());
        let volunteers = Assignee::Volunteers(vec![VolunteerId(uuid::Uuid::now_v7())]);
        let team = Assignee::Team(TeamId(uuid::Uuid::now_v7()));
        let legal = Handling::parse("legal_aid", Some("consultation")).expect("legal");
        assert_eq!(legal.admits(&station), Ok(()));
        for to in [&volunteers, &team] {
            let err = legal.admits(to).expect_err("not to volunteers");
            assert!(
                matches!(
                    err,
                    DomainError::Invalid {
                        field: "dispatch",
                        ..
                    }
                ),
                "{to:?}: {err:?}"
            );
        }
        assert_eq!(Handling::Volunteers.admits(&volunteers), Ok(()));
        assert_eq!(Handling::Volunteers.admits(&team), Ok(()));
        assert!(Handling::Volunteers.admits(&station).is_err());
        assert!(Handling::parse("volunteers", Some("consultation")).is_err());
        assert!(Handling::parse("legal_aid", None).is_err());
        assert!(Handling::parse("robots", None).is_err());
    }
}
