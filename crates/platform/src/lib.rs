//! What every Tongxin service shares.
//!
//! A service crate builds on these pieces and adds only its domain: typed layered
//! [`config`], [`telemetry`] (initialised once, by the binary), the [`db`] connection and
//! error classification, the [`events`] bus with its transactional outbox and idempotent
//! consumers, [`auth`] (JWT → [`auth::Principal`]), one [`error::ApiError`] mapped to GraphQL
//! `extensions.code` and gRPC status, [`org`] (the org vocabulary: unit ids, paths, levels,
//! the district clock, the known-units table and its consumer), [`pii`] (encryption, keyed
//! hashes and phones for personal data), the [`graphql`], [`grpc`] and [`health`] serving
//! helpers, and the [`registry`]: one way to describe a service and to start a set of them.

pub mod auth;
pub mod clock;
pub mod config;
pub mod db;
pub mod district;
pub mod error;
pub mod events;
pub mod geo;
pub mod graphql;
pub mod graphql_text;
pub mod grpc;
pub mod health;
pub mod metrics;
pub mod org;
pub mod pii;
pub mod registry;
pub mod shutdown;
pub mod telemetry;
pub mod ttl_cache;

pub use error::{ApiError, ErrorCode};
