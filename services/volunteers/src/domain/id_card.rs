//! The PRC resident ID-card number (居民身份证号码, GB 11643-1999).
//!
//! It is the most sensitive value the registry holds, so the type is built to be hard to
//! leak: there is no `Display` and no `Serialize`, `Debug` prints the masked form, and the
//! full value is only reachable through [`IdCardNumber::expose`], whose callers are the
//! encryption and keyed-hash paths.

use std::fmt;

use chrono::{Datelike, NaiveDate};

use super::DomainError;
use super::availability::local_today;

const FIELD: &str = "id_card_number";

/// ISO 7064 MOD 11-2 weights for the first 17 digits (2^(17-i) mod 11).
const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
/// Check character for each remainder 0..=10.
const CHECK_MAP: &[u8; 11] = b"10X98765432";
/// Nobody alive was born before this; an earlier year is a typing error, not a person.
const EARLIEST_BIRTH_YEAR: i32 = 1900;

/// Gender as encoded in the ID number (17th digit: odd male, even female).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Gender {
    /// 男
    Male,
    /// 女
    Female,
}

impl Gender {
    /// Stable lower-case name for storage and APIs.
    pub fn as_str(self) -> &'static str {
        match self {
            Gender::Male => "male",
            Gender::Female => "female",
        }
    }
}

/// An 18-character resident ID number whose checksum, region code and birth date are valid.
///
/// Stored canonically: 17 ASCII digits and an upper-case check character (`0`-`9` or `X`),
/// so two spellings of the same number (`x`/`X`, surrounding spaces) give the same keyed
/// hash and are found as duplicates.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct IdCardNumber {
    value: String,
    birth_date: NaiveDate,
}

impl IdCardNumber {
    /// Parses a number, judging "not in the future" against today's date in China (UTC+8).
    pub fn parse(input: &str) -> Result<Self, DomainError> {
        Self::parse_on(input, local_today(super::availability::CHINA_STANDARD_TIME))
    }

    /// Parses a number as of `today` (the birth date must not be after it).
    ///
    /// Separate from [`IdCardNumber::parse`] so tests and imports of historical data do not
    /// depend on the wall clock.
    pub fn parse_on(input: &str, today: NaiveDate) -> Result<Self, DomainError> {
        let trimmed = input.trim();
        let chars: Vec<char> = trimmed.chars().collect();
        if chars.len() != 18 {
            return Err(DomainError::invalid(
                FIELD,
                format!("must have 18 characters, got {}", chars.len()),
            ));
        }
        let mut canonical = String::with_capacity(18);
        let mut sum = 0u32;
        for (i, &c) in chars.iter().take(17).enumerate() {
            let Some(d) = c.to_digit(10) else {
                return Err(DomainError::invalid(
                    FIELD,
                    format!("character {} must be a digit", i + 1),
                ));
            };
            sum += d * WEIGHTS[i];
            canonical.push(c);
        }
        let check = match chars[17] {
            c @ '0'..='9' => c,
            'x' | 'X' => 'X',
            _ => {
                return Err(DomainError::invalid(
                    FIELD,
                    "character 18 must be a digit or X",
                ));
            }
        };
        let expected = char::from(CHECK_MAP[(sum % 11) as usize]);
        if check != expected {
            return Err(DomainError::invalid(
                FIELD,
                "check character does not match",
            ));
        }
        canonical.push(check);

        // Province codes run from 11 to 91; none starts with 0, so a leading zero (including
        // an all-zero region) is a typing error.
        if canonical.starts_with('0') {
            return Err(DomainError::invalid(
                FIELD,
                "region code (first 6 digits) is not valid",
            ));
        }

        let birth_date = parse_birth_date(&canonical[6..14])?;
        if birth_date > today {
            return Err(DomainError::invalid(FIELD, "birth date is in the future"));
        }
        Ok(Self {
            value: canonical,
            birth_date,
        })
    }

    /// The full number. Only for encryption and the keyed hash; never log or return it.
    pub fn expose(&self) -> &str {
        &self.value
    }

    /// The 6-digit administrative region code where the number was issued.
    pub fn region_code(&self) -> &str {
        &self.value[..6]
    }

    /// Birth date embedded in digits 7-14.
    pub fn birth_date(&self) -> NaiveDate {
        self.birth_date
    }

    /// Gender from the 17th digit (odd male, even female).
    pub fn gender(&self) -> Gender {
        let odd = self.value.as_bytes()[16] % 2 == 1;
        if odd { Gender::Male } else { Gender::Female }
    }

    /// Age in whole years on `date`; used for the under-14 guardian-consent rule.
    pub fn age_on(&self, date: NaiveDate) -> u32 {
        date.years_since(self.birth_date).unwrap_or(0)
    }

    /// First and last character with the 16 between hidden, e.g. `5****************X`.
    ///
    /// The first digit only reveals the province group and the last is a checksum, so the
    /// masked form identifies nobody but still lets a person recognise their own number.
    pub fn masked(&self) -> String {
        let mut out = String::with_capacity(18);
        out.push_str(&self.value[..1]);
        out.push_str(&"*".repeat(16));
        out.push_str(&self.value[17..]);
        out
    }
}

impl fmt::Debug for IdCardNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("IdCardNumber").field(&self.masked()).finish()
    }
}

