//! Where the orders service reads the time: the platform clock (system time, or one that
//! tests move by hand to place moves at a quarter's last second or a deadline's edge).

pub use tongxin_platform::clock::{Clock, ClockHand};
