//! Org-unit paths and scope: a staff member's scope is their unit's path and everything
//! below it; it never crosses districts (the first segment).

use super::DomainError;

/// A parsed unit path such as `/rc/changyuan/hongqiao`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UnitPath(String);

impl UnitPath {
    /// Slash-separated, non-empty segments of `a-z0-9-_`.
    pub fn parse(text: &str) -> Result<Self, DomainError> {
        let t = text.trim();
        let ok = t.starts_with('/')
            && t.len() > 1
            && t[1..].split('/').all(|seg| {
                !seg.is_empty()
                    && seg.chars().all(|c| {
                        c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_'
                    })
            });
        if ok {
            Ok(Self(t.to_owned()))
        } else {
            Err(DomainError::invalid("unit_path", "not a unit path"))
        }
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The district code: the first segment.
    pub fn district(&self) -> &str {
        self.0[1..].split('/').next().unwrap_or_default()
    }

    /// Whether `other` is this unit or below it (whole segments only).
    pub fn covers(&self, other: &str) -> bool {
        other == self.0
            || other
                .strip_prefix(self.0.as_str())
                .is_some_and(|rest| rest.starts_with('/'))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
