//! What orders consumes besides the venues unit events: the legal-aid station's visits of
//! orders dispatched to it ([`legal_aid`]).

pub mod legal_aid;
