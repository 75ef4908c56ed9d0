//! The managed skill list and a bitset for matching.
//!
//! Skills come from a managed list rather than free text so that "who can do legal
//! advice" is answerable at all: free text gives 法律, 法律咨询, 律师 and "legal" as four
//! different skills. Eight are built in; a deployment can add more in configuration.
//!
//! A [`SkillSet`] is a `u64`, so "has every required skill" is one AND, which is what lets
//! matching test 152,000 volunteers in well under a millisecond. The bit positions mean
//! something only together with the [`SkillCatalog`] that assigned them, so:
//! - build **one** catalog per deployment (the built-ins plus the union of every district's
//!   additions) so one in-memory index serves all districts;
//! - store skills by **code** (text), never by bit, so changing the configured list never
//!   reinterprets stored data.

use serde::Deserialize;

use super::DomainError;

const FIELD: &str = "skills";
/// A [`SkillSet`] is a `u64`; the top bit is left free so the matching index can pack a
/// volunteer's "active" flag into the same word and test status and skills in one AND.
pub const MAX_SKILLS: usize = 63;
const MAX_CODE_LEN: usize = 32;
const MAX_LABEL_CHARS: usize = 32;

/// One skill from a [`SkillCatalog`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Skill(u8);

impl Skill {
    /// 法律: legal advice and mediation.
    pub const LEGAL: Skill = Skill(0);
    /// 医疗: health care, first aid, check-ups.
    pub const MEDICAL: Skill = Skill(1);
    /// 助老: elder care.
    pub const ELDER_CARE: Skill = Skill(2);
    /// 辅导: tutoring, homework help.
    pub const TUTORING: Skill = Skill(3);
    /// 维修: household and appliance repair.
    pub const REPAIR: Skill = Skill(4);
    /// 农技: agricultural technique.
    pub const AGRICULTURE: Skill = Skill(5);
    /// 文艺: performance.
    pub const PERFORMANCE: Skill = Skill(6);
    /// 宣传: publicity, explaining policy.
    pub const PUBLICITY: Skill = Skill(7);

    /// Parses a skill name (code or Chinese label) against `catalog`; same as
    /// [`SkillCatalog::parse`].
    pub fn parse(name: &str, catalog: &SkillCatalog) -> Result<Skill, DomainError> {
        catalog.parse(name)
    }

    /// Bit position in a [`SkillSet`].
    pub fn index(self) -> u8 {
        self.0
    }
}

const BUILTIN: [(&str, &str); 8] = [
    ("legal", "法律"),
    ("medical", "医疗"),
    ("elder_care", "助老"),
    ("tutoring", "辅导"),
    ("repair", "维修"),
    ("agriculture", "农技"),
    ("performance", "文艺"),
    ("publicity", "宣传"),
];

/// A skill a deployment adds in configuration, e.g. `{ code = "psychology", label = "心理" }`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct SkillDefinition {
    /// Stable code: lower-case ASCII letters, digits and `_`, starting with a letter.
    pub code: String,
    /// Name shown to people (Chinese).
    pub label: String,
}

/// The skills a deployment knows: the eight built-ins first (fixed bits 0-7), then the
/// configured additions in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkillCatalog {
    entries: Vec<(String, String)>,
}

impl Default for SkillCatalog {
    fn default() -> Self {
        Self {
            entries: BUILTIN
                .iter()
                .map(|(c, l)| ((*c).to_owned(), (*l).to_owned()))
                .collect(),
        }
    }
}

impl SkillCatalog {
    /// The built-ins plus `extra`. Codes and labels must be unique across the whole list,
    /// or a name would parse to two skills; at most [`MAX_SKILLS`] (63) skills in total.
    pub fn with_extra(extra: &[SkillDefinition]) -> Result<Self, DomainError> {
        let mut catalog = Self::default();
        for def in extra {
            let code = def.code.trim();
            let label = def.label.trim();
            let valid_code = code.len() <= MAX_CODE_LEN
                && code.starts_with(|c: char| c.is_ascii_lowercase())
                && code
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
            if !valid_code {
                return Err(DomainError::config(
                    FIELD,
                    format!(
                        "code \"{code}\" must be lower-case letters, digits or _, starting with a letter, at most {MAX_CODE_LEN} long"
                    ),
                ));
            }
            if label.is_empty() || label.chars().count() > MAX_LABEL_CHARS {
                return Err(DomainError::config(
                    FIELD,
                    format!("label of \"{code}\" must have 1 to {MAX_LABEL_CHARS} characters"),
                ));
            }
            if catalog.lookup(code).is_some() || catalog.lookup(label).is_some() {
                return Err(DomainError::config(
                    FIELD,
                    format!("\"{code}\" / \"{label}\" is already in the list"),
                ));
            }
            if catalog.entries.len() == MAX_SKILLS {
                return Err(DomainError::config(
                    FIELD,
                    format!("at most {MAX_SKILLS} skills in total"),
                ));
            }
            catalog.entries.push((code.to_owned(), label.to_owned()));
        }
        Ok(catalog)
    }

