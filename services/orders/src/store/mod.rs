//! The orders service's tables and queries (sea-orm).

pub mod categories;
pub mod columns;
pub mod known_units;
pub mod metrics;
pub mod orders;
pub mod timeline;
