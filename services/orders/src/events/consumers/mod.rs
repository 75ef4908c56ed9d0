//! What orders consumes besides the venues unit events: the legal-aid station's visits of
//! orders dispatched to it ([`legal_aid`]), and the cadence misses venues announces, shown
//! in the units' staff inbox ([`cadence`]).

pub mod cadence;
pub mod legal_aid;
