//! Volunteer teams: the four levels (总队 / 分队 / 小队 / 小院支队) and team names.

use super::DomainError;

/// The level of a team in the district's organisation of volunteers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TeamLevel {
    /// 总队: the district-wide brigade.
    Brigade,
    /// 分队: a detachment, usually per institute (town or street).
    Detachment,
    /// 小队: a squad, usually per station (village or community).
    Squad,
    /// 小院支队: the unit of one courtyard.
    CourtyardUnit,
}

impl TeamLevel {
    /// Stable name for storage and APIs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Brigade => "brigade",
            Self::Detachment => "detachment",
            Self::Squad => "squad",
            Self::CourtyardUnit => "courtyard_unit",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        match s {
            "brigade" => Ok(Self::Brigade),
            "detachment" => Ok(Self::Detachment),
            "squad" => Ok(Self::Squad),
            "courtyard_unit" => Ok(Self::CourtyardUnit),
            _ => Err(DomainError::invalid(
                "level",
                "must be brigade, detachment, squad or courtyard_unit",
            )),
        }
    }

    /// How far down the hierarchy: a parent team must sit strictly higher.
    fn rank(self) -> u8 {
        match self {
            Self::Brigade => 0,
            Self::Detachment => 1,
            Self::Squad => 2,
            Self::CourtyardUnit => 3,
        }
    }

    /// Whether a team of this level may hang under a team of level `parent`.
    pub fn may_hang_under(self, parent: TeamLevel) -> bool {
        parent.rank() < self.rank()
    }
}

/// A team's name: trimmed, 1 to 50 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TeamName(String);

impl TeamName {
    /// Parses a name as entered.
    pub fn parse(name: &str) -> Result<Self, DomainError> {
        let name = name.trim();
        let count = name.chars().count();
        if count == 0 || count > 50 {
            return Err(DomainError::invalid("name", "must have 1 to 50 characters"));
        }
        if name.chars().any(char::is_control) {
            return Err(DomainError::invalid(
                "name",
                "may not contain control characters",
            ));
        }
        Ok(Self(name.to_owned()))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_round_trip_and_nest_downwards() {
        for level in [
            TeamLevel::Brigade,
            TeamLevel::Detachment,
            TeamLevel::Squad,
            TeamLevel::CourtyardUnit,
        ] {
            assert_eq!(TeamLevel::parse(level.as_str()), Ok(level));
        }
        assert!(TeamLevel::parse("platoon").is_err());
        assert!(TeamLevel::Squad.may_hang_under(TeamLevel::Brigade));
        assert!(!TeamLevel::Squad.may_hang_under(TeamLevel::Squad));
        assert!(!TeamLevel::Brigade.may_hang_under(TeamLevel::CourtyardUnit));
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(
            TeamName::parse("  蔡家坝小队 ").unwrap().as_str(),
            "蔡家坝小队"
        );
        assert!(TeamName::parse("   ").is_err());
        assert!(TeamName::parse(&"队".repeat(51)).is_err());
        assert!(TeamName::parse("a\u{0}b").is_err());
    }
}
