//! The volunteers service's tables and queries (sea-orm).

pub mod known_units;
pub mod ledger;
pub mod teams;
pub mod volunteers;
