//! The volunteers schema, one file per change, append-only.

use sea_orm_migration::prelude::*;

mod m20261128_000100_volunteers;
mod m20261128_000300_teams_ledger;
mod m20261128_000500_matching_and_self_service;
mod m20261128_000700_issued_proofs;
mod m20261130_000900_known_unit_levels;
mod m20261201_001100_account_links;

/// Platform tables first, then ours.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        let mut all = tongxin_platform::events::migration::migrations();
        all.push(Box::new(m20261128_000100_volunteers::Migration));
        all.push(Box::new(m20261128_000300_teams_ledger::Migration));
        all.push(Box::new(
            m20261128_000500_matching_and_self_service::Migration,
        ));
        all.push(Box::new(m20261128_000700_issued_proofs::Migration));
        all.push(Box::new(m20261130_000900_known_unit_levels::Migration));
        all.push(Box::new(m20261201_001100_account_links::Migration));
        all
    }
}
