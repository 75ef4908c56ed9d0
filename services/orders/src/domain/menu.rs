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
    }
}
