//! Words for people: the sentences both front doors show.
//!
//! `domain/` keeps numbers and rules and no presentation (STYLE.md); `graphql/` and `grpc/`
//! are thin translations. Text that both of them send, such as why a volunteer was ranked
//! where they were, is written once here rather than in one front door that the other would
//! then have to import.

pub mod matching;
