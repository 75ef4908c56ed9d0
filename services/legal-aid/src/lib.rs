//! The legal-aid service: public legal service stations (公共法律服务工作站) on the org tree,
//! their providers (lawyers, notaries, mediators, legal-aid workers), duty rosters computed
//! with the district's holiday calendar, bookable slots, and appointments that the database
//! itself never lets overlap for one provider.
//!
//! The crate has the rooms every Tongxin service has:
//! - [`app`]: its entry in the platform's service registry;
//! - [`domain`]: pure rules (no I/O): services, the roster, the calendar, slots;
//! - [`store`]: sea-orm entities and queries; [`migration`]: the schema (with the
//!   no-overlap constraint on PostgreSQL and its trigger twin on SQLite);
//! - [`service`]: the operations shared by every front door;
//! - [`graphql`] (the `legal-aid` subgraph), [`grpc`] (`tongxin.legalaid.v1`), [`http`]
//!   (the providers' iCalendar feeds);
//! - [`events`]: what it publishes (`tongxin.legalaid.appointment_*`) and the known-units
//!   consumer;
//! - [`settings`], [`error`], [`demo`] (seed data for `tongxin run`).

pub mod app;
pub mod demo;
pub mod domain;
pub mod error;
pub mod events;
pub mod graphql;
pub mod grpc;
pub mod http;
pub mod migration;
pub mod service;
pub mod settings;
pub mod store;

pub use app::{LegalAidModule, NAME};
pub use settings::LegalAidSettings;

/// Default settings: HTTP on 8084, gRPC on 9084, the `tongxin_legal_aid` PostgreSQL
/// database, no PII key (`pii_key` must be configured to start).
pub fn default_settings() -> LegalAidSettings {
    LegalAidSettings::on_ports(
        8084,
        9084,
        "postgres://postgres@127.0.0.1:5432/tongxin_legal_aid",
    )
}
