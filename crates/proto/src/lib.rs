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
    pub mod legalaid {
        pub mod v1 {
            tonic::include_proto!("tongxin.legalaid.v1");
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
pub use tongxin::legalaid::v1 as legalaid;
pub use tongxin::orders::v1 as orders;
pub use tongxin::venues::v1 as venues;
pub use tongxin::volunteers::v1 as volunteers;

pub mod catalog;

/// The encoded `FileDescriptorSet` of every package, for gRPC reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("tongxin_descriptor");

/// Every message of every package, for decoding by name (`tongxin events tail`, tests that
/// decode events the way an outside consumer does).
pub fn descriptor_pool() -> &'static prost_reflect::DescriptorPool {
    static POOL: std::sync::OnceLock<prost_reflect::DescriptorPool> = std::sync::OnceLock::new();
    POOL.get_or_init(|| {
        prost_reflect::DescriptorPool::decode(FILE_DESCRIPTOR_SET)
            .expect("the descriptor set compiled into this crate decodes")
    })
}
