//! The volunteers service's tables and queries (sea-orm).

pub mod issued_proofs;
pub mod known_units;
pub mod ledger;
pub mod load;
pub mod match_rows;
pub mod teams;
pub mod unit_details;
pub mod volunteers;
