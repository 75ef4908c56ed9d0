//! The volunteers service. This slice is the registry: registering a volunteer (ID-card
//! number encrypted with AES-GCM plus a keyed hash for uniqueness, phone encrypted too),
//! reading them back with the phone masked by scope, the `volunteer_registered` event, the
//! `volunteers` subgraph and `tongxin.volunteers.v1.VolunteerService` (GetVolunteer,
//! BatchGetVolunteers). Teams ([`service::teams`]), the service-hours ledger with stars,
//! points and rankings ([`service::ledger`], fed also by the crediting consumers in
//! [`events::ledger`]), RecordHours, and the printable service-record proof ([`proof`]).
//! Candidate matching ([`matcher`], kept current by [`order_events`]), self-service, and
//! the spreadsheet import ([`import`]).
//!
//! [`app`] is its entry in the platform's service registry: how it is built and what it
//! serves and runs (subgraph, gRPC, consumers, background jobs).

pub mod app;
pub mod demo;
pub mod domain;
pub mod error;
pub mod events;
pub mod graphql;
pub mod grpc;
pub mod grpc_ledger;
pub mod grpc_matching;
pub mod import;
pub mod matcher;
pub mod migration;
pub mod order_events;
pub mod proof;
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
