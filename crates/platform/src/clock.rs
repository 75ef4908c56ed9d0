//! Where a service reads the time: the system clock in every deployment; a clock that stands
//! still until moved for tests that must act at exact instants (a quarter's last second, a
//! deadline's edge, a slot just inside the minimum notice). Orders and legal aid use it.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};

/// The service's time source. Cloning shares it.
#[derive(Clone, Debug, Default)]
pub struct Clock(Option<Arc<Mutex<DateTime<Utc>>>>);

/// Moves a [`Clock::manual`] clock.
#[derive(Clone, Debug)]
pub struct ClockHand(Arc<Mutex<DateTime<Utc>>>);

impl Clock {
    /// The system clock.
    pub fn system() -> Self {
        Self(None)
    }

    /// A clock standing at `at` until its hand moves it.
    pub fn manual(at: DateTime<Utc>) -> (Self, ClockHand) {
        let time = Arc::new(Mutex::new(at));
        (Self(Some(time.clone())), ClockHand(time))
    }

    /// Now.
    pub fn now(&self) -> DateTime<Utc> {
        match &self.0 {
            None => Utc::now(),
            Some(time) => *time.lock().unwrap_or_else(|poisoned| poisoned.into_inner()),
        }
    }
}

impl ClockHand {
    /// Sets the clock to `at`.
    pub fn set(&self, at: DateTime<Utc>) {
        *self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = at;
    }

    /// Moves the clock on by `by`.
    pub fn advance(&self, by: chrono::Duration) {
        let mut time = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        *time += by;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manual_clock_stands_until_its_hand_moves_it() {
        let at = DateTime::parse_from_rfc3339("2026-12-31T15:59:59Z")
            .expect("time")
            .with_timezone(&Utc);
        let (clock, hand) = Clock::manual(at);
        let copy = clock.clone();
        assert_eq!((clock.now(), copy.now()), (at, at));
        hand.advance(chrono::Duration::seconds(1));
        assert_eq!(copy.now(), at + chrono::Duration::seconds(1));
        hand.set(at);
        assert_eq!(clock.now(), at);
        let before = Utc::now();
        let now = Clock::system().now();
        assert!(before <= now && now <= Utc::now());
    }
}
