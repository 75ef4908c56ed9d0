//! The volunteers service. So far its domain only: value types (ID-card numbers, phones,
//! PII encryption, scopes, star thresholds, ledger hours, weekly availability, skills) and
//! candidate matching. The store, GraphQL, gRPC and consumers follow in the volunteers issue.

pub mod domain;