    /// Parses a skill by code (case-insensitive; spaces and dashes read as `_`, so
    /// "Elder care" is `elder_care`) or by its Chinese label (`助老`).
    pub fn parse(&self, name: &str) -> Result<Skill, DomainError> {
        self.lookup(name).ok_or_else(|| {
            let known: Vec<&str> = self.entries.iter().map(|(c, _)| c.as_str()).collect();
            DomainError::invalid(
                FIELD,
                format!(
                    "unknown skill \"{}\" (known: {})",
                    name.trim(),
                    known.join(", ")
                ),
            )
        })
    }

    /// Parses a list of names into a set; the first unknown name is the error.
    pub fn parse_set<I, S>(&self, names: I) -> Result<SkillSet, DomainError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        names.into_iter().map(|n| self.parse(n.as_ref())).collect()
    }

    fn lookup(&self, name: &str) -> Option<Skill> {
        let name = name.trim();
        let code: String = name
            .chars()
            .map(|c| {
                if c == ' ' || c == '-' {
                    '_'
                } else {
                    c.to_ascii_lowercase()
                }
            })
            .collect();
        self.entries
            .iter()
            .position(|(c, l)| *c == code || l == name)
            .and_then(|i| u8::try_from(i).ok())
            .map(Skill)
    }

    /// The code of `skill`, or `None` for a skill from a different catalog.
    pub fn code(&self, skill: Skill) -> Option<&str> {
        self.entries
            .get(usize::from(skill.0))
            .map(|(c, _)| c.as_str())
    }

    /// The Chinese label of `skill`.
    pub fn label(&self, skill: Skill) -> Option<&str> {
        self.entries
            .get(usize::from(skill.0))
            .map(|(_, l)| l.as_str())
    }

    /// Codes of the skills in `set`, in catalog order (for storage and APIs).
    pub fn codes(&self, set: SkillSet) -> Vec<&str> {
        set.iter().filter_map(|s| self.code(s)).collect()
    }

    /// Every skill with its code and label, in catalog order.
    pub fn iter(&self) -> impl Iterator<Item = (Skill, &str, &str)> {
        self.entries
            .iter()
            .zip(0u8..)
            .map(|((c, l), i)| (Skill(i), c.as_str(), l.as_str()))
    }

    /// Number of skills known.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Never true (the built-ins are always there); provided for API completeness.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// A set of skills as a 64-bit mask.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct SkillSet(u64);

impl SkillSet {
    /// No skills.
    pub const fn empty() -> Self {
        Self(0)
    }

    /// Adds a skill.
    pub fn insert(&mut self, skill: Skill) {
        self.0 |= 1u64 << skill.0;
    }

    /// Removes a skill.
    pub fn remove(&mut self, skill: Skill) {
        self.0 &= !(1u64 << skill.0);
    }

    /// Whether `skill` is in the set.
    pub fn contains(self, skill: Skill) -> bool {
        self.0 & (1u64 << skill.0) != 0
    }

    /// Whether every skill of `required` is in the set (the matching filter).
    #[inline]
    pub fn contains_all(self, required: SkillSet) -> bool {
        required.0 & !self.0 == 0
    }

    /// No skills in the set.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Number of skills in the set.
    pub fn len(self) -> usize {
        self.0.count_ones() as usize
    }

    /// The raw mask, for the matching index's packed filter word.
    pub(super) fn bits(self) -> u64 {
        self.0
    }

