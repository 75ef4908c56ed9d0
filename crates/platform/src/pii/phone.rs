//! Mainland China mobile numbers.
//!
//! Phones are personal data: services store them with [`super::PiiCipher`] and show them
//! masked unless the caller's scope covers the person. The type has no `Display` and no
//! `Serialize`, and `Debug` is masked, so a stray `{:?}` in a log line leaks nothing.

use std::fmt;

use super::PiiError;

const FIELD: &str = "phone";

/// An 11-digit mainland mobile number starting with 1, stored without separators or
/// country code.
///
/// The second digit is deliberately not checked: number blocks keep being allocated
/// (19x arrived in 2017), and rejecting a real new block would lock people out, while a
/// mistyped but well-formed number is caught by SMS verification, not by a pattern.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Phone(String);

impl Phone {
    /// Parses what people actually type: `13812341234`, `138 1234 1234`, `138-1234-1234`,
    /// `+86 138 1234 1234`, `0086 13812341234`, `+86-13812341234`.
    pub fn parse(input: &str) -> Result<Self, PiiError> {
        let compact: String = input
            .chars()
            .filter(|c| !matches!(c, ' ' | '-' | '\u{3000}'))
            .collect();
        let national = compact
            .strip_prefix("+86")
            .or_else(|| compact.strip_prefix("0086"))
            .unwrap_or(&compact);
        if !national.chars().all(|c| c.is_ascii_digit()) {
            return Err(PiiError::invalid(
                FIELD,
                "may contain only digits, spaces, dashes and a +86 prefix",
            ));
        }
        if national.len() != 11 {
            return Err(PiiError::invalid(
                FIELD,
                format!("must have 11 digits, got {}", national.len()),
            ));
        }
        if !national.starts_with('1') {
            return Err(PiiError::invalid(FIELD, "a mobile number starts with 1"));
        }
        Ok(Self(national.to_owned()))
    }

    /// The full 11 digits. For storage, SMS and callers whose scope covers the person.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// First 3 and last 4 digits, e.g. `138****1234`: the carrier prefix and the tail are
    /// what people use to recognise a number, the middle is what makes it dialable.
    pub fn masked(&self) -> String {
        format!("{}****{}", &self.0[..3], &self.0[7..])
    }
}

impl fmt::Debug for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Phone").field(&self.masked()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_common_spellings() {
        for input in [
            "13812341234",
            "138 1234 1234",
            "138-1234-1234",
            "+86 138 1234 1234",
            "+8613812341234",
            "0086 13812341234",
            " 138\u{3000}1234\u{3000}1234 ",
        ] {
            let phone = Phone::parse(input).unwrap();
            assert_eq!(phone.expose(), "13812341234", "{input}");
        }
    }

    #[test]
    fn masks_the_middle() {
        let phone = Phone::parse("13812341234").unwrap();
        assert_eq!(phone.masked(), "138****1234");
        assert_eq!(format!("{phone:?}"), "Phone(\"138****1234\")");
    }

    #[test]
    fn rejects_wrong_length() {
        let err = Phone::parse("1381234123").unwrap_err();
        // The variant services map to BAD_USER_INPUT, naming the field.
        assert!(matches!(err, PiiError::Invalid { field: "phone", .. }));
        assert_eq!(err.to_string(), "phone: must have 11 digits, got 10");
        let err = Phone::parse("138123412345").unwrap_err();
        assert_eq!(err.to_string(), "phone: must have 11 digits, got 12");
        assert!(Phone::parse("").is_err());
        assert!(Phone::parse("+86").is_err());
    }

    #[test]
    fn rejects_landlines_letters_and_other_countries() {
        assert_eq!(
            Phone::parse("02381234123").unwrap_err().to_string(),
            "phone: a mobile number starts with 1"
        );
        assert!(Phone::parse("1381234123a").is_err());
        assert!(Phone::parse("+85261234567").is_err());
        assert!(Phone::parse("(138)12341234").is_err());
    }
}
