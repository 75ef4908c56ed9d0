//! The orders schema, one file per change, append-only.

use sea_orm_migration::prelude::*;

mod m20261128_000200_orders;
mod m20261201_000300_progress_positions;
mod m20261201_000400_category_owner;
mod m20261201_000500_legal_aid;
mod m20261201_000610_in_person;
mod m20261202_000700_evaluations;

/// Platform tables first, then ours.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        let mut all = tongxin_platform::events::migration::migrations();
        all.push(Box::new(m20261128_000200_orders::Migration));
        all.push(Box::new(m20261201_000300_progress_positions::Migration));
        all.push(Box::new(m20261201_000400_category_owner::Migration));
        all.push(Box::new(m20261201_000500_legal_aid::Migration));
        all.push(Box::new(m20261201_000610_in_person::Migration));
        all.push(Box::new(m20261202_000700_evaluations::Migration));
        all
    }
}
