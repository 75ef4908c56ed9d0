//! What a caller may see of a volunteer, decided on the org tree.
//!
//! Staff act for an org unit; their scope is that unit's subtree. Paths
//! (`/rc/changyuan/hongqiao/caijiaba`) make "is this volunteer in my subtree" a prefix test,
//! but it must be a prefix on whole segments: `/rc/chang` is a different unit from
//! `/rc/changyuan` and must not see its people. Every path starts with its district's code,
//! so a scope can never reach into another district.

use tongxin_platform::pii::Phone;

use super::DomainError;

const FIELD: &str = "unit_path";
/// Deeper than any real tree (center, institute, station, courtyard, plus room to grow);
/// bounds the work a hostile path can cause.
const MAX_SEGMENTS: usize = 16;
const MAX_SEGMENT_LEN: usize = 64;

/// A parsed org-unit path: `/` followed by one or more non-empty segments separated by `/`.
///
/// Kept in canonical form (no trailing slash) so comparisons are plain string work.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UnitPath(String);

impl UnitPath {
    /// Parses a path; one trailing `/` is tolerated and removed.
    ///
    /// Segments may not be empty, `.` or `..`, nor contain whitespace or control
    /// characters: any of those would let two spellings name one unit, and the prefix rule
    /// relies on one spelling per unit.
    pub fn parse(input: &str) -> Result<Self, DomainError> {
        let Some(rest) = input.strip_prefix('/') else {
            return Err(DomainError::invalid(FIELD, "must start with /"));
        };
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        if rest.is_empty() {
            return Err(DomainError::invalid(FIELD, "must name at least a district"));
        }
        let mut count = 0;
        for segment in rest.split('/') {
            count += 1;
            if count > MAX_SEGMENTS {
                return Err(DomainError::invalid(
                    FIELD,
                    format!("has more than {MAX_SEGMENTS} segments"),
                ));
            }
            if segment.is_empty() {
                return Err(DomainError::invalid(FIELD, "has an empty segment"));
            }
            if segment == "." || segment == ".." {
                return Err(DomainError::invalid(FIELD, "may not contain . or .."));
            }
            if segment.len() > MAX_SEGMENT_LEN {
                return Err(DomainError::invalid(
                    FIELD,
                    format!("segment longer than {MAX_SEGMENT_LEN} bytes"),
                ));
            }
            if segment.chars().any(|c| c.is_whitespace() || c.is_control()) {
                return Err(DomainError::invalid(
                    FIELD,
                    "may not contain spaces or control characters",
                ));
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
        self.segments().next().unwrap_or_default()
    }

    /// The segments from the district down.
    pub fn segments(&self) -> impl Iterator<Item = &str> {
        self.0[1..].split('/')
    }

    /// Depth in the tree: 1 for the district center.
    pub fn depth(&self) -> usize {
        self.segments().count()
    }

    /// Whether this unit's subtree contains `subject` (a unit covers itself).
    pub fn covers(&self, subject: &UnitPath) -> bool {
        covers(self, subject)
    }
}

/// Whether a caller acting for `caller` may act on things that hang on `subject`:
/// true when `subject` is `caller` or lies below it, comparing whole segments.
pub fn covers(caller: &UnitPath, subject: &UnitPath) -> bool {
    match subject.0.strip_prefix(caller.0.as_str()) {
        Some(rest) => rest.is_empty() || rest.starts_with('/'),
        None => false,
    }
}

/// Who is looking at a volunteer record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Viewer {
    /// The volunteer themself (self-service: they see and correct their own record).
    Themselves,
    /// Staff acting for an org unit; they see in full what lies in that unit's subtree.
    Staff(UnitPath),
    /// Anyone else: another volunteer, a citizen, another department.
    Other,
}

impl Viewer {
    /// Whether this viewer may see the personal data of a volunteer whose home unit is
    /// `subject_home`.
    pub fn sees_in_full(&self, subject_home: &UnitPath) -> bool {
        match self {
            Viewer::Themselves => true,
            Viewer::Staff(unit) => covers(unit, subject_home),
            Viewer::Other => false,
        }
    }
}

/// A phone number as a particular viewer may see it: full when their scope covers the
/// volunteer, otherwise masked (`138****1234`).
///
/// Built in one place from the rule above, so a resolver cannot forget to mask: it only
/// ever has a `PhoneView` to return.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PhoneView {
    /// All 11 digits.
    Full(String),
    /// Middle four digits hidden.
    Masked(String),
}

