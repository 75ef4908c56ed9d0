//! The public code of an issued service-record proof, and the masked name a verification
//! shows.
//!
//! The code is what a person holding the paper (an employer, a school) types in to check
//! it, so it is short, has no characters that read alike (no 0/O, 1/I), and is random:
//! 12 characters from a 32-character alphabet are 60 bits, far beyond guessing a valid
//! one. It is not derived from anything personal and says nothing by itself.

use std::fmt;

use super::DomainError;

/// 2-9 and A-Z without I and O: 32 characters, so 5 random bits pick one without bias.
const ALPHABET: &[u8; 32] = b"23456789ABCDEFGHJKLMNPQRSTUVWXYZ";
/// Characters in a code.
pub const CODE_LEN: usize = 12;

/// A well-formed public proof code, stored as 12 capitals and digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RecordCode(String);

impl RecordCode {
    /// A code from 12 random bytes (the low 5 bits of each pick the character).
    pub fn from_random(bytes: [u8; CODE_LEN]) -> Self {
        Self(
            bytes
                .iter()
                .map(|b| char::from(ALPHABET[usize::from(b & 31)]))
                .collect(),
        )
    }

    /// A fresh random code.
    pub fn generate() -> Self {
        // A v4 UUID's bytes 6 and 8 carry version and variant bits; the other 14 are
        // random (from the operating system), of which we take 12.
        let b = uuid::Uuid::new_v4().into_bytes();
        Self::from_random([
            b[0], b[1], b[2], b[3], b[4], b[5], b[7], b[9], b[10], b[11], b[12], b[13],
        ])
    }

    /// A code as a person typed it: case, spaces and dashes do not matter; anything else
    /// that is not 12 characters of the alphabet is BAD_USER_INPUT.
    pub fn parse(input: &str) -> Result<Self, DomainError> {
        let cleaned: String = input
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .map(|c| c.to_ascii_uppercase())
            .collect();
        if cleaned.chars().count() != CODE_LEN || !cleaned.bytes().all(|b| ALPHABET.contains(&b)) {
            return Err(DomainError::invalid(
                "code",
                "must be 12 characters of 2-9 and A-Z (without I and O), e.g. 7KQ4-M2ZX-9HTP",
            ));
        }
        Ok(Self(cleaned))
    }

    /// The stored form, 12 characters.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Printed in groups of four, e.g. `7KQ4-M2ZX-9HTP`.
impl fmt::Display for RecordCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = &self.0;
        write!(f, "{}-{}-{}", &s[..4], &s[4..8], &s[8..])
    }
}

/// A name with everything after the first character hidden: 张三丰 → 张**. Always two
/// stars, so not even the length shows; enough for the holder of a paper to see it fits
/// the person in front of them, no more.
pub fn mask_name(name: &str) -> String {
    match name.trim().chars().next() {
        None => String::new(),
        Some(first) => format!("{first}**"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_use_the_alphabet_and_read_back() {
        for _ in 0..100 {
            let code = RecordCode::generate();
            assert_eq!(code.as_str().len(), CODE_LEN);
            assert!(code.as_str().bytes().all(|b| ALPHABET.contains(&b)));
            let printed = code.to_string();
            assert_eq!(printed.len(), 14);
            assert_eq!(RecordCode::parse(&printed), Ok(code.clone()));
            assert_eq!(
                RecordCode::parse(&printed.to_lowercase().replace('-', " ")),
                Ok(code)
            );
        }
        assert_eq!(
            RecordCode::from_random([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 31, 32]).as_str(),
            "23456789ABZ2"
        );
    }

    #[test]
    fn malformed_codes_are_refused() {
        for bad in [
            "",
            "ABCD",
            "ABCD-EFGH-JKLMN",
            "ABCD-EFGH-JKL0",
            "ABCD-EFGH-JKLI",
            "ABCD-EFGH-JKLO",
            "ABCD-EFGH-JK1M",
            "ABCD-EFGH-JKL张",
            "ABCD_EFGH_JKLM",
        ] {
            assert!(RecordCode::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn names_keep_only_their_first_character() {
        assert_eq!(mask_name("张三"), "张**");
        assert_eq!(mask_name("欧阳娜娜"), "欧**");
        assert_eq!(mask_name("张"), "张**");
        assert_eq!(mask_name(" Li Ming "), "L**");
        assert_eq!(mask_name(""), "");
    }
}
