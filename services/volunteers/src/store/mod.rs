//! The volunteers service's tables and queries (sea-orm).

pub mod known_units;
pub mod load;
pub mod match_rows;
pub mod unit_details;
pub mod volunteers;
