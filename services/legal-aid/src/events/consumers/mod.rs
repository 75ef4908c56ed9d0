//! What legal aid consumes besides the venues unit events: the orders dispatched to a
//! station ([`orders`]).

pub mod orders;
