//! Where the legal-aid service reads the time: the platform clock (system time, or one that
//! tests move by hand to book just inside the minimum notice or around a public holiday).

pub use tongxin_platform::clock::{Clock, ClockHand};
