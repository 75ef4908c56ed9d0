//! The legal-aid schema, one file per change, append-only.

use sea_orm_migration::prelude::*;

mod m20261201_001000_stations;
mod m20261201_001100_roster;
mod m20261201_001200_appointments;
mod m20261201_001300_reminders;
mod m20261201_001400_calendar_feeds;
mod m20261201_001500_consultations;
mod m20261201_001600_cases;
mod m20261201_001700_consultation_requests;

pub use m20261201_001200_appointments::NO_OVERLAP;

/// Platform tables first, then ours.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        let mut all = tongxin_platform::events::migration::migrations();
        all.push(Box::new(m20261201_001000_stations::Migration));
        all.push(Box::new(m20261201_001100_roster::Migration));
        all.push(Box::new(m20261201_001200_appointments::Migration));
        all.push(Box::new(m20261201_001300_reminders::Migration));
        all.push(Box::new(m20261201_001400_calendar_feeds::Migration));
        all.push(Box::new(m20261201_001500_consultations::Migration));
        all.push(Box::new(m20261201_001600_cases::Migration));
        all.push(Box::new(m20261201_001700_consultation_requests::Migration));
        all
    }
}
