//! What the volunteers service consumes: the crediting consumers of the ledger
//! ([`ledger`]: venues activities and orders) and the order-load consumer that keeps
//! matching current ([`orders`]). Each is a durable JetStream consumer whose handler runs in
//! one transaction with the platform's processed-events record, so a redelivery changes
//! nothing.

pub mod ledger;
pub mod orders;
