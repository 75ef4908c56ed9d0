//! The venues service's tables and queries (sea-orm).

pub mod activities;
pub mod circle;
pub mod contacts;
pub mod org_units;
pub mod rhythm;
pub mod venues;
