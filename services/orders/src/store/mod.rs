//! The orders service's tables and queries (sea-orm).

pub mod arrivals;
pub mod categories;
pub mod columns;
pub mod evaluations;
pub mod metrics;
pub mod notices;
pub mod orders;
pub mod timeline;

/// The units this service has learnt: the platform's table, shared with volunteers.
pub use tongxin_platform::org::known_units;
