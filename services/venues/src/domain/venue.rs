//! Venues (阵地): the places where practice happens, from courtyard lecture halls to parks.
//! Values are parsed, not checked; no I/O here.

use tongxin_platform::auth::Principal;
use uuid::Uuid;

use super::DomainError;
use super::org::covers;

/// A typed venue id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct VenueId(pub Uuid);

impl VenueId {
    /// Parses the textual form, naming `field` on failure.
    pub fn parse(text: &str, field: &str) -> Result<Self, DomainError> {
        Uuid::parse_str(text.trim())
            .map(Self)
            .map_err(|_| DomainError::invalid(field, "must be a UUID"))
    }
}

impl std::fmt::Display for VenueId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// What kind of place a venue is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VenueKind {
    /// 小院讲堂: a courtyard's lecture venue.
    Courtyard,
    /// 公园: a park.
    Park,
    /// 非遗传承工作室: an intangible-heritage workshop.
    HeritageWorkshop,
    /// 文化站点: a culture station.
    CultureStation,
    /// 爱国主义教育基地: a patriotic education base.
    PatrioticBase,
    /// 文明单位: a civilized unit hosting practice.
    CivilizedUnit,
    /// Anything else.
    Other,
}

impl VenueKind {
    /// Every kind, in display order.
    pub const ALL: [VenueKind; 7] = [
        Self::Courtyard,
        Self::Park,
        Self::HeritageWorkshop,
        Self::CultureStation,
        Self::PatrioticBase,
        Self::CivilizedUnit,
        Self::Other,
    ];

    /// Whether this is a courtyard venue (小院讲堂): only those anchor the 15-minute circle
    /// that routes orders.
    pub fn is_courtyard(self) -> bool {
        self == Self::Courtyard
    }

    /// Stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Courtyard => "courtyard",
            Self::Park => "park",
            Self::HeritageWorkshop => "heritage_workshop",
            Self::CultureStation => "culture_station",
            Self::PatrioticBase => "patriotic_base",
            Self::CivilizedUnit => "civilized_unit",
            Self::Other => "other",
        }
    }

    /// From the stored form.
    pub fn parse_stored(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == text)
    }
}

/// Whether a venue takes new activities.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VenueStatus {
    /// In use.
    Active,
    /// Kept for the activities that reference it; takes no new ones. Final.
    Archived,
}

impl VenueStatus {
    /// Stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Archived => "archived",
        }
    }

    /// From the stored form.
    pub fn parse_stored(text: &str) -> Option<Self> {
        match text {
            "active" => Some(Self::Active),
            "archived" => Some(Self::Archived),
            _ => None,
        }
    }
}

