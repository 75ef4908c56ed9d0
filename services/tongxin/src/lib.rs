//! The one Tongxin binary's library half: settings, the embedded platform (`tongxin run`)
//! and the router process. The end-to-end tests use it to start what `tongxin run` starts.

pub mod embedded;
pub mod import;
pub mod router;
pub mod settings;
