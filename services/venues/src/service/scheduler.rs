//! Closes cadence periods by itself: at the end of each week and month (the district's local
//! clock) it marks every unit under a rule that missed it, once, with a `cadence_missed`
//! event (see [`Venues::close_periods`]). Periods live in the data, not in timers: each round
//! closes the last few ended periods, so a round after a restart catches up on what ended
//! while it was down, as far back as the look-back, and a round that finds everything
//! closed does nothing.
//!
//! Several replicas may run it at once: the miss table's unique key (unit, kind, period
//! start) admits one insert, and only the replica whose insert went through writes the
//! event. The shape is the orders service's deadline scheduler.

use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio_util::sync::CancellationToken;

use crate::error::VenuesError;
use crate::service::Venues;

/// The cadence loop.
#[derive(Clone)]
pub struct Scheduler {
    venues: Venues,
    interval: Duration,
    lookback_weeks: u32,
    lookback_months: u32,
}

impl Scheduler {
    /// A scheduler over `venues`, looking every `interval`, closing at most the last
    /// `lookback_weeks` weeks and `lookback_months` months.
    pub fn new(
        venues: Venues,
        interval: Duration,
        lookback_weeks: u32,
        lookback_months: u32,
    ) -> Self {
        Self {
            venues,
            interval,
            lookback_weeks,
            lookback_months,
        }
    }

    /// Runs rounds until `shutdown`, the first after one interval (so that a process
    /// seeding demo history at start closes the demo's periods itself, without events). A
    /// failed round is logged and retried next time.
    pub async fn run(self, shutdown: CancellationToken) {
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(self.interval) => {}
            }
            match self.round(Utc::now()).await {
                Ok(0) => {}
                Ok(misses) => tracing::info!(misses, "cadence periods closed"),
                Err(e) => tracing::warn!(error = ?e, "cadence round failed"),
            }
        }
    }

    /// One round at `now`: how many misses it closed.
    pub async fn round(&self, now: DateTime<Utc>) -> Result<usize, VenuesError> {
        self.venues
            .close_periods(now, self.lookback_weeks, self.lookback_months, true)
            .await
    }
}
