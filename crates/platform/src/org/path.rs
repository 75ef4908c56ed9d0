//! Unit paths (`/rc/changyuan/hongqiao/caijiaba`) and the segments they are made of.
//!
//! # The one rule
//!
//! A path is `/` followed by 1 to [`UnitPath::MAX_SEGMENTS`] segments separated by `/`; each
//! segment is a [`UnitCode`]: 1 to 40 of `a-z`, `0-9` and `-`, starting with a letter or
//! digit. One trailing `/` is tolerated and removed; nothing else is rewritten (surrounding
//! spaces are an error, not trimmed).
//!
//! Before, three services parsed paths three ways: orders took segments of `a-z0-9-_` and
//! trimmed spaces; volunteers took any text without spaces, control characters, `.` or `..`
//! (up to 16 segments of 64 bytes) and a trailing slash; venues built every path from codes
//! of the rule above. Venues creates every unit, so every stored path already passes the
//! code rule, and so do the demo data, the import fixtures and the tests. It is the strictest
//! of the three that all existing data passes, so it won. Cases where the old rules
//! disagreed, and what they are now:
//!
//! | input | orders | volunteers | venues | now |
//! |---|---|---|---|---|
//! | `/rc/a_b` | ok | ok | no | rejected |
//! | `/rc/昌元街道`, `/rc/Changyuan` | no | ok | no | rejected |
//! | `/rc/changyuan/` | no | ok | no | ok, as `/rc/changyuan` (volunteers accepted it from clients) |
//! | ` /rc/changyuan ` | ok, trimmed | no | no | rejected |
//! | `/rc/-x` | ok | ok | no | rejected |
//! | 41 to 64 byte segment | ok | ok | no | rejected |
//! | 17 or more segments | ok | no | no | rejected |
//!
//! Scope tests ([`covers`]) compare whole segments, so `/rc/chang` does not cover
//! `/rc/changyuan`, and never cross districts (the first segment).

use std::fmt;

use serde::{Deserialize, Serialize};

use super::OrgError;

const FIELD: &str = "unit_path";

/// Why `segment` is not a code, or `None` when it is one.
fn segment_problem(segment: &str) -> Option<String> {
    if segment.is_empty() {
        return Some("has an empty segment".to_owned());
    }
    if segment.len() > UnitCode::MAX_LEN {
        return Some(format!("segment longer than {} bytes", UnitCode::MAX_LEN));
    }
    let first_ok = segment.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit());
    let all_ok = segment
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !(first_ok && all_ok) {
        return Some("segments are a-z, 0-9 and '-', starting with a letter or digit".to_owned());
    }
    None
}

/// One path segment, the code of a unit under its parent (pinyin such as `caijiaba`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UnitCode(String);

impl UnitCode {
    /// The longest code, in bytes (all characters are ASCII).
    pub const MAX_LEN: usize = 40;

    /// Parses a code a client typed (surrounding spaces ignored).
    pub fn parse(text: &str) -> Result<Self, OrgError> {
        let code = text.trim();
        match segment_problem(code) {
            None => Ok(Self(code.to_owned())),
            Some(_) => Err(OrgError::invalid(
                "code",
                "must be 1-40 characters of a-z, 0-9 and '-', starting with a letter or digit",
            )),
        }
    }

    /// The code.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A parsed org-unit path, kept in canonical form (no trailing slash) so comparisons are
/// plain string work.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct UnitPath(String);

impl UnitPath {
    /// Deeper than any real tree (center, institute, station, courtyard, plus room to grow);
    /// bounds the work a hostile path can cause.
    pub const MAX_SEGMENTS: usize = 16;

    /// Parses a path by [the one rule](self); one trailing `/` is removed.
    pub fn parse(input: &str) -> Result<Self, OrgError> {
        let Some(rest) = input.strip_prefix('/') else {
            return Err(OrgError::invalid(FIELD, "must start with /"));
        };
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        if rest.is_empty() {
            return Err(OrgError::invalid(FIELD, "must name at least a district"));
        }
        for (n, segment) in rest.split('/').enumerate() {
            if n == Self::MAX_SEGMENTS {
                return Err(OrgError::invalid(
                    FIELD,
                    format!("has more than {} segments", Self::MAX_SEGMENTS),
                ));
            }
            if let Some(problem) = segment_problem(segment) {
                return Err(OrgError::invalid(FIELD, problem));
            }
        }
        Ok(Self(format!("/{rest}")))
    }

    /// The path as text, e.g. `/rc/changyuan`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The district code (first segment), e.g. `rc`.
    pub fn district(&self) -> &str {
        district_of(&self.0)
    }

