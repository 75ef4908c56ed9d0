//! The orders service (群众点单 … 群众评单): the service menu, placing an order with
//! routing to the courtyard whose 15-minute circle covers the citizen and up its chain to
//! the category's level, the state machine with its four-level receive ladder (每级必接),
//! an append-only timeline and one event per move, the deadline scheduler, the `orders`
//! subgraph and `tongxin.orders.v1.OrderService`.
//!
//! The crate has the rooms every Tongxin service has:
//! - [`domain`]: pure rules (no I/O): the state machine, the menu, escalation, metrics;
//! - [`store`]: sea-orm entities and queries; [`migration`]: the schema;
//! - [`service`]: the operations shared by every front door, with the deadline
//!   [`service::scheduler`] and the injectable [`service::clock`];
//! - [`graphql`] (the `orders` subgraph), [`grpc`] (`tongxin.orders.v1` and the
//!   [`grpc::clients`] of venues and volunteers), [`http`] (the CSV exports);
//! - [`events`]: what it publishes and the consumer of the venues unit events;
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

pub use app::{App, Shared};
pub use settings::OrdersSettings;

/// Default settings: HTTP on 8083, gRPC on 9083, the `tongxin_orders` PostgreSQL database,
/// venues and volunteers on their default gRPC ports, no PII key.
pub fn default_settings() -> OrdersSettings {
    OrdersSettings::on_ports(
        8083,
        9083,
        "postgres://postgres@127.0.0.1:5432/tongxin_orders",
    )
}
