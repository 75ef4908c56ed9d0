//! The volunteers service: the registry of volunteers (ID-card number encrypted with AES-GCM
//! plus a keyed hash for uniqueness, phone encrypted too, masked by scope), teams, the
//! service-hours ledger with stars, points and rankings, candidate matching for orders,
//! self-service, and the spreadsheet import.
//!
//! The crate has the rooms every Tongxin service has:
//! - [`app`]: its entry in the platform's service registry (how it is built, what it serves
//!   and runs: subgraph, gRPC, consumers, background jobs);
//! - [`domain`]: pure rules (no I/O): ID cards, skills, availability, hours, matching scores;
//! - [`store`]: sea-orm entities and queries; [`migration`]: the schema;
//! - [`service`]: the operations shared by every front door, including the in-process
//!   candidate index ([`service::matcher`]);
//! - [`graphql`] (the `volunteers` subgraph), [`grpc`] (`tongxin.volunteers.v1`, with the
//!   ledger and matching translations), [`http`] (the printable service-record proof);
//! - [`events`]: what it publishes, and [`events::consumers`]: the crediting consumers of the
//!   ledger and the order-load consumer that keeps matching current;
//! - [`present`]: the sentences both front doors show (the match-score explanation);
//! - [`settings`], [`error`], [`demo`] (seed data for `tongxin run`), and [`import`].

pub mod app;
pub mod demo;
pub mod domain;
pub mod error;
pub mod events;
pub mod graphql;
pub mod grpc;
pub mod http;
pub mod import;
pub mod migration;
pub mod present;
pub mod service;
pub mod settings;
pub mod store;

pub use app::{NAME, VolunteersModule};
pub use settings::{PiiSettings, VolunteersSettings};

/// Default settings: HTTP on 8082, gRPC on 9082, the `tongxin_volunteers` PostgreSQL
/// database, and no PII keys (they must be configured; `tongxin run` generates them).
pub fn default_settings() -> VolunteersSettings {
    VolunteersSettings::on_ports(
        8082,
        9082,
        "postgres://postgres@127.0.0.1:5432/tongxin_volunteers",
    )
}
