//! Plain HTTP routes beside `/graphql` on the service's HTTP port: the printable
//! service-record proof ([`proof`]).

pub mod proof;
