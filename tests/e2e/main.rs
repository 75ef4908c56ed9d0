//! End to end through every real layer: client → Hive Router → venues subgraph →
//! PostgreSQL → outbox → NATS → subscription back through the router.
//!
//! Needs the router binary (`make tools`); everything else is started here on free ports.

mod tracer_bullet;
