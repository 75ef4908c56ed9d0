//! The four levels of the org tree, bottom to top: courtyard (小院), station (实践站),
//! institute (实践所), center (中心). Orders escalate up this order; venues requires each
//! unit to sit directly under the level above its own.

use sea_orm::sea_query::StringLen;
use sea_orm::{DeriveActiveEnum, EnumIter};
use serde::{Deserialize, Serialize};

use super::OrgError;

/// A level of the org tree. Ordered bottom to top (`Courtyard < Center`).
///
/// Stored as its lower-case name (`"courtyard"` …) in text columns of 12 characters, as a
/// sea-orm active enum; serde uses the same names.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    EnumIter,
    DeriveActiveEnum,
)]
#[serde(rename_all = "lowercase")]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(12))")]
pub enum Level {
    /// 小院: the fourth level, where an order starts.
    #[sea_orm(string_value = "courtyard")]
    Courtyard,
    /// 实践站: a village or community.
    #[sea_orm(string_value = "station")]
    Station,
    /// 实践所: a town or street.
    #[sea_orm(string_value = "institute")]
    Institute,
    /// 新时代文明实践中心: the district level, the root.
    #[sea_orm(string_value = "center")]
    Center,
}

impl Level {
    /// Every level, bottom to top.
    pub const ALL: [Level; 4] = [
        Level::Courtyard,
        Level::Station,
        Level::Institute,
        Level::Center,
    ];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Courtyard => "courtyard",
            Self::Station => "station",
            Self::Institute => "institute",
            Self::Center => "center",
        }
    }

    /// Parses a stored or client-supplied name (surrounding spaces ignored).
    pub fn parse(text: &str) -> Result<Self, OrgError> {
        match text.trim() {
            "courtyard" => Ok(Self::Courtyard),
            "station" => Ok(Self::Station),
            "institute" => Ok(Self::Institute),
            "center" => Ok(Self::Center),
            _ => Err(OrgError::invalid(
                "level",
                "must be courtyard, station, institute or center",
            )),
        }
    }

    /// The level directly above, which a unit's parent must have and an order escalates
    /// to; `None` for the center.
    pub fn parent(self) -> Option<Level> {
        match self {
            Self::Courtyard => Some(Self::Station),
            Self::Station => Some(Self::Institute),
            Self::Institute => Some(Self::Center),
            Self::Center => None,
        }
    }
}

impl std::fmt::Display for Level {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use sea_orm::{ActiveEnum, Iterable};

    use super::*;

    #[test]
    fn names_round_trip_everywhere() {
        for level in Level::ALL {
            assert_eq!(Level::parse(level.as_str()), Ok(level));
            assert_eq!(level.to_value(), level.as_str());
            assert_eq!(Level::try_from_value(&level.as_str().to_owned()), Ok(level));
            assert_eq!(
                serde_json::to_string(&level).expect("json"),
                format!("\"{}\"", level.as_str())
            );
        }
        assert_eq!(Level::iter().collect::<Vec<_>>(), Level::ALL);
        assert_eq!(Level::parse(" station "), Ok(Level::Station));
        assert_eq!(
            Level::parse("Station").unwrap_err().to_string(),
            "level: must be courtyard, station, institute or center"
        );
        assert!(Level::try_from_value(&"planet".to_owned()).is_err());
    }

    #[test]
    fn each_level_sits_under_the_next() {
        assert_eq!(Level::Courtyard.parent(), Some(Level::Station));
        assert_eq!(Level::Station.parent(), Some(Level::Institute));
        assert_eq!(Level::Institute.parent(), Some(Level::Center));
        assert_eq!(Level::Center.parent(), None);
        assert!(Level::ALL.windows(2).all(|w| w[0] < w[1]));
    }
}
