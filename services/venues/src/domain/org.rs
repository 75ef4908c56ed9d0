//! The org tree's rules: four levels, each unit under the level directly above, paths made
//! of lower-case codes, scopes that are path prefixes. No I/O here.

use tongxin_platform::auth::{Principal, Role};

use super::DomainError;

// The org vocabulary is the platform's, shared with every service: unit ids, the levels
// (called kinds here), codes and the path rules. Re-exported under the names venues has
// always used.
pub use tongxin_platform::org::{
    Level as UnitKind, UnitCode, UnitId as OrgUnitId, ancestor_paths, covers, district_of,
};

/// A unit's display name: trimmed, 1–100 characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitName(String);

impl UnitName {
    /// The longest name accepted, in characters.
    pub const MAX_CHARS: usize = 100;

    /// Parses a name.
    pub fn parse(text: &str) -> Result<Self, DomainError> {
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return Err(DomainError::invalid("name", "must not be empty"));
        }
        // Count lazily so a 1 MB name costs no more than 101 characters of work.
        if trimmed.chars().nth(Self::MAX_CHARS).is_some() {
            return Err(DomainError::invalid(
                "name",
                format!("must be at most {} characters", Self::MAX_CHARS),
            ));
        }
        if trimmed.chars().any(char::is_control) {
            return Err(DomainError::invalid(
                "name",
                "must not contain control characters",
            ));
        }
        Ok(Self(trimmed.to_owned()))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The parent's facts that a new unit's rules depend on.
#[derive(Debug, Clone)]
pub struct ParentFacts {
    /// Parent id.
    pub id: OrgUnitId,
    /// Parent kind.
    pub kind: UnitKind,
    /// Parent path.
    pub path: String,
}

/// Checks the level rule and returns the new unit's path.
pub fn place(
    kind: UnitKind,
    code: &UnitCode,
    parent: Option<&ParentFacts>,
) -> Result<String, DomainError> {
    match (kind.parent(), parent) {
        (None, None) => Ok(format!("/{}", code.as_str())),
        (None, Some(_)) => Err(DomainError::invalid(
            "parentId",
            "a district center has no parent",
        )),
        (Some(want), None) => Err(DomainError::invalid(
            "parentId",
            format!("a {} needs a parent {}", kind.as_str(), want.as_str()),
        )),
        (Some(want), Some(p)) if p.kind != want => Err(DomainError::invalid(
            "parentId",
            format!(
                "a {} must be under a {}, not a {}",
                kind.as_str(),
                want.as_str(),
                p.kind.as_str()
            ),
        )),
        (Some(_), Some(p)) => Ok(format!("{}/{}", p.path, code.as_str())),
    }
}

/// May `actor`, whose scope unit has path `actor_scope`, add a unit under `parent`
/// (`None`: a new district center)? Staff add inside their subtree; a new center needs an
/// admin without a unit scope (a platform operator).
pub fn may_create(
    actor: &Principal,
    actor_scope: Option<&str>,
    parent: Option<&ParentFacts>,
) -> Result<(), DomainError> {
    if !actor.is_staff() {
        return Err(DomainError::Forbidden(
            "only staff may change the org tree".to_owned(),
        ));
    }
    match (parent, actor_scope) {
        (None, None) if actor.has_role(Role::Admin) => Ok(()),
        (None, _) => Err(DomainError::Forbidden(
            "only a platform administrator may create a district center".to_owned(),
        )),
        (Some(p), Some(scope)) if covers(scope, &p.path) => Ok(()),
        (Some(_), _) => Err(DomainError::Forbidden(
            "the parent unit is outside your scope".to_owned(),
        )),
    }
}

/// Checks moving the unit (`kind`, `path`, `code`) under `new_parent` and returns its new path.
/// The level rule holds (the parent must be one level up), a center cannot move, a unit cannot
/// go under itself, and a unit never leaves its district.
pub fn plan_move(
    kind: UnitKind,
    path: &str,
    code: &str,
    new_parent: &ParentFacts,
) -> Result<String, DomainError> {
    let Some(want) = kind.parent() else {
        return Err(DomainError::invalid(
            "id",
            "a district center cannot be moved",
        ));
    };
    if covers(path, &new_parent.path) {
        return Err(DomainError::invalid(
            "newParentId",
            "a unit cannot move under itself",
        ));
    }
    if new_parent.kind != want {
        return Err(DomainError::invalid(
            "newParentId",
            format!(
                "a {} must be under a {}, not a {}",
                kind.as_str(),
                want.as_str(),
                new_parent.kind.as_str()
            ),
        ));
    }
    if district_of(path) != district_of(&new_parent.path) {
        return Err(DomainError::invalid(
            "newParentId",
            "a unit cannot move to another district",
        ));
    }
    Ok(format!("{}/{code}", new_parent.path))
}

/// May `actor` (scope path `actor_scope`) manage the unit at `target_path`: staff whose scope
/// covers it.
pub fn may_manage(
    actor: &Principal,
    actor_scope: Option<&str>,
    target_path: &str,
) -> Result<(), DomainError> {
    if !actor.is_staff() {
        return Err(DomainError::Forbidden(
            "only staff may change the org tree".to_owned(),
        ));
    }
    match actor_scope {
        Some(scope) if covers(scope, target_path) => Ok(()),
        _ => Err(DomainError::Forbidden(
            "the unit is outside your scope".to_owned(),
        )),
    }
}

/// A contact's mobile number: 11 digits starting with 1 (spaces and dashes ignored).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactPhone(String);

impl ContactPhone {
    /// Parses a number.
    pub fn parse(text: &str) -> Result<Self, DomainError> {
        let digits: String = text.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
        if digits.len() == 11
            && digits.starts_with('1')
            && digits.chars().all(|c| c.is_ascii_digit())
        {
            Ok(Self(digits))
        } else {
            Err(DomainError::invalid(
                "phone",
                "must be an 11-digit mobile number",
            ))
        }
    }

