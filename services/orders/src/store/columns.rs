//! Typed columns of the orders tables: the order state as a sea-orm active enum, and the
//! lists kept as JSON text (chain, volunteer ids, hours, photos, form answers).
//!
//! The JSON columns stay `TEXT` holding compact JSON, exactly as before, so no migration is
//! needed and PostgreSQL and SQLite store the same bytes. They are sea-orm value types over
//! `String` (`DeriveValueType`, `value_type = "String"`), not `FromJsonQueryResult`: that
//! one binds and reads `json`/`jsonb`, and sqlx refuses to read a PostgreSQL `TEXT` column
//! as JSON. Text that does not parse fails the read with [`BadJson`], which names the column
//! and the position but never echoes the stored text (form answers are a citizen's words).

use std::collections::BTreeMap;
use std::fmt;

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::domain::machine::ChainUnit;
use crate::domain::{OrderState, VolunteerId};

/// A JSON column's text that does not parse as its type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadJson {
    /// The column's type.
    pub column: &'static str,
    /// Where the text stops making sense.
    pub line: usize,
    /// See `line`.
    pub position: usize,
}

impl fmt::Display for BadJson {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "stored {} is not valid (line {}, column {})",
            self.column, self.line, self.position
        )
    }
}

impl std::error::Error for BadJson {}

/// A newtype over `$inner` stored as JSON text, readable and writable by sea-orm.
macro_rules! json_text {
    ($(#[$doc:meta])* $name:ident($inner:ty)) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Default, DeriveValueType)]
        #[sea_orm(value_type = "String")]
        pub struct $name(pub $inner);

        impl std::str::FromStr for $name {
            type Err = BadJson;

            fn from_str(text: &str) -> Result<Self, BadJson> {
                serde_json::from_str(text).map(Self).map_err(|e| BadJson {
                    column: stringify!($name),
                    line: e.line(),
                    position: e.column(),
                })
            }
        }

        /// Compact JSON, the stored form.
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                // Plain lists and string maps always serialise; `fmt::Error` is unreachable.
                f.write_str(&serde_json::to_string(&self.0).map_err(|_| fmt::Error)?)
            }
        }
    };
}

json_text!(
    /// The chain from the routed unit up to the center: `[{"id","path","level"}]`.
    Chain(Vec<ChainUnit>)
);
json_text!(
    /// Volunteer ids: `["<uuid>", …]`.
    VolunteerIds(Vec<VolunteerId>)
);
json_text!(
    /// Hours per volunteer: `[{"volunteer_id","hours"}]`.
    HoursList(Vec<StoredHours>)
);
json_text!(
    /// Photo URLs: `["https://…", …]`.
    Photos(Vec<String>)
);
json_text!(
    /// Form answers by field key: `{"key": "answer"}`.
    FormAnswers(BTreeMap<String, String>)
);

/// One volunteer's hours as stored.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct StoredHours {
    /// Volunteer id.
    pub volunteer_id: Uuid,
    /// Hours (quarter hours in (0, 24]).
    pub hours: f64,
}

/// The stored names of [`OrderState`]. The domain enum stays free of sea-orm; this one
/// only names the column's values, and the two conversions below are checked by the
/// compiler for every variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum State {
    /// See [`OrderState::Placed`].
    #[sea_orm(string_value = "placed")]
    Placed,
    /// See [`OrderState::Received`].
    #[sea_orm(string_value = "received")]
    Received,
    /// See [`OrderState::Escalated`].
    #[sea_orm(string_value = "escalated")]
    Escalated,
    /// See [`OrderState::Dispatched`].
    #[sea_orm(string_value = "dispatched")]
    Dispatched,
    /// See [`OrderState::Accepted`].
    #[sea_orm(string_value = "accepted")]
    Accepted,
    /// See [`OrderState::InProgress`].
    #[sea_orm(string_value = "in_progress")]
    InProgress,
    /// See [`OrderState::Completed`].
    #[sea_orm(string_value = "completed")]
    Completed,
    /// See [`OrderState::Rated`].
    #[sea_orm(string_value = "rated")]
    Rated,
    /// See [`OrderState::Cancelled`].
    #[sea_orm(string_value = "cancelled")]
    Cancelled,
}

impl From<OrderState> for State {
    fn from(s: OrderState) -> Self {
        match s {
            OrderState::Placed => Self::Placed,
            OrderState::Received => Self::Received,
            OrderState::Escalated => Self::Escalated,
            OrderState::Dispatched => Self::Dispatched,
            OrderState::Accepted => Self::Accepted,
            OrderState::InProgress => Self::InProgress,
            OrderState::Completed => Self::Completed,
            OrderState::Rated => Self::Rated,
            OrderState::Cancelled => Self::Cancelled,
        }
    }
}

impl From<State> for OrderState {
    fn from(s: State) -> Self {
        match s {
            State::Placed => Self::Placed,
            State::Received => Self::Received,
            State::Escalated => Self::Escalated,
            State::Dispatched => Self::Dispatched,
            State::Accepted => Self::Accepted,
            State::InProgress => Self::InProgress,
            State::Completed => Self::Completed,
            State::Rated => Self::Rated,
            State::Cancelled => Self::Cancelled,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sea_orm::ActiveEnum;

    #[test]
    fn stored_state_names_are_the_domain_names() {
        for s in OrderState::ALL {
            assert_eq!(State::from(s).to_value(), s.as_str());
            assert_eq!(OrderState::from(State::from(s)), s);
        }
    }

    #[test]
    fn json_columns_keep_the_stored_form_and_refuse_bad_text() {
        let id = Uuid::nil();
        let ids = VolunteerIds(vec![VolunteerId(id)]);
        assert_eq!(ids.to_string(), format!("[\"{id}\"]"));
        assert_eq!(ids.to_string().parse::<VolunteerIds>(), Ok(ids));
        let hours = HoursList(vec![StoredHours {
            volunteer_id: id,
            hours: 1.5,
        }]);
        assert_eq!(
            hours.to_string(),
            format!("[{{\"volunteer_id\":\"{id}\",\"hours\":1.5}}]")
        );
        let bad = "13812345678 is my number"
            .parse::<FormAnswers>()
            .unwrap_err();
        assert_eq!(bad.column, "FormAnswers");
        assert!(!bad.to_string().contains("138"), "{bad}");
        assert!("[1]".parse::<Chain>().is_err());
    }
}
