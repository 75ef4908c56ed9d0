//! The venues service's tables and queries (sea-orm).

pub mod org_units;