    /// The stored digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// `138****1234`: what people outside the unit's scope see.
pub fn mask_phone(digits: &str) -> String {
    if digits.len() == 11 && digits.is_ascii() {
        format!("{}****{}", &digits[..3], &digits[7..])
    } else {
        "****".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use uuid::Uuid;

    use super::*;

    fn parent(kind: UnitKind, path: &str) -> ParentFacts {
        ParentFacts {
            id: OrgUnitId(Uuid::nil()),
            kind,
            path: path.to_owned(),
        }
    }

    /// The field and message of a bad-input error; anything else fails the test.
    fn bad_input<T: std::fmt::Debug>(result: Result<T, DomainError>) -> (String, String) {
        match result {
            Err(DomainError::Invalid { field, message }) => (field, message),
            other => panic!("expected BAD_USER_INPUT, got {other:?}"),
        }
    }

    /// Asserts a FORBIDDEN error whose message says `why`.
    fn assert_forbidden<T: std::fmt::Debug>(result: Result<T, DomainError>, why: &str) {
        match result {
            Err(DomainError::Forbidden(message)) => assert!(message.contains(why), "{message}"),
            other => panic!("expected FORBIDDEN ({why}), got {other:?}"),
        }
    }

    #[test]
    fn levels_must_step_down_by_one() {
        let code = UnitCode::parse("caijiaba").expect("code");
        assert_eq!(
            place(
                UnitKind::Courtyard,
                &code,
                Some(&parent(UnitKind::Station, "/rc/changyuan/hongqiao"))
            )
            .expect("ok"),
            "/rc/changyuan/hongqiao/caijiaba"
        );
        assert_eq!(
            bad_input(place(
                UnitKind::Courtyard,
                &code,
                Some(&parent(UnitKind::Center, "/rc"))
            )),
            (
                "parentId".to_owned(),
                "a courtyard must be under a station, not a center".to_owned()
            )
        );
        assert_eq!(
            bad_input(place(UnitKind::Courtyard, &code, None)),
            (
                "parentId".to_owned(),
                "a courtyard needs a parent station".to_owned()
            )
        );
        assert_eq!(
            bad_input(place(
                UnitKind::Center,
                &code,
                Some(&parent(UnitKind::Center, "/rc"))
            )),
            (
                "parentId".to_owned(),
                "a district center has no parent".to_owned()
            )
        );
        assert_eq!(
            place(
                UnitKind::Center,
                &UnitCode::parse("rc").expect("code"),
                None
            )
            .expect("root"),
            "/rc"
        );
    }

    #[test]
    fn names_and_codes_are_parsed() {
        for (name, why) in [
            ("  ", "must not be empty"),
            (&"院".repeat(101), "must be at most 100 characters"),
            (&"x".repeat(1 << 20), "must be at most 100 characters"),
            ("a\u{0}b", "must not contain control characters"),
        ] {
            assert_eq!(
                bad_input(UnitName::parse(name)),
                ("name".to_owned(), why.to_owned())
            );
        }
        assert_eq!(
            UnitName::parse(&"院".repeat(100))
                .expect("100 is the limit")
                .as_str(),
            "院".repeat(100)
        );
        assert_eq!(
            UnitName::parse(" 夜合湾小院 ").expect("ok").as_str(),
            "夜合湾小院"
        );
        // Codes: tongxin_platform::org::path (`codes_are_parsed`); here only that a bad one
        // reaches the client as bad input in `code`.
        for code in ["Caijiaba", "-x", "a/b", "", &"a".repeat(41)] {
            let parsed = UnitCode::parse(code).map_err(DomainError::from);
            assert_eq!(bad_input(parsed).0, "code", "{code:?}");
        }
    }

    #[test]
    fn ancestors_and_moves() {
        // `ancestor_paths` and `covers` are tested in tongxin_platform::org::path.
        let institute = parent(UnitKind::Institute, "/rc/fenggao");
        assert_eq!(
            plan_move(
                UnitKind::Station,
                "/rc/changyuan/hongqiao",
                "hongqiao",
                &institute
            )
            .expect("ok"),
            "/rc/fenggao/hongqiao"
        );
        let moved = |kind, path, code, to: &ParentFacts| bad_input(plan_move(kind, path, code, to));
        assert_eq!(
            moved(
                UnitKind::Courtyard,
                "/rc/changyuan/hongqiao/c",
                "c",
                &institute
            ),
            (
                "newParentId".to_owned(),
                "a courtyard must be under a station, not a institute".to_owned()
            ),
            "level rule"
        );
        assert_eq!(
            moved(UnitKind::Center, "/rc", "rc", &institute),
            (
                "id".to_owned(),
                "a district center cannot be moved".to_owned()
            )
        );
        let own_child = parent(UnitKind::Institute, "/rc/changyuan/hongqiao/x");
        assert_eq!(
            moved(
                UnitKind::Station,
                "/rc/changyuan/hongqiao",
                "hongqiao",
                &own_child
            ),
            (
                "newParentId".to_owned(),
                "a unit cannot move under itself".to_owned()
            ),
            "no cycles"
        );
        let other_district = parent(UnitKind::Institute, "/xx/a");
        assert_eq!(
            moved(
                UnitKind::Station,
                "/rc/changyuan/hongqiao",
                "hongqiao",
                &other_district
            ),
            (
                "newParentId".to_owned(),
                "a unit cannot move to another district".to_owned()
            )
        );
    }

    #[test]
    fn phones_parse_and_mask() {
        assert_eq!(
            ContactPhone::parse("138 0013-8000").expect("ok").as_str(),
            "13800138000"
        );
        for bad in ["023-4567890", "2380013800", "138001380001", "1380013800x"] {
            assert_eq!(bad_input(ContactPhone::parse(bad)).0, "phone", "{bad}");
        }
        assert_eq!(mask_phone("13800138000"), "138****8000");
    }

    #[test]
    fn creation_rights() {
        let staff = Principal {
            subject: "s".into(),
            roles: vec![Role::Staff],
            unit: None,
            district: None,
            credential: None,
        };
        let citizen = Principal {
            subject: "c".into(),
            roles: vec![Role::Citizen],
            unit: None,
            district: None,
            credential: None,
        };
        let station = parent(UnitKind::Station, "/rc/changyuan/hongqiao");
        assert!(may_create(&staff, Some("/rc/changyuan"), Some(&station)).is_ok());
        assert!(may_create(&staff, Some("/rc/changyuan/hongqiao"), Some(&station)).is_ok());
        assert_forbidden(
            may_create(&staff, Some("/rc/fenggao"), Some(&station)),
            "outside your scope",
        );
        assert_forbidden(
            may_create(&staff, None, Some(&station)),
            "outside your scope",
        );
        assert_forbidden(
            may_create(&citizen, Some("/rc"), Some(&station)),
            "only staff",
        );
        assert_forbidden(
            may_create(&staff, Some("/rc"), None),
            "platform administrator",
        );
        let admin = Principal {
            subject: "a".into(),
            roles: vec![Role::Admin],
            unit: None,
            district: None,
            credential: None,
        };
        assert!(may_create(&admin, None, None).is_ok());
    }
}
