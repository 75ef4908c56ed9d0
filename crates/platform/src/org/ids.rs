//! Typed ids of the things every service refers to but only one owns: org units (venues)
//! and volunteers (volunteers). Typed so one cannot be passed where the other is expected;
//! stored as plain UUID columns (`DeriveValueType`) and serialised as bare UUIDs.

use std::fmt;

use sea_orm::DeriveValueType;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::OrgError;

/// An org unit's id, as venues issued it.
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
    DeriveValueType,
)]
#[serde(transparent)]
pub struct UnitId(pub Uuid);

impl UnitId {
    /// Parses a client-supplied id; the error names `field`.
    pub fn parse(text: &str, field: &'static str) -> Result<Self, OrgError> {
        Uuid::parse_str(text.trim())
            .map(Self)
            .map_err(|_| OrgError::invalid(field, "must be a UUID"))
    }
}

impl fmt::Display for UnitId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A volunteer's internal id, as the volunteers registry issued it.
///
/// Not the public volunteer number (the registry issues that) and never the ID-card number.
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
    DeriveValueType,
)]
#[serde(transparent)]
pub struct VolunteerId(pub Uuid);

impl fmt::Display for VolunteerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_ids_parse_and_print_as_uuids() {
        let id = Uuid::new_v4();
        assert_eq!(UnitId::parse(&format!(" {id} "), "unitId"), Ok(UnitId(id)));
        assert_eq!(UnitId(id).to_string(), id.to_string());
        assert_eq!(
            UnitId::parse("caijiaba", "unitId").unwrap_err().to_string(),
            "unitId: must be a UUID"
        );
        assert_eq!(
            serde_json::to_string(&VolunteerId(id)).expect("json"),
            format!("\"{id}\"")
        );
    }
}
