//! The one Tongxin binary's library half: settings and the service registry list
//! ([`settings::registry`]: every service `serve`, `migrate`, `schema` and `run` know), the
//! embedded platform (`tongxin run`: SQLite, in-process bus, demo data as start hooks) and
//! the router process. The end-to-end tests use its router and start hooks.

pub mod district;
pub mod embedded;
pub mod events_tail;
pub mod import;
pub mod router;
pub mod seed;
pub mod settings;
