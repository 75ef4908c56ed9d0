//! Org-unit paths and scope: a staff member's scope is their unit's path and everything
//! below it; it never crosses districts (the first segment).
//!
//! The path rule is the platform's, shared with every service (see
//! [`tongxin_platform::org::UnitPath`]); its tests live there.

pub use tongxin_platform::org::UnitPath;