    /// The segments from the district down.
    pub fn segments(&self) -> impl Iterator<Item = &str> {
        self.0[1..].split('/')
    }

    /// Depth in the tree: 1 for the district center.
    pub fn depth(&self) -> usize {
        self.segments().count()
    }

    /// Whether the unit at `other` (parsed, or a stored path) is this unit or lies below it.
    pub fn covers(&self, other: impl AsRef<str>) -> bool {
        covers(self, other)
    }
}

impl AsRef<str> for UnitPath {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for UnitPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for UnitPath {
    type Error = OrgError;

    fn try_from(text: String) -> Result<Self, OrgError> {
        Self::parse(&text)
    }
}

impl From<UnitPath> for String {
    fn from(path: UnitPath) -> Self {
        path.0
    }
}

/// Whether a caller whose scope is the unit at `scope` may act on what hangs on `target`:
/// true when `target` is `scope` or lies below it, comparing whole segments. Works on parsed
/// paths and on stored text alike.
pub fn covers(scope: impl AsRef<str>, target: impl AsRef<str>) -> bool {
    let (scope, target) = (scope.as_ref(), target.as_ref());
    target
        .strip_prefix(scope)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// The district code of a path: its first segment.
pub fn district_of(path: &str) -> &str {
    path.trim_start_matches('/')
        .split('/')
        .next()
        .unwrap_or_default()
}

/// The paths above `path`, top first: `/rc/a/b` → `/rc`, `/rc/a`.
pub fn ancestor_paths(path: &str) -> Vec<String> {
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    (1..segments.len())
        .map(|n| format!("/{}", segments[..n].join("/")))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAX_SEGMENTS: usize = UnitPath::MAX_SEGMENTS;
    const MAX_SEGMENT_LEN: usize = UnitCode::MAX_LEN;

    fn p(s: &str) -> UnitPath {
        UnitPath::parse(s).unwrap()
    }

    // From orders `domain/scope.rs`.
    #[test]
    fn covers_whole_segments_only() {
        let p = UnitPath::parse("/rc/chang").expect("path");
        assert!(p.covers("/rc/chang"));
        assert!(p.covers("/rc/chang/x"));
        assert!(!p.covers("/rc/changyuan"));
        assert!(!p.covers("/rc"));
        assert_eq!(p.district(), "rc");
        assert!(UnitPath::parse("rc").is_err());
        assert!(UnitPath::parse("/rc//x").is_err());
    }

    // From volunteers `domain/scope.rs`.
    #[test]
    fn parses_and_canonicalises() {
        assert_eq!(p("/rc/changyuan/").as_str(), "/rc/changyuan");
        assert_eq!(p("/rc").district(), "rc");
        assert_eq!(p("/rc/changyuan/hongqiao/caijiaba").depth(), 4);
        assert_eq!(
            p("/rc/changyuan/hongqiao").segments().collect::<Vec<_>>(),
            ["rc", "changyuan", "hongqiao"]
        );
        // Volunteers accepted any text; the code rule does not (see the module doc).
        assert_eq!(
            UnitPath::parse("/rc/昌元街道").unwrap_err().to_string(),
            "unit_path: segments are a-z, 0-9 and '-', starting with a letter or digit"
        );
    }

    // From volunteers `domain/scope.rs`.
    #[test]
    fn rejects_malformed_paths() {
        for bad in [
            "",
            "/",
            "rc/changyuan",
            "//rc",
            "/rc//x",
            "/rc/../x",
            "/rc/a b",
            "/rc/./x",
        ] {
            let err = UnitPath::parse(bad).unwrap_err();
            assert!(err.to_string().starts_with("unit_path: "), "{bad}: {err}");
        }
        let deep = "/a".repeat(MAX_SEGMENTS + 1);
        assert!(UnitPath::parse(&deep).is_err());
        assert!(UnitPath::parse(&"/a".repeat(MAX_SEGMENTS)).is_ok());
        // A segment may be exactly as long as the limit, not a byte longer.
        let longest = "x".repeat(MAX_SEGMENT_LEN);
        assert!(UnitPath::parse(&format!("/rc/{longest}")).is_ok());
        let err = UnitPath::parse(&format!("/rc/{longest}x")).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("unit_path: segment longer than {MAX_SEGMENT_LEN} bytes")
        );
    }

    // From volunteers `domain/scope.rs`.
    #[test]
    fn covers_on_segment_boundaries() {
        let changyuan = p("/rc/changyuan");
        assert!(covers(&changyuan, p("/rc/changyuan")));
        assert!(covers(&changyuan, p("/rc/changyuan/hongqiao")));
        assert!(covers(&changyuan, p("/rc/changyuan/hongqiao/caijiaba")));
        assert!(covers(p("/rc"), p("/rc/changyuan/x")));
        // Same letters, different unit.
        assert!(!covers(p("/rc/chang"), p("/rc/changyuan/x")));
        assert!(!covers(p("/rc/chang"), p("/rc/changyuan")));
        // Upwards and sideways are not covered.
        assert!(!covers(p("/rc/changyuan/hongqiao"), &changyuan));
        assert!(!covers(&changyuan, p("/rc/fenggao")));
        // Never across districts, even with a matching tail.
        assert!(!covers(p("/rc"), p("/rcx/changyuan")));
        assert!(!covers(p("/rc"), p("/yc/rc")));
        // The method says the same as the function it names.
        assert!(changyuan.covers(p("/rc/changyuan/hongqiao")));
        assert!(!changyuan.covers(p("/rc/fenggao")));
    }

    // From venues `domain/org.rs`.
    #[test]
    fn codes_are_parsed() {
        for code in ["Caijiaba", "-x", "a/b", "", &"a".repeat(41)] {
            let err = UnitCode::parse(code).unwrap_err();
            assert_eq!(err.field, "code", "{code:?}");
            assert_eq!(
                err.reason,
                "must be 1-40 characters of a-z, 0-9 and '-', starting with a letter or digit"
            );
        }
        for code in ["yehewan-2", "2nd", &"a".repeat(40)] {
            assert_eq!(UnitCode::parse(code).expect("valid").as_str(), code);
        }
        assert_eq!(
            UnitCode::parse(" caijiaba ").expect("trimmed").as_str(),
            "caijiaba"
        );
    }

    // From venues `domain/org.rs`.
    #[test]
    fn scopes_compare_whole_segments() {
        assert!(covers("/rc", "/rc/changyuan"));
        assert!(covers("/rc/changyuan", "/rc/changyuan"));
        assert!(!covers("/rc/chang", "/rc/changyuan"));
        assert!(!covers("/rc/changyuan", "/rc"));
        assert_eq!(district_of("/rc/changyuan/hongqiao"), "rc");
    }

    // From venues `domain/org.rs` (`ancestors_and_moves`; the moves stay in venues).
    #[test]
    fn ancestors_top_first() {
        assert_eq!(ancestor_paths("/rc/a/b/c"), vec!["/rc", "/rc/a", "/rc/a/b"]);
        assert!(ancestor_paths("/rc").is_empty());
    }

    /// Every path venues can build from codes parses, and nothing else does.
    #[test]
    fn paths_from_codes_parse() {
        for path in [
            "/rc",
            "/rc/changyuan/hongqiao/caijiaba",
            "/rc/zhisheng/rongsheng/yehewan",
            "/rc/town07/town07-v3/town07-v3-c2",
            "/t/i/s/c1",
        ] {
            assert_eq!(p(path).as_str(), path);
        }
    }

    /// The cases where the three old rules disagreed, under the one rule.
    #[test]
    fn where_the_old_rules_disagreed() {
        // orders and volunteers took `_`; venues never made one.
        assert!(UnitPath::parse("/rc/a_b").is_err());
        // volunteers took any non-space text.
        assert!(UnitPath::parse("/rc/Changyuan").is_err());
        assert!(UnitPath::parse("/rc/-x").is_err());
        assert!(UnitPath::parse("/rc/x-").is_ok());
        // volunteers took segments up to 64 bytes; codes are at most 40.
        assert!(UnitPath::parse(&format!("/rc/{}", "x".repeat(41))).is_err());
        // orders took any depth.
        assert!(UnitPath::parse(&"/a".repeat(17)).is_err());
        // orders trimmed spaces; volunteers and venues did not.
        assert_eq!(
            UnitPath::parse(" /rc/changyuan ").unwrap_err().to_string(),
            "unit_path: must start with /"
        );
        assert!(UnitPath::parse("/rc/changyuan ").is_err());
        // volunteers removed one trailing slash; the others refused it. Removed, once.
        assert_eq!(p("/rc/").as_str(), "/rc");
        assert!(UnitPath::parse("/rc//").is_err());
    }

    #[test]
    fn serde_parses() {
        let path: UnitPath = serde_json::from_str("\"/rc/changyuan/\"").expect("json");
        assert_eq!(path.as_str(), "/rc/changyuan");
        assert_eq!(
            serde_json::to_string(&path).expect("json"),
            "\"/rc/changyuan\""
        );
        assert!(serde_json::from_str::<UnitPath>("\"/rc/a b\"").is_err());
        assert_eq!(path.to_string(), "/rc/changyuan");
    }
}
