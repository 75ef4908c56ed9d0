//! The volunteers service's tables and queries (sea-orm).

pub mod account_links;
pub mod issued_proofs;
pub mod ledger;
pub mod load;
pub mod match_rows;
pub mod teams;
pub mod unit_details;
pub mod unit_moves;
pub mod volunteers;

/// The units this service has learnt: the platform's table, shared with orders.
pub use tongxin_platform::org::known_units;
