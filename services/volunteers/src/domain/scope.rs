//! What a caller may see of a volunteer, decided on the org tree.
//!
//! Staff act for an org unit; their scope is that unit's subtree. Paths
//! (`/rc/changyuan/hongqiao/caijiaba`) make "is this volunteer in my subtree" a prefix test,
//! but it must be a prefix on whole segments: `/rc/chang` is a different unit from
//! `/rc/changyuan` and must not see its people. Every path starts with its district's code,
//! so a scope can never reach into another district.

use tongxin_platform::pii::Phone;

// The path rule and the segment-wise prefix test are the platform's, shared with every
// service; their tests live there too.
pub use tongxin_platform::org::{UnitPath, covers};

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

/// Names are masked the same way in every service.
pub use tongxin_platform::pii::mask_name;

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> UnitPath {
        UnitPath::parse(s).unwrap()
    }

    // `parses_and_canonicalises`, `rejects_malformed_paths` and `covers_on_segment_boundaries`
    // moved with the rule to tongxin_platform::org::path.

    #[test]
    fn a_masked_name_keeps_only_the_first_character() {
        assert_eq!(mask_name("张三"), "张*");
        assert_eq!(mask_name("李志愿"), "李**");
        assert_eq!(mask_name("欧阳娜娜"), "欧***");
        assert_eq!(mask_name(" 王五 "), "王*");
        assert_eq!(mask_name("Ann Lee"), "A******");
        assert_eq!(mask_name("张"), "*");
        assert_eq!(mask_name(""), "");
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