/// Trimmed text of `min..=max` characters without control characters, naming `field`.
pub(crate) fn short_text(
    text: &str,
    field: &str,
    min: usize,
    max: usize,
) -> Result<String, DomainError> {
    let trimmed = text.trim();
    if trimmed.chars().count() < min {
        return Err(DomainError::invalid(
            field,
            if min == 1 {
                "must not be empty".to_owned()
            } else {
                format!("must be at least {min} characters")
            },
        ));
    }
    // Count lazily so a huge input costs no more than max + 1 characters of work.
    if trimmed.chars().nth(max).is_some() {
        return Err(DomainError::invalid(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    if trimmed.chars().any(char::is_control) {
        return Err(DomainError::invalid(
            field,
            "must not contain control characters",
        ));
    }
    Ok(trimmed.to_owned())
}

/// A venue's display name: 1–100 characters.
pub fn parse_name(text: &str) -> Result<String, DomainError> {
    short_text(text, "name", 1, 100)
}

/// A postal address: 0–200 characters.
pub fn parse_address(text: &str) -> Result<String, DomainError> {
    short_text(text, "address", 0, 200)
}

/// Opening hours as free text (e.g. `周二至周日 9:00-17:00`): 0–200 characters.
pub fn parse_opening_hours(text: &str) -> Result<String, DomainError> {
    short_text(text, "openingHours", 0, 200)
}

/// How many people a venue or an activity holds: 1 to 100 000.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Capacity(u32);

impl Capacity {
    /// The largest capacity accepted.
    pub const MAX: i64 = 100_000;

    /// Parses a capacity, naming `field`.
    pub fn parse(value: i64, field: &str) -> Result<Self, DomainError> {
        if (1..=Self::MAX).contains(&value) {
            Ok(Self(value as u32))
        } else {
            Err(DomainError::invalid(
                field,
                format!("must be between 1 and {}, got {value}", Self::MAX),
            ))
        }
    }

    /// The number.
    pub fn get(self) -> u32 {
        self.0
    }
}

/// At most 30 facilities, each 1–40 characters, without duplicates (e.g. 投影仪, 无障碍通道).
pub fn parse_facilities(items: &[String]) -> Result<Vec<String>, DomainError> {
    const MAX: usize = 30;
    if items.len() > MAX {
        return Err(DomainError::invalid(
            "facilities",
            format!("at most {MAX} items"),
        ));
    }
    let mut out: Vec<String> = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let item = short_text(item, &format!("facilities[{i}]"), 1, 40)?;
        if !out.contains(&item) {
            out.push(item);
        }
    }
    Ok(out)
}

/// At most 20 photo URLs, each `http://` or `https://` with a host, at most 2000 characters,
/// no whitespace.
pub fn parse_photo_urls(items: &[String]) -> Result<Vec<String>, DomainError> {
    const MAX: usize = 20;
    if items.len() > MAX {
        return Err(DomainError::invalid(
            "photoUrls",
            format!("at most {MAX} URLs"),
        ));
    }
    items
        .iter()
        .enumerate()
        .map(|(i, url)| {
            let url = url.trim();
            let field = format!("photoUrls[{i}]");
            let rest = url
                .strip_prefix("https://")
                .or_else(|| url.strip_prefix("http://"))
                .ok_or_else(|| DomainError::invalid(&field, "must be an http or https URL"))?;
            let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
            if host.is_empty()
                || url.len() > 2000
                || url.chars().any(|c| c.is_whitespace() || c.is_control())
            {
                return Err(DomainError::invalid(
                    &field,
                    "must be an http or https URL with a host, at most 2000 characters, no spaces",
                ));
            }
            Ok(url.to_owned())
        })
        .collect()
}

/// May `actor`, whose scope unit has path `actor_scope`, change things (venues, activities)
/// belonging to the unit at `target_path`? Staff only, within their subtree.
pub fn may_manage(
    actor: &Principal,
    actor_scope: Option<&str>,
    target_path: &str,
    what: &str,
) -> Result<(), DomainError> {
    if !actor.is_staff() {
        return Err(DomainError::Forbidden(format!(
            "only staff may change {what}"
        )));
    }
    match actor_scope {
        Some(scope) if covers(scope, target_path) => Ok(()),
        _ => Err(DomainError::Forbidden(format!(
            "the {what} belongs to a unit outside your scope"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tongxin_platform::auth::Role;

    #[test]
    fn kinds_round_trip() {
        for kind in VenueKind::ALL {
            assert_eq!(VenueKind::parse_stored(kind.as_str()), Some(kind));
        }
        assert!(VenueKind::Courtyard.is_courtyard());
        assert!(!VenueKind::Park.is_courtyard());
    }

    #[test]
    fn values_are_parsed() {
        assert!(parse_name(" ").is_err());
        assert_eq!(
            parse_name(" 蔡家坝小院讲堂 ").expect("ok"),
            "蔡家坝小院讲堂"
        );
        assert!(parse_name(&"讲".repeat(101)).is_err());
        assert!(parse_opening_hours(&"x".repeat(201)).is_err());
        assert!(parse_opening_hours("").is_ok());
        assert!(Capacity::parse(0, "capacity").is_err());
        assert!(Capacity::parse(100_001, "capacity").is_err());
        assert_eq!(
            Capacity::parse(100_000, "capacity").expect("ok").get(),
            100_000
        );
        let f = parse_facilities(&["投影仪".into(), " 投影仪".into(), "音响".into()]).expect("ok");
        assert_eq!(f, vec!["投影仪", "音响"]);
        assert!(parse_facilities(&["".into()]).is_err());
        assert!(parse_photo_urls(&["https://img.example/a.jpg".into()]).is_ok());
        for bad in ["ftp://x/a", "https://", "https:// x", "javascript:alert(1)"] {
            assert!(parse_photo_urls(&[bad.into()]).is_err(), "{bad}");
        }
        assert!(parse_photo_urls(&vec!["http://a/b".to_owned(); 21]).is_err());
    }

    #[test]
    fn management_needs_staff_in_scope() {
        let staff = Principal {
            subject: "s".into(),
            roles: vec![Role::Staff],
            unit: None,
            district: None,
            credential: None,
        };
        assert!(
            may_manage(
                &staff,
                Some("/rc/changyuan"),
                "/rc/changyuan/hongqiao",
                "venue"
            )
            .is_ok()
        );
        assert!(may_manage(&staff, Some("/rc/fenggao"), "/rc/changyuan", "venue").is_err());
        assert!(may_manage(&staff, None, "/rc", "venue").is_err());
        let citizen = Principal {
            roles: vec![Role::Citizen],
            ..staff
        };
        assert!(may_manage(&citizen, Some("/rc"), "/rc", "venue").is_err());
    }
}