    /// The skills, lowest bit first.
    pub fn iter(self) -> impl Iterator<Item = Skill> {
        (0u8..MAX_SKILLS as u8)
            .filter(move |i| self.0 & (1u64 << i) != 0)
            .map(Skill)
    }
}

impl FromIterator<Skill> for SkillSet {
    fn from_iter<I: IntoIterator<Item = Skill>>(iter: I) -> Self {
        let mut set = SkillSet::empty();
        for s in iter {
            set.insert(s);
        }
        set
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn def(code: &str, label: &str) -> SkillDefinition {
        SkillDefinition {
            code: code.into(),
            label: label.into(),
        }
    }

    #[test]
    fn builtins_parse_by_code_and_label() {
        let c = SkillCatalog::default();
        assert_eq!(c.len(), 8);
        assert_eq!(Skill::parse("legal", &c).unwrap(), Skill::LEGAL);
        assert_eq!(c.parse(" Elder care ").unwrap(), Skill::ELDER_CARE);
        assert_eq!(c.parse("elder-care").unwrap(), Skill::ELDER_CARE);
        assert_eq!(c.parse("助老").unwrap(), Skill::ELDER_CARE);
        assert_eq!(c.parse("PUBLICITY").unwrap(), Skill::PUBLICITY);
        assert_eq!(c.code(Skill::AGRICULTURE), Some("agriculture"));
        assert_eq!(c.label(Skill::REPAIR), Some("维修"));
    }

    #[test]
    fn unknown_skills_are_named() {
        let err = SkillCatalog::default().parse("juggling").unwrap_err();
        assert_eq!(
            err.to_string(),
            "skills: unknown skill \"juggling\" (known: legal, medical, elder_care, tutoring, repair, agriculture, performance, publicity)"
        );
    }

    #[test]
    fn districts_add_skills() {
        let c =
            SkillCatalog::with_extra(&[def("psychology", "心理"), def("sign_language", "手语")])
                .unwrap();
        assert_eq!(c.len(), 10);
        let psych = c.parse("心理").unwrap();
        assert_eq!(psych.index(), 8);
        assert_eq!(c.code(psych), Some("psychology"));
        assert_eq!(c.parse("sign language").unwrap().index(), 9);
        // Built-ins keep their bits.
        assert_eq!(c.parse("legal").unwrap(), Skill::LEGAL);
        assert!(SkillCatalog::default().code(psych).is_none());
    }

    #[test]
    fn bad_additions_are_config_errors() {
        for (extra, needle) in [
            (vec![def("Psychology", "心理")], "code \"Psychology\""),
            (vec![def("9lives", "猫")], "code \"9lives\""),
            (vec![def("psychology", "")], "label of \"psychology\""),
            (vec![def("legal2", "法律")], "already in the list"),
            (vec![def("medical", "医")], "already in the list"),
            (vec![def("a", "甲"), def("a", "乙")], "already in the list"),
        ] {
            let err = SkillCatalog::with_extra(&extra).unwrap_err();
            assert!(err.to_string().contains(needle), "{err}");
        }
        let many: Vec<_> = (0..56)
            .map(|i| def(&format!("s{i}"), &format!("技能{i}")))
            .collect();
        assert!(SkillCatalog::with_extra(&many[..55]).is_ok());
        let err = SkillCatalog::with_extra(&many).unwrap_err();
        assert!(err.to_string().contains("at most 63"));
    }

    #[test]
    fn sets_match_by_containment() {
        let c = SkillCatalog::default();
        let have = c.parse_set(["legal", "medical", "repair"]).unwrap();
        let need = c.parse_set(["medical", "legal"]).unwrap();
        assert!(have.contains_all(need));
        assert!(have.contains_all(SkillSet::empty()));
        assert!(!need.contains_all(have));
        assert_eq!(have.len(), 3);
        assert_eq!(c.codes(have), vec!["legal", "medical", "repair"]);
        let mut s = have;
        s.remove(Skill::LEGAL);
        assert!(!s.contains(Skill::LEGAL) && s.contains(Skill::REPAIR));
        assert!(c.parse_set(["legal", "nope"]).is_err());
        assert!(SkillSet::empty().is_empty());
        let high = Skill(62);
        let set: SkillSet = [high].into_iter().collect();
        assert!(set.contains(high) && set.iter().eq([high]));
    }
}