impl PhoneView {
    /// The view of `phone` (of a volunteer whose home unit is `subject_home`) for `viewer`.
    pub fn new(phone: &Phone, viewer: &Viewer, subject_home: &UnitPath) -> Self {
        if viewer.sees_in_full(subject_home) {
            PhoneView::Full(phone.expose().to_owned())
        } else {
            PhoneView::Masked(phone.masked())
        }
    }

    /// The text to show.
    pub fn as_str(&self) -> &str {
        match self {
            PhoneView::Full(s) | PhoneView::Masked(s) => s,
        }
    }

    /// Whether digits are hidden (clients may show a hint that more is available to staff).
    pub fn is_masked(&self) -> bool {
        matches!(self, PhoneView::Masked(_))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> UnitPath {
        UnitPath::parse(s).unwrap()
    }

    #[test]
    fn parses_and_canonicalises() {
        assert_eq!(p("/rc/changyuan/").as_str(), "/rc/changyuan");
        assert_eq!(p("/rc").district(), "rc");
        assert_eq!(p("/rc/changyuan/hongqiao/caijiaba").depth(), 4);
        assert_eq!(p("/rc/昌元街道").as_str(), "/rc/昌元街道");
    }

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

    #[test]
    fn covers_on_segment_boundaries() {
        let changyuan = p("/rc/changyuan");
        assert!(covers(&changyuan, &p("/rc/changyuan")));
        assert!(covers(&changyuan, &p("/rc/changyuan/hongqiao")));
        assert!(covers(&changyuan, &p("/rc/changyuan/hongqiao/caijiaba")));
        assert!(covers(&p("/rc"), &p("/rc/changyuan/x")));
        // Same letters, different unit.
        assert!(!covers(&p("/rc/chang"), &p("/rc/changyuan/x")));
        assert!(!covers(&p("/rc/chang"), &p("/rc/changyuan")));
        // Upwards and sideways are not covered.
        assert!(!covers(&p("/rc/changyuan/hongqiao"), &changyuan));
        assert!(!covers(&changyuan, &p("/rc/fenggao")));
        // Never across districts, even with a matching tail.
        assert!(!covers(&p("/rc"), &p("/rcx/changyuan")));
        assert!(!covers(&p("/rc"), &p("/yc/rc")));
        // The method says the same as the function it names.
        assert!(changyuan.covers(&p("/rc/changyuan/hongqiao")));
        assert!(!changyuan.covers(&p("/rc/fenggao")));
    }

    #[test]
    fn phone_is_full_only_within_scope_or_for_themselves() {
        let phone = Phone::parse("13812341234").unwrap();
        let home = p("/rc/changyuan/hongqiao");
        let full = PhoneView::Full("13812341234".into());
        let masked = PhoneView::Masked("138****1234".into());

        assert_eq!(
            PhoneView::new(&phone, &Viewer::Staff(p("/rc")), &home),
            full
        );
        assert_eq!(
            PhoneView::new(&phone, &Viewer::Staff(p("/rc/changyuan")), &home),
            full
        );
        assert_eq!(PhoneView::new(&phone, &Viewer::Themselves, &home), full);
        assert!(!full.is_masked());
        assert_eq!(full.as_str(), "13812341234");

        let sideways = PhoneView::new(&phone, &Viewer::Staff(p("/rc/fenggao")), &home);
        assert_eq!(sideways, masked);
        assert!(sideways.is_masked());
        assert_eq!(sideways.as_str(), "138****1234");
        let below = Viewer::Staff(p("/rc/changyuan/hongqiao/caijiaba"));
        assert_eq!(PhoneView::new(&phone, &below, &home), masked);
        assert_eq!(PhoneView::new(&phone, &Viewer::Other, &home), masked);
    }
}
