//! End to end through every real layer: client → Hive Router → subgraphs (venues,
//! volunteers, orders) → PostgreSQL → outbox → NATS → consumers and subscriptions back
//! through the router.
//!
//! Needs the router binary (`make tools`); everything else is started here on free ports.

mod authz;
mod door;
mod explorer;
mod legal_orders;
mod one_trace;
mod order_loop;
mod outside_consumer;
mod platform;
mod reference_clients;
mod telemetry;
mod tracer_bullet;