fn parse_birth_date(digits: &str) -> Result<NaiveDate, DomainError> {
    let bad = || DomainError::invalid(FIELD, "birth date (digits 7-14) is not a real date");
    let year: i32 = digits[..4].parse().map_err(|_| bad())?;
    let month: u32 = digits[4..6].parse().map_err(|_| bad())?;
    let day: u32 = digits[6..8].parse().map_err(|_| bad())?;
    let date = NaiveDate::from_ymd_opt(year, month, day).ok_or_else(bad)?;
    if date.year() < EARLIEST_BIRTH_YEAR {
        return Err(DomainError::invalid(FIELD, "birth date is before 1900"));
    }
    Ok(date)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Appends the MOD 11-2 check character to 17 digits, so the tests build valid
    /// numbers instead of copying real people's.
    fn with_check(body: &str) -> String {
        let sum: u32 = body
            .bytes()
            .zip(WEIGHTS)
            .map(|(b, w)| u32::from(b - b'0') * w)
            .sum();
        format!("{body}{}", char::from(CHECK_MAP[(sum % 11) as usize]))
    }

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2025, 6, 1).unwrap()
    }

    fn find_body_with_check(prefix16: &str, want: char) -> String {
        (0..10)
            .map(|d| with_check(&format!("{prefix16}{d}")))
            .find(|n| n.ends_with(want))
            .unwrap()
    }

    #[test]
    fn accepts_a_valid_number_and_reads_it() {
        let n = with_check("50022619900307123");
        let id = IdCardNumber::parse_on(&n, today()).unwrap();
        assert_eq!(id.expose(), n);
        assert_eq!(id.region_code(), "500226");
        assert_eq!(
            id.birth_date(),
            NaiveDate::from_ymd_opt(1990, 3, 7).unwrap()
        );
        assert_eq!(id.gender(), Gender::Male); // 17th digit 3 is odd
        assert_eq!(id.age_on(today()), 35);
    }

    #[test]
    fn known_check_digit_example() {
        // The worked example in GB 11643-1999: 11010519491231002 -> X.
        assert_eq!(with_check("11010519491231002"), "11010519491231002X");
        let id = IdCardNumber::parse_on("11010519491231002X", today()).unwrap();
        assert_eq!(id.gender(), Gender::Female); // 17th digit 2 is even
    }

    #[test]
    fn lower_case_x_and_spaces_are_normalised() {
        let n = find_body_with_check("5002262001010112", 'X');
        let lower = format!("  {}  ", n.to_lowercase());
        let id = IdCardNumber::parse_on(&lower, today()).unwrap();
        assert_eq!(id.expose(), n);
        assert_eq!(id, IdCardNumber::parse_on(&n, today()).unwrap());
    }

    #[test]
    fn masked_and_debug_hide_the_number() {
        let n = find_body_with_check("5002262001010112", 'X');
        let id = IdCardNumber::parse_on(&n, today()).unwrap();
        assert_eq!(id.masked(), "5****************X");
        assert_eq!(id.masked().len(), 18);
        let debug = format!("{id:?}");
        assert!(!debug.contains("500226"), "{debug}");
        assert!(debug.contains("5****************X"));
    }

    #[test]
    fn rejects_a_wrong_check_character() {
        let n = with_check("50022619900307123");
        let last = n.chars().last().unwrap();
        let wrong = if last == '1' { '2' } else { '1' };
        let bad = format!("{}{wrong}", &n[..17]);
        let err = IdCardNumber::parse_on(&bad, today()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "id_card_number: check character does not match"
        );
        // The message must not echo the number.
        assert!(!err.to_string().contains("500226"));
    }

    #[test]
    fn rejects_wrong_lengths_and_characters() {
        for bad in [
            "",
            "5002261990030712",
            "5002261990030712345",
            "50022619900307123 4",
        ] {
            let err = IdCardNumber::parse_on(bad, today()).unwrap_err();
            assert!(
                err.to_string().starts_with("id_card_number: "),
                "{bad}: {err}"
            );
        }
        let err = IdCardNumber::parse_on("5002261990O3071234", today()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "id_card_number: character 11 must be a digit"
        );
        // Full-width digits are not ASCII digits.
        assert!(IdCardNumber::parse_on("５0022619900307123X", today()).is_err());
        let n = with_check("50022619900307123");
        assert!(IdCardNumber::parse_on(&format!("{}Y", &n[..17]), today()).is_err());
    }

    #[test]
    fn rejects_impossible_and_future_birth_dates() {
        for body in [
            "50022619900230123", // 30 February
            "50022619901301123", // month 13
            "50022618991231123", // before 1900
            "50022619900000123", // month 0
        ] {
            let err = IdCardNumber::parse_on(&with_check(body), today()).unwrap_err();
            assert!(err.to_string().contains("birth date"), "{body}: {err}");
        }
        let leap = with_check("50022620000229123");
        assert!(IdCardNumber::parse_on(&leap, today()).is_ok());
        let future = with_check("50022620250602123");
        let err = IdCardNumber::parse_on(&future, today()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "id_card_number: birth date is in the future"
        );
        // Born today is fine.
        assert!(IdCardNumber::parse_on(&with_check("50022620250601123"), today()).is_ok());
    }

    #[test]
    fn rejects_a_zero_region() {
        let err = IdCardNumber::parse_on(&with_check("00000019900307123"), today()).unwrap_err();
        assert!(err.to_string().contains("region code"));
    }

    #[test]
    fn parse_uses_the_clock() {
        assert!(IdCardNumber::parse(&with_check("50022619900307123")).is_ok());
        assert!(IdCardNumber::parse(&with_check("50022629990101123")).is_err());
    }
}
