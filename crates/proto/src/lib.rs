//! Generated protobuf and gRPC code for Tongxin.
//!
//! One module per proto package: `tongxin::<domain>::v1`. Events live in
//! `tongxin::events::v1`. Breaking changes get a `v2` package, never an edit in place.

#![allow(clippy::all, missing_docs)]

pub mod tongxin {
    pub mod events {
        pub mod v1 {
            tonic::include_proto!("tongxin.events.v1");
        }
    }
    pub mod orders {
        pub mod v1 {
            tonic::include_proto!("tongxin.orders.v1");
        }
    }
    pub mod venues {
        pub mod v1 {
            tonic::include_proto!("tongxin.venues.v1");
        }
    }
    pub mod volunteers {
        pub mod v1 {
            tonic::include_proto!("tongxin.volunteers.v1");
        }
    }
}

pub use tongxin::events::v1 as events;
pub use tongxin::orders::v1 as orders;
pub use tongxin::venues::v1 as venues;
pub use tongxin::volunteers::v1 as volunteers;

/// The encoded `FileDescriptorSet` of every package, for gRPC reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("tongxin_descriptor");
