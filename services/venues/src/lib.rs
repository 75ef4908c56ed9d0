//! The venues service: the org tree (center → institute → station → courtyard), venues,
//! activities and the 15-minute circle. A federation subgraph and a gRPC server over its own
//! database; events through the outbox. [`app`] is its entry in the platform's service
//! registry: how it is built and what it serves and runs.

pub mod app;
pub mod circle;
pub mod demo;
pub mod demo_venues;
pub mod domain;
pub mod error;
pub mod events;
pub mod graphql;
pub mod grpc;
pub mod import;
pub mod migration;
pub mod service;
pub mod store;
pub mod venue_proto;

pub use app::{NAME, VenuesModule};

use tongxin_platform::config::ServiceSettings;

/// Default settings: HTTP on 8081, gRPC on 9081, the `tongxin_venues` PostgreSQL database.
pub fn default_settings() -> ServiceSettings {
    ServiceSettings::on_ports(
        8081,
        9081,
        "postgres://postgres@127.0.0.1:5432/tongxin_venues",
    )
}
