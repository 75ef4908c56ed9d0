//! The venues service: the org tree (center → institute → station → courtyard), venues,
//! activities and the 15-minute circle. A federation subgraph and a gRPC server over its own
//! database; events through the outbox.
//!
//! The crate has the rooms every Tongxin service has:
//! - [`app`]: its entry in the platform's service registry (how it is built, what it serves
//!   and runs: subgraph, gRPC, consumers, background jobs);
//! - [`domain`]: pure rules (no I/O): the org tree, venues, activities, the circle and
//!   coverage geometry;
//! - [`store`]: sea-orm entities and queries; [`migration`]: the schema;
//! - [`service`]: the operations shared by every front door, including the in-memory
//!   15-minute circle ([`service::circle`]);
//! - [`graphql`] (the `venues` subgraph and the SVG coverage map), [`grpc`]
//!   (`tongxin.venues.v1`, with the protobuf forms in [`grpc::proto`] that events share);
//! - [`events`]: what it publishes (venues consumes nothing);
//! - [`settings`] (listening, database, the contact-phone key; see [`default_settings`]),
//!   [`error`], [`demo`]
//!   (seed data for `tongxin run`), and
//!   [`import`] (reading resident-point files).

pub mod app;
pub mod demo;
pub mod domain;
pub mod error;
pub mod events;
pub mod graphql;
pub mod grpc;
pub mod import;
pub mod migration;
pub mod service;
pub mod settings;
pub mod store;

pub use app::{NAME, VenuesModule};
pub use settings::VenuesSettings;

/// Default settings: HTTP on 8081, gRPC on 9081, the `tongxin_venues` PostgreSQL database,
/// no PII key (`pii_key` must be configured to start).
pub fn default_settings() -> VenuesSettings {
    VenuesSettings::on_ports(
        8081,
        9081,
        "postgres://postgres@127.0.0.1:5432/tongxin_venues",
    )
}
